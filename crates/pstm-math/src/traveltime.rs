//! Straight-ray double-square-root (DSR) traveltime.
//!
//! For an image point at zero-offset two-way time `t0` below a surface point, and a source and
//! receiver at horizontal distances `ds` and `dr` from it, in a medium described by its RMS
//! velocity `v` at `t0`:
//!
//! ```text
//! t = sqrt((t0/2)^2 + ds^2/v^2) + sqrt((t0/2)^2 + dr^2/v^2)
//! ```
//!
//! At zero offset directly above the point this is `t0`; for a point diffractor at depth `z` in a
//! constant velocity `v`, `t0 = 2z/v` (the reference package's `4z/v` was a bug).

/// Two-way traveltime in seconds from squared leg distances (m^2).
pub fn dsr_time(t0: f64, ds2: f64, dr2: f64, v: f64) -> f64 {
    let h2 = 0.25 * t0 * t0;
    let inv_v2 = 1.0 / (v * v);
    (h2 + ds2 * inv_v2).sqrt() + (h2 + dr2 * inv_v2).sqrt()
}

/// Zero-offset two-way time of a point at depth `z` (m) in a constant velocity `v` (m/s).
pub fn zero_offset_time(z: f64, v: f64) -> f64 {
    2.0 * z / v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_offset_above_the_point_is_t0() {
        assert_eq!(dsr_time(0.64, 0.0, 0.0, 2500.0), 0.64);
        assert_eq!(zero_offset_time(800.0, 2500.0), 0.64);
    }

    #[test]
    fn dsr_matches_straight_ray_path_lengths() {
        // Diffractor 800 m deep, source 300 m west and receiver 500 m east of it, v = 2500 m/s.
        let (z, v) = (800.0f64, 2500.0);
        let expect = ((300.0f64).hypot(z) + (500.0f64).hypot(z)) / v;
        let t = dsr_time(zero_offset_time(z, v), 300.0 * 300.0, 500.0 * 500.0, v);
        assert!((t - expect).abs() < 1e-12, "{t} vs {expect}");
    }
}

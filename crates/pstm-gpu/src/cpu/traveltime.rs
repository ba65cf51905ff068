//! Twin of `shaders/shared/traveltime.wgsl`.

/// Two-way time (s) from `h2 = (t0/2)^2` (s^2), squared leg lengths `ds2`, `dr2` (m^2) and
/// `inv_v2 = 1/v^2` (s^2/m^2).
pub fn dsr_time(h2: f32, ds2: f32, dr2: f32, inv_v2: f32) -> f32 {
    (h2 + ds2 * inv_v2).sqrt() + (h2 + dr2 * inv_v2).sqrt()
}

/// Fractional sample position of time `t` (s) in a trace starting at `trace_t0` (s).
pub fn sample_position(t: f32, trace_t0: f32, inv_dt: f32) -> f32 {
    (t - trace_t0) * inv_dt
}

/// Whether position `u` can be interpolated: `0 <= u < n - 1` with `last_position = n - 1`.
pub fn inside_trace(u: f32, last_position: f32) -> bool {
    u >= 0.0 && u < last_position
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_float64_formula() {
        for &(t0, ds2, dr2, v) in
            &[(0.64f64, 0.0, 0.0, 2500.0), (1.2, 3.0e5, 1.1e6, 2200.0), (0.0, 4.0e4, 9.0e4, 1800.0)]
        {
            let reference = pstm_math::traveltime::dsr_time(t0, ds2, dr2, v);
            let h2 = (0.25 * t0 * t0) as f32;
            let inv_v2 = (1.0 / (v * v)) as f32;
            let t = dsr_time(h2, ds2 as f32, dr2 as f32, inv_v2) as f64;
            assert!((t - reference).abs() <= 1e-6 * reference.max(1e-3), "{t} vs {reference}");
        }
    }

    #[test]
    fn trace_interval_is_half_open() {
        assert!(inside_trace(0.0, 9.0));
        assert!(inside_trace(8.999, 9.0));
        assert!(!inside_trace(9.0, 9.0));
        assert!(!inside_trace(-1e-6, 9.0));
        assert_eq!(sample_position(0.1005, 0.1, 1000.0), (0.1005f32 - 0.1f32) * 1000.0);
    }
}

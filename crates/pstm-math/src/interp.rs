//! Reading a trace at a fractional time.
//!
//! A trace of `n` samples at interval `dt` starting at `t_start` is defined on `[t_start,
//! t_start + (n-1) dt)`: fractional sample positions `u = (t - t_start)/dt` with `0 <= u < n-1`
//! are linearly interpolated between samples `floor(u)` and `floor(u) + 1`; any other time is
//! outside the trace and contributes nothing (and is not counted in the fold). The interval is
//! half-open so that both interpolation samples always exist.

/// Fractional sample position of time `t`, or `None` when `t` lies outside the trace.
pub fn sample_position(t: f64, t_start: f64, inv_dt: f64, n: usize) -> Option<f64> {
    let u = (t - t_start) * inv_dt;
    if u >= 0.0 && u < (n as f64 - 1.0) { Some(u) } else { None }
}

/// Linear interpolation of `trace` at fractional position `u` (from [`sample_position`]).
pub fn linear(trace: &[f32], u: f64) -> f64 {
    let i0 = u as usize;
    let f = u - i0 as f64;
    let s0 = trace[i0] as f64;
    let s1 = trace[i0 + 1] as f64;
    s0 + f * (s1 - s0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_and_outside() {
        let tr = [0.0f32, 1.0, 4.0, 9.0];
        assert_eq!(sample_position(-0.001, 0.0, 1000.0, 4), None);
        assert_eq!(sample_position(0.003, 0.0, 1000.0, 4), None);
        let u = sample_position(0.0015, 0.0, 1000.0, 4).unwrap();
        assert!((linear(&tr, u) - 2.5).abs() < 1e-12);
        // A delayed trace: first sample at 0.1 s.
        let u = sample_position(0.1005, 0.1, 1000.0, 4).unwrap();
        assert!((linear(&tr, u) - 0.5).abs() < 1e-9);
        assert_eq!(sample_position(0.0995, 0.1, 1000.0, 4), None);
    }
}

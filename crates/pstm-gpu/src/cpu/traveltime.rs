//! Twin of `shaders/shared/traveltime.wgsl`.

// Forms follow the WGSL, not Rust idiom.
#![allow(clippy::needless_return)]

/// One leg of the double square root (s) from `h2 = (t0/2)^2` (s^2), the squared horizontal
/// distance `d2` (m^2) and `inv_v2 = 1/v^2` (s^2/m^2).
pub fn leg_time(h2: f32, d2: f32, inv_v2: f32) -> f32 {
    (h2 + d2 * inv_v2).sqrt()
}

/// A position in a trace: sample `index` plus `frac` in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TracePosition {
    pub index: i32,
    pub frac: f32,
}

/// Where `ts + tr` falls in a trace, from the position of `t0` itself (`base_index + base_frac`)
/// and the moveout in samples.
pub fn trace_position(ts: f32, tr: f32, h: f32, base_index: f32, base_frac: f32, inv_dt: f32) -> TracePosition {
    let m = base_frac + ((ts - h) + (tr - h)) * inv_dt;
    let whole = m.floor();
    return TracePosition { index: base_index as i32 + whole as i32, frac: m - whole };
}

/// Whether a position can be interpolated: `0 <= position < n - 1`.
pub fn inside_trace(p: TracePosition, n_samples: u32) -> bool {
    return p.index >= 0 && p.index < n_samples as i32 - 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_match_the_float64_formula() {
        for &(t0, ds2, dr2, v) in
            &[(0.64f64, 0.0, 0.0, 2500.0), (1.2, 3.0e5, 1.1e6, 2200.0), (0.0, 4.0e4, 9.0e4, 1800.0)]
        {
            let reference = pstm_math::traveltime::dsr_time(t0, ds2, dr2, v);
            let h2 = (0.25 * t0 * t0) as f32;
            let inv_v2 = (1.0 / (v * v)) as f32;
            let t = (leg_time(h2, ds2 as f32, inv_v2) + leg_time(h2, dr2 as f32, inv_v2)) as f64;
            assert!((t - reference).abs() <= 1e-6 * reference.max(1e-3), "{t} vs {reference}");
        }
    }

    #[test]
    fn positions_keep_float64_accuracy_where_a_float32_time_would_not() {
        // Late times at 2 ms: exact positions in float64 against the split position and against
        // one float32 position computed from the float32 time.
        let (dt, inv_dt) = (0.002f64, 500.0f32);
        let mut rng = pstm_math::rng::SplitMix64::new(7);
        let (mut split2, mut whole2, mut split_max, mut whole_max) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let n = 20_000;
        for _ in 0..n {
            let t0 = (1.0 + 2.0 * rng.uniform()) as f32;
            let (ds2, dr2) = ((1.5e6 * rng.uniform()) as f32, (1.5e6 * rng.uniform()) as f32);
            let inv_v2 = (1.0 / (2000.0 + 1000.0 * rng.uniform()).powi(2)) as f32;
            let h = 0.5 * t0;
            let (ts, tr) = (leg_time(h * h, ds2, inv_v2), leg_time(h * h, dr2, inv_v2));
            let h64 = h as f64;
            let exact = ((h64 * h64 + ds2 as f64 * inv_v2 as f64).sqrt()
                + (h64 * h64 + dr2 as f64 * inv_v2 as f64).sqrt())
                / dt;
            let base = (t0 as f64 / dt).floor();
            let p = trace_position(ts, tr, h, base as f32, (t0 as f64 / dt - base) as f32, inv_dt);
            let split = p.index as f64 + p.frac as f64;
            let whole = ((ts + tr) * inv_dt) as f64;
            split2 += (split - exact).powi(2);
            whole2 += (whole - exact).powi(2);
            split_max = split_max.max((split - exact).abs());
            whole_max = whole_max.max((whole - exact).abs());
        }
        let (split_rms, whole_rms) = ((split2 / n as f64).sqrt(), (whole2 / n as f64).sqrt());
        assert!(split_rms < 0.6 * whole_rms, "split {split_rms:.2e} vs whole {whole_rms:.2e} samples rms");
        assert!(split_max < whole_max, "split max {split_max:.2e} vs whole max {whole_max:.2e} samples");
    }

    #[test]
    fn trace_interval_is_half_open() {
        assert!(inside_trace(TracePosition { index: 0, frac: 0.0 }, 2));
        assert!(!inside_trace(TracePosition { index: 1, frac: 0.0 }, 2));
        assert!(!inside_trace(TracePosition { index: -1, frac: 0.999 }, 2));
    }
}

//! Twin of `shaders/shared/traveltime.wgsl`.

// Forms follow the WGSL, not Rust idiom.
#![allow(clippy::needless_return)]

pub use crate::layout::{TRAVELTIME_CURVED, TRAVELTIME_CURVED_V0, TRAVELTIME_STRAIGHT, TRAVELTIME_VTI};

/// VTI's denominator is held above this.
pub const VTI_TINY: f32 = 1e-30;

/// One leg of the double square root (s) from `h2 = (t0/2)^2` (s^2), the squared horizontal
/// distance `d2` (m^2) and `inv_v2 = 1/v^2` (s^2/m^2).
pub fn leg_time(h2: f32, d2: f32, inv_v2: f32) -> f32 {
    (h2 + d2 * inv_v2).sqrt()
}

/// `a` of the leg law from `h2 = (t0/2)^2` and the output sample's `law` entry.
pub fn law_a(traveltime: u32, h2: f32, law: [f32; 2]) -> f32 {
    if traveltime == TRAVELTIME_CURVED || traveltime == TRAVELTIME_CURVED_V0 {
        return h2 * law[0];
    }
    return h2;
}

/// `b` of the leg law from `inv_v2 = 1/v^2` and the `law` entry; `unit2` converts a given `v0`'s
/// `fb` (s^2/m^2) to the units of `inv_v2`.
pub fn law_b(traveltime: u32, inv_v2: f32, law: [f32; 2], unit2: f32) -> f32 {
    if traveltime == TRAVELTIME_CURVED {
        return law[1] * inv_v2;
    }
    if traveltime == TRAVELTIME_CURVED_V0 {
        return law[1] * unit2;
    }
    return inv_v2;
}

/// The leg's shape parameter: `c` for a curved ray, `1 + 2 eta` for VTI.
pub fn law_p(traveltime: u32, c: f32, law: [f32; 2]) -> f32 {
    if traveltime == TRAVELTIME_VTI {
        return law[0];
    }
    return c;
}

/// `asinh(y) / y` for `y >= 0` (WGSL `asinhc`; pstm_kernel's lanes' algorithm).
pub fn asinhc(y: f32) -> f32 {
    let r = y.mul_add(y, 1.0).sqrt();
    let z_over_y = 1.0 + y / (1.0 + r);
    let z = y * z_over_y;
    let inv = 1.0 / (2.0 + z);
    let small = z < 0.5;
    let bits = (1.0 + z).to_bits();
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let mut e = ((bits >> 23) as i32 - 127) as f32;
    if m >= 1.5 {
        m *= 0.5;
        e += 1.0;
    }
    let mut u = (m - 1.0) / (m + 1.0);
    if small {
        u = z * inv;
    }
    let u2 = u * u;
    let mut p = 1.0f32 / 11.0;
    p = p.mul_add(u2, 1.0 / 9.0);
    p = p.mul_add(u2, 1.0 / 7.0);
    p = p.mul_add(u2, 1.0 / 5.0);
    p = p.mul_add(u2, 1.0 / 3.0);
    p = p.mul_add(u2, 1.0);
    if small {
        return 2.0 * (z_over_y * inv) * p;
    }
    return e.mul_add(std::f32::consts::LN_2, 2.0 * (u * p)) / y;
}

/// One leg's time of a curved ray or VTI from the output sample's `a`, `b` and `p`.
pub fn law_leg_time(traveltime: u32, a: f32, b: f32, p: f32, d2: f32) -> f32 {
    if traveltime == TRAVELTIME_VTI {
        let q = d2 * b;
        let den = p.mul_add(q, a).max(VTI_TINY);
        return q.mul_add((a + q) / den, a).sqrt();
    }
    let s = d2.mul_add(b, a).sqrt();
    if traveltime == TRAVELTIME_STRAIGHT {
        return s;
    }
    return s * asinhc(p * s);
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
    fn asinhc_matches_float64() {
        let mut worst = 0.0f64;
        for i in 0..=20000 {
            let y = (i as f64 / 20000.0).powi(3) * 60.0;
            let got = asinhc(y as f32) as f64;
            let expect = pstm_math::traveltime::asinhc((y as f32) as f64);
            worst = worst.max((got / expect - 1.0).abs());
        }
        assert!(worst < 6e-7, "{worst}");
    }

    /// Each law's float32 leg against `pstm_math::LegLaw::leg` in float64.
    #[test]
    fn law_legs_match_the_float64_law() {
        use pstm_math::{Gradient, ImagingOperator, Traveltime};
        let mut rng = pstm_math::rng::SplitMix64::new(11);
        let mut worst = 0.0f64;
        for i in 0..6000 {
            let mut op = ImagingOperator::plain(3000.0);
            let eta = -0.1 + 0.5 * rng.uniform();
            match i % 3 {
                0 => {
                    op.traveltime = Traveltime::CurvedRay;
                    let v0 = (i % 2 == 0).then(|| 1500.0 + 1500.0 * rng.uniform());
                    op.gradient = Some(Gradient { k: -0.3 + 1.8 * rng.uniform(), v0 });
                }
                1 => op.traveltime = Traveltime::Vti,
                _ => {}
            }
            let t0 = 4.0 * rng.uniform();
            let v = 1500.0 + 3000.0 * rng.uniform();
            let d = 6000.0 * rng.uniform().powi(2);
            let law64 = op.leg_law(t0, v, eta);
            let expect = law64.leg(d * d);
            let entry = crate::layout::leg_laws(&op, &[t0], &[eta as f32])[0];
            let im = crate::layout::ImagingParams::new(&op);
            let h = (0.5 * t0) as f32;
            let inv_v2 = 1.0 / (v as f32 * v as f32);
            let (a, b, p) = (
                law_a(im.traveltime, h * h, entry),
                law_b(im.traveltime, inv_v2, entry, 1.0),
                law_p(im.traveltime, im.curve_c, entry),
            );
            let got = if im.traveltime == TRAVELTIME_STRAIGHT {
                leg_time(h * h, (d * d) as f32, inv_v2)
            } else {
                law_leg_time(im.traveltime, a, b, p, (d * d) as f32)
            } as f64;
            worst = worst.max((got - expect).abs() / expect.max(1e-3));
        }
        assert!(worst < 2e-6, "worst relative error {worst:.2e}");
    }

    #[test]
    fn trace_interval_is_half_open() {
        assert!(inside_trace(TracePosition { index: 0, frac: 0.0 }, 2));
        assert!(!inside_trace(TracePosition { index: 1, frac: 0.0 }, 2));
        assert!(!inside_trace(TracePosition { index: -1, frac: 0.999 }, 2));
    }
}

/// WGSL `OutputLaw`: an output sample's law as gpu-v0 and gpu-v1 take it.
#[derive(Debug, Clone, Copy)]
pub struct OutputLaw {
    pub traveltime: u32,
    pub h2: f32,
    pub inv_v2: f32,
    pub a: f32,
    pub b: f32,
    pub p: f32,
}

/// WGSL `output_law`.
pub fn output_law(traveltime: u32, c: f32, entry: [f32; 2], h2: f32, inv_v2: f32) -> OutputLaw {
    OutputLaw {
        traveltime,
        h2,
        inv_v2,
        a: law_a(traveltime, h2, entry),
        b: law_b(traveltime, inv_v2, entry, 1.0),
        p: law_p(traveltime, c, entry),
    }
}

/// WGSL `leg_times`: both legs' times (s) at squared distances `ds2` and `dr2` (m^2).
pub fn leg_times(law: &OutputLaw, ds2: f32, dr2: f32) -> (f32, f32) {
    if law.traveltime == TRAVELTIME_STRAIGHT {
        return (leg_time(law.h2, ds2, law.inv_v2), leg_time(law.h2, dr2, law.inv_v2));
    }
    return (
        law_leg_time(law.traveltime, law.a, law.b, law.p, ds2),
        law_leg_time(law.traveltime, law.a, law.b, law.p, dr2),
    );
}

//! Twin of `shaders/shared/weights.wgsl`.

// The twin mirrors WGSL's `if` forms and early returns, which clippy would restyle.
#![allow(clippy::needless_return)]

use crate::layout::{APERTURE_DIP, ImagingParams, TAPER_COSINE, TAPER_GAUSSIAN, TAPER_LINEAR, TAPER_NONE};

/// WGSL `Imaging`.
pub type Imaging = ImagingParams;

/// Aperture radius (m) at zero-offset time `t0` (s) where the RMS velocity is `v` (m/s).
pub fn aperture_radius(imaging: &Imaging, t0: f32, v: f32) -> f32 {
    if imaging.aperture_mode == APERTURE_DIP {
        let reach = v * 0.5 * t0 * imaging.tan_max_dip;
        return reach.max(imaging.aperture_min_m).min(imaging.aperture_max_m);
    }
    return imaging.aperture_max_m;
}

/// `0.5 (1 + cos(pi x))` for `x` in [0, 1] by the WGSL's polynomial (see the WGSL for why).
/// WGSL evaluates `-1.0 / 6.0` and the like as abstract (float64) constants, hence the casts.
pub fn half_cosine(x: f32) -> f32 {
    let p = std::f32::consts::PI * (x - 0.5);
    let p2 = p * p;
    let sin_p = p
        * (1.0
            + p2 * ((-1.0f64 / 6.0) as f32
                + p2 * ((1.0f64 / 120.0) as f32
                    + p2 * ((-1.0f64 / 5040.0) as f32
                        + p2 * ((1.0f64 / 362880.0) as f32 + p2 * (-1.0f64 / 39916800.0) as f32)))));
    return 0.5 * (1.0 - sin_p);
}

/// Taper weight of a trace whose midpoint lies `dm` metres from the output position, inside an
/// aperture of radius `a` (callers test `dm <= a` first).
pub fn taper_weight(imaging: &Imaging, dm: f32, a: f32) -> f32 {
    let ts = a * (1.0 - imaging.taper_fraction);
    if imaging.taper_kind == TAPER_NONE || dm <= ts {
        return 1.0;
    }
    return taper_profile(imaging.taper_kind, (dm - ts) / (a - ts));
}

/// WGSL `taper_profile`: the taper of `kind` at `x` = (distance past the taper start) / (taper
/// width), `x` in [0, 1].
pub fn taper_profile(kind: u32, x: f32) -> f32 {
    match kind {
        TAPER_COSINE => return half_cosine(x),
        TAPER_LINEAR => return 1.0 - x,
        TAPER_GAUSSIAN => return (-0.5 * (3.0 * x) * (3.0 * x)).exp(),
        _ => return 1.0,
    }
}

/// WGSL `stretch_limit`: the largest traveltime the stretch mute lets contribute to `t0`.
pub fn stretch_limit(imaging: &Imaging, t0: f32) -> f32 {
    if imaging.stretch_max > 0.0 {
        return imaging.stretch_max * t0;
    }
    return NO_STRETCH_LIMIT;
}

/// WGSL `NO_STRETCH_LIMIT`.
pub const NO_STRETCH_LIMIT: f32 = 3.4e38;

/// Amplitude weight for output time `t0`, traveltime `t` (s), RMS velocity `v` (m/s).
pub fn amplitude_weight(imaging: &Imaging, t0: f32, t: f32, v: f32, trace_dt: f32) -> f32 {
    let mut w = 1.0f32;
    if imaging.spreading != 0 {
        let vt = v * t.max(0.5 * trace_dt);
        w /= if imaging.line != 0 { vt.sqrt() } else { vt };
    }
    if imaging.obliquity != 0 && t > 0.0 {
        w *= t0 / t;
    }
    return w;
}

#[cfg(test)]
mod tests {
    use super::*;
    use pstm_math::{AmplitudeWeights, Aperture, ApertureMode, ImagingOperator, Taper, TaperKind};

    #[test]
    fn half_cosine_polynomial_is_float32_exact() {
        let mut worst = 0.0f64;
        for i in 0..=10_000 {
            let x = i as f64 / 10_000.0;
            let exact = 0.5 * (1.0 + (std::f64::consts::PI * x).cos());
            worst = worst.max((half_cosine(x as f32) as f64 - exact).abs());
        }
        assert!(worst < 3e-7, "worst absolute error {worst:e}");
    }

    #[test]
    fn weights_match_the_float64_definitions() {
        for kind in [TaperKind::None, TaperKind::Cosine, TaperKind::Linear, TaperKind::Gaussian] {
            for mode in [ApertureMode::Fixed, ApertureMode::Dip] {
                let params = ImagingOperator {
                    aperture: Aperture { mode, max_m: 1800.0, min_m: 150.0, max_dip_deg: 40.0 },
                    taper: Taper { kind, fraction: 0.3 },
                    weights: AmplitudeWeights::new(true, true),
                    ..ImagingOperator::plain(0.0)
                };
                let imaging = ImagingParams::new(&params);
                for &(t0, v) in &[(0.0f64, 2000.0f64), (0.3, 1800.0), (1.1, 2600.0), (3.0, 3000.0)] {
                    let a64 = params.aperture.radius(t0, v);
                    let a = aperture_radius(&imaging, t0 as f32, v as f32) as f64;
                    assert!((a - a64).abs() <= 1e-6 * a64, "{mode:?} radius {a} vs {a64}");
                    for frac in [0.0, 0.5, 0.71, 0.9, 0.99, 1.0] {
                        let dm = frac * a64;
                        let w64 = params.taper.weight(dm, a64);
                        let w = taper_weight(&imaging, dm as f32, a as f32) as f64;
                        assert!((w - w64).abs() < 2e-5, "{kind:?} taper at {frac}: {w} vs {w64}");
                    }
                    let t = t0 * 1.3 + 0.01;
                    let w64 = params.weights.weight(t0, t, v, 0.004);
                    let w = amplitude_weight(&imaging, t0 as f32, t as f32, v as f32, 0.004) as f64;
                    assert!((w - w64).abs() <= 1e-6 * w64.abs(), "weights {w} vs {w64}");
                }
            }
        }
    }
}

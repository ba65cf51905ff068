// Aperture radius, edge taper and amplitude weights of one contribution, in float32:
// `pstm_math::Aperture::radius`, `pstm_math::Taper::weight`, `pstm_math::AmplitudeWeights::weight`,
// `pstm_math::ImagingOperator::stretch_limit`.
// CPU twin: src/cpu/weights.rs (struct Imaging: `ImagingParams` in src/layout.rs).

// The imaging settings of a migration, as the host packs them (units in the Rust struct).
struct Imaging {
    aperture_mode: u32,
    taper_kind: u32,
    spreading: u32,
    obliquity: u32,
    aperture_max_m: f32,
    aperture_min_m: f32,
    tan_max_dip: f32,
    taper_fraction: f32,
    // The stretch mute's largest t / t0, above 1 (0: none).
    stretch_max: f32,
    // 1: a 2D line's spreading, 1/sqrt(v t).
    line: u32,
    // TRAVELTIME_* (shared/traveltime.wgsl).
    traveltime: u32,
    // A curved ray's c = |k| / 2 (1/s); 0 otherwise.
    curve_c: f32,
    // INTERPOLATION_* and ANTIALIAS_* (shared/reading.wgsl).
    interpolation: u32,
    antialias: u32,
    pad0: u32,
    pad1: u32,
    // The output grid's inline and crossline steps (e1.x, e1.y, e2.x, e2.y) (m).
    aa_steps: vec4<f32>,
}

const APERTURE_FIXED: u32 = 0u;
const APERTURE_DIP: u32 = 1u;

const TAPER_NONE: u32 = 0u;
const TAPER_COSINE: u32 = 1u;
const TAPER_LINEAR: u32 = 2u;
const TAPER_GAUSSIAN: u32 = 3u;

const PI: f32 = 3.14159265358979;

// Aperture radius (m) at zero-offset time t0 (s) where the RMS velocity is v (m/s).
// min(max()) rather than clamp(): clamp's result is undefined when min > max.
fn aperture_radius(imaging: Imaging, t0: f32, v: f32) -> f32 {
    if imaging.aperture_mode == APERTURE_DIP {
        let reach = v * 0.5 * t0 * imaging.tan_max_dip;
        return min(max(reach, imaging.aperture_min_m), imaging.aperture_max_m);
    }
    return imaging.aperture_max_m;
}

// 0.5 (1 + cos(pi x)) for x in [0, 1], by polynomial rather than cos(): Vulkan allows cos() an
// absolute error of 2^-11 and Metal's fast math 2^-13, enough to break the 1e-4 parity with the
// reference where many traces fall in the taper. With p = pi (x - 1/2) the value is
// (1 - sin p) / 2 and |p| <= pi/2, where sin's Taylor series to degree 11 errs by less than
// (pi/2)^13 / 13! = 5.7e-8, below float32 rounding.
fn half_cosine(x: f32) -> f32 {
    let p = PI * (x - 0.5);
    let p2 = p * p;
    let sin_p = p * (1.0 + p2 * (-1.0 / 6.0 + p2 * (1.0 / 120.0 + p2 * (-1.0 / 5040.0
        + p2 * (1.0 / 362880.0 + p2 * (-1.0 / 39916800.0))))));
    return 0.5 * (1.0 - sin_p);
}

// Taper weight of a trace whose midpoint lies dm metres from the output position, inside an
// aperture of radius a (callers test dm <= a first). 1 inside ts = a (1 - fraction), falling
// over the outer fraction to 0 (cosine, linear) or exp(-4.5) (gaussian, sigma = (a - ts)/3).
fn taper_weight(imaging: Imaging, dm: f32, a: f32) -> f32 {
    let ts = a * (1.0 - imaging.taper_fraction);
    if imaging.taper_kind == TAPER_NONE || dm <= ts {
        return 1.0;
    }
    return taper_profile(imaging.taper_kind, (dm - ts) / (a - ts));
}

// The taper of `kind` at x = (distance past the taper start) / (taper width), x in [0, 1].
fn taper_profile(kind: u32, x: f32) -> f32 {
    switch kind {
        case TAPER_COSINE: {
            return half_cosine(x);
        }
        case TAPER_LINEAR: {
            return 1.0 - x;
        }
        case TAPER_GAUSSIAN: {
            return exp(-0.5 * (3.0 * x) * (3.0 * x));
        }
        default: {
            return 1.0;
        }
    }
}

// The largest traveltime the stretch mute lets contribute to output time t0 (max t0; without a
// stretch mute, more than any): taken once per output sample, compared once per contribution.
fn stretch_limit(imaging: Imaging, t0: f32) -> f32 {
    if imaging.stretch_max > 0.0 {
        return imaging.stretch_max * t0;
    }
    return NO_STRETCH_LIMIT;
}

const NO_STRETCH_LIMIT: f32 = 3.4e38;

// Amplitude weight for output time t0, traveltime t (s), RMS velocity v (m/s): spreading
// 1/(v t) and obliquity t0/t, each switchable. trace_dt (s) keeps 1/(v t) finite at t = 0.
fn amplitude_weight(imaging: Imaging, t0: f32, t: f32, v: f32, trace_dt: f32) -> f32 {
    var w = 1.0;
    if imaging.spreading != 0u {
        // A branch, not select(): select would take the root for every 3D contribution too (9%
        // of gpu-v0's kernel time on an H200, docs/PERFORMANCE.md).
        let vt = v * max(t, 0.5 * trace_dt);
        if imaging.line != 0u {
            w /= sqrt(vt);
        } else {
            w /= vt;
        }
    }
    if imaging.obliquity != 0u && t > 0.0 {
        w *= t0 / t;
    }
    return w;
}

// How a contribution reads its trace: interpolation weights (`pstm_math::interp`) and operator
// antialiasing (`pstm_math::antialias`: the operator's time shift per output step, the
// triangle's half-length and divisor, the scalar down-weight), in float32. Pure functions: the
// kernels load the samples and the sinc8 table rows themselves, from their own bindings.
// CPU twin: src/cpu/reading.rs.
//
#include "shared/traveltime.wgsl"

const INTERPOLATION_LINEAR: u32 = 0u;
const INTERPOLATION_CUBIC: u32 = 1u;
const INTERPOLATION_SINC8: u32 = 2u;
const ANTIALIAS_NONE: u32 = 0u;
const ANTIALIAS_TRIANGLE: u32 = 1u;
const ANTIALIAS_WEIGHT: u32 = 2u;
// Rows of the sinc8 table less one (`layout::SINC8_PHASES`).
const SINC8_PHASES: f32 = 1024.0;

// Keys' cubic convolution (a = -1/2): the weights of samples index - 1 ..= index + 2 at fraction f.
fn cubic_weights(f: f32) -> vec4<f32> {
    let g = 1.0 - f;
    let wm = f * g * (-0.5 * g);
    let w0 = fma(f * f, fma(1.5, f, -2.5), 1.0);
    let w1 = fma(g * g, fma(1.5, g, -2.5), 1.0);
    let w2 = f * g * (-0.5 * f);
    return vec4<f32>(wm, w0, w1, w2);
}

// The row and the fraction between rows of the sinc8 table for sample fraction f in [0, 1].
struct TableRow {
    row: u32,
    frac: f32,
}

fn sinc8_row(f: f32) -> TableRow {
    let p = f * SINC8_PHASES;
    let row = min(u32(p), u32(SINC8_PHASES) - 1u);
    return TableRow(row, p - f32(row));
}

// Sinc8's weight from two neighbouring table entries.
fn table_lerp(w0: vec4<f32>, w1: vec4<f32>, frac: f32) -> vec4<f32> {
    return fma(w1 - w0, vec4<f32>(frac), w0);
}

// d t_leg / d(d2) (s/m^2) of a leg of time t_leg at squared distance d2 under the output
// sample's law (a, b, p: `law_a`, `law_b`, `law_p`; the straight ray's a = (t0/2)^2, b = 1/v^2),
// the leg's time taken as at least t_min where it divides: `pstm_math::LegLaw::rate`.
fn leg_rate(traveltime: u32, a: f32, b: f32, p: f32, d2: f32, t_leg: f32, t_min: f32) -> f32 {
    if traveltime == TRAVELTIME_VTI {
        let q = d2 * b;
        let den = fma(p, q, a);
        var ratio = 1.0;
        if den > 1e-15 {
            ratio = fma(q, fma(p, q, 2.0 * a), a * a) / (den * den);
        }
        return b * ratio / (2.0 * max(t_leg, t_min));
    }
    let s = sqrt(fma(d2, b, a));
    if traveltime == TRAVELTIME_STRAIGHT {
        return b / (2.0 * max(s, t_min));
    }
    let cs = p * s;
    return b / (2.0 * max(s, t_min) * sqrt(fma(cs, cs, 1.0)));
}

// The projections of a trace's legs on the grid steps: ((p - s).e1, (p - s).e2, (p - r).e1,
// (p - r).e2), from the image point minus source ds and minus receiver dr (m).
fn leg_projections(ds: vec2<f32>, dr: vec2<f32>, steps: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(dot(ds, steps.xy), dot(ds, steps.zw), dot(dr, steps.xy), dot(dr, steps.zw));
}

// The operator's time shift per output step (s): `pstm_math::Antialiasing::shift`.
fn operator_shift(rate_s: f32, rate_r: f32, proj: vec4<f32>) -> f32 {
    let along1 = 2.0 * fma(rate_s, proj.x, rate_r * proj.z);
    let along2 = 2.0 * fma(rate_s, proj.y, rate_r * proj.w);
    return max(abs(along1), abs(along2));
}

// The `weight` method's factor min(1, dt / shift).
fn down_weight(shift: f32, trace_dt: f32) -> f32 {
    if shift > trace_dt {
        return trace_dt / shift;
    }
    return 1.0;
}

// The triangle's half-length in samples, at least one.
fn half_length(shift: f32, inv_trace_dt: f32) -> f32 {
    return max(shift * inv_trace_dt, 1.0);
}

// f (1 - f) / 2: how far linear interpolation of a double integral reads below it, per unit of
// its curvature, at fraction f.
fn bend(f: f32) -> f32 {
    return 0.5 * f * (1.0 - f);
}

// The triangle's divisor (`pstm_math::antialias::triangle`): l^2 corrected for reading the
// double integral linearly at fractions fu (centre), fm (u - l) and fp (u + l).
fn triangle_divisor(l: f32, fu: f32, fm: f32, fp: f32) -> f32 {
    return fma(l, l, fma(-2.0, bend(fu), bend(fm) + bend(fp)));
}

// Traveltimes (straight ray, curved ray, VTI) and where they fall in a trace, in float32:
// `pstm_math::traveltime::LegLaw` and `pstm_math::interp::sample_position`, restated so that
// the large part of a late traveltime never passes through a float32 rounding.
// CPU twin: src/cpu/traveltime.rs.
//
// Every type starts a leg from s^2 = a + d^2 b with a and b fixed per output sample
// (pstm_math::traveltime's module documentation): the straight ray's a = (t0/2)^2, b = 1/v^2.
// A curved ray multiplies a by fa and b by fb (`Gradient::factors`, per output time, from the
// host's `law` binding), or takes b = fb for a given v0, and its leg is s asinhc(c s); a VTI leg
// is sqrt(a + q (a + q) / (a + (1 + 2 eta) q)), q = d^2 b, with 1 + 2 eta per output sample from
// the `law` binding. The type is uniform across a dispatch (`Imaging.traveltime`).

// `Imaging.traveltime`: the double square root.
const TRAVELTIME_STRAIGHT: u32 = 0u;
// A curved ray, v0 from the RMS velocity: a = (t0/2)^2 fa, b = fb / v^2.
const TRAVELTIME_CURVED: u32 = 1u;
// A curved ray with a given v0: a = (t0/2)^2 fa, b = fb (the velocity is not used).
const TRAVELTIME_CURVED_V0: u32 = 2u;
// VTI: a and b the straight ray's, and 1 + 2 eta.
const TRAVELTIME_VTI: u32 = 3u;
// VTI's denominator is held above this (it is positive for every accepted eta).
const VTI_TINY: f32 = 1e-30;

// One leg of the double square root (s): from an image point at zero-offset time t0 to a
// surface point at squared horizontal distance d2 (m^2). Takes h2 = (t0/2)^2 (s^2) and
// inv_v2 = 1/v^2 (s^2/m^2), the same for every trace of an output sample.
fn leg_time(h2: f32, d2: f32, inv_v2: f32) -> f32 {
    return sqrt(h2 + d2 * inv_v2);
}

// a of the leg law from h2 = (t0/2)^2 and the output sample's `law` entry.
fn law_a(traveltime: u32, h2: f32, law: vec2<f32>) -> f32 {
    if traveltime == TRAVELTIME_CURVED || traveltime == TRAVELTIME_CURVED_V0 {
        return h2 * law.x;
    }
    return h2;
}

// b of the leg law from inv_v2 = 1/v^2 and the `law` entry; unit2 converts a given v0's fb
// (s^2/m^2) to the units of inv_v2 (1 in seconds, 1/dt^2 in trace samples).
fn law_b(traveltime: u32, inv_v2: f32, law: vec2<f32>, unit2: f32) -> f32 {
    if traveltime == TRAVELTIME_CURVED {
        return law.y * inv_v2;
    }
    if traveltime == TRAVELTIME_CURVED_V0 {
        return law.y * unit2;
    }
    return inv_v2;
}

// The leg's shape parameter: c (in the units' reciprocal) for a curved ray, 1 + 2 eta for VTI.
fn law_p(traveltime: u32, c: f32, law: vec2<f32>) -> f32 {
    if traveltime == TRAVELTIME_VTI {
        return law.x;
    }
    return c;
}

// asinh(y) / y for y >= 0, 1 at 0: asinh(y) = ln(1 + z), z = y + y^2 / (1 + sqrt(1 + y^2)) (no
// cancellation), ln(1 + z) = 2 atanh(u) by its series in u^2 to u^11: u = z / (2 + z) where
// z < 1/2 (the quotient by y taken inside, so y = 0 gives 1), else u = (m - 1) / (m + 1) of
// 1 + z = m 2^e, m in [0.75, 1.5), plus e ln 2. |u| <= 0.2 either way. Not WGSL's asinh or log:
// their precision is the driver's. The algorithm of pstm_kernel's lanes (`asinhc`), so the CPU
// kernels, the twin and the device agree to a few roundings.
fn asinhc(y: f32) -> f32 {
    let r = sqrt(fma(y, y, 1.0));
    let z_over_y = 1.0 + y / (1.0 + r);
    let z = y * z_over_y;
    let inv = 1.0 / (2.0 + z);
    let small = z < 0.5;
    let bits = bitcast<u32>(1.0 + z);
    var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
    var e = f32(i32(bits >> 23u) - 127);
    if m >= 1.5 {
        m = m * 0.5;
        e = e + 1.0;
    }
    var u = (m - 1.0) / (m + 1.0);
    if small {
        u = z * inv;
    }
    let u2 = u * u;
    var p = 1.0 / 11.0;
    p = fma(p, u2, 1.0 / 9.0);
    p = fma(p, u2, 1.0 / 7.0);
    p = fma(p, u2, 1.0 / 5.0);
    p = fma(p, u2, 1.0 / 3.0);
    p = fma(p, u2, 1.0);
    if small {
        return 2.0 * (z_over_y * inv) * p;
    }
    return fma(e, 0.693147180559945, 2.0 * (u * p)) / y;
}

// One leg's time of a curved ray or VTI (the straight ray: `leg_time`), in the units of a and b,
// from the output sample's a, b and shape parameter p (`law_a`, `law_b`, `law_p`).
fn law_leg_time(traveltime: u32, a: f32, b: f32, p: f32, d2: f32) -> f32 {
    if traveltime == TRAVELTIME_VTI {
        let q = d2 * b;
        let den = max(fma(p, q, a), VTI_TINY);
        return sqrt(fma(q, (a + q) / den, a));
    }
    let s = sqrt(fma(d2, b, a));
    if traveltime == TRAVELTIME_STRAIGHT {
        return s;
    }
    return s * asinhc(p * s);
}

// A position in a trace: sample `index` plus `frac` in [0, 1].
struct TracePosition {
    index: i32,
    frac: f32,
}

// Where the traveltime ts + tr falls in a trace sampled every 1/inv_dt seconds, given the
// position of the output time t0 itself as base_index + base_frac (from the host, in float64).
// Only the moveout (ts - t0/2) + (tr - t0/2), in samples, goes through float32 rounding, never
// the full time: at t = 3 s and 2 ms a float32 position of 1500 would carry 6e-5 samples of
// rounding on its own.
fn trace_position(ts: f32, tr: f32, h: f32, base_index: f32, base_frac: f32, inv_dt: f32) -> TracePosition {
    let m = base_frac + ((ts - h) + (tr - h)) * inv_dt;
    let whole = floor(m);
    return TracePosition(i32(base_index) + i32(whole), m - whole);
}

// Whether a position can be interpolated: 0 <= position < n - 1, so that both neighbours
// index and index + 1 exist. The interval is half-open as in pstm_math::interp.
fn inside_trace(p: TracePosition, n_samples: u32) -> bool {
    return p.index >= 0 && p.index < i32(n_samples) - 1;
}

// An output sample's traveltime law as gpu-v0 and gpu-v1 take it: the straight ray's h2 and
// inv_v2 as they were, and a curved ray's or VTI's a, b and p from its `law` entry.
struct OutputLaw {
    traveltime: u32,
    h2: f32,
    inv_v2: f32,
    a: f32,
    b: f32,
    p: f32,
}

fn output_law(traveltime: u32, c: f32, entry: vec2<f32>, h2: f32, inv_v2: f32) -> OutputLaw {
    return OutputLaw(traveltime, h2, inv_v2, law_a(traveltime, h2, entry), law_b(traveltime, inv_v2, entry, 1.0),
                     law_p(traveltime, c, entry));
}

// Both legs' times (s) at squared distances ds2 and dr2 (m^2).
fn leg_times(law: OutputLaw, ds2: f32, dr2: f32) -> vec2<f32> {
    if law.traveltime == TRAVELTIME_STRAIGHT {
        return vec2<f32>(leg_time(law.h2, ds2, law.inv_v2), leg_time(law.h2, dr2, law.inv_v2));
    }
    return vec2<f32>(law_leg_time(law.traveltime, law.a, law.b, law.p, ds2),
                     law_leg_time(law.traveltime, law.a, law.b, law.p, dr2));
}

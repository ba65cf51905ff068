// A contribution's sample, read from the `traces` binding (n_samples samples per trace, trace
// after trace) as the operator says (`pstm_math::ImagingOperator::read`): cubic or sinc8
// interpolation, the `weight` method's down-weight, the triangle filter on the doubly integrated
// trace. The arithmetic of weights and antialiasing is shared/reading.wgsl's; this part loads
// the samples, so it reads the including kernel's bindings by name:
//   traces (storage f32), interp_table (storage vec4<f32>, the sinc8 table), block.n_samples,
//   block.trace_dt_s, block.inv_trace_dt, tile.imaging.
// gpu-v0 and gpu-v1 call `read_trace`; gpu-v2 works in trace samples, with its own loads for the
// triangle (its trace pairs), and takes only `interpolated`, `triangle_taps` and
// `triangle_value`. The plain read (linear, no antialiasing) stays inline in every kernel.
// CPU twin: src/cpu/trace_samples.rs.

#include "shared/traveltime.wgsl"
#include "shared/reading.wgsl"

// What `read_trace` reads.
struct TraceRead {
    value: f32,
    // false: the contribution is left out, from the fold too (a triangle reaching past an end of
    // the trace).
    inside: bool,
}

// Sample `index` of the trace starting at `start` in `traces`; zero outside the trace.
fn trace_tap(start: u32, index: i32) -> f32 {
    if index >= 0 && index < i32(block.n_samples) {
        return traces[start + u32(index)];
    }
    return 0.0;
}

// w . s, in the order the CPU twin sums it.
fn weighted4(w: vec4<f32>, s: vec4<f32>) -> f32 {
    return fma(w.w, s.w, fma(w.z, s.z, fma(w.y, s.y, w.x * s.x)));
}

// The trace starting at `start` read at p (inside the trace: 0 <= p < n_samples - 1) through
// `interpolation` (INTERPOLATION_*): linear as the kernels' plain read, cubic's four taps,
// sinc8's eight with weights from the table (two rows, read linearly between them).
fn interpolated(interpolation: u32, start: u32, p: TracePosition) -> f32 {
    let f = p.frac;
    if interpolation == INTERPOLATION_CUBIC {
        let w = cubic_weights(f);
        let s = vec4<f32>(trace_tap(start, p.index - 1), trace_tap(start, p.index), trace_tap(start, p.index + 1),
                          trace_tap(start, p.index + 2));
        return weighted4(w, s);
    }
    if interpolation == INTERPOLATION_SINC8 {
        let r = sinc8_row(f);
        let row = 2u * r.row;
        let w_lo = table_lerp(interp_table[row], interp_table[row + 2u], r.frac);
        let w_hi = table_lerp(interp_table[row + 1u], interp_table[row + 3u], r.frac);
        let lo = vec4<f32>(trace_tap(start, p.index - 3), trace_tap(start, p.index - 2),
                           trace_tap(start, p.index - 1), trace_tap(start, p.index));
        let hi = vec4<f32>(trace_tap(start, p.index + 1), trace_tap(start, p.index + 2),
                           trace_tap(start, p.index + 3), trace_tap(start, p.index + 4));
        return weighted4(w_lo, lo) + weighted4(w_hi, hi);
    }
    let k = start + u32(p.index);
    let s0 = traces[k];
    let s1 = traces[k + 1u];
    return s0 + f * (s1 - s0);
}

// The triangle's outer reads u - l and u + l of u = p, half-length l (samples): the integer
// parts of frac -+ l are added to p.index, so the position's own integer part never passes
// through float32.
struct TriangleTaps {
    lo: TracePosition,
    hi: TracePosition,
}

fn triangle_taps(p: TracePosition, l: f32) -> TriangleTaps {
    let m = p.frac - l;
    let m_whole = floor(m);
    let q = p.frac + l;
    let q_whole = floor(q);
    return TriangleTaps(TracePosition(p.index + i32(m_whole), m - m_whole),
                        TracePosition(p.index + i32(q_whole), q - q_whole));
}

// The triangle-filtered trace (`pstm_math::antialias::triangle`) from the double integral I read
// linearly at u, u - l and u + l: `at_*` hold (I[index], I[index + 1] - I[index]) at each read's
// index, `f*` its fraction. 2 I(u) - I(u - l) - I(u + l) is taken relative to I[index of u]: the
// double integral is large against its second difference (thousands of times on white noise),
// so differences of nearby values are formed first, each exact or rounded at the scale of the
// single integral, instead of rounding each read at the scale of I.
fn triangle_value(l: f32, fu: f32, fm: f32, fp: f32, at_u: vec2<f32>, at_m: vec2<f32>, at_p: vec2<f32>) -> f32 {
    let centre = 2.0 * (fu * at_u.y);
    let lower = fma(fm, at_m.y, at_m.x - at_u.x);
    let upper = fma(fp, at_p.y, at_p.x - at_u.x);
    return (centre - lower - upper) / triangle_divisor(l, fu, fm, fp);
}

// (I[k], I[k + 1] - I[k]) of `traces`.
fn trace_pair(k: u32) -> vec2<f32> {
    let s0 = traces[k];
    return vec2<f32>(s0, traces[k + 1u] - s0);
}

// gpu-v0's and gpu-v1's read of trace sample position p (inside the trace) of the trace starting
// at `start`, for the operator of tile.imaging other than linear without antialiasing: law is
// the output sample's, ds and dr the image point less source and receiver (m), ds2 and dr2 their
// squares, ts and tr the legs' times (s).
fn read_trace(start: u32, p: TracePosition, law: OutputLaw, ds: vec2<f32>, dr: vec2<f32>, ds2: f32, dr2: f32,
              ts: f32, tr: f32) -> TraceRead {
    let imaging = tile.imaging;
    var shift = 0.0;
    if imaging.antialias != ANTIALIAS_NONE {
        let t_min = 0.5 * block.trace_dt_s;
        let rate_s = leg_rate(law.traveltime, law.a, law.b, law.p, ds2, ts, t_min);
        let rate_r = leg_rate(law.traveltime, law.a, law.b, law.p, dr2, tr, t_min);
        shift = operator_shift(rate_s, rate_r, leg_projections(ds, dr, imaging.aa_steps));
    }
    if imaging.antialias == ANTIALIAS_TRIANGLE {
        let l = half_length(shift, block.inv_trace_dt);
        let taps = triangle_taps(p, l);
        if !inside_trace(taps.lo, block.n_samples) || !inside_trace(taps.hi, block.n_samples) {
            return TraceRead(0.0, false);
        }
        let value = triangle_value(l, p.frac, taps.lo.frac, taps.hi.frac, trace_pair(start + u32(p.index)),
                                   trace_pair(start + u32(taps.lo.index)), trace_pair(start + u32(taps.hi.index)));
        return TraceRead(value, true);
    }
    var value = interpolated(imaging.interpolation, start, p);
    if imaging.antialias == ANTIALIAS_WEIGHT {
        value *= down_weight(shift, block.trace_dt_s);
    }
    return TraceRead(value, true);
}

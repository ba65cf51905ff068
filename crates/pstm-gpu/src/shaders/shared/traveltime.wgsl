// Straight-ray double-square-root traveltime and where it falls in a trace, in float32:
// `pstm_math::traveltime::dsr_time` and `pstm_math::interp::sample_position`, restated so that
// the large part of a late traveltime never passes through a float32 rounding.
// CPU twin: src/cpu/traveltime.rs.

// One leg of the double square root (s): from an image point at zero-offset time t0 to a
// surface point at squared horizontal distance d2 (m^2). Takes h2 = (t0/2)^2 (s^2) and
// inv_v2 = 1/v^2 (s^2/m^2), the same for every trace of an output sample.
fn leg_time(h2: f32, d2: f32, inv_v2: f32) -> f32 {
    return sqrt(h2 + d2 * inv_v2);
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

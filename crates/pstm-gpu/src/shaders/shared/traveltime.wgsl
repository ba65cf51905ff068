// Straight-ray double-square-root traveltime and the position of a time in a trace, in float32:
// `pstm_math::traveltime::dsr_time` and `pstm_math::interp::sample_position`.
// CPU twin: src/cpu/traveltime.rs.

// Two-way time (s) to an image point at zero-offset time t0 whose source and receiver legs have
// squared horizontal lengths ds2 and dr2 (m^2). Takes h2 = (t0/2)^2 (s^2) and inv_v2 = 1/v^2
// (s^2/m^2), which are the same for every trace of an output sample.
fn dsr_time(h2: f32, ds2: f32, dr2: f32, inv_v2: f32) -> f32 {
    return sqrt(h2 + ds2 * inv_v2) + sqrt(h2 + dr2 * inv_v2);
}

// Fractional sample position of time t (s) in a trace whose first sample lies at trace_t0 (s),
// sampled at 1/inv_dt seconds.
fn sample_position(t: f32, trace_t0: f32, inv_dt: f32) -> f32 {
    return (t - trace_t0) * inv_dt;
}

// Whether position u can be interpolated: 0 <= u < n - 1 (last_position = n - 1), so that both
// neighbours floor(u) and floor(u) + 1 exist. The interval is half-open as in pstm_math::interp.
fn inside_trace(u: f32, last_position: f32) -> bool {
    return u >= 0.0 && u < last_position;
}

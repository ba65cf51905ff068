// gpu-v2's trace pairs (roadmap 2.3): each block's samples rewritten on the device as
// (sample i, sample i + 1 - sample i), so that the migration reads both interpolation points of
// a contribution with one aligned 8-byte load and interpolates with one fma. The difference is
// the float32 subtraction the migration would otherwise do itself: the image does not change by
// one bit. Pair i of a trace exists for i < trace_stride = max(n_samples - 1, 1); the last sample
// of a trace is never the left point of an interpolation (positions lie in [0, n_samples - 1)).
// CPU twin: `make_pairs` in src/cpu/migrate_v2.rs.

// gpu-v2's block parameters (gpu_v2.wgsl); only the sizes are read here.
struct BlockParamsV2 {
    n_traces: u32,
    n_samples: u32,
    accumulate: u32,
    trace_stride: u32,
    last_index: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
    trace_dt_s: f32,
    inv_trace_dt: f32,
    position_offset: f32,
    pad3: f32,
}

@group(0) @binding(0) var<uniform> block: BlockParamsV2;
@group(0) @binding(1) var<storage, read> traces: array<f32>;
@group(0) @binding(2) var<storage, read_write> pairs: array<vec2<f32>>;

const PAIRS_WORKGROUP_SIZE: u32 = 256u;

@compute @workgroup_size(PAIRS_WORKGROUP_SIZE)
fn make_pairs(@builtin(global_invocation_id) global_id: vec3<u32>,
              @builtin(num_workgroups) num_workgroups: vec3<u32>) {
    let i = global_id.x + global_id.y * num_workgroups.x * PAIRS_WORKGROUP_SIZE;
    if i >= block.n_traces * block.trace_stride {
        return;
    }
    let trace = i / block.trace_stride;
    let s = i - trace * block.trace_stride;
    let k = trace * block.n_samples + s;
    let s0 = traces[k];
    var next = s0;
    if s + 1u < block.n_samples {
        next = traces[k + 1u];
    }
    pairs[i] = vec2<f32>(s0, next - s0);
}

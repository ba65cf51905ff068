// gpu-v0: the straight port of the reference kernel (pstm_kernel::cpu_ref). One invocation per
// output sample (column c, time index it) loops over every trace of the block, in trace order.
// The honest baseline the later versions are measured against: no workgroup memory, no
// subgroups, no reuse of anything between output samples.
// CPU twin: src/cpu/migrate_v0.rs. Host side and binding table: src/gpu_v0.rs.
//
// Dispatch: x covers the output times in workgroups of WORKGROUP_SIZE; y (and z, when a tile
// has more columns than one dimension may dispatch) covers the columns.
// Accumulation: the first dispatch of a tile writes every output sample (=), later dispatches
// add, so the device buffers need no clearing and an unwritten sample stays poisoned.
// Reading: linear without antialiasing inline, as it always was; any other interpolation or
// antialiasing through shared/trace_samples.wgsl (a branch uniform across the dispatch), shared
// with gpu-v1, which binds its traces the same way.

#include "shared/traveltime.wgsl"
#include "shared/weights.wgsl"
#include "shared/trace_samples.wgsl"

// Per tile (units in `TileParams`, src/layout.rs).
struct TileParams {
    n_columns: u32,
    nt: u32,
    velocity_columns: u32,
    // Entries of `law` between columns: 0 (per output time) or nt (VTI, eta per column).
    law_stride: u32,
    imaging: Imaging,
}

// Per dispatch: one block of traces (units in `BlockParams`, src/layout.rs).
struct BlockParams {
    n_traces: u32,
    n_samples: u32,
    accumulate: u32,
    pad0: u32,
    trace_dt_s: f32,
    inv_trace_dt: f32,
    pad1: f32,
    pad2: f32,
}

@group(0) @binding(0) var<uniform> tile: TileParams;
@group(0) @binding(1) var<uniform> block: BlockParams;
// (x, y) of each column relative to the tile's local origin (m).
@group(0) @binding(2) var<storage, read> columns: array<vec2<f32>>;
// RMS velocity (m/s) at [velocity column][it]; one column when laterally invariant.
@group(0) @binding(3) var<storage, read> velocity: array<f32>;
// Per trace: midpoint (x, y) relative to the local origin, half offset vector (receiver minus
// midpoint) (m).
@group(0) @binding(4) var<storage, read> geometry: array<vec4<f32>>;
// n_traces * n_samples samples, trace after trace.
@group(0) @binding(5) var<storage, read> traces: array<f32>;
@group(0) @binding(6) var<storage, read_write> image: array<f32>;
@group(0) @binding(7) var<storage, read_write> fold: array<u32>;
// Per output time it: (t0, t0/2, base_frac, base_index), t0 = base_index + base_frac samples
// into this block's traces (computed on the host in float64; see traveltime.wgsl).
@group(0) @binding(8) var<storage, read> times: array<vec4<f32>>;
// The leg law beyond (t0/2)^2 and 1/v^2, entry c * law_stride + it (`layout::leg_laws`): a
// curved ray's (fa, fb) per output time, VTI's (1 + 2 eta, 0); one unused entry for the
// straight ray.
@group(0) @binding(9) var<storage, read> law: array<vec2<f32>>;
// Sinc8's weights (`layout::sinc8_table`) where the operator interpolates with sinc8, else one
// unused entry.
@group(0) @binding(10) var<storage, read> interp_table: array<vec4<f32>>;

const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn migrate(@builtin(global_invocation_id) global_id: vec3<u32>,
           @builtin(num_workgroups) num_workgroups: vec3<u32>) {
    let it = global_id.x;
    let c = global_id.y + global_id.z * num_workgroups.y;
    if it >= tile.nt || c >= tile.n_columns {
        return;
    }
    let out_index = c * tile.nt + it;
    let column = columns[c];
    let velocity_column = select(c, 0u, tile.velocity_columns == 1u);
    let v = velocity[velocity_column * tile.nt + it];
    let time = times[it];
    let t0 = time.x;
    let h = time.y;
    let h2 = h * h;
    let inv_v2 = 1.0 / (v * v);
    // The leg law (shared/traveltime.wgsl); the straight ray keeps h2 and inv_v2 as they are.
    let traveltime = tile.imaging.traveltime;
    var law_entry = vec2<f32>(0.0);
    if traveltime != TRAVELTIME_STRAIGHT {
        law_entry = law[c * tile.law_stride + it];
    }
    let output = output_law(traveltime, tile.imaging.curve_c, law_entry, h2, inv_v2);
    let a = aperture_radius(tile.imaging, t0, v);
    let a2 = a * a;
    let stretch_limit = stretch_limit(tile.imaging, t0);
    let plain = tile.imaging.interpolation == INTERPOLATION_LINEAR && tile.imaging.antialias == ANTIALIAS_NONE;

    var sum = 0.0;
    var count = 0u;
    for (var i = 0u; i < block.n_traces; i++) {
        let g = geometry[i];
        // Image point minus midpoint; source = midpoint - half offset, receiver = midpoint + half offset.
        let dx = column.x - g.x;
        let dy = column.y - g.y;
        let dm2 = dx * dx + dy * dy;
        if dm2 > a2 {
            continue;
        }
        let dsx = dx + g.z;
        let dsy = dy + g.w;
        let drx = dx - g.z;
        let dry = dy - g.w;
        let ds2 = dsx * dsx + dsy * dsy;
        let dr2 = drx * drx + dry * dry;
        let legs = leg_times(output, ds2, dr2);
        let ts = legs.x;
        let tr = legs.y;
        let t = ts + tr;
        let p = trace_position(ts, tr, h, time.w, time.z, block.inv_trace_dt);
        if !inside_trace(p, block.n_samples) || t > stretch_limit {
            continue;
        }
        let frac = p.frac;
        var amplitude: f32;
        if plain {
            let k = i * block.n_samples + u32(p.index);
            let s0 = traces[k];
            let s1 = traces[k + 1u];
            amplitude = s0 + frac * (s1 - s0);
        } else {
            let read = read_trace(i * block.n_samples, p, output, vec2<f32>(dsx, dsy), vec2<f32>(drx, dry), ds2, dr2,
                                  ts, tr);
            if !read.inside {
                continue;
            }
            amplitude = read.value;
        }
        let w = taper_weight(tile.imaging, sqrt(dm2), a) * amplitude_weight(tile.imaging, t0, t, v, block.trace_dt_s);
        sum += w * amplitude;
        count += 1u;
    }

    if block.accumulate != 0u {
        image[out_index] += sum;
        fold[out_index] += count;
    } else {
        image[out_index] = sum;
        fold[out_index] = count;
    }
}

// gpu-v1: gpu-v0's migration loop on the roadmap's Phase 1 host side (buffers pooled per job,
// blocks double-buffered through mapped staging memory, static data uploaded once per job) and
// with the velocity model sampled on the device (Phase 1.4) instead of one value per output
// sample prepared on the host.
// CPU twin: src/cpu/migrate_v1.rs. Host side and binding table: src/gpu_v1.rs.
//
// Dispatch, accumulation and reading as gpu-v0: x over output times, y (and z) over columns; the
// first dispatch of a tile writes every output sample, later ones add; linear reads without
// antialiasing inline, the others through shared/trace_samples.wgsl.

#include "shared/traveltime.wgsl"
#include "shared/weights.wgsl"
#include "shared/velocity.wgsl"
#include "shared/velocity_source.wgsl"
#include "shared/trace_samples.wgsl"

// Per tile (units in `TileParamsV1`, src/layout.rs).
struct TileParamsV1 {
    n_columns: u32,
    nt: u32,
    velocity_source: u32,
    // Entries of `law` between columns: 0 (per output time) or nt (VTI, eta per column).
    law_stride: u32,
    // Samples of the velocity cube along x, y and time (VELOCITY_CUBE_*).
    cube_nx: u32,
    cube_ny: u32,
    cube_nt: u32,
    pad1: u32,
    imaging: Imaging,
}

// Per dispatch: one block of traces (as gpu-v0).
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

// An output column: position relative to the tile's local origin (m), and its cell in the
// velocity cube (index of the lower corner along x and y, and the fractions), when there is one.
struct Column {
    position: vec2<f32>,
    fraction: vec2<f32>,
    cell: vec2<u32>,
    pad: vec2<u32>,
}

// An output time: t0 and t0/2 (s), t0's position in the traces as base_index + base_frac
// samples (float64 on the host), and its cell and fraction along the velocity cube's time axis.
struct OutputTime {
    t0: f32,
    half_t0: f32,
    base_frac: f32,
    base_index: f32,
    cell: u32,
    fraction: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> tile: TileParamsV1;
@group(0) @binding(1) var<uniform> block: BlockParams;
@group(0) @binding(2) var<storage, read> columns: array<Column>;
// VELOCITY_TIME: [it]; VELOCITY_COLUMNS: [c * nt + it]; VELOCITY_CUBE_BUFFER: the cube,
// [(ix * cube_ny + iy) * cube_nt + it]. RMS velocity in m/s.
@group(0) @binding(3) var<storage, read> velocity: array<f32>;
// The cube as a texture of cube_nt x cube_ny x cube_nx texels (VELOCITY_CUBE_TEXTURE, _SAMPLED).
@group(0) @binding(4) var velocity_texture: texture_3d<f32>;
@group(0) @binding(5) var velocity_sampler: sampler;
// Per trace: midpoint (x, y) relative to the local origin, half offset vector (m).
@group(0) @binding(6) var<storage, read> geometry: array<vec4<f32>>;
// n_traces * n_samples samples, trace after trace.
@group(0) @binding(7) var<storage, read> traces: array<f32>;
@group(0) @binding(8) var<storage, read_write> image: array<f32>;
@group(0) @binding(9) var<storage, read_write> fold: array<u32>;
@group(0) @binding(10) var<storage, read> times: array<OutputTime>;
// The leg law beyond (t0/2)^2 and 1/v^2, entry c * law_stride + it (`layout::leg_laws`): a
// curved ray's (fa, fb) per output time, VTI's (1 + 2 eta, 0); one unused entry for the
// straight ray.
@group(0) @binding(11) var<storage, read> law: array<vec2<f32>>;
// Sinc8's weights (`layout::sinc8_table`) where the operator interpolates with sinc8, else one
// unused entry.
@group(0) @binding(12) var<storage, read> interp_table: array<vec4<f32>>;

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
    let column = columns[c].position;
    let v = velocity_at(c, it);
    let time = times[it];
    let t0 = time.t0;
    let h = time.half_t0;
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

    // gpu-v0's loop, kept inline: the same loop behind a shared function returning a struct
    // costs 16% of kernel time on NVIDIA's Vulkan compiler (docs/PERFORMANCE.md).
    var sum = 0.0;
    var count = 0u;
    for (var i = 0u; i < block.n_traces; i++) {
        let g = geometry[i];
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
        let p = trace_position(ts, tr, h, time.base_index, time.base_frac, block.inv_trace_dt);
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

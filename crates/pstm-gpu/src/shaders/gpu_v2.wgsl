// gpu-v2: the roadmap's Phase 2 (shader optimisations) on gpu-v1's host side.
// CPU twin: src/cpu/migrate_v2.rs. Host side: src/gpu_v2/ (kernel, specialisation, tuning) and
// src/host/ (gpu-v1's pipeline, shared). Trace pairs: gpu_v2_pairs.wgsl.
//
// One workgroup migrates one output column over a chunk of CHUNK = WORKGROUP_SIZE * SAMPLES
// output times; each invocation owns SAMPLES of them. Workgroups go column first (x, spilling into
// z), then chunk (y): workgroups running at once read the same time window of each trace for
// neighbouring columns, which keeps the traces' working set in the cache small. Invocations form lane groups (subgroups,
// or LANE_GROUP invocations without them) of G lanes: group g owns the contiguous times
// [first + g G SAMPLES, first + (g + 1) G SAMPLES) and its lane l the times
// first + g G SAMPLES + k G + l, k < SAMPLES. So the lanes of a group read neighbouring samples of
// a trace at once (coalesced loads), and a trace that lies past the trace end from some time on
// is skipped by whole groups.
//
// Per block of traces, WORKGROUP_SIZE traces at a time (a batch):
//  1. staging (roadmap 2.1): each invocation takes one trace of the batch: its geometry, the
//     aperture test against the column, the terms every time of the column shares (squared leg
//     distances; the taper weight at a fixed aperture) and the first output time from which its
//     traveltime lies past the end of the trace (a bound from the workgroup's largest velocity);
//  2. compaction (2.2): live traces are packed into workgroup memory in trace order by subgroup
//     ballots. Without subgroups every trace keeps its slot and a dead one is marked dead from
//     time 0. Each output sample sums the same traces in the same order either way: the two
//     paths give the same image bit for bit;
//  3. the sum (2.3, 2.4): each group walks the list, skipping the traces dead for all its times.
//     Per contribution: two square roots and (with weights) one reciprocal, the position in
//     trace samples, one 8-byte load of (sample, difference to the next sample) and the fold
//     count. The weights' numerator (t0 / v, 1 / v or t0) is the same for every trace of an
//     output sample and multiplies its sum once, at the end.
//
// gpu-v3 (src/gpu_v3.rs) specialises the same source further: with WORK_ITEMS a workgroup takes
// its (column, chunk) from the tile's list of work items (an adaptive run lists only the cells
// it migrates; the rest, flagged, are written as zeros by the tile's first block and skipped
// after it), and with the flag PERSISTENT a fixed grid of workgroups claims the items one by one
// from a counter on the device (roadmap 3.2), which the host zeroes before each dispatch.
// Every item is migrated exactly as gpu-v2 migrates that column and chunk: the same image.
//
// Output times below half a trace sample, where the weights' clamps (spreading divides by
// max(t, dt/2), obliquity needs t > 0) can bind, go through this shader specialised with
// EXACT_WEIGHTS: the shared `amplitude_weight` per contribution, as gpu-v1. The host dispatches
// those few times (usually none, or the one at t0 = 0) on their own.
//
// Reading (INTERPOLATION, ANTIALIAS, both specialised, so that linear reads without antialiasing
// compile to the arithmetic and loads they always did: examples/spirv_counts.rs finds the same
// counts, bar function-local variables and branches on constants, which drivers remove): cubic
// and sinc8 read single samples from `traces` (a trace's entry then indexes `traces`, and no
// pairs are made: a pair holds no sample past the last interpolation point, which their taps
// reach), through shared/trace_samples.wgsl's `interpolated`; the triangle reads the doubly
// integrated trace linearly at three positions, from pairs as linear reads do. Antialiasing
// keeps each live trace's leg projections on the grid steps in workgroup memory (`batch_aa`) and
// takes the operator's shift per output step, in trace samples, from the legs' rates. The
// triangle only removes contributions and interpolation does not move the trace's valid
// interval, so the dead-trace bound holds for every reading. With TRAVELTIME_TABLE (the straight
// ray only) the rates come from the straight law's a and b, the legs' distances squared.

#include "shared/traveltime.wgsl"
#include "shared/weights.wgsl"
#include "shared/velocity.wgsl"
#include "shared/velocity_source.wgsl"
#include "shared/trace_samples.wgsl"

// Specialised by the host (src/gpu_v2/mod.rs); the values here are what the tests validate.
// Invocations per workgroup: a multiple of the subgroup size.
const WORKGROUP_SIZE: u32 = 256u;
// Output times per invocation.
const SAMPLES: u32 = 4u;
// Dip aperture: the radius and taper per output time. Otherwise fixed: tested once per trace.
const DIP_APERTURE: bool = false;
// Twice the power of 1/t in the weight: 0 (no weights), 1 (a line's spreading), 2 (spreading or
// obliquity), 3 (a line's spreading and obliquity), 4 (spreading and obliquity).
const WEIGHT_HALF_POWER: u32 = 4u;
// The traveltime: one of TRAVELTIME_* (shared/traveltime.wgsl), as `tile.imaging.traveltime`.
// The straight ray takes its two roots as before; a curved ray or VTI reads its law per output
// time (`law`) and takes the shared `law_leg_time`, in trace samples.
const TRAVELTIME: u32 = 0u;
// A stretch mute: contributions with t > stretch_max t0 are dropped.
const STRETCH_MUTE: bool = false;
// How traces are read: INTERPOLATION_* (shared/reading.wgsl), as `tile.imaging.interpolation`
// (linear under triangle antialiasing), and ANTIALIAS_*, as `tile.imaging.antialias`.
const INTERPOLATION: u32 = 0u;
const ANTIALIAS: u32 = 0u;
// Slots of `batch_aa`: one unused without antialiasing.
const AA_SLOTS: u32 = select(1u, WORKGROUP_SIZE, ANTIALIAS != ANTIALIAS_NONE);
// The shared `amplitude_weight` per contribution (output times below half a trace sample).
const EXACT_WEIGHTS: bool = false;
// Samples read as (sample, next - sample) pairs, one 8-byte load; else two loads from `traces`.
const TRACE_PAIRS: bool = true;
// The traces start at time 0 (no delay): positions are the traveltimes themselves, never
// negative, and only the trace end needs a test.
const ZERO_START: bool = false;
// Lanes per group without subgroups.
const LANE_GROUP: u32 = 32u;
const CHUNK: u32 = WORKGROUP_SIZE * SAMPLES;
// gpu-v3: workgroups take (column, chunk) from `items` (always so with the flag PERSISTENT).
const WORK_ITEMS: bool = false;
// gpu-v3: legs' times read from the traveltime table (pstm_math::traveltime_table): staging
// keeps the legs' distances instead of their squares, and a contribution reads two table
// entries instead of taking two roots (rows not tabulated, and distances past the table, take
// the roots).
const TRAVELTIME_TABLE: bool = false;
// An item whose chunk carries this bit lies outside an adaptive run's mask.
const ITEM_SKIPPED: u32 = 0x80000000u;
// Measurement only (`PSTM_GPU_V2_ABLATE`, docs/PERFORMANCE.md): a stage left out to time it by
// difference; the image is then wrong. Square roots replaced by their first-order expansion about
// t0/2 (one fma), the reciprocal by a multiply, the trace loads by a constant.
const ABLATE_ROOTS: bool = false;
const ABLATE_RECIPROCAL: bool = false;
const ABLATE_LOADS: bool = false;
// How far past the trace end (samples) the traveltime bound must lie before a trace is skipped:
// far more than the float32 rounding of a position, so no contribution is ever skipped.
const DEAD_MARGIN: f32 = 1.0;
// whole + INDEX_SHIFT holds an integral float `whole` in its low mantissa bits when
// |whole| < 2^22, as INDEX_BIAS + whole: the index without a float-to-int conversion (and its
// clamps). Any other whole, or infinity, gives bits far outside the trace; the host keeps traces
// below 2^22 samples.
const INDEX_SHIFT: f32 = 12582912.0;
const INDEX_BIAS: u32 = 0x4b400000u;

// Output times [begin, end) of a dispatch.
struct TimeRange {
    begin: u32,
    end: u32,
    pad0: u32,
    pad1: u32,
}

// Per tile (units in `TileParamsV2`, src/layout.rs).
struct TileParamsV2 {
    n_columns: u32,
    nt: u32,
    velocity_source: u32,
    // gpu-v3: work items of the tile (the first block's dispatch), and those migrated (later
    // blocks': the first n_active of the list).
    n_items: u32,
    cube_nx: u32,
    cube_ny: u32,
    cube_nt: u32,
    // Entries of `law` between columns: 0 (per output time) or nt (VTI, eta per column).
    law_stride: u32,
    imaging: Imaging,
    // Output times with the fast weights, and those with EXACT_WEIGHTS.
    fast: TimeRange,
    exact: TimeRange,
    // The first output time and the output time step, in trace samples.
    first_time_samples: f32,
    time_step_samples: f32,
    n_active: u32,
    // gpu-v3: entries per row of the traveltime table.
    table_distances: u32,
}

// gpu-v3: the next work item to claim.
struct WorkQueue {
    head: atomic<u32>,
}

// Per dispatch: one block of traces.
struct BlockParamsV2 {
    n_traces: u32,
    n_samples: u32,
    accumulate: u32,
    // Elements of `pairs` (or `traces`) per trace.
    trace_stride: u32,
    // n_samples - 1: positions 0 <= p < last_index interpolate.
    last_index: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
    trace_dt_s: f32,
    inv_trace_dt: f32,
    // -t_start / dt: a traveltime of t samples lies at position t + position_offset.
    position_offset: f32,
    pad3: f32,
}

// An output column, as gpu-v1's.
struct Column {
    position: vec2<f32>,
    fraction: vec2<f32>,
    cell: vec2<u32>,
    pad: vec2<u32>,
}

// An output time: t0 (s), (t0 / 2)^2 in trace samples squared (float64 on the host), and its
// cell and fraction along the velocity cube's time axis.
struct OutputTimeV2 {
    t0: f32,
    half_t0_sq: f32,
    cell: u32,
    fraction: f32,
}

@group(0) @binding(0) var<uniform> tile: TileParamsV2;
@group(0) @binding(1) var<uniform> block: BlockParamsV2;
@group(0) @binding(2) var<storage, read> columns: array<Column>;
// As gpu-v1's (shared/velocity_source.wgsl).
@group(0) @binding(3) var<storage, read> velocity: array<f32>;
@group(0) @binding(4) var velocity_texture: texture_3d<f32>;
@group(0) @binding(5) var velocity_sampler: sampler;
// Per trace: midpoint (x, y) relative to the local origin, half offset vector (m).
@group(0) @binding(6) var<storage, read> geometry: array<vec4<f32>>;
// n_traces * n_samples samples, trace after trace (read without TRACE_PAIRS).
@group(0) @binding(7) var<storage, read> traces: array<f32>;
// Per trace, trace_stride pairs (sample i, sample i + 1 - sample i) (read with TRACE_PAIRS).
@group(0) @binding(8) var<storage, read> pairs: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read_write> image: array<f32>;
@group(0) @binding(10) var<storage, read_write> fold: array<u32>;
@group(0) @binding(11) var<storage, read> times: array<OutputTimeV2>;
// gpu-v3: the tile's work items (column, chunk | ITEM_SKIPPED), and the counter the persistent
// grid claims them by (a struct, not an array: no index to bounds-check on an atomic).
@group(0) @binding(12) var<storage, read> items: array<vec2<u32>>;
@group(0) @binding(13) var<storage, read_write> queue: WorkQueue;
// gpu-v3: the traveltime table, table_distances (value, next - value) pairs per output time, and
// 1 / spacing per output time (0: computed exactly).
@group(0) @binding(14) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(15) var<storage, read> table_rows: array<f32>;
// The leg law beyond (t0/2)^2 and 1/v^2 (`layout::leg_laws`, as gpu-v0's), entry
// c * law_stride + it; read only when TRAVELTIME is not the straight ray.
@group(0) @binding(16) var<storage, read> law: array<vec2<f32>>;
// Sinc8's weights (`layout::sinc8_table`) where INTERPOLATION is sinc8, else one unused entry.
@group(0) @binding(17) var<storage, read> interp_table: array<vec4<f32>>;

// The batch's live traces: (bits of ds2, bits of dr2, first element of the trace in `pairs` or
// `traces` less INDEX_BIAS, bits of the taper weight (fixed aperture) or of the midpoint
// distance (dip)).
var<workgroup> batch: array<vec4<u32>, WORKGROUP_SIZE>;
// Per live trace: the output time index from which it is dead.
var<workgroup> batch_until: array<u32, WORKGROUP_SIZE>;
// With antialiasing, per live trace: its legs' projections on the grid steps (`leg_projections`).
var<workgroup> batch_aa: array<vec4<f32>, AA_SLOTS>;
// Live traces per subgroup.
var<workgroup> group_live: array<u32, WORKGROUP_SIZE>;
// Bits of the workgroup's largest velocity and aperture radius (positive floats order as u32).
var<workgroup> largest_velocity: atomic<u32>;
var<workgroup> largest_radius: atomic<u32>;
// The item a persistent workgroup claimed.
var<workgroup> claimed: u32;

// Set lanes of `ballot` below `lane`, and in all (subgroups of up to 128 lanes).
fn ballot_rank(ballot: vec4<u32>, lane: u32) -> vec2<u32> {
    let counts = countOneBits(ballot);
    let word = lane >> 5u;
    var rank = countOneBits(ballot[word] & ((1u << (lane & 31u)) - 1u));
    for (var w = 0u; w < word; w++) {
        rank += counts[w];
    }
    return vec2<u32>(rank, counts.x + counts.y + counts.z + counts.w);
}

// The output time index from which a trace at squared leg distances ds2, dr2 (m^2) lies past
// the trace end, with inv_v2_min (trace samples^2 / m^2) the slowness of the workgroup's largest
// velocity: there its traveltime, bounded below by the double square root at that velocity,
// passes the end by DEAD_MARGIN samples, and the bound only grows with t0. nt when that never
// happens on the output axis, 0 when it happens from time 0.
fn dead_from(ds2: f32, dr2: f32, inv_v2_min: f32) -> u32 {
    let sa = sqrt(ds2 * inv_v2_min);
    let sb = sqrt(dr2 * inv_v2_min);
    // The traveltime (samples) past which the trace is dead.
    var limit = f32(block.last_index) - block.position_offset + DEAD_MARGIN;
    if TRAVELTIME == TRAVELTIME_CURVED || TRAVELTIME == TRAVELTIME_CURVED_V0 {
        // Legs f(s) = asinh(c s)/c with f concave and f(0) = 0: f(s1) + f(s2) >= f(s1 + s2), so
        // the traveltime passes the limit once s1 + s2, bounded below by the double square root
        // at the largest velocity of b, passes sinh(c limit)/c.
        let c = tile.imaging.curve_c * block.trace_dt_s;
        if c > 0.0 {
            limit = sinh(c * limit) / c;
        }
    }
    let gap = limit - sa - sb;
    if !(gap > 0.0) {
        return 0u;
    }
    // sqrt(h2 + sa^2) + sqrt(h2 + sb^2) = limit at this h2, written as a product of factors
    // none of which cancels catastrophically.
    let h2 = gap * (limit - sa + sb) * (limit + sa - sb) * (limit + sa + sb) / (4.0 * limit * limit);
    let steps = (2.0 * sqrt(h2) - tile.first_time_samples) / tile.time_step_samples;
    if !(steps < f32(tile.nt)) {
        return tile.nt;
    }
    return u32(max(ceil(steps), 0.0)) + 1u;
}

// The dip aperture's taper at midpoint distance dm, from the time's taper start and
// 1 / (radius - taper start).
fn dip_taper(dm: f32, taper_start: f32, inv_taper_width: f32) -> f32 {
    if tile.imaging.taper_kind == TAPER_NONE || dm <= taper_start {
        return 1.0;
    }
    return taper_profile(tile.imaging.taper_kind, (dm - taper_start) * inv_taper_width);
}

// What multiplies an output sample's sum of amplitude * taper * (1/t)^(WEIGHT_HALF_POWER / 2) (t
// in trace samples): 1/(v dt) for spreading (1/sqrt(v dt) on a line), t0/dt for obliquity, their
// product for both.
// A leg's time (trace samples) at distance d from row `row` of the table (1/spacing
// `inv_spacing`), or its root where the row is not tabulated or d lies past it.
fn table_leg_time(d: f32, row: u32, inv_spacing: f32, inv_v2: f32, half_t0_sq: f32) -> f32 {
    let x = d * inv_spacing;
    if inv_spacing > 0.0 && x < f32(tile.table_distances - 1u) {
        let i = floor(x);
        let p = table[row + u32(i)];
        return fma(x - i, p.y, p.x);
    }
    return sqrt(fma(d * d, inv_v2, half_t0_sq));
}

// (sample, next - sample) at element `at` of a trace's entry: from `pairs`, or two loads.
fn sample_pair(at: u32) -> vec2<f32> {
    if TRACE_PAIRS {
        return pairs[at];
    }
    return trace_pair(at);
}

// Work items of this block's dispatch: every item in the tile's first block (it writes the
// skipped ones' zeros), the migrated ones after it.
fn item_count() -> u32 {
    if block.accumulate == 0u {
        return tile.n_items;
    }
    return tile.n_active;
}

fn weight_numerator(t0: f32, v: f32) -> f32 {
    var n = 1.0;
    if tile.imaging.spreading != 0u {
        let vdt = v * block.trace_dt_s;
        if tile.imaging.line != 0u {
            n /= sqrt(vdt);
        } else {
            n /= vdt;
        }
    }
    if tile.imaging.obliquity != 0u {
        n *= t0 * block.inv_trace_dt;
    }
    return n;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn migrate(
    @builtin(local_invocation_index) local_index: u32,
    @builtin(workgroup_id) workgroup: vec3<u32>,
    @builtin(num_workgroups) num_workgroups: vec3<u32>,
#if SUBGROUPS
    @builtin(subgroup_invocation_id) subgroup_lane: u32,
    @builtin(subgroup_size) subgroup_size: u32,
    @builtin(subgroup_id) subgroup_index: u32,
    @builtin(num_subgroups) subgroup_count: u32,
#endif
) {
#if PERSISTENT
    // At most twice the workgroup's fair share of items: enough to balance uneven items where
    // the whole grid runs at once, and a bound where it does not (llvmpipe, CI's device, runs a
    // few workgroups at a time, so the first would otherwise claim every item, and it ends any
    // shader loop after 65535 iterations, counted over all of an invocation's items).
    let budget = 2u * ((item_count() + num_workgroups.x - 1u) / num_workgroups.x);
    for (var claims = 0u; claims < budget; claims++) {
    // Every invocation has read the last claim before it is replaced.
    workgroupBarrier();
    if local_index == 0u {
        claimed = atomicAdd(&queue.head, 1u);
    }
    let ticket = workgroupUniformLoad(&claimed);
    if ticket >= item_count() {
        break;
    }
    let item = items[ticket];
#else
    var item = vec2<u32>(workgroup.x + workgroup.z * num_workgroups.x, workgroup.y);
    if WORK_ITEMS {
        if item.x >= item_count() {
            return;
        }
        item = items[item.x];
    } else if item.x >= tile.n_columns {
        return;
    }
#endif
    let c = item.x;
    // A skipped item (zeros, first block only) sums no trace.
    let skipped = (item.y & ITEM_SKIPPED) != 0u;
    let chunk = item.y & ~ITEM_SKIPPED;
#if SUBGROUPS
    let lane = subgroup_lane;
    let group = subgroup_index;
    let group_size = subgroup_size;
    // The trace this invocation stages: slots in subgroup order, so compaction keeps trace order.
    let slot = group * group_size + lane;
#else
    let lane = local_index % LANE_GROUP;
    let group = local_index / LANE_GROUP;
    let group_size = LANE_GROUP;
    let slot = local_index;
#endif
    var range = tile.fast;
    if EXACT_WEIGHTS {
        range = tile.exact;
    }
    let chunk_first = range.begin + chunk * CHUNK;
    let group_first = chunk_first + group * group_size * SAMPLES;
    // A group whose times all lie past the range has no work: it skips every trace.
    var group_floor = group_first;
    if group_first >= range.end {
        group_floor = 0xffffffffu;
    }
    let column = columns[c].position;

    // Per output time: (t0/2)^2 and 1/v^2 in trace samples (a curved ray's or VTI's a and b),
    // and for the dip aperture the radius, taper start and 1 / taper width.
    var half_t0_sq: array<f32, SAMPLES>;
    var inv_v2: array<f32, SAMPLES>;
    // A curved ray's c (1 / trace samples) or VTI's 1 + 2 eta.
    var leg_p: array<f32, SAMPLES>;
    var radius: array<f32, SAMPLES>;
    var taper_start: array<f32, SAMPLES>;
    var inv_taper_width: array<f32, SAMPLES>;
    // STRETCH_MUTE: the largest traveltime (trace samples) each time takes.
    var stretch_limit: array<f32, SAMPLES>;
    // ABLATE_ROOTS: t0 and the slope of the expansion, in trace samples.
    var t0_samples: array<f32, SAMPLES>;
    var expansion: array<f32, SAMPLES>;
    var sum: array<f32, SAMPLES>;
    var count: array<u32, SAMPLES>;
    // TRAVELTIME_TABLE: each time's row in the table, and its 1 / spacing.
    var table_row: array<u32, SAMPLES>;
    var table_inv_spacing: array<f32, SAMPLES>;
    var v_max = 0.0;
    var radius_max = 0.0;
    for (var k = 0u; k < SAMPLES; k++) {
        let it = group_first + k * group_size + lane;
        sum[k] = 0.0;
        count[k] = 0u;
        // Times past the range compute a harmless traveltime of 1 sample and are not written.
        half_t0_sq[k] = 0.25;
        inv_v2[k] = 0.0;
        leg_p[k] = 0.0;
        radius[k] = 0.0;
        taper_start[k] = 0.0;
        inv_taper_width[k] = 0.0;
        stretch_limit[k] = 0.0;
        table_row[k] = 0u;
        table_inv_spacing[k] = 0.0;
        if it < range.end {
            if TRAVELTIME_TABLE {
                table_row[k] = it * tile.table_distances;
                table_inv_spacing[k] = table_rows[it];
            }
            let v = velocity_at(c, it);
            let time = times[it];
            half_t0_sq[k] = time.half_t0_sq;
            if STRETCH_MUTE {
                stretch_limit[k] = tile.imaging.stretch_max * time.t0 * block.inv_trace_dt;
            }
            let slowness = block.inv_trace_dt / v;
            inv_v2[k] = slowness * slowness;
            // The dead-trace bound's velocity: the traveltime is at least the double square root
            // at this velocity (dead_from).
            var v_bound = v;
            if TRAVELTIME != TRAVELTIME_STRAIGHT {
                let entry = law[c * tile.law_stride + it];
                half_t0_sq[k] = law_a(TRAVELTIME, half_t0_sq[k], entry);
                inv_v2[k] = law_b(TRAVELTIME, inv_v2[k], entry, block.inv_trace_dt * block.inv_trace_dt);
                leg_p[k] = law_p(TRAVELTIME, tile.imaging.curve_c * block.trace_dt_s, entry);
                if TRAVELTIME == TRAVELTIME_VTI {
                    // t_leg^2 >= (t0/2)^2 + d^2 / (v^2 max(1 + 2 eta, 1)).
                    v_bound = v * sqrt(max(leg_p[k], 1.0));
                } else {
                    // A curved ray: s >= sqrt((t0/2)^2 + d^2 b) (a >= (t0/2)^2), so the velocity
                    // of b; dead_from bounds the legs' asinh (pstm_kernel's cpu::pair).
                    v_bound = block.inv_trace_dt / sqrt(inv_v2[k]);
                }
            }
            v_max = max(v_max, v_bound);
            if ABLATE_ROOTS {
                t0_samples[k] = 2.0 * sqrt(time.half_t0_sq);
                expansion[k] = inv_v2[k] / t0_samples[k];
            }
            if DIP_APERTURE {
                let a = aperture_radius(tile.imaging, time.t0, v);
                radius[k] = a;
                taper_start[k] = a * (1.0 - tile.imaging.taper_fraction);
                if a > taper_start[k] {
                    inv_taper_width[k] = 1.0 / (a - taper_start[k]);
                }
                radius_max = max(radius_max, a);
            }
        }
    }

    // The workgroup's largest velocity (for the dead-trace bound) and radius (the aperture test).
    if local_index == 0u {
        atomicStore(&largest_velocity, 0u);
        atomicStore(&largest_radius, 0u);
    }
    workgroupBarrier();
#if SUBGROUPS
    let group_v_max = subgroupMax(v_max);
    let group_radius_max = subgroupMax(radius_max);
    if lane == 0u {
        atomicMax(&largest_velocity, bitcast<u32>(group_v_max));
        atomicMax(&largest_radius, bitcast<u32>(group_radius_max));
    }
#else
    atomicMax(&largest_velocity, bitcast<u32>(v_max));
    atomicMax(&largest_radius, bitcast<u32>(radius_max));
#endif
    workgroupBarrier();
    let slowest = block.inv_trace_dt / bitcast<f32>(atomicLoad(&largest_velocity));
    let inv_v2_min = slowest * slowest;
    var aperture = aperture_radius(tile.imaging, 0.0, 0.0);
    if DIP_APERTURE {
        aperture = bitcast<f32>(atomicLoad(&largest_radius));
    }
    let aperture2 = aperture * aperture;

    var n_traces = block.n_traces;
    if skipped {
        n_traces = 0u;
    }
    for (var base = 0u; base < n_traces; base += WORKGROUP_SIZE) {
        // 1. Staging: one trace per invocation.
        let i = base + slot;
        var entry = vec4<u32>(0u);
        var until = 0u;
        var projections = vec4<f32>(0.0);
        if i < block.n_traces {
            let g = geometry[i];
            let dx = column.x - g.x;
            let dy = column.y - g.y;
            let dm2 = dx * dx + dy * dy;
            if dm2 <= aperture2 {
                let dsx = dx + g.z;
                let dsy = dy + g.w;
                let drx = dx - g.z;
                let dry = dy - g.w;
                let ds2 = dsx * dsx + dsy * dsy;
                let dr2 = drx * drx + dry * dry;
                var per_trace = sqrt(dm2);
                if !DIP_APERTURE {
                    per_trace = taper_weight(tile.imaging, per_trace, aperture);
                }
                // Cubic and sinc8 read `traces`, whose traces lie n_samples apart.
                var stride = block.trace_stride;
                if INTERPOLATION != INTERPOLATION_LINEAR {
                    stride = block.n_samples;
                }
                entry = vec4<u32>(bitcast<u32>(ds2), bitcast<u32>(dr2), i * stride - INDEX_BIAS,
                                  bitcast<u32>(per_trace));
                if ANTIALIAS != ANTIALIAS_NONE {
                    projections = leg_projections(vec2<f32>(dsx, dsy), vec2<f32>(drx, dry), tile.imaging.aa_steps);
                }
                if TRAVELTIME_TABLE {
                    entry.x = bitcast<u32>(sqrt(ds2));
                    entry.y = bitcast<u32>(sqrt(dr2));
                }
                until = dead_from(ds2, dr2, inv_v2_min);
            }
        }
        let keep = until > chunk_first;

        // 2. Compaction, in trace order.
#if SUBGROUPS
        let rank = ballot_rank(subgroupBallot(keep), lane);
        if lane == 0u {
            group_live[group] = rank.y;
        }
        workgroupBarrier();
        var before = 0u;
        var n_live = 0u;
        for (var s = 0u; s < subgroup_count; s++) {
            let n = group_live[s];
            if s < group {
                before += n;
            }
            n_live += n;
        }
        if keep {
            batch[before + rank.x] = entry;
            batch_until[before + rank.x] = until;
            if ANTIALIAS != ANTIALIAS_NONE {
                batch_aa[before + rank.x] = projections;
            }
        }
#else
        batch[slot] = entry;
        batch_until[slot] = select(0u, until, keep);
        if ANTIALIAS != ANTIALIAS_NONE {
            batch_aa[slot] = projections;
        }
        let n_live = min(WORKGROUP_SIZE, block.n_traces - base);
#endif
        workgroupBarrier();

        // 3. The sum.
        for (var j = 0u; j < n_live; j++) {
            if group_floor >= batch_until[j] {
                continue;
            }
            let e = batch[j];
            let ds2 = bitcast<f32>(e.x);
            let dr2 = bitcast<f32>(e.y);
            let per_trace = bitcast<f32>(e.w);
            for (var k = 0u; k < SAMPLES; k++) {
                // The legs' times (trace samples).
                var ts: f32;
                var tr: f32;
                if TRAVELTIME_TABLE {
                    // ds2 and dr2 hold the legs' distances here.
                    ts = table_leg_time(ds2, table_row[k], table_inv_spacing[k], inv_v2[k], half_t0_sq[k]);
                    tr = table_leg_time(dr2, table_row[k], table_inv_spacing[k], inv_v2[k], half_t0_sq[k]);
                } else if TRAVELTIME != TRAVELTIME_STRAIGHT {
                    // half_t0_sq and inv_v2 hold the law's a and b here.
                    ts = law_leg_time(TRAVELTIME, half_t0_sq[k], inv_v2[k], leg_p[k], ds2);
                    tr = law_leg_time(TRAVELTIME, half_t0_sq[k], inv_v2[k], leg_p[k], dr2);
                } else {
                    ts = sqrt(fma(ds2, inv_v2[k], half_t0_sq[k]));
                    tr = sqrt(fma(dr2, inv_v2[k], half_t0_sq[k]));
                }
                var t = ts + tr;
                if ABLATE_ROOTS {
                    t = fma(ds2 + dr2, expansion[k], t0_samples[k]);
                }
                var position = t;
                if !ZERO_START {
                    position += block.position_offset;
                }
                let whole = floor(position);
                let biased = bitcast<u32>(whole + INDEX_SHIFT);
                // Inside the trace: 0 <= whole < last_index (from time 0, only the end can fail).
                var inside = position < f32(block.last_index);
                if !ZERO_START {
                    inside = biased - INDEX_BIAS < block.last_index;
                }
                if STRETCH_MUTE {
                    inside = inside && t <= stretch_limit[k];
                }
                var w = per_trace;
                if DIP_APERTURE {
                    inside = inside && per_trace <= radius[k];
                    w = dip_taper(per_trace, taper_start[k], inv_taper_width[k]);
                }
                // Antialiasing: the operator's shift per output step (trace samples), and the
                // triangle's half-length and outer reads, which must lie inside the trace.
                var shift = 0.0;
                if ANTIALIAS != ANTIALIAS_NONE {
                    var d2s = ds2;
                    var d2r = dr2;
                    if TRAVELTIME_TABLE {
                        d2s = ds2 * ds2;
                        d2r = dr2 * dr2;
                    }
                    let rate_s = leg_rate(TRAVELTIME, half_t0_sq[k], inv_v2[k], leg_p[k], d2s, ts, 0.5);
                    let rate_r = leg_rate(TRAVELTIME, half_t0_sq[k], inv_v2[k], leg_p[k], d2r, tr, 0.5);
                    shift = operator_shift(rate_s, rate_r, batch_aa[j]);
                }
                var l = 1.0;
                var taps: TriangleTaps;
                if ANTIALIAS == ANTIALIAS_TRIANGLE {
                    l = half_length(shift, 1.0);
                    taps = triangle_taps(TracePosition(i32(biased - INDEX_BIAS), position - whole), l);
                    inside = inside && inside_trace(taps.lo, block.n_samples) && inside_trace(taps.hi, block.n_samples);
                }
                if inside {
                    let at = e.z + biased;
                    var amplitude: f32;
                    if ANTIALIAS == ANTIALIAS_TRIANGLE {
                        // The entry indexes pairs (or traces) as linear reads do.
                        let start = e.z + INDEX_BIAS;
                        amplitude = triangle_value(l, position - whole, taps.lo.frac, taps.hi.frac, sample_pair(at),
                                                   sample_pair(start + u32(taps.lo.index)),
                                                   sample_pair(start + u32(taps.hi.index)));
                    } else if INTERPOLATION != INTERPOLATION_LINEAR {
                        let centre = TracePosition(i32(biased - INDEX_BIAS), position - whole);
                        amplitude = interpolated(INTERPOLATION, e.z + INDEX_BIAS, centre);
                    } else {
                        var pair: vec2<f32>;
                        if ABLATE_LOADS {
                            pair = vec2<f32>(t, 1.0);
                        } else if TRACE_PAIRS {
                            pair = pairs[at];
                        } else {
                            let s0 = traces[at];
                            pair = vec2<f32>(s0, traces[at + 1u] - s0);
                        }
                        amplitude = fma(position - whole, pair.y, pair.x);
                    }
                    if ANTIALIAS == ANTIALIAS_WEIGHT {
                        amplitude *= down_weight(shift, 1.0);
                    }
                    if EXACT_WEIGHTS {
                        let it = group_first + k * group_size + lane;
                        let v = velocity_at(c, min(it, tile.nt - 1u));
                        w *= amplitude_weight(tile.imaging, times[min(it, tile.nt - 1u)].t0, t * block.trace_dt_s, v,
                                              block.trace_dt_s);
                    } else if WEIGHT_HALF_POWER != 0u {
                        let r = select(1.0 / t, t, ABLATE_RECIPROCAL);
                        if WEIGHT_HALF_POWER == 1u {
                            w *= sqrt(r);
                        } else if WEIGHT_HALF_POWER == 2u {
                            w *= r;
                        } else if WEIGHT_HALF_POWER == 3u {
                            w *= r * sqrt(r);
                        } else {
                            w *= r * r;
                        }
                    }
                    sum[k] = fma(amplitude, w, sum[k]);
                    count[k] += 1u;
                }
            }
        }
        workgroupBarrier();
    }

    for (var k = 0u; k < SAMPLES; k++) {
        let it = group_first + k * group_size + lane;
        if it < range.end {
            var value = sum[k];
            if !EXACT_WEIGHTS {
                value *= weight_numerator(times[it].t0, velocity_at(c, it));
            }
            let out_index = c * tile.nt + it;
            if block.accumulate != 0u {
                image[out_index] += value;
                fold[out_index] += count[k];
            } else {
                image[out_index] = value;
                fold[out_index] = count[k];
            }
        }
    }
#if PERSISTENT
    }
#endif
}

//! Twin of `shaders/gpu_v2.wgsl` and of `make_pairs` in `shaders/gpu_v2_pairs.wgsl`.
//!
//! [`migrate`] is one workgroup of the WGSL entry point: its invocations run phase by phase,
//! each phase ending where the WGSL has a `workgroupBarrier`, with the same names and
//! arithmetic (`fma` as `mul_add`). Subgroups are simulated (`Consts::subgroup_size`): ballots
//! over each subgroup's lanes, reductions over the workgroup. [`migrate_tile`] runs a tile
//! through it with gpu-v2's host-side inputs and dispatches (the exact-weight times, then the
//! rest), so a test holds the shader's algorithm to `cpu-ref` without a GPU, and a GPU's image
//! to it. The WGSL's measurement-only `ABLATE_*` stages are not mirrored, nor gpu-v3's
//! `TRAVELTIME_TABLE`; its reading specialisations are ([`Consts::interpolation`],
//! [`Consts::antialias`]), with [`super::trace_samples`] for what the WGSL takes from
//! `shared/trace_samples.wgsl`.

// Variable names and forms follow the WGSL, not Rust idiom; `!(a > b)` is the WGSL's NaN-aware
// test and stays.
#![allow(
    clippy::needless_return,
    clippy::needless_range_loop,
    clippy::too_many_arguments,
    clippy::neg_cmp_op_on_partial_ord
)]

use pstm_kernel::{TileImage, TileTask, TraceBlock};
use pstm_math::ApertureMode;

use super::TileInputs;
use super::reading::{
    ANTIALIAS_NONE, ANTIALIAS_TRIANGLE, ANTIALIAS_WEIGHT, INTERPOLATION_LINEAR, down_weight, half_length,
    leg_projections, leg_rate, operator_shift,
};
use super::trace_samples::{TraceBindings, TriangleTaps, interpolated, trace_pair, triangle_taps, triangle_value};
use super::traveltime::{
    TRAVELTIME_CURVED, TRAVELTIME_CURVED_V0, TRAVELTIME_STRAIGHT, TRAVELTIME_VTI, TracePosition, inside_trace, law_a,
    law_b, law_leg_time, law_p,
};
use super::velocity::velocity_at;
use super::weights::{amplitude_weight, aperture_radius, taper_profile, taper_weight};
use crate::gpu_v2::Shape;
use crate::layout::{
    BlockParamsV2, ColumnV1, OutputTimeV2, TAPER_NONE, TileParamsV2, column_dispatch, pair_stride, times_v2,
    trace_geometry,
};

/// WGSL `LANE_GROUP`.
pub const LANE_GROUP: u32 = 32;
/// WGSL `DEAD_MARGIN`, `INDEX_SHIFT`, `INDEX_BIAS`.
pub const DEAD_MARGIN: f32 = 1.0;
pub const INDEX_SHIFT: f32 = 12582912.0;
pub const INDEX_BIAS: u32 = 0x4b40_0000;

/// The constants the host specialises the WGSL with, and the subgroup path's subgroup size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Consts {
    pub workgroup_size: u32,
    pub samples: u32,
    pub dip_aperture: bool,
    pub weight_half_power: u32,
    pub stretch_mute: bool,
    /// WGSL `TRAVELTIME` (`layout::TRAVELTIME_*`).
    pub traveltime: u32,
    /// WGSL `INTERPOLATION` and `ANTIALIAS` ([`crate::gpu_v2::reading`]).
    pub interpolation: u32,
    pub antialias: u32,
    pub exact_weights: bool,
    pub trace_pairs: bool,
    pub zero_start: bool,
    /// `Some(size)`: the `#if SUBGROUPS` path with subgroups of `size` lanes; `None`: the other.
    pub subgroup_size: Option<u32>,
}

/// The WGSL's bindings, in `@binding` order (texture and sampler as `velocity`'s buffer).
pub struct Bindings<'a> {
    pub tile: &'a TileParamsV2,
    pub block: &'a BlockParamsV2,
    pub columns: &'a [ColumnV1],
    pub velocity: &'a [f32],
    pub geometry: &'a [[f32; 4]],
    pub traces: &'a [f32],
    pub pairs: &'a [[f32; 2]],
    pub image: &'a mut [f32],
    pub fold: &'a mut [u32],
    pub times: &'a [OutputTimeV2],
    pub law: &'a [[f32; 2]],
    pub interp_table: &'a [[f32; 4]],
}

/// WGSL `make_pairs`, for every pair of the block.
pub fn make_pairs(block: &BlockParamsV2, traces: &[f32]) -> Vec<[f32; 2]> {
    let mut pairs = vec![[0.0f32; 2]; (block.n_traces * block.trace_stride) as usize];
    for i in 0..block.n_traces * block.trace_stride {
        let trace = i / block.trace_stride;
        let s = i - trace * block.trace_stride;
        let k = (trace * block.n_samples + s) as usize;
        let s0 = traces[k];
        let mut next = s0;
        if s + 1 < block.n_samples {
            next = traces[k + 1];
        }
        pairs[i as usize] = [s0, next - s0];
    }
    pairs
}

/// WGSL `ballot_rank`.
fn ballot_rank(ballot: [u32; 4], lane: u32) -> [u32; 2] {
    let counts = ballot.map(u32::count_ones);
    let word = lane >> 5;
    let mut rank = (ballot[word as usize] & ((1u32 << (lane & 31)) - 1)).count_ones();
    for w in 0..word {
        rank += counts[w as usize];
    }
    return [rank, counts[0] + counts[1] + counts[2] + counts[3]];
}

/// WGSL `dead_from`.
fn dead_from(tile: &TileParamsV2, block: &BlockParamsV2, traveltime: u32, ds2: f32, dr2: f32, inv_v2_min: f32) -> u32 {
    let sa = (ds2 * inv_v2_min).sqrt();
    let sb = (dr2 * inv_v2_min).sqrt();
    let mut limit = block.last_index as f32 - block.position_offset + DEAD_MARGIN;
    if traveltime == TRAVELTIME_CURVED || traveltime == TRAVELTIME_CURVED_V0 {
        let c = tile.imaging.curve_c * block.trace_dt_s;
        if c > 0.0 {
            limit = (c * limit).sinh() / c;
        }
    }
    let gap = limit - sa - sb;
    if !(gap > 0.0) {
        return 0;
    }
    let h2 = gap * (limit - sa + sb) * (limit + sa - sb) * (limit + sa + sb) / (4.0 * limit * limit);
    let steps = (2.0 * h2.sqrt() - tile.first_time_samples) / tile.time_step_samples;
    if !(steps < tile.nt as f32) {
        return tile.nt;
    }
    return steps.ceil().max(0.0) as u32 + 1;
}

/// WGSL `dip_taper`.
fn dip_taper(tile: &TileParamsV2, dm: f32, taper_start: f32, inv_taper_width: f32) -> f32 {
    if tile.imaging.taper_kind == TAPER_NONE || dm <= taper_start {
        return 1.0;
    }
    return taper_profile(tile.imaging.taper_kind, (dm - taper_start) * inv_taper_width);
}

/// WGSL `weight_numerator`.
fn weight_numerator(tile: &TileParamsV2, block: &BlockParamsV2, t0: f32, v: f32) -> f32 {
    let mut n = 1.0f32;
    if tile.imaging.spreading != 0 {
        let vdt = v * block.trace_dt_s;
        n /= if tile.imaging.line != 0 { vdt.sqrt() } else { vdt };
    }
    if tile.imaging.obliquity != 0 {
        n *= t0 * block.inv_trace_dt;
    }
    return n;
}

/// One invocation's registers.
struct Invocation {
    lane: u32,
    group: u32,
    group_size: u32,
    slot: u32,
    group_first: u32,
    group_floor: u32,
    half_t0_sq: Vec<f32>,
    inv_v2: Vec<f32>,
    leg_p: Vec<f32>,
    radius: Vec<f32>,
    taper_start: Vec<f32>,
    inv_taper_width: Vec<f32>,
    stretch_limit: Vec<f32>,
    sum: Vec<f32>,
    count: Vec<u32>,
    v_max: f32,
    radius_max: f32,
}

/// WGSL `migrate` for the workgroup `workgroup` of a dispatch of `num_workgroups`.
pub fn migrate(workgroup: [u32; 3], num_workgroups: [u32; 3], k: &Consts, b: &mut Bindings<'_>) {
    let (tile, block) = (b.tile, b.block);
    let samples = k.samples as usize;
    let chunk = k.workgroup_size * k.samples;
    let c = workgroup[0] + workgroup[2] * num_workgroups[0];
    if c >= tile.n_columns {
        return;
    }
    let mut range = tile.fast;
    if k.exact_weights {
        range = tile.exact;
    }
    let chunk_first = range.begin + workgroup[1] * chunk;
    let column = b.columns[c as usize].position;

    let mut invocations: Vec<Invocation> = (0..k.workgroup_size)
        .map(|local_index| {
            let (lane, group, group_size, slot) = match k.subgroup_size {
                Some(size) => {
                    (local_index % size, local_index / size, size, (local_index / size) * size + local_index % size)
                }
                None => (local_index % LANE_GROUP, local_index / LANE_GROUP, LANE_GROUP, local_index),
            };
            let group_first = chunk_first + group * group_size * k.samples;
            let mut group_floor = group_first;
            if group_first >= range.end {
                group_floor = u32::MAX;
            }
            Invocation {
                lane,
                group,
                group_size,
                slot,
                group_first,
                group_floor,
                half_t0_sq: vec![0.0; samples],
                inv_v2: vec![0.0; samples],
                leg_p: vec![0.0; samples],
                radius: vec![0.0; samples],
                taper_start: vec![0.0; samples],
                inv_taper_width: vec![0.0; samples],
                stretch_limit: vec![0.0; samples],
                sum: vec![0.0; samples],
                count: vec![0; samples],
                v_max: 0.0,
                radius_max: 0.0,
            }
        })
        .collect();

    // Per output time.
    for inv in invocations.iter_mut() {
        for kk in 0..samples {
            let it = inv.group_first + kk as u32 * inv.group_size + inv.lane;
            inv.sum[kk] = 0.0;
            inv.count[kk] = 0;
            inv.half_t0_sq[kk] = 0.25;
            inv.inv_v2[kk] = 0.0;
            inv.leg_p[kk] = 0.0;
            inv.radius[kk] = 0.0;
            inv.taper_start[kk] = 0.0;
            inv.inv_taper_width[kk] = 0.0;
            inv.stretch_limit[kk] = 0.0;
            if it < range.end {
                let v = velocity_at(tile, b.columns, b.times, b.velocity, c, it);
                let time = b.times[it as usize];
                inv.half_t0_sq[kk] = time.half_t0_sq;
                if k.stretch_mute {
                    inv.stretch_limit[kk] = tile.imaging.stretch_max * time.t0 * block.inv_trace_dt;
                }
                let slowness = block.inv_trace_dt / v;
                inv.inv_v2[kk] = slowness * slowness;
                let mut v_bound = v;
                if k.traveltime != TRAVELTIME_STRAIGHT {
                    let entry = b.law[(c * tile.law_stride + it) as usize];
                    inv.half_t0_sq[kk] = law_a(k.traveltime, inv.half_t0_sq[kk], entry);
                    inv.inv_v2[kk] =
                        law_b(k.traveltime, inv.inv_v2[kk], entry, block.inv_trace_dt * block.inv_trace_dt);
                    inv.leg_p[kk] = law_p(k.traveltime, tile.imaging.curve_c * block.trace_dt_s, entry);
                    if k.traveltime == TRAVELTIME_VTI {
                        v_bound = v * inv.leg_p[kk].max(1.0).sqrt();
                    } else {
                        v_bound = block.inv_trace_dt / inv.inv_v2[kk].sqrt();
                    }
                }
                inv.v_max = inv.v_max.max(v_bound);
                if k.dip_aperture {
                    let a = aperture_radius(&tile.imaging, time.t0, v);
                    inv.radius[kk] = a;
                    inv.taper_start[kk] = a * (1.0 - tile.imaging.taper_fraction);
                    if a > inv.taper_start[kk] {
                        inv.inv_taper_width[kk] = 1.0 / (a - inv.taper_start[kk]);
                    }
                    inv.radius_max = inv.radius_max.max(a);
                }
            }
        }
    }

    // The workgroup's largest velocity and radius (subgroup maxima, then atomic maxima: the
    // same as the maxima over all invocations).
    let largest_velocity = invocations.iter().map(|i| i.v_max.to_bits()).max().unwrap_or(0);
    let largest_radius = invocations.iter().map(|i| i.radius_max.to_bits()).max().unwrap_or(0);
    let slowest = block.inv_trace_dt / f32::from_bits(largest_velocity);
    let inv_v2_min = slowest * slowest;
    let mut aperture = aperture_radius(&tile.imaging, 0.0, 0.0);
    if k.dip_aperture {
        aperture = f32::from_bits(largest_radius);
    }
    let aperture2 = aperture * aperture;

    let wg = k.workgroup_size as usize;
    let mut batch = vec![[0u32; 4]; wg];
    let mut batch_until = vec![0u32; wg];
    let mut batch_aa = vec![[0.0f32; 4]; wg];
    let reads = TraceBindings {
        traces: b.traces,
        interp_table: b.interp_table,
        n_samples: block.n_samples,
        trace_dt_s: block.trace_dt_s,
        inv_trace_dt: block.inv_trace_dt,
        imaging: &tile.imaging,
    };
    let mut base = 0u32;
    while base < block.n_traces {
        // 1. Staging, by slot.
        let mut staged = vec![([0u32; 4], 0u32, false, [0.0f32; 4]); wg];
        for inv in &invocations {
            let i = base + inv.slot;
            let mut entry = [0u32; 4];
            let mut until = 0u32;
            let mut projections = [0.0f32; 4];
            if i < block.n_traces {
                let g = b.geometry[i as usize];
                let dx = column[0] - g[0];
                let dy = column[1] - g[1];
                let dm2 = dx * dx + dy * dy;
                if dm2 <= aperture2 {
                    let dsx = dx + g[2];
                    let dsy = dy + g[3];
                    let drx = dx - g[2];
                    let dry = dy - g[3];
                    let ds2 = dsx * dsx + dsy * dsy;
                    let dr2 = drx * drx + dry * dry;
                    let mut per_trace = dm2.sqrt();
                    if !k.dip_aperture {
                        per_trace = taper_weight(&tile.imaging, per_trace, aperture);
                    }
                    let mut stride = block.trace_stride;
                    if k.interpolation != INTERPOLATION_LINEAR {
                        stride = block.n_samples;
                    }
                    entry = [ds2.to_bits(), dr2.to_bits(), (i * stride).wrapping_sub(INDEX_BIAS), per_trace.to_bits()];
                    if k.antialias != ANTIALIAS_NONE {
                        projections = leg_projections([dsx, dsy], [drx, dry], tile.imaging.aa_steps);
                    }
                    until = dead_from(tile, block, k.traveltime, ds2, dr2, inv_v2_min);
                }
            }
            let keep = until > chunk_first;
            staged[inv.slot as usize] = (entry, until, keep, projections);
        }

        // 2. Compaction.
        let n_live = match k.subgroup_size {
            Some(size) => {
                let n_groups = k.workgroup_size / size;
                let mut group_live = vec![0u32; n_groups as usize];
                let mut ranks = vec![0u32; wg];
                for group in 0..n_groups {
                    let mut ballot = [0u32; 4];
                    for lane in 0..size {
                        if staged[(group * size + lane) as usize].2 {
                            ballot[(lane >> 5) as usize] |= 1 << (lane & 31);
                        }
                    }
                    for lane in 0..size {
                        let rank = ballot_rank(ballot, lane);
                        ranks[(group * size + lane) as usize] = rank[0];
                        if lane == 0 {
                            group_live[group as usize] = rank[1];
                        }
                    }
                }
                for inv in &invocations {
                    let (entry, until, keep, projections) = staged[inv.slot as usize];
                    let before: u32 = group_live[..inv.group as usize].iter().sum();
                    if keep {
                        let at = (before + ranks[inv.slot as usize]) as usize;
                        batch[at] = entry;
                        batch_until[at] = until;
                        if k.antialias != ANTIALIAS_NONE {
                            batch_aa[at] = projections;
                        }
                    }
                }
                group_live.iter().sum()
            }
            None => {
                for inv in &invocations {
                    let (entry, until, keep, projections) = staged[inv.slot as usize];
                    batch[inv.slot as usize] = entry;
                    batch_until[inv.slot as usize] = if keep { until } else { 0 };
                    if k.antialias != ANTIALIAS_NONE {
                        batch_aa[inv.slot as usize] = projections;
                    }
                }
                k.workgroup_size.min(block.n_traces - base)
            }
        };

        // 3. The sum.
        for inv in invocations.iter_mut() {
            for j in 0..n_live as usize {
                if inv.group_floor >= batch_until[j] {
                    continue;
                }
                let e = batch[j];
                let ds2 = f32::from_bits(e[0]);
                let dr2 = f32::from_bits(e[1]);
                let per_trace = f32::from_bits(e[3]);
                for kk in 0..samples {
                    // The legs' times (trace samples).
                    let (ts, tr) = if k.traveltime != TRAVELTIME_STRAIGHT {
                        // half_t0_sq and inv_v2 hold the law's a and b here.
                        (
                            law_leg_time(k.traveltime, inv.half_t0_sq[kk], inv.inv_v2[kk], inv.leg_p[kk], ds2),
                            law_leg_time(k.traveltime, inv.half_t0_sq[kk], inv.inv_v2[kk], inv.leg_p[kk], dr2),
                        )
                    } else {
                        (
                            ds2.mul_add(inv.inv_v2[kk], inv.half_t0_sq[kk]).sqrt(),
                            dr2.mul_add(inv.inv_v2[kk], inv.half_t0_sq[kk]).sqrt(),
                        )
                    };
                    let t = ts + tr;
                    let mut position = t;
                    if !k.zero_start {
                        position += block.position_offset;
                    }
                    let whole = position.floor();
                    let biased = (whole + INDEX_SHIFT).to_bits();
                    let mut inside = position < block.last_index as f32;
                    if !k.zero_start {
                        inside = biased.wrapping_sub(INDEX_BIAS) < block.last_index;
                    }
                    if k.stretch_mute {
                        inside = inside && t <= inv.stretch_limit[kk];
                    }
                    let mut w = per_trace;
                    if k.dip_aperture {
                        inside = inside && per_trace <= inv.radius[kk];
                        w = dip_taper(tile, per_trace, inv.taper_start[kk], inv.inv_taper_width[kk]);
                    }
                    // Antialiasing: the operator's shift per output step (trace samples), and the
                    // triangle's half-length and outer reads, which must lie inside the trace.
                    let mut shift = 0.0f32;
                    if k.antialias != ANTIALIAS_NONE {
                        let rate_s =
                            leg_rate(k.traveltime, inv.half_t0_sq[kk], inv.inv_v2[kk], inv.leg_p[kk], ds2, ts, 0.5);
                        let rate_r =
                            leg_rate(k.traveltime, inv.half_t0_sq[kk], inv.inv_v2[kk], inv.leg_p[kk], dr2, tr, 0.5);
                        shift = operator_shift(rate_s, rate_r, batch_aa[j]);
                    }
                    let mut l = 1.0f32;
                    let unused = TracePosition { index: 0, frac: 0.0 };
                    let mut taps = TriangleTaps { lo: unused, hi: unused };
                    if k.antialias == ANTIALIAS_TRIANGLE {
                        l = half_length(shift, 1.0);
                        let centre =
                            TracePosition { index: biased.wrapping_sub(INDEX_BIAS) as i32, frac: position - whole };
                        taps = triangle_taps(centre, l);
                        inside =
                            inside && inside_trace(taps.lo, block.n_samples) && inside_trace(taps.hi, block.n_samples);
                    }
                    if inside {
                        let at = e[2].wrapping_add(biased);
                        let sample_pair =
                            |at: u32| if k.trace_pairs { b.pairs[at as usize] } else { trace_pair(&reads, at) };
                        let mut amplitude;
                        if k.antialias == ANTIALIAS_TRIANGLE {
                            // The entry indexes pairs (or traces) as linear reads do.
                            let start = e[2].wrapping_add(INDEX_BIAS);
                            amplitude = triangle_value(
                                l,
                                position - whole,
                                taps.lo.frac,
                                taps.hi.frac,
                                sample_pair(at),
                                sample_pair(start.wrapping_add(taps.lo.index as u32)),
                                sample_pair(start.wrapping_add(taps.hi.index as u32)),
                            );
                        } else if k.interpolation != INTERPOLATION_LINEAR {
                            let centre =
                                TracePosition { index: biased.wrapping_sub(INDEX_BIAS) as i32, frac: position - whole };
                            amplitude = interpolated(&reads, k.interpolation, e[2].wrapping_add(INDEX_BIAS), centre);
                        } else {
                            let at = at as usize;
                            let pair = if k.trace_pairs {
                                b.pairs[at]
                            } else {
                                let s0 = b.traces[at];
                                [s0, b.traces[at + 1] - s0]
                            };
                            amplitude = (position - whole).mul_add(pair[1], pair[0]);
                        }
                        if k.antialias == ANTIALIAS_WEIGHT {
                            amplitude *= down_weight(shift, 1.0);
                        }
                        if k.exact_weights {
                            let it = (inv.group_first + kk as u32 * inv.group_size + inv.lane).min(tile.nt - 1);
                            let v = velocity_at(tile, b.columns, b.times, b.velocity, c, it);
                            w *= amplitude_weight(
                                &tile.imaging,
                                b.times[it as usize].t0,
                                t * block.trace_dt_s,
                                v,
                                block.trace_dt_s,
                            );
                        } else if k.weight_half_power != 0 {
                            let r = 1.0 / t;
                            w *= match k.weight_half_power {
                                1 => r.sqrt(),
                                2 => r,
                                3 => r * r.sqrt(),
                                _ => r * r,
                            };
                        }
                        inv.sum[kk] = amplitude.mul_add(w, inv.sum[kk]);
                        inv.count[kk] += 1;
                    }
                }
            }
        }
        base += k.workgroup_size;
    }

    for inv in &invocations {
        for kk in 0..samples {
            let it = inv.group_first + kk as u32 * inv.group_size + inv.lane;
            if it < range.end {
                let mut value = inv.sum[kk];
                if !k.exact_weights {
                    let v = velocity_at(tile, b.columns, b.times, b.velocity, c, it);
                    value *= weight_numerator(tile, block, b.times[it as usize].t0, v);
                }
                let out_index = (c * tile.nt + it) as usize;
                if block.accumulate != 0 {
                    b.image[out_index] += value;
                    b.fold[out_index] += inv.count[kk];
                } else {
                    b.image[out_index] = value;
                    b.fold[out_index] = inv.count[kk];
                }
            }
        }
    }
}

/// One tile through the twin as gpu-v2's host runs it: per block the pairs, then the
/// exact-weight times and the rest, with the per-tile protocol's velocities (`VELOCITY_TIME` for
/// one column, `VELOCITY_COLUMNS` otherwise), outputs poisoned as the device's are. `subgroups`:
/// the subgroup path with subgroups of 8 lanes (as lavapipe's), else the other.
pub fn migrate_tile(task: &TileTask<'_>, blocks: &[TraceBlock], shape: Shape, subgroups: bool) -> TileImage {
    let n = task.n_output_samples();
    let mut image = TileImage::poisoned(n);
    let Some(TileInputs { layout, origin, columns, times_s, source }) = TileInputs::new(task, blocks) else {
        return TileImage { image: vec![0.0; n], fold: vec![0; n] };
    };
    let times = times_v2(&times_s, &layout, None);
    let mut tile = TileParamsV2::new(task.columns.len(), &task.time, &layout, source, [1, 1, 1], task.operator);
    tile.law_stride = crate::layout::law_stride(task.operator, task.velocity.n_columns, task.time.nt);
    let law = crate::layout::leg_laws(task.operator, &times_s, &task.velocity.eta);
    let weights = task.operator.weights;
    let (interpolation, antialias) = crate::gpu_v2::reading(task.operator);
    let interp_table = crate::layout::interp_table(task.operator);
    let consts = Consts {
        workgroup_size: shape.workgroup_size,
        samples: shape.samples_per_invocation,
        dip_aperture: task.operator.aperture.mode == ApertureMode::Dip,
        weight_half_power: crate::gpu_v2::weight_half_power(&weights),
        stretch_mute: task.operator.stretch_mute.is_some(),
        traveltime: tile.imaging.traveltime,
        interpolation,
        antialias,
        exact_weights: false,
        trace_pairs: true,
        zero_start: layout.t_start_s == 0.0,
        subgroup_size: subgroups.then_some(8),
    };
    for (dispatches, block) in blocks.iter().filter(|b| b.n_traces() > 0).enumerate() {
        let geometry: Vec<[f32; 4]> = block.geometry.iter().map(|g| trace_geometry(g, origin)).collect();
        let params = BlockParamsV2::new(block.n_traces(), &layout, pair_stride(layout.n_samples), dispatches > 0);
        // Cubic and sinc8 read the block itself: no pairs, as on the device.
        let pairs =
            if interpolation == INTERPOLATION_LINEAR { make_pairs(&params, &block.samples) } else { Vec::new() };
        for (exact_weights, times_range) in [(true, tile.exact), (false, tile.fast)] {
            if times_range.is_empty() {
                continue;
            }
            let k = Consts { exact_weights, ..consts };
            let mut b = Bindings {
                tile: &tile,
                block: &params,
                columns: &columns,
                velocity: &task.velocity.values,
                geometry: &geometry,
                traces: &block.samples,
                pairs: &pairs,
                image: &mut image.image,
                fold: &mut image.fold,
                times: &times,
                law: &law,
                interp_table: &interp_table,
            };
            let groups = column_dispatch(tile.n_columns, times_range.len() as u32, shape.chunk(), 65_535);
            for gz in 0..groups[2] {
                for gy in 0..groups[1] {
                    for gx in 0..groups[0] {
                        migrate([gx, gy, gz], groups, &k, &mut b);
                    }
                }
            }
        }
    }
    image
}

#[cfg(test)]
mod tests {
    use pstm_kernel::parity::{ParityCase, REL_L2_TOLERANCE, borderline_mask, compare};
    use pstm_kernel::{CpuRefKernel, MigrationKernel, TraceLayout};

    use super::*;

    fn bits(i: &TileImage) -> Vec<u32> {
        i.image.iter().map(|v| v.to_bits()).collect()
    }

    /// The twin against the reference on random cases, and the subgroup path against the other
    /// bit for bit, with shapes that split the output times differently.
    #[test]
    fn twin_matches_reference_and_both_paths_agree_bit_for_bit() {
        for seed in 0..8 {
            let case = ParityCase::random(seed);
            let task = case.task();
            let reference =
                pstm_kernel::migrate_tile(&CpuRefKernel as &dyn MigrationKernel, task, &case.blocks).unwrap();
            let mask = borderline_mask(&task, &case.blocks);
            let shape = Shape { workgroup_size: 64, samples_per_invocation: 1 + (seed as u32 % 3) };
            let twin = migrate_tile(&task, &case.blocks, shape, true);
            let cmp = compare(&reference, &twin, Some(&mask));
            assert!(cmp.passes(REL_L2_TOLERANCE), "seed {seed}: {cmp}");
            let plain = migrate_tile(&task, &case.blocks, Shape { workgroup_size: 128, ..shape }, false);
            assert_eq!(bits(&twin), bits(&plain), "seed {seed}");
            assert_eq!(twin.fold, plain.fold, "seed {seed}");
        }
    }

    #[test]
    fn pairs_hold_each_sample_and_the_step_to_the_next() {
        let layout = TraceLayout { n_samples: 4, dt_s: 0.004, t_start_s: 0.0 };
        let params = BlockParamsV2::new(2, &layout, pair_stride(4), false);
        let pairs = make_pairs(&params, &[1.0, 3.0, 2.0, 5.0, 0.5, 0.25, 1.0, 4.0]);
        assert_eq!(pairs, [[1.0, 2.0], [3.0, -1.0], [2.0, 3.0], [0.5, -0.25], [0.25, 0.75], [1.0, 3.0]]);
        // A one-sample trace has one pair, which no position ever reads.
        let one = TraceLayout { n_samples: 1, ..layout };
        let params = BlockParamsV2::new(2, &one, pair_stride(1), false);
        assert_eq!(make_pairs(&params, &[7.0, 9.0]), [[7.0, 0.0], [9.0, 0.0]]);
    }

    #[test]
    fn ballot_ranks_count_lanes_below_across_words() {
        let ballot = [0b1011, 0, 1 << 3, 0];
        assert_eq!(ballot_rank(ballot, 0), [0, 4]);
        assert_eq!(ballot_rank(ballot, 2), [2, 4]);
        assert_eq!(ballot_rank(ballot, 64 + 3), [3, 4]);
        assert_eq!(ballot_rank(ballot, 127), [4, 4]);
    }
}

//! Twin of `shaders/gpu_v1.wgsl`: [`migrate`] is the WGSL entry point line for line, with the
//! velocity of the buffer sources (`cpu/velocity.rs`; the texture sources read the same values
//! through `textureLoad`). [`migrate_tile`] runs a tile through it with gpu-v1's host-side
//! inputs (`layout::columns_v1`, `layout::times_v1`), so a test can hold it to `cpu-ref` and to
//! gpu-v0's twin.

// Variable names and forms follow the WGSL, not Rust idiom.
#![allow(clippy::needless_return, clippy::needless_late_init)]

use pstm_kernel::{TileImage, TileTask, TraceBlock};

use super::TileInputs;
use super::reading::{ANTIALIAS_NONE, INTERPOLATION_LINEAR};
use super::trace_samples::{TraceBindings, read_trace};
use super::traveltime::{TRAVELTIME_STRAIGHT, inside_trace, leg_times, output_law, trace_position};
use super::velocity::velocity_at;
use super::weights::{amplitude_weight, aperture_radius, stretch_limit, taper_weight};
use crate::gpu_v1::WORKGROUP_SIZE;
use crate::layout::{
    BlockParams, ColumnV1, OutputTimeV1, TileParamsV1, block_params, dispatch_size, law_stride, leg_laws, times_v1,
    trace_geometry,
};

/// The WGSL's buffer bindings, in `@binding` order.
pub struct Bindings<'a> {
    pub tile: &'a TileParamsV1,
    pub block: &'a BlockParams,
    pub columns: &'a [ColumnV1],
    pub velocity: &'a [f32],
    pub geometry: &'a [[f32; 4]],
    pub traces: &'a [f32],
    pub image: &'a mut [f32],
    pub fold: &'a mut [u32],
    pub times: &'a [OutputTimeV1],
    pub law: &'a [[f32; 2]],
    pub interp_table: &'a [[f32; 4]],
}

/// WGSL `migrate`: one output sample.
pub fn migrate(global_id: [u32; 3], num_workgroups: [u32; 3], b: &mut Bindings<'_>) {
    let (tile, block) = (b.tile, b.block);
    let it = global_id[0];
    let c = global_id[1] + global_id[2] * num_workgroups[1];
    if it >= tile.nt || c >= tile.n_columns {
        return;
    }
    let out_index = (c * tile.nt + it) as usize;
    let column = b.columns[c as usize].position;
    let v = velocity_at(tile, b.columns, b.times, b.velocity, c, it);
    let time = b.times[it as usize];
    let t0 = time.t0;
    let h = time.half_t0;
    let h2 = h * h;
    let inv_v2 = 1.0 / (v * v);
    // The leg law (shared/traveltime.wgsl); the straight ray keeps h2 and inv_v2 as they are.
    let traveltime = tile.imaging.traveltime;
    let mut law_entry = [0.0f32; 2];
    if traveltime != TRAVELTIME_STRAIGHT {
        law_entry = b.law[(c * tile.law_stride + it) as usize];
    }
    let output = output_law(traveltime, tile.imaging.curve_c, law_entry, h2, inv_v2);
    let a = aperture_radius(&tile.imaging, t0, v);
    let a2 = a * a;
    let stretch_limit = stretch_limit(&tile.imaging, t0);
    let plain = tile.imaging.interpolation == INTERPOLATION_LINEAR && tile.imaging.antialias == ANTIALIAS_NONE;
    let reads = TraceBindings {
        traces: b.traces,
        interp_table: b.interp_table,
        n_samples: block.n_samples,
        trace_dt_s: block.trace_dt_s,
        inv_trace_dt: block.inv_trace_dt,
        imaging: &tile.imaging,
    };

    let mut sum = 0.0f32;
    let mut count = 0u32;
    for i in 0..block.n_traces {
        let g = b.geometry[i as usize];
        let dx = column[0] - g[0];
        let dy = column[1] - g[1];
        let dm2 = dx * dx + dy * dy;
        if dm2 > a2 {
            continue;
        }
        let dsx = dx + g[2];
        let dsy = dy + g[3];
        let drx = dx - g[2];
        let dry = dy - g[3];
        let ds2 = dsx * dsx + dsy * dsy;
        let dr2 = drx * drx + dry * dry;
        let (ts, tr) = leg_times(&output, ds2, dr2);
        let t = ts + tr;
        let p = trace_position(ts, tr, h, time.base_index, time.base_frac, block.inv_trace_dt);
        if !inside_trace(p, block.n_samples) || t > stretch_limit {
            continue;
        }
        let frac = p.frac;
        let amplitude;
        if plain {
            let k = (i * block.n_samples + p.index as u32) as usize;
            let s0 = b.traces[k];
            let s1 = b.traces[k + 1];
            amplitude = s0 + frac * (s1 - s0);
        } else {
            let read = read_trace(&reads, i * block.n_samples, p, &output, [dsx, dsy], [drx, dry], ds2, dr2, ts, tr);
            if !read.inside {
                continue;
            }
            amplitude = read.value;
        }
        let w =
            taper_weight(&tile.imaging, dm2.sqrt(), a) * amplitude_weight(&tile.imaging, t0, t, v, block.trace_dt_s);
        sum += w * amplitude;
        count += 1;
    }

    if block.accumulate != 0 {
        b.image[out_index] += sum;
        b.fold[out_index] += count;
    } else {
        b.image[out_index] = sum;
        b.fold[out_index] = count;
    }
}

/// One tile through the twin, block after block, with the per-tile protocol's velocities
/// (`VELOCITY_TIME` for one column, `VELOCITY_COLUMNS` otherwise), outputs poisoned as the
/// device's are.
pub fn migrate_tile(task: &TileTask<'_>, blocks: &[TraceBlock]) -> TileImage {
    let n = task.n_output_samples();
    let mut image = TileImage::poisoned(n);
    let Some(TileInputs { layout, origin, columns, times_s, source }) = TileInputs::new(task, blocks) else {
        return TileImage { image: vec![0.0; n], fold: vec![0; n] };
    };
    let times = times_v1(&times_s, &layout, None);
    let mut tile = TileParamsV1::new(task.columns.len(), task.time.nt, source, [1, 1, 1], task.operator);
    tile.law_stride = law_stride(task.operator, task.velocity.n_columns, task.time.nt);
    let law = leg_laws(task.operator, &times_s, &task.velocity.eta);
    let interp_table = crate::layout::interp_table(task.operator);
    for (dispatches, block) in blocks.iter().filter(|b| b.n_traces() > 0).enumerate() {
        let geometry: Vec<[f32; 4]> = block.geometry.iter().map(|g| trace_geometry(g, origin)).collect();
        let params = block_params(block, block.n_traces(), dispatches > 0);
        let mut b = Bindings {
            tile: &tile,
            block: &params,
            columns: &columns,
            velocity: &task.velocity.values,
            geometry: &geometry,
            traces: &block.samples,
            image: &mut image.image,
            fold: &mut image.fold,
            times: &times,
            law: &law,
            interp_table: &interp_table,
        };
        let groups = dispatch_size(tile.n_columns, tile.nt, WORKGROUP_SIZE, 65_535);
        for gz in 0..groups[2] {
            for gy in 0..groups[1] {
                for gx in 0..groups[0] {
                    for lx in 0..WORKGROUP_SIZE {
                        migrate([gx * WORKGROUP_SIZE + lx, gy, gz], groups, &mut b);
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
    use pstm_kernel::{CpuRefKernel, MigrationKernel};

    use super::*;
    use crate::cpu::migrate_v0::CpuTwinV0Kernel;

    /// gpu-v1's twin against the reference, and bit for bit against gpu-v0's twin: the two
    /// shaders differ only in where inputs come from, never in arithmetic.
    #[test]
    fn twin_matches_reference_and_gpu_v0_s_twin_bit_for_bit() {
        for seed in 0..8 {
            let case = ParityCase::random(seed);
            let task = case.task();
            let twin = migrate_tile(&task, &case.blocks);
            let reference = pstm_kernel::migrate_tile(&CpuRefKernel, task, &case.blocks).unwrap();
            let cmp = compare(&reference, &twin, Some(&borderline_mask(&task, &case.blocks)));
            assert!(cmp.passes(REL_L2_TOLERANCE), "seed {seed}: {cmp}");
            let v0 = pstm_kernel::migrate_tile(&CpuTwinV0Kernel::default() as &dyn MigrationKernel, task, &case.blocks)
                .unwrap();
            let bits = |i: &TileImage| i.image.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&twin), bits(&v0), "seed {seed}");
            assert_eq!(twin.fold, v0.fold, "seed {seed}");
        }
    }
}

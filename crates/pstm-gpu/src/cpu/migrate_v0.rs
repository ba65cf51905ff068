//! Twin of `shaders/gpu_v0.wgsl`, and a [`MigrationKernel`] that runs it (`gpu-v0-twin`).
//!
//! [`migrate`] is the WGSL entry point line for line; [`dispatch`] runs every invocation of a
//! dispatch in order, as the device would in some order. The kernel around it mirrors the host
//! side of [`crate::GpuV0Kernel`]: the same float32 preparation ([`crate::layout`]), the same
//! poisoned accumulators, the same split of large blocks, so the twin tests the whole path
//! except the device. Reads other than linear without antialiasing go through
//! [`super::trace_samples`], as the WGSL's go through `shared/trace_samples.wgsl`.

// Variable names and forms follow the WGSL, not Rust idiom.
#![allow(clippy::needless_return, clippy::too_many_arguments, clippy::needless_late_init)]

use pstm_kernel::{KernelError, MigrationKernel, TileImage, TileMigration, TileTask, TraceBlock};

use super::reading::{ANTIALIAS_NONE, INTERPOLATION_LINEAR};
use super::trace_samples::{TraceBindings, read_trace};
use super::traveltime::{TRAVELTIME_STRAIGHT, inside_trace, leg_times, output_law, trace_position};
use super::weights::{amplitude_weight, aperture_radius, stretch_limit, taper_weight};
use crate::gpu_v0::{WORKGROUP_SIZE, block_ranges};
use crate::layout::{BlockParams, TileInputs, TileParams, block_geometry, block_params, block_times, dispatch_size};

/// The WGSL's bindings, in `@binding` order.
pub struct Bindings<'a> {
    pub tile: &'a TileParams,
    pub block: &'a BlockParams,
    pub columns: &'a [[f32; 2]],
    pub velocity: &'a [f32],
    pub geometry: &'a [[f32; 4]],
    pub traces: &'a [f32],
    pub image: &'a mut [f32],
    pub fold: &'a mut [u32],
    pub times: &'a [[f32; 4]],
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
    let column = b.columns[c as usize];
    let velocity_column = if tile.velocity_columns == 1 { 0 } else { c };
    let v = b.velocity[(velocity_column * tile.nt + it) as usize];
    let time = b.times[it as usize];
    let t0 = time[0];
    let h = time[1];
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
        // Image point minus midpoint; source = midpoint - half offset, receiver = midpoint + half offset.
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
        let p = trace_position(ts, tr, h, time[3], time[2], block.inv_trace_dt);
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

/// Every invocation of a dispatch of `num_workgroups` workgroups.
pub fn dispatch(num_workgroups: [u32; 3], b: &mut Bindings<'_>) {
    for gz in 0..num_workgroups[2] {
        for gy in 0..num_workgroups[1] {
            for gx in 0..num_workgroups[0] {
                for lx in 0..WORKGROUP_SIZE {
                    migrate([gx * WORKGROUP_SIZE + lx, gy, gz], num_workgroups, b);
                }
            }
        }
    }
}

/// `gpu-v0` run on the CPU through its twin: slow, single-threaded, for tests and debugging.
#[derive(Debug, Clone, Copy)]
pub struct CpuTwinV0Kernel {
    /// Largest block one dispatch takes (the GPU's binding limit); larger blocks are split.
    pub max_dispatch_traces: usize,
}

impl Default for CpuTwinV0Kernel {
    fn default() -> Self {
        Self { max_dispatch_traces: usize::MAX }
    }
}

struct TwinTile<'a> {
    inputs: TileInputs,
    velocity: &'a [f32],
    interp_table: Vec<[f32; 4]>,
    image: Vec<f32>,
    fold: Vec<u32>,
    dispatches: usize,
    max_dispatch_traces: usize,
}

impl MigrationKernel for CpuTwinV0Kernel {
    fn name(&self) -> &'static str {
        "gpu-v0-twin"
    }

    fn device(&self) -> String {
        format!("CPU twin of gpu-v0 ({})", pstm_kernel::cpu_description())
    }

    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError> {
        task.check_medium(self.name())?;
        let inputs = TileInputs::new(&task)
            .map_err(|e| KernelError::Input { kernel: self.name().to_string(), message: e.to_string() })?;
        let n = task.n_output_samples();
        // The device buffers start poisoned; the first dispatch writes every sample.
        Ok(Box::new(TwinTile {
            inputs,
            velocity: &task.velocity.values,
            interp_table: crate::layout::interp_table(task.operator),
            image: vec![f32::NAN; n],
            fold: vec![u32::MAX; n],
            dispatches: 0,
            max_dispatch_traces: self.max_dispatch_traces.max(1),
        }))
    }

    fn concurrent_tiles(&self) -> usize {
        1
    }

    fn bytes_per_output_sample(&self) -> usize {
        8
    }

    fn max_block_traces(&self, _n_samples: usize) -> usize {
        self.max_dispatch_traces
    }

    fn cost_model(&self) -> pstm_kernel::CostModel {
        // The shader's loop on one thread: every output sample visits every trace.
        pstm_kernel::CostModel {
            per_sample_visit_s: 3e-9,
            per_column_visit_s: 0.0,
            per_contribution_s: 20e-9,
            per_trace_sample_s: 0.0,
            per_tile_s: 0.0,
            per_block_s: 0.0,
            min_tile_samples: 0,
            shares_host_cores: true,
        }
    }
}

impl TileMigration for TwinTile<'_> {
    fn add_traces(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        let ns = block.n_samples;
        for range in block_ranges(block.n_traces(), self.max_dispatch_traces) {
            let geometry = block_geometry(&block.geometry[range.clone()], self.inputs.origin);
            let params = block_params(block, range.len(), self.dispatches > 0);
            let times = block_times(&self.inputs.times, block);
            let tile = self.inputs.params;
            let mut bindings = Bindings {
                tile: &tile,
                block: &params,
                columns: &self.inputs.columns,
                velocity: self.velocity,
                geometry: &geometry,
                traces: &block.samples[range.start * ns..range.end * ns],
                image: &mut self.image,
                fold: &mut self.fold,
                times: &times,
                law: &self.inputs.law,
                interp_table: &self.interp_table,
            };
            dispatch(dispatch_size(tile.n_columns, tile.nt, WORKGROUP_SIZE, 65_535), &mut bindings);
            self.dispatches += 1;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, out: &mut TileImage) -> Result<(), KernelError> {
        if self.dispatches == 0 {
            out.image.fill(0.0);
            out.fold.fill(0);
        } else {
            out.image.copy_from_slice(&self.image);
            out.fold.copy_from_slice(&self.fold);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pstm_kernel::parity::{ParityCase, borderline_mask, compare};
    use pstm_kernel::{CpuRefKernel, migrate_tile};

    /// The tolerance of every float32 kernel against the float64 reference (issue 4).
    use pstm_kernel::parity::REL_L2_TOLERANCE as REL_L2_TOL;

    #[test]
    fn twin_matches_reference_on_random_cases() {
        let mut worst = 0.0f64;
        for seed in 0..24 {
            let case = ParityCase::random(seed);
            let reference = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).unwrap();
            let twin = migrate_tile(&CpuTwinV0Kernel::default(), case.task(), &case.blocks).unwrap();
            let mask = borderline_mask(&case.task(), &case.blocks);
            let cmp = compare(&reference, &twin, Some(&mask));
            assert!(cmp.passes(REL_L2_TOL), "seed {seed}: {cmp}");
            worst = worst.max(cmp.rel_l2);
        }
        eprintln!("gpu-v0 twin vs cpu-ref, 24 cases: worst relative L2 {worst:.3e}");
    }

    #[test]
    fn split_blocks_and_empty_tiles() {
        let case = ParityCase::random(5);
        let whole = migrate_tile(&CpuTwinV0Kernel::default(), case.task(), &case.blocks).unwrap();
        let split = migrate_tile(&CpuTwinV0Kernel { max_dispatch_traces: 7 }, case.task(), &case.blocks).unwrap();
        let cmp = compare(&whole, &split, None);
        assert!(cmp.passes(1e-6), "{cmp}");
        assert_eq!(whole.fold, split.fold);

        let empty = migrate_tile(&CpuTwinV0Kernel::default(), case.task(), &[]).unwrap();
        assert!(empty.image.iter().all(|&v| v == 0.0) && empty.fold.iter().all(|&f| f == 0));
    }
}

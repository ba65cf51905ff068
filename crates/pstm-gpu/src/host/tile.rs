//! The per-tile protocol ([`pstm_kernel::MigrationKernel::begin_tile`], used by the parity
//! tests) on the Phase 1 pipeline: one tile with the velocities of its [`TileTask`].

use pstm_kernel::{KernelError, TileImage, TileMigration, TileTask, TraceBlock, TraceLayout};

use super::DeviceKernel;
use super::pipeline::Pipeline;
use super::resources::{Statics, VelocityInput};
use crate::layout::{columns_v1, local_origin, trace_geometry};

/// One tile through the per-tile protocol: the pipeline is made when the first block shows the
/// traces' sampling (the output times are placed in it).
pub struct PerTile<'a, K: DeviceKernel> {
    kernel: &'a K,
    task: TileTask<'a>,
    origin: [f64; 2],
    open: Option<(Pipeline<'a, K, ()>, usize, TraceLayout)>,
}

impl<'a, K: DeviceKernel> PerTile<'a, K> {
    /// A tile of `task` for `kernel`.
    pub fn begin(kernel: &'a K, task: TileTask<'a>) -> Result<Self, KernelError> {
        let n = task.n_output_samples();
        let max_tile_samples = crate::layout::max_tile_samples(kernel.max_binding_bytes());
        if n > max_tile_samples {
            return Err(kernel.input_error(format!(
                "a tile of {n} output samples exceeds the device's largest binding; at most {max_tile_samples} per tile"
            )));
        }
        crate::layout::check_tile_velocity(&task).map_err(|e| kernel.input_error(e.to_string()))?;
        task.check_medium(kernel.name())?;
        Ok(Self { kernel, task, origin: local_origin(task.columns), open: None })
    }

    fn open(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        let kernel = self.kernel;
        let layout = TraceLayout { n_samples: block.n_samples, dt_s: block.dt_s, t_start_s: block.t_start_s };
        let vel = self.task.velocity;
        let input = VelocityInput::Values { values: &vel.values, columns: vel.n_columns, eta: &vel.eta };
        let statics = Statics::new(kernel, input, &self.task.time, &layout, self.task.operator)
            .map_err(|e| e.into_kernel_error(kernel.name()))?;
        let job = kernel.prepare_job(&statics)?;
        let block_traces = kernel.block_traces(block.n_traces(), block.n_samples);
        let n_columns = self.task.columns.len();
        let mut pipeline =
            Pipeline::new(kernel, statics, job, self.task.time.nt, block.n_samples, n_columns, block_traces)?;
        let slot = pipeline.open_tile(0, &columns_v1(self.task.columns, self.origin, None), None, None)?;
        self.open = Some((pipeline, slot, layout));
        Ok(())
    }
}

impl<K: DeviceKernel> TileMigration for PerTile<'_, K> {
    fn add_traces(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        let kernel = self.kernel;
        crate::layout::check_block(block, kernel.max_binding_bytes()).map_err(|e| kernel.input_error(e))?;
        if self.task.n_output_samples() == 0 || block.n_traces() == 0 {
            return Ok(());
        }
        if self.open.is_none() {
            self.open(block)?;
        }
        let (pipeline, slot, layout) = self.open.as_mut().expect("opened above");
        if (layout.n_samples, layout.dt_s, layout.t_start_s) != (block.n_samples, block.dt_s, block.t_start_s) {
            return Err(kernel.input_error(format!(
                "block sampled at {} samples of {} s from {} s after blocks of {} samples of {} s from {} s",
                block.n_samples, block.dt_s, block.t_start_s, layout.n_samples, layout.dt_s, layout.t_start_s
            )));
        }
        let ns = block.n_samples;
        let origin = self.origin;
        for range in crate::gpu_v0::block_ranges(block.n_traces(), pipeline.block_traces()) {
            pipeline.add_block(*slot, range.len(), |samples, geometry| {
                samples.copy_from_slice(&block.samples[range.start * ns..range.end * ns]);
                for (g, t) in geometry.iter_mut().zip(&block.geometry[range.clone()]) {
                    *g = trace_geometry(t, origin);
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    fn finish(self: Box<Self>, out: &mut TileImage) -> Result<(), KernelError> {
        let kernel = self.kernel;
        let n = self.task.n_output_samples();
        if out.image.len() != n || out.fold.len() != n {
            return Err(kernel.input_error(format!(
                "output holds {} image and {} fold samples for a tile of {n}",
                out.image.len(),
                out.fold.len()
            )));
        }
        let Some((mut pipeline, slot, _)) = self.open else {
            // No traces reached this tile: nothing was migrated, and the device never ran.
            out.image.fill(0.0);
            out.fold.fill(0);
            return Ok(());
        };
        pipeline.close_tile(slot)?;
        let read = pipeline
            .take_finished(true)?
            .ok_or_else(|| kernel.input_error("the tile's read-back was lost".to_string()))?;
        out.image.copy_from_slice(&read.image.image);
        out.fold.copy_from_slice(&read.image.fold);
        kernel.add_stats(&pipeline.stats);
        Ok(())
    }
}

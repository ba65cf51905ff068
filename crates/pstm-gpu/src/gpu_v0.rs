//! `gpu-v0`: the baseline GPU kernel, host side. The shader is `shaders/gpu_v0.wgsl`, its CPU
//! twin `cpu/migrate_v0.rs`.
//!
//! Deliberately plain, so that later versions have an honest baseline to beat:
//! - every tile creates its own buffers (parameters, columns, velocities, image, fold; timestamp
//!   queries) and releases them when it finishes; every block creates its own trace and geometry
//!   buffers;
//! - every dispatch is submitted and waited for before `add_traces` returns (synchronous);
//! - one invocation per output sample, looping over all traces of the block.
//!
//! Reading: every interpolation and antialiasing method of the operator, through
//! `shaders/shared/trace_samples.wgsl` (shared with gpu-v1). Linear reads without antialiasing
//! stay inline as they were, so the baseline's cost on the default path does not move; the
//! others take a branch that is uniform across the dispatch. Sinc8's weights come from a table
//! binding ([`crate::layout::sinc8_table`], per tile like every gpu-v0 buffer), because WGSL's
//! `sin` is too coarse under Vulkan's precision rules to compute them.
//!
//! Poisoning: the image and fold buffers are created filled with `0xFF` bytes (a NaN image,
//! `u32::MAX` fold). The tile's first dispatch writes every sample and later ones add, so any
//! sample the kernel fails to write reaches the caller as NaN / `u32::MAX`, and the parity
//! tests see it. A tile that receives no traces never touches the device and returns zeros.
//!
//! Limits: a block larger than the device's storage binding limit is split into several
//! dispatches (each sample still adds its traces in trace order); [`MigrationKernel::max_block_traces`]
//! tells the executor the size that avoids the split, [`MigrationKernel::max_tile_samples`] the
//! largest tile whose image binds.

use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use pstm_kernel::{KernelError, MigrationKernel, TileImage, TileMigration, TileTask, TraceBlock};
use wgpu::util::DeviceExt;

use crate::layout::{BlockParams, TileInputs, TileParams, block_geometry, block_params, block_times, dispatch_size};
use crate::shaders::{self, GPU_V0, compose};
pub use crate::shaders::{Binding, BindingKind, KernelShader};
use crate::{GpuContext, GpuError};

/// Registry name.
pub const NAME: &str = "gpu-v0";
/// Entry point of `shaders/gpu_v0.wgsl`.
pub const ENTRY_POINT: &str = "migrate";
/// Invocations per workgroup, along output time (WGSL `WORKGROUP_SIZE`).
pub const WORKGROUP_SIZE: u32 = 64;

/// Group 0 of `shaders/gpu_v0.wgsl`; `tests/wgsl.rs` checks it against the WGSL.
pub const BINDINGS: [Binding; 11] = [
    Binding { binding: 0, name: "tile", kind: BindingKind::Uniform, element_bytes: size_of::<TileParams>() },
    Binding { binding: 1, name: "block", kind: BindingKind::Uniform, element_bytes: size_of::<BlockParams>() },
    Binding { binding: 2, name: "columns", kind: BindingKind::StorageRead, element_bytes: 8 },
    Binding { binding: 3, name: "velocity", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 4, name: "geometry", kind: BindingKind::StorageRead, element_bytes: 16 },
    Binding { binding: 5, name: "traces", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 6, name: "image", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding { binding: 7, name: "fold", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding { binding: 8, name: "times", kind: BindingKind::StorageRead, element_bytes: 16 },
    Binding { binding: 9, name: "law", kind: BindingKind::StorageRead, element_bytes: 8 },
    Binding { binding: 10, name: "interp_table", kind: BindingKind::StorageRead, element_bytes: 16 },
];

/// The shader as the host sees it.
pub const SHADER: KernelShader = KernelShader {
    file: GPU_V0,
    entry_point: ENTRY_POINT,
    workgroup_size: [WORKGROUP_SIZE, 1, 1],
    bindings: &BINDINGS,
    flags: &[],
};

/// Consecutive ranges of at most `max` of `n` traces.
pub fn block_ranges(n: usize, max: usize) -> impl Iterator<Item = Range<usize>> {
    let max = max.max(1);
    (0..n.div_ceil(max)).map(move |i| i * max..((i + 1) * max).min(n))
}

/// Settings of the kernel beyond the device's own limits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuV0Options {
    /// Bind at most this many bytes per buffer (default: the device's limit). Lower it to keep
    /// tiles and blocks small on a device with little memory, or to test block splitting.
    pub max_binding_bytes: Option<u64>,
}

/// Where the kernel's time went, summed since the last [`GpuV0Kernel::take_gpu_timings`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuTimings {
    pub tiles: u64,
    pub dispatches: u64,
    /// Time of the migration dispatches alone (s): timestamp queries where the device has them
    /// and they read non-zero, else the wall clock from submission to completion (which then
    /// includes the upload of the block).
    pub kernel_s: f64,
    /// Dispatches timed by wall clock (no timestamps, or timestamps that read zero, as Metal's
    /// may).
    pub wall_clock_dispatches: u64,
}

/// The baseline GPU kernel. Shares the device through `Arc<GpuContext>`; cheap to share.
pub struct GpuV0Kernel {
    ctx: Arc<GpuContext>,
    pipeline: wgpu::ComputePipeline,
    bind_group_layout: wgpu::BindGroupLayout,
    max_binding_bytes: u64,
    max_workgroups_per_dimension: u32,
    timings: Mutex<GpuTimings>,
}

impl std::fmt::Debug for GpuV0Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuV0Kernel")
            .field("device", &self.ctx.summary().to_string())
            .field("max_binding_bytes", &self.max_binding_bytes)
            .finish()
    }
}

impl GpuV0Kernel {
    /// Compile the pipeline on `ctx`'s device.
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self, GpuError> {
        Self::with_options(ctx, GpuV0Options::default())
    }

    pub fn with_options(ctx: Arc<GpuContext>, options: GpuV0Options) -> Result<Self, GpuError> {
        let source = compose(&GPU_V0)?;
        let module = ctx.create_shader_module("pstm.gpu_v0", &source)?;
        let (bind_group_layout, pipeline) = ctx.scoped("gpu-v0: creating the pipeline", || {
            let entries: Vec<_> = BINDINGS.iter().map(|b| b.layout_entry(false)).collect();
            Ok(ctx.compute_pipeline("pstm.gpu_v0", &module, ENTRY_POINT, &entries))
        })?;
        let device_max = ctx.max_binding_bytes();
        let max_binding_bytes = options.max_binding_bytes.map_or(device_max, |m| m.min(device_max)).max(16) / 4 * 4;
        let max_workgroups_per_dimension = ctx.limits().max_compute_workgroups_per_dimension;
        Ok(Self {
            ctx,
            pipeline,
            bind_group_layout,
            max_binding_bytes,
            max_workgroups_per_dimension,
            timings: Mutex::new(GpuTimings::default()),
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The timings summed since the last call, and reset them.
    pub fn take_gpu_timings(&self) -> GpuTimings {
        std::mem::take(&mut *self.timings.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn add_timing(&self, f: impl FnOnce(&mut GpuTimings)) {
        f(&mut self.timings.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn error(&self, e: GpuError) -> KernelError {
        e.into_kernel_error(NAME)
    }

    fn input_error(&self, message: String) -> KernelError {
        KernelError::Input { kernel: NAME.to_string(), message }
    }
}

impl MigrationKernel for GpuV0Kernel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn device(&self) -> String {
        let checks = if self.ctx.runtime_checks() { ", shader runtime checks on" } else { "" };
        format!("{}{checks}", self.ctx.summary())
    }

    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError> {
        task.check_medium(NAME)?;
        let n = task.n_output_samples();
        if n > self.max_tile_samples() {
            return Err(self.input_error(format!(
                "a tile of {n} output samples exceeds the device's largest binding; at most {} per tile",
                self.max_tile_samples()
            )));
        }
        let inputs = TileInputs::new(&task).map_err(|e| self.input_error(e.to_string()))?;
        let buffers = if n == 0 {
            None
        } else {
            let buffers = self
                .ctx
                .scoped("gpu-v0: creating tile buffers", || Ok(TileBuffers::new(&self.ctx, &inputs, task)))
                .map_err(|e| self.error(e))?;
            Some(buffers)
        };
        self.add_timing(|t| t.tiles += 1);
        Ok(Box::new(GpuV0Tile { kernel: self, inputs, buffers, dispatches: 0 }))
    }

    fn concurrent_tiles(&self) -> usize {
        // Submission is synchronous; the device's queue would serialise more tiles anyway.
        1
    }

    fn take_timings(&self) -> pstm_kernel::KernelTimings {
        let t = self.take_gpu_timings();
        pstm_kernel::KernelTimings {
            device_s: (t.dispatches > 0).then_some(t.kernel_s),
            transfer_s: None,
            metrics: Vec::new(),
        }
    }

    fn bytes_per_output_sample(&self) -> usize {
        // The host-visible readback of image and fold while a tile finishes.
        8
    }

    fn max_block_traces(&self, n_samples: usize) -> usize {
        crate::layout::max_block_traces(self.max_binding_bytes, n_samples)
    }

    fn cost_model(&self) -> pstm_kernel::CostModel {
        // Fitted to end-to-end runs on an H200 (docs/PERFORMANCE.md, `wide` with one tile and
        // with 32 to 128-column tiles): 2.6 ps per contribution, 0.54 ps per visit that falls
        // outside the aperture, and 0.9 ns per trace sample handed to a tile (each block is
        // uploaded into a new buffer and waited for).
        pstm_kernel::CostModel {
            per_sample_visit_s: 0.54e-12,
            per_column_visit_s: 0.0,
            per_contribution_s: 2.6e-12,
            per_trace_sample_s: 0.9e-9,
            per_tile_s: 1e-3,
            per_block_s: 100e-6,
            // About four output samples per resident thread of an H100-class device.
            min_tile_samples: 1 << 20,
            shares_host_cores: false,
        }
    }

    fn max_tile_samples(&self) -> usize {
        // Image, fold and a laterally varying velocity each bind 4 bytes per output sample.
        crate::layout::max_tile_samples(self.max_binding_bytes)
    }
}

/// A tile's device buffers, released when the tile is dropped.
struct TileBuffers {
    tile_params: wgpu::Buffer,
    columns: wgpu::Buffer,
    velocity: wgpu::Buffer,
    law: wgpu::Buffer,
    /// Sinc8's table, or one unused entry ([`crate::layout::interp_table`]).
    interp_table: wgpu::Buffer,
    image: wgpu::Buffer,
    fold: wgpu::Buffer,
    timestamps: Option<Timestamps>,
}

struct Timestamps {
    query_set: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    readback: wgpu::Buffer,
}

impl TileBuffers {
    fn new(ctx: &GpuContext, inputs: &TileInputs, task: TileTask<'_>) -> Self {
        let device = ctx.device();
        let init = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents, usage })
        };
        let poisoned = |label: &str, bytes: u64| {
            let buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: true,
            });
            // 0xFFFFFFFF is a NaN as f32 and u32::MAX as u32. A failed mapping leaves the buffer
            // unpoisoned (zeros), which only weakens the check; creation errors surface through
            // the caller's error scope.
            if let Ok(mut view) = buffer.get_mapped_range_mut(..) {
                view.slice(..).fill(0xFF);
            }
            buffer.unmap();
            buffer
        };
        let n_bytes = (task.n_output_samples() * 4) as u64;
        let timestamps = ctx.has_feature(wgpu::Features::TIMESTAMP_QUERY).then(|| Timestamps {
            query_set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("pstm.gpu_v0.timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolved: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pstm.gpu_v0.timestamps.resolved"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("pstm.gpu_v0.timestamps.readback"),
                size: 16,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
        });
        Self {
            tile_params: init("pstm.gpu_v0.tile", bytemuck::bytes_of(&inputs.params), wgpu::BufferUsages::UNIFORM),
            columns: init("pstm.gpu_v0.columns", bytemuck::cast_slice(&inputs.columns), wgpu::BufferUsages::STORAGE),
            velocity: init(
                "pstm.gpu_v0.velocity",
                bytemuck::cast_slice(&task.velocity.values),
                wgpu::BufferUsages::STORAGE,
            ),
            law: init("pstm.gpu_v0.law", bytemuck::cast_slice(&inputs.law), wgpu::BufferUsages::STORAGE),
            interp_table: init(
                "pstm.gpu_v0.interp_table",
                bytemuck::cast_slice(&crate::layout::interp_table(task.operator)),
                wgpu::BufferUsages::STORAGE,
            ),
            image: poisoned("pstm.gpu_v0.image", n_bytes),
            fold: poisoned("pstm.gpu_v0.fold", n_bytes),
            timestamps,
        }
    }
}

struct GpuV0Tile<'a> {
    kernel: &'a GpuV0Kernel,
    inputs: TileInputs,
    /// `None` for a tile without output samples.
    buffers: Option<TileBuffers>,
    dispatches: usize,
}

impl GpuV0Tile<'_> {
    /// One dispatch over traces `range` of `block`; returns its kernel time (s) and whether that
    /// came from the wall clock.
    fn dispatch(&mut self, block: &TraceBlock, range: Range<usize>) -> Result<(f64, bool), GpuError> {
        let kernel = self.kernel;
        let ctx = &kernel.ctx;
        let device = ctx.device();
        let buffers = self.buffers.as_ref().expect("dispatch is only called on tiles with samples");
        let ns = block.n_samples;
        let geometry = block_geometry(&block.geometry[range.clone()], self.inputs.origin);
        let params = block_params(block, range.len(), self.dispatches > 0);
        let samples = &block.samples[range.start * ns..range.end * ns];
        // A binding must not be empty: a block of zero-sample traces binds one padding word.
        let pad = [0.0f32; 4];
        let samples: &[f32] = if samples.is_empty() { &pad } else { samples };

        let init = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor { label: Some(label), contents, usage })
        };
        let block_params = init("pstm.gpu_v0.block", bytemuck::bytes_of(&params), wgpu::BufferUsages::UNIFORM);
        let geometry = init("pstm.gpu_v0.geometry", bytemuck::cast_slice(&geometry), wgpu::BufferUsages::STORAGE);
        let traces = init("pstm.gpu_v0.traces", bytemuck::cast_slice(samples), wgpu::BufferUsages::STORAGE);
        let times = block_times(&self.inputs.times, block);
        let times = init("pstm.gpu_v0.times", bytemuck::cast_slice(&times), wgpu::BufferUsages::STORAGE);
        let resources = [
            &buffers.tile_params,
            &block_params,
            &buffers.columns,
            &buffers.velocity,
            &geometry,
            &traces,
            &buffers.image,
            &buffers.fold,
            &times,
            &buffers.law,
            &buffers.interp_table,
        ];
        let resources = resources.map(|buffer| buffer.as_entire_binding());
        let bind_group =
            shaders::bind_group(device, "pstm.gpu_v0.bind_group", &kernel.bind_group_layout, &BINDINGS, resources);

        let [gx, gy, gz] = dispatch_size(
            self.inputs.params.n_columns,
            self.inputs.params.nt,
            WORKGROUP_SIZE,
            kernel.max_workgroups_per_dimension,
        );
        let mut encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("pstm.gpu_v0.dispatch") });
        {
            let timestamp_writes = buffers.timestamps.as_ref().map(|t| wgpu::ComputePassTimestampWrites {
                query_set: &t.query_set,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("pstm.gpu_v0.migrate"),
                timestamp_writes,
            });
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(gx, gy, gz);
        }
        if let Some(t) = &buffers.timestamps {
            encoder.resolve_query_set(&t.query_set, 0..2, &t.resolved, 0);
            encoder.copy_buffer_to_buffer(&t.resolved, 0, &t.readback, 0, 16);
        }
        let started = Instant::now();
        let index = ctx.queue().submit([encoder.finish()]);
        ctx.wait(index, "gpu-v0: migrating a block")?;
        let wall_s = started.elapsed().as_secs_f64();
        self.dispatches += 1;

        let device_s = match &buffers.timestamps {
            None => None,
            Some(t) => {
                let [begin, end] = ctx.read_mapped(&t.readback, "gpu-v0: reading timestamps", |bytes| {
                    let ticks: &[u64] = bytemuck::cast_slice(bytes);
                    [ticks[0], ticks[1]]
                })?;
                let period_ns = ctx.queue().get_timestamp_period() as f64;
                (end > begin).then(|| (end - begin) as f64 * period_ns * 1e-9)
            }
        };
        Ok(match device_s {
            Some(s) => (s, false),
            None => (wall_s, true),
        })
    }
}

impl TileMigration for GpuV0Tile<'_> {
    fn add_traces(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        let kernel = self.kernel;
        crate::layout::check_block(block, kernel.max_binding_bytes).map_err(|e| kernel.input_error(e))?;
        if self.buffers.is_none() {
            return Ok(());
        }
        for range in block_ranges(block.n_traces(), kernel.max_block_traces(block.n_samples)) {
            let (seconds, wall_clock) = kernel
                .ctx
                .scoped("gpu-v0: migrating a block", || self.dispatch(block, range))
                .map_err(|e| kernel.error(e))?;
            kernel.add_timing(|t| {
                t.dispatches += 1;
                t.kernel_s += seconds;
                t.wall_clock_dispatches += wall_clock as u64;
            });
        }
        Ok(())
    }

    fn finish(self: Box<Self>, out: &mut TileImage) -> Result<(), KernelError> {
        let kernel = self.kernel;
        let n = self.inputs.params.n_columns as usize * self.inputs.params.nt as usize;
        if out.image.len() != n || out.fold.len() != n {
            return Err(kernel.input_error(format!(
                "output holds {} image and {} fold samples for a tile of {n}",
                out.image.len(),
                out.fold.len()
            )));
        }
        let Some(buffers) = self.buffers.as_ref().filter(|_| self.dispatches > 0) else {
            // No traces reached this tile: nothing was migrated, and the device never ran.
            out.image.fill(0.0);
            out.fold.fill(0);
            return Ok(());
        };
        let ctx = &kernel.ctx;
        ctx.scoped("gpu-v0: reading the tile back", || {
            let device = ctx.device();
            let bytes = (n * 4) as u64;
            let readback = |label: &str| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            };
            let image_readback = readback("pstm.gpu_v0.image.readback");
            let fold_readback = readback("pstm.gpu_v0.fold.readback");
            let mut encoder =
                device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("pstm.gpu_v0.readback") });
            encoder.copy_buffer_to_buffer(&buffers.image, 0, &image_readback, 0, bytes);
            encoder.copy_buffer_to_buffer(&buffers.fold, 0, &fold_readback, 0, bytes);
            let index = ctx.queue().submit([encoder.finish()]);
            ctx.wait(index, "gpu-v0: reading the tile back")?;
            ctx.read_mapped(&image_readback, "gpu-v0: reading the image", |b| {
                out.image.copy_from_slice(bytemuck::cast_slice(b))
            })?;
            ctx.read_mapped(&fold_readback, "gpu-v0: reading the fold", |b| {
                out.fold.copy_from_slice(bytemuck::cast_slice(b))
            })?;
            Ok(())
        })
        .map_err(|e| kernel.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ranges_cover_every_trace_once_in_order() {
        let ranges: Vec<_> = block_ranges(10, 4).collect();
        assert_eq!(ranges, vec![0..4, 4..8, 8..10]);
        assert_eq!(block_ranges(0, 4).count(), 0);
        assert_eq!(block_ranges(3, usize::MAX).collect::<Vec<_>>(), vec![0..3]);
    }
}

//! `gpu-v1`: the roadmap's Phase 1 (memory management and host binding) on gpu-v0's shader
//! loop. The shader is `shaders/gpu_v1.wgsl`, its CPU twin `cpu/migrate_v1.rs`.
//!
//! What changes against gpu-v0, each a switch ([`GpuV1Options`], config `execution.gpu.*`,
//! or a kernel name such as `gpu-v1:overlap=off` for side-by-side runs):
//!
//! - **Buffer pool** (`buffer_pool`, 1.1): two tile sets and two block sets sized once per job
//!   from the plan's largest tile and a trace block, reused for every tile; bind groups made
//!   once per pair of sets. Static data (output times, velocity) is uploaded once per job. A
//!   tile larger than announced regrows its set with 20% headroom. Off: every tile and block
//!   creates its buffers, as gpu-v0 does.
//! - **Double buffering** (`overlap`, 1.2): while the device migrates block k (and tile N is read
//!   back), the host fills block k+1 (and opens tile N+1); completion arrives by callbacks
//!   (`map_async`, `on_submitted_work_done`) run by a poller thread ([`events`]). Off: the host
//!   waits for the device after every submission.
//! - **Fewer copies** (`upload`, 1.3): the trace store writes samples straight into mapped
//!   staging memory (`staging`); `write_buffer` fills a host vector that wgpu copies again
//!   (the two-copy path, for comparison); `mapped` writes the storage buffer itself, where the
//!   device maps storage (`MAPPABLE_PRIMARY_BUFFERS`; unified memory such as Apple Silicon,
//!   where it saves the device-side copy). `auto`: `mapped` on integrated GPUs that offer it,
//!   else `staging`.
//! - **Velocity on the device** (`velocity`, `velocity_filter`, 1.4): a laterally invariant
//!   model goes as V(t) at the output times (one value per time, no 3D texture); a cube goes
//!   whole, as an R32Float (`texture`) or R16Float (`texture_f16`) 3D texture or a storage
//!   buffer (`buffer`), and the shader interpolates it at each output sample from the column's
//!   and the time's cell, found on the host in float64. `velocity_filter: hardware` lets the
//!   sampler interpolate (R32Float needs `FLOAT32_FILTERABLE`); `manual` (the default)
//!   interpolates eight texels in float32, because samplers weight texels with 8-bit
//!   fractions (docs/PERFORMANCE.md has the measured error).
//!
//! The per-tile protocol ([`MigrationKernel::begin_tile`], used by the parity tests) runs the
//! same pipeline for one tile with the velocities of its [`TileTask`].

mod events;
mod pipeline;
mod resources;
mod session;
mod upload;

pub use upload::{UploadBandwidth, measure_upload};

use std::sync::{Arc, Mutex};

use pstm_kernel::{
    JobSetup, KernelError, KernelMetric, KernelSession, MigrationKernel, TileImage, TileMigration, TileTask,
    TraceBlock, TraceLayout,
};

use crate::layout::{TileParamsV1, columns_v1, local_origin, trace_geometry};
use crate::shaders::{Binding, BindingKind, GPU_V1, KernelShader, compose};
use crate::{GpuContext, GpuError};
use pipeline::Pipeline;
use resources::{BlockSet, Statics, VelocityInput};

/// Registry name.
pub const NAME: &str = "gpu-v1";
/// Entry point of `shaders/gpu_v1.wgsl`.
pub const ENTRY_POINT: &str = "migrate";
/// Invocations per workgroup, along output time (WGSL `WORKGROUP_SIZE`).
pub const WORKGROUP_SIZE: u32 = 64;
/// Default bytes of trace samples per block: large enough that a dispatch runs for
/// milliseconds on a large GPU, small enough that the first block's upload is short.
pub const BLOCK_BYTES: u64 = 64 << 20;

/// Group 0 of `shaders/gpu_v1.wgsl`; `tests/wgsl.rs` checks it against the WGSL.
pub const BINDINGS: [Binding; 11] = [
    Binding { binding: 0, name: "tile", kind: BindingKind::Uniform, element_bytes: size_of::<TileParamsV1>() },
    Binding {
        binding: 1,
        name: "block",
        kind: BindingKind::Uniform,
        element_bytes: size_of::<crate::layout::BlockParams>(),
    },
    Binding {
        binding: 2,
        name: "columns",
        kind: BindingKind::StorageRead,
        element_bytes: size_of::<crate::layout::ColumnV1>(),
    },
    Binding { binding: 3, name: "velocity", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 4, name: "velocity_texture", kind: BindingKind::Texture3d, element_bytes: 0 },
    Binding { binding: 5, name: "velocity_sampler", kind: BindingKind::Sampler, element_bytes: 0 },
    Binding { binding: 6, name: "geometry", kind: BindingKind::StorageRead, element_bytes: 16 },
    Binding { binding: 7, name: "traces", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 8, name: "image", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding { binding: 9, name: "fold", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding {
        binding: 10,
        name: "times",
        kind: BindingKind::StorageRead,
        element_bytes: size_of::<crate::layout::OutputTimeV1>(),
    },
];

/// The shader as the host sees it.
pub const SHADER: KernelShader = KernelShader {
    file: GPU_V1,
    entry_point: ENTRY_POINT,
    workgroup_size: [WORKGROUP_SIZE, 1, 1],
    bindings: &BINDINGS,
};

/// How trace samples reach the device (`execution.gpu.upload`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UploadPath {
    /// `Mapped` on an integrated GPU that maps storage buffers, else `Staging`.
    #[default]
    Auto,
    /// Written into mapped staging memory, copied to device memory by the device.
    Staging,
    /// Written into a host vector that `Queue::write_buffer` copies (two host copies).
    WriteBuffer,
    /// Written into the mapped storage buffer itself (unified memory).
    Mapped,
}

impl UploadPath {
    /// As `execution.gpu.upload` spells it.
    pub fn name(self) -> &'static str {
        match self {
            UploadPath::Auto => "auto",
            UploadPath::Staging => "staging",
            UploadPath::WriteBuffer => "write_buffer",
            UploadPath::Mapped => "mapped",
        }
    }
}

/// Where a velocity cube lives on the device (`execution.gpu.velocity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VelocityStorage {
    /// `Texture` where the cube fits the device's 3D textures, else `Buffer`.
    #[default]
    Auto,
    Texture,
    TextureF16,
    Buffer,
}

/// Who interpolates a velocity texture (`execution.gpu.velocity_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VelocityFilter {
    /// `Manual`: exact to float32 (hardware weights carry 8-bit fractions).
    #[default]
    Auto,
    Hardware,
    Manual,
}

/// gpu-v1's switches; the defaults are the fast, exact settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuV1Options {
    /// Bind at most this many bytes per buffer (default: the device's limit).
    pub max_binding_bytes: Option<u64>,
    pub buffer_pool: bool,
    pub overlap: bool,
    pub upload: UploadPath,
    pub velocity: VelocityStorage,
    pub velocity_filter: VelocityFilter,
    /// Bytes of samples per trace block (default [`BLOCK_BYTES`]).
    pub block_bytes: Option<u64>,
}

impl Default for GpuV1Options {
    fn default() -> Self {
        Self {
            max_binding_bytes: None,
            buffer_pool: true,
            overlap: true,
            upload: UploadPath::Auto,
            velocity: VelocityStorage::Auto,
            velocity_filter: VelocityFilter::Auto,
            block_bytes: None,
        }
    }
}

/// What the pipeline measured, summed over a kernel's jobs since the last
/// [`MigrationKernel::take_timings`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PipelineStats {
    /// Jobs (sessions, or tiles of the per-tile protocol), each creating its pool once.
    pub jobs: u64,
    /// Creating a job's pool: its four buffer sets (s).
    pub pool_create_s: f64,
    pub tiles: u64,
    pub blocks: u64,
    /// Buffer sets created (4 per job with the pool; one per tile and per block without).
    pub sets_created: u64,
    /// Times a pooled set grew past what the job announced.
    pub pool_grew: u64,
    /// Per tile and block: finding (or, without the pool, creating) buffer sets and bind
    /// groups (s).
    pub acquire_s: f64,
    /// Host preparation: reading traces into upload memory, geometry (s).
    pub prep_s: f64,
    /// The part of `prep_s` during which the device had no work (s).
    pub prep_exposed_s: f64,
    /// Bytes written into upload memory.
    pub upload_bytes: u64,
    /// Device time of the tiles (timestamps, else wall clock) (s).
    pub device_s: f64,
    /// Tiles timed by the wall clock (no timestamps).
    pub wall_clock_tiles: u64,
}

impl PipelineStats {
    fn add(&mut self, o: &PipelineStats) {
        self.jobs += o.jobs;
        self.pool_create_s += o.pool_create_s;
        self.tiles += o.tiles;
        self.blocks += o.blocks;
        self.sets_created += o.sets_created;
        self.pool_grew += o.pool_grew;
        self.acquire_s += o.acquire_s;
        self.prep_s += o.prep_s;
        self.prep_exposed_s += o.prep_exposed_s;
        self.upload_bytes += o.upload_bytes;
        self.device_s += o.device_s;
        self.wall_clock_tiles += o.wall_clock_tiles;
    }

    /// The roadmap's Phase 1 figures.
    pub fn metrics(&self) -> Vec<KernelMetric> {
        let per = |a: f64, b: u64| if b == 0 { 0.0 } else { a / b as f64 };
        vec![
            KernelMetric { name: "buffer_acquire_per_tile", value: per(self.acquire_s, self.tiles) * 1e3, unit: "ms" },
            KernelMetric {
                name: "buffer_pool_create_per_job",
                value: per(self.pool_create_s, self.jobs) * 1e3,
                unit: "ms",
            },
            KernelMetric { name: "buffer_sets_created", value: self.sets_created as f64, unit: "sets" },
            KernelMetric { name: "host_prep", value: self.prep_s, unit: "s" },
            KernelMetric {
                name: "host_prep_hidden",
                value: if self.prep_s > 0.0 { 1.0 - self.prep_exposed_s / self.prep_s } else { 0.0 },
                unit: "fraction",
            },
            KernelMetric {
                name: "upload_fill_rate",
                value: if self.prep_s > 0.0 { self.upload_bytes as f64 / self.prep_s * 1e-9 } else { 0.0 },
                unit: "GB/s",
            },
            KernelMetric { name: "blocks", value: self.blocks as f64, unit: "blocks" },
        ]
    }
}

/// The Phase 1 GPU kernel. Shares the device through `Arc<GpuContext>`.
pub struct GpuV1Kernel {
    ctx: Arc<GpuContext>,
    options: GpuV1Options,
    /// Non-filtering and filtering layouts and their pipelines.
    layouts: [wgpu::BindGroupLayout; 2],
    pipelines: [wgpu::ComputePipeline; 2],
    max_binding_bytes: u64,
    max_workgroups_per_dimension: u32,
    storage_alignment: u64,
    stats: Mutex<PipelineStats>,
    /// How the last job's velocity reached the device, for the kernel's description.
    velocity_path: Mutex<String>,
}

impl std::fmt::Debug for GpuV1Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuV1Kernel")
            .field("device", &self.ctx.summary().to_string())
            .field("options", &self.options)
            .finish()
    }
}

impl GpuV1Kernel {
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self, GpuError> {
        Self::with_options(ctx, GpuV1Options::default())
    }

    pub fn with_options(ctx: Arc<GpuContext>, mut options: GpuV1Options) -> Result<Self, GpuError> {
        let maps_storage = ctx.has_feature(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS);
        options.upload = match options.upload {
            UploadPath::Auto => {
                let integrated = ctx.summary().info.device_type == wgpu::DeviceType::IntegratedGpu;
                if integrated && maps_storage { UploadPath::Mapped } else { UploadPath::Staging }
            }
            UploadPath::Mapped if !maps_storage => {
                return Err(GpuError::Device {
                    what: "gpu-v1: execution.gpu.upload = mapped".into(),
                    message: format!(
                        "{} cannot map storage buffers (no MAPPABLE_PRIMARY_BUFFERS); use staging",
                        ctx.summary().info.name
                    ),
                });
            }
            other => other,
        };
        let source = compose(&GPU_V1)?;
        let module = ctx.create_shader_module("pstm.gpu_v1", &source)?;
        let (layouts, pipelines) = ctx.scoped("gpu-v1: creating the pipelines", || {
            // One pipeline per layout: the texture read texel by texel, or through a filtering
            // sampler (the formats and samplers each allows differ).
            let make = |filtering: bool| {
                let entries: Vec<_> = BINDINGS.iter().map(|b| b.layout_entry(filtering)).collect();
                ctx.compute_pipeline("pstm.gpu_v1", &module, ENTRY_POINT, &entries)
            };
            let (l0, p0) = make(false);
            let (l1, p1) = make(true);
            Ok(([l0, l1], [p0, p1]))
        })?;
        let device_max = ctx.max_binding_bytes();
        let max_binding_bytes = options.max_binding_bytes.map_or(device_max, |m| m.min(device_max)).max(16) / 4 * 4;
        let limits = ctx.limits();
        Ok(Self {
            options,
            layouts,
            pipelines,
            max_binding_bytes,
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            storage_alignment: limits.min_storage_buffer_offset_alignment as u64,
            stats: Mutex::new(PipelineStats::default()),
            velocity_path: Mutex::new(String::new()),
            ctx,
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The switches in effect (`upload` resolved).
    pub fn options(&self) -> &GpuV1Options {
        &self.options
    }

    fn layout(&self, filtering: bool) -> &wgpu::BindGroupLayout {
        &self.layouts[filtering as usize]
    }

    fn pipeline(&self, filtering: bool) -> &wgpu::ComputePipeline {
        &self.pipelines[filtering as usize]
    }

    fn max_workgroups(&self) -> u32 {
        self.max_workgroups_per_dimension
    }

    /// Traces per block: the plan's block, held to [`GpuV1Options::block_bytes`] and the
    /// device's binding limit.
    fn block_traces(&self, planned: usize, n_samples: usize) -> usize {
        let per_trace = (4 * n_samples.max(1)) as u64;
        let target = self.options.block_bytes.unwrap_or(BLOCK_BYTES).max(per_trace);
        planned.min((target / per_trace) as usize).min(self.max_block_traces(n_samples)).max(1)
    }

    fn block_set(&self, traces: usize, n_samples: usize) -> BlockSet {
        BlockSet::new(&self.ctx, self.options.upload, traces, n_samples, self.storage_alignment.max(16))
    }

    fn add_stats(&self, stats: &PipelineStats) {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).add(stats);
    }

    /// The pipeline's figures since the last call, and reset them.
    pub fn take_stats(&self) -> PipelineStats {
        std::mem::take(&mut *self.stats.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn input_error(&self, message: String) -> KernelError {
        KernelError::Input { kernel: NAME.to_string(), message }
    }

    /// The switches that differ from the defaults, for the kernel's description.
    fn switches(&self) -> Vec<String> {
        let o = &self.options;
        let mut out = vec![format!("upload {}", o.upload.name())];
        let velocity = self.velocity_path.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if !velocity.is_empty() {
            out.push(format!("velocity {velocity}"));
        }
        if !o.buffer_pool {
            out.push("buffer pool off".into());
        }
        if !o.overlap {
            out.push("overlap off".into());
        }
        if let Some(b) = o.block_bytes {
            out.push(format!("blocks of {} MiB", b >> 20));
        }
        out
    }
}

impl MigrationKernel for GpuV1Kernel {
    fn name(&self) -> &'static str {
        NAME
    }

    fn device(&self) -> String {
        let checks = if self.ctx.runtime_checks() { ", shader runtime checks on" } else { "" };
        format!("{}{checks} [{}]", self.ctx.summary(), self.switches().join(", "))
    }

    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError> {
        let n = task.n_output_samples();
        if n > self.max_tile_samples() {
            return Err(self.input_error(format!(
                "a tile of {n} output samples exceeds the device's largest binding; at most {} per tile",
                self.max_tile_samples()
            )));
        }
        crate::layout::check_tile_velocity(&task).map_err(|e| self.input_error(e.to_string()))?;
        Ok(Box::new(GpuV1Tile { kernel: self, task, origin: local_origin(task.columns), open: None }))
    }

    fn open_session<'a>(&'a self, setup: JobSetup<'a>) -> Result<Box<dyn KernelSession + 'a>, KernelError> {
        Ok(Box::new(session::GpuV1Session::new(self, setup)?))
    }

    fn cost_model(&self) -> pstm_kernel::CostModel {
        // gpu-v0's shader loop (2.6 ps per contribution, 0.54 ps per visit outside the
        // aperture on an H200); trace samples cost the device only their copy (the host fills
        // the next block while the device works), and a tile or block only a submission.
        pstm_kernel::CostModel {
            per_sample_visit_s: 0.54e-12,
            per_column_visit_s: 0.0,
            per_contribution_s: 2.6e-12,
            per_trace_sample_s: 0.1e-9,
            per_tile_s: 0.2e-3,
            per_block_s: 30e-6,
            min_tile_samples: 1 << 20,
            shares_host_cores: false,
        }
    }

    fn concurrent_tiles(&self) -> usize {
        // One tile filled while the one before it is read back.
        2
    }

    fn take_timings(&self) -> pstm_kernel::KernelTimings {
        let s = self.take_stats();
        pstm_kernel::KernelTimings {
            device_s: (s.tiles > 0).then_some(s.device_s),
            transfer_s: None,
            metrics: if s.tiles > 0 { s.metrics() } else { Vec::new() },
        }
    }

    fn bytes_per_output_sample(&self) -> usize {
        // The mapped read-back of image and fold.
        8
    }

    fn max_block_traces(&self, n_samples: usize) -> usize {
        crate::layout::max_block_traces(self.max_binding_bytes, n_samples)
    }

    fn max_tile_samples(&self) -> usize {
        crate::layout::max_tile_samples(self.max_binding_bytes)
    }
}

/// One tile through the per-tile protocol: the pipeline is made when the first block shows the
/// traces' sampling (the output times are placed in it).
struct GpuV1Tile<'a> {
    kernel: &'a GpuV1Kernel,
    task: TileTask<'a>,
    origin: [f64; 2],
    open: Option<(Pipeline<'a, ()>, usize, TraceLayout)>,
}

impl GpuV1Tile<'_> {
    fn open(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        let kernel = self.kernel;
        let layout = TraceLayout { n_samples: block.n_samples, dt_s: block.dt_s, t_start_s: block.t_start_s };
        let vel = self.task.velocity;
        let input = VelocityInput::Values { values: &vel.values, columns: vel.n_columns };
        let statics = Statics::new(kernel, input, &self.task.time, &layout).map_err(|e| e.into_kernel_error(NAME))?;
        let block_traces = kernel.block_traces(block.n_traces(), block.n_samples);
        let params = TileParamsV1::new(
            self.task.columns.len(),
            self.task.time.nt,
            statics.source,
            statics.cube_shape,
            self.task.operator,
        );
        let mut pipeline =
            Pipeline::new(kernel, statics, self.task.time.nt, block.n_samples, self.task.columns.len(), block_traces)?;
        let slot = pipeline.open_tile(0, &columns_v1(self.task.columns, self.origin, None), params)?;
        self.open = Some((pipeline, slot, layout));
        Ok(())
    }
}

impl TileMigration for GpuV1Tile<'_> {
    fn add_traces(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        let kernel = self.kernel;
        crate::layout::check_block(block, kernel.max_binding_bytes).map_err(|e| kernel.input_error(e))?;
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

//! The roadmap's Phase 1 host side, shared by `gpu-v1`, `gpu-v2` and `gpu-v3`: per-job statics (velocity,
//! output times), pooled and double-buffered buffer sets, uploads into mapped staging memory,
//! completion by callbacks, the per-job session and the per-tile protocol. A kernel plugs in
//! through [`DeviceKernel`]: its parameter structs, its bindings and its dispatches.
//!
//! - [`events`]: completion by callbacks and the poller thread.
//! - [`resources`]: what a job uploads once ([`Statics`]) and the buffer sets ([`TileSet`],
//!   [`BlockSet`]).
//! - [`pipeline`]: two tile sets and two block sets cycled through the device.
//! - [`session`]: the engine's per-job session on the pipeline; [`tile`]: the per-tile protocol.
//! - [`upload`]: the upload paths measured against a plain memcpy.

pub mod events;
pub mod pipeline;
pub mod resources;
pub mod session;
pub mod tile;
pub mod upload;

use std::sync::{Arc, Mutex};

use pstm_kernel::{KernelError, KernelMetric, TraceLayout};
use pstm_math::adaptive::TileCells;
use pstm_math::velocity::VelocityCube;

use crate::GpuContext;
pub use resources::{BlockSet, Statics, TileSet};

/// `pstm_kernel::MigrationKernel` for a [`DeviceKernel`] type: the per-tile path and the per-job
/// session both run on this module's pipeline, so kernels differ only in what `DeviceKernel`
/// says. A macro, not a blanket impl: the trait is another crate's, so the orphan rule forbids
/// `impl<K: DeviceKernel> MigrationKernel for K`.
macro_rules! migration_kernel_on_host {
    ($kernel:ty) => {
        impl pstm_kernel::MigrationKernel for $kernel {
            fn name(&self) -> &'static str {
                <Self as $crate::host::DeviceKernel>::name(self)
            }

            fn device(&self) -> String {
                let ctx = <Self as $crate::host::DeviceKernel>::context(self);
                let checks = if ctx.runtime_checks() { ", shader runtime checks on" } else { "" };
                let settings = <Self as $crate::host::DeviceKernel>::describe(self).join(", ");
                format!("{}{checks} [{settings}]", ctx.summary())
            }

            fn begin_tile<'a>(
                &'a self,
                task: pstm_kernel::TileTask<'a>,
            ) -> Result<Box<dyn pstm_kernel::TileMigration + 'a>, pstm_kernel::KernelError> {
                Ok(Box::new($crate::host::tile::PerTile::begin(self, task)?))
            }

            fn open_session<'a>(
                &'a self,
                setup: pstm_kernel::JobSetup<'a>,
            ) -> Result<Box<dyn pstm_kernel::KernelSession + 'a>, pstm_kernel::KernelError> {
                Ok(Box::new($crate::host::session::Session::new(self, setup)?))
            }

            fn cost_model(&self) -> pstm_kernel::CostModel {
                <Self as $crate::host::DeviceKernel>::device_cost_model(self)
            }

            fn concurrent_tiles(&self) -> usize {
                // One tile filled while the one before it is read back.
                2
            }

            fn skips_inactive_cells(&self) -> bool {
                <Self as $crate::host::DeviceKernel>::skips_inactive_cells(self)
            }

            fn take_timings(&self) -> pstm_kernel::KernelTimings {
                <Self as $crate::host::DeviceKernel>::take_stats(self).timings()
            }

            fn bytes_per_output_sample(&self) -> usize {
                // The mapped read-back of image and fold.
                8
            }

            fn max_block_traces(&self, n_samples: usize) -> usize {
                <Self as $crate::host::DeviceKernel>::max_traces_per_block(self, n_samples)
            }

            fn max_tile_samples(&self) -> usize {
                $crate::layout::max_tile_samples(<Self as $crate::host::DeviceKernel>::max_binding_bytes(self))
            }
        }
    };
}
pub(crate) use migration_kernel_on_host;

/// A tile's work items (gpu-v3): the bytes of [`TileSet::items`], all items (the tile's first
/// block dispatches them) and the active ones (listed first; later blocks dispatch those).
#[derive(Debug, Clone, PartialEq)]
pub struct TileItems {
    pub bytes: Vec<u8>,
    pub n_items: u32,
    pub n_active: u32,
}

/// What a block's dispatch knows of its tile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileDispatch {
    pub n_columns: usize,
    pub n_traces: usize,
    /// The tile's first block (it writes the image; later blocks add to it).
    pub first_block: bool,
    /// (all, active) work items, for a tile that has them.
    pub items: Option<(u32, u32)>,
}

impl TileDispatch {
    /// Work items this dispatch covers.
    pub fn item_count(&self) -> Option<u32> {
        self.items.map(|(all, active)| if self.first_block { all } else { active })
    }
}

/// Default bytes of trace samples per block: large enough that a dispatch runs for
/// milliseconds on a large GPU, small enough that the first block's upload is short.
pub const BLOCK_BYTES: u64 = 64 << 20;

/// A kernel on the Phase 1 host side: what differs between `gpu-v1`, `gpu-v2` and `gpu-v3`.
pub trait DeviceKernel: Sync {
    /// What a job fixes of the kernel's compiled state (gpu-v2: its specialised pipelines).
    type Job: Send;

    /// Registry name, for messages.
    fn name(&self) -> &'static str;
    /// Whether the kernel leaves out cells outside an adaptive run's mask.
    fn skips_inactive_cells(&self) -> bool {
        false
    }
    /// The settings in effect, for the kernel's description (`pstm kernels`, run summaries).
    fn describe(&self) -> Vec<String>;
    /// What a tile costs on the device, for the planner (measured; docs/PERFORMANCE.md).
    fn device_cost_model(&self) -> pstm_kernel::CostModel;
    fn context(&self) -> &Arc<GpuContext>;
    /// The Phase 1 switches.
    fn host_options(&self) -> &GpuV1Options;
    /// Bind at most this many bytes per buffer.
    fn max_binding_bytes(&self) -> u64;
    /// Where the pipeline adds up its figures, and where the last job's velocity path is noted.
    fn stats(&self) -> &Mutex<PipelineStats>;
    fn velocity_path(&self) -> &Mutex<String>;

    /// The job's compiled state, once the statics are on the device.
    fn prepare_job(&self, statics: &Statics) -> Result<Self::Job, KernelError>;
    /// The output times as the shader reads them (bytes of its `times` array).
    fn output_times(&self, times: &[f64], layout: &TraceLayout, cube: Option<&VelocityCube>) -> Vec<u8>;
    /// Bytes of the per-tile uniform, and its value for a tile of `n_columns` columns (with
    /// its work items, for a kernel that has them).
    fn tile_params_bytes(&self) -> usize;
    fn tile_params(&self, job: &Self::Job, statics: &Statics, n_columns: usize, items: Option<&TileItems>) -> Vec<u8>;
    /// Device bytes of the work items of a tile of `columns` columns of `nt` times (gpu-v3).
    fn tile_items_bytes(&self, columns: usize, nt: usize) -> u64 {
        let _ = (columns, nt);
        0
    }
    /// The work items of a tile of `n_columns` columns, with an adaptive run's cells (gpu-v3).
    fn tile_items(&self, job: &Self::Job, n_columns: usize, active: Option<&TileCells>) -> Option<TileItems> {
        let _ = (job, n_columns, active);
        None
    }
    /// Bytes of the per-block uniform, and its value for a block of `n_traces` traces (the
    /// tile's first block writes, later ones add).
    fn block_params_bytes(&self) -> usize;
    fn block_params(&self, n_traces: usize, layout: &TraceLayout, accumulate: bool) -> Vec<u8>;
    /// Device bytes a block needs per trace sample beyond the samples themselves (gpu-v2's pairs).
    fn derived_bytes_per_sample(&self) -> u64 {
        0
    }
    /// The bind group of a tile set with a block set.
    fn bind_group(&self, job: &Self::Job, statics: &Statics, tile: &TileSet, block: &BlockSet) -> wgpu::BindGroup;
    /// Record what the block needs before its compute pass (gpu-v3: its work counter zeroed).
    fn before_pass(&self, encoder: &mut wgpu::CommandEncoder, tile: &TileSet, dispatch: &TileDispatch) {
        let _ = (encoder, tile, dispatch);
    }
    /// Record the block's dispatches into `pass` (the bind group is not yet set).
    fn dispatch(
        &self,
        job: &Self::Job,
        statics: &Statics,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        block: &BlockSet,
        tile: &TileDispatch,
    );

    /// Add a pipeline's figures to the kernel's.
    fn add_stats(&self, stats: &PipelineStats) {
        self.stats().lock().unwrap_or_else(|e| e.into_inner()).add(stats);
    }

    /// The pipeline's figures since the last call, and reset them.
    fn take_stats(&self) -> PipelineStats {
        std::mem::take(&mut *self.stats().lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn input_error(&self, message: String) -> KernelError {
        KernelError::Input { kernel: self.name().to_string(), message }
    }

    fn device_error(&self, what: &str, message: impl std::fmt::Display) -> KernelError {
        let (kernel, message) = (self.name().to_string(), format!("{what}: {message}"));
        // A failed poll or mapping is how a lost device first shows; say so when it is.
        match self.context().lost_message() {
            Some(lost) => KernelError::DeviceLost { kernel, message: format!("{message} ({lost})") },
            None => KernelError::Device { kernel, message },
        }
    }

    /// Device bytes per trace sample of a block: the samples and what is derived from them.
    fn bytes_per_block_sample(&self) -> u64 {
        4 + self.derived_bytes_per_sample()
    }

    /// Most traces of `n_samples` samples one block binds.
    fn max_traces_per_block(&self, n_samples: usize) -> usize {
        let per_sample = self.bytes_per_block_sample();
        crate::layout::max_block_traces(self.max_binding_bytes() / per_sample * 4, n_samples)
    }

    /// Traces per block: the plan's block, held to [`GpuV1Options::block_bytes`] (of samples)
    /// and the device's binding limit.
    fn block_traces(&self, planned: usize, n_samples: usize) -> usize {
        let per_trace = (4 * n_samples.max(1)) as u64;
        let target = self.host_options().block_bytes.unwrap_or(BLOCK_BYTES).max(per_trace);
        planned.min((target / per_trace) as usize).min(self.max_traces_per_block(n_samples)).max(1)
    }

    /// A block set of `traces` traces of `n_samples` samples for this kernel.
    fn block_set(&self, traces: usize, n_samples: usize) -> BlockSet {
        let ctx = self.context();
        let align = ctx.limits().min_storage_buffer_offset_alignment as u64;
        BlockSet::new(
            ctx,
            self.host_options().upload,
            traces,
            n_samples,
            align.max(16),
            self.block_params_bytes(),
            self.derived_bytes_per_sample(),
        )
    }
}

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

/// The Phase 1 switches (gpu-v1's, and gpu-v2's host side); the defaults are the fast, exact
/// settings.
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

impl GpuV1Options {
    /// These switches on `ctx`: `upload: auto` resolved, `mapped` refused where the device cannot
    /// map storage buffers.
    pub fn resolved(mut self, ctx: &GpuContext, kernel: &str) -> Result<Self, crate::GpuError> {
        let maps_storage = ctx.has_feature(wgpu::Features::MAPPABLE_PRIMARY_BUFFERS);
        self.upload = match self.upload {
            UploadPath::Auto => {
                let integrated = ctx.summary().info.device_type == wgpu::DeviceType::IntegratedGpu;
                if integrated && maps_storage { UploadPath::Mapped } else { UploadPath::Staging }
            }
            UploadPath::Mapped if !maps_storage => {
                return Err(crate::GpuError::Device {
                    what: format!("{kernel}: execution.gpu.upload = mapped"),
                    message: format!(
                        "{} cannot map storage buffers (no MAPPABLE_PRIMARY_BUFFERS); use staging",
                        ctx.summary().info.name
                    ),
                });
            }
            other => other,
        };
        Ok(self)
    }

    /// Bytes a kernel may bind per buffer on `ctx` under these switches.
    pub fn binding_limit(&self, ctx: &GpuContext) -> u64 {
        let device_max = ctx.max_binding_bytes();
        self.max_binding_bytes.map_or(device_max, |m| m.min(device_max)).max(16) / 4 * 4
    }

    /// The switches in a kernel's description: the upload path, how the last job's `velocity`
    /// reached the device, and those that differ from the defaults.
    pub fn describe(&self, velocity: &str) -> Vec<String> {
        let mut out = vec![format!("upload {}", self.upload.name())];
        if !velocity.is_empty() {
            out.push(format!("velocity {velocity}"));
        }
        if !self.buffer_pool {
            out.push("buffer pool off".into());
        }
        if !self.overlap {
            out.push("overlap off".into());
        }
        if let Some(b) = self.block_bytes {
            out.push(format!("blocks of {} MiB", b >> 20));
        }
        out
    }
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
/// [`pstm_kernel::MigrationKernel::take_timings`].
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
    pub fn add(&mut self, o: &PipelineStats) {
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

    /// The kernel timings these figures give (none before a tile ran).
    pub fn timings(&self) -> pstm_kernel::KernelTimings {
        pstm_kernel::KernelTimings {
            device_s: (self.tiles > 0).then_some(self.device_s),
            transfer_s: None,
            metrics: if self.tiles > 0 { self.metrics() } else { Vec::new() },
        }
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

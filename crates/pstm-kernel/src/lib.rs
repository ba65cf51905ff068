//! Migration kernels and the one trait they share.
//!
//! A backend meets the engine at a per-job [`session::KernelSession`]: it receives the job's
//! static data once (grid, velocity model, [`pstm_math::ImagingOperator`], a
//! [`session::TraceStore`] serving traces by id), then tiles of work without blocking, and
//! hands finished tiles back as they complete ([`MigrationKernel::open_session`]). The engine
//! owns everything around that: choosing tiles and their order, finding the traces near each
//! tile, and writing outputs.
//!
//! Most kernels need no session of their own: they implement the per-tile protocol below and
//! the default [`MigrationKernel::open_session`] runs them through [`session::TileSession`]. A
//! tile is opened with [`MigrationKernel::begin_tile`] on a [`TileTask`] (the tile's column
//! positions, the output time axis, RMS velocities sampled at every output sample, the
//! operator), which returns a [`TileMigration`] holding the kernel's accumulators (float64 on
//! the CPU reference, device buffers on a GPU); [`TraceBlock`]s stream through it in ascending
//! trace order, and [`TileMigration::finish`] writes the [`TileImage`]: the summed image and
//! the fold of every output sample. Every output sample sums its traces in trace order,
//! whatever the block size; kernels that promise more (the reference kernel's results do not
//! depend on tiling or threads, bit for bit) say so.
//!
//! This crate holds the CPU kernels: [`cpu_ref`], the float64 oracle, and [`cpu`], the float32
//! SIMD kernel checked against it.
//!
//! # Adding a kernel version
//!
//! 1. One file in its backend's crate (`pstm-gpu/src/gpu_v1.rs`, with its WGSL under
//!    `src/shaders/` and its CPU twin under `src/cpu/`): implement [`MigrationKernel`]; override
//!    [`MigrationKernel::open_session`] when the kernel keeps state across tiles (buffers,
//!    textures, resident traces) or works asynchronously, else the per-tile protocol suffices.
//!    Match on the operator's [`pstm_math::Traveltime`] and [`pstm_math::Interpolation`] without
//!    a wildcard, so a new type does not compile until the kernel handles or refuses it.
//! 2. Give it a [`MigrationKernel::cost_model`] measured on the hardware it targets: the
//!    planner chooses tile shapes from it.
//! 3. One registry line: a variant of `KernelId` in `pstm-engine/src/registry.rs` (its matches
//!    have no wildcard, so the compiler lists the rest: name, description, `auto` eligibility,
//!    creation).
//! 4. Parity against `cpu-ref` within [`parity::REL_L2_TOLERANCE`] on random
//!    [`parity::ParityCase`]s with poisoned outputs, a focusing test, and a row in the README's
//!    kernel table; `pstm bench` and `pstm compare` then take it by name.

use pstm_math::{ImagingOperator, TileVelocity, TimeAxis, TraceGeometry};

pub mod cpu;
pub mod cpu_ref;
pub mod device_set;
pub mod parity;
pub mod session;

pub use cpu::CpuKernel;
pub use cpu_ref::CpuRefKernel;
pub use device_set::DeviceSet;
pub use session::{CostModel, FinishedTile, JobSetup, KernelSession, TileSession, TileWork, TraceLayout, TraceStore};

/// Traces handed to a kernel: samples already pre-filtered and prepared for the operator's
/// antialiasing ([`pstm_math::antialias::prepare_traces`]), with their geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceBlock {
    pub n_samples: usize,
    /// Sample interval (s).
    pub dt_s: f64,
    /// Time of the first sample (s).
    pub t_start_s: f64,
    /// `n_traces * n_samples` samples, trace after trace.
    pub samples: Vec<f32>,
    pub geometry: Vec<TraceGeometry>,
}

impl TraceBlock {
    pub fn n_traces(&self) -> usize {
        self.geometry.len()
    }

    pub fn trace(&self, i: usize) -> &[f32] {
        &self.samples[i * self.n_samples..(i + 1) * self.n_samples]
    }

    /// Traces `range` of this block as a block of their own.
    pub fn slice(&self, range: std::ops::Range<usize>) -> TraceBlock {
        TraceBlock {
            n_samples: self.n_samples,
            dt_s: self.dt_s,
            t_start_s: self.t_start_s,
            samples: self.samples[range.start * self.n_samples..range.end * self.n_samples].to_vec(),
            geometry: self.geometry[range].to_vec(),
        }
    }
}

/// One output tile's work, apart from the traces.
#[derive(Debug, Clone, Copy)]
pub struct TileTask<'a> {
    /// World `(x, y)` of each column, in storage order.
    pub columns: &'a [[f64; 2]],
    pub time: TimeAxis,
    pub velocity: &'a TileVelocity,
    pub operator: &'a ImagingOperator,
}

impl TileTask<'_> {
    pub fn n_output_samples(&self) -> usize {
        self.columns.len() * self.time.nt
    }

    /// [`check_medium`] for this task.
    pub fn check_medium(&self, kernel: &str) -> Result<(), KernelError> {
        check_medium(kernel, self.operator, !self.velocity.eta.is_empty())
    }
}

/// Refuse an operator whose traveltime lacks what it needs: a curved ray's gradient, a VTI eta
/// (`has_eta`: the task's velocities, or the job's model, carry one).
pub fn check_medium(kernel: &str, operator: &ImagingOperator, has_eta: bool) -> Result<(), KernelError> {
    let missing = match operator.traveltime {
        pstm_math::Traveltime::CurvedRay if operator.gradient.is_none() => "a curved ray without its gradient",
        pstm_math::Traveltime::Vti if !has_eta => "a VTI traveltime without eta",
        _ => return Ok(()),
    };
    Err(KernelError::Input { kernel: kernel.to_string(), message: format!("{missing} (algorithm.traveltime)") })
}

/// A migrated tile: `image[c * nt + it]` and `fold[c * nt + it]` for column `c`, time `it`.
#[derive(Debug, Clone, PartialEq)]
pub struct TileImage {
    pub image: Vec<f32>,
    pub fold: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The kernel cannot run on this machine (no adapter, missing CPU feature).
    #[error("kernel {kernel} is not available here: {reason}")]
    Unavailable { kernel: String, reason: String },
    /// The device failed while running.
    #[error("kernel {kernel}: device error: {message}")]
    Device { kernel: String, message: String },
    /// The device could not allocate what a tile needs; smaller trace blocks or fewer tiles in
    /// flight may fit.
    #[error("kernel {kernel}: out of device memory: {message}")]
    OutOfMemory { kernel: String, message: String },
    /// The device was lost (a driver reset, a removed or hung GPU): nothing more runs on it.
    #[error("kernel {kernel}: device lost: {message}")]
    DeviceLost { kernel: String, message: String },
    /// The inputs break a rule of the kernel (a block too large for its buffers).
    #[error("kernel {kernel}: {message}")]
    Input { kernel: String, message: String },
    /// The trace store could not serve traces (a read error, named by the store).
    #[error("{0}")]
    Traces(String),
}

impl KernelError {
    /// Whether the device failed (an error, a loss or exhausted memory): what it computed since
    /// cannot be trusted, and another backend may take over.
    pub fn is_device_failure(&self) -> bool {
        matches!(self, Self::Device { .. } | Self::OutOfMemory { .. } | Self::DeviceLost { .. })
    }
}

/// A migration kernel. Implementations are cheap to share between threads; per-tile state lives
/// in the [`TileMigration`] each tile gets.
pub trait MigrationKernel: Send + Sync {
    /// The registry name (`cpu-ref`, `cpu`, `gpu-v0`, ...).
    fn name(&self) -> &'static str;

    /// What it runs on, for logs and benchmark records (CPU model, GPU adapter and driver).
    fn device(&self) -> String;

    /// Open a tile for migration.
    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError>;

    /// Open the kernel's session for one job. The default runs [`MigrationKernel::begin_tile`]
    /// through [`TileSession`].
    fn open_session<'a>(&'a self, setup: JobSetup<'a>) -> Result<Box<dyn KernelSession + 'a>, KernelError> {
        Ok(Box::new(TileSession::new(self, setup)))
    }

    /// How the kernel's time depends on tile shape, for the planner.
    fn cost_model(&self) -> CostModel;

    /// How many tiles the executor may migrate at once (CPU kernels: one per worker thread; a
    /// GPU kernel: as many as it can keep in flight).
    fn concurrent_tiles(&self) -> usize;

    /// Kernel memory per output sample of an open tile, in bytes, beyond the executor's own
    /// float32 image and u32 fold (the reference kernel's float64 accumulator, for instance).
    fn bytes_per_output_sample(&self) -> usize;

    /// Most traces of `n_samples` samples one block may hold (a GPU's largest storage binding).
    fn max_block_traces(&self, n_samples: usize) -> usize {
        let _ = n_samples;
        usize::MAX
    }

    /// Most output samples one tile may hold (a GPU's memory).
    fn max_tile_samples(&self) -> usize {
        usize::MAX
    }

    /// Whether the kernel leaves out the output cells an adaptive run's [`TileWork::active`]
    /// marks inactive (saving their time). Others migrate them too, and the engine zeroes them.
    fn skips_inactive_cells(&self) -> bool {
        false
    }

    /// Times the kernel measured itself since the last call (a GPU's timestamp queries, its
    /// buffer traffic), for benchmarks. Kernels that measure nothing return the default.
    fn take_timings(&self) -> KernelTimings {
        KernelTimings::default()
    }

    /// One kernel per device when this one runs on several ([`DeviceSet`]); empty for a kernel
    /// on one device, which is its own.
    fn device_kernels(&self) -> &[Box<dyn MigrationKernel>] {
        &[]
    }
}

/// Times a kernel measures itself, in seconds, summed over tiles.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelTimings {
    /// Device execution time of the migration dispatches (GPU timestamps), when measured.
    pub device_s: Option<f64>,
    /// Creating buffers, uploading inputs and reading results back, when measured.
    pub transfer_s: Option<f64>,
    /// Further figures of the kernel's own (a GPU pipeline's buffer acquisition, hidden host
    /// preparation, upload bandwidth), for benchmark records.
    pub metrics: Vec<KernelMetric>,
}

/// One named figure a kernel measured, e.g. `("prep_hidden", 0.93, "fraction")`.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelMetric {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
}

/// An open tile: feed it blocks, then take the image.
pub trait TileMigration: Send {
    fn add_traces(&mut self, block: &TraceBlock) -> Result<(), KernelError>;

    /// Write the tile's image and fold into `out`, whose vectors hold exactly
    /// `task.n_output_samples()` elements. Callers may poison them first (NaN, `u32::MAX`): a
    /// kernel must write every element, zero where no trace contributed.
    fn finish(self: Box<Self>, out: &mut TileImage) -> Result<(), KernelError>;
}

impl TileImage {
    /// Buffers for `n` output samples, poisoned (NaN image, `u32::MAX` fold) so that any sample a
    /// kernel forgets to write shows.
    pub fn poisoned(n: usize) -> Self {
        Self { image: vec![f32::NAN; n], fold: vec![u32::MAX; n] }
    }
}

/// Run one tile through a kernel with the given blocks: the whole protocol in one call, with
/// poisoned output buffers.
pub fn migrate_tile(
    kernel: &dyn MigrationKernel,
    task: TileTask<'_>,
    blocks: &[TraceBlock],
) -> Result<TileImage, KernelError> {
    let mut tile = kernel.begin_tile(task)?;
    for b in blocks {
        tile.add_traces(b)?;
    }
    let mut out = TileImage::poisoned(task.n_output_samples());
    tile.finish(&mut out)?;
    Ok(out)
}

/// The machine's CPU, for kernel descriptions: model name and logical cores.
pub fn cpu_description() -> String {
    format!("{}, {} threads", cpu_model(), rayon::current_num_threads())
}

/// The CPU's model name (`/proc/cpuinfo`), or the architecture where that is not readable.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

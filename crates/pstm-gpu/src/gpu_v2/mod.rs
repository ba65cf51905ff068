//! `gpu-v2`: the roadmap's Phase 2 (shader optimisations) on gpu-v1's host side
//! ([`crate::host`]). The shader is `shaders/gpu_v2.wgsl` (its header says how it works), its
//! CPU twin `cpu/migrate_v2.rs`.
//!
//! What changes against gpu-v1, in the shader:
//!
//! - **Workgroup memory** (2.1): a workgroup takes one output column over a chunk of
//!   `workgroup_size x samples_per_invocation` output times; per batch of traces, each
//!   invocation stages one trace (aperture test, squared leg distances, taper weight, and the
//!   first output time from which the trace lies past its end) into workgroup memory, shared by
//!   every time of the column.
//! - **Subgroup operations** (2.2, `subgroups`): live traces are compacted by subgroup ballots
//!   (any subgroup size, read in the shader), lane groups skip traces dead for all their times
//!   (and groups with no times skip everything), and the workgroup's largest velocity and
//!   radius come from subgroup reductions. Without the feature (or with `subgroups: off`) a
//!   separate source without subgroup operations runs: the same image, bit for bit.
//! - **Vector loads** (2.3, `trace_pairs`): each block's samples are rewritten on the device as
//!   (sample, difference to the next) pairs, one aligned 8-byte load and one fma per
//!   contribution; never a read outside the trace. Off: two 4-byte loads; the same image.
//! - **Unrolling and invariants** (2.4): per contribution two square roots and one reciprocal
//!   (none without weights): no root for the aperture test (squared distances) or the taper
//!   (per trace), one reciprocal for both weights, whose numerator multiplies each output
//!   sample's sum once; positions in trace samples (no multiply by 1/dt); `samples_per_invocation`
//!   output times per invocation, unrolled. Every job-constant choice (aperture kind, weights,
//!   sizes) is compiled in ([`crate::shaders::Specialisation`]), so the inner loop carries no
//!   branch on it.
//!
//! Reading (interpolation, antialiasing) is compiled in too ([`reading`]): linear without
//! antialiasing, the benchmarked path, compiles to the loop it always was. Cubic and sinc8 read
//! single samples from the block (a pair holds no sample past the last interpolation point, and
//! a taps' window reaches past it), so their jobs make no pairs; the triangle reads the doubly
//! integrated trace linearly at three points, from pairs like any linear read. Antialiasing
//! keeps each live trace's leg projections in workgroup memory beside its entry (16 bytes per
//! slot, only in those variants).
//!
//! gpu-v3 ([`crate::gpu_v3`]) is this kernel with [`V3`] switches: the same shader specialised
//! to take work items from a list (`WORK_ITEMS`) or a counter (`PERSISTENT`), and the host's
//! tile items ([`work_items`]); with them off it compiles gpu-v2's source unchanged.
//!
//! The workgroup size and samples per invocation come from a sweep per adapter ([`tuned_shape`],
//! `docs/PERFORMANCE.md` has the table), or from `execution.gpu.workgroup_size` and
//! `samples_per_invocation`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pstm_kernel::{KernelError, TraceLayout};
use pstm_math::adaptive::TileCells;
use pstm_math::velocity::VelocityCube;
use pstm_math::{ApertureMode, ImagingOperator};

use crate::host::{BlockSet, DeviceKernel, GpuV1Options, PipelineStats, Statics, TileDispatch, TileItems, TileSet};
use crate::layout::{
    BlockParamsV2, ColumnV1, OutputTimeV2, TileParamsV2, TimeRange, column_dispatch, pair_stride, times_v2,
    weight_time_ranges,
};
use crate::shaders::{self, Binding, BindingKind, GPU_V2, GPU_V2_PAIRS, KernelShader, Specialisation, compose_with};
use crate::{GpuContext, GpuError};

/// Registry name.
pub const NAME: &str = "gpu-v2";
/// Entry points of `shaders/gpu_v2.wgsl` and `shaders/gpu_v2_pairs.wgsl`.
pub const ENTRY_POINT: &str = "migrate";
pub const PAIRS_ENTRY_POINT: &str = "make_pairs";
/// The workgroup size and samples per invocation the WGSL declares (what the tests validate).
pub const SOURCE_WORKGROUP_SIZE: u32 = 256;
pub const SOURCE_SAMPLES: u32 = 4;
/// Invocations per workgroup of `make_pairs` (WGSL `PAIRS_WORKGROUP_SIZE`).
pub const PAIRS_WORKGROUP_SIZE: u32 = 256;
/// The `#if` flag of the subgroup path.
pub const SUBGROUPS_FLAG: &str = "SUBGROUPS";
/// The `#if` flag of gpu-v3's persistent grid.
pub const PERSISTENT_FLAG: &str = "PERSISTENT";
/// gpu-v3: the bit of a work item's chunk that marks it outside an adaptive run's mask (WGSL
/// `ITEM_SKIPPED`).
pub const ITEM_SKIPPED: u32 = 0x8000_0000;
/// Environment variable, for measurement only: stages of the shader to leave out
/// (`roots,reciprocal,loads`), to time each by difference (docs/PERFORMANCE.md). The image is
/// then wrong, and the kernel's description says so.
pub const ABLATE_ENV: &str = "PSTM_GPU_V2_ABLATE";
/// The stages [`ABLATE_ENV`] can name, and the WGSL constant each sets.
pub const ABLATIONS: [(&str, &str); 3] =
    [("roots", "ABLATE_ROOTS"), ("reciprocal", "ABLATE_RECIPROCAL"), ("loads", "ABLATE_LOADS")];

/// Longest trace the shader indexes (its float-to-index shortcut holds below 2^22 samples).
pub const MAX_TRACE_SAMPLES: usize = 1 << 22;

/// Workgroup sizes and samples per invocation a user may ask for.
pub const WORKGROUP_SIZES: [u32; 4] = [64, 128, 256, 512];
pub const SAMPLES_PER_INVOCATION: [u32; 4] = [1, 2, 4, 8];

/// Group 0 of `shaders/gpu_v2.wgsl`; `tests/wgsl.rs` checks it against the WGSL. gpu-v2 binds
/// placeholders at 12 and 13 (gpu-v3's work items and counter), which its pipelines never read.
pub const BINDINGS: [Binding; 18] = [
    Binding { binding: 0, name: "tile", kind: BindingKind::Uniform, element_bytes: size_of::<TileParamsV2>() },
    Binding { binding: 1, name: "block", kind: BindingKind::Uniform, element_bytes: size_of::<BlockParamsV2>() },
    Binding { binding: 2, name: "columns", kind: BindingKind::StorageRead, element_bytes: size_of::<ColumnV1>() },
    Binding { binding: 3, name: "velocity", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 4, name: "velocity_texture", kind: BindingKind::Texture3d, element_bytes: 0 },
    Binding { binding: 5, name: "velocity_sampler", kind: BindingKind::Sampler, element_bytes: 0 },
    Binding { binding: 6, name: "geometry", kind: BindingKind::StorageRead, element_bytes: 16 },
    Binding { binding: 7, name: "traces", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 8, name: "pairs", kind: BindingKind::StorageRead, element_bytes: 8 },
    Binding { binding: 9, name: "image", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding { binding: 10, name: "fold", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding { binding: 11, name: "times", kind: BindingKind::StorageRead, element_bytes: size_of::<OutputTimeV2>() },
    Binding { binding: 12, name: "items", kind: BindingKind::StorageRead, element_bytes: 8 },
    Binding { binding: 13, name: "queue", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding { binding: 14, name: "table", kind: BindingKind::StorageRead, element_bytes: 8 },
    Binding { binding: 15, name: "table_rows", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 16, name: "law", kind: BindingKind::StorageRead, element_bytes: 8 },
    Binding { binding: 17, name: "interp_table", kind: BindingKind::StorageRead, element_bytes: 16 },
];

/// gpu-v3's traveltime tables: interpolation error allowed (trace samples). The 0.05
/// samples shifts a 25 Hz wavelet at 2 ms by 1.5%; the image's 1e-3 budget needs far less.
pub const TABLE_TOLERANCE_SAMPLES: f64 = 0.002;
/// The longest row a table may have, and the distance it covers as a multiple of the aperture
/// (legs reach past the aperture by half an offset; longer legs take their roots).
pub const TABLE_MAX_DISTANCES: usize = 4096;
pub const TABLE_REACH: f64 = 1.5;

/// Group 0 of `shaders/gpu_v2_pairs.wgsl`.
pub const PAIRS_BINDINGS: [Binding; 3] = [
    Binding { binding: 0, name: "block", kind: BindingKind::Uniform, element_bytes: size_of::<BlockParamsV2>() },
    Binding { binding: 1, name: "traces", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 2, name: "pairs", kind: BindingKind::StorageReadWrite, element_bytes: 8 },
];

/// The shader as the host sees it.
pub const SHADER: KernelShader = KernelShader {
    file: GPU_V2,
    entry_point: ENTRY_POINT,
    workgroup_size: [SOURCE_WORKGROUP_SIZE, 1, 1],
    bindings: &BINDINGS,
    flags: &[(SUBGROUPS_FLAG, wgpu::Features::SUBGROUP), (PERSISTENT_FLAG, wgpu::Features::empty())],
};

/// The pairs shader as the host sees it.
pub const PAIRS_SHADER: KernelShader = KernelShader {
    file: GPU_V2_PAIRS,
    entry_point: PAIRS_ENTRY_POINT,
    workgroup_size: [PAIRS_WORKGROUP_SIZE, 1, 1],
    bindings: &PAIRS_BINDINGS,
    flags: &[],
};

/// A workgroup's shape: invocations, and output times per invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    pub workgroup_size: u32,
    pub samples_per_invocation: u32,
}

impl Shape {
    /// Output times one workgroup migrates.
    pub fn chunk(&self) -> u32 {
        self.workgroup_size * self.samples_per_invocation
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x {}", self.workgroup_size, self.samples_per_invocation)
    }
}

/// The shape measured fastest on `info`'s kind of adapter, and which measurement says so
/// (docs/PERFORMANCE.md, "gpu-v2: the shape sweep").
pub fn tuned_shape(info: &wgpu::AdapterInfo) -> (Shape, &'static str) {
    const NVIDIA: u32 = 0x10de;
    let shape = |workgroup_size, samples_per_invocation| Shape { workgroup_size, samples_per_invocation };
    if info.device_type == wgpu::DeviceType::Cpu {
        // Software Vulkan: correctness only; small workgroups keep CI's runs short.
        return (shape(64, 2), "software adapter");
    }
    if info.vendor == NVIDIA {
        return (shape(64, 2), "NVIDIA: swept on an H200");
    }
    (shape(256, 2), "untuned adapter: a middle shape")
}

/// gpu-v2's switches: gpu-v1's host side, and the shader's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuV2Options {
    pub host: GpuV1Options,
    /// Subgroup operations where the device has them (`execution.gpu.subgroups`).
    pub subgroups: bool,
    /// Samples read as (sample, difference) pairs (`execution.gpu.trace_pairs`).
    pub trace_pairs: bool,
    /// Invocations per workgroup; `None`: the adapter's tuned shape.
    pub workgroup_size: Option<u32>,
    /// Output times per invocation; `None`: the adapter's tuned shape.
    pub samples_per_invocation: Option<u32>,
}

impl Default for GpuV2Options {
    fn default() -> Self {
        Self {
            host: GpuV1Options::default(),
            subgroups: true,
            trace_pairs: true,
            workgroup_size: None,
            samples_per_invocation: None,
        }
    }
}

/// How workgroups find their (column, chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Items {
    /// From the workgroup id: every column and chunk of the tile (gpu-v2).
    Grid,
    /// From the tile's work items, one workgroup per item (gpu-v3).
    List,
    /// From the tile's work items, claimed by a persistent grid (gpu-v3).
    Persistent,
}

/// gpu-v3's switches in effect, or none for gpu-v2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct V3 {
    pub persistent: bool,
    /// Legs' times from a table where the velocity varies with time only.
    pub traveltime_table: bool,
    /// Workgroups of the persistent grid.
    pub workgroups: u32,
    pub workgroups_origin: &'static str,
}

/// What selects a compiled migration pipeline of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Variant {
    items: Items,
    /// Legs' times from the job's traveltime table.
    table: bool,
    /// The velocity texture is sampled through a filtering sampler (the layout differs).
    filtering: bool,
    dip: bool,
    /// Twice the power of `1/t` in each contribution's weight ([`weight_half_power`]).
    weight_half_power: u32,
    /// A stretch mute.
    stretch: bool,
    /// The traveltime, as `layout::TRAVELTIME_*` (WGSL `TRAVELTIME`).
    traveltime: u32,
    /// How traces are read ([`reading`]: WGSL `INTERPOLATION`, `ANTIALIAS`).
    interpolation: u32,
    antialias: u32,
    exact: bool,
    /// The traces start at time 0.
    zero_start: bool,
}

/// Twice the power of `1/t` the weights put on each contribution: spreading 2 (1 on a 2D line),
/// obliquity 2.
pub fn weight_half_power(w: &pstm_math::AmplitudeWeights) -> u32 {
    let spreading = match (w.spreading, w.line) {
        (false, _) => 0,
        (true, false) => 2,
        (true, true) => 1,
    };
    spreading + 2 * w.obliquity as u32
}

/// WGSL `INTERPOLATION` and `ANTIALIAS` of `operator`: linear under triangle antialiasing, which
/// reads the doubly integrated trace linearly whatever the interpolation says (as
/// [`pstm_math::ImagingOperator::read`] does).
pub fn reading(operator: &ImagingOperator) -> (u32, u32) {
    let params = crate::layout::ImagingParams::new(operator);
    let interpolation = match params.antialias {
        crate::layout::ANTIALIAS_TRIANGLE => crate::layout::INTERPOLATION_LINEAR,
        _ => params.interpolation,
    };
    (interpolation, params.antialias)
}

/// A job's compiled state: its pipelines and the output times each migrates.
pub struct Job {
    /// gpu-v3: the traveltime table's pairs and rows, and its entries per row.
    table: Option<(wgpu::Buffer, wgpu::Buffer, u32)>,
    fast: wgpu::ComputePipeline,
    /// gpu-v3: the fast times by work items.
    listed: Option<wgpu::ComputePipeline>,
    exact: Option<wgpu::ComputePipeline>,
    fast_times: TimeRange,
    exact_times: TimeRange,
    /// The migration reads trace pairs (linear reads, the triangle's too); cubic and sinc8 read
    /// single samples from the block itself, and no pairs are made.
    reads_pairs: bool,
}

/// The Phase 2 GPU kernel. Shares the device through `Arc<GpuContext>`.
pub struct GpuV2Kernel {
    ctx: Arc<GpuContext>,
    options: GpuV2Options,
    /// gpu-v3's switches; `None` for gpu-v2.
    v3: Option<V3>,
    /// Whether the subgroup path runs (the device has subgroups and the switch allows them).
    subgroups: bool,
    shape: Shape,
    /// Where the shape came from, for the description.
    shape_origin: &'static str,
    /// Non-filtering and filtering layouts of the migration.
    layouts: [wgpu::BindGroupLayout; 2],
    pairs_layout: wgpu::BindGroupLayout,
    pairs_pipeline: wgpu::ComputePipeline,
    /// Bound as `pairs` when the switch is off (the binding must hold a buffer).
    unused_pairs: wgpu::Buffer,
    pipelines: Mutex<HashMap<Variant, wgpu::ComputePipeline>>,
    /// Stages left out for a measurement ([`ABLATE_ENV`]); empty in real use.
    ablations: Vec<&'static str>,
    /// The last job's traveltime table, for the description.
    table_note: Mutex<String>,
    max_binding_bytes: u64,
    max_workgroups_per_dimension: u32,
    stats: Mutex<PipelineStats>,
    velocity_path: Mutex<String>,
}

impl std::fmt::Debug for GpuV2Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuV2Kernel")
            .field("device", &self.ctx.summary().to_string())
            .field("options", &self.options)
            .field("shape", &self.shape)
            .field("subgroups", &self.subgroups)
            .finish()
    }
}

impl GpuV2Kernel {
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self, GpuError> {
        Self::with_options(ctx, GpuV2Options::default())
    }

    pub fn with_options(ctx: Arc<GpuContext>, options: GpuV2Options) -> Result<Self, GpuError> {
        Self::build(ctx, options, None)
    }

    /// gpu-v2, or with `v3` gpu-v3 ([`crate::gpu_v3`]).
    pub(crate) fn build(ctx: Arc<GpuContext>, mut options: GpuV2Options, v3: Option<V3>) -> Result<Self, GpuError> {
        let name = if v3.is_some() { crate::gpu_v3::NAME } else { NAME };
        options.host = options.host.resolved(&ctx, name)?;
        let info = &ctx.summary().info;
        let (tuned, tuned_origin) = tuned_shape(info);
        let shape = Shape {
            workgroup_size: options.workgroup_size.unwrap_or(tuned.workgroup_size),
            samples_per_invocation: options.samples_per_invocation.unwrap_or(tuned.samples_per_invocation),
        };
        let shape_origin = match (options.workgroup_size, options.samples_per_invocation) {
            (None, None) => tuned_origin,
            _ => "execution.gpu",
        };
        let setting_error = |message: String| GpuError::Device { what: format!("{name}: execution.gpu"), message };
        if !WORKGROUP_SIZES.contains(&shape.workgroup_size) {
            return Err(setting_error(format!(
                "workgroup_size {} is not one of {WORKGROUP_SIZES:?}",
                shape.workgroup_size
            )));
        }
        if !SAMPLES_PER_INVOCATION.contains(&shape.samples_per_invocation) {
            return Err(setting_error(format!(
                "samples_per_invocation {} is not one of {SAMPLES_PER_INVOCATION:?}",
                shape.samples_per_invocation
            )));
        }
        let limits = ctx.limits();
        if shape.workgroup_size > limits.max_compute_invocations_per_workgroup
            || shape.workgroup_size > limits.max_compute_workgroup_size_x
        {
            return Err(setting_error(format!(
                "workgroup_size {} exceeds the device's {} invocations per workgroup",
                shape.workgroup_size, limits.max_compute_invocations_per_workgroup
            )));
        }
        // The subgroup path needs whole subgroups in a workgroup and ballots of at most 128 lanes.
        let subgroups = options.subgroups
            && ctx.has_feature(wgpu::Features::SUBGROUP)
            && info.subgroup_max_size <= 128
            && shape.workgroup_size.is_multiple_of(info.subgroup_max_size.max(1));
        let ablations = match std::env::var(ABLATE_ENV) {
            Ok(list) if !list.trim().is_empty() => list
                .split(',')
                .map(|name| {
                    ABLATIONS.iter().find(|(n, _)| *n == name.trim()).map(|(n, _)| *n).ok_or_else(|| {
                        let known: Vec<_> = ABLATIONS.iter().map(|(n, _)| *n).collect();
                        setting_error(format!("{ABLATE_ENV}: unknown stage `{name}`; stages are {known:?}"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        let pairs_source = compose_with(&GPU_V2_PAIRS, &Specialisation::default())?;
        let pairs_module = ctx.create_shader_module("pstm.gpu_v2.pairs", &pairs_source)?;
        let (layouts, pairs_layout, pairs_pipeline, unused_pairs) =
            ctx.scoped("gpu-v2: creating the pipeline layouts", || {
                let layout = |filtering: bool| {
                    let entries: Vec<_> = BINDINGS.iter().map(|b| b.layout_entry(filtering)).collect();
                    ctx.device().create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                        label: Some("pstm.gpu_v2.bindings"),
                        entries: &entries,
                    })
                };
                let entries: Vec<_> = PAIRS_BINDINGS.iter().map(|b| b.layout_entry(false)).collect();
                let (pairs_layout, pairs_pipeline) =
                    ctx.compute_pipeline("pstm.gpu_v2.pairs", &pairs_module, PAIRS_ENTRY_POINT, &entries);
                let unused = ctx.device().create_buffer(&wgpu::BufferDescriptor {
                    label: Some("pstm.gpu_v2.pairs.unused"),
                    size: 16,
                    usage: wgpu::BufferUsages::STORAGE,
                    mapped_at_creation: false,
                });
                Ok(([layout(false), layout(true)], pairs_layout, pairs_pipeline, unused))
            })?;
        let kernel = Self {
            v3,
            max_binding_bytes: options.host.binding_limit(&ctx),
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            options,
            subgroups,
            shape,
            shape_origin,
            layouts,
            pairs_layout,
            pairs_pipeline,
            unused_pairs,
            pipelines: Mutex::new(HashMap::new()),
            ablations,
            table_note: Mutex::new(String::new()),
            stats: Mutex::new(PipelineStats::default()),
            velocity_path: Mutex::new(String::new()),
            ctx,
        };
        // The common variant now, so that a shader the device rejects fails here, not mid-job.
        let items = match v3 {
            Some(V3 { persistent: true, .. }) => Items::Persistent,
            Some(_) => Items::List,
            None => Items::Grid,
        };
        kernel.pipeline(Variant {
            items,
            table: false,
            filtering: false,
            dip: false,
            weight_half_power: 4,
            stretch: false,
            traveltime: crate::layout::TRAVELTIME_STRAIGHT,
            interpolation: crate::layout::INTERPOLATION_LINEAR,
            antialias: crate::layout::ANTIALIAS_NONE,
            exact: false,
            zero_start: true,
        })?;
        Ok(kernel)
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The switches in effect (`upload` resolved).
    pub fn options(&self) -> &GpuV2Options {
        &self.options
    }

    /// The workgroup shape in effect.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Whether the subgroup path runs.
    pub fn uses_subgroups(&self) -> bool {
        self.subgroups
    }

    /// How the shader source is specialised for `variant`.
    fn specialisation(&self, variant: Variant) -> Specialisation {
        let spec = Specialisation::default()
            .with_const("WORKGROUP_SIZE", format!("{}u", self.shape.workgroup_size))
            .with_const("SAMPLES", format!("{}u", self.shape.samples_per_invocation))
            .with_const("DIP_APERTURE", variant.dip)
            .with_const("WEIGHT_HALF_POWER", format!("{}u", variant.weight_half_power))
            .with_const("STRETCH_MUTE", variant.stretch)
            .with_const("TRAVELTIME", format!("{}u", variant.traveltime))
            .with_const("INTERPOLATION", format!("{}u", variant.interpolation))
            .with_const("ANTIALIAS", format!("{}u", variant.antialias))
            .with_const("EXACT_WEIGHTS", variant.exact)
            .with_const("TRACE_PAIRS", self.options.trace_pairs)
            .with_const("ZERO_START", variant.zero_start)
            .with_const("WORK_ITEMS", variant.items != Items::Grid)
            .with_const("TRAVELTIME_TABLE", variant.table)
            .with_flag(PERSISTENT_FLAG, variant.items == Items::Persistent)
            .with_flag(SUBGROUPS_FLAG, self.subgroups);
        ABLATIONS.iter().fold(spec, |spec, (name, constant)| spec.with_const(constant, self.ablations.contains(name)))
    }

    /// The migration pipeline of `variant`, compiled on first use.
    fn pipeline(&self, variant: Variant) -> Result<wgpu::ComputePipeline, GpuError> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = cache.get(&variant) {
            return Ok(p.clone());
        }
        let source = compose_with(&GPU_V2, &self.specialisation(variant))?;
        let module = self.ctx.create_shader_module("pstm.gpu_v2", &source)?;
        let pipeline = self.ctx.scoped(&format!("{}: creating a pipeline", self.name()), || {
            Ok(self.ctx.compute_pipeline_with(
                "pstm.gpu_v2",
                &module,
                ENTRY_POINT,
                &self.layouts[variant.filtering as usize],
            ))
        })?;
        cache.insert(variant, pipeline.clone());
        Ok(pipeline)
    }

    fn trace_stride(&self, n_samples: usize) -> usize {
        if self.options.trace_pairs { pair_stride(n_samples) } else { n_samples }
    }

    /// gpu-v3's switches, `None` for gpu-v2.
    pub fn v3(&self) -> Option<&V3> {
        self.v3.as_ref()
    }

    /// The job's traveltime table, where gpu-v3's switch asks for one and the job allows it: a
    /// straight-ray traveltime and a velocity that varies with time only. The table holds the
    /// straight ray's legs only: a curved ray or VTI computes its legs as gpu-v2 does.
    fn traveltime_table(&self, statics: &Statics) -> Option<pstm_math::traveltime_table::TraveltimeTable> {
        if !self.v3.is_some_and(|v3| v3.traveltime_table) {
            return None;
        }
        let note = |text: &str| *self.table_note.lock().unwrap_or_else(|e| e.into_inner()) = text.to_string();
        let velocities = match (&statics.time_velocities, statics.operator.traveltime) {
            (Some(v), pstm_math::Traveltime::StraightRay) => v,
            (Some(_), pstm_math::Traveltime::CurvedRay | pstm_math::Traveltime::Vti) => {
                note("no traveltime table for a curved-ray or VTI traveltime (legs computed)");
                return None;
            }
            (None, _) => {
                note("no traveltime table under a laterally varying velocity (roots)");
                return None;
            }
        };
        let dt = statics.layout.dt_s;
        let half: Vec<f64> = (0..statics.time.nt).map(|i| (0.5 * statics.time.time(i) / dt).powi(2)).collect();
        let inv_v2: Vec<f64> = velocities.iter().map(|&v| (1.0 / (v as f64 * dt)).powi(2)).collect();
        let reach = TABLE_REACH * statics.operator.aperture.max_m;
        Some(pstm_math::traveltime_table::TraveltimeTable::build(
            &half,
            &inv_v2,
            reach,
            TABLE_TOLERANCE_SAMPLES,
            TABLE_MAX_DISTANCES,
        ))
    }
}

impl DeviceKernel for GpuV2Kernel {
    type Job = Job;

    fn name(&self) -> &'static str {
        if self.v3.is_some() { crate::gpu_v3::NAME } else { NAME }
    }

    fn skips_inactive_cells(&self) -> bool {
        self.v3.is_some()
    }

    fn describe(&self) -> Vec<String> {
        let velocity = self.velocity_path.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = self.options.host.describe(&velocity);
        out.push(format!("workgroups {} ({})", self.shape, self.shape_origin));
        let info = &self.ctx.summary().info;
        out.push(if self.subgroups {
            format!("subgroups of {}-{}", info.subgroup_min_size, info.subgroup_max_size)
        } else if self.options.subgroups {
            "no subgroups on this device".to_string()
        } else {
            "subgroups off".to_string()
        });
        if !self.options.trace_pairs {
            out.push("trace pairs off".into());
        }
        if let Some(v3) = &self.v3 {
            if v3.traveltime_table {
                let note = self.table_note.lock().unwrap_or_else(|e| e.into_inner()).clone();
                out.push(if note.is_empty() { "traveltime tables".to_string() } else { note });
            }
            out.push(if v3.persistent {
                format!("persistent grid of {} workgroups ({})", v3.workgroups, v3.workgroups_origin)
            } else {
                "persistent grid off".to_string()
            });
        }
        if !self.ablations.is_empty() {
            out.push(format!("ABLATED {} (for timing; the image is wrong)", self.ablations.join("+")));
        }
        out
    }

    fn device_cost_model(&self) -> pstm_kernel::CostModel {
        // Measured on an H200 (docs/PERFORMANCE.md): 1.28-1.31 ps per contribution on large and
        // `wide` (1.50 on medium, whose tiles are few); a visit outside the aperture costs one
        // trace test per workgroup of CHUNK times, not one per output sample; the rest as gpu-v1.
        pstm_kernel::CostModel {
            per_sample_visit_s: 0.05e-12,
            per_column_visit_s: 0.0,
            per_contribution_s: 1.3e-12,
            per_trace_sample_s: 0.1e-9,
            per_tile_s: 0.2e-3,
            per_block_s: 30e-6,
            min_tile_samples: 1 << 20,
            shares_host_cores: false,
        }
    }

    fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    fn host_options(&self) -> &GpuV1Options {
        &self.options.host
    }

    fn max_binding_bytes(&self) -> u64 {
        self.max_binding_bytes
    }

    fn stats(&self) -> &Mutex<PipelineStats> {
        &self.stats
    }

    fn velocity_path(&self) -> &Mutex<String> {
        &self.velocity_path
    }

    fn prepare_job(&self, statics: &Statics) -> Result<Job, KernelError> {
        if statics.layout.n_samples >= MAX_TRACE_SAMPLES {
            return Err(self.input_error(format!(
                "traces of {} samples: gpu-v2 takes fewer than {MAX_TRACE_SAMPLES} per trace; use gpu-v1",
                statics.layout.n_samples
            )));
        }
        let op: &ImagingOperator = &statics.operator;
        let table = self.traveltime_table(statics);
        let (interpolation, antialias) = reading(op);
        let variant = Variant {
            items: Items::Grid,
            table: table.is_some(),
            filtering: statics.filtering,
            dip: op.aperture.mode == ApertureMode::Dip,
            weight_half_power: weight_half_power(&op.weights),
            stretch: op.stretch_mute.is_some(),
            traveltime: crate::layout::traveltime_code(op),
            interpolation,
            antialias,
            exact: false,
            zero_start: statics.layout.t_start_s == 0.0,
        };
        let (exact_times, fast_times) = weight_time_ranges(&statics.time, &statics.layout, op);
        let compiled = |variant: Variant| self.pipeline(variant).map_err(|e| e.into_kernel_error(self.name()));
        let exact = if exact_times.is_empty() {
            None
        } else {
            Some(compiled(Variant { exact: true, table: false, ..variant })?)
        };
        let listed = match self.v3 {
            None => None,
            Some(v3) => {
                let items = if v3.persistent { Items::Persistent } else { Items::List };
                Some(compiled(Variant { items, ..variant })?)
            }
        };
        let table = table.map(|t| {
            let device = self.ctx.device();
            let init = |label: &str, contents: &[u8]| {
                wgpu::util::DeviceExt::create_buffer_init(
                    device,
                    &wgpu::util::BufferInitDescriptor {
                        label: Some(label),
                        contents,
                        usage: wgpu::BufferUsages::STORAGE,
                    },
                )
            };
            let pairs = init("pstm.gpu_v3.table", bytemuck::cast_slice(&t.pairs));
            let rows = init("pstm.gpu_v3.table_rows", bytemuck::cast_slice(&t.inv_spacing));
            *self.table_note.lock().unwrap_or_else(|e| e.into_inner()) = format!(
                "traveltime table {} x {} ({:.1} MiB, {} rows tabulated)",
                t.inv_spacing.len(),
                t.n_distances,
                t.bytes() as f64 / 1048576.0,
                t.tabulated_rows()
            );
            (pairs, rows, t.n_distances as u32)
        });
        let reads_pairs = interpolation == crate::layout::INTERPOLATION_LINEAR;
        Ok(Job { table, fast: compiled(variant)?, listed, exact, fast_times, exact_times, reads_pairs })
    }

    fn output_times(&self, times: &[f64], layout: &TraceLayout, cube: Option<&VelocityCube>) -> Vec<u8> {
        bytemuck::cast_slice(&times_v2(times, layout, cube)).to_vec()
    }

    fn tile_params_bytes(&self) -> usize {
        size_of::<TileParamsV2>()
    }

    fn tile_params(&self, job: &Job, statics: &Statics, n_columns: usize, items: Option<&TileItems>) -> Vec<u8> {
        let mut params = TileParamsV2::new(
            n_columns,
            &statics.time,
            &statics.layout,
            statics.source,
            statics.cube_shape,
            &statics.operator,
        );
        if let Some(items) = items {
            (params.n_items, params.n_active) = (items.n_items, items.n_active);
        }
        if let Some((_, _, n)) = &job.table {
            params.table_distances = *n;
        }
        params.law_stride = statics.law_stride;
        bytemuck::bytes_of(&params).to_vec()
    }

    fn before_pass(&self, encoder: &mut wgpu::CommandEncoder, tile: &TileSet, dispatch: &TileDispatch) {
        if self.v3.is_some_and(|v3| v3.persistent) && dispatch.items.is_some() {
            encoder.clear_buffer(&tile.queue, 0, None);
        }
    }

    fn tile_items_bytes(&self, columns: usize, nt: usize) -> u64 {
        match self.v3 {
            Some(_) => (columns * nt.div_ceil(self.shape.chunk() as usize) * 8) as u64,
            None => 0,
        }
    }

    fn tile_items(&self, job: &Job, n_columns: usize, active: Option<&TileCells>) -> Option<TileItems> {
        let v3 = self.v3?;
        if !v3.persistent && active.is_none() {
            // Every cell, one workgroup each: gpu-v2's dispatch does exactly that.
            return None;
        }
        Some(work_items(n_columns, job.fast_times, self.shape.chunk(), active))
    }

    fn block_params_bytes(&self) -> usize {
        size_of::<BlockParamsV2>()
    }

    fn block_params(&self, n_traces: usize, layout: &TraceLayout, accumulate: bool) -> Vec<u8> {
        let params = BlockParamsV2::new(n_traces, layout, self.trace_stride(layout.n_samples), accumulate);
        bytemuck::bytes_of(&params).to_vec()
    }

    fn derived_bytes_per_sample(&self) -> u64 {
        if self.options.trace_pairs { 8 } else { 0 }
    }

    fn bind_group(&self, job: &Job, statics: &Statics, tile: &TileSet, block: &BlockSet) -> wgpu::BindGroup {
        let resources = [
            tile.params.as_entire_binding(),
            block.params.as_entire_binding(),
            tile.columns.as_entire_binding(),
            statics.velocity.as_entire_binding(),
            wgpu::BindingResource::TextureView(&statics.texture),
            wgpu::BindingResource::Sampler(&statics.sampler),
            block.geometry_binding(),
            block.samples_binding(),
            block.derived.as_ref().unwrap_or(&self.unused_pairs).as_entire_binding(),
            tile.image.as_entire_binding(),
            tile.fold.as_entire_binding(),
            statics.times.as_entire_binding(),
            tile.items.as_entire_binding(),
            tile.queue.as_entire_binding(),
            job.table.as_ref().map_or(&self.unused_pairs, |t| &t.0).as_entire_binding(),
            job.table.as_ref().map_or(&self.unused_pairs, |t| &t.1).as_entire_binding(),
            statics.law.as_ref().unwrap_or(&tile.law).as_entire_binding(),
            statics.interp_table.as_entire_binding(),
        ];
        let layout = &self.layouts[statics.filtering as usize];
        shaders::bind_group(self.ctx.device(), "pstm.gpu_v2.bind_group", layout, &BINDINGS, resources)
    }

    fn dispatch(
        &self,
        job: &Job,
        statics: &Statics,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        block: &BlockSet,
        tile: &TileDispatch,
    ) {
        let (n_columns, n_traces) = (tile.n_columns, tile.n_traces);
        let max = self.max_workgroups_per_dimension;
        if let (Some(pairs), true) = (&block.derived, job.reads_pairs) {
            let pairs_group = block.derived_group.get_or_init(|| {
                let resources = [block.params.as_entire_binding(), block.samples_binding(), pairs.as_entire_binding()];
                let device = self.ctx.device();
                shaders::bind_group(
                    device,
                    "pstm.gpu_v2.pairs.bind_group",
                    &self.pairs_layout,
                    &PAIRS_BINDINGS,
                    resources,
                )
            });
            let n_pairs = (n_traces * pair_stride(statics.layout.n_samples)) as u32;
            let groups = n_pairs.div_ceil(PAIRS_WORKGROUP_SIZE);
            let gx = groups.min(max);
            pass.set_pipeline(&self.pairs_pipeline);
            pass.set_bind_group(0, pairs_group, &[]);
            pass.dispatch_workgroups(gx, groups.div_ceil(gx.max(1)), 1);
        }
        pass.set_bind_group(0, group, &[]);
        let chunk = self.shape.chunk();
        if let (Some(pipeline), false) = (&job.exact, job.exact_times.is_empty()) {
            pass.set_pipeline(pipeline);
            let [gx, gy, gz] = column_dispatch(n_columns as u32, job.exact_times.len() as u32, chunk, max);
            pass.dispatch_workgroups(gx, gy, gz);
        }
        if job.fast_times.is_empty() {
            return;
        }
        match (tile.item_count(), &job.listed, &self.v3) {
            (Some(0), _, _) => {}
            (Some(count), Some(listed), Some(v3)) => {
                if v3.persistent {
                    // The counter was zeroed before the pass ([`DeviceKernel::before_pass`]).
                    pass.set_pipeline(listed);
                    pass.dispatch_workgroups(count.min(v3.workgroups).min(max), 1, 1);
                } else {
                    pass.set_pipeline(listed);
                    let gx = count.min(max);
                    pass.dispatch_workgroups(gx, 1, count.div_ceil(gx));
                }
            }
            _ => {
                pass.set_pipeline(&job.fast);
                let [gx, gy, gz] = column_dispatch(n_columns as u32, job.fast_times.len() as u32, chunk, max);
                pass.dispatch_workgroups(gx, gy, gz);
            }
        }
    }
}

crate::host::migration_kernel_on_host!(GpuV2Kernel);

/// gpu-v3's work items of a tile of `n_columns` columns over the output times `fast`, in chunks
/// of `chunk` times: chunk after chunk, column after column within a chunk (the order gpu-v2's
/// dispatch goes, so workgroups running together share traces in cache); the items with an
/// active cell first, then the others flagged [`ITEM_SKIPPED`].
pub fn work_items(n_columns: usize, fast: TimeRange, chunk: u32, active: Option<&TileCells>) -> TileItems {
    let n_chunks = (fast.len() as u32).div_ceil(chunk);
    let mut kept = Vec::with_capacity(n_columns * n_chunks as usize);
    let mut skipped = Vec::new();
    for k in 0..n_chunks {
        let first = (fast.begin + k * chunk) as usize;
        let times = first..(first + chunk as usize).min(fast.end as usize);
        for c in 0..n_columns {
            match active {
                Some(cells) if !cells.any_active(c, times.clone()) => skipped.push([c as u32, k | ITEM_SKIPPED]),
                _ => kept.push([c as u32, k]),
            }
        }
    }
    let n_active = kept.len() as u32;
    kept.extend(skipped);
    TileItems { n_items: kept.len() as u32, n_active, bytes: bytemuck::cast_slice(&kept).to_vec() }
}

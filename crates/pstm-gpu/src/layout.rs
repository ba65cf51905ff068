//! What the host hands the device: parameter structs laid out as in WGSL, and the float32
//! inputs prepared from a [`TileTask`] and a [`TraceBlock`].
//!
//! The same preparation feeds the GPU kernel and its CPU twin, so a twin test checks it too.
//!
//! Precision: real coordinates are UTM-sized (x ~ 5e5 m, y ~ 6e6 m), where float32 resolves
//! only 0.06-0.5 m. Positions therefore go to the device relative to a local origin (the centre
//! of the tile's columns), subtracted in float64 on the host: at a few kilometres float32
//! resolves 0.25 mm, well inside the reference comparison's tolerances. Each trace goes as its
//! midpoint and half offset vector, the two quantities the formula uses (midpoint distance for
//! the aperture, midpoint -+ half offset for the legs), each rounded once.
//!
//! Struct layouts follow WGSL's uniform rules (a nested struct starts at a multiple of 16 bytes);
//! `tests/wgsl.rs` checks every size and field offset against naga's reflection.

use bytemuck::{Pod, Zeroable};
use pstm_kernel::{TileTask, TraceBlock};
use pstm_math::{ApertureMode, TaperKind, TraceGeometry};

/// `Imaging.aperture_mode`: the same radius at every time.
pub const APERTURE_FIXED: u32 = 0;
/// `Imaging.aperture_mode`: radius limited by the steepest dip.
pub const APERTURE_DIP: u32 = 1;
pub const TAPER_NONE: u32 = 0;
pub const TAPER_COSINE: u32 = 1;
pub const TAPER_LINEAR: u32 = 2;
pub const TAPER_GAUSSIAN: u32 = 3;

/// The imaging settings ([`pstm_math::ImagingOperator`]) in float32; WGSL `Imaging`
/// (`shaders/shared/weights.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct ImagingParams {
    /// [`APERTURE_FIXED`] or [`APERTURE_DIP`].
    pub aperture_mode: u32,
    /// [`TAPER_NONE`], [`TAPER_COSINE`], [`TAPER_LINEAR`] or [`TAPER_GAUSSIAN`].
    pub taper_kind: u32,
    /// 1: divide by `v t` (geometric spreading); 0: not.
    pub spreading: u32,
    /// 1: multiply by `t0 / t` (obliquity); 0: not.
    pub obliquity: u32,
    /// Largest aperture radius (m).
    pub aperture_max_m: f32,
    /// Smallest aperture radius in dip mode (m).
    pub aperture_min_m: f32,
    /// Tangent of the steepest dip imaged (dimensionless), computed in float64.
    pub tan_max_dip: f32,
    /// Outer fraction of the radius over which the taper falls, in [0, 1].
    pub taper_fraction: f32,
    /// The stretch mute's largest `t / t0`, above 1 ([`NO_STRETCH_MUTE`], 0: none).
    pub stretch_max: f32,
    /// 1: a 2D line's spreading, `1/sqrt(v t)`; 0: `1/(v t)`.
    pub line: u32,
    /// [`TRAVELTIME_STRAIGHT`], [`TRAVELTIME_CURVED`], [`TRAVELTIME_CURVED_V0`] or
    /// [`TRAVELTIME_VTI`] (`shaders/shared/traveltime.wgsl`).
    pub traveltime: u32,
    /// A curved ray's `c = |k| / 2` (1/s; the leg law is even in `c`); 0 otherwise.
    pub curve_c: f32,
    /// [`INTERPOLATION_LINEAR`], [`INTERPOLATION_CUBIC`] or [`INTERPOLATION_SINC8`]
    /// (`shaders/shared/reading.wgsl`).
    pub interpolation: u32,
    /// [`ANTIALIAS_NONE`], [`ANTIALIAS_TRIANGLE`] or [`ANTIALIAS_WEIGHT`].
    pub antialias: u32,
    pub pad0: u32,
    pub pad1: u32,
    /// The output grid's inline and crossline steps `(e1.x, e1.y, e2.x, e2.y)` (m), which the
    /// operator's dip is measured against ([`pstm_math::Antialiasing::steps`]).
    pub aa_steps: [f32; 4],
}

pub const INTERPOLATION_LINEAR: u32 = 0;
pub const INTERPOLATION_CUBIC: u32 = 1;
pub const INTERPOLATION_SINC8: u32 = 2;
pub const ANTIALIAS_NONE: u32 = 0;
pub const ANTIALIAS_TRIANGLE: u32 = 1;
pub const ANTIALIAS_WEIGHT: u32 = 2;

/// Phases of [`sinc8_table`].
pub const SINC8_PHASES: usize = 1024;

/// Sinc8's weights for the shaders' `interp_table` binding: [`SINC8_PHASES`] + 1 rows, fraction
/// `p / SINC8_PHASES` in row `p`, each row two `vec4`s (taps `i-3..=i` and `i+1..=i+4`),
/// computed in float64 ([`pstm_math::interp::weight_table`]). Read linearly between rows
/// (`shaders/shared/reading.wgsl`, `sinc8_row` and `table_lerp`), it is within 3e-6 of the formula.
pub fn sinc8_table() -> Vec<[f32; 4]> {
    pstm_math::interp::weight_table(pstm_math::Interpolation::Sinc8, SINC8_PHASES)
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect()
}

/// The shaders' `interp_table` binding for `operator`: [`sinc8_table`] where it interpolates with
/// sinc8, else one unused entry (a binding is never empty).
pub fn interp_table(operator: &pstm_math::ImagingOperator) -> Vec<[f32; 4]> {
    match operator.interpolation {
        pstm_math::Interpolation::Sinc8 => sinc8_table(),
        pstm_math::Interpolation::Linear | pstm_math::Interpolation::Cubic => vec![[0.0; 4]],
    }
}

/// `Imaging.traveltime`: the straight ray's double square root.
pub const TRAVELTIME_STRAIGHT: u32 = 0;
/// A curved ray whose `v0` comes from the RMS velocity at each output sample.
pub const TRAVELTIME_CURVED: u32 = 1;
/// A curved ray with a given `v0` (the velocity model is not used by the traveltime).
pub const TRAVELTIME_CURVED_V0: u32 = 2;
/// VTI (Alkhalifah-Tsvankin per leg) with the model's eta.
pub const TRAVELTIME_VTI: u32 = 3;

/// The `Imaging.traveltime` code of `operator`.
pub fn traveltime_code(operator: &pstm_math::ImagingOperator) -> u32 {
    match operator.traveltime {
        pstm_math::Traveltime::StraightRay => TRAVELTIME_STRAIGHT,
        pstm_math::Traveltime::CurvedRay => match operator.gradient {
            Some(pstm_math::Gradient { v0: Some(_), .. }) => TRAVELTIME_CURVED_V0,
            _ => TRAVELTIME_CURVED,
        },
        pstm_math::Traveltime::Vti => TRAVELTIME_VTI,
    }
}

/// The shaders' `law` binding: per output sample, what a leg law needs beyond `(t0/2)^2` and
/// `1/v^2`. A curved ray: `(fa, fb)` of [`pstm_math::Gradient::factors`] per output time (`fb`
/// in s^2/m^2 for a given `v0`); VTI: `(1 + 2 eta, 0)` per eta column (laid out as the tile's
/// velocities, `eta`) and output time; the straight ray: one unused entry. Computed in float64,
/// rounded once. A sample reads entry `c * law_stride + it` ([`law_stride`]).
pub fn leg_laws(operator: &pstm_math::ImagingOperator, times: &[f64], eta: &[f32]) -> Vec<[f32; 2]> {
    match (operator.traveltime, operator.gradient) {
        (pstm_math::Traveltime::CurvedRay, Some(g)) if !times.is_empty() => times
            .iter()
            .map(|&t0| {
                let (fa, fb) = g.factors(t0);
                [fa as f32, fb as f32]
            })
            .collect(),
        (pstm_math::Traveltime::Vti, _) if !eta.is_empty() => {
            eta.iter().map(|&e| [(1.0 + 2.0 * e as f64) as f32, 0.0]).collect()
        }
        _ => vec![[0.0, 0.0]],
    }
}

/// The stride between columns of [`leg_laws`]' entries: `nt` for VTI with one eta column per
/// output column, else 0 (one entry per output time, or none).
pub fn law_stride(operator: &pstm_math::ImagingOperator, eta_columns: usize, nt: usize) -> u32 {
    if operator.traveltime == pstm_math::Traveltime::Vti && eta_columns > 1 { nt as u32 } else { 0 }
}

/// `Imaging.stretch_max` without a stretch mute.
pub const NO_STRETCH_MUTE: f32 = 0.0;

impl ImagingParams {
    pub fn new(params: &pstm_math::ImagingOperator) -> Self {
        // `shared/traveltime.wgsl` has every traveltime and `shared/reading.wgsl` with the
        // kernels every interpolation; no wildcard, so a new type does not compile until the
        // shaders handle it. Every field
        // of the operator reaches the shaders through this struct, the `law` binding
        // ([`leg_laws`]) or the pre-filtered traces.
        match (params.traveltime, params.interpolation) {
            (
                pstm_math::Traveltime::StraightRay | pstm_math::Traveltime::CurvedRay | pstm_math::Traveltime::Vti,
                pstm_math::Interpolation::Linear | pstm_math::Interpolation::Cubic | pstm_math::Interpolation::Sinc8,
            ) => {}
        }
        let aperture = &params.aperture;
        Self {
            aperture_mode: match aperture.mode {
                ApertureMode::Fixed => APERTURE_FIXED,
                ApertureMode::Dip => APERTURE_DIP,
            },
            taper_kind: match params.taper.kind {
                TaperKind::None => TAPER_NONE,
                TaperKind::Cosine => TAPER_COSINE,
                TaperKind::Linear => TAPER_LINEAR,
                TaperKind::Gaussian => TAPER_GAUSSIAN,
            },
            spreading: params.weights.spreading as u32,
            obliquity: params.weights.obliquity as u32,
            aperture_max_m: aperture.max_m as f32,
            aperture_min_m: aperture.min_m as f32,
            tan_max_dip: aperture.max_dip_deg.to_radians().tan() as f32,
            taper_fraction: params.taper.fraction as f32,
            stretch_max: params.stretch_mute.map_or(NO_STRETCH_MUTE, |m| m as f32),
            line: params.weights.line as u32,
            traveltime: traveltime_code(params),
            curve_c: match (params.traveltime, params.gradient) {
                (pstm_math::Traveltime::CurvedRay, Some(g)) => (0.5 * g.k.abs()) as f32,
                _ => 0.0,
            },
            interpolation: match params.interpolation {
                pstm_math::Interpolation::Linear => INTERPOLATION_LINEAR,
                pstm_math::Interpolation::Cubic => INTERPOLATION_CUBIC,
                pstm_math::Interpolation::Sinc8 => INTERPOLATION_SINC8,
            },
            antialias: match params.antialiasing.method {
                pstm_math::AntialiasMethod::None => ANTIALIAS_NONE,
                pstm_math::AntialiasMethod::Triangle => ANTIALIAS_TRIANGLE,
                pstm_math::AntialiasMethod::Weight => ANTIALIAS_WEIGHT,
            },
            pad0: 0,
            pad1: 0,
            aa_steps: {
                let [e1, e2] = params.antialiasing.steps;
                [e1[0] as f32, e1[1] as f32, e2[0] as f32, e2[1] as f32]
            },
        }
    }
}

/// Per-tile parameters; WGSL `TileParams` (`shaders/gpu_v0.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct TileParams {
    /// Output columns in the tile.
    pub n_columns: u32,
    /// Output time samples per column.
    pub nt: u32,
    /// Velocity columns: 1 (laterally invariant) or `n_columns`.
    pub velocity_columns: u32,
    /// Entries of the `law` binding between columns ([`law_stride`]).
    pub law_stride: u32,
    /// Output times come per sample from the `times` binding ([`block_times`]).
    pub imaging: ImagingParams,
}

/// Per-tile parameters of `gpu-v1`; WGSL `TileParamsV1` (`shaders/gpu_v1.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct TileParamsV1 {
    pub n_columns: u32,
    pub nt: u32,
    /// One of the `VELOCITY_*` sources of `shaders/shared/velocity.wgsl` ([`VelocitySource`]).
    pub velocity_source: u32,
    /// Entries of the `law` binding between columns ([`law_stride`]).
    pub law_stride: u32,
    /// Samples of the velocity cube along x, y and time (1 when there is no cube).
    pub cube_nx: u32,
    pub cube_ny: u32,
    pub cube_nt: u32,
    pub pad1: u32,
    pub imaging: ImagingParams,
}

impl TileParamsV1 {
    /// A tile of `n_columns` columns of `nt` times, velocities from `source` (a cube of
    /// `cube_shape` = `[nx, ny, nt]` samples, `[1, 1, 1]` without one).
    pub fn new(
        n_columns: usize,
        nt: usize,
        source: VelocitySource,
        cube_shape: [u32; 3],
        operator: &pstm_math::ImagingOperator,
    ) -> Self {
        Self {
            n_columns: n_columns as u32,
            nt: nt as u32,
            velocity_source: source as u32,
            law_stride: 0,
            cube_nx: cube_shape[0],
            cube_ny: cube_shape[1],
            cube_nt: cube_shape[2],
            pad1: 0,
            imaging: ImagingParams::new(operator),
        }
    }
}

/// Where `gpu-v1` finds the velocity of an output sample: WGSL `VELOCITY_*`
/// (`shaders/shared/velocity.wgsl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum VelocitySource {
    /// V(t) at the output times (a laterally invariant model): one value per time.
    Time = 0,
    /// One value per output sample (the per-tile protocol's velocities).
    Columns = 1,
    /// The cube in a storage buffer, interpolated in the shader.
    CubeBuffer = 2,
    /// The cube in a 3D texture read texel by texel, interpolated in the shader.
    CubeTexture = 3,
    /// The cube in a 3D texture interpolated by the sampler's trilinear filter.
    CubeSampled = 4,
}

/// An output column of `gpu-v1`; WGSL `Column`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct ColumnV1 {
    /// Relative to the tile's local origin (m).
    pub position: [f32; 2],
    /// Fractions along the velocity cube's x and y within `cell`.
    pub fraction: [f32; 2],
    /// Lower corner of the column's cell in the velocity cube.
    pub cell: [u32; 2],
    pub pad: [u32; 2],
}

/// An output time of `gpu-v1`; WGSL `OutputTime`. The first four fields are gpu-v0's `times`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct OutputTimeV1 {
    pub t0: f32,
    pub half_t0: f32,
    pub base_frac: f32,
    pub base_index: f32,
    /// Lower index and fraction along the velocity cube's time axis.
    pub cell: u32,
    pub fraction: f32,
    pub pad0: u32,
    pub pad1: u32,
}

/// `gpu-v1`'s columns of a tile: positions relative to `origin`, and each column's cell in
/// `cube` (zeros without one), the cell found in float64.
pub fn columns_v1(
    columns: &[[f64; 2]],
    origin: [f64; 2],
    cube: Option<&pstm_math::velocity::VelocityCube>,
) -> Vec<ColumnV1> {
    columns
        .iter()
        .map(|&[x, y]| {
            let (cell, fraction) = cube.map_or(([0, 0], [0.0, 0.0]), |c| c.lateral_cell(x, y));
            ColumnV1 {
                position: [(x - origin[0]) as f32, (y - origin[1]) as f32],
                fraction: [fraction[0] as f32, fraction[1] as f32],
                cell: [cell[0] as u32, cell[1] as u32],
                pad: [0, 0],
            }
        })
        .collect()
}

/// `gpu-v1`'s output times for traces of `layout` ([`block_times`] per job, not per block),
/// with each time's cell along `cube`'s time axis.
pub fn times_v1(
    times: &[f64],
    layout: &pstm_kernel::TraceLayout,
    cube: Option<&pstm_math::velocity::VelocityCube>,
) -> Vec<OutputTimeV1> {
    times
        .iter()
        .map(|&t0| {
            let u = (t0 - layout.t_start_s) / layout.dt_s;
            let base = u.floor();
            let (cell, fraction) = cube.map_or((0, 0.0), |c| c.time_cell(t0));
            OutputTimeV1 {
                t0: t0 as f32,
                half_t0: (0.5 * t0) as f32,
                base_frac: (u - base) as f32,
                base_index: base as f32,
                cell: cell as u32,
                fraction: fraction as f32,
                pad0: 0,
                pad1: 0,
            }
        })
        .collect()
}

/// Output times `[begin, end)` of one gpu-v2 dispatch; WGSL `TimeRange`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable, Default)]
pub struct TimeRange {
    pub begin: u32,
    pub end: u32,
    pub pad0: u32,
    pub pad1: u32,
}

impl TimeRange {
    pub fn new(begin: usize, end: usize) -> Self {
        Self { begin: begin as u32, end: end as u32, pad0: 0, pad1: 0 }
    }

    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.begin) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Per-tile parameters of `gpu-v2`; WGSL `TileParamsV2` (`shaders/gpu_v2.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct TileParamsV2 {
    pub n_columns: u32,
    pub nt: u32,
    /// As [`TileParamsV1::velocity_source`].
    pub velocity_source: u32,
    /// gpu-v3: work items of the tile, all of them (the first block) and those migrated.
    pub n_items: u32,
    pub cube_nx: u32,
    pub cube_ny: u32,
    pub cube_nt: u32,
    /// Entries of the `law` binding between columns ([`law_stride`]).
    pub law_stride: u32,
    pub imaging: ImagingParams,
    /// Output times migrated with the fast weights ([`weight_time_ranges`]).
    pub fast: TimeRange,
    /// Output times below half a trace sample, migrated with the exact weights.
    pub exact: TimeRange,
    /// The first output time and the output time step, in trace samples.
    pub first_time_samples: f32,
    pub time_step_samples: f32,
    pub n_active: u32,
    /// gpu-v3: entries per row of the traveltime table.
    pub table_distances: u32,
}

impl TileParamsV2 {
    /// A tile of `n_columns` columns on the output axis `time`, traces of `layout`, velocities
    /// from `source` (a cube of `cube_shape`, `[1, 1, 1]` without one).
    pub fn new(
        n_columns: usize,
        time: &pstm_math::TimeAxis,
        layout: &pstm_kernel::TraceLayout,
        source: VelocitySource,
        cube_shape: [u32; 3],
        operator: &pstm_math::ImagingOperator,
    ) -> Self {
        let (exact, fast) = weight_time_ranges(time, layout, operator);
        Self {
            n_columns: n_columns as u32,
            nt: time.nt as u32,
            velocity_source: source as u32,
            n_items: 0,
            cube_nx: cube_shape[0],
            cube_ny: cube_shape[1],
            cube_nt: cube_shape[2],
            law_stride: 0,
            imaging: ImagingParams::new(operator),
            fast,
            exact,
            first_time_samples: (time.t0_s / layout.dt_s) as f32,
            time_step_samples: (time.dt_s / layout.dt_s) as f32,
            n_active: 0,
            table_distances: 0,
        }
    }
}

/// The output times gpu-v2 migrates with its exact weights, and those with its fast ones.
///
/// The fast form sums amplitude * (1/t)^p and multiplies by the numerator once; it equals the
/// weights' definition wherever their clamps cannot bind: spreading's `max(t, dt/2)` and
/// obliquity's `t > 0`. Every traveltime of an output time t0 is at least t0, so both hold when
/// t0 >= dt/2; the times below (with a margin for float32 rounding) take the exact form. Without
/// weights every time is fast.
pub fn weight_time_ranges(
    time: &pstm_math::TimeAxis,
    layout: &pstm_kernel::TraceLayout,
    operator: &pstm_math::ImagingOperator,
) -> (TimeRange, TimeRange) {
    let weighted = operator.weights.spreading || operator.weights.obliquity;
    let exact = if weighted {
        (0..time.nt).take_while(|&it| time.time(it) < 0.5 * layout.dt_s * (1.0 + 1e-4)).count()
    } else {
        0
    };
    (TimeRange::new(0, exact), TimeRange::new(exact, time.nt))
}

/// Per-dispatch parameters of one gpu-v2 block; WGSL `BlockParamsV2`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct BlockParamsV2 {
    pub n_traces: u32,
    pub n_samples: u32,
    pub accumulate: u32,
    /// Elements of the pairs (or samples) binding per trace ([`pair_stride`]).
    pub trace_stride: u32,
    /// `n_samples - 1`.
    pub last_index: u32,
    pub pad0: u32,
    pub pad1: u32,
    pub pad2: u32,
    pub trace_dt_s: f32,
    /// `1 / trace_dt_s`, computed in float64.
    pub inv_trace_dt: f32,
    /// `-t_start / dt`, computed in float64.
    pub position_offset: f32,
    pub pad3: f32,
}

impl BlockParamsV2 {
    /// A dispatch over `n_traces` traces of `layout`, stored `trace_stride` elements apart; the
    /// first of a tile writes (`accumulate` false), later ones add.
    pub fn new(n_traces: usize, layout: &pstm_kernel::TraceLayout, trace_stride: usize, accumulate: bool) -> Self {
        Self {
            n_traces: n_traces as u32,
            n_samples: layout.n_samples as u32,
            accumulate: accumulate as u32,
            trace_stride: trace_stride as u32,
            last_index: layout.n_samples.saturating_sub(1) as u32,
            pad0: 0,
            pad1: 0,
            pad2: 0,
            trace_dt_s: layout.dt_s as f32,
            inv_trace_dt: (1.0 / layout.dt_s) as f32,
            position_offset: (-layout.t_start_s / layout.dt_s) as f32,
            pad3: 0.0,
        }
    }
}

/// Pairs per trace of `n_samples` samples: one for each left point of an interpolation.
pub fn pair_stride(n_samples: usize) -> usize {
    n_samples.saturating_sub(1).max(1)
}

/// An output time of `gpu-v2`; WGSL `OutputTimeV2`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct OutputTimeV2 {
    pub t0: f32,
    /// `(t0 / (2 dt))^2` with `dt` the traces' sample interval, computed in float64.
    pub half_t0_sq: f32,
    /// Lower index and fraction along the velocity cube's time axis.
    pub cell: u32,
    pub fraction: f32,
}

/// `gpu-v2`'s output times for traces of `layout`, with each time's cell along `cube`'s time
/// axis.
pub fn times_v2(
    times: &[f64],
    layout: &pstm_kernel::TraceLayout,
    cube: Option<&pstm_math::velocity::VelocityCube>,
) -> Vec<OutputTimeV2> {
    times
        .iter()
        .map(|&t0| {
            let half = 0.5 * t0 / layout.dt_s;
            let (cell, fraction) = cube.map_or((0, 0.0), |c| c.time_cell(t0));
            OutputTimeV2 {
                t0: t0 as f32,
                half_t0_sq: (half * half) as f32,
                cell: cell as u32,
                fraction: fraction as f32,
            }
        })
        .collect()
}

/// Per-dispatch parameters of one block of traces; WGSL `BlockParams` (`shaders/gpu_v0.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable)]
pub struct BlockParams {
    pub n_traces: u32,
    /// Samples per trace.
    pub n_samples: u32,
    /// 0: this dispatch writes every output sample (the tile's first); 1: it adds.
    pub accumulate: u32,
    pub pad0: u32,
    /// Trace sample interval (s); the first sample's time is folded into [`block_times`].
    pub trace_dt_s: f32,
    /// `1 / trace_dt_s` (1/s), computed in float64.
    pub inv_trace_dt: f32,
    pub pad1: f32,
    pub pad2: f32,
}

/// A tile's float32 inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct TileInputs {
    pub params: TileParams,
    /// Local origin (world m) that `columns` and block geometry are relative to.
    pub origin: [f64; 2],
    /// Column positions relative to `origin` (m).
    pub columns: Vec<[f32; 2]>,
    /// Output times (s), one per time sample, in float64 (the float32 the device sees is taken
    /// from these).
    pub times: Vec<f64>,
    /// The `law` binding ([`leg_laws`]).
    pub law: Vec<[f32; 2]>,
}

/// Why a tile cannot be prepared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayoutError {
    #[error("tile velocity has {got_columns} columns of {got_nt} times; the tile has {columns} columns of {nt} times")]
    VelocityShape { got_columns: usize, got_nt: usize, columns: usize, nt: usize },
    #[error("tile of {columns} columns x {nt} times does not fit 32-bit sample indices")]
    TooLarge { columns: usize, nt: usize },
}

impl TileInputs {
    pub fn new(task: &TileTask<'_>) -> Result<Self, LayoutError> {
        let n_columns = task.columns.len();
        let nt = task.time.nt;
        let vel = task.velocity;
        check_tile_velocity(task)?;
        if n_columns.checked_mul(nt).is_none_or(|n| n > u32::MAX as usize) {
            return Err(LayoutError::TooLarge { columns: n_columns, nt });
        }
        let origin = local_origin(task.columns);
        let columns = task.columns.iter().map(|&[x, y]| [(x - origin[0]) as f32, (y - origin[1]) as f32]).collect();
        let params = TileParams {
            n_columns: n_columns as u32,
            nt: nt as u32,
            velocity_columns: vel.n_columns as u32,
            law_stride: law_stride(task.operator, vel.n_columns, nt),
            imaging: ImagingParams::new(task.operator),
        };
        let times: Vec<f64> = (0..nt).map(|it| task.time.time(it)).collect();
        let law = leg_laws(task.operator, &times, &vel.eta);
        Ok(Self { params, origin, columns, times, law })
    }
}

/// The task's velocities hold one column (laterally invariant) or one per column, each of the
/// tile's output times.
pub fn check_tile_velocity(task: &TileTask<'_>) -> Result<(), LayoutError> {
    let (n_columns, nt, vel) = (task.columns.len(), task.time.nt, task.velocity);
    let ok = vel.nt == nt
        && (vel.n_columns == 1 || vel.n_columns == n_columns)
        && vel.values.len() == vel.n_columns * vel.nt
        && (vel.eta.is_empty() || vel.eta.len() == vel.values.len());
    if ok {
        Ok(())
    } else {
        Err(LayoutError::VelocityShape { got_columns: vel.n_columns, got_nt: vel.nt, columns: n_columns, nt })
    }
}

/// Per output time, WGSL `times: array<vec4<f32>>`: `(t0, t0/2, base_frac, base_index)` where
/// `base_index + base_frac` is the position of `t0` in `block`'s traces, computed in float64 from
/// the exact time, so that the kernel adds only the (smaller) moveout in float32.
pub fn block_times(times: &[f64], block: &TraceBlock) -> Vec<[f32; 4]> {
    times
        .iter()
        .map(|&t0| {
            let u = (t0 - block.t_start_s) / block.dt_s;
            let base = u.floor();
            [t0 as f32, (0.5 * t0) as f32, (u - base) as f32, base as f32]
        })
        .collect()
}

/// Centre of the columns' bounding box: keeps relative coordinates small in every direction.
pub fn local_origin(columns: &[[f64; 2]]) -> [f64; 2] {
    if columns.is_empty() {
        return [0.0, 0.0];
    }
    let (mut lo, mut hi) = (columns[0], columns[0]);
    for &[x, y] in columns {
        lo = [lo[0].min(x), lo[1].min(y)];
        hi = [hi[0].max(x), hi[1].max(y)];
    }
    [0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1])]
}

/// Per trace: midpoint relative to `origin` and half offset vector (receiver minus midpoint),
/// both in metres, as WGSL `geometry: array<vec4<f32>>`.
pub fn block_geometry(geometry: &[TraceGeometry], origin: [f64; 2]) -> Vec<[f32; 4]> {
    geometry.iter().map(|g| trace_geometry(g, origin)).collect()
}

/// One trace of [`block_geometry`].
pub fn trace_geometry(g: &TraceGeometry, origin: [f64; 2]) -> [f32; 4] {
    let (mx, my) = g.midpoint();
    [(mx - origin[0]) as f32, (my - origin[1]) as f32, (0.5 * (g.rx - g.sx)) as f32, (0.5 * (g.ry - g.sy)) as f32]
}

/// Parameters of a dispatch over `n_traces` traces of `block`.
pub fn block_params(block: &TraceBlock, n_traces: usize, accumulate: bool) -> BlockParams {
    BlockParams::new(n_traces, block.n_samples, block.dt_s, accumulate)
}

impl BlockParams {
    /// A dispatch over `n_traces` traces of `n_samples` samples every `dt_s` seconds; the first
    /// of a tile writes (`accumulate` false), later ones add.
    pub fn new(n_traces: usize, n_samples: usize, dt_s: f64, accumulate: bool) -> Self {
        Self {
            n_traces: n_traces as u32,
            n_samples: n_samples as u32,
            accumulate: accumulate as u32,
            pad0: 0,
            trace_dt_s: dt_s as f32,
            inv_trace_dt: (1.0 / dt_s) as f32,
            pad1: 0.0,
            pad2: 0.0,
        }
    }
}

/// Dispatch size for a tile: x over times, y (then z) over columns, each at most
/// `max_per_dimension` workgroups.
pub fn dispatch_size(n_columns: u32, nt: u32, workgroup_size: u32, max_per_dimension: u32) -> [u32; 3] {
    let groups_t = nt.div_ceil(workgroup_size);
    let groups_y = n_columns.min(max_per_dimension);
    let groups_z = if groups_y == 0 { 0 } else { n_columns.div_ceil(groups_y) };
    [groups_t, groups_y, groups_z]
}

/// Dispatch size for gpu-v2: x over columns (spilling into z), y over chunks of `chunk` times.
pub fn column_dispatch(n_columns: u32, nt: u32, chunk: u32, max_per_dimension: u32) -> [u32; 3] {
    let groups_x = n_columns.min(max_per_dimension);
    let groups_z = if groups_x == 0 { 0 } else { n_columns.div_ceil(groups_x) };
    [groups_x, nt.div_ceil(chunk), groups_z]
}

/// Most traces of `n_samples` samples one dispatch binds within `max_binding_bytes` (samples and
/// 16 bytes of geometry per trace).
pub fn max_block_traces(max_binding_bytes: u64, n_samples: usize) -> usize {
    let per_trace_bytes = (4 * n_samples.max(1)) as u64;
    (max_binding_bytes / per_trace_bytes).min(max_binding_bytes / 16).max(1) as usize
}

/// Most output samples of a tile whose image and fold (4 bytes each per sample) bind within
/// `max_binding_bytes` and index with 32 bits.
pub fn max_tile_samples(max_binding_bytes: u64) -> usize {
    (max_binding_bytes / 4).min(u32::MAX as u64) as usize
}

/// Why `block` cannot go to the device: samples that do not match its traces, or one trace
/// larger than a binding.
pub fn check_block(block: &TraceBlock, max_binding_bytes: u64) -> Result<(), String> {
    if block.samples.len() != block.n_traces() * block.n_samples {
        return Err(format!(
            "block holds {} samples for {} traces of {} samples",
            block.samples.len(),
            block.n_traces(),
            block.n_samples
        ));
    }
    if (4 * block.n_samples) as u64 > max_binding_bytes {
        return Err(format!(
            "one trace of {} samples exceeds the device's largest binding ({max_binding_bytes} bytes)",
            block.n_samples
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_follow_wgsl_uniform_rules() {
        assert_eq!(std::mem::size_of::<ImagingParams>(), 80);
        assert_eq!(std::mem::offset_of!(TileParams, imaging) % 16, 0);
        assert_eq!(std::mem::size_of::<TileParams>() % 16, 0);
        assert_eq!(std::mem::size_of::<BlockParams>() % 16, 0);
        assert_eq!(std::mem::offset_of!(TileParamsV2, imaging) % 16, 0);
        assert_eq!(std::mem::offset_of!(TileParamsV2, fast) % 16, 0);
        assert_eq!(std::mem::size_of::<TileParamsV2>() % 16, 0);
        assert_eq!(std::mem::size_of::<BlockParamsV2>() % 16, 0);
    }

    #[test]
    fn utm_positions_keep_sub_millimetre_precision() {
        let columns = [[512_345.678, 6_123_456.789], [514_345.678, 6_125_456.789]];
        let origin = local_origin(&columns);
        let g = TraceGeometry::from_midpoint(513_000.123, 6_124_000.456, 1234.5, 37.0);
        let [mx, my, hx, hy] = block_geometry(&[g], origin)[0];
        let (wx, wy) = g.midpoint();
        assert!(((mx as f64 + origin[0]) - wx).abs() < 1e-3);
        assert!(((my as f64 + origin[1]) - wy).abs() < 1e-3);
        assert!(((hx as f64).hypot(hy as f64) * 2.0 - 1234.5).abs() < 1e-3);
    }

    #[test]
    fn dispatch_spills_columns_into_z() {
        assert_eq!(dispatch_size(10, 100, 64, 65535), [2, 10, 1]);
        assert_eq!(dispatch_size(70_000, 1, 64, 65535), [1, 65535, 2]);
        assert_eq!(dispatch_size(0, 100, 64, 65535), [2, 0, 0]);
    }
}

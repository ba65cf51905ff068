//! The migration job file.

use std::path::{Path, PathBuf};

use pstm_math::{AmplitudeWeights, Aperture, ApertureMode, ImagingOperator, Prefilter, Taper, TaperKind, VelocityType};
pub use pstm_math::{AntialiasMethod, Interpolation, Traveltime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Validate;
use crate::check::{at_least, join, positive, range};
use crate::error::ConfigError;

/// Largest velocity accepted anywhere (m/s): faster than any rock.
pub const MAX_VELOCITY: f64 = 20_000.0;
/// Largest distance accepted for apertures and grids (m).
pub const MAX_DISTANCE: f64 = 1.0e6;
/// `execution.gpu.workgroup_size` and `samples_per_invocation` gpu-v2 has (the registry's tests
/// hold them equal to the kernel's own lists).
pub const GPU_WORKGROUP_SIZES: [u32; 4] = [64, 128, 256, 512];
pub const GPU_SAMPLES_PER_INVOCATION: [u32; 4] = [1, 2, 4, 8];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    pub input: InputConfig,
    pub velocity: VelocityConfig,
    #[serde(default)]
    pub algorithm: AlgorithmConfig,
    pub output: OutputConfig,
    #[serde(default)]
    pub execution: ExecutionConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// Dataset directory (traces.zarr + headers.parquet).
    pub dataset: PathBuf,
    /// Keep only traces whose offset lies in [min, max] metres.
    #[serde(default)]
    pub offset_range_m: Option<[f64; 2]>,
    /// A trace with a NaN or infinite sample: `error` (stop, naming the trace and the sample) or
    /// `zero_trace` (leave it out of the migration and the fold, as a dead trace).
    #[serde(default, skip_serializing_if = "BadSamples::is_error")]
    pub bad_samples: BadSamples,
    /// Traces to leave out: a CSV file with a `trace_idx` column, or `ffid` and `channel` columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill: Option<PathBuf>,
    /// Only these traces (a CSV file like `kill`'s); the other selections still apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces: Option<PathBuf>,
    /// Keep traces whose source-to-receiver azimuth (degrees clockwise from north, in [0, 360))
    /// falls in any sector `[from, to)`; a sector may wrap through north (`[330, 30]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azimuth_sectors_deg: Option<Vec<[f64; 2]>>,
    /// Keep traces whose offset vector (receiver minus source, m: x east, y north) falls in the
    /// window: an offset-vector tile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_vector_window_m: Option<OffsetVectorWindow>,
    /// Mutes applied to every trace before migration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<MuteConfig>,
    /// A datum static from the headers' source and receiver elevations, applied before the mutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datum: Option<DatumConfig>,
}

/// `input.offset_vector_window_m`: `[min, max)` of each offset-vector component.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffsetVectorWindow {
    pub x: [f64; 2],
    pub y: [f64; 2],
}

/// `input.mute`: `[offset_m, time_ms]` picks, interpolated linearly in offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteConfig {
    /// Zero what comes before (direct arrival, refractions, ground roll above it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<Vec<[f64; 2]>>,
    /// Zero what comes after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottom: Option<Vec<[f64; 2]>>,
    /// Cosine ramp from the mute into the kept part (ms).
    #[serde(default = "default_mute_taper_ms")]
    pub taper_ms: f64,
}

fn default_mute_taper_ms() -> f64 {
    20.0
}

/// `input.datum`: a flat datum and the velocity of the layer replaced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatumConfig {
    pub elevation_m: f64,
    pub replacement_velocity: f64,
}

/// `input.bad_samples`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BadSamples {
    #[default]
    Error,
    ZeroTrace,
}

impl BadSamples {
    fn is_error(&self) -> bool {
        *self == BadSamples::Error
    }
}

impl MuteConfig {
    pub fn mute(&self) -> pstm_math::conditioning::Mute {
        use pstm_math::conditioning::MuteCurve;
        pstm_math::conditioning::Mute {
            top: self.top.as_deref().and_then(MuteCurve::new),
            bottom: self.bottom.as_deref().and_then(MuteCurve::new),
            taper_s: self.taper_ms * 1e-3,
        }
    }
}

/// Exactly one of `constant`, `linear`, `table`, `cube`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VelocityConfig {
    /// `rms` or `interval` (converted to RMS by Dix's equation).
    #[serde(default, rename = "type")]
    pub kind: VelocityType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearVelocity>,
    /// Picks `[t_ms, v]`, two-way time in milliseconds, velocity in m/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Vec<[f64; 2]>>,
    /// A velocity cube: zarr (x, y, t) with axis attributes, or a 3D SEG-Y (`.sgy`, `.segy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cube: Option<PathBuf>,
    /// Header byte locations of a SEG-Y cube that differ from the standard, `key=byte,...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segy_map: Option<String>,
    /// The anellipticity of `algorithm.traveltime: vti` (the velocity is then the NMO velocity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<EtaConfig>,
}

/// `velocity.eta`: exactly one of `constant`, `table`, `cube`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtaConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant: Option<f64>,
    /// Picks `[t_ms, eta]`, two-way time in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Vec<[f64; 2]>>,
    /// An eta cube: zarr (x, y, t) with axis attributes, or a 3D SEG-Y, as velocity cubes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cube: Option<PathBuf>,
    /// Header byte locations of a SEG-Y eta cube that differ from the standard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segy_map: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearVelocity {
    /// Velocity at time zero (m/s).
    pub v0: f64,
    /// Gradient (m/s per second of two-way time).
    pub k: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlgorithmConfig {
    /// `straight_ray`, `curved_ray` or `vti` (`velocity.eta` then required).
    pub traveltime: Traveltime,
    /// The curved ray's medium `V(z) = v0 + k z`: `k` (1/s) and optionally `v0` (m/s; absent:
    /// taken at each output sample from the RMS velocity). Absent: `k` fitted to the velocity
    /// function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curved_ray: Option<pstm_math::Gradient>,
    /// `linear`, `cubic` (Keys) or `sinc8` (Lanczos-windowed sinc, eight samples).
    pub interpolation: Interpolation,
    /// Operator antialiasing: `method: none | triangle | weight` (`pstm_math::antialias`).
    #[serde(skip_serializing_if = "AntialiasingConfig::is_none")]
    pub antialiasing: AntialiasingConfig,
    pub aperture: ApertureConfig,
    pub taper: TaperConfig,
    pub weights: WeightsConfig,
    /// `none`, `derivative` (3D: keeps reflectors zero phase) or `half_derivative` (2D);
    /// absent: `none` in 3D, `half_derivative` on a 2D line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefilter: Option<Prefilter>,
    /// `3d`, or `2d`: the survey is one line; the grid runs along it, traces are projected onto
    /// it, spreading is a line's (`1/sqrt(v t)`) and the pre-filter defaults to a half derivative.
    #[serde(skip_serializing_if = "SurveyMode::is_3d")]
    pub mode: SurveyMode,
    /// Drop contributions stretched past `max_stretch` (traveltime over `t0`) or emerging steeper
    /// than `max_angle_deg` (`arccos(t0/t)`); absent: none dropped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stretch_mute: Option<StretchMuteConfig>,
    /// Adaptive migration (roadmap 3.3): a coarse pass, then only the output cells whose
    /// amplitude matters. Off (absent) by default: it changes the image.
    pub adaptive: Option<AdaptiveConfig>,
    /// Adaptive time sampling (roadmap 3.3): migrate on a coarser time axis when the image's band
    /// allows, and interpolate back. Off (absent) by default: it changes the image slightly.
    pub adaptive_time: Option<AdaptiveTimeConfig>,
}

/// `algorithm.antialiasing`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AntialiasingConfig {
    /// `none`; `triangle`: Lumley-Claerbout-Bevc triangle filters whose length follows the
    /// operator's dip; `weight`: the reference package's scalar down-weight, for comparison.
    pub method: AntialiasMethod,
}

impl AntialiasingConfig {
    fn is_none(&self) -> bool {
        self.method == AntialiasMethod::None
    }
}

/// `algorithm.adaptive_time`: see `pstm_math::time_sampling`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveTimeConfig {
    /// The decimation of the output time axis; absent: the coarsest the image's band allows (as
    /// a pilot migration on a sparse grid measures it), up to `max_factor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub factor: Option<usize>,
    /// The coarsest decimation chosen from the image's band.
    pub max_factor: usize,
    /// The image's band ends where its mean amplitude spectrum stays this far below its peak (dB).
    pub level_db: f64,
}

impl Default for AdaptiveTimeConfig {
    fn default() -> Self {
        let s = pstm_math::time_sampling::TimeSamplingSettings::default();
        Self { factor: s.factor, max_factor: s.max_factor, level_db: s.level_db }
    }
}

impl AdaptiveTimeConfig {
    pub fn settings(&self) -> pstm_math::time_sampling::TimeSamplingSettings {
        pstm_math::time_sampling::TimeSamplingSettings {
            factor: self.factor,
            max_factor: self.max_factor,
            level_db: self.level_db,
        }
    }
}

/// `algorithm.adaptive`: see `pstm_math::adaptive`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveConfig {
    /// A cell is migrated when the coarse image reaches this fraction of its peak |amplitude|
    /// there (or near it).
    pub threshold: f64,
    /// Coarse columns (4 output columns each) the mask grows by in x and y.
    pub dilation: usize,
    /// Output times per mask cell.
    pub window: usize,
}

impl Default for AdaptiveConfig {
    fn default() -> Self {
        let s = pstm_math::adaptive::AdaptiveSettings::default();
        Self { threshold: s.threshold, dilation: s.dilation, window: s.window }
    }
}

impl AdaptiveConfig {
    pub fn settings(&self) -> pstm_math::adaptive::AdaptiveSettings {
        pstm_math::adaptive::AdaptiveSettings {
            threshold: self.threshold,
            dilation: self.dilation,
            window: self.window,
            ..Default::default()
        }
    }
}

impl AlgorithmConfig {
    /// The imaging operator this section describes: the one place where configuration becomes
    /// the value every kernel takes.
    pub fn operator(&self) -> ImagingOperator {
        let a = &self.aperture;
        ImagingOperator {
            traveltime: self.traveltime,
            interpolation: self.interpolation,
            // The grid's steps are the job's to fill in, once the grid is resolved.
            antialiasing: pstm_math::Antialiasing { method: self.antialiasing.method, steps: [[0.0; 2]; 2] },
            aperture: Aperture { mode: a.mode, max_m: a.max_m, min_m: a.min_m, max_dip_deg: a.max_dip_deg },
            taper: Taper { kind: self.taper.kind, fraction: self.taper.fraction },
            weights: AmplitudeWeights {
                spreading: self.weights.spreading,
                obliquity: self.weights.obliquity,
                line: self.mode == SurveyMode::TwoD,
            },
            prefilter: self.prefilter.unwrap_or(match self.mode {
                SurveyMode::ThreeD => Prefilter::None,
                SurveyMode::TwoD => Prefilter::HalfDerivative,
            }),
            stretch_mute: self.stretch_mute.and_then(|s| s.max_stretch()),
            // A curved ray without a given gradient gets the fitted one when the job is built.
            gradient: self.curved_ray.filter(|_| self.traveltime == Traveltime::CurvedRay),
        }
    }
}

/// `algorithm.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SurveyMode {
    #[default]
    #[serde(rename = "3d")]
    ThreeD,
    #[serde(rename = "2d")]
    TwoD,
}

impl SurveyMode {
    fn is_3d(&self) -> bool {
        *self == SurveyMode::ThreeD
    }
}

/// `algorithm.stretch_mute`: one of the two limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StretchMuteConfig {
    /// Largest traveltime over output time, above 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_stretch: Option<f64>,
    /// Largest emergence angle (degrees): `max_stretch = 1 / cos(angle)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_angle_deg: Option<f64>,
}

impl StretchMuteConfig {
    /// The limit on `t / t0`.
    pub fn max_stretch(&self) -> Option<f64> {
        self.max_stretch.or(self.max_angle_deg.map(|a| 1.0 / a.to_radians().cos()))
    }
}

impl Default for AlgorithmConfig {
    fn default() -> Self {
        Self {
            traveltime: Traveltime::StraightRay,
            curved_ray: None,
            interpolation: Interpolation::Linear,
            antialiasing: AntialiasingConfig::default(),
            aperture: ApertureConfig::default(),
            taper: TaperConfig::default(),
            weights: WeightsConfig::default(),
            prefilter: None,
            mode: SurveyMode::ThreeD,
            stretch_mute: None,
            adaptive: None,
            adaptive_time: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApertureConfig {
    /// `fixed` (max_m everywhere) or `dip` (clip(v t0/2 tan(max_dip), min_m, max_m)).
    pub mode: ApertureMode,
    pub max_m: f64,
    pub min_m: f64,
    pub max_dip_deg: f64,
}

impl Default for ApertureConfig {
    fn default() -> Self {
        Self { mode: ApertureMode::Fixed, max_m: 2000.0, min_m: 200.0, max_dip_deg: 60.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaperConfig {
    pub kind: TaperKind,
    /// Outer fraction of the aperture over which the weight falls.
    pub fraction: f64,
}

impl Default for TaperConfig {
    fn default() -> Self {
        Self { kind: TaperKind::Cosine, fraction: 0.1 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeightsConfig {
    /// 1/(v t) spreading compensation.
    pub spreading: bool,
    /// t0/t obliquity.
    pub obliquity: bool,
}

impl Default for WeightsConfig {
    fn default() -> Self {
        Self { spreading: true, obliquity: true }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Directory that receives migrated_stack.zarr, fold.zarr, ...
    pub directory: PathBuf,
    #[serde(default)]
    pub overwrite: bool,
    #[serde(default)]
    pub grid: GridConfig,
    /// Also write migrated_stack_normalized.zarr (stack / fold where fold > 0).
    #[serde(default)]
    pub normalized_stack: bool,
    /// Offset image gathers: one volume per offset bin.
    #[serde(default)]
    pub offset_gathers: Option<OffsetGathersConfig>,
    /// Also write the stack at several resolutions (roadmap 3.4).
    #[serde(default)]
    pub multiscale: Option<MultiscaleConfig>,
}

/// `output.multiscale`: migrated_stack_multiscale.zarr, levels 0 (the stack) to `levels - 1`,
/// level k the mean of 2^k x 2^k x 2^k blocks of samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MultiscaleConfig {
    pub levels: usize,
}

impl Default for MultiscaleConfig {
    fn default() -> Self {
        Self { levels: 3 }
    }
}

/// The output grid. Omitted values come from the data: origin and counts from the midpoints'
/// extent, times from the traces.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GridConfig {
    pub origin_x: Option<f64>,
    pub origin_y: Option<f64>,
    pub dx: Option<f64>,
    pub dy: Option<f64>,
    pub nx: Option<usize>,
    pub ny: Option<usize>,
    /// Counterclockwise from east (degrees).
    pub rotation_deg: f64,
    pub t_min_ms: Option<f64>,
    pub t_max_ms: Option<f64>,
    pub dt_ms: Option<f64>,
}

/// Either a bin width (bins from 0 to the largest offset) or explicit bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffsetGathersConfig {
    #[serde(default)]
    pub bin_width_m: Option<f64>,
    /// `[min, max)` offset ranges in metres.
    #[serde(default)]
    pub bins: Option<Vec<[f64; 2]>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutionConfig {
    /// `auto`, or a name from `pstm kernels`.
    pub kernel: String,
    /// Memory budget for tiles and trace blocks (GiB).
    pub max_memory_gb: f64,
    /// Worker threads for CPU kernels; 0 uses every core.
    pub threads: usize,
    /// Output tile in columns `[nx, ny]`; omitted: sized from the memory budget.
    pub tile: Option<[usize; 2]>,
    /// Traces per block; omitted: sized from the memory budget.
    pub trace_block: Option<usize>,
    pub gpu: GpuConfig,
    /// The GPUs a GPU kernel migrates on, each its own device (CPU kernels ignore it).
    pub devices: Devices,
    /// Show a progress bar.
    pub progress: bool,
    /// What to do when the device fails (an error, a lost device, memory that halving trace
    /// blocks does not free): `none` stops with an error; `cpu` migrates the remaining tiles on
    /// the `cpu` kernel.
    pub fallback: Fallback,
}

/// `execution.devices`: `all`, a count (`2`), or adapter indices as `pstm kernels` numbers them
/// (`[0, 2]`). Tiles are dealt to whichever device is free, so uneven GPUs share the work by
/// their speed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Devices {
    /// Every GPU of the best one's type: all discrete GPUs of a host, not an integrated one
    /// beside them.
    #[default]
    All,
    /// The first `n` adapters.
    Count(usize),
    /// These adapters; an index may repeat, opening a second device on one adapter.
    List(Vec<usize>),
}

impl Serialize for Devices {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Devices::All => s.serialize_str("all"),
            Devices::Count(n) => s.serialize_u64(*n as u64),
            Devices::List(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Devices {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        const EXPECTED: &str = "`all`, a number of GPUs (2), or a list of adapter indices ([0, 1])";
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Devices;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Devices, E> {
                match v {
                    "all" => Ok(Devices::All),
                    _ => Err(E::custom(format!("`{v}` is not {EXPECTED}"))),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Devices, E> {
                match v {
                    0 => Err(E::custom("0 devices: give at least 1, or `all`")),
                    n => Ok(Devices::Count(n as usize)),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Devices, E> {
                match u64::try_from(v) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("{v} devices: give at least 1, or `all`"))),
                }
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Devices, A::Error> {
                let mut list = Vec::new();
                while let Some(i) = seq.next_element::<usize>()? {
                    list.push(i);
                }
                if list.is_empty() {
                    return Err(serde::de::Error::custom(
                        "an empty list of devices: give at least one index, or `all`",
                    ));
                }
                Ok(Devices::List(list))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// `execution.fallback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    #[default]
    None,
    Cpu,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        Self {
            kernel: "auto".into(),
            max_memory_gb: 4.0,
            threads: 0,
            tile: None,
            trace_block: None,
            gpu: GpuConfig::default(),
            devices: Devices::All,
            progress: true,
            fallback: Fallback::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GpuConfig {
    /// Part of the adapter's name to pick one (see `pstm kernels`).
    pub adapter: Option<String>,
    /// Keep shader bounds checks on (slower; for debugging).
    pub runtime_checks: bool,
    /// gpu-v1 and later: reuse buffer sets across tiles (off: create them per tile and block).
    pub buffer_pool: bool,
    /// gpu-v1 and later: prepare the next block while the device migrates the current one.
    pub overlap: bool,
    /// gpu-v1 and later: how trace samples reach the device.
    pub upload: GpuUpload,
    /// gpu-v1 and later: where a velocity cube lives on the device.
    pub velocity: GpuVelocity,
    /// gpu-v1 and later: who interpolates a velocity texture.
    pub velocity_filter: GpuVelocityFilter,
    /// gpu-v1 and later: MiB of trace samples per block (default 64).
    pub block_mib: Option<f64>,
    /// gpu-v2: subgroup operations where the device has them (off: the plain path, same image).
    pub subgroups: bool,
    /// gpu-v2: trace samples read as (sample, difference) pairs, one load per contribution.
    pub trace_pairs: bool,
    /// gpu-v2: invocations per workgroup (64, 128, 256, 512; default: tuned per adapter).
    pub workgroup_size: Option<u32>,
    /// gpu-v2: output times per invocation (1, 2, 4, 8; default: tuned per adapter).
    pub samples_per_invocation: Option<u32>,
    /// gpu-v3: a persistent grid of workgroups claims (column, chunk) work items from a queue on
    /// the device (off, the default: one workgroup per item, measured faster on an H200). The
    /// same image either way.
    pub persistent: bool,
    /// gpu-v3: workgroups of the persistent grid (default: tuned per adapter).
    pub persistent_workgroups: Option<u32>,
    /// gpu-v3: legs' traveltimes read from a table per output time and distance instead of
    /// computed (a velocity that varies with time only; within 0.002 trace samples).
    pub traveltime_table: bool,
}

impl Default for GpuConfig {
    fn default() -> Self {
        Self {
            adapter: None,
            runtime_checks: false,
            buffer_pool: true,
            overlap: true,
            upload: GpuUpload::Auto,
            velocity: GpuVelocity::Auto,
            velocity_filter: GpuVelocityFilter::Auto,
            block_mib: None,
            subgroups: true,
            trace_pairs: true,
            workgroup_size: None,
            samples_per_invocation: None,
            persistent: false,
            persistent_workgroups: None,
            traveltime_table: false,
        }
    }
}

/// `execution.gpu.upload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GpuUpload {
    /// `mapped` on integrated GPUs (unified memory) that allow it, else `staging`.
    #[default]
    Auto,
    /// Into mapped staging memory, copied to device memory by the device.
    Staging,
    /// Into a host buffer that the driver copies again (for comparison).
    WriteBuffer,
    /// Into the device buffer itself (unified memory only).
    Mapped,
}

/// `execution.gpu.velocity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GpuVelocity {
    /// A 3D texture where the cube fits the device's textures, else a buffer.
    #[default]
    Auto,
    /// An R32Float 3D texture.
    Texture,
    /// An R16Float 3D texture (half the memory, about 2.4e-4 relative rounding).
    TextureF16,
    /// A storage buffer.
    Buffer,
}

/// `execution.gpu.velocity_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GpuVelocityFilter {
    /// `manual`.
    #[default]
    Auto,
    /// The sampler's trilinear filter (8-bit weights on common GPUs).
    Hardware,
    /// Eight texels interpolated in float32 in the shader.
    Manual,
}

impl GpuConfig {
    /// These settings with `key=value` overrides (`gpu-v1:overlap=off:velocity=buffer`): the keys
    /// of `execution.gpu`, booleans as on/off/true/false.
    pub fn with_overrides(&self, overrides: &[(&str, &str)]) -> Result<Self, String> {
        let mut value = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let map = value.as_object_mut().expect("a struct serialises to an object");
        for &(key, raw) in overrides {
            if !map.contains_key(key) {
                let keys: Vec<_> = map.keys().cloned().collect();
                return Err(format!("unknown execution.gpu key `{key}`; keys are {}", keys.join(", ")));
            }
            let parsed = match raw {
                "on" | "true" | "yes" => serde_json::Value::Bool(true),
                "off" | "false" | "no" => serde_json::Value::Bool(false),
                _ => match raw.parse::<u64>() {
                    Ok(n) => serde_json::Value::Number(n.into()),
                    Err(_) => raw
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map_or_else(|| serde_json::Value::String(raw.to_string()), serde_json::Value::Number),
                },
            };
            map.insert(key.to_string(), parsed);
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

impl JobConfig {
    /// Make relative paths relative to `base` (the config file's directory).
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut self.input.dataset);
        for list in [self.input.kill.as_mut(), self.input.traces.as_mut()].into_iter().flatten() {
            fix(list);
        }
        fix(&mut self.output.directory);
        if let Some(c) = self.velocity.cube.as_mut() {
            fix(c);
        }
        if let Some(c) = self.velocity.eta.as_mut().and_then(|e| e.cube.as_mut()) {
            fix(c);
        }
    }

    /// A short hash of what determines the image (input, velocity, algorithm, grid, gathers),
    /// stored with the outputs: runs that differ only in kernel, threads, memory or where they
    /// write share it.
    pub fn hash(&self) -> String {
        digest(&(&self.input, &self.velocity, &self.algorithm, &self.output.grid, &self.output.offset_gathers))
    }
}

/// A short, stable hash (16 hex digits of SHA-256) of a value's JSON form.
pub fn digest(value: &impl Serialize) -> String {
    let text = serde_json::to_string(value).expect("value serialises");
    Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl Validate for JobConfig {
    fn validate(&self, _: &str, errors: &mut Vec<ConfigError>) {
        self.input.validate("input", errors);
        self.velocity.validate("velocity", errors);
        self.algorithm.validate("algorithm", errors);
        self.output.validate("output", errors);
        self.execution.validate("execution", errors);
        // What one traveltime type needs and the others would silently ignore.
        let tt = self.algorithm.traveltime;
        if tt == Traveltime::Vti && self.velocity.eta.is_none() {
            errors.push(ConfigError::new(
                "velocity.eta",
                "algorithm.traveltime: vti needs eta (`constant`, `table` of [t_ms, eta] or `cube`)",
            ));
        }
        if tt != Traveltime::Vti && self.velocity.eta.is_some() {
            errors.push(ConfigError::new("velocity.eta", "is used only by algorithm.traveltime: vti"));
        }
        if self.algorithm.antialiasing.method == AntialiasMethod::Triangle
            && self.algorithm.interpolation != Interpolation::Linear
        {
            errors.push(ConfigError::new(
                "algorithm.interpolation",
                "antialiasing.method: triangle reads its doubly integrated traces linearly (its filter, at least one sample long, is the interpolation); use linear, or antialiasing none or weight",
            ));
        }
        if tt != Traveltime::CurvedRay && self.algorithm.curved_ray.is_some() {
            errors.push(ConfigError::new("algorithm.curved_ray", "is used only by algorithm.traveltime: curved_ray"));
        }
    }
}

impl Validate for InputConfig {
    fn validate(&self, path: &str, errors: &mut Vec<ConfigError>) {
        if self.dataset.as_os_str().is_empty() {
            errors.push(ConfigError::new(join(path, "dataset"), "must name a dataset directory"));
        }
        if let Some([lo, hi]) = self.offset_range_m {
            let p = join(path, "offset_range_m");
            range(errors, format!("{p}[0]"), lo, 0.0, false, MAX_DISTANCE, "m");
            if hi.is_nan() || hi <= lo {
                errors.push(ConfigError::new(p, format!("maximum {hi} must exceed minimum {lo}")));
            }
        }
        if let Some(sectors) = &self.azimuth_sectors_deg {
            let p = join(path, "azimuth_sectors_deg");
            if sectors.is_empty() {
                errors.push(ConfigError::new(p.clone(), "give at least one [from, to] sector"));
            }
            for (i, [a, b]) in sectors.iter().enumerate() {
                range(errors, format!("{p}[{i}][0]"), *a, 0.0, false, 360.0, "degrees");
                range(errors, format!("{p}[{i}][1]"), *b, 0.0, false, 360.0, "degrees");
            }
        }
        if let Some(w) = &self.offset_vector_window_m {
            for (axis, [lo, hi]) in [("x", w.x), ("y", w.y)] {
                let p = join(&join(path, "offset_vector_window_m"), axis);
                if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                    errors.push(ConfigError::new(p, format!("[{lo}, {hi}]: the maximum must exceed the minimum")));
                }
            }
        }
        if let Some(m) = &self.mute {
            let p = join(path, "mute");
            if m.top.is_none() && m.bottom.is_none() {
                errors.push(ConfigError::new(p.clone(), "give a top or a bottom mute ([offset_m, time_ms] picks)"));
            }
            for (key, picks) in [("top", &m.top), ("bottom", &m.bottom)] {
                if let Some(picks) = picks
                    && pstm_math::conditioning::MuteCurve::new(picks).is_none()
                {
                    errors.push(ConfigError::new(
                        join(&p, key),
                        "needs [offset_m, time_ms] picks with offsets strictly increasing",
                    ));
                }
            }
            range(errors, join(&p, "taper_ms"), m.taper_ms, 0.0, false, 1.0e5, "ms");
        }
        if let Some(d) = &self.datum {
            let p = join(path, "datum");
            range(errors, join(&p, "elevation_m"), d.elevation_m, -1.0e5, false, 1.0e5, "m");
            positive(errors, join(&p, "replacement_velocity"), d.replacement_velocity, 1.0e5, "m/s");
        }
    }
}

impl Validate for VelocityConfig {
    fn validate(&self, path: &str, errors: &mut Vec<ConfigError>) {
        exactly_one(
            errors,
            path,
            &[
                ("constant", self.constant.is_some()),
                ("linear", self.linear.is_some()),
                ("table", self.table.is_some()),
                ("cube", self.cube.is_some()),
            ],
        );
        if let Some(v) = self.constant {
            positive(errors, join(path, "constant"), v, MAX_VELOCITY, "m/s");
        }
        if let Some(l) = self.linear {
            positive(errors, join(path, "linear.v0"), l.v0, MAX_VELOCITY, "m/s");
            range(errors, join(path, "linear.k"), l.k, -MAX_VELOCITY, false, MAX_VELOCITY, "m/s per s");
        }
        if let Some(table) = &self.table {
            let p = join(path, "table");
            picks(errors, &p, table, "v", |errors, at, v| positive(errors, at, v, MAX_VELOCITY, "m/s"));
            if self.kind == VelocityType::Interval && table.len() == 1 {
                errors.push(ConfigError::new(
                    p,
                    "an interval-velocity table needs at least two picks to define an interval; \
                     for one velocity use `constant`",
                ));
            }
        }
        if let Some(c) = &self.cube
            && c.as_os_str().is_empty()
        {
            errors.push(ConfigError::new(join(path, "cube"), "must name a velocity cube (zarr or SEG-Y)"));
        }
        if self.segy_map.is_some() && self.cube.is_none() {
            errors.push(ConfigError::new(join(path, "segy_map"), "applies only to a SEG-Y `cube`"));
        }
        if let Some(eta) = &self.eta {
            let p = join(path, "eta");
            exactly_one(
                errors,
                &p,
                &[("constant", eta.constant.is_some()), ("table", eta.table.is_some()), ("cube", eta.cube.is_some())],
            );
            let (lo, hi) = pstm_math::velocity::ETA_RANGE;
            if let Some(e) = eta.constant {
                range(errors, join(&p, "constant"), e, lo, false, hi, "");
            }
            if let Some(table) = &eta.table {
                picks(errors, &join(&p, "table"), table, "eta", |errors, at, e| {
                    range(errors, at, e, lo, false, hi, "")
                });
            }
            if eta.segy_map.is_some() && eta.cube.is_none() {
                errors.push(ConfigError::new(join(&p, "segy_map"), "applies only to a SEG-Y `cube`"));
            }
        }
    }
}

/// Exactly one of `options` (key, given) is given.
fn exactly_one(errors: &mut Vec<ConfigError>, path: &str, options: &[(&str, bool)]) {
    let given: Vec<&str> = options.iter().filter(|(_, g)| *g).map(|(n, _)| *n).collect();
    if given.len() != 1 {
        let found = if given.is_empty() { "none".to_string() } else { given.join(", ") };
        let keys: Vec<String> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
        errors.push(ConfigError::new(path, format!("give exactly one of {} (found: {found})", keys.join(", "))));
    }
}

/// `[t_ms, value]` picks at `p`: at least one, times in range and strictly increasing, each value
/// checked by `value` (given the value's path).
fn picks(
    errors: &mut Vec<ConfigError>,
    p: &str,
    table: &[[f64; 2]],
    name: &str,
    value: impl Fn(&mut Vec<ConfigError>, String, f64),
) {
    if table.is_empty() {
        errors.push(ConfigError::new(p, format!("is empty: give [t_ms, {name}] picks")));
    }
    for (i, [t, v]) in table.iter().enumerate() {
        range(errors, format!("{p}[{i}][0]"), *t, 0.0, false, 1.0e6, "ms");
        value(errors, format!("{p}[{i}][1]"), *v);
        if i > 0 && t.is_finite() && *t <= table[i - 1][0] {
            errors.push(ConfigError::new(
                format!("{p}[{i}][0]"),
                format!("times must increase: {t} ms follows {} ms", table[i - 1][0]),
            ));
        }
    }
}

impl Validate for AlgorithmConfig {
    fn validate(&self, path: &str, errors: &mut Vec<ConfigError>) {
        let a = &self.aperture;
        let p = join(path, "aperture");
        positive(errors, join(&p, "max_m"), a.max_m, MAX_DISTANCE, "m");
        range(errors, join(&p, "min_m"), a.min_m, 0.0, false, a.max_m.max(0.0), "m (at most max_m)");
        range(errors, join(&p, "max_dip_deg"), a.max_dip_deg, 0.0, true, 89.9, "degrees");
        range(errors, join(path, "taper.fraction"), self.taper.fraction, 0.0, false, 1.0, "");
        if let Some(g) = &self.curved_ray {
            let p = join(path, "curved_ray");
            range(errors, join(&p, "k"), g.k, -2.0, false, 5.0, "1/s");
            if let Some(v0) = g.v0 {
                positive(errors, join(&p, "v0"), v0, MAX_VELOCITY, "m/s");
            }
        }
        if let Some(m) = &self.stretch_mute {
            let p = join(path, "stretch_mute");
            match (m.max_stretch, m.max_angle_deg) {
                (Some(s), None) => range(errors, join(&p, "max_stretch"), s, 1.0, true, 100.0, "(traveltime over t0)"),
                (None, Some(a)) => range(errors, join(&p, "max_angle_deg"), a, 0.0, true, 89.9, "degrees"),
                _ => errors.push(ConfigError::new(p, "give one of max_stretch or max_angle_deg")),
            }
        }
        if let Some(a) = &self.adaptive {
            let p = join(path, "adaptive");
            range(errors, join(&p, "threshold"), a.threshold, 0.0, false, 1.0, "of the coarse image's peak");
            if a.dilation > 64 {
                errors.push(ConfigError::new(
                    join(&p, "dilation"),
                    format!("{} is out of range: at most 64 coarse columns", a.dilation),
                ));
            }
            if !(1..=4096).contains(&a.window) {
                errors.push(ConfigError::new(
                    join(&p, "window"),
                    format!("{} is out of range: 1 to 4096 output times", a.window),
                ));
            }
        }
        if let Some(a) = &self.adaptive_time {
            a.validate(&join(path, "adaptive_time"), errors);
        }
    }
}

impl Validate for AdaptiveTimeConfig {
    fn validate(&self, path: &str, errors: &mut Vec<ConfigError>) {
        let max = pstm_math::time_sampling::MAX_FACTOR;
        for (key, value) in [("factor", self.factor), ("max_factor", Some(self.max_factor))] {
            if let Some(v) = value.filter(|v| !(1..=max).contains(v)) {
                errors.push(ConfigError::new(join(path, key), format!("{v} is out of range: 1 to {max}")));
            }
        }
        range(errors, join(path, "level_db"), self.level_db, -120.0, false, -10.0, "dB below the spectrum's peak");
    }
}

impl Validate for GridConfig {
    fn validate(&self, path: &str, errors: &mut Vec<ConfigError>) {
        for (key, v) in [("dx", self.dx), ("dy", self.dy)] {
            if let Some(v) = v {
                positive(errors, join(path, key), v, MAX_DISTANCE, "m");
            }
        }
        for (key, v) in [("origin_x", self.origin_x), ("origin_y", self.origin_y)] {
            if let Some(v) = v
                && !v.is_finite()
            {
                errors.push(ConfigError::new(join(path, key), format!("{v} is not a finite number")));
            }
        }
        for (key, v) in [("nx", self.nx), ("ny", self.ny)] {
            if let Some(n) = v {
                at_least(errors, join(path, key), n, 1);
            }
        }
        range(errors, join(path, "rotation_deg"), self.rotation_deg, -360.0, false, 360.0, "degrees");
        if let Some(dt) = self.dt_ms {
            positive(errors, join(path, "dt_ms"), dt, 1000.0, "ms");
        }
        if let Some(t) = self.t_min_ms {
            range(errors, join(path, "t_min_ms"), t, 0.0, false, 1.0e6, "ms");
        }
        if let (Some(lo), Some(hi)) = (self.t_min_ms, self.t_max_ms)
            && hi < lo
        {
            errors.push(ConfigError::new(join(path, "t_max_ms"), format!("{hi} ms is before t_min_ms = {lo} ms")));
        }
        if self.origin_x.is_some() != self.origin_y.is_some() {
            errors.push(ConfigError::new(join(path, "origin_x"), "give origin_x and origin_y together"));
        }
    }
}

impl Validate for OutputConfig {
    fn validate(&self, path: &str, errors: &mut Vec<ConfigError>) {
        if self.directory.as_os_str().is_empty() {
            errors.push(ConfigError::new(join(path, "directory"), "must name an output directory"));
        }
        self.grid.validate(&join(path, "grid"), errors);
        if let Some(m) = &self.multiscale
            && !(2..=6).contains(&m.levels)
        {
            errors.push(ConfigError::new(
                join(path, "multiscale.levels"),
                format!("{} is out of range: 2 to 6 levels (level 0 is the stack itself)", m.levels),
            ));
        }
        if let Some(g) = &self.offset_gathers {
            let p = join(path, "offset_gathers");
            match (g.bin_width_m, &g.bins) {
                (Some(w), None) => positive(errors, join(&p, "bin_width_m"), w, MAX_DISTANCE, "m"),
                (None, Some(bins)) => {
                    if bins.is_empty() {
                        errors.push(ConfigError::new(join(&p, "bins"), "is empty"));
                    }
                    for (i, [lo, hi]) in bins.iter().enumerate() {
                        range(errors, format!("{p}.bins[{i}][0]"), *lo, 0.0, false, MAX_DISTANCE, "m");
                        if hi.is_nan() || hi <= lo {
                            errors.push(ConfigError::new(
                                format!("{p}.bins[{i}]"),
                                format!("maximum {hi} must exceed minimum {lo}"),
                            ));
                        }
                    }
                }
                _ => errors.push(ConfigError::new(p, "give exactly one of `bin_width_m` or `bins`")),
            }
        }
    }
}

impl Validate for ExecutionConfig {
    fn validate(&self, path: &str, errors: &mut Vec<ConfigError>) {
        if self.kernel.trim().is_empty() {
            errors.push(ConfigError::new(join(path, "kernel"), "must be `auto` or a kernel name (see `pstm kernels`)"));
        }
        positive(errors, join(path, "max_memory_gb"), self.max_memory_gb, 1.0e6, "GiB");
        if self.threads > 4096 {
            errors.push(ConfigError::new(
                join(path, "threads"),
                format!("{} is out of range: must be in [0, 4096]", self.threads),
            ));
        }
        if let Some([nx, ny]) = self.tile {
            at_least(errors, join(path, "tile[0]"), nx, 1);
            at_least(errors, join(path, "tile[1]"), ny, 1);
        }
        if let Some(b) = self.trace_block {
            at_least(errors, join(path, "trace_block"), b, 1);
        }
        if let Some(mib) = self.gpu.block_mib {
            positive(errors, join(path, "gpu.block_mib"), mib, 1.0e6, "MiB");
        }
        let one_of = |errors: &mut Vec<ConfigError>, key: &str, value: Option<u32>, allowed: &[u32]| {
            if let Some(v) = value.filter(|v| !allowed.contains(v)) {
                errors.push(ConfigError::new(join(path, key), format!("{v} is not one of {allowed:?}")));
            }
        };
        one_of(errors, "gpu.workgroup_size", self.gpu.workgroup_size, &GPU_WORKGROUP_SIZES);
        one_of(errors, "gpu.samples_per_invocation", self.gpu.samples_per_invocation, &GPU_SAMPLES_PER_INVOCATION);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::from_yaml_str;

    const MINIMAL: &str = "input:\n  dataset: survey\nvelocity:\n  constant: 2500\noutput:\n  directory: out\n";

    #[test]
    fn gpu_overrides_parse_keys_and_refuse_unknown_ones() {
        let base = GpuConfig::default();
        let o = base.with_overrides(&[("overlap", "off"), ("velocity", "texture_f16"), ("block_mib", "16")]).unwrap();
        assert!(!o.overlap && o.buffer_pool);
        assert_eq!(o.velocity, GpuVelocity::TextureF16);
        assert_eq!(o.block_mib, Some(16.0));
        let o = base.with_overrides(&[("workgroup_size", "128"), ("subgroups", "off")]).unwrap();
        assert_eq!((o.workgroup_size, o.subgroups, o.trace_pairs), (Some(128), false, true));
        let e = base.with_overrides(&[("overlapp", "off")]).unwrap_err();
        assert!(e.contains("unknown execution.gpu key `overlapp`") && e.contains("overlap"), "{e}");
        let e = base.with_overrides(&[("upload", "carrier_pigeon")]).unwrap_err();
        assert!(e.contains("carrier_pigeon"), "{e}");
    }

    fn errors(text: &str) -> Vec<String> {
        match from_yaml_str::<JobConfig>(text) {
            Ok(_) => vec![],
            Err(e) => e.errors.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c: JobConfig = from_yaml_str(MINIMAL).unwrap();
        assert_eq!(c.execution.kernel, "auto");
        assert_eq!(c.algorithm.aperture.max_m, 2000.0);
        assert_eq!(c.velocity.constant, Some(2500.0));
        assert!(c.algorithm.weights.spreading);
        assert_eq!(c.hash().len(), 16);
    }

    #[test]
    fn unknown_key_names_path_and_closest() {
        let e = errors(&format!("{MINIMAL}execution:\n  kernal: cpu\n"));
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("execution.kernal: unknown key `kernal`; did you mean `kernel`?"), "{}", e[0]);
        let e = errors(&format!("{MINIMAL}algorithm:\n  taper:\n    kind: cosin\n"));
        assert!(e[0].contains("algorithm.taper.kind") && e[0].contains("did you mean `cosine`"), "{}", e[0]);
        let e = errors(&format!("{MINIMAL}outptu: {{}}\n"));
        assert!(e[0].contains("unknown key `outptu`; did you mean `output`"), "{}", e[0]);
    }

    #[test]
    fn wrong_type_names_path() {
        let e = errors(&format!("{MINIMAL}execution:\n  max_memory_gb: lots\n"));
        assert!(e[0].starts_with("execution.max_memory_gb: invalid type: string \"lots\""), "{}", e[0]);
    }

    #[test]
    fn ranges_are_checked_and_all_reported() {
        let text = "input:\n  dataset: s\nvelocity:\n  constant: -5\noutput:\n  directory: o\n  grid:\n    dx: 0\n    nx: 0\n    dt_ms: -2\nexecution:\n  max_memory_gb: 0\n";
        let e = errors(text);
        let expect = [
            "velocity.constant: -5 is out of range: must be in (0, 20000] m/s",
            "output.grid.dx: 0 is out of range",
            "output.grid.nx: 0 is out of range: must be at least 1",
            "output.grid.dt_ms: -2 is out of range",
            "execution.max_memory_gb: 0 is out of range",
        ];
        for x in expect {
            assert!(e.iter().any(|m| m.starts_with(x)), "missing {x:?} in {e:#?}");
        }
    }

    #[test]
    fn velocity_tables() {
        let nan = "input:\n  dataset: s\nvelocity:\n  table: [[0, 1500], [1000, .nan]]\noutput:\n  directory: o\n";
        // YAML's .nan cannot become a value at all: the parser stops at its line and column.
        let e = errors(nan);
        assert!(e[0].contains("line 4 column 29") && e[0].contains("non-finite"), "{e:?}");
        // A NaN that reaches the checks (from code, not YAML) is named by its path.
        let mut v: VelocityConfig = from_yaml_str::<JobConfig>(MINIMAL).unwrap().velocity;
        v.constant = None;
        v.table = Some(vec![[0.0, 1500.0], [1000.0, f64::NAN]]);
        let mut errs = Vec::new();
        v.validate("velocity", &mut errs);
        assert!(errs[0].to_string().starts_with("velocity.table[1][1]: NaN is out of range"), "{errs:?}");
        let back = "input:\n  dataset: s\nvelocity:\n  table: [[0, 1500], [1000, 2000], [800, 2100]]\noutput:\n  directory: o\n";
        assert!(errors(back)[0].starts_with("velocity.table[2][0]: times must increase"));
        let single =
            "input:\n  dataset: s\nvelocity:\n  type: interval\n  table: [[0, 1500]]\noutput:\n  directory: o\n";
        assert!(errors(single)[0].contains("at least two picks"));
        let two = "input:\n  dataset: s\nvelocity:\n  constant: 1\n  cube: v.zarr\noutput:\n  directory: o\n";
        assert!(errors(two)[0].contains("exactly one of"));
    }

    #[test]
    fn syntax_errors_give_line() {
        let e = errors("input:\n  dataset: s\n velocity: [\n");
        assert!(e[0].contains("invalid YAML") && e[0].contains("line"), "{e:?}");
        // Once, on one line, without the parser's jargon.
        let e =
            errors("input: {dataset: s}\ninput: {dataset: t}\nvelocity: {constant: 2000}\noutput: {directory: o}\n");
        assert_eq!(e.len(), 1);
        assert!(!e[0].contains('\n') && !e[0].contains("DuplicateKeyPolicy"), "{e:?}");
        assert!(
            e[0].contains("line 2") && e[0].contains("duplicate") && e[0].contains("`input: {dataset: t}`"),
            "{e:?}"
        );
    }

    #[test]
    fn relative_paths_resolve_against_the_file() {
        let mut c: JobConfig = from_yaml_str(MINIMAL).unwrap();
        c.resolve_paths(Path::new("/jobs/a"));
        assert_eq!(c.input.dataset, PathBuf::from("/jobs/a/survey"));
        assert_eq!(c.output.directory, PathBuf::from("/jobs/a/out"));
    }
}

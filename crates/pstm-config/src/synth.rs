//! Synthetic survey specification (`pstm synth --spec FILE`) and the roadmap's size presets.

use pstm_math::media::{Medium, VtiMedium};
use pstm_math::model::{Diffractor, LinearEvent, PlanarReflector};
use pstm_math::wavelet::Wavelet;
use serde::{Deserialize, Serialize};

use crate::Validate;
use crate::check::{at_least, join, positive, range};
use crate::error::ConfigError;
use crate::job::{MAX_DISTANCE, MAX_VELOCITY, VelocityConfig};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthSpec {
    pub geometry: SurveyGeometry,
    pub timing: Timing,
    /// Constant, linear or table (RMS or interval); no cubes.
    pub velocity: VelocityConfig,
    #[serde(default)]
    pub diffractors: Vec<Diffractor>,
    #[serde(default)]
    pub reflectors: Vec<PlanarReflector>,
    /// Direct arrivals, refractions, ground roll: events linear in offset (what mutes remove).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linear_events: Vec<LinearEvent>,
    #[serde(default = "default_wavelet")]
    pub wavelet: Wavelet,
    /// Scale events by zero-offset path / actual path.
    #[serde(default)]
    pub spreading: bool,
    /// Standard deviation of white Gaussian noise (events have amplitude about 1).
    #[serde(default)]
    pub noise: f64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The medium whose physics the diffraction times follow (absent: `rms`, the straight-ray
    /// DSR time in `velocity`, which the migration inverts exactly):
    /// `{gradient: {v0: 1800, k: 0.6}}` (`V(z) = v0 + k z`, m/s and 1/s; exact curved rays) or
    /// `{vti: {vp0: 2000, epsilon: 0.2, delta: 0.05}}` (homogeneous acoustic VTI, exact qP
    /// times). With a medium, `velocity` is not used by the forward model (it is still required
    /// and recorded); the ground truth records the medium's RMS velocity function (gradient) or
    /// `vnmo` and `eta` (VTI), the velocities a migration job of the survey needs. Only
    /// diffractors and linear events are modelled in a medium: no reflectors. Left out of the
    /// serialised spec when `rms`, so the specs, and the cache keys, of surveys without a medium
    /// are what they were.
    #[serde(default, skip_serializing_if = "Medium::is_rms")]
    pub medium: Medium,
}

fn default_wavelet() -> Wavelet {
    Wavelet::Ricker { freq_hz: 25.0 }
}

fn default_seed() -> u64 {
    42
}

/// Midpoints on a regular grid of cells over `[origin, origin + extent]`, one at each cell
/// centre; at each midpoint one trace per offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyGeometry {
    #[serde(default)]
    pub origin_x: f64,
    #[serde(default)]
    pub origin_y: f64,
    pub extent_x_m: f64,
    pub extent_y_m: f64,
    pub spacing_m: f64,
    pub offsets_m: Vec<f64>,
    /// Source-to-receiver directions, degrees clockwise from north.
    pub azimuths_deg: Vec<f64>,
    /// `cycle`: one azimuth per trace, alternating over midpoints and offsets (the roadmap's
    /// trace counts); `all`: every offset at every azimuth.
    #[serde(default)]
    pub azimuth_mode: AzimuthMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AzimuthMode {
    #[default]
    Cycle,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    pub n_samples: usize,
    pub dt_ms: f64,
    #[serde(default)]
    pub start_time_ms: f64,
}

impl SurveyGeometry {
    pub fn n_midpoints_x(&self) -> usize {
        (self.extent_x_m / self.spacing_m).round() as usize
    }

    pub fn n_midpoints_y(&self) -> usize {
        (self.extent_y_m / self.spacing_m).round() as usize
    }

    pub fn traces_per_midpoint(&self) -> usize {
        match self.azimuth_mode {
            AzimuthMode::Cycle => self.offsets_m.len(),
            AzimuthMode::All => self.offsets_m.len() * self.azimuths_deg.len(),
        }
    }

    pub fn n_traces(&self) -> usize {
        self.n_midpoints_x() * self.n_midpoints_y() * self.traces_per_midpoint()
    }

    /// Inline and crossline (1-based midpoint indices along x and y) of trace `i`.
    pub fn lines(&self, i: usize) -> (i32, i32) {
        let m = i / self.traces_per_midpoint();
        let ny = self.n_midpoints_y();
        ((m / ny) as i32 + 1, (m % ny) as i32 + 1)
    }

    /// Midpoint, offset and azimuth of trace `i`. Traces run over offsets (and azimuths) fastest,
    /// then y, then x.
    pub fn trace(&self, i: usize) -> (f64, f64, f64, f64) {
        let per = self.traces_per_midpoint();
        let ny = self.n_midpoints_y();
        let (m, k) = (i / per, i % per);
        let (ix, iy) = (m / ny, m % ny);
        let mx = self.origin_x + (ix as f64 + 0.5) * self.spacing_m;
        let my = self.origin_y + (iy as f64 + 0.5) * self.spacing_m;
        let (offset, azimuth) = match self.azimuth_mode {
            AzimuthMode::Cycle => {
                let a = self.azimuths_deg[(ix + iy + k) % self.azimuths_deg.len()];
                (self.offsets_m[k], a)
            }
            AzimuthMode::All => {
                let na = self.azimuths_deg.len();
                (self.offsets_m[k / na], self.azimuths_deg[k % na])
            }
        };
        (mx, my, offset, azimuth)
    }
}

/// The roadmap's dataset sizes (Testing Infrastructure, DATASETS), then [`WIDE`].
pub const PRESETS: [&str; 5] = ["tiny", "small", "medium", "large", WIDE];

/// The preset that reproduces the reference package's own published job shape: 1022 x 854
/// midpoints at 12.5 m (12,775 x 10,675 m), one 1000 m offset, 1001 samples; 872,788 traces,
/// 3.5 GB of samples.
pub const WIDE: &str = "wide";

impl SynthSpec {
    /// A preset: a survey of the given extent, the listed offsets, azimuths 0 and 90 cycling,
    /// one diffractor at the centre 800 m deep, v = 2500 m/s, 2 ms, 25 Hz Ricker, noise 0.05.
    /// The roadmap's (`tiny` to `large`) are square at 25 m; [`WIDE`] is 12,775 x 10,675 m at
    /// 12.5 m with one 1000 m offset.
    pub fn preset(name: &str) -> Option<Self> {
        let (extent_x, extent_y, spacing, offsets, n_samples): (f64, f64, f64, Vec<f64>, usize) = match name {
            "tiny" => (500.0, 500.0, 25.0, vec![200.0, 400.0], 501),
            "small" => (1000.0, 1000.0, 25.0, vec![200.0, 400.0, 600.0, 800.0], 1001),
            "medium" => (2000.0, 2000.0, 25.0, (1..=8).map(|i| 200.0 * i as f64).collect(), 1501),
            "large" => (4000.0, 4000.0, 25.0, (1..=16).map(|i| 200.0 * i as f64).collect(), 2001),
            WIDE => (12_775.0, 10_675.0, 12.5, vec![1000.0], 1001),
            _ => return None,
        };
        Some(Self {
            geometry: SurveyGeometry {
                origin_x: 0.0,
                origin_y: 0.0,
                extent_x_m: extent_x,
                extent_y_m: extent_y,
                spacing_m: spacing,
                offsets_m: offsets,
                azimuths_deg: vec![0.0, 90.0],
                azimuth_mode: AzimuthMode::Cycle,
            },
            timing: Timing { n_samples, dt_ms: 2.0, start_time_ms: 0.0 },
            velocity: VelocityConfig {
                kind: Default::default(),
                constant: Some(2500.0),
                linear: None,
                table: None,
                cube: None,
                segy_map: None,
                eta: None,
            },
            diffractors: vec![Diffractor { x: extent_x / 2.0, y: extent_y / 2.0, z: 800.0, amplitude: 1.0 }],
            reflectors: vec![],
            linear_events: vec![],
            wavelet: Wavelet::Ricker { freq_hz: 25.0 },
            spreading: false,
            noise: 0.05,
            seed: 42,
            medium: Medium::Rms,
        })
    }
}

impl Validate for SynthSpec {
    fn validate(&self, _: &str, errors: &mut Vec<ConfigError>) {
        let g = &self.geometry;
        positive(errors, "geometry.spacing_m".into(), g.spacing_m, MAX_DISTANCE, "m");
        positive(errors, "geometry.extent_x_m".into(), g.extent_x_m, MAX_DISTANCE, "m");
        positive(errors, "geometry.extent_y_m".into(), g.extent_y_m, MAX_DISTANCE, "m");
        if g.spacing_m > 0.0
            && g.extent_x_m > 0.0
            && g.extent_y_m > 0.0
            && (g.n_midpoints_x() == 0 || g.n_midpoints_y() == 0)
        {
            errors.push(ConfigError::new("geometry", "extent is smaller than one midpoint spacing"));
        }
        if g.offsets_m.is_empty() {
            errors.push(ConfigError::new("geometry.offsets_m", "is empty: give at least one offset"));
        }
        for (i, &o) in g.offsets_m.iter().enumerate() {
            range(errors, format!("geometry.offsets_m[{i}]"), o, 0.0, false, MAX_DISTANCE, "m");
        }
        if g.azimuths_deg.is_empty() {
            errors.push(ConfigError::new("geometry.azimuths_deg", "is empty: give at least one azimuth"));
        }
        for (i, &a) in g.azimuths_deg.iter().enumerate() {
            range(errors, format!("geometry.azimuths_deg[{i}]"), a, -360.0, false, 360.0, "degrees");
        }
        at_least(errors, "timing.n_samples".into(), self.timing.n_samples, 2);
        positive(errors, "timing.dt_ms".into(), self.timing.dt_ms, 1000.0, "ms");
        range(errors, "timing.start_time_ms".into(), self.timing.start_time_ms, 0.0, false, 1.0e6, "ms");
        self.velocity.validate("velocity", errors);
        if self.velocity.cube.is_some() {
            errors.push(ConfigError::new("velocity.cube", "synthetic surveys take 1D velocities only"));
        }
        if let Err(e) = self.wavelet.check() {
            errors.push(ConfigError::new("wavelet", e));
        }
        for (i, d) in self.diffractors.iter().enumerate() {
            positive(errors, format!("diffractors[{i}].z"), d.z, MAX_DISTANCE, "m");
        }
        for (i, r) in self.reflectors.iter().enumerate() {
            positive(errors, format!("reflectors[{i}].z0"), r.z0, MAX_DISTANCE, "m");
            range(errors, format!("reflectors[{i}].dip_deg"), r.dip_deg, -80.0, false, 80.0, "degrees");
        }
        range(errors, join("", "noise"), self.noise, 0.0, false, 1.0e6, "");
        self.validate_medium(errors);
    }
}

/// The largest gradient accepted (1/s): 10 m/s per metre, far beyond any rock.
pub const MAX_GRADIENT: f64 = 10.0;

impl SynthSpec {
    /// The medium's parameter ranges, the velocity positive down to every diffractor, no
    /// reflectors: each error names its key (`medium.gradient.v0`, `medium.vti.epsilon`, ...).
    fn validate_medium(&self, errors: &mut Vec<ConfigError>) {
        let before = errors.len();
        match &self.medium {
            Medium::Rms => return,
            Medium::Gradient(g) => {
                positive(errors, "medium.gradient.v0".into(), g.v0, MAX_VELOCITY, "m/s");
                range(errors, "medium.gradient.k".into(), g.k, -MAX_GRADIENT, false, MAX_GRADIENT, "1/s");
                if errors.len() == before {
                    for (i, d) in self.diffractors.iter().enumerate() {
                        let v = g.interval_velocity_at_depth(d.z);
                        if d.z > 0.0 && (v.is_nan() || v <= 0.0) {
                            errors.push(ConfigError::new(
                                "medium.gradient.k",
                                format!(
                                    "{} 1/s makes the velocity v0 + k z = {v} m/s at diffractors[{i}] ({} m deep): \
                                     it must stay positive",
                                    g.k, d.z
                                ),
                            ));
                        }
                    }
                }
            }
            Medium::Vti(m) => {
                positive(errors, "medium.vti.vp0".into(), m.vp0, MAX_VELOCITY, "m/s");
                let (d_min, d_max, e_max) = (VtiMedium::DELTA_MIN, VtiMedium::DELTA_MAX, VtiMedium::EPSILON_MAX);
                range(errors, "medium.vti.delta".into(), m.delta, d_min, false, d_max, "");
                // At least delta; when delta is itself out of range, its own error says so.
                let e_min = if (d_min..=d_max).contains(&m.delta) { m.delta } else { d_min };
                let n = errors.len();
                range(errors, "medium.vti.epsilon".into(), m.epsilon, e_min, false, e_max, "");
                if errors.len() > n && m.epsilon < e_min {
                    let last = errors.len() - 1;
                    errors[last] = ConfigError::new(
                        "medium.vti.epsilon",
                        format!(
                            "{} is out of range: must be in [{e_min}, {e_max}] (at least delta: eta = \
                             (epsilon - delta) / (1 + 2 delta) >= 0)",
                            m.epsilon
                        ),
                    );
                }
                if errors.len() == before
                    && let Err(e) = m.check()
                {
                    errors.push(ConfigError::new("medium.vti", e));
                }
            }
        }
        if !self.reflectors.is_empty() {
            errors.push(ConfigError::new(
                "reflectors",
                format!(
                    "a {} medium models diffractors and linear events only: remove the {} reflector(s) or the medium",
                    self.medium.name(),
                    self.reflectors.len()
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::from_yaml_str;

    #[test]
    fn presets_match_the_roadmap_trace_counts() {
        let counts: Vec<usize> = PRESETS.iter().map(|p| SynthSpec::preset(p).unwrap().geometry.n_traces()).collect();
        assert_eq!(counts, vec![800, 6_400, 51_200, 409_600, 872_788]);
        let large = SynthSpec::preset("large").unwrap();
        assert_eq!(large.timing.n_samples, 2001);
        assert_eq!(large.geometry.offsets_m.len(), 16);
        assert_eq!(large.geometry.offsets_m[15], 3200.0);
    }

    #[test]
    fn wide_is_the_reference_job_shape() {
        // The spec as published, key for key; never generated in tests (3.5 GB).
        let published: SynthSpec = from_yaml_str(
            r#"
geometry: {origin_x: 0.0, origin_y: 0.0, extent_x_m: 12775.0, extent_y_m: 10675.0, spacing_m: 12.5,
           offsets_m: [1000.0], azimuths_deg: [0.0, 90.0], azimuth_mode: cycle}
timing: {n_samples: 1001, dt_ms: 2.0, start_time_ms: 0.0}
velocity: {type: rms, constant: 2500.0}
diffractors: [{x: 6387.5, "y": 5337.5, z: 800.0, amplitude: 1.0}]
reflectors: []
wavelet: {type: ricker, freq_hz: 25.0}
spreading: false
noise: 0.05
seed: 42
"#,
        )
        .unwrap();
        let wide = SynthSpec::preset(WIDE).unwrap();
        assert_eq!(wide, published);
        let g = &wide.geometry;
        assert_eq!((g.n_midpoints_x(), g.n_midpoints_y(), g.n_traces()), (1022, 854, 872_788));
        assert_eq!(g.trace(0), (6.25, 6.25, 1000.0, 0.0));
        let (x, y, _, _) = g.trace(g.n_traces() - 1);
        assert_eq!((x, y), (12_768.75, 10_668.75), "the last midpoint, half a cell inside the extent");
        assert_eq!(g.n_traces() as u64 * wide.timing.n_samples as u64 * 4, 3_494_643_152);
    }

    #[test]
    fn cycle_alternates_azimuths_and_all_multiplies() {
        let mut g = SynthSpec::preset("tiny").unwrap().geometry;
        let (mx, my, off, az) = g.trace(0);
        assert_eq!((mx, my, off, az), (12.5, 12.5, 200.0, 0.0));
        assert_eq!(g.trace(1).3, 90.0);
        assert_eq!(g.trace(2).3, 90.0); // next midpoint starts on the other azimuth
        assert_eq!((g.lines(0), g.lines(2), g.lines(40)), ((1, 1), (1, 2), (2, 1)));
        g.azimuth_mode = AzimuthMode::All;
        assert_eq!(g.n_traces(), 1600);
        assert_eq!(g.trace(1), (12.5, 12.5, 200.0, 90.0));
        assert_eq!(g.trace(2).2, 400.0);
    }

    #[test]
    fn spec_round_trips_through_yaml_and_rejects_bad_values() {
        let spec = SynthSpec::preset("small").unwrap();
        let text = serde_json::to_string(&spec).unwrap();
        let back: SynthSpec = from_yaml_str(&text).unwrap();
        assert_eq!(back, spec);
        let mut bad = spec.clone();
        bad.geometry.offsets_m.clear();
        bad.timing.dt_ms = 0.0;
        let e = from_yaml_str::<SynthSpec>(&serde_json::to_string(&bad).unwrap()).unwrap_err().to_string();
        assert!(e.contains("geometry.offsets_m: is empty") && e.contains("timing.dt_ms: 0 is out of range"), "{e}");
    }

    const SMALL_YAML: &str = r#"
geometry: {extent_x_m: 500, extent_y_m: 500, spacing_m: 25, offsets_m: [0, 400], azimuths_deg: [0]}
timing: {n_samples: 1001, dt_ms: 2}
velocity: {constant: 2000}
diffractors: [{x: 250, "y": 250, z: 800}]
"#;

    #[test]
    fn medium_reads_from_yaml_and_is_left_out_when_rms() {
        let spec: SynthSpec =
            from_yaml_str(&format!("{SMALL_YAML}medium: {{gradient: {{v0: 1800, k: 0.6}}}}\n")).unwrap();
        assert_eq!(spec.medium, Medium::Gradient(pstm_math::media::GradientMedium { v0: 1800.0, k: 0.6 }));
        let spec: SynthSpec =
            from_yaml_str(&format!("{SMALL_YAML}medium:\n  vti: {{vp0: 2000, epsilon: 0.2, delta: 0.05}}\n")).unwrap();
        assert_eq!(spec.medium, Medium::Vti(VtiMedium { vp0: 2000.0, epsilon: 0.2, delta: 0.05 }));
        let back: SynthSpec = from_yaml_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
        let spec: SynthSpec = from_yaml_str(&format!("{SMALL_YAML}medium: rms\n")).unwrap();
        assert_eq!(spec.medium, Medium::Rms);
        // Without a medium the serialised spec, hence the synthetic cache key, is what it was.
        let plain: SynthSpec = from_yaml_str(SMALL_YAML).unwrap();
        assert_eq!(plain, spec);
        let text = serde_json::to_string(&plain).unwrap();
        assert!(!text.contains("medium"), "{text}");
        assert_eq!(crate::job::digest(&SynthSpec::preset("tiny").unwrap()), crate::job::digest(&plain_tiny()));
        for bad in [
            "medium: {gradient: {v0: 1800, k: 0.6, z0: 3}}",
            "medium: {gradient: {v0: 1800}}",
            "medium: {anisotropic: {vp0: 2000}}",
            "medium: {vti: {vp0: 2000, epsilon: 0.2, delta: 0.05, gamma: 0.1}}",
        ] {
            let e = from_yaml_str::<SynthSpec>(&format!("{SMALL_YAML}{bad}\n")).unwrap_err().to_string();
            assert!(e.contains("medium"), "{bad}: {e}");
        }
    }

    /// The tiny preset as published before media existed, key for key.
    fn plain_tiny() -> SynthSpec {
        from_yaml_str(
            r#"
geometry: {origin_x: 0.0, origin_y: 0.0, extent_x_m: 500.0, extent_y_m: 500.0, spacing_m: 25.0,
           offsets_m: [200.0, 400.0], azimuths_deg: [0.0, 90.0], azimuth_mode: cycle}
timing: {n_samples: 501, dt_ms: 2.0, start_time_ms: 0.0}
velocity: {type: rms, constant: 2500.0}
diffractors: [{x: 250.0, "y": 250.0, z: 800.0, amplitude: 1.0}]
reflectors: []
wavelet: {type: ricker, freq_hz: 25.0}
spreading: false
noise: 0.05
seed: 42
"#,
        )
        .unwrap()
    }

    #[test]
    fn medium_errors_name_their_keys() {
        let check = |medium: &str, extra: &str| {
            from_yaml_str::<SynthSpec>(&format!("{SMALL_YAML}{extra}medium: {medium}\n")).unwrap_err().to_string()
        };
        let e = check("{gradient: {v0: 0, k: 0.6}}", "");
        assert!(e.contains("medium.gradient.v0: 0 is out of range"), "{e}");
        let e = check("{gradient: {v0: 1800, k: 20}}", "");
        assert!(e.contains("medium.gradient.k: 20 is out of range"), "{e}");
        let e = check("{gradient: {v0: 1800, k: -3}}", "");
        assert!(e.contains("medium.gradient.k: -3 1/s makes the velocity") && e.contains("diffractors[0]"), "{e}");
        let e = check("{vti: {vp0: 2000, epsilon: 0.2, delta: 0.7}}", "");
        assert!(e.contains("medium.vti.delta: 0.7 is out of range") && !e.contains("medium.vti.epsilon"), "{e}");
        let e = check("{vti: {vp0: 2000, epsilon: 0.0, delta: 0.1}}", "");
        assert!(e.contains("medium.vti.epsilon: 0 is out of range: must be in [0.1, 0.6]"), "{e}");
        let e = check("{vti: {vp0: -5, epsilon: 0.9, delta: 0.1}}", "");
        assert!(e.contains("medium.vti.vp0") && e.contains("medium.vti.epsilon: 0.9"), "{e}");
        let e = check("{vti: {vp0: 2000, epsilon: 0.2, delta: 0.05}}", "reflectors: [{z0: 1000}]\n");
        assert!(e.contains("reflectors: a vti medium models diffractors and linear events only"), "{e}");
    }
}

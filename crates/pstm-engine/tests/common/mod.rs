//! Helpers shared by the engine's integration tests: surveys with known truth, and jobs on them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pstm_config::synth::{AzimuthMode, SurveyGeometry, Timing};
use pstm_config::{JobConfig, SynthSpec, from_yaml_str};
use pstm_engine::output::MemoryVolumes;
use pstm_engine::{MigrationJob, RunOptions, create_kernel, executor, synth};
use pstm_math::OutputGrid;
use pstm_math::model::{Diffractor, PlanarReflector};

/// A noise-free survey: `extent` m square at 25 m midpoint spacing, offsets 0 and 300 m at
/// azimuths 0 and 90, `t_max` seconds at 2 ms.
pub fn spec(extent: f64, t_max: f64, velocity_yaml: &str) -> SynthSpec {
    SynthSpec {
        geometry: SurveyGeometry {
            origin_x: 0.0,
            origin_y: 0.0,
            extent_x_m: extent,
            extent_y_m: extent,
            spacing_m: 25.0,
            offsets_m: vec![0.0, 300.0],
            azimuths_deg: vec![0.0, 90.0],
            azimuth_mode: AzimuthMode::Cycle,
        },
        timing: Timing { n_samples: (t_max / 0.002) as usize + 1, dt_ms: 2.0, start_time_ms: 0.0 },
        velocity: velocity_config(velocity_yaml),
        diffractors: vec![],
        reflectors: vec![],
        linear_events: vec![],
        wavelet: pstm_math::wavelet::Wavelet::Ricker { freq_hz: 25.0 },
        spreading: false,
        noise: 0.0,
        seed: 1,
        medium: Default::default(),
    }
}

fn velocity_config(yaml: &str) -> pstm_config::job::VelocityConfig {
    let text = format!("input: {{dataset: data}}\nvelocity: {yaml}\noutput: {{directory: out}}\n");
    from_yaml_str::<JobConfig>(&text).expect("velocity yaml").velocity
}

pub fn diffractor(x: f64, y: f64, z: f64) -> Diffractor {
    Diffractor { x, y, z, amplitude: 1.0 }
}

pub fn reflector(z0: f64, x0: f64, y0: f64, dip_deg: f64, dip_azimuth_deg: f64) -> PlanarReflector {
    PlanarReflector { x0, y0, z0, dip_deg, dip_azimuth_deg, amplitude: 1.0 }
}

pub fn write_survey(dir: &Path, name: &str, spec: &SynthSpec) -> PathBuf {
    synth::generate(spec, &dir.join(name), true, false).expect("synthetic survey").path
}

/// A job on `dataset` from YAML sections (`algorithm`, `output.grid`, `execution`), with the
/// dataset's own velocity unless `velocity` is given.
pub fn job(dataset: &Path, velocity: &str, algorithm: &str, grid: &str, execution: &str) -> MigrationJob {
    job_with_input(dataset, "", velocity, algorithm, grid, execution)
}

/// [`job`] with more keys of the `input` section (`", kill: kill.csv"`).
pub fn job_with_input(
    dataset: &Path,
    input: &str,
    velocity: &str,
    algorithm: &str,
    grid: &str,
    execution: &str,
) -> MigrationJob {
    let text = format!(
        "input: {{dataset: {}{input}}}\nvelocity: {velocity}\nalgorithm: {algorithm}\noutput: {{directory: {}, grid: {grid}}}\nexecution: {execution}\n",
        dataset.display(),
        dataset.with_extension("out").display()
    );
    let config: JobConfig = from_yaml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    MigrationJob::from_config(config).unwrap_or_else(|e| panic!("{e}"))
}

pub fn run(job: &MigrationJob, kernel: &str) -> MemoryVolumes {
    let k = create_kernel(kernel, &Default::default()).expect("kernel");
    let (volumes, _) = executor::migrate_to_memory(job, k.as_ref(), RunOptions::QUIET).expect("migration");
    volumes
}

/// Relative L2 error of `a` against `b`, and their correlation.
pub fn errors(a: &[f32], b: &[f32]) -> (f64, f64) {
    let (mut dot, mut aa, mut bb, mut diff) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        dot += x * y;
        aa += x * x;
        bb += y * y;
        diff += (x - y) * (x - y);
    }
    ((diff / bb).sqrt(), dot / (aa * bb).sqrt())
}

/// [`spec`] as one line of midpoints along x (`length` m, 25 m apart, one cell wide), shot in
/// line with offsets 0 to `max_offset` m every 100 m.
pub fn line_spec(length: f64, max_offset: f64, t_max: f64, velocity_yaml: &str) -> SynthSpec {
    let mut s = spec(length, t_max, velocity_yaml);
    s.geometry.extent_y_m = 25.0;
    s.geometry.offsets_m = (0..=(max_offset / 100.0).round() as usize).map(|i| 100.0 * i as f64).collect();
    s.geometry.azimuths_deg = vec![90.0];
    s
}

/// Index `(ix, iy, it)` of the largest value of a volume.
pub fn peak(volume: &[f32], grid: &OutputGrid) -> (usize, usize, usize) {
    let k = volume.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("non-empty").0;
    let nt = grid.time.nt;
    (k / (grid.ny * nt), (k / nt) % grid.ny, k % nt)
}

/// Sub-sample position of the largest value of a trace, by a parabola through three samples.
pub fn subsample_peak(trace: &[f32]) -> f64 {
    let k = trace.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("non-empty").0;
    if k == 0 || k + 1 == trace.len() {
        return k as f64;
    }
    let (a, b, c) = (trace[k - 1] as f64, trace[k] as f64, trace[k + 1] as f64);
    k as f64 + 0.5 * (a - c) / (a - 2.0 * b + c)
}

pub fn column<'a>(volume: &'a [f32], grid: &OutputGrid, ix: usize, iy: usize) -> &'a [f32] {
    let nt = grid.time.nt;
    let c = ix * grid.ny + iy;
    &volume[c * nt..(c + 1) * nt]
}

/// Whether a GPU adapter exists. Without one the calling test skips its GPU part with a notice,
/// unless `PSTM_REQUIRE_GPU=1`, when this panics instead.
pub fn gpu_available(test: &str) -> bool {
    match create_kernel("gpu-v0", &Default::default()) {
        Ok(_) => true,
        Err(e) => {
            let required = std::env::var("PSTM_REQUIRE_GPU").is_ok_and(|v| v == "1");
            assert!(!required, "{test}: PSTM_REQUIRE_GPU=1 but gpu-v0 cannot run: {e}");
            eprintln!("SKIPPED the GPU part of {test}: {e}");
            false
        }
    }
}

/// A 600 m square at 2200 m/s with a diffractor, a dipping reflector, three offsets and a little
/// noise, written to `dir/survey`: the executor's and the device tests' survey.
pub fn diffractor_and_reflector_survey(dir: &Path) -> PathBuf {
    let mut s = spec(600.0, 0.6, "{constant: 2200}");
    s.geometry.offsets_m = vec![0.0, 150.0, 400.0];
    s.diffractors.push(diffractor(310.0, 290.0, 300.0));
    s.reflectors.push(reflector(450.0, 300.0, 300.0, 10.0, 30.0));
    s.noise = 0.02;
    write_survey(dir, "survey", &s)
}

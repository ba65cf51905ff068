//! Benchmark datasets by name or path, and the one job every benchmark and comparison runs.

use std::path::{Path, PathBuf};

use pstm_config::{JobConfig, SynthSpec, from_yaml_str};
use pstm_engine::{MigrationJob, synth};

use crate::error::{BenchError, Result};

/// The job `pstm bench` and `pstm compare` migrate on every dataset but [`WIDE`] (see
/// [`bench_job_yaml`]), printed by `pstm bench --print-job`. `input.dataset` is replaced by the
/// dataset given; nothing is written to `output.directory` (runs go to memory).
pub const BENCH_JOB: &str = r#"# The benchmark job: what `pstm bench` and `pstm compare` migrate on every dataset but wide.
input:
  dataset: replaced-by-the-dataset-given
velocity:
  # The presets' own velocity.
  constant: 2500
algorithm:
  # As the GPU probe: on tiny and small every trace reaches every output column.
  aperture: {mode: fixed, max_m: 1500}
  taper: {kind: cosine, fraction: 0.1}
  weights: {spreading: true, obliquity: true}
  # No pre-filter: its cost belongs to reading, not to the kernel.
  prefilter: none
output:
  # Unused: benchmark runs migrate into memory.
  directory: unused
  # The midpoint grid: origin, nx and ny from the midpoints' extent; the whole time axis of the
  # traces (the presets' midpoints lie every 25 m).
  grid: {dx: 25, dy: 25}
execution:
  kernel: auto
  # Enough for the large preset's traces (3.3 GB) to stay in memory, so buffer time is loading,
  # not streaming from disk.
  max_memory_gb: 8
  progress: false
"#;

/// The job on the [`WIDE`] preset: [`BENCH_JOB`] with the reference package's published output
/// grid and aperture, and the memory its traces need. Printed by `pstm bench --print-job
/// --datasets wide`.
pub const WIDE_BENCH_JOB: &str = r#"# The wide benchmark job: what `pstm bench` and `pstm compare` migrate on the wide preset, the
# reference package's published job shape.
input:
  dataset: replaced-by-the-dataset-given
velocity:
  # The preset's own velocity.
  constant: 2500
algorithm:
  # The reference job's aperture.
  aperture: {mode: fixed, max_m: 2000}
  taper: {kind: cosine, fraction: 0.1}
  weights: {spreading: true, obliquity: true}
  # No pre-filter: its cost belongs to reading, not to the kernel.
  prefilter: none
output:
  # Unused: benchmark runs migrate into memory.
  directory: unused
  # The reference job's grid: 511 x 427 columns every 25 m from (12.5, 12.5) (the midpoints lie
  # every 12.5 m), and the whole time axis of the traces (1001 samples).
  grid: {origin_x: 12.5, origin_y: 12.5, dx: 25, dy: 25, nx: 511, ny: 427}
execution:
  kernel: auto
  # Enough for the preset's traces (3.5 GB) to stay in memory, so buffer time is loading, not
  # streaming from disk.
  max_memory_gb: 40
  progress: false
"#;

pub use pstm_config::synth::WIDE;

/// Preset names `pstm bench --datasets` and `pstm compare --dataset` accept besides paths.
pub const PRESETS: [&str; 5] = pstm_config::synth::PRESETS;

/// The benchmark job (YAML) on a dataset named as `--datasets` takes it: [`WIDE_BENCH_JOB`] for
/// the [`WIDE`] preset, [`BENCH_JOB`] for the other presets and for every dataset path.
pub fn bench_job_yaml(dataset: &str) -> &'static str {
    if dataset == WIDE { WIDE_BENCH_JOB } else { BENCH_JOB }
}

/// The benchmark jobs on `datasets` (names as `--datasets` takes them): each different job once,
/// in the order of the datasets, as YAML documents separated by `---`. Just [`BENCH_JOB`] when
/// no dataset is [`WIDE`].
pub fn bench_jobs_yaml(datasets: &[String]) -> String {
    let mut jobs: Vec<&str> = Vec::new();
    for d in datasets {
        let job = bench_job_yaml(d);
        if !jobs.contains(&job) {
            jobs.push(job);
        }
    }
    if jobs.is_empty() {
        jobs.push(BENCH_JOB);
    }
    jobs.join("---\n")
}

/// A dataset ready to benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchDataset {
    /// The preset name, or the directory's file name for a path.
    pub name: String,
    pub path: PathBuf,
    /// True for a roadmap preset (generated once, then taken from the cache).
    pub preset: bool,
}

/// A preset name (`tiny`, `small`, `medium`, `large`, `wide`) or the path of an existing dataset.
///
/// Presets come from [`synth::cached`]: generated on first use under `$PSTM_CACHE_DIR`
/// (default `.pstm-cache`), keyed by the preset's name and a hash of its parameters, and reused
/// afterwards. A preset name wins over a directory of the same name; write `./tiny` for that.
pub fn resolve(name_or_path: &str, progress: bool) -> Result<BenchDataset> {
    if let Some(spec) = PRESETS.contains(&name_or_path).then(|| SynthSpec::preset(name_or_path)).flatten() {
        let summary = synth::cached(name_or_path, &spec, progress)?;
        return Ok(BenchDataset { name: name_or_path.to_string(), path: summary.path, preset: true });
    }
    let path = Path::new(name_or_path);
    if !path.is_dir() {
        return Err(BenchError::UnknownDataset(name_or_path.to_string()));
    }
    let name = path
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| name_or_path.to_string());
    Ok(BenchDataset { name, path: path.to_path_buf(), preset: false })
}

/// The benchmark job on a dataset: [`bench_job_yaml`] of a preset's name, [`BENCH_JOB`] on a
/// path (whatever its directory is called).
pub fn bench_job(dataset: &BenchDataset) -> Result<MigrationJob> {
    let yaml = if dataset.preset { bench_job_yaml(&dataset.name) } else { BENCH_JOB };
    let mut config: JobConfig = from_yaml_str(yaml).map_err(pstm_engine::EngineError::from)?;
    config.input.dataset = dataset.path.clone();
    Ok(MigrationJob::from_config(config)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_job_parses_with_the_stated_settings() {
        let c: JobConfig = from_yaml_str(BENCH_JOB).unwrap();
        assert_eq!(c.velocity.constant, Some(2500.0));
        assert_eq!(c.algorithm.aperture.max_m, 1500.0);
        assert_eq!((c.output.grid.dx, c.output.grid.dy), (Some(25.0), Some(25.0)));
        assert_eq!((c.output.grid.nx, c.output.grid.t_max_ms), (None, None));
        assert!(c.algorithm.weights.spreading && c.algorithm.weights.obliquity);
    }

    #[test]
    fn the_wide_job_differs_only_in_grid_aperture_and_memory() {
        let base: JobConfig = from_yaml_str(BENCH_JOB).unwrap();
        let wide: JobConfig = from_yaml_str(WIDE_BENCH_JOB).unwrap();
        let g = &wide.output.grid;
        assert_eq!((g.origin_x, g.origin_y, g.dx, g.dy), (Some(12.5), Some(12.5), Some(25.0), Some(25.0)));
        assert_eq!((g.nx, g.ny, g.t_min_ms, g.t_max_ms, g.dt_ms), (Some(511), Some(427), None, None, None));
        assert_eq!(wide.algorithm.aperture.max_m, 2000.0);
        assert_eq!(wide.execution.max_memory_gb, 40.0);
        let mut same = wide.clone();
        same.output.grid = base.output.grid;
        same.algorithm.aperture = base.algorithm.aperture;
        same.execution.max_memory_gb = base.execution.max_memory_gb;
        assert_eq!(same, base, "taper, weights, prefilter, velocity and the rest as BENCH_JOB");
    }

    #[test]
    fn wide_gets_its_own_job_and_everything_else_the_common_one() {
        assert!(PRESETS.contains(&WIDE));
        assert_eq!(bench_job_yaml("wide"), WIDE_BENCH_JOB);
        for d in ["tiny", "small", "medium", "large", "./wide", "some/dir"] {
            assert_eq!(bench_job_yaml(d), BENCH_JOB, "{d}");
        }
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(bench_jobs_yaml(&names(&["tiny", "small", "medium"])), BENCH_JOB);
        assert_eq!(bench_jobs_yaml(&names(&["wide"])), WIDE_BENCH_JOB);
        assert_eq!(bench_jobs_yaml(&names(&["tiny", "wide", "small"])), format!("{BENCH_JOB}---\n{WIDE_BENCH_JOB}"));
        assert_eq!(bench_jobs_yaml(&[]), BENCH_JOB);
    }

    #[test]
    fn the_wide_job_on_wide_traces_makes_the_reference_grid() {
        // The wide preset cut to 2 x 2 midpoints round its centre: its 1001 samples at 2 ms, not
        // its 3.5 GB.
        let mut spec = SynthSpec::preset(WIDE).unwrap();
        spec.geometry.origin_x = 6375.0;
        spec.geometry.origin_y = 5325.0;
        spec.geometry.extent_x_m = 25.0;
        spec.geometry.extent_y_m = 25.0;
        let dir = tempfile::tempdir().unwrap();
        let path = synth::generate(&spec, &dir.path().join("wide"), false, false).unwrap().path;
        let job = bench_job(&BenchDataset { name: WIDE.into(), path: path.clone(), preset: true }).unwrap();
        let g = &job.grid;
        assert_eq!((g.nx, g.ny, g.time.nt, g.time.dt_s), (511, 427, 1001, 0.002));
        assert_eq!((g.origin_x, g.origin_y, g.dx, g.dy), (12.5, 12.5, 25.0, 25.0));
        assert_eq!(job.config.algorithm.aperture.max_m, 2000.0);
        // The same directory given as a path gets the common job.
        let job = bench_job(&BenchDataset { name: WIDE.into(), path, preset: false }).unwrap();
        assert_eq!((job.grid.origin_x, job.config.algorithm.aperture.max_m), (6381.25, 1500.0));
    }

    #[test]
    fn presets_come_from_the_cache_and_paths_are_taken_as_given() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: no other test of this crate reads or writes PSTM_CACHE_DIR.
        unsafe { std::env::set_var("PSTM_CACHE_DIR", dir.path()) };
        let a = resolve("tiny", false).unwrap();
        assert!(a.preset && a.name == "tiny" && a.path.starts_with(dir.path()), "{a:?}");
        let modified = std::fs::metadata(&a.path).unwrap().modified().unwrap();
        let b = resolve("tiny", false).unwrap();
        assert_eq!(a, b);
        assert_eq!(std::fs::metadata(&b.path).unwrap().modified().unwrap(), modified, "reused, not rebuilt");
        let c = resolve(a.path.to_str().unwrap(), false).unwrap();
        assert!(!c.preset && c.path == a.path && c.name.starts_with("tiny-"), "{c:?}");
        let job = bench_job(&a).unwrap();
        assert_eq!((job.grid.nx, job.grid.ny, job.grid.time.nt), (20, 20, 501));
        assert_eq!((job.grid.dx, job.grid.origin_x), (25.0, 12.5));
    }

    #[test]
    fn unknown_names_say_what_is_accepted() {
        let e = resolve("no-such-dataset-anywhere", false).unwrap_err().to_string();
        assert!(e.contains("no-such-dataset-anywhere") && e.contains("tiny, small, medium, large, wide"), "{e}");
    }
}

//! Benchmark datasets by name or path, and the one job every benchmark and comparison runs.

use std::path::{Path, PathBuf};

use pstm_config::{JobConfig, SynthSpec, from_yaml_str};
use pstm_engine::{MigrationJob, synth};

use crate::error::{BenchError, Result};

/// The job every `pstm bench` and `pstm compare` run migrates, printed by `pstm bench
/// --print-job`. `input.dataset` is replaced by the dataset given; nothing is written to
/// `output.directory` (runs go to memory).
pub const BENCH_JOB: &str = r#"# The benchmark job: what `pstm bench` and `pstm compare` migrate on every dataset.
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

/// Preset names `pstm bench --datasets` and `pstm compare --dataset` accept besides paths.
pub const PRESETS: [&str; 4] = ["tiny", "small", "medium", "large"];

/// A dataset ready to benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchDataset {
    /// The preset name, or the directory's file name for a path.
    pub name: String,
    pub path: PathBuf,
    /// True for a roadmap preset (generated once, then taken from the cache).
    pub preset: bool,
}

/// A preset name (`tiny`, `small`, `medium`, `large`) or the path of an existing dataset.
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

/// The benchmark job ([`BENCH_JOB`]) on a dataset.
pub fn bench_job(dataset: &BenchDataset) -> Result<MigrationJob> {
    let mut config: JobConfig = from_yaml_str(BENCH_JOB).map_err(pstm_engine::EngineError::from)?;
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
        assert!(e.contains("no-such-dataset-anywhere") && e.contains("tiny, small, medium, large"), "{e}");
    }
}

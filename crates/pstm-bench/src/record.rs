//! The benchmark results file: what `pstm bench --output` writes and `--compare` reads.
//!
//! Its JSON Schema is `bench/schema/results.schema.json` (described in the README); the types
//! here serialise to exactly that shape, and a test validates generated files against it. Times
//! are seconds, rates are per second, counts are plain numbers.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{BenchError, Result};
use crate::machine::Machine;
use crate::stats::Stats;

/// The `schema` value of every results file.
pub const SCHEMA_NAME: &str = "pstm-bench-results";
/// Raised when a field changes meaning or is removed (adding fields keeps it).
pub const SCHEMA_VERSION: u32 = 1;

/// One `pstm bench` invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchResults {
    /// Always [`SCHEMA_NAME`].
    pub schema: String,
    pub schema_version: u32,
    pub pstm_version: String,
    /// When the benchmark started, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_utc: String,
    pub machine: Machine,
    pub settings: Settings,
    /// One record per kernel and dataset, datasets in the order given, kernels in the order given
    /// within each.
    pub results: Vec<BenchRecord>,
}

/// How the benchmark was run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Kernel names in the order given; the first is the speedup baseline.
    pub kernels: Vec<String>,
    /// Dataset names or paths as given.
    pub datasets: Vec<String>,
    /// Timed runs per kernel and dataset.
    pub runs: usize,
    /// Untimed runs before them (caches, page cache, GPU pipelines warm).
    pub warmup: usize,
    /// The hardware ceiling given with `--ceiling`, in contributions per second.
    pub ceiling_contributions_per_s: Option<f64>,
    /// Largest job (in contributions) on which `cpu-ref` runs to check accuracy.
    pub accuracy_limit_contributions: u64,
    /// The parity rule applied to accuracy (relative L2 error).
    pub rtol: f64,
    /// The job every run migrated (`BENCH_JOB`, YAML), with the dataset path left as given there;
    /// when `wide` is among the datasets, `WIDE_BENCH_JOB` follows a `---` line (`bench_jobs_yaml`).
    pub job: String,
}

/// One kernel on one dataset: the roadmap's `BenchmarkResult` and more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchRecord {
    /// The kernel's registry name (the roadmap's "version": `cpu-ref`, `cpu`, `gpu-v0`, ...).
    pub version: String,
    /// What the kernel ran on, as the kernel describes it (CPU model and instruction set; GPU
    /// adapter, backend and driver).
    pub device: String,
    /// Preset name, or the dataset directory's name.
    pub dataset: String,
    pub dataset_path: String,
    pub n_traces: usize,
    /// Output grid samples (nx * ny * nt).
    pub n_output_samples: usize,
    pub grid: GridShape,
    /// In-aperture (trace, output sample) pairs: the work, counted exactly by the plan.
    pub contributions: u64,
    pub contributions_exact: bool,
    pub runs: usize,
    pub warmup: usize,
    /// Wall clock of one `migrate_to_memory` call: planning, loading traces, every tile, the
    /// in-memory outputs.
    pub total_time_s: Stats,
    /// Planning alone (midpoint index, per-tile trace lists and contribution counts).
    pub plan_time_s: Stats,
    /// See `kernel_time_source`.
    pub kernel_time_s: Stats,
    /// `device`: the kernel's own device timers (GPU timestamp queries, `KernelTimings::device_s`).
    /// `executor`: time inside the kernel's calls (begin, add, finish), summed over the
    /// executor's concurrent tiles, so it may exceed the wall clock on a CPU kernel.
    pub kernel_time_source: TimeSource,
    /// See `buffer_time_source`.
    pub buffer_time_s: Stats,
    /// `transfer`: the kernel's own measure of buffer creation, uploads and read-backs
    /// (`KernelTimings::transfer_s`). `load+read`: loading traces into memory plus reading
    /// trace blocks (summed over concurrent tiles), for kernels that measure no transfers.
    pub buffer_time_source: TimeSource,
    /// `contributions / total_time_s` of each run.
    pub contributions_per_s: Stats,
    /// `n_traces / total_time_s` of each run.
    pub traces_per_s: Stats,
    /// The roadmap's throughput: median `traces_per_s` in millions.
    pub throughput_mtrace_s: f64,
    /// Median `contributions_per_s` over that of the first kernel on this dataset (1 for it).
    pub speedup: f64,
    pub speedup_baseline: String,
    /// Median `contributions_per_s` over the `--ceiling`, when one was given.
    pub ceiling_fraction: Option<f64>,
    pub accuracy: Accuracy,
    /// Load averages (1, 5, 15 min) before the warm-up and after the last run, where known.
    pub load_before: Option<[f64; 3]>,
    pub load_after: Option<[f64; 3]>,
    /// Figures the kernel measured itself (`KernelTimings::metrics`), over the timed runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernel_metrics: Vec<MetricStats>,
}

/// One of a kernel's own figures over the timed runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    pub name: String,
    pub unit: String,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridShape {
    pub nx: usize,
    pub ny: usize,
    pub nt: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeSource {
    #[serde(rename = "device")]
    Device,
    #[serde(rename = "executor")]
    Executor,
    #[serde(rename = "transfer")]
    Transfer,
    #[serde(rename = "load+read")]
    LoadRead,
}

/// The candidate's first timed run against `cpu-ref` on the same dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    pub status: AccuracyStatus,
    /// Relative L2 error over unmasked samples; null when skipped or when the candidate wrote a
    /// non-finite sample.
    pub rel_l2: Option<f64>,
    pub max_abs: Option<f64>,
    /// `max_abs / max |cpu-ref|`.
    pub max_rel: Option<f64>,
    pub fold_mismatches: Option<usize>,
    pub non_finite: Option<usize>,
    /// Samples excused by the borderline mask.
    pub masked: Option<usize>,
    /// Whether the parity rule (`rel_l2 <= rtol`, no non-finite sample, fold equal outside the
    /// mask) holds; null when not measured.
    pub passes: Option<bool>,
    /// Why it was skipped, or what failed.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccuracyStatus {
    /// Compared with `cpu-ref`.
    Measured,
    /// The kernel is `cpu-ref`: the reference itself.
    Reference,
    /// Not compared (too expensive for `cpu-ref`); `note` says why.
    Skipped,
}

impl Accuracy {
    pub fn reference() -> Self {
        Self::empty(AccuracyStatus::Reference, Some("the reference itself".into()))
    }

    pub fn skipped(why: String) -> Self {
        Self::empty(AccuracyStatus::Skipped, Some(why))
    }

    fn empty(status: AccuracyStatus, note: Option<String>) -> Self {
        Self {
            status,
            rel_l2: None,
            max_abs: None,
            max_rel: None,
            fold_mismatches: None,
            non_finite: None,
            masked: None,
            passes: None,
            note,
        }
    }
}

/// `Some(x)` for a finite `x`: JSON has no NaN or infinity.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl BenchResults {
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| BenchError::file(path, e))?;
        let results: Self =
            serde_json::from_str(&text).map_err(|e| BenchError::Results { path: path.to_path_buf(), source: e })?;
        if results.schema != SCHEMA_NAME || results.schema_version != SCHEMA_VERSION {
            return Err(BenchError::Invalid(format!(
                "{}: schema {} version {}, but this pstm reads {SCHEMA_NAME} version {SCHEMA_VERSION}",
                path.display(),
                results.schema,
                results.schema_version
            )));
        }
        Ok(results)
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("results serialise");
        Ok(pstm_io::staging::write_file(path, text + "\n")?)
    }

    /// The record of `kernel` on `dataset`, if any.
    pub fn find(&self, kernel: &str, dataset: &str) -> Option<&BenchRecord> {
        self.results.iter().find(|r| r.version == kernel && r.dataset == dataset)
    }
}

/// UTC time `YYYY-MM-DDTHH:MM:SSZ` of a Unix timestamp (seconds).
pub fn utc_timestamp(unix_s: u64) -> String {
    let (days, rest) = (unix_s / 86_400, unix_s % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest / 60 % 60, rest % 60)
}

/// The current UTC time as [`utc_timestamp`] writes it.
pub fn now_utc() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    utc_timestamp(now)
}

/// Year, month, day of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_known_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(utc_timestamp(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}

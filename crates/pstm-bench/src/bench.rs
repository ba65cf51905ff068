//! Running the benchmark: every kernel on every dataset, warm-up runs, then timed runs.

use std::time::Instant;

use pstm_engine::executor::migrate_to_memory;
use pstm_engine::registry::{KernelOptions, create_kernel};
use pstm_engine::{MigrationJob, RunOptions, RunSummary};
use pstm_kernel::parity::compare;
use pstm_kernel::{MigrationKernel, TileImage};

use crate::compare::{Tolerance, as_image, failures};
use crate::dataset::{BenchDataset, bench_job, bench_jobs_yaml, resolve};
use crate::error::{BenchError, Result};
use crate::machine::{Machine, load_average};
use crate::record::{
    Accuracy, AccuracyStatus, BenchRecord, BenchResults, GridShape, SCHEMA_NAME, SCHEMA_VERSION, Settings, TimeSource,
    finite, now_utc,
};
use crate::stats::Stats;

/// The reference kernel every accuracy figure is measured against.
pub const REFERENCE_KERNEL: &str = "cpu-ref";

/// Largest job (contributions) on which `cpu-ref` runs to check accuracy by default: about two
/// minutes of `cpu-ref` on a 2-core machine at 0.15 G contributions/s (small has 1.0e10, medium
/// 3.9e11).
pub const DEFAULT_ACCURACY_LIMIT: u64 = 20_000_000_000;

/// What `pstm bench` was asked to do.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub kernels: Vec<String>,
    /// Preset names or dataset paths.
    pub datasets: Vec<String>,
    pub runs: usize,
    pub warmup: usize,
    /// A hardware ceiling in contributions per second, to report each rate as a fraction of.
    pub ceiling: Option<f64>,
    pub accuracy_limit: u64,
    pub tolerance: Tolerance,
    pub kernel_options: KernelOptions,
    /// Short machine name for the record; generated from the CPU when `None`.
    pub machine_name: Option<String>,
    /// Show progress bars while generating datasets.
    pub progress: bool,
}

impl BenchOptions {
    /// The roadmap's protocol: 10 timed runs after 2 warm-up runs.
    pub fn new(kernels: Vec<String>, datasets: Vec<String>) -> Self {
        Self {
            kernels,
            datasets,
            runs: 10,
            warmup: 2,
            ceiling: None,
            accuracy_limit: DEFAULT_ACCURACY_LIMIT,
            tolerance: Tolerance::default(),
            kernel_options: KernelOptions::default(),
            machine_name: None,
            progress: false,
        }
    }

    fn check(&self) -> Result<()> {
        if self.kernels.is_empty() || self.datasets.is_empty() {
            return Err(BenchError::Invalid("give at least one kernel and one dataset".into()));
        }
        if self.runs == 0 {
            return Err(BenchError::Invalid("--runs must be at least 1".into()));
        }
        for (i, k) in self.kernels.iter().enumerate() {
            if self.kernels[..i].contains(k) {
                return Err(BenchError::Invalid(format!("kernel `{k}` is listed twice")));
            }
        }
        if let Some(c) = self.ceiling
            && !(c.is_finite() && c > 0.0)
        {
            return Err(BenchError::Invalid(format!("--ceiling must be a positive rate, not {c}")));
        }
        Ok(())
    }
}

/// Run the benchmark. `log` receives one line per step (which kernel on which dataset, rates).
pub fn run(options: &BenchOptions, log: &mut dyn FnMut(&str)) -> Result<BenchResults> {
    options.check()?;
    let created_utc = now_utc();
    let machine = Machine::detect(options.machine_name.as_deref());
    // Every kernel is created before any run, so an unavailable one fails the benchmark at once.
    let kernels: Vec<Box<dyn MigrationKernel>> = options
        .kernels
        .iter()
        .map(|k| create_kernel(k, &options.kernel_options))
        .collect::<std::result::Result<_, _>>()?;
    let mut results = Vec::new();
    for name in &options.datasets {
        let dataset = resolve(name, options.progress)?;
        let job = bench_job(&dataset)?;
        results.extend(bench_dataset(options, &dataset, &job, &kernels, log)?);
    }
    Ok(BenchResults {
        schema: SCHEMA_NAME.to_string(),
        schema_version: SCHEMA_VERSION,
        pstm_version: env!("CARGO_PKG_VERSION").to_string(),
        created_utc,
        machine,
        settings: Settings {
            kernels: options.kernels.clone(),
            datasets: options.datasets.clone(),
            runs: options.runs,
            warmup: options.warmup,
            ceiling_contributions_per_s: options.ceiling,
            accuracy_limit_contributions: options.accuracy_limit,
            rtol: options.tolerance.rtol,
            job: bench_jobs_yaml(&options.datasets),
        },
        results,
    })
}

/// The `cpu-ref` image of a dataset and its borderline mask, each made once and only when needed.
#[derive(Default)]
struct Reference {
    image: Option<TileImage>,
    mask: Option<Vec<bool>>,
}

/// All kernels on one dataset; records in the order the kernels were given.
fn bench_dataset(
    options: &BenchOptions,
    dataset: &BenchDataset,
    job: &MigrationJob,
    kernels: &[Box<dyn MigrationKernel>],
    log: &mut dyn FnMut(&str),
) -> Result<Vec<BenchRecord>> {
    // cpu-ref runs first when listed, so its first timed run is the reference of the others.
    let mut order: Vec<usize> = (0..kernels.len()).collect();
    order.sort_by_key(|&i| kernels[i].name() != REFERENCE_KERNEL);
    let mut reference = Reference::default();
    let mut records: Vec<Option<BenchRecord>> = vec![None; kernels.len()];
    for i in order {
        let kernel = kernels[i].as_ref();
        let (record, first) = time_kernel(options, dataset, job, kernel, &options.kernels[i], log)?;
        let accuracy = if kernel.name() == REFERENCE_KERNEL {
            reference.image.get_or_insert(first);
            Accuracy::reference()
        } else if record.contributions > options.accuracy_limit {
            Accuracy::skipped(format!(
                "cpu-ref would compute {:.3e} contributions, above the limit of {:.3e} (--accuracy-limit)",
                record.contributions as f64, options.accuracy_limit as f64
            ))
        } else {
            accuracy(options, job, &mut reference, &first, log)?
        };
        if accuracy.passes == Some(false) {
            log(&format!("  accuracy FAILS: {}", accuracy.note.as_deref().unwrap_or("")));
        }
        records[i] = Some(BenchRecord { accuracy, ..record });
    }
    let mut records: Vec<BenchRecord> = records.into_iter().map(|r| r.expect("every kernel ran")).collect();
    let base = records[0].contributions_per_s.median;
    let base_name = records[0].version.clone();
    for r in &mut records {
        r.speedup = r.contributions_per_s.median / base;
        r.speedup_baseline.clone_from(&base_name);
    }
    Ok(records)
}

/// Warm-up and timed runs of one kernel; the record (accuracy and speedup still to fill in) and
/// the first timed run's image.
fn time_kernel(
    options: &BenchOptions,
    dataset: &BenchDataset,
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    spec: &str,
    log: &mut dyn FnMut(&str),
) -> Result<(BenchRecord, TileImage)> {
    let run_options = RunOptions::QUIET;
    let load_before = load_average();
    log(&format!(
        "{} on {}: {} warm-up + {} timed runs (load average {})",
        spec,
        dataset.name,
        options.warmup,
        options.runs,
        load_before.map_or("unknown".into(), |l| format!("{:.2}", l[0]))
    ));
    for _ in 0..options.warmup {
        migrate_to_memory(job, kernel, run_options)?;
    }
    // Drop what the warm-up runs measured.
    kernel.take_timings();
    let mut first = None;
    let mut runs: Vec<Timed> = Vec::with_capacity(options.runs);
    for _ in 0..options.runs {
        let t = Instant::now();
        let (volumes, summary) = migrate_to_memory(job, kernel, run_options)?;
        let total_s = t.elapsed().as_secs_f64();
        let timings = kernel.take_timings();
        first.get_or_insert_with(|| as_image(volumes));
        runs.push(Timed::new(summary, total_s, timings));
    }
    let load_after = load_average();
    let s = &runs[0].summary;
    let stats = |f: &dyn Fn(&Timed) -> f64| Stats::of(&runs.iter().map(f).collect::<Vec<_>>());
    let contributions = s.contributions;
    let n_traces = s.n_traces;
    let rate = stats(&|r| contributions as f64 / r.total_s);
    let traces_per_s = stats(&|r| n_traces as f64 / r.total_s);
    log(&format!(
        "  {:.3} G contributions/s median ({:.3}..{:.3}), {:.3} s median of {} runs",
        rate.median * 1e-9,
        rate.min * 1e-9,
        rate.max * 1e-9,
        stats(&|r| r.total_s).median,
        runs.len()
    ));
    let grid = &job.grid;
    let record = BenchRecord {
        // As given (`gpu-v1:overlap=off`), so that settings of one kernel compare side by side.
        version: spec.to_string(),
        // As the run saw it, inside the job's pool (a CPU kernel's thread count is the job's).
        device: s.device.clone(),
        dataset: dataset.name.clone(),
        dataset_path: dataset.path.display().to_string(),
        n_traces,
        n_output_samples: s.n_output_samples,
        grid: GridShape { nx: grid.nx, ny: grid.ny, nt: grid.time.nt },
        contributions,
        contributions_exact: s.contributions_exact,
        runs: options.runs,
        warmup: options.warmup,
        total_time_s: stats(&|r| r.total_s),
        plan_time_s: stats(&|r| r.summary.plan_s),
        kernel_time_s: stats(&|r| r.kernel_s),
        kernel_time_source: runs[0].kernel_source,
        buffer_time_s: stats(&|r| r.buffer_s),
        buffer_time_source: runs[0].buffer_source,
        throughput_mtrace_s: traces_per_s.median * 1e-6,
        contributions_per_s: rate,
        traces_per_s,
        speedup: 1.0,
        speedup_baseline: String::new(),
        ceiling_fraction: options.ceiling.map(|c| rate.median / c),
        accuracy: Accuracy::skipped(String::new()),
        load_before,
        load_after,
        kernel_metrics: metric_stats(&runs),
    };
    for m in &record.kernel_metrics {
        log(&format!("  {}: {:.4} {} median ({:.4}..{:.4})", m.name, m.median, m.unit, m.min, m.max));
    }
    Ok((record, first.expect("at least one run")))
}

/// Each metric the kernel reported, over the runs that reported it.
fn metric_stats(runs: &[Timed]) -> Vec<crate::record::MetricStats> {
    let Some(first) = runs.first() else { return Vec::new() };
    first
        .metrics
        .iter()
        .map(|m| {
            let values: Vec<f64> =
                runs.iter().filter_map(|r| r.metrics.iter().find(|x| x.name == m.name).map(|x| x.value)).collect();
            let s = Stats::of(&values);
            crate::record::MetricStats {
                name: m.name.to_string(),
                unit: m.unit.to_string(),
                median: s.median,
                min: s.min,
                max: s.max,
            }
        })
        .collect()
}

/// One timed run.
struct Timed {
    summary: RunSummary,
    total_s: f64,
    kernel_s: f64,
    kernel_source: TimeSource,
    buffer_s: f64,
    buffer_source: TimeSource,
    metrics: Vec<pstm_kernel::KernelMetric>,
}

impl Timed {
    /// Kernel and buffer times from the kernel's own timers where it has them, else from the
    /// executor's.
    fn new(summary: RunSummary, total_s: f64, timings: pstm_kernel::KernelTimings) -> Self {
        let (kernel_s, kernel_source) = match timings.device_s {
            Some(d) => (d, TimeSource::Device),
            None => (summary.kernel_s, TimeSource::Executor),
        };
        let (buffer_s, buffer_source) = match timings.transfer_s {
            Some(t) => (t, TimeSource::Transfer),
            None => (summary.load_s + summary.read_s, TimeSource::LoadRead),
        };
        Self { summary, total_s, kernel_s, kernel_source, buffer_s, buffer_source, metrics: timings.metrics }
    }
}

/// A kernel's image against `cpu-ref`, running `cpu-ref` (untimed) and the mask when first needed.
fn accuracy(
    options: &BenchOptions,
    job: &MigrationJob,
    reference: &mut Reference,
    candidate: &TileImage,
    log: &mut dyn FnMut(&str),
) -> Result<Accuracy> {
    if reference.image.is_none() {
        log("  running cpu-ref once (untimed) for the accuracy check");
        let cpu_ref = create_kernel(REFERENCE_KERNEL, &options.kernel_options)?;
        let (volumes, _) = migrate_to_memory(job, cpu_ref.as_ref(), RunOptions::QUIET)?;
        reference.image = Some(as_image(volumes));
    }
    if reference.mask.is_none() {
        reference.mask = Some(pstm_engine::check::borderline_mask(job)?);
    }
    let (image, mask) = (reference.image.as_ref().expect("set above"), reference.mask.as_deref().expect("set above"));
    let c = compare(image, candidate, Some(mask));
    let why = failures(&c, &options.tolerance);
    log(&format!("  against cpu-ref: {c}"));
    Ok(Accuracy {
        status: AccuracyStatus::Measured,
        rel_l2: finite(c.rel_l2),
        max_abs: finite(c.max_abs),
        max_rel: finite(c.max_rel),
        fold_mismatches: Some(c.fold_mismatches),
        non_finite: Some(c.non_finite),
        masked: Some(c.masked),
        passes: Some(why.is_empty()),
        note: (!why.is_empty()).then(|| why.join("; ")),
    })
}

//! `pstm compare` and `pstm bench`: the roadmap's correctness test, benchmark and regression
//! alert as commands, on top of the `pstm-bench` library.
//!
//! Exit status: 0 when everything passed; 1 when `compare`'s candidate fails the tolerance, when
//! `bench` measured a kernel that fails the parity rule against `cpu-ref`, when `bench
//! --compare` finds a regression, or on any error. Results and reports are written before a
//! failing exit, so the evidence is kept.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use pstm_bench::bench::DEFAULT_ACCURACY_LIMIT;
use pstm_bench::compare::{PARITY_RTOL, Tolerance};
use pstm_bench::dataset::{bench_job, bench_jobs_yaml, resolve};
use pstm_bench::record::BenchResults;
use pstm_bench::regress::{DEFAULT_MAX_DROP, check};
use pstm_bench::{BenchOptions, report, run_bench, run_compare};
use pstm_engine::registry::{KernelOptions, create_kernel};

#[derive(Args)]
pub struct CompareArgs {
    /// Kernel to compare against.
    #[arg(long, default_value = "cpu-ref")]
    baseline: String,
    /// Kernel under test.
    #[arg(long)]
    candidate: String,
    /// A preset (tiny, small, medium, large, wide; generated once and cached under
    /// $PSTM_CACHE_DIR) or a dataset directory. The job is `pstm bench --print-job --datasets
    /// NAME`.
    #[arg(long, required_unless_present = "job", conflicts_with = "job")]
    dataset: Option<String>,
    /// A job file to compare the kernels on instead (its own dataset, velocity, operator and
    /// grid; outputs go to memory, nothing is written).
    #[arg(long)]
    job: Option<PathBuf>,
    /// Candidate runs. Above 1, every run must equal the first bit for bit (the race check).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Largest relative L2 error |candidate - baseline| / |baseline| outside the borderline
    /// mask (the project's parity rule).
    #[arg(long, default_value_t = PARITY_RTOL)]
    rtol: f64,
    /// Largest absolute difference of any unmasked sample. Off by default: amplitudes scale
    /// with the data, so no absolute bound fits every dataset.
    #[arg(long)]
    atol: Option<f64>,
    /// Part of a GPU adapter's name, for GPU kernels.
    #[arg(long)]
    gpu_adapter: Option<String>,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Kernels to benchmark, comma-separated; the first is the speedup baseline.
    #[arg(long, value_delimiter = ',', required_unless_present_any = ["print_job", "from"])]
    kernels: Vec<String>,
    /// Presets (tiny, small, medium, large, wide) or dataset directories, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "tiny,small,medium")]
    datasets: Vec<String>,
    /// Timed runs per kernel and dataset.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Untimed runs before them.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Write the results as JSON (schema: bench/schema/results.schema.json).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Write an HTML report with charts.
    #[arg(long)]
    report: Option<PathBuf>,
    /// A hardware ceiling in contributions per second (e.g. 1.40e12, the H100's
    /// special-function-unit bound), to report each rate as a fraction of.
    #[arg(long)]
    ceiling: Option<f64>,
    /// A previous results file: exit 1 when a kernel's median throughput on a dataset fell
    /// more than --max-drop below it.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Largest tolerated drop in median throughput against --compare, as a fraction.
    #[arg(long, default_value_t = DEFAULT_MAX_DROP)]
    max_drop: f64,
    /// Largest job, in contributions, on which cpu-ref runs to check accuracy.
    #[arg(long, default_value_t = DEFAULT_ACCURACY_LIMIT as f64)]
    accuracy_limit: f64,
    /// Largest relative L2 error against cpu-ref (the parity rule).
    #[arg(long, default_value_t = PARITY_RTOL)]
    rtol: f64,
    /// Short machine name for the record (default: from the CPU model and core count).
    #[arg(long)]
    machine: Option<String>,
    /// Part of a GPU adapter's name, for GPU kernels.
    #[arg(long)]
    gpu_adapter: Option<String>,
    /// Run nothing: take the results from this file (written by --output earlier, perhaps on
    /// another machine) to draw --report and check --compare.
    #[arg(long, conflicts_with_all = ["kernels", "output"])]
    from: Option<PathBuf>,
    /// Print the benchmark job of the --datasets (YAML; wide has its own, after a `---` line)
    /// and stop.
    #[arg(long)]
    print_job: bool,
    /// No progress lines on standard error.
    #[arg(long)]
    quiet: bool,
}

fn kernel_options(gpu_adapter: Option<String>) -> KernelOptions {
    let mut options = KernelOptions::default();
    options.gpu.adapter = gpu_adapter;
    options
}

pub fn compare(args: CompareArgs) -> Result<()> {
    let options = kernel_options(args.gpu_adapter);
    let baseline = create_kernel(&args.baseline, &options)?;
    let candidate = create_kernel(&args.candidate, &options)?;
    let (job, name) = match (&args.job, &args.dataset) {
        (Some(path), _) => {
            let job = pstm_engine::MigrationJob::from_config(crate::load_job(path)?)?;
            (job, path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned()))
        }
        (None, Some(name)) => {
            let dataset = resolve(name, true)?;
            (bench_job(&dataset)?, dataset.name)
        }
        (None, None) => bail!("give --dataset or --job"),
    };
    let tolerance = Tolerance { rtol: args.rtol, atol: args.atol };
    let outcome = run_compare(&job, &name, baseline.as_ref(), candidate.as_ref(), tolerance, args.repeat)?;
    println!("{outcome}");
    if !outcome.passed() {
        bail!("{} differs from {} beyond tolerance: {}", args.candidate, args.baseline, outcome.failures.join("; "));
    }
    Ok(())
}

pub fn bench(args: BenchArgs) -> Result<()> {
    if args.print_job {
        print!("{}", bench_jobs_yaml(&args.datasets));
        return Ok(());
    }
    if !(args.max_drop >= 0.0 && args.max_drop < 1.0) {
        bail!("--max-drop must be a fraction in [0, 1), not {}", args.max_drop);
    }
    // Read the previous results first: a bad file should not cost a whole benchmark.
    let previous = args.compare.as_deref().map(BenchResults::read).transpose()?;
    let results = match &args.from {
        Some(path) => {
            let mut results = BenchResults::read(path)?;
            // A ceiling given now applies to the stored rates.
            if let Some(c) = args.ceiling {
                results.settings.ceiling_contributions_per_s = Some(c);
                for r in &mut results.results {
                    r.ceiling_fraction = Some(r.contributions_per_s.median / c);
                }
            }
            results
        }
        None => {
            let mut options = BenchOptions::new(args.kernels, args.datasets);
            options.runs = args.runs;
            options.warmup = args.warmup;
            options.ceiling = args.ceiling;
            options.accuracy_limit = args.accuracy_limit.max(0.0) as u64;
            options.tolerance = Tolerance { rtol: args.rtol, atol: None };
            options.kernel_options = kernel_options(args.gpu_adapter);
            options.machine_name = args.machine;
            options.progress = !args.quiet;
            let quiet = args.quiet;
            run_bench(&options, &mut |line| {
                if !quiet {
                    eprintln!("{line}");
                }
            })?
        }
    };
    println!("{}", report::text_table(&results));
    let regression = previous.as_ref().map(|p| check(p, &results, args.max_drop));
    if let Some(path) = &args.output {
        results.write(path)?;
        println!("results written to {}", path.display());
    }
    if let Some(path) = &args.report {
        let page = report::html(&results, regression.as_ref())?;
        pstm_io::staging::write_file(path, page).map_err(|e| anyhow::anyhow!("cannot write the report: {e}"))?;
        println!("report written to {}", path.display());
    }
    let inaccurate: Vec<String> = results
        .results
        .iter()
        .filter(|r| r.accuracy.passes == Some(false))
        .map(|r| format!("{} on {}: {}", r.version, r.dataset, r.accuracy.note.as_deref().unwrap_or("")))
        .collect();
    if let Some(c) = &regression {
        println!("{c}");
    }
    if !inaccurate.is_empty() {
        bail!("kernels fail the parity rule against cpu-ref: {}", inaccurate.join("; "));
    }
    if let Some(c) = regression.filter(|c| c.any_regressed()) {
        let lines: Vec<String> = c.regressions().map(|r| r.summary()).collect();
        bail!("median throughput dropped more than {:.0}%: {}", c.max_drop * 100.0, lines.join("; "));
    }
    Ok(())
}

//! The `pstm` command. Parses arguments, calls `pstm-engine`, maps results to exit codes: 0 on
//! success, 1 on any error (printed as one message naming the culprit), 2 on bad arguments.

mod bench_cmd;
mod launch;
#[cfg(feature = "mpi")]
mod mpi_cluster;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use pstm_config::{JobConfig, SynthSpec, load_yaml_file, template};
use pstm_engine::registry::{KernelOptions, choose_kernel, create_kernel, list_kernels};
use pstm_engine::{MigrationJob, RunOptions, convert, demo, executor, info, synth};
use pstm_io::segy_export::ExportOptions;
use pstm_io::segy_import::ImportOptions;
use pstm_segy::HeaderMap;

#[derive(Parser)]
#[command(name = "pstm", version, about = "Kirchhoff pre-stack time migration of 3D surveys, on GPUs and CPUs")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the tiny synthetic survey, migrate it, and show where the diffractor focused.
    Demo {
        /// Directory for the survey, the image and the PNG slices.
        #[arg(default_value = "pstm-demo")]
        dir: PathBuf,
        /// Kernel to use instead of `auto`.
        #[arg(long)]
        kernel: Option<String>,
    },
    /// Migrate a survey as a job file describes.
    Migrate {
        config: PathBuf,
        /// Kernel to use instead of the file's `execution.kernel`.
        #[arg(long)]
        kernel: Option<String>,
        /// GPUs to migrate on instead of the file's `execution.devices`: `all`, a count (`2`),
        /// or adapter numbers as `pstm kernels` lists them (`0,2`).
        #[arg(long)]
        devices: Option<String>,
        /// Output directory instead of the file's `output.directory`.
        #[arg(long)]
        output: Option<PathBuf>,
        /// Replace an existing output directory (as `output.overwrite: true`).
        #[arg(long)]
        overwrite: bool,
        /// Continue an interrupted run of this job into its output directory: tiles it finished
        /// are kept, the others migrated. A finished output is left as it is; a changed job is
        /// refused, saying what changed.
        #[arg(long, conflicts_with_all = ["dry_run", "preview"])]
        resume: bool,
        /// Print the plan (tiles, traces, contributions, memory) and stop.
        #[arg(long)]
        dry_run: bool,
        /// A quick look first: migrate on a grid 2^LEVEL times coarser in x, y and t (default 2:
        /// about 1/64 of the work) into `<output.directory>-preview` (or --output).
        #[arg(long, value_name = "LEVEL", num_args = 0..=1, default_missing_value = "2")]
        preview: Option<usize>,
        /// No progress bar (or, when stderr is not a terminal, no progress lines).
        #[arg(long)]
        quiet: bool,
        /// Also write progress lines, the summary and any error to this file.
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        /// Seconds between progress lines when stderr is not a terminal, and in the log.
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
        progress_interval: f64,
    },
    /// Check a job file; with --check-data also the data it points to.
    Validate {
        config: PathBuf,
        #[arg(long)]
        check_data: bool,
    },
    /// Write a commented job template.
    CreateConfig {
        /// Only the keys without defaults.
        #[arg(long)]
        minimal: bool,
        /// File to write (`-` for standard output).
        #[arg(long, short, default_value = "job.yaml")]
        output: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Generate a synthetic survey: a preset or a spec file.
    Synth {
        /// Preset: tiny, small, medium, large (the roadmap's) or wide (the reference package's
        /// published job shape, 3.5 GB).
        #[arg(long, conflicts_with = "spec")]
        size: Option<String>,
        /// A YAML synthetic-survey spec (see --print-spec for the format).
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Output dataset directory. Without it, the dataset is cached under $PSTM_CACHE_DIR
        /// (default .pstm-cache) by preset and parameters and reused when present.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing output directory.
        #[arg(long)]
        overwrite: bool,
        /// Print the spec (of the preset) as YAML and stop.
        #[arg(long)]
        print_spec: bool,
    },
    /// Summarise a dataset, a volume or an output directory.
    Info { path: PathBuf },
    /// Draw PNG pictures of a volume or an output directory: sections, a time slice, gathers.
    Plot {
        /// A volume (`migrated_stack.zarr`, ...) or an output directory.
        path: PathBuf,
        /// Directory for the pictures (`<name>_<kind>.png`).
        #[arg(long, default_value = "plots")]
        out: PathBuf,
        /// Pictures to draw: inline, crossline, time, gather (an output directory's offset
        /// gathers).
        #[arg(long, value_delimiter = ',', default_value = "inline,crossline,time")]
        kind: Vec<String>,
        /// The inline to draw (and where the others cut); default: through the peak |amplitude|.
        #[arg(long)]
        inline: Option<i64>,
        /// The crossline to draw; default: through the peak.
        #[arg(long)]
        crossline: Option<i64>,
        /// The time slice's time (ms); default: the peak's.
        #[arg(long)]
        time_ms: Option<f64>,
        /// Percentile of |amplitude| the colours saturate at.
        #[arg(long, default_value_t = 99.0)]
        clip: f64,
        /// Automatic gain control for display, over a window of this many ms.
        #[arg(long, value_name = "MS")]
        agc: Option<f64>,
        /// Inline number of the grid's first x index (as `pstm export`).
        #[arg(long, default_value_t = 1)]
        first_inline: i64,
        /// Crossline number of the grid's first y index.
        #[arg(long, default_value_t = 1)]
        first_crossline: i64,
    },
    /// Bring data into a pstm dataset.
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// Write a volume, the offset gathers of an output directory, or a dataset as SEG-Y.
    Export {
        /// A volume (`migrated_stack.zarr`, `fold.zarr`, ...), an output directory (its stack, or
        /// its gathers with --gathers), or a dataset directory.
        path: PathBuf,
        /// The SEG-Y file to write.
        #[arg(long)]
        out: PathBuf,
        /// Sample format.
        #[arg(long, default_value = "ieee", value_parser = ["ieee", "ibm"])]
        format: String,
        /// Export the output directory's offset gathers as one prestack cube.
        #[arg(long)]
        gathers: bool,
        /// Inline number of the grid's first x index.
        #[arg(long, default_value_t = 1)]
        first_inline: i32,
        /// Crossline number of the grid's first y index.
        #[arg(long, default_value_t = 1)]
        first_crossline: i32,
        /// Replace an existing file.
        #[arg(long)]
        overwrite: bool,
    },
    /// List the migration kernels and whether each can run here.
    Kernels {
        /// Instead, measure how fast trace samples reach the GPU along each of gpu-v1's upload
        /// paths, with this many MiB, against a plain memcpy.
        #[arg(long)]
        upload_mib: Option<u64>,
    },
    /// Compare two kernels on a dataset: differences, fold, and with --repeat the race check.
    Compare(bench_cmd::CompareArgs),
    /// Benchmark kernels on datasets: times, throughput, speedup, accuracy, report, regressions.
    Bench(bench_cmd::BenchArgs),
}

#[derive(Subcommand)]
enum ImportFormat {
    /// A prestack SEG-Y file (revisions 0-2, IBM/IEEE/integer samples, either byte order).
    Segy {
        file: PathBuf,
        /// The dataset directory to create.
        #[arg(long)]
        out: PathBuf,
        /// Header byte locations that differ from the standard, `key=byte[:width],...`
        /// (keys: sx sy gx gy cdpx cdpy offset inline crossline scalco scalel delay gelev selev).
        #[arg(long)]
        map: Option<String>,
        /// Azimuth (degrees from north) given to traces whose headers hold only a CDP and an offset.
        #[arg(long, default_value_t = 0.0)]
        azimuth_when_missing: f64,
        /// A trace with a NaN or infinite sample: `error` (stop, naming it) or `zero_trace` (import
        /// it zeroed and marked dead, left out of migrations).
        #[arg(long, default_value = "error", value_parser = ["error", "zero_trace"])]
        bad_samples: String,
        /// Replace an existing dataset.
        #[arg(long)]
        overwrite: bool,
    },
}

fn main() -> ExitCode {
    // Mesa's Vulkan drivers print a scary "error: XDG_RUNTIME_DIR is invalid" on machines
    // without a session (servers, CI); a temporary directory quiets them.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: still single-threaded: nothing has started a thread yet.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            pstm_engine::progress::log_line(&format!("error: {e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Demo { dir, kernel } => {
            let report = demo::run_demo(&dir, kernel.as_deref(), true)?;
            println!("{report}");
            if !report.focused() {
                bail!("the demo image did not focus at the diffractor");
            }
        }
        Command::Migrate {
            config,
            kernel,
            devices,
            output,
            overwrite,
            resume,
            dry_run,
            preview,
            quiet,
            log,
            progress_interval,
        } => {
            if let Some(path) = &log {
                pstm_engine::progress::log_to_file(path).with_context(|| format!("--log {}", path.display()))?;
            }
            if !(progress_interval.is_finite() && progress_interval >= 0.0) {
                bail!("--progress-interval {progress_interval}: must be 0 or more seconds");
            }
            pstm_engine::progress::set_interval(progress_interval);
            let mut cfg = load_job(&config)?;
            let kernel_source = if kernel.is_some() { "--kernel" } else { "execution.kernel" };
            if let Some(k) = kernel {
                cfg.execution.kernel = k;
            }
            if let Some(d) = devices {
                cfg.execution.devices = parse_devices(&d)?;
            }
            if let Some(level) = preview
                && !(1..=4).contains(&level)
            {
                anyhow::bail!("--preview {level}: the level must be 1 to 4 (2^level times coarser in x, y and t)");
            }
            let preview_dir = match (&output, preview) {
                (Some(o), _) => o.clone(),
                (None, _) => {
                    let dir = &cfg.output.directory;
                    let name = dir.file_name().map_or("migrated".into(), |n| n.to_string_lossy().into_owned());
                    dir.with_file_name(format!("{name}-preview"))
                }
            };
            if let Some(o) = output {
                cfg.output.directory = o;
            }
            cfg.output.overwrite |= overwrite;
            if quiet {
                cfg.execution.progress = false;
            }
            let mut job = MigrationJob::from_config(cfg)?;
            if let Some(level) = preview {
                job = job.preview(level, preview_dir);
            }
            // Under mpirun, ranks on one host split its GPUs (`execution.devices: all`).
            let launch = launch::Launch::detect()?;
            let kernel_options =
                KernelOptions { host_share: launch.host_share(), ..KernelOptions::from_config(&job.execution) };
            let (kernel, why) = choose_kernel(&job.execution.kernel, &kernel_options)?;
            let why = if why.starts_with("auto") { why } else { format!("{why} by {kernel_source}") };
            if dry_run {
                let started = std::time::Instant::now();
                let plan = executor::plan_only(&job, kernel.as_ref())?;
                let plan_s = started.elapsed().as_secs_f64();
                println!("{plan}");
                println!("chosen            {why}");
                println!("on                {}", kernel.device());
                let n = job.dataset.headers().len();
                println!("traces selected   {} of {n}; left out: {}", job.selected.len(), job.left_out);
                println!("estimate          {}", executor::estimate(&job, kernel.as_ref(), &plan, plan_s)?);
                println!(
                    "grid              {} x {} x {} ({} output samples)",
                    job.grid.nx,
                    job.grid.ny,
                    job.grid.time.nt,
                    job.grid.n_samples()
                );
                if let Some(a) = &job.adaptive {
                    let coarse = job.coarse_pass(a).grid;
                    println!(
                        "adaptive          a coarse pass on {} x {} columns first, then only the cells within {} coarse columns of amplitudes above {} of its peak (the plan above is the full pass's)",
                        coarse.nx, coarse.ny, a.dilation, a.threshold
                    );
                }
                if let Some(t) = &job.adaptive_time {
                    let factor = match t.factor {
                        Some(m) => format!("1 output time in {m}"),
                        None => format!(
                            "1 output time in up to {}, as the image's band allows (where its spectrum stays {} dB below its peak, on a pilot migration)",
                            t.max_factor, t.level_db
                        ),
                    };
                    println!(
                        "adaptive time     migrates {factor}, and interpolates the others (the plan above is the full axis's)"
                    );
                }
                launch.done();
                return Ok(());
            }
            if resume && let Some(done) = pstm_engine::output::finished_output(&job.output_dir) {
                println!("{done}");
                pstm_engine::progress::log_line(&done);
                launch.done();
                return Ok(());
            }
            let options = RunOptions { progress: job.execution.progress, resume };
            let Some(mut summary) = launch.migrate(&job, kernel.as_ref(), options)? else {
                // Another MPI rank: rank 0 reports the run.
                return Ok(());
            };
            summary.kernel_choice = Some(why);
            println!("{summary}");
            pstm_engine::progress::log_line(&summary.to_string());
        }
        Command::Plot { path, out, kind, inline, crossline, time_ms, clip, agc, first_inline, first_crossline } => {
            let kinds = kind
                .iter()
                .map(|k| {
                    pstm_engine::plot::PlotKind::parse(k.trim())
                        .with_context(|| format!("--kind {k}: not one of inline, crossline, time, gather"))
                })
                .collect::<Result<Vec<_>>>()?;
            if !(clip > 0.0 && clip <= 100.0) {
                bail!("--clip {clip}: a percentile in (0, 100]");
            }
            if let Some(a) = agc
                && !(a.is_finite() && a > 0.0)
            {
                bail!("--agc {a}: a window of more than 0 ms");
            }
            let options = pstm_engine::plot::PlotOptions {
                kinds,
                inline,
                crossline,
                time_ms,
                clip_percentile: clip,
                agc_ms: agc,
                first_inline,
                first_crossline,
            };
            for picture in pstm_engine::plot::plot(&path, &out, &options)? {
                println!("wrote {} (clip {:.3e})", picture.path.display(), picture.clip);
            }
        }
        Command::Validate { config, check_data } => {
            let cfg = load_job(&config)?;
            if check_data {
                let job = MigrationJob::from_config(cfg)?;
                // Every chunk read (checksums verified), every sample checked.
                let scan = job.dataset.scan_samples()?;
                // Only the traces the job migrates matter (a killed bad trace is dealt with).
                let bad: Vec<_> =
                    scan.non_finite.iter().filter(|b| job.selected.binary_search(&b.trace).is_ok()).collect();
                if let Some(first) = bad.first()
                    && job.config.input.bad_samples == pstm_config::job::BadSamples::Error
                {
                    bail!(
                        "input.dataset: {}: {first}{}; set input.bad_samples: zero_trace to leave such traces out, or kill them (input.kill)",
                        job.dataset.root().join(pstm_io::dataset::TRACES).display(),
                        match bad.len() - 1 {
                            0 => String::new(),
                            more => format!(" (and {more} more traces)"),
                        }
                    );
                }
                let kernel = create_kernel(&job.execution.kernel, &KernelOptions::from_config(&job.execution))?;
                let plan = executor::plan_only(&job, kernel.as_ref())?;
                println!("{}: valid; data checked", config.display());
                println!(
                    "samples: every chunk of {} read; {} traces with NaN or infinite samples, {} all zero",
                    job.dataset.root().join(pstm_io::dataset::TRACES).display(),
                    scan.non_finite.len(),
                    scan.all_zero.len()
                );
                println!(
                    "traces: {} of {} to migrate; left out: {}",
                    job.selected.len(),
                    job.dataset.headers().len(),
                    job.left_out
                );
                println!("{plan}");
            } else {
                println!("{}: valid (data not checked; add --check-data)", config.display());
            }
        }
        Command::CreateConfig { minimal, output, force } => {
            let text = if minimal { template::MINIMAL } else { template::FULL };
            if output == Path::new("-") {
                print!("{text}");
            } else {
                if output.exists() && !force {
                    bail!("{}: already exists (use --force to replace it)", output.display());
                }
                pstm_io::staging::write_file(&output, text)?;
                println!("wrote {}", output.display());
            }
        }
        Command::Synth { size, spec, out, overwrite, print_spec } => {
            let (name, spec) = match (size, spec) {
                (Some(s), None) => {
                    let spec = SynthSpec::preset(&s).with_context(|| {
                        format!("unknown size `{s}`; valid sizes: {}", pstm_config::synth::PRESETS.join(", "))
                    })?;
                    (s, spec)
                }
                (None, Some(p)) => ("custom".to_string(), load_yaml_file::<SynthSpec>(&p)?),
                _ => bail!("give --size PRESET or --spec FILE"),
            };
            if print_spec {
                print!("{}", serde_saphyr::to_string(&spec)?);
                return Ok(());
            }
            let summary = match out {
                Some(dir) => synth::generate(&spec, &dir, overwrite, true)?,
                None => synth::cached(&name, &spec, true)?,
            };
            println!("{summary}");
        }
        Command::Info { path } => print!("{}", info::describe(&path)?),
        Command::Import {
            format: ImportFormat::Segy { file, out, map, azimuth_when_missing, bad_samples, overwrite },
        } => {
            let header_map = match map {
                Some(m) => HeaderMap::parse(&m).with_context(|| format!("--map {m}"))?,
                None => HeaderMap::default(),
            };
            let options = ImportOptions {
                header_map,
                overwrite,
                azimuth_when_missing_deg: azimuth_when_missing,
                bad_samples: if bad_samples == "zero_trace" {
                    pstm_io::segy_import::BadSamples::ZeroTrace
                } else {
                    pstm_io::segy_import::BadSamples::Error
                },
                ..Default::default()
            };
            println!("{}", convert::import(&file, &out, &options, true)?);
        }
        Command::Export { path, out, format, gathers, first_inline, first_crossline, overwrite } => {
            let source = convert::ExportSource::find(&path, gathers)?;
            let options = ExportOptions {
                format: format.parse().map_err(|e| anyhow::anyhow!("--format: {e}"))?,
                overwrite,
                first_inline,
                first_crossline,
                ..Default::default()
            };
            println!("{}", convert::export(&source, &out, &options)?);
        }
        Command::Compare(args) => bench_cmd::compare(args)?,
        Command::Bench(args) => bench_cmd::bench(args)?,
        Command::Kernels { upload_mib: Some(mib) } => {
            println!("{}", pstm_engine::registry::measure_upload(&KernelOptions::default(), mib)?);
        }
        Command::Kernels { upload_mib: None } => {
            let options = KernelOptions::default();
            for k in list_kernels(&options) {
                match k.available {
                    Ok(device) => println!(
                        "{:<12} available    {}\n{:<12} on           {device}",
                        k.id.name(),
                        k.id.description(),
                        ""
                    ),
                    Err(why) => println!(
                        "{:<12} unavailable  {}\n{:<12} because      {why}",
                        k.id.name(),
                        k.id.description(),
                        ""
                    ),
                }
            }
            println!(
                "\nGPU adapters, numbered for execution.devices (PSTM_GPU_ADAPTER or execution.gpu.adapter narrows them by name):"
            );
            match pstm_engine::registry::gpu_adapters(&options) {
                Ok(list) => list.iter().enumerate().for_each(|(i, a)| println!("{i:>4}  {a}")),
                Err(e) => println!("      none: {e}"),
            }
        }
    }
    Ok(())
}

/// `--devices`: as `execution.devices`, a list also without its brackets (`0,2`).
fn parse_devices(text: &str) -> Result<pstm_config::job::Devices> {
    let t = text.trim();
    let yaml = if t.contains(',') && !t.starts_with('[') { format!("[{t}]") } else { t.to_string() };
    serde_saphyr::from_str(&yaml).with_context(|| format!("--devices {text}"))
}

/// Load a job file and make its paths relative to its directory.
pub(crate) fn load_job(path: &Path) -> Result<JobConfig> {
    let mut cfg: JobConfig = load_yaml_file(path)?;
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    cfg.resolve_paths(base);
    Ok(cfg)
}

//! Running a planned job: a pipeline of tiles from a scheduler, through the kernel's session, to
//! the outputs.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use pstm_config::job::Fallback;
use pstm_kernel::{FinishedTile, JobSetup, KernelError, KernelSession, MigrationKernel, TileImage, TileWork};
use pstm_math::adaptive::OutputMask;
use pstm_math::time_sampling::{TimeDecimation, coarse_cells};
use serde::Serialize;

use crate::adaptive_time::{self, TimeSamplingSummary, upsample};
use crate::error::{EngineError, Result};
use crate::job::MigrationJob;
use crate::output::{MemoryOutput, MemoryVolumes, OutputSink};
use crate::plan::{Plan, plan, plan_sharing};
use crate::registry::KernelOptions;
use crate::scheduler::{TileQueue, TileScheduler};
use crate::store::JobTraces;

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Continue an interrupted run of the same job into the same output directory
    /// (`pstm migrate --resume`), if one is there.
    pub resume: bool,
}

impl RunOptions {
    /// No progress bar, no resuming: tests, comparisons, benchmarks.
    pub const QUIET: Self = Self { progress: false, resume: false };
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { progress: true, resume: false }
    }
}

/// What a run did and how long each part took.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub kernel: String,
    pub device: String,
    /// Each device's share of the tiles (`execution.devices`; a CPU fallback is one more).
    pub devices: Vec<DeviceShare>,
    /// Processes that shared the run (MPI ranks), each with its devices.
    pub processes: usize,
    pub tiles: usize,
    pub tile_shape: (usize, usize),
    pub block_traces: usize,
    pub traces_in_memory: bool,
    pub n_traces: usize,
    /// Traces of the dataset not migrated, and why.
    pub left_out: crate::selection::LeftOut,
    pub n_output_samples: usize,
    /// In-aperture (trace, output sample) pairs, from the plan.
    pub contributions: u64,
    pub contributions_exact: bool,
    /// Sum of the fold: contributions whose traveltime fell inside the trace.
    pub fold_sum: u64,
    /// Planning (index, counts).
    pub plan_s: f64,
    /// Loading traces into memory, when they fit.
    pub load_s: f64,
    /// Reading and filtering trace blocks, summed over workers.
    pub read_s: f64,
    /// Inside the kernel (begin, add, finish), summed over workers.
    pub kernel_s: f64,
    /// Writing tiles, summed over workers.
    pub write_s: f64,
    /// The whole run, wall clock: planning, loading, every tile, and writing (committing) the
    /// outputs.
    pub total_s: f64,
    pub output: Option<PathBuf>,
    /// What an adaptive run's coarse pass and mask did.
    pub adaptive: Option<AdaptiveSummary>,
    /// What an adaptive-time run's coarser axis did.
    pub time_sampling: Option<TimeSamplingSummary>,
    /// The migration pipeline itself, wall clock: tiles read, migrated and written.
    pub pipeline_s: f64,
    /// Threads the kernel's session migrates on at once (its `kernel_s` is summed over them).
    pub workers: usize,
    /// Why this kernel (set by whoever chose it: `auto: ...; chose cpu`).
    pub kernel_choice: Option<String>,
    /// What the run recovered from (a device out of memory, a fallback to the CPU).
    pub notes: Vec<String>,
    /// The interrupted run this one continued.
    pub resumed: Option<crate::output::Resumed>,
}

/// An adaptive run (`algorithm.adaptive`): its coarse pass, its mask, and the work saved.
#[derive(Debug, Clone, Serialize)]
pub struct AdaptiveSummary {
    pub coarse_columns: (usize, usize),
    /// The coarse pass, wall clock (s).
    pub coarse_s: f64,
    pub coarse_contributions: u64,
    /// Of the fine grid's output samples, the fraction migrated.
    pub active_fraction: f64,
    /// The fine pass's in-aperture contributions inside the mask (tile by tile, in proportion to
    /// the samples kept).
    pub fine_contributions: u64,
    /// The correlation with the full migration the coarse image predicts.
    pub estimated_correlation: f64,
    /// Whether the kernel skipped the cells outside the mask (else it migrated every cell of the
    /// tiles with a kept one, and the engine zeroed the rest).
    pub kernel_skips: bool,
}

impl AdaptiveSummary {
    /// Work done (coarse and fine contributions) over the full migration's, for a kernel that
    /// skips the cells outside the mask.
    pub fn work_fraction(&self, full: u64) -> f64 {
        (self.coarse_contributions + self.fine_contributions) as f64 / full.max(1) as f64
    }
}

impl RunSummary {
    /// Contributions per second of wall-clock time.
    pub fn rate(&self) -> f64 {
        self.contributions as f64 / self.total_s.max(1e-12)
    }
}

impl std::fmt::Display for RunSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "kernel          {} on {}", self.kernel, self.device)?;
        if let Some(why) = &self.kernel_choice {
            writeln!(f, "chosen          {why}")?;
        }
        writeln!(
            f,
            "output          {} samples in {} tiles of {} x {} columns",
            self.n_output_samples, self.tiles, self.tile_shape.0, self.tile_shape.1
        )?;
        writeln!(
            f,
            "traces          {} ({}){}",
            self.n_traces,
            if self.traces_in_memory { "held in memory" } else { "streamed" },
            if self.left_out.total() > 0 { format!("; left out: {}", self.left_out) } else { String::new() }
        )?;
        // An adaptive run computes less than it counts: the full migration's contributions.
        let full = self.adaptive.is_some() || self.time_sampling.is_some();
        writeln!(
            f,
            "contributions   {:.4e}{} ({:.3} G/s{} over {:.2} s)",
            self.contributions as f64,
            if full { " of the full migration" } else { "" },
            self.rate() * 1e-9,
            if full { " effective" } else { "" },
            self.total_s
        )?;
        if let Some(t) = &self.time_sampling {
            let why = match t.highest_frequency_hz {
                Some(f) => format!(
                    "the image's band ends at {f:.1} Hz on {} sample columns{}",
                    t.pilot_columns,
                    if t.pilot_s > 0.0 { format!(" migrated in {:.2} s", t.pilot_s) } else { String::new() }
                ),
                None if t.configured => "as configured".to_string(),
                None => "the image holds no energy".to_string(),
            };
            if t.factor == 1 {
                writeln!(f, "time sampling   every output time migrated ({why}: no coarser axis holds it)")?;
            } else {
                writeln!(
                    f,
                    "time sampling   1 output time in {} migrated ({:.3} ms apart; {why}), the others interpolated; {:.4e} contributions computed ({:.1}% of the full migration's)",
                    t.factor,
                    t.coarse_dt_ms,
                    t.computed_contributions as f64,
                    t.computed_contributions as f64 / self.contributions.max(1) as f64 * 100.0
                )?;
            }
        }
        if let Some(a) = &self.adaptive {
            write!(
                f,
                "adaptive        coarse pass on {} x {} columns in {:.2} s; {:.2}% of the output samples kept (estimated correlation with the full migration {:.4}); ",
                a.coarse_columns.0,
                a.coarse_columns.1,
                a.coarse_s,
                a.active_fraction * 100.0,
                a.estimated_correlation
            )?;
            if a.kernel_skips {
                writeln!(f, "work {:.1}% of the full migration's", a.work_fraction(self.contributions) * 100.0)?;
            } else {
                writeln!(
                    f,
                    "this kernel migrates every sample of a tile with a kept one (tiles without are skipped), the rest zeroed"
                )?;
            }
        }
        // One device's figures are the run's own.
        if self.devices.len() > 1 {
            let shared: u64 = self.devices.iter().map(|d| d.contributions).sum();
            for (i, d) in self.devices.iter().enumerate() {
                writeln!(
                    f,
                    "device {i:<8} {}: {} tiles, {:.1}% of the contributions, {:.3} G/s over {:.2} s{}",
                    d.device,
                    d.tiles,
                    d.contributions as f64 / shared.max(1) as f64 * 100.0,
                    d.rate() * 1e-9,
                    d.wall_s,
                    d.failed.as_ref().map_or_else(String::new, |e| format!("; failed: {e}"))
                )?;
            }
        }
        writeln!(f, "fold sum        {:.4e}", self.fold_sum as f64)?;
        if let Some(r) = &self.resumed {
            writeln!(
                f,
                "resumed         {} of {} tiles were finished by an interrupted run ({}); the other {} migrated now",
                r.tiles_done,
                self.tiles,
                r.partial.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                self.tiles - r.tiles_done
            )?;
        }
        for note in &self.notes {
            writeln!(f, "recovered       {note}")?;
        }
        // Wall-clock parts, in order; they add up to the total.
        let coarse = self.adaptive.as_ref().map_or(0.0, |a| a.coarse_s);
        let pilot = self.time_sampling.as_ref().map_or(0.0, |t| t.pilot_s);
        let mut parts = format!("plan {:.2} s, load {:.2} s", self.plan_s, self.load_s);
        if coarse > 0.0 {
            parts += &format!(", adaptive coarse pass {coarse:.2} s");
        }
        if pilot > 0.0 {
            parts += &format!(", time-sampling pilot {pilot:.2} s");
        }
        let rest = self.total_s - self.plan_s - self.load_s - coarse - pilot - self.pipeline_s;
        writeln!(
            f,
            "time            {:.2} s wall: {parts}, migration {:.2} s, the rest {:.2} s (opening and finishing the outputs)",
            self.total_s,
            self.pipeline_s,
            rest.max(0.0)
        )?;
        // Busy times of the pipeline's stages: each summed over its threads, so together they
        // may exceed the migration's wall time by what ran at the same time.
        let busy = self.kernel_s + self.read_s + self.write_s;
        write!(
            f,
            "stages          in the migration's {:.2} s: kernel busy {:.2} s (summed over {} worker{}), reading traces {:.2} s, writing {:.2} s; {:.2} s of it ran at the same time as another",
            self.pipeline_s,
            self.kernel_s,
            self.workers,
            if self.workers == 1 { "" } else { "s" },
            self.read_s,
            self.write_s,
            (busy - self.pipeline_s).max(0.0)
        )?;
        if let Some(o) = &self.output {
            write!(f, "\nwritten to      {}", o.display())?;
        }
        Ok(())
    }
}

/// A thread pool of the job's size (execution.threads, 0 = all cores). Everything a run computes,
/// the kernels' parallel loops and the pipeline's stages alike, runs inside it.
pub fn pool(job: &MigrationJob) -> Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(job.execution.threads)
        .build()
        .map_err(|e| EngineError::Other(format!("cannot start worker threads: {e}")))
}

/// Plan a job without running it (for `--dry-run`).
pub fn plan_only(job: &MigrationJob, kernel: &dyn MigrationKernel) -> Result<Plan> {
    pool(job)?.install(|| plan(job, kernel))
}

/// Columns a dry run's calibration migrates at most (a sample of the grid, every column of
/// the time axis): enough to keep a GPU busy, a small part of a large job.
const CALIBRATION_COLUMNS: usize = 2048;

/// How long a job should take on this machine, from a short calibration run of it.
#[derive(Debug, Clone)]
pub struct RunEstimate {
    /// Of the job's columns, one in `factor` x `factor` was migrated.
    pub factor: usize,
    pub kernel: String,
    /// Contributions per second the calibration's migration reached.
    pub rate: f64,
    pub plan_s: f64,
    /// Loading the traces (when they are held in memory), as the calibration did.
    pub load_s: f64,
    pub migration_s: f64,
}

impl RunEstimate {
    pub fn total_s(&self) -> f64 {
        self.plan_s + self.load_s + self.migration_s
    }
}

impl std::fmt::Display for RunEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.total_s();
        let total = if total < 10.0 { format!("{total:.2}") } else { format!("{total:.0}") };
        write!(
            f,
            "about {total} s: plan {:.2} s, load {:.2} s, migration {:.2} s at {:.3} G contributions/s, as {} migrated 1 in {} x {} of the columns here (adaptive passes and writing not counted)",
            self.plan_s,
            self.load_s,
            self.migration_s,
            self.rate * 1e-9,
            self.kernel,
            self.factor,
            self.factor
        )
    }
}

/// Estimate a planned job's run time on this machine (`--dry-run`): migrate it on a sparse grid
/// of at most [`CALIBRATION_COLUMNS`] columns (the same traces, time axis and kernel) into
/// memory, and scale its rate to the plan's contributions. `plan_s` is what planning took.
pub fn estimate(job: &MigrationJob, kernel: &dyn MigrationKernel, plan: &Plan, plan_s: f64) -> Result<RunEstimate> {
    let factor = job.grid_thinning(CALIBRATION_COLUMNS, 2);
    let sample = job.sparse(factor);
    let (_, s) = migrate_to_memory(&sample, kernel, RunOptions::QUIET)?;
    let rate = s.contributions as f64 / s.pipeline_s.max(1e-9);
    Ok(RunEstimate {
        factor,
        kernel: kernel.name().to_string(),
        rate,
        plan_s,
        load_s: s.load_s,
        migration_s: plan.contributions as f64 / rate.max(1e-30),
    })
}

/// Migrate a job into its output directory.
pub fn migrate(job: &MigrationJob, kernel: &dyn MigrationKernel, options: RunOptions) -> Result<RunSummary> {
    let summary = crate::distributed::migrate_shared(job, kernel, options, &crate::distributed::Alone)?;
    Ok(summary.expect("the one process is rank 0"))
}

/// Migrate a job into memory (tests, comparisons, benchmarks). Nothing is written to disk.
pub fn migrate_to_memory(
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    options: RunOptions,
) -> Result<(MemoryVolumes, RunSummary)> {
    let run = plan_and_execute(job, kernel, options, |_, _| {
        Ok(MemoryOutput::new(job.grid, job.gathers.as_ref().map_or(0, |g| g.bins.len())))
    })?;
    Ok((run.sink.into_volumes(), run.summary))
}

/// A job planned and executed into the sink `make_sink` made for its plan.
pub(crate) struct Run<S> {
    pub(crate) pool: rayon::ThreadPool,
    pub(crate) sink: S,
    pub(crate) summary: RunSummary,
    pub(crate) started: Instant,
}

pub(crate) fn plan_and_execute<S: OutputSink>(
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    options: RunOptions,
    make_sink: impl FnOnce(&Plan, serde_json::Value) -> Result<S>,
) -> Result<Run<S>> {
    let pool = pool(job)?;
    let started = Instant::now();
    let plan = pool.install(|| plan(job, kernel))?;
    let plan_s = started.elapsed().as_secs_f64();
    let t = Instant::now();
    let store = pool.install(|| JobTraces::new(job, plan.traces_in_memory))?;
    let load_s = t.elapsed().as_secs_f64();
    // A configured time factor applies to the adaptive coarse pass too; one chosen from the
    // image's band is measured on the coarse pass's image, which must then be on the full axis.
    let configured = job.adaptive_time.and_then(|t| t.factor).map(|m| TimeDecimation::new(job.grid.time, m));
    let mut coarse = match &job.adaptive {
        Some(settings) => Some(coarse_pass(&pool, job, kernel, settings, &plan, &store, configured.as_ref())?),
        None => None,
    };
    let decimation = match &job.adaptive_time {
        None => None,
        Some(settings) => {
            // The image's band, from a sample of it: the adaptive coarse pass's when there is one.
            let sample = coarse.as_mut().map(|(_, adaptive, image)| {
                (adaptive.coarse_columns.0 * adaptive.coarse_columns.1, std::mem::take(image))
            });
            Some(adaptive_time::decide(&pool, job, kernel, &plan, &store, settings, sample)?)
        }
    };
    let decimated = decimation.as_ref().map(|d| &d.decimation).filter(|d| !d.is_identity());
    // The kernels migrate the coarse axis: the same job, tiles and blocks on it.
    let coarse_time = decimated.map(|d| job.on_time_axis(d.coarse));
    let run_job = coarse_time.as_ref().unwrap_or(job);
    let run_plan = decimated.map(|d| plan.on_time_axis(d.coarse, job.operator.aperture.mode));
    let executed = run_plan.as_ref().unwrap_or(&plan);
    let mask = coarse.as_ref().map(|(mask, _, _)| mask);
    // How the work was cut: with the job, what decides every bit of each tile (`journal`).
    let cut = serde_json::json!({
        "tiles": executed.tiles.len(),
        "tile_shape": executed.tile_shape,
        "block_traces": executed.block_traces,
        "time_factor": decimated.map_or(1, |d| d.factor),
        "adaptive_kept_fraction": mask.map(|m| m.active_fraction()),
    });
    let sink = make_sink(executed, cut)?;
    let mut summary =
        execute_with(&pool, run_job, kernel, executed, &store, &sink, options, mask, decimated, "migrate")?;
    summary.load_s = load_s;
    // The full migration's figures: the job's grid and contributions, whatever was computed.
    summary.contributions = plan.contributions;
    summary.contributions_exact = plan.contributions_exact;
    summary.n_output_samples = job.grid.n_samples();
    if let Some((mask, mut adaptive, _)) = coarse {
        let (kept, samples, contributions) = executed.tiles.iter().fold((0usize, 0usize, 0f64), |acc, t| {
            let cells = mask.tile_cells(&t.tile);
            let (kept, n) = (cells.active_samples(), t.tile.n_columns() * job.grid.time.nt);
            (acc.0 + kept, acc.1 + n, acc.2 + t.contributions as f64 * kept as f64 / n.max(1) as f64)
        });
        adaptive.active_fraction = kept as f64 / samples.max(1) as f64;
        adaptive.fine_contributions = contributions.round() as u64;
        summary.adaptive = Some(adaptive);
    }
    if let Some(d) = &decimation {
        summary.time_sampling =
            Some(TimeSamplingSummary { computed_contributions: executed.contributions, ..d.summary.clone() });
    }
    summary.plan_s = plan_s;
    summary.total_s = started.elapsed().as_secs_f64();
    Ok(Run { pool, sink, summary, started })
}

/// A sample of a job's image: `sparse` (the job on a sparser grid) migrated into memory, sharing
/// the full plan's midpoint index and the job's traces (the same selected traces, filtered
/// alike). Its stack, and its summary.
pub(crate) fn sparse_image(
    pool: &rayon::ThreadPool,
    sparse: &MigrationJob,
    kernel: &dyn MigrationKernel,
    fine: &Plan,
    store: &JobTraces<'_>,
    label: &str,
) -> Result<(Vec<f32>, RunSummary)> {
    let plan = pool.install(|| plan_sharing(sparse, kernel, Some(fine.index.clone())))?;
    let sink = MemoryOutput::new(sparse.grid, 0);
    let quiet = RunOptions::QUIET;
    let summary = execute_with(pool, sparse, kernel, &plan, store, &sink, quiet, None, None, label)?;
    Ok((sink.into_volumes().stack, summary))
}

/// An adaptive run's coarse pass (`pstm_math::adaptive`): the job on the coarse grid, into
/// memory, and the mask of its stack (returned too, on the job's time axis). With a time
/// decimation it migrates the coarse time axis and interpolates its image back, as the fine pass
/// will. The summary's fine-pass figures are filled in later.
fn coarse_pass(
    pool: &rayon::ThreadPool,
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    settings: &pstm_math::adaptive::AdaptiveSettings,
    fine: &Plan,
    store: &JobTraces<'_>,
    decimation: Option<&TimeDecimation>,
) -> Result<(OutputMask, AdaptiveSummary, Vec<f32>)> {
    let started = Instant::now();
    let coarse = job.coarse_pass(settings);
    let decimation = decimation.filter(|d| !d.is_identity());
    let migrated = decimation.map(|d| job.on_time_axis(d.coarse).coarse_pass(settings));
    let (stack, summary) =
        sparse_image(pool, migrated.as_ref().unwrap_or(&coarse), kernel, fine, store, "migrate: adaptive coarse pass")?;
    // Back on the job's time axis, as the fine pass's image will be.
    let stack = match decimation {
        None => stack,
        Some(d) => {
            let image = TileImage { fold: vec![0; stack.len()], image: stack };
            pool.install(|| upsample(d, &image)).image
        }
    };
    let mask = pool.install(|| OutputMask::from_coarse_image(&coarse.grid, &stack, *settings));
    let adaptive = AdaptiveSummary {
        coarse_columns: (coarse.grid.nx, coarse.grid.ny),
        coarse_s: started.elapsed().as_secs_f64(),
        coarse_contributions: summary.contributions,
        active_fraction: mask.active_fraction(),
        fine_contributions: 0,
        estimated_correlation: mask.estimated_correlation(),
        kernel_skips: kernel.skips_inactive_cells(),
    };
    Ok((mask, adaptive, stack))
}

/// Finished pieces of work the writer may hold beyond those being migrated (queued for it, being
/// written, or waiting for an earlier offset bin of their tile): each holds a tile's image and
/// fold, so the plan's memory estimate counts them.
pub const WRITE_QUEUE_TILES: usize = 2;

/// Counts pieces of work submitted and not yet consumed by the writer, so that finished ones
/// cannot pile up beyond what the plan budgeted however unevenly they finish.
struct Permits {
    free: Mutex<usize>,
    changed: std::sync::Condvar,
}

impl Permits {
    fn new(n: usize) -> Self {
        Self { free: Mutex::new(n.max(1)), changed: std::sync::Condvar::new() }
    }

    /// Take one, waiting while none is free; false once the run failed.
    fn acquire(&self, failure: &Failure) -> bool {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if failure.is_set() {
                return false;
            }
            if *free > 0 {
                *free -= 1;
                return true;
            }
            // Timed, so that a failure elsewhere is seen without every stage notifying here.
            free = self.changed.wait_timeout(free, Duration::from_millis(20)).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn release(&self) {
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.changed.notify_one();
    }
}

/// Held by every pipeline stage: a stage that panics fails the run and closes the session, so
/// that no other stage waits forever for it (the panic itself reaches the caller).
struct StageGuard<'a> {
    session: &'a dyn KernelSession,
    failure: &'a Failure,
}

impl Drop for StageGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.failure.set(EngineError::Other("a stage of the migration pipeline panicked".to_string()));
            self.session.close(true);
        }
    }
}

/// The first error of any stage; the others stop when they see it.
#[derive(Default)]
struct Failure {
    failed: AtomicBool,
    first: Mutex<Option<EngineError>>,
}

impl Failure {
    fn set(&self, e: EngineError) {
        self.first.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
        self.failed.store(true, Ordering::Relaxed);
    }

    fn is_set(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
struct Timings {
    read: f64,
    kernel: f64,
    write: f64,
    fold: u64,
}

impl Timings {
    fn add(&mut self, o: &Timings) {
        (self.read, self.kernel, self.write, self.fold) =
            (self.read + o.read, self.kernel + o.kernel, self.write + o.write, self.fold + o.fold);
    }
}

/// Run every tile of a plan into a sink, as three stages joined by bounded queues:
///
/// - this thread asks the scheduler for tiles, finds their traces and submits them to the
///   kernel's session (which takes a bounded number at once);
/// - the session's workers migrate them, reading each tile's next block of traces while the
///   kernel sums the current one;
/// - a writer writes finished tiles (summing the stack from the gathers, bin after bin) while
///   the next ones migrate, and reports each tile complete to the scheduler.
///
/// The kernels, reading and writing compute inside `pool`; finding each tile's traces and
/// summing gathers into the stack run on the feeding and writing threads. Call it from outside
/// `pool`: its stages wait on each other, and a wait must not hold a thread the work needs.
pub fn execute(
    pool: &rayon::ThreadPool,
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    plan: &Plan,
    sink: &dyn OutputSink,
    options: RunOptions,
    mask: Option<&OutputMask>,
) -> Result<RunSummary> {
    check_outside(pool)?;
    let t = Instant::now();
    let store = pool.install(|| JobTraces::new(job, plan.traces_in_memory))?;
    let load_s = t.elapsed().as_secs_f64();
    let mut summary = execute_with(pool, job, kernel, plan, &store, sink, options, mask, None, "migrate")?;
    summary.load_s = load_s;
    summary.total_s += load_s;
    Ok(summary)
}

/// The stages wait on each other, and a wait must not hold a thread the work needs.
fn check_outside(pool: &rayon::ThreadPool) -> Result<()> {
    if pool.current_thread_index().is_some() {
        return Err(EngineError::Other(
            "executor::execute was called from a thread of the job's own pool; call it from outside".to_string(),
        ));
    }
    Ok(())
}

/// [`execute`] on traces already loaded (`store`, the plan's choice of memory or streaming).
///
/// Tiles a sink's journal lists as finished are skipped. When the device fails, the tiles it
/// was migrating go back to the queue and the run goes on where it can: out of device memory,
/// with trace blocks and tiles in flight halved; a device error or loss, on the CPU when the job
/// allows it (`execution.fallback: cpu`). Otherwise the error names the tiles in flight.
#[allow(clippy::too_many_arguments)]
fn execute_with(
    pool: &rayon::ThreadPool,
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    plan: &Plan,
    store: &JobTraces<'_>,
    sink: &dyn OutputSink,
    options: RunOptions,
    mask: Option<&OutputMask>,
    decimation: Option<&TimeDecimation>,
    label: &str,
) -> Result<RunSummary> {
    check_outside(pool)?;
    let started = Instant::now();
    let queue = TileQueue::with_journal(plan.tiles.len(), sink.journal()).share(sink.share());
    let finished_before = sink.journal().map(|j| j.done()).unwrap_or_default();
    let resumed_work: u64 = finished_before.keys().map(|&i| plan.tiles[i].contributions).sum();
    // This process's part: the whole plan, unless it shares the run with others.
    let own_work: u64 = queue.pending_tiles().iter().map(|&i| plan.tiles[i].contributions).sum();
    let bar = crate::progress::bar(options.progress, Some(resumed_work + own_work), "{percent:>3}% {msg}", label);
    bar.inc(resumed_work);
    let devices: Vec<&dyn MigrationKernel> = match kernel.device_kernels() {
        [] => vec![kernel],
        several => several.iter().map(|k| k.as_ref()).collect(),
    };
    #[cfg(feature = "fault-injection")]
    let fired = std::sync::atomic::AtomicBool::new(false);
    #[cfg(feature = "fault-injection")]
    let faulty: Vec<_> =
        devices.iter().map(|&d| crate::fault::FaultyKernel::wrap(d, label == "migrate", &fired)).collect();
    #[cfg(feature = "fault-injection")]
    let devices: Vec<&dyn MigrationKernel> = faulty.iter().map(|f| f as &dyn MigrationKernel).collect();
    let mut shares: Vec<DeviceShare> = devices.iter().map(|d| DeviceShare::new(pool.install(|| d.device()))).collect();
    // The devices still migrating, by index into `devices` and `shares`.
    let mut live: Vec<usize> = (0..devices.len()).collect();
    let mut fallback: Option<Box<dyn MigrationKernel>> = None;
    let mut attempt = Attempt {
        block_traces: plan.block_traces,
        concurrent_tiles: plan.memory.concurrent_tiles,
        finished_before: finished_before.len(),
        resumed_work,
        tiles: finished_before.len() + queue.pending(),
    };
    let mut totals = Timings::default();
    let mut notes = Vec::new();
    let workers = loop {
        let current: Vec<(usize, &dyn MigrationKernel)> = match &fallback {
            Some(f) => vec![(shares.len() - 1, f.as_ref())],
            None => live.iter().map(|&i| (i, devices[i])).collect(),
        };
        let work = Work { pool, job, plan, store, sink, mask, decimation };
        let outcomes = run_devices(&work, &current, &queue, &bar, &attempt);
        let mut workers = 0;
        let mut failures = Vec::new();
        for (i, mut run) in outcomes {
            totals.add(&run.timings);
            shares[i].add(&run);
            workers += run.workers;
            if let Some(e) = run.failed.take() {
                failures.push((i, e));
            }
        }
        if failures.is_empty() {
            break workers;
        }
        let in_flight = queue.in_flight();
        let tiles = describe_tiles(plan, &in_flight);
        // A failure that is not the device's ends the run; so does one the device cannot
        // recover from, unless other devices or the CPU can take over.
        let mut device_failures = Vec::new();
        for (i, failed) in failures {
            match failed {
                EngineError::Kernel(k) if k.is_device_failure() => device_failures.push((i, k)),
                other => return Err(sink.failed(other)),
            }
        }
        let current = fallback.as_deref().unwrap_or(devices[live[0]]);
        let out_of_memory = device_failures.iter().all(|(_, k)| matches!(k, KernelError::OutOfMemory { .. }));
        if out_of_memory && attempt.block_traces > 1 && notes.len() < MAX_RETRIES {
            let was = (attempt.block_traces, attempt.concurrent_tiles);
            attempt.block_traces = attempt.block_traces.div_ceil(2);
            attempt.concurrent_tiles = attempt.concurrent_tiles.div_ceil(2);
            notes.push(format!(
                "{}: out of device memory while migrating {tiles}; retried with trace blocks of {} traces and {} tile{} in flight (were {} and {})",
                current.name(),
                attempt.block_traces,
                attempt.concurrent_tiles,
                if attempt.concurrent_tiles == 1 { "" } else { "s" },
                was.0,
                was.1
            ));
        } else if fallback.is_none() && device_failures.len() < live.len() {
            // Other devices are well: they take the failed ones' tiles.
            for (i, failed) in &device_failures {
                live.retain(|d| d != i);
                shares[*i].failed = Some(failed.to_string());
                notes.push(format!(
                    "device {i} ({}) failed: {failed} while migrating {tiles}; {} took its tiles",
                    shares[*i].device,
                    if live.len() == 1 {
                        "the other device".to_string()
                    } else {
                        format!("the other {} devices", live.len())
                    }
                ));
            }
        } else if fallback.is_none() && job.execution.fallback == Fallback::Cpu && kernel.name() != FALLBACK_KERNEL {
            let (_, failed) = &device_failures[0];
            fallback =
                Some(crate::registry::create_kernel(FALLBACK_KERNEL, &KernelOptions::from_config(&job.execution))?);
            let f = fallback.as_deref().expect("just made");
            shares.push(DeviceShare::new(format!("{} (fallback)", pool.install(|| f.device()))));
            notes.push(format!(
                "{failed} while migrating {tiles}; the remaining {} tiles migrated on {FALLBACK_KERNEL} (execution.fallback: cpu)",
                queue.pending() + in_flight.len()
            ));
            attempt.block_traces = plan.block_traces;
            attempt.concurrent_tiles = plan.memory.concurrent_tiles;
        } else {
            let (_, failed) = &device_failures[0];
            let hint = if job.execution.fallback == Fallback::None && kernel.name() != FALLBACK_KERNEL {
                "; with execution.fallback: cpu the job would go on on the CPU"
            } else {
                ""
            };
            return Err(sink.failed(EngineError::Other(format!("{failed} (while migrating {tiles}){hint}"))));
        }
        crate::progress::note(notes.last().expect("just pushed"));
        queue.requeue();
    };
    bar.finish();
    let name = match &fallback {
        Some(f) => format!("{}, then {} (fallback)", kernel.name(), f.name()),
        None => kernel.name().to_string(),
    };
    let kernel = fallback.as_deref().unwrap_or(kernel);
    Ok(RunSummary {
        kernel: name,
        device: pool.install(|| kernel.device()),
        devices: shares,
        processes: 1,
        tiles: plan.tiles.len(),
        tile_shape: plan.tile_shape,
        block_traces: attempt.block_traces,
        traces_in_memory: plan.traces_in_memory,
        n_traces: job.selected.len(),
        left_out: job.left_out,
        n_output_samples: job.grid.n_samples(),
        contributions: plan.contributions,
        contributions_exact: plan.contributions_exact,
        // Counted per tile completed: an attempt that failed still finished some.
        fold_sum: queue.fold_sum() + finished_before.values().sum::<u64>(),
        plan_s: 0.0,
        load_s: 0.0,
        read_s: totals.read,
        kernel_s: totals.kernel,
        write_s: totals.write,
        total_s: started.elapsed().as_secs_f64(),
        output: None,
        adaptive: None,
        time_sampling: None,
        pipeline_s: started.elapsed().as_secs_f64(),
        workers,
        kernel_choice: None,
        notes,
        resumed: None,
    })
}

/// Device failures a run recovers from before giving up.
const MAX_RETRIES: usize = 4;

/// The kernel a job falls back to when its device fails (`execution.fallback: cpu`).
const FALLBACK_KERNEL: &str = "cpu";

/// What one attempt at a plan's remaining tiles runs with.
#[derive(Clone, Copy)]
struct Attempt {
    block_traces: usize,
    /// Tiles in flight, over all devices.
    concurrent_tiles: usize,
    /// Tiles an interrupted run finished, and their contributions.
    finished_before: usize,
    resumed_work: u64,
    /// Those and this process's share of the others: the plan's tiles, unless processes share
    /// the run (for the progress message).
    tiles: usize,
}

/// `tile 12 of 40 (grid columns x 32-63, y 0-31)`, or `tiles 12 and 13 of 40 (...; ...)`.
fn describe_tiles(plan: &Plan, tiles: &[usize]) -> String {
    let columns = |&i: &usize| {
        let t = &plan.tiles[i].tile;
        format!("x {}-{}, y {}-{}", t.ix0, t.ix0 + t.nx - 1, t.iy0, t.iy0 + t.ny - 1)
    };
    let n = plan.tiles.len();
    let all = |sep: &str| tiles.iter().map(columns).collect::<Vec<_>>().join(sep);
    match tiles {
        [] => "no tile (the kernel's session was opening)".to_string(),
        [t] => format!("tile {t} of {n} (grid columns {})", columns(t)),
        [init @ .., last] => format!(
            "tiles {} and {last} of {n} (grid columns {})",
            init.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
            all("; ")
        ),
    }
}

/// What every attempt at a plan works on.
struct Work<'a> {
    pool: &'a rayon::ThreadPool,
    job: &'a MigrationJob,
    plan: &'a Plan,
    store: &'a JobTraces<'a>,
    sink: &'a dyn OutputSink,
    mask: Option<&'a OutputMask>,
    decimation: Option<&'a TimeDecimation>,
}

/// One device's part of a run (`execution.devices`), for the summary.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DeviceShare {
    pub device: String,
    /// Tiles it migrated.
    pub tiles: usize,
    /// Their in-aperture contributions.
    pub contributions: u64,
    /// How long its pipeline ran, wall clock.
    pub wall_s: f64,
    /// Why it stopped before the end, its tiles going to the other devices.
    pub failed: Option<String>,
}

impl DeviceShare {
    fn new(device: String) -> Self {
        Self { device, tiles: 0, contributions: 0, wall_s: 0.0, failed: None }
    }

    fn add(&mut self, run: &DeviceRun) {
        self.tiles += run.tiles;
        self.contributions += run.contributions;
        self.wall_s += run.wall_s;
    }

    /// Contributions per second while it ran.
    pub fn rate(&self) -> f64 {
        self.contributions as f64 / self.wall_s.max(1e-12)
    }
}

/// What one device's pipeline did in one attempt, and why it stopped short if it did (the tiles
/// it finished before count all the same).
struct DeviceRun {
    failed: Option<EngineError>,
    timings: Timings,
    /// Threads its session migrated on.
    workers: usize,
    tiles: usize,
    contributions: u64,
    wall_s: f64,
}

/// One attempt on each of `devices` at once, each its own pipeline pulling tiles from `queue`,
/// so that a faster device takes more. A device that fails stops the others from taking new
/// tiles (they finish those they hold), so that the caller decides what runs next. Each
/// device's run, by its index.
fn run_devices(
    work: &Work<'_>,
    devices: &[(usize, &dyn MigrationKernel)],
    queue: &TileQueue<'_>,
    bar: &crate::progress::Progress,
    attempt: &Attempt,
) -> Vec<(usize, DeviceRun)> {
    let halt = AtomicBool::new(false);
    let each = Attempt { concurrent_tiles: (attempt.concurrent_tiles / devices.len()).max(1), ..*attempt };
    if let [(i, kernel)] = devices {
        return vec![(*i, run_attempt(work, *kernel, queue, bar, &each, &halt))];
    }
    std::thread::scope(|scope| {
        let runs: Vec<_> = devices
            .iter()
            .map(|&(i, kernel)| {
                let (halt, each) = (&halt, &each);
                let run = scope.spawn(move || {
                    let run = run_attempt(work, kernel, queue, bar, each, halt);
                    if run.failed.is_some() {
                        halt.store(true, Ordering::Relaxed);
                    }
                    run
                });
                (i, run)
            })
            .collect();
        runs.into_iter()
            .map(|(i, run)| (i, run.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))))
            .collect()
    })
}

/// One pass of the pipeline over the tiles `queue` hands out, until none is left, `halt` is
/// set or a stage fails.
fn run_attempt(
    work: &Work<'_>,
    kernel: &dyn MigrationKernel,
    queue: &TileQueue<'_>,
    bar: &crate::progress::Progress,
    attempt: &Attempt,
    halt: &AtomicBool,
) -> DeviceRun {
    let Work { pool, job, plan, store, sink, mask, decimation } = *work;
    let started = Instant::now();
    let setup = JobSetup {
        grid: &job.grid,
        velocity: &job.velocity,
        operator: &job.operator,
        traces: store,
        block_traces: attempt.block_traces,
        max_tile_columns: plan.tiles.iter().map(|t| t.tile.n_columns()).max().unwrap_or(1),
        concurrent_tiles: attempt.concurrent_tiles,
        pool,
    };
    let session = match pool.install(|| kernel.open_session(setup)) {
        Ok(session) => session,
        Err(e) => {
            let wall_s = started.elapsed().as_secs_f64();
            let failed = Some(e.into());
            return DeviceRun { failed, timings: Timings::default(), workers: 0, tiles: 0, contributions: 0, wall_s };
        }
    };
    let session = session.as_ref();
    let workers = session.worker_threads().max(1);
    let failure = Failure::default();
    let totals = Mutex::new(Timings::default());
    let permits = Permits::new(attempt.concurrent_tiles + WRITE_QUEUE_TILES);
    let submitted = AtomicUsize::new(0);
    let (write, fold, tiles, contributions) = std::thread::scope(|scope| {
        let _guard = StageGuard { session, failure: &failure };
        let (finished, to_write) = std::sync::mpsc::sync_channel::<FinishedTile>(WRITE_QUEUE_TILES);
        let writer = scope.spawn(|| {
            let _guard = StageGuard { session, failure: &failure };
            let mut stage = WriteStage {
                pool,
                plan,
                scheduler: queue,
                sink,
                bar,
                started,
                finished_before: attempt.finished_before,
                tiles: attempt.tiles,
                resumed_work: attempt.resumed_work,
                permits: &permits,
                submitted: &submitted,
                n_bins: job.gathers.as_ref().map_or(0, |g| g.bins.len()),
                mask,
                decimation,
                sums: HashMap::new(),
                done: 0,
                contributions: 0,
                write_s: 0.0,
                fold: 0,
            };
            if let Err(e) = stage.run(to_write) {
                failure.set(e);
                session.close(true);
            }
            (stage.write_s, stage.fold, stage.done, stage.contributions)
        });
        for _ in 0..workers {
            let finished = finished.clone();
            let (failure, totals) = (&failure, &totals);
            // Waiting happens outside the pool: the session enters it to compute.
            scope.spawn(move || {
                let _guard = StageGuard { session, failure };
                let (mut read, mut kernel_s) = (0.0, 0.0);
                loop {
                    match session.next_finished() {
                        Ok(Some(tile)) => {
                            read += tile.read_s;
                            kernel_s += tile.kernel_s;
                            if finished.send(tile).is_err() {
                                // The writer stopped: it failed, and the run with it.
                                session.close(true);
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            failure.set(e.into());
                            session.close(true);
                            break;
                        }
                    }
                }
                let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
                t.read += read;
                t.kernel += kernel_s;
            });
        }
        let feeder = Feeder {
            job,
            plan,
            mask,
            decimation,
            scheduler: queue,
            session,
            failure: &failure,
            halt,
            permits: &permits,
        };
        feeder.feed(&submitted, finished);
        session.close(failure.is_set());
        match writer.join() {
            Ok(written) => written,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let mut timings = totals.into_inner().unwrap_or_else(|e| e.into_inner());
    timings.write += write;
    timings.fold += fold;
    DeviceRun {
        failed: failure.first.into_inner().unwrap_or_else(|e| e.into_inner()),
        timings,
        workers,
        tiles,
        contributions,
        wall_s: started.elapsed().as_secs_f64(),
    }
}

/// The first stage: tiles from the scheduler, with their traces (split by offset bin when
/// gathers are written), into the session. An adaptive run's tiles reach the kernel with the
/// traces of their active columns only; a tile with none goes straight to the writer as zeros.
struct Feeder<'a> {
    job: &'a MigrationJob,
    plan: &'a Plan,
    mask: Option<&'a OutputMask>,
    /// An adaptive-time run's axes: the kernel migrates the coarse one, so a mask's cells are
    /// handed to it on that axis.
    decimation: Option<&'a TimeDecimation>,
    scheduler: &'a dyn TileScheduler,
    session: &'a dyn KernelSession,
    failure: &'a Failure,
    /// Set when another device failed: take no more tiles, finish those taken.
    halt: &'a AtomicBool,
    permits: &'a Permits,
}

impl Feeder<'_> {
    fn feed(&self, submitted: &AtomicUsize, to_writer: std::sync::mpsc::SyncSender<FinishedTile>) {
        let (job, plan) = (self.job, self.plan);
        while !self.failure.is_set() && !self.halt.load(Ordering::Relaxed) {
            let Some(index) = self.scheduler.next_tile() else { break };
            let tile_plan = &plan.tiles[index];
            let tile = tile_plan.tile;
            let fine_cells = self.mask.map(|m| m.tile_cells(&tile));
            let traces = match &fine_cells {
                None => plan.traces(tile_plan),
                Some(cells) => match active_columns(&tile, cells) {
                    // Only the traces that reach an active column: the others add nothing there.
                    Some(active) => plan.index.near_rect(job.grid.tile_bounds(&active), plan.reach),
                    None => {
                        self.skip(index, &tile, &to_writer);
                        submitted.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                },
            };
            let cells = fine_cells.map(|c| {
                Arc::new(match self.decimation {
                    Some(d) => coarse_cells(&c, d),
                    None => c,
                })
            });
            let work: Vec<TileWork> = match &job.gathers {
                None => vec![TileWork { tile_index: index, tile, bin: None, traces, active: cells }],
                Some(gathers) => {
                    let mut by_bin = vec![Vec::new(); gathers.bins.len()];
                    for &t in &traces {
                        by_bin[gathers.trace_bin[t as usize] as usize].push(t);
                    }
                    by_bin
                        .into_iter()
                        .enumerate()
                        .map(|(k, traces)| TileWork {
                            tile_index: index,
                            tile,
                            bin: Some(k),
                            traces,
                            active: cells.clone(),
                        })
                        .collect()
                }
            };
            for w in work {
                if !self.permits.acquire(self.failure) {
                    return;
                }
                if let Err(e) = self.session.submit(w) {
                    // A session closes only when another stage failed, and that failure is the one
                    // to report.
                    if !self.failure.is_set() {
                        self.failure.set(e.into());
                    }
                    return;
                }
            }
            submitted.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A tile without an active cell: zeros (each offset bin's, with gathers) to the writer.
    fn skip(&self, index: usize, tile: &pstm_math::Tile, to_writer: &std::sync::mpsc::SyncSender<FinishedTile>) {
        let n = tile.n_columns() * self.job.grid.time.nt;
        let bins: Vec<Option<usize>> = match &self.job.gathers {
            None => vec![None],
            Some(g) => (0..g.bins.len()).map(Some).collect(),
        };
        for bin in bins {
            if !self.permits.acquire(self.failure) {
                return;
            }
            let image = TileImage { image: vec![0.0; n], fold: vec![0; n] };
            let zeros = FinishedTile { tile_index: index, tile: *tile, bin, image, read_s: 0.0, kernel_s: 0.0 };
            if to_writer.send(zeros).is_err() {
                return;
            }
        }
    }
}

/// The smallest rectangle of a tile's columns holding every column with an active cell, in grid
/// indices; `None` when no cell is active.
fn active_columns(tile: &pstm_math::Tile, cells: &pstm_math::adaptive::TileCells) -> Option<pstm_math::Tile> {
    let nw = cells.n_windows;
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for jx in 0..tile.nx {
        for jy in 0..tile.ny {
            let c = jx * tile.ny + jy;
            if cells.active[c * nw..(c + 1) * nw].iter().any(|&a| a) {
                (x0, y0, x1, y1) = (x0.min(jx), y0.min(jy), x1.max(jx), y1.max(jy));
            }
        }
    }
    (x0 != usize::MAX).then(|| pstm_math::Tile {
        ix0: tile.ix0 + x0,
        iy0: tile.iy0 + y0,
        nx: x1 - x0 + 1,
        ny: y1 - y0 + 1,
    })
}

/// Write one volume's tile inside the pool; the seconds spent writing, not waiting for a thread.
fn timed_write(
    pool: &rayon::ThreadPool,
    sink: &dyn OutputSink,
    tile: &pstm_math::Tile,
    bin: Option<usize>,
    image: &TileImage,
) -> Result<f64> {
    pool.install(|| {
        let t = Instant::now();
        sink.write_tile(tile, bin, image)?;
        Ok(t.elapsed().as_secs_f64())
    })
}

/// A tile's stack being summed from its gathers, in bin order whatever order they finish in, so
/// that the sum is the same bit for bit however many tiles are in flight.
struct StackSum {
    stack: TileImage,
    next_bin: usize,
    waiting: BTreeMap<usize, TileImage>,
}

/// The last stage: writes finished pieces (compressing inside the pool, waiting outside it),
/// sums each tile's stack from its gathers in bin order, and reports tiles complete.
struct WriteStage<'a> {
    pool: &'a rayon::ThreadPool,
    plan: &'a Plan,
    scheduler: &'a TileQueue<'a>,
    sink: &'a dyn OutputSink,
    bar: &'a ProgressBar,
    started: Instant,
    /// Tiles an interrupted run finished, and their contributions, and the tiles this process
    /// ends with (for the progress message).
    finished_before: usize,
    resumed_work: u64,
    tiles: usize,
    permits: &'a Permits,
    /// Tiles the feeder submitted, final once the workers are done.
    submitted: &'a AtomicUsize,
    /// Offset bins of the job's gathers (0 without gathers).
    n_bins: usize,
    /// An adaptive run's mask: samples outside it are zeroed, whatever the kernel wrote there.
    mask: Option<&'a OutputMask>,
    /// An adaptive-time run's axes: finished pieces come on the coarse one and are written on
    /// the fine one.
    decimation: Option<&'a TimeDecimation>,
    sums: HashMap<usize, StackSum>,
    /// Tiles written completely, and their contributions.
    done: usize,
    contributions: u64,
    write_s: f64,
    fold: u64,
}

impl WriteStage<'_> {
    /// Write until the workers are done. A session that returns a piece twice, one it was never
    /// given, or too few is an error, never an output with holes.
    fn run(&mut self, to_write: Receiver<FinishedTile>) -> Result<()> {
        for tile in to_write {
            let stack_piece = tile.bin.is_none();
            self.write(tile)?;
            // A gather's permit returns when the stack has consumed it ([`WriteStage::gather`]).
            if stack_piece {
                self.permits.release();
            }
        }
        let submitted = self.submitted.load(Ordering::Relaxed);
        if self.done < submitted {
            let missing = submitted - self.done;
            return Err(EngineError::Other(format!("kernel session finished with {missing} tiles never returned")));
        }
        Ok(())
    }

    fn write(&mut self, mut tile: FinishedTile) -> Result<()> {
        let wrong = |what: &str| {
            Err(EngineError::Other(format!(
                "kernel session returned tile {} (bin {:?}) {what}",
                tile.tile_index, tile.bin
            )))
        };
        match tile.bin {
            _ if tile.tile_index >= self.plan.tiles.len() => wrong("that the plan does not have"),
            None if self.n_bins > 0 => wrong("without an offset bin although gathers are written"),
            Some(k) if k >= self.n_bins => wrong("for an offset bin the job does not have"),
            _ if tile.tile != self.plan.tiles[tile.tile_index].tile => wrong("with another tile's shape"),
            _ => Ok(()),
        }?;
        if let Some(d) = self.decimation {
            tile.image = self.pool.install(|| upsample(d, &tile.image));
        }
        if let Some(mask) = self.mask {
            let image = &mut tile.image;
            self.pool.install(|| mask.tile_cells(&tile.tile).zero_inactive(&mut image.image, &mut image.fold));
        }
        match tile.bin {
            None => self.complete(tile.tile_index, &tile.image),
            Some(k) => {
                let sum = self.sums.get(&tile.tile_index);
                if sum.is_some_and(|sum| k < sum.next_bin || sum.waiting.contains_key(&k)) {
                    return wrong("twice");
                }
                self.write_s += timed_write(self.pool, self.sink, &tile.tile, Some(k), &tile.image)?;
                self.gather(tile.tile_index, k, tile.image)
            }
        }
    }

    /// Add gather `k` of tile `index` to its stack, with every later bin already waiting; write
    /// the stack once the last bin is in.
    fn gather(&mut self, index: usize, k: usize, image: TileImage) -> Result<()> {
        let n = image.image.len();
        let sum = self.sums.entry(index).or_insert_with(|| StackSum {
            stack: TileImage { image: vec![0.0; n], fold: vec![0; n] },
            next_bin: 0,
            waiting: BTreeMap::new(),
        });
        sum.waiting.insert(k, image);
        while let Some(gather) = sum.waiting.remove(&sum.next_bin) {
            for (s, g) in sum.stack.image.iter_mut().zip(&gather.image) {
                *s += g;
            }
            for (s, g) in sum.stack.fold.iter_mut().zip(&gather.fold) {
                *s += g;
            }
            sum.next_bin += 1;
            self.permits.release();
        }
        if sum.next_bin == self.n_bins {
            let sum = self.sums.remove(&index).expect("present");
            self.complete(index, &sum.stack)?;
        }
        Ok(())
    }

    /// Write tile `index`'s stack and fold, and report the tile complete.
    fn complete(&mut self, index: usize, stack: &TileImage) -> Result<()> {
        let tile_plan = &self.plan.tiles[index];
        self.write_s += timed_write(self.pool, self.sink, &tile_plan.tile, None, stack)?;
        let fold: u64 = stack.fold.iter().map(|&f| f as u64).sum();
        self.fold += fold;
        self.scheduler.completed(index, fold)?;
        self.done += 1;
        self.contributions += tile_plan.contributions;
        self.bar.inc(tile_plan.contributions);
        let rate = (self.bar.position() - self.resumed_work) as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        self.bar.set_message(format!(
            "tile {}/{}, {:.3} G contrib/s",
            self.finished_before + self.scheduler.completed_tiles(),
            self.tiles,
            rate * 1e-9
        ));
        Ok(())
    }
}

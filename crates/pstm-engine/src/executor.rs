//! Running a planned job: tiles through a kernel, blocks of traces through each tile.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pstm_kernel::{MigrationKernel, TileImage, TileTask};
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::job::MigrationJob;
use crate::output::{MemoryOutput, MemoryVolumes, OutputSink, ZarrOutput};
use crate::plan::{Plan, TilePlan, plan};
use crate::source::TraceSource;

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { progress: true }
    }
}

/// What a run did and how long each part took.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub kernel: String,
    pub device: String,
    pub tiles: usize,
    pub tile_shape: (usize, usize),
    pub block_traces: usize,
    pub traces_in_memory: bool,
    pub n_traces: usize,
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
        writeln!(
            f,
            "output          {} samples in {} tiles of {} x {} columns",
            self.n_output_samples, self.tiles, self.tile_shape.0, self.tile_shape.1
        )?;
        writeln!(
            f,
            "traces          {} ({})",
            self.n_traces,
            if self.traces_in_memory { "held in memory" } else { "streamed" }
        )?;
        writeln!(
            f,
            "contributions   {:.4e} ({:.3} G/s over {:.2} s)",
            self.contributions as f64,
            self.rate() * 1e-9,
            self.total_s
        )?;
        writeln!(f, "fold sum        {:.4e}", self.fold_sum as f64)?;
        write!(
            f,
            "time            plan {:.2} s, load {:.2} s, read {:.2} s, kernel {:.2} s, write {:.2} s (per-part times summed over workers)",
            self.plan_s, self.load_s, self.read_s, self.kernel_s, self.write_s
        )?;
        if let Some(o) = &self.output {
            write!(f, "\nwritten to      {}", o.display())?;
        }
        Ok(())
    }
}

/// A thread pool of the job's size (execution.threads, 0 = all cores). Everything a run does,
/// tile workers and the kernels' own parallel loops alike, runs inside it.
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

/// Migrate a job into its output directory.
pub fn migrate(job: &MigrationJob, kernel: &dyn MigrationKernel, options: RunOptions) -> Result<RunSummary> {
    pool(job)?.install(|| {
        let started = Instant::now();
        let plan = plan(job, kernel)?;
        let plan_s = started.elapsed().as_secs_f64();
        let output = ZarrOutput::create(job, kernel.name(), plan.tile_shape)?;
        let mut summary = execute(job, kernel, &plan, &output, options)?;
        summary.plan_s = plan_s;
        summary.total_s = started.elapsed().as_secs_f64();
        let record = serde_json::json!({
            "summary": summary,
            "config": job.config,
            "config_hash": job.config_hash,
            "grid": job.grid,
            "pstm_version": env!("CARGO_PKG_VERSION"),
        });
        summary.output = Some(output.commit(&record)?);
        summary.total_s = started.elapsed().as_secs_f64();
        Ok(summary)
    })
}

/// Migrate a job into memory (tests, comparisons, benchmarks). Nothing is written to disk.
pub fn migrate_to_memory(
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    options: RunOptions,
) -> Result<(MemoryVolumes, RunSummary)> {
    pool(job)?.install(|| {
        let started = Instant::now();
        let plan = plan(job, kernel)?;
        let plan_s = started.elapsed().as_secs_f64();
        let output = MemoryOutput::new(job.grid, job.gathers.as_ref().map_or(0, |g| g.bins.len()));
        let mut summary = execute(job, kernel, &plan, &output, options)?;
        summary.plan_s = plan_s;
        summary.total_s = started.elapsed().as_secs_f64();
        Ok((output.into_volumes(), summary))
    })
}

#[derive(Default)]
struct Timings {
    read: Duration,
    kernel: Duration,
    write: Duration,
    fold: u64,
}

/// Run every tile of a plan into a sink. Call it inside the job's [`pool`]: tile workers are
/// tasks of that pool, so the kernels' parallel loops share its threads.
pub fn execute(
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    plan: &Plan,
    sink: &dyn OutputSink,
    options: RunOptions,
) -> Result<RunSummary> {
    let started = Instant::now();
    let t = Instant::now();
    let source = TraceSource::new(job, plan.traces_in_memory)?;
    let load_s = t.elapsed().as_secs_f64();
    let bar = crate::progress::bar(options.progress, Some(plan.contributions), "{percent:>3}% {msg}");
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<EngineError>> = Mutex::new(None);
    let totals = Mutex::new(Timings::default());
    let done = AtomicUsize::new(0);
    let workers = plan.memory.concurrent_tiles.min(plan.tiles.len()).max(1);
    rayon::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| {
                let mut mine = Timings::default();
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(tile_plan) = plan.tiles.get(i) else { break };
                    match run_tile(job, kernel, plan, tile_plan, &source, sink, &mut mine) {
                        Ok(()) => {
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            bar.inc(tile_plan.contributions);
                            let rate = bar.position() as f64 / started.elapsed().as_secs_f64().max(1e-9);
                            bar.set_message(format!("tile {n}/{}, {:.3} G contrib/s", plan.tiles.len(), rate * 1e-9));
                        }
                        Err(e) => {
                            failed.store(true, Ordering::Relaxed);
                            first_error.lock().expect("no panic").get_or_insert(e);
                            break;
                        }
                    }
                }
                let mut t = totals.lock().expect("no panic");
                t.read += mine.read;
                t.kernel += mine.kernel;
                t.write += mine.write;
                t.fold += mine.fold;
            });
        }
    });
    bar.finish_and_clear();
    if let Some(e) = first_error.into_inner().expect("no panic") {
        return Err(e);
    }
    let t = totals.into_inner().expect("no panic");
    Ok(RunSummary {
        kernel: kernel.name().to_string(),
        device: kernel.device(),
        tiles: plan.tiles.len(),
        tile_shape: plan.tile_shape,
        block_traces: plan.block_traces,
        traces_in_memory: plan.traces_in_memory,
        n_traces: job.selected.len(),
        n_output_samples: job.grid.n_samples(),
        contributions: plan.contributions,
        contributions_exact: plan.contributions_exact,
        fold_sum: t.fold,
        plan_s: 0.0,
        load_s,
        read_s: t.read.as_secs_f64(),
        kernel_s: t.kernel.as_secs_f64(),
        write_s: t.write.as_secs_f64(),
        total_s: started.elapsed().as_secs_f64(),
        output: None,
    })
}

/// One tile: velocities, then each offset bin (or all traces) block by block.
fn run_tile(
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    plan: &Plan,
    tile_plan: &TilePlan,
    source: &TraceSource<'_>,
    sink: &dyn OutputSink,
    timings: &mut Timings,
) -> Result<()> {
    let grid = &job.grid;
    let columns = grid.tile_columns(&tile_plan.tile);
    let velocity =
        job.velocity.sample(&columns, &grid.time).map_err(|e| EngineError::job("velocity", e.to_string()))?;
    let task = TileTask { columns: &columns, time: grid.time, velocity: &velocity, params: &job.params };
    let n = task.n_output_samples();
    let migrate = |traces: &[u32], timings: &mut Timings| -> Result<TileImage> {
        let t = Instant::now();
        let mut open = kernel.begin_tile(task)?;
        timings.kernel += t.elapsed();
        for chunk in traces.chunks(plan.block_traces) {
            let t = Instant::now();
            let block = source.block(chunk)?;
            timings.read += t.elapsed();
            let t = Instant::now();
            open.add_traces(&block)?;
            timings.kernel += t.elapsed();
        }
        let t = Instant::now();
        let mut out = TileImage::poisoned(n);
        open.finish(&mut out)?;
        timings.kernel += t.elapsed();
        Ok(out)
    };
    let traces = plan.traces(tile_plan);
    let stack = match &job.gathers {
        None => migrate(&traces, timings)?,
        Some(gathers) => {
            let mut by_bin = vec![Vec::new(); gathers.bins.len()];
            for &t in &traces {
                by_bin[gathers.trace_bin[t as usize] as usize].push(t);
            }
            let mut stack = TileImage { image: vec![0.0; n], fold: vec![0; n] };
            for (k, traces) in by_bin.iter().enumerate() {
                let gather = migrate(traces, timings)?;
                for (s, g) in stack.image.iter_mut().zip(&gather.image) {
                    *s += g;
                }
                for (s, g) in stack.fold.iter_mut().zip(&gather.fold) {
                    *s += g;
                }
                let t = Instant::now();
                sink.write_tile(&tile_plan.tile, Some(k), &gather)?;
                timings.write += t.elapsed();
            }
            stack
        }
    };
    timings.fold += stack.fold.iter().map(|&f| f as u64).sum::<u64>();
    let t = Instant::now();
    sink.write_tile(&tile_plan.tile, None, &stack)?;
    timings.write += t.elapsed();
    Ok(())
}

//! The per-job boundary between the engine and a backend.
//!
//! A backend opens one [`KernelSession`] per job ([`crate::MigrationKernel::open_session`]) and
//! receives the job's static data once, in a [`JobSetup`]: the output grid and time axis, the
//! velocity model, the [`ImagingOperator`], and a [`TraceStore`] that serves pre-filtered traces
//! by id into memory the backend provides. The engine then submits [`TileWork`] (a tile of one
//! output volume and the ids of the traces that reach it) without waiting for it, and collects
//! [`FinishedTile`]s as they complete; up to [`KernelSession::capacity`] pieces of work are in
//! flight at once.
//!
//! Who runs what: a session owns no threads. The engine lends it
//! [`KernelSession::worker_threads`] threads, each calling [`KernelSession::next_finished`] in
//! a loop, while another thread submits; computing happens in the job's thread pool
//! ([`JobSetup::pool`]), entered only once there is work, so that waiting for work never holds
//! a thread the computation needs (a per-tile GPU kernel still waits for its device inside it). A backend that works
//! asynchronously (a GPU queue) asks for one thread and uses `next_finished` to wait on its
//! device; [`TileSession`], the adapter that runs a per-tile [`crate::MigrationKernel`]
//! unchanged, does the work on the thread that asks for it, reading the next block of traces
//! while the kernel migrates the current one.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

use pstm_math::{ImagingOperator, OutputGrid, Tile, TraceGeometry, VelocityModel};

use crate::{KernelError, MigrationKernel, TileImage, TileTask, TraceBlock};

/// The sampling every trace of a job shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceLayout {
    pub n_samples: usize,
    /// Sample interval (s).
    pub dt_s: f64,
    /// Time of the first sample (s).
    pub t_start_s: f64,
}

/// The job's traces, addressed by id (the dataset's trace number), already pre-filtered with the
/// operator's [`pstm_math::Prefilter`] and prepared for its antialiasing
/// ([`pstm_math::antialias::prepare_traces`]). A backend may keep what it fetched across tiles.
pub trait TraceStore: Sync {
    fn layout(&self) -> TraceLayout;

    fn geometry(&self, trace: u32) -> TraceGeometry;

    /// Write the samples of `traces` (ascending ids), trace after trace, into `samples`, which
    /// holds exactly `traces.len() * n_samples` values: memory the caller chose (a staging
    /// buffer, a mapped device range), so that nothing is copied twice on the way.
    fn fill(&self, traces: &[u32], samples: &mut [f32]) -> Result<(), KernelError>;

    /// The traces as a [`TraceBlock`] of their own.
    fn block(&self, traces: &[u32]) -> Result<TraceBlock, KernelError> {
        let layout = self.layout();
        let mut samples = vec![0.0f32; traces.len() * layout.n_samples];
        self.fill(traces, &mut samples)?;
        Ok(TraceBlock {
            n_samples: layout.n_samples,
            dt_s: layout.dt_s,
            t_start_s: layout.t_start_s,
            samples,
            geometry: traces.iter().map(|&t| self.geometry(t)).collect(),
        })
    }
}

/// What a session receives once per job.
#[derive(Clone, Copy)]
pub struct JobSetup<'a> {
    /// The output grid, its time axis included.
    pub grid: &'a OutputGrid,
    pub velocity: &'a VelocityModel,
    pub operator: &'a ImagingOperator,
    pub traces: &'a dyn TraceStore,
    /// Traces per block the plan chose for the memory budget.
    pub block_traces: usize,
    /// Columns of the plan's largest tile, for a backend that sizes buffers once per job.
    pub max_tile_columns: usize,
    /// Most tiles the memory budget lets the session migrate at once.
    pub concurrent_tiles: usize,
    /// The job's threads: a session computes inside this pool (its parallel loops) and does not
    /// enter it to wait for work.
    pub pool: &'a rayon::ThreadPool,
}

/// One piece of work: one tile of one output volume.
#[derive(Debug, Clone, PartialEq)]
pub struct TileWork {
    /// The scheduler's number for the tile (several pieces share it when gathers are written).
    pub tile_index: usize,
    pub tile: Tile,
    /// The offset bin this piece images, or `None` for the stack of a job without gathers.
    pub bin: Option<usize>,
    /// Ids of the traces that can reach the tile, ascending; every output sample sums them in
    /// this order.
    pub traces: Vec<u32>,
    /// Adaptive migration's cells of the tile: a kernel that [`crate::MigrationKernel::skips_inactive_cells`]
    /// may leave the others out (their values do not matter: the engine zeroes them).
    pub active: Option<std::sync::Arc<pstm_math::adaptive::TileCells>>,
}

/// A finished piece of work and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishedTile {
    pub tile_index: usize,
    pub tile: Tile,
    pub bin: Option<usize>,
    pub image: TileImage,
    /// Time spent filling trace blocks from the store (s), overlapped or not.
    pub read_s: f64,
    /// Time spent inside the kernel (s).
    pub kernel_s: f64,
}

/// A backend's state for one job.
pub trait KernelSession: Send + Sync {
    /// Most pieces of work in flight (submitted and not yet returned) at once.
    fn capacity(&self) -> usize;

    /// Threads the engine should lend by calling [`KernelSession::next_finished`] from each.
    fn worker_threads(&self) -> usize;

    /// Queue a piece of work. Returns as soon as it is queued, without waiting for it to be
    /// migrated; waits only while [`KernelSession::capacity`] pieces are in flight. An error once
    /// the session is closed.
    fn submit(&self, work: TileWork) -> Result<(), KernelError>;

    /// No more work will be submitted (or the job failed): queued work still finishes unless
    /// `abandon`, and [`KernelSession::next_finished`] returns `None` once nothing is left.
    fn close(&self, abandon: bool);

    /// The next finished piece of work, waiting for one; `None` once the session is closed and
    /// nothing is left for this caller (other callers may still be finishing theirs).
    fn next_finished(&self) -> Result<Option<FinishedTile>, KernelError>;
}

/// How much a kernel's time depends on the shape of its tiles, for the planner's choice.
/// Seconds, summed over the kernel's parallel lanes (a per-core figure for CPU kernels, the
/// whole device for a GPU); only ratios between the terms and between candidate shapes matter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    /// Per (trace, output sample) pair visited, inside the aperture or not: kernels that test
    /// the aperture per output sample.
    pub per_sample_visit_s: f64,
    /// Per (trace, output column) pair visited: kernels that test the aperture per column.
    pub per_column_visit_s: f64,
    /// Per in-aperture (trace, output sample) pair: the contribution itself.
    pub per_contribution_s: f64,
    /// Per trace sample handed to the kernel for a tile (copies, uploads), on the kernel's time.
    pub per_trace_sample_s: f64,
    /// Per tile (buffers, tables, read-back).
    pub per_tile_s: f64,
    /// Per block of traces (a dispatch and its wait).
    pub per_block_s: f64,
    /// Fewest output samples a tile needs to keep the device busy (a GPU's resident threads).
    pub min_tile_samples: usize,
    /// The kernel computes on the host's cores, so reading traces competes with it instead of
    /// overlapping it.
    pub shares_host_cores: bool,
}

impl CostModel {
    /// A per-column CPU kernel of `contribution_s` per contribution on one core.
    pub fn cpu(contribution_s: f64, column_visit_s: f64) -> Self {
        Self {
            per_sample_visit_s: 0.0,
            per_column_visit_s: column_visit_s,
            per_contribution_s: contribution_s,
            per_trace_sample_s: 0.3e-9,
            per_tile_s: 50e-6,
            per_block_s: 0.0,
            min_tile_samples: 0,
            shares_host_cores: true,
        }
    }
}

/// Runs a per-tile kernel ([`crate::MigrationKernel::begin_tile`]) behind the session
/// boundary: every piece of work is migrated by the thread that asks for the next finished one,
/// block after block in trace order, the next block read from the store while the kernel
/// migrates the current one. Images are bit for bit those of the per-tile protocol.
pub struct TileSession<'a, K: ?Sized> {
    kernel: &'a K,
    setup: JobSetup<'a>,
    workers: usize,
    queue: Mutex<Queue>,
    changed: Condvar,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<TileWork>,
    running: usize,
    closed: bool,
}

impl<'a, K: MigrationKernel + ?Sized> TileSession<'a, K> {
    pub fn new(kernel: &'a K, setup: JobSetup<'a>) -> Self {
        Self {
            kernel,
            setup,
            workers: kernel.concurrent_tiles().min(setup.concurrent_tiles).max(1),
            queue: Mutex::new(Queue::default()),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One piece of work through the per-tile protocol, with output buffers poisoned.
    fn migrate(&self, work: TileWork) -> Result<FinishedTile, KernelError> {
        let kernel = self.kernel;
        let setup = self.setup;
        let grid = setup.grid;
        let columns = grid.tile_columns(&work.tile);
        let velocity = setup
            .velocity
            .sample(&columns, &grid.time)
            .map_err(|e| KernelError::Input { kernel: kernel.name().to_string(), message: format!("velocity: {e}") })?;
        let task = TileTask { columns: &columns, time: grid.time, velocity: &velocity, operator: setup.operator };
        let (mut read_s, mut kernel_s) = (0.0, 0.0);
        let started = Instant::now();
        let mut open = kernel.begin_tile(task)?;
        kernel_s += started.elapsed().as_secs_f64();
        let chunks: Vec<&[u32]> = work.traces.chunks(setup.block_traces.max(1)).collect();
        let read = |ids: &[u32]| {
            let started = Instant::now();
            (setup.traces.block(ids), started.elapsed().as_secs_f64())
        };
        let mut next = chunks.first().map(|ids| read(ids));
        for k in 0..chunks.len() {
            let (block, seconds) = next.take().expect("read ahead of every block");
            read_s += seconds;
            let block = block?;
            let (ahead, added) = rayon::join(
                || chunks.get(k + 1).map(|ids| read(ids)),
                || {
                    let started = Instant::now();
                    (open.add_traces(&block), started.elapsed().as_secs_f64())
                },
            );
            kernel_s += added.1;
            added.0?;
            next = ahead;
        }
        let started = Instant::now();
        let mut image = TileImage::poisoned(task.n_output_samples());
        open.finish(&mut image)?;
        kernel_s += started.elapsed().as_secs_f64();
        Ok(FinishedTile { tile_index: work.tile_index, tile: work.tile, bin: work.bin, image, read_s, kernel_s })
    }
}

/// Gives a running piece's slot back when dropped.
struct Running<'s, 'a, K: ?Sized>(&'s TileSession<'a, K>);

impl<K: ?Sized> Drop for Running<'_, '_, K> {
    fn drop(&mut self) {
        self.0.queue.lock().unwrap_or_else(|e| e.into_inner()).running -= 1;
        self.0.changed.notify_all();
    }
}

impl<K: MigrationKernel + ?Sized> KernelSession for TileSession<'_, K> {
    fn capacity(&self) -> usize {
        // Room for one queued piece per worker, so none waits on the submitting thread.
        2 * self.workers
    }

    fn worker_threads(&self) -> usize {
        self.workers
    }

    fn submit(&self, work: TileWork) -> Result<(), KernelError> {
        let mut queue = self.lock();
        loop {
            if queue.closed {
                return Err(KernelError::Input {
                    kernel: self.kernel.name().to_string(),
                    message: "work submitted to a closed session".to_string(),
                });
            }
            if queue.waiting.len() + queue.running < self.capacity() {
                queue.waiting.push_back(work);
                self.changed.notify_all();
                return Ok(());
            }
            queue = self.changed.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn close(&self, abandon: bool) {
        let mut queue = self.lock();
        queue.closed = true;
        if abandon {
            queue.waiting.clear();
        }
        self.changed.notify_all();
    }

    fn next_finished(&self) -> Result<Option<FinishedTile>, KernelError> {
        let mut queue = self.lock();
        let work = loop {
            if let Some(work) = queue.waiting.pop_front() {
                queue.running += 1;
                break work;
            }
            if queue.closed {
                return Ok(None);
            }
            queue = self.changed.wait(queue).unwrap_or_else(|e| e.into_inner());
        };
        drop(queue);
        // However the work ends, its slot is given back, and a panic in the kernel or the store
        // becomes an error of this piece instead of a worker that silently disappears.
        let _running = Running(self);
        let migrated =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.setup.pool.install(|| self.migrate(work))));
        match migrated {
            Ok(result) => result.map(Some),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_string());
                Err(KernelError::Device {
                    kernel: self.kernel.name().to_string(),
                    message: format!("panicked while migrating a tile: {what}"),
                })
            }
        }
    }
}

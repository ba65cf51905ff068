//! One migration shared by several processes: MPI ranks, `mpirun -np N pstm migrate job.yaml`
//! (the `mpi` feature of the `pstm` binary). Every rank plans the same job; rank 0 creates the
//! output and tells the others where it is; each rank migrates its share of the tiles
//! ([`Share`]: the unfinished ones dealt in turn) and writes them straight into that output,
//! recording them in its own journal; rank 0 commits the output once every rank reports back,
//! and prints the one summary.
//!
//! The engine sees the processes only through [`Cluster`], so that it does not depend on MPI;
//! [`Alone`] is the one process of an ordinary run, which goes through the same code.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pstm_kernel::MigrationKernel;
use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};
use crate::executor::{DeviceShare, RunOptions, RunSummary, plan_and_execute};
use crate::job::MigrationJob;
use crate::journal::RunIdentity;
use crate::output::{OutputSink, RankOutput, Share, ZarrOutput};

/// The processes of one run, as the engine needs them: who this one is, and two collective
/// exchanges of bytes. Every process calls each exchange the same number of times, in the same
/// order, as MPI's collectives require.
pub trait Cluster {
    fn rank(&self) -> usize;
    fn size(&self) -> usize;
    /// The host this process runs on, for messages.
    fn host(&self) -> String;
    /// Rank 0's `bytes`, given to every rank (replacing theirs).
    fn broadcast(&self, bytes: &mut Vec<u8>);
    /// Every rank's `bytes`, in rank order, at rank 0; `None` at the others.
    fn gather(&self, bytes: Vec<u8>) -> Option<Vec<Vec<u8>>>;
}

/// The single process of an ordinary run.
pub struct Alone;

impl Cluster for Alone {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn host(&self) -> String {
        hostname()
    }

    fn broadcast(&self, _bytes: &mut Vec<u8>) {}

    fn gather(&self, bytes: Vec<u8>) -> Option<Vec<Vec<u8>>> {
        Some(vec![bytes])
    }
}

/// This machine's name, where the system tells it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this host".to_string())
}

/// What rank 0 tells the others once the output exists, or why it does not.
#[derive(Serialize, Deserialize)]
enum Opened {
    Output { partial: PathBuf, identity: Box<RunIdentity>, done: BTreeMap<usize, u64> },
    Failed(String),
}

/// What each rank tells rank 0 when its share is done.
#[derive(Default, Serialize, Deserialize)]
struct RankReport {
    host: String,
    failed: Option<String>,
    device: String,
    devices: Vec<DeviceShare>,
    /// The fold of the tiles it migrated.
    fold: u64,
    read_s: f64,
    kernel_s: f64,
    write_s: f64,
    pipeline_s: f64,
    workers: usize,
    notes: Vec<String>,
}

impl RankReport {
    fn of(run: std::result::Result<&RunSummary, &EngineError>, before: u64, host: String) -> Self {
        match run {
            Ok(s) => Self {
                host,
                failed: None,
                device: s.device.clone(),
                devices: s.devices.clone(),
                fold: s.fold_sum - before,
                read_s: s.read_s,
                kernel_s: s.kernel_s,
                write_s: s.write_s,
                pipeline_s: s.pipeline_s,
                workers: s.workers,
                notes: s.notes.clone(),
            },
            Err(e) => Self { host, failed: Some(e.to_string()), ..Self::default() },
        }
    }
}

/// Rank 0's output, or another rank's share of it.
enum SharedOutput {
    Root(ZarrOutput),
    Rank(RankOutput),
}

impl SharedOutput {
    fn sink(&self) -> &dyn OutputSink {
        match self {
            SharedOutput::Root(o) => o,
            SharedOutput::Rank(o) => o,
        }
    }
}

impl OutputSink for SharedOutput {
    fn write_tile(&self, tile: &pstm_math::Tile, bin: Option<usize>, image: &pstm_kernel::TileImage) -> Result<()> {
        self.sink().write_tile(tile, bin, image)
    }

    fn share(&self) -> Share {
        self.sink().share()
    }

    fn journal(&self) -> Option<&crate::journal::Journal> {
        self.sink().journal()
    }

    fn failed(&self, e: EngineError) -> EngineError {
        self.sink().failed(e)
    }
}

/// Migrate a job into its output directory as this process's part of `cluster`: on rank 0,
/// the summary of the whole run (the output committed); elsewhere `None`. A rank that fails
/// leaves the others to finish their tiles; rank 0 then names each failure and keeps the
/// finished tiles for `--resume` (under `mpirun` or not).
pub fn migrate_shared(
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    options: RunOptions,
    cluster: &dyn Cluster,
) -> Result<Option<RunSummary>> {
    let share = Share { rank: cluster.rank(), size: cluster.size() };
    let options = RunOptions { progress: options.progress && share.rank == 0, ..options };
    let opened = Cell::new(false);
    let before = Cell::new(0u64);
    let partial = RefCell::new(None::<PathBuf>);
    let run = plan_and_execute(job, kernel, options, |plan, cut| {
        opened.set(true);
        let identity = RunIdentity::of(job, kernel.name(), cut);
        let output = open_share(job, identity, plan, options.resume, cluster, share)?;
        before.set(output.journal().map_or(0, |j| j.done().values().sum()));
        if let SharedOutput::Root(o) = &output {
            *partial.borrow_mut() = Some(o.partial().to_path_buf());
        }
        Ok(output)
    });
    if !opened.get() && share.size > 1 {
        // This process failed before the output was opened; the others wait for word of it.
        let mut word = match (&run, share.rank) {
            (Err(e), 0) => serde_json::to_vec(&Opened::Failed(e.to_string())).expect("serialises"),
            _ => Vec::new(),
        };
        cluster.broadcast(&mut word);
    }
    let report = RankReport::of(run.as_ref().map(|r| &r.summary), before.get(), cluster.host());
    // Another rank's part ends here: its share is written, its journal closed.
    let run = run.map(|run| (share.rank == 0).then_some(run));
    let Some(reports) = cluster.gather(serde_json::to_vec(&report).expect("serialises")) else {
        return run.map(|_| None);
    };
    // Alone, a failure is reported as it came; in a shared run, with every rank's below.
    let run = match run {
        Err(e) if share.size == 1 => return Err(e),
        run => run.ok().flatten(),
    };
    let reports: Vec<RankReport> = reports
        .iter()
        .enumerate()
        .map(|(r, bytes)| {
            serde_json::from_slice(bytes)
                .map_err(|e| EngineError::Other(format!("the report of MPI rank {r} could not be read: {e}")))
        })
        .collect::<Result<_>>()?;
    let failures: Vec<String> = reports
        .iter()
        .enumerate()
        .filter_map(|(r, rep)| rep.failed.as_ref().map(|e| format!("MPI rank {r} ({}): {e}", rep.host)))
        .collect();
    if !failures.is_empty() {
        let kept = match partial.borrow().as_deref() {
            Some(p) => format!(
                "\nthe tiles the ranks finished are kept in {}: `pstm migrate --resume` (under mpirun or not) continues from them",
                p.display()
            ),
            None => String::new(),
        };
        return Err(EngineError::Other(format!("{}{kept}", failures.join("\n"))));
    }
    let run = run.expect("rank 0 reported no failure, so its run is here");
    let SharedOutput::Root(output) = run.sink else { unreachable!("rank 0 writes the root output") };
    let mut summary = combine(run.summary, &reports, before.get());
    summary.resumed = output.resumed.clone();
    let record = serde_json::json!({
        "summary": summary,
        "config": job.config,
        "config_hash": job.config_hash,
        "grid": job.grid,
        "pstm_version": env!("CARGO_PKG_VERSION"),
    });
    summary.output = Some(run.pool.install(|| output.commit(&record))?);
    summary.total_s = run.started.elapsed().as_secs_f64();
    Ok(Some(summary))
}

/// Rank 0 creates the output (continuing an interrupted run's with `resume`) and tells the
/// others; they join it.
fn open_share(
    job: &MigrationJob,
    identity: RunIdentity,
    plan: &crate::plan::Plan,
    resume: bool,
    cluster: &dyn Cluster,
    share: Share,
) -> Result<SharedOutput> {
    let tiles = plan.tiles.len();
    if share.rank == 0 {
        let created = ZarrOutput::create(job, identity, tiles, plan.tile_shape, resume);
        if share.size == 1 {
            return created.map(SharedOutput::Root);
        }
        let created = created.map(|o| o.shared(share.size));
        let word = match &created {
            Ok(o) => {
                let journal = o.journal().expect("a zarr output has a journal");
                Opened::Output {
                    partial: o.partial().to_path_buf(),
                    identity: Box::new(journal.identity().clone()),
                    done: journal.done(),
                }
            }
            Err(e) => Opened::Failed(e.to_string()),
        };
        cluster.broadcast(&mut serde_json::to_vec(&word).expect("serialises"));
        return created.map(SharedOutput::Root);
    }
    let mut word = Vec::new();
    cluster.broadcast(&mut word);
    let rank = share.rank;
    match serde_json::from_slice(&word) {
        Ok(Opened::Output { partial, identity: root, done }) => {
            if root.digest() != identity.digest() {
                let changes = identity.changes_since(&root);
                return Err(EngineError::Other(format!(
                    "MPI rank {rank} on {}: its job differs from rank 0's ({}); every rank must read the same job, data and files",
                    cluster.host(),
                    if changes.is_empty() { "the plan".to_string() } else { changes.join("; ") }
                )));
            }
            RankOutput::join(job, Path::new(&partial), *root, tiles, done, share).map(SharedOutput::Rank)
        }
        Ok(Opened::Failed(why)) => Err(EngineError::Other(format!("MPI rank 0 could not open the output: {why}"))),
        Err(e) => Err(EngineError::Other(format!("MPI rank {rank}: rank 0's message could not be read: {e}"))),
    }
}

/// Rank 0's summary, with every rank's work in it.
fn combine(mut summary: RunSummary, reports: &[RankReport], before: u64) -> RunSummary {
    if reports.len() == 1 {
        return summary;
    }
    summary.processes = reports.len();
    let devices: Vec<&str> = reports.iter().map(|r| r.device.as_str()).collect();
    summary.device = if devices.iter().all(|d| *d == devices[0]) {
        format!("{} MPI ranks, each on {}", reports.len(), devices[0])
    } else {
        let each: Vec<String> = devices.iter().enumerate().map(|(r, d)| format!("rank {r} on {d}")).collect();
        format!("{} MPI ranks: {}", reports.len(), each.join("; "))
    };
    summary.devices = reports
        .iter()
        .enumerate()
        .flat_map(|(r, rep)| {
            rep.devices
                .iter()
                .map(move |d| DeviceShare { device: format!("rank {r} ({}), {}", rep.host, d.device), ..d.clone() })
        })
        .collect();
    summary.fold_sum = before + reports.iter().map(|r| r.fold).sum::<u64>();
    summary.read_s = reports.iter().map(|r| r.read_s).sum();
    summary.kernel_s = reports.iter().map(|r| r.kernel_s).sum();
    summary.write_s = reports.iter().map(|r| r.write_s).sum();
    summary.workers = reports.iter().map(|r| r.workers).sum();
    summary.pipeline_s = reports.iter().map(|r| r.pipeline_s).fold(summary.pipeline_s, f64::max);
    summary.notes = reports
        .iter()
        .enumerate()
        .flat_map(|(r, rep)| rep.notes.iter().map(move |n| format!("rank {r}: {n}")))
        .collect();
    summary
}

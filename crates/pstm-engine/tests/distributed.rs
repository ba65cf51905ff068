//! A migration shared by several processes (MPI ranks), with the ranks played by threads of one
//! process through the engine's `Cluster`: the output is one process's bit for bit, one summary
//! counts every rank's work, and a rank that fails leaves the others' tiles for `--resume`.
//! The real `mpirun` runs are in the `pstm` binary's tests (feature `mpi`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use common::*;
use pstm_engine::distributed::{Cluster, migrate_shared};
use pstm_engine::{MigrationJob, RunOptions, RunSummary, executor};
use pstm_kernel::{
    CostModel, CpuKernel, FinishedTile, JobSetup, KernelError, KernelSession, MigrationKernel, TileMigration, TileTask,
    TileWork,
};

/// Ranks as threads: collectives through shared slots and a barrier.
struct Threads {
    rank: usize,
    shared: Arc<Slots>,
}

struct Slots {
    size: usize,
    barrier: Barrier,
    broadcast: Mutex<Vec<u8>>,
    gathered: Mutex<Vec<Vec<u8>>>,
}

impl Threads {
    fn world(size: usize) -> Vec<Threads> {
        let shared = Arc::new(Slots {
            size,
            barrier: Barrier::new(size),
            broadcast: Mutex::new(Vec::new()),
            gathered: Mutex::new(vec![Vec::new(); size]),
        });
        (0..size).map(|rank| Threads { rank, shared: shared.clone() }).collect()
    }
}

impl Cluster for Threads {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.shared.size
    }

    fn host(&self) -> String {
        format!("thread {}", self.rank)
    }

    fn broadcast(&self, bytes: &mut Vec<u8>) {
        if self.rank == 0 {
            *self.shared.broadcast.lock().unwrap() = bytes.clone();
        }
        self.shared.barrier.wait();
        if self.rank != 0 {
            *bytes = self.shared.broadcast.lock().unwrap().clone();
        }
        self.shared.barrier.wait();
    }

    fn gather(&self, bytes: Vec<u8>) -> Option<Vec<Vec<u8>>> {
        self.shared.gathered.lock().unwrap()[self.rank] = bytes;
        self.shared.barrier.wait();
        let all = (self.rank == 0).then(|| self.shared.gathered.lock().unwrap().clone());
        self.shared.barrier.wait();
        all
    }
}

/// The cpu kernel, whose device fails once it has finished `pieces` pieces of work (a tile's
/// offset bins each).
struct FailsAfter {
    inner: CpuKernel,
    pieces: usize,
}

struct FailingSession<'a> {
    inner: Box<dyn KernelSession + 'a>,
    left: AtomicUsize,
}

impl MigrationKernel for FailsAfter {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn device(&self) -> String {
        self.inner.device()
    }
    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError> {
        self.inner.begin_tile(task)
    }
    fn open_session<'a>(&'a self, setup: JobSetup<'a>) -> Result<Box<dyn KernelSession + 'a>, KernelError> {
        Ok(Box::new(FailingSession { inner: self.inner.open_session(setup)?, left: AtomicUsize::new(self.pieces) }))
    }
    fn cost_model(&self) -> CostModel {
        self.inner.cost_model()
    }
    fn concurrent_tiles(&self) -> usize {
        self.inner.concurrent_tiles()
    }
    fn bytes_per_output_sample(&self) -> usize {
        self.inner.bytes_per_output_sample()
    }
}

impl KernelSession for FailingSession<'_> {
    fn capacity(&self) -> usize {
        self.inner.capacity()
    }
    fn worker_threads(&self) -> usize {
        self.inner.worker_threads()
    }
    fn submit(&self, work: TileWork) -> Result<(), KernelError> {
        self.inner.submit(work)
    }
    fn close(&self, abandon: bool) {
        self.inner.close(abandon)
    }
    fn next_finished(&self) -> Result<Option<FinishedTile>, KernelError> {
        let tile = self.inner.next_finished()?;
        match self.left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)) {
            Ok(_) => Ok(tile),
            Err(_) => Err(KernelError::Device { kernel: "cpu".into(), message: "failed on purpose".into() }),
        }
    }
}

fn survey(dir: &Path) -> PathBuf {
    let mut s = spec(600.0, 0.6, "{constant: 2200}");
    s.geometry.offsets_m = vec![0.0, 150.0, 400.0];
    s.diffractors.push(diffractor(310.0, 290.0, 300.0));
    s.noise = 0.02;
    write_survey(dir, "survey", &s)
}

/// A job writing stack, fold, normalised stack and offset gathers into `out`.
fn job(dataset: &Path, out: &Path) -> MigrationJob {
    let text = format!(
        "input: {{dataset: {}}}\nvelocity: {{constant: 2200}}\nalgorithm: {{aperture: {{max_m: 400}}}}\n\
         output: {{directory: {}, grid: {{dx: 20, dy: 30, t_min_ms: 100, dt_ms: 4}}, normalized_stack: true, offset_gathers: {{bins: [[0, 100], [100, 500]]}}}}\n\
         execution: {{tile: [6, 4], threads: 1, progress: false}}\n",
        dataset.display(),
        out.display()
    );
    MigrationJob::from_config(pstm_config::from_yaml_str(&text).unwrap()).unwrap()
}

/// Every rank's outcome, rank 0's first.
fn run_ranks(
    size: usize,
    job: &MigrationJob,
    kernel: impl Fn(usize) -> Box<dyn MigrationKernel> + Sync,
    resume: bool,
) -> Vec<pstm_engine::Result<Option<RunSummary>>> {
    let options = RunOptions { progress: false, resume };
    std::thread::scope(|s| {
        let ranks: Vec<_> = Threads::world(size)
            .into_iter()
            .map(|cluster| {
                let kernel = &kernel;
                s.spawn(move || migrate_shared(job, kernel(cluster.rank()).as_ref(), options, &cluster))
            })
            .collect();
        ranks.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

/// Every file of an output but its run record and metadata (which hold times and names).
fn chunks(root: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                walk(root, &p, out);
            } else if name != "run.json" && name != "zarr.json" {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn partials(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".partial-"))
        .collect()
}

#[test]
fn ranks_write_one_output_equal_to_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let ds = survey(dir.path());
    let one = job(&ds, &dir.path().join("one"));
    let alone = executor::migrate(&one, &CpuKernel::new(), RunOptions::QUIET).unwrap();
    let shared = job(&ds, &dir.path().join("three"));
    let mut outcomes = run_ranks(3, &shared, |_| Box::new(CpuKernel::new()), false).into_iter();
    let summary = outcomes.next().unwrap().unwrap().expect("rank 0 reports the run");
    for other in outcomes {
        assert!(other.unwrap().is_none(), "only rank 0 reports");
    }
    assert_eq!(chunks(&dir.path().join("three")), chunks(&dir.path().join("one")));
    assert!(chunks(&dir.path().join("one")).len() > 20, "the volumes' chunks are compared");
    let text = summary.to_string();
    assert_eq!(summary.processes, 3, "{text}");
    assert_eq!(summary.fold_sum, alone.fold_sum, "{text}");
    assert_eq!(summary.devices.len(), 3, "{text}");
    assert_eq!(summary.devices.iter().map(|d| d.tiles).sum::<usize>(), summary.tiles, "{text}");
    assert!(summary.devices.iter().all(|d| d.tiles > 0), "every rank took tiles: {text}");
    assert!(text.contains("3 MPI ranks, each on") && text.contains("rank 2 (thread 2)"), "{text}");
    assert!(partials(dir.path()).is_empty(), "the output is committed");
    let files: Vec<String> = std::fs::read_dir(dir.path().join("three"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(!files.iter().any(|f| f.starts_with("journal")), "the journals are gone: {files:?}");
}

#[test]
fn a_failed_rank_is_named_and_a_resume_finishes_the_others_work() {
    let dir = tempfile::tempdir().unwrap();
    let ds = survey(dir.path());
    let reference = job(&ds, &dir.path().join("reference"));
    executor::migrate(&reference, &CpuKernel::new(), RunOptions::QUIET).unwrap();
    let shared = job(&ds, &dir.path().join("out"));
    // Rank 1's device fails after two tiles (of two offset bins each, one at a time on its one
    // thread); ranks 0 and 2 finish theirs.
    let kernel = |rank: usize| -> Box<dyn MigrationKernel> {
        match rank {
            1 => Box::new(FailsAfter { inner: CpuKernel::new(), pieces: 4 }),
            _ => Box::new(CpuKernel::new()),
        }
    };
    let outcomes = run_ranks(3, &shared, kernel, false);
    let e = outcomes[0].as_ref().expect_err("rank 0 reports the failure").to_string();
    assert!(e.contains("MPI rank 1 (thread 1)") && e.contains("failed on purpose"), "{e}");
    assert!(e.contains("--resume") && !e.contains("MPI rank 2"), "{e}");
    assert!(outcomes[1].is_err() && outcomes[2].as_ref().is_ok_and(|s| s.is_none()));
    assert!(!dir.path().join("out").exists(), "no complete-looking output");
    let kept = partials(dir.path());
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].join("journal.rank-1.jsonl").is_file() && kept[0].join("journal.rank-2.jsonl").is_file());

    // One process resumes what the three left: every rank's finished tiles are skipped.
    let summary = executor::migrate(&shared, &CpuKernel::new(), RunOptions { progress: false, resume: true }).unwrap();
    let resumed = summary.resumed.as_ref().expect("resumed");
    // Ranks 0 and 2 finished all their tiles, rank 1 two of its own (every third from tile 1).
    let n = summary.tiles;
    assert_eq!(resumed.tiles_done, n - (n + 1) / 3 + 2, "of {n}");
    assert_eq!(chunks(&dir.path().join("out")), chunks(&dir.path().join("reference")));
    assert!(partials(dir.path()).is_empty());
}

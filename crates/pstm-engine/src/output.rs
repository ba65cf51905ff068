//! Where finished tiles go: zarr volumes in a staged output directory, or memory.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pstm_io::volume::VolumeElement;
use pstm_io::{MultiscaleWriter, Staged, VolumeWriter};
use pstm_kernel::TileImage;
use pstm_math::{OutputGrid, Tile};

use crate::error::{EngineError, Result};
use crate::job::MigrationJob;
use crate::journal::{Journal, OpenError, RunIdentity};

pub const STACK: &str = "migrated_stack.zarr";
pub const FOLD: &str = "fold.zarr";
pub const NORMALIZED: &str = "migrated_stack_normalized.zarr";
/// The stack at several resolutions (`output.multiscale`): a group, level k in `k/stack`.
pub const MULTISCALE: &str = "migrated_stack_multiscale.zarr";
/// The array name of each level of [`MULTISCALE`].
pub const MULTISCALE_ARRAY: &str = "stack";
pub const GATHERS: &str = "gathers";
pub const RUN_RECORD: &str = "run.json";

/// File name of offset bin `k`'s gather volume inside [`GATHERS`].
pub fn gather_name(k: usize) -> String {
    format!("offset_{k:03}.zarr")
}

/// Which tiles of a run one process migrates: those not yet finished when the run began, dealt
/// in turn to `size` processes (MPI ranks); this one is `rank`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Share {
    pub rank: usize,
    pub size: usize,
}

impl Share {
    /// Every tile, one process.
    pub const WHOLE: Share = Share { rank: 0, size: 1 };
}

/// Receives finished tiles. `bin` is `None` for the stack and fold, `Some(k)` for offset bin `k`.
pub trait OutputSink: Sync {
    fn write_tile(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()>;

    /// The tiles this process writes into the output: all of them, unless several processes
    /// share it.
    fn share(&self) -> Share {
        Share::WHOLE
    }

    /// Where finished tiles are recorded durably, if anywhere: tiles it lists are not migrated
    /// again.
    fn journal(&self) -> Option<&Journal> {
        None
    }

    /// The run failed with `e`: the error to report (a sink that keeps what was finished says
    /// so).
    fn failed(&self, e: EngineError) -> EngineError {
        e
    }
}

/// The fold-normalised stack: sum / fold where fold > 0, else 0.
pub fn normalize(image: &[f32], fold: &[u32]) -> Vec<f32> {
    image.iter().zip(fold).map(|(&s, &f)| if f > 0 { s / f as f32 } else { 0.0 }).collect()
}

/// Zarr volumes under an output directory written under a hidden temporary name and renamed by
/// [`ZarrOutput::commit`], with the [`Journal`] of the tiles finished so far. A run that fails
/// after finishing tiles keeps them for `--resume`; one killed leaves them anyway.
pub struct ZarrOutput {
    /// `None` once kept for a later resume.
    staged: Option<Staged>,
    volumes: Volumes,
    journal: Journal,
    /// The interrupted run this one continues.
    pub resumed: Option<Resumed>,
    /// Interrupted runs' partial outputs of the same directory, held (their journals locked) and
    /// removed once this output is committed: a finished output supersedes them.
    superseded: Vec<(PathBuf, Option<Journal>)>,
    share: Share,
}

/// Where a resumed run started from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Resumed {
    /// The interrupted run's partial output (now this run's).
    pub partial: PathBuf,
    /// Tiles it had finished, and the sum of their fold.
    pub tiles_done: usize,
    pub fold: u64,
}

/// An interrupted run's partial output of a directory, found beside it.
struct Leftover {
    path: PathBuf,
    /// Locked; `Err` says why it cannot be continued.
    journal: std::result::Result<Journal, String>,
}

impl Leftover {
    fn describe(&self) -> String {
        match &self.journal {
            Ok(j) => format!("{} of {} tiles finished", j.finished(), j.tiles()),
            Err(why) => format!("cannot be continued: {why}"),
        }
    }
}

/// The partial outputs of `target` left by processes that are gone (a running process's are
/// left alone: it holds its journal's lock).
fn leftovers(target: &Path) -> Vec<Leftover> {
    Staged::leftovers(target)
        .into_iter()
        .filter_map(|path| {
            let journal = match Journal::open(&path) {
                Ok(j) => Ok(j),
                Err(OpenError::InUse) => return None,
                // A journal-less partial just created by a process that is still starting: leave
                // it a minute before calling it abandoned, unless its process is gone.
                Err(OpenError::Unreadable(_)) if recently_modified(&path) && owner_may_be_running(&path) => {
                    return None;
                }
                Err(OpenError::Unreadable(why)) => Err(why),
            };
            Some(Leftover { path, journal })
        })
        .collect()
}

/// Whether the process named in a partial output's name (`.partial-<pid>-<n>.<name>`) may still
/// run: false only where `/proc` shows it gone (Linux); a process killed between creating the
/// directory and its journal leaves one behind, which a later run then removes at once.
fn owner_may_be_running(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let pid =
        name.strip_prefix(".partial-").and_then(|rest| rest.split('-').next()).and_then(|p| p.parse::<u32>().ok());
    let proc = Path::new("/proc");
    match pid {
        // A zombie (killed, not yet reaped by its parent) is gone too.
        Some(pid) if proc.join("self").exists() => std::fs::read_to_string(proc.join(pid.to_string()).join("stat"))
            .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z'))),
        _ => true,
    }
}

fn recently_modified(path: &Path) -> bool {
    let age = std::fs::metadata(path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
    age.is_some_and(|a| a < std::time::Duration::from_secs(60))
}

/// For `--resume`: when `dir` is a finished pstm output (its run record is written last) and no
/// interrupted run of it is left, what to tell the user; a resume then leaves it untouched.
pub fn finished_output(dir: &Path) -> Option<String> {
    if !dir.join(RUN_RECORD).is_file() || !leftovers(dir).is_empty() {
        return None;
    }
    Some(format!("{}: already finished; nothing to resume (it is left as it is)", dir.display()))
}

/// An error about what is written under `staged`, in the user's terms: `output.directory` and
/// the output's own name, not the temporary one it is written under.
fn in_user_terms(staged: &Staged, e: EngineError) -> EngineError {
    EngineError::job("output.directory", format!("{} (while writing)", named_as_target(staged, &e)))
}

/// `e`'s message with the temporary path replaced by the output's own.
fn named_as_target(staged: &Staged, e: &EngineError) -> String {
    e.to_string().replace(&staged.path().display().to_string(), &staged.target().display().to_string())
}

fn exists_error(e: pstm_io::IoError) -> EngineError {
    match e {
        pstm_io::IoError::Exists { path } => EngineError::job(
            "output.directory",
            format!(
                "{}: already exists; choose another (output.directory or --output) or replace it (output.overwrite: true or --overwrite)",
                path.display()
            ),
        ),
        e => EngineError::job("output.directory", e.to_string()),
    }
}

impl ZarrOutput {
    /// The output of a run of `tiles` tiles shaped `tile_shape`, which `identity` describes. With
    /// `resume`, an interrupted run's partial output with the same identity is continued (an
    /// error says what changed when only others are there); without, partial outputs left by
    /// interrupted runs are reported, and removed once this one is committed.
    pub fn create(
        job: &MigrationJob,
        identity: RunIdentity,
        tiles: usize,
        tile_shape: (usize, usize),
        resume: bool,
    ) -> Result<Self> {
        let target = &job.output_dir;
        let mut found = leftovers(target);
        let mut resumed = None;
        let staged = match resume.then(|| take_matching(&mut found, &identity, tiles)).flatten() {
            Some(leftover) => {
                if target.exists() && !job.overwrite {
                    return Err(exists_error(pstm_io::IoError::Exists { path: target.clone() }));
                }
                let journal = leftover.journal.expect("a matching leftover has a journal");
                let done = journal.done();
                resumed = Some((
                    Resumed { partial: leftover.path.clone(), tiles_done: done.len(), fold: done.values().sum() },
                    journal,
                ));
                let mut staged = Staged::adopt(target, &leftover.path)
                    .map_err(|e| EngineError::job("output.directory", e.to_string()))?;
                // Whatever fails from here on, the finished tiles stay for another resume.
                staged.keep_if_dropped();
                staged
            }
            None => {
                if resume {
                    refuse_changed(target, &found, &identity)?;
                    crate::progress::note(&format!(
                        "output.directory {}: no interrupted run of it to resume; starting from the beginning",
                        target.display()
                    ));
                }
                Staged::replacing(target, job.overwrite, "a pstm output directory", &[RUN_RECORD, STACK])
                    .map_err(exists_error)?
            }
        };
        for f in &found {
            crate::progress::note(&format!(
                "{}: a partial output of output.directory left by an interrupted run ({}); {}it is removed when this run completes",
                f.path.display(),
                f.describe(),
                if f.journal.is_ok() && !resume { "`pstm migrate --resume` would continue it; " } else { "" }
            ));
        }
        let superseded = found.into_iter().map(|f| (f.path, f.journal.ok())).collect();
        let (journal, resumed) = match resumed {
            Some((r, journal)) => (journal, Some(r)),
            None => {
                let dir = staged.path();
                std::fs::create_dir_all(dir)
                    .map_err(|e| in_user_terms(&staged, pstm_io::IoError::fs(dir, e).into()))?;
                (Journal::create(dir, identity, tiles).map_err(|e| in_user_terms(&staged, e))?, None)
            }
        };
        let volumes = Volumes::create(staged.path(), job, &journal.identity().kernel, tile_shape)
            .map_err(|e| in_user_terms(&staged, e))?;
        Ok(Self { staged: Some(staged), volumes, journal, resumed, superseded, share: Share::WHOLE })
    }

    /// This output as rank 0's share of a run of `size` processes, whose other ranks write
    /// into it too ([`RankOutput`]): however this process's part ends, the directory stays for
    /// them and for `--resume`.
    pub fn shared(mut self, size: usize) -> Self {
        self.share = Share { rank: 0, size };
        if let Some(staged) = self.staged.as_mut() {
            staged.keep_if_dropped();
        }
        self
    }

    /// Where the output is written until it is committed.
    pub fn partial(&self) -> &Path {
        self.staged().path()
    }

    fn staged(&self) -> &Staged {
        self.staged.as_ref().expect("present until dropped")
    }

    /// Write the run record and move the directory into place; then remove the partial outputs
    /// this one supersedes.
    pub fn commit(mut self, record: &serde_json::Value) -> Result<PathBuf> {
        let mut staged = self.staged.take().expect("present until committed");
        // Every tile is finished: a failed commit leaves them for `--resume`.
        staged.keep_if_dropped();
        let p = staged.path().join(RUN_RECORD);
        std::fs::write(&p, serde_json::to_string_pretty(record).expect("record serialises"))
            .map_err(|e| in_user_terms(&staged, pstm_io::IoError::fs(&p, e).into()))?;
        let path = staged.commit()?;
        // The journals' work is done; their lines (in finishing order) would make two equal
        // outputs differ.
        crate::journal::remove_journals(&path);
        for (partial, _journal) in self.superseded.drain(..) {
            if let Err(e) = pstm_io::staging::remove_any(&partial) {
                crate::progress::note(&format!("{}: could not remove this partial output: {e}", partial.display()));
            }
        }
        Ok(path)
    }
}

/// The leftover with `identity` and the most tiles finished, taken out of `found`.
fn take_matching(found: &mut Vec<Leftover>, identity: &RunIdentity, tiles: usize) -> Option<Leftover> {
    let best = found
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.journal.as_ref().ok().map(|j| (i, j)))
        .filter(|(_, j)| j.digest() == identity.digest() && j.tiles() == tiles)
        .max_by_key(|(_, j)| j.finished())
        .map(|(i, _)| i)?;
    Some(found.remove(best))
}

/// `--resume` found partial outputs, none of this job: say what changed since the most advanced.
fn refuse_changed(target: &Path, found: &[Leftover], identity: &RunIdentity) -> Result<()> {
    let Some((path, journal)) =
        found.iter().filter_map(|f| f.journal.as_ref().ok().map(|j| (&f.path, j))).max_by_key(|(_, j)| j.finished())
    else {
        return Ok(());
    };
    let mut changes = identity.changes_since(journal.identity());
    if changes.is_empty() {
        changes.push(format!("the plan had {} tiles", journal.tiles()));
    }
    let more = changes.len().saturating_sub(6);
    changes.truncate(6);
    Err(EngineError::job(
        "output.directory",
        format!(
            "{}: cannot resume {} ({} of {} tiles finished): the job changed since: {}{}; run without --resume to start again",
            target.display(),
            path.display(),
            journal.finished(),
            journal.tiles(),
            changes.join("; "),
            if more > 0 { format!("; and {more} more") } else { String::new() }
        ),
    ))
}

impl Drop for ZarrOutput {
    /// However the run ends short of its commit (an error, a panic), finished tiles are kept for
    /// `--resume`; an output with none is removed.
    fn drop(&mut self) {
        if let Some(staged) = self.staged.take()
            && self.journal.finished() > 0
        {
            staged.keep();
        }
    }
}

/// The volumes of an output directory, open for writing.
struct Volumes {
    #[cfg(feature = "fault-injection")]
    stack_path: PathBuf,
    stack: VolumeWriter,
    fold: VolumeWriter,
    normalized: Option<VolumeWriter>,
    multiscale: Option<MultiscaleWriter>,
    gathers: Vec<VolumeWriter>,
}

impl Volumes {
    fn create(root: &std::path::Path, job: &MigrationJob, kernel: &str, tile_shape: (usize, usize)) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| pstm_io::IoError::fs(root, e))?;
        Self::make(root, job, Some((kernel, tile_shape)))
    }

    /// The volumes another process created under `root` (an MPI rank joining rank 0's output).
    fn open(root: &std::path::Path, job: &MigrationJob) -> Result<Self> {
        Self::make(root, job, None)
    }

    /// Every volume the job writes: created by `kernel` in tiles of `tile_shape` columns, or,
    /// without them, opened as created.
    fn make(root: &std::path::Path, job: &MigrationJob, create: Option<(&str, (usize, usize))>) -> Result<Self> {
        let attrs = |quantity: &str, note: &str| {
            let serde_json::Value::Object(m) = serde_json::json!({
                "quantity": quantity,
                "note": note,
                "kernel": create.map(|(k, _)| k),
                "config_hash": job.config_hash,
                "prefilter": job.operator.prefilter,
                "traveltime": job.operator.traveltime,
                "interpolation": job.operator.interpolation,
                "antialiasing": job.operator.antialiasing.method,
                "survey_mode": job.config.algorithm.mode,
                "pstm_version": env!("CARGO_PKG_VERSION"),
            }) else {
                unreachable!()
            };
            m
        };
        let grid = &job.grid;
        let volume = |path: &std::path::Path, element, attributes| match create {
            Some((_, tile_shape)) => VolumeWriter::create(path, grid, tile_shape, element, attributes),
            None => VolumeWriter::open(path),
        };
        let stack = volume(
            &root.join(STACK),
            VolumeElement::F32,
            attrs("stack", "raw sum of weighted contributions, not divided by fold"),
        )?;
        let fold =
            volume(&root.join(FOLD), VolumeElement::U32, attrs("fold", "traces contributing to each output sample"))?;
        let normalized = if job.normalized_stack {
            Some(volume(
                &root.join(NORMALIZED),
                VolumeElement::F32,
                attrs("normalized_stack", "stack divided by fold where fold > 0, else 0"),
            )?)
        } else {
            None
        };
        let multiscale = match (job.multiscale_levels, create) {
            (None, _) => None,
            (Some(levels), Some((_, tile_shape))) => Some(MultiscaleWriter::create(
                &root.join(MULTISCALE),
                MULTISCALE_ARRAY,
                grid,
                levels,
                tile_shape,
                attrs("stack", "raw sum of weighted contributions; level k: the mean of its 2^k x 2^k x 2^k blocks"),
            )?),
            (Some(levels), None) => {
                Some(MultiscaleWriter::open(&root.join(MULTISCALE), MULTISCALE_ARRAY, grid, levels)?)
            }
        };
        let mut gathers = Vec::new();
        if let Some(bins) = job.gathers.as_ref().map(|g| &g.bins) {
            let dir = root.join(GATHERS);
            for (k, [lo, hi]) in bins.iter().enumerate() {
                let mut a = attrs("offset_gather", "raw sum over the traces of one offset bin");
                a.insert("offset_min_m".into(), (*lo).into());
                a.insert("offset_max_m".into(), (*hi).into());
                a.insert("offset_bin".into(), k.into());
                gathers.push(volume(&dir.join(gather_name(k)), VolumeElement::F32, a)?);
            }
        }
        Ok(Self {
            #[cfg(feature = "fault-injection")]
            stack_path: root.join(STACK),
            stack,
            fold,
            normalized,
            multiscale,
            gathers,
        })
    }

    fn write(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()> {
        #[cfg(feature = "fault-injection")]
        if bin.is_none()
            && let Some(e) = crate::fault::write_error(&self.stack_path)
        {
            return Err(e.into());
        }
        match bin {
            Some(k) => self.gathers[k].write_tile_f32(tile, &image.image)?,
            None => {
                self.stack.write_tile_f32(tile, &image.image)?;
                self.fold.write_tile_u32(tile, &image.fold)?;
                if let Some(n) = &self.normalized {
                    n.write_tile_f32(tile, &normalize(&image.image, &image.fold))?;
                }
                if let Some(m) = &self.multiscale {
                    m.write_tile(tile, &image.image)?;
                }
            }
        }
        Ok(())
    }
}

impl OutputSink for ZarrOutput {
    fn write_tile(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()> {
        self.volumes.write(tile, bin, image).map_err(|e| in_user_terms(self.staged(), e))
    }

    fn journal(&self) -> Option<&Journal> {
        Some(&self.journal)
    }

    fn share(&self) -> Share {
        self.share
    }

    fn failed(&self, e: EngineError) -> EngineError {
        let done = self.journal.finished();
        if self.share.size > 1 {
            // Rank 0 alone does not know what the others finished; it says so once they report.
            return EngineError::Other(named_as_target(self.staged(), &e));
        }
        if done == 0 {
            return e;
        }
        EngineError::Other(format!(
            "{}\n{done} of {} tiles were finished and are kept in {}: `pstm migrate --resume` continues from them",
            named_as_target(self.staged(), &e),
            self.journal.tiles(),
            self.staged().path().display()
        ))
    }
}

/// The share of MPI rank `rank` > 0 of an output rank 0 created ([`ZarrOutput::shared`]): its
/// tiles written straight into rank 0's volumes, recorded in its own journal beside rank 0's.
/// Rank 0 commits the output once every rank is done.
pub struct RankOutput {
    volumes: Volumes,
    journal: Journal,
    share: Share,
}

impl RankOutput {
    /// Join the partial output rank 0 created at `partial` for the run `identity` of `tiles`
    /// tiles, `done` of them finished before it began.
    pub fn join(
        job: &MigrationJob,
        partial: &Path,
        identity: RunIdentity,
        tiles: usize,
        done: std::collections::BTreeMap<usize, u64>,
        share: Share,
    ) -> Result<Self> {
        if !partial.is_dir() {
            return Err(EngineError::job(
                "output.directory",
                format!(
                    "MPI rank {}: cannot see {}, which rank 0 created: every rank must write to one file system (a shared one across hosts)",
                    share.rank,
                    partial.display()
                ),
            ));
        }
        let journal = Journal::join(partial, share.rank, tiles, identity, done)?;
        let volumes = Volumes::open(partial, job)?;
        Ok(Self { volumes, journal, share })
    }
}

impl OutputSink for RankOutput {
    fn write_tile(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()> {
        self.volumes
            .write(tile, bin, image)
            .map_err(|e| EngineError::job("output.directory", format!("{e} (while writing)")))
    }

    fn journal(&self) -> Option<&Journal> {
        Some(&self.journal)
    }

    fn share(&self) -> Share {
        self.share
    }
}

/// Whole volumes in memory, `(nx, ny, nt)` C order: for tests, comparisons and benchmarks.
pub struct MemoryOutput {
    pub grid: OutputGrid,
    volumes: Mutex<MemoryVolumes>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoryVolumes {
    pub stack: Vec<f32>,
    pub fold: Vec<u32>,
    pub gathers: Vec<Vec<f32>>,
}

impl MemoryOutput {
    /// Volumes for a grid, with `n_gather_bins` gather volumes (0 without gathers).
    pub fn new(grid: OutputGrid, n_gather_bins: usize) -> Self {
        let n = grid.n_samples();
        let gathers = vec![vec![f32::NAN; n]; n_gather_bins];
        // Poisoned, so a tile the executor forgets shows as NaN.
        Self { grid, volumes: Mutex::new(MemoryVolumes { stack: vec![f32::NAN; n], fold: vec![u32::MAX; n], gathers }) }
    }

    pub fn into_volumes(self) -> MemoryVolumes {
        self.volumes.into_inner().expect("no writer panicked")
    }
}

impl OutputSink for MemoryOutput {
    fn write_tile(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()> {
        let nt = self.grid.time.nt;
        let mut v = self.volumes.lock().expect("no writer panicked");
        for jx in 0..tile.nx {
            for jy in 0..tile.ny {
                let src = (jx * tile.ny + jy) * nt;
                let dst = ((tile.ix0 + jx) * self.grid.ny + tile.iy0 + jy) * nt;
                match bin {
                    Some(k) => v.gathers[k][dst..dst + nt].copy_from_slice(&image.image[src..src + nt]),
                    None => {
                        v.stack[dst..dst + nt].copy_from_slice(&image.image[src..src + nt]);
                        v.fold[dst..dst + nt].copy_from_slice(&image.fold[src..src + nt]);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_output_of_a_process_that_is_gone_is_not_waited_for() {
        let name = |pid: u32| PathBuf::from(format!(".partial-{pid}-0.out"));
        assert!(owner_may_be_running(&name(std::process::id())), "this process runs");
        assert!(owner_may_be_running(Path::new("not-a-partial")), "no process named: may run");
        if Path::new("/proc/self").exists() {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            assert!(!owner_may_be_running(&name(pid)), "a finished, reaped process");
        }
    }
}

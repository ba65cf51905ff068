//! The durable record of a run's finished tiles, from which an interrupted run resumes
//! (`pstm migrate --resume`).
//!
//! [`JOURNAL`] sits in the staged output directory: a header line naming the run (its
//! [`RunIdentity`]) and one line per finished tile, appended and synced once every volume's chunk
//! of the tile is stored (the zarr store syncs each chunk file before its write returns). A line
//! cut short by a kill is dropped when the journal is reopened, and its tile migrated again.
//!
//! The process writing an output holds an exclusive lock on its journal until it ends, however
//! it ends: a partial output whose journal can be locked belongs to no running process. In a run
//! shared by MPI ranks, each rank but 0 records its tiles in a journal of its own beside it
//! ([`rank_journal`]), locked the same way; reopening reads them all.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{EngineError, Result};
use crate::job::MigrationJob;

pub const JOURNAL: &str = "journal.jsonl";
const FORMAT: u32 = 1;

/// The journal of MPI rank `rank` (> 0) of a run shared by several processes: tile lines only,
/// beside rank 0's [`JOURNAL`], which holds the header. Each rank appends to its own file, so
/// that no two processes ever write one file (appends are not atomic on every network file
/// system).
pub fn rank_journal(rank: usize) -> String {
    format!("journal.rank-{rank}.jsonl")
}

/// The ranks' journals in `dir` (see [`rank_journal`]).
fn rank_journals(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("journal.rank-") && n.ends_with(".jsonl"))
        })
        .collect();
    found.sort();
    found
}

/// Remove every journal of a finished output (rank 0's and the other ranks').
pub fn remove_journals(dir: &Path) {
    for p in std::iter::once(dir.join(JOURNAL)).chain(rank_journals(dir)) {
        let _ = std::fs::remove_file(p);
    }
}

/// The tile lines of a journal's text, up to the first line cut short or not a tile of a plan of
/// `tiles`; and how many bytes they span.
fn tile_lines(text: &[u8], tiles: usize) -> (BTreeMap<usize, u64>, usize) {
    let (mut done, mut valid) = (BTreeMap::new(), 0);
    for l in text.split_inclusive(|&b| b == b'\n') {
        let record = l.ends_with(b"\n").then(|| serde_json::from_slice::<TileRecord>(l).ok()).flatten();
        match record {
            Some(r) if r.tile < tiles => {
                done.insert(r.tile, r.fold);
                valid += l.len();
            }
            _ => break,
        }
    }
    (done, valid)
}

/// What decides every bit of a run's output: two runs with equal identities write equal tiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunIdentity {
    /// The job's settings that shape the image: input, velocity, algorithm and the output's
    /// grid and volumes (not where it goes, not how many threads).
    pub job: Value,
    pub kernel: String,
    /// How the work was cut: tiles, trace blocks, an adaptive run's decisions.
    pub plan: Value,
    /// The input dataset's shape and its files' sizes and modification times, and the same of
    /// every other file the job reads (kill and trace lists, a velocity or eta cube).
    pub dataset: Value,
}

impl RunIdentity {
    /// `plan` as the executor describes its tiles and decisions.
    pub fn of(job: &MigrationJob, kernel: &str, plan: Value) -> Self {
        let mut settings = serde_json::json!({
            "input": job.config.input,
            "velocity": job.config.velocity,
            "algorithm": job.config.algorithm,
            "output": job.config.output,
            // The GPU switches: some (traveltime tables) change the image's last bits.
            "gpu": job.config.execution.gpu,
        });
        for volatile in ["directory", "overwrite"] {
            settings["output"].as_object_mut().map(|o| o.remove(volatile));
        }
        let mut dataset = dataset_fingerprint(job);
        let input = &job.config.input;
        for (key, path) in [
            ("input.kill", input.kill.as_ref()),
            ("input.traces", input.traces.as_ref()),
            ("velocity.cube", job.config.velocity.cube.as_ref()),
            ("velocity.eta.cube", job.config.velocity.eta.as_ref().and_then(|e| e.cube.as_ref())),
        ] {
            if let Some(p) = path {
                dataset[key] = files_fingerprint(p);
            }
        }
        Self { job: settings, kernel: kernel.to_string(), plan, dataset }
    }

    /// A digest of the identity's JSON, written into the journal: compared as text, it does not
    /// depend on how a parser rounds the numbers read back.
    pub fn digest(&self) -> String {
        pstm_config::job::digest(self)
    }

    /// What differs from `earlier`, one `key: was A, now B` per setting (leaves of the JSON).
    pub fn changes_since(&self, earlier: &RunIdentity) -> Vec<String> {
        let (mut was, mut now) = (BTreeMap::new(), BTreeMap::new());
        for (name, value, into) in [
            ("", &serde_json::to_value(earlier).expect("serialises"), &mut was),
            ("", &serde_json::to_value(self).expect("serialises"), &mut now),
        ] {
            flatten(name, value, into);
        }
        let keys: std::collections::BTreeSet<&String> = was.keys().chain(now.keys()).collect();
        let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "absent".to_string());
        keys.into_iter()
            .filter(|k| was.get(*k) != now.get(*k))
            .map(|k| {
                let key = k.strip_prefix("job.").unwrap_or(k);
                format!("{key}: was {}, now {}", show(was.get(k)), show(now.get(k)))
            })
            .collect()
    }
}

fn flatten(prefix: &str, value: &Value, into: &mut BTreeMap<String, String>) {
    let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
    match value {
        Value::Object(m) => m.iter().for_each(|(k, v)| flatten(&join(k), v, into)),
        Value::Array(a) if a.iter().any(|v| v.is_object() || v.is_array()) => {
            a.iter().enumerate().for_each(|(i, v)| flatten(&join(&i.to_string()), v, into))
        }
        v => {
            into.insert(prefix.to_string(), v.to_string());
        }
    }
}

/// The dataset's trace count and sampling, and its files: a re-imported or edited dataset is a
/// different input.
fn dataset_fingerprint(job: &MigrationJob) -> Value {
    let layout = job.dataset.layout();
    serde_json::json!({
        "traces": job.dataset.headers().len(),
        "samples": layout.n_samples,
        "dt_s": layout.dt_s(),
        "files": files_fingerprint(job.dataset.root()),
    })
}

/// The size and modification time of a file, or of every top-level entry of a directory.
fn files_fingerprint(path: &Path) -> Value {
    let stamp = |m: &std::fs::Metadata| {
        let modified =
            m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        format!("{} bytes, modified {modified}", if m.is_file() { m.len() } else { 0 })
    };
    let Ok(meta) = std::fs::metadata(path) else { return Value::String("missing".into()) };
    if !meta.is_dir() {
        return Value::String(stamp(&meta));
    }
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(path).into_iter().flatten().flatten() {
        if let Ok(m) = e.metadata() {
            files.insert(e.file_name().to_string_lossy().into_owned(), stamp(&m));
        }
    }
    serde_json::to_value(files).expect("serialises")
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    pstm_journal: u32,
    pstm_version: String,
    tiles: usize,
    /// [`RunIdentity::digest`] of `identity` as written.
    digest: String,
    identity: RunIdentity,
}

/// One finished tile: its index in the plan and the sum of its fold.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct TileRecord {
    tile: usize,
    fold: u64,
}

/// An open, locked journal.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    tiles: usize,
    digest: String,
    identity: RunIdentity,
    /// Finished tiles and their fold sums.
    done: Mutex<BTreeMap<usize, u64>>,
}

/// Why a journal cannot be opened.
#[derive(Debug)]
pub enum OpenError {
    /// Another process holds it: that run is still going.
    InUse,
    /// Missing, or not a journal this pstm reads.
    Unreadable(String),
}

impl Journal {
    /// Start the journal of a run of `tiles` tiles in `dir`, locked.
    pub fn create(dir: &Path, identity: RunIdentity, tiles: usize) -> Result<Self> {
        let path = dir.join(JOURNAL);
        let fs = |e: std::io::Error| EngineError::Io(pstm_io::IoError::fs(&path, e));
        let mut file = OpenOptions::new().create_new(true).read(true).write(true).open(&path).map_err(fs)?;
        lock_new(&file, &path)?;
        let header = Header {
            pstm_journal: FORMAT,
            pstm_version: env!("CARGO_PKG_VERSION").into(),
            tiles,
            digest: identity.digest(),
            identity,
        };
        let mut line = serde_json::to_string(&header).expect("header serialises");
        line.push('\n');
        file.write_all(line.as_bytes()).map_err(fs)?;
        file.sync_all().map_err(fs)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            tiles,
            digest: header.digest,
            identity: header.identity,
            done: Mutex::new(BTreeMap::new()),
        })
    }

    /// Open and lock the journal in `dir`, reading its finished tiles and those of the other
    /// ranks' journals beside it; a last line cut short is cut off.
    pub fn open(dir: &Path) -> std::result::Result<Self, OpenError> {
        let path = dir.join(JOURNAL);
        let unreadable = |m: String| OpenError::Unreadable(format!("{}: {m}", path.display()));
        let mut file = OpenOptions::new().read(true).write(true).open(&path).map_err(|e| unreadable(e.to_string()))?;
        lock(&file, &path)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(|e| unreadable(e.to_string()))?;
        let first = text.split_inclusive(|&b| b == b'\n').next().filter(|l| l.ends_with(b"\n"));
        let header: Header = first
            .and_then(|l| serde_json::from_slice(l).ok())
            .ok_or_else(|| unreadable("no journal header (the run was stopped as it began)".into()))?;
        if header.pstm_journal != FORMAT {
            return Err(unreadable(format!("journal format {} (this pstm reads {FORMAT})", header.pstm_journal)));
        }
        let header_len = first.map_or(0, <[u8]>::len);
        let (mut done, valid) = tile_lines(&text[header_len..], header.tiles);
        let valid = header_len + valid;
        // The other ranks' tiles; a rank still holding its journal is still running.
        for path in rank_journals(dir) {
            let unreadable = |m: String| OpenError::Unreadable(format!("{}: {m}", path.display()));
            let mut rank = File::open(&path).map_err(|e| unreadable(e.to_string()))?;
            lock(&rank, &path)?;
            let mut text = Vec::new();
            rank.read_to_end(&mut text).map_err(|e| unreadable(e.to_string()))?;
            done.extend(tile_lines(&text, header.tiles).0);
        }
        let fs = |e: std::io::Error| unreadable(e.to_string());
        file.set_len(valid as u64).map_err(fs)?;
        file.seek(std::io::SeekFrom::End(0)).map_err(fs)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            tiles: header.tiles,
            digest: header.digest,
            identity: header.identity,
            done: Mutex::new(done),
        })
    }

    /// Rank `rank`'s journal in `dir`, beside rank 0's (which names the run: `tiles`, `identity`),
    /// created or continued, and locked; `done` are the tiles rank 0 found finished when the run
    /// began.
    pub fn join(
        dir: &Path,
        rank: usize,
        tiles: usize,
        identity: RunIdentity,
        done: BTreeMap<usize, u64>,
    ) -> Result<Self> {
        let path = dir.join(rank_journal(rank));
        let fs = |e: std::io::Error| EngineError::Io(pstm_io::IoError::fs(&path, e));
        let mut file =
            OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(fs)?;
        lock_new(&file, &path)?;
        // An earlier run's last line, cut short, goes.
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(fs)?;
        let valid = tile_lines(&text, tiles).1;
        file.set_len(valid as u64).map_err(fs)?;
        file.seek(std::io::SeekFrom::End(0)).map_err(fs)?;
        Ok(Self { path, file: Mutex::new(file), tiles, digest: identity.digest(), identity, done: Mutex::new(done) })
    }

    /// Record tile `tile` finished, durably, before returning.
    pub fn record(&self, tile: usize, fold: u64) -> Result<()> {
        let mut line = serde_json::to_string(&TileRecord { tile, fold }).expect("record serialises");
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let fs = |e: std::io::Error| EngineError::Io(pstm_io::IoError::fs(&self.path, e));
        file.write_all(line.as_bytes()).map_err(fs)?;
        file.sync_data().map_err(fs)?;
        self.done.lock().unwrap_or_else(|e| e.into_inner()).insert(tile, fold);
        Ok(())
    }

    /// Finished tiles and the sums of their folds.
    pub fn done(&self) -> BTreeMap<usize, u64> {
        self.done.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many tiles are finished.
    pub fn finished(&self) -> usize {
        self.done.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn tiles(&self) -> usize {
        self.tiles
    }

    pub fn identity(&self) -> &RunIdentity {
        &self.identity
    }

    /// The digest of the identity the journal was started with.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// [`lock`] on a journal this process is starting: another holder is an error.
fn lock_new(file: &File, path: &Path) -> Result<()> {
    lock(file, path).map_err(|e| match e {
        OpenError::InUse => EngineError::Other(format!("{}: locked by another process", path.display())),
        OpenError::Unreadable(m) => EngineError::Other(m),
    })
}

fn lock(file: &File, path: &Path) -> std::result::Result<(), OpenError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::InUse),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(OpenError::Unreadable(format!("{}: cannot lock: {e}", path.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(aperture: f64) -> RunIdentity {
        RunIdentity {
            job: serde_json::json!({"algorithm": {"aperture": {"max_m": aperture}}}),
            kernel: "cpu".into(),
            plan: serde_json::json!({"tiles": 4}),
            dataset: serde_json::json!({"traces": 10}),
        }
    }

    #[test]
    fn records_survive_reopening_and_a_torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::create(dir.path(), identity(1000.0), 4).unwrap();
        j.record(2, 17).unwrap();
        j.record(0, 5).unwrap();
        // Held: nobody else opens it.
        assert!(matches!(Journal::open(dir.path()), Err(OpenError::InUse)));
        drop(j);
        // A kill in the middle of the next record.
        let mut f = OpenOptions::new().append(true).open(dir.path().join(JOURNAL)).unwrap();
        f.write_all(b"{\"tile\":3,\"fo").unwrap();
        drop(f);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.done(), BTreeMap::from([(0, 5), (2, 17)]));
        assert_eq!(j.tiles(), 4);
        j.record(3, 1).unwrap();
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.done(), BTreeMap::from([(0, 5), (2, 17), (3, 1)]));
        assert_eq!(j.identity(), &identity(1000.0));
        assert_eq!(j.digest(), identity(1000.0).digest());
        assert_ne!(j.digest(), identity(1000.1).digest());
    }

    #[test]
    fn a_journal_without_its_header_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL), b"{\"pstm_jour").unwrap();
        assert!(matches!(Journal::open(dir.path()), Err(OpenError::Unreadable(m)) if m.contains("no journal header")));
        assert!(matches!(Journal::open(&dir.path().join("none")), Err(OpenError::Unreadable(_))));
    }

    #[test]
    fn changes_name_the_setting() {
        let changes = identity(2000.0).changes_since(&identity(1000.0));
        assert_eq!(changes, vec!["algorithm.aperture.max_m: was 1000.0, now 2000.0".to_string()]);
        assert!(identity(1000.0).changes_since(&identity(1000.0)).is_empty());
    }
}

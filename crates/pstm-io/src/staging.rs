//! Write under a temporary name, rename when complete.
//!
//! A [`Staged`] path lives at `<dir>/.partial-<pid>-<n>.<name>` (hidden, the name's extension
//! kept for writers that go by it) until [`Staged::commit`] renames it to `<dir>/<name>`. Dropped uncommitted (an error, a panic), it removes what it wrote. A
//! process killed outright leaves only the hidden `.partial-` path, which no reader mistakes for
//! output. A previous output at `<dir>/<name>` is moved aside before the rename and deleted only
//! after it, so a failed commit puts it back.
//!
//! Replacing is allowed only for what pstm itself writes ([`Staged::replacing`]): an overwrite
//! flag must never delete a user's input that happens to sit at the output path.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{IoError, Result};

#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
    /// Dropped uncommitted, leave what was written (it can be continued).
    keep_if_dropped: bool,
}

impl Staged {
    /// Prepare to write `target`. Fails if it exists and `overwrite` is false.
    pub fn new(target: &Path, overwrite: bool) -> Result<Self> {
        Self::replacing(target, overwrite, "a file", &[])
    }

    /// Like [`Staged::new`], but an existing `target` is replaced only when it is what pstm
    /// writes there: an empty directory, or one holding any of `markers` (for a file target,
    /// `markers` empty means any file). `what` names it for the error.
    pub fn replacing(target: &Path, overwrite: bool, what: &str, markers: &[&str]) -> Result<Self> {
        if target.exists() {
            if !overwrite {
                return Err(IoError::Exists { path: target.to_path_buf() });
            }
            let ours = if target.is_dir() {
                markers.iter().any(|m| target.join(m).exists())
                    || std::fs::read_dir(target).map(|mut d| d.next().is_none()).unwrap_or(false)
            } else {
                markers.is_empty()
            };
            if !ours {
                return Err(IoError::invalid(
                    target,
                    format!("exists and is not {what}; refusing to replace it (choose another output)"),
                ));
            }
        }
        let name = target
            .file_name()
            .ok_or_else(|| IoError::invalid(target, "output path has no file name"))?
            .to_string_lossy()
            .into_owned();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| IoError::fs(&parent, e))?;
        // Unique within the process too, so two writers of one target never share a temporary.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // A name nothing has: an earlier process with this id (ids are reused, and a container's
        // first process is always 1) may have left a temporary worth keeping.
        let temp = loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let temp = parent.join(format!(".partial-{}-{n}.{name}", std::process::id()));
            if std::fs::symlink_metadata(&temp).is_err() {
                break temp;
            }
        };
        Ok(Self { target: target.to_path_buf(), temp, committed: false, keep_if_dropped: false })
    }

    /// Continue writing an earlier process's temporary `temp` (one of [`Staged::leftovers`]) for
    /// `target`: committed, it replaces `target` as a new one would.
    pub fn adopt(target: &Path, temp: &Path) -> Result<Self> {
        if !temp.is_dir() && !temp.is_file() {
            return Err(IoError::Missing { path: temp.to_path_buf() });
        }
        Ok(Self { target: target.to_path_buf(), temp: temp.to_path_buf(), committed: false, keep_if_dropped: false })
    }

    /// The temporaries of `target` left beside it by processes that did not finish (killed, or
    /// still running: the caller tells them apart), oldest first.
    pub fn leftovers(target: &Path) -> Vec<PathBuf> {
        let (Some(name), Some(parent)) = (target.file_name(), target.parent()) else { return Vec::new() };
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        let suffix = format!(".{}", name.to_string_lossy());
        let Ok(entries) = std::fs::read_dir(parent) else { return Vec::new() };
        let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with(".partial-") && n.ends_with(&suffix) && is_temporary_name(&n, &suffix)
            })
            .map(|e| (e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), e.path()))
            .collect();
        found.sort();
        found.into_iter().map(|(_, p)| p).collect()
    }

    /// From now on, dropped uncommitted (an error, a failed commit, a panic), leave what was
    /// written where it is (for a later [`Staged::adopt`]).
    pub fn keep_if_dropped(&mut self) {
        self.keep_if_dropped = true;
    }

    /// Leave what was written where it is, uncommitted (for a later [`Staged::adopt`]).
    pub fn keep(mut self) -> PathBuf {
        self.committed = true;
        self.temp.clone()
    }

    /// Where to write now.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Where the output will be once committed.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Move the finished output into place, replacing any previous one.
    pub fn commit(mut self) -> Result<PathBuf> {
        let old = self.temp.with_file_name(
            self.temp.file_name().expect("temporary has a name").to_string_lossy().replacen(".partial-", ".old-", 1),
        );
        let had_old = std::fs::symlink_metadata(&self.target).is_ok();
        if had_old {
            std::fs::rename(&self.target, &old).map_err(|e| IoError::fs(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.temp, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(IoError::fs(&self.target, e));
        }
        self.committed = true;
        if had_old {
            remove_any(&old)?;
        }
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed && !self.keep_if_dropped {
            let _ = remove_any(&self.temp);
        }
    }
}

/// Write a whole file through a [`Staged`] temporary: readers see the old file or the new one,
/// never half of it.
pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> Result<()> {
    let staged = Staged::new(path, true)?;
    std::fs::write(staged.path(), contents).map_err(|e| IoError::fs(path, e))?;
    staged.commit()?;
    Ok(())
}

/// `.partial-<pid>-<n><suffix>` with numbers for pid and n.
fn is_temporary_name(name: &str, suffix: &str) -> bool {
    if name.len() < ".partial-".len() + suffix.len() {
        return false;
    }
    let middle = &name[".partial-".len()..name.len() - suffix.len()];
    middle.split_once('-').is_some_and(|(pid, n)| {
        !pid.is_empty() && !n.is_empty() && pid.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit())
    })
}

/// Remove a file or a directory tree, if it is there.
pub fn remove_any(path: &Path) -> Result<()> {
    let r = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(_) => return Ok(()),
    };
    r.map_err(|e| IoError::fs(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_output_disappears() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.zarr");
        {
            let s = Staged::new(&target, false).unwrap();
            std::fs::create_dir_all(s.path()).unwrap();
            std::fs::write(s.path().join("x"), b"1").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let s = Staged::new(&target, false).unwrap();
        std::fs::create_dir_all(s.path()).unwrap();
        s.commit().unwrap();
        assert!(target.is_dir());
        assert!(matches!(Staged::new(&target, false), Err(IoError::Exists { .. })));
        assert!(Staged::new(&target, true).is_ok());
    }

    #[test]
    fn replacing_only_what_pstm_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("precious.txt"), b"user data").unwrap();
        let e = Staged::replacing(&target, true, "a pstm output", &["run.json"]).unwrap_err().to_string();
        assert!(e.contains("refusing to replace"), "{e}");
        std::fs::write(target.join("run.json"), b"{}").unwrap();
        let s = Staged::replacing(&target, true, "a pstm output", &["run.json"]).unwrap();
        std::fs::create_dir_all(s.path()).unwrap();
        std::fs::write(s.path().join("new"), b"1").unwrap();
        s.commit().unwrap();
        assert!(target.join("new").exists() && !target.join("precious.txt").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the old output is gone");
    }

    #[test]
    fn a_kept_temporary_is_found_adopted_and_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.zarr");
        let s = Staged::new(&target, false).unwrap();
        std::fs::create_dir_all(s.path()).unwrap();
        std::fs::write(s.path().join("x"), b"1").unwrap();
        let kept = s.keep();
        // Another output's temporary and a look-alike are not this target's.
        std::fs::create_dir_all(dir.path().join(".partial-1-0.other.zarr")).unwrap();
        std::fs::create_dir_all(dir.path().join(".partial-x-0.out.zarr")).unwrap();
        assert_eq!(Staged::leftovers(&target), vec![kept.clone()]);
        Staged::adopt(&target, &kept).unwrap().commit().unwrap();
        assert_eq!(std::fs::read(target.join("x")).unwrap(), b"1");
        assert!(Staged::leftovers(&target).is_empty());

        // A process that had this one's id left temporaries: a new one takes another name and
        // removes none of them.
        let pid = std::process::id();
        let other = dir.path().join("third.zarr");
        for n in 0..64 {
            let p = dir.path().join(format!(".partial-{pid}-{n}.third.zarr"));
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join("tile"), b"kept").unwrap();
        }
        let mut s = Staged::new(&other, false).unwrap();
        assert!(!s.path().exists());
        assert_eq!(Staged::leftovers(&other).len(), 64);
        // Kept when dropped, once asked to.
        std::fs::create_dir_all(s.path()).unwrap();
        s.keep_if_dropped();
        let path = s.path().to_path_buf();
        drop(s);
        assert!(path.exists());
    }
}

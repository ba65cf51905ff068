//! Write under a temporary name, rename when complete.
//!
//! A [`Staged`] path lives at `<dir>/.<name>.partial-<pid>` until [`Staged::commit`] renames it to
//! `<dir>/<name>`. Dropped uncommitted (an error, a panic), it removes what it wrote. A process
//! killed outright leaves only the hidden `.partial-` path, which no reader mistakes for output.

use std::path::{Path, PathBuf};

use crate::error::{IoError, Result};

#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl Staged {
    /// Prepare to write `target`. Fails if it exists and `overwrite` is false.
    pub fn new(target: &Path, overwrite: bool) -> Result<Self> {
        if target.exists() && !overwrite {
            return Err(IoError::Exists { path: target.to_path_buf() });
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
        let temp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        remove_any(&temp)?;
        Ok(Self { target: target.to_path_buf(), temp, committed: false })
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
        remove_any(&self.target)?;
        std::fs::rename(&self.temp, &self.target).map_err(|e| IoError::fs(&self.target, e))?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_any(&self.temp);
        }
    }
}

fn remove_any(path: &Path) -> Result<()> {
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
}

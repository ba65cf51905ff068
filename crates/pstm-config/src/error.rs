//! Configuration errors: where in the file, what is wrong, and what would be right.

use std::fmt;
use std::path::PathBuf;

/// One problem with one value.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Dotted path of the value, e.g. `output.grid.dx` or `velocity.table[2][0]`; empty for the
    /// whole document.
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { path: path.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { write!(f, "{}", self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// Every problem found in one file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ConfigErrors {
    pub file: Option<PathBuf>,
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.file.as_ref().map_or_else(|| "configuration".to_string(), |p| p.display().to_string());
        if self.errors.len() == 1 {
            return write!(f, "{name}: {}", self.errors[0]);
        }
        write!(f, "{name}: {} problems", self.errors.len())?;
        for e in &self.errors {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

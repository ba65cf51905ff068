//! The framework's error: which file or step failed and why.

use std::path::PathBuf;

use pstm_engine::EngineError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Io(#[from] pstm_io::IoError),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a pstm benchmark results file: {source}")]
    Results { path: PathBuf, source: serde_json::Error },
    /// A dataset name that is neither a preset nor an existing dataset directory.
    #[error("dataset `{0}` is neither a preset (tiny, small, medium, large, wide) nor an existing dataset directory")]
    UnknownDataset(String),
    /// Settings that cannot work together (no runs, an empty kernel list).
    #[error("{0}")]
    Invalid(String),
    #[error("cannot draw the report: {0}")]
    Report(String),
}

impl BenchError {
    pub fn file(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BenchError::File { path: path.into(), source }
    }
}

pub type Result<T> = std::result::Result<T, BenchError>;

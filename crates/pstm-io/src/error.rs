//! Errors of the formats layer. Every error names the file and, where it applies, the field,
//! row or trace at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    #[error("{path}: {source}")]
    Fs { path: PathBuf, source: std::io::Error },
    #[error("{path}: not found")]
    Missing { path: PathBuf },
    #[error("{path}: {message}")]
    Zarr { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Parquet { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: already exists (choose another output or allow overwriting)")]
    Exists { path: PathBuf },
    /// A SEG-Y file that cannot be read or written; the inner error names the bytes or trace.
    #[error("{path}: {source}")]
    Segy { path: PathBuf, source: pstm_segy::SegyError },
}

pub type Result<T> = std::result::Result<T, IoError>;

impl IoError {
    pub fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        IoError::Invalid { path: path.into(), message: message.into() }
    }

    pub fn fs(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoError::Fs { path: path.into(), source }
    }

    pub fn zarr(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        IoError::Zarr { path: path.into(), message: message.to_string() }
    }

    pub fn segy(path: impl Into<PathBuf>, source: pstm_segy::SegyError) -> Self {
        IoError::Segy { path: path.into(), source }
    }

    pub fn parquet(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        IoError::Parquet { path: path.into(), message: message.to_string() }
    }
}

//! The library's error: which step failed and why, in words a user can act on.

use pstm_config::ConfigErrors;
use pstm_io::IoError;
use pstm_kernel::KernelError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// A setting that parses but does not fit the data (`field: message`).
    #[error("{field}: {message}")]
    Job { field: String, message: String },
    /// The work cannot be planned within the limits given.
    #[error("{0}")]
    Plan(String),
    #[error("unknown kernel `{name}`; valid names: {valid}")]
    UnknownKernel { name: String, valid: String },
    #[error("{0}")]
    Other(String),
}

impl EngineError {
    pub fn job(field: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError::Job { field: field.into(), message: message.into() }
    }
}

pub type Result<T> = std::result::Result<T, EngineError>;

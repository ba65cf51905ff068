//! The pstm job file and the synthetic-survey spec: YAML in, checked values out.
//!
//! A user's whole job fits in one YAML file with five sections: `input`, `velocity`,
//! `algorithm`, `output`, `execution` ([`JobConfig`]). Parsing is strict and explains itself:
//!
//! 1. YAML syntax errors give the line and column.
//! 2. Unknown keys are rejected with the key's full path (`execution.kernal`) and the closest
//!    valid key; wrong types name the path and the type expected.
//! 3. Every value is range-checked after parsing, and every violation is reported at once, each
//!    naming its field and the allowed range.
//!
//! What comes out are plain values, not yet tied to files: the engine turns a [`JobConfig`] into
//! a validated migration job (opening the dataset, sampling velocities) and reports what only
//! the data can tell (a grid that misses the survey, a cube that does not cover the grid).
//! Relative paths in a file are relative to the file's directory ([`JobConfig::resolve_paths`]).

mod check;
pub mod error;
pub mod job;
mod load;
pub mod synth;
pub mod template;

pub use error::{ConfigError, ConfigErrors};
pub use job::JobConfig;
pub use load::{from_yaml_str, load_yaml_file};
pub use synth::SynthSpec;

/// Checks of values that serde's types cannot express (ranges, exclusive options).
pub trait Validate {
    /// Push one error per violation; `path` is this value's position in the file.
    fn validate(&self, path: &str, errors: &mut Vec<ConfigError>);
}

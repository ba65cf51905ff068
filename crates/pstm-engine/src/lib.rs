//! The pstm library: everything the `pstm` command does, callable from Rust.
//!
//! A migration goes through four steps, each its own module:
//!
//! 1. [`job`]: a checked [`pstm_config::JobConfig`] becomes a [`MigrationJob`]: the dataset
//!    opened, the velocity model built (Dix-converted if needed), the output grid resolved
//!    against the data, and every problem only the data can show reported by name.
//! 2. [`plan`]: the grid is cut into tiles whose shape the kernel's cost model chooses
//!    ([`cost`]) within the memory budget; a spatial index on midpoints ([`index`]) finds, for
//!    each tile, the traces within the largest aperture; the contributions each tile will compute
//!    are counted exactly (the progress bar and the benchmark figures use them).
//! 3. [`executor`]: a pipeline: tiles from a [`scheduler`], with their trace ids, into the
//!    kernel's per-job session (from the [`registry`]), which reads pre-filtered traces from the
//!    job's trace store ([`store`]: memory when the survey fits the budget, else the dataset);
//!    a writer stage puts finished tiles into the outputs ([`output`]) while the next migrate.
//! 4. The output directory is written under a temporary name and renamed when complete; its
//!    [`journal`] records each finished tile durably, so an interrupted run resumes
//!    (`--resume`) to the same bits, and a failing device's tiles are retried or, when the job
//!    allows it, finished on the CPU.
//!
//! [`synth`] writes synthetic surveys with their ground truth, [`demo`] runs the whole chain on
//! one, and [`plot`] draws slices of a volume. [`check`] finds the output samples a comparison
//! of two kernels excuses.

pub mod adaptive_time;
pub mod check;
pub mod convert;
pub mod cost;
pub mod demo;
pub mod distributed;
pub mod error;
pub mod executor;
#[cfg(feature = "fault-injection")]
mod fault;
pub mod index;
pub mod info;
pub mod job;
pub mod journal;
pub mod output;
pub mod plan;
pub mod plot;
pub mod progress;
pub mod registry;
pub mod scheduler;
pub mod selection;
pub mod store;
pub mod synth;

pub use error::{EngineError, Result};
pub use executor::{RunOptions, RunSummary};
pub use job::MigrationJob;
pub use pstm_kernel::MigrationKernel;
pub use registry::{KernelOptions, create_kernel};

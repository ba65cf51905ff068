//! pstm's benchmark and correctness framework: the roadmap's testing infrastructure as a
//! library, behind `pstm compare` and `pstm bench`.
//!
//! - [`dataset`]: benchmark datasets by preset name (generated once, then cached) or path, and
//!   the job every benchmark and comparison migrates ([`dataset::BENCH_JOB`]; on the `wide`
//!   preset [`dataset::WIDE_BENCH_JOB`]).
//! - [`compare`]: two kernels on a whole job, measured outside the borderline mask, with the
//!   repeated-run race check; the parity rule decides pass or fail.
//! - [`bench`]: every kernel on every dataset, warm-up then timed runs, into [`record`]s: times
//!   with their [`stats`], contributions per second, speedups, accuracy against `cpu-ref`, the
//!   [`machine`] and its load.
//! - [`regress`]: the roadmap's regression alert against a previous results file.
//! - [`report`]: one HTML page with SVG [`chart`]s and a table of every number.
//!
//! Speed is only ever measured here, through the executor, never by timing tests.

pub mod bench;
pub mod chart;
pub mod compare;
pub mod dataset;
pub mod error;
pub mod machine;
pub mod record;
pub mod regress;
pub mod report;
pub mod stats;

pub use bench::{BenchOptions, run as run_bench};
pub use compare::{CompareOutcome, Tolerance, run as run_compare};
pub use error::{BenchError, Result};
pub use record::BenchResults;

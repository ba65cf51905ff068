//! Formats of pstm: what goes in and what comes out.
//!
//! - A **dataset** is a directory holding `traces.zarr` (float32 `(n_traces, n_samples)`, chunks
//!   of whole traces, attributes `sample_rate_ms, start_time_ms, n_traces, n_samples`),
//!   `headers.parquet` (one row per trace: `trace_idx, SOU_X, SOU_Y, REC_X, REC_Y, CDP_X, CDP_Y,
//!   OFFSET, AZIMUTH`, optionally `INLINE, CROSSLINE`) and, for synthetic surveys, `metadata.json`
//!   with the ground truth. This is the layout of the reference Python package, so datasets move
//!   between the two. Zarr v3 is written; v2 and v3 are read.
//! - A **volume** is a zarr array `(nx, ny, nt)` of an output grid (stack, fold, gathers), with
//!   the grid in its attributes.
//! - **Velocity cubes** are zarr arrays `(nx, ny, nt)` with their axes in attributes.
//! - **SEG-Y** comes in as datasets ([`segy_import`]) and velocity cubes ([`segy_velocity`]) and
//!   goes out from volumes and datasets ([`segy_export`]); the format itself is `pstm-segy`.
//!
//! Everything is written under a temporary name beside its destination and renamed into place
//! only when complete ([`staging`]), so an interrupted run never leaves output that looks whole.

pub mod dataset;
pub mod error;
pub mod headers;
mod import_summary;
pub mod kill_list;
pub mod segy_export;
pub mod segy_import;
pub mod segy_velocity;
pub mod staging;
pub mod velocity_cube;
pub mod volume;
mod zarr;

pub use dataset::{Dataset, DatasetLayout, DatasetWriter, TraceChunks, write_dataset};
pub use error::{IoError, Result};
pub use headers::TraceHeaders;
pub use staging::Staged;
pub use volume::{MultiscaleWriter, VolumeInfo, VolumeReader, VolumeWriter};

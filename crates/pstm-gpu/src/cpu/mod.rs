//! CPU twins of the WGSL modules: the same functions, variable names and loops, in float32 Rust.
//!
//! A twin is how a kernel is debugged: it runs here without a GPU, under a debugger, with
//! prints, and is tested against `cpu-ref` with the same tolerance as the GPU kernel. When the
//! GPU and its twin disagree, the difference lies in the device (compiler, driver, precision of
//! built-ins), not in the algorithm. Each file names the WGSL file it mirrors; a change to one
//! is a change to both.

pub mod migrate_v0;
pub mod migrate_v1;
pub mod migrate_v2;
pub mod reading;
pub mod trace_samples;
pub mod traveltime;
pub mod velocity;
pub mod weights;

use pstm_kernel::{TileTask, TraceBlock, TraceLayout};

use crate::layout::{ColumnV1, VelocitySource, columns_v1, local_origin};

/// What the per-tile protocol gives a twin's `migrate_tile` for a tile, as the host computes it:
/// the traces' layout, the tile's local origin and columns, its output times (s) and where
/// velocities come from (`VELOCITY_TIME` for one column, `VELOCITY_COLUMNS` otherwise).
pub struct TileInputs {
    pub layout: TraceLayout,
    pub origin: [f64; 2],
    pub columns: Vec<ColumnV1>,
    pub times_s: Vec<f64>,
    pub source: VelocitySource,
}

impl TileInputs {
    /// `None` when no block has a trace (the tile's image is then zero).
    pub fn new(task: &TileTask<'_>, blocks: &[TraceBlock]) -> Option<Self> {
        let first = blocks.iter().find(|b| b.n_traces() > 0)?;
        let origin = local_origin(task.columns);
        Some(Self {
            layout: TraceLayout { n_samples: first.n_samples, dt_s: first.dt_s, t_start_s: first.t_start_s },
            origin,
            columns: columns_v1(task.columns, origin, None),
            times_s: (0..task.time.nt).map(|i| task.time.time(i)).collect(),
            source: if task.velocity.n_columns == 1 { VelocitySource::Time } else { VelocitySource::Columns },
        })
    }
}

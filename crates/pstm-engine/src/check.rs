//! Checking whole-grid results of one kernel against another: the grid-wide borderline mask.
//!
//! [`pstm_kernel::parity::borderline_mask`] finds, for one tile, the output samples where a
//! float32 kernel and the float64 reference may rightly disagree (a traveltime within a hair of a
//! trace end, a midpoint within a hair of the aperture edge). [`borderline_mask`] runs it over
//! every tile of a job's grid, with the traces the plan would give each tile, so that `pstm
//! compare` and `pstm bench` excuse exactly the samples the kernel parity tests excuse.

use pstm_kernel::TraceBlock;
use pstm_kernel::parity::{APERTURE_EDGE_EPS, borderline_mask as tile_mask};
use pstm_math::Tile;
use rayon::prelude::*;

use crate::error::{EngineError, Result};
use crate::index::MidpointIndex;
use crate::job::MigrationJob;

/// Tile side (columns) used to cut the grid for the mask. The mask of a sample does not depend on
/// tiling, so any size works; this one keeps each tile's trace list small and the tiles many.
const MASK_TILE: usize = 8;

/// Output samples of the job's stack excused from comparison, in grid order (`(ix * ny + iy) *
/// nt + it`, as [`crate::output::MemoryVolumes`]).
///
/// Each tile's traces come from the plan's own query ([`MidpointIndex::near_rect`] around the
/// tile), with the radius widened by the aperture-edge tolerance: a kernel planned with other
/// tiles may see a trace just beyond the aperture of a column, and such a trace must be able to
/// mark that column. The cost is one float64 traveltime per in-aperture contribution, about what
/// `cpu-ref` spends, on all the job's threads.
pub fn borderline_mask(job: &MigrationJob) -> Result<Vec<bool>> {
    crate::executor::pool(job)?.install(|| mask_all_tiles(job))
}

fn mask_all_tiles(job: &MigrationJob) -> Result<Vec<bool>> {
    let grid = &job.grid;
    let nt = grid.time.nt;
    let layout = job.dataset.layout();
    let headers = job.dataset.headers();
    let aperture = job.operator.aperture.max_m;
    // The same index (and cell size) as the plan.
    let index = MidpointIndex::new(headers, &job.selected, (aperture / 16.0).max(1.0));
    let radius = aperture * (1.0 + 2.0 * APERTURE_EDGE_EPS);
    let tiles = grid.tiles(MASK_TILE, MASK_TILE);
    let masks: Vec<(Tile, Vec<bool>)> = tiles
        .par_iter()
        .map(|tile| -> Result<(Tile, Vec<bool>)> {
            let columns = grid.tile_columns(tile);
            let velocity =
                job.velocity.sample(&columns, &grid.time).map_err(|e| EngineError::job("velocity", e.to_string()))?;
            let traces = index.near_rect(grid.tile_bounds(tile), radius);
            // The mask reads geometry and the trace axis only, never samples: the block carries
            // no samples, so the mask of a large survey costs no trace reads.
            let block = TraceBlock {
                n_samples: layout.n_samples,
                dt_s: layout.dt_s(),
                t_start_s: layout.t_start_s(),
                samples: Vec::new(),
                geometry: traces.iter().map(|&t| headers.geometry(t as usize)).collect(),
            };
            let task = pstm_kernel::TileTask {
                columns: &columns,
                time: grid.time,
                velocity: &velocity,
                operator: &job.operator,
            };
            Ok((*tile, tile_mask(&task, std::slice::from_ref(&block))))
        })
        .collect::<Result<_>>()?;
    let mut mask = vec![false; grid.n_samples()];
    for (tile, m) in masks {
        for jx in 0..tile.nx {
            for jy in 0..tile.ny {
                let src = (jx * tile.ny + jy) * nt;
                let dst = ((tile.ix0 + jx) * grid.ny + tile.iy0 + jy) * nt;
                mask[dst..dst + nt].copy_from_slice(&m[src..src + nt]);
            }
        }
    }
    Ok(mask)
}

//! Choosing the tile shape by cost. A kernel visits, for every output sample of a tile, the
//! traces that can reach any column of the tile; only those within the sample's own aperture
//! contribute. Small tiles waste fewer visits but read and hand over every trace to more tiles
//! and pay more per-tile and per-block overheads. The planner prices each candidate shape with the
//! kernel's [`CostModel`] on the survey's real midpoints (a sample of its tiles) and takes the
//! cheapest that keeps the device busy and fits the memory budget.

use pstm_kernel::CostModel;
use pstm_math::{OutputGrid, Prefilter};

use crate::index::MidpointIndex;

/// Tiles priced per candidate shape; the rest are extrapolated.
const SAMPLED_TILES: usize = 48;

/// Seconds to read one trace sample from memory (a copy) and from the dataset (decompression),
/// and to pre-filter it.
const READ_MEMORY_S: f64 = 0.3e-9;
const READ_STREAM_S: f64 = 3e-9;
const PREFILTER_S: f64 = 10e-9;

/// Square sides tried, about 1.25-1.5x apart.
const SIDES: [usize; 28] =
    [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 56, 64, 80, 96, 128, 160, 192, 256, 320, 384, 512, 768, 1024];

/// What the planner knows when it prices a shape.
pub struct CostInputs<'a> {
    pub grid: &'a OutputGrid,
    pub index: &'a MidpointIndex,
    /// Radius of the trace query around a tile.
    pub reach: f64,
    pub n_samples: usize,
    pub block_traces: usize,
    pub traces_in_memory: bool,
    pub prefilter: Prefilter,
    /// Tiles migrated at once (the kernel's parallel lanes).
    pub concurrent: usize,
    /// Offset bins: each tile is migrated once per bin, with its share of the traces.
    pub n_bins: usize,
    pub model: CostModel,
    /// Contributions of the whole job (estimated): their time is what idle lanes wait on.
    pub contributions: f64,
}

/// One priced shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapeCost {
    pub shape: (usize, usize),
    pub tiles: usize,
    /// Estimated seconds of kernel and reading, beyond the contributions themselves (which every
    /// shape pays alike).
    pub overhead_s: f64,
    /// (trace, output sample) pairs visited.
    pub visits: f64,
}

/// Pieces (tiles x offset bins) above which the last wave's idle lanes are neglected.
const BALANCE_PIECES: usize = 4096;

impl CostInputs<'_> {
    /// Price tiles of `tx` x `ty` columns: a stratified sample of about 48 of its
    /// tiles, spread over the whole grid, edges included, built without listing every tile.
    pub fn price(&self, tx: usize, ty: usize) -> ShapeCost {
        let (nx, ny) = (self.grid.nx, self.grid.ny);
        let (tx, ty) = (tx.clamp(1, nx.max(1)), ty.clamp(1, ny.max(1)));
        let (ntx, nty) = self.grid.tile_counts(tx, ty);
        let n_tiles = ntx * nty;
        let per_axis = (SAMPLED_TILES as f64).sqrt().ceil() as usize;
        let (kx, ky) = (per_axis.min(ntx).max(1), per_axis.min(nty).max(1));
        let m = &self.model;
        let nt = self.grid.time.nt as f64;
        let ns = self.n_samples as f64;
        let read_s = if self.traces_in_memory { READ_MEMORY_S } else { READ_STREAM_S }
            + if self.traces_in_memory || self.prefilter == Prefilter::None { 0.0 } else { PREFILTER_S };
        let (mut kernel, mut read, mut visits, mut sampled) = (0.0, 0.0, 0.0, 0usize);
        for a in 0..kx {
            for b in 0..ky {
                // The middle tile of each stratum, so no stride aliases onto one row of tiles.
                let t = self.grid.tile(tx, ty, (2 * a + 1) * ntx / (2 * kx), (2 * b + 1) * nty / (2 * ky));
                sampled += 1;
                let n = self.index.count_near_rect(self.grid.tile_bounds(&t), self.reach) as f64;
                let c = t.n_columns() as f64;
                let blocks = (n / self.block_traces.max(1) as f64).ceil().max(self.n_bins as f64);
                visits += n * c * nt;
                kernel += n * c * nt * m.per_sample_visit_s
                    + n * c * m.per_column_visit_s
                    + n * ns * m.per_trace_sample_s
                    + m.per_tile_s * self.n_bins as f64
                    + blocks * m.per_block_s;
                read += n * ns * read_s;
            }
        }
        let scale = n_tiles as f64 / sampled.max(1) as f64;
        let (kernel, read) = (kernel * scale, read * scale);
        let lanes = self.concurrent.max(1) as f64;
        // Pieces of work run side by side on the lanes; uneven or too few pieces leave lanes idle
        // while the last ones finish, and the contributions' own time waits with them.
        let balance = self.balance(tx, ty);
        let idle = self.contributions * m.per_contribution_s / lanes * (balance - 1.0);
        let overhead_s = if m.shares_host_cores {
            (kernel + read) / lanes * balance + idle
        } else {
            (kernel / lanes * balance).max(read) + idle
        };
        ShapeCost { shape: (tx, ty), tiles: n_tiles, overhead_s, visits: visits * scale }
    }

    /// Time of the slowest lane over the mean, when pieces (tiles, each split into its offset
    /// bins) of cost proportional to their columns go, largest first, to the least loaded lane.
    fn balance(&self, tx: usize, ty: usize) -> f64 {
        let lanes = self.concurrent.max(1);
        let (ntx, nty) = self.grid.tile_counts(tx, ty);
        let pieces = ntx * nty * self.n_bins.max(1);
        if lanes == 1 || pieces > BALANCE_PIECES {
            return 1.0;
        }
        let mut sizes = Vec::with_capacity(pieces);
        for tile in self.grid.tiles(tx, ty) {
            sizes.extend(std::iter::repeat_n(tile.n_columns() as f64, self.n_bins.max(1)));
        }
        sizes.sort_unstable_by(|a, b| b.total_cmp(a));
        let mut load = vec![0.0f64; lanes];
        for s in &sizes {
            let least = load.iter_mut().min_by(|a, b| a.total_cmp(b)).expect("lanes > 0");
            *least += s;
        }
        let total: f64 = sizes.iter().sum();
        load.iter().copied().fold(0.0, f64::max) / (total / lanes as f64).max(1e-30)
    }

    /// The cheapest shape of at most `max_columns` columns. Shapes whose tiles hold fewer output
    /// samples than the device needs to stay busy are taken only when no other fits.
    pub fn choose(&self, max_columns: usize) -> ShapeCost {
        let (nx, ny) = (self.grid.nx, self.grid.ny);
        let nt = self.grid.time.nt.max(1);
        let mut shapes: Vec<(usize, usize)> = SIDES
            .iter()
            .map(|&s| (s.min(nx), s.min(ny)))
            .chain(std::iter::once((nx, ny)))
            .map(|(tx, ty)| {
                // Clamp to the budget, keeping the tile as square as it allows.
                if tx * ty <= max_columns {
                    (tx, ty)
                } else {
                    let side = ((max_columns as f64).sqrt().floor() as usize).max(1);
                    let tx = side.min(nx);
                    (tx, (max_columns / tx).clamp(1, ny))
                }
            })
            .collect();
        shapes.sort_unstable();
        shapes.dedup();
        let busy = |s: &(usize, usize)| s.0 * s.1 * nt >= self.model.min_tile_samples;
        let any_busy = shapes.iter().any(busy);
        let largest = *shapes.iter().max_by_key(|s| s.0 * s.1).expect("at least one shape");
        shapes
            .iter()
            .filter(|s| busy(s) || (!any_busy && **s == largest))
            .map(|&(tx, ty)| self.price(tx, ty))
            .min_by(|a, b| a.overhead_s.total_cmp(&b.overhead_s))
            .expect("at least one shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pstm_io::TraceHeaders;
    use pstm_math::{TimeAxis, TraceGeometry};

    /// A survey 6 km square with a midpoint every 25 m, imaged with a 1 km aperture: each output
    /// column sees about a tenth of the survey.
    fn survey() -> (OutputGrid, MidpointIndex) {
        let mut h = TraceHeaders::default();
        let mut k = 0;
        for i in 0..240 {
            for j in 0..240 {
                h.push(
                    k,
                    &TraceGeometry::from_midpoint(12.5 + 25.0 * i as f64, 12.5 + 25.0 * j as f64, 500.0, 0.0),
                    None,
                );
                k += 1;
            }
        }
        let selected: Vec<u32> = (0..h.len() as u32).collect();
        let index = MidpointIndex::new(&h, &selected, 1000.0 / 16.0);
        let time = TimeAxis { t0_s: 0.0, dt_s: 0.004, nt: 500 };
        let grid = OutputGrid {
            origin_x: 12.5,
            origin_y: 12.5,
            dx: 25.0,
            dy: 25.0,
            nx: 240,
            ny: 240,
            rotation_deg: 0.0,
            time,
        };
        (grid, index)
    }

    fn inputs<'a>(
        grid: &'a OutputGrid,
        index: &'a MidpointIndex,
        model: CostModel,
        concurrent: usize,
    ) -> CostInputs<'a> {
        CostInputs {
            grid,
            index,
            reach: 1000.0,
            n_samples: 500,
            block_traces: 4096,
            traces_in_memory: true,
            prefilter: Prefilter::None,
            concurrent,
            n_bins: 1,
            model,
            contributions: 1e12,
        }
    }

    fn gpu_like() -> CostModel {
        CostModel {
            per_sample_visit_s: 0.5e-12,
            per_column_visit_s: 0.0,
            per_contribution_s: 2.8e-12,
            per_trace_sample_s: 0.2e-9,
            per_tile_s: 1e-3,
            per_block_s: 100e-6,
            min_tile_samples: 1 << 18,
            shares_host_cores: false,
        }
    }

    #[test]
    fn the_chosen_shape_beats_one_tile_and_every_other_candidate() {
        let (grid, index) = survey();
        let costs = inputs(&grid, &index, gpu_like(), 1);
        let whole = costs.price(240, 240);
        // One tile visits every trace from every column.
        assert_eq!(whole.visits, (240.0 * 240.0) * (240.0 * 240.0) * 500.0);
        let chosen = costs.choose(usize::MAX);
        println!(
            "chosen {:?}: {:.3} s, visits {:.3e} ({:.1}% of one tile's)",
            chosen.shape,
            chosen.overhead_s,
            chosen.visits,
            100.0 * chosen.visits / whole.visits
        );
        assert!(chosen.visits < 0.3 * whole.visits, "{chosen:?}");
        assert!(chosen.shape.0 * chosen.shape.1 * 500 >= 1 << 18, "the device is kept busy: {chosen:?}");
        for side in [8, 16, 32, 64, 128, 240] {
            let other = costs.price(side, side);
            if side * side * 500 >= 1 << 18 {
                assert!(chosen.overhead_s <= other.overhead_s, "{chosen:?} vs {other:?}");
            }
        }
        // Overheads that grow with the tile count push the choice to larger tiles.
        let costly_tiles = inputs(&grid, &index, CostModel { per_tile_s: 10.0, ..gpu_like() }, 1).choose(usize::MAX);
        assert!(costly_tiles.tiles < chosen.tiles, "{costly_tiles:?} vs {chosen:?}");
    }

    #[test]
    fn a_cpu_kernel_gets_tiles_for_every_lane_and_the_budget_is_kept() {
        let (grid, index) = survey();
        let cpu = CostModel::cpu(0.67e-9, 3e-9);
        let chosen = inputs(&grid, &index, cpu, 8).choose(usize::MAX);
        assert!(chosen.tiles >= 8, "{chosen:?}");
        let small = inputs(&grid, &index, cpu, 1).choose(100);
        assert!(small.shape.0 * small.shape.1 <= 100, "{small:?}");
        // Uneven tiles leave lanes idle: 4 tiles of 64 x 64 on an 80 x 80 grid are 64 x 64,
        // 64 x 16, 16 x 64 and 16 x 16, which two lanes finish 28% after the mean.
        let g80 = OutputGrid { nx: 80, ny: 80, ..grid };
        let two = inputs(&g80, &index, cpu, 2);
        assert!((two.balance(64, 64) - 4096.0 / 3200.0).abs() < 1e-9);
        assert_eq!(two.balance(40, 40), 1.0);
        assert!(two.price(40, 40).overhead_s < two.price(64, 64).overhead_s);
    }
}

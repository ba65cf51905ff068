//! Adaptive migration (the roadmap's task 3.3): a coarse pass on a grid `factor` times sparser
//! in x and y, an amplitude mask made from it, and a fine pass that migrates only the output
//! cells the mask keeps.
//!
//! The mask is defined on the coarse grid, per coarse column and per window of `window` output
//! times: a cell is kept when the largest |amplitude| of the coarse image inside it reaches
//! `threshold` times the largest of the whole coarse image, then grown by `dilation` coarse
//! columns (a disc) and one window up and down (a wavelet that straddles a window edge, or lies
//! a little deeper between coarse columns, is not cut). A fine column takes the cells of the
//! coarse column nearest it.
//!
//! The fine image of an adaptive run is, by definition, the full migration with every output
//! sample outside the mask set to zero (fold zero too): kernels that can skip cells skip them,
//! and the engine zeroes the rest, so every kernel gives the same adaptive image. What that
//! costs in accuracy is estimated from the coarse image itself ([`OutputMask::kept_energy`]) and
//! measured against a full migration by the tests and benchmarks.

use crate::{OutputGrid, Tile};

/// How an adaptive run builds its mask (`algorithm.adaptive`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveSettings {
    /// Coarse-grid decimation in x and y (the roadmap's 4).
    pub factor: usize,
    /// A cell is kept when its largest |amplitude| reaches this fraction of the coarse image's.
    pub threshold: f64,
    /// Coarse columns the mask grows by in x and y (a disc of this radius).
    pub dilation: usize,
    /// Output times per mask cell.
    pub window: usize,
}

impl Default for AdaptiveSettings {
    fn default() -> Self {
        Self { factor: 4, threshold: 0.01, dilation: 2, window: 32 }
    }
}

/// Where the coarse pass's columns lie on the fine grid: every `factor`-th column, offset to the
/// centre of its block of `factor` columns (held inside the grid), and how many there are.
pub(crate) fn coarse_axis(n: usize, factor: usize) -> (f64, usize) {
    let offset = ((factor - 1) as f64 / 2.0).min((n - 1) as f64 / 2.0);
    let count = ((n - 1) as f64 - offset).div_euclid(factor as f64) as usize + 1;
    (offset, count)
}

/// The coarse pass's grid: the fine grid's time axis and rotation, `factor` times its spacing,
/// every column inside the fine grid's extent.
pub fn coarse_grid(grid: &OutputGrid, factor: usize) -> OutputGrid {
    let factor = factor.max(1);
    let (ox, nx) = coarse_axis(grid.nx, factor);
    let (oy, ny) = coarse_axis(grid.ny, factor);
    let (origin_x, origin_y) = grid.world_position(ox, oy);
    OutputGrid {
        origin_x,
        origin_y,
        dx: grid.dx * factor as f64,
        dy: grid.dy * factor as f64,
        nx,
        ny,
        rotation_deg: grid.rotation_deg,
        time: grid.time,
    }
}

/// The mask of an adaptive run, on the coarse grid.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputMask {
    pub settings: AdaptiveSettings,
    /// The coarse grid's columns along x and y.
    pub coarse_nx: usize,
    pub coarse_ny: usize,
    pub nt: usize,
    pub n_windows: usize,
    /// `active[(cx * coarse_ny + cy) * n_windows + w]`.
    pub active: Vec<bool>,
    /// Of the coarse image's energy (sum of squares), the fraction inside the mask.
    pub kept_energy: f64,
}

impl OutputMask {
    /// The mask of `coarse_image` (the coarse pass's stack, stored `(nx, ny, nt)` as every
    /// volume), the coarse grid being [`coarse_grid`] of the fine one.
    pub fn from_coarse_image(coarse: &OutputGrid, coarse_image: &[f32], settings: AdaptiveSettings) -> Self {
        let (cnx, cny, nt) = (coarse.nx, coarse.ny, coarse.time.nt);
        assert_eq!(coarse_image.len(), cnx * cny * nt, "coarse image of the coarse grid");
        let window = settings.window.max(1);
        let n_windows = nt.div_ceil(window);
        let peak_of = |c: usize, w: usize| {
            let times = &coarse_image[c * nt + w * window..c * nt + ((w + 1) * window).min(nt)];
            times.iter().fold(0.0f32, |m, a| m.max(a.abs()))
        };
        let n_cells = cnx * cny * n_windows;
        let cell_peak: Vec<f32> = (0..n_cells).map(|i| peak_of(i / n_windows, i % n_windows)).collect();
        let peak = cell_peak.iter().fold(0.0f32, |m, &a| m.max(a)) as f64;
        let seed: Vec<bool> = cell_peak.iter().map(|&a| a as f64 >= settings.threshold * peak).collect();
        // One window up and down, then a disc of `dilation` coarse columns.
        let mut in_time = vec![false; n_cells];
        for c in 0..cnx * cny {
            for w in 0..n_windows {
                let lo = w.saturating_sub(1);
                let hi = (w + 1).min(n_windows - 1);
                in_time[c * n_windows + w] = (lo..=hi).any(|v| seed[c * n_windows + v]);
            }
        }
        let r = settings.dilation as isize;
        let mut active = vec![false; n_cells];
        for cx in 0..cnx as isize {
            for cy in 0..cny as isize {
                for w in 0..n_windows {
                    let mut any = false;
                    'disc: for dx in -r..=r {
                        for dy in -r..=r {
                            let (x, y) = (cx + dx, cy + dy);
                            if dx * dx + dy * dy > r * r || x < 0 || y < 0 || x >= cnx as isize || y >= cny as isize {
                                continue;
                            }
                            if in_time[(x as usize * cny + y as usize) * n_windows + w] {
                                any = true;
                                break 'disc;
                            }
                        }
                    }
                    active[(cx as usize * cny + cy as usize) * n_windows + w] = any;
                }
            }
        }
        let (mut kept, mut total) = (0.0f64, 0.0f64);
        for (i, a) in coarse_image.iter().enumerate() {
            let e = (*a as f64) * (*a as f64);
            total += e;
            if active[(i / nt) * n_windows + (i % nt) / window] {
                kept += e;
            }
        }
        let kept_energy = if total > 0.0 { kept / total } else { 1.0 };
        Self {
            settings: AdaptiveSettings { window, ..settings },
            coarse_nx: cnx,
            coarse_ny: cny,
            nt,
            n_windows,
            active,
            kept_energy,
        }
    }

    /// Fraction of the coarse cells kept.
    pub fn active_fraction(&self) -> f64 {
        self.active.iter().filter(|&&a| a).count() as f64 / self.active.len().max(1) as f64
    }

    /// The correlation with the full migration the coarse image predicts: the full image
    /// masked keeps `kept_energy` of its energy, and correlates with itself unmasked by the
    /// square root of that.
    pub fn estimated_correlation(&self) -> f64 {
        self.kept_energy.sqrt()
    }

    /// The coarse column a fine column index takes its cells from, along one axis.
    fn coarse_index(&self, fine: usize, n_coarse: usize) -> usize {
        (fine / self.settings.factor.max(1)).min(n_coarse - 1)
    }

    /// The cells of a fine-grid tile, its columns in storage order.
    pub fn tile_cells(&self, tile: &Tile) -> TileCells {
        let nw = self.n_windows;
        let mut active = Vec::with_capacity(tile.n_columns() * nw);
        for jx in 0..tile.nx {
            let cx = self.coarse_index(tile.ix0 + jx, self.coarse_nx);
            for jy in 0..tile.ny {
                let cy = self.coarse_index(tile.iy0 + jy, self.coarse_ny);
                let at = (cx * self.coarse_ny + cy) * nw;
                active.extend_from_slice(&self.active[at..at + nw]);
            }
        }
        TileCells { nt: self.nt, window: self.settings.window, n_windows: nw, active }
    }
}

/// Which output cells of one tile an adaptive run migrates: per column (storage order), per
/// window of `window` output times.
#[derive(Debug, Clone, PartialEq)]
pub struct TileCells {
    pub nt: usize,
    pub window: usize,
    pub n_windows: usize,
    /// `active[c * n_windows + w]`.
    pub active: Vec<bool>,
}

impl TileCells {
    pub fn is_active(&self, column: usize, it: usize) -> bool {
        self.active[column * self.n_windows + it / self.window]
    }

    /// Whether any output time of `times` in `column` is active.
    pub fn any_active(&self, column: usize, times: std::ops::Range<usize>) -> bool {
        if times.is_empty() {
            return false;
        }
        let (first, last) = (times.start / self.window, (times.end - 1).min(self.nt - 1) / self.window);
        self.active[column * self.n_windows + first..=column * self.n_windows + last].iter().any(|&a| a)
    }

    /// Output samples (column, time) the mask keeps.
    pub fn active_samples(&self) -> usize {
        let n_columns = self.active.len() / self.n_windows.max(1);
        (0..n_columns)
            .map(|c| {
                (0..self.n_windows)
                    .filter(|&w| self.active[c * self.n_windows + w])
                    .map(|w| ((w + 1) * self.window).min(self.nt) - w * self.window)
                    .sum::<usize>()
            })
            .sum()
    }

    /// Set every sample outside the mask to zero in a tile's `image` and `fold` (`[c * nt + it]`).
    pub fn zero_inactive(&self, image: &mut [f32], fold: &mut [u32]) {
        for (i, (a, f)) in image.iter_mut().zip(fold.iter_mut()).enumerate() {
            if !self.is_active(i / self.nt, i % self.nt) {
                *a = 0.0;
                *f = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TimeAxis;

    fn grid(nx: usize, ny: usize, nt: usize) -> OutputGrid {
        OutputGrid {
            origin_x: 100.0,
            origin_y: 200.0,
            dx: 25.0,
            dy: 20.0,
            nx,
            ny,
            rotation_deg: 30.0,
            time: TimeAxis { t0_s: 0.0, dt_s: 0.004, nt },
        }
    }

    #[test]
    fn coarse_columns_sit_at_block_centres_inside_the_fine_grid() {
        let fine = grid(511, 427, 10);
        let coarse = coarse_grid(&fine, 4);
        assert_eq!((coarse.nx, coarse.ny), (128, 107));
        // Column (i, j) at fine index (4 i + 1.5, 4 j + 1.5).
        for (i, j) in [(0, 0), (127, 106), (5, 9)] {
            let (x, y) = coarse.column_xy(i, j);
            let (fx, fy) = fine.grid_position(x, y);
            assert!((fx - (4 * i) as f64 - 1.5).abs() < 1e-9 && (fy - (4 * j) as f64 - 1.5).abs() < 1e-9);
            assert!(fx <= (fine.nx - 1) as f64 && fy <= (fine.ny - 1) as f64);
        }
        // A grid narrower than a block keeps one column inside it.
        let thin = coarse_grid(&grid(1, 2, 10), 4);
        assert_eq!((thin.nx, thin.ny), (1, 1));
        let (fx, fy) = grid(1, 2, 10).grid_position(thin.origin_x, thin.origin_y);
        assert!(fx.abs() < 1e-9 && (fy - 0.5).abs() < 1e-9);
    }

    #[test]
    fn the_mask_keeps_what_reaches_the_threshold_grown_by_the_dilation() {
        let coarse = grid(9, 9, 64);
        let nt = 64;
        let mut image = vec![0.001f32; 9 * 9 * nt];
        // One strong sample at column (4, 4), time 40 (window 2 of 16 times), negative.
        image[(4 * 9 + 4) * nt + 40] = -1.0;
        let settings = AdaptiveSettings { factor: 4, threshold: 0.01, dilation: 2, window: 16 };
        let mask = OutputMask::from_coarse_image(&coarse, &image, settings);
        assert_eq!(mask.n_windows, 4);
        let at = |x: usize, y: usize, w: usize| mask.active[(x * 9 + y) * 4 + w];
        for x in 0..9usize {
            for y in 0..9usize {
                let d2 = (x as isize - 4).pow(2) + (y as isize - 4).pow(2);
                for w in 0..4 {
                    let expect = d2 <= 4 && (1..=3).contains(&w);
                    assert_eq!(at(x, y, w), expect, "({x}, {y}) window {w}");
                }
            }
        }
        // Energy kept: the spike and the small values in the kept cells.
        let kept = 1.0 + 0.001f64.powi(2) * (13.0 * 48.0 - 1.0);
        let total = 1.0 + 0.001f64.powi(2) * (81.0 * 64.0 - 1.0);
        assert!((mask.kept_energy - kept / total).abs() < 1e-6, "{}", mask.kept_energy);
        assert!((mask.active_fraction() - 13.0 * 3.0 / (81.0 * 4.0)).abs() < 1e-12);
    }

    #[test]
    fn tile_cells_follow_the_nearest_coarse_column_and_zero_the_rest() {
        let fine = grid(10, 6, 20);
        let coarse = coarse_grid(&fine, 4);
        assert_eq!((coarse.nx, coarse.ny), (2, 1));
        let mut image = vec![0.0f32; 2 * 20];
        image[20 + 3] = 1.0; // coarse column (1, 0), time 3: window 0 of 8 times
        let settings = AdaptiveSettings { factor: 4, threshold: 0.5, dilation: 0, window: 8 };
        let mask = OutputMask::from_coarse_image(&coarse, &image, settings);
        let tile = Tile { ix0: 2, iy0: 1, nx: 8, ny: 3 };
        let cells = mask.tile_cells(&tile);
        for jx in 0..8 {
            for jy in 0..3 {
                let c = jx * 3 + jy;
                let coarse_x = ((2 + jx) / 4).min(1);
                // Windows 0 and (by the time dilation) 1 of coarse column 1.
                for it in 0..20 {
                    assert_eq!(cells.is_active(c, it), coarse_x == 1 && it < 16, "column {c} time {it}");
                }
                assert_eq!(cells.any_active(c, 14..20), coarse_x == 1);
                assert!(!cells.any_active(c, 16..20));
            }
        }
        // Fine columns 4..=9 take coarse column 1: 6 x 3 columns of 16 times.
        assert_eq!(cells.active_samples(), 6 * 3 * 16);
        let mut img = vec![1.0f32; 24 * 20];
        let mut fold = vec![3u32; 24 * 20];
        cells.zero_inactive(&mut img, &mut fold);
        assert_eq!(img.iter().filter(|&&a| a == 1.0).count(), 6 * 3 * 16);
        assert_eq!(fold.iter().filter(|&&f| f == 3).count(), 6 * 3 * 16);
    }

    #[test]
    fn a_silent_coarse_image_keeps_everything() {
        let coarse = grid(3, 3, 10);
        let mask = OutputMask::from_coarse_image(&coarse, &[0.0; 90], AdaptiveSettings::default());
        assert!(mask.active.iter().all(|&a| a));
        assert_eq!(mask.estimated_correlation(), 1.0);
    }
}

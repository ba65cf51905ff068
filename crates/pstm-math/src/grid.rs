//! The output grid: surface positions (columns) and the output time axis.

use serde::{Deserialize, Serialize};

/// A regular time axis: `nt` samples, the first at `t0_s`, spaced `dt_s` (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeAxis {
    pub t0_s: f64,
    pub dt_s: f64,
    pub nt: usize,
}

impl TimeAxis {
    pub fn time(&self, i: usize) -> f64 {
        self.t0_s + i as f64 * self.dt_s
    }

    pub fn last(&self) -> f64 {
        self.time(self.nt.saturating_sub(1))
    }
}

/// A regular, optionally rotated grid of output columns, each holding `time.nt` samples.
///
/// Column `(ix, iy)` lies at `origin + ix * dx * u + iy * dy * w`, where `u` is the grid's x
/// axis, rotated `rotation_deg` counterclockwise from east, and `w` is `u` turned 90 degrees
/// counterclockwise. Volumes are stored as `(nx, ny, nt)`, C order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OutputGrid {
    pub origin_x: f64,
    pub origin_y: f64,
    pub dx: f64,
    pub dy: f64,
    pub nx: usize,
    pub ny: usize,
    pub rotation_deg: f64,
    pub time: TimeAxis,
}

impl OutputGrid {
    pub fn column_xy(&self, ix: usize, iy: usize) -> (f64, f64) {
        self.world_position(ix as f64, iy as f64)
    }

    /// World `(x, y)` of fractional grid indices `(fx, fy)` (the inverse of
    /// [`OutputGrid::grid_position`]).
    pub fn world_position(&self, fx: f64, fy: f64) -> (f64, f64) {
        let (sin, cos) = self.rotation_deg.to_radians().sin_cos();
        let (a, b) = (fx * self.dx, fy * self.dy);
        (self.origin_x + a * cos - b * sin, self.origin_y + a * sin + b * cos)
    }

    /// Fractional grid indices `(ix, iy)` of a world position.
    pub fn grid_position(&self, x: f64, y: f64) -> (f64, f64) {
        let (sin, cos) = self.rotation_deg.to_radians().sin_cos();
        let (px, py) = (x - self.origin_x, y - self.origin_y);
        ((px * cos + py * sin) / self.dx, (-px * sin + py * cos) / self.dy)
    }

    pub fn n_columns(&self) -> usize {
        self.nx * self.ny
    }

    pub fn n_samples(&self) -> usize {
        self.nx * self.ny * self.time.nt
    }

    /// The whole grid as one tile.
    pub fn full_tile(&self) -> Tile {
        Tile { ix0: 0, iy0: 0, nx: self.nx, ny: self.ny }
    }

    /// Tiles of at most `tile_nx` x `tile_ny` columns covering the grid, row by row.
    pub fn tiles(&self, tile_nx: usize, tile_ny: usize) -> Vec<Tile> {
        let (ntx, nty) = self.tile_counts(tile_nx, tile_ny);
        (0..ntx).flat_map(|ix| (0..nty).map(move |iy| self.tile(tile_nx, tile_ny, ix, iy))).collect()
    }

    /// How many tiles of at most `tile_nx` x `tile_ny` columns cover the grid along x and y.
    pub fn tile_counts(&self, tile_nx: usize, tile_ny: usize) -> (usize, usize) {
        (self.nx.div_ceil(tile_nx.max(1)), self.ny.div_ceil(tile_ny.max(1)))
    }

    /// Tile `(ix, iy)` of [`OutputGrid::tiles`], without listing the others.
    pub fn tile(&self, tile_nx: usize, tile_ny: usize, ix: usize, iy: usize) -> Tile {
        let (tnx, tny) = (tile_nx.max(1), tile_ny.max(1));
        let (ix0, iy0) = (ix * tnx, iy * tny);
        Tile { ix0, iy0, nx: tnx.min(self.nx - ix0), ny: tny.min(self.ny - iy0) }
    }

    /// World positions of a tile's columns, in storage order (x-major: `c = jx * ny + jy`).
    pub fn tile_columns(&self, tile: &Tile) -> Vec<[f64; 2]> {
        let mut cols = Vec::with_capacity(tile.n_columns());
        for jx in 0..tile.nx {
            for jy in 0..tile.ny {
                let (x, y) = self.column_xy(tile.ix0 + jx, tile.iy0 + jy);
                cols.push([x, y]);
            }
        }
        cols
    }

    /// Axis-aligned world bounding box `(xmin, ymin, xmax, ymax)` of a tile's columns.
    pub fn tile_bounds(&self, tile: &Tile) -> (f64, f64, f64, f64) {
        let corners = [
            self.column_xy(tile.ix0, tile.iy0),
            self.column_xy(tile.ix0 + tile.nx - 1, tile.iy0),
            self.column_xy(tile.ix0, tile.iy0 + tile.ny - 1),
            self.column_xy(tile.ix0 + tile.nx - 1, tile.iy0 + tile.ny - 1),
        ];
        corners.iter().fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |b, &(x, y)| {
            (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y))
        })
    }
}

/// A rectangle of output columns: `nx` x `ny` columns starting at `(ix0, iy0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tile {
    pub ix0: usize,
    pub iy0: usize,
    pub nx: usize,
    pub ny: usize,
}

impl Tile {
    pub fn n_columns(&self) -> usize {
        self.nx * self.ny
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(rot: f64) -> OutputGrid {
        OutputGrid {
            origin_x: 1000.0,
            origin_y: 2000.0,
            dx: 25.0,
            dy: 12.5,
            nx: 7,
            ny: 5,
            rotation_deg: rot,
            time: TimeAxis { t0_s: 0.0, dt_s: 0.004, nt: 10 },
        }
    }

    #[test]
    fn rotation_and_inverse() {
        let g = grid(90.0);
        let (x, y) = g.column_xy(2, 0);
        assert!((x - 1000.0).abs() < 1e-9 && (y - 2050.0).abs() < 1e-9);
        for rot in [0.0, 17.0, 90.0, 233.0] {
            let g = grid(rot);
            let (x, y) = g.column_xy(3, 4);
            let (fx, fy) = g.grid_position(x, y);
            assert!((fx - 3.0).abs() < 1e-9 && (fy - 4.0).abs() < 1e-9);
        }
    }

    #[test]
    fn tiles_cover_grid_once() {
        let g = grid(0.0);
        let tiles = g.tiles(3, 2);
        let mut seen = vec![0; g.n_columns()];
        for t in &tiles {
            for jx in 0..t.nx {
                for jy in 0..t.ny {
                    seen[(t.ix0 + jx) * g.ny + t.iy0 + jy] += 1;
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
        assert_eq!(tiles.len(), 3 * 3);
    }
}

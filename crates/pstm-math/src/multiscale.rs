//! Multi-resolution output (the roadmap's task 3.4): level `k` of a volume is the average of
//! its blocks of `2^k x 2^k x 2^k` samples (x, y, t) of level 0, the blocks at the volume's far
//! edges holding what is left. Each level is computed from level 0 directly, in float64, so every
//! level equals the block average to float32 rounding, whatever the number of levels.
//!
//! Tiles whose origin lies on a multiple of the coarsest block (and whose size is a multiple of
//! it unless they reach the grid's end) hold whole blocks, so each tile's levels are computed as
//! the tile is written, with no second pass over the volume.

use crate::{OutputGrid, Tile, TimeAxis};

/// Samples per block side at level `k`.
pub fn block(k: usize) -> usize {
    1 << k
}

/// The grid of level `k`: `2^k` times the spacing, each sample at the centre of its block (the
/// far edge's partial blocks keep the regular spacing).
pub fn level_grid(grid: &OutputGrid, k: usize) -> OutputGrid {
    let b = block(k);
    let centre = (b - 1) as f64 / 2.0;
    let (origin_x, origin_y) = grid.world_position(centre, centre);
    let t = &grid.time;
    OutputGrid {
        origin_x,
        origin_y,
        dx: grid.dx * b as f64,
        dy: grid.dy * b as f64,
        nx: grid.nx.div_ceil(b),
        ny: grid.ny.div_ceil(b),
        rotation_deg: grid.rotation_deg,
        time: TimeAxis { t0_s: t.t0_s + centre * t.dt_s, dt_s: t.dt_s * b as f64, nt: t.nt.div_ceil(b) },
    }
}

/// The grid a quick look at level `k` is migrated on (`pstm migrate --preview`): `2^k` times
/// the spacing in x, y and t like [`level_grid`], but every sample inside the fine grid's extent
/// (the far edge's partial blocks have no sample of their own), as adaptive migration's coarse
/// pass places its columns, so a velocity cube that covers the job covers the quick look.
pub fn preview_grid(grid: &OutputGrid, k: usize) -> OutputGrid {
    let b = block(k);
    let coarse = crate::adaptive::coarse_grid(grid, b);
    let t = &grid.time;
    let (offset, nt) = crate::adaptive::coarse_axis(t.nt, b);
    OutputGrid { time: TimeAxis { t0_s: t.t0_s + offset * t.dt_s, dt_s: t.dt_s * b as f64, nt }, ..coarse }
}

/// Whether `tile` holds whole blocks of level `k`.
pub fn aligned(tile: &Tile, grid: &OutputGrid, k: usize) -> bool {
    let b = block(k);
    let fits =
        |start: usize, n: usize, total: usize| start.is_multiple_of(b) && (n.is_multiple_of(b) || start + n == total);
    fits(tile.ix0, tile.nx, grid.nx) && fits(tile.iy0, tile.ny, grid.ny)
}

/// Level `k` of an aligned tile's data (`data[c * nt + it]`, columns in storage order): the
/// tile's place on the level's grid and its block averages, in the same layout.
pub fn tile_level(tile: &Tile, nt: usize, data: &[f32], k: usize) -> (Tile, Vec<f32>) {
    let b = block(k);
    let (nx, ny, nt_k) = (tile.nx.div_ceil(b), tile.ny.div_ceil(b), nt.div_ceil(b));
    let mut out = vec![0.0f32; nx * ny * nt_k];
    for bx in 0..nx {
        for by in 0..ny {
            for bt in 0..nt_k {
                let (mut sum, mut n) = (0.0f64, 0usize);
                for jx in bx * b..((bx + 1) * b).min(tile.nx) {
                    for jy in by * b..((by + 1) * b).min(tile.ny) {
                        let column = &data[(jx * tile.ny + jy) * nt..(jx * tile.ny + jy + 1) * nt];
                        for &v in &column[bt * b..((bt + 1) * b).min(nt)] {
                            sum += v as f64;
                            n += 1;
                        }
                    }
                }
                out[(bx * ny + by) * nt_k + bt] = (sum / n as f64) as f32;
            }
        }
    }
    (Tile { ix0: tile.ix0 / b, iy0: tile.iy0 / b, nx, ny }, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> OutputGrid {
        OutputGrid {
            origin_x: 1000.0,
            origin_y: 2000.0,
            dx: 25.0,
            dy: 20.0,
            nx: 11,
            ny: 6,
            rotation_deg: 30.0,
            time: TimeAxis { t0_s: 0.1, dt_s: 0.004, nt: 9 },
        }
    }

    #[test]
    fn level_grids_centre_their_blocks() {
        let g = grid();
        let l2 = level_grid(&g, 2);
        assert_eq!((l2.nx, l2.ny, l2.time.nt), (3, 2, 3));
        assert_eq!((l2.dx, l2.dy, l2.time.dt_s), (100.0, 80.0, 0.016));
        // Sample (1, 1) of level 2 sits at the centre of fine samples 4..8 and 4..8.
        let (x, y) = l2.column_xy(1, 1);
        let (fx, fy) = g.grid_position(x, y);
        assert!((fx - 5.5).abs() < 1e-9 && (fy - 5.5).abs() < 1e-9);
        assert!((l2.time.time(1) - g.time.time(4) - 1.5 * 0.004).abs() < 1e-12);
        assert_eq!(level_grid(&g, 0), g);
    }

    #[test]
    fn tile_levels_average_whole_and_partial_blocks() {
        let g = grid();
        let nt = g.time.nt;
        // The whole grid as one tile, value = a function of the sample's indices.
        let tile = g.full_tile();
        let value = |ix: usize, iy: usize, it: usize| (ix * 100 + iy * 10 + it) as f32 * 0.5 - 3.0;
        let mut data = Vec::new();
        for ix in 0..g.nx {
            for iy in 0..g.ny {
                for it in 0..nt {
                    data.push(value(ix, iy, it));
                }
            }
        }
        for k in 0..3 {
            let b = block(k);
            let (t, level) = tile_level(&tile, nt, &data, k);
            let lg = level_grid(&g, k);
            assert_eq!((t.nx, t.ny, level.len()), (lg.nx, lg.ny, lg.n_samples()));
            for bx in 0..lg.nx {
                for by in 0..lg.ny {
                    for bt in 0..lg.time.nt {
                        let (mut s, mut n) = (0.0f64, 0.0f64);
                        for ix in (bx * b)..((bx + 1) * b).min(g.nx) {
                            for iy in (by * b)..((by + 1) * b).min(g.ny) {
                                for it in (bt * b)..((bt + 1) * b).min(nt) {
                                    s += value(ix, iy, it) as f64;
                                    n += 1.0;
                                }
                            }
                        }
                        let got = level[(bx * lg.ny + by) * lg.time.nt + bt];
                        assert!((got as f64 - s / n).abs() <= 1e-6 * (s / n).abs().max(1.0), "level {k}");
                    }
                }
            }
        }
    }

    #[test]
    fn preview_grids_stay_inside_the_fine_grid() {
        let g = grid();
        let p = preview_grid(&g, 2);
        assert_eq!((p.nx, p.ny, p.time.nt), (3, 1, 2));
        assert_eq!((p.dx, p.time.dt_s), (100.0, 0.016));
        let (x, y) = p.column_xy(p.nx - 1, p.ny - 1);
        let (fx, fy) = g.grid_position(x, y);
        assert!(fx <= (g.nx - 1) as f64 + 1e-9 && fy <= (g.ny - 1) as f64 + 1e-9, "{fx} {fy}");
        assert!(p.time.last() <= g.time.last() + 1e-12);
        assert!((p.time.t0_s - (g.time.t0_s + 1.5 * 0.004)).abs() < 1e-12);
    }

    #[test]
    fn alignment_needs_block_multiples_except_at_the_far_edge() {
        let g = grid();
        assert!(aligned(&Tile { ix0: 4, iy0: 0, nx: 4, ny: 6 }, &g, 2));
        assert!(aligned(&Tile { ix0: 8, iy0: 4, nx: 3, ny: 2 }, &g, 2));
        assert!(!aligned(&Tile { ix0: 2, iy0: 0, nx: 4, ny: 4 }, &g, 2));
        assert!(!aligned(&Tile { ix0: 0, iy0: 0, nx: 6, ny: 4 }, &g, 2));
        assert!(aligned(&Tile { ix0: 0, iy0: 0, nx: 6, ny: 4 }, &g, 1));
    }
}

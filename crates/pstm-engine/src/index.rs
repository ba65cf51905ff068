//! A spatial index on trace midpoints: which traces can reach a tile.

use pstm_io::TraceHeaders;

/// Traces bucketed by midpoint on a square grid of cells.
#[derive(Clone)]
pub struct MidpointIndex {
    x0: f64,
    y0: f64,
    cell: f64,
    nx: usize,
    ny: usize,
    /// Trace indices per cell (ascending), cell `ix * ny + iy`.
    cells: Vec<Vec<u32>>,
    midpoints: Vec<[f64; 2]>,
}

impl std::fmt::Debug for MidpointIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MidpointIndex").field("cell", &self.cell).field("cells", &(self.nx, self.ny)).finish()
    }
}

impl MidpointIndex {
    /// Index the `selected` traces with cells of about `cell` metres.
    pub fn new(headers: &TraceHeaders, selected: &[u32], cell: f64) -> Self {
        let midpoints: Vec<[f64; 2]> = (0..headers.len())
            .map(|i| {
                let (x, y) = headers.geometry(i).midpoint();
                [x, y]
            })
            .collect();
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &i in selected {
            let [x, y] = midpoints[i as usize];
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        if selected.is_empty() {
            (x0, y0, x1, y1) = (0.0, 0.0, 0.0, 0.0);
        }
        // Cap the cell count so sparse, huge surveys do not allocate a vast empty grid.
        let mut cell = cell.max(1e-3);
        while ((x1 - x0) / cell + 1.0) * ((y1 - y0) / cell + 1.0) > 4.0e6 {
            cell *= 2.0;
        }
        let nx = ((x1 - x0) / cell) as usize + 1;
        let ny = ((y1 - y0) / cell) as usize + 1;
        let mut cells = vec![Vec::new(); nx * ny];
        for &i in selected {
            let [x, y] = midpoints[i as usize];
            let (ix, iy) = (((x - x0) / cell) as usize, ((y - y0) / cell) as usize);
            cells[ix.min(nx - 1) * ny + iy.min(ny - 1)].push(i);
        }
        Self { x0, y0, cell, nx, ny, cells, midpoints }
    }

    pub fn midpoint(&self, trace: u32) -> [f64; 2] {
        self.midpoints[trace as usize]
    }

    fn cell_range(&self, lo: f64, hi: f64, origin: f64, n: usize) -> Option<(usize, usize)> {
        let a = ((lo - origin) / self.cell).floor();
        let b = ((hi - origin) / self.cell).floor();
        if b < 0.0 || a > (n - 1) as f64 {
            return None;
        }
        Some((a.max(0.0) as usize, (b as usize).min(n - 1)))
    }

    /// Traces whose midpoint lies within `radius` of the rectangle `(x0, y0, x1, y1)`, ascending.
    pub fn near_rect(&self, rect: (f64, f64, f64, f64), radius: f64) -> Vec<u32> {
        let (x0, y0, x1, y1) = rect;
        let mut out = Vec::new();
        let (Some((ia, ib)), Some((ja, jb))) = (
            self.cell_range(x0 - radius, x1 + radius, self.x0, self.nx),
            self.cell_range(y0 - radius, y1 + radius, self.y0, self.ny),
        ) else {
            return out;
        };
        let r2 = radius * radius;
        for ix in ia..=ib {
            for iy in ja..=jb {
                for &t in &self.cells[ix * self.ny + iy] {
                    let [mx, my] = self.midpoints[t as usize];
                    let dx = (x0 - mx).max(mx - x1).max(0.0);
                    let dy = (y0 - my).max(my - y1).max(0.0);
                    if dx * dx + dy * dy <= r2 {
                        out.push(t);
                    }
                }
            }
        }
        out.sort_unstable();
        out
    }
}

impl MidpointIndex {
    /// Number of traces [`MidpointIndex::near_rect`] would return, without listing them.
    pub fn count_near_rect(&self, rect: (f64, f64, f64, f64), radius: f64) -> usize {
        let (x0, y0, x1, y1) = rect;
        let (Some((ia, ib)), Some((ja, jb))) = (
            self.cell_range(x0 - radius, x1 + radius, self.x0, self.nx),
            self.cell_range(y0 - radius, y1 + radius, self.y0, self.ny),
        ) else {
            return 0;
        };
        let r2 = radius * radius;
        let mut n = 0;
        for ix in ia..=ib {
            for iy in ja..=jb {
                n += self.cells[ix * self.ny + iy]
                    .iter()
                    .filter(|&&t| {
                        let [mx, my] = self.midpoints[t as usize];
                        let dx = (x0 - mx).max(mx - x1).max(0.0);
                        let dy = (y0 - my).max(my - y1).max(0.0);
                        dx * dx + dy * dy <= r2
                    })
                    .count();
            }
        }
        n
    }

    /// Number of traces whose midpoint lies within `radius` of `(x, y)`. Cells entirely inside
    /// the circle are counted whole, so the cost grows with the circle's edge, not its area.
    pub fn count_within(&self, x: f64, y: f64, radius: f64) -> u64 {
        let (Some((ia, ib)), Some((ja, jb))) = (
            self.cell_range(x - radius, x + radius, self.x0, self.nx),
            self.cell_range(y - radius, y + radius, self.y0, self.ny),
        ) else {
            return 0;
        };
        let r2 = radius * radius;
        let mut n = 0u64;
        for ix in ia..=ib {
            let (cx0, cx1) = (self.x0 + ix as f64 * self.cell, self.x0 + (ix + 1) as f64 * self.cell);
            for iy in ja..=jb {
                let cell = &self.cells[ix * self.ny + iy];
                if cell.is_empty() {
                    continue;
                }
                let (cy0, cy1) = (self.y0 + iy as f64 * self.cell, self.y0 + (iy + 1) as f64 * self.cell);
                let far_x = (x - cx0).abs().max((x - cx1).abs());
                let far_y = (y - cy0).abs().max((y - cy1).abs());
                // Edge cells may hold midpoints on their far boundary; those are tested one by one.
                let last_x = ix == self.nx - 1;
                let last_y = iy == self.ny - 1;
                if far_x * far_x + far_y * far_y <= r2 && !last_x && !last_y {
                    n += cell.len() as u64;
                    continue;
                }
                n += cell
                    .iter()
                    .filter(|&&t| {
                        let [mx, my] = self.midpoints[t as usize];
                        (mx - x) * (mx - x) + (my - y) * (my - y) <= r2
                    })
                    .count() as u64;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pstm_math::TraceGeometry;

    #[test]
    fn near_rect_matches_brute_force() {
        let mut h = TraceHeaders::default();
        let mut k = 0u64;
        for i in 0..40 {
            for j in 0..30 {
                let x = 1000.0 + 37.0 * i as f64 + (j % 3) as f64;
                let y = -500.0 + 41.0 * j as f64;
                h.push(k, &TraceGeometry::from_midpoint(x, y, 300.0, (i * 7) as f64), None);
                k += 1;
            }
        }
        let selected: Vec<u32> = (0..h.len() as u32).filter(|i| i % 5 != 0).collect();
        let index = MidpointIndex::new(&h, &selected, 90.0);
        for (rect, r) in [
            ((1200.0, -200.0, 1300.0, -100.0), 150.0),
            ((0.0, 0.0, 10.0, 10.0), 500.0),
            ((1500.0, 0.0, 1500.0, 0.0), 1e5),
        ] {
            let got = index.near_rect(rect, r);
            let expect: Vec<u32> = selected
                .iter()
                .copied()
                .filter(|&t| {
                    let (mx, my) = h.geometry(t as usize).midpoint();
                    let dx = (rect.0 - mx).max(mx - rect.2).max(0.0);
                    let dy = (rect.1 - my).max(my - rect.3).max(0.0);
                    dx * dx + dy * dy <= r * r
                })
                .collect();
            assert_eq!(index.count_near_rect(rect, r), expect.len());
            assert_eq!(got, expect);
        }
        for (x, y, r) in [(1300.0, 100.0, 200.0), (1000.0, -500.0, 900.0), (2440.0, 689.0, 20.0), (0.0, 0.0, 1.0)] {
            let brute = selected
                .iter()
                .filter(|&&t| {
                    let (mx, my) = h.geometry(t as usize).midpoint();
                    (mx - x) * (mx - x) + (my - y) * (my - y) <= r * r
                })
                .count() as u64;
            assert_eq!(index.count_within(x, y, r), brute, "({x}, {y}, {r})");
        }
    }
}

//! Output volumes: zarr arrays `(nx, ny, nt)` over an output grid.
//!
//! Attributes follow the reference package (`x_min, x_max, dx, y_min, y_max, dy, t_min_ms,
//! t_max_ms, dt_ms, migration_type`) and add what a rotated grid needs (`origin_x, origin_y,
//! rotation_deg`: x and y ranges run along the grid's own axes from the origin) plus whatever
//! the writer is given (kernel name, config hash, what the volume holds).

use std::path::{Path, PathBuf};

use pstm_math::{OutputGrid, Tile, TimeAxis};
use zarrs::array::ArraySubset;

use crate::error::{IoError, Result};
use crate::zarr::{self, Element, ZArray};

pub use crate::zarr::Element as VolumeElement;

fn grid_attributes(grid: &OutputGrid) -> serde_json::Map<String, serde_json::Value> {
    let t = &grid.time;
    let serde_json::Value::Object(m) = serde_json::json!({
        "x_min": grid.origin_x,
        "x_max": grid.origin_x + (grid.nx.max(1) - 1) as f64 * grid.dx,
        "dx": grid.dx,
        "y_min": grid.origin_y,
        "y_max": grid.origin_y + (grid.ny.max(1) - 1) as f64 * grid.dy,
        "dy": grid.dy,
        "t_min_ms": t.t0_s * 1e3,
        "t_max_ms": t.last() * 1e3,
        "dt_ms": t.dt_s * 1e3,
        "origin_x": grid.origin_x,
        "origin_y": grid.origin_y,
        "rotation_deg": grid.rotation_deg,
        "migration_type": "kirchhoff_pstm",
    }) else {
        unreachable!()
    };
    m
}

/// Writes a volume tile by tile; each tile is one chunk.
pub struct VolumeWriter {
    path: PathBuf,
    array: ZArray,
}

impl VolumeWriter {
    pub fn create(
        path: &Path,
        grid: &OutputGrid,
        chunk_xy: (usize, usize),
        element: Element,
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self> {
        let mut attrs = grid_attributes(grid);
        attrs.extend(extra);
        let array = zarr::create(
            path,
            vec![grid.nx as u64, grid.ny as u64, grid.time.nt as u64],
            vec![chunk_xy.0.clamp(1, grid.nx) as u64, chunk_xy.1.clamp(1, grid.ny) as u64, grid.time.nt as u64],
            element,
            &["x", "y", "t"],
            attrs,
        )?;
        Ok(Self { path: path.to_path_buf(), array })
    }

    /// A volume another process created, to write its tiles into (an MPI rank's share of one
    /// output). Each tile is its own chunk, so processes writing different tiles never touch the
    /// same file.
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self { path: path.to_path_buf(), array: zarr::open(path)? })
    }

    fn subset(tile: &Tile, nt: u64) -> ArraySubset {
        ArraySubset::new_with_ranges(&[
            tile.ix0 as u64..(tile.ix0 + tile.nx) as u64,
            tile.iy0 as u64..(tile.iy0 + tile.ny) as u64,
            0..nt,
        ])
    }

    pub fn write_tile_f32(&self, tile: &Tile, data: &[f32]) -> Result<()> {
        let nt = self.array.shape()[2];
        self.array
            .store_array_subset(&Self::subset(tile, nt), data)
            .map_err(|e| IoError::zarr(&self.path, format!("cannot write tile at ({}, {}): {e}", tile.ix0, tile.iy0)))
    }

    pub fn write_tile_u32(&self, tile: &Tile, data: &[u32]) -> Result<()> {
        let nt = self.array.shape()[2];
        self.array
            .store_array_subset(&Self::subset(tile, nt), data)
            .map_err(|e| IoError::zarr(&self.path, format!("cannot write tile at ({}, {}): {e}", tile.ix0, tile.iy0)))
    }
}

/// A volume at several resolutions (`pstm_math::multiscale`): a zarr group whose subgroup `k`
/// holds level `k` as the array `name` (dimensions x, y, t), so that zarr-python opens the whole
/// hierarchy and xarray opens a level as a dataset (`xr.open_zarr(path, group="1")`). The group's
/// `multiscales` attribute lists the levels with their scale and translation, after the OME-NGFF
/// convention, in grid-local metres along x and y and milliseconds along t.
pub struct MultiscaleWriter {
    grid: OutputGrid,
    levels: Vec<VolumeWriter>,
}

impl MultiscaleWriter {
    /// A group of `levels` levels (level 0 included) over `grid`, each tile of `chunk_xy` columns a
    /// chunk of level 0 (and of each level, at its scale).
    pub fn create(
        path: &Path,
        name: &str,
        grid: &OutputGrid,
        levels: usize,
        chunk_xy: (usize, usize),
        extra: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self> {
        use pstm_math::multiscale::{block, level_grid};
        let datasets: Vec<serde_json::Value> = (0..levels)
            .map(|k| {
                let g = level_grid(grid, k);
                serde_json::json!({
                    "path": format!("{k}/{name}"),
                    "block": block(k),
                    "coordinateTransformations": [
                        {"type": "scale", "scale": [g.dx, g.dy, g.time.dt_s * 1e3]},
                        {"type": "translation", "translation": [
                            (block(k) - 1) as f64 / 2.0 * grid.dx,
                            (block(k) - 1) as f64 / 2.0 * grid.dy,
                            g.time.t0_s * 1e3,
                        ]},
                    ],
                })
            })
            .collect();
        let mut attrs = grid_attributes(grid);
        attrs.extend(extra.clone());
        attrs.insert(
            "multiscales".into(),
            serde_json::json!([{
                "version": "0.4",
                "name": name,
                "type": "mean of 2^k x 2^k x 2^k blocks of level 0",
                "axes": [
                    {"name": "x", "type": "space", "unit": "meter"},
                    {"name": "y", "type": "space", "unit": "meter"},
                    {"name": "t", "type": "time", "unit": "millisecond"},
                ],
                "datasets": datasets,
            }]),
        );
        zarr::create_group(path, attrs)?;
        let mut writers = Vec::with_capacity(levels);
        for k in 0..levels {
            let g = level_grid(grid, k);
            let b = block(k);
            let mut level_attrs = extra.clone();
            level_attrs.insert("multiscale_level".into(), k.into());
            level_attrs.insert("block".into(), b.into());
            zarr::create_group(&path.join(k.to_string()), serde_json::Map::new())?;
            let chunk = (chunk_xy.0.div_ceil(b), chunk_xy.1.div_ceil(b));
            writers.push(VolumeWriter::create(
                &path.join(k.to_string()).join(name),
                &g,
                chunk,
                Element::F32,
                level_attrs,
            )?);
        }
        Ok(Self { grid: *grid, levels: writers })
    }

    /// The group [`MultiscaleWriter::create`] made at `path` over `grid`, to write tiles into
    /// (see [`VolumeWriter::open`]).
    pub fn open(path: &Path, name: &str, grid: &OutputGrid, levels: usize) -> Result<Self> {
        let levels = (0..levels).map(|k| VolumeWriter::open(&path.join(k.to_string()).join(name)));
        Ok(Self { grid: *grid, levels: levels.collect::<Result<_>>()? })
    }

    /// Write a tile of level 0 (`data[c * nt + it]`) and its block averages at every level. The
    /// tile must hold whole blocks of the coarsest level (`pstm_math::multiscale::aligned`).
    pub fn write_tile(&self, tile: &Tile, data: &[f32]) -> Result<()> {
        let coarsest = self.levels.len() - 1;
        assert!(
            pstm_math::multiscale::aligned(tile, &self.grid, coarsest),
            "{tile:?} is not aligned to level {coarsest}"
        );
        self.levels[0].write_tile_f32(tile, data)?;
        for (k, writer) in self.levels.iter().enumerate().skip(1) {
            let (t, level) = pstm_math::multiscale::tile_level(tile, self.grid.time.nt, data, k);
            writer.write_tile_f32(&t, &level)?;
        }
        Ok(())
    }
}

/// What a volume's metadata says.
#[derive(Debug, Clone)]
pub struct VolumeInfo {
    pub grid: OutputGrid,
    pub element: Element,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

pub struct VolumeReader {
    path: PathBuf,
    array: ZArray,
    info: VolumeInfo,
}

impl VolumeReader {
    pub fn open(path: &Path) -> Result<Self> {
        let array = zarr::open(path)?;
        let shape = array.shape().to_vec();
        if shape.len() != 3 {
            return Err(IoError::invalid(path, format!("expected a volume (nx, ny, nt), found shape {shape:?}")));
        }
        let dtype = array.data_type().to_string();
        let element = if dtype.contains("float32") || dtype == "<f4" {
            Element::F32
        } else if dtype.contains("uint32") || dtype == "<u4" {
            Element::U32
        } else {
            return Err(IoError::invalid(path, format!("volume data type {dtype} is neither float32 nor uint32")));
        };
        let get = |name: &str| zarr::attr_f64(&array, path, name);
        let dx = get("dx")?;
        let dy = get("dy")?;
        let dt_ms = get("dt_ms")?;
        let origin_x = zarr::attr_f64_opt(&array, "origin_x").map_or_else(|| get("x_min"), Ok)?;
        let origin_y = zarr::attr_f64_opt(&array, "origin_y").map_or_else(|| get("y_min"), Ok)?;
        let t_min_ms = get("t_min_ms")?;
        for (name, v) in [("dx", dx), ("dy", dy), ("dt_ms", dt_ms)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(IoError::invalid(path, format!("attribute {name} = {v} must be positive")));
            }
        }
        let grid = OutputGrid {
            origin_x,
            origin_y,
            dx,
            dy,
            nx: shape[0] as usize,
            ny: shape[1] as usize,
            rotation_deg: zarr::attr_f64_opt(&array, "rotation_deg").unwrap_or(0.0),
            time: TimeAxis { t0_s: t_min_ms * 1e-3, dt_s: dt_ms * 1e-3, nt: shape[2] as usize },
        };
        let info = VolumeInfo { grid, element, attributes: array.attributes().clone() };
        Ok(Self { path: path.to_path_buf(), array, info })
    }

    pub fn info(&self) -> &VolumeInfo {
        &self.info
    }

    fn read_subset<T: zarrs::array::ElementOwned>(&self, tile: &Tile) -> Result<Vec<T>> {
        let nt = self.info.grid.time.nt as u64;
        self.array
            .retrieve_array_subset::<Vec<T>>(&VolumeWriter::subset(tile, nt))
            .map_err(|e| IoError::zarr(&self.path, format!("cannot read columns at ({}, {}): {e}", tile.ix0, tile.iy0)))
    }

    /// All samples as float32 (a fold volume is converted).
    pub fn read_f32(&self, tile: &Tile) -> Result<Vec<f32>> {
        match self.info.element {
            Element::F32 => self.read_subset::<f32>(tile),
            Element::U32 => Ok(self.read_subset::<u32>(tile)?.into_iter().map(|v| v as f32).collect()),
        }
    }

    pub fn read_u32(&self, tile: &Tile) -> Result<Vec<u32>> {
        match self.info.element {
            Element::U32 => self.read_subset::<u32>(tile),
            Element::F32 => Err(IoError::invalid(&self.path, "volume holds float32, not counts")),
        }
    }

    pub fn read_all_f32(&self) -> Result<Vec<f32>> {
        self.read_f32(&self.info.grid.full_tile())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_round_trip_with_grid_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let grid = OutputGrid {
            origin_x: 10.0,
            origin_y: 20.0,
            dx: 25.0,
            dy: 30.0,
            nx: 5,
            ny: 3,
            rotation_deg: 15.0,
            time: TimeAxis { t0_s: 0.1, dt_s: 0.004, nt: 6 },
        };
        let p = dir.path().join("v.zarr");
        let mut extra = serde_json::Map::new();
        extra.insert("kernel".into(), "cpu-ref".into());
        let w = VolumeWriter::create(&p, &grid, (2, 2), Element::F32, extra).unwrap();
        let full: Vec<f32> = (0..grid.n_samples()).map(|i| i as f32).collect();
        for tile in grid.tiles(2, 2) {
            let mut data = Vec::new();
            for jx in 0..tile.nx {
                for jy in 0..tile.ny {
                    let c = (tile.ix0 + jx) * grid.ny + tile.iy0 + jy;
                    data.extend_from_slice(&full[c * 6..(c + 1) * 6]);
                }
            }
            w.write_tile_f32(&tile, &data).unwrap();
        }
        let r = VolumeReader::open(&p).unwrap();
        assert_eq!(r.read_all_f32().unwrap(), full);
        let g = r.info().grid;
        assert_eq!((g.nx, g.ny, g.time.nt, g.rotation_deg), (5, 3, 6, 15.0));
        assert!((g.time.t0_s - 0.1).abs() < 1e-12 && (g.time.dt_s - 0.004).abs() < 1e-12);
        assert_eq!(r.info().attributes["kernel"], "cpu-ref");
        assert!((r.info().attributes["t_max_ms"].as_f64().unwrap() - 120.0).abs() < 1e-9);
    }
}

//! Velocity cubes stored as zarr volumes.
//!
//! A cube is an `(nx, ny, nt)` float32 array with the same axis attributes as an output volume
//! (`x_min, dx, y_min, dy, t_min_ms, dt_ms`), axis-aligned (`rotation_deg` absent or 0).

use std::path::Path;

use pstm_math::velocity::VelocityCube;
use pstm_math::{OutputGrid, TimeAxis};

use crate::error::{IoError, Result};
use crate::volume::{VolumeElement, VolumeReader, VolumeWriter};

pub fn read(path: &Path) -> Result<VelocityCube> {
    let r = VolumeReader::open(path)?;
    let g = r.info().grid;
    if g.rotation_deg != 0.0 {
        return Err(IoError::invalid(path, "velocity cubes must be axis-aligned (rotation_deg = 0)"));
    }
    let data = r.read_all_f32()?;
    Ok(VelocityCube {
        x0: g.origin_x,
        dx: g.dx,
        nx: g.nx,
        y0: g.origin_y,
        dy: g.dy,
        ny: g.ny,
        t0: g.time.t0_s,
        dt: g.time.dt_s,
        nt: g.time.nt,
        data,
    })
}

/// Write a cube (refusing to replace anything at `path`), under a temporary name until complete.
pub fn write(path: &Path, cube: &VelocityCube) -> Result<()> {
    let grid = OutputGrid {
        origin_x: cube.x0,
        origin_y: cube.y0,
        dx: cube.dx,
        dy: cube.dy,
        nx: cube.nx,
        ny: cube.ny,
        rotation_deg: 0.0,
        time: TimeAxis { t0_s: cube.t0, dt_s: cube.dt, nt: cube.nt },
    };
    let mut extra = serde_json::Map::new();
    extra.insert("quantity".into(), "velocity_m_per_s".into());
    let staged = crate::Staged::new(path, false)?;
    let w = VolumeWriter::create(staged.path(), &grid, (cube.nx, cube.ny), VolumeElement::F32, extra)?;
    w.write_tile_f32(&grid.full_tile(), &cube.data)?;
    staged.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cube_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cube = VelocityCube {
            x0: -5.0,
            dx: 10.0,
            nx: 2,
            y0: 3.0,
            dy: 20.0,
            ny: 3,
            t0: 0.0,
            dt: 0.5,
            nt: 4,
            data: (0..24).map(|i| 2000.0 + i as f32).collect(),
        };
        let p = dir.path().join("v.zarr");
        write(&p, &cube).unwrap();
        assert_eq!(read(&p).unwrap(), cube);
    }
}

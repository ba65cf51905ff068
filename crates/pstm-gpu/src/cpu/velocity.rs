//! Twin of `shaders/shared/velocity.wgsl` and `shaders/shared/velocity_source.wgsl`: the
//! velocity of an output sample from the inputs of gpu-v1 and later.

// Variable names and forms follow the WGSL, not Rust idiom.
#![allow(clippy::needless_return)]

use crate::layout::{ColumnV1, OutputTimeV1, OutputTimeV2, TileParamsV1, TileParamsV2, VelocitySource};

/// The fields of a kernel's tile parameters that `velocity_at` reads (WGSL reads them by name).
pub trait VelocityFields {
    fn velocity_source(&self) -> u32;
    fn nt(&self) -> u32;
    /// `[cube_nx, cube_ny, cube_nt]`.
    fn cube(&self) -> [u32; 3];
}

/// The fields of a kernel's output times that `velocity_at` reads.
pub trait TimeCell {
    fn cell(&self) -> u32;
    fn fraction(&self) -> f32;
}

macro_rules! velocity_fields {
    ($($t:ty),*) => {$(
        impl VelocityFields for $t {
            fn velocity_source(&self) -> u32 {
                self.velocity_source
            }
            fn nt(&self) -> u32 {
                self.nt
            }
            fn cube(&self) -> [u32; 3] {
                [self.cube_nx, self.cube_ny, self.cube_nt]
            }
        }
    )*};
}
velocity_fields!(TileParamsV1, TileParamsV2);

macro_rules! time_cell {
    ($($t:ty),*) => {$(
        impl TimeCell for $t {
            fn cell(&self) -> u32 {
                self.cell
            }
            fn fraction(&self) -> f32 {
                self.fraction
            }
        }
    )*};
}
time_cell!(OutputTimeV1, OutputTimeV2);

pub fn lerp(a: f32, b: f32, f: f32) -> f32 {
    return a + f * (b - a);
}

/// WGSL `trilinear`: corners `v[x][y][t]`, time first, then y, then x.
pub fn trilinear(v: [f32; 8], fx: f32, fy: f32, ft: f32) -> f32 {
    let c00 = lerp(v[0], v[1], ft);
    let c01 = lerp(v[2], v[3], ft);
    let c10 = lerp(v[4], v[5], ft);
    let c11 = lerp(v[6], v[7], ft);
    return lerp(lerp(c00, c01, fy), lerp(c10, c11, fy), fx);
}

/// WGSL `velocity_at` for the buffer sources (`VELOCITY_TIME`, `_COLUMNS`, `_CUBE_BUFFER`; the
/// texture sources read the same values through `textureLoad`).
pub fn velocity_at(
    tile: &impl VelocityFields,
    columns: &[ColumnV1],
    times: &[impl TimeCell],
    velocity: &[f32],
    c: u32,
    it: u32,
) -> f32 {
    if tile.velocity_source() == VelocitySource::Time as u32 {
        return velocity[it as usize];
    }
    if tile.velocity_source() == VelocitySource::Columns as u32 {
        return velocity[(c * tile.nt() + it) as usize];
    }
    let [cube_nx, cube_ny, cube_nt] = tile.cube();
    let column = columns[c as usize];
    let time = &times[it as usize];
    let ix = column.cell[0];
    let iy = column.cell[1];
    let kt = time.cell();
    let jx = (ix + 1).min(cube_nx - 1);
    let jy = (iy + 1).min(cube_ny - 1);
    let jt = (kt + 1).min(cube_nt - 1);
    let cube_value = |ix: u32, iy: u32, it: u32| velocity[((ix * cube_ny + iy) * cube_nt + it) as usize];
    let v = [
        cube_value(ix, iy, kt),
        cube_value(ix, iy, jt),
        cube_value(ix, jy, kt),
        cube_value(ix, jy, jt),
        cube_value(jx, iy, kt),
        cube_value(jx, iy, jt),
        cube_value(jx, jy, kt),
        cube_value(jx, jy, jt),
    ];
    return trilinear(v, column.fraction[0], column.fraction[1], time.fraction());
}

#[cfg(test)]
mod tests {
    use pstm_kernel::TraceLayout;
    use pstm_math::rng::SplitMix64;
    use pstm_math::velocity::VelocityCube;
    use pstm_math::{TimeAxis, VelocityFunction, VelocityModel, VelocityType};

    use super::*;
    use crate::layout::{columns_v1, times_v1};

    /// The twin, fed gpu-v1's host-side cells, equals the reference model's trilinear
    /// interpolation to float32 rounding, inside the cube and clamped beyond its edges.
    #[test]
    fn cube_velocity_matches_the_reference_model() {
        let mut rng = SplitMix64::new(11);
        let (nx, ny, nt) = (7, 5, 9);
        let data: Vec<f32> = (0..nx * ny * nt).map(|_| 1500.0 + 3000.0 * rng.uniform() as f32).collect();
        let cube = VelocityCube {
            x0: 512_000.0,
            dx: 100.0,
            nx,
            y0: 6_100_000.0,
            dy: 80.0,
            ny,
            t0: 0.0,
            dt: 0.25,
            nt,
            data: data.clone(),
        };
        let model = VelocityModel::new(VelocityFunction::Cube(cube.clone()), VelocityType::Rms).unwrap();
        let columns: Vec<[f64; 2]> = (0..40)
            .map(|_| [512_000.0 - 50.0 + 700.0 * rng.uniform(), 6_100_000.0 - 40.0 + 400.0 * rng.uniform()])
            .collect();
        let time = TimeAxis { t0_s: 0.0, dt_s: 0.004, nt: 600 };
        let layout = TraceLayout { n_samples: 500, dt_s: 0.004, t_start_s: 0.0 };
        let origin = crate::layout::local_origin(&columns);
        let cols = columns_v1(&columns, origin, Some(&cube));
        let times = times_v1(&(0..time.nt).map(|i| time.time(i)).collect::<Vec<_>>(), &layout, Some(&cube));
        let operator = pstm_math::ImagingOperator::plain(1000.0);
        let shape = [nx as u32, ny as u32, nt as u32];
        let tile = TileParamsV1::new(columns.len(), time.nt, VelocitySource::CubeBuffer, shape, &operator);
        let mut worst = 0.0f64;
        for (c, &[x, y]) in columns.iter().enumerate() {
            for it in 0..time.nt {
                let twin = velocity_at(&tile, &cols, &times, &data, c as u32, it as u32) as f64;
                let reference = model.vrms(x, y, time.time(it));
                worst = worst.max((twin - reference).abs() / reference);
            }
        }
        assert!(worst < 1e-6, "worst relative velocity error {worst:e}");
    }
}

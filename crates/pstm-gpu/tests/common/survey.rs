//! Small surveys with random traces for session tests, and their jobs.

use pstm_kernel::{JobSetup, TileWork, TraceLayout};
use pstm_math::rng::SplitMix64;
use pstm_math::velocity::VelocityCube;
use pstm_math::{
    AmplitudeWeights, Aperture, ImagingOperator, OutputGrid, Taper, TaperKind, TimeAxis, TraceGeometry,
    VelocityFunction, VelocityModel, VelocityType,
};

use super::MemoryStore;

/// A survey patch far from the origin (UTM-like) with random traces over it, and its grid.
pub struct Survey {
    pub grid: OutputGrid,
    pub store: MemoryStore,
}

pub fn survey(seed: u64, nx: usize, ny: usize, n_traces: usize) -> Survey {
    let mut rng = SplitMix64::new(seed);
    let grid = OutputGrid {
        origin_x: 431_000.0,
        origin_y: 6_472_000.0,
        dx: 25.0,
        dy: 25.0,
        nx,
        ny,
        rotation_deg: 0.0,
        time: TimeAxis { t0_s: 0.1, dt_s: 0.004, nt: 120 },
    };
    let layout = TraceLayout { n_samples: 200, dt_s: 0.004, t_start_s: 0.0 };
    let (w, h) = (nx as f64 * 25.0, ny as f64 * 25.0);
    let geometry = (0..n_traces)
        .map(|_| {
            let (mx, my) = (grid.origin_x + w * rng.uniform(), grid.origin_y + h * rng.uniform());
            TraceGeometry::from_midpoint(mx, my, 50.0 + 600.0 * rng.uniform(), 180.0 * rng.uniform())
        })
        .collect();
    let samples = (0..n_traces * layout.n_samples).map(|_| (rng.uniform() - 0.5) as f32).collect();
    Survey { grid, store: MemoryStore { layout, geometry, samples } }
}

/// A cube over the survey with lateral and vertical variation (10% over a few hundred metres).
pub fn cube_model(grid: &OutputGrid) -> VelocityModel {
    let (nx, ny, nt) = (6, 5, 8);
    let mut data = Vec::with_capacity(nx * ny * nt);
    for ix in 0..nx {
        for iy in 0..ny {
            for it in 0..nt {
                let wobble = (ix as f64 * 1.3).sin() * (iy as f64 * 0.9).cos();
                data.push((2300.0 + 180.0 * wobble + 60.0 * it as f64) as f32);
            }
        }
    }
    let cube = VelocityCube {
        x0: grid.origin_x - 50.0,
        dx: grid.nx as f64 * 25.0 / 4.0,
        nx,
        y0: grid.origin_y - 40.0,
        dy: grid.ny as f64 * 25.0 / 3.0,
        ny,
        t0: 0.0,
        dt: 0.08,
        nt,
        data,
    };
    VelocityModel::new(VelocityFunction::Cube(cube), VelocityType::Rms).unwrap()
}

pub fn operator() -> ImagingOperator {
    ImagingOperator {
        aperture: Aperture::fixed(300.0),
        taper: Taper { kind: TaperKind::Cosine, fraction: 0.2 },
        weights: AmplitudeWeights { spreading: true, obliquity: true },
        ..ImagingOperator::plain(300.0)
    }
}

pub fn works(s: &Survey, tile: [usize; 2]) -> Vec<TileWork> {
    let all: Vec<u32> = (0..s.store.geometry.len() as u32).collect();
    s.grid
        .tiles(tile[0], tile[1])
        .into_iter()
        .enumerate()
        .map(|(i, t)| TileWork { tile_index: i, tile: t, bin: None, traces: all.clone(), active: None })
        .collect()
}

pub fn setup<'a>(
    s: &'a Survey,
    velocity: &'a VelocityModel,
    op: &'a ImagingOperator,
    pool: &'a rayon::ThreadPool,
    tile: [usize; 2],
) -> JobSetup<'a> {
    JobSetup {
        grid: &s.grid,
        velocity,
        operator: op,
        traces: &s.store,
        block_traces: s.store.geometry.len(),
        max_tile_columns: tile[0] * tile[1],
        concurrent_tiles: 2,
        pool,
    }
}

pub fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap()
}

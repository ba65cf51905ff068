//! Small surveys with random traces for session tests, and their jobs.

use pstm_kernel::parity::{borderline_mask, compare};
use pstm_kernel::{FinishedTile, JobSetup, TileTask, TileWork, TraceLayout, TraceStore};
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
        weights: AmplitudeWeights::new(true, true),
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

/// What the fold must do against the reference in [`worst_error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// Equal outside each tile's borderline mask.
    Equal,
    /// Not compared (a kernel whose traveltimes differ slightly from the reference's, as a
    /// table's do, may count a trace at a trace end the reference does not).
    Unchecked,
}

/// The worst relative L2 error of `candidate`'s tiles against `reference`'s (both in tile
/// order), outside each tile's borderline mask; no sample may be non-finite.
pub fn worst_error(
    s: &Survey,
    velocity: &VelocityModel,
    op: &ImagingOperator,
    reference: &[FinishedTile],
    candidate: &[FinishedTile],
    fold: Fold,
) -> f64 {
    let mut worst = 0.0f64;
    for (r, c) in reference.iter().zip(candidate) {
        assert_eq!((r.tile_index, r.tile), (c.tile_index, c.tile));
        let columns = s.grid.tile_columns(&r.tile);
        let v = velocity.sample(&columns, &s.grid.time).unwrap();
        let task = TileTask { columns: &columns, time: s.grid.time, velocity: &v, operator: op };
        let ids: Vec<u32> = (0..s.store.geometry.len() as u32).collect();
        let blocks = [s.store.block(&ids).unwrap()];
        let cmp = compare(&r.image, &c.image, Some(&borderline_mask(&task, &blocks)));
        assert_eq!(cmp.non_finite, 0, "tile {}: {cmp}", r.tile_index);
        if fold == Fold::Equal {
            assert_eq!(cmp.fold_mismatches, 0, "tile {}: {cmp}", r.tile_index);
        }
        worst = worst.max(cmp.rel_l2);
    }
    worst
}

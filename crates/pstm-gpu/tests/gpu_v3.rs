//! `gpu-v3` against `gpu-v2`, whose shader it runs: with the persistent grid off or on (any grid
//! size), the image is gpu-v2's bit for bit; with an adaptive run's cells, every work item with
//! an active cell is gpu-v2's bit for bit and every other is zero, fold included (the outputs are
//! poisoned before each tile). On the device this machine has (Mesa lavapipe in CI); skipped
//! without an adapter unless `PSTM_REQUIRE_GPU=1`.

mod common;

use std::sync::Arc;

use common::run_session;
use common::survey::{Fold, Survey, operator, pool, setup, survey, works, worst_error};
use pstm_gpu::gpu_v3::{self, GpuV3Options};
use pstm_gpu::{GpuContext, GpuV1Options, GpuV2Kernel, GpuV2Options};
use pstm_kernel::parity::ParityCase;
use pstm_kernel::{CpuRefKernel, FinishedTile, MigrationKernel, TileWork, migrate_tile};
use pstm_math::adaptive::TileCells;
use pstm_math::rng::SplitMix64;
use pstm_math::{VelocityFunction, VelocityModel, VelocityType};

/// Tiles by index: (image bits, fold).
fn by_tile(tiles: Vec<FinishedTile>) -> Vec<(Vec<u32>, Vec<u32>)> {
    by_index(tiles).into_iter().map(|t| (t.image.image.iter().map(|v| v.to_bits()).collect(), t.image.fold)).collect()
}

fn session(kernel: &dyn MigrationKernel, s: &Survey, works: Vec<TileWork>) -> Vec<(Vec<u32>, Vec<u32>)> {
    let (model, op, pool) = (VelocityModel::constant(2400.0), operator(), pool());
    by_tile(run_session(kernel, setup(s, &model, &op, &pool, TILE), works, &|_| true).unwrap())
}

const TILE: [usize; 2] = [10, 10];

/// Traces of the test surveys. llvmpipe (Mesa's software Vulkan, CI's device) ends any shader loop
/// after 65535 iterations, counted over every entry of the loop in one invocation, and a
/// persistent workgroup's loop over live traces is entered once per batch of every item it
/// claims (at most twice its fair share): the smallest grids here must see few enough traces.
const TRACES: usize = 300;

/// Output times: 4 and 8 chunks of the two shapes, the later ones past the traces' end (every
/// trace dead there).
const NT: usize = 501;

/// gpu-v2's shapes the tests run: the default (one chunk per column on lavapipe) and 64 x 1
/// (two chunks of 120 output times).
fn shapes() -> [GpuV2Options; 2] {
    // Blocks of 128 traces: the survey's traces in three, so later blocks add to the first.
    let host = GpuV1Options { block_bytes: Some(128 * 200 * 4), ..Default::default() };
    let d = GpuV2Options { host, ..Default::default() };
    [d, GpuV2Options { workgroup_size: Some(64), samples_per_invocation: Some(1), ..d }]
}

fn v3(ctx: &Arc<GpuContext>, v2: GpuV2Options, persistent: bool, workgroups: Option<u32>) -> GpuV2Kernel {
    gpu_v3::create(
        ctx.clone(),
        GpuV3Options { v2, persistent, persistent_workgroups: workgroups, traveltime_table: false },
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn gpu_v3_is_gpu_v2_bit_for_bit_with_or_without_the_persistent_grid() {
    let Some(ctx) = common::gpu_context("gpu_v3_is_gpu_v2_bit_for_bit_with_or_without_the_persistent_grid") else {
        return;
    };
    let mut s = survey(31, 20, 20, TRACES);
    // From time 0: the first output time goes through the exact-weights pipeline, the rest
    // through the items.
    s.grid.time.t0_s = 0.0;
    s.grid.time.nt = NT;
    for v2 in shapes() {
        let expected = session(&GpuV2Kernel::with_options(ctx.clone(), v2).unwrap(), &s, works(&s, TILE));
        for (persistent, workgroups) in [(false, None), (true, None), (true, Some(7)), (true, Some(100))] {
            let kernel = v3(&ctx, v2, persistent, workgroups);
            assert_eq!(kernel.name(), "gpu-v3");
            let got = session(&kernel, &s, works(&s, TILE));
            assert!(got == expected, "persistent {persistent}, {workgroups:?} workgroups: differs from gpu-v2");
        }
    }
    // The per-tile protocol too.
    let (plain, kernel) = (GpuV2Kernel::new(ctx.clone()).unwrap(), v3(&ctx, GpuV2Options::default(), true, None));
    for seed in 40..44 {
        let case = ParityCase::random(seed);
        let a = migrate_tile(&plain, case.task(), &case.blocks).unwrap();
        let b = migrate_tile(&kernel, case.task(), &case.blocks).unwrap();
        let bits =
            |i: &pstm_kernel::TileImage| (i.image.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), i.fold.clone());
        assert!(bits(&a) == bits(&b), "seed {seed}");
    }
}

/// Random cells of a tile of `n_columns` columns, windows of 16 of the 120 output times: half
/// the columns have none, the others about 40% of their windows.
fn random_cells(rng: &mut SplitMix64, n_columns: usize) -> TileCells {
    let (nt, window) = (501usize, 16);
    debug_assert_eq!(nt, NT);
    let n_windows = nt.div_ceil(window);
    let mut active = Vec::new();
    for _ in 0..n_columns {
        let any = rng.uniform() < 0.5;
        active.extend((0..n_windows).map(|_| any && rng.uniform() < 0.4));
    }
    TileCells { nt, window, n_windows, active }
}

#[test]
fn gpu_v3_migrates_the_active_items_as_gpu_v2_and_zeroes_the_others() {
    let Some(ctx) = common::gpu_context("gpu_v3_migrates_the_active_items_as_gpu_v2_and_zeroes_the_others") else {
        return;
    };
    let mut s = survey(32, 20, 20, TRACES);
    s.grid.time.nt = NT;
    let mut rng = SplitMix64::new(7);
    let mut masked = works(&s, TILE);
    for w in &mut masked {
        w.active = Some(Arc::new(random_cells(&mut rng, w.tile.n_columns())));
    }
    for v2 in shapes() {
        let expected = session(&GpuV2Kernel::with_options(ctx.clone(), v2).unwrap(), &s, works(&s, TILE));
        let chunk = (v2.workgroup_size.unwrap_or(64) * v2.samples_per_invocation.unwrap_or(2)) as usize;
        for persistent in [false, true] {
            let kernel = v3(&ctx, v2, persistent, Some(3));
            let got = session(&kernel, &s, masked.clone());
            let (mut kept, mut skipped) = (0, 0);
            for (w, ((image, fold), (full_image, full_fold))) in masked.iter().zip(got.iter().zip(&expected)) {
                let cells = w.active.as_ref().unwrap();
                let nt = s.grid.time.nt;
                for c in 0..w.tile.n_columns() {
                    for first in (0..nt).step_by(chunk) {
                        let times = first..(first + chunk).min(nt);
                        let at = c * nt + first..c * nt + times.end;
                        if cells.any_active(c, times) {
                            assert_eq!(image[at.clone()], full_image[at.clone()], "tile {}, column {c}", w.tile_index);
                            assert_eq!(fold[at.clone()], full_fold[at], "tile {}, column {c}", w.tile_index);
                            kept += 1;
                        } else {
                            assert!(image[at.clone()].iter().all(|&v| v == 0), "tile {}, column {c}", w.tile_index);
                            assert!(fold[at].iter().all(|&f| f == 0), "tile {}, column {c}", w.tile_index);
                            skipped += 1;
                        }
                    }
                }
            }
            assert!(kept > 0 && skipped > 0, "{kept} items kept, {skipped} skipped");
            eprintln!("gpu-v3 (persistent {persistent}, chunks of {chunk}): {kept} items migrated, {skipped} skipped");
        }
    }
}

#[test]
fn gpu_v3_with_traveltime_tables_stays_within_1e_3_of_the_reference() {
    let Some(ctx) = common::gpu_context("gpu_v3_with_traveltime_tables_stays_within_1e_3_of_the_reference") else {
        return;
    };
    let mut s = survey(33, 9, 7, TRACES);
    // From time 0: the shallowest rows are computed, not tabulated.
    s.grid.time.t0_s = 0.0;
    let (op, pool) = (operator(), pool());
    let tables = GpuV3Options { traveltime_table: true, ..Default::default() };
    let kernel = gpu_v3::create(ctx.clone(), tables).unwrap();
    for (name, model) in [
        ("constant", VelocityModel::constant(2400.0)),
        (
            "v(t)",
            VelocityModel::new(VelocityFunction::Linear { v0: 1800.0, k: 900.0 }, VelocityType::Interval).unwrap(),
        ),
    ] {
        let reference = by_index(
            run_session(&CpuRefKernel, setup(&s, &model, &op, &pool, TILE), works(&s, TILE), &|_| true).unwrap(),
        );
        let got =
            by_index(run_session(&kernel, setup(&s, &model, &op, &pool, TILE), works(&s, TILE), &|_| true).unwrap());
        let description = kernel.device();
        assert!(description.contains("traveltime table 120 x"), "{description}");
        let worst = worst_error(&s, &model, &op, &reference, &got, Fold::Unchecked);
        eprintln!(
            "gpu-v3 with traveltime tables, {name} velocity: worst relative L2 against cpu-ref {worst:.2e} ({description})"
        );
        assert!(worst <= 1e-3, "{name}: relative L2 {worst}");
    }
}

/// Tiles in the order of their index.
fn by_index(mut tiles: Vec<FinishedTile>) -> Vec<FinishedTile> {
    tiles.sort_by_key(|t| t.tile_index);
    tiles
}

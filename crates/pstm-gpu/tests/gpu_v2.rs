//! `gpu-v2` against the float64 reference `cpu-ref` on fresh random cases with NaN-poisoned
//! outputs: every switch and workgroup shape, the subgroup and the plain path (the same image,
//! bit for bit), long records, its own session with each velocity path, and repeatability. On
//! the device this machine has (Mesa lavapipe in CI, subgroups of 8); skipped without an adapter
//! unless `PSTM_REQUIRE_GPU=1`.

mod common;

use std::sync::Arc;

use common::run_session;
use common::survey::{Fold, cube_model, operator, pool, setup, survey, works, worst_error};
use pstm_gpu::host::DeviceKernel;
use pstm_gpu::{GpuContext, GpuV1Options, GpuV2Kernel, GpuV2Options, VelocityStorage};
use pstm_kernel::parity::{ParityCase, REL_L2_TOLERANCE, borderline_mask, compare};
use pstm_kernel::{CpuRefKernel, MigrationKernel, TileImage, migrate_tile};
use pstm_math::{ImagingOperator, VelocityFunction, VelocityModel, VelocityType};

fn bits(img: &TileImage) -> (Vec<u32>, Vec<u32>) {
    (img.image.iter().map(|v| v.to_bits()).collect(), img.fold.clone())
}

/// gpu-v2 with `options` on `ctx`.
fn kernel(ctx: &Arc<GpuContext>, options: GpuV2Options) -> GpuV2Kernel {
    GpuV2Kernel::with_options(ctx.clone(), options).unwrap_or_else(|e| panic!("{options:?}: {e}"))
}

/// The switches and shapes that must not change a bit of the image: how traces are read, with
/// or without subgroups, how many output times an invocation or a workgroup takes.
fn variants() -> Vec<(&'static str, GpuV2Options)> {
    let d = GpuV2Options::default();
    let shape = |workgroup_size, samples| GpuV2Options {
        workgroup_size: Some(workgroup_size),
        samples_per_invocation: Some(samples),
        ..d
    };
    vec![
        ("defaults", d),
        ("subgroups off", GpuV2Options { subgroups: false, ..d }),
        ("trace pairs off", GpuV2Options { trace_pairs: false, ..d }),
        ("64 x 1", shape(64, 1)),
        ("128 x 8", shape(128, 8)),
        ("256 x 4, no subgroups, no pairs", GpuV2Options { subgroups: false, trace_pairs: false, ..shape(256, 4) }),
    ]
}

#[test]
fn gpu_v2_matches_reference_and_is_bitwise_the_same_whatever_the_switches() {
    let Some(ctx) = common::gpu_context("gpu_v2_matches_reference_and_is_bitwise_the_same_whatever_the_switches")
    else {
        return;
    };
    let cases: Vec<ParityCase> = (0..12).map(ParityCase::random).collect();
    let references: Vec<TileImage> =
        cases.iter().map(|c| migrate_tile(&CpuRefKernel, c.task(), &c.blocks).unwrap()).collect();
    let mut default_bits = Vec::new();
    for (what, options) in variants() {
        let gpu = kernel(&ctx, options);
        let mut worst = 0.0f64;
        for (i, (case, reference)) in cases.iter().zip(&references).enumerate() {
            let image = migrate_tile(&gpu, case.task(), &case.blocks).unwrap();
            let cmp = compare(reference, &image, Some(&borderline_mask(&case.task(), &case.blocks)));
            assert!(cmp.passes(REL_L2_TOLERANCE), "{what}, seed {}: {cmp}", case.seed);
            worst = worst.max(cmp.rel_l2);
            if what == "defaults" {
                default_bits.push(bits(&image));
            } else {
                assert!(bits(&image) == default_bits[i], "{what}, seed {}: differs from the defaults", case.seed);
            }
        }
        eprintln!("gpu-v2 ({what}) vs cpu-ref on {}: worst relative L2 {worst:.3e}", gpu.device());
    }
}

#[test]
fn gpu_v2_matches_its_twin_and_repeats_bit_for_bit() {
    let Some(ctx) = common::gpu_context("gpu_v2_matches_its_twin_and_repeats_bit_for_bit") else { return };
    let gpu = kernel(&ctx, GpuV2Options::default());
    let mut worst = 0.0f64;
    for seed in 20..26 {
        let case = ParityCase::random(seed);
        let first = migrate_tile(&gpu, case.task(), &case.blocks).unwrap();
        for _ in 0..2 {
            let again = migrate_tile(&gpu, case.task(), &case.blocks).unwrap();
            assert!(bits(&again) == bits(&first), "seed {seed}: a repeated run differs");
        }
        // The twin runs the same float32 operations in the same order; the device differs in its
        // built-ins (square root and division may be approximate, products may be fused), which
        // white-noise traces turn into position and so amplitude differences: the two agree to
        // a quarter of the parity tolerance, and fold exactly, outside borderline samples.
        let twin = pstm_gpu::cpu::migrate_v2::migrate_tile(&case.task(), &case.blocks, gpu.shape(), true);
        let cmp = compare(&twin, &first, Some(&borderline_mask(&case.task(), &case.blocks)));
        assert!(cmp.passes(REL_L2_TOLERANCE / 4.0), "seed {seed}: {cmp}");
        worst = worst.max(cmp.rel_l2);
    }
    eprintln!("gpu-v2 vs its CPU twin: worst relative L2 {worst:.3e}");
}

#[test]
fn gpu_v2_matches_reference_on_long_records_in_split_blocks() {
    let Some(ctx) = common::gpu_context("gpu_v2_matches_reference_on_long_records_in_split_blocks") else { return };
    // Blocks of 64 KiB: a few traces each, so every tile is several dispatches.
    let host = GpuV1Options { block_bytes: Some(64 << 10), ..Default::default() };
    let gpu = kernel(&ctx, GpuV2Options { host, ..Default::default() });
    let mut worst = 0.0f64;
    for seed in 0..3 {
        let case = ParityCase::random_long(seed);
        let reference = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).unwrap();
        let image = migrate_tile(&gpu, case.task(), &case.blocks).unwrap();
        let cmp = compare(&reference, &image, Some(&borderline_mask(&case.task(), &case.blocks)));
        assert!(cmp.passes(REL_L2_TOLERANCE), "long records, seed {seed}: {cmp}");
        worst = worst.max(cmp.rel_l2);
    }
    let stats = gpu.take_stats();
    assert!(stats.blocks > 4 * stats.tiles, "blocks were split: {stats:?}");
    eprintln!("gpu-v2 on long records: worst relative L2 {worst:.3e}");
}

#[test]
fn gpu_v2_session_matches_reference_with_each_velocity_path() {
    let Some(ctx) = common::gpu_context("gpu_v2_session_matches_reference_with_each_velocity_path") else { return };
    let s = survey(5, 9, 7, 900);
    let op = operator();
    let dip = ImagingOperator {
        aperture: pstm_math::Aperture {
            mode: pstm_math::ApertureMode::Dip,
            max_m: 300.0,
            min_m: 60.0,
            max_dip_deg: 35.0,
        },
        ..op
    };
    let pool = pool();
    let tile = [4, 3];
    let models = [
        ("constant", VelocityModel::constant(2400.0)),
        (
            "v(t)",
            VelocityModel::new(VelocityFunction::Linear { v0: 1800.0, k: 900.0 }, VelocityType::Interval).unwrap(),
        ),
        ("cube", cube_model(&s.grid)),
    ];
    for (name, model) in &models {
        for (aperture, op) in [("fixed", &op), ("dip", &dip)] {
            let reference =
                run_session(&CpuRefKernel, setup(&s, model, op, &pool, tile), works(&s, tile), &|_| true).unwrap();
            let mut first: Option<Vec<_>> = None;
            let velocities: &[VelocityStorage] = if *name == "cube" {
                &[VelocityStorage::Texture, VelocityStorage::Buffer]
            } else {
                &[VelocityStorage::Auto]
            };
            for &velocity in velocities {
                let host = GpuV1Options { velocity, ..Default::default() };
                let gpu = kernel(&ctx, GpuV2Options { host, ..Default::default() });
                let tiles = run_session(&gpu, setup(&s, model, op, &pool, tile), works(&s, tile), &|_| true).unwrap();
                let worst = worst_error(&s, model, op, &reference, &tiles, Fold::Equal);
                eprintln!(
                    "gpu-v2 session, {name} velocity, {aperture} aperture, {velocity:?}: worst relative L2 {worst:.3e}"
                );
                assert!(worst < REL_L2_TOLERANCE, "{name} velocity, {aperture} aperture: relative L2 {worst:e}");
                let b: Vec<_> = tiles.iter().map(|t| bits(&t.image)).collect();
                match &first {
                    None => first = Some(b),
                    Some(f) => assert!(&b == f, "{name}: texture and buffer differ"),
                }
            }
        }
    }
}

#[test]
fn gpu_v2_refuses_shapes_it_does_not_have() {
    let Some(ctx) = common::gpu_context("gpu_v2_refuses_shapes_it_does_not_have") else { return };
    let bad = GpuV2Options { workgroup_size: Some(96), ..Default::default() };
    let e = GpuV2Kernel::with_options(ctx.clone(), bad).unwrap_err().to_string();
    assert!(e.contains("workgroup_size 96") && e.contains("execution.gpu"), "{e}");
    let bad = GpuV2Options { samples_per_invocation: Some(3), ..Default::default() };
    let e = GpuV2Kernel::with_options(ctx, bad).unwrap_err().to_string();
    assert!(e.contains("samples_per_invocation 3"), "{e}");
}

//! `gpu-v1` against the float64 reference `cpu-ref` with every switch, through the per-tile
//! protocol and through its own session; bitwise repeatability; and no growth of device or host
//! memory over 1000 tiles. On the device this machine has (Mesa lavapipe in CI); skipped without
//! an adapter unless `PSTM_REQUIRE_GPU=1`.

mod common;

use std::sync::Arc;

use common::run_session;
use common::survey::{Fold, cube_model, operator, pool, setup, survey, works, worst_error};
use pstm_gpu::host::DeviceKernel;
use pstm_gpu::{GpuContext, GpuV1Kernel, GpuV1Options, UploadPath, VelocityFilter, VelocityStorage};
use pstm_kernel::parity::{ParityCase, REL_L2_TOLERANCE, borderline_mask, compare};
use pstm_kernel::{CpuRefKernel, MigrationKernel, TileImage, TraceStore, migrate_tile};
use pstm_math::{VelocityFunction, VelocityModel, VelocityType};

/// Every switch of gpu-v1 that changes how data moves, each against the defaults.
fn variants(ctx: &Arc<GpuContext>) -> Vec<(&'static str, GpuV1Options)> {
    let d = GpuV1Options::default();
    let mut v = vec![
        ("defaults", d),
        ("overlap off", GpuV1Options { overlap: false, ..d }),
        ("buffer pool off", GpuV1Options { buffer_pool: false, ..d }),
        ("upload write_buffer", GpuV1Options { upload: UploadPath::WriteBuffer, ..d }),
        ("upload staging", GpuV1Options { upload: UploadPath::Staging, ..d }),
    ];
    if ctx.has_feature(pstm_gpu::wgpu::Features::MAPPABLE_PRIMARY_BUFFERS) {
        v.push(("upload mapped", GpuV1Options { upload: UploadPath::Mapped, ..d }));
    }
    v
}

fn bits(img: &TileImage) -> (Vec<u32>, Vec<u32>) {
    (img.image.iter().map(|v| v.to_bits()).collect(), img.fold.clone())
}

#[test]
fn gpu_v1_matches_reference_on_random_cases_with_every_switch() {
    let Some(ctx) = common::gpu_context("gpu_v1_matches_reference_on_random_cases_with_every_switch") else { return };
    let cases: Vec<ParityCase> = (0..16).map(ParityCase::random).collect();
    let references: Vec<TileImage> =
        cases.iter().map(|c| migrate_tile(&CpuRefKernel, c.task(), &c.blocks).unwrap()).collect();
    let mut default_bits = Vec::new();
    for (what, options) in variants(&ctx) {
        let gpu = GpuV1Kernel::with_options(ctx.clone(), options).unwrap();
        let mut worst = 0.0f64;
        for (i, (case, reference)) in cases.iter().zip(&references).enumerate() {
            let image = migrate_tile(&gpu, case.task(), &case.blocks).unwrap();
            let cmp = compare(reference, &image, Some(&borderline_mask(&case.task(), &case.blocks)));
            assert!(cmp.passes(REL_L2_TOLERANCE), "{what}, seed {}: {cmp}", case.seed);
            worst = worst.max(cmp.rel_l2);
            // How data reaches the device must not change a single bit of the image.
            if what == "defaults" {
                default_bits.push(bits(&image));
            } else {
                assert!(bits(&image) == default_bits[i], "{what}, seed {}: differs from the defaults", case.seed);
            }
        }
        eprintln!("gpu-v1 ({what}) vs cpu-ref on {}: worst relative L2 {worst:.3e}", gpu.device());
        let stats = gpu.take_stats();
        assert!(stats.tiles > 0 && stats.blocks >= stats.tiles, "{what}: {stats:?}");
    }
}

#[test]
fn gpu_v1_splits_blocks_and_matches_reference_on_long_records() {
    let Some(ctx) = common::gpu_context("gpu_v1_splits_blocks_and_matches_reference_on_long_records") else { return };
    // Blocks of 64 KiB: a few traces each, so every tile is several dispatches.
    let small =
        GpuV1Kernel::with_options(ctx, GpuV1Options { block_bytes: Some(64 << 10), ..Default::default() }).unwrap();
    for seed in 0..4 {
        let case = ParityCase::random_long(seed);
        let reference = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).unwrap();
        let image = migrate_tile(&small, case.task(), &case.blocks).unwrap();
        let cmp = compare(&reference, &image, Some(&borderline_mask(&case.task(), &case.blocks)));
        assert!(cmp.passes(REL_L2_TOLERANCE), "long records, seed {seed}: {cmp}");
    }
    let stats = small.take_stats();
    assert!(stats.blocks > 4 * stats.tiles, "blocks were split: {stats:?}");
}

#[test]
fn gpu_v1_session_matches_reference_with_each_velocity_path() {
    let Some(ctx) = common::gpu_context("gpu_v1_session_matches_reference_with_each_velocity_path") else { return };
    let s = survey(5, 9, 7, 900);
    let op = operator();
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
    let hardware_f32 = ctx.has_feature(pstm_gpu::wgpu::Features::FLOAT32_FILTERABLE);
    let d = GpuV1Options::default();
    for (name, model) in &models {
        let reference =
            run_session(&CpuRefKernel, setup(&s, model, &op, &pool, tile), works(&s, tile), &|_| true).unwrap();
        let mut exact = vec![
            ("defaults", d),
            ("texture", GpuV1Options { velocity: VelocityStorage::Texture, ..d }),
            ("buffer", GpuV1Options { velocity: VelocityStorage::Buffer, ..d }),
            ("overlap off, pool off", GpuV1Options { overlap: false, buffer_pool: false, ..d }),
        ];
        if *name != "cube" {
            exact.truncate(1);
        }
        let mut default_bits = None;
        for (what, options) in exact {
            let gpu = GpuV1Kernel::with_options(ctx.clone(), options).unwrap();
            let tiles = run_session(&gpu, setup(&s, model, &op, &pool, tile), works(&s, tile), &|_| true).unwrap();
            let worst = worst_error(&s, model, &op, &reference, &tiles, Fold::Equal);
            eprintln!("gpu-v1 session, {name} velocity, {what} ({}): worst relative L2 {worst:.3e}", gpu.device());
            assert!(worst < REL_L2_TOLERANCE, "{name} velocity, {what}: relative L2 {worst:e}");
            let b: Vec<_> = tiles.iter().map(|t| bits(&t.image)).collect();
            // Texture and buffer interpolate the same float32 values the same way.
            match &default_bits {
                None => default_bits = Some(b),
                Some(first) => assert!(&b == first, "{name} velocity, {what}: differs bitwise from the defaults"),
            }
        }
        if *name == "cube" {
            // The approximations, measured: half-precision texels and the sampler's weights.
            let mut approximate = vec![
                ("texture_f16", GpuV1Options { velocity: VelocityStorage::TextureF16, ..d }),
                (
                    "texture_f16, hardware filter",
                    GpuV1Options {
                        velocity: VelocityStorage::TextureF16,
                        velocity_filter: VelocityFilter::Hardware,
                        ..d
                    },
                ),
            ];
            if hardware_f32 {
                approximate.push((
                    "texture, hardware filter",
                    GpuV1Options { velocity: VelocityStorage::Texture, velocity_filter: VelocityFilter::Hardware, ..d },
                ));
            }
            for (what, options) in approximate {
                let gpu = GpuV1Kernel::with_options(ctx.clone(), options).unwrap();
                let tiles = run_session(&gpu, setup(&s, model, &op, &pool, tile), works(&s, tile), &|_| true).unwrap();
                let worst = worst_error(&s, model, &op, &reference, &tiles, Fold::Equal);
                eprintln!("gpu-v1 session, cube velocity, {what}: worst relative L2 {worst:.3e} (not exact by design)");
                // Still an image of the same data: errors of a percent, not garbage.
                assert!(worst < 5e-2, "{what}: relative L2 {worst:e}");
            }
        }
    }
}

#[test]
fn gpu_v1_session_reports_its_pipeline_figures() {
    let Some(ctx) = common::gpu_context("gpu_v1_session_reports_its_pipeline_figures") else { return };
    let s = survey(9, 8, 8, 600);
    let (op, pool, model) = (operator(), pool(), VelocityModel::constant(2400.0));
    let tile = [2, 2];
    let gpu =
        GpuV1Kernel::with_options(ctx, GpuV1Options { block_bytes: Some(100 << 10), ..Default::default() }).unwrap();
    run_session(&gpu, setup(&s, &model, &op, &pool, tile), works(&s, tile), &|_| true).unwrap();
    let t = gpu.take_timings();
    let metric = |name: &str| t.metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{name}")).value;
    assert!(t.device_s.is_some_and(|d| d > 0.0), "{t:?}");
    // 16 tiles, 600 traces in blocks of 128: 5 blocks each; 4 sets made once.
    assert_eq!(metric("blocks"), 80.0, "{t:?}");
    assert_eq!(metric("buffer_sets_created"), 4.0, "{t:?}");
    let hidden = metric("host_prep_hidden");
    assert!((0.0..=1.0).contains(&hidden), "{t:?}");
    assert!(metric("upload_fill_rate") > 0.0, "{t:?}");
    eprintln!("gpu-v1 pipeline figures: {:?}", t.metrics);
}

/// A trace store that fails on one trace, as a corrupt chunk would.
struct FailingStore<'a> {
    inner: &'a common::MemoryStore,
    bad: u32,
}

impl TraceStore for FailingStore<'_> {
    fn layout(&self) -> pstm_kernel::TraceLayout {
        self.inner.layout()
    }
    fn geometry(&self, trace: u32) -> pstm_math::TraceGeometry {
        self.inner.geometry(trace)
    }
    fn fill(&self, traces: &[u32], samples: &mut [f32]) -> Result<(), pstm_kernel::KernelError> {
        if traces.contains(&self.bad) {
            return Err(pstm_kernel::KernelError::Traces(format!("trace {}: checksum mismatch", self.bad)));
        }
        self.inner.fill(traces, samples)
    }
}

#[test]
fn gpu_v1_session_reports_an_error_inside_the_pipeline_and_shuts_down() {
    let Some(ctx) = common::gpu_context("gpu_v1_session_reports_an_error_inside_the_pipeline_and_shuts_down") else {
        return;
    };
    let s = survey(4, 8, 6, 400);
    let (op, pool, model) = (operator(), pool(), VelocityModel::constant(2400.0));
    let tile = [2, 2];
    // Blocks of 50 traces: the failing trace sits in a late block of every tile, after earlier
    // blocks are in flight on the device.
    let gpu =
        GpuV1Kernel::with_options(ctx, GpuV1Options { block_bytes: Some(50 * 200 * 4), ..Default::default() }).unwrap();
    let failing = FailingStore { inner: &s.store, bad: 333 };
    let mut job = setup(&s, &model, &op, &pool, tile);
    job.traces = &failing;
    let e = run_session(&gpu, job, works(&s, tile), &|_| true).unwrap_err();
    assert!(e.to_string().contains("trace 333: checksum mismatch"), "{e}");
    // The kernel still works for the next job.
    run_session(&gpu, setup(&s, &model, &op, &pool, tile), works(&s, tile), &|_| true).unwrap();
}

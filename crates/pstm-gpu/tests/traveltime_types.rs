//! Curved-ray and VTI traveltimes in every GPU kernel (gpu-v0, gpu-v1, gpu-v2, gpu-v3) and their
//! CPU twins, against the float64 reference `cpu-ref` on random cases: 40 parity cases that draw
//! a curved ray (random gradient, `v0` given or taken from the RMS velocity) or VTI (random eta
//! per velocity column, varying in time), and sessions with an eta cube (each tile's own eta). GPU parts run on the device this machine has (Mesa lavapipe in
//! CI); skipped without an adapter unless `PSTM_REQUIRE_GPU=1`, the twins always run.

mod common;

use std::collections::BTreeMap;

use common::run_session;
use common::survey::{Fold, operator, pool, setup, survey, worst_error};
use pstm_gpu::gpu_v3::{self, GpuV3Options};
use pstm_gpu::{CpuTwinV0Kernel, GpuV0Kernel, GpuV1Kernel, GpuV2Kernel, GpuV2Options};
use pstm_kernel::parity::{ParityCase, REL_L2_TOLERANCE, borderline_mask, compare};
use pstm_kernel::{CpuRefKernel, MigrationKernel, TileImage, migrate_tile};
use pstm_math::velocity::VelocityCube;
use pstm_math::{Eta, Gradient, Traveltime, VelocityFunction, VelocityModel, VelocityType};

const SEEDS: usize = 40;

/// The first `n` parity cases that draw a curved ray or VTI (`ParityCase::random` draws a
/// curved ray with a random gradient, its `v0` given in a third of them, or VTI with a random eta
/// per velocity column, in half its cases), each with what it draws.
fn cases(n: usize) -> impl Iterator<Item = (&'static str, ParityCase)> {
    (0..).map(ParityCase::random).filter(|c| c.operator.traveltime != Traveltime::StraightRay).take(n).map(|c| {
        let what = match (c.operator.traveltime, c.operator.gradient) {
            (Traveltime::Vti, _) => "vti",
            (_, Some(Gradient { v0: Some(_), .. })) => "curved ray, v0 given",
            _ => "curved ray",
        };
        (what, c)
    })
}

/// Worst relative L2 per traveltime type.
#[derive(Default)]
struct Worst(BTreeMap<&'static str, f64>);

impl Worst {
    fn add(&mut self, what: &'static str, rel_l2: f64) {
        let w = self.0.entry(what).or_insert(0.0);
        *w = w.max(rel_l2);
    }

    fn report(&self, what: &str) {
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} {v:.3e}")).collect();
        eprintln!("{what}: worst relative L2: {}", parts.join(", "));
    }
}

/// `migrate` on every case against cpu-ref: within the parity tolerance outside the borderline
/// samples, fold identical there, nothing non-finite.
fn check(kernel: &str, migrate: &dyn Fn(&ParityCase) -> TileImage) {
    let mut worst = Worst::default();
    for (what, case) in cases(SEEDS) {
        let seed = case.seed;
        let reference = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).unwrap();
        let image = migrate(&case);
        let cmp = compare(&reference, &image, Some(&borderline_mask(&case.task(), &case.blocks)));
        assert!(cmp.passes(REL_L2_TOLERANCE), "{kernel}, {what}, seed {seed}: {cmp}");
        worst.add(what, cmp.rel_l2);
    }
    worst.report(&format!("{kernel} vs cpu-ref, {SEEDS} cases"));
}

#[test]
fn twins_match_reference_with_curved_rays_and_vti() {
    let v0 = CpuTwinV0Kernel::default();
    check("gpu-v0 twin", &|c| migrate_tile(&v0, c.task(), &c.blocks).unwrap());
    check("gpu-v1 twin", &|c| pstm_gpu::cpu::migrate_v1::migrate_tile(&c.task(), &c.blocks));
    let shape = pstm_gpu::Shape { workgroup_size: 64, samples_per_invocation: 2 };
    for subgroups in [true, false] {
        check(if subgroups { "gpu-v2 twin (subgroups)" } else { "gpu-v2 twin (no subgroups)" }, &|c| {
            pstm_gpu::cpu::migrate_v2::migrate_tile(&c.task(), &c.blocks, shape, subgroups)
        });
    }
}

#[test]
fn gpu_kernels_match_reference_with_curved_rays_and_vti() {
    let Some(ctx) = common::gpu_context("gpu_kernels_match_reference_with_curved_rays_and_vti") else { return };
    let v0 = GpuV0Kernel::new(ctx.clone()).unwrap();
    check("gpu-v0", &|c| migrate_tile(&v0, c.task(), &c.blocks).unwrap());
    let v1 = GpuV1Kernel::new(ctx.clone()).unwrap();
    check("gpu-v1", &|c| migrate_tile(&v1, c.task(), &c.blocks).unwrap());
    let v2 = GpuV2Kernel::new(ctx.clone()).unwrap();
    check("gpu-v2", &|c| migrate_tile(&v2, c.task(), &c.blocks).unwrap());
    let no_subgroups =
        GpuV2Kernel::with_options(ctx.clone(), GpuV2Options { subgroups: false, ..Default::default() }).unwrap();
    check("gpu-v2 (no subgroups)", &|c| migrate_tile(&no_subgroups, c.task(), &c.blocks).unwrap());
    // gpu-v3 with its traveltime table asked for: the table is straight-ray only, so these
    // traveltimes compute their legs as gpu-v2 does.
    let v3 = gpu_v3::create(ctx.clone(), GpuV3Options { traveltime_table: true, ..Default::default() }).unwrap();
    check("gpu-v3 (tables asked for)", &|c| migrate_tile(&v3, c.task(), &c.blocks).unwrap());
    let description = v3.device();
    assert!(description.contains("no traveltime table for a curved-ray or VTI traveltime"), "{description}");
}

#[test]
fn gpu_v2_matches_its_twin_with_curved_rays_and_vti() {
    let Some(ctx) = common::gpu_context("gpu_v2_matches_its_twin_with_curved_rays_and_vti") else { return };
    let gpu = GpuV2Kernel::new(ctx.clone()).unwrap();
    let mut worst = Worst::default();
    for (what, case) in cases(12) {
        let seed = case.seed;
        let image = migrate_tile(&gpu, case.task(), &case.blocks).unwrap();
        let twin = pstm_gpu::cpu::migrate_v2::migrate_tile(&case.task(), &case.blocks, gpu.shape(), true);
        let cmp = compare(&twin, &image, Some(&borderline_mask(&case.task(), &case.blocks)));
        assert!(cmp.passes(REL_L2_TOLERANCE / 4.0), "{what}, seed {seed}: {cmp}");
        worst.add(what, cmp.rel_l2);
    }
    worst.report("gpu-v2 vs its CPU twin, 12 cases");
}

#[test]
fn kernels_refuse_a_curved_ray_without_gradient_and_vti_without_eta() {
    let mut case = ParityCase::random(3);
    case.operator.traveltime = Traveltime::CurvedRay;
    let refused = |k: &dyn MigrationKernel, c: &ParityCase| {
        let e = k.begin_tile(c.task()).err().unwrap_or_else(|| panic!("{} took it", k.name()));
        assert!(e.to_string().contains("algorithm.traveltime"), "{e}");
    };
    refused(&CpuTwinV0Kernel::default(), &case);
    let mut vti = ParityCase::random(3);
    vti.operator.traveltime = Traveltime::Vti;
    refused(&CpuTwinV0Kernel::default(), &vti);
    let Some(ctx) = common::gpu_context("kernels_refuse_a_curved_ray_without_gradient_and_vti_without_eta") else {
        return;
    };
    let kernels: Vec<Box<dyn MigrationKernel>> = vec![
        Box::new(GpuV0Kernel::new(ctx.clone()).unwrap()),
        Box::new(GpuV1Kernel::new(ctx.clone()).unwrap()),
        Box::new(GpuV2Kernel::new(ctx.clone()).unwrap()),
        Box::new(gpu_v3::create(ctx.clone(), GpuV3Options::default()).unwrap()),
    ];
    for k in &kernels {
        refused(k.as_ref(), &case);
        refused(k.as_ref(), &vti);
    }
}

/// An eta cube over the survey, varying laterally and in time.
fn eta_cube(grid: &pstm_math::OutputGrid) -> Eta {
    let (nx, ny, nt) = (5, 4, 6);
    let mut data = Vec::with_capacity(nx * ny * nt);
    for ix in 0..nx {
        for iy in 0..ny {
            for it in 0..nt {
                data.push((0.12 + 0.1 * (ix as f64 * 0.8).sin() * (iy as f64 * 1.1).cos() + 0.02 * it as f64) as f32);
            }
        }
    }
    Eta::Cube(VelocityCube {
        x0: grid.origin_x - 50.0,
        dx: grid.nx as f64 * 25.0 / 3.0,
        nx,
        y0: grid.origin_y - 40.0,
        dy: grid.ny as f64 * 25.0 / 2.0,
        ny,
        t0: 0.0,
        dt: 0.1,
        nt,
        data,
    })
}

/// The sessions (the engine's path: the job's model on the device, eta per job or per tile)
/// of gpu-v1, gpu-v2 and gpu-v3 against cpu-ref's.
#[test]
fn sessions_match_reference_with_curved_rays_and_vti() {
    let Some(ctx) = common::gpu_context("sessions_match_reference_with_curved_rays_and_vti") else { return };
    let s = survey(17, 9, 7, 900);
    let pool = pool();
    let tile = [4, 3];
    let vt = || VelocityModel::new(VelocityFunction::Linear { v0: 1800.0, k: 900.0 }, VelocityType::Interval).unwrap();
    let curved = pstm_math::ImagingOperator {
        traveltime: Traveltime::CurvedRay,
        gradient: Some(Gradient { k: 0.6, v0: None }),
        ..operator()
    };
    let curved_v0 = pstm_math::ImagingOperator { gradient: Some(Gradient { k: 0.6, v0: Some(1800.0) }), ..curved };
    let vti = pstm_math::ImagingOperator { traveltime: Traveltime::Vti, ..operator() };
    let cases = [
        ("curved ray, v(t)", curved, vt()),
        ("curved ray, v0 given", curved_v0, vt()),
        ("vti, eta table", vti, vt().with_eta(Eta::Table { times: vec![0.0, 1.0], values: vec![0.05, 0.2] }).unwrap()),
        ("vti, eta cube", vti, vt().with_eta(eta_cube(&s.grid)).unwrap()),
    ];
    let kernels: Vec<(&str, Box<dyn MigrationKernel>)> = vec![
        ("gpu-v1", Box::new(GpuV1Kernel::new(ctx.clone()).unwrap())),
        ("gpu-v2", Box::new(GpuV2Kernel::new(ctx.clone()).unwrap())),
        ("gpu-v3", Box::new(gpu_v3::create(ctx.clone(), GpuV3Options::default()).unwrap())),
    ];
    for (what, op, model) in &cases {
        let works = || common::survey::works(&s, tile);
        let reference = run_session(&CpuRefKernel, setup(&s, model, op, &pool, tile), works(), &|_| true).unwrap();
        for (name, kernel) in &kernels {
            let got = run_session(kernel.as_ref(), setup(&s, model, op, &pool, tile), works(), &|_| true).unwrap();
            let worst = worst_error(&s, model, op, &reference, &got, Fold::Equal);
            eprintln!("{name} session, {what}: worst relative L2 against cpu-ref {worst:.3e}");
            assert!(worst <= REL_L2_TOLERANCE, "{name}, {what}: relative L2 {worst}");
        }
    }
}

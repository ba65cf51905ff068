//! Every way of reading a trace (linear, cubic and sinc8 interpolation, each without
//! antialiasing and with the `weight` method, and the triangle filter) in every GPU kernel
//! (gpu-v0, gpu-v1, gpu-v2 with and without subgroups and pairs, gpu-v3's persistent grid and
//! traveltime tables) and their CPU twins, against the float64 reference `cpu-ref`: parity cases
//! of each traveltime type, each forced to each of the seven combinations. Prints the worst
//! relative L2 of each kernel and combination. GPU parts run on the device this machine has
//! (Mesa lavapipe in CI); skipped without an adapter unless `PSTM_REQUIRE_GPU=1`, the twins
//! always run.

mod common;

use std::collections::BTreeMap;

use pstm_gpu::gpu_v3::{self, GpuV3Options};
use pstm_gpu::{CpuTwinV0Kernel, GpuV0Kernel, GpuV1Kernel, GpuV2Kernel, GpuV2Options, Shape};
use pstm_kernel::parity::{ParityCase, READINGS as COMBINATIONS, REL_L2_TOLERANCE, borderline_mask, compare};
use pstm_kernel::{CpuRefKernel, TileImage, migrate_tile};
use pstm_math::{AntialiasMethod, Interpolation, Traveltime};

fn label((interpolation, method): (Interpolation, AntialiasMethod)) -> String {
    format!("{interpolation:?}/{method:?}").to_lowercase()
}

/// Parity cases, none drawn with the triangle (their traces are the plain ones): the first
/// straight ray with one velocity column (gpu-v3's tables apply to it), the first curved ray,
/// the first VTI, and one more straight ray.
fn base_cases() -> Vec<ParityCase> {
    let plain =
        || (0..).map(ParityCase::random).filter(|c| c.operator.antialiasing.method != AntialiasMethod::Triangle);
    let first = |f: &dyn Fn(&ParityCase) -> bool| plain().find(|c| f(c)).unwrap();
    let straight = |c: &ParityCase| c.operator.traveltime == Traveltime::StraightRay;
    vec![
        first(&|c| straight(c) && c.velocity.n_columns == 1),
        first(&|c| c.operator.traveltime == Traveltime::CurvedRay),
        first(&|c| c.operator.traveltime == Traveltime::Vti),
        first(&|c| straight(c) && c.velocity.n_columns > 1),
    ]
}

/// `base` forced to read with `combination`: the triangle's traces doubly integrated, as a trace
/// store serves them.
fn forced(base: &ParityCase, (interpolation, method): (Interpolation, AntialiasMethod)) -> ParityCase {
    let mut case = base.clone();
    case.operator.interpolation = interpolation;
    case.operator.antialiasing.method = method;
    if method == AntialiasMethod::Triangle {
        for block in &mut case.blocks {
            pstm_math::antialias::prepare_traces(&case.operator.antialiasing, &mut block.samples, block.n_samples);
        }
    }
    case
}

/// Every case of every combination, with its reference image and borderline mask.
struct Cases {
    items: Vec<(usize, ParityCase, TileImage, Vec<bool>)>,
}

impl Cases {
    fn new() -> Self {
        let bases = base_cases();
        let mut items = Vec::new();
        for (combination, &c) in COMBINATIONS.iter().enumerate() {
            for base in &bases {
                let case = forced(base, c);
                let reference = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).unwrap();
                let mask = borderline_mask(&case.task(), &case.blocks);
                items.push((combination, case, reference, mask));
            }
        }
        Self { items }
    }

    /// `migrate` on every case (with its index): the worst relative L2 per combination, printed,
    /// each held to `tolerance` (with folds equal where `folds`). Returns the images.
    fn check(
        &self,
        kernel: &str,
        tolerance: f64,
        folds: bool,
        migrate: &dyn Fn(usize, &ParityCase) -> TileImage,
    ) -> Vec<TileImage> {
        let started = std::time::Instant::now();
        let mut worst: BTreeMap<usize, f64> = BTreeMap::new();
        let mut images = Vec::new();
        for (i, (combination, case, reference, mask)) in self.items.iter().enumerate() {
            let image = migrate(i, case);
            let cmp = compare(reference, &image, Some(mask));
            let what = label(COMBINATIONS[*combination]);
            let ok = if folds { cmp.passes(tolerance) } else { cmp.non_finite == 0 && cmp.rel_l2 <= tolerance };
            assert!(ok, "{kernel}, {what}, {:?} seed {}: {cmp}", case.operator.traveltime, case.seed);
            let w = worst.entry(*combination).or_default();
            *w = w.max(cmp.rel_l2);
            images.push(image);
        }
        let table: Vec<String> = worst.iter().map(|(c, w)| format!("{} {w:.2e}", label(COMBINATIONS[*c]))).collect();
        eprintln!(
            "{kernel} vs cpu-ref ({:.1} s), worst relative L2: {}",
            started.elapsed().as_secs_f64(),
            table.join(", ")
        );
        images
    }
}

#[test]
fn twins_read_every_way_as_the_reference() {
    let cases = Cases::new();
    // The readings differ: each combination's reference image lies far outside the tolerance of
    // linear without antialiasing (the case's first combination).
    let n_bases = cases.items.len() / COMBINATIONS.len();
    for (combination, case, reference, mask) in &cases.items[n_bases..] {
        let (_, _, linear, _) = &cases.items[cases.items.iter().position(|i| i.1.seed == case.seed).unwrap()];
        let cmp = compare(linear, reference, Some(mask));
        let what = label(COMBINATIONS[*combination]);
        assert!(cmp.rel_l2 > 100.0 * REL_L2_TOLERANCE, "{what}, seed {}: only {cmp} from linear", case.seed);
    }
    let v0 = CpuTwinV0Kernel::default();
    cases.check("gpu-v0 twin", REL_L2_TOLERANCE, true, &|_, c| migrate_tile(&v0, c.task(), &c.blocks).unwrap());
    cases.check("gpu-v1 twin", REL_L2_TOLERANCE, true, &|_, c| {
        pstm_gpu::cpu::migrate_v1::migrate_tile(&c.task(), &c.blocks)
    });
    let shape = Shape { workgroup_size: 64, samples_per_invocation: 2 };
    cases.check("gpu-v2 twin", REL_L2_TOLERANCE, true, &|_, c| {
        pstm_gpu::cpu::migrate_v2::migrate_tile(&c.task(), &c.blocks, shape, true)
    });
}

#[test]
fn gpu_kernels_read_every_way_as_the_reference() {
    let Some(ctx) = common::gpu_context("gpu_kernels_read_every_way_as_the_reference") else { return };
    let cases = Cases::new();
    let v0 = GpuV0Kernel::new(ctx.clone()).unwrap();
    cases.check("gpu-v0", REL_L2_TOLERANCE, true, &|_, c| migrate_tile(&v0, c.task(), &c.blocks).unwrap());
    let v1 = GpuV1Kernel::new(ctx.clone()).unwrap();
    cases.check("gpu-v1", REL_L2_TOLERANCE, true, &|_, c| migrate_tile(&v1, c.task(), &c.blocks).unwrap());
    let v2 = GpuV2Kernel::new(ctx.clone()).unwrap();
    let defaults =
        cases.check("gpu-v2", REL_L2_TOLERANCE, true, &|_, c| migrate_tile(&v2, c.task(), &c.blocks).unwrap());
    // Neither subgroups nor pairs change a bit of the image, whatever the reading.
    let plain = GpuV2Kernel::with_options(
        ctx.clone(),
        GpuV2Options { subgroups: false, trace_pairs: false, ..Default::default() },
    )
    .unwrap();
    let bits = |i: &TileImage| (i.image.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), i.fold.clone());
    cases.check("gpu-v2 (no subgroups, no pairs)", REL_L2_TOLERANCE, true, &|i, c| {
        let image = migrate_tile(&plain, c.task(), &c.blocks).unwrap();
        assert!(bits(&image) == bits(&defaults[i]), "seed {}: differs from gpu-v2's defaults", c.seed);
        image
    });
    let persistent = gpu_v3::create(ctx.clone(), GpuV3Options { persistent: true, ..Default::default() }).unwrap();
    cases.check("gpu-v3 (persistent)", REL_L2_TOLERANCE, true, &|_, c| {
        migrate_tile(&persistent, c.task(), &c.blocks).unwrap()
    });
    // The tables' legs err by up to 0.002 samples (`TABLE_TOLERANCE_SAMPLES`): gpu-v3's own
    // tolerance for them, folds unchecked (a position that close to a trace end may fall either
    // side). The straight ray with one velocity column reads them.
    let tables = gpu_v3::create(ctx.clone(), GpuV3Options { traveltime_table: true, ..Default::default() }).unwrap();
    cases.check("gpu-v3 (tables)", 1e-3, false, &|_, c| migrate_tile(&tables, c.task(), &c.blocks).unwrap());
}

#[test]
fn gpu_v2_reads_every_way_as_its_twin() {
    let Some(ctx) = common::gpu_context("gpu_v2_reads_every_way_as_its_twin") else { return };
    let gpu = GpuV2Kernel::new(ctx.clone()).unwrap();
    let bases = base_cases();
    let mut worst = 0.0f64;
    for &combination in &COMBINATIONS[1..] {
        for base in &bases[..2] {
            let case = forced(base, combination);
            let image = migrate_tile(&gpu, case.task(), &case.blocks).unwrap();
            let twin = pstm_gpu::cpu::migrate_v2::migrate_tile(&case.task(), &case.blocks, gpu.shape(), true);
            let cmp = compare(&twin, &image, Some(&borderline_mask(&case.task(), &case.blocks)));
            assert!(cmp.passes(REL_L2_TOLERANCE / 4.0), "{}, seed {}: {cmp}", label(combination), case.seed);
            worst = worst.max(cmp.rel_l2);
        }
    }
    eprintln!("gpu-v2 vs its CPU twin, every reading: worst relative L2 {worst:.2e}");
}

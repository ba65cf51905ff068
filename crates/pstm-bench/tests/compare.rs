//! `pstm compare` as a library: a deliberately broken kernel fails for the right reason, and a
//! correct one passes, through the same function the command calls.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use pstm_bench::compare::{PARITY_RTOL, Tolerance, run};
use pstm_kernel::{
    CpuKernel, CpuRefKernel, KernelError, MigrationKernel, TileImage, TileMigration, TileTask, TraceBlock,
};

/// What the wrapper does to each tile's image after the real kernel wrote it.
#[derive(Clone, Copy)]
enum Fault {
    /// Scale the largest sample of every tile: a wrong weight somewhere.
    ScaleLargest(f32),
    /// Leave the first sample of every tile unwritten (as poisoned).
    Unwritten,
    /// Add one to the fold of the first non-zero-fold sample of every tile.
    FoldPlusOne,
    /// Scale the largest sample by 1 + 1e-3 from the second run on: a race.
    DifferentOnRepeat,
}

/// A test-only kernel: the reference kernel with one fault added to its output.
struct Faulty {
    inner: CpuRefKernel,
    fault: Fault,
    /// Runs seen so far (tiles are counted per run through `begin_tile` of the first tile).
    tiles_begun: AtomicUsize,
    tiles_per_run: usize,
}

impl Faulty {
    fn new(fault: Fault, tiles_per_run: usize) -> Self {
        Self { inner: CpuRefKernel, fault, tiles_begun: AtomicUsize::new(0), tiles_per_run }
    }
}

struct FaultyTile<'a> {
    inner: Box<dyn TileMigration + 'a>,
    fault: Fault,
    run: usize,
}

impl MigrationKernel for Faulty {
    fn name(&self) -> &'static str {
        "faulty"
    }
    fn device(&self) -> String {
        "test".into()
    }
    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError> {
        let run = self.tiles_begun.fetch_add(1, Ordering::Relaxed) / self.tiles_per_run.max(1);
        Ok(Box::new(FaultyTile { inner: self.inner.begin_tile(task)?, fault: self.fault, run }))
    }
    fn concurrent_tiles(&self) -> usize {
        self.inner.concurrent_tiles()
    }
    fn bytes_per_output_sample(&self) -> usize {
        self.inner.bytes_per_output_sample()
    }
    fn cost_model(&self) -> pstm_kernel::CostModel {
        self.inner.cost_model()
    }
}

impl TileMigration for FaultyTile<'_> {
    fn add_traces(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        self.inner.add_traces(block)
    }
    fn finish(self: Box<Self>, out: &mut TileImage) -> Result<(), KernelError> {
        self.inner.finish(out)?;
        let largest = || out.image.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).map(|(i, _)| i);
        match self.fault {
            Fault::ScaleLargest(f) => {
                if let Some(i) = largest() {
                    out.image[i] *= f;
                }
            }
            Fault::Unwritten => {
                out.image[0] = f32::NAN;
                out.fold[0] = u32::MAX;
            }
            Fault::FoldPlusOne => {
                if let Some(i) = out.fold.iter().position(|&f| f > 0) {
                    out.fold[i] += 1;
                }
            }
            Fault::DifferentOnRepeat => {
                if self.run > 0
                    && let Some(i) = largest()
                {
                    out.image[i] *= 1.0 + 1e-3;
                }
            }
        }
        Ok(())
    }
}

/// Tiles the executor cuts the job into for the reference kernel.
fn tiles(job: &pstm_engine::MigrationJob) -> usize {
    pstm_engine::executor::plan_only(job, &CpuRefKernel).unwrap().tiles.len()
}

#[test]
fn a_scaled_sample_fails_on_relative_l2_and_the_reference_passes_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (_, job) = common::job(dir.path());
    let same = run(&job, "survey", &CpuRefKernel, &CpuRefKernel, Tolerance::default(), 2).unwrap();
    assert!(same.passed(), "{same}");
    assert_eq!(same.comparison.rel_l2, 0.0);
    assert!(same.repeat.unwrap().all_identical());
    assert!(same.to_string().ends_with("PASS"), "{same}");

    let faulty = Faulty::new(Fault::ScaleLargest(1.05), tiles(&job));
    let bad = run(&job, "survey", &CpuRefKernel, &faulty, Tolerance::default(), 1).unwrap();
    assert!(!bad.passed());
    assert!(bad.comparison.rel_l2 > PARITY_RTOL && bad.comparison.max_abs > 0.0, "{bad}");
    assert!(bad.failures.iter().any(|f| f.contains("relative L2")), "{:?}", bad.failures);
    assert!(bad.to_string().contains("FAIL: relative L2"), "{bad}");
}

#[test]
fn atol_catches_what_a_loose_rtol_lets_through() {
    let dir = tempfile::tempdir().unwrap();
    let (_, job) = common::job(dir.path());
    let faulty = Faulty::new(Fault::ScaleLargest(1.05), tiles(&job));
    let loose = Tolerance { rtol: 1.0, atol: None };
    assert!(run(&job, "survey", &CpuRefKernel, &faulty, loose, 1).unwrap().passed());
    let with_atol = Tolerance { rtol: 1.0, atol: Some(1e-12) };
    let out = run(&job, "survey", &CpuRefKernel, &faulty, with_atol, 1).unwrap();
    assert!(out.failures.iter().any(|f| f.contains("atol")), "{out}");
}

#[test]
fn unwritten_samples_and_wrong_fold_fail_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (_, job) = common::job(dir.path());
    let n = tiles(&job);
    let unwritten =
        run(&job, "survey", &CpuRefKernel, &Faulty::new(Fault::Unwritten, n), Tolerance::default(), 1).unwrap();
    assert_eq!(unwritten.comparison.non_finite, 2 * n, "NaN image and poisoned fold per tile: {unwritten}");
    assert!(unwritten.failures.iter().any(|f| f.contains("never written")), "{unwritten}");
    let fold =
        run(&job, "survey", &CpuRefKernel, &Faulty::new(Fault::FoldPlusOne, n), Tolerance::default(), 1).unwrap();
    assert!(fold.comparison.fold_mismatches > 0 && fold.comparison.rel_l2 == 0.0, "{fold}");
    assert!(fold.failures.iter().any(|f| f.contains("fold differs")), "{fold}");
}

#[test]
fn repeated_runs_that_differ_fail_the_race_check() {
    let dir = tempfile::tempdir().unwrap();
    let (_, job) = common::job(dir.path());
    let racy = Faulty::new(Fault::DifferentOnRepeat, tiles(&job));
    // The compared first run is exact, so only the repeat check can fail.
    let out = run(&job, "survey", &CpuRefKernel, &racy, Tolerance::default(), 3).unwrap();
    let r = out.repeat.unwrap();
    assert_eq!((r.runs, r.identical), (3, 0), "{out}");
    assert!(r.max_abs_diff > 0.0);
    assert_eq!(out.failures.len(), 1, "{out}");
    assert!(out.failures[0].contains("2 of 2 repeated candidate runs differ"), "{out}");
}

#[test]
fn the_simd_kernel_passes_parity_on_a_whole_job() {
    let dir = tempfile::tempdir().unwrap();
    let (_, job) = common::job(dir.path());
    let out = run(&job, "survey", &CpuRefKernel, &CpuKernel::new(), Tolerance::default(), 2).unwrap();
    assert!(out.passed(), "{out}");
    assert!(out.comparison.rel_l2 > 0.0 && out.comparison.rel_l2 < PARITY_RTOL, "{out}");
    assert!(out.repeat.unwrap().all_identical(), "{out}");
}

#[test]
fn zero_repeats_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, job) = common::job(dir.path());
    let e = run(&job, "survey", &CpuRefKernel, &CpuRefKernel, Tolerance::default(), 0).unwrap_err();
    assert!(e.to_string().contains("--repeat"), "{e}");
}

#[test]
fn the_grid_mask_is_the_tile_mask_of_the_whole_grid() {
    let dir = tempfile::tempdir().unwrap();
    let (_, job) = common::job(dir.path());
    let grid = &job.grid;
    // One tile holding the whole grid, with every trace: its columns are in grid order.
    let tile = grid.full_tile();
    let columns = grid.tile_columns(&tile);
    let velocity = job.velocity.sample(&columns, &grid.time).unwrap();
    let layout = job.dataset.layout();
    let headers = job.dataset.headers();
    let block = TraceBlock {
        n_samples: layout.n_samples,
        dt_s: layout.dt_s(),
        t_start_s: layout.t_start_s(),
        samples: Vec::new(),
        geometry: job.selected.iter().map(|&t| headers.geometry(t as usize)).collect(),
    };
    let task = TileTask { columns: &columns, time: grid.time, velocity: &velocity, operator: &job.operator };
    let expect = pstm_kernel::parity::borderline_mask(&task, &[block]);
    assert!(expect.iter().any(|&m| m), "the survey has borderline samples to find");
    assert_eq!(pstm_engine::check::borderline_mask(&job).unwrap(), expect);
}

/// A GPU kernel by name, or `None` (after a notice) without an adapter unless
/// `PSTM_REQUIRE_GPU=1`, when that fails the test.
fn gpu_kernel(spec: &str) -> Option<Box<dyn MigrationKernel>> {
    match pstm_engine::create_kernel(spec, &Default::default()) {
        Ok(k) => Some(k),
        Err(e) => {
            let required = std::env::var("PSTM_REQUIRE_GPU").is_ok_and(|v| v == "1");
            assert!(!required, "PSTM_REQUIRE_GPU=1 but {spec} cannot run: {e}");
            eprintln!("SKIPPED: no GPU adapter ({e})");
            None
        }
    }
}

/// The GPU kernels through the whole engine (plan, session, pipeline) on the device this machine
/// has, gpu-v1 also with each of its switches off, gpu-v2 also without subgroups and pairs;
/// skipped without one unless `PSTM_REQUIRE_GPU=1`.
#[test]
fn the_gpu_kernels_pass_parity_on_a_whole_job() {
    let dir = tempfile::tempdir().unwrap();
    let (_, job) = common::job(dir.path());
    for spec in [
        "gpu-v0",
        "gpu-v1",
        "gpu-v1:overlap=off:buffer_pool=off:upload=write_buffer",
        "gpu-v2",
        "gpu-v2:subgroups=off:trace_pairs=off",
    ] {
        let Some(gpu) = gpu_kernel(spec) else { return };
        let out = run(&job, "survey", &CpuRefKernel, gpu.as_ref(), Tolerance::default(), 2).unwrap();
        assert!(out.passed(), "{spec}: {out}");
        assert!(out.repeat.unwrap().all_identical(), "{spec}: {out}");
    }
}

/// gpu-v1 and gpu-v2 on a laterally varying velocity cube (the texture and buffer paths) through
/// the whole engine, against cpu-ref; skipped without a GPU unless `PSTM_REQUIRE_GPU=1`.
#[test]
fn gpu_v1_and_v2_pass_parity_with_a_3d_velocity_cube() {
    let dir = tempfile::tempdir().unwrap();
    let d = common::survey(dir.path());
    // 2200 to 2800 m/s across the survey, rising with time, on a coarse cube.
    let (nx, ny, nt) = (5, 4, 6);
    let mut data = Vec::new();
    for ix in 0..nx {
        for iy in 0..ny {
            for it in 0..nt {
                data.push((2200.0 + 150.0 * ix as f64 - 60.0 * iy as f64 + 120.0 * it as f64) as f32);
            }
        }
    }
    let cube = pstm_math::velocity::VelocityCube {
        x0: -20.0,
        dx: 80.0,
        nx,
        y0: -30.0,
        dy: 100.0,
        ny,
        t0: 0.0,
        dt: 0.12,
        nt,
        data,
    };
    let cube_path = dir.path().join("v.zarr");
    pstm_io::velocity_cube::write(&cube_path, &cube).unwrap();
    let mut config: pstm_config::JobConfig = pstm_config::from_yaml_str(pstm_bench::dataset::BENCH_JOB).unwrap();
    config.input.dataset = d.path.clone();
    config.velocity.constant = None;
    config.velocity.cube = Some(cube_path);
    let job = pstm_engine::MigrationJob::from_config(config).unwrap();
    assert!(!job.velocity.is_laterally_invariant());
    for spec in ["gpu-v1", "gpu-v1:velocity=buffer", "gpu-v2", "gpu-v2:velocity=buffer"] {
        let Some(gpu) = gpu_kernel(spec) else { return };
        let out = run(&job, "survey", &CpuRefKernel, gpu.as_ref(), Tolerance::default(), 2).unwrap();
        assert!(out.passed(), "{spec}: {out}");
        assert!(gpu.device().contains("velocity cube"), "{}", gpu.device());
    }
}

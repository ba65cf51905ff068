//! The executor's promises: fold is an exact count, results do not depend on tiling, threads or
//! whether traces stream from disk, and gathers add up to the stack.

mod common;

use common::*;
use pstm_engine::plan::plan;
use pstm_kernel::TileTask;
use pstm_kernel::parity::count_fold;

const ALGORITHM: &str = "{aperture: {mode: dip, max_m: 400, min_m: 60, max_dip_deg: 50}, taper: {kind: linear, fraction: 0.2}, prefilter: derivative}";
const GRID: &str = "{dx: 20, dy: 30, rotation_deg: 15, t_min_ms: 100, dt_ms: 4}";

#[test]
fn fold_equals_an_independent_count() {
    let dir = tempfile::tempdir().unwrap();
    let ds = diffractor_and_reflector_survey(dir.path());
    let job = job(&ds, "{constant: 2200}", ALGORITHM, GRID, "{tile: [4, 3]}");
    let v = run(&job, "cpu-ref");
    let g = &job.grid;
    // Every trace, in one block, straight from the dataset: no index, no tiles.
    let all: Vec<u32> = (0..job.dataset.layout().n_traces as u32).collect();
    let block = pstm_kernel::TraceStore::block(&pstm_engine::store::JobTraces::new(&job, true).unwrap(), &all).unwrap();
    for (ix, iy) in [(0, 0), (3, 7), (g.nx / 2, g.ny / 2), (g.nx - 1, g.ny - 1), (g.nx - 2, 1)] {
        let columns = [{
            let (x, y) = g.column_xy(ix, iy);
            [x, y]
        }];
        let velocity = job.velocity.sample(&columns, &g.time).unwrap();
        let task = TileTask { columns: &columns, time: g.time, velocity: &velocity, operator: &job.operator };
        let count = count_fold(&task, std::slice::from_ref(&block));
        let nt = g.time.nt;
        let c = ix * g.ny + iy;
        assert_eq!(&v.fold[c * nt..(c + 1) * nt], &count[..], "column ({ix}, {iy})");
    }
    assert!(v.fold.iter().any(|&f| f > 0));
}

#[test]
fn results_do_not_depend_on_tiles_threads_or_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let ds = diffractor_and_reflector_survey(dir.path());
    let a = job(&ds, "{constant: 2200}", ALGORITHM, GRID, "{tile: [3, 2], threads: 1}");
    let b = job(&ds, "{constant: 2200}", ALGORITHM, GRID, "{tile: [7, 5], threads: 2, trace_block: 37}");
    // A budget too small for the survey's samples: traces stream from disk block by block.
    let c = job(&ds, "{constant: 2200}", ALGORITHM, GRID, "{max_memory_gb: 0.003, trace_block: 100}");
    let k = pstm_engine::create_kernel("cpu-ref", &Default::default()).unwrap();
    assert!(plan(&a, k.as_ref()).unwrap().traces_in_memory);
    assert!(!plan(&c, k.as_ref()).unwrap().traces_in_memory, "the small budget should stream");
    // The job's thread count is the kernels' too: they run inside its pool.
    let (_, summary) = pstm_engine::executor::migrate_to_memory(&a, k.as_ref(), Default::default()).unwrap();
    assert!(summary.device.ends_with(", 1 threads"), "{}", summary.device);
    let (va, vb, vc) = (run(&a, "cpu-ref"), run(&b, "cpu-ref"), run(&c, "cpu-ref"));
    assert!(va.stack.iter().all(|v| v.is_finite()));
    assert!(va.stack == vb.stack && va.fold == vb.fold, "tiles or threads changed the result");
    assert!(va.stack == vc.stack && va.fold == vc.fold, "streaming changed the result");
}

#[test]
fn gathers_match_single_bin_migrations_and_sum_to_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let ds = diffractor_and_reflector_survey(dir.path());
    let gathers = job(&ds, "{constant: 2200}", ALGORITHM, &GRID.replace('}', ", nx: 8, ny: 6}"), "{}");
    let text_bins = "{bins: [[0, 100], [100, 300], [300, 500]]}";
    let mut config = gathers.config.clone();
    config.output.offset_gathers = Some(
        pstm_config::from_yaml_str::<pstm_config::JobConfig>(&format!(
            "input: {{dataset: d}}\nvelocity: {{constant: 1}}\noutput: {{directory: o, offset_gathers: {text_bins}}}\n"
        ))
        .unwrap()
        .output
        .offset_gathers
        .unwrap(),
    );
    let job_g = pstm_engine::MigrationJob::from_config(config.clone()).unwrap();
    let v = run(&job_g, "cpu-ref");
    assert_eq!(v.gathers.len(), 3);
    for (k, range) in [[0.0, 99.0], [100.0, 299.0], [300.0, 499.0]].iter().enumerate() {
        let mut single = config.clone();
        single.output.offset_gathers = None;
        single.input.offset_range_m = Some(*range);
        let job_s = pstm_engine::MigrationJob::from_config(single).unwrap();
        let vs = run(&job_s, "cpu-ref");
        assert!(v.gathers[k] == vs.stack, "gather {k} differs from migrating offsets {range:?} alone");
    }
    for i in 0..v.stack.len() {
        let sum: f32 = v.gathers.iter().map(|g| g[i]).sum();
        assert_eq!(v.stack[i], sum);
    }
}

/// `cpu-ref` that fails (returns an error, or panics) in the `fail_at`-th block it is given,
/// wherever the pipeline is then.
struct FailingKernel {
    inner: pstm_kernel::CpuRefKernel,
    blocks: std::sync::atomic::AtomicUsize,
    fail_at: usize,
    panic: bool,
}

struct FailingTile<'a> {
    inner: Box<dyn pstm_kernel::TileMigration + 'a>,
    kernel: &'a FailingKernel,
}

impl pstm_kernel::MigrationKernel for FailingKernel {
    fn name(&self) -> &'static str {
        "failing"
    }
    fn device(&self) -> String {
        "test".into()
    }
    fn begin_tile<'a>(
        &'a self,
        task: TileTask<'a>,
    ) -> Result<Box<dyn pstm_kernel::TileMigration + 'a>, pstm_kernel::KernelError> {
        Ok(Box::new(FailingTile { inner: self.inner.begin_tile(task)?, kernel: self }))
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

impl pstm_kernel::TileMigration for FailingTile<'_> {
    fn add_traces(&mut self, block: &pstm_kernel::TraceBlock) -> Result<(), pstm_kernel::KernelError> {
        if self.kernel.blocks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 == self.kernel.fail_at {
            assert!(!self.kernel.panic, "injected panic");
            return Err(pstm_kernel::KernelError::Device { kernel: "failing".into(), message: "injected".into() });
        }
        self.inner.add_traces(block)
    }
    fn finish(self: Box<Self>, out: &mut pstm_kernel::TileImage) -> Result<(), pstm_kernel::KernelError> {
        self.inner.finish(out)
    }
}

#[test]
fn an_error_inside_the_pipeline_is_reported_and_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let ds = diffractor_and_reflector_survey(dir.path());
    for (threads, fail_at, panic) in [(1, 1, false), (2, 5, false), (2, 40, false), (1, 3, true), (2, 7, true)] {
        let job = job(
            &ds,
            "{constant: 2200}",
            ALGORITHM,
            GRID,
            &format!("{{tile: [3, 2], threads: {threads}, trace_block: 50}}"),
        );
        let kernel = FailingKernel { inner: pstm_kernel::CpuRefKernel, blocks: Default::default(), fail_at, panic };
        let e = pstm_engine::executor::migrate(&job, &kernel, pstm_engine::RunOptions::QUIET)
            .err()
            .unwrap_or_else(|| panic!("threads {threads}, failing at block {fail_at}: the run succeeded"));
        assert!(e.to_string().contains("injected"), "{e}");
        if panic {
            assert!(e.to_string().contains("panicked"), "{e}");
        }
        assert!(!job.output_dir.exists(), "a failed run left {}", job.output_dir.display());
    }
}

/// Fails the `fail_at`-th write.
struct FailingSink {
    writes: std::sync::atomic::AtomicUsize,
    fail_at: usize,
}

impl pstm_engine::output::OutputSink for FailingSink {
    fn write_tile(
        &self,
        _tile: &pstm_math::Tile,
        _bin: Option<usize>,
        _image: &pstm_kernel::TileImage,
    ) -> pstm_engine::Result<()> {
        if self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 == self.fail_at {
            return Err(pstm_engine::EngineError::Other("disk full (injected)".into()));
        }
        Ok(())
    }
}

#[test]
fn a_write_error_stops_every_stage_and_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ds = diffractor_and_reflector_survey(dir.path());
    for threads in [1, 2] {
        let job = job(&ds, "{constant: 2200}", ALGORITHM, GRID, &format!("{{tile: [2, 2], threads: {threads}}}"));
        let kernel = pstm_kernel::CpuKernel::new();
        let pool = pstm_engine::executor::pool(&job).unwrap();
        let plan = pool.install(|| plan(&job, &kernel)).unwrap();
        assert!(plan.tiles.len() > 10);
        let sink = FailingSink { writes: Default::default(), fail_at: 3 };
        let e =
            pstm_engine::executor::execute(&pool, &job, &kernel, &plan, &sink, pstm_engine::RunOptions::QUIET, None)
                .expect_err("the write error");
        assert!(e.to_string().contains("disk full"), "{e}");
        // Called from inside its own pool, the pipeline would wait on threads it holds.
        let e = pool
            .install(|| pstm_engine::executor::execute(&pool, &job, &kernel, &plan, &sink, Default::default(), None))
            .expect_err("refused");
        assert!(e.to_string().contains("outside"), "{e}");
    }
}

#[test]
fn a_write_error_names_output_directory_not_its_temporary_name() {
    use pstm_engine::output::{OutputSink, ZarrOutput};
    let dir = tempfile::tempdir().unwrap();
    let ds = diffractor_and_reflector_survey(dir.path());
    let job = job(&ds, "{constant: 2200}", ALGORITHM, GRID, "{}");
    let identity = pstm_engine::journal::RunIdentity::of(&job, "cpu", serde_json::json!({"tiles": 1}));
    let out = ZarrOutput::create(&job, identity, 1, (job.grid.nx, job.grid.ny), false).unwrap();
    // The output is taken away while being written (another process, a lost disk): a file
    // where its directory was.
    let parent = job.output_dir.parent().unwrap();
    for e in std::fs::read_dir(parent).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with(".partial-") {
            std::fs::remove_dir_all(e.path()).unwrap();
            std::fs::write(e.path(), b"not a directory").unwrap();
        }
    }
    let tile = job.grid.full_tile();
    let image = pstm_kernel::TileImage { image: vec![0.0; job.grid.n_samples()], fold: vec![0; job.grid.n_samples()] };
    let e = out.write_tile(&tile, None, &image).unwrap_err().to_string();
    assert!(e.starts_with("output.directory: ") && e.contains(&job.output_dir.display().to_string()), "{e}");
    assert!(!e.contains(".partial-"), "{e}");
    println!("{e}");
}

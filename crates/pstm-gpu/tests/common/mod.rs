//! Shared by the GPU test files: one device per test binary, or a skip.
#![allow(dead_code)]

pub mod survey;

use std::sync::{Arc, OnceLock};

use pstm_gpu::{GpuContext, GpuOptions};

/// Set to `1` (CI with Mesa lavapipe installed) to make a missing adapter fail the GPU tests
/// instead of skipping them.
pub const REQUIRE_GPU_ENV: &str = "PSTM_REQUIRE_GPU";

fn gpu_required() -> bool {
    std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| v.trim() == "1")
}

/// The test binary's device, or `None` (after printing a skip notice) when this machine has no
/// adapter and `PSTM_REQUIRE_GPU=1` is not set. Any other failure (a named adapter that is not
/// here, a driver that cannot open a device) fails the test: it is a fault, not an absence.
pub fn gpu_context(test: &str) -> Option<Arc<GpuContext>> {
    static CONTEXT: OnceLock<Result<Arc<GpuContext>, pstm_gpu::GpuError>> = OnceLock::new();
    let context = CONTEXT.get_or_init(|| {
        let context = GpuContext::new(&GpuOptions::from_env());
        if let Ok(ctx) = &context {
            eprintln!("GPU tests run on {}", ctx.summary());
        }
        context
    });
    match context {
        Ok(ctx) => Some(ctx.clone()),
        Err(e) if e.is_no_adapter() && !gpu_required() => {
            eprintln!("SKIPPED {test}: {e} (set {REQUIRE_GPU_ENV}=1 to fail instead)");
            None
        }
        Err(e) => panic!("{test}: no usable GPU: {e}"),
    }
}

/// A job's traces in memory, for driving a kernel session without the engine.
pub struct MemoryStore {
    pub layout: pstm_kernel::TraceLayout,
    pub geometry: Vec<pstm_math::TraceGeometry>,
    pub samples: Vec<f32>,
}

impl pstm_kernel::TraceStore for MemoryStore {
    fn layout(&self) -> pstm_kernel::TraceLayout {
        self.layout
    }
    fn geometry(&self, trace: u32) -> pstm_math::TraceGeometry {
        self.geometry[trace as usize]
    }
    fn fill(&self, traces: &[u32], samples: &mut [f32]) -> Result<(), pstm_kernel::KernelError> {
        let ns = self.layout.n_samples;
        for (out, &t) in samples.chunks_mut(ns).zip(traces) {
            out.copy_from_slice(&self.samples[t as usize * ns..(t as usize + 1) * ns]);
        }
        Ok(())
    }
}

/// Run `works` through `kernel`'s session as the engine does (one thread submits, the
/// session's worker threads collect); `on_finished` sees the count of finished pieces as each
/// arrives. Returns the pieces in submission order (with their images dropped when `on_finished`
/// asks for a memory test by returning `false`).
pub fn run_session(
    kernel: &dyn pstm_kernel::MigrationKernel,
    setup: pstm_kernel::JobSetup<'_>,
    works: Vec<pstm_kernel::TileWork>,
    on_finished: &(dyn Fn(usize) -> bool + Sync),
) -> Result<Vec<pstm_kernel::FinishedTile>, pstm_kernel::KernelError> {
    let n = works.len();
    let session = kernel.open_session(setup)?;
    let session = session.as_ref();
    let finished = std::sync::Mutex::new(Vec::new());
    let error = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..session.worker_threads().max(1) {
            scope.spawn(|| {
                loop {
                    match session.next_finished() {
                        Ok(Some(mut tile)) => {
                            let mut f = finished.lock().unwrap();
                            if !on_finished(f.len() + 1) {
                                tile.image = pstm_kernel::TileImage { image: Vec::new(), fold: Vec::new() };
                            }
                            f.push(tile);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            *error.lock().unwrap() = Some(e);
                            session.close(true);
                            break;
                        }
                    }
                }
            });
        }
        for work in works {
            if session.submit(work).is_err() {
                break;
            }
        }
        session.close(false);
    });
    if let Some(e) = error.into_inner().unwrap() {
        return Err(e);
    }
    let mut finished = finished.into_inner().unwrap();
    assert_eq!(finished.len(), n, "every piece of work comes back once");
    finished.sort_by_key(|t| t.tile_index);
    Ok(finished)
}

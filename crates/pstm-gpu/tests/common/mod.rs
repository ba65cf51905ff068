//! Shared by the GPU test files: one device per test binary, or a skip.

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

//! No growth of device or host memory across 1000 tiles of one `gpu-v1` job, and nothing kept
//! after it. A test binary of its own: the device's counters are per process, and other tests
//! running beside it would move them.

mod common;

use common::run_session;
use common::survey::{operator, pool, setup, survey, works};
use pstm_gpu::GpuV1Kernel;
use pstm_math::VelocityModel;

/// Resident memory of this process (bytes), from /proc (Linux).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn gpu_v1_session_leaks_nothing_over_1000_tiles() {
    let Some(ctx) = common::gpu_context("gpu_v1_session_leaks_nothing_over_1000_tiles") else { return };
    let s = survey(3, 40, 25, 60);
    let (op, pool, model) = (operator(), pool(), VelocityModel::constant(2400.0));
    let tile = [1, 1];
    let gpu = GpuV1Kernel::new(ctx.clone()).unwrap();
    let device = ctx.device().clone();
    // Live buffers, buffer and texture memory on the device (wgpu's `counters` feature), host
    // memory.
    let snapshot = move || {
        let hal = device.get_internal_counters().hal;
        (hal.buffers.read(), hal.buffer_memory.read(), hal.texture_memory.read(), resident_bytes())
    };
    // A first job, so that what wgpu and the driver keep after their first use is in `before`.
    run_session(&gpu, setup(&s, &model, &op, &pool, tile), works(&s, tile)[..10].to_vec(), &|_| false).unwrap();
    let before = snapshot();
    let samples = std::sync::Mutex::new(Vec::new());
    let record = |n: usize| {
        if n == 100 || n == 1000 {
            samples.lock().unwrap().push(snapshot());
        }
        false
    };
    let all = works(&s, tile);
    assert_eq!(all.len(), 1000);
    run_session(&gpu, setup(&s, &model, &op, &pool, tile), all, &record).unwrap();
    let after = snapshot();
    let samples = samples.into_inner().unwrap();
    let (at_100, at_1000) = (samples[0], samples[1]);
    eprintln!(
        "(buffers, buffer bytes, textures, resident bytes): before {before:?}, at tile 100 {at_100:?}, at tile 1000 {at_1000:?}, after {after:?}"
    );
    assert!(at_100.0 > before.0, "the device counters count buffers: {at_100:?}");
    // The pool: the same buffers and device memory from tile 100 to tile 1000, give or take the
    // staging wgpu makes for `Queue::write_buffer` (a few buffers of a few bytes in flight). A
    // leaked set per tile would add 900 buffers.
    assert!(at_1000.0 <= at_100.0 + 4 && at_1000.1 <= at_100.1 + (64 << 10), "device memory grew");
    assert_eq!(at_1000.2, at_100.2, "texture memory grew");
    // The session gives everything back.
    assert!(after.0 <= before.0 && after.1 <= before.1 && after.2 <= before.2, "device memory kept after the job");
    if let (Some(a), Some(b)) = (at_100.3, at_1000.3) {
        // 900 tiles: a leak of one tile's image and fold (1 KiB) per tile would be 0.9 MiB, of
        // one block of traces (48 KiB) 42 MiB.
        let grown = b.saturating_sub(a);
        assert!(grown < 512 << 10, "host memory grew by {} KiB over 900 tiles", grown >> 10);
    }
}

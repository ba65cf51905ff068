//! `gpu-v3`: the roadmap's Phase 3 on gpu-v2's shader and host side. What it adds, each a switch:
//!
//! - **Work items and a persistent grid** (3.2, `execution.gpu.persistent`): each tile's
//!   (column, chunk) cells are listed in a buffer, and a fixed grid of workgroups
//!   (`persistent_workgroups`) claims them one at a time from a counter on the device, so
//!   uneven cells (columns near the survey edge reach fewer traces) balance across the grid and
//!   the launch count no longer grows with the tile. Off: one workgroup per item (gpu-v2's
//!   dispatch when no cell is skipped). Each item is migrated exactly as gpu-v2 migrates that
//!   column and chunk, so the image is gpu-v2's bit for bit.
//! - **Traveltime tables** (3.1, `execution.gpu.traveltime_table`): where the velocity varies
//!   with time only, the legs' one-way times come from a table per output time and distance
//!   (`pstm_math::traveltime_table`, within [`TABLE_TOLERANCE_SAMPLES`](crate::gpu_v2::TABLE_TOLERANCE_SAMPLES))
//!   instead of two roots per contribution. Measured 8-9x slower on an H200, so off: it is for
//!   traveltimes that cost more than two loads. Antialiasing still works: the table is the
//!   straight ray's, so each contribution's operator shift takes its legs' rates from the
//!   straight law (`a = (t0/2)^2`, `b = 1/v^2`, which the table path keeps) at the squared
//!   distances, rather than refusing the combination.
//! - **Adaptive migration** (3.3, `algorithm.adaptive`, off by default): the engine's coarse
//!   pass and mask (`pstm_math::adaptive`) reach the kernel as each tile's active cells; only the
//!   items with an active cell are migrated, and the others are written as zeros by the tile's
//!   first block. [`work_items`](crate::gpu_v2::work_items) builds the list.
//!
//! With `persistent` and `traveltime_table` off and no adaptive mask, gpu-v3 runs gpu-v2's
//! pipelines unchanged.

use std::sync::Arc;

use crate::gpu_v2::{GpuV2Kernel, GpuV2Options, V3};
use crate::{GpuContext, GpuError};

/// Registry name.
pub const NAME: &str = "gpu-v3";

/// Sizes of the persistent grid a user may ask for.
pub const PERSISTENT_WORKGROUPS: std::ops::RangeInclusive<u32> = 1..=65535;

/// gpu-v3's switches: gpu-v2's, and its own (by default the grid is off: measured no faster).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GpuV3Options {
    pub v2: GpuV2Options,
    /// A persistent grid claims the work items (`execution.gpu.persistent`).
    pub persistent: bool,
    /// Workgroups of the persistent grid; `None`: tuned per adapter.
    pub persistent_workgroups: Option<u32>,
    /// Legs' times read from a traveltime table (`execution.gpu.traveltime_table`).
    pub traveltime_table: bool,
}

/// The persistent grid measured best on `info`'s kind of adapter, and which measurement says so
/// (docs/PERFORMANCE.md, "gpu-v3").
pub fn tuned_persistent_workgroups(info: &wgpu::AdapterInfo) -> (u32, &'static str) {
    const NVIDIA: u32 = 0x10de;
    if info.device_type == wgpu::DeviceType::Cpu {
        // llvmpipe runs a few workgroups at a time and ends a shader loop after 65535 iterations,
        // counted over every entry of the loop in one invocation: the largest grid holds each
        // workgroup to two items (twice its fair share, the shader's bound).
        return (*PERSISTENT_WORKGROUPS.end(), "software adapter: one item per workgroup");
    }
    if info.vendor == NVIDIA {
        return (4096, "NVIDIA: swept on an H200");
    }
    (1024, "untuned adapter")
}

/// The Phase 3 kernel: gpu-v2's with [`GpuV3Options`].
pub fn create(ctx: Arc<GpuContext>, options: GpuV3Options) -> Result<GpuV2Kernel, GpuError> {
    let (tuned, tuned_origin) = tuned_persistent_workgroups(&ctx.summary().info);
    let workgroups = options.persistent_workgroups.unwrap_or(tuned);
    if !PERSISTENT_WORKGROUPS.contains(&workgroups) {
        return Err(GpuError::Device {
            what: format!("{NAME}: execution.gpu"),
            message: format!("persistent_workgroups {workgroups} is not in {PERSISTENT_WORKGROUPS:?}"),
        });
    }
    let origin = if options.persistent_workgroups.is_some() { "execution.gpu" } else { tuned_origin };
    let v3 = V3 {
        persistent: options.persistent,
        traveltime_table: options.traveltime_table,
        workgroups,
        workgroups_origin: origin,
    };
    GpuV2Kernel::build(ctx, options.v2, Some(v3))
}

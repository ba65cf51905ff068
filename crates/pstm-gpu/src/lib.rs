//! GPU migration kernels on wgpu: one code base for Metal (Apple Silicon), Vulkan (NVIDIA, AMD,
//! Linux) and DX12, written in WGSL.
//!
//! # Pieces
//!
//! - [`GpuContext`] ([`context`]): the adapter and device, chosen and opened once and shared by
//!   every kernel through an `Arc`. [`probe`] answers "is there a GPU?" without opening a device.
//! - WGSL sources ([`shaders`]): kernels in `src/shaders/*.wgsl` compose small shared modules
//!   (`src/shaders/shared/*.wgsl`: traveltime, aperture and weights) with `#include` lines.
//! - Host-side layout ([`layout`]): `#[repr(C)]` parameter structs matching the WGSL structs
//!   (checked by naga reflection in `tests/wgsl.rs`) and the float32 inputs, with
//!   positions made relative to a tile-local origin in float64 so UTM coordinates keep their
//!   precision.
//! - CPU twins ([`cpu`]): every WGSL module restated in Rust with the same names and loops;
//!   the twins run without a GPU and are tested against `cpu-ref`, which is how a kernel is
//!   debugged.
//! - Kernels: [`GpuV0Kernel`] (`gpu-v0`), the straightforward port that later versions are
//!   measured against; [`GpuV1Kernel`] (`gpu-v1`), the roadmap's Phase 1: pooled, double-buffered
//!   buffer sets behind the per-job session, and the velocity model sampled on the device;
//!   [`GpuV2Kernel`] (`gpu-v2`), the roadmap's Phase 2 on the same host side: a workgroup per
//!   column and chunk of times, traces staged in workgroup memory, live traces compacted by
//!   subgroup ballots, sample pairs read as `vec2`, specialised per job by constants;
//!   [`gpu_v3`] (`gpu-v3`), the roadmap's Phase 3 on gpu-v2's shader: work items claimed by a
//!   persistent grid, and adaptive migration's skipped cells.
//! - The host side shared by gpu-v1 and later versions ([`host`]): the [`host::DeviceKernel`]
//!   trait a shader implements (its buffers, bind groups and dispatches), and the generic
//!   pipeline, session and events that feed it.
//!
//! # Correctness
//!
//! Every GPU kernel is compared with the float64 reference `cpu-ref` on fresh random cases
//! (`pstm_kernel::parity`) with poisoned outputs: relative L2 below 1e-4 outside the samples
//! where float32 and float64 may rightly branch differently, fold identical, and bit-identical
//! results from run to run. GPU tests skip when no adapter exists, unless `PSTM_REQUIRE_GPU=1`.
//!
//! # Portability
//!
//! Only what WebGPU guarantees, plus optional features negotiated at device creation
//! ([`context::OPTIONAL_FEATURES`]) with a fallback when missing. `tests/wgsl.rs`
//! translates every module to MSL (what wgpu runs on Apple Silicon) and SPIR-V with naga.

pub mod context;
pub mod cpu;
mod error;
pub mod gpu_v0;
pub mod gpu_v1;
pub mod gpu_v2;
pub mod gpu_v3;
pub mod host;
pub mod layout;
pub mod shaders;

pub use context::{AdapterSummary, DeviceChoice, GpuContext, GpuOptions, device_candidates, list_adapters, probe};
pub use cpu::migrate_v0::CpuTwinV0Kernel;
pub use error::GpuError;
pub use gpu_v0::{GpuTimings, GpuV0Kernel, GpuV0Options};
pub use gpu_v1::{
    GpuV1Kernel, GpuV1Options, PipelineStats, UploadBandwidth, UploadPath, VelocityFilter, VelocityStorage,
    measure_upload,
};
pub use gpu_v2::{GpuV2Kernel, GpuV2Options, Shape, tuned_shape};
pub use gpu_v3::GpuV3Options;
/// The wgpu this crate is built on, for callers that inject a device or inspect features.
pub use wgpu;

//! `gpu-v1`: the roadmap's Phase 1 (memory management and host binding) on gpu-v0's shader
//! loop. The shader is `shaders/gpu_v1.wgsl`, its CPU twin `cpu/migrate_v1.rs`.
//!
//! What changes against gpu-v0, each a switch ([`GpuV1Options`], config `execution.gpu.*`,
//! or a kernel name such as `gpu-v1:overlap=off` for side-by-side runs):
//!
//! - **Buffer pool** (`buffer_pool`, 1.1): two tile sets and two block sets sized once per job
//!   from the plan's largest tile and a trace block, reused for every tile; bind groups made
//!   once per pair of sets. Static data (output times, velocity) is uploaded once per job. A
//!   tile larger than announced regrows its set with 20% headroom. Off: every tile and block
//!   creates its buffers, as gpu-v0 does.
//! - **Double buffering** (`overlap`, 1.2): while the device migrates block k (and tile N is read
//!   back), the host fills block k+1 (and opens tile N+1); completion arrives by callbacks
//!   (`map_async`, `on_submitted_work_done`) run by a poller thread ([`crate::host::events`]).
//!   Off: the host waits for the device after every submission.
//! - **Fewer copies** (`upload`, 1.3): the trace store writes samples straight into mapped
//!   staging memory (`staging`); `write_buffer` fills a host vector that wgpu copies again
//!   (the two-copy path, for comparison); `mapped` writes the storage buffer itself, where the
//!   device maps storage (`MAPPABLE_PRIMARY_BUFFERS`; unified memory such as Apple Silicon,
//!   where it saves the device-side copy). `auto`: `mapped` on integrated GPUs that offer it,
//!   else `staging`.
//! - **Velocity on the device** (`velocity`, `velocity_filter`, 1.4): a laterally invariant
//!   model goes as V(t) at the output times (one value per time, no 3D texture); a cube goes
//!   whole, as an R32Float (`texture`) or R16Float (`texture_f16`) 3D texture or a storage
//!   buffer (`buffer`), and the shader interpolates it at each output sample from the column's
//!   and the time's cell, found on the host in float64. `velocity_filter: hardware` lets the
//!   sampler interpolate (R32Float needs `FLOAT32_FILTERABLE`); `manual` (the default)
//!   interpolates eight texels in float32, because samplers weight texels with 8-bit
//!   fractions (docs/PERFORMANCE.md has the measured error).
//!
//! Reading (interpolation, antialiasing) is gpu-v0's, from the same shared WGSL: the two shaders
//! differ only in where their inputs come from, so their twins agree bit for bit whatever the
//! operator. The sinc8 table is uploaded once per job ([`Statics::interp_table`]).
//!
//! The host side lives in [`crate::host`], shared with gpu-v2; this module is what is gpu-v1's
//! own: its shader, bindings and dispatch. The per-tile protocol
//! ([`pstm_kernel::MigrationKernel::begin_tile`], used by the parity tests) runs the same
//! pipeline for one tile with the velocities of its [`pstm_kernel::TileTask`].

use std::sync::{Arc, Mutex};

use pstm_kernel::{KernelError, TraceLayout};
use pstm_math::velocity::VelocityCube;

pub use crate::host::BLOCK_BYTES;
pub use crate::host::upload::{UploadBandwidth, measure_upload};
use crate::host::{BlockSet, DeviceKernel, Statics, TileDispatch, TileItems, TileSet};
pub use crate::host::{GpuV1Options, PipelineStats, UploadPath, VelocityFilter, VelocityStorage};
use crate::layout::{BlockParams, TileParamsV1, dispatch_size, times_v1};
use crate::shaders::{self, Binding, BindingKind, GPU_V1, KernelShader, compose};
use crate::{GpuContext, GpuError};

/// Registry name.
pub const NAME: &str = "gpu-v1";
/// Entry point of `shaders/gpu_v1.wgsl`.
pub const ENTRY_POINT: &str = "migrate";
/// Invocations per workgroup, along output time (WGSL `WORKGROUP_SIZE`).
pub const WORKGROUP_SIZE: u32 = 64;

/// Group 0 of `shaders/gpu_v1.wgsl`; `tests/wgsl.rs` checks it against the WGSL.
pub const BINDINGS: [Binding; 13] = [
    Binding { binding: 0, name: "tile", kind: BindingKind::Uniform, element_bytes: size_of::<TileParamsV1>() },
    Binding { binding: 1, name: "block", kind: BindingKind::Uniform, element_bytes: size_of::<BlockParams>() },
    Binding {
        binding: 2,
        name: "columns",
        kind: BindingKind::StorageRead,
        element_bytes: size_of::<crate::layout::ColumnV1>(),
    },
    Binding { binding: 3, name: "velocity", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 4, name: "velocity_texture", kind: BindingKind::Texture3d, element_bytes: 0 },
    Binding { binding: 5, name: "velocity_sampler", kind: BindingKind::Sampler, element_bytes: 0 },
    Binding { binding: 6, name: "geometry", kind: BindingKind::StorageRead, element_bytes: 16 },
    Binding { binding: 7, name: "traces", kind: BindingKind::StorageRead, element_bytes: 4 },
    Binding { binding: 8, name: "image", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding { binding: 9, name: "fold", kind: BindingKind::StorageReadWrite, element_bytes: 4 },
    Binding {
        binding: 10,
        name: "times",
        kind: BindingKind::StorageRead,
        element_bytes: size_of::<crate::layout::OutputTimeV1>(),
    },
    Binding { binding: 11, name: "law", kind: BindingKind::StorageRead, element_bytes: 8 },
    Binding { binding: 12, name: "interp_table", kind: BindingKind::StorageRead, element_bytes: 16 },
];

/// The shader as the host sees it.
pub const SHADER: KernelShader = KernelShader {
    file: GPU_V1,
    entry_point: ENTRY_POINT,
    workgroup_size: [WORKGROUP_SIZE, 1, 1],
    bindings: &BINDINGS,
    flags: &[],
};

/// The Phase 1 GPU kernel. Shares the device through `Arc<GpuContext>`.
pub struct GpuV1Kernel {
    ctx: Arc<GpuContext>,
    options: GpuV1Options,
    /// Non-filtering and filtering layouts and their pipelines.
    layouts: [wgpu::BindGroupLayout; 2],
    pipelines: [wgpu::ComputePipeline; 2],
    max_binding_bytes: u64,
    max_workgroups_per_dimension: u32,
    stats: Mutex<PipelineStats>,
    /// How the last job's velocity reached the device, for the kernel's description.
    velocity_path: Mutex<String>,
}

impl std::fmt::Debug for GpuV1Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuV1Kernel")
            .field("device", &self.ctx.summary().to_string())
            .field("options", &self.options)
            .finish()
    }
}

impl GpuV1Kernel {
    pub fn new(ctx: Arc<GpuContext>) -> Result<Self, GpuError> {
        Self::with_options(ctx, GpuV1Options::default())
    }

    pub fn with_options(ctx: Arc<GpuContext>, options: GpuV1Options) -> Result<Self, GpuError> {
        let options = options.resolved(&ctx, NAME)?;
        let source = compose(&GPU_V1)?;
        let module = ctx.create_shader_module("pstm.gpu_v1", &source)?;
        let (layouts, pipelines) = ctx.scoped("gpu-v1: creating the pipelines", || {
            // One pipeline per layout: the texture read texel by texel, or through a filtering
            // sampler (the formats and samplers each allows differ).
            let make = |filtering: bool| {
                let entries: Vec<_> = BINDINGS.iter().map(|b| b.layout_entry(filtering)).collect();
                ctx.compute_pipeline("pstm.gpu_v1", &module, ENTRY_POINT, &entries)
            };
            let (l0, p0) = make(false);
            let (l1, p1) = make(true);
            Ok(([l0, l1], [p0, p1]))
        })?;
        let max_binding_bytes = options.binding_limit(&ctx);
        Ok(Self {
            options,
            layouts,
            pipelines,
            max_binding_bytes,
            max_workgroups_per_dimension: ctx.limits().max_compute_workgroups_per_dimension,
            stats: Mutex::new(PipelineStats::default()),
            velocity_path: Mutex::new(String::new()),
            ctx,
        })
    }

    pub fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    /// The switches in effect (`upload` resolved).
    pub fn options(&self) -> &GpuV1Options {
        &self.options
    }
}

impl DeviceKernel for GpuV1Kernel {
    type Job = ();

    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> Vec<String> {
        let velocity = self.velocity_path.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.options.describe(&velocity)
    }

    fn device_cost_model(&self) -> pstm_kernel::CostModel {
        // gpu-v0's shader loop (2.6 ps per contribution, 0.54 ps per visit outside the
        // aperture on an H200); trace samples cost the device only their copy (the host fills
        // the next block while the device works), and a tile or block only a submission.
        pstm_kernel::CostModel {
            per_sample_visit_s: 0.54e-12,
            per_column_visit_s: 0.0,
            per_contribution_s: 2.6e-12,
            per_trace_sample_s: 0.1e-9,
            per_tile_s: 0.2e-3,
            per_block_s: 30e-6,
            min_tile_samples: 1 << 20,
            shares_host_cores: false,
        }
    }

    fn context(&self) -> &Arc<GpuContext> {
        &self.ctx
    }

    fn host_options(&self) -> &GpuV1Options {
        &self.options
    }

    fn max_binding_bytes(&self) -> u64 {
        self.max_binding_bytes
    }

    fn stats(&self) -> &Mutex<PipelineStats> {
        &self.stats
    }

    fn velocity_path(&self) -> &Mutex<String> {
        &self.velocity_path
    }

    fn prepare_job(&self, _: &Statics) -> Result<(), KernelError> {
        Ok(())
    }

    fn output_times(&self, times: &[f64], layout: &TraceLayout, cube: Option<&VelocityCube>) -> Vec<u8> {
        bytemuck::cast_slice(&times_v1(times, layout, cube)).to_vec()
    }

    fn tile_params_bytes(&self) -> usize {
        size_of::<TileParamsV1>()
    }

    fn tile_params(&self, _: &(), statics: &Statics, n_columns: usize, _: Option<&TileItems>) -> Vec<u8> {
        let mut params =
            TileParamsV1::new(n_columns, statics.time.nt, statics.source, statics.cube_shape, &statics.operator);
        params.law_stride = statics.law_stride;
        bytemuck::bytes_of(&params).to_vec()
    }

    fn block_params_bytes(&self) -> usize {
        size_of::<BlockParams>()
    }

    fn block_params(&self, n_traces: usize, layout: &TraceLayout, accumulate: bool) -> Vec<u8> {
        bytemuck::bytes_of(&BlockParams::new(n_traces, layout.n_samples, layout.dt_s, accumulate)).to_vec()
    }

    fn bind_group(&self, _: &(), statics: &Statics, tile: &TileSet, block: &BlockSet) -> wgpu::BindGroup {
        bind_group(self, statics, tile, block)
    }

    fn dispatch(
        &self,
        _: &(),
        statics: &Statics,
        pass: &mut wgpu::ComputePass<'_>,
        group: &wgpu::BindGroup,
        _: &BlockSet,
        tile: &TileDispatch,
    ) {
        pass.set_pipeline(&self.pipelines[statics.filtering as usize]);
        pass.set_bind_group(0, group, &[]);
        let nt = statics.time.nt as u32;
        let n_columns = tile.n_columns as u32;
        let [gx, gy, gz] = dispatch_size(n_columns, nt, WORKGROUP_SIZE, self.max_workgroups_per_dimension);
        pass.dispatch_workgroups(gx, gy, gz);
    }
}

crate::host::migration_kernel_on_host!(GpuV1Kernel);

/// The bind group of one tile set with one block set.
fn bind_group(kernel: &GpuV1Kernel, statics: &Statics, tile: &TileSet, block: &BlockSet) -> wgpu::BindGroup {
    let resources = [
        tile.params.as_entire_binding(),
        block.params.as_entire_binding(),
        tile.columns.as_entire_binding(),
        statics.velocity.as_entire_binding(),
        wgpu::BindingResource::TextureView(&statics.texture),
        wgpu::BindingResource::Sampler(&statics.sampler),
        block.geometry_binding(),
        block.samples_binding(),
        tile.image.as_entire_binding(),
        tile.fold.as_entire_binding(),
        statics.times.as_entire_binding(),
        statics.law.as_ref().unwrap_or(&tile.law).as_entire_binding(),
        statics.interp_table.as_entire_binding(),
    ];
    let layout = &kernel.layouts[statics.filtering as usize];
    shaders::bind_group(kernel.context().device(), "pstm.gpu_v1.bind_group", layout, &BINDINGS, resources)
}

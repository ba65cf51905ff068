//! The kernel registry: one name per kernel version, one place to create them.

use std::sync::Arc;

use pstm_config::job::{Devices, GpuConfig, GpuUpload, GpuVelocity, GpuVelocityFilter};
use pstm_gpu::{
    CpuTwinV0Kernel, DeviceChoice, GpuContext, GpuOptions, GpuV0Kernel, GpuV1Kernel, GpuV1Options, GpuV2Kernel,
    GpuV2Options, GpuV3Options, UploadPath, VelocityFilter, VelocityStorage,
};
use pstm_kernel::{CpuKernel, CpuRefKernel, DeviceSet, KernelError, MigrationKernel};

use crate::error::{EngineError, Result};

/// Settings kernels may need from the job: the job's `execution.gpu` and `execution.devices`.
#[derive(Debug, Clone, Default)]
pub struct KernelOptions {
    pub gpu: GpuConfig,
    pub devices: Devices,
    /// This process and how many share its host's GPUs (MPI ranks on one host): with
    /// `devices: all` each takes its part of them. `(0, 0)` or `(0, 1)`: alone.
    pub host_share: (usize, usize),
}

impl KernelOptions {
    pub fn from_config(e: &pstm_config::job::ExecutionConfig) -> Self {
        Self { gpu: e.gpu.clone(), devices: e.devices.clone(), host_share: (0, 1) }
    }

    fn device_choice(&self) -> DeviceChoice {
        match &self.devices {
            Devices::All if self.host_share.1 > 1 => {
                DeviceChoice::AllOf { part: self.host_share.0, parts: self.host_share.1 }
            }
            Devices::All => DeviceChoice::All,
            Devices::Count(n) => DeviceChoice::Count(*n),
            Devices::List(l) => DeviceChoice::List(l.clone()),
        }
    }

    /// A GPU kernel made by `make` on each device `execution.devices` picks, as one kernel.
    fn on_each_device(
        &self,
        id: KernelId,
        make: impl Fn(Arc<GpuContext>) -> std::result::Result<Box<dyn MigrationKernel>, pstm_gpu::GpuError>,
    ) -> std::result::Result<Box<dyn MigrationKernel>, KernelError> {
        let gpu_error = |e: pstm_gpu::GpuError| e.into_kernel_error(id.name());
        let contexts = GpuContext::new_each(&self.gpu(), &self.device_choice()).map_err(gpu_error)?;
        let kernels = contexts.into_iter().map(make).collect::<std::result::Result<Vec<_>, _>>().map_err(gpu_error)?;
        Ok(DeviceSet::join(kernels))
    }

    fn gpu(&self) -> GpuOptions {
        GpuOptions {
            adapter: self.gpu.adapter.clone(),
            runtime_checks: self.gpu.runtime_checks,
            ..GpuOptions::default()
        }
        .with_env_overrides()
    }

    fn gpu_v1(&self) -> GpuV1Options {
        let g = &self.gpu;
        GpuV1Options {
            max_binding_bytes: None,
            buffer_pool: g.buffer_pool,
            overlap: g.overlap,
            upload: match g.upload {
                GpuUpload::Auto => UploadPath::Auto,
                GpuUpload::Staging => UploadPath::Staging,
                GpuUpload::WriteBuffer => UploadPath::WriteBuffer,
                GpuUpload::Mapped => UploadPath::Mapped,
            },
            velocity: match g.velocity {
                GpuVelocity::Auto => VelocityStorage::Auto,
                GpuVelocity::Texture => VelocityStorage::Texture,
                GpuVelocity::TextureF16 => VelocityStorage::TextureF16,
                GpuVelocity::Buffer => VelocityStorage::Buffer,
            },
            velocity_filter: match g.velocity_filter {
                GpuVelocityFilter::Auto => VelocityFilter::Auto,
                GpuVelocityFilter::Hardware => VelocityFilter::Hardware,
                GpuVelocityFilter::Manual => VelocityFilter::Manual,
            },
            block_bytes: g.block_mib.map(|m| (m * (1u64 << 20) as f64) as u64),
        }
    }

    fn gpu_v2(&self) -> GpuV2Options {
        let g = &self.gpu;
        GpuV2Options {
            host: self.gpu_v1(),
            subgroups: g.subgroups,
            trace_pairs: g.trace_pairs,
            workgroup_size: g.workgroup_size,
            samples_per_invocation: g.samples_per_invocation,
        }
    }

    fn gpu_v3(&self) -> GpuV3Options {
        GpuV3Options {
            v2: self.gpu_v2(),
            persistent: self.gpu.persistent,
            persistent_workgroups: self.gpu.persistent_workgroups,
            traveltime_table: self.gpu.traveltime_table,
        }
    }

    /// A kernel name with `:key=value` settings of `execution.gpu` after it
    /// (`gpu-v1:overlap=off:upload=write_buffer`): the name, and these options with the
    /// settings applied.
    pub fn parse_spec(&self, spec: &str) -> Result<(String, KernelOptions)> {
        let mut parts = spec.split(':');
        let name = parts.next().unwrap_or_default().trim().to_string();
        let mut overrides = Vec::new();
        for part in parts {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                EngineError::Other(format!(
                    "kernel `{spec}`: `{part}` is not key=value (e.g. gpu-v1:overlap=off; keys of execution.gpu)"
                ))
            })?;
            overrides.push((key.trim(), value.trim()));
        }
        let gpu =
            self.gpu.with_overrides(&overrides).map_err(|e| EngineError::Other(format!("kernel `{spec}`: {e}")))?;
        Ok((name, KernelOptions { gpu, ..self.clone() }))
    }
}

/// Every kernel version. Matches on it have no wildcard arm: a new version does not compile
/// until every place that must know about it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelId {
    GpuV3,
    GpuV2,
    GpuV1,
    GpuV0,
    Cpu,
    CpuRef,
    GpuV0Twin,
}

impl KernelId {
    /// In the order `auto` prefers them, fastest first.
    pub const ALL: [KernelId; 7] = [
        KernelId::GpuV3,
        KernelId::GpuV2,
        KernelId::GpuV1,
        KernelId::GpuV0,
        KernelId::Cpu,
        KernelId::CpuRef,
        KernelId::GpuV0Twin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KernelId::GpuV3 => "gpu-v3",
            KernelId::GpuV2 => "gpu-v2",
            KernelId::GpuV1 => "gpu-v1",
            KernelId::GpuV0 => "gpu-v0",
            KernelId::Cpu => "cpu",
            KernelId::CpuRef => "cpu-ref",
            KernelId::GpuV0Twin => "gpu-v0-twin",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            KernelId::GpuV3 => {
                "GPU Phase 3: gpu-v2's shader on work items claimed by a persistent grid; skips the cells adaptive migration leaves out"
            }
            KernelId::GpuV2 => {
                "GPU Phase 2: gpu-v1's host side with a shader that stages traces in workgroup memory, compacts live ones by subgroup ballots and reads sample pairs"
            }
            KernelId::GpuV1 => {
                "GPU Phase 1: gpu-v0's shader with pooled, double-buffered buffers and the velocity model sampled on the device"
            }
            KernelId::GpuV0 => "GPU baseline (wgpu: Vulkan, Metal, DX12): one invocation per output sample, float32",
            KernelId::Cpu => "float32 SIMD (AVX-512, AVX2 or portable, chosen at run time) on all cores",
            KernelId::CpuRef => "float64 reference, obviously right, the oracle for every other kernel",
            KernelId::GpuV0Twin => "gpu-v0's shader restated in Rust, line for line, for debugging it (slow)",
        }
    }

    /// Why `auto` may not pick it, if it may not: never the debugging twin, and a GPU kernel
    /// only on a real GPU (a software rasteriser such as lavapipe is slower than the CPU
    /// kernels) unless the user named the adapter.
    fn auto_refusal(self, options: &KernelOptions) -> Option<String> {
        match self {
            KernelId::GpuV3 | KernelId::GpuV2 | KernelId::GpuV1 | KernelId::GpuV0 => {
                let gpu = options.gpu();
                match pstm_gpu::probe(&gpu) {
                    Err(e) => Some(format!("no GPU adapter ({e})")),
                    Ok(a) if gpu.adapter.is_none() && a.is_software() => Some(format!(
                        "the only GPU adapter, {}, is a software one, slower than the CPU kernels (name it in execution.gpu.adapter to use it)",
                        a.info.name
                    )),
                    Ok(_) => None,
                }
            }
            KernelId::Cpu | KernelId::CpuRef => None,
            KernelId::GpuV0Twin => Some("a debugging kernel".to_string()),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn create(self, options: &KernelOptions) -> std::result::Result<Box<dyn MigrationKernel>, KernelError> {
        let boxed = |k: Box<dyn MigrationKernel>| Ok(k);
        match self {
            KernelId::GpuV3 => {
                options.on_each_device(self, |ctx| boxed(Box::new(pstm_gpu::gpu_v3::create(ctx, options.gpu_v3())?)))
            }
            KernelId::GpuV2 => {
                options.on_each_device(self, |ctx| boxed(Box::new(GpuV2Kernel::with_options(ctx, options.gpu_v2())?)))
            }
            KernelId::GpuV1 => {
                options.on_each_device(self, |ctx| boxed(Box::new(GpuV1Kernel::with_options(ctx, options.gpu_v1())?)))
            }
            KernelId::GpuV0 => options.on_each_device(self, |ctx| boxed(Box::new(GpuV0Kernel::new(ctx)?))),
            KernelId::Cpu => Ok(Box::new(CpuKernel::new())),
            KernelId::CpuRef => Ok(Box::new(CpuRefKernel)),
            KernelId::GpuV0Twin => Ok(Box::new(CpuTwinV0Kernel::default())),
        }
    }
}

/// The upload paths of gpu-v1 measured on the GPU `options` choose, with `mib` MiB (`pstm
/// kernels --upload-mib`).
pub fn measure_upload(options: &KernelOptions, mib: u64) -> Result<String> {
    let gpu_error = |e: pstm_gpu::GpuError| EngineError::Other(e.to_string());
    let ctx = GpuContext::new(&options.gpu()).map_err(gpu_error)?;
    let measured = pstm_gpu::measure_upload(&ctx, mib << 20, 5).map_err(gpu_error)?;
    Ok(format!(
        "{}
{measured}",
        ctx.summary()
    ))
}

/// The GPU adapters `execution.devices` numbers, best first (`pstm kernels`).
pub fn gpu_adapters(options: &KernelOptions) -> Result<Vec<pstm_gpu::AdapterSummary>> {
    pstm_gpu::device_candidates(&options.gpu()).map_err(|e| EngineError::Other(e.to_string()))
}

fn valid_names() -> String {
    std::iter::once("auto").chain(KernelId::ALL.iter().map(|k| k.name())).collect::<Vec<_>>().join(", ")
}

/// Create a kernel by name, optionally with `:key=value` settings of `execution.gpu`
/// ([`KernelOptions::parse_spec`]); `auto` takes the first kernel in [`KernelId::ALL`] that may
/// and can run here.
pub fn create_kernel(spec: &str, options: &KernelOptions) -> Result<Box<dyn MigrationKernel>> {
    choose_kernel(spec, options).map(|(kernel, _)| kernel)
}

/// [`create_kernel`], and why that kernel: for `auto`, what it passed over and why
/// (`auto: no GPU adapter (...); chose cpu`); for a name, the name.
pub fn choose_kernel(spec: &str, options: &KernelOptions) -> Result<(Box<dyn MigrationKernel>, String)> {
    let (name, options) = options.parse_spec(spec)?;
    let (name, options) = (name.as_str(), &options);
    if name == "auto" {
        // A named adapter that is not here is an error, not a quiet fall back to the CPU.
        let gpu = options.gpu();
        if let (Some(wanted), Err(e)) = (&gpu.adapter, pstm_gpu::probe(&gpu)) {
            return Err(EngineError::Other(format!(
                "the GPU adapter `{wanted}` (execution.gpu.adapter or PSTM_GPU_ADAPTER) is not available: {e}"
            )));
        }
        // What was passed over, each reason once (the GPU kernels share theirs).
        let mut passed: Vec<(Vec<&str>, String)> = Vec::new();
        let mut note = |id: KernelId, why: String| match passed.iter_mut().find(|(_, w)| *w == why) {
            Some((ids, _)) => ids.push(id.name()),
            None => passed.push((vec![id.name()], why)),
        };
        let mut reasons = Vec::new();
        for id in KernelId::ALL.into_iter().filter(|&id| id != KernelId::GpuV0Twin) {
            if let Some(why) = id.auto_refusal(options) {
                note(id, why);
                continue;
            }
            match id.create(options) {
                Ok(k) => {
                    let skipped: Vec<String> =
                        passed.iter().map(|(ids, why)| format!("{} not: {why}", ids.join(", "))).collect();
                    let why = if skipped.is_empty() {
                        format!("auto: chose {}, the fastest kernel, which runs here", id.name())
                    } else {
                        format!("auto: {}; chose {}", skipped.join("; "), id.name())
                    };
                    return Ok((k, why));
                }
                Err(e) => {
                    reasons.push(e.to_string());
                    note(id, format!("failed to start ({e})"));
                }
            }
        }
        return Err(EngineError::Other(format!("no kernel can run here: {}", reasons.join("; "))));
    }
    let id = KernelId::from_name(name)
        .ok_or_else(|| EngineError::UnknownKernel { name: name.to_string(), valid: valid_names() })?;
    Ok((id.create(options)?, format!("{} as named", id.name())))
}

/// A kernel and whether it can run here (`Ok(device)`) or why not.
pub struct KernelStatus {
    pub id: KernelId,
    pub available: std::result::Result<String, String>,
}

pub fn list_kernels(options: &KernelOptions) -> Vec<KernelStatus> {
    KernelId::ALL
        .iter()
        .map(|&id| KernelStatus { id, available: id.create(options).map(|k| k.device()).map_err(|e| e.to_string()) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kernel_lists_valid_names() {
        let e = create_kernel("gpu-v9", &KernelOptions::default()).err().unwrap().to_string();
        assert!(e.contains("unknown kernel `gpu-v9`") && e.contains("auto") && e.contains("cpu-ref"), "{e}");
        assert_eq!(create_kernel("cpu-ref", &KernelOptions::default()).unwrap().name(), "cpu-ref");
        assert!(create_kernel("auto", &KernelOptions::default()).is_ok());
    }

    #[test]
    fn the_config_allows_the_gpu_v2_shapes_the_kernel_has() {
        assert_eq!(pstm_config::job::GPU_WORKGROUP_SIZES, pstm_gpu::gpu_v2::WORKGROUP_SIZES);
        assert_eq!(pstm_config::job::GPU_SAMPLES_PER_INVOCATION, pstm_gpu::gpu_v2::SAMPLES_PER_INVOCATION);
    }
}

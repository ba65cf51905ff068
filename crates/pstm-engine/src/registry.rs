//! The kernel registry: one name per kernel version, one place to create them.

use pstm_gpu::{CpuTwinV0Kernel, GpuContext, GpuOptions, GpuV0Kernel};
use pstm_kernel::{CpuKernel, CpuRefKernel, KernelError, MigrationKernel};

use crate::error::{EngineError, Result};

/// Settings kernels may need from the job.
#[derive(Debug, Clone, Default)]
pub struct KernelOptions {
    /// Part of a GPU adapter's name to choose it (the environment's `PSTM_GPU_ADAPTER` wins).
    pub gpu_adapter: Option<String>,
    /// Keep shader runtime checks on (also `PSTM_GPU_CHECKS=1`).
    pub gpu_runtime_checks: bool,
}

impl KernelOptions {
    pub fn from_config(e: &pstm_config::job::ExecutionConfig) -> Self {
        Self { gpu_adapter: e.gpu.adapter.clone(), gpu_runtime_checks: e.gpu.runtime_checks }
    }

    fn gpu(&self) -> GpuOptions {
        GpuOptions {
            adapter: self.gpu_adapter.clone(),
            runtime_checks: self.gpu_runtime_checks,
            ..GpuOptions::default()
        }
        .with_env_overrides()
    }
}

/// Every kernel version. Matches on it have no wildcard arm: a new version does not compile
/// until every place that must know about it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelId {
    GpuV0,
    Cpu,
    CpuRef,
    GpuV0Twin,
}

impl KernelId {
    /// In the order `auto` prefers them, fastest first.
    pub const ALL: [KernelId; 4] = [KernelId::GpuV0, KernelId::Cpu, KernelId::CpuRef, KernelId::GpuV0Twin];

    pub fn name(self) -> &'static str {
        match self {
            KernelId::GpuV0 => "gpu-v0",
            KernelId::Cpu => "cpu",
            KernelId::CpuRef => "cpu-ref",
            KernelId::GpuV0Twin => "gpu-v0-twin",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            KernelId::GpuV0 => "GPU baseline (wgpu: Vulkan, Metal, DX12): one invocation per output sample, float32",
            KernelId::Cpu => "float32 SIMD (AVX-512, AVX2 or portable, chosen at run time) on all cores",
            KernelId::CpuRef => "float64 reference, obviously right, the oracle for every other kernel",
            KernelId::GpuV0Twin => "gpu-v0's shader restated in Rust, line for line, for debugging it (slow)",
        }
    }

    /// Whether `auto` may pick it: never the debugging twin, and a GPU kernel only on a real GPU
    /// (a software rasteriser such as lavapipe is slower than the CPU kernels) unless the user
    /// named the adapter.
    fn auto_eligible(self, options: &KernelOptions) -> bool {
        match self {
            KernelId::GpuV0 => {
                let gpu = options.gpu();
                pstm_gpu::probe(&gpu).is_ok_and(|a| gpu.adapter.is_some() || !a.is_software())
            }
            KernelId::Cpu | KernelId::CpuRef => true,
            KernelId::GpuV0Twin => false,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn create(self, options: &KernelOptions) -> std::result::Result<Box<dyn MigrationKernel>, KernelError> {
        let gpu_error = |e: pstm_gpu::GpuError| e.into_kernel_error(self.name());
        match self {
            KernelId::GpuV0 => {
                let ctx = GpuContext::new(&options.gpu()).map_err(gpu_error)?;
                Ok(Box::new(GpuV0Kernel::new(ctx).map_err(gpu_error)?))
            }
            KernelId::Cpu => Ok(Box::new(CpuKernel::new())),
            KernelId::CpuRef => Ok(Box::new(CpuRefKernel)),
            KernelId::GpuV0Twin => Ok(Box::new(CpuTwinV0Kernel::default())),
        }
    }
}

fn valid_names() -> String {
    std::iter::once("auto").chain(KernelId::ALL.iter().map(|k| k.name())).collect::<Vec<_>>().join(", ")
}

/// Create a kernel by name; `auto` takes the first kernel in [`KernelId::ALL`] that may and can
/// run here.
pub fn create_kernel(name: &str, options: &KernelOptions) -> Result<Box<dyn MigrationKernel>> {
    if name == "auto" {
        // A named adapter that is not here is an error, not a quiet fall back to the CPU.
        let gpu = options.gpu();
        if let (Some(wanted), Err(e)) = (&gpu.adapter, pstm_gpu::probe(&gpu)) {
            return Err(EngineError::Other(format!(
                "the GPU adapter `{wanted}` (execution.gpu.adapter or PSTM_GPU_ADAPTER) is not available: {e}"
            )));
        }
        let mut reasons = Vec::new();
        for id in KernelId::ALL.into_iter().filter(|id| id.auto_eligible(options)) {
            match id.create(options) {
                Ok(k) => return Ok(k),
                Err(e) => reasons.push(e.to_string()),
            }
        }
        return Err(EngineError::Other(format!("no kernel can run here: {}", reasons.join("; "))));
    }
    let id = KernelId::from_name(name)
        .ok_or_else(|| EngineError::UnknownKernel { name: name.to_string(), valid: valid_names() })?;
    Ok(id.create(options)?)
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
}

//! The kernel registry: one name per kernel version, one place to create them.

use pstm_kernel::{CpuRefKernel, KernelError, MigrationKernel};

use crate::error::{EngineError, Result};

/// Settings kernels may need from the job.
#[derive(Debug, Clone, Default)]
pub struct KernelOptions {
    /// Part of a GPU adapter's name to choose it.
    pub gpu_adapter: Option<String>,
    /// Keep shader runtime checks on.
    pub gpu_runtime_checks: bool,
}

impl KernelOptions {
    pub fn from_config(e: &pstm_config::job::ExecutionConfig) -> Self {
        Self { gpu_adapter: e.gpu.adapter.clone(), gpu_runtime_checks: e.gpu.runtime_checks }
    }
}

/// Every kernel version. Matches on it have no wildcard arm: a new version does not compile
/// until every place that must know about it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelId {
    CpuRef,
}

impl KernelId {
    /// In the order `auto` prefers them, fastest first.
    pub const ALL: [KernelId; 1] = [KernelId::CpuRef];

    pub fn name(self) -> &'static str {
        match self {
            KernelId::CpuRef => "cpu-ref",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            KernelId::CpuRef => "float64 reference, obviously right, the oracle for every other kernel",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn create(self, options: &KernelOptions) -> std::result::Result<Box<dyn MigrationKernel>, KernelError> {
        let _ = options;
        match self {
            KernelId::CpuRef => Ok(Box::new(CpuRefKernel)),
        }
    }
}

fn valid_names() -> String {
    std::iter::once("auto").chain(KernelId::ALL.iter().map(|k| k.name())).collect::<Vec<_>>().join(", ")
}

/// Create a kernel by name; `auto` takes the first kernel in [`KernelId::ALL`] that can run here.
pub fn create_kernel(name: &str, options: &KernelOptions) -> Result<Box<dyn MigrationKernel>> {
    if name == "auto" {
        let mut reasons = Vec::new();
        for id in KernelId::ALL {
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

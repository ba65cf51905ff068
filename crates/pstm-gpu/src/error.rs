//! Typed errors of the GPU backend.

use pstm_kernel::KernelError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter at all: no GPU driver, no software Vulkan (Mesa lavapipe), or a backend
    /// filter (`WGPU_BACKEND`) that excludes what is there.
    #[error(
        "no GPU adapter found (backends searched: {backends}); install a GPU driver, or Mesa's \
         software Vulkan for testing (`apt-get install mesa-vulkan-drivers libvulkan1`)"
    )]
    NoAdapter { backends: String },

    /// Adapters exist, but none matches the name asked for (`PSTM_GPU_ADAPTER` or
    /// `execution.gpu.adapter`).
    #[error("no GPU adapter's name contains {wanted:?}; adapters here: {}", available.join("; "))]
    NoMatchingAdapter { wanted: String, available: Vec<String> },

    /// `execution.devices` asks for adapters that are not here.
    #[error("execution.devices: {wanted} asked for, but {why}; adapters here: {}", available.join("; "))]
    Devices { wanted: String, why: String, available: Vec<String> },

    /// The adapter refused to open a device.
    #[error("adapter {adapter} could not open a device: {message}")]
    RequestDevice { adapter: String, message: String },

    /// A WGSL module failed to compose (unknown `#include`) or to compile.
    #[error("shader {label}: {message}")]
    Shader { label: String, message: String },

    /// The device reported an error while working (validation, a failed poll).
    #[error("{what}: {message}")]
    Device { what: String, message: String },

    /// The device could not allocate what `what` needed.
    #[error("{what}: out of device memory ({message})")]
    OutOfMemory { what: String, message: String },

    /// The device was lost while doing `what`.
    #[error("{what}: device lost ({message})")]
    DeviceLost { what: String, message: String },
}

impl GpuError {
    /// Whether the error only says that no usable adapter is here (a test may skip on it).
    pub fn is_no_adapter(&self) -> bool {
        matches!(self, GpuError::NoAdapter { .. })
    }

    /// This error as a kernel error of kernel `kernel`.
    pub fn into_kernel_error(self, kernel: &str) -> KernelError {
        match self {
            GpuError::NoAdapter { .. }
            | GpuError::NoMatchingAdapter { .. }
            | GpuError::Devices { .. }
            | GpuError::RequestDevice { .. } => {
                KernelError::Unavailable { kernel: kernel.to_string(), reason: self.to_string() }
            }
            GpuError::Shader { .. } | GpuError::Device { .. } => {
                KernelError::Device { kernel: kernel.to_string(), message: self.to_string() }
            }
            GpuError::OutOfMemory { .. } => {
                KernelError::OutOfMemory { kernel: kernel.to_string(), message: self.to_string() }
            }
            GpuError::DeviceLost { .. } => {
                KernelError::DeviceLost { kernel: kernel.to_string(), message: self.to_string() }
            }
        }
    }
}

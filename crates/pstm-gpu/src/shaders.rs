//! The WGSL sources of this crate and the tiny preprocessor that composes them.
//!
//! Kernels share small modules (`shaders/shared/*.wgsl`, one concept each). WGSL has no import,
//! so a kernel names the modules it needs on lines of their own,
//!
//! ```text
//! #include "shared/traveltime.wgsl"
//! ```
//!
//! and [`compose`] replaces each such line by the module's text (a module included twice is
//! pasted once). Nothing else is rewritten: what the driver compiles is the file as written,
//! with its includes pasted in, so naga's error messages quote recognisable lines.

use crate::GpuError;

/// One WGSL file of this crate, by its path under `src/shaders/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WgslFile {
    pub path: &'static str,
    pub source: &'static str,
}

/// Modules shared by kernels; each has a CPU twin in `src/cpu/` with the same function names.
pub const SHARED: &[WgslFile] = &[
    WgslFile { path: "shared/traveltime.wgsl", source: include_str!("shaders/shared/traveltime.wgsl") },
    WgslFile { path: "shared/weights.wgsl", source: include_str!("shaders/shared/weights.wgsl") },
    WgslFile { path: "shared/velocity.wgsl", source: include_str!("shaders/shared/velocity.wgsl") },
];

/// The `gpu-v0` kernel (entry point `migrate`).
pub const GPU_V0: WgslFile = WgslFile { path: "gpu_v0.wgsl", source: include_str!("shaders/gpu_v0.wgsl") };

/// The `gpu-v1` kernel (entry point `migrate`).
pub const GPU_V1: WgslFile = WgslFile { path: "gpu_v1.wgsl", source: include_str!("shaders/gpu_v1.wgsl") };

/// Kernels: files with entry points, composed before compilation.
pub const KERNELS: &[WgslFile] = &[GPU_V0, GPU_V1];

/// How the shader sees a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindingKind {
    Uniform,
    StorageRead,
    StorageReadWrite,
    /// `texture_3d<f32>`.
    Texture3d,
    Sampler,
}

/// One binding of group 0: the Rust side of a WGSL `@binding` declaration. Pipelines build their
/// layouts from these tables, and `tests/wgsl.rs` checks every kernel's table against its WGSL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub binding: u32,
    /// The WGSL variable's name.
    pub name: &'static str,
    pub kind: BindingKind,
    /// Bytes of one array element the host writes (of the struct, for a uniform).
    pub element_bytes: usize,
}

impl Binding {
    /// The bind group layout entry of this binding, visible to compute. `filtering`: a texture
    /// is sampled with filtering (its format must be filterable) through a filtering sampler.
    pub fn layout_entry(&self, filtering: bool) -> wgpu::BindGroupLayoutEntry {
        let buffer = |ty| wgpu::BindingType::Buffer { ty, has_dynamic_offset: false, min_binding_size: None };
        let ty = match self.kind {
            BindingKind::Uniform => buffer(wgpu::BufferBindingType::Uniform),
            BindingKind::StorageRead => buffer(wgpu::BufferBindingType::Storage { read_only: true }),
            BindingKind::StorageReadWrite => buffer(wgpu::BufferBindingType::Storage { read_only: false }),
            BindingKind::Texture3d => wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: filtering },
                view_dimension: wgpu::TextureViewDimension::D3,
                multisampled: false,
            },
            BindingKind::Sampler => wgpu::BindingType::Sampler(if filtering {
                wgpu::SamplerBindingType::Filtering
            } else {
                wgpu::SamplerBindingType::NonFiltering
            }),
        };
        wgpu::BindGroupLayoutEntry { binding: self.binding, visibility: wgpu::ShaderStages::COMPUTE, ty, count: None }
    }
}

/// A kernel's shader as its host sees it: the file, its entry point, workgroup size and bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelShader {
    pub file: WgslFile,
    pub entry_point: &'static str,
    pub workgroup_size: [u32; 3],
    pub bindings: &'static [Binding],
}

/// Every kernel's shader, for the reflection tests: one entry per file of [`KERNELS`].
pub const KERNEL_SHADERS: &[KernelShader] = &[crate::gpu_v0::SHADER, crate::gpu_v1::SHADER];

const INCLUDE: &str = "#include";

/// `file` with its `#include` lines replaced by the modules they name.
pub fn compose(file: &WgslFile) -> Result<String, GpuError> {
    let mut out = String::with_capacity(file.source.len() * 2);
    let mut included = Vec::new();
    paste(file, &mut out, &mut included)?;
    Ok(out)
}

fn paste(file: &WgslFile, out: &mut String, included: &mut Vec<&'static str>) -> Result<(), GpuError> {
    for (line_no, line) in file.source.lines().enumerate() {
        let Some(rest) = line.trim().strip_prefix(INCLUDE) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let error = |message: String| GpuError::Shader { label: format!("{}:{}", file.path, line_no + 1), message };
        let name = rest
            .trim()
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .ok_or_else(|| error(format!("expected #include \"shared/<module>.wgsl\", found {line:?}")))?;
        let module = SHARED.iter().find(|m| m.path == name).ok_or_else(|| {
            let known: Vec<_> = SHARED.iter().map(|m| m.path).collect();
            error(format!("unknown module {name:?}; shared modules are {known:?}"))
        })?;
        if included.contains(&module.path) {
            continue;
        }
        included.push(module.path);
        out.push_str(&format!("// ---- begin {} ----\n", module.path));
        paste(module, out, included)?;
        out.push_str(&format!("// ---- end {} ----\n", module.path));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_are_pasted_once_and_unknown_ones_refused() {
        let composed = compose(&GPU_V0).unwrap();
        assert!(!composed.contains(INCLUDE));
        assert_eq!(composed.matches("fn leg_time(").count(), 1);
        assert_eq!(composed.matches("fn taper_weight(").count(), 1);

        let twice = WgslFile {
            path: "test.wgsl",
            source: "#include \"shared/weights.wgsl\"\n#include \"shared/weights.wgsl\"\nfn f() {}\n",
        };
        assert_eq!(compose(&twice).unwrap().matches("struct Imaging {").count(), 1);

        let unknown = WgslFile { path: "test.wgsl", source: "#include \"shared/nope.wgsl\"\n" };
        let e = compose(&unknown).unwrap_err().to_string();
        assert!(e.contains("test.wgsl:1") && e.contains("nope"), "{e}");
        let unquoted = WgslFile { path: "test.wgsl", source: "fn f() {}\n  #include shared/weights.wgsl\n" };
        assert!(compose(&unquoted).unwrap_err().to_string().contains("test.wgsl:2"));
    }
}

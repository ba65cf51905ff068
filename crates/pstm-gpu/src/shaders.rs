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
//! pasted once).
//!
//! A kernel may also be specialised ([`compose_with`], [`Specialisation`]): the value of a
//! top-level `const NAME: T = value;` line replaced (WGSL `override` constants cannot size a
//! function's arrays or unroll a loop, these can), and lines between `#if FLAG`, `#else` and
//! `#endif` kept or dropped by whether FLAG is set (a module that uses subgroup built-ins must not
//! even mention them on a device without subgroups). Nothing else is rewritten: what the driver
//! compiles is the file as written, with its includes pasted in and those lines chosen, so
//! naga's error messages quote recognisable lines.

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
    WgslFile { path: "shared/reading.wgsl", source: include_str!("shaders/shared/reading.wgsl") },
];

/// Shared modules that read the including kernel's bindings by name (each lists which): they
/// compile only inside a kernel, and are checked through the kernels that include them.
pub const KERNEL_PARTS: &[WgslFile] = &[
    WgslFile { path: "shared/velocity_source.wgsl", source: include_str!("shaders/shared/velocity_source.wgsl") },
    WgslFile { path: "shared/trace_samples.wgsl", source: include_str!("shaders/shared/trace_samples.wgsl") },
];

/// The `gpu-v0` kernel (entry point `migrate`).
pub const GPU_V0: WgslFile = WgslFile { path: "gpu_v0.wgsl", source: include_str!("shaders/gpu_v0.wgsl") };

/// The `gpu-v1` kernel (entry point `migrate`).
pub const GPU_V1: WgslFile = WgslFile { path: "gpu_v1.wgsl", source: include_str!("shaders/gpu_v1.wgsl") };

/// The `gpu-v2` kernel (entry point `migrate`).
pub const GPU_V2: WgslFile = WgslFile { path: "gpu_v2.wgsl", source: include_str!("shaders/gpu_v2.wgsl") };

/// `gpu-v2`'s trace pairs (entry point `make_pairs`).
pub const GPU_V2_PAIRS: WgslFile =
    WgslFile { path: "gpu_v2_pairs.wgsl", source: include_str!("shaders/gpu_v2_pairs.wgsl") };

/// Kernels: files with entry points, composed before compilation.
pub const KERNELS: &[WgslFile] = &[GPU_V0, GPU_V1, GPU_V2, GPU_V2_PAIRS];

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

/// The bind group of `layout` that binds `resources` at `bindings`, in table order.
pub fn bind_group<'a>(
    device: &wgpu::Device,
    label: &str,
    layout: &wgpu::BindGroupLayout,
    bindings: &[Binding],
    resources: impl IntoIterator<Item = wgpu::BindingResource<'a>>,
) -> wgpu::BindGroup {
    let entries: Vec<_> = bindings
        .iter()
        .zip(resources)
        .map(|(b, resource)| wgpu::BindGroupEntry { binding: b.binding, resource })
        .collect();
    debug_assert_eq!(entries.len(), bindings.len(), "{label}: a resource for every binding");
    device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(label), layout, entries: &entries })
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
    /// The workgroup size of the source as written (specialisation may change it).
    pub workgroup_size: [u32; 3],
    pub bindings: &'static [Binding],
    /// The `#if` flags the source knows; each needs the device feature named beside it.
    pub flags: &'static [(&'static str, wgpu::Features)],
}

/// Every kernel's shader, for the reflection tests: one entry per file of [`KERNELS`].
pub const KERNEL_SHADERS: &[KernelShader] =
    &[crate::gpu_v0::SHADER, crate::gpu_v1::SHADER, crate::gpu_v2::SHADER, crate::gpu_v2::PAIRS_SHADER];

const INCLUDE: &str = "#include";

/// How a kernel's source is specialised before compilation: constants replaced, flags set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Specialisation {
    /// `(NAME, value)`: the line `const NAME: T = ...;` becomes `const NAME: T = value;`.
    pub consts: Vec<(&'static str, String)>,
    /// Flags whose `#if FLAG` blocks are kept (their `#else` blocks dropped).
    pub flags: Vec<&'static str>,
}

impl Specialisation {
    pub fn with_const(mut self, name: &'static str, value: impl std::fmt::Display) -> Self {
        self.consts.push((name, value.to_string()));
        self
    }

    pub fn with_flag(mut self, flag: &'static str, on: bool) -> Self {
        if on {
            self.flags.push(flag);
        }
        self
    }
}

/// `file` with its `#include` lines replaced by the modules they name.
pub fn compose(file: &WgslFile) -> Result<String, GpuError> {
    compose_with(file, &Specialisation::default())
}

/// `file` composed and specialised by `spec`. A constant that the source does not declare, or
/// an `#if` without its `#endif`, is an error.
pub fn compose_with(file: &WgslFile, spec: &Specialisation) -> Result<String, GpuError> {
    let mut pasted = String::with_capacity(file.source.len() * 2);
    let mut included = Vec::new();
    paste(file, &mut pasted, &mut included)?;
    let error = |message: String| GpuError::Shader { label: file.path.to_string(), message };
    let mut out = String::with_capacity(pasted.len());
    let mut replaced = vec![false; spec.consts.len()];
    // One entry per open `#if`: whether its current branch is kept.
    let mut open: Vec<bool> = Vec::new();
    for (line_no, line) in pasted.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(flag) = trimmed.strip_prefix("#if ") {
            open.push(spec.flags.contains(&flag.trim()));
            continue;
        }
        if trimmed == "#else" || trimmed == "#endif" {
            let Some(kept) = open.last_mut() else {
                return Err(error(format!("line {}: {trimmed} without #if", line_no + 1)));
            };
            if trimmed == "#else" {
                *kept = !*kept;
            } else {
                open.pop();
            }
            continue;
        }
        if !open.iter().all(|&kept| kept) {
            continue;
        }
        let declared = trimmed.strip_prefix("const ").and_then(|rest| rest.split_once(':'));
        match declared.and_then(|(name, _)| spec.consts.iter().position(|(n, _)| *n == name.trim())) {
            Some(i) => {
                let (name, value) = &spec.consts[i];
                let ty = line.split_once(':').and_then(|(_, rest)| rest.split_once('=')).map(|(ty, _)| ty.trim());
                let ty = ty.ok_or_else(|| error(format!("line {}: cannot specialise {line:?}", line_no + 1)))?;
                out.push_str(&format!("const {name}: {ty} = {value};\n"));
                replaced[i] = true;
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if !open.is_empty() {
        return Err(error("#if without #endif".to_string()));
    }
    if let Some(i) = replaced.iter().position(|r| !r) {
        return Err(error(format!("declares no constant {} to specialise", spec.consts[i].0)));
    }
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
        let module = SHARED.iter().chain(KERNEL_PARTS).find(|m| m.path == name).ok_or_else(|| {
            let known: Vec<_> = SHARED.iter().chain(KERNEL_PARTS).map(|m| m.path).collect();
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

    #[test]
    fn specialisation_replaces_constants_and_chooses_flagged_lines() {
        let file = WgslFile {
            path: "test.wgsl",
            source: "const N: u32 = 4u;\nconst M: f32 = 1.0;\n#if FAST\nfn a() {}\n#else\nfn b() {}\n#endif\nfn c() {}\n",
        };
        let plain = compose(&file).unwrap();
        assert!(plain.contains("const N: u32 = 4u;") && plain.contains("fn b()") && !plain.contains("fn a()"));
        assert!(!plain.contains("#if") && plain.contains("fn c()"));
        let spec = Specialisation::default().with_const("N", "8u").with_flag("FAST", true);
        let fast = compose_with(&file, &spec).unwrap();
        assert!(fast.contains("const N: u32 = 8u;") && fast.contains("const M: f32 = 1.0;"), "{fast}");
        assert!(fast.contains("fn a()") && !fast.contains("fn b()"), "{fast}");
        let unknown = Specialisation::default().with_const("K", "1u");
        assert!(compose_with(&file, &unknown).unwrap_err().to_string().contains("no constant K"));
        let open = WgslFile { path: "test.wgsl", source: "#if FAST\nfn a() {}\n" };
        assert!(compose(&open).unwrap_err().to_string().contains("#endif"));
    }
}

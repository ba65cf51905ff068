//! Checks of the WGSL sources that need no GPU, run by naga, the translator wgpu itself uses:
//!
//! - every module and entry point translates to MSL (what runs on Apple Silicon; no Mac is
//!   available here, so Metal breakage must be caught in CI) and to SPIR-V (Vulkan);
//! - the bindings, struct layouts, workgroup size and constants the WGSL declares match the Rust
//!   side (`pstm_gpu::gpu_v0::BINDINGS`, `pstm_gpu::layout`), so host and shader cannot drift;
//! - every `.wgsl` file under `src/shaders` is registered, so none escapes these checks.

use naga::back::{msl, spv};
use naga::valid::{Capabilities, ModuleInfo, ValidationFlags, Validator};
use naga::{AddressSpace, Module, StorageAccess, TypeInner};
use pstm_gpu::gpu_v0::{self, BINDINGS, BindingKind};
use pstm_gpu::layout::{self, BlockParams, ImagingParams, TileParams};
use pstm_gpu::shaders::{self, KERNELS, SHARED, WgslFile};

/// Parse and validate a composed source with the capabilities every WebGPU device has: a
/// module that needs more fails here before it fails on some user's machine.
fn parse(file: &WgslFile) -> (String, Module, ModuleInfo) {
    let source = shaders::compose(file).unwrap_or_else(|e| panic!("{e}"));
    let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
        panic!("{} does not parse:\n{}", file.path, e.emit_to_string_with_path(&source, file.path))
    });
    let info = Validator::new(ValidationFlags::all(), Capabilities::default()).validate(&module).unwrap_or_else(|e| {
        panic!("{} does not validate:\n{}", file.path, e.emit_to_string_with_path(&source, file.path))
    });
    (source, module, info)
}

fn all_files() -> impl Iterator<Item = &'static WgslFile> {
    SHARED.iter().chain(KERNELS)
}

/// Bounds-check policies wgpu uses: none for release pipelines (runtime checks off), and
/// read-zero-skip-write with checks on (`PSTM_GPU_CHECKS=1`).
fn bounds_policies() -> [naga::proc::BoundsCheckPolicies; 2] {
    use naga::proc::BoundsCheckPolicy::*;
    let checked = naga::proc::BoundsCheckPolicies {
        index: ReadZeroSkipWrite,
        buffer: ReadZeroSkipWrite,
        image_load: ReadZeroSkipWrite,
        ..Default::default()
    };
    [naga::proc::BoundsCheckPolicies::default(), checked]
}

/// Metal slots as wgpu's Metal backend assigns them: one buffer slot per binding, in order, and
/// a slot for the sizes of runtime-sized arrays after them.
fn metal_resources(module: &Module) -> msl::EntryPointResources {
    let mut resources = msl::BindingMap::default();
    let mut slot = 0u8;
    for (_, var) in module.global_variables.iter() {
        if let Some(binding) = &var.binding {
            let mutable =
                matches!(var.space, AddressSpace::Storage { access } if access.contains(StorageAccess::STORE));
            resources.insert(*binding, msl::BindTarget { buffer: Some(slot), mutable, ..Default::default() });
            slot += 1;
        }
    }
    msl::EntryPointResources { resources, immediates_buffer: None, sizes_buffer: Some(slot) }
}

#[test]
fn every_module_and_entry_point_translates_to_msl_and_spirv() {
    for file in all_files() {
        let (_, module, info) = parse(file);
        // macOS 12 (MSL 2.4) is the oldest wgpu 30 supports well; macOS 15 gives MSL 3.2.
        for lang_version in [(2, 4), (3, 2)] {
            for policies in bounds_policies() {
                let per_entry_point_map =
                    module.entry_points.iter().map(|ep| (ep.name.clone(), metal_resources(&module))).collect();
                let options = msl::Options {
                    lang_version,
                    per_entry_point_map,
                    fake_missing_bindings: module.entry_points.is_empty(),
                    bounds_check_policies: policies,
                    zero_initialize_workgroup_memory: false,
                    ..Default::default()
                };
                let whole = msl::write_string(&module, &info, &options, &msl::PipelineOptions::default());
                if let Err(e) = whole {
                    panic!("{}: MSL {lang_version:?}, {policies:?}: {e}", file.path);
                }
                for ep in &module.entry_points {
                    let pipeline =
                        msl::PipelineOptions { entry_point: Some((ep.stage, ep.name.clone())), ..Default::default() };
                    if let Err(e) = msl::write_string(&module, &info, &options, &pipeline) {
                        panic!("{} entry point {}: MSL {lang_version:?}, {policies:?}: {e}", file.path, ep.name);
                    }
                }
            }
        }
        for policies in bounds_policies() {
            let options = spv::Options { bounds_check_policies: policies, ..Default::default() };
            if let Err(e) = spv::write_vec(&module, &info, &options, None) {
                panic!("{}: SPIR-V, {policies:?}: {e}", file.path);
            }
            for ep in &module.entry_points {
                let pipeline = spv::PipelineOptions { shader_stage: ep.stage, entry_point: ep.name.clone() };
                if let Err(e) = spv::write_vec(&module, &info, &options, Some(&pipeline)) {
                    panic!("{} entry point {}: SPIR-V, {policies:?}: {e}", file.path, ep.name);
                }
            }
        }
    }
}

#[test]
fn every_wgsl_file_is_registered() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/shaders");
    let mut found = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "wgsl") {
                found.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found.sort();
    let mut registered: Vec<_> = all_files().map(|f| f.path.to_string()).collect();
    registered.sort();
    assert_eq!(found, registered, "register new WGSL files in src/shaders.rs");
}

/// `(name, offset, size)` of each field of a Rust struct, for comparison with WGSL members.
macro_rules! fields {
    ($ty:ty { $($field:ident: $fty:ty),* $(,)? }) => {
        vec![$((stringify!($field), std::mem::offset_of!($ty, $field) as u32, std::mem::size_of::<$fty>() as u32)),*]
    };
}

fn struct_layout(module: &Module, name: &str) -> (Vec<(String, u32, u32)>, u32) {
    let (_, ty) = module
        .types
        .iter()
        .find(|(_, t)| t.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("WGSL has no struct {name}"));
    let TypeInner::Struct { members, span } = &ty.inner else { panic!("{name} is not a struct") };
    let members = members
        .iter()
        .map(|m| (m.name.clone().unwrap_or_default(), m.offset, module.types[m.ty].inner.size(module.to_ctx())))
        .collect();
    (members, *span)
}

fn assert_same_layout<T>(module: &Module, wgsl_name: &str, rust: Vec<(&str, u32, u32)>) {
    let (wgsl, span) = struct_layout(module, wgsl_name);
    let rust: Vec<_> = rust.into_iter().map(|(n, o, s)| (n.to_string(), o, s)).collect();
    assert_eq!(
        wgsl,
        rust,
        "WGSL {wgsl_name} vs Rust {}: (name, offset, size) of each field",
        std::any::type_name::<T>()
    );
    assert_eq!(span as usize, std::mem::size_of::<T>(), "size of {wgsl_name}");
}

fn u32_constant(module: &Module, name: &str) -> u32 {
    let (_, c) = module
        .constants
        .iter()
        .find(|(_, c)| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("WGSL has no constant {name}"));
    match module.global_expressions[c.init] {
        naga::Expression::Literal(naga::Literal::U32(v)) => v,
        ref other => panic!("constant {name} is {other:?}, not a u32 literal"),
    }
}

#[test]
fn gpu_v0_bindings_structs_and_constants_match_the_rust_side() {
    let (_, module, _) = parse(&shaders::GPU_V0);

    let mut declared: Vec<_> =
        module.global_variables.iter().filter_map(|(_, var)| var.binding.as_ref().map(|b| (*b, var))).collect();
    declared.sort_by_key(|(b, _)| (b.group, b.binding));
    assert_eq!(declared.len(), BINDINGS.len(), "number of bindings");
    let element_size = |var: &naga::GlobalVariable| match module.types[var.ty].inner {
        TypeInner::Array { stride, .. } => Some(stride),
        _ => None,
    };
    for ((binding, var), rust) in declared.iter().zip(&BINDINGS) {
        let name = var.name.as_deref().unwrap_or("?");
        assert_eq!((binding.group, binding.binding, name), (0, rust.binding, rust.name));
        let kind = match var.space {
            AddressSpace::Uniform => BindingKind::Uniform,
            AddressSpace::Storage { access } if access.contains(StorageAccess::STORE) => BindingKind::StorageReadWrite,
            AddressSpace::Storage { .. } => BindingKind::StorageRead,
            other => panic!("binding {name} in address space {other:?}"),
        };
        assert_eq!(kind, rust.kind, "access of binding {name}");
        // Element sizes of the arrays the host fills.
        let expected = match name {
            "tile" => Some(size_of::<TileParams>()),
            "block" => Some(size_of::<BlockParams>()),
            "columns" => Some(size_of::<[f32; 2]>()),
            "velocity" | "traces" | "image" => Some(size_of::<f32>()),
            "geometry" | "times" => Some(size_of::<[f32; 4]>()),
            "fold" => Some(size_of::<u32>()),
            _ => None,
        };
        let actual = element_size(var).unwrap_or_else(|| module.types[var.ty].inner.size(module.to_ctx()));
        assert_eq!(Some(actual as usize), expected, "element size of binding {name}");
    }

    assert_same_layout::<ImagingParams>(
        &module,
        "Imaging",
        fields!(ImagingParams {
            aperture_mode: u32,
            taper_kind: u32,
            spreading: u32,
            obliquity: u32,
            aperture_max_m: f32,
            aperture_min_m: f32,
            tan_max_dip: f32,
            taper_fraction: f32,
        }),
    );
    assert_same_layout::<TileParams>(
        &module,
        "TileParams",
        fields!(TileParams { n_columns: u32, nt: u32, velocity_columns: u32, pad0: u32, imaging: ImagingParams }),
    );
    assert_same_layout::<BlockParams>(
        &module,
        "BlockParams",
        fields!(BlockParams {
            n_traces: u32,
            n_samples: u32,
            accumulate: u32,
            pad0: u32,
            trace_dt_s: f32,
            inv_trace_dt: f32,
            pad1: f32,
            pad2: f32,
        }),
    );

    for (name, rust) in [
        ("APERTURE_FIXED", layout::APERTURE_FIXED),
        ("APERTURE_DIP", layout::APERTURE_DIP),
        ("TAPER_NONE", layout::TAPER_NONE),
        ("TAPER_COSINE", layout::TAPER_COSINE),
        ("TAPER_LINEAR", layout::TAPER_LINEAR),
        ("TAPER_GAUSSIAN", layout::TAPER_GAUSSIAN),
        ("WORKGROUP_SIZE", gpu_v0::WORKGROUP_SIZE),
    ] {
        assert_eq!(u32_constant(&module, name), rust, "constant {name}");
    }

    let entry = module.entry_points.iter().find(|ep| ep.name == gpu_v0::ENTRY_POINT).expect("entry point");
    assert_eq!(entry.stage, naga::ShaderStage::Compute);
    assert_eq!(entry.workgroup_size, [gpu_v0::WORKGROUP_SIZE, 1, 1]);
}

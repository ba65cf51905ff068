//! Checks of the WGSL sources that need no GPU, run by naga, the translator wgpu itself uses:
//!
//! - every module and entry point translates to MSL (what runs on Apple Silicon; no Mac is
//!   available here, so Metal breakage must be caught in CI) and to SPIR-V (Vulkan);
//! - the bindings, struct layouts, workgroup size and constants the WGSL declares match the Rust
//!   side for every kernel (`pstm_gpu::shaders::KERNEL_SHADERS`, `pstm_gpu::layout`), so host
//!   and shader cannot drift;
//! - every `.wgsl` file under `src/shaders` is registered, so none escapes these checks.

#[path = "support/naga_front.rs"]
mod naga_front;

use naga::back::{msl, spv};
use naga::valid::ModuleInfo;
use naga::{AddressSpace, Module, StorageAccess, TypeInner};
use pstm_gpu::layout::{
    self, BlockParams, BlockParamsV2, ColumnV1, ImagingParams, OutputTimeV1, OutputTimeV2, TileParams, TileParamsV1,
    TileParamsV2, TimeRange,
};
use pstm_gpu::shaders::{self, BindingKind, KERNEL_SHADERS, KERNELS, SHARED, Specialisation, WgslFile};

/// Parse and validate a composed source with the capabilities every WebGPU device has: a
/// module that needs more fails here before it fails on some user's machine.
fn parse(file: &WgslFile) -> (String, Module, ModuleInfo) {
    parse_with(file, &Specialisation::default())
}

/// As [`parse`], specialised; a flag that needs subgroups validates with subgroup operations.
fn parse_with(file: &WgslFile, spec: &Specialisation) -> (String, Module, ModuleInfo) {
    naga_front::parse_with(file, spec).unwrap_or_else(|e| panic!("{} {spec:?} {e}", file.path))
}

fn all_files() -> impl Iterator<Item = &'static WgslFile> {
    SHARED.iter().chain(KERNELS)
}

/// Each file with each specialisation the tests translate: the source as written, each flag of
/// its kernel set, and for gpu-v2 each constant the host specialises moved off its default.
fn all_variants() -> Vec<(&'static WgslFile, Specialisation)> {
    let mut out: Vec<_> = all_files().map(|f| (f, Specialisation::default())).collect();
    for shader in KERNEL_SHADERS {
        for (flag, _) in shader.flags {
            out.push((&shader.file, Specialisation::default().with_flag(flag, true)));
        }
    }
    let v2 = &pstm_gpu::gpu_v2::SHADER.file;
    for subgroups in [false, true] {
        let base = || Specialisation::default().with_flag(pstm_gpu::gpu_v2::SUBGROUPS_FLAG, subgroups);
        for spec in [
            base().with_const("WORKGROUP_SIZE", "64u").with_const("SAMPLES", "1u"),
            base().with_const("WORKGROUP_SIZE", "512u").with_const("SAMPLES", "8u"),
            base().with_const("DIP_APERTURE", true),
            base().with_const("WEIGHT_HALF_POWER", "0u"),
            base().with_const("WEIGHT_HALF_POWER", "1u"),
            base().with_const("WEIGHT_HALF_POWER", "2u"),
            base().with_const("WEIGHT_HALF_POWER", "3u"),
            base().with_const("TRAVELTIME", "1u"),
            base().with_const("TRAVELTIME", "2u").with_const("DIP_APERTURE", true),
            base().with_const("TRAVELTIME", "3u").with_const("EXACT_WEIGHTS", true),
            base().with_const("STRETCH_MUTE", true).with_const("TRAVELTIME_TABLE", true),
            base().with_const("EXACT_WEIGHTS", true).with_const("DIP_APERTURE", true),
            base().with_const("TRACE_PAIRS", false),
            base().with_const("ZERO_START", true),
            base().with_const("WORK_ITEMS", true),
            base().with_const("TRAVELTIME_TABLE", true),
            base().with_const("TRAVELTIME_TABLE", true).with_const("DIP_APERTURE", true).with_const("ZERO_START", true),
            base().with_const("WORK_ITEMS", true).with_flag(pstm_gpu::gpu_v2::PERSISTENT_FLAG, true),
            // Reading: cubic and sinc8, each antialiasing method (the triangle reads linearly).
            base().with_const("INTERPOLATION", "1u").with_const("TRACE_PAIRS", false),
            base().with_const("INTERPOLATION", "2u").with_const("ANTIALIAS", "2u").with_const("TRAVELTIME", "3u"),
            base().with_const("ANTIALIAS", "1u").with_const("TRAVELTIME", "1u").with_const("DIP_APERTURE", true),
            base().with_const("ANTIALIAS", "1u").with_const("TRACE_PAIRS", false).with_const("ZERO_START", true),
            base().with_const("ANTIALIAS", "2u").with_const("TRAVELTIME_TABLE", true).with_const("EXACT_WEIGHTS", true),
            base()
                .with_const("ANTIALIAS", "1u")
                .with_const("WORKGROUP_SIZE", "512u")
                .with_const("SAMPLES", "8u")
                .with_flag(pstm_gpu::gpu_v2::PERSISTENT_FLAG, true)
                .with_const("WORK_ITEMS", true),
            base()
                .with_const("ABLATE_ROOTS", true)
                .with_const("ABLATE_RECIPROCAL", true)
                .with_const("ABLATE_LOADS", true),
        ] {
            out.push((v2, spec));
        }
    }
    out
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
    let (mut texture_slot, mut sampler_slot) = (0u8, 0u8);
    for (_, var) in module.global_variables.iter() {
        if let Some(binding) = &var.binding {
            let target = match module.types[var.ty].inner {
                TypeInner::Image { .. } => {
                    texture_slot += 1;
                    msl::BindTarget { texture: Some(texture_slot - 1), ..Default::default() }
                }
                TypeInner::Sampler { .. } => {
                    sampler_slot += 1;
                    msl::BindTarget {
                        sampler: Some(msl::BindSamplerTarget::Resource(sampler_slot - 1)),
                        ..Default::default()
                    }
                }
                _ => {
                    let mutable =
                        matches!(var.space, AddressSpace::Storage { access } if access.contains(StorageAccess::STORE));
                    slot += 1;
                    msl::BindTarget { buffer: Some(slot - 1), mutable, ..Default::default() }
                }
            };
            resources.insert(*binding, target);
        }
    }
    msl::EntryPointResources { resources, immediates_buffer: None, sizes_buffer: Some(slot) }
}

#[test]
fn every_module_and_entry_point_translates_to_msl_and_spirv() {
    for (file, spec) in all_variants() {
        let (_, module, info) = parse_with(file, &spec);
        let file = &WgslFile { path: Box::leak(format!("{} {:?}", file.path, spec).into_boxed_str()), ..*file };
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
            // SPIR-V 1.3: subgroup operations need it (wgpu asks Vulkan 1.1 of the device for them).
            let options = spv::Options { bounds_check_policies: policies, lang_version: (1, 3), ..Default::default() };
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
    let mut registered: Vec<_> = all_files().chain(shaders::KERNEL_PARTS).map(|f| f.path.to_string()).collect();
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

fn assert_same_layout(module: &Module, wgsl_name: &str, rust: Vec<(&str, u32, u32)>, rust_size: usize) {
    let (wgsl, span) = struct_layout(module, wgsl_name);
    let rust: Vec<_> = rust.into_iter().map(|(n, o, s)| (n.to_string(), o, s)).collect();
    assert_eq!(wgsl, rust, "WGSL {wgsl_name} vs its Rust struct: (name, offset, size) of each field");
    assert_eq!(span as usize, rust_size, "size of {wgsl_name}");
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

/// `(name, offset, size)` of each field.
type Fields = Vec<(&'static str, u32, u32)>;

/// Every struct the host lays out for a shader, with its fields and size: checked in each kernel
/// module that declares it.
fn host_structs() -> Vec<(&'static str, Fields, usize)> {
    vec![
        (
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
                stretch_max: f32,
                line: u32,
                traveltime: u32,
                curve_c: f32,
                interpolation: u32,
                antialias: u32,
                pad0: u32,
                pad1: u32,
                aa_steps: [f32; 4],
            }),
            size_of::<ImagingParams>(),
        ),
        (
            "TileParams",
            fields!(TileParams {
                n_columns: u32,
                nt: u32,
                velocity_columns: u32,
                law_stride: u32,
                imaging: ImagingParams
            }),
            size_of::<TileParams>(),
        ),
        (
            "TileParamsV1",
            fields!(TileParamsV1 {
                n_columns: u32,
                nt: u32,
                velocity_source: u32,
                law_stride: u32,
                cube_nx: u32,
                cube_ny: u32,
                cube_nt: u32,
                pad1: u32,
                imaging: ImagingParams,
            }),
            size_of::<TileParamsV1>(),
        ),
        (
            "Column",
            fields!(ColumnV1 { position: [f32; 2], fraction: [f32; 2], cell: [u32; 2], pad: [u32; 2] }),
            size_of::<ColumnV1>(),
        ),
        (
            "OutputTime",
            fields!(OutputTimeV1 {
                t0: f32,
                half_t0: f32,
                base_frac: f32,
                base_index: f32,
                cell: u32,
                fraction: f32,
                pad0: u32,
                pad1: u32,
            }),
            size_of::<OutputTimeV1>(),
        ),
        (
            "TileParamsV2",
            fields!(TileParamsV2 {
                n_columns: u32,
                nt: u32,
                velocity_source: u32,
                n_items: u32,
                cube_nx: u32,
                cube_ny: u32,
                cube_nt: u32,
                law_stride: u32,
                imaging: ImagingParams,
                fast: TimeRange,
                exact: TimeRange,
                first_time_samples: f32,
                time_step_samples: f32,
                n_active: u32,
                table_distances: u32,
            }),
            size_of::<TileParamsV2>(),
        ),
        ("TimeRange", fields!(TimeRange { begin: u32, end: u32, pad0: u32, pad1: u32 }), size_of::<TimeRange>()),
        (
            "OutputTimeV2",
            fields!(OutputTimeV2 { t0: f32, half_t0_sq: f32, cell: u32, fraction: f32 }),
            size_of::<OutputTimeV2>(),
        ),
        (
            "BlockParamsV2",
            fields!(BlockParamsV2 {
                n_traces: u32,
                n_samples: u32,
                accumulate: u32,
                trace_stride: u32,
                last_index: u32,
                pad0: u32,
                pad1: u32,
                pad2: u32,
                trace_dt_s: f32,
                inv_trace_dt: f32,
                position_offset: f32,
                pad3: f32,
            }),
            size_of::<BlockParamsV2>(),
        ),
        (
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
            size_of::<BlockParams>(),
        ),
    ]
}

#[test]
fn every_kernel_has_a_host_description() {
    let described: Vec<_> = KERNEL_SHADERS.iter().map(|k| k.file.path).collect();
    let files: Vec<_> = KERNELS.iter().map(|f| f.path).collect();
    assert_eq!(described, files, "every kernel in shaders::KERNELS needs a KernelShader in KERNEL_SHADERS");
}

#[test]
fn every_kernel_s_bindings_structs_and_constants_match_the_rust_side() {
    let mut structs_seen = std::collections::BTreeSet::new();
    for shader in KERNEL_SHADERS {
        let path = shader.file.path;
        let (_, module, _) = parse(&shader.file);
        let mut declared: Vec<_> =
            module.global_variables.iter().filter_map(|(_, var)| var.binding.as_ref().map(|b| (*b, var))).collect();
        declared.sort_by_key(|(b, _)| (b.group, b.binding));
        assert_eq!(declared.len(), shader.bindings.len(), "{path}: number of bindings");
        for (i, b) in shader.bindings.iter().enumerate() {
            assert_eq!(b.binding as usize, i, "{path}: bindings are numbered in order ({})", b.name);
        }
        let element_size = |var: &naga::GlobalVariable| match module.types[var.ty].inner {
            TypeInner::Array { stride, .. } => Some(stride),
            _ => None,
        };
        for ((binding, var), rust) in declared.iter().zip(shader.bindings) {
            let name = var.name.as_deref().unwrap_or("?");
            assert_eq!((binding.group, binding.binding, name), (0, rust.binding, rust.name), "{path}");
            let kind = match var.space {
                AddressSpace::Handle => match module.types[var.ty].inner {
                    TypeInner::Image { dim: naga::ImageDimension::D3, .. } => BindingKind::Texture3d,
                    TypeInner::Sampler { .. } => BindingKind::Sampler,
                    ref other => panic!("{path}: binding {name} is a handle of type {other:?}"),
                },
                AddressSpace::Uniform => BindingKind::Uniform,
                AddressSpace::Storage { access } if access.contains(StorageAccess::STORE) => {
                    BindingKind::StorageReadWrite
                }
                AddressSpace::Storage { .. } => BindingKind::StorageRead,
                other => panic!("{path}: binding {name} in address space {other:?}"),
            };
            assert_eq!(kind, rust.kind, "{path}: access of binding {name}");
            if var.space != AddressSpace::Handle {
                let actual = element_size(var).unwrap_or_else(|| module.types[var.ty].inner.size(module.to_ctx()));
                assert_eq!(actual as usize, rust.element_bytes, "{path}: element size of binding {name}");
            }
        }
        for (name, rust, size) in host_structs() {
            if module.types.iter().any(|(_, t)| t.name.as_deref() == Some(name)) {
                assert_same_layout(&module, name, rust, size);
                structs_seen.insert(name);
            }
        }
        let declares = |name: &str| module.constants.iter().any(|(_, c)| c.name.as_deref() == Some(name));
        for (name, rust) in [
            ("APERTURE_FIXED", layout::APERTURE_FIXED),
            ("APERTURE_DIP", layout::APERTURE_DIP),
            ("TAPER_NONE", layout::TAPER_NONE),
            ("TAPER_COSINE", layout::TAPER_COSINE),
            ("TAPER_LINEAR", layout::TAPER_LINEAR),
            ("TAPER_GAUSSIAN", layout::TAPER_GAUSSIAN),
        ] {
            if declares("TAPER_NONE") {
                assert_eq!(u32_constant(&module, name), rust, "{path}: constant {name}");
            }
        }
        if declares("TRAVELTIME_STRAIGHT") {
            for (name, rust) in [
                ("TRAVELTIME_STRAIGHT", layout::TRAVELTIME_STRAIGHT),
                ("TRAVELTIME_CURVED", layout::TRAVELTIME_CURVED),
                ("TRAVELTIME_CURVED_V0", layout::TRAVELTIME_CURVED_V0),
                ("TRAVELTIME_VTI", layout::TRAVELTIME_VTI),
            ] {
                assert_eq!(u32_constant(&module, name), rust, "{path}: constant {name}");
            }
        }
        if declares("INTERPOLATION_LINEAR") {
            for (name, rust) in [
                ("INTERPOLATION_LINEAR", layout::INTERPOLATION_LINEAR),
                ("INTERPOLATION_CUBIC", layout::INTERPOLATION_CUBIC),
                ("INTERPOLATION_SINC8", layout::INTERPOLATION_SINC8),
                ("ANTIALIAS_NONE", layout::ANTIALIAS_NONE),
                ("ANTIALIAS_TRIANGLE", layout::ANTIALIAS_TRIANGLE),
                ("ANTIALIAS_WEIGHT", layout::ANTIALIAS_WEIGHT),
            ] {
                assert_eq!(u32_constant(&module, name), rust, "{path}: constant {name}");
            }
        }
        if declares("VELOCITY_TIME") {
            use layout::VelocitySource::*;
            for (name, rust) in [
                ("VELOCITY_TIME", Time),
                ("VELOCITY_COLUMNS", Columns),
                ("VELOCITY_CUBE_BUFFER", CubeBuffer),
                ("VELOCITY_CUBE_TEXTURE", CubeTexture),
                ("VELOCITY_CUBE_SAMPLED", CubeSampled),
            ] {
                assert_eq!(u32_constant(&module, name), rust as u32, "{path}: constant {name}");
            }
        }
        let entry = module.entry_points.iter().find(|ep| ep.name == shader.entry_point).expect("entry point");
        assert_eq!(entry.stage, naga::ShaderStage::Compute, "{path}");
        assert_eq!(entry.workgroup_size, shader.workgroup_size, "{path}: workgroup size");
        if module.constants.iter().any(|(_, c)| c.name.as_deref() == Some("WORKGROUP_SIZE")) {
            assert_eq!(u32_constant(&module, "WORKGROUP_SIZE"), shader.workgroup_size[0], "{path}: WORKGROUP_SIZE");
        }
    }
    let all: std::collections::BTreeSet<_> = host_structs().into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(structs_seen, all, "every host struct is declared by some kernel");
}

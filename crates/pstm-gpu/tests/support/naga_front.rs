//! A kernel's WGSL composed, parsed and validated by naga as wgpu would: shared by `tests/wgsl.rs`
//! and `examples/spirv_counts.rs` (each includes this file with `#[path]`), so both judge the
//! same module with the same capabilities.

use naga::Module;
use naga::valid::{Capabilities, ModuleInfo, ShaderStages, SubgroupOperationSet, ValidationFlags, Validator};
use pstm_gpu::shaders::{self, Specialisation, WgslFile};

/// `file` composed with `spec`, parsed and validated with the capabilities every WebGPU device
/// has, plus subgroup operations where a flag asks for them (every `#if` flag of the kernels
/// needs subgroups). Errors quote the composed source.
pub fn parse_with(file: &WgslFile, spec: &Specialisation) -> Result<(String, Module, ModuleInfo), String> {
    let source = shaders::compose_with(file, spec).map_err(|e| e.to_string())?;
    let module = naga::front::wgsl::parse_str(&source)
        .map_err(|e| format!("does not parse:\n{}", e.emit_to_string_with_path(&source, file.path)))?;
    let subgroups = !spec.flags.is_empty();
    let capabilities = if subgroups { Capabilities::SUBGROUP } else { Capabilities::default() };
    let mut validator = Validator::new(ValidationFlags::all(), capabilities);
    if subgroups {
        validator.subgroup_stages(ShaderStages::COMPUTE).subgroup_operations(SubgroupOperationSet::all());
    }
    let info = validator
        .validate(&module)
        .map_err(|e| format!("does not validate:\n{}", e.emit_to_string_with_path(&source, file.path)))?;
    Ok((source, module, info))
}

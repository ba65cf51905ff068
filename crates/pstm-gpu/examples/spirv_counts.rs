//! Instruction counts per contribution of the `gpu-v2` kernel, read from the SPIR-V that naga
//! makes of it: what wgpu hands a Vulkan driver.
//!
//! ```text
//! cargo run --release -p pstm-gpu --example spirv_counts [-- --samples 4 ...]
//!
//! --samples N         SAMPLES, output times per invocation (default 2, NVIDIA's tuned value)
//! --weight-power P    the power of 1/t in the weight, 0, 1 or 2 (default 2): WEIGHT_HALF_POWER 2P
//! --dip               DIP_APERTURE
//! --no-pairs          TRACE_PAIRS off: two loads from `traces` per contribution
//! --no-subgroups      without the SUBGROUPS flag
//! --delay             traces that start after time 0 (ZERO_START off: one more add and an
//!                     integer bound test)
//! ```
//!
//! A contribution is one trace into one output sample: one pass of the shader's innermost loop
//! over `k < SAMPLES` (found as the innermost structured loop with square roots in it). The rest
//! of the enclosing loop over the live traces `j` is paid once per trace and shared by SAMPLES
//! contributions; it is shown both as is and divided by SAMPLES. Instructions are grouped by kind,
//! loads and stores by the storage class they address.
//!
//! Limits: these are SPIR-V instructions before the driver's own optimisation, an upper bound on
//! the work and not the GPU's machine code (NVIDIA's Vulkan driver does not expose its SASS). The
//! driver unrolls the loop over `k`, keeps function-local variables and arrays in registers and
//! hoists loop-invariant uniform loads; the counts do none of that. A second total leaves out what
//! is surely bookkeeping (labels, unconditional branches, merges, function-local memory, branches
//! and selects on constants), but keeps the loop counter and the uniform loads. Blocks behind a
//! branch on a constant (`if ABLATE_ROOTS`, `if EXACT_WEIGHTS`, ...) are not counted at all, since
//! every driver drops them. A called function counts as one call; the size of its body is shown
//! beside the table, not counted, since which of its paths runs depends on the data.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;

#[path = "../tests/support/naga_front.rs"]
mod naga_front;

use naga::back::spv;
use pstm_gpu::shaders::{self, Specialisation};

const USAGE: &str =
    "usage: spirv_counts [--samples N] [--weight-power 0|1|2] [--dip] [--no-pairs] [--no-subgroups] [--delay]";
const ENTRY_POINT: &str = "migrate";

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("spirv_counts: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("spirv_counts: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args {
    samples: u32,
    weight_power: u32,
    dip: bool,
    pairs: bool,
    subgroups: bool,
    zero_start: bool,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut out = Args { samples: 2, weight_power: 2, dip: false, pairs: true, subgroups: true, zero_start: true };
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.as_str() {
                "--samples" => {
                    let v = value("--samples")?;
                    out.samples = v
                        .parse()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--samples {v:?}: expected a positive integer"))?;
                }
                "--weight-power" => {
                    let v = value("--weight-power")?;
                    out.weight_power = v
                        .parse()
                        .ok()
                        .filter(|&p| p <= 2)
                        .ok_or_else(|| format!("--weight-power {v:?}: expected 0, 1 or 2"))?;
                }
                "--dip" => out.dip = true,
                "--no-pairs" => out.pairs = false,
                "--no-subgroups" => out.subgroups = false,
                "--delay" => out.zero_start = false,
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(out)
    }

    /// As the host specialises the kernel (src/gpu_v2), at the fast weights.
    fn specialisation(&self) -> Specialisation {
        Specialisation::default()
            .with_const("WORKGROUP_SIZE", "64u")
            .with_const("SAMPLES", format!("{}u", self.samples))
            .with_const("DIP_APERTURE", self.dip)
            .with_const("WEIGHT_HALF_POWER", format!("{}u", 2 * self.weight_power))
            .with_const("EXACT_WEIGHTS", false)
            .with_const("TRACE_PAIRS", self.pairs)
            .with_const("ZERO_START", self.zero_start)
            .with_flag(pstm_gpu::gpu_v2::SUBGROUPS_FLAG, self.subgroups)
    }
}

fn run(args: &Args) -> Result<(), String> {
    let spec = args.specialisation();
    let words = compile(&spec)?;
    let module = Module::parse(&words)?;
    let loops = module.loops()?;
    let (k_loop, j_loop) = hot_loops(&module, &loops)?;
    let in_k: HashSet<usize> = (k_loop.header..k_loop.merge).collect();
    let k_tally = module.tally(k_loop.function, k_loop.blocks.iter().copied());
    let j_tally = module.tally(j_loop.function, j_loop.blocks.iter().copied().filter(|b| !in_k.contains(b)));

    let consts: Vec<_> = spec.consts.iter().map(|(name, value)| format!("{name} {value}")).collect();
    let flags = if spec.flags.is_empty() { "none".to_string() } else { spec.flags.join(", ") };
    println!("gpu-v2 `{ENTRY_POINT}`: SPIR-V 1.3 from naga, as wgpu builds it with runtime checks off");
    println!("specialisation: {}; flags: {flags}", consts.join(", "));
    for (name, l) in [("per contribution: k-loop", &k_loop), ("per trace: j-loop", &j_loop)] {
        println!(
            "{name} at block %{} ({} blocks counted; {} instructions behind branches on constants left out)",
            module.functions[l.function].blocks[l.header].label,
            l.blocks.len(),
            l.skipped
        );
    }
    println!();
    print_table(&module, &k_tally, &j_tally, args.samples);
    Ok(())
}

/// The kernel composed, validated and written as SPIR-V words.
fn compile(spec: &Specialisation) -> Result<Vec<u32>, String> {
    let (_, module, info) = naga_front::parse_with(&shaders::GPU_V2, spec)?;
    // What wgpu's Vulkan backend writes under `ShaderRuntimeChecks::unchecked()`, as the crate's
    // pipelines ask: no bounds checks, no loop-bounding counters, no guarded integer division.
    // Any of these would add instructions the measured kernel does not run.
    let mut options = spv::Options {
        lang_version: (1, 3),
        bounds_check_policies: naga::proc::BoundsCheckPolicies::default(),
        force_loop_bounding: false,
        emit_int_div_checks: false,
        ..Default::default()
    };
    // OpName for the functions called: naga writes names by default only where it was built with
    // debug assertions. Names are outside functions, so the counts do not change.
    options.flags |= spv::WriterFlags::DEBUG;
    let pipeline = spv::PipelineOptions { shader_stage: naga::ShaderStage::Compute, entry_point: ENTRY_POINT.into() };
    spv::write_vec(&module, &info, &options, Some(&pipeline)).map_err(|e| format!("SPIR-V: {e}"))
}

// Opcodes (SPIR-V 1.6 unified spec, section 3.52) that the structure walk needs by name.
const OP_NAME: u16 = 5;
const OP_EXT_INST_IMPORT: u16 = 11;
const OP_EXT_INST: u16 = 12;
const OP_TYPE_POINTER: u16 = 32;
const OP_CONSTANT_TRUE: u16 = 41;
const OP_CONSTANT_FALSE: u16 = 42;
const OP_FUNCTION: u16 = 54;
const OP_FUNCTION_PARAMETER: u16 = 55;
const OP_FUNCTION_END: u16 = 56;
const OP_FUNCTION_CALL: u16 = 57;
const OP_VARIABLE: u16 = 59;
const OP_LOAD: u16 = 61;
const OP_STORE: u16 = 62;
const OP_ACCESS_CHAIN: u16 = 65;
const OP_IN_BOUNDS_ACCESS_CHAIN: u16 = 66;
const OP_PTR_ACCESS_CHAIN: u16 = 67;
const OP_FDIV: u16 = 136;
const OP_SELECT: u16 = 169;
const OP_LOOP_MERGE: u16 = 246;
const OP_SELECTION_MERGE: u16 = 247;
const OP_LABEL: u16 = 248;
const OP_BRANCH: u16 = 249;
const OP_BRANCH_CONDITIONAL: u16 = 250;
const OP_SWITCH: u16 = 251;

const SPIRV_MAGIC: u32 = 0x0723_0203;
const GLSL_STD_450: &str = "GLSL.std.450";
const GLSL_SQRT: u32 = 31;

// Storage classes (section 3.7).
const STORAGE_FUNCTION: u32 = 7;
const STORAGE_CLASSES: &[(u32, &str)] = &[
    (0, "UniformConstant"),
    (1, "Input"),
    (2, "Uniform"),
    (3, "Output"),
    (4, "Workgroup"),
    (5, "CrossWorkgroup"),
    (6, "Private"),
    (STORAGE_FUNCTION, "Function"),
    (9, "PushConstant"),
    (11, "Image"),
    (12, "StorageBuffer"),
];

fn storage_class_name(class: Option<u32>) -> String {
    match class {
        Some(c) => STORAGE_CLASSES.iter().find(|(n, _)| *n == c).map_or(format!("storage{c}"), |(_, s)| s.to_string()),
        None => "(unknown storage)".to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Float,
    Integer,
    Comparison,
    Conversion,
    Glsl,
    Memory,
    Composite,
    Image,
    Subgroup,
    Atomic,
    Barrier,
    Call,
    Control,
    Other,
}

impl Class {
    fn title(self) -> &'static str {
        match self {
            Class::Float => "float arithmetic",
            Class::Integer => "integer arithmetic",
            Class::Comparison => "comparisons, logic, select",
            Class::Conversion => "conversions",
            Class::Glsl => "GLSL.std.450",
            Class::Memory => "memory",
            Class::Composite => "composites (vector lanes)",
            Class::Image => "images",
            Class::Subgroup => "subgroup operations",
            Class::Atomic => "atomics",
            Class::Barrier => "barriers",
            Class::Call => "calls (bodies not counted)",
            Class::Control => "control flow",
            Class::Other => "other",
        }
    }
}

/// The instructions classified by opcode alone. Loads, stores and access chains are classified by
/// storage class, extended instructions by name, calls by callee: see [`Module::kind`].
const OPCODES: &[(u16, &str, Class)] = &[
    (1, "OpUndef", Class::Other),
    (OP_FUNCTION_CALL, "OpFunctionCall", Class::Call),
    (63, "OpCopyMemory", Class::Memory),
    (68, "OpArrayLength", Class::Memory),
    (77, "OpVectorExtractDynamic", Class::Composite),
    (78, "OpVectorInsertDynamic", Class::Composite),
    (79, "OpVectorShuffle", Class::Composite),
    (80, "OpCompositeConstruct", Class::Composite),
    (81, "OpCompositeExtract", Class::Composite),
    (82, "OpCompositeInsert", Class::Composite),
    (83, "OpCopyObject", Class::Composite),
    (86, "OpSampledImage", Class::Image),
    (87, "OpImageSampleImplicitLod", Class::Image),
    (88, "OpImageSampleExplicitLod", Class::Image),
    (95, "OpImageFetch", Class::Image),
    (100, "OpImage", Class::Image),
    (103, "OpImageQuerySizeLod", Class::Image),
    (104, "OpImageQuerySize", Class::Image),
    (106, "OpImageQueryLevels", Class::Image),
    (109, "OpConvertFToU", Class::Conversion),
    (110, "OpConvertFToS", Class::Conversion),
    (111, "OpConvertSToF", Class::Conversion),
    (112, "OpConvertUToF", Class::Conversion),
    (113, "OpUConvert", Class::Conversion),
    (114, "OpSConvert", Class::Conversion),
    (115, "OpFConvert", Class::Conversion),
    (116, "OpQuantizeToF16", Class::Conversion),
    (124, "OpBitcast", Class::Conversion),
    (126, "OpSNegate", Class::Integer),
    (127, "OpFNegate", Class::Float),
    (128, "OpIAdd", Class::Integer),
    (129, "OpFAdd", Class::Float),
    (130, "OpISub", Class::Integer),
    (131, "OpFSub", Class::Float),
    (132, "OpIMul", Class::Integer),
    (133, "OpFMul", Class::Float),
    (134, "OpUDiv", Class::Integer),
    (135, "OpSDiv", Class::Integer),
    (OP_FDIV, "OpFDiv", Class::Float),
    (137, "OpUMod", Class::Integer),
    (138, "OpSRem", Class::Integer),
    (139, "OpSMod", Class::Integer),
    (140, "OpFRem", Class::Float),
    (141, "OpFMod", Class::Float),
    (142, "OpVectorTimesScalar", Class::Float),
    (148, "OpDot", Class::Float),
    (154, "OpAny", Class::Comparison),
    (155, "OpAll", Class::Comparison),
    (156, "OpIsNan", Class::Comparison),
    (157, "OpIsInf", Class::Comparison),
    (164, "OpLogicalEqual", Class::Comparison),
    (165, "OpLogicalNotEqual", Class::Comparison),
    (166, "OpLogicalOr", Class::Comparison),
    (167, "OpLogicalAnd", Class::Comparison),
    (168, "OpLogicalNot", Class::Comparison),
    (OP_SELECT, "OpSelect", Class::Comparison),
    (170, "OpIEqual", Class::Comparison),
    (171, "OpINotEqual", Class::Comparison),
    (172, "OpUGreaterThan", Class::Comparison),
    (173, "OpSGreaterThan", Class::Comparison),
    (174, "OpUGreaterThanEqual", Class::Comparison),
    (175, "OpSGreaterThanEqual", Class::Comparison),
    (176, "OpULessThan", Class::Comparison),
    (177, "OpSLessThan", Class::Comparison),
    (178, "OpULessThanEqual", Class::Comparison),
    (179, "OpSLessThanEqual", Class::Comparison),
    (180, "OpFOrdEqual", Class::Comparison),
    (181, "OpFUnordEqual", Class::Comparison),
    (182, "OpFOrdNotEqual", Class::Comparison),
    (183, "OpFUnordNotEqual", Class::Comparison),
    (184, "OpFOrdLessThan", Class::Comparison),
    (185, "OpFUnordLessThan", Class::Comparison),
    (186, "OpFOrdGreaterThan", Class::Comparison),
    (187, "OpFUnordGreaterThan", Class::Comparison),
    (188, "OpFOrdLessThanEqual", Class::Comparison),
    (189, "OpFUnordLessThanEqual", Class::Comparison),
    (190, "OpFOrdGreaterThanEqual", Class::Comparison),
    (191, "OpFUnordGreaterThanEqual", Class::Comparison),
    (194, "OpShiftRightLogical", Class::Integer),
    (195, "OpShiftRightArithmetic", Class::Integer),
    (196, "OpShiftLeftLogical", Class::Integer),
    (197, "OpBitwiseOr", Class::Integer),
    (198, "OpBitwiseXor", Class::Integer),
    (199, "OpBitwiseAnd", Class::Integer),
    (200, "OpNot", Class::Integer),
    (201, "OpBitFieldInsert", Class::Integer),
    (202, "OpBitFieldSExtract", Class::Integer),
    (203, "OpBitFieldUExtract", Class::Integer),
    (204, "OpBitReverse", Class::Integer),
    (205, "OpBitCount", Class::Integer),
    (224, "OpControlBarrier", Class::Barrier),
    (225, "OpMemoryBarrier", Class::Barrier),
    (227, "OpAtomicLoad", Class::Atomic),
    (228, "OpAtomicStore", Class::Atomic),
    (229, "OpAtomicExchange", Class::Atomic),
    (230, "OpAtomicCompareExchange", Class::Atomic),
    (234, "OpAtomicIAdd", Class::Atomic),
    (235, "OpAtomicISub", Class::Atomic),
    (237, "OpAtomicUMin", Class::Atomic),
    (239, "OpAtomicUMax", Class::Atomic),
    (240, "OpAtomicAnd", Class::Atomic),
    (241, "OpAtomicOr", Class::Atomic),
    (245, "OpPhi", Class::Control),
    (OP_LOOP_MERGE, "OpLoopMerge", Class::Control),
    (OP_SELECTION_MERGE, "OpSelectionMerge", Class::Control),
    (OP_LABEL, "OpLabel", Class::Control),
    (OP_BRANCH, "OpBranch", Class::Control),
    (OP_BRANCH_CONDITIONAL, "OpBranchConditional", Class::Control),
    (OP_SWITCH, "OpSwitch", Class::Control),
    (252, "OpKill", Class::Control),
    (253, "OpReturn", Class::Control),
    (254, "OpReturnValue", Class::Control),
    (255, "OpUnreachable", Class::Control),
    (333, "OpGroupNonUniformElect", Class::Subgroup),
    (334, "OpGroupNonUniformAll", Class::Subgroup),
    (335, "OpGroupNonUniformAny", Class::Subgroup),
    (337, "OpGroupNonUniformBroadcast", Class::Subgroup),
    (338, "OpGroupNonUniformBroadcastFirst", Class::Subgroup),
    (339, "OpGroupNonUniformBallot", Class::Subgroup),
    (345, "OpGroupNonUniformShuffle", Class::Subgroup),
    (346, "OpGroupNonUniformShuffleXor", Class::Subgroup),
    (349, "OpGroupNonUniformIAdd", Class::Subgroup),
    (350, "OpGroupNonUniformFAdd", Class::Subgroup),
    (355, "OpGroupNonUniformFMin", Class::Subgroup),
    (357, "OpGroupNonUniformUMax", Class::Subgroup),
    (358, "OpGroupNonUniformFMax", Class::Subgroup),
];

/// Instructions that structure the code rather than compute: a driver's compiler turns them into
/// fall-through and registers. Function-local loads, stores and access chains join them, and
/// branches and selects on constants.
const BOOKKEEPING: &[u16] = &[OP_LABEL, OP_BRANCH, OP_SELECTION_MERGE, OP_LOOP_MERGE];

/// GLSL.std.450 extended instructions by number (the GLSL.std.450 spec, table 1).
const GLSL_INSTRUCTIONS: &[(u32, &str)] = &[
    (1, "Round"),
    (2, "RoundEven"),
    (3, "Trunc"),
    (4, "FAbs"),
    (5, "SAbs"),
    (6, "FSign"),
    (7, "SSign"),
    (8, "Floor"),
    (9, "Ceil"),
    (10, "Fract"),
    (13, "Sin"),
    (14, "Cos"),
    (15, "Tan"),
    (16, "Asin"),
    (17, "Acos"),
    (18, "Atan"),
    (25, "Atan2"),
    (26, "Pow"),
    (27, "Exp"),
    (28, "Log"),
    (29, "Exp2"),
    (30, "Log2"),
    (GLSL_SQRT, "Sqrt"),
    (32, "InverseSqrt"),
    (37, "FMin"),
    (38, "UMin"),
    (39, "SMin"),
    (40, "FMax"),
    (41, "UMax"),
    (42, "SMax"),
    (43, "FClamp"),
    (44, "UClamp"),
    (45, "SClamp"),
    (46, "FMix"),
    (48, "Step"),
    (49, "SmoothStep"),
    (50, "Fma"),
    (53, "Ldexp"),
    (66, "Length"),
    (67, "Distance"),
    (69, "Normalize"),
    (73, "FindILsb"),
    (74, "FindSMsb"),
    (75, "FindUMsb"),
    (79, "NMin"),
    (80, "NMax"),
    (81, "NClamp"),
];

/// Functions that run on the GPU's special-function units or as a sequence of them, beside
/// division: reported on their own since they, not the FMA pipes, bound this kernel.
const SPECIAL_GLSL: &[&str] =
    &["Sqrt", "InverseSqrt", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Atan2", "Pow", "Exp", "Log", "Exp2", "Log2"];

/// What an instruction counts as: its class, a name (with the storage class for memory, the
/// callee for a call) and whether it is bookkeeping a driver removes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Kind {
    class: Class,
    name: String,
    bookkeeping: bool,
    /// The storage class addressed, for loads.
    loads_from: Option<u32>,
    /// The function called, by index, for calls.
    callee: Option<usize>,
}

#[derive(Clone, Copy)]
struct Inst<'a> {
    opcode: u16,
    /// The words after the first.
    operands: &'a [u32],
}

struct Block<'a> {
    label: u32,
    /// From the OpLabel to the terminator, both included.
    insts: Vec<Inst<'a>>,
}

struct Function<'a> {
    name: String,
    blocks: Vec<Block<'a>>,
}

struct Module<'a> {
    functions: Vec<Function<'a>>,
    /// Index in `functions` by result id.
    function_index: HashMap<u32, usize>,
    names: HashMap<u32, String>,
    glsl: Option<u32>,
    /// Storage class of every pointer a variable, access chain or parameter produces.
    pointer_class: HashMap<u32, u32>,
    bool_constants: HashMap<u32, bool>,
}

/// A structured loop: blocks `header..merge` in layout order (naga writes blocks in structured
/// order, so that range is the loop's construct).
struct Loop {
    function: usize,
    header: usize,
    merge: usize,
    /// Blocks of the range reachable from the header, branches on constants followed one way.
    blocks: Vec<usize>,
    /// Instructions of the range that are not.
    skipped: usize,
}

/// A nul-terminated UTF-8 literal string packed into words, low byte first.
fn literal_string(words: &[u32]) -> String {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).take_while(|&b| b != 0).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

impl<'a> Module<'a> {
    fn parse(words: &'a [u32]) -> Result<Self, String> {
        if words.len() < 5 || words[0] != SPIRV_MAGIC {
            return Err("not a SPIR-V module".to_string());
        }
        let mut module = Module {
            functions: Vec::new(),
            function_index: HashMap::new(),
            names: HashMap::new(),
            glsl: None,
            pointer_class: HashMap::new(),
            bool_constants: HashMap::new(),
        };
        let mut pointer_types = HashMap::new();
        let mut in_function = false;
        let mut at = 5;
        while at < words.len() {
            let count = (words[at] >> 16) as usize;
            if count == 0 || at + count > words.len() {
                return Err(format!("malformed instruction at word {at}"));
            }
            let inst = Inst { opcode: (words[at] & 0xffff) as u16, operands: &words[at + 1..at + count] };
            at += count;
            let ops = inst.operands;
            match inst.opcode {
                OP_NAME => {
                    module.names.insert(ops[0], literal_string(&ops[1..]));
                }
                OP_EXT_INST_IMPORT if literal_string(&ops[1..]) == GLSL_STD_450 => module.glsl = Some(ops[0]),
                OP_TYPE_POINTER => {
                    pointer_types.insert(ops[0], ops[1]);
                }
                OP_CONSTANT_TRUE | OP_CONSTANT_FALSE => {
                    module.bool_constants.insert(ops[1], inst.opcode == OP_CONSTANT_TRUE);
                }
                OP_FUNCTION => {
                    let name = module.names.get(&ops[1]).cloned().unwrap_or_else(|| format!("%{}", ops[1]));
                    module.function_index.insert(ops[1], module.functions.len());
                    module.functions.push(Function { name, blocks: Vec::new() });
                    in_function = true;
                }
                OP_FUNCTION_END => in_function = false,
                OP_LABEL if in_function => {
                    let function = module.functions.last_mut().expect("inside a function");
                    function.blocks.push(Block { label: ops[0], insts: Vec::new() });
                }
                _ => {}
            }
            // The storage class travels with the pointer type, so an access chain needs no walk
            // back to its root variable, and a pointer parameter is covered too.
            if matches!(
                inst.opcode,
                OP_VARIABLE | OP_ACCESS_CHAIN | OP_IN_BOUNDS_ACCESS_CHAIN | OP_PTR_ACCESS_CHAIN | OP_FUNCTION_PARAMETER
            ) && let Some(&class) = pointer_types.get(&ops[0])
            {
                module.pointer_class.insert(ops[1], class);
            }
            if in_function && let Some(block) = module.functions.last_mut().and_then(|f| f.blocks.last_mut()) {
                block.insts.push(inst);
            }
        }
        Ok(module)
    }

    /// Labels a block may branch to; a conditional branch on a constant goes one way only.
    fn successors(&self, block: &Block) -> Vec<u32> {
        let Some(last) = block.insts.last() else { return Vec::new() };
        let ops = last.operands;
        match last.opcode {
            OP_BRANCH => vec![ops[0]],
            OP_BRANCH_CONDITIONAL => match self.bool_constants.get(&ops[0]) {
                Some(true) => vec![ops[1]],
                Some(false) => vec![ops[2]],
                None => vec![ops[1], ops[2]],
            },
            // Selector, default, then (literal, label) pairs: naga switches on 32-bit integers.
            OP_SWITCH => std::iter::once(ops[1]).chain(ops[2..].chunks(2).filter_map(|c| c.get(1).copied())).collect(),
            _ => Vec::new(),
        }
    }

    fn loops(&self) -> Result<Vec<Loop>, String> {
        let mut out = Vec::new();
        for (f, function) in self.functions.iter().enumerate() {
            let index: HashMap<u32, usize> = function.blocks.iter().enumerate().map(|(i, b)| (b.label, i)).collect();
            for (header, block) in function.blocks.iter().enumerate() {
                let Some(merge_inst) = block.insts.iter().find(|i| i.opcode == OP_LOOP_MERGE) else { continue };
                let merge_label = merge_inst.operands[0];
                let merge =
                    *index.get(&merge_label).ok_or_else(|| format!("loop %{} merges at no block", block.label))?;
                if merge <= header {
                    return Err(format!("loop %{} merges at %{merge_label}, laid out before it", block.label));
                }
                let mut reached = HashSet::from([header]);
                let mut stack = vec![header];
                while let Some(b) = stack.pop() {
                    for label in self.successors(&function.blocks[b]) {
                        if let Some(&next) = index.get(&label)
                            && (header..merge).contains(&next)
                            && reached.insert(next)
                        {
                            stack.push(next);
                        }
                    }
                }
                let mut blocks: Vec<usize> = reached.into_iter().collect();
                blocks.sort_unstable();
                let skipped = (header..merge)
                    .filter(|b| blocks.binary_search(b).is_err())
                    .map(|b| function.blocks[b].insts.len())
                    .sum();
                out.push(Loop { function: f, header, merge, blocks, skipped });
            }
        }
        Ok(out)
    }

    fn kind(&self, inst: &Inst) -> Kind {
        let ops = inst.operands;
        let kind = |class, name: String| Kind { class, name, bookkeeping: false, loads_from: None, callee: None };
        match inst.opcode {
            OP_EXT_INST if Some(ops[2]) == self.glsl => {
                let name = GLSL_INSTRUCTIONS.iter().find(|(n, _)| *n == ops[3]);
                kind(Class::Glsl, name.map_or(format!("#{}", ops[3]), |(_, s)| s.to_string()))
            }
            OP_LOAD | OP_STORE | OP_ACCESS_CHAIN | OP_IN_BOUNDS_ACCESS_CHAIN | OP_PTR_ACCESS_CHAIN => {
                let (name, pointer) = match inst.opcode {
                    OP_LOAD => ("OpLoad", ops[2]),
                    OP_STORE => ("OpStore", ops[0]),
                    OP_ACCESS_CHAIN => ("OpAccessChain", ops[2]),
                    OP_IN_BOUNDS_ACCESS_CHAIN => ("OpInBoundsAccessChain", ops[2]),
                    _ => ("OpPtrAccessChain", ops[2]),
                };
                let class = self.pointer_class.get(&pointer).copied();
                Kind {
                    class: Class::Memory,
                    name: format!("{name} {}", storage_class_name(class)),
                    bookkeeping: class == Some(STORAGE_FUNCTION),
                    loads_from: if inst.opcode == OP_LOAD { class } else { None },
                    callee: None,
                }
            }
            OP_FUNCTION_CALL => {
                let callee = self.names.get(&ops[2]).cloned().unwrap_or_else(|| format!("%{}", ops[2]));
                let index = self.function_index.get(&ops[2]).copied();
                Kind { callee: index, ..kind(Class::Call, format!("OpFunctionCall {callee}")) }
            }
            // Constant conditions come from specialisation constants: the driver folds them away.
            OP_BRANCH_CONDITIONAL | OP_SELECT
                if self.bool_constants.contains_key(&ops[condition_operand(inst.opcode)]) =>
            {
                let (name, class) = match inst.opcode {
                    OP_SELECT => ("OpSelect", Class::Comparison),
                    _ => ("OpBranchConditional", Class::Control),
                };
                Kind { bookkeeping: true, ..kind(class, format!("{name} on a constant")) }
            }
            opcode => match OPCODES.iter().find(|(op, _, _)| *op == opcode) {
                Some(&(_, name, class)) => {
                    Kind { bookkeeping: BOOKKEEPING.contains(&opcode), ..kind(class, name.to_string()) }
                }
                None => kind(Class::Other, format!("op{opcode}")),
            },
        }
    }

    fn tally(&self, function: usize, blocks: impl Iterator<Item = usize>) -> BTreeMap<Kind, u32> {
        let mut out = BTreeMap::new();
        for b in blocks {
            for inst in &self.functions[function].blocks[b].insts {
                *out.entry(self.kind(inst)).or_insert(0) += 1;
            }
        }
        out
    }

    fn sqrt_count(&self, l: &Loop) -> usize {
        let is_sqrt =
            |i: &&Inst| i.opcode == OP_EXT_INST && Some(i.operands[2]) == self.glsl && i.operands[3] == GLSL_SQRT;
        l.blocks.iter().map(|&b| self.functions[l.function].blocks[b].insts.iter().filter(is_sqrt).count()).sum()
    }
}

/// Where the condition of a branch (first operand) or select (after result type and id) is.
fn condition_operand(opcode: u16) -> usize {
    if opcode == OP_SELECT { 2 } else { 0 }
}

fn contains(outer: &Loop, inner: &Loop) -> bool {
    outer.function == inner.function
        && outer.header <= inner.header
        && inner.merge <= outer.merge
        && (outer.header, outer.merge) != (inner.header, inner.merge)
}

/// The loop over `k` (the innermost loop with square roots, the deepest if several) and the loop
/// around it, over `j`.
fn hot_loops<'l>(module: &Module, loops: &'l [Loop]) -> Result<(&'l Loop, &'l Loop), String> {
    let depth = |l: &Loop| loops.iter().filter(|o| contains(o, l)).count();
    let k_loop = loops
        .iter()
        .filter(|l| module.sqrt_count(l) > 0)
        .filter(|l| !loops.iter().any(|inner| contains(l, inner) && module.sqrt_count(inner) > 0))
        .max_by_key(|l| (depth(l), std::cmp::Reverse(l.merge - l.header)))
        .ok_or_else(|| format!("no loop with square roots among the {} loops of the SPIR-V", loops.len()))?;
    let j_loop = loops
        .iter()
        .filter(|l| contains(l, k_loop))
        .min_by_key(|l| l.merge - l.header)
        .ok_or("the loop with square roots is in no other loop: no per-trace part to report")?;
    Ok((k_loop, j_loop))
}

fn print_table(module: &Module, k: &BTreeMap<Kind, u32>, j: &BTreeMap<Kind, u32>, samples: u32) {
    let per = f64::from(samples);
    let count = |tally: &BTreeMap<Kind, u32>, keep: &dyn Fn(&Kind) -> bool| -> u32 {
        tally.iter().filter(|(kind, _)| keep(kind)).map(|(_, n)| n).sum()
    };
    let row = |label: &str, in_k: u32, in_j: u32| {
        let amortised = f64::from(in_j) / per;
        println!("{label:<50}{in_k:>12}{in_j:>12}{amortised:>14.2}{:>14.2}", f64::from(in_k) + amortised);
    };
    println!("{:<50}{:>12}{:>12}{:>14}{:>14}", "", "k-loop", "per trace", "per trace", "sum");
    println!(
        "{:<50}{:>12}{:>12}{:>14}{:>14}",
        "instructions", "(1 contr.)", "(S contr.)", "/ S = amort.", "(1 contr.)"
    );
    let mut kinds: Vec<&Kind> = k.keys().chain(j.keys()).collect();
    kinds.sort();
    kinds.dedup();
    let mut classes: Vec<Class> = kinds.iter().map(|kind| kind.class).collect();
    classes.dedup();
    for class in classes {
        let of_class = |kind: &Kind| kind.class == class;
        row(class.title(), count(k, &of_class), count(j, &of_class));
        for kind in kinds.iter().filter(|kind| kind.class == class) {
            let mark = if kind.bookkeeping { " *" } else { "" };
            let get = |tally: &BTreeMap<Kind, u32>| tally.get(*kind).copied().unwrap_or(0);
            row(&format!("  {}{mark}", kind.name), get(k), get(j));
        }
    }
    println!();
    row("total", count(k, &|_| true), count(j, &|_| true));
    let work = |kind: &Kind| !kind.bookkeeping;
    row("arithmetic, conversions, comparisons and memory", count(k, &work), count(j, &work));
    println!("  (total less the bookkeeping marked *: labels, unconditional branches, merges, function-local");
    println!("  memory, branches and selects on constants)");
    // A driver inlines these, so their work belongs to the loop; how much depends on the path
    // taken, which this count cannot know.
    for callee in kinds.iter().filter_map(|kind| kind.callee) {
        let function = &module.functions[callee];
        let body = module.tally(callee, 0..function.blocks.len());
        let (all, work) = (count(&body, &|_| true), count(&body, &work));
        let calls: Vec<_> = body.keys().filter_map(|kind| kind.callee).map(|f| &*module.functions[f].name).collect();
        let unfollowed =
            if calls.is_empty() { String::new() } else { format!("; its calls of {} not followed", calls.join(", ")) };
        println!(
            "  not counted: {}'s body, {all} instructions on all its paths ({work} not bookkeeping{unfollowed})",
            function.name
        );
    }

    println!();
    println!("special functions");
    let glsl = |name: &'static str| move |kind: &Kind| kind.class == Class::Glsl && kind.name == name;
    for name in ["Sqrt", "InverseSqrt"] {
        row(&format!("  {name}"), count(k, &glsl(name)), count(j, &glsl(name)));
    }
    let fdiv = |kind: &Kind| kind.name == "OpFDiv";
    row("  FDiv (reciprocal or division)", count(k, &fdiv), count(j, &fdiv));
    for name in SPECIAL_GLSL.iter().filter(|n| !matches!(**n, "Sqrt" | "InverseSqrt")) {
        let (in_k, in_j) = (count(k, &glsl(name)), count(j, &glsl(name)));
        if in_k + in_j > 0 {
            row(&format!("  {name}"), in_k, in_j);
        }
    }
    println!("loads");
    for (label, class) in [("  device memory (StorageBuffer)", 12), ("  workgroup", 4), ("  uniform", 2)] {
        let from = |kind: &Kind| kind.loads_from == Some(class);
        row(label, count(k, &from), count(j, &from));
    }
}

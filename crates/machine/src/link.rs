//! Linking a program with the WASI shim, and the float-free copy the engines run.
//!
//! ```text
//!  program.wasm ──check imports──> link ──> linked module ──lower──> machine code
//!  (imports wasi_snapshot_preview1.*      (imports only ecm.*;      └─strip floats─> engine module
//!   and/or ecm.*)                          the shim's functions          (wasmtime, wasmi)
//!                                          appended, calls rewired)
//! ```
//!
//! The linked module is an ordinary module: the program's functions first (after the `ecm`
//! imports), then the shim's. Every engine runs the same linked code, so WASI behaves the
//! same everywhere. The engines' copy replaces each float instruction by `unreachable`, which
//! is valid anywhere, so they trap exactly where the machine does.

use crate::{
    abi::{self, Primitive},
    error::{LoadError, Result},
    module::{self, Sections, describe},
};
use std::{collections::HashMap, convert::Infallible};
use wasm_encoder::{
    CodeSection, DataCountSection, DataSection, ElementSection, EntityType, ExportSection,
    FunctionSection, GlobalSection, ImportSection, MemorySection, Module, StartSection,
    TableSection, TypeSection,
    reencode::{Error as ReencodeError, Reencode, RoundtripReencoder},
};
use wasmparser::{Operator, Parser, Payload, TypeRef};

/// The shim's source.
pub const SHIM_WAT: &str = include_str!("../shim/wasi.wat");

/// The shim assembled from `SHIM_WAT`, checked in so that the agents and the `ecm` binary do not
/// compile a WAT parser; a unit test fails if it is stale, and
/// `ECM_UPDATE_SHIM=1 cargo test -p ecm-machine --lib shim` rewrites it.
static SHIM: &[u8] = include_bytes!("../shim/wasi.wasm");

/// The shim, assembled.
pub fn shim_wasm() -> &'static [u8] {
    SHIM
}

/// The WASI functions the shim provides.
pub fn shim_functions() -> Vec<&'static str> {
    let shim = Sections::read(shim_wasm()).expect("the shim reads");
    shim.exports.iter().map(|e| e.name).collect()
}

/// A program linked with the shim: the module the machine lowers.
#[derive(Clone, Debug)]
pub struct Linked {
    /// The linked module's bytes.
    pub bytes: Vec<u8>,
    /// Function names by index in the linked module, for messages.
    pub names: HashMap<u32, String>,
}

/// Checks a validated module's imports and links the shim in if it imports WASI.
pub fn link(bytes: &[u8]) -> Result<Linked> {
    let program = Sections::read(bytes)?;
    let mut wasi = false;
    for import in &program.imports {
        let kind = match import.ty {
            TypeRef::Func(t) | TypeRef::FuncExact(t) => Ok(t),
            TypeRef::Memory(_) => Err("memory"),
            TypeRef::Table(_) => Err("table"),
            TypeRef::Global(_) => Err("global"),
            TypeRef::Tag(_) => Err("tag"),
        };
        let type_index = kind.map_err(|kind| LoadError::ImportKind {
            module: import.module.into(),
            name: import.name.into(),
            kind,
        })?;
        let found = &program.types[type_index as usize];
        let expected = match import.module {
            abi::MODULE => Primitive::by_name(import.name)
                .ok_or_else(|| unsupported(import.module, import.name))?
                .func_type(),
            abi::WASI_MODULE => {
                wasi = true;
                shim_type(import.name).ok_or_else(|| unsupported(import.module, import.name))?
            }
            _ => return Err(unsupported(import.module, import.name)),
        };
        if *found != expected {
            return Err(LoadError::ImportType {
                module: import.module.into(),
                name: import.name.into(),
                expected: describe(&expected),
                found: describe(found),
            });
        }
    }
    if !wasi {
        return Ok(Linked {
            bytes: bytes.to_vec(),
            names: program.names.clone(),
        });
    }
    if program.memories.is_empty() {
        return Err(LoadError::NoMemory);
    }
    merge(bytes, &program)
}

fn unsupported(module: &str, name: &str) -> LoadError {
    let hint = match module {
        abi::WASI_MODULE => format!(
            "the machine serves these WASI functions: {}; anything else (files, sockets, \
             threads) is not available to a deterministic program",
            shim_functions().join(", ")
        ),
        abi::MODULE => format!(
            "the machine's primitives are {}",
            abi::PRIMITIVES
                .iter()
                .map(|p| format!("ecm.{}", p.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "a program may import only WASI preview 1 (wasi_snapshot_preview1) and the \
              ecm primitives; build it as a self-contained wasm32-wasip1 command"
            .to_string(),
    };
    LoadError::UnsupportedImport {
        module: module.into(),
        name: name.into(),
        hint,
    }
}

fn shim_type(name: &str) -> Option<wasmparser::FuncType> {
    let shim = Sections::read(shim_wasm()).expect("the shim reads");
    let func = shim.exported_func(name)?;
    Some(shim.func_type(func).clone())
}

/// Function indices, types and globals of one input module in the linked module.
struct Remap {
    funcs: Vec<u32>,
    type_offset: u32,
    global_offset: u32,
}

impl Reencode for Remap {
    type Error = Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, ReencodeError<Infallible>> {
        Ok(self.funcs[func as usize])
    }

    fn type_index(&mut self, ty: u32) -> Result<u32, ReencodeError<Infallible>> {
        Ok(ty + self.type_offset)
    }

    fn global_index(&mut self, global: u32) -> Result<u32, ReencodeError<Infallible>> {
        Ok(global + self.global_offset)
    }
}

fn encode_error(e: ReencodeError<Infallible>) -> LoadError {
    LoadError::Invalid(format!("re-encoding the module: {e}"))
}

/// The program and the shim as one module.
fn merge(bytes: &[u8], program: &Sections<'_>) -> Result<Linked> {
    let shim_bytes = shim_wasm();
    let shim = Sections::read(shim_bytes)?;

    // Imports of the linked module: the program's ecm imports, then those only the shim uses.
    let mut imports: Vec<&str> = program
        .imports
        .iter()
        .filter(|i| i.module == abi::MODULE)
        .map(|i| i.name)
        .collect();
    for import in shim.imports.iter().filter(|i| i.module == abi::MODULE) {
        if !imports.contains(&import.name) {
            imports.push(import.name);
        }
    }
    let n_imports = imports.len() as u32;
    let import_index = |name: &str| imports.iter().position(|n| *n == name).unwrap() as u32;
    let program_defined = program.functions.len() as u32;
    let shim_first = n_imports + program_defined;

    let mut program_map = Remap {
        funcs: Vec::new(),
        type_offset: 0,
        global_offset: 0,
    };
    for import in program.imports.iter() {
        program_map.funcs.push(match import.module {
            abi::MODULE => import_index(import.name),
            _ => {
                let shim_func = shim.exported_func(import.name).unwrap();
                shim_first + shim_func - shim.imported_functions()
            }
        });
    }
    program_map
        .funcs
        .extend((0..program_defined).map(|d| n_imports + d));

    let mut shim_map = Remap {
        funcs: Vec::new(),
        type_offset: program.types.len() as u32,
        global_offset: program.globals.len() as u32,
    };
    for import in shim.imports.iter() {
        if matches!(import.ty, TypeRef::Func(_)) {
            shim_map.funcs.push(import_index(import.name));
        }
    }
    shim_map
        .funcs
        .extend((0..shim.functions.len() as u32).map(|d| shim_first + d));

    let mut types = TypeSection::new();
    let mut import_section = ImportSection::new();
    let mut functions = FunctionSection::new();
    let mut tables = TableSection::new();
    let mut memories = MemorySection::new();
    let mut globals = GlobalSection::new();
    let mut exports = ExportSection::new();
    let mut start = None;
    let mut elements = ElementSection::new();
    let mut data_count = None;
    let mut code = CodeSection::new();
    let mut data = DataSection::new();

    for (map, bytes) in [(&mut program_map, bytes), (&mut shim_map, shim_bytes)] {
        let is_program = map.type_offset == 0;
        for payload in Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(|e| LoadError::Invalid(e.to_string()))?;
            match payload {
                Payload::TypeSection(reader) => map
                    .parse_type_section(&mut types, reader)
                    .map_err(encode_error)?,
                Payload::FunctionSection(reader) => map
                    .parse_function_section(&mut functions, reader)
                    .map_err(encode_error)?,
                Payload::TableSection(reader) => map
                    .parse_table_section(&mut tables, reader)
                    .map_err(encode_error)?,
                Payload::MemorySection(reader) => map
                    .parse_memory_section(&mut memories, reader)
                    .map_err(encode_error)?,
                Payload::GlobalSection(reader) => map
                    .parse_global_section(&mut globals, reader)
                    .map_err(encode_error)?,
                Payload::ExportSection(reader) if is_program => map
                    .parse_export_section(&mut exports, reader)
                    .map_err(encode_error)?,
                Payload::StartSection { func, .. } if is_program => {
                    start = Some(map.function_index(func).map_err(encode_error)?)
                }
                Payload::ElementSection(reader) => map
                    .parse_element_section(&mut elements, reader)
                    .map_err(encode_error)?,
                Payload::DataCountSection { count, .. } if is_program => data_count = Some(count),
                Payload::CodeSectionEntry(body) => map
                    .parse_function_body(&mut code, body)
                    .map_err(encode_error)?,
                Payload::DataSection(reader) => map
                    .parse_data_section(&mut data, reader)
                    .map_err(encode_error)?,
                _ => {}
            }
        }
    }
    for name in &imports {
        let primitive = Primitive::by_name(name).expect("checked");
        // The primitive's type: find or add it in the type section.
        let ty = primitive.func_type();
        types.ty().function(
            ty.params().iter().map(|_| wasm_encoder::ValType::I32),
            ty.results().iter().map(|_| wasm_encoder::ValType::I32),
        );
        import_section.import(abi::MODULE, name, EntityType::Function(types.len() - 1));
    }

    let mut module = Module::new();
    module.section(&types);
    module.section(&import_section);
    module.section(&functions);
    if !tables.is_empty() {
        module.section(&tables);
    }
    module.section(&memories);
    if !globals.is_empty() {
        module.section(&globals);
    }
    module.section(&exports);
    if let Some(function_index) = start {
        module.section(&StartSection { function_index });
    }
    if !elements.is_empty() {
        module.section(&elements);
    }
    if let Some(count) = data_count {
        module.section(&DataCountSection { count });
    }
    module.section(&code);
    module.section(&data);
    let linked = module.finish();
    module::validate(&linked)
        .map_err(|e| LoadError::Invalid(format!("linking the WASI shim: {e}")))?;

    let mut names = HashMap::new();
    for (old, name) in &program.names {
        names.insert(program_map.funcs[*old as usize], name.clone());
    }
    for export in &shim.exports {
        names.insert(
            shim_map.funcs[export.index as usize],
            format!("{}.{} (shim)", abi::WASI_MODULE, export.name),
        );
    }
    Ok(Linked {
        bytes: linked,
        names,
    })
}

/// Whether an operator computes with floats (and so traps in v1).
pub fn is_float(op: &Operator<'_>) -> bool {
    use Operator::*;
    matches!(
        op,
        F32Load { .. }
            | F64Load { .. }
            | F32Store { .. }
            | F64Store { .. }
            | F32Const { .. }
            | F64Const { .. }
            | F32Eq
            | F32Ne
            | F32Lt
            | F32Gt
            | F32Le
            | F32Ge
            | F64Eq
            | F64Ne
            | F64Lt
            | F64Gt
            | F64Le
            | F64Ge
            | F32Abs
            | F32Neg
            | F32Ceil
            | F32Floor
            | F32Trunc
            | F32Nearest
            | F32Sqrt
            | F32Add
            | F32Sub
            | F32Mul
            | F32Div
            | F32Min
            | F32Max
            | F32Copysign
            | F64Abs
            | F64Neg
            | F64Ceil
            | F64Floor
            | F64Trunc
            | F64Nearest
            | F64Sqrt
            | F64Add
            | F64Sub
            | F64Mul
            | F64Div
            | F64Min
            | F64Max
            | F64Copysign
            | I32TruncF32S
            | I32TruncF32U
            | I32TruncF64S
            | I32TruncF64U
            | I64TruncF32S
            | I64TruncF32U
            | I64TruncF64S
            | I64TruncF64U
            | F32ConvertI32S
            | F32ConvertI32U
            | F32ConvertI64S
            | F32ConvertI64U
            | F32DemoteF64
            | F64ConvertI32S
            | F64ConvertI32U
            | F64ConvertI64S
            | F64ConvertI64U
            | F64PromoteF32
            | I32ReinterpretF32
            | I64ReinterpretF64
            | F32ReinterpretI32
            | F64ReinterpretI64
            | I32TruncSatF32S
            | I32TruncSatF32U
            | I32TruncSatF64S
            | I32TruncSatF64U
            | I64TruncSatF32S
            | I64TruncSatF32U
            | I64TruncSatF64S
            | I64TruncSatF64U
    )
}

/// The name under which the engine module exports memory 0, for the host functions (a
/// program need not export its memory itself).
pub const MEMORY_EXPORT: &str = "__ecm_memory";

/// Re-encodes a module with each float instruction replaced by `unreachable`, and memory 0
/// exported as [`MEMORY_EXPORT`].
struct StripFloats {
    has_memory: bool,
}

impl Reencode for StripFloats {
    type Error = Infallible;

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError<Infallible>> {
        wasm_encoder::reencode::utils::parse_export_section(self, exports, section)?;
        if self.has_memory {
            exports.export(MEMORY_EXPORT, wasm_encoder::ExportKind::Memory, 0);
        }
        Ok(())
    }

    fn instruction<'a>(
        &mut self,
        op: Operator<'a>,
    ) -> Result<wasm_encoder::Instruction<'a>, ReencodeError<Infallible>> {
        if is_float(&op) {
            return Ok(wasm_encoder::Instruction::Unreachable);
        }
        RoundtripReencoder.instruction(op)
    }
}

/// The linked module as wasmtime and wasmi run it: float instructions become `unreachable`.
pub fn strip_floats(linked: &[u8]) -> Result<Vec<u8>> {
    let has_memory = !Sections::read(linked)?.memories.is_empty();
    let mut module = Module::new();
    StripFloats { has_memory }
        .parse_core_module(&mut module, Parser::new(0), linked)
        .map_err(encode_error)?;
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_wasm_is_the_assembled_shim_wat() {
        let assembled = wat::parse_str(SHIM_WAT).expect("the WASI shim is valid WAT");
        if std::env::var_os("ECM_UPDATE_SHIM").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/shim/wasi.wasm");
            std::fs::write(path, &assembled).unwrap();
        }
        assert!(
            assembled == SHIM,
            "shim/wasi.wasm is not shim/wasi.wat assembled: run \
             `ECM_UPDATE_SHIM=1 cargo test -p ecm-machine --lib shim` and commit both"
        );
    }
    #[test]
    fn the_shim_is_valid_and_imports_only_primitives() {
        module::validate(shim_wasm()).unwrap();
        let shim = Sections::read(shim_wasm()).unwrap();
        for import in &shim.imports {
            match import.ty {
                TypeRef::Func(_) => {
                    assert_eq!(import.module, abi::MODULE);
                    assert!(Primitive::by_name(import.name).is_some(), "{}", import.name);
                }
                TypeRef::Memory(_) => assert_eq!((import.module, import.name), ("env", "memory")),
                _ => panic!("unexpected shim import {import:?}"),
            }
        }
        for name in [
            "fd_read",
            "fd_write",
            "proc_exit",
            "environ_get",
            "random_get",
        ] {
            assert!(shim_functions().contains(&name), "{name}");
        }
    }

    #[test]
    fn a_wasi_module_links_to_one_importing_only_primitives() {
        let wasm = wat::parse_str(
            r#"(module
                (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                (import "ecm" "output" (func $out (param i32 i32)))
                (memory (export "memory") 1)
                (func (export "_start") (call $out (i32.const 0) (i32.const 0)) (call $exit (i32.const 3))))"#,
        )
        .unwrap();
        let linked = link(&wasm).unwrap();
        let sections = Sections::read(&linked.bytes).unwrap();
        let imports: Vec<_> = sections
            .imports
            .iter()
            .map(|i| (i.module, i.name))
            .collect();
        assert_eq!(
            imports[0],
            ("ecm", "output"),
            "the program's own import keeps index 0"
        );
        assert!(imports.iter().all(|(m, _)| *m == "ecm"));
        assert!(linked.names.values().any(|n| n.contains("proc_exit")));
    }

    #[test]
    fn imports_are_checked_by_name_kind_and_type() {
        let module = |import: &str| {
            wat::parse_str(format!(
                "(module {import} (memory 1) (func (export \"_start\")))"
            ))
            .unwrap()
        };
        let cases = [
            (r#"(import "env" "f" (func))"#, "imports `env.f`"),
            (
                r#"(import "wasi_snapshot_preview1" "sock_accept" (func (param i32 i32 i32) (result i32)))"#,
                "fd_read",
            ),
            (
                r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))"#,
                "(i32, i32, i32, i32) -> (i32)",
            ),
            (r#"(import "ecm" "output" (global i32))"#, "global"),
        ];
        for (import, expected) in cases {
            let err = link(&module(import)).unwrap_err().to_string();
            assert!(err.contains(expected), "{import}: {err}");
        }
    }

    #[test]
    fn strip_floats_replaces_only_float_instructions() {
        let wasm = wat::parse_str(
            r#"(module (func (export "f") (result i32)
                 (drop (f64.add (f64.const 1) (f64.const 2))) (i32.const 7)))"#,
        )
        .unwrap();
        let stripped = strip_floats(&wasm).unwrap();
        module::validate(&stripped).unwrap();
        let text = wasmprinter::print_bytes(&stripped).unwrap();
        assert!(
            !text.contains("f64.add")
                && text.contains("unreachable")
                && text.contains("i32.const 7")
        );
    }
}

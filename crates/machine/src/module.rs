//! A WebAssembly module read into its sections, and the validation every module gets first.

use crate::error::{LoadError, Result};
use std::collections::HashMap;
use wasmparser::{
    CompositeInnerType, DataSectionReader, ElementSectionReader, Export, FuncType, FunctionBody,
    Global, Import, KnownCustom, MemoryType, Name, Parser, Payload, TableType, TypeRef, Validator,
    WasmFeatures,
};

/// The WebAssembly features a module may use: the integer MVP with mutable globals,
/// sign extension, multi-value, bulk memory, the reference types that `call_indirect` needs
/// (LLVM encodes its table index that way), and floats, whose instructions trap when executed.
pub fn features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::REFERENCE_TYPES
        | WasmFeatures::MULTI_VALUE
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::FLOATS
        | WasmFeatures::GC_TYPES
}

/// Validates `bytes` with the machine's features; the error names the feature to drop.
pub fn validate(bytes: &[u8]) -> Result<()> {
    if let Err(e) = Validator::new_with_features(features()).validate_all(bytes) {
        let message = e.message().to_string();
        // A module that is valid WebAssembly but uses a proposal the machine leaves out.
        if Validator::new_with_features(WasmFeatures::all())
            .validate_all(bytes)
            .is_ok()
        {
            return Err(LoadError::UnsupportedFeature {
                detail: format!("{message} (at byte {:#x})", e.offset()),
            });
        }
        return Err(LoadError::Invalid(format!(
            "{message} (at byte {:#x})",
            e.offset()
        )));
    }
    Ok(())
}

/// A module's sections, read but not interpreted.
#[derive(Default)]
pub struct Sections<'a> {
    /// Function types, by type index.
    pub types: Vec<FuncType>,
    /// Imports, in order.
    pub imports: Vec<Import<'a>>,
    /// The type index of each defined function.
    pub functions: Vec<u32>,
    /// Tables.
    pub tables: Vec<TableType>,
    /// Memories.
    pub memories: Vec<MemoryType>,
    /// Globals.
    pub globals: Vec<Global<'a>>,
    /// Exports.
    pub exports: Vec<Export<'a>>,
    /// The start function.
    pub start: Option<u32>,
    /// The element section.
    pub elements: Option<ElementSectionReader<'a>>,
    /// The data count section's value.
    pub data_count: Option<u32>,
    /// Function bodies, one per defined function.
    pub code: Vec<FunctionBody<'a>>,
    /// The data section.
    pub data: Option<DataSectionReader<'a>>,
    /// Function names from the `name` section, by function index.
    pub names: HashMap<u32, String>,
}

impl<'a> Sections<'a> {
    /// Reads a module that [`validate`] accepted.
    pub fn read(bytes: &'a [u8]) -> Result<Self> {
        let invalid = |e: wasmparser::BinaryReaderError| LoadError::Invalid(e.to_string());
        let mut s = Sections::default();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.map_err(invalid)? {
                Payload::TypeSection(reader) => {
                    for ty in reader.into_iter_err_on_gc_types() {
                        s.types.push(ty.map_err(invalid)?);
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        s.imports.push(import.map_err(invalid)?);
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        s.functions.push(ty.map_err(invalid)?);
                    }
                }
                Payload::TableSection(reader) => {
                    for table in reader {
                        s.tables.push(table.map_err(invalid)?.ty);
                    }
                }
                Payload::MemorySection(reader) => {
                    for memory in reader {
                        s.memories.push(memory.map_err(invalid)?);
                    }
                }
                Payload::GlobalSection(reader) => {
                    for global in reader {
                        s.globals.push(global.map_err(invalid)?);
                    }
                }
                Payload::ExportSection(reader) => {
                    for export in reader {
                        s.exports.push(export.map_err(invalid)?);
                    }
                }
                Payload::StartSection { func, .. } => s.start = Some(func),
                Payload::ElementSection(reader) => s.elements = Some(reader),
                Payload::DataCountSection { count, .. } => s.data_count = Some(count),
                Payload::CodeSectionEntry(body) => s.code.push(body),
                Payload::DataSection(reader) => s.data = Some(reader),
                Payload::CustomSection(reader) => {
                    if let KnownCustom::Name(names) = reader.as_known() {
                        for name in names.into_iter().flatten() {
                            if let Name::Function(map) = name {
                                for naming in map.into_iter().flatten() {
                                    s.names.insert(naming.index, naming.name.to_string());
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(s)
    }

    /// How many functions are imported.
    pub fn imported_functions(&self) -> u32 {
        self.imports
            .iter()
            .filter(|i| matches!(i.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)))
            .count() as u32
    }

    /// The type of function `func` (imported or defined).
    pub fn func_type(&self, func: u32) -> &FuncType {
        let imported = self.imported_functions();
        let type_index = if func < imported {
            self.imports
                .iter()
                .filter_map(|i| match i.ty {
                    TypeRef::Func(t) | TypeRef::FuncExact(t) => Some(t),
                    _ => None,
                })
                .nth(func as usize)
                .expect("function index validated")
        } else {
            self.functions[(func - imported) as usize]
        };
        &self.types[type_index as usize]
    }

    /// The function exported as `name`, if any.
    pub fn exported_func(&self, name: &str) -> Option<u32> {
        self.exports
            .iter()
            .find(|e| e.name == name && e.kind == wasmparser::ExternalKind::Func)
            .map(|e| e.index)
    }
}

/// The function type a type-section entry holds (only function types pass validation).
pub fn func_type_of(ty: &wasmparser::SubType) -> Option<&FuncType> {
    match &ty.composite_type.inner {
        CompositeInnerType::Func(f) => Some(f),
        _ => None,
    }
}

/// `(i32, i64) -> (i32)`, for messages.
pub fn describe(ty: &FuncType) -> String {
    let list = |types: &[wasmparser::ValType]| {
        types
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(ty.params()), list(ty.results()))
}

//! Lowering: a validated, linked module to the machine's flat code.
//!
//! ```text
//!  module ──validate──> link (WASI shim) ──> per function: structured WASM ─> flat code
//!                                             block/loop/end    -> nothing (0 steps)
//!                                             if / else         -> JUMP_IF_ZERO / BR
//!                                             br, br_if         -> BR, BR_IF with the unwinding
//!                                             br_table          -> BR_TABLE + one BR per target
//!                                             call, return      -> CALL, RETURN
//!                                             float ops         -> TRAP
//!           layout: entry stub at pc 0 (CALL start, CALL entry, CONST 0, HALT), then the
//!           functions; tables, globals and memory applied; the initial core hashed
//! ```
//!
//! Operand heights come from wasmparser's validator, run alongside (as Nitro's lowering tracks
//! them in its `StackState`): a branch keeps its label's arity and drops what lies between.

use crate::{
    abi::{self, Primitive},
    error::{LoadError, Result},
    hash::{Core, values_depth, values_root},
    inst::{Inst, Op},
    limits::*,
    link::{self, is_float},
    memory::MemorySnapshot,
    module::{self, Sections, features},
    program::{Callee, Export, ProgramInner, code_leaf, module_root},
    tree::{self, MerkleTree},
};
use alloy_primitives::{B256, keccak256};
use std::collections::{BTreeMap, HashMap};
use wasmparser::{
    BlockType, ConstExpr, DataKind, ElementItems, ElementKind, ExternalKind, FuncType,
    FuncValidator, FunctionBody, Operator, Parser, RefType, ValType, ValidPayload, Validator,
    ValidatorResources,
};

/// Whether a module must have an entry point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A program: `_start` or `ecm_main` is required and the stub calls it.
    Program,
    /// A library for harnesses that call its exports one by one (the spec tests): the stub
    /// only runs the start function, if any.
    Library,
}

/// Lowers a module: validate, link, lower, lay out, hash.
pub(crate) fn lower(original: &[u8], mode: Mode) -> Result<ProgramInner> {
    module::validate(original)?;
    let linked = link::link(original)?;
    let bytes = &linked.bytes;
    let s = Sections::read(bytes)?;
    let mut cx = Context::new(&s, &linked.names)?;

    // Function bodies with their validators.
    let mut validator = Validator::new_with_features(features());
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| LoadError::Invalid(e.to_string()))?;
        if let ValidPayload::Func(func, body) = validator
            .payload(&payload)
            .map_err(|e| LoadError::Invalid(e.to_string()))?
        {
            bodies.push((func.into_validator(Default::default()), body));
        }
    }

    // The entry stub, then each function.
    let entry = match mode {
        Mode::Program => Some(cx.entry(&s)?),
        Mode::Library => None,
    };
    let mut code = Vec::new();
    let mut offsets = Vec::new();
    let mut stub_steps = 2; // CONST 0, HALT
    for func in s.start.into_iter().chain(entry.map(|e| e.0)) {
        code.push(cx.call(func)?);
        offsets.push(0);
        stub_steps += 2; // the CALL and its RETURN
    }
    code.push(Inst::constant(0));
    code.push(Inst::new(Op::Halt));
    offsets.extend([0, 0]);

    let mut float_traps = BTreeMap::new();
    let mut functions = Vec::new();
    let imported = s.imported_functions();
    for (d, (validator, body)) in bodies.into_iter().enumerate() {
        let func = imported + d as u32;
        let base = code.len() as u32;
        cx.entries[func as usize] = base;
        functions.push((base, cx.name(func)));
        let lowered = FunctionLowering::new(&cx, func, validator).run(&body)?;
        for (pc, op) in lowered.float_traps {
            float_traps.insert(base + pc, op);
        }
        for mut inst in lowered.code {
            match inst.op {
                Op::Br | Op::BrIf | Op::JumpIfZero | Op::BrTable => inst.a += base,
                _ => {}
            }
            code.push(inst);
        }
        offsets.extend(lowered.offsets);
        if code.len() > MAX_INSTRUCTIONS {
            return Err(LoadError::Limit {
                what: "the program's machine code, in instructions".into(),
                found: code.len() as u64,
                limit: MAX_INSTRUCTIONS as u64,
            });
        }
    }
    // Calls name functions by index until every entry is known.
    for inst in code.iter_mut().filter(|i| i.op == Op::Call) {
        inst.a = cx.entries[inst.a as usize];
    }

    let mut exports = HashMap::new();
    for export in &s.exports {
        let item = match export.kind {
            ExternalKind::Func if cx.primitives[export.index as usize].is_none() => {
                let ty = cx.func_type(export.index);
                Export::Func(Callee {
                    entry: cx.entries[export.index as usize],
                    type_id: cx.canonical[cx.func_types[export.index as usize] as usize],
                    params: ty.params().len() as u16,
                    depth: cx.depth(export.index) as u8,
                    locals: cx.locals[export.index as usize],
                })
            }
            ExternalKind::Global => match cx.globals[export.index as usize] {
                GlobalSlot::Mutable(i) => Export::MutableGlobal(i),
                GlobalSlot::Const(v) => Export::ConstGlobal(v),
            },
            _ => continue,
        };
        exports.insert(export.name.to_string(), item);
    }
    let table = cx.table(&s)?;
    let memory = cx.memory(&s)?;
    let globals_depth = values_depth(cx.mutable_globals.len());
    let globals_root = values_root(&cx.mutable_globals, globals_depth);

    let leaves: Vec<B256> = (0..code.len().div_ceil(2))
        .map(|k| code_leaf(&code, k))
        .collect();
    let code_depth = tree::depth_for(leaves.len());
    let code_tree = MerkleTree::new(leaves, code_depth, 0);
    let table_leaves: Vec<B256> = table
        .iter()
        .map(|slot| Callee::leaf(slot.as_ref()))
        .collect();
    let table_depth = tree::depth_for(table_leaves.len());
    let table_tree = MerkleTree::new(table_leaves, table_depth, 0);
    let module_root = module_root(&code_tree, &table_tree, table.len() as u32);
    let initial_core = Core {
        value_stack: B256::ZERO,
        frame_stack: B256::ZERO,
        locals_root: tree::zero(0),
        globals_root,
        memory_root: memory.root(),
        module_root,
        pc: 0,
        pages: memory.pages(),
        frame_depth: 0,
    }
    .hash();

    Ok(ProgramInner {
        exec: crate::fuse::fuse(&code),
        code,
        table,
        globals: cx.mutable_globals.clone(),
        globals_depth,
        memory,
        code_tree,
        table_tree,
        module_root,
        initial_core,
        wasm_hash: keccak256(original),
        engine_wasm: link::strip_floats(bytes)?,
        functions,
        offsets,
        float_traps,
        stub_steps,
        entry_name: entry.map_or("", |e| e.1),
        exports,
    })
}

/// A global after lowering: a mutable slot in the globals tree, or a folded constant.
#[derive(Clone, Copy, Debug)]
enum GlobalSlot {
    Mutable(u32),
    Const(u64),
}

/// What every function's lowering needs to know about the module.
struct Context<'a> {
    types: &'a [FuncType],
    /// Canonical type id of each type index (structurally equal types share one).
    canonical: Vec<u32>,
    /// Per function index: the primitive it is (imports), or None.
    primitives: Vec<Option<&'static Primitive>>,
    /// Per function index: its type, and for defined ones the locals count and tree depth.
    func_types: Vec<u32>,
    locals: Vec<u32>,
    entries: Vec<u32>,
    globals: Vec<GlobalSlot>,
    mutable_globals: Vec<u64>,
    globals_depth: u32,
    memory_cap: u32,
    names: &'a std::collections::HashMap<u32, String>,
}

impl<'a> Context<'a> {
    fn new(s: &'a Sections<'a>, names: &'a std::collections::HashMap<u32, String>) -> Result<Self> {
        let mut canonical = Vec::with_capacity(s.types.len());
        for (i, ty) in s.types.iter().enumerate() {
            let first = s.types[..i].iter().position(|t| t == ty).unwrap_or(i);
            canonical.push(if first == i {
                i as u32
            } else {
                canonical[first]
            });
        }
        let mut primitives = Vec::new();
        let mut func_types = Vec::new();
        for import in &s.imports {
            // link() admitted only ecm primitives.
            primitives.push(Some(
                Primitive::by_name(import.name).expect("checked by link"),
            ));
            if let wasmparser::TypeRef::Func(t) = import.ty {
                func_types.push(t);
            }
        }
        let imported = func_types.len();
        func_types.extend(&s.functions);
        primitives.resize(func_types.len(), None);
        let mut cx = Context {
            types: &s.types,
            canonical,
            primitives,
            func_types,
            locals: vec![0; imported],
            entries: vec![0; imported + s.functions.len()],
            globals: Vec::new(),
            mutable_globals: Vec::new(),
            globals_depth: 0,
            memory_cap: 0,
            names,
        };
        for (d, body) in s.code.iter().enumerate() {
            let func = (imported + d) as u32;
            let ty = cx.func_type(func);
            if ty.params().len() > MAX_PARAMS {
                return Err(cx.limit(func, "parameters", ty.params().len(), MAX_PARAMS));
            }
            if ty.results().len() > MAX_RESULTS {
                return Err(cx.limit(func, "results", ty.results().len(), MAX_RESULTS));
            }
            let mut locals = ty.params().len() as u64;
            for decl in body
                .get_locals_reader()
                .map_err(|e| LoadError::Invalid(e.to_string()))?
            {
                let (count, _) = decl.map_err(|e| LoadError::Invalid(e.to_string()))?;
                locals += count as u64;
            }
            if locals > MAX_LOCALS as u64 {
                return Err(cx.limit(func, "locals", locals as usize, MAX_LOCALS));
            }
            cx.locals.push(locals as u32);
        }
        if s.tables.len() > 1 {
            return Err(LoadError::Unsupported(
                "the module has several tables; the machine supports one function table".into(),
            ));
        }
        cx.globals(s)?;
        if let Some(memory) = s.memories.first() {
            cx.memory_cap = memory
                .maximum
                .unwrap_or(MAX_PAGES as u64)
                .min(MAX_PAGES as u64) as u32;
        }
        Ok(cx)
    }

    fn func_type(&self, func: u32) -> &FuncType {
        &self.types[self.func_types[func as usize] as usize]
    }

    fn name(&self, func: u32) -> String {
        match self.names.get(&func) {
            Some(name) => format!("function `{name}`"),
            None => format!("function {func}"),
        }
    }

    fn limit(&self, func: u32, what: &str, found: usize, limit: usize) -> LoadError {
        LoadError::Limit {
            what: format!("{} has too many {what}", self.name(func)),
            found: found as u64,
            limit: limit as u64,
        }
    }

    fn depth(&self, func: u32) -> u32 {
        values_depth(self.locals[func as usize] as usize)
    }

    /// `CALL` to a defined function (its entry patched in once known).
    fn call(&self, func: u32) -> Result<Inst> {
        if let Some(p) = self.primitives[func as usize] {
            return Ok(Inst::new(p.op));
        }
        let params = self.func_type(func).params().len() as u16;
        Ok(Inst {
            op: Op::Call,
            aux: params,
            a: func,
            b: self.depth(func) as u64 | (self.locals[func as usize] as u64) << 8,
        })
    }

    fn entry(&self, s: &Sections<'_>) -> Result<(u32, &'static str)> {
        let (func, name) = [abi::WASI_ENTRY, abi::ECM_ENTRY]
            .into_iter()
            .find_map(|name| s.exported_func(name).map(|f| (f, name)))
            .ok_or(LoadError::NoEntry)?;
        let ty = self.func_type(func);
        if !ty.params().is_empty()
            || !ty.results().is_empty()
            || self.primitives[func as usize].is_some()
        {
            return Err(LoadError::EntryType(name.into()));
        }
        Ok((func, name))
    }

    /// Evaluates a constant expression to a value (i32/i64/f32/f64 consts, immutable globals).
    fn const_value(&self, expr: &ConstExpr<'_>, what: &str) -> Result<u64> {
        let mut reader = expr.get_operators_reader();
        let mut value = None;
        while !reader.eof() {
            let op = reader
                .read()
                .map_err(|e| LoadError::Invalid(e.to_string()))?;
            value = match op {
                Operator::I32Const { value } => Some(value as u32 as u64),
                Operator::I64Const { value } => Some(value as u64),
                Operator::F32Const { value } => Some(value.bits() as u64),
                Operator::F64Const { value } => Some(value.bits()),
                Operator::GlobalGet { global_index } => {
                    match self.globals.get(global_index as usize) {
                        Some(GlobalSlot::Const(v)) => Some(*v),
                        _ => None,
                    }
                }
                Operator::End => break,
                _ => None,
            };
            if value.is_none() {
                return Err(LoadError::Unsupported(format!(
                    "{what} is initialised by `{op:?}`: the machine supports constants and \
                     immutable globals there"
                )));
            }
        }
        value.ok_or_else(|| LoadError::Invalid(format!("{what} has an empty initialiser")))
    }

    fn globals(&mut self, s: &Sections<'_>) -> Result<()> {
        for (i, global) in s.globals.iter().enumerate() {
            if !matches!(
                global.ty.content_type,
                ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64
            ) {
                return Err(LoadError::Unsupported(format!(
                    "global {i} holds a {}: the machine's globals are numbers",
                    global.ty.content_type
                )));
            }
            let value = self.const_value(&global.init_expr, &format!("global {i}"))?;
            let slot = if global.ty.mutable {
                self.mutable_globals.push(value);
                GlobalSlot::Mutable(self.mutable_globals.len() as u32 - 1)
            } else {
                GlobalSlot::Const(value)
            };
            self.globals.push(slot);
        }
        if self.mutable_globals.len() > MAX_GLOBALS {
            return Err(LoadError::Limit {
                what: "the module has too many mutable globals".into(),
                found: self.mutable_globals.len() as u64,
                limit: MAX_GLOBALS as u64,
            });
        }
        self.globals_depth = values_depth(self.mutable_globals.len());
        Ok(())
    }

    fn memory(&self, s: &Sections<'_>) -> Result<MemorySnapshot> {
        let pages = match s.memories.first() {
            Some(m) if m.initial > MAX_PAGES as u64 => {
                return Err(LoadError::Limit {
                    what: "the module's initial memory, in 64 KiB pages".into(),
                    found: m.initial,
                    limit: MAX_PAGES as u64,
                });
            }
            Some(m) => m.initial as u32,
            None => 0,
        };
        let mut segments = Vec::new();
        if let Some(data) = s.data.clone() {
            for (i, segment) in data.into_iter().enumerate() {
                let segment = segment.map_err(|e| LoadError::Invalid(e.to_string()))?;
                // Passive segments only serve memory.init, which the machine refuses.
                let DataKind::Active { offset_expr, .. } = segment.kind else {
                    continue;
                };
                let what = format!("data segment {i}");
                let offset = self.const_value(&offset_expr, &what)? as u32;
                if offset as u64 + segment.data.len() as u64 > pages as u64 * PAGE_BYTES as u64 {
                    return Err(LoadError::SegmentOutOfBounds(format!(
                        "{what} ({} bytes at {offset:#x}, memory of {pages} pages)",
                        segment.data.len()
                    )));
                }
                segments.push((offset, segment.data));
            }
        }
        Ok(MemorySnapshot::with_data(pages, self.memory_cap, &segments))
    }

    fn table(&self, s: &Sections<'_>) -> Result<Vec<Option<Callee>>> {
        let size = match s.tables.first() {
            Some(t) if t.element_type != RefType::FUNCREF => {
                return Err(LoadError::Unsupported(
                    "the module's table does not hold functions (funcref)".into(),
                ));
            }
            Some(t) if t.initial > MAX_TABLE_ENTRIES as u64 => {
                return Err(LoadError::Limit {
                    what: "the module's function table, in entries".into(),
                    found: t.initial,
                    limit: MAX_TABLE_ENTRIES as u64,
                });
            }
            Some(t) => t.initial as usize,
            None => 0,
        };
        let mut table = vec![None; size];
        let Some(elements) = s.elements.clone() else {
            return Ok(table);
        };
        for (i, element) in elements.into_iter().enumerate() {
            let element = element.map_err(|e| LoadError::Invalid(e.to_string()))?;
            // Passive and declared segments serve table.init and ref.func, which the machine
            // refuses or does not need.
            let ElementKind::Active { offset_expr, .. } = element.kind else {
                continue;
            };
            let what = format!("element segment {i}");
            let offset = self.const_value(&offset_expr, &what)? as usize;
            let mut funcs: Vec<Option<u32>> = Vec::new();
            match element.items {
                ElementItems::Functions(reader) => {
                    for f in reader {
                        funcs.push(Some(f.map_err(|e| LoadError::Invalid(e.to_string()))?));
                    }
                }
                ElementItems::Expressions(_, reader) => {
                    for expr in reader {
                        let expr = expr.map_err(|e| LoadError::Invalid(e.to_string()))?;
                        let mut ops = expr.get_operators_reader();
                        let op = ops.read().map_err(|e| LoadError::Invalid(e.to_string()))?;
                        funcs.push(match op {
                            Operator::RefFunc { function_index } => Some(function_index),
                            Operator::RefNull { .. } => None,
                            other => {
                                return Err(LoadError::Unsupported(format!(
                                    "{what} holds `{other:?}`; the machine supports ref.func and ref.null there"
                                )));
                            }
                        });
                    }
                }
            }
            if offset + funcs.len() > size {
                return Err(LoadError::SegmentOutOfBounds(format!(
                    "{what} ({} entries at {offset}, table of {size})",
                    funcs.len()
                )));
            }
            for (k, func) in funcs.into_iter().enumerate() {
                table[offset + k] = match func {
                    None => None,
                    Some(f) if self.primitives[f as usize].is_some() => {
                        return Err(LoadError::Unsupported(format!(
                            "{what} puts the imported function {f} in the table; call imports directly"
                        )));
                    }
                    Some(f) => Some(Callee {
                        entry: self.entries[f as usize],
                        type_id: self.canonical[self.func_types[f as usize] as usize],
                        params: self.func_type(f).params().len() as u16,
                        depth: self.depth(f) as u8,
                        locals: self.locals[f as usize],
                    }),
                };
            }
        }
        Ok(table)
    }
}

/// One WASM control frame, mirrored beside the validator's.
struct Control {
    kind: ControlKind,
    /// For loops: the first instruction, where branches go.
    start: u32,
    /// Branches to this label's end, to patch when it is known.
    fixups: Vec<u32>,
    /// For `if`: the `JUMP_IF_ZERO` to patch at `else` or `end`.
    jump_if_zero: Option<u32>,
    /// Whether the code being read is reachable (is lowered).
    live: bool,
    /// Whether the frame itself was entered reachably.
    entered_live: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ControlKind {
    Function,
    Block,
    Loop,
    If,
    Else,
}

/// A function lowered with targets relative to its first instruction.
struct Lowered {
    code: Vec<Inst>,
    offsets: Vec<u32>,
    float_traps: Vec<(u32, &'static str)>,
}

struct FunctionLowering<'c, 'a> {
    cx: &'c Context<'a>,
    func: u32,
    validator: FuncValidator<ValidatorResources>,
    control: Vec<Control>,
    out: Lowered,
    offset: usize,
    max_height: usize,
}

impl<'c, 'a> FunctionLowering<'c, 'a> {
    fn new(cx: &'c Context<'a>, func: u32, validator: FuncValidator<ValidatorResources>) -> Self {
        Self {
            cx,
            func,
            validator,
            control: Vec::new(),
            out: Lowered {
                code: Vec::new(),
                offsets: Vec::new(),
                float_traps: Vec::new(),
            },
            offset: 0,
            max_height: 0,
        }
    }

    fn run(mut self, body: &FunctionBody<'_>) -> Result<Lowered> {
        let invalid = |e: wasmparser::BinaryReaderError| LoadError::Invalid(e.to_string());
        for decl in body.get_locals_reader().map_err(invalid)? {
            let (count, ty) = decl.map_err(invalid)?;
            self.validator
                .define_locals(body.range().start, count, ty)
                .map_err(invalid)?;
        }
        self.control.push(Control {
            kind: ControlKind::Function,
            start: 0,
            fixups: Vec::new(),
            jump_if_zero: None,
            live: true,
            entered_live: true,
        });
        let mut ops = body.get_operators_reader().map_err(invalid)?;
        while !ops.eof() {
            let (op, offset) = ops.read_with_offset().map_err(invalid)?;
            self.offset = offset;
            let height = self.validator.operand_stack_height() as usize;
            self.lower(&op, height)?;
            self.validator.op(offset, &op).map_err(invalid)?;
            let after = self.validator.operand_stack_height() as usize;
            self.max_height = self.max_height.max(after);
        }
        if self.max_height > MAX_OPERAND_HEIGHT {
            return Err(self.cx.limit(
                self.func,
                "operand stack values at once",
                self.max_height,
                MAX_OPERAND_HEIGHT,
            ));
        }
        Ok(self.out)
    }

    fn pc(&self) -> u32 {
        self.out.code.len() as u32
    }

    fn emit(&mut self, inst: Inst) -> u32 {
        let pc = self.pc();
        self.out.code.push(inst);
        self.out.offsets.push(self.offset as u32);
        pc
    }

    fn top(&mut self) -> &mut Control {
        self.control.last_mut().expect("inside a function")
    }

    fn live(&self) -> bool {
        self.control.last().is_some_and(|c| c.live)
    }

    fn unreachable_from_here(&mut self) {
        self.top().live = false;
    }

    fn push(&mut self, kind: ControlKind) {
        let live = self.live();
        let start = self.pc();
        self.control.push(Control {
            kind,
            start,
            fixups: Vec::new(),
            jump_if_zero: None,
            live,
            entered_live: live,
        });
    }

    fn block_arity(&self, ty: BlockType) -> (usize, usize) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(t) => {
                let ty = &self.cx.types[t as usize];
                (ty.params().len(), ty.results().len())
            }
        }
    }

    /// A branch to the label `depth` frames out, from an operand stack of `height`; `op` is
    /// `Br` or `BrIf` (whose condition is already off `height`).
    fn branch(&mut self, op: Op, depth: u32, height: usize) -> Result<Inst> {
        let frame = self
            .validator
            .get_control_frame(depth as usize)
            .expect("validated label");
        let (params, results) = self.block_arity(frame.block_type);
        let label = self.control.len() - 1 - depth as usize;
        let is_loop = self.control[label].kind == ControlKind::Loop;
        let keep = if is_loop { params } else { results };
        let drop = height - frame.height - keep;
        if keep > MAX_RESULTS {
            return Err(self
                .cx
                .limit(self.func, "values kept by a branch", keep, MAX_RESULTS));
        }
        if drop > MAX_UNWIND {
            return Err(self.cx.limit(
                self.func,
                "values discarded by one branch",
                drop,
                MAX_UNWIND,
            ));
        }
        let pc = self.pc();
        let target = if is_loop {
            self.control[label].start
        } else {
            // Patched at the label's end (the function's: its final RETURN).
            self.control[label].fixups.push(pc);
            0
        };
        Ok(Inst {
            op,
            aux: keep as u16,
            a: target,
            b: drop as u64,
        })
    }

    fn unsupported(&self, op: &Operator<'_>, hint: &'static str) -> LoadError {
        let name = format!("{op:?}");
        LoadError::UnsupportedInstruction {
            func: self.cx.name(self.func),
            op: name.split([' ', '{']).next().unwrap_or(&name).to_string(),
            offset: self.offset,
            hint,
        }
    }

    fn memarg(&self, op: &Operator<'_>, offset: u64) -> Result<u32> {
        u32::try_from(offset).map_err(|_| self.unsupported(op, "static offsets are 32-bit"))
    }

    fn lower(&mut self, op: &Operator<'_>, height: usize) -> Result<()> {
        use Operator as O;
        // Structure is tracked in dead code too; nothing else is lowered there.
        match op {
            O::Block { .. } => {
                self.push(ControlKind::Block);
                return Ok(());
            }
            O::Loop { .. } => {
                self.push(ControlKind::Loop);
                return Ok(());
            }
            O::If { .. } => {
                let live = self.live();
                self.push(ControlKind::If);
                if live {
                    let pc = self.emit(Inst::new(Op::JumpIfZero));
                    self.top().jump_if_zero = Some(pc);
                }
                return Ok(());
            }
            O::Else => {
                if self.live() {
                    let pc = self.emit(Inst::new(Op::Br));
                    self.top().fixups.push(pc);
                }
                let else_start = self.pc();
                let top = self.top();
                top.kind = ControlKind::Else;
                top.live = top.entered_live;
                if let Some(pc) = top.jump_if_zero.take() {
                    self.out.code[pc as usize].a = else_start;
                }
                return Ok(());
            }
            O::End => return self.end(),
            _ => {}
        }
        if !self.live() {
            return Ok(());
        }
        let inst = |op: Op| Inst::new(op);
        let lowered = match *op {
            O::Unreachable => {
                self.emit(Inst::TRAP);
                self.unreachable_from_here();
                return Ok(());
            }
            O::Nop => return Ok(()),
            O::Br { relative_depth } => {
                let br = self.branch(Op::Br, relative_depth, height)?;
                self.emit(br);
                self.unreachable_from_here();
                return Ok(());
            }
            O::BrIf { relative_depth } => self.branch(Op::BrIf, relative_depth, height - 1)?,
            O::BrTable { ref targets } => {
                let n = targets.len();
                let base = self.pc() + 1;
                self.emit(Inst {
                    op: Op::BrTable,
                    aux: 0,
                    a: base,
                    b: n as u64,
                });
                let depths: Vec<u32> = targets
                    .targets()
                    .chain([Ok(targets.default())])
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|e| LoadError::Invalid(e.to_string()))?;
                for depth in depths {
                    let br = self.branch(Op::Br, depth, height - 1)?;
                    self.emit(br);
                }
                self.unreachable_from_here();
                return Ok(());
            }
            O::Return => {
                let results = self.cx.func_type(self.func).results().len();
                let drop = height - results;
                if drop > MAX_UNWIND {
                    return Err(self.cx.limit(
                        self.func,
                        "values discarded by one return",
                        drop,
                        MAX_UNWIND,
                    ));
                }
                self.emit(Inst {
                    op: Op::Return,
                    aux: results as u16,
                    a: 0,
                    b: drop as u64,
                });
                self.unreachable_from_here();
                return Ok(());
            }
            O::Call { function_index } => {
                let call = self.cx.call(function_index)?;
                self.emit(call);
                if call.op == Op::Halt {
                    self.unreachable_from_here();
                }
                return Ok(());
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                if table_index != 0 {
                    return Err(self.unsupported(op, "the machine has one table"));
                }
                Inst {
                    op: Op::CallIndirect,
                    aux: self.cx.types[type_index as usize].params().len() as u16,
                    a: self.cx.canonical[type_index as usize],
                    b: 0,
                }
            }
            O::Drop => inst(Op::Drop),
            O::Select => inst(Op::Select),
            O::TypedSelect { ty } => {
                if !matches!(
                    ty,
                    ValType::I32 | ValType::I64 | ValType::F32 | ValType::F64
                ) {
                    return Err(self.unsupported(op, "select over references is not supported"));
                }
                inst(Op::Select)
            }
            O::TypedSelectMulti { .. } => {
                return Err(self.unsupported(op, "select has one result"));
            }
            O::LocalGet { local_index } => self.local(Op::LocalGet, local_index),
            O::LocalSet { local_index } => self.local(Op::LocalSet, local_index),
            O::LocalTee { local_index } => self.local(Op::LocalTee, local_index),
            O::GlobalGet { global_index } => match self.cx.globals[global_index as usize] {
                GlobalSlot::Const(v) => Inst::constant(v),
                GlobalSlot::Mutable(i) => Inst {
                    op: Op::GlobalGet,
                    aux: self.cx.globals_depth as u16,
                    a: i,
                    b: 0,
                },
            },
            O::GlobalSet { global_index } => match self.cx.globals[global_index as usize] {
                GlobalSlot::Mutable(i) => Inst {
                    op: Op::GlobalSet,
                    aux: self.cx.globals_depth as u16,
                    a: i,
                    b: 0,
                },
                GlobalSlot::Const(_) => unreachable!("validated: only mutable globals are set"),
            },
            O::I32Load { memarg } => self.mem(op, Op::I32Load, memarg.offset)?,
            O::I64Load { memarg } => self.mem(op, Op::I64Load, memarg.offset)?,
            O::I32Load8S { memarg } => self.mem(op, Op::I32Load8S, memarg.offset)?,
            O::I32Load8U { memarg } => self.mem(op, Op::I32Load8U, memarg.offset)?,
            O::I32Load16S { memarg } => self.mem(op, Op::I32Load16S, memarg.offset)?,
            O::I32Load16U { memarg } => self.mem(op, Op::I32Load16U, memarg.offset)?,
            O::I64Load8S { memarg } => self.mem(op, Op::I64Load8S, memarg.offset)?,
            O::I64Load8U { memarg } => self.mem(op, Op::I64Load8U, memarg.offset)?,
            O::I64Load16S { memarg } => self.mem(op, Op::I64Load16S, memarg.offset)?,
            O::I64Load16U { memarg } => self.mem(op, Op::I64Load16U, memarg.offset)?,
            O::I64Load32S { memarg } => self.mem(op, Op::I64Load32S, memarg.offset)?,
            O::I64Load32U { memarg } => self.mem(op, Op::I64Load32U, memarg.offset)?,
            O::I32Store { memarg } => self.mem(op, Op::I32Store, memarg.offset)?,
            O::I64Store { memarg } => self.mem(op, Op::I64Store, memarg.offset)?,
            O::I32Store8 { memarg } => self.mem(op, Op::I32Store8, memarg.offset)?,
            O::I32Store16 { memarg } => self.mem(op, Op::I32Store16, memarg.offset)?,
            O::I64Store8 { memarg } => self.mem(op, Op::I64Store8, memarg.offset)?,
            O::I64Store16 { memarg } => self.mem(op, Op::I64Store16, memarg.offset)?,
            O::I64Store32 { memarg } => self.mem(op, Op::I64Store32, memarg.offset)?,
            O::MemorySize { .. } => inst(Op::MemorySize),
            O::MemoryGrow { .. } => Inst {
                op: Op::MemoryGrow,
                aux: 0,
                a: 0,
                b: self.cx.memory_cap as u64,
            },
            O::MemoryCopy { .. } => inst(Op::MemoryCopy),
            O::MemoryFill { .. } => inst(Op::MemoryFill),
            O::I32Const { value } => Inst::constant(value as u32 as u64),
            O::I64Const { value } => Inst::constant(value as u64),
            // Without memory.init and table.init (refused), nothing can observe that a
            // segment was dropped: these are no-ops.
            O::DataDrop { .. } | O::ElemDrop { .. } => return Ok(()),
            O::MemoryInit { .. } => {
                return Err(self.unsupported(
                    op,
                    "passive data segments are not supported; let the linker place data actively",
                ));
            }
            O::TableInit { .. }
            | O::TableCopy { .. }
            | O::TableGet { .. }
            | O::TableSet { .. }
            | O::TableGrow { .. }
            | O::TableSize { .. }
            | O::TableFill { .. }
            | O::RefNull { .. }
            | O::RefIsNull
            | O::RefFunc { .. } => {
                return Err(self.unsupported(
                    op,
                    "the function table is fixed at instantiation and references are not values",
                ));
            }
            ref other if is_float(other) => {
                let pc = self.emit(Inst::TRAP);
                self.out.float_traps.push((pc, float_name(other)));
                self.unreachable_from_here();
                return Ok(());
            }
            ref other => match math(other) {
                Some(op) => inst(op),
                None => {
                    return Err(self.unsupported(
                        other,
                        "the machine runs integer WebAssembly with bulk memory, sign extension \
                         and multi-value",
                    ));
                }
            },
        };
        self.emit(lowered);
        Ok(())
    }

    fn local(&self, op: Op, index: u32) -> Inst {
        Inst {
            op,
            aux: self.cx.depth(self.func) as u16,
            a: index,
            b: 0,
        }
    }

    fn mem(&self, op: &Operator<'_>, machine: Op, offset: u64) -> Result<Inst> {
        Ok(Inst {
            op: machine,
            aux: 0,
            a: self.memarg(op, offset)?,
            b: 0,
        })
    }

    fn end(&mut self) -> Result<()> {
        let frame = self.control.pop().expect("balanced");
        if frame.kind == ControlKind::Function {
            // Every branch to the function's label lands on its one RETURN, results on top.
            let results = self.cx.func_type(self.func).results().len();
            let pc = self.emit(Inst {
                op: Op::Return,
                aux: results as u16,
                a: 0,
                b: 0,
            });
            for fixup in frame.fixups {
                self.out.code[fixup as usize].a = pc;
            }
            return Ok(());
        }
        let end = self.pc();
        for fixup in frame.fixups {
            self.out.code[fixup as usize].a = end;
        }
        if let Some(pc) = frame.jump_if_zero {
            self.out.code[pc as usize].a = end;
        }
        // Code after a block is reachable if the block was entered reachably (a branch to its
        // end, or falling through, may arrive); lowering it when it is not is harmless.
        self.top().live = frame.entered_live;
        Ok(())
    }
}

fn float_name(op: &Operator<'_>) -> &'static str {
    // Operator's Debug form starts with the variant name; map it to the text-format name once.
    let debug = format!("{op:?}");
    let variant = debug.split([' ', '{']).next().unwrap_or("float");
    FLOAT_NAMES
        .iter()
        .find(|(v, _)| *v == variant)
        .map(|(_, n)| *n)
        .unwrap_or("a float instruction")
}

/// Variant names of the float operators and their text-format names.
const FLOAT_NAMES: &[(&str, &str)] = &[
    ("F32Load", "f32.load"),
    ("F64Load", "f64.load"),
    ("F32Store", "f32.store"),
    ("F64Store", "f64.store"),
    ("F32Const", "f32.const"),
    ("F64Const", "f64.const"),
    ("F32Eq", "f32.eq"),
    ("F32Ne", "f32.ne"),
    ("F32Lt", "f32.lt"),
    ("F32Gt", "f32.gt"),
    ("F32Le", "f32.le"),
    ("F32Ge", "f32.ge"),
    ("F64Eq", "f64.eq"),
    ("F64Ne", "f64.ne"),
    ("F64Lt", "f64.lt"),
    ("F64Gt", "f64.gt"),
    ("F64Le", "f64.le"),
    ("F64Ge", "f64.ge"),
    ("F32Abs", "f32.abs"),
    ("F32Neg", "f32.neg"),
    ("F32Ceil", "f32.ceil"),
    ("F32Floor", "f32.floor"),
    ("F32Trunc", "f32.trunc"),
    ("F32Nearest", "f32.nearest"),
    ("F32Sqrt", "f32.sqrt"),
    ("F32Add", "f32.add"),
    ("F32Sub", "f32.sub"),
    ("F32Mul", "f32.mul"),
    ("F32Div", "f32.div"),
    ("F32Min", "f32.min"),
    ("F32Max", "f32.max"),
    ("F32Copysign", "f32.copysign"),
    ("F64Abs", "f64.abs"),
    ("F64Neg", "f64.neg"),
    ("F64Ceil", "f64.ceil"),
    ("F64Floor", "f64.floor"),
    ("F64Trunc", "f64.trunc"),
    ("F64Nearest", "f64.nearest"),
    ("F64Sqrt", "f64.sqrt"),
    ("F64Add", "f64.add"),
    ("F64Sub", "f64.sub"),
    ("F64Mul", "f64.mul"),
    ("F64Div", "f64.div"),
    ("F64Min", "f64.min"),
    ("F64Max", "f64.max"),
    ("F64Copysign", "f64.copysign"),
    ("I32TruncF32S", "i32.trunc_f32_s"),
    ("I32TruncF32U", "i32.trunc_f32_u"),
    ("I32TruncF64S", "i32.trunc_f64_s"),
    ("I32TruncF64U", "i32.trunc_f64_u"),
    ("I64TruncF32S", "i64.trunc_f32_s"),
    ("I64TruncF32U", "i64.trunc_f32_u"),
    ("I64TruncF64S", "i64.trunc_f64_s"),
    ("I64TruncF64U", "i64.trunc_f64_u"),
    ("F32ConvertI32S", "f32.convert_i32_s"),
    ("F32ConvertI32U", "f32.convert_i32_u"),
    ("F32ConvertI64S", "f32.convert_i64_s"),
    ("F32ConvertI64U", "f32.convert_i64_u"),
    ("F32DemoteF64", "f32.demote_f64"),
    ("F64ConvertI32S", "f64.convert_i32_s"),
    ("F64ConvertI32U", "f64.convert_i32_u"),
    ("F64ConvertI64S", "f64.convert_i64_s"),
    ("F64ConvertI64U", "f64.convert_i64_u"),
    ("F64PromoteF32", "f64.promote_f32"),
    ("I32ReinterpretF32", "i32.reinterpret_f32"),
    ("I64ReinterpretF64", "i64.reinterpret_f64"),
    ("F32ReinterpretI32", "f32.reinterpret_i32"),
    ("F64ReinterpretI64", "f64.reinterpret_i64"),
    ("I32TruncSatF32S", "i32.trunc_sat_f32_s"),
    ("I32TruncSatF32U", "i32.trunc_sat_f32_u"),
    ("I32TruncSatF64S", "i32.trunc_sat_f64_s"),
    ("I32TruncSatF64U", "i32.trunc_sat_f64_u"),
    ("I64TruncSatF32S", "i64.trunc_sat_f32_s"),
    ("I64TruncSatF32U", "i64.trunc_sat_f32_u"),
    ("I64TruncSatF64S", "i64.trunc_sat_f64_s"),
    ("I64TruncSatF64U", "i64.trunc_sat_f64_u"),
];

/// The machine opcode of an integer arithmetic, comparison or conversion operator.
fn math(op: &Operator<'_>) -> Option<Op> {
    use Operator as O;
    Some(match op {
        O::I32Eqz => Op::I32Eqz,
        O::I32Eq => Op::I32Eq,
        O::I32Ne => Op::I32Ne,
        O::I32LtS => Op::I32LtS,
        O::I32LtU => Op::I32LtU,
        O::I32GtS => Op::I32GtS,
        O::I32GtU => Op::I32GtU,
        O::I32LeS => Op::I32LeS,
        O::I32LeU => Op::I32LeU,
        O::I32GeS => Op::I32GeS,
        O::I32GeU => Op::I32GeU,
        O::I32Clz => Op::I32Clz,
        O::I32Ctz => Op::I32Ctz,
        O::I32Popcnt => Op::I32Popcnt,
        O::I32Add => Op::I32Add,
        O::I32Sub => Op::I32Sub,
        O::I32Mul => Op::I32Mul,
        O::I32DivS => Op::I32DivS,
        O::I32DivU => Op::I32DivU,
        O::I32RemS => Op::I32RemS,
        O::I32RemU => Op::I32RemU,
        O::I32And => Op::I32And,
        O::I32Or => Op::I32Or,
        O::I32Xor => Op::I32Xor,
        O::I32Shl => Op::I32Shl,
        O::I32ShrS => Op::I32ShrS,
        O::I32ShrU => Op::I32ShrU,
        O::I32Rotl => Op::I32Rotl,
        O::I32Rotr => Op::I32Rotr,
        O::I32WrapI64 => Op::I32WrapI64,
        O::I32Extend8S => Op::I32Extend8S,
        O::I32Extend16S => Op::I32Extend16S,
        O::I64Eqz => Op::I64Eqz,
        O::I64Eq => Op::I64Eq,
        O::I64Ne => Op::I64Ne,
        O::I64LtS => Op::I64LtS,
        O::I64LtU => Op::I64LtU,
        O::I64GtS => Op::I64GtS,
        O::I64GtU => Op::I64GtU,
        O::I64LeS => Op::I64LeS,
        O::I64LeU => Op::I64LeU,
        O::I64GeS => Op::I64GeS,
        O::I64GeU => Op::I64GeU,
        O::I64Clz => Op::I64Clz,
        O::I64Ctz => Op::I64Ctz,
        O::I64Popcnt => Op::I64Popcnt,
        O::I64Add => Op::I64Add,
        O::I64Sub => Op::I64Sub,
        O::I64Mul => Op::I64Mul,
        O::I64DivS => Op::I64DivS,
        O::I64DivU => Op::I64DivU,
        O::I64RemS => Op::I64RemS,
        O::I64RemU => Op::I64RemU,
        O::I64And => Op::I64And,
        O::I64Or => Op::I64Or,
        O::I64Xor => Op::I64Xor,
        O::I64Shl => Op::I64Shl,
        O::I64ShrS => Op::I64ShrS,
        O::I64ShrU => Op::I64ShrU,
        O::I64Rotl => Op::I64Rotl,
        O::I64Rotr => Op::I64Rotr,
        O::I64ExtendI32S => Op::I64ExtendI32S,
        O::I64ExtendI32U => Op::I64ExtendI32U,
        O::I64Extend8S => Op::I64Extend8S,
        O::I64Extend16S => Op::I64Extend16S,
        O::I64Extend32S => Op::I64Extend32S,
        _ => return None,
    })
}

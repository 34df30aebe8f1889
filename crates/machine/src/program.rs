//! A lowered program: the machine's code, table, initial memory and globals, and the
//! commitment to all of them.

use crate::{
    error::Error,
    inst::{INST_BYTES, Inst, Op},
    limits::MAX_INPUT_BYTES,
    lower,
    memory::MemorySnapshot,
    tree::MerkleTree,
};
use alloy_primitives::{B256, keccak256};
use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::Arc,
};

/// A table slot's function, as `CALL_INDIRECT` finds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Callee {
    /// The function's first instruction.
    pub entry: u32,
    /// Its canonical type id.
    pub type_id: u32,
    /// Its number of parameters.
    pub params: u16,
    /// Its locals tree's depth.
    pub depth: u8,
    /// Its number of locals, parameters included.
    pub locals: u32,
}

impl Callee {
    /// The slot's 32-byte table leaf: `1 | 0 0 0 | entry u32 | type id u32 | depth u32 | 0...`
    /// (big-endian). An empty slot is the zero leaf.
    pub fn leaf(slot: Option<&Callee>) -> B256 {
        let mut leaf = [0u8; 32];
        if let Some(c) = slot {
            leaf[0] = 1;
            leaf[4..8].copy_from_slice(&c.entry.to_be_bytes());
            leaf[8..12].copy_from_slice(&c.type_id.to_be_bytes());
            leaf[12..16].copy_from_slice(&(c.depth as u32).to_be_bytes());
        }
        B256::from(leaf)
    }
}

/// An export, as a harness that calls exports sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Export {
    /// A defined function.
    Func(Callee),
    /// A mutable global: its index in the globals tree.
    MutableGlobal(u32),
    /// An immutable global, folded to its value.
    ConstGlobal(u64),
}

/// Where an instruction came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The function's name (from the name section) or `function N`.
    pub function: String,
    /// The instruction's byte offset in the linked module (0 for the entry stub).
    pub offset: u32,
    /// For a trap lowered from a float instruction: that instruction.
    pub float_op: Option<&'static str>,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.float_op {
            Some(op) => write!(
                f,
                "`{op}` in {} (byte {:#x}): float instructions trap in this version of the machine",
                self.function, self.offset
            ),
            None => write!(f, "{} (byte {:#x})", self.function, self.offset),
        }
    }
}

/// A module lowered for the machine. Cheap to share (`Arc` inside).
#[derive(Clone)]
pub struct Program(pub(crate) Arc<ProgramInner>);

pub(crate) struct ProgramInner {
    pub(crate) code: Vec<Inst>,
    /// The interpreter's copy of `code`, with superinstructions.
    pub(crate) exec: Vec<Inst>,
    pub(crate) table: Vec<Option<Callee>>,
    pub(crate) globals: Vec<u64>,
    pub(crate) globals_depth: u32,
    pub(crate) memory: MemorySnapshot,
    pub(crate) code_tree: MerkleTree,
    pub(crate) table_tree: MerkleTree,
    pub(crate) module_root: B256,
    pub(crate) initial_core: B256,
    pub(crate) wasm_hash: B256,
    pub(crate) engine_wasm: Vec<u8>,
    /// The entry pc of each defined function, with its name, sorted by pc.
    pub(crate) functions: Vec<(u32, String)>,
    /// The byte offset each instruction was lowered from.
    pub(crate) offsets: Vec<u32>,
    pub(crate) float_traps: BTreeMap<u32, &'static str>,
    /// Steps the entry stub takes that no engine's fuel counts: its calls and returns, the
    /// exit code and the halt.
    pub(crate) stub_steps: u64,
    pub(crate) entry_name: &'static str,
    pub(crate) exports: HashMap<String, Export>,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("wasm_hash", &self.0.wasm_hash)
            .field("instructions", &self.0.code.len())
            .field("initial_core", &self.0.initial_core)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// Validates, links and lowers a module. Refusals say what to change.
    pub fn from_wasm(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Self(Arc::new(lower::lower(bytes, lower::Mode::Program)?)))
    }

    /// Lowers a module without an entry point, whose exports a harness calls one by one with
    /// [`crate::Machine::invoke`] (the WebAssembly spec tests). The stub only runs the start
    /// function.
    pub fn library(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Self(Arc::new(lower::lower(bytes, lower::Mode::Library)?)))
    }

    /// An export by name (functions defined in the module, and globals).
    pub fn export(&self, name: &str) -> Option<Export> {
        self.0.exports.get(name).copied()
    }

    /// keccak256 of the module as given: the `wasmHash` a registration records.
    pub fn wasm_hash(&self) -> B256 {
        self.0.wasm_hash
    }

    /// `keccak(core_0)`: commits to the code, table, initial memory and globals. With the
    /// input, it fixes the whole trace.
    pub fn initial_core(&self) -> B256 {
        self.0.initial_core
    }

    /// The commitment to the code and the table in the core.
    pub fn module_root(&self) -> B256 {
        self.0.module_root
    }

    /// The lowered code.
    pub fn code(&self) -> &[Inst] {
        &self.0.code
    }

    /// The code's tree depth (two instructions per leaf).
    pub fn code_depth(&self) -> u32 {
        self.0.code_tree.depth()
    }

    /// The table's tree depth (one slot per leaf).
    pub fn table_depth(&self) -> u32 {
        self.0.table_tree.depth()
    }

    /// The number of table slots.
    pub fn table_size(&self) -> u32 {
        self.0.table.len() as u32
    }

    /// Whether the program has state that outlives a call: a memory or a mutable global.
    pub fn has_memory_or_globals(&self) -> bool {
        self.0.memory.pages() > 0 || self.0.memory.max_pages() > 0 || !self.0.globals.is_empty()
    }

    /// The initial memory size in pages.
    pub fn initial_pages(&self) -> u32 {
        self.0.memory.pages()
    }

    /// The module wasmtime and wasmi run: the program linked with the WASI shim, each float
    /// instruction replaced by `unreachable`.
    pub fn engine_wasm(&self) -> &[u8] {
        &self.0.engine_wasm
    }

    /// The exported entry point the program starts at (`_start` or `ecm_main`).
    pub fn entry_name(&self) -> &'static str {
        self.0.entry_name
    }

    /// Steps the machine's entry stub adds to what an engine's fuel counts.
    pub fn stub_steps(&self) -> u64 {
        self.0.stub_steps
    }

    /// Number of float instructions (each lowered to a trap).
    pub fn float_instructions(&self) -> usize {
        self.0.float_traps.len()
    }

    /// Where the instruction at `pc` came from.
    pub fn site(&self, pc: u32) -> Site {
        let function = match self.0.functions.partition_point(|(entry, _)| *entry <= pc) {
            0 => "the entry stub".to_string(),
            i => self.0.functions[i - 1].1.clone(),
        };
        Site {
            function,
            offset: self.0.offsets.get(pc as usize).copied().unwrap_or(0),
            float_op: self.0.float_traps.get(&pc).copied(),
        }
    }

    /// The 32-byte code leaf holding instructions `2k` and `2k + 1`.
    pub fn code_leaf(&self, k: usize) -> B256 {
        code_leaf(&self.0.code, k)
    }

    /// Checks an input's size.
    pub fn check_input(input: &[u8]) -> Result<(), Error> {
        if input.len() > MAX_INPUT_BYTES {
            return Err(Error::InputTooLarge {
                len: input.len(),
                max: MAX_INPUT_BYTES,
            });
        }
        Ok(())
    }
}

/// Code leaf `k`: two encoded instructions (a missing second one is the zero `TRAP`).
pub(crate) fn code_leaf(code: &[Inst], k: usize) -> B256 {
    let mut leaf = [0u8; 2 * INST_BYTES];
    for (half, inst) in code.iter().skip(2 * k).take(2).enumerate() {
        leaf[half * INST_BYTES..][..INST_BYTES].copy_from_slice(&inst.encode());
    }
    B256::from(leaf)
}

/// `moduleRoot = keccak(codeRoot || codeDepth u32 || keccak(tableRoot || tableDepth u32 ||
/// tableSize u32))`.
pub(crate) fn module_root(code: &MerkleTree, table: &MerkleTree, table_size: u32) -> B256 {
    keccak256(module_preimage(code, table, table_size))
}

/// `codeRoot || codeDepth u32 || keccak(tableRoot || tableDepth u32 || tableSize u32)`: what
/// every step's proof reveals of the module.
pub(crate) fn module_preimage(
    code: &MerkleTree,
    table: &MerkleTree,
    table_size: u32,
) -> [u8; MODULE_PREIMAGE_BYTES] {
    let mut table_preimage = [0u8; 40];
    table_preimage[..32].copy_from_slice(table.root().as_slice());
    table_preimage[32..36].copy_from_slice(&table.depth().to_be_bytes());
    table_preimage[36..40].copy_from_slice(&table_size.to_be_bytes());
    let mut preimage = [0u8; MODULE_PREIMAGE_BYTES];
    preimage[..32].copy_from_slice(code.root().as_slice());
    preimage[32..36].copy_from_slice(&code.depth().to_be_bytes());
    preimage[36..68].copy_from_slice(keccak256(table_preimage).as_slice());
    preimage
}

/// Bytes in a module preimage.
pub const MODULE_PREIMAGE_BYTES: usize = 68;

/// Whether `op` ends a run of straight-line code (for the code's readers and tests).
pub fn is_control_transfer(op: Op) -> bool {
    matches!(
        op,
        Op::Br | Op::BrIf | Op::JumpIfZero | Op::BrTable | Op::Call | Op::CallIndirect | Op::Return
    )
}

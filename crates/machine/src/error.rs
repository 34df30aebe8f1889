//! Why a module cannot run on the machine. Every refusal says what to change in the program.
//! (A program that runs and traps is not an error: it is an [`crate::End::Trapped`] outcome.)

/// A module the machine refuses, before anything runs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a valid WebAssembly module.
    #[error("not a valid WebAssembly module: {0}")]
    Invalid(String),
    /// Valid WebAssembly that uses a proposal the machine leaves out (SIMD, threads, ...).
    #[error(
        "the module uses a WebAssembly feature the machine does not support: {detail}. The \
         machine runs integer WebAssembly with bulk memory, sign extension and multi-value; \
         build without SIMD, threads, atomics, memory64, tail calls or exceptions"
    )]
    UnsupportedFeature {
        /// The validator's message.
        detail: String,
    },
    /// An import of something other than a function.
    #[error(
        "the module imports a {kind} (`{module}.{name}`): a program must define its own memory, \
         table and globals (build it as a wasm32-wasip1 command, without --import-memory)"
    )]
    ImportKind {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// What it imports.
        kind: &'static str,
    },
    /// A function import the machine does not provide.
    #[error("the module imports `{module}.{name}`, which the machine does not provide: {hint}")]
    UnsupportedImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// What the machine does provide.
        hint: String,
    },
    /// A provided function imported with the wrong type.
    #[error("the module imports `{module}.{name}` as {found}, but it is {expected}")]
    ImportType {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
        /// Its type as the machine provides it.
        expected: String,
        /// Its type as the module imports it.
        found: String,
    },
    /// A WASI program without a memory for the shim to use.
    #[error("the module imports WASI functions but defines no memory for them to use")]
    NoMemory,
    /// No entry point.
    #[error(
        "the module has no entry point: export `_start` (a WASI command: a Rust `fn main()` \
         built with `cargo build --target wasm32-wasip1`, or C built with wasi-libc) or \
         `ecm_main`"
    )]
    NoEntry,
    /// An entry point with parameters or results.
    #[error("the entry point `{0}` must take no parameters and return nothing")]
    EntryType(String),
    /// A module that needs more of something than the machine allows.
    #[error("{what}: {found} is over the machine's limit of {limit}")]
    Limit {
        /// What is too large, and where.
        what: String,
        /// How much the module needs.
        found: u64,
        /// The most the machine allows.
        limit: u64,
    },
    /// An instruction the machine does not implement.
    #[error("{func} uses `{op}` (at byte {offset:#x}), which the machine does not support: {hint}")]
    UnsupportedInstruction {
        /// The function, by name or index.
        func: String,
        /// The instruction.
        op: String,
        /// Its offset in the module.
        offset: usize,
        /// What to do instead.
        hint: &'static str,
    },
    /// Something the machine cannot express in a module's structure (a second table, a table
    /// slot that names an import, ...).
    #[error("{0}")]
    Unsupported(String),
    /// An active data or element segment that does not fit: instantiation would fail.
    #[error("{0} does not fit: the module cannot be instantiated")]
    SegmentOutOfBounds(String),
}

/// `Result` with [`LoadError`].
pub type Result<T, E = LoadError> = std::result::Result<T, E>;

/// Errors of running a program on the machine or on an engine (not the program's own traps).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module was refused.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The input is larger than the protocol allows.
    #[error("the input is {len} bytes; the most a request carries is {max}")]
    InputTooLarge {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// wasmtime failed for a reason of its own (not the program's).
    #[error("wasmtime: {0}")]
    Wasmtime(String),
    /// wasmtime and the machine ended differently: a bug in one of them, never the program's
    /// fault. Please report it with the module and the input.
    #[error(
        "the engines disagree (a bug in ecm, please report it with the module and the input): \
         the machine says {machine}, wasmtime says {wasmtime}"
    )]
    EnginesDisagree {
        /// The machine's outcome.
        machine: String,
        /// wasmtime's.
        wasmtime: String,
    },
    /// A trace point beyond the request's `maxSteps` was asked for.
    #[error("step {step} is beyond maxSteps {max_steps}")]
    BeyondMaxSteps {
        /// The step asked for.
        step: u64,
        /// The trace's bound.
        max_steps: u64,
    },
}

//! Errors of the runtime. Each says what the program did wrong; none is a panic.

use alloy_primitives::B256;

/// What can go wrong loading or running a program.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a valid WASM module.
    #[error("not a valid WASM module: {0}")]
    NotWasm(String),
    /// The module lacks an export of the guest ABI.
    #[error(
        "the module does not export `{name}`: it is not an ecm program (build it with the ecm-guest SDK)"
    )]
    MissingExport {
        /// The export's name.
        name: &'static str,
    },
    /// An export of the guest ABI has the wrong type.
    #[error("the module's export `{name}` has the wrong type: expected {expected}")]
    ExportType {
        /// The export's name.
        name: &'static str,
        /// Its expected type.
        expected: &'static str,
    },
    /// The module imports something; programs must be self-contained to be deterministic.
    #[error("the module imports `{module}::{name}`: ecm programs may not import anything")]
    UnexpectedImport {
        /// The import's module.
        module: String,
        /// The import's name.
        name: String,
    },
    /// The module implements another version of the guest ABI.
    #[error(
        "the module implements guest ABI version {found}, this runtime speaks version {expected}"
    )]
    AbiVersion {
        /// The module's version.
        found: i32,
        /// The runtime's version.
        expected: i32,
    },
    /// The program trapped (an `unreachable`, a bad memory access, a stack overflow, ...).
    #[error("the program trapped at step {step}: {message}")]
    Trap {
        /// The step that trapped (or the first step of the batch).
        step: u64,
        /// The trap's description.
        message: String,
    },
    /// A step burned more than its fuel: it loops, or is far heavier than the limits allow.
    #[error(
        "step {step} ran out of fuel ({fuel} units): the program loops or needs a higher fuel limit"
    )]
    FuelExhausted {
        /// The step.
        step: u64,
        /// The fuel it was given.
        fuel: u64,
    },
    /// The program tried to grow its memory past the cap.
    #[error(
        "the program tried to grow its memory to {desired} bytes, above the {limit}-byte limit"
    )]
    MemoryLimit {
        /// The size it asked for.
        desired: usize,
        /// The cap.
        limit: usize,
    },
    /// A state is larger than the protocol allows.
    #[error("a state of {len} bytes exceeds the protocol maximum of {max} bytes")]
    StateTooLarge {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The guest returned a pointer or length outside its memory, or an impossible step count.
    #[error("the program broke the guest ABI: {0}")]
    AbiViolation(String),
    /// A trace point beyond the request's `maxSteps` was asked for.
    #[error("step {step} is beyond maxSteps {max_steps}")]
    BeyondMaxSteps {
        /// The step asked for.
        step: u64,
        /// The trace's bound.
        max_steps: u64,
    },
    /// No module with this hash is in the store.
    #[error(
        "no WASM module with hash {0} in the module store (add it with `ecm program register` or copy it in)"
    )]
    UnknownModule(B256),
    /// A module file's contents do not hash to its name.
    #[error("module file {path} does not hash to its name (found {found}): the file is corrupt")]
    CorruptModule {
        /// The file.
        path: String,
        /// Its actual hash.
        found: B256,
    },
    /// The module store could not be read or written.
    #[error("module store: {0}")]
    Io(#[from] std::io::Error),
    /// wasmtime failed for another reason (engine setup, instantiation).
    #[error("wasmtime: {0}")]
    Wasmtime(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The machine's fixed sizes and bounds. Each is part of the machine's definition: the
//! on-chain prover must use the same numbers, and a module over a bound is refused at lowering
//! (or, for run-time bounds, traps in both engines).

use ecm_primitives::MAX_STATE_BYTES;

/// Bytes in a WebAssembly page.
pub const PAGE_BYTES: usize = 1 << 16;
/// The most pages a program's memory can have: 64 MiB, the cap ecm's runtime already applies.
pub const MAX_PAGES: u32 = 1024;
/// Bytes in a tree leaf: memory, input and code are hashed 32 bytes at a time.
pub const LEAF_BYTES: usize = 32;
/// Levels of the memory tree: 2^21 leaves of 32 bytes cover [`MAX_PAGES`] pages.
pub const MEMORY_DEPTH: u32 = 21;
/// Levels of the memory tree inside one page (2^11 leaves of 32 bytes).
pub const PAGE_DEPTH: u32 = 11;
/// Levels of the input tree: 2^8 leaves of 32 bytes cover [`MAX_INPUT_BYTES`].
pub const INPUT_DEPTH: u32 = 8;
/// The largest request input.
pub const MAX_INPUT_BYTES: usize = MAX_STATE_BYTES;
/// The largest output: the final state is `exit code (4 bytes) || output`, at most
/// `MAX_STATE_BYTES` like every state the protocol carries.
pub const MAX_OUTPUT_BYTES: usize = MAX_STATE_BYTES - 4;
/// Calls deeper than this trap (call stack exhausted). wasmtime, with its 512 KiB stack and
/// frames of at least 16 bytes, always overflows first, so an answer computed by wasmtime is
/// never one the machine would trap on.
pub const MAX_FRAMES: u32 = 1 << 16;
/// The most machine instructions a program may lower to (a code tree of at most 19 levels).
pub const MAX_INSTRUCTIONS: usize = 1 << 20;
/// The most parameters a function may take (`CALL` moves them in one step).
pub const MAX_PARAMS: usize = 128;
/// The most results a function or a block may have (a branch keeps them in one step).
pub const MAX_RESULTS: usize = 16;
/// The most locals (parameters included) a function may have. With [`MAX_FRAMES`], this and
/// [`MAX_OPERAND_HEIGHT`] bound the interpreter's memory for any recursion: 65,536 frames of
/// 2,560 values is 1.25 GiB at worst. Real programs stay far below (the example programs and a
/// C word count built with wasi-libc have at most 43 locals in a function); the spec suite's
/// stack-guard test has 1,056.
pub const MAX_LOCALS: usize = 2048;
/// The highest operand stack a function may build (real code rarely passes 20).
pub const MAX_OPERAND_HEIGHT: usize = 512;
/// The most values one branch or return may discard below the values it keeps.
pub const MAX_UNWIND: usize = 256;
/// The most entries the function table may have.
pub const MAX_TABLE_ENTRIES: u32 = 1 << 16;
/// The most mutable globals a module may have.
pub const MAX_GLOBALS: usize = 1 << 12;

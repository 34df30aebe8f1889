//! The proving WASM machine of ecm: any deterministic wasm32 program as a provable trace.
//!
//! A program is data: a stock `wasm32-wasip1` command (a `fn main()` reading stdin and writing
//! stdout) or a `no_std` module exporting `ecm_main`. It is validated, linked with a WASI shim
//! written in WASM, and lowered to a flat instruction form whose every step a contract can
//! execute from a Merkle proof (absolute jumps, branches that unwind in one step,
//! constant-time `br_table`, bulk memory and I/O that move at most 32 bytes a step).
//!
//! ```text
//!  wasm ──Program::from_wasm──> Program ─────────────┬──> Machine (interpreter): exact steps,
//!        validate, link shim,    code, table,         │     the hash H_i, snapshots
//!        lower, hash             memory, globals,     │       └──> MachineOracle: point(i) for
//!                                initial_core         │            the bisection game
//!                                                     ├──> FastEngine (wasmtime): native speed,
//!                                                     │     fuel >= steps
//!                                                     └──> ReferenceModule (wasmi, feature
//!                                                           `reference`): a third opinion for
//!                                                           differential tests
//! ```
//!
//! The trace: `s_i = H_i` (32 bytes, not final) while the program runs; `exit code (u32 LE) ||
//! stdout` (final) once it halts; empty (final) once it traps; `H` at `maxSteps` when it runs
//! out of steps. Float instructions are accepted in a module but trap when executed, in every
//! engine (each float instruction is `unreachable` in the engines' copy). The design, with its
//! figures and the reasons for each choice, is `docs/machine.md`.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod abi;
pub mod error;
pub mod fast;
mod fuse;
pub mod hash;
pub mod host;
pub mod inst;
pub mod io;
pub mod limits;
pub mod link;
mod lower;
pub mod machine;
pub mod memory;
pub mod module;
pub mod oracle;
pub mod program;
pub mod proof;
#[cfg(feature = "reference")]
pub mod reference;
pub mod run;
pub mod tree;

pub use error::{Error, LoadError};
pub use fast::{FastEngine, FastModule};
pub use host::{EngineEnd, EngineRun};
pub use inst::{Inst, Op};
pub use machine::{Machine, Snapshot, Status, Trap};
pub use oracle::MachineOracle;
pub use program::{Callee, Export, Program, Site};
#[cfg(feature = "reference")]
pub use reference::ReferenceModule;
pub use run::{DryRun, End, Outcome, dry_run, run};

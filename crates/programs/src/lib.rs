//! The example programs of ecm, ready to deploy, run and check.
//!
//! Each [`ProgramSpec`] ties together the three forms of one step function and what a user
//! needs around it:
//!
//! ```text
//!                 +-- wasm:       the module hosts run (built from programs/wasm/<name>)
//! ProgramSpec ----+-- native:     the same step in plain Rust (programs/examples), the reference
//!                 +-- contract:   the Execution contract's bytecode (contracts/programs/<Name>.sol)
//!                 +-- inputs:     typed input parsing ("10" for Fibonacci) and result display
//! ```
//!
//! The programs for the machine ([`WasiProgram`]) are stock `wasm32-wasip1` commands with no
//! step function and no contract of their own.
//!
//! `build.rs` compiles the guest workspace in `programs/` (for `wasm32-unknown-unknown` and
//! `wasm32-wasip1`) as part of the normal build, so the embedded modules always match the
//! sources.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod error;
mod inputs;
mod registry;
mod wasi;

pub use error::{Error, Result};
pub use registry::{ProgramSpec, all, by_name, by_wasm_hash};
pub use wasi::{WasiProgram, machine_module, wasi_program, wasi_programs};

//! The deterministic WASM runtime of ecm.
//!
//! Hosts and challengers compute requests here; the bisection game asks it for the commitment
//! to any trace point. Everything a program does is bounded: fuel for time, a memory cap, a
//! stack cap, a state size cap; floats are NaN-canonicalised and the module may import nothing,
//! so the same module gives the same trace on every machine. A program that traps, loops or
//! misbehaves is a typed [`Error`], never a hang or a crash of the host process.
//!
//! ```text
//!  module bytes --Runtime::load--> WasmProgram --instantiate--> WasmInstance (a Stepper)
//!                  (validate ABI)                                   |  run(first, n, state)
//!                                                                   v
//!  input --TraceOracle::run_to_end--> Outcome (result, N, final)   checkpoints every K steps
//!        --TraceOracle::commitment(i)--> c_i, replaying at most K steps from a checkpoint
//! ```
//!
//! The guest ABI (exports `memory`, `ecm_abi_version`, `ecm_alloc`, `ecm_step`, `ecm_run`) is
//! documented in `docs/guest-abi.md`; the `ecm-guest` crate implements it for Rust programs.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod config;
pub mod error;
pub mod module;
pub mod store;
pub mod trace;

pub use config::Limits;
pub use error::{Error, Result};
pub use module::{ABI_VERSION, Runtime, WasmInstance, WasmProgram};
pub use store::ModuleStore;
pub use trace::{NativeStepper, Outcome, Point, RunOutput, Stepper, TraceOracle, TracePoints};

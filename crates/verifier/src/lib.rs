//! Reproduces ecm's on-chain steps off-chain, and plays the bisection game.
//!
//! ```text
//!  Execution runtime code ---EvmStepper (revm + StepHarness)---> (s_i, f_i, gas) as on-chain
//!         |                                                            |
//!  WASM module --ecm-runtime--> (s_i, f_i) ------ conformance::check --+--> first divergence
//!
//!  TraceOracle (ecm-runtime) --strategy--> defender points, challenger index, one-step reveal
//! ```
//!
//! [`EvmStepper`] runs a program's `step` inside revm through `StepHarness`, which calls the
//! same `Trace.next` library code as the Broker's one-step proof: the step gets exactly its
//! `maxStepGas`, a failing or malformed step halts the trace, a final state is sticky. Success,
//! revert and halt of the transaction are values, matched as data.
//!
//! [`conformance::check`] runs a program's WASM module and Execution contract side by side
//! over generated inputs and random states and reports the first divergence; hosts refuse
//! programs that fail it. [`purity`] is the Factory's rule that a step program's code reads
//! nothing but its arguments. [`strategy`] turns a trace oracle into bisection moves.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod conformance;
pub mod error;
pub mod evm;
pub mod machine;
pub mod purity;
pub mod strategy;

pub use conformance::{ConformanceReport, Divergence};
pub use error::{Error, Result};
pub use evm::{EvmStep, EvmStepper};
pub use machine::{MachineProverEvm, ProofRejected, ProvenStep};

//! ecm's benchmarks, each printing a table (and JSON rows on request).
//!
//! ```text
//!  runtime  steps per second of each program: native, WASM batched (ecm_run), WASM one step
//!           at a time (ecm_step), and the WASM/native ratios
//!  dispute  on a devnet: bisection disputes over N = 2^4 .. 2^32 steps (rounds, gas, wall time)
//!           against full re-execution; an arity sweep at 2^32; the gas figures are
//!           deterministic and checked against snapshots/bench-dispute.json
//!  market   on a devnet: M requests against one host: throughput, latency, gas per job
//!  machine  the WASM machine against wasmtime and wasmi on the same workloads, and the honest
//!           party's cost of a bisection query over a 2^32-step trace
//!  soak     on a devnet: rounds of requests through one host process: its resident memory
//!           and mean tick as the jobs it has served grow
//! ```

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod chart;
pub mod dispute;
pub mod error;
pub mod machine;
pub mod market;
pub mod runtime;
pub mod soak;

pub use error::{Error, Result};

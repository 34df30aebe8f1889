//! The verifier's integration tests: one binary (one link), a module per topic.

mod common;
mod evm;
mod machine_prover;
mod machine_prover_gas;
mod machine_prover_pure;
mod strategy;

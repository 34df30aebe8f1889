//! alloy bindings to the ecm contracts.
//!
//! `build.rs` compiles `contracts/` with foundry-compilers, through the `tools/solc` shim over the
//! npm `solc` package (no compiler download), with the settings of `foundry.toml`; each contract
//! below is an `alloy::sol!` module generated from its artifact, with the bytecode to deploy it.
//!
//! ```text
//! contracts/*.sol --foundry-compilers + tools/solc--> artifacts (OUT_DIR) --sol!--> Broker, Factory, ...
//! ```
//!
//! Reverts decode into each contract's error enum, e.g. [`Broker::BrokerErrors`].

#![allow(unreachable_pub, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

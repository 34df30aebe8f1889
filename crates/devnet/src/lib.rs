//! A local ecm network in one call, and ecm deployed on any chain.
//!
//! ```text
//!  Anvil::spawn  -- node_modules/@foundry-rs/anvil-*/bin/anvil on 127.0.0.1:<free port>,
//!                   chain 31337, hardfork prague; killed when dropped
//!  deploy        -- MachineProver, Factory(prover), BrokerTournaments + Broker(factory, arity, clock), one Execution
//!                   contract per example step program, registered with its WASM module hash,
//!                   and the example machine programs (stock wasm32-wasip1 modules), registered
//!                   with their initial cores  ->  Deployment
//! ```
//!
//! `ecm devnet`, `ecm demo` and the end-to-end tests all deploy through [`deploy()`], and `ecm
//! deploy` (any chain) through [`deploy_resumable`], which is the same code with a journal that
//! lets an interrupted deployment be finished; so the tests exercise exactly what users run.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod anvil;
pub mod deploy;
pub mod error;
pub mod machine;

pub use anvil::{Anvil, AnvilConfig, DEV_KEYS, find_anvil, free_port};
pub use deploy::{DeployConfig, deploy, deploy_resumable, journal_path, program_names};
pub use error::{Error, Result};
pub use machine::{MachineRegistration, RegisterError, register_machine_program};

use ecm_primitives::Deployment;

/// A running Anvil with ecm deployed on it.
#[derive(Debug)]
pub struct Devnet {
    /// The node (stopped when this is dropped).
    pub anvil: Anvil,
    /// What was deployed.
    pub deployment: Deployment,
}

/// Starts Anvil and deploys ecm on it.
pub async fn start(config: AnvilConfig, deploy_config: DeployConfig) -> Result<Devnet> {
    let block_time = config.block_time;
    let mut anvil = Anvil::spawn(config).await?;
    let deployment = deploy(anvil.url(), DEV_KEYS[0], &deploy_config).await?;
    match block_time {
        Some(seconds) => anvil.set_block_time(seconds).await?,
        None => anvil.watch_automine(),
    }
    Ok(Devnet { anvil, deployment })
}

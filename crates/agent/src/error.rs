//! Errors of the agents.

use std::path::PathBuf;

/// What can stop an agent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain could not be reached or refused a call.
    #[error(transparent)]
    Chain(#[from] ecm_chain::Error),
    /// The job store could not be read or written.
    #[error("job store {path}: {reason}")]
    Store {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The configuration is not usable.
    #[error("invalid agent configuration: {0}")]
    Config(String),
    /// Cheating was asked for on a real network.
    #[error("--cheat is only allowed on an Anvil devnet (chain {anvil}); this chain is {chain_id}")]
    CheatOnRealNetwork {
        /// The chain's id.
        chain_id: u64,
        /// Anvil's id.
        anvil: u64,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

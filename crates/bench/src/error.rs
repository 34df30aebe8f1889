//! Errors of the benchmarks.

/// What can stop a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The devnet failed.
    #[error(transparent)]
    Devnet(#[from] ecm_devnet::Error),
    /// A chain call failed.
    #[error(transparent)]
    Chain(#[from] ecm_chain::Error),
    /// The client failed.
    #[error(transparent)]
    Client(#[from] ecm_client::Error),
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] ecm_runtime::Error),
    /// The machine failed (or its engines disagreed).
    #[error(transparent)]
    Machine(#[from] ecm_machine::Error),
    /// The verifier failed.
    #[error(transparent)]
    Verifier(#[from] ecm_verifier::Error),
    /// The chart could not be drawn.
    #[error("chart: {0}")]
    Chart(String),
    /// Something else (with context).
    #[error("{0}")]
    Other(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

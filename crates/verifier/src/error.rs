//! Errors of the verifier.

/// What can go wrong reproducing steps or checking a program.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// revm could not run the harness transaction (a setup problem, never a step outcome).
    #[error("revm failed to run the step harness: {0}")]
    Evm(String),
    /// The harness call itself failed, which only happens if its gas ran out.
    #[error("the step harness did not return: {0}")]
    Harness(String),
    /// The WASM runtime failed for a reason that is not a step outcome.
    #[error(transparent)]
    Runtime(#[from] ecm_runtime::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

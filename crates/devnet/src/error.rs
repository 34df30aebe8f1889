//! Errors of starting a devnet.

use std::path::PathBuf;

/// What can go wrong starting Anvil or deploying.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No Anvil binary was found.
    #[error(
        "anvil not found (looked in {looked}): run `make install` in the repository root, which installs Foundry from npm, or set ECM_ANVIL to an anvil binary"
    )]
    AnvilNotFound {
        /// Where it looked.
        looked: String,
    },
    /// Anvil could not be started or exited early.
    #[error("anvil ({path}) failed to start: {reason}")]
    AnvilFailed {
        /// The binary.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A deployment transaction failed.
    #[error("deploying {what} failed: {reason}")]
    Deploy {
        /// What was being deployed.
        what: String,
        /// Why.
        reason: String,
    },
    /// A program name that is not one of the examples.
    #[error("no example program named `{name}` (known: {known})")]
    UnknownProgram {
        /// The name given.
        name: String,
        /// The known names.
        known: String,
    },
    /// The deployment journal cannot be used.
    #[error("the deployment journal {path}: {reason}")]
    Journal {
        /// Where it is.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },
}

impl Error {
    /// Deploying or registering `what` failed because of `reason`.
    pub(crate) fn deploy(what: &str, reason: impl std::fmt::Display) -> Self {
        Self::Deploy {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! Errors of the shared definitions.

use std::path::PathBuf;

/// What can go wrong reading or writing a deployment file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The deployment file could not be read or written.
    #[error("cannot access deployment file {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// The deployment file is not valid JSON of the expected shape.
    #[error("deployment file {path} is malformed: {error} (write one with `ecm devnet`)")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The cause.
        error: serde_json::Error,
    },
    /// The deployment has no program of that name.
    #[error("no program named `{0}` in the deployment (known: {1})")]
    UnknownProgram(String, String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

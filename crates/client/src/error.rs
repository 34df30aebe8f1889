//! Errors of the client library.

use crate::Status;

/// What can go wrong for a requester.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The chain refused or could not be reached.
    #[error(transparent)]
    Chain(#[from] ecm_chain::Error),
    /// The program is not known.
    #[error("{0}")]
    UnknownProgram(String),
    /// The request transaction emitted no `Created` event.
    #[error(
        "the request transaction emitted no Created event: is the deployment's Broker address right?"
    )]
    NoCreatedEvent,
    /// A batch's requests differ in something besides their input.
    #[error(
        "the requests of a batch share their program, payment, window and options: {0} differs (request them one by one instead)"
    )]
    MixedBatch(&'static str),
    /// No `RequestInput` log for the request.
    #[error("no RequestInput log for request {0}: was it made on this deployment?")]
    NoInput(u64),
    /// Waiting timed out.
    #[error("request {id} is still {status} after the timeout")]
    Timeout {
        /// The request.
        id: u64,
        /// Its status then.
        status: Status,
    },
    /// Recomputing failed.
    #[error("replay failed: {0}")]
    Replay(String),
    /// The chain holds a status, mode or phase this build does not know.
    #[error("request {id}: {source}")]
    UnknownValue {
        /// The request.
        id: u64,
        /// The value read.
        #[source]
        source: ecm_bindings::protocol::UnknownValue,
    },
    /// The runtime failed while replaying.
    #[error("replay: {0}")]
    Runtime(#[from] ecm_runtime::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! One module per command group or verb.

pub(crate) mod agent;
#[cfg(feature = "bench")]
pub(crate) mod bench;
pub(crate) mod challenger;
pub(crate) mod client;
pub(crate) mod demo;
pub(crate) mod deploy;
pub(crate) mod devnet;
pub(crate) mod explorer;
pub(crate) mod host;
pub(crate) mod jobs;
pub(crate) mod program;
pub(crate) mod stats;

//! The `ecm` binary's end-to-end tests: one binary (one link), a module per topic.

mod browser;
mod common;
mod demo;
mod deploy;
mod devnet_restart;
mod errors;
mod explorer;
mod keystore;
mod kill;
mod metrics;
mod newcomer;
mod program_deploy;
mod program_run;
mod tls;

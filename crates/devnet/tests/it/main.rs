//! The devnet's integration tests against a real Anvil: one binary (one link), a module per topic.

mod deploy;
mod watchdog;

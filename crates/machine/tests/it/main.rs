//! The machine's integration tests: one binary, a module per topic.

mod basics;
mod common;
mod examples;
mod generated;
mod hostile;
mod properties;
mod spec;

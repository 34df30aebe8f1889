//! The machine's integration tests: one binary, a module per topic.

mod basics;
mod common;
mod spec;

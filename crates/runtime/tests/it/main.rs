//! The runtime's integration tests: one binary (one link), a module per topic.

mod hostile;
mod programs;
mod trace;

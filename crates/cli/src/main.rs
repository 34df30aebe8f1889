//! The `ecm` command.
fn main() {}

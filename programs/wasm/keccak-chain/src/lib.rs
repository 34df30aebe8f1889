//! The `keccak-chain` program, exported with the ecm guest ABI.
ecm_guest::export_program!(ecm_example_programs::keccak_chain::step);

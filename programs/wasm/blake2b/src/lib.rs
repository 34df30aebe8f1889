//! The `blake2b` program, exported with the ecm guest ABI.
ecm_guest::export_program!(ecm_example_programs::blake2b::step);

//! The `build-byte-array` program, exported with the ecm guest ABI.
ecm_guest::export_program!(ecm_example_programs::build_byte_array::step);

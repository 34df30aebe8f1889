//! The `counter` program, exported with the ecm guest ABI.
ecm_guest::export_program!(ecm_example_programs::counter::step);

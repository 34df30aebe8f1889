//! The example WASI programs (`programs/wasi/*`, built for wasm32-wasip1 by the normal build)
//! in all three engines, with their known answers.

use crate::common::{halted, run_three};
use ecm_machine::Program;
use ecm_programs::{wasi_program, wasi_programs};

#[test]
fn every_example_agrees_in_three_engines_on_its_samples() {
    for example in wasi_programs() {
        let program = Program::from_wasm(example.wasm).unwrap();
        assert_eq!(program.entry_name(), "_start", "{}", example.name);
        assert_eq!(
            program.float_instructions(),
            0,
            "{}: integer Rust has no floats",
            example.name
        );
        for sample in example.samples {
            run_three(&program, sample.as_bytes());
        }
    }
}

#[test]
fn sha256sum_prints_the_known_digest() {
    let program = Program::from_wasm(wasi_program("sha256sum").unwrap().wasm).unwrap();
    let runs = run_three(&program, b"abc");
    assert_eq!(
        halted(&runs.machine),
        (
            0,
            b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -\n".to_vec()
        )
    );
}

#[test]
fn wordfreq_counts_words_with_a_hashmap() {
    let program = Program::from_wasm(wasi_program("wordfreq").unwrap().wasm).unwrap();
    let runs = run_three(&program, b"to be or not to be\n");
    assert_eq!(
        String::from_utf8(halted(&runs.machine).1).unwrap(),
        "     2 be\n     2 to\n     1 not\n     1 or\n"
    );
}

#[test]
fn a_program_that_exits_with_a_code_and_stderr() {
    let program = Program::from_wasm(wasi_program("workloads").unwrap().wasm).unwrap();
    let runs = run_three(&program, b"nonsense");
    assert_eq!(halted(&runs.machine), (2, vec![]));
    assert_eq!(runs.fast.log, b"usage: sha256 N | blur W H | mix N\n");
}

#[test]
fn lowering_is_deterministic() {
    for example in wasi_programs() {
        let a = Program::from_wasm(example.wasm).unwrap();
        let b = Program::from_wasm(example.wasm).unwrap();
        assert_eq!(a.initial_core(), b.initial_core(), "{}", example.name);
        assert_eq!(a.code(), b.code());
        assert_eq!(a.engine_wasm(), b.engine_wasm());
    }
    // Different programs commit to different initial states.
    let cores: std::collections::HashSet<_> = wasi_programs()
        .iter()
        .map(|e| Program::from_wasm(e.wasm).unwrap().initial_core())
        .collect();
    assert_eq!(cores.len(), wasi_programs().len());
}

//! The example programs' WASM modules agree with their native references at every step, through
//! the single-step and the batched entry alike.

use ecm_runtime::{Limits, NativeStepper, Runtime, Stepper};

/// A few inputs per program, covering edge cases (empty, one step, several blocks).
fn inputs(name: &str) -> Vec<Vec<u8>> {
    let spec = ecm_programs::by_name(name).unwrap();
    let typed: &[&str] = match name {
        "fibonacci" => &[
            "0",
            "1",
            "2",
            "10",
            "60",
            "299",
            "0x0a00",
            "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ],
        "build-byte-array" => &["0", "1", "3", "300"],
        "counter" => &["0", "1", "7", "1000"],
        "keccak-chain" => &["0", "1", "50"],
        "blake2b" => &["", "abc", "0x00", "0x0102"],
        _ => unreachable!(),
    };
    let mut all: Vec<Vec<u8>> = typed.iter().map(|t| spec.parse_input(t).unwrap()).collect();
    if name == "blake2b" {
        all.push((0..=255u8).cycle().take(1000).collect());
        all.push(vec![7; 256]);
    }
    all
}

#[test]
fn wasm_matches_native_at_every_step() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    for spec in ecm_programs::all() {
        let program = runtime.load(spec.wasm).unwrap();
        assert_eq!(program.hash(), spec.wasm_hash());
        let mut wasm = program.instantiate().unwrap();
        for input in inputs(spec.name) {
            let mut native = input.clone();
            let mut state = input.clone();
            for i in 1..=2000u64 {
                let native_final = (spec.native)(i, &mut native);
                let out = wasm.step(i, &state).unwrap();
                assert_eq!(
                    out.state, native,
                    "{} input {input:02x?} step {i}",
                    spec.name
                );
                assert_eq!(out.final_, native_final, "{} step {i}", spec.name);
                state = out.state;
                if native_final {
                    break;
                }
            }
        }
    }
}

#[test]
fn batched_run_matches_single_steps() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    for spec in ecm_programs::all() {
        let mut wasm = runtime.load(spec.wasm).unwrap().instantiate().unwrap();
        for input in inputs(spec.name) {
            let batched = wasm.run(1, 5000, &input).unwrap();
            let reference = NativeStepper(spec.native).run(1, 5000, &input).unwrap();
            assert_eq!(batched, reference, "{}", spec.name);
        }
    }
}

#[test]
fn fibonacci_ecm_values() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    let spec = ecm_programs::by_name("fibonacci").unwrap();
    let mut wasm = runtime.load(spec.wasm).unwrap().instantiate().unwrap();
    let expected = [1u64, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
    for (n, f) in expected.iter().enumerate() {
        let out = wasm
            .run(1, 1000, &spec.parse_input(&n.to_string()).unwrap())
            .unwrap();
        assert!(out.final_);
        assert_eq!(out.steps, n as u64 + 1);
        assert_eq!(spec.show_result(&out.state), f.to_string());
    }
    let out = wasm
        .run(1, 1000, &spec.parse_input("299").unwrap())
        .unwrap();
    assert_eq!(
        spec.show_result(&out.state),
        "222232244629420445529739893461909967206666939096499764990979600"
    );
}

#[test]
fn blake2b_standard_digest() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    let spec = ecm_programs::by_name("blake2b").unwrap();
    let mut wasm = runtime.load(spec.wasm).unwrap().instantiate().unwrap();
    let out = wasm.run(1, 10, b"abc").unwrap();
    assert_eq!(
        spec.show_result(&out.state),
        "0xba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
    );
}

//! WASM == EVM == native for every example program, and the conformance check catches a
//! deliberately divergent program.

use ecm_runtime::{Limits, Runtime, Stepper};
use ecm_verifier::{EvmStepper, conformance};

fn evm(spec: &ecm_programs::ProgramSpec) -> EvmStepper {
    EvmStepper::new(spec.runtime_bytecode.clone(), spec.max_step_gas)
}

#[test]
fn fibonacci_ecm_values_in_revm() {
    let spec = ecm_programs::by_name("fibonacci").unwrap();
    let mut stepper = evm(spec);
    let expected = [1u64, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
    for (n, f) in expected.iter().enumerate() {
        let out = stepper
            .run(1, 100, &spec.parse_input(&n.to_string()).unwrap())
            .unwrap();
        assert_eq!((out.steps, out.final_), (n as u64 + 1, true));
        assert_eq!(spec.show_result(&out.state), f.to_string());
    }
    let out = stepper
        .run(1, 1000, &spec.parse_input("60").unwrap())
        .unwrap();
    assert_eq!(spec.show_result(&out.state), "2504730781961");
    let out = stepper
        .run(1, 1000, &spec.parse_input("299").unwrap())
        .unwrap();
    assert_eq!(
        spec.show_result(&out.state),
        "222232244629420445529739893461909967206666939096499764990979600"
    );
}

#[test]
fn build_byte_array_ecm_values_in_revm() {
    let spec = ecm_programs::by_name("build-byte-array").unwrap();
    let mut stepper = evm(spec);
    assert_eq!(stepper.run(1, 10, b"abc").unwrap().state, vec![1, 2, 3]);
    assert_eq!(stepper.run(1, 10, b"").unwrap().state, vec![1]);
}

#[test]
fn steps_report_their_gas_and_stay_within_budget() {
    for spec in ecm_programs::all() {
        let mut stepper = evm(spec);
        let input = spec.parse_input("3").unwrap_or_default();
        let step = stepper.next(1, false, &input).unwrap();
        assert!(
            step.gas_used > 0 && step.gas_used < u64::from(spec.max_step_gas) * 2,
            "{}: {}",
            spec.name,
            step.gas_used
        );
    }
}

#[test]
fn final_states_are_sticky_and_bad_states_halt() {
    let spec = ecm_programs::by_name("counter").unwrap();
    let mut stepper = evm(spec);
    let sticky = stepper.next(99, true, b"anything").unwrap();
    assert_eq!(
        (sticky.state.as_slice(), sticky.final_),
        (&b"anything"[..], true)
    );
    let halted = stepper.next(2, false, b"short").unwrap();
    assert_eq!((halted.state.as_slice(), halted.final_), (&b""[..], true));
}

#[test]
fn every_program_conforms() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    for spec in ecm_programs::all() {
        let wasm = runtime.load(spec.wasm).unwrap();
        let inputs: Vec<Vec<u8>> = (0..4u64)
            .map(|k| spec.parse_input(&(k * 7 + 1).to_string()).unwrap())
            .collect();
        let plan = conformance::Plan {
            inputs,
            steps_per_input: 40,
            random_states: 150,
            seed: 7,
        };
        let report = conformance::check(&wasm, &mut evm(spec), &plan).unwrap();
        assert!(report.passed(), "{}: {:?}", spec.name, report.divergence);
        assert_eq!(report.random_states, 150);
        assert!(report.steps > 150);
    }
}

#[test]
fn wasm_evm_and_native_agree_at_every_step_of_several_traces() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    for spec in ecm_programs::all() {
        let mut wasm = runtime.load(spec.wasm).unwrap().instantiate().unwrap();
        let mut chain = evm(spec);
        for text in ["0", "1", "5", "33"] {
            let input = spec.parse_input(text).unwrap();
            let mut state = input.clone();
            let mut native = input.clone();
            for i in 1..=200u64 {
                let native_final = (spec.native)(i, &mut native);
                let w = wasm.step(i, &state).unwrap();
                let e = chain.next(i, false, &state).unwrap();
                assert_eq!(
                    (&w.state, w.final_),
                    (&e.state, e.final_),
                    "{} {text} step {i}: wasm vs evm",
                    spec.name
                );
                assert_eq!(
                    (&w.state, w.final_),
                    (&native, native_final),
                    "{} {text} step {i}: wasm vs native",
                    spec.name
                );
                state = w.state;
                if w.final_ {
                    break;
                }
            }
        }
    }
}

#[test]
fn a_divergent_program_is_caught() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    let counter = ecm_programs::by_name("counter").unwrap();
    let wasm = runtime.load(counter.wasm).unwrap();
    let mut divergent = EvmStepper::new(
        ecm_bindings::DivergentCounter::DEPLOYED_BYTECODE.clone(),
        20_000,
    );
    let plan = conformance::Plan {
        inputs: vec![counter.parse_input("100").unwrap()],
        steps_per_input: 100,
        random_states: 0,
        seed: 1,
    };
    let report = conformance::check(&wasm, &mut divergent, &plan).unwrap();
    let d = report
        .divergence
        .expect("the divergence at step 37 is found");
    assert_eq!(d.step, 37);
    assert!(d.evm.1);
    assert!(!d.wasm.unwrap().1);
}

#[test]
fn too_little_step_gas_halts_like_the_chain() {
    // With 100 gas no step can run: the chain halts the trace; WASM does not, a divergence.
    let runtime = Runtime::new(Limits::default()).unwrap();
    let counter = ecm_programs::by_name("counter").unwrap();
    let mut starved = EvmStepper::new(counter.runtime_bytecode.clone(), 100);
    let step = starved
        .next(1, false, &counter.parse_input("5").unwrap())
        .unwrap();
    assert_eq!((step.state.len(), step.final_), (0, true));
    let plan = conformance::Plan {
        inputs: vec![counter.parse_input("5").unwrap()],
        steps_per_input: 5,
        random_states: 0,
        seed: 1,
    };
    let report =
        conformance::check(&runtime.load(counter.wasm).unwrap(), &mut starved, &plan).unwrap();
    assert_eq!(report.divergence.unwrap().step, 1);
}

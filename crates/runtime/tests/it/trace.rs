//! The trace oracle: checkpoint replay gives the same commitments as a straight run, within its
//! memory budget and its work bound.

use ecm_primitives::commitment;
use ecm_runtime::{Limits, NativeStepper, Runtime, Stepper, TraceOracle};
use proptest::prelude::*;

fn counter() -> &'static ecm_programs::ProgramSpec {
    ecm_programs::by_name("counter").unwrap()
}

/// Every commitment of a trace by stepping one at a time.
fn straight(
    spec: &ecm_programs::ProgramSpec,
    input: &[u8],
    max_steps: u64,
) -> Vec<alloy_primitives::B256> {
    let mut cs = vec![commitment(false, input)];
    let mut state = input.to_vec();
    let mut final_ = false;
    for i in 1..=max_steps {
        if !final_ {
            final_ = (spec.native)(i, &mut state);
        }
        cs.push(commitment(final_, &state));
    }
    cs
}

#[test]
fn outcome_of_a_finished_and_an_unfinished_trace() {
    let spec = counter();
    let mut done = TraceOracle::new(
        NativeStepper(spec.native),
        spec.parse_input("100").unwrap(),
        1000,
        1 << 20,
    );
    let outcome = done.run_to_end().unwrap();
    assert_eq!((outcome.steps, outcome.final_), (100, true));
    let mut cut = TraceOracle::new(
        NativeStepper(spec.native),
        spec.parse_input("100").unwrap(),
        60,
        1 << 20,
    );
    let outcome = cut.run_to_end().unwrap();
    assert_eq!(
        (outcome.steps, outcome.final_),
        (60, false),
        "out of steps at maxSteps"
    );
    assert!(cut.point(61).is_err());
}

#[test]
fn checkpoints_stay_within_the_budget() {
    let spec = counter();
    let budget = 10_000;
    let mut oracle = TraceOracle::new(
        NativeStepper(spec.native),
        spec.parse_input("1000000").unwrap(),
        2_000_000,
        budget,
    );
    oracle.run_to_end().unwrap();
    assert!(
        oracle.checkpoint_bytes() <= budget,
        "{} > {budget}",
        oracle.checkpoint_bytes()
    );
    assert!(oracle.checkpoint_interval() > 1);
    // A query replays at most one interval.
    let before = oracle.work();
    oracle.commitment(777_777).unwrap();
    assert!(oracle.work() - before < oracle.checkpoint_interval());
}

#[test]
fn wasm_oracle_matches_native_oracle() {
    let spec = ecm_programs::by_name("keccak-chain").unwrap();
    let runtime = Runtime::new(Limits::default()).unwrap();
    let instance = runtime.load(spec.wasm).unwrap().instantiate().unwrap();
    let input = spec.parse_input("3000").unwrap();
    let mut wasm = TraceOracle::new(instance, input.clone(), 5000, 4096);
    let mut native = TraceOracle::new(NativeStepper(spec.native), input, 5000, 1 << 20);
    assert_eq!(wasm.run_to_end().unwrap(), native.run_to_end().unwrap());
    for i in [0, 1, 2, 999, 1000, 1001, 2999, 3000, 3001, 5000] {
        assert_eq!(
            wasm.commitment(i).unwrap(),
            native.commitment(i).unwrap(),
            "c_{i}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// c_i from checkpoint replay equals c_i from a straight run, for random i, traces and
    /// budgets, in any query order.
    #[test]
    fn replay_equals_straight_run(n in 1u64..3000, extra in 0u64..500, budget in 100usize..20_000, queries in prop::collection::vec(any::<u64>(), 1..40)) {
        for name in ["counter", "fibonacci", "keccak-chain"] {
            let spec = ecm_programs::by_name(name).unwrap();
            let input = spec.parse_input(&n.to_string()).unwrap();
            let max_steps = n + extra + 1;
            let expected = straight(spec, &input, max_steps);
            let mut oracle = TraceOracle::new(NativeStepper(spec.native), input, max_steps, budget);
            oracle.run_to_end().unwrap();
            for q in &queries {
                let i = q % (max_steps + 1);
                prop_assert_eq!(oracle.commitment(i).unwrap(), expected[i as usize], "{} c_{}", name, i);
            }
        }
    }
}

#[test]
fn queries_before_the_end_is_known_are_answered_too() {
    let spec = counter();
    let mut oracle = TraceOracle::new(
        NativeStepper(spec.native),
        spec.parse_input("50").unwrap(),
        100,
        1 << 20,
    );
    assert_eq!(
        oracle.commitment(80).unwrap(),
        straight(spec, &spec.parse_input("50").unwrap(), 100)[80]
    );
    let mut stepper = NativeStepper(spec.native);
    assert_eq!(
        stepper
            .run(1, 10, &spec.parse_input("5").unwrap())
            .unwrap()
            .steps,
        5,
        "stops at the final state"
    );
}

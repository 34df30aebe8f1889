//! Helpers shared by the integration tests: running a program on all three engines and
//! holding them to one answer.

use ecm_machine::{End, EngineEnd, EngineRun, FastEngine, Outcome, Program, ReferenceModule};
use std::sync::LazyLock;

/// Steps allowed in tests unless a test says otherwise.
pub(crate) const MAX_STEPS: u64 = 1 << 32;

static FAST: LazyLock<FastEngine> = LazyLock::new(|| FastEngine::new().unwrap());

/// A module from WAT.
pub(crate) fn wat(source: &str) -> Vec<u8> {
    wat::parse_str(source).unwrap_or_else(|e| panic!("bad test WAT: {e}"))
}

/// A program's run on the machine, wasmtime and wasmi.
#[derive(Debug)]
pub(crate) struct Runs {
    pub(crate) machine: Outcome,
    pub(crate) fast: EngineRun,
    pub(crate) reference: EngineRun,
}

/// Runs `program` on `input` everywhere and asserts that the engines agree with the machine
/// (final state, trap or not) and that wasmtime's fuel covers the machine's steps.
pub(crate) fn run_three(program: &Program, input: &[u8]) -> Runs {
    let machine = ecm_machine::run(program, input, MAX_STEPS).unwrap();
    let fast = FAST
        .compile(program)
        .unwrap()
        .run(input, u64::MAX / 2)
        .unwrap();
    let reference = ReferenceModule::new(program).unwrap().run(input).unwrap();
    assert!(
        machine.is_final(),
        "the machine ran out of steps: {machine:?}"
    );
    for (name, run) in [("wasmtime", &fast), ("wasmi", &reference)] {
        if run.end == EngineEnd::StackOverflow {
            // Only the machine decides deep recursion; hosts ask it.
            continue;
        }
        assert_eq!(
            run.final_state(),
            Some(machine.state()),
            "{name} disagrees with the machine: {run:?} vs {machine:?}"
        );
        if let (End::Trapped { .. }, EngineEnd::Trapped(_)) = (&machine.end, &run.end) {
        } else if let End::Trapped { .. } = machine.end {
            panic!("{name} did not trap where the machine did: {run:?} vs {machine:?}");
        }
    }
    if let End::Halted { .. } = machine.end {
        let fuel = fast.fuel.unwrap();
        assert!(
            fuel >= machine.steps,
            "fuel {fuel} < machine steps {}",
            machine.steps
        );
    }
    Runs {
        machine,
        fast,
        reference,
    }
}

/// The output of a halted run.
pub(crate) fn halted(outcome: &Outcome) -> (u32, Vec<u8>) {
    match &outcome.end {
        End::Halted { exit_code, output } => (*exit_code, output.clone()),
        other => panic!("expected a halt, got {other:?}"),
    }
}

//! What the prover tests share: one step proven in revm and checked against the interpreter.

use alloy_primitives::B256;
use ecm_machine::{Machine, Op, Program};
use ecm_verifier::{MachineProverEvm, ProvenStep};

/// One step the prover accepted and the interpreter agreed with.
pub(crate) struct CheckedStep {
    pub(crate) op: Op,
    /// The state hash the step was proven from.
    pub(crate) before: B256,
    pub(crate) proof: Vec<u8>,
    pub(crate) proven: ProvenStep,
}

/// Proves `machine`'s next step in `prover`, checks the contract's next state against the
/// interpreter's, and advances the machine by the step.
pub(crate) fn prove_and_check(
    prover: &mut MachineProverEvm,
    program: &Program,
    machine: &mut Machine,
) -> CheckedStep {
    let before = machine.hash();
    let op = program
        .code()
        .get(machine.pc() as usize)
        .map_or(Op::Trap, |i| i.op);
    let proof = machine.prove_step().unwrap();
    let proven = prover
        .step(before, &proof)
        .unwrap()
        .unwrap_or_else(|e| panic!("{op} at pc {}: rejected {e:?}", machine.pc()));
    machine.run(1);
    let expected = match machine.final_state() {
        Some(state) => (state, true),
        None => (machine.hash().to_vec(), false),
    };
    assert_eq!(
        (proven.next.clone(), proven.final_),
        expected,
        "{op} at step {}",
        machine.steps()
    );
    CheckedStep {
        op,
        before,
        proof,
        proven,
    }
}

//! The machine prover cannot change behaviour after an answer: its runtime code holds no
//! instruction that reads or writes storage, reads the environment (block, transaction, gas,
//! other accounts) or calls out. With the Factory fixing the prover at deployment and program
//! ids binding it (`contracts/Factory.sol`), a machine program's step is a function of the
//! state hash and the proof alone: the audit's trap attack (a registered `Execution` armed
//! after an honest answer) has nothing to arm (`docs/security.md`).

use ecm_bindings::MachineProver;
use ecm_verifier::purity::{IMPURE_OPCODES, instructions};

/// What a step program may not hold (`ecm_verifier::purity`, the Factory's rule), and GAS: the
/// prover's steps are not given a fixed gas, so it must not depend on it.
fn forbidden(op: u8) -> Option<&'static str> {
    if op == 0x5a {
        return Some("GAS");
    }
    IMPURE_OPCODES
        .iter()
        .find(|(f, _)| *f == op)
        .map(|(_, name)| *name)
}

#[test]
fn the_prover_reads_nothing_but_its_input_and_calls_nothing() {
    let ops = instructions(&MachineProver::DEPLOYED_BYTECODE);
    assert!(ops.len() > 1_000, "the scan sees the prover's code");
    let found: Vec<String> = ops
        .iter()
        .filter_map(|&(pc, op)| forbidden(op).map(|name| format!("{name} at {pc}")))
        .collect();
    assert!(
        found.is_empty(),
        "impure opcodes in MachineProver: {found:?}"
    );
}

#[test]
fn the_scan_finds_what_it_forbids() {
    // A contract that reads storage and calls out, as an armed Execution would: the same scan
    // flags both, and skips a PUSH immediate that happens to hold a forbidden byte.
    // PUSH1 0x54, SLOAD, PUSH1 0 (x5), GAS, CALL, STOP.
    let code = [
        0x60, 0x54, 0x54, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x5a, 0xf1, 0x00,
    ];
    let names: Vec<u8> = instructions(&code)
        .into_iter()
        .map(|(_, op)| op)
        .filter(|op| forbidden(*op).is_some())
        .collect();
    assert_eq!(names, vec![0x54, 0x5a, 0xf1]);
}

/// The example step programs pass the Factory's rule (Blake2b computes its compression itself
/// rather than call the EIP-152 precompile, which the rule would refuse).
#[test]
fn the_example_step_programs_are_pure() {
    for spec in ecm_programs::all() {
        assert_eq!(
            ecm_verifier::purity::first_impurity(spec.runtime_bytecode),
            None,
            "{}",
            spec.name
        );
    }
}

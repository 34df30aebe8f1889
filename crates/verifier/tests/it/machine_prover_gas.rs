//! The on-chain one-step prover's gas per instruction class, held to
//! `snapshots/machine-prover-gas.json`: a change in any figure (a regression, or an
//! improvement) fails here until the snapshot is rewritten with
//! `ECM_UPDATE_SNAPSHOTS=1 cargo test -p ecm-verifier --test it machine_prover_gas`.
//!
//! The steps measured are real: the example programs' first steps, their first output and
//! their halt, and a module of the costliest memory steps (stores and loads across two leaves,
//! copies reading two leaves, unaligned input and output chunks) whose code tree is padded to
//! the examples' depth, so that every step carries a code path as long as a real program's.
//! Every step is also checked against the interpreter, as in `machine_prover.rs`.

use crate::common;

use ecm_machine::{Machine, Op, Program, Status};
use ecm_verifier::{MachineProverEvm, ProvenStep};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One instruction class's figures: its costliest step (by whole-transaction gas), and the
/// median over its steps.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClassGas {
    class: String,
    steps: usize,
    /// The costliest step's instruction.
    worst_instruction: String,
    /// Its execution gas: the whole transaction's standard gas less 21,000 and calldata.
    execution_gas: u64,
    /// Its calldata: the `step(state, proof)` call, ABI-encoded.
    calldata_bytes: usize,
    /// What that calldata costs before the floor (16 gas a byte, 4 a zero byte).
    calldata_gas: u64,
    /// Its whole transaction (with the EIP-7623 floor), the prover called directly.
    tx_gas: u64,
    /// The class's median whole-transaction gas.
    median_tx_gas: u64,
}

/// What the Broker's `proveMachineStep` adds to the prover's own transaction for a step, at
/// most: `anvil-tests/tests/it/machine_dispute.rs` measures it on Anvil (the receipt's gas less
/// the proof's own part, 21,000 + calldata + the prover's execution; 38,593 when the defender
/// wins, 43,425 when the challenger wins and its answer replaces the standing one) and holds it
/// under this bound. It reads the request and the game, checks the revealed point, calls the
/// prover and records the outcome on the request (both parties' records count it later); the
/// loser's deposit is credited at `finalize`, so the step writes no balance. The snapshot holds only what this test measures.
const BROKER_SHARE: u64 = 44_500;

/// Issue 13's goals for the whole `proveMachineStep` transaction: the costliest non-halting
/// step, and the median over the instruction classes of each class's costliest step (the mean
/// of the middle two, as there are twelve classes).
const WORST_STEP_GOAL: u64 = 150_000;
const MEDIAN_CLASS_GOAL: u64 = 100_000;

/// The instruction class a step is reported under.
fn class(op: Op) -> &'static str {
    let code = op as u16;
    match op {
        Op::Const | Op::Drop | Op::Select => "stack",
        Op::LocalGet | Op::LocalSet | Op::LocalTee | Op::GlobalGet | Op::GlobalSet => "variables",
        Op::Br | Op::BrIf | Op::JumpIfZero | Op::BrTable => "branch",
        Op::Call | Op::CallIndirect | Op::Return => "call and return",
        Op::Halt => "halt",
        Op::Trap => "trap",
        Op::MemorySize | Op::MemoryGrow | Op::InputLen | Op::Log => "size, grow, input_len, log",
        Op::MemoryCopy | Op::MemoryFill => "memory.copy and fill chunk",
        Op::InputRead => "input_read chunk",
        Op::Output => "output chunk",
        _ if (0x20..=0x2b).contains(&code) => "load",
        _ if (0x2c..=0x32).contains(&code) => "store",
        _ => "math",
    }
}

/// Every step's figures, by class.
#[derive(Default)]
struct Steps(BTreeMap<&'static str, Vec<(Op, ProvenStep)>>);

impl Steps {
    /// Proves `program`'s steps in `window` on `input` and checks each against the interpreter.
    fn prove(
        &mut self,
        prover: &mut MachineProverEvm,
        program: &Program,
        input: &[u8],
        window: std::ops::Range<u64>,
    ) {
        let mut machine = Machine::new(program, input).unwrap();
        machine.run(window.start);
        while machine.status() == Status::Running && machine.steps() < window.end {
            let step = common::prove_and_check(prover, program, &mut machine);
            self.0
                .entry(class(step.op))
                .or_default()
                .push((step.op, step.proven));
        }
    }

    fn figures(&self) -> Vec<ClassGas> {
        self.0
            .iter()
            .map(|(class, steps)| {
                let (op, worst) = steps
                    .iter()
                    .max_by_key(|(op, step)| (step.gas_used, op.name()))
                    .unwrap();
                let mut gas: Vec<u64> = steps.iter().map(|(_, step)| step.gas_used).collect();
                gas.sort_unstable();
                ClassGas {
                    class: class.to_string(),
                    steps: steps.len(),
                    worst_instruction: op.name().to_string(),
                    execution_gas: worst.execution_gas,
                    calldata_bytes: worst.calldata_bytes,
                    calldata_gas: worst.calldata_gas,
                    tx_gas: worst.gas_used,
                    median_tx_gas: gas[gas.len() / 2],
                }
            })
            .collect()
    }
}

/// The costliest memory steps, in a module whose code is padded with a function that never
/// runs to at least `code_len` instructions.
fn costly_memory_module(code_len: usize) -> Program {
    let padding = "i64.const 1 drop\n".repeat(code_len / 2);
    let wat = format!(
        r#"(module
  (import "ecm" "input_read" (func $input_read (param i32 i32 i32)))
  (import "ecm" "output" (func $output (param i32 i32)))
  (memory 2)
  (data (i32.const 0) "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  (func $padding {padding})
  (func (export "ecm_main")
    i32.const 29 i64.load drop
    i32.const 131064 i64.load drop
    i32.const 61 i64.const -1 i64.store
    i32.const 131068 i32.const -1 i32.store
    i32.const 100 i32.const 3 i32.const 70 memory.copy
    i32.const 40 i32.const 7 i32.const 90 memory.copy
    i32.const 131000 i32.const 5 i32.const 64 memory.fill
    i32.const 300 i32.const 3 i32.const 40 call $input_read
    i32.const 7 i32.const 75 call $output))"#
    );
    let program = Program::from_wasm(&wat::parse_str(&wat).unwrap()).unwrap();
    assert!(program.code().len() >= code_len);
    program
}

fn measure() -> Vec<ClassGas> {
    let mut prover = MachineProverEvm::new().unwrap();
    let mut steps = Steps::default();
    let mut longest_code = 0;
    for (name, input) in [
        ("sha256sum", &b"hash me"[..]),
        ("wordfreq", &b"a b a c"[..]),
    ] {
        let program = Program::from_wasm(ecm_programs::wasi_program(name).unwrap().wasm).unwrap();
        longest_code = longest_code.max(program.code().len());
        let mut machine = Machine::new(&program, input).unwrap();
        let mut first_output = None;
        while machine.status() == Status::Running {
            let op = program.code().get(machine.pc() as usize).map(|i| i.op);
            if first_output.is_none() && op == Some(Op::Output) {
                first_output = Some(machine.steps());
            }
            machine.run(1);
        }
        let end = machine.steps();
        let output = first_output.expect("the examples write their answer");
        steps.prove(&mut prover, &program, input, 0..2_000);
        steps.prove(&mut prover, &program, input, output..output + 50);
        steps.prove(&mut prover, &program, input, end - 100..end);
    }
    let input: Vec<u8> = (0..64u8).collect();
    steps.prove(
        &mut prover,
        &costly_memory_module(longest_code),
        &input,
        0..u64::MAX,
    );
    steps.figures()
}

#[test]
fn prover_gas_per_instruction_class_matches_the_snapshot() {
    let figures = measure();
    eprintln!(
        "{:28} {:>6} {:>14} {:>9} {:>8} {:>8} {:>7} {:>9} {:>13}",
        "class",
        "steps",
        "worst",
        "execution",
        "calldata",
        "(gas)",
        "tx",
        "median tx",
        "with Broker"
    );
    let with_broker = |row: &ClassGas| 21_000 + row.calldata_gas + row.execution_gas + BROKER_SHARE;
    for row in &figures {
        eprintln!(
            "{:28} {:>6} {:>14} {:>9} {:>8} {:>8} {:>7} {:>9} {:>13}",
            row.class,
            row.steps,
            row.worst_instruction,
            row.execution_gas,
            row.calldata_bytes,
            row.calldata_gas,
            row.tx_gas,
            row.median_tx_gas,
            with_broker(row)
        );
    }
    // The goals, for the transaction as the Broker sends it.
    let worst = figures
        .iter()
        .filter(|row| row.class != "halt" && row.class != "trap")
        .max_by_key(|row| with_broker(row))
        .unwrap();
    assert!(
        with_broker(worst) <= WORST_STEP_GOAL,
        "the costliest step ({}) costs {} gas with the Broker",
        worst.worst_instruction,
        with_broker(worst)
    );
    let mut classes: Vec<u64> = figures.iter().map(with_broker).collect();
    classes.sort_unstable();
    let middle = classes.len() / 2;
    let median = if classes.len().is_multiple_of(2) {
        (classes[middle - 1] + classes[middle]) / 2
    } else {
        classes[middle]
    };
    assert!(
        median <= MEDIAN_CLASS_GOAL,
        "the median class costs {median} gas with the Broker"
    );
    eprintln!(
        "with the Broker: worst step {} gas ({}), median class {median} gas",
        with_broker(worst),
        worst.worst_instruction
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../snapshots/machine-prover-gas.json");
    if std::env::var_os("ECM_UPDATE_SNAPSHOTS").is_some() {
        let json = serde_json::to_string_pretty(&figures).unwrap();
        std::fs::write(&path, json + "\n").unwrap();
    }
    let expected: Vec<ClassGas> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        figures, expected,
        "the prover's gas changed: if intended, run \
         `ECM_UPDATE_SNAPSHOTS=1 cargo test -p ecm-verifier --test it machine_prover_gas`"
    );
}

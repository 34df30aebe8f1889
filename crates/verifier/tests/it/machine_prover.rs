//! The on-chain one-step prover (contracts/machine/) against the interpreter (ecm-machine), in
//! revm: for every step the prover executes, the contract's next state equals the
//! interpreter's, and the same proof with a byte flipped, missing or added reverts.
//!
//! The states are real machine states: small modules push boundary values (0, 1, -1, INT_MIN,
//! INT_MAX, shift counts at and past the width, ...) over a value stack of random depth and
//! run every math instruction on them, trapping cases (division by zero, `INT_MIN / -1`)
//! included. The example programs run on 8 KiB inputs: every step from their start, random
//! later ones, their first output and their halt.
//!
//! `ECM_PROVER_CASES` scales the random cases and the examples' steps: 1 in CI (20,000 steps
//! from each example's start, 2,000 later ones); 5 for the nightly run, issue 13's figures
//! (every step of the first 10^5 of each example, 10^4 random later ones in each that runs
//! longer): `ECM_PROVER_CASES=5 cargo test --release -p ecm-verifier --test it machine_prover::`.

use crate::common;

use common::CheckedStep;
use ecm_machine::{Machine, Op, Program, Status, proof::stack_pops};
use ecm_verifier::MachineProverEvm;
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::collections::BTreeMap;

const I32_EDGES: [i64; 10] = [
    0,
    1,
    -1,
    2,
    31,
    32,
    33,
    i32::MIN as i64,
    i32::MAX as i64,
    0x1234_5678,
];
const I64_EDGES: [i64; 12] = [
    0,
    1,
    -1,
    2,
    63,
    64,
    65,
    i64::MIN,
    i64::MAX,
    i32::MIN as i64,
    0xffff_ffff,
    0x0123_4567_89ab_cdef,
];

fn scale() -> usize {
    std::env::var("ECM_PROVER_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// The WASM type of an operator's operands, from its name.
fn operand_type(op: Op) -> &'static str {
    match op {
        Op::I32WrapI64 => "i64",
        Op::I64ExtendI32S | Op::I64ExtendI32U => "i32",
        _ => &op.name()[..3],
    }
}

/// A no_std module that pushes `filler` values, runs `body`, and drops the filler.
fn module(filler: &[i64], body: &str) -> Program {
    let push: String = filler.iter().map(|v| format!("i64.const {v}\n")).collect();
    let drop = "drop\n".repeat(filler.len());
    let wat = format!("(module (func (export \"ecm_main\")\n{push}{body}\n{drop}))");
    let wasm = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
    Program::from_wasm(&wasm).unwrap_or_else(|e| panic!("{e}\n{wat}"))
}

/// Gas and counts per opcode.
#[derive(Default)]
struct Tally {
    proven: BTreeMap<&'static str, (usize, u64)>,
    rejected: usize,
}

impl Tally {
    /// Asserts that each of `ops` was proven at least `min` times.
    fn assert_proven<'a>(&self, ops: impl IntoIterator<Item = &'a str>, min: usize) {
        for op in ops {
            let n = self.proven.get(op).map_or(0, |t| t.0);
            assert!(n >= min, "{op}: {n} steps proven, expected at least {min}");
        }
    }
}

/// Runs `program` to its end one step at a time; proves every step the prover executes and
/// checks the contract's answer, and the rejection of mutated proofs, against the interpreter.
fn prove_run(
    prover: &mut MachineProverEvm,
    program: &Program,
    rng: &mut StdRng,
    tally: &mut Tally,
) {
    prove_steps(prover, program, &[], 0..u64::MAX, rng, tally);
}

/// [`prove_run`] on `input`, for the steps in `window` only.
fn prove_steps(
    prover: &mut MachineProverEvm,
    program: &Program,
    input: &[u8],
    window: std::ops::Range<u64>,
    rng: &mut StdRng,
    tally: &mut Tally,
) {
    let mut machine = Machine::new(program, input).unwrap();
    machine.run(window.start);
    while machine.status() == Status::Running && machine.steps() < window.end {
        prove_next(prover, program, &mut machine, Some(rng), tally);
    }
}

/// Proves `machine`'s next step, checks the contract's answer against the interpreter, and
/// advances the machine by it. With `rng`, also checks that the same proof with a byte
/// flipped anywhere, one missing or one too many reverts.
fn prove_next(
    prover: &mut MachineProverEvm,
    program: &Program,
    machine: &mut Machine,
    rng: Option<&mut StdRng>,
    tally: &mut Tally,
) {
    let CheckedStep {
        op,
        before,
        proof,
        proven,
    } = common::prove_and_check(prover, program, machine);
    let entry = tally.proven.entry(op.name()).or_default();
    entry.0 += 1;
    entry.1 = entry.1.max(proven.gas_used);

    let Some(rng) = rng else { return };
    let mut flipped = proof.clone();
    let at = rng.random_range(0..flipped.len());
    flipped[at] ^= 1 << rng.random_range(0..8);
    let short = &proof[..proof.len() - 1];
    let mut long = proof.clone();
    long.push(rng.random());
    for (what, bad) in [
        ("flipped", &flipped[..]),
        ("short", short),
        ("long", &long[..]),
    ] {
        match prover.step(before, bad).unwrap() {
            Ok(accepted) => panic!("{op}: a {what} proof was accepted: {accepted:?}"),
            Err(e) => assert!(!e.0.starts_with("undecoded"), "{op}: {what}: {e:?}"),
        }
        tally.rejected += 1;
    }
}

#[test]
fn math_and_stack_instructions_match_the_interpreter_and_bad_proofs_revert() {
    let mut prover = MachineProverEvm::new().unwrap();
    let mut rng = StdRng::seed_from_u64(0xec13);
    let mut tally = Tally::default();
    let math: Vec<Op> = Op::ALL
        .iter()
        .copied()
        .filter(|op| (0x40..=0x8f).contains(&(*op as u16)))
        .collect();
    for &op in &math {
        let ty = operand_type(op);
        let edges: &[i64] = if ty == "i32" { &I32_EDGES } else { &I64_EDGES };
        let filler: Vec<i64> = (0..rng.random_range(0..24)).map(|_| rng.random()).collect();
        let mut cases: Vec<Vec<i64>> = match stack_pops(op) {
            Some(1) => edges.iter().map(|&a| vec![a]).collect(),
            Some(2) => edges
                .iter()
                .flat_map(|&a| edges.iter().map(move |&b| vec![a, b]))
                .collect(),
            other => panic!("{op} pops {other:?}"),
        };
        for _ in 0..8 * scale() {
            let random = |rng: &mut StdRng| match ty {
                "i32" => rng.random::<i32>() as i64,
                _ => rng.random::<i64>(),
            };
            cases.push(
                (0..stack_pops(op).unwrap())
                    .map(|_| random(&mut rng))
                    .collect(),
            );
        }
        // Cases that trap end their run: one module each; the others share one.
        let divides = op.name().contains("div") || op.name().contains("rem");
        let traps = |args: &[i64]| divides && (args[1] == 0 || args[1] == -1);
        let body = |args: &[i64]| {
            let pushes: String = args.iter().map(|a| format!("{ty}.const {a}\n")).collect();
            format!("{pushes}{}\ndrop\n", op.name())
        };
        let (trapping, plain): (Vec<_>, Vec<_>) = cases.iter().partition(|args| traps(args));
        let shared: String = plain.iter().map(|args| body(args)).collect();
        prove_run(&mut prover, &module(&filler, &shared), &mut rng, &mut tally);
        for args in trapping {
            prove_run(
                &mut prover,
                &module(&filler, &body(args)),
                &mut rng,
                &mut tally,
            );
        }
    }

    // const, drop and select (i32 and i64 operands, conditions of every kind), and unreachable.
    let mut selects = String::new();
    for c in I32_EDGES {
        selects.push_str(&format!(
            "i64.const -1\ni64.const 7\ni32.const {c}\nselect\ndrop\n"
        ));
        selects.push_str(&format!(
            "i32.const 5\ni32.const -9\ni32.const {c}\nselect\ndrop\n"
        ));
    }
    prove_run(
        &mut prover,
        &module(&[3, -4], &selects),
        &mut rng,
        &mut tally,
    );
    prove_run(
        &mut prover,
        &module(&[1], "unreachable"),
        &mut rng,
        &mut tally,
    );

    tally.assert_proven(
        math.iter()
            .chain(&[Op::Const, Op::Drop, Op::Select])
            .map(|op| op.name()),
        8,
    );
    assert_eq!(tally.proven.get("trap").map(|t| t.0), Some(1));
    let steps: usize = tally.proven.values().map(|(n, _)| n).sum();
    let worst = tally
        .proven
        .iter()
        .max_by_key(|(_, (_, gas))| *gas)
        .unwrap();
    println!(
        "proven {steps} steps of {} instructions in revm, {} bad proofs reverted; most gas: {} at {} (whole transaction)",
        tally.proven.len(),
        tally.rejected,
        worst.0,
        worst.1.1
    );
}

#[test]
fn locals_and_globals_match_the_interpreter_and_bad_proofs_revert() {
    let mut prover = MachineProverEvm::new().unwrap();
    let mut rng = StdRng::seed_from_u64(0xec14);
    let mut tally = Tally::default();
    // Frames of 1 to 300 locals (trees of depth 0 to 7), globals trees of depth 0 to 4.
    for (locals, globals) in [
        (1, 1),
        (3, 4),
        (4, 5),
        (5, 17),
        (17, 64),
        (64, 2),
        (300, 33),
    ] {
        let mut body = String::new();
        for _ in 0..12 * scale() {
            let (j, g) = (
                rng.random_range(0..locals + 1),
                rng.random_range(0..globals),
            );
            let v: i64 = *[0, -1, i64::MIN, rng.random()]
                .get(rng.random_range(0..4))
                .unwrap();
            body.push_str(&format!(
                "i64.const {v}\nlocal.set {j}\nlocal.get {j}\ndrop\nlocal.get 0\nlocal.tee {j}\n\
                 global.set {g}\nglobal.get {g}\nlocal.set 0\n"
            ));
        }
        let declared: String = (0..globals)
            .map(|g| format!("(global (mut i64) (i64.const {g}))\n"))
            .collect();
        let wat = format!(
            "(module {declared}\n\
             (func $work (param i64) (local {}) {body})\n\
             (func (export \"ecm_main\") i64.const 77 call $work))",
            "i64 ".repeat(locals)
        );
        let program = Program::from_wasm(&wat::parse_str(&wat).unwrap()).unwrap();
        prove_run(&mut prover, &program, &mut rng, &mut tally);
    }
    for op in [
        "local.get",
        "local.set",
        "local.tee",
        "global.get",
        "global.set",
    ] {
        let (n, _) = tally.proven.get(op).copied().unwrap_or_default();
        assert!(n >= 50, "{op}: only {n} steps proven");
    }
    println!(
        "locals and globals: proven {:?}, {} bad proofs reverted",
        tally.proven, tally.rejected
    );
}

/// The first step at which `program` on `input` runs `op`.
fn first_step_running(program: &Program, input: &[u8], op: Op) -> Option<u64> {
    let mut machine = Machine::new(program, input).unwrap();
    while machine.status() == Status::Running {
        if program.code().get(machine.pc() as usize).map(|i| i.op) == Some(op) {
            return Some(machine.steps());
        }
        machine.run(1);
    }
    None
}

/// Steps each example takes on `input` to its end.
fn steps_to_end(program: &Program, input: &[u8]) -> u64 {
    let mut machine = Machine::new(program, input).unwrap();
    machine.run(u64::MAX);
    machine.steps()
}

/// Steps proven from the start of each example, times `ECM_PROVER_CASES` (5 gives issue 13's
/// figure: every step of the first 10^5).
const FIRST_STEPS: u64 = 20_000;
/// Random steps proven after those in each example that runs longer, times `ECM_PROVER_CASES`
/// (5 gives 10^4 per example).
const LATER_STEPS: usize = 2_000;
/// One proven step in this many is also proven with bad proofs (three each).
const MUTATE_EVERY: u64 = 64;

/// The examples on inputs that make them run past `FIRST_STEPS`, and two short runs.
fn example_runs() -> Vec<(&'static str, Vec<u8>)> {
    let mut random = StdRng::seed_from_u64(0xec18);
    let bytes: Vec<u8> = (0..8 * 1024).map(|_| random.random()).collect();
    let words = [
        "ecm", "wasm", "proof", "step", "a", "machine", "host", "leaf",
    ];
    let mut text = String::new();
    while text.len() < 8 * 1024 - 16 {
        text.push_str(words[random.random_range(0..words.len())]);
        text.push(if random.random_range(0..8) == 0 {
            '\n'
        } else {
            ' '
        });
    }
    vec![
        ("sha256sum", bytes),
        ("wordfreq", text.into_bytes()),
        ("workloads", b"mix 50".to_vec()),
        ("workloads", b"no such workload".to_vec()),
    ]
}

#[test]
fn the_example_programs_steps_match_the_interpreter() {
    let mut prover = MachineProverEvm::new().unwrap();
    let mut rng = StdRng::seed_from_u64(0xec15);
    let mut tally = Tally::default();
    let mut later_proven = 0;
    for (name, input) in example_runs() {
        let program = Program::from_wasm(ecm_programs::wasi_program(name).unwrap().wasm).unwrap();
        let end = steps_to_end(&program, &input);
        let first = (FIRST_STEPS * scale() as u64).min(end);
        // Every step of the first ones; random later ones, in order, on the same run; the
        // first output (a run that only fails writes nothing to stdout); the last 300 steps
        // (the halt among them).
        let mut points: Vec<u64> = (0..first).collect();
        if first < end {
            let mut later: Vec<u64> = (0..LATER_STEPS * scale())
                .map(|_| rng.random_range(first..end))
                .collect();
            later.sort_unstable();
            later.dedup();
            later_proven += later.len();
            points.extend(later);
        }
        let mut machine = Machine::new(&program, &input).unwrap();
        for at in points {
            machine.run(at - machine.steps());
            let mutate = at.is_multiple_of(MUTATE_EVERY);
            prove_next(
                &mut prover,
                &program,
                &mut machine,
                mutate.then_some(&mut rng),
                &mut tally,
            );
        }
        if let Some(output) = first_step_running(&program, &input, Op::Output) {
            let window = output..output + 50;
            prove_steps(&mut prover, &program, &input, window, &mut rng, &mut tally);
        }
        let last = end.saturating_sub(300)..end;
        prove_steps(&mut prover, &program, &input, last, &mut rng, &mut tally);
    }
    // sha256sum and wordfreq run far past the first steps; dedup may merge a few points.
    let expected_later = 2 * LATER_STEPS * scale() * 9 / 10;
    assert!(
        later_proven >= expected_later,
        "{later_proven} later steps proven"
    );
    let control = [
        "call",
        "call_indirect",
        "return",
        "br",
        "br_if",
        "jump_if_zero",
        "halt",
    ];
    tally.assert_proven(control, 1);
    tally.assert_proven(["i32.load", "i32.store", "ecm.input_read", "ecm.output"], 1);
    let steps: usize = tally.proven.values().map(|(n, _)| n).sum();
    println!(
        "examples: proven {steps} steps ({later_proven} random later ones), {} bad proofs reverted: {:?}",
        tally.rejected, tally.proven
    );
}

/// A module exercising every control instruction: blocks that keep and drop values, br_if
/// taken and not, br_table in and past its range, if/else, loops, direct and indirect calls
/// with 0 to 9 parameters and several results, recursion, and returns from deep inside.
const CONTROL: &str = r#"
(module
  (type $binary (func (param i64 i64) (result i64)))
  (type $nullary (func (result i32)))
  (table 5 funcref)
  (elem (i32.const 0) $add $sub $seven)
  (func $add (type $binary) local.get 0 local.get 1 i64.add)
  (func $sub (type $binary) local.get 0 local.get 1 i64.sub)
  (func $seven (type $nullary) i32.const 7)
  (func $fib (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32) local.get 0
    else local.get 0 i32.const 1 i32.sub call $fib local.get 0 i32.const 2 i32.sub call $fib i32.add
    end)
  (func $many (param i32 i64 i32 i64 i32 i64 i32 i64 i32) (result i64 i32)
    local.get 7 local.get 8 return)
  (func $early (param i32) (result i64)
    (block (result i64)
      (block (result i64)
        i64.const 1 i64.const 2 i64.const 3
        local.get 0 br_if 1
        drop drop i64.const 4 local.get 0 i32.eqz br_if 0
        drop i64.const 9 i64.const 10 i64.const 11 return)
      i64.const 100 i64.add))
  (func $switch (param i32) (result i32)
    (block (block (block (block
      local.get 0 br_table 0 1 2 3)
      i32.const 10 return)
      i32.const 20 return)
      i32.const 30 return)
    i32.const 40)
  (func $loop (param i32) (result i32) (local i32)
    (loop $again
      local.get 1 local.get 0 i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if $again)
    local.get 1)
  (func (export "ecm_main")
    i32.const 7 call $fib drop
    i32.const 1 i64.const 2 i32.const 3 i64.const 4 i32.const 5 i64.const 6 i32.const 7
    i64.const 8 i32.const 9 call $many drop drop
    i32.const 0 call $early drop i32.const 1 call $early drop
    i32.const 0 call $switch drop i32.const 2 call $switch drop i32.const 3 call $switch drop
    i32.const 99 call $switch drop
    i32.const 6 call $loop drop
    i64.const 5 i64.const 3 i32.const 0 call_indirect (type $binary) drop
    i64.const 5 i64.const 3 i32.const 1 call_indirect (type $binary) drop
    i32.const 2 call_indirect (type $nullary) drop))
"#;

#[test]
fn control_flow_matches_the_interpreter_and_bad_proofs_revert() {
    let mut prover = MachineProverEvm::new().unwrap();
    let mut rng = StdRng::seed_from_u64(0xec16);
    let mut tally = Tally::default();
    let program = Program::from_wasm(&wat::parse_str(CONTROL).unwrap()).unwrap();
    prove_run(&mut prover, &program, &mut rng, &mut tally);
    // call_indirect's traps: past the table, an empty slot, another type; and unbounded
    // recursion up to the frame limit's trap (its last steps).
    for (index, ty) in [(5, "$nullary"), (4, "$nullary"), (0, "$nullary")] {
        let wat = CONTROL.replace(
            "(func (export \"ecm_main\")",
            &format!(
                "(func (export \"ecm_main\") i32.const {index} call_indirect (type {ty}) drop"
            ),
        );
        let program = Program::from_wasm(&wat::parse_str(&wat).unwrap()).unwrap();
        prove_run(&mut prover, &program, &mut rng, &mut tally);
    }
    let deep = "(module (func $down (param i64) local.get 0 call $down) \
                (func (export \"ecm_main\") i64.const 1 call $down))";
    let program = Program::from_wasm(&wat::parse_str(deep).unwrap()).unwrap();
    let end = steps_to_end(&program, &[]);
    prove_steps(
        &mut prover,
        &program,
        &[],
        end - 10..end,
        &mut rng,
        &mut tally,
    );

    tally.assert_proven(
        [
            "call",
            "call_indirect",
            "return",
            "br",
            "br_if",
            "br_table",
            "jump_if_zero",
            "halt",
        ],
        1,
    );
    println!(
        "control: proven {:?}, {} bad proofs reverted",
        tally.proven, tally.rejected
    );
}

/// A module with memory and the primitives, around `body`.
fn memory_module(body: &str) -> Program {
    let wat = format!(
        r#"(module
  (import "ecm" "input_len" (func $input_len (result i32)))
  (import "ecm" "input_read" (func $input_read (param i32 i32 i32)))
  (import "ecm" "output" (func $output (param i32 i32)))
  (import "ecm" "log" (func $log (param i32 i32)))
  (memory 1 3)
  (data (i32.const 0) "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  (data (i32.const 65490) "the end of the first page, its last bytes")
  (func (export "ecm_main")
{body}))"#
    );
    Program::from_wasm(&wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}")))
        .unwrap_or_else(|e| panic!("{e}\n{wat}"))
}

const LOADS: [&str; 11] = [
    "i32.load",
    "i64.load",
    "i32.load8_s",
    "i32.load8_u",
    "i32.load16_s",
    "i32.load16_u",
    "i64.load8_s",
    "i64.load8_u",
    "i64.load16_s",
    "i64.load16_u",
    "i64.load32_s",
];
const STORES: [&str; 7] = [
    "i32.store",
    "i64.store",
    "i32.store8",
    "i32.store16",
    "i64.store8",
    "i64.store16",
    "i64.store32",
];

#[test]
fn memory_and_io_match_the_interpreter_and_bad_proofs_revert() {
    let mut prover = MachineProverEvm::new().unwrap();
    let mut rng = StdRng::seed_from_u64(0xec17);
    let mut tally = Tally::default();
    let input: Vec<u8> = (0..50u8).map(|b| b.wrapping_mul(37)).collect();

    // Every load and store at aligned, unaligned, leaf-crossing and last addresses of memory,
    // with static offsets; then size and grow (within and past the cap); copies forward,
    // backward and overlapping, inside a leaf and empty; fills; the input and the output.
    let mut body = String::new();
    for (address, offset) in [
        (0, 0),
        (1, 0),
        (29, 0),
        (30, 1),
        (31, 0),
        (60, 5),
        (65528, 0),
    ] {
        for load in LOADS.iter().chain(&["i64.load32_u"]) {
            body.push_str(&format!(
                "i32.const {address} {load} offset={offset} drop\n"
            ));
        }
        for store in STORES {
            let ty = &store[..3];
            let value = match ty {
                "i32" => rng.random::<i32>() as i64,
                _ => rng.random::<i64>(),
            };
            body.push_str(&format!(
                "i32.const {address} {ty}.const {value} {store} offset={offset}\n"
            ));
        }
    }
    body.push_str("i32.const 65535 i32.load8_u drop i32.const 65535 i32.const 9 i32.store8\n");
    body.push_str(
        "memory.size drop i32.const 1 memory.grow drop i32.const 5 memory.grow drop \
         i32.const 1 memory.grow drop i32.const 0 memory.grow drop \
         i32.const 196600 i64.load drop i32.const 196607 i32.const 1 i32.store8\n",
    );
    // Across leaf boundaries where the two leaves' paths meet high in the tree (leaf 2047
    // and 2048 meet at level 11, 4095 and 4096 at level 12) as well as low (1 and 2: level 1).
    for address in [62, 65534, 131070, 131068] {
        body.push_str(&format!(
            "i32.const {address} i64.load drop i32.const {address} i32.load16_u drop \
             i32.const {address} i64.const -81985529216486896 i64.store \
             i32.const {address} i32.const 48879 i32.store16\n"
        ));
    }
    for (dst, src, n) in [
        (100, 3, 70),
        (10, 0, 90),
        (5, 9, 4),
        (5, 9, 0),
        (65530, 65400, 200),
        (40, 40, 33),
    ] {
        body.push_str(&format!(
            "i32.const {dst} i32.const {src} i32.const {n} memory.copy\n"
        ));
    }
    for (dst, value, n) in [(33, 0xab, 100), (1, 7, 3), (65536, 0, 0), (64, 1, 32)] {
        body.push_str(&format!(
            "i32.const {dst} i32.const {value} i32.const {n} memory.fill\n"
        ));
    }
    body.push_str(
        "call $input_len drop \
         i32.const 300 i32.const 3 i32.const 40 call $input_read \
         i32.const 333 i32.const 0 i32.const 50 call $input_read \
         i32.const 0 i32.const 0 i32.const 0 call $input_read \
         i32.const 7 i32.const 75 call $output i32.const 0 i32.const 0 call $output \
         i32.const 90 i32.const 61 call $output \
         i32.const 0 i32.const 10 call $log\n",
    );
    let program = memory_module(&body);
    prove_steps(
        &mut prover,
        &program,
        &input,
        0..u64::MAX,
        &mut rng,
        &mut tally,
    );

    // Each trap: one past the end, a wrapped address, a copy or fill out of bounds, reading
    // past the input, writing more output than a result may hold.
    for trap in [
        "i32.const 65533 i32.load drop",
        "i32.const 65535 i32.const 1 i32.store16",
        "i32.const -1 i64.load8_u offset=1 drop",
        "i32.const 65500 i32.const 0 i32.const 100 memory.copy",
        "i32.const 0 i32.const 65500 i32.const 100 memory.copy",
        "i32.const 65536 i32.const 0 i32.const 1 memory.fill",
        "i32.const 0 i32.const 40 i32.const 11 call $input_read",
        "i32.const 65530 i32.const 0 i32.const 10 call $input_read",
        "i32.const 0 i32.const 8189 call $output",
        "i32.const 65530 i32.const 7 call $output",
    ] {
        prove_steps(
            &mut prover,
            &memory_module(trap),
            &input,
            0..u64::MAX,
            &mut rng,
            &mut tally,
        );
    }

    tally.assert_proven(
        LOADS
            .iter()
            .chain(&STORES)
            .chain(&["memory.size", "memory.grow", "memory.copy", "memory.fill"])
            .chain(&["ecm.input_len", "ecm.input_read", "ecm.output", "ecm.log"])
            .copied(),
        1,
    );
    println!(
        "memory: proven {:?}, {} bad proofs reverted",
        tally.proven, tally.rejected
    );
}

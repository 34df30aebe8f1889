//! Properties of the machine state: the incremental hash equals the hash from scratch, however
//! a run is cut into pieces; snapshots restore exactly; the trace oracle answers any point as a
//! fresh run would.

use crate::common::wat;
use ecm_machine::{Machine, MachineOracle, Program, Status};
use ecm_programs::wasi_program;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// Bulk memory and I/O in every direction: copies that overlap either way, fills, reads and
/// writes at unaligned offsets, so that runs stop in the middle of restartable instructions.
const BULK: &str = r#"(module
  (import "ecm" "input_len" (func $len (result i32)))
  (import "ecm" "input_read" (func $read (param i32 i32 i32)))
  (import "ecm" "output" (func $out (param i32 i32)))
  (memory 2)
  (func (export "ecm_main")
    (local $n i32)
    (local.set $n (call $len))
    (call $read (i32.const 3) (i32.const 0) (local.get $n))
    (call $read (i32.const 1000) (i32.const 5) (i32.sub (local.get $n) (i32.const 5)))
    (memory.fill (i32.const 70000) (i32.const 0xab) (i32.const 333))
    (memory.copy (i32.const 17) (i32.const 3) (i32.const 150))
    (memory.copy (i32.const 2) (i32.const 30) (i32.const 200))
    (memory.copy (i32.const 65500) (i32.const 69990) (i32.const 100))
    (memory.copy (i32.const 5) (i32.const 5) (i32.const 64))
    (call $out (i32.const 1) (i32.const 77))
    (call $out (i32.const 65500) (i32.const 100))
    (call $out (i32.const 70001) (i32.const 0))
    (call $out (i32.const 69999) (i32.const 40))))"#;

fn programs() -> Vec<(Program, Vec<u8>)> {
    let example = |name: &str| Program::from_wasm(wasi_program(name).unwrap().wasm).unwrap();
    vec![
        (
            Program::from_wasm(&wat(BULK)).unwrap(),
            (0..=255u8).cycle().take(700).collect(),
        ),
        (example("sha256sum"), b"hash me, please".to_vec()),
        (example("wordfreq"), b"a b a c b a d e f g".to_vec()),
        (example("workloads"), b"blur 24 20".to_vec()),
        (example("workloads"), b"mix 500".to_vec()),
    ]
}

#[test]
fn the_incremental_hash_equals_the_hash_from_scratch() {
    let mut rng = StdRng::seed_from_u64(1);
    for (program, input) in programs() {
        let n = ecm_machine::run(&program, &input, u64::MAX).unwrap().steps;
        let mut machine = Machine::new(&program, &input).unwrap();
        let mut checks = 0;
        while machine.status() == Status::Running {
            assert_eq!(
                machine.hash(),
                machine.hash_from_scratch(),
                "at step {}",
                machine.steps()
            );
            checks += 1;
            machine.run(rng.random_range(1..=(n / 10).clamp(1, 30_000)));
        }
        assert!(checks > 5, "too few checks: {checks} over {n} steps");
    }
}

#[test]
fn a_run_cut_anywhere_reaches_the_same_states() {
    let mut rng = StdRng::seed_from_u64(2);
    for (program, input) in programs().into_iter().take(3) {
        // One machine a step at a time, hashing every step; another in random pieces.
        let mut single = Machine::new(&program, &input).unwrap();
        let mut hashes = vec![single.hash()];
        while single.status() == Status::Running {
            single.run(1);
            if single.status() == Status::Running {
                hashes.push(single.hash());
            }
        }
        let mut pieces = Machine::new(&program, &input).unwrap();
        while pieces.status() == Status::Running {
            pieces.run(rng.random_range(1..200));
            if pieces.status() == Status::Running {
                assert_eq!(
                    pieces.hash(),
                    hashes[pieces.steps() as usize],
                    "step {}",
                    pieces.steps()
                );
            }
        }
        assert_eq!(pieces.steps(), single.steps());
        assert_eq!(pieces.final_state(), single.final_state());
    }
}

#[test]
fn snapshots_restore_exactly_in_any_order() {
    let mut rng = StdRng::seed_from_u64(3);
    for (program, input) in programs() {
        let mut machine = Machine::new(&program, &input).unwrap();
        let mut taken = Vec::new();
        while machine.status() == Status::Running {
            // Hash before some snapshots only: a snapshot must not depend on hashing.
            if rng.random_bool(0.5) {
                machine.hash();
            }
            let snapshot = machine.snapshot();
            let mut fresh = Machine::new(&program, &input).unwrap();
            fresh.run(machine.steps());
            taken.push((snapshot, fresh.hash()));
            machine.run(rng.random_range(1..20_000));
        }
        let end = (machine.steps(), machine.final_state());
        // Restore in a shuffled order; each must give its own hash, and running on from it
        // must reach the same end.
        for _ in 0..taken.len().min(12) {
            let (snapshot, hash) = &taken[rng.random_range(0..taken.len())];
            machine.restore(snapshot);
            assert_eq!(machine.hash(), *hash);
            assert_eq!(machine.hash_from_scratch(), *hash);
            machine.run(u64::MAX);
            assert_eq!((machine.steps(), machine.final_state()), end);
        }
    }
}

#[test]
fn the_oracle_answers_any_point_as_a_fresh_run_would() {
    let mut rng = StdRng::seed_from_u64(4);
    let program = Program::from_wasm(wasi_program("workloads").unwrap().wasm).unwrap();
    let input = b"blur 96 80";
    // A small budget forces the snapshot interval to double several times.
    let mut oracle = MachineOracle::new(&program, input, 1 << 40, 1 << 20)
        .unwrap()
        .with_first_interval(1 << 10);
    let outcome = oracle.run_to_end();
    assert!(outcome.is_final());
    assert!(oracle.interval() > 1 << 10, "the budget never bit");
    assert!(oracle.snapshot_bytes() <= 1 << 20);
    let n = outcome.steps;
    let mut points: Vec<u64> = (0..20).map(|_| rng.random_range(0..n)).collect();
    points.extend([0, 1, n - 1]);
    for i in points {
        let mut fresh = Machine::new(&program, input).unwrap();
        fresh.run(i);
        let point = oracle.point(i).unwrap();
        assert!(!point.final_, "point {i} of {n}");
        assert_eq!(point.state, fresh.hash().to_vec(), "point {i}");
    }
    // The last point and every later one are the final state.
    for i in [n, n + 1, 1 << 40] {
        let point = oracle.point(i).unwrap();
        assert!(point.final_);
        assert_eq!(point.state, outcome.state());
    }
    assert!(oracle.point((1 << 40) + 1).is_err());
}

#[test]
fn out_of_steps_is_the_hash_at_max_steps() {
    let program = Program::from_wasm(wasi_program("workloads").unwrap().wasm).unwrap();
    let outcome = ecm_machine::run(&program, b"mix 100", 1000).unwrap();
    assert!(!outcome.is_final());
    assert_eq!(outcome.steps, 1000);
    let mut machine = Machine::new(&program, b"mix 100").unwrap();
    machine.run(1000);
    assert_eq!(outcome.state(), machine.hash().to_vec());
}

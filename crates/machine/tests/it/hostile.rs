//! Hostile modules: each ends in a typed refusal, a provable trap, or "out of steps", within a
//! time bound, in every engine; none hangs or crashes the process.

use crate::common::{run_three, wat};
use ecm_machine::{
    End, EngineEnd, Error, FastEngine, LoadError, Program, ReferenceModule, Trap,
    limits::{MAX_INSTRUCTIONS, MAX_OUTPUT_BYTES, MAX_TABLE_ENTRIES},
};
use std::time::{Duration, Instant};

/// Generous for a debug build; a hang would blow through it.
const BOUND: Duration = Duration::from_secs(120);

fn within_bound<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    assert!(start.elapsed() < BOUND, "{what} took {:?}", start.elapsed());
    out
}

#[test]
fn an_endless_loop_runs_out_of_steps_and_out_of_fuel() {
    let program =
        Program::from_wasm(&wat(r#"(module (func (export "ecm_main") (loop br 0)))"#)).unwrap();
    let outcome = within_bound("the machine", || {
        ecm_machine::run(&program, b"", 3_000_000).unwrap()
    });
    assert_eq!(outcome.steps, 3_000_000);
    assert!(matches!(outcome.end, End::OutOfSteps { .. }));
    let fast = FastEngine::new().unwrap().compile(&program).unwrap();
    let run = within_bound("wasmtime", || fast.run(b"", 10_000_000).unwrap());
    assert_eq!(run.end, EngineEnd::OutOfFuel);
    assert!(run.fuel.unwrap() <= 10_000_000);
}

#[test]
fn unbounded_recursion_is_a_provable_trap_at_the_frame_limit() {
    // Recursion with a wide frame: the machine's memory for it is bounded by its limits.
    let mut locals = String::new();
    for _ in 0..1000 {
        locals.push_str(" i64");
    }
    let source = format!(
        r#"(module (func $f (local{locals}) (local.set 999 (i64.const 1)) (call $f))
             (func (export "ecm_main") (call $f)))"#
    );
    let program = Program::from_wasm(&wat(&source)).unwrap();
    let runs = within_bound("recursion", || run_three(&program, b""));
    assert!(
        matches!(
            runs.machine.end,
            End::Trapped {
                trap: Trap::CallStackExhausted,
                ..
            }
        ),
        "{:?}",
        runs.machine.end
    );
    // wasmtime's 512 KiB stack gives out long before 65,536 frames: a host never answers
    // from it, it asks the machine.
    assert_eq!(runs.fast.end, EngineEnd::StackOverflow);
}

#[test]
fn a_memory_bomb_gets_minus_one_past_64_mib() {
    let source = r#"(module
      (import "ecm" "output" (func $out (param i32 i32)))
      (memory 1)
      (func (export "ecm_main") (local $i i32)
        ;; grow a page at a time until refused, touching each page
        (block $done (loop $more
          (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
          (i32.store (i32.mul (memory.size) (i32.const 65532)) (i32.const 7))
          (br $more)))
        (i32.store (i32.const 0) (memory.size))
        (call $out (i32.const 0) (i32.const 4))))"#;
    let program = Program::from_wasm(&wat(source)).unwrap();
    let runs = within_bound("memory bomb", || run_three(&program, b""));
    let End::Halted { output, .. } = &runs.machine.end else {
        panic!("{:?}", runs.machine.end);
    };
    assert_eq!(output, &1024u32.to_le_bytes());
}

#[test]
fn too_much_output_is_a_trap_not_a_truncated_result() {
    let source = format!(
        r#"(module
          (import "ecm" "output" (func $out (param i32 i32)))
          (memory 1)
          (func (export "ecm_main")
            (call $out (i32.const 0) (i32.const {}))
            (call $out (i32.const 0) (i32.const 1))))"#,
        MAX_OUTPUT_BYTES
    );
    let program = Program::from_wasm(&wat(&source)).unwrap();
    let runs = run_three(&program, b"");
    assert!(matches!(
        runs.machine.end,
        End::Trapped {
            trap: Trap::OutputTooLarge,
            ..
        }
    ));
}

#[test]
fn reading_past_the_input_is_a_trap_and_a_large_input_is_refused() {
    let source = r#"(module
      (import "ecm" "input_read" (func $read (param i32 i32 i32)))
      (memory 1)
      (func (export "ecm_main") (call $read (i32.const 0) (i32.const 2) (i32.const 2))))"#;
    let program = Program::from_wasm(&wat(source)).unwrap();
    let runs = run_three(&program, b"abc");
    assert!(matches!(
        runs.machine.end,
        End::Trapped {
            trap: Trap::InputOutOfBounds,
            ..
        }
    ));
    assert!(matches!(
        ecm_machine::run(&program, &[0; 8193], 100),
        Err(Error::InputTooLarge { len: 8193, .. })
    ));
    let fast = FastEngine::new().unwrap().compile(&program).unwrap();
    assert!(matches!(
        fast.run(&[0; 8193], 100),
        Err(Error::InputTooLarge { .. })
    ));
    assert!(matches!(
        ReferenceModule::new(&program).unwrap().run(&[0; 8193]),
        Err(Error::InputTooLarge { .. })
    ));
}

fn refused(source: &str) -> LoadError {
    match Program::from_wasm(&wat(source)) {
        Err(Error::Load(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn oversized_modules_are_refused_with_the_limit_they_break() {
    let table = refused(&format!(
        r#"(module (table {} funcref) (func (export "ecm_main")))"#,
        MAX_TABLE_ENTRIES + 1
    ));
    assert!(table.to_string().contains("function table"), "{table}");
    let memory = refused(r#"(module (memory 1025) (func (export "ecm_main")))"#);
    assert!(memory.to_string().contains("initial memory"), "{memory}");
    let locals = refused(&format!(
        r#"(module (func (export "ecm_main") (local{})))"#,
        " i32".repeat(2100)
    ));
    assert!(matches!(locals, LoadError::Limit { .. }), "{locals}");

    // More machine code than the code tree holds.
    let body = "(drop (i32.const 0))".repeat(MAX_INSTRUCTIONS / 2 + 1);
    let code = within_bound("a huge module", || {
        refused(&format!(r#"(module (func (export "ecm_main") {body}))"#))
    });
    assert!(
        matches!(code, LoadError::Limit { ref what, .. } if what.contains("instructions")),
        "{code}"
    );
}

#[test]
fn what_v1_leaves_out_is_refused_with_a_message_that_says_so() {
    let cases = [
        (
            r#"(module (memory 1) (func (export "ecm_main") (drop (v128.const i64x2 0 0))))"#,
            "SIMD",
        ),
        (
            r#"(module (import "env" "clock" (func)) (func (export "ecm_main")))"#,
            "imports `env.clock`",
        ),
        (
            r#"(module (import "env" "memory" (memory 1)) (func (export "ecm_main")))"#,
            "imports a memory",
        ),
        (r#"(module (func (export "main")))"#, "no entry point"),
        (
            r#"(module (func (export "_start") (param i32)))"#,
            "no parameters",
        ),
        (
            r#"(module (memory 1) (data (i32.const 65534) "abc") (func (export "ecm_main")))"#,
            "does not fit",
        ),
        (
            r#"(module (memory 1) (data $d "x") (func (export "ecm_main") (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))))"#,
            "passive data segments",
        ),
    ];
    for (source, expected) in cases {
        let message = match Program::from_wasm(&wat(source)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted: {source}"),
        };
        assert!(message.contains(expected), "{source}: {message}");
    }
    assert!(matches!(
        Program::from_wasm(b"\0asm\x01\0\0\0\x01"),
        Err(Error::Load(LoadError::Invalid(_)))
    ));
}

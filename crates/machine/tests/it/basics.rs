//! Small hand-written programs through all three engines: I/O, exit codes, WASI, traps.

use crate::common::{halted, run_three, wat};
use ecm_machine::{End, Program, Trap};

/// Reverses its input with the ecm primitives, exits with the input's length.
const REVERSE: &str = r#"(module
  (import "ecm" "input_len" (func $len (result i32)))
  (import "ecm" "input_read" (func $read (param i32 i32 i32)))
  (import "ecm" "output" (func $out (param i32 i32)))
  (import "ecm" "exit" (func $exit (param i32)))
  (memory 1)
  (func (export "ecm_main")
    (local $n i32) (local $i i32)
    (local.set $n (call $len))
    (call $read (i32.const 0) (i32.const 0) (local.get $n))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (i32.store8 offset=16384
          (i32.sub (i32.sub (local.get $n) (local.get $i)) (i32.const 1))
          (i32.load8_u (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (call $out (i32.const 16384) (local.get $n))
    (call $exit (local.get $n))))"#;

#[test]
fn a_no_std_program_reads_writes_and_exits() {
    let program = Program::from_wasm(&wat(REVERSE)).unwrap();
    let runs = run_three(&program, b"hello, machine");
    assert_eq!(halted(&runs.machine), (14, b"enihcam ,olleh".to_vec()));
    let empty = run_three(&program, b"");
    assert_eq!(halted(&empty.machine), (0, vec![]));
}

#[test]
fn a_wasi_program_runs_through_the_shim() {
    let source = r#"(module
      (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      ;; iovec at 0: buffer 64, length 100; nread at 8
      (func (export "_start")
        (local $n i32)
        (i32.store (i32.const 0) (i32.const 64))
        (i32.store (i32.const 4) (i32.const 100))
        (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (local.set $n (i32.load (i32.const 8)))
        ;; stdout: what was read, twice (two iovecs)
        (i32.store (i32.const 16) (i32.const 64))
        (i32.store (i32.const 20) (local.get $n))
        (i32.store (i32.const 24) (i32.const 64))
        (i32.store (i32.const 28) (local.get $n))
        (drop (call $write (i32.const 1) (i32.const 16) (i32.const 2) (i32.const 12)))
        ;; stderr is shown, not part of the result
        (drop (call $write (i32.const 2) (i32.const 16) (i32.const 1) (i32.const 12)))
        ;; 8 deterministic "random" bytes
        (drop (call $random (i32.const 200) (i32.const 8)))
        (i32.store (i32.const 16) (i32.const 200))
        (i32.store (i32.const 20) (i32.const 8))
        (drop (call $write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 12)))))"#;
    let program = Program::from_wasm(&wat(source)).unwrap();
    let runs = run_three(&program, b"abc");
    let (code, output) = halted(&runs.machine);
    assert_eq!(code, 0);
    assert_eq!(&output[..6], b"abcabc");
    assert_eq!(output.len(), 14);
    assert_eq!(runs.fast.log, b"abc");
    assert_eq!(runs.reference.log, b"abc");
    // The same bytes on every run: not random.
    let again = run_three(&program, b"xyz");
    assert_eq!(halted(&again.machine).1[6..], output[6..]);
}

#[test]
fn proc_exit_halts_with_its_code_from_deep_inside() {
    let source = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory 1)
      (func $deep (param i32)
        (if (local.get 0)
          (then (call $deep (i32.sub (local.get 0) (i32.const 1))))
          (else (call $exit (i32.const 42)))))
      (func (export "_start") (call $deep (i32.const 100))))"#;
    let program = Program::from_wasm(&wat(source)).unwrap();
    let runs = run_three(&program, b"");
    assert_eq!(halted(&runs.machine), (42, vec![]));
}

#[test]
fn traps_are_the_empty_final_state_in_every_engine() {
    let cases = [
        (
            "(i32.div_s (i32.const 1) (i32.const 0))",
            Trap::DivideByZero,
        ),
        (
            "(i32.div_s (i32.const 0x80000000) (i32.const -1))",
            Trap::IntegerOverflow,
        ),
        ("(i32.load (i32.const 65533))", Trap::MemoryOutOfBounds),
        ("(unreachable)", Trap::Unreachable),
        (
            "(call_indirect (result i32) (i32.const 5))",
            Trap::TableOutOfBounds,
        ),
        (
            "(call_indirect (result i32) (i32.const 1))",
            Trap::NullFunction,
        ),
        (
            "(call_indirect (param i32) (result i32) (i32.const 0) (i32.const 0))",
            Trap::SignatureMismatch,
        ),
    ];
    for (body, expected) in cases {
        let source = format!(
            r#"(module (memory 1) (table 2 funcref) (elem (i32.const 0) $f)
                 (func $f (result i32) (i32.const 7))
                 (func (export "ecm_main") (drop {body})))"#
        );
        let program = Program::from_wasm(&wat(&source)).unwrap();
        let runs = run_three(&program, b"");
        match &runs.machine.end {
            End::Trapped { trap, .. } => assert_eq!(*trap, expected, "{body}"),
            other => panic!("{body}: expected a trap, got {other:?}"),
        }
        assert!(runs.machine.state().is_empty());
    }
}

#[test]
fn executing_a_float_instruction_is_a_trap_that_names_it() {
    let source = r#"(module
      (func $uses_floats (param i32) (result i32)
        (if (result i32) (local.get 0)
          (then (i32.trunc_f64_s (f64.mul (f64.const 1.5) (f64.const 2))))
          (else (i32.const 9))))
      (func (export "ecm_main") (drop (call $uses_floats (i32.const 0))) (drop (call $uses_floats (i32.const 1)))))"#;
    let program = Program::from_wasm(&wat(source)).unwrap();
    assert_eq!(
        program.float_instructions(),
        1,
        "the first float op traps; the rest is dead"
    );
    let runs = run_three(&program, b"");
    let End::Trapped { trap, site } = &runs.machine.end else {
        panic!("expected a trap: {:?}", runs.machine);
    };
    assert_eq!(*trap, Trap::Unreachable);
    assert_eq!(site.float_op, Some("f64.const"));
    assert!(site.function.contains("uses_floats"), "{site}");
    assert!(
        site.to_string().contains("float instructions trap"),
        "{site}"
    );
}

#[test]
fn memory_grow_stops_at_the_cap_in_every_engine() {
    let source = r#"(module
      (import "ecm" "output" (func $out (param i32 i32)))
      (memory 1 2000)
      (func (export "ecm_main")
        (i32.store (i32.const 0) (memory.grow (i32.const 1000)))
        (i32.store (i32.const 4) (memory.grow (i32.const 100)))
        (i32.store (i32.const 8) (memory.grow (i32.const 23)))
        (i32.store (i32.const 12) (memory.size))
        (call $out (i32.const 0) (i32.const 16))))"#;
    let program = Program::from_wasm(&wat(source)).unwrap();
    let runs = run_three(&program, b"");
    let (_, output) = halted(&runs.machine);
    let words: Vec<i32> = output
        .chunks(4)
        .map(|w| i32::from_le_bytes(w.try_into().unwrap()))
        .collect();
    assert_eq!(words, [1, -1, 1001, 1024]);
}

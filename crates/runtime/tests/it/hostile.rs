//! Bad modules yield their typed error within their fuel or memory bound: never a hang, a
//! panic or an abort of the host process. Each module is a few lines of hand-written WAT.

use ecm_runtime::{Error, Limits, Runtime, Stepper};
use std::time::{Duration, Instant};

/// A module with the guest ABI whose `ecm_run` body is `run` (params: first i64, n i64, ptr
/// i32, len i32). A well-behaved body writes the 24-byte header at 0 and returns 0.
fn module(run: &str) -> String {
    module_with("", "(i32.const 1)", run)
}

fn module_with(extra: &str, version: &str, run: &str) -> String {
    format!(
        r#"(module
  {extra}
  (memory (export "memory") 1)
  (func (export "ecm_abi_version") (result i32) {version})
  (func (export "ecm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "ecm_step") (param i64 i32 i32) (result i32) (call $run (local.get 0) (i64.const 1) (local.get 1) (local.get 2)))
  (func $run (export "ecm_run") (param i64 i64 i32 i32) (result i32) {run})
)"#
    )
}

/// A header saying: the state is at `ptr` with length `len`, final, one step.
fn header(ptr: &str, len: &str) -> String {
    format!(
        "(i32.store (i32.const 0) {ptr}) (i32.store (i32.const 4) {len}) (i32.store (i32.const 8) (i32.const 1)) \
         (i64.store (i32.const 16) (i64.const 1)) (i32.const 0)"
    )
}

fn limits() -> Limits {
    Limits {
        fuel_per_step: 5_000_000,
        fuel_per_call: 50_000_000,
        memory_bytes: 4 << 20,
        ..Limits::default()
    }
}

fn run(wat: &str) -> Result<ecm_runtime::RunOutput, Error> {
    let runtime = Runtime::new(limits()).unwrap();
    let program = runtime.load(&wat::parse_str(wat).expect("valid WAT"))?;
    let mut instance = program.instantiate()?;
    instance.run(1, 1, b"state")
}

fn assert_quick(start: Instant) {
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_well_behaved_module_echoes_its_input() {
    let out = run(&module(&header("(local.get 2)", "(local.get 3)"))).unwrap();
    assert_eq!(out.state, b"state");
    assert!(out.final_);
    assert_eq!(out.steps, 1);
}

#[test]
fn trap_is_a_typed_error() {
    let err = run(&module("unreachable")).unwrap_err();
    assert!(
        matches!(err, Error::Trap { step: 1, ref message } if message.contains("unreachable")),
        "{err}"
    );
}

#[test]
fn endless_loop_runs_out_of_fuel() {
    let start = Instant::now();
    let err = run(&module("(loop $l (br $l)) (i32.const 0)")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::FuelExhausted {
                step: 1,
                fuel: 5_000_000
            }
        ),
        "{err}"
    );
    assert_quick(start);
}

#[test]
fn unbounded_memory_growth_hits_the_cap() {
    let start = Instant::now();
    let err = run(&module(
        "(loop $l (drop (memory.grow (i32.const 16))) (br $l)) (i32.const 0)",
    ))
    .unwrap_err();
    assert!(
        matches!(err, Error::MemoryLimit { limit, .. } if limit == 4 << 20),
        "{err}"
    );
    assert_quick(start);
}

#[test]
fn deep_recursion_overflows_the_stack_as_a_trap() {
    let wat = r#"(module
  (memory (export "memory") 1)
  (func (export "ecm_abi_version") (result i32) (i32.const 1))
  (func (export "ecm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "ecm_step") (param i64 i32 i32) (result i32) (call $f (i32.const 0)))
  (func (export "ecm_run") (param i64 i64 i32 i32) (result i32) (call $f (i32.const 0)))
  (func $f (param i32) (result i32) (call $f (i32.add (local.get 0) (i32.const 1))))
)"#;
    let err = run(wat).unwrap_err();
    assert!(
        matches!(err, Error::Trap { ref message, .. } if message.contains("stack")),
        "{err}"
    );
}

#[test]
fn missing_export_is_named() {
    let wat = r#"(module (memory (export "memory") 1)
  (func (export "ecm_abi_version") (result i32) (i32.const 1))
  (func (export "ecm_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "ecm_step") (param i64 i32 i32) (result i32) (i32.const 0)))"#;
    let err = run(wat).unwrap_err();
    assert!(
        matches!(err, Error::MissingExport { name: "ecm_run" }),
        "{err}"
    );
    let no_memory = r#"(module (func (export "ecm_abi_version") (result i32) (i32.const 1)))"#;
    assert!(matches!(
        run(no_memory).unwrap_err(),
        Error::MissingExport { name: "memory" }
    ));
}

#[test]
fn mistyped_export_is_named() {
    let wat = r#"(module (memory (export "memory") 1)
  (func (export "ecm_abi_version") (result i32) (i32.const 1))
  (func (export "ecm_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "ecm_step") (param i64 i32 i32) (result i32) (i32.const 0))
  (func (export "ecm_run") (param i32) (result i32) (i32.const 0)))"#;
    let err = run(wat).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ExportType {
                name: "ecm_run",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn imports_are_refused() {
    let wat = module_with(
        r#"(import "env" "clock" (func))"#,
        "(i32.const 1)",
        "(i32.const 0)",
    );
    let err = run(&wat).unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedImport { ref module, ref name } if module == "env" && name == "clock"),
        "{err}"
    );
}

#[test]
fn other_abi_versions_are_refused() {
    let err = run(&module_with("", "(i32.const 2)", "(i32.const 0)")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::AbiVersion {
                found: 2,
                expected: 1
            }
        ),
        "{err}"
    );
}

#[test]
fn out_of_bounds_pointers_break_the_abi() {
    let err = run(&module(&header("(i32.const 65000)", "(i32.const 1000)"))).unwrap_err();
    assert!(
        matches!(err, Error::AbiViolation(ref m) if m.contains("outside memory")),
        "{err}"
    );
    let err = run(&module("(i32.const 65530)")).unwrap_err();
    assert!(
        matches!(err, Error::AbiViolation(ref m) if m.contains("header")),
        "{err}"
    );
}

#[test]
fn oversize_state_is_refused() {
    let err = run(&module(&header("(i32.const 0)", "(i32.const 9000)"))).unwrap_err();
    assert!(
        matches!(
            err,
            Error::StateTooLarge {
                len: 9000,
                max: 8192
            }
        ),
        "{err}"
    );
    let runtime = Runtime::new(limits()).unwrap();
    let mut instance = runtime
        .load(&wat::parse_str(module(&header("(local.get 2)", "(local.get 3)"))).unwrap())
        .unwrap()
        .instantiate()
        .unwrap();
    let err = instance.run(1, 1, &vec![0; 8193]).unwrap_err();
    assert!(
        matches!(err, Error::StateTooLarge { len: 8193, .. }),
        "{err}"
    );
}

#[test]
fn impossible_step_counts_break_the_abi() {
    // Claims 5 steps when 1 was asked for.
    let body = "(i32.store (i32.const 0) (local.get 2)) (i32.store (i32.const 4) (local.get 3)) \
                (i64.store (i32.const 16) (i64.const 5)) (i32.const 0)";
    let err = run(&module(body)).unwrap_err();
    assert!(
        matches!(err, Error::AbiViolation(ref m) if m.contains("5 steps")),
        "{err}"
    );
}

#[test]
fn garbage_is_not_wasm() {
    let runtime = Runtime::new(Limits::default()).unwrap();
    assert!(matches!(
        runtime.load(b"hello, world").unwrap_err(),
        Error::NotWasm(_)
    ));
    assert!(matches!(
        runtime.load(b"\0asm\x01\0\0\0\xff").unwrap_err(),
        Error::NotWasm(_)
    ));
}

mod abi_fuzz {
    //! Whatever a module's `ecm_run` returns (header pointer, state pointer and length, flag,
    //! step count), the runtime answers with a result or a typed error: no panic, no hang, and
    //! an `Ok` always respects the guest ABI.
    use super::*;
    use proptest::prelude::*;

    /// `ecm_run` writes a header built from its arguments: `first` gives the state pointer and
    /// length, `n` the final flag and the step count, and the returned header pointer is the
    /// high half of `first`.
    const MODULE: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "ecm_abi_version") (result i32) (i32.const 1))
  (func (export "ecm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "ecm_step") (param i64 i32 i32) (result i32) (call $run (local.get 0) (i64.const 1) (local.get 1) (local.get 2)))
  (func $run (export "ecm_run") (param i64 i64 i32 i32) (result i32)
    (i64.store (i32.const 0) (local.get 0))
    (i64.store (i32.const 8) (local.get 1))
    (i64.store (i32.const 16) (i64.xor (local.get 0) (local.get 1)))
    (i32.wrap_i64 (i64.shr_u (local.get 0) (i64.const 48))))
)"#;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_header_is_a_result_or_a_typed_error(first in any::<i64>(), n in 1u64..64, state in prop::collection::vec(any::<u8>(), 0..64)) {
            let runtime = Runtime::new(limits()).unwrap();
            let mut instance = runtime.load(&wat::parse_str(MODULE).unwrap()).unwrap().instantiate().unwrap();
            match instance.run(first as u64, n, &state) {
                Ok(out) => {
                    prop_assert!(out.steps >= 1 && out.steps <= n);
                    prop_assert!(out.steps == n || out.final_);
                    prop_assert!(out.state.len() <= 8192);
                }
                Err(Error::AbiViolation(_) | Error::StateTooLarge { .. } | Error::Trap { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected error {other}"),
            }
            let _ = instance.step(first as u64, &state);
        }
    }
}

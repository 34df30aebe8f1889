//! `ecm demo` (what `make demo` runs) tells its story: the honest job paid, the cheater caught
//! by the challenger, the cancelled request refunded. The demo checks the dispute's outcome
//! itself and fails otherwise, so its exit status is the assertion.

use std::process::Command;

#[test]
fn the_demo_catches_the_cheater() {
    let out = Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(["demo", "--timeout", "120"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("the ecm binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("challenger won the bisection game"),
        "{stdout}"
    );
}

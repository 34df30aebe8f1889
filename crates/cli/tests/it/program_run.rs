//! `ecm program run` against native builds of the same source: a stock wasm32-wasip1 Rust
//! program and a C program built with clang and wasi-libc print, byte for byte, what their
//! native builds print on the same stdin, for inputs up to the protocol's 8 KiB.
//!
//! The C toolchain comes from Debian (clang, lld, wasi-libc, libclang-rt-14-dev-wasm32;
//! `make install` installs them).

use alloy_primitives::keccak256;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ecm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the ecm binary runs")
}

/// Runs a native program with `input` on stdin.
fn native(program: &Path, input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{} failed", program.display());
    output.stdout
}

/// Builds the WASI example programs natively (the same sources the normal build compiles for
/// wasm32-wasip1), in their own target directory.
fn build_native_rust() -> PathBuf {
    let target_dir = root().join("target/native-programs");
    let status = Command::new(env!("CARGO"))
        .current_dir(root().join("programs"))
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "ecm-wasi-sha256sum",
            "-p",
            "ecm-wasi-wordfreq",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the programs natively failed");
    target_dir.join("release")
}

/// Builds `programs/c/wc.c` natively and for wasm32-wasi.
fn build_c(dir: &Path) -> (PathBuf, PathBuf) {
    let source = root().join("programs/c/wc.c");
    let native = dir.join("wc");
    let wasm = dir.join("wc.wasm");
    let status = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&native)
        .arg(&source)
        .status()
        .expect("a native C compiler (cc)");
    assert!(status.success());
    let clang = Command::new("clang")
        .args(["--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-o"])
        .arg(&wasm)
        .arg(&source)
        .output();
    match clang {
        Ok(out) if out.status.success() => {}
        other => panic!(
            "building wc.c for wasm32-wasi failed: {other:?}\nhint: install Debian's clang, lld, \
             wasi-libc and libclang-rt-14-dev-wasm32 (`make install` does)"
        ),
    }
    (native, wasm)
}

/// Inputs from empty to exactly 8 KiB: text, lines, invalid UTF-8, binary.
fn inputs() -> Vec<Vec<u8>> {
    let readme = std::fs::read(root().join("README.md")).unwrap();
    let mut binary = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    while binary.len() < 8192 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        binary.extend_from_slice(&x.to_le_bytes());
    }
    vec![
        Vec::new(),
        b"hello".to_vec(),
        b"to be or not to be\nthat is the question\n".to_vec(),
        b"caf\xc3\xa9 na\xefve \xff\xfe words\n".to_vec(),
        readme[..readme.len().min(8192)].to_vec(),
        binary[..4097].to_vec(),
        binary,
    ]
}

fn run_wasm(wasm: &Path, input: &[u8], dir: &Path) -> Vec<u8> {
    let input_file = dir.join("input");
    std::fs::write(&input_file, input).unwrap();
    let out = ecm(&[
        "program",
        "run",
        wasm.to_str().unwrap(),
        "--input-file",
        input_file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "ecm program run {}: {}",
        wasm.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn stock_programs_print_what_their_native_builds_print() {
    let dir = tempfile::tempdir().unwrap();
    let native_rust = build_native_rust();
    let (native_c, wasm_c) = build_c(dir.path());
    let mut programs: Vec<(PathBuf, PathBuf)> = ["sha256sum", "wordfreq"]
        .into_iter()
        .map(|name| {
            let wasm = dir.path().join(format!("{name}.wasm"));
            std::fs::write(&wasm, ecm_programs::wasi_program(name).unwrap().wasm).unwrap();
            (native_rust.join(name), wasm)
        })
        .collect();
    programs.push((native_c, wasm_c));
    let mut compared = 0;
    for (native_program, wasm) in &programs {
        for input in inputs() {
            let expected = native(native_program, &input);
            let got = run_wasm(wasm, &input, dir.path());
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expected),
                "{} on {} bytes",
                wasm.display(),
                input.len()
            );
            assert_eq!(got, expected);
            compared += 1;
        }
    }
    assert_eq!(compared, 3 * inputs().len());
}

#[test]
fn json_reports_the_exact_run() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("sha256sum.wasm");
    std::fs::write(&wasm, ecm_programs::wasi_program("sha256sum").unwrap().wasm).unwrap();
    let out = ecm(&[
        "program",
        "run",
        wasm.to_str().unwrap(),
        "--input",
        "abc",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let output = alloy_primitives::hex::decode(json["output"].as_str().unwrap()).unwrap();
    assert_eq!(
        output,
        b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -\n"
    );
    assert_eq!(json["exitCode"], 0);
    let steps = json["steps"].as_u64().unwrap();
    let fuel = json["fuel"].as_u64().unwrap();
    assert!(steps > 1000 && fuel >= steps, "steps {steps}, fuel {fuel}");
    // The commitment an answer would claim: keccak(final = 1 || exit code u32 LE || output).
    let mut state = vec![1, 0, 0, 0, 0];
    state.extend_from_slice(&output);
    assert_eq!(
        json["finalHash"].as_str().unwrap(),
        keccak256(&state).to_string()
    );
    assert!(json["engine"]["wasmtime_ms"].as_f64().unwrap() > 0.0);
    assert!(json["engine"]["machine_ms"].as_f64().unwrap() > 0.0);
}

/// One `error:` line, exit status 1, nothing on stdout.
fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains(needle),
        "`{needle}` not in {}",
        errors[0]
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn failed_runs_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, wat: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let trap = write(
        "trap.wasm",
        r#"(module (func $boom (drop (i32.div_u (i32.const 1) (i32.const 0))))
                   (func (export "ecm_main") (call $boom)))"#,
    );
    let endless = write(
        "loop.wasm",
        r#"(module (func (export "ecm_main") (loop br 0)))"#,
    );
    let import = write(
        "import.wasm",
        r#"(module (import "env" "now" (func)) (func (export "_start")))"#,
    );
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"not wasm").unwrap();
    let garbage = garbage.to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["program", "run", &trap, "--input", ""],
            "integer division by zero",
        ),
        (
            &[
                "program",
                "run",
                &endless,
                "--input",
                "",
                "--max-steps",
                "100000",
            ],
            "did not finish within 100000 steps",
        ),
        (
            &["program", "run", &import, "--input", ""],
            "imports `env.now`",
        ),
        (
            &["program", "run", garbage, "--input", ""],
            "not a valid WebAssembly module",
        ),
        (
            &["program", "run", "/nonexistent.wasm", "--input", ""],
            "reading /nonexistent.wasm",
        ),
        (
            &[
                "program",
                "run",
                &trap,
                "--input-file",
                "/nonexistent-input",
            ],
            "reading the input file",
        ),
    ];
    for (args, needle) in cases {
        let out = ecm(args);
        fails_with(&out, needle);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Neither input option: clap explains.
    let out = ecm(&["program", "run", &trap]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input"));
}

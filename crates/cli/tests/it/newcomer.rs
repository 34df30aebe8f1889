//! The newcomer's path, through the `ecm` binary only: write an ordinary Rust program, build it
//! for wasm32-wasip1, `ecm program deploy` it on a running `ecm devnet --host`, request it with
//! an input file, `ecm client wait`, and `ecm client result` prints exactly what the native
//! build of the same program prints.

use crate::common;

use std::{
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::Duration,
};

const SOURCE: &str = r#"use std::io::{Read, Write};

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).unwrap();
    let mut out = std::io::stdout().lock();
    for line in input.lines().rev() {
        writeln!(out, "{}", line.chars().rev().collect::<String>()).unwrap();
    }
    writeln!(out, "{} lines, {} bytes", input.lines().count(), input.len()).unwrap();
}
"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes the program as its own crate under `target/` (inside the repository, so the pinned
/// toolchain with its wasm32-wasip1 target applies) and builds it for `target`, or natively.
fn build(target: Option<&str>) -> PathBuf {
    let dir = root().join("target/newcomer-program");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"rev\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), SOURCE).unwrap();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(&dir)
        .args(["build", "--release", "--quiet"])
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if let Some(target) = target {
        cargo.args(["--target", target]);
    }
    assert!(cargo.status().unwrap().success(), "building the program");
    match target {
        Some(target) => dir.join(format!("target/{target}/release/rev.wasm")),
        None => dir.join("target/release/rev"),
    }
}

fn ecm(args: &[&str], deployment: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(args)
        .arg("--deployment")
        .arg(deployment)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the ecm binary runs")
}

fn ok(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `ecm devnet --host` as a process, stopped when dropped: with Ctrl-C, so that it stops its
/// Anvil node (killing it outright would leave the node running), killed if it hangs.
struct Devnet(Child);

impl Drop for Devnet {
    fn drop(&mut self) {
        if !common::interrupt(&mut self.0, Duration::from_secs(30)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

#[test]
fn a_stock_rust_program_deployed_requested_and_answered_prints_what_it_prints_natively() {
    let wasm = build(Some("wasm32-wasip1"));
    let native = build(None);
    let dir = tempfile::tempdir().unwrap();
    let deployment = dir.path().join("deployment.json");
    let input = dir.path().join("input.txt");
    let text = "the quick brown fox\njumps over\nthe lazy dog\n".repeat(20);
    std::fs::write(&input, &text).unwrap();

    let explorer = common::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args([
            "devnet",
            "--host",
            "--port",
            &common::free_port().to_string(),
            "--explorer",
            &explorer.to_string(),
        ])
        .arg("--out")
        .arg(&deployment)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ecm devnet starts");
    let stdout = child.stdout.take().unwrap();
    let _devnet = Devnet(child);
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let said: Vec<String> = lines
        .by_ref()
        .take_while(|l| !l.starts_with("ready"))
        .collect();
    assert!(
        said.contains(&format!("explorer on http://127.0.0.1:{explorer}")),
        "ecm devnet did not get ready with its explorer: {said:?}"
    );

    let deployed: serde_json::Value = serde_json::from_slice(&ok(ecm(
        &[
            "program",
            "deploy",
            wasm.to_str().unwrap(),
            "--dev-account",
            "deployer",
            "--json",
        ],
        &deployment,
    )))
    .unwrap();
    assert_eq!(deployed["name"], "rev");
    let requested: serde_json::Value = serde_json::from_slice(&ok(ecm(
        &[
            "client",
            "request",
            "--program",
            "rev",
            "--input-file",
            input.to_str().unwrap(),
            "--payment",
            "0.01ether",
            "--window",
            "2",
            "--dev-account",
            "requester",
            "--json",
        ],
        &deployment,
    )))
    .unwrap();
    let id = requested["id"].to_string();
    ok(ecm(
        &["client", "wait", &id, "--timeout", "120"],
        &deployment,
    ));
    let printed = ok(ecm(&["client", "result", &id], &deployment));
    // The devnet's explorer shows the request under the program's name, which it learned from
    // the deployment file that `ecm program deploy` wrote after the explorer started.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (code, page) = common::http_get(explorer, &format!("/requests/{id}"));
        if code == 200 && page.contains(">rev</span>") && page.contains("data-status=\"Finalized\"")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the explorer did not show request {id} of `rev` finalized: {code} {page}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A replay with the machine agrees with the standing answer.
    ok(ecm(&["client", "replay", &id], &deployment));

    let mut run = Command::new(native)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    run.stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let expected = run.wait_with_output().unwrap().stdout;
    assert_eq!(
        String::from_utf8_lossy(&printed),
        String::from_utf8_lossy(&expected)
    );

    // The JSON form: exit code 0 and the same bytes.
    let json: serde_json::Value =
        serde_json::from_slice(&ok(ecm(&["client", "result", &id, "--json"], &deployment)))
            .unwrap();
    assert_eq!(json["exitCode"], 0);
    assert_eq!(
        json["output"],
        format!("0x{}", alloy_primitives::hex::encode(&expected))
    );
}

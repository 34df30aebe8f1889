//! `ecm program deploy`: a stock wasm32-wasip1 module registered as a machine program through
//! the binary, on a devnet: the id the Factory computes, the deployment file updated, a second
//! deploy recognised, and a module the machine refuses refused before anything is sent.

use crate::common;

use alloy::primitives::keccak256;
use ecm_machine::Program;
use ecm_primitives::Deployment;
use std::{path::Path, process::Command};

fn deploy(deployment: &Path, module: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(["program", "deploy"])
        .arg(module)
        .arg("--deployment")
        .arg(deployment)
        .args(["--dev-account", "deployer"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the ecm binary runs")
}

/// A module of its own: the wordfreq example with a custom section appended, so its hash (and
/// so its program id) is new while the machine lowers it exactly as wordfreq.
fn own_module() -> Vec<u8> {
    let mut wasm = ecm_programs::wasi_program("wordfreq")
        .unwrap()
        .wasm
        .to_vec();
    let name = b"ecm-test";
    let payload = b"a module of its own";
    wasm.push(0); // custom section
    wasm.push((1 + name.len() + payload.len()) as u8);
    wasm.push(name.len() as u8);
    wasm.extend_from_slice(name);
    wasm.extend_from_slice(payload);
    wasm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_module_is_deployed_once_and_recorded() {
    let (devnet, dir, deployment) = common::devnet_with_file().await;
    let module = dir.path().join("words.wasm");
    let wasm = own_module();
    std::fs::write(&module, &wasm).unwrap();
    let lowered = Program::from_wasm(&wasm).unwrap();

    let out = deploy(&deployment, &module, &["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["name"], "words");
    assert_eq!(report["wasmHash"], keccak256(&wasm).to_string());
    assert_eq!(report["initialState"], lowered.initial_core().to_string());
    assert_eq!(report["newlyRegistered"], true);

    // The Factory computes the same id, and holds the record.
    let provider = alloy::providers::ProviderBuilder::new()
        .connect_http(devnet.deployment.rpc_url.parse().unwrap());
    let factory = ecm_bindings::Factory::new(devnet.deployment.factory, &provider);
    let id = factory
        .machineProgramIdOf(keccak256(&wasm), lowered.initial_core())
        .call()
        .await
        .unwrap();
    assert_eq!(report["id"], id.to_string());
    let record = factory.getProgram(id).call().await.unwrap();
    assert_eq!(record.initialCore, lowered.initial_core());
    assert_eq!(
        record.execution,
        factory.machineProver().call().await.unwrap()
    );

    // The deployment file has it, with where the module is.
    let saved = Deployment::load(&deployment).unwrap();
    let entry = saved.program("words").unwrap();
    assert_eq!(entry.id, id);
    assert_eq!(entry.initial_core, Some(lowered.initial_core()));
    assert_eq!(
        entry.module.as_deref(),
        Some(std::fs::canonicalize(&module).unwrap().as_path())
    );
    assert_eq!(saved.programs.len(), devnet.deployment.programs.len() + 1);

    // Deploying it again registers nothing and names the same program.
    let again = deploy(&deployment, &module, &["--json"]);
    assert!(again.status.success());
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["id"], id.to_string());
    assert_eq!(report["newlyRegistered"], false);
    assert_eq!(factory.programCount().call().await.unwrap(), {
        let count = devnet.deployment.programs.len() + 1;
        alloy::primitives::U256::from(count)
    });

    // `program check` re-lowers the module and agrees with the Factory; once the file changes
    // it says the module is gone rather than checking another one.
    let check = |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_ecm"))
            .args(["program", "check", name, "--json", "--deployment"])
            .arg(&deployment)
            .output()
            .unwrap()
    };
    let checked = check("words");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["initialCore"], lowered.initial_core().to_string());
    std::fs::write(&module, b"changed").unwrap();
    let gone = check(&id.to_string());
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no module for"));
    std::fs::write(&module, &wasm).unwrap();

    // Another module under a name already taken is refused, and the file keeps the first.
    let other = dir.path().join("other.wasm");
    std::fs::write(
        &other,
        ecm_programs::wasi_program("sha256sum").unwrap().wasm,
    )
    .unwrap();
    let taken = deploy(&deployment, &other, &["--name", "words"]);
    assert!(!taken.status.success());
    let stderr = String::from_utf8_lossy(&taken.stderr);
    assert!(
        stderr.contains("already has a program named `words`"),
        "{stderr}"
    );
    assert_eq!(
        Deployment::load(&deployment)
            .unwrap()
            .program("words")
            .unwrap()
            .id,
        id
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_the_machine_refuses_is_refused_before_anything_is_sent() {
    let (devnet, dir, deployment) = common::devnet_with_file().await;
    let before = std::fs::read(&deployment).unwrap();
    let module = dir.path().join("broken.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0 not a module").unwrap();

    let out = deploy(&deployment, &module, &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot run on the machine"), "{stderr}");
    assert_eq!(
        std::fs::read(&deployment).unwrap(),
        before,
        "the file is untouched"
    );
    let provider = alloy::providers::ProviderBuilder::new()
        .connect_http(devnet.deployment.rpc_url.parse().unwrap());
    let factory = ecm_bindings::Factory::new(devnet.deployment.factory, &provider);
    assert_eq!(
        factory.programCount().call().await.unwrap(),
        alloy::primitives::U256::from(devnet.deployment.programs.len())
    );
}

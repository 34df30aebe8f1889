//! `ecm deploy` on an Anvil node used as a plain chain: fresh funded keys, no dev accounts in
//! the deployment, blocks every second and confirmations waited for. A deployment killed with
//! SIGKILL half-way is finished by the same command, and sends exactly the transactions an
//! uninterrupted one sends.

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, U256, keccak256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use ecm_bindings::{Broker, Factory};
use ecm_devnet::{Anvil, AnvilConfig, DEV_KEYS, journal_path};
use ecm_primitives::Deployment;
use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

/// A step program and a machine program: enough to cover both kinds, few enough transactions
/// to keep the test short at one block a second.
const PROGRAMS: &str = "fibonacci,sha256sum";

fn fresh_key(label: &str) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&keccak256(label)).expect("a valid key")
}

fn deploy_command(url: &str, key: &PrivateKeySigner, out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecm"));
    command
        .args(["deploy", "--rpc-url", url, "--private-key"])
        .arg(key.to_bytes().to_string())
        .arg("--out")
        .arg(out)
        .args([
            "--programs",
            PROGRAMS,
            "--confirmations",
            "1",
            "--clock-blocks",
            "700",
            "--json",
        ])
        .env("RUST_LOG", "warn");
    command
}

fn succeeded(output: Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "ecm deploy failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_on_a_plain_chain_and_finishes_a_killed_deployment_without_doubles() {
    let anvil = Anvil::spawn(AnvilConfig::default()).await.unwrap();
    let url = anvil.url().to_string();
    let funder: PrivateKeySigner = DEV_KEYS[0].parse().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(funder))
        .connect_http(url.parse().unwrap());
    let (whole, killed) = (fresh_key("deploy: whole"), fresh_key("deploy: killed"));
    for key in [&whole, &killed] {
        let fund = TransactionRequest::default()
            .with_to(key.address())
            .with_value(U256::from(10u128.pow(20)));
        provider
            .send_transaction(fund)
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
    }
    // From here on a block a second, as on a real network: confirmations take time.
    anvil.set_block_time(1).await.unwrap();
    let nonce = async |address: Address| provider.get_transaction_count(address).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // 1. Uninterrupted: the reference.
    let whole_out = dir.path().join("whole.json");
    let report = succeeded(deploy_command(&url, &whole, &whole_out).output().unwrap());
    assert_eq!(report["newlyDeployed"], true);
    let deployment = Deployment::load(&whole_out).unwrap();
    assert!(
        deployment.accounts.is_empty(),
        "no dev accounts off a devnet"
    );
    assert_eq!(
        deployment.programs.keys().collect::<Vec<_>>(),
        ["fibonacci", "sha256sum"]
    );
    let broker = Broker::new(deployment.broker, &provider);
    assert_eq!(broker.arity().call().await.unwrap(), U256::from(16));
    assert_eq!(broker.clockBlocks().call().await.unwrap(), 700);
    let factory = Factory::new(deployment.factory, &provider);
    for (name, entry) in &deployment.programs {
        let record = factory.stepInfo(entry.id).call().await.unwrap();
        assert_eq!(record.execution, entry.execution, "{name} is registered");
    }
    assert!(!journal_path(&whole_out).exists(), "the journal is removed");
    let transactions_of_a_deployment = nonce(whole.address()).await;

    // 2. Killed once the Factory is journaled, then run again to the end.
    let killed_out = dir.path().join("killed.json");
    let journal = journal_path(&killed_out);
    let mut child = deploy_command(&url, &killed, &killed_out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let journaled = loop {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text)
            && value["contracts"].get("Factory").is_some()
        {
            break value;
        }
        assert!(
            Instant::now() < deadline,
            "the journal never named the Factory"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!killed_out.exists(), "no deployment file from a killed run");
    let report = succeeded(deploy_command(&url, &killed, &killed_out).output().unwrap());
    assert_eq!(report["newlyDeployed"], true);
    let resumed = Deployment::load(&killed_out).unwrap();
    let prover: Address = journaled["contracts"]["MachineProver"]["address"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        Factory::new(resumed.factory, &provider)
            .machineProver()
            .call()
            .await
            .unwrap(),
        prover,
        "the prover deployed before the kill is the one used"
    );
    assert_eq!(
        nonce(killed.address()).await,
        transactions_of_a_deployment,
        "the resumed deployment sent exactly what an uninterrupted one sends"
    );
    assert_eq!(
        resumed.programs.keys().collect::<Vec<_>>(),
        ["fibonacci", "sha256sum"]
    );
    assert!(!journal.exists());

    // 3. Once more: nothing to do, nothing sent.
    let report = succeeded(deploy_command(&url, &killed, &killed_out).output().unwrap());
    assert_eq!(report["newlyDeployed"], false);
    assert_eq!(nonce(killed.address()).await, transactions_of_a_deployment);
}

#[test]
fn unknown_programs_and_a_missing_key_are_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.json");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ecm"))
            .args(["deploy", "--rpc-url", "http://127.0.0.1:1", "--out"])
            .arg(&out)
            .args(args)
            .env_remove("ECM_PRIVATE_KEY")
            .output()
            .unwrap()
    };
    let output = run(&[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--private-key"));
    let output = run(&["--private-key", DEV_KEYS[1], "--programs", "nope"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`nope`") && stderr.contains("fibonacci"),
        "{stderr}"
    );
    assert!(!out.exists());
}

//! Keystores made by Foundry's `cast wallet import` sign for `ecm`, by path (`--keystore`) and
//! by name in Foundry's folder (`--account`), with the password from a file; a wrong password
//! or a missing one off a terminal is a clear error.

use crate::common;

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, U256, keccak256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

/// Foundry's cast, installed from npm beside anvil.
fn cast() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_dir(root.join("node_modules/@foundry-rs"))
        .expect("Foundry from npm (make install)")
        .map(|entry| entry.unwrap().path().join("bin/cast"))
        .find(|path| path.is_file())
        .expect("a cast binary in node_modules/@foundry-rs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cast_keystore_signs_by_path_and_by_account_name() {
    let (devnet, dir, deployment) = common::devnet_with_file().await;

    // A key of the user's own, funded, imported into Foundry's keystore folder under a HOME of
    // the test's.
    let signer = PrivateKeySigner::from_bytes(&keccak256("keystore test")).unwrap();
    let funder: PrivateKeySigner = devnet.deployment.accounts[0].private_key.parse().unwrap();
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(funder))
        .connect_http(devnet.deployment.rpc_url.parse().unwrap())
        .send_transaction(
            TransactionRequest::default()
                .with_to(signer.address())
                .with_value(U256::from(10u128.pow(18))),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let home = dir.path().join("home");
    let keystores = home.join(".foundry/keystores");
    let imported = Command::new(cast())
        .args(["wallet", "import", "ecm-test", "--private-key"])
        .arg(signer.to_bytes().to_string())
        .arg("--keystore-dir")
        .arg(&keystores)
        .args(["--unsafe-password", "correct horse"])
        .output()
        .unwrap();
    assert!(imported.status.success(), "{}", stderr(&imported));
    let password = dir.path().join("password");
    std::fs::write(&password, "correct horse\n").unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "battery staple\n").unwrap();

    let ecm = |args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecm"));
        command
            .args(args)
            .arg("--deployment")
            .arg(&deployment)
            .env("HOME", &home)
            .env("RUST_LOG", "warn")
            .env_remove("ECM_PRIVATE_KEY")
            .env_remove("ECM_KEYSTORE")
            .env_remove("ECM_PASSWORD_FILE")
            .stdin(Stdio::null());
        command
    };
    let keystore = keystores.join("ecm-test");
    let keystore_arg = keystore.to_str().unwrap();
    let password_arg = password.to_str().unwrap();

    // By path and by name: the account is the key's.
    for wallet in [["--keystore", keystore_arg], ["--account", "ecm-test"]] {
        let output = ecm(&[
            "client",
            "balance",
            "--json",
            "--password-file",
            password_arg,
        ])
        .args(wallet)
        .output()
        .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let balance: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let account: Address = balance["account"].as_str().unwrap().parse().unwrap();
        assert_eq!(account, signer.address(), "{wallet:?}");
    }

    // It signs: a request sent with the keystore is the key's.
    let output = ecm(&[
        "client",
        "request",
        "--program",
        "fibonacci",
        "--input",
        "10",
        "--payment",
        "0.01ether",
        "--json",
        "--account",
        "ecm-test",
        "--password-file",
        password_arg,
    ])
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let provider = ProviderBuilder::new().connect_http(devnet.deployment.rpc_url.parse().unwrap());
    assert_eq!(
        provider
            .get_transaction_count(signer.address())
            .await
            .unwrap(),
        1,
        "the request was sent from the keystore's account"
    );

    // A wrong password, and no password without a terminal: clear errors, nothing sent.
    let output = ecm(&[
        "client",
        "withdraw",
        "--keystore",
        keystore_arg,
        "--password-file",
        wrong.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("wrong password"),
        "{}",
        stderr(&output)
    );
    let output = ecm(&["client", "withdraw", "--account", "ecm-test"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--password-file"),
        "{}",
        stderr(&output)
    );
    let output = ecm(&["client", "withdraw", "--account", "nobody"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no keystore at"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        provider
            .get_transaction_count(signer.address())
            .await
            .unwrap(),
        1
    );
}

//! Bad input at the command line: each is one clear line on stderr, exit status 1, no panic and
//! no backtrace. And the happy path's JSON is what scripts expect.

use ecm_devnet::{AnvilConfig, DeployConfig};
use std::process::{Command, Output};

fn ecm(args: &[&str], deployment: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(args)
        .arg("--deployment")
        .arg(deployment)
        .env_remove("RUST_LOG")
        .env_remove("ETH_RPC_URL")
        .env_remove("ECM_PRIVATE_KEY")
        .output()
        .expect("the ecm binary runs")
}

/// Asserts a clean failure whose message contains `needle`.
fn fails_with(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert!(
        errors[0].contains(needle),
        "`{needle}` not in: {}",
        errors[0]
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

/// Asserts a success, and returns what it printed as JSON.
fn succeeds_with_json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    fails_with(&ecm(&["client", "status", "1"], &missing), "ecm devnet");

    let devnet = ecm_devnet::start(AnvilConfig::default(), DeployConfig::default())
        .await
        .unwrap();
    let path = dir.path().join("deployment.json");
    devnet.deployment.save(&path).unwrap();
    let request = |extra: &[&str]| {
        let mut args = vec!["client", "request", "--dev-account", "requester"];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| ecm(&args.iter().map(String::as_str).collect::<Vec<_>>(), &path);

    let oversize = format!("0x{}", "00".repeat(8193));
    for (program, input, payment, expected) in [
        ("fib", "3", "1", "no program named `fib`"),
        ("fibonacci", "0xzz", "1", "bad hex"),
        ("fibonacci", "ten", "1", "decimal"),
        ("fibonacci", "3", "lots", "invalid amount"),
        ("fibonacci", "3", "0", "ZeroPayment"),
        ("fibonacci", "3", "1000000ether", "insufficient funds"),
        (
            "blake2b",
            oversize.as_str(),
            "1",
            "above the protocol maximum",
        ),
    ] {
        fails_with(
            &run(request(&[
                "--program",
                program,
                "--input",
                input,
                "--payment",
                payment,
            ])),
            expected,
        );
    }
    fails_with(
        &ecm(
            &["client", "cancel", "7", "--dev-account", "requester"],
            &path,
        ),
        "NoSuchRequest",
    );
    fails_with(
        &ecm(&["client", "withdraw", "--dev-account", "spare-1"], &path),
        "NothingToWithdraw",
    );
    fails_with(&ecm(&["client", "withdraw"], &path), "--private-key");
    fails_with(&ecm(&["host", "stats"], &path), "give an address");
    fails_with(
        &run(request(&[
            "--program",
            "fibonacci",
            "--input",
            "3",
            "--payment",
            "1",
            "--max-gas-price",
            "281474976710656",
        ])),
        "MaxGasPriceTooHigh",
    );
    fails_with(
        &ecm(
            &["client", "status", "1", "--rpc-url", "http://127.0.0.1:1"],
            &path,
        ),
        "cannot reach the node",
    );
    fails_with(
        &ecm(&["client", "status", "1", "--rpc-url", "not a url"], &path),
        "invalid RPC URL",
    );

    let mut elsewhere = devnet.deployment.clone();
    elsewhere.chain_id = 1;
    let wrong_chain = dir.path().join("mainnet.json");
    elsewhere.save(&wrong_chain).unwrap();
    fails_with(
        &ecm(&["client", "status", "1"], &wrong_chain),
        "the deployment is on chain 1",
    );

    // The happy path, as a script sees it.
    let out = run(request(&[
        "--program",
        "fibonacci",
        "--input",
        "10",
        "--payment",
        "0.01ether",
        "--json",
    ]));
    let created = succeeds_with_json(&out);
    assert_eq!(created["id"], 1);
    let status = succeeds_with_json(&ecm(&["client", "status", "1", "--json"], &path));
    assert_eq!(status["status"], "Pending");
    assert_eq!(status["program"], "fibonacci");

    // Several inputs: one request each, in one transaction, each paid the payment.
    let out = run(request(&[
        "--program",
        "fibonacci",
        "--input",
        "11",
        "--input",
        "12",
        "--input",
        "13",
        "--payment",
        "0.01ether",
        "--json",
    ]));
    let created = succeeds_with_json(&out);
    assert_eq!(created["ids"], serde_json::json!([2, 3, 4]));
    for id in ["2", "3", "4"] {
        let status = succeeds_with_json(&ecm(&["client", "status", id, "--json"], &path));
        assert_eq!(
            status["payment"], "0x2386f26fc10000",
            "request {id}: 0.01 ether"
        );
    }
    // A batch with a bad input is refused whole, with the input's error.
    fails_with(
        &run(request(&[
            "--program",
            "fibonacci",
            "--input",
            "14",
            "--input",
            "ten",
            "--payment",
            "0.01ether",
        ])),
        "decimal",
    );

    // Host admission: the request carries it, and a host's record says whether it is met.
    let out = run(request(&[
        "--program",
        "fibonacci",
        "--input",
        "15",
        "--payment",
        "0.01ether",
        "--min-host-jobs",
        "2",
        "--json",
    ]));
    assert_eq!(succeeds_with_json(&out)["id"], 5);
    let status = succeeds_with_json(&ecm(&["client", "status", "5", "--json"], &path));
    assert_eq!(status["min_host_jobs"], 2);
    let text = ecm(&["client", "status", "5"], &path);
    assert!(
        String::from_utf8_lossy(&text.stdout)
            .contains("hosts admitted  with at least 2 jobs paid and no defence lost"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let host = devnet
        .deployment
        .account("host")
        .unwrap()
        .address
        .to_string();
    let stats = succeeds_with_json(&ecm(&["host", "stats", &host, "--json"], &path));
    assert_eq!(stats["record"]["paid"], 0);
    assert_eq!(stats["record"]["defences_lost"], 0);
    assert_eq!(stats["admitted_up_to"], 0);
    let mine = succeeds_with_json(&ecm(
        &["challenger", "stats", "--dev-account", "host", "--json"],
        &path,
    ));
    assert_eq!(
        mine["account"].as_str().unwrap().to_lowercase(),
        host.to_lowercase()
    );
}

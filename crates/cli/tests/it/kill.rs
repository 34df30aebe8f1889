//! The agents as real processes, killed with SIGKILL in the middle of their work: restarted on
//! the same data directory, they finish the job and win the dispute.

use ecm_client::{Client, NewRequest, Status};
use ecm_devnet::{AnvilConfig, DeployConfig};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

fn agent(kind: &str, role: &str, deployment: &Path, data: &Path, extra: &[&str]) -> Child {
    let poll = if extra.contains(&"--poll-ms") {
        vec![]
    } else {
        vec!["--poll-ms", "50"]
    };
    Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args([kind, "run", "--dev-account", role])
        .args(poll)
        .arg("--deployment")
        .arg(deployment)
        .arg("--data-dir")
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the ecm binary starts")
}

/// SIGKILL: no graceful shutdown, no chance to save anything.
fn kill_9(mut child: Child) {
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

async fn until<T>(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn request(program: &str, input: &str, window: u64) -> NewRequest {
    NewRequest {
        program: program.into(),
        input: ecm_programs::by_name(program)
            .unwrap()
            .parse_input(input)
            .unwrap(),
        payment: alloy::primitives::U256::from(10_000_000_000_000_000u64),
        window,
        max_steps: None,
        max_gas_price: None,
        mode: ecm_client::DisputeMode::Bisection,
        min_host_jobs: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_killed_during_a_job_and_during_a_dispute_comes_back_and_wins() {
    let devnet = ecm_devnet::start(
        AnvilConfig::default(),
        DeployConfig {
            clock_blocks: 5_000,
            ..DeployConfig::default()
        },
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deployment = dir.path().join("deployment.json");
    devnet.deployment.save(&deployment).unwrap();
    let requester = Client::connect(
        devnet.deployment.clone(),
        None,
        Some(
            devnet
                .deployment
                .account("requester")
                .unwrap()
                .private_key
                .clone(),
        ),
    )
    .await
    .unwrap();
    let host_dir = dir.path().join("host");

    // 1. Killed during a job: after answering, before the payout.
    // The same host, on the same data directory, every time it is (re)started.
    let start_host = || {
        agent(
            "host",
            "host",
            &deployment,
            &host_dir,
            &["--program", "fibonacci", "--program", "keccak-chain"],
        )
    };
    let host = start_host();
    let job = requester
        .request(request("fibonacci", "80", 10))
        .await
        .unwrap();
    until("the answer", Duration::from_secs(60), async || {
        (requester.status(job).await.unwrap().status == Status::WaitingForResolution).then_some(())
    })
    .await;
    kill_9(host);

    // 2. Killed during a dispute: a cheating challenger disputes the host's next answer, and the
    // host is killed in the middle of the game.
    let disputed = requester
        .request(request("keccak-chain", "4000", 10))
        .await
        .unwrap();
    let host = start_host();
    until("the host's answer", Duration::from_secs(60), async || {
        (requester.status(disputed).await.unwrap().status == Status::WaitingForResolution)
            .then_some(())
    })
    .await;
    let liar = agent(
        "challenger",
        "cheater",
        &deployment,
        &dir.path().join("liar"),
        &["--cheat-at-step", "2000", "--poll-ms", "700"],
    );
    until(
        "the game past its first round",
        Duration::from_secs(120),
        async || {
            requester
                .status(disputed)
                .await
                .unwrap()
                .game
                .filter(|g| g.hi - g.lo < 4000)
                .map(|_| ())
        },
    )
    .await;
    kill_9(host);
    assert_eq!(
        requester.status(disputed).await.unwrap().status,
        Status::Resolving,
        "killed mid-game"
    );

    // Restarted on the same data directory, the host resumes both.
    let host = start_host();
    until("the host's win", Duration::from_secs(120), async || {
        let s = requester.status(disputed).await.unwrap();
        (s.status == Status::WaitingForResolution
            && s.host == Some(devnet.deployment.account("host").unwrap().address))
        .then_some(())
    })
    .await;
    requester.chain().anvil_mine(12).await.unwrap();
    for id in [job, disputed] {
        until("payout", Duration::from_secs(60), async || {
            (requester.status(id).await.unwrap().status == Status::Finalized).then_some(())
        })
        .await;
        let s = requester.status(id).await.unwrap();
        assert_eq!(
            s.host,
            Some(devnet.deployment.account("host").unwrap().address)
        );
        assert!(requester.replay(id).await.unwrap().matches);
    }

    // What its store says, read by `ecm host jobs` and `ecm host earnings` while it runs: both
    // jobs paid, nothing lost, the dispute won (half the liar's deposit).
    let payment = alloy::primitives::U256::from(10_000_000_000_000_000u64);
    let earnings = until(
        "the payouts in the ledger",
        Duration::from_secs(60),
        async || {
            let e = ecm_json(&["host", "earnings", "--json", "--data-dir"], &host_dir);
            (e["paid"] == (payment * alloy::primitives::U256::from(2)).to_string()).then_some(e)
        },
    )
    .await;
    let wei =
        |key: &str| -> alloy::primitives::U256 { earnings[key].as_str().unwrap().parse().unwrap() };
    assert_eq!(
        wei("deposits_lost"),
        alloy::primitives::U256::ZERO,
        "{earnings}"
    );
    assert_eq!(
        wei("deposits_locked"),
        alloy::primitives::U256::ZERO,
        "{earnings}"
    );
    assert!(wei("won") > alloy::primitives::U256::ZERO, "{earnings}");
    assert!(wei("gas") > alloy::primitives::U256::ZERO, "{earnings}");
    let jobs = ecm_json(&["host", "jobs", "--json", "--data-dir"], &host_dir);
    let jobs = jobs.as_array().unwrap();
    let ids: Vec<u64> = jobs.iter().map(|j| j["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [disputed, job], "newest first");
    for j in jobs {
        assert_eq!(j["outcome"], "paid", "{j}");
        // Amounts in decimal wei, as `earnings --json` prints them.
        assert_eq!(j["payment"], payment.to_string(), "{j}");
    }
    let open = ecm_json(
        &["host", "jobs", "--open", "--json", "--data-dir"],
        &host_dir,
    );
    assert_eq!(open.as_array().unwrap().len(), 0);
    kill_9(host);
    kill_9(liar);
}

/// Runs `ecm ARGS DIR` and parses what it prints as JSON.
fn ecm_json(args: &[&str], dir: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(args)
        .arg(dir)
        .output()
        .expect("the ecm binary runs");
    assert!(
        out.status.success(),
        "ecm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

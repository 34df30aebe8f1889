//! `ecm devnet --host`, Ctrl-C, `ecm devnet --host` again: the second devnet is a fresh chain
//! while the host's store beside the deployment file remembers the first, and a request on the
//! new chain is answered within seconds all the same.

use crate::common;

use ecm_primitives::Deployment;
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// `ecm devnet --host` writing its deployment to `out`, and the deployment once it is written.
#[allow(
    clippy::zombie_processes,
    reason = "the child is returned with the deployment, and `interrupt` waits for it"
)]
async fn start_devnet(out: &Path) -> (Child, Deployment) {
    let _ = std::fs::remove_file(out);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(["devnet", "--host", "--block-time", "0", "--port"])
        .arg(common::free_port().to_string())
        .arg("--out")
        .arg(out)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(deployment) = Deployment::load(out) {
            return (child, deployment);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the devnet never wrote its deployment");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ctrl-C, and the graceful exit it starts.
fn interrupt(mut child: Child) {
    assert!(
        common::interrupt(&mut child, Duration::from_secs(30)),
        "the devnet did not stop on Ctrl-C"
    );
}

/// Requests Fibonacci(n) and waits for the devnet's host to answer it.
async fn answered_within_seconds(deployment: &Deployment, n: &str) -> u64 {
    let requester = common::requester(deployment).await;
    let id = requester.request(common::fibonacci(n, 10)).await.unwrap();
    common::wait_answered(&requester, id, Duration::from_secs(20)).await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_devnet_host_answers_new_requests() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deployment.json");

    let (first, deployment) = start_devnet(&out).await;
    // Request 1 on the first chain, and some blocks, so the store's cursor is ahead of the
    // second chain's start and its job file claims the id the second chain gives out first.
    assert_eq!(answered_within_seconds(&deployment, "12").await, 1);
    interrupt(first);
    assert!(
        dir.path().join("agents/host").exists(),
        "the host kept its store beside the deployment"
    );

    let (second, deployment) = start_devnet(&out).await;
    assert_eq!(answered_within_seconds(&deployment, "13").await, 1);
    interrupt(second);
}

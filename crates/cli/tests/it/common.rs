//! What the binary's end-to-end tests share: a devnet with its deployment file, a free port,
//! the requester's Fibonacci request and the wait for its answer, Ctrl-C to a child process.

#![allow(
    unreachable_pub,
    reason = "helpers for the other test modules of this binary"
)]

use ecm_client::{Client, NewRequest};
use ecm_devnet::{AnvilConfig, DeployConfig, Devnet};
use std::{
    io::{Read, Write},
    path::PathBuf,
    time::{Duration, Instant},
};
use tempfile::TempDir;

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    ecm_devnet::free_port().unwrap()
}

/// Waits until request `id`'s answer is on-chain (revealed, not only committed); fails the
/// test after `timeout`.
pub async fn wait_answered(requester: &Client, id: u64, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !requester.status(id).await.unwrap().status.has_answer() {
        assert!(
            Instant::now() < deadline,
            "request {id} was not answered within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A devnet, a temporary directory, and the devnet's deployment file in it.
pub async fn devnet_with_file() -> (Devnet, TempDir, PathBuf) {
    let devnet = ecm_devnet::start(AnvilConfig::default(), DeployConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let deployment = dir.path().join("deployment.json");
    devnet.deployment.save(&deployment).unwrap();
    (devnet, dir, deployment)
}

/// The dev account `requester` on `deployment`.
pub async fn requester(deployment: &ecm_primitives::Deployment) -> Client {
    let key = deployment.account("requester").unwrap().private_key.clone();
    Client::connect(deployment.clone(), None, Some(key))
        .await
        .unwrap()
}

/// Fibonacci(`n`) for 0.01 ETH with a window of `window` blocks.
pub fn fibonacci(n: &str, window: u64) -> NewRequest {
    NewRequest {
        program: "fibonacci".into(),
        input: ecm_programs::by_name("fibonacci")
            .unwrap()
            .parse_input(n)
            .unwrap(),
        payment: alloy::primitives::U256::from(10u64.pow(16)),
        window,
        max_steps: None,
        max_gas_price: None,
        mode: ecm_client::DisputeMode::Bisection,
        min_host_jobs: 0,
    }
}

/// Ctrl-C to a child `ecm` process, and its graceful exit: whether it exited within `within`.
/// A process that owns an Anvil node (`ecm devnet`) stops it on Ctrl-C; killed outright, it
/// would leave the node running with nobody to stop it.
pub fn interrupt(child: &mut std::process::Child, within: Duration) -> bool {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .is_ok_and(|status| status.success());
    let deadline = Instant::now() + within;
    while sent && Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A plain HTTP GET: the status code and the body.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response}"));
    (code, response)
}

//! What the binary's end-to-end tests share: a devnet with its deployment file, and the
//! requester's Fibonacci request.

#![allow(dead_code, unreachable_pub, reason = "each test binary uses a part")]

use ecm_client::{Client, NewRequest};
use ecm_devnet::{AnvilConfig, DeployConfig, Devnet};
use std::path::PathBuf;
use tempfile::TempDir;

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
    }
}

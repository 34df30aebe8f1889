//! The explorer's indexer on a real chain: it follows requests as they are made and answered,
//! accounts for every wei the Broker holds at each step, and undoes what a reorganisation
//! removes (a request replaced under the same id shows the new request's terms).

use alloy::{primitives::U256, providers::ext::AnvilApi, rpc::types::anvil::ReorgOptions};
use ecm_agent::Roles;
use ecm_anvil_tests::{AgentHandle, ETHER, TestNet, eventually, request};
use ecm_client::Status;
use ecm_explorer::{Explorer, ExplorerConfig, Snapshot};
use std::{sync::Arc, time::Duration};

/// Waits until the explorer's snapshot passes `check`.
async fn shows(
    explorer: &Explorer,
    what: &str,
    check: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    eventually(what, Duration::from_secs(30), || async {
        let snapshot = explorer.snapshot();
        check(&snapshot).then_some(snapshot)
    })
    .await
}

/// What the Broker holds is what the explorer says it holds for requests and accounts.
fn assert_accounted(s: &Snapshot) {
    let (escrowed, locked, owed) = s.holdings();
    assert_eq!(
        escrowed + locked + owed,
        s.broker_balance,
        "escrowed {escrowed} + locked {locked} + owed {owed} at block {}",
        s.head
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_explorer_follows_requests_and_undoes_a_reorg() {
    let net = TestNet::start(600).await;
    let mut config = ExplorerConfig::new(net.deployment().clone(), 0);
    config.poll_interval = Duration::from_millis(50);
    let explorer = Explorer::start(config).await.unwrap();
    let requester = net.client("requester").await;

    // A request answered by a host: its payment escrowed, the host's deposit locked.
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let answered = requester
        .request(request("fibonacci", "10", ETHER / 100, 100))
        .await
        .unwrap();
    let s = shows(&explorer, "the answer", |s| {
        s.statuses
            .get(&answered)
            .is_some_and(|st| st.status == Status::WaitingForResolution)
    })
    .await;
    host.stop().await.unwrap();
    let money = s.model.requests[&answered].money(s.deposit(answered).unwrap());
    assert_eq!(money.escrowed, U256::from(ETHER / 100));
    assert_eq!(money.deposits_locked, s.deposit(answered).unwrap());
    assert!(!money.deposits_locked.is_zero());
    assert_eq!(s.model.accounts[&net.address("host")].answers, 1);
    assert_accounted(&s);

    // A request the next reorganisation removes.
    let vanishing = requester
        .request(request("fibonacci", "11", ETHER / 50, 100))
        .await
        .unwrap();
    let s = shows(&explorer, "the second request", |s| {
        s.model.requests.contains_key(&vanishing)
    })
    .await;
    assert_eq!(s.model.requests[&vanishing].payment, U256::from(ETHER / 50));
    assert_accounted(&s);
    let provider = requester.chain().provider().clone();
    provider
        .anvil_reorg(ReorgOptions {
            depth: 1,
            tx_block_pairs: vec![],
        })
        .await
        .unwrap();
    let s = shows(&explorer, "the request gone", |s| {
        !s.model.requests.contains_key(&vanishing)
    })
    .await;
    assert!(!s.statuses.contains_key(&vanishing));
    assert_eq!(s.model.accounts[&net.address("requester")].requests, 1);
    assert_accounted(&s);

    // Its id goes to the next request, on other terms: the explorer shows those.
    requester.chain().forget_nonce().await;
    let replacement = requester
        .request(request("fibonacci", "12", ETHER / 25, 100))
        .await
        .unwrap();
    assert_eq!(replacement, vanishing);
    let s = shows(&explorer, "the replacement", |s| {
        s.model
            .requests
            .get(&replacement)
            .is_some_and(|r| r.payment == U256::from(ETHER / 25))
    })
    .await;
    assert_eq!(s.statuses[&replacement].status, Status::Pending);
    assert_accounted(&s);
    explorer.stop().await;
}

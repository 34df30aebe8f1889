//! Everything at once, as a long-lived deployment meets it: a flaky network between the host and
//! its node, the host killed in the middle of its work and restarted on the same store, and a
//! reorganisation that removes the host's latest answer.

use alloy::{primitives::U256, providers::ext::AnvilApi, rpc::types::anvil::ReorgOptions};
use ecm_agent::{JobStore, Outcome, Roles, Stance};
use ecm_anvil_tests::{
    AgentHandle, ETHER, TestNet, assert_paid_and_no_deposit_lost, eventually, finalized,
    proxy::{ChaosProxy, Faults},
    request,
};
use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

const REQUESTS: u64 = 12;
const PAYMENT: u128 = ETHER / 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_a_flaky_network_a_kill_and_a_reorg_lose_nothing_and_answer_each_request_once() {
    let started = Instant::now();
    let net = TestNet::start(2_000).await;
    let provider = net.client("deployer").await.chain().provider().clone();
    // Blocks keep coming, ten a second (paused around the reorganisation).
    let miner = net.miner(Duration::from_millis(100)).await;
    let faults = Faults {
        drop_request_one_in: 25,
        drop_answer_one_in: 25,
        max_delay_ms: 20,
        ..Faults::default()
    };
    let proxy = ChaosProxy::start(&net.deployment().rpc_url, faults, 11).await;
    let host_config = || {
        let mut config = net.agent_config("host", Roles::HOST);
        config.rpc_url = proxy.url.clone();
        config.confirmations = 2;
        config
    };

    // Every request is on the chain before the host starts, so the reorganisation below
    // removes answers and what followed them, never a request.
    let requester = net.client("requester").await;
    let mut ids = Vec::new();
    for k in 0..REQUESTS {
        ids.push(
            requester
                .request(request("fibonacci", &(30 + k).to_string(), PAYMENT, 8))
                .await
                .unwrap(),
        );
    }
    let host = AgentHandle::spawn(host_config());
    let answered = || async {
        let mut n = 0;
        for id in &ids {
            // Answered: revealed (a commitment alone is not an answer yet).
            let status = requester.status(*id).await.unwrap().status;
            if status.has_answer() {
                n += 1;
            }
        }
        n
    };
    eventually(
        "a third of the answers",
        Duration::from_secs(120),
        || async { (answered().await >= REQUESTS / 3).then_some(()) },
    )
    .await;
    host.kill();
    // A transaction the host sent just before it died may still be on its way through the
    // proxy (up to 20 ms late), and automine would put it in at once: let such stragglers land
    // before the reorganisation, which must remove an answer and not see it come back.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // The reorganisation: back to just before the latest answer.
    miner.pause().await;
    let chain = requester.chain();
    let head = chain.block_number().await.unwrap();
    let last_answer = chain
        .broker_logs(0, head)
        .await
        .unwrap()
        .into_iter()
        .filter(|log| matches!(log.event, ecm_bindings::Broker::BrokerEvents::Answered(_)))
        .map(|log| log.block)
        .max()
        .unwrap();
    let answers_before = net.answered_ids().await.len();
    provider
        .anvil_reorg(ReorgOptions {
            depth: head - last_answer + 1,
            tx_block_pairs: vec![],
        })
        .await
        .unwrap();
    let answers_after = net.answered_ids().await.len();
    assert!(
        answers_after < answers_before,
        "the reorganisation removed an answer"
    );
    miner.resume();

    // Restarted on the same store, through the same flaky network.
    let host = AgentHandle::spawn(host_config());
    for id in &ids {
        finalized(&requester, *id, "settlement", Duration::from_secs(240)).await;
        assert!(
            requester.replay(*id).await.unwrap().matches,
            "request {id} settled on the true answer"
        );
    }
    let answered_ids = net.answered_ids().await;
    for id in &ids {
        assert_eq!(
            answered_ids.iter().filter(|a| **a == *id).count(),
            1,
            "one Answered event for request {id} on the chain"
        );
    }
    // Nothing lost: every job paid in the host's store, its ledger whole.
    let payment = U256::from(PAYMENT) * U256::from(REQUESTS);
    assert_paid_and_no_deposit_lost(&net.data_dir("host"), payment, REQUESTS).await;
    host.stop().await.unwrap();
    drop(miner);
    let store = JobStore::open(&net.data_dir("host")).unwrap();
    for id in &ids {
        let job = store.job(*id).unwrap().unwrap();
        assert_eq!(
            job.stance,
            Stance::Done {
                outcome: Outcome::Paid.into()
            },
            "request {id}: {:?}",
            job.log
        );
    }
    let dropped = proxy.stats.requests_dropped.load(Ordering::Relaxed)
        + proxy.stats.answers_dropped.load(Ordering::Relaxed);
    println!(
        "chaos: {REQUESTS} requests, {dropped} dropped connections, the host killed once, a \
         reorganisation removing {} answer(s); settled in {:.1} s",
        answers_before - answers_after,
        started.elapsed().as_secs_f64()
    );
    assert!(dropped > 5, "the proxy did inject faults");
}

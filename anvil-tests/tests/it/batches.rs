//! Requests in a batch: one transaction, one request per input, each answered, settled and
//! paid on its own by the real host, which commits to and reveals the answers together too.

use alloy::primitives::U256;
use ecm_agent::Roles;
use ecm_anvil_tests::{AgentHandle, ETHER, TestNet, eventually, request};
use ecm_bindings::Broker::BrokerEvents;
use ecm_client::{Error, Status};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_transaction_and_each_request_is_paid_on_its_own() {
    let net = TestNet::start(100).await;
    let requester = net.client("requester").await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let payment = ETHER / 100;
    let batch: Vec<_> = (10..15)
        .map(|n| request("fibonacci", &n.to_string(), payment, 3))
        .collect();
    let before = requester.chain().block_number().await.unwrap();
    let ids = requester.request_batch(batch).await.unwrap();
    assert_eq!(ids.len(), 5);
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    // One transaction: Anvil mined it in one block.
    assert_eq!(requester.chain().block_number().await.unwrap(), before + 1);

    let mut paid = Vec::new();
    for (k, id) in ids.iter().enumerate() {
        let s = eventually("the payout", Duration::from_secs(60), || async {
            net.mine(1).await;
            let s = requester.status(*id).await.unwrap();
            (s.status == Status::Finalized).then_some(s)
        })
        .await;
        assert_eq!(s.host, Some(net.address("host")));
        assert_eq!(s.payment, U256::from(payment));
        // Each answered for its own input: fibonacci(n) takes n + 1 steps.
        assert_eq!(s.steps, 10 + k as u64 + 1);
        assert!(requester.replay(*id).await.unwrap().matches);
        paid.push(s);
    }
    host.stop().await.unwrap();
    assert_eq!(paid.len(), 5);
    // The host committed and revealed them together too (`commitAnswers`, `revealAnswers`).
    let logs = requester
        .chain()
        .broker_logs(before, requester.chain().block_number().await.unwrap())
        .await
        .unwrap();
    let txs = |pick: fn(&BrokerEvents) -> bool| {
        logs.iter()
            .filter(|log| pick(&log.event))
            .map(|log| log.tx)
            .collect::<std::collections::HashSet<_>>()
            .len()
    };
    let commits = txs(|e| matches!(e, BrokerEvents::AnswerCommitted(_)));
    let reveals = txs(|e| matches!(e, BrokerEvents::Answered(_)));
    println!("5 requests committed in {commits} transactions, revealed in {reveals}");
    assert!(
        commits < 5 && reveals < 5,
        "{commits} commit and {reveals} reveal transactions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_terms_differ_is_refused_before_anything_is_sent() {
    let net = TestNet::start(100).await;
    let requester = net.client("requester").await;
    let before = requester.chain().block_number().await.unwrap();
    let batch = vec![
        request("fibonacci", "10", ETHER / 100, 3),
        request("fibonacci", "11", ETHER / 50, 3),
    ];
    let refused = requester.request_batch(batch).await.unwrap_err();
    assert!(
        matches!(refused, Error::MixedBatch("the payment")),
        "{refused}"
    );
    assert_eq!(requester.chain().block_number().await.unwrap(), before);
}

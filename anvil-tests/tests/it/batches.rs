//! Requests in a batch: one transaction, one request per input, each answered, settled and
//! paid on its own by the real host, which commits to and reveals the answers together too.

use alloy::primitives::U256;
use ecm_agent::Roles;
use ecm_anvil_tests::{AgentHandle, ETHER, TestNet, eventually, finalized, request};
use ecm_bindings::Broker::BrokerEvents;
use ecm_chain::BrokerLog;
use ecm_client::{Client, Error, NewRequest, RequestStatus, Status};
use std::time::Duration;

const PAYMENT: u128 = ETHER / 100;

/// Fibonacci of 10 to 14, each paid `PAYMENT`, with a 3-block window: the terms a batch shares.
fn fibonacci_batch() -> Vec<NewRequest> {
    (10..15)
        .map(|n| request("fibonacci", &n.to_string(), PAYMENT, 3))
        .collect()
}

/// Waits for each of `fibonacci_batch`'s requests `ids` to be paid out to the host, checks it
/// was answered for its own input (fibonacci(n) takes n + 1 steps) and replays it.
async fn each_paid_to_the_host(net: &TestNet, requester: &Client, ids: &[u64]) {
    for (k, id) in ids.iter().enumerate() {
        let s: RequestStatus = eventually("the payout", Duration::from_secs(60), || async {
            net.mine(1).await;
            let s = requester.status(*id).await.unwrap();
            (s.status == Status::Finalized).then_some(s)
        })
        .await;
        assert_eq!(s.host, Some(net.address("host")));
        assert_eq!(s.payment, U256::from(PAYMENT));
        assert_eq!(s.steps, 10 + k as u64 + 1);
        assert!(requester.replay(*id).await.unwrap().matches);
    }
}

/// How many transactions emitted a log that `pick` takes.
fn transactions_emitting(logs: &[BrokerLog], pick: fn(&BrokerEvents) -> bool) -> usize {
    logs.iter()
        .filter(|log| pick(&log.event))
        .map(|log| log.tx)
        .collect::<std::collections::HashSet<_>>()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_one_transaction_and_each_request_is_paid_on_its_own() {
    let net = TestNet::start(100).await;
    let requester = net.client("requester").await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let before = requester.chain().block_number().await.unwrap();
    let ids = requester.request_batch(fibonacci_batch()).await.unwrap();
    assert_eq!(ids.len(), 5);
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    // One transaction: Anvil mined it in one block.
    assert_eq!(requester.chain().block_number().await.unwrap(), before + 1);

    each_paid_to_the_host(&net, &requester, &ids).await;
    host.stop().await.unwrap();
    // The host committed and revealed them together too (`commitAnswers`, `revealAnswers`).
    let logs = requester
        .chain()
        .broker_logs(before, requester.chain().block_number().await.unwrap())
        .await
        .unwrap();
    let commits = transactions_emitting(&logs, |e| matches!(e, BrokerEvents::AnswerCommitted(_)));
    let reveals = transactions_emitting(&logs, |e| matches!(e, BrokerEvents::Answered(_)));
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

/// A compact batch (`requestCompactBatch`): each job held as one hash of its fields. The real
/// host serves the jobs as it serves requests, committing, revealing and settling them in
/// batches (`commitJobs`, `revealJobs`, `settleJobs`); each is paid on its own, and its word is
/// cleared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compact_batch_is_served_by_the_host_through_the_job_calls() {
    let net = TestNet::start(100).await;
    let requester = net.client("requester").await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let before = requester.chain().block_number().await.unwrap();
    let ids = requester
        .request_compact_batch(fibonacci_batch())
        .await
        .unwrap();
    assert_eq!(ids.len(), 5);
    let chain = requester.chain();
    // Held as hashes: `getRequest` refuses them, and says why.
    let refused = chain.request(U256::from(ids[0])).await.unwrap_err();
    assert!(refused.to_string().contains("HeldAsJob"), "{refused}");
    // `status` shows a job from its logs all the same.
    let pending = requester.status(ids[0]).await.unwrap();
    assert_eq!(pending.payment, U256::from(PAYMENT));

    each_paid_to_the_host(&net, &requester, &ids).await;
    for id in &ids {
        let word = chain
            .call("jobHash", chain.broker().jobHash(U256::from(*id)))
            .await
            .unwrap();
        assert_eq!(word, alloy::primitives::B256::ZERO, "paid out as a job");
    }
    host.stop().await.unwrap();
    let logs = chain
        .broker_logs(before, chain.block_number().await.unwrap())
        .await
        .unwrap();
    let commits = transactions_emitting(&logs, |e| matches!(e, BrokerEvents::AnswerCommitted(_)));
    let reveals = transactions_emitting(&logs, |e| matches!(e, BrokerEvents::Answered(_)));
    let payouts = transactions_emitting(&logs, |e| matches!(e, BrokerEvents::Finalized(_)));
    println!(
        "5 jobs committed in {commits} transactions, revealed in {reveals}, paid in {payouts}"
    );
    assert!(
        commits < 5 && reveals < 5,
        "{commits} commit and {reveals} reveal transactions"
    );
    assert!(
        !logs
            .iter()
            .any(|log| matches!(log.event, BrokerEvents::Hydrated(_))),
        "the happy path stores no job"
    );
}

/// A cheating host on a compact batch's job is caught as on any request: the real challenger
/// stores the job as a request (`hydrate`), challenges, and wins; its answer is paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheating_host_on_a_compact_job_is_caught_after_the_challenger_hydrates_it() {
    let net = TestNet::start(100).await;
    let mut cheater = net.agent_config("cheater", Roles::HOST);
    cheater.cheat = Some(ecm_agent::Cheat::AtStep(3));
    let cheater = AgentHandle::spawn(cheater);
    let challenger = AgentHandle::spawn(net.agent_config("challenger", Roles::CHALLENGER));
    let requester = net.client("requester").await;
    let ids = requester
        .request_compact_batch(vec![request("keccak-chain", "20", ETHER / 10, 20)])
        .await
        .unwrap();
    let id = ids[0];
    let won = eventually("the challenger's win", Duration::from_secs(120), || async {
        net.mine(1).await;
        let s = requester.status(id).await.unwrap();
        (s.host == Some(net.address("challenger"))).then_some(s)
    })
    .await;
    assert_eq!(won.disputes, 1, "{won:?}");
    let logs = requester
        .chain()
        .broker_logs(0, requester.chain().block_number().await.unwrap())
        .await
        .unwrap();
    let hydrated_by = logs.iter().find_map(|log| match &log.event {
        BrokerEvents::Hydrated(e) if e.id == U256::from(id) => Some(e.by),
        _ => None,
    });
    assert_eq!(hydrated_by, Some(net.address("challenger")));
    net.mine(25).await; // past the fresh window
    let settled = finalized(&requester, id, "payout", Duration::from_secs(60)).await;
    assert_eq!(settled.host, Some(net.address("challenger")));
    cheater.stop().await.unwrap();
    challenger.stop().await.unwrap();
}

//! The request lifecycle with real agents on a real Anvil: honest job, cancel, soft resolution
//! by the requester and by timeout, with every party's balances.

use alloy::primitives::U256;
use ecm_agent::Roles;
use ecm_anvil_tests::*;
use ecm_client::Status;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_job_is_answered_accepted_and_paid() {
    let net = TestNet::start(100).await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let requester = net.client("requester").await;
    let payment = ETHER / 10;
    let host_before = net.balance(net.address("host")).await;

    let id = requester
        .request(request("fibonacci", "60", payment, 5))
        .await
        .unwrap();
    let answered = eventually("the answer", Duration::from_secs(60), || async {
        let s = requester.status(id).await.unwrap();
        (s.status == Status::WaitingForResolution).then_some(s)
    })
    .await;
    assert_eq!(answered.result_display.as_deref(), Some("2504730781961"));
    assert_eq!(answered.host, Some(net.address("host")));
    assert_eq!(answered.steps, 61);

    requester.accept(id).await.unwrap();
    let settled = finalized(&requester, id, "payout", Duration::from_secs(60)).await;
    assert_eq!(settled.host, Some(net.address("host")));
    // The host withdraws on its own: it ends up with the payment, less its gas.
    let host_after = eventually("the host's withdrawal", Duration::from_secs(60), || async {
        let credited = requester.credited(net.address("host")).await.unwrap();
        let balance = net.balance(net.address("host")).await;
        (credited.is_zero() && balance > host_before).then_some(balance)
    })
    .await;
    assert!(host_after - host_before < U256::from(payment));
    assert!(
        host_after - host_before > U256::from(payment * 9 / 10),
        "gas is small next to the payment"
    );
    host.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_request_is_refunded() {
    let net = TestNet::start(100).await;
    let requester = net.client("requester").await;
    let before = net.balance(net.address("requester")).await;
    let id = requester
        .request(request("fibonacci", "10", ETHER, 5))
        .await
        .unwrap();
    requester.cancel(id).await.unwrap();
    assert_eq!(
        requester.status(id).await.unwrap().status,
        Status::Cancelled
    );
    assert_eq!(
        requester.credited(net.address("requester")).await.unwrap(),
        U256::from(ETHER)
    );
    assert_eq!(requester.withdraw().await.unwrap(), U256::from(ETHER));
    let after = net.balance(net.address("requester")).await;
    assert!(
        before - after < U256::from(ETHER / 100),
        "only gas was spent"
    );
    // Cancelling again is a decoded revert, not a mystery.
    let err = requester.cancel(id).await.unwrap_err().to_string();
    assert!(err.contains("WrongStatus"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_resolves_itself_once_the_window_passes() {
    let net = TestNet::start(100).await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let requester = net.client("requester").await;
    let id = requester
        .request(request("build-byte-array", "40", ETHER / 10, 10))
        .await
        .unwrap();
    let answered = eventually("the answer", Duration::from_secs(60), || async {
        let s = requester.status(id).await.unwrap();
        (s.status == Status::WaitingForResolution).then_some(s)
    })
    .await;
    assert_eq!(
        answered.result.map(|r| r.to_vec()),
        Some((1..=40).collect::<Vec<u8>>())
    );
    net.mine(11).await;
    eventually(
        "the host's soft resolution and payout",
        Duration::from_secs(60),
        || async {
            (requester.status(id).await.unwrap().status == Status::Finalized).then_some(())
        },
    )
    .await;
    host.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_restart_in_the_middle_of_a_job_resumes_it() {
    let net = TestNet::start(100).await;
    let requester = net.client("requester").await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let id = requester
        .request(request("keccak-chain", "300", ETHER / 10, 10))
        .await
        .unwrap();
    eventually("the answer", Duration::from_secs(60), || async {
        (requester.status(id).await.unwrap().status == Status::WaitingForResolution).then_some(())
    })
    .await;
    host.kill(); // crash: no graceful shutdown
    net.mine(11).await;
    // Nothing happens while the host is down.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        requester.status(id).await.unwrap().status,
        Status::WaitingForResolution
    );
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    eventually(
        "the resumed job's payout",
        Duration::from_secs(60),
        || async {
            (requester.status(id).await.unwrap().status == Status::Finalized).then_some(())
        },
    )
    .await;
    // The resumed agent closes the job (its store is saved after every change).
    let job = eventually("the job to be closed", Duration::from_secs(30), || async {
        let store = ecm_agent::JobStore::open(&net.data_dir("host")).ok()?;
        store.job(id).ok()?.filter(|j| !j.is_open())
    })
    .await;
    host.stop().await.unwrap();
    // Exactly one answer was sent for the request. The kill may come between the answer landing
    // and the job store recording it; the restarted agent then finds its answer on-chain and
    // adopts it rather than answering again.
    let answers = net.answered_ids().await;
    assert_eq!(answers, vec![id], "{:?}", job.log);
    let recorded = answers_recorded(&job);
    let adopted = job
        .log
        .iter()
        .any(|l| l.starts_with("our answer or challenge is on-chain"));
    // An answer is two transactions (commit, reveal): the kill may also come between the reveal
    // landing and its record, the commitment recorded. The restarted agent then finds its
    // revealed answer standing and goes on with it (its stake is already in the store).
    let committed = job.log.iter().any(|l| l.starts_with("committed"));
    assert!(
        recorded + usize::from(adopted) == 1 || (recorded == 0 && !adopted && committed),
        "one answer, recorded, adopted, or its reveal's record lost with the kill: {:?}",
        job.log
    );
    assert_eq!(
        job.stance,
        ecm_agent::Stance::Done {
            outcome: ecm_agent::Outcome::Paid.into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_are_all_answered_once_and_settled() {
    let net = TestNet::start(200).await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let requester = std::sync::Arc::new(net.client("requester").await);
    let started = std::time::Instant::now();
    let mut ids = Vec::new();
    let mut requested_at = std::collections::HashMap::new();
    for k in 0..50u64 {
        let id = requester
            .request(request("fibonacci", &(20 + k).to_string(), ETHER / 100, 5))
            .await
            .unwrap();
        requested_at.insert(id, std::time::Instant::now());
        ids.push(id);
    }
    let mut latencies = Vec::new();
    let mut pending: std::collections::HashSet<u64> = ids.iter().copied().collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !pending.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} requests never answered",
            pending.len()
        );
        for id in pending.clone() {
            let s = requester.status(id).await.unwrap();
            // Revealed, not only committed: the challenge window runs from the reveal, so
            // mining past it below opens every request to settlement.
            if s.status.has_answer() {
                latencies.push(requested_at[&id].elapsed());
                pending.remove(&id);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    println!(
        "50 requests: request-to-answer median {:?}, max {:?}; all answered {:?} after the first request",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        started.elapsed()
    );
    net.mine(6).await;
    for id in &ids {
        eventually("settlement", Duration::from_secs(120), || async {
            let s = requester.status(*id).await.unwrap();
            (s.status == Status::Finalized).then_some(())
        })
        .await;
        let s = requester.status(*id).await.unwrap();
        assert_eq!(s.host, Some(net.address("host")));
        let n: u64 = 20 + (*id - ids[0]);
        assert_eq!(s.steps, n + 1);
    }
    host.stop().await.unwrap();
    // The host accepted and paid them out in batches (`settle`), not one transaction each.
    let chain = requester.chain();
    let head = chain.block_number().await.unwrap();
    let settlements: std::collections::HashSet<_> = chain
        .broker_logs(0, head)
        .await
        .unwrap()
        .into_iter()
        .filter(|log| matches!(log.event, ecm_bindings::Broker::BrokerEvents::Finalized(_)))
        .map(|log| log.tx)
        .collect();
    println!("50 requests settled in {} transactions", settlements.len());
    assert!(
        settlements.len() < 25,
        "{} settle transactions",
        settlements.len()
    );
    // One answer per request on-chain, and one in the host's own record.
    let answers = net.answered_ids().await;
    for id in &ids {
        assert_eq!(
            answers.iter().filter(|a| *a == id).count(),
            1,
            "request {id}"
        );
    }
    let store = ecm_agent::JobStore::open(&net.data_dir("host")).unwrap();
    for id in &ids {
        let job = store.job(*id).unwrap().unwrap();
        assert_eq!(answers_recorded(&job), 1, "request {id}: {:?}", job.log);
    }
}

/// A host whose balance pays only some of a burst's deposits commits to those it can pay and to
/// the others as its payouts bring deposits back, and never sends a batch it cannot pay. Before,
/// one batch carried every ready commitment: a host short of that batch's deposits failed it at
/// every tick and answered nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_short_of_funds_commits_what_it_can_pay_and_the_rest_as_deposits_come_back() {
    let net = TestNet::start(100).await;
    let _miner = net.miner(Duration::from_millis(100)).await;
    let requester = net.client("requester").await;
    let mut ids = Vec::new();
    for k in 0..6u64 {
        // One price bound, so that every deposit is the same, and a payment small next to it,
        // so that payouts give back about what was staked.
        let mut new = request("fibonacci", &(20 + k).to_string(), ETHER / 1_000_000, 2);
        new.max_gas_price = Some(2_000_000_000);
        ids.push(requester.request(new).await.unwrap());
    }
    // Two deposits and a half: two commitments and their gas, never three.
    let deposit = requester.status(ids[0]).await.unwrap().deposit;
    assert_eq!(requester.status(ids[5]).await.unwrap().deposit, deposit);
    let host = net.address("host");
    let provider = requester.chain().provider().clone();
    alloy::providers::ext::AnvilApi::anvil_set_balance(
        &provider,
        host,
        deposit * U256::from(5) / U256::from(2),
    )
    .await
    .unwrap();
    let metrics_port = ecm_devnet::free_port().unwrap();
    let mut config = net.agent_config("host", Roles::HOST);
    config.metrics = Some(([127, 0, 0, 1], metrics_port).into());
    let agent = AgentHandle::spawn(config);
    for id in &ids {
        let s = eventually("every payout", Duration::from_secs(120), || async {
            let s = requester.status(*id).await.unwrap();
            (s.status == Status::Finalized).then_some(s)
        })
        .await;
        assert_eq!(s.host, Some(host), "request {id}");
    }
    assert_eq!(
        metric(metrics_port, "ecm_actions_failed_total"),
        0.0,
        "a batch or an answer was sent that the host could not pay"
    );
    agent.stop().await.unwrap();
    let store = ecm_agent::JobStore::open(&net.data_dir("host")).unwrap();
    for id in &ids {
        let job = store.job(*id).unwrap().unwrap();
        let committed = job
            .log
            .iter()
            .find(|line| line.starts_with("committed"))
            .unwrap_or_else(|| panic!("request {id} never committed: {:?}", job.log));
        assert!(
            committed.contains("(a batch of 1)") || committed.contains("(a batch of 2)"),
            "request {id}: {committed}"
        );
    }
}

/// Issue 16: a devnet restarted from block 0 keeps its chain id and contract addresses, so a
/// host keeping its old data directory took the new request 1 for its old job 1 and answered it
/// with the old job's result (a wrong answer, its deposit at stake). The store is bound to the
/// deployment's block: the old one is set aside whole, and the new request is computed afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_keeping_its_store_across_a_devnet_restart_computes_new_requests_afresh() {
    let first = TestNet::start(100).await;
    let requester = first.client("requester").await;
    let host = AgentHandle::spawn(first.agent_config("host", Roles::HOST));
    let old = requester
        .request(request("counter", "5", ETHER / 10, 10))
        .await
        .unwrap();
    eventually(
        "the first devnet's answer",
        Duration::from_secs(60),
        || async {
            (requester.status(old).await.unwrap().status == Status::WaitingForResolution)
                .then_some(())
        },
    )
    .await;
    first.mine(50).await; // the old cursor is now past anything the new devnet has
    host.stop().await.unwrap();
    let data_dir = first.data_dir("host");

    // Anvil's genesis takes the wall-clock second: two devnets started within one second and
    // sent the same deployment are identical block for block, so nothing on chain tells them
    // apart (a person restarting a devnet cannot be that quick; this test, sharing its binary
    // with faster tests, once was).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = TestNet::start(100).await;
    assert_eq!(
        second.deployment().broker,
        first.deployment().broker,
        "same addresses"
    );
    let mut config = second.agent_config("host", Roles::HOST);
    config.data_dir = data_dir.clone();
    let host = AgentHandle::spawn(config);
    let requester = second.client("requester").await;
    let id = requester
        .request(request("counter", "7", ETHER / 10, 10))
        .await
        .unwrap();
    assert_eq!(id, old, "the new devnet reuses the request id");
    let answered = eventually(
        "the new devnet's answer",
        Duration::from_secs(60),
        || async {
            let s = requester.status(id).await.unwrap();
            (s.status == Status::WaitingForResolution).then_some(s)
        },
    )
    .await;
    // Computed for this request, not the old job's claim for the old request 1 (input 5).
    assert_eq!(answered.result_display.as_deref(), Some("counted 7 of 7"));
    host.stop().await.unwrap();
    let kept = ecm_agent::JobStore::open(&data_dir.join("previous-1")).unwrap();
    assert!(
        kept.job(old).unwrap().is_some(),
        "the old store is kept aside, whole"
    );
}

/// The answers a job's log records: revealed after a commitment, or sent in one transaction.
fn answers_recorded(job: &ecm_agent::Job) -> usize {
    job.log
        .iter()
        .filter(|l| l.starts_with("revealed") || l.starts_with("answered"))
        .count()
}

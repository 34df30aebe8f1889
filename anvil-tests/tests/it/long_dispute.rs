//! A dispute over more than 2^30 steps of the Counter, played end to end on Anvil by the real
//! agents: a cheating host that lies at the last step against an honest challenger. Checks the
//! figures of ARCHITECTURE.md section 4: rounds, total gas over both parties, the honest party's
//! off-chain work and memory.

use alloy::{primitives::B256, providers::Provider};
use ecm_agent::{Cheat, JobStore, Roles};
use ecm_anvil_tests::*;
use ecm_client::Status;
use ecm_primitives::game;
use std::time::{Duration, Instant};

const N: u64 = (1 << 30) + 3;
const BUDGET: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheating_host_caught_over_2_to_30_steps() {
    let net = TestNet::start(10_000).await;
    let mut cheater = net.agent_config("cheater", Roles::HOST);
    cheater.cheat = Some(Cheat::LastStep);
    let cheater = AgentHandle::spawn(cheater);
    let mut challenger = net.agent_config("challenger", Roles::CHALLENGER);
    challenger.checkpoint_budget = BUDGET;
    let challenger = AgentHandle::spawn(challenger);
    let requester = net.client("requester").await;

    let started = Instant::now();
    let id = requester
        .request(request("counter", &N.to_string(), ETHER / 10, 50))
        .await
        .unwrap();
    let won = eventually("the challenger's win", Duration::from_secs(900), || async {
        let s = requester.status(id).await.unwrap();
        (s.host == Some(net.address("challenger")) && s.status == Status::WaitingForResolution)
            .then_some(s)
    })
    .await;
    let elapsed = started.elapsed();
    assert_eq!(won.steps, N);
    // The winner counts the caught host at once (`countDispute`); waited for, so that its
    // transaction is in the challenger's store before the agents stop.
    eventually(
        "the cheater's lost defence counted",
        Duration::from_secs(30),
        || async {
            let r = requester.record(net.address("cheater")).await.unwrap();
            (r.defences_lost == 1).then_some(())
        },
    )
    .await;

    // Stopped first, so that every transaction they sent is in their stores.
    cheater.stop().await.unwrap();
    challenger.stop().await.unwrap();
    // Gas of the dispute: every transaction of both parties on this request but the answer
    // (and the winner's `countDispute`, counted apart: a record's update, not the game).
    let provider = requester.chain().provider();
    let mut total = 0u64;
    let mut moves = Vec::new();
    let (mut rounds, mut one_step, mut counted) = (0, 0, 0);
    let mut challenger_job = None;
    for role in ["cheater", "challenger"] {
        let store = JobStore::open(&net.data_dir(role)).unwrap();
        let job = store.job(id).unwrap().unwrap();
        for entry in &job.log {
            let hash: B256 = entry.rsplit("tx=").next().unwrap().parse().unwrap();
            let gas = provider
                .get_transaction_receipt(hash)
                .await
                .unwrap()
                .unwrap()
                .gas_used;
            // The answer, plain or committed and revealed, is not the dispute's.
            if ["answered", "committed", "revealed"]
                .iter()
                .any(|answer| entry.starts_with(answer))
            {
                continue;
            }
            if entry.starts_with("counted") {
                counted = gas;
                continue;
            }
            total += gas;
            if entry.starts_with("bisected") || entry.starts_with("selected") {
                moves.push(gas);
            }
            if entry.starts_with("selected") {
                rounds += 1;
            }
            if entry.starts_with("proved") {
                one_step = gas;
            }
        }
        if role == "challenger" {
            challenger_job = Some(job);
        }
    }
    let stats = challenger_job
        .unwrap()
        .trace
        .expect("the challenger's trace stats");
    println!(
        "2^30 + 3 steps: {rounds} rounds, dispute gas {total} (both parties), max move {}, one step {one_step}, countDispute {counted}; \
         honest work {} steps = {:.4} x N, checkpoints {} bytes (budget {BUDGET}), interval {}; {:.1} s end to end",
        moves.iter().max().unwrap(),
        stats.work,
        stats.work as f64 / N as f64,
        stats.checkpoint_bytes,
        stats.checkpoint_interval,
        elapsed.as_secs_f64()
    );
    assert!(rounds <= game::rounds(N, 16), "rounds {rounds}");
    assert!(moves.iter().all(|g| *g <= 90_000), "{moves:?}");
    assert!(total <= 1_500_000, "dispute gas {total}");
    assert!(stats.work <= 2 * N, "honest work {} > 2N", stats.work);
    assert!(stats.checkpoint_bytes <= BUDGET as u64);
    assert!(
        one_step > 0,
        "the one-step proof is in the challenger's record"
    );
}

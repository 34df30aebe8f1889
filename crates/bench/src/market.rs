//! How many jobs one host handles, and how fast it answers: M requests of one program against
//! one host agent on a devnet.

use crate::{Error, Result};
use alloy::{primitives::U256, providers::Provider};
use ecm_agent::{AgentConfig, Roles};
use ecm_bindings::{Broker, protocol::Status};
use ecm_client::{Client, NewRequest};
use ecm_devnet::{AnvilConfig, DeployConfig};
use serde::Serialize;
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

/// How the requester sends its requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Batching {
    /// One transaction per request.
    #[default]
    None,
    /// `requestExecutionBatch`es of this many requests.
    Stored(usize),
    /// `requestCompactBatch`es of this many jobs, each held as one hash.
    Compact(usize),
}

/// One market run.
#[derive(Clone, Debug, Serialize)]
pub struct MarketRow {
    /// The program requested.
    pub program: String,
    /// How the requests were sent.
    pub batching: Batching,
    /// Seconds between blocks (0: a block per transaction).
    pub block_time: u64,
    /// Requests made.
    pub requests: usize,
    /// Requests answered per second, from the first request to the last answer.
    pub answered_per_second: f64,
    /// Median time from a request's receipt to its answer being seen, in milliseconds.
    pub latency_median_ms: u64,
    /// 99th percentile of the same.
    pub latency_p99_ms: u64,
    /// The slowest of the same.
    pub latency_max_ms: u64,
    /// Gas of everything a settled job took (request, answer, resolution, payout, the host's
    /// withdrawals), per job.
    pub gas_per_job: u64,
}

/// Runs `requests` requests of `program` against one host on a fresh devnet mining a block
/// every `block_time` seconds, as a chain does (with a block per transaction, Anvil itself
/// would be the limit past a hundred requests; 0 asks for that, to time the host alone).
/// Inputs differ per request: Fibonacci of 10 to 209, or for a machine program (the devnet's
/// `sha256sum`, `wordfreq`, ...) 1 to 4 KiB of text as its stdin.
pub async fn run(
    program: &str,
    requests: usize,
    block_time: u64,
    batching: Batching,
) -> Result<MarketRow> {
    let anvil = AnvilConfig {
        block_time: (block_time > 0).then_some(block_time),
        ..AnvilConfig::default()
    };
    let devnet = ecm_devnet::start(anvil, DeployConfig::default()).await?;
    let d = devnet.deployment.clone();
    let dir = tempfile::tempdir().map_err(|e| Error::Other(e.to_string()))?;
    let key = |role: &str| d.account(role).expect("dev account").private_key.clone();
    let mut config = AgentConfig::new(d.clone(), key("host"), dir.path().join("host"), Roles::HOST);
    config.poll_interval = Duration::from_millis(50);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let host = tokio::spawn(ecm_agent::run(config, async move {
        let _ = stopped.await;
    }));
    let requester = Client::connect(d.clone(), None, Some(key("requester"))).await?;
    let first_block = requester.chain().block_number().await?;

    // Requests and answers are both timed when the chain shows them: a watcher polls the logs.
    let watcher_client = Client::connect(d.clone(), None, None).await?;
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel::<(bool, u64, Instant)>();
    let watcher = tokio::spawn(async move {
        let mut from = first_block + 1;
        loop {
            if let Ok(to) = watcher_client.chain().block_number().await
                && let Ok(logs) = watcher_client.chain().broker_logs(from, to).await
            {
                let now = Instant::now();
                for log in logs {
                    match log.event {
                        Broker::BrokerEvents::Created(e) => {
                            let _ =
                                seen_tx.send((false, u64::try_from(e.id).unwrap_or_default(), now));
                        }
                        Broker::BrokerEvents::Answered(e) => {
                            let _ =
                                seen_tx.send((true, u64::try_from(e.id).unwrap_or_default(), now));
                        }
                        _ => {}
                    }
                }
                from = to + 1;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });

    // Submit everything at once (256 in flight): the host, not the requester, is measured.
    let input = |k: usize| -> Result<Vec<u8>> {
        let entry = d
            .programs
            .get(program)
            .ok_or_else(|| Error::Other(format!("the devnet has no program {program:?}")))?;
        if entry.is_machine() {
            let line = format!("request {k}: the host answers at native speed\n");
            return Ok(line.repeat((1024 + k % 4 * 1024) / line.len()).into_bytes());
        }
        let spec = ecm_programs::by_name(program).map_err(|e| Error::Other(e.to_string()))?;
        spec.parse_input(&(10 + k % 200).to_string())
            .map_err(|e| Error::Other(e.to_string()))
    };
    let requester = std::sync::Arc::new(requester);
    let started = Instant::now();
    let mut submissions = tokio::task::JoinSet::new();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(256));
    let size = match batching {
        Batching::None => 1,
        Batching::Stored(n) | Batching::Compact(n) => n.max(1),
    };
    for first in (0..requests).step_by(size) {
        let mut batch = Vec::new();
        for k in first..(first + size).min(requests) {
            batch.push(NewRequest {
                program: program.into(),
                input: input(k)?,
                payment: U256::from(1_000_000_000_000_000u64),
                window: 1,
                max_steps: None,
                max_gas_price: None,
                mode: ecm_client::DisputeMode::Bisection,
                min_host_jobs: 0,
            });
        }
        let (requester, permits) = (requester.clone(), permits.clone());
        submissions.spawn(async move {
            let _permit = permits.acquire_owned().await;
            match batching {
                Batching::None => requester.request(batch.remove(0)).await.map(|id| vec![id]),
                Batching::Stored(_) => requester.request_batch(batch).await,
                Batching::Compact(_) => requester.request_compact_batch(batch).await,
            }
        });
    }
    let mut ids = Vec::new();
    while let Some(joined) = submissions.join_next().await {
        ids.extend(joined.map_err(|e| Error::Other(e.to_string()))??);
    }
    let mut requested_at = HashMap::new();
    let mut answered_at = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while answered_at.len() < requests || requested_at.len() < requests {
        if Instant::now() > deadline {
            return Err(Error::Other(format!(
                "only {} of {requests} requests answered in time",
                answered_at.len()
            )));
        }
        if let Ok(Some((answer, id, at))) =
            tokio::time::timeout(Duration::from_millis(100), seen_rx.recv()).await
        {
            if answer {
                answered_at.entry(id).or_insert(at)
            } else {
                requested_at.entry(id).or_insert(at)
            };
        }
    }
    watcher.abort();
    let last_answer = answered_at.values().max().copied().unwrap_or(started);
    let answered_per_second = requests as f64 / (last_answer - started).as_secs_f64();
    let mut latencies: Vec<u64> = answered_at
        .iter()
        .map(|(id, at)| at.saturating_duration_since(requested_at[id]).as_millis() as u64)
        .collect();
    latencies.sort_unstable();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];

    // The windows pass as blocks come; the host resolves, finalizes and withdraws on its own.
    // With a block per transaction, blocks come only with transactions, and a burst answered
    // in two (its commitments, its reveals) leaves none to pass the last windows: a block is
    // mined here at each look, as a chain would make one anyway.
    let settle_deadline = Instant::now() + Duration::from_secs(600);
    let mut open = ids.clone();
    while !open.is_empty() {
        if Instant::now() > settle_deadline {
            return Err(Error::Other(format!(
                "{} jobs not settled in time",
                open.len()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        if block_time == 0 {
            requester.chain().anvil_mine(1).await?;
        }
        let mut still = Vec::new();
        let chain = requester.chain();
        for id in open {
            // A plain read: the full status also searches the logs. A compact job paid out as
            // one is no longer held (the host never hydrates on the happy path).
            let paid = if matches!(batching, Batching::Compact(_)) {
                chain
                    .call("jobHash", chain.broker().jobHash(U256::from(id)))
                    .await?
                    == alloy::primitives::B256::ZERO
            } else {
                chain.request(U256::from(id)).await?.status == u8::from(Status::Finalized)
            };
            if !paid {
                still.push(id);
            }
        }
        open = still;
    }
    while !requester
        .credited(d.account("host").unwrap().address)
        .await?
        .is_zero()
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    let _ = host.await;
    let last_block = requester.chain().block_number().await?;
    let mut gas = 0u64;
    let provider = requester.chain().provider();
    for number in first_block + 1..=last_block {
        if let Some(block) = provider
            .get_block_by_number(number.into())
            .await
            .map_err(|e| Error::Other(e.to_string()))?
        {
            gas += block.header.gas_used;
        }
    }
    Ok(MarketRow {
        program: program.into(),
        batching,
        block_time,
        requests,
        answered_per_second,
        latency_median_ms: percentile(50),
        latency_p99_ms: percentile(99),
        latency_max_ms: latencies.last().copied().unwrap_or_default(),
        gas_per_job: gas / requests as u64,
    })
}

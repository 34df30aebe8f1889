//! `--metrics ADDR`: the agent's figures in Prometheus' text format, at `GET /metrics`.
//!
//! The engine updates a [`Metrics`] as it works (jobs by stance each tick, actions as they
//! land, outcomes as jobs end, the account's balance every ten ticks); a small server renders
//! it on request, with the chain layer's read statistics. Only `GET /metrics` is served; any
//! other request gets a 404.

use crate::{Error, Result, decide::Outcome};
use ecm_chain::Chain;
use std::{
    collections::BTreeMap,
    fmt::Write as _,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tracing::{info, warn};

/// What the agent has done, for scraping.
#[derive(Debug, Default)]
pub struct Metrics {
    /// The last block the agent looked at.
    pub(crate) block: AtomicU64,
    /// Open jobs not yet engaged (computing, or deciding whether to answer or challenge).
    pub(crate) jobs_open: AtomicU64,
    /// Jobs with our answer or challenge on-chain, not yet over.
    pub(crate) jobs_engaged: AtomicU64,
    /// Transactions that landed.
    pub(crate) actions_sent: AtomicU64,
    /// Of those, answers and challenges (each puts a deposit on a request).
    pub(crate) engagements: AtomicU64,
    /// Actions that failed (decided again on the next tick).
    pub(crate) actions_failed: AtomicU64,
    /// Jobs that ended, by outcome.
    pub(crate) outcomes: Mutex<BTreeMap<Outcome, u64>>,
    /// The account's balance, in wei (read every ten ticks).
    pub(crate) balance_wei: Mutex<u128>,
    /// Deposits our standing answers and open challenges hold in the Broker, in wei.
    pub(crate) deposits_locked_wei: Mutex<u128>,
    /// Ticks (looks at the chain) since the start, and the time they took in all, in
    /// microseconds: what a tick costs should follow open work, not history.
    pub(crate) ticks: AtomicU64,
    pub(crate) tick_micros: AtomicU64,
}

impl Metrics {
    /// Counts a job that ended with `outcome`.
    pub(crate) fn ended(&self, outcome: Outcome) {
        *self
            .outcomes
            .lock()
            .expect("metrics lock")
            .entry(outcome)
            .or_default() += 1;
    }

    /// Counts a tick that took `took`.
    pub(crate) fn ticked(&self, took: Duration) {
        self.ticks.fetch_add(1, Relaxed);
        self.tick_micros
            .fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// The figures in Prometheus' text exposition format.
    pub fn render(&self, chain: &Chain) -> String {
        let mut text = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(text, "{name}{labels} {value}");
            }
        };
        metric(
            "ecm_block",
            "gauge",
            "The last block the agent looked at.",
            &[(String::new(), self.block.load(Relaxed).to_string())],
        );
        metric(
            "ecm_jobs",
            "gauge",
            "Jobs not over, by stance: open (not yet answered or challenged by us) or engaged.",
            &[
                (
                    "{stance=\"open\"}".into(),
                    self.jobs_open.load(Relaxed).to_string(),
                ),
                (
                    "{stance=\"engaged\"}".into(),
                    self.jobs_engaged.load(Relaxed).to_string(),
                ),
            ],
        );
        let outcomes = self.outcomes.lock().expect("metrics lock").clone();
        let ended = Outcome::ALL.map(|outcome| {
            (
                format!("{{outcome=\"{outcome}\"}}"),
                outcomes.get(&outcome).copied().unwrap_or(0).to_string(),
            )
        });
        metric(
            "ecm_jobs_ended_total",
            "counter",
            "Jobs over since the agent started, by outcome.",
            &ended,
        );
        metric(
            "ecm_actions_total",
            "counter",
            "Transactions that landed since the agent started.",
            &[(String::new(), self.actions_sent.load(Relaxed).to_string())],
        );
        metric(
            "ecm_engagements_total",
            "counter",
            "Answers and challenges sent (each with a deposit) since the agent started.",
            &[(String::new(), self.engagements.load(Relaxed).to_string())],
        );
        metric(
            "ecm_actions_failed_total",
            "counter",
            "Actions that failed and were decided again since the agent started.",
            &[(String::new(), self.actions_failed.load(Relaxed).to_string())],
        );
        metric(
            "ecm_balance_wei",
            "gauge",
            "The agent's account balance (read every ten ticks).",
            &[(
                String::new(),
                self.balance_wei.lock().expect("metrics lock").to_string(),
            )],
        );
        metric(
            "ecm_deposits_locked_wei",
            "gauge",
            "Deposits the agent's standing answers and open challenges hold in the Broker.",
            &[(
                String::new(),
                self.deposits_locked_wei
                    .lock()
                    .expect("metrics lock")
                    .to_string(),
            )],
        );
        metric(
            "ecm_ticks_total",
            "counter",
            "Looks at the chain since the agent started.",
            &[(String::new(), self.ticks.load(Relaxed).to_string())],
        );
        metric(
            "ecm_tick_seconds_total",
            "counter",
            "Time those looks took (reading logs, counting jobs, starting decisions).",
            &[(
                String::new(),
                format!("{:.6}", self.tick_micros.load(Relaxed) as f64 / 1e6),
            )],
        );
        if let Some(bytes) = resident_memory_bytes() {
            metric(
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory of the agent's process.",
                &[(String::new(), bytes.to_string())],
            );
        }
        let rpc = chain.rpc_stats();
        metric(
            "ecm_rpc_reads_total",
            "counter",
            "Reads sent to the node (with their retries).",
            &[(String::new(), rpc.reads().to_string())],
        );
        metric(
            "ecm_rpc_read_failures_total",
            "counter",
            "Reads that failed after their retries.",
            &[(String::new(), rpc.failures().to_string())],
        );
        metric(
            "ecm_rpc_read_seconds_total",
            "counter",
            "Time spent in reads, retries included.",
            &[(String::new(), format!("{:.6}", rpc.time().as_secs_f64()))],
        );
        text
    }
}

/// The process's resident memory (Linux: `VmRSS` in `/proc/self/status`); None elsewhere.
pub fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Serves `metrics` at `http://ADDR/metrics` until the returned task is aborted.
pub(crate) async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    chain: Arc<Chain>,
) -> Result<JoinHandle<()>> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        Error::Config(format!(
            "cannot listen on {addr} for --metrics: {e} (choose another address)"
        ))
    })?;
    info!(target: "agent", address = %listener.local_addr().map_err(|e| Error::Config(e.to_string()))?, "metrics at /metrics");
    Ok(tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (metrics, chain) = (metrics.clone(), chain.clone());
            tokio::spawn(async move {
                let Ok(Some(request)) =
                    tokio::time::timeout(Duration::from_secs(5), read_head(&mut stream)).await
                else {
                    return;
                };
                let line = String::from_utf8_lossy(&request);
                let (status, content_type, body) = if line.starts_with("GET /metrics ") {
                    (
                        "200 OK",
                        "text/plain; version=0.0.4",
                        metrics.render(&chain),
                    )
                } else {
                    ("404 Not Found", "text/plain", "only GET /metrics\n".into())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                if let Err(e) = stream.write_all(response.as_bytes()).await {
                    warn!(target: "agent", error = %e, "metrics response not sent");
                }
            });
        }
    }))
}

/// Reads a request's head, up to the blank line that ends it (or 1 KiB, all a scrape needs):
/// a client may send it in pieces, and closing the socket with part of it unread would reset
/// the connection before the client reads the response. None if the client goes away first.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while head.len() < 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    Some(head)
}

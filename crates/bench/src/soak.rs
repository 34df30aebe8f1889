//! Whether a host's cost follows its open work and not its history: requests through one host
//! (the `ecm` binary itself, as an operator runs it, with `--metrics`), in rounds; after each
//! round, every job paid, its resident memory and its mean tick over the round are read from
//! its metrics.

use crate::{Error, Result};
use alloy::primitives::U256;
use ecm_client::{Client, NewRequest};
use ecm_devnet::{AnvilConfig, DeployConfig};
use serde::Serialize;
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

/// The host after one round.
#[derive(Clone, Debug, Serialize)]
pub struct SoakRow {
    /// Jobs paid so far.
    pub paid: u64,
    /// The host process's resident memory, in bytes.
    pub rss_bytes: u64,
    /// Its mean tick during the round, in milliseconds.
    pub mean_tick_ms: f64,
    /// Ticks during the round.
    pub ticks: u64,
    /// Seconds the round took, requests to the last payment.
    pub round_seconds: f64,
}

/// Runs `rounds` rounds of `per_round` Fibonacci requests through one host process started
/// from `ecm` (the path of the `ecm` binary) on a fresh devnet.
pub async fn run(ecm: &Path, per_round: usize, rounds: usize) -> Result<Vec<SoakRow>> {
    let other = |e: &dyn std::fmt::Display| Error::Other(e.to_string());
    let devnet = ecm_devnet::start(AnvilConfig::default(), DeployConfig::default()).await?;
    let d = devnet.deployment.clone();
    let dir = tempfile::tempdir().map_err(|e| other(&e))?;
    let deployment = dir.path().join("deployment.json");
    d.save(&deployment).map_err(|e| other(&e))?;
    let port = ecm_devnet::free_port().map_err(|e| Error::Other(format!("no free port: {e}")))?;
    let host = HostProcess(
        Command::new(ecm)
            .args(["host", "run", "--dev-account", "host", "--poll-ms", "100"])
            .args(["--program", "fibonacci", "--metrics"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--deployment")
            .arg(&deployment)
            .arg("--data-dir")
            .arg(dir.path().join("host"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::Other(format!("starting {}: {e}", ecm.display())))?,
    );
    let requester = Arc::new(
        Client::connect(
            d.clone(),
            None,
            Some(
                d.account("requester")
                    .expect("dev account")
                    .private_key
                    .clone(),
            ),
        )
        .await?,
    );
    // Windows end as blocks come: a block every 200 ms besides the transactions' own.
    let miner = {
        let requester = requester.clone();
        tokio::spawn(async move {
            loop {
                let _ = requester.chain().anvil_mine(1).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let mut before = scrape_until(port, |_| true).await?;
    let mut rows = Vec::new();
    for round in 0..rounds {
        let started = Instant::now();
        let mut sent = tokio::task::JoinSet::new();
        let permits = Arc::new(tokio::sync::Semaphore::new(128));
        for k in 0..per_round {
            let (requester, permits) = (requester.clone(), permits.clone());
            let input = ecm_programs::by_name("fibonacci")
                .map_err(|e| other(&e))?
                .parse_input(&(10 + (round * per_round + k) % 200).to_string())
                .map_err(|e| other(&e))?;
            sent.spawn(async move {
                let _permit = permits.acquire_owned().await;
                requester
                    .request(NewRequest {
                        program: "fibonacci".into(),
                        input,
                        payment: U256::from(1_000_000_000_000_000u64),
                        window: 2,
                        max_steps: None,
                        max_gas_price: None,
                        mode: ecm_client::DisputeMode::Bisection,
                        min_host_jobs: 0,
                    })
                    .await
            });
        }
        while let Some(joined) = sent.join_next().await {
            joined.map_err(|e| other(&e))??;
        }
        let target = ((round + 1) * per_round) as f64;
        let after = scrape_until(port, |m| {
            sample(m, "ecm_jobs_ended_total{outcome=\"paid\"}") >= Some(target)
        })
        .await?;
        let ticks = sample(&after, "ecm_ticks_total").unwrap_or(0.0)
            - sample(&before, "ecm_ticks_total").unwrap_or(0.0);
        let seconds = sample(&after, "ecm_tick_seconds_total").unwrap_or(0.0)
            - sample(&before, "ecm_tick_seconds_total").unwrap_or(0.0);
        rows.push(SoakRow {
            paid: target as u64,
            rss_bytes: sample(&after, "process_resident_memory_bytes").unwrap_or(0.0) as u64,
            mean_tick_ms: if ticks > 0.0 {
                seconds / ticks * 1e3
            } else {
                0.0
            },
            ticks: ticks as u64,
            round_seconds: started.elapsed().as_secs_f64(),
        });
        before = after;
    }
    miner.abort();
    drop(host);
    Ok(rows)
}

/// Kills the host when dropped, whatever happens to the run.
struct HostProcess(Child);

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Scrapes the host's metrics until `done` holds (every 200 ms, for at most ten minutes).
async fn scrape_until(port: u16, done: impl Fn(&str) -> bool) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(body) = scrape(port).await
            && done(&body)
        {
            return Ok(body);
        }
        if Instant::now() > deadline {
            return Err(Error::Other(
                "the host's metrics never showed the round paid".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn scrape(port: u16) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    Some(response.split_once("\r\n\r\n")?.1.to_string())
}

/// The value of the sample named `name` (with its labels) in Prometheus' text format.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

//! `ecm demo`: the whole story on an embedded devnet, in one command.
//!
//! Three agents run in-process (an honest host serving Fibonacci and `sha256sum`, a cheating
//! host serving the keccak chain and `wordfreq`, a challenger checking everything) while a
//! requester makes five requests: two answered honestly and accepted (a step program, and a
//! stock wasm32-wasip1 program), two answered wrong (the cheater lies
//! from a step drawn at random) and overturned by bisection disputes (the machine program's
//! ending in one step of the on-chain WASM prover), one cancelled. Blocks come from a ticker (a block every 250 ms) so windows pass quickly.

use crate::{output, units};
use alloy::primitives::{Address, U256};
use clap::Args;
use ecm_agent::{AgentConfig, Cheat, Roles};
use ecm_client::{Client, NewRequest, Status};
use ecm_devnet::{AnvilConfig, DeployConfig};
use eyre::{Result, WrapErr, bail};
use std::{collections::HashMap, time::Duration};
use tokio::sync::watch;

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Serve the explorer on this port of 127.0.0.1 while the story runs, and keep the devnet
    /// and the explorer up afterwards, until Ctrl-C.
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "8080")]
    explorer: Option<u16>,
}

const ROLES: [&str; 4] = ["requester", "host", "cheater", "challenger"];

/// The challenge window, in blocks of 250 ms: long enough for a challenger that is already
/// sending the moves of one dispute (one transaction at a time, each waiting for its block) to
/// challenge a second wrong answer.
const DEMO_WINDOW: u64 = 16;

/// What the demo asks of its two stock wasm32-wasip1 programs.
const SHA256_INPUT: &str = "hello, ecm\n";
const WORDFREQ_INPUT: &str = "the market pays the host and the prover catches the cheater \
     so the host computes and the market settles and the cheater pays\n";

impl DemoArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let started = std::time::Instant::now();
        println!("starting an Anvil devnet and deploying ecm...");
        let devnet = ecm_devnet::start(
            AnvilConfig::default(),
            DeployConfig {
                clock_blocks: 100,
                ..DeployConfig::default()
            },
        )
        .await
        .wrap_err("starting the embedded devnet")?;
        let deployment = devnet.deployment.clone();
        let key = |role: &str| {
            deployment
                .account(role)
                .expect("dev accounts")
                .private_key
                .clone()
        };
        let address = |role: &str| deployment.account(role).expect("dev accounts").address;
        let requester = Client::connect(deployment.clone(), None, Some(key("requester"))).await?;
        let explorer = match self.explorer {
            Some(port) => Some(crate::cmd::explorer::serve(deployment.clone(), None, port).await?),
            None => None,
        };
        let before = balances(&requester, &address).await?;

        let dirs = tempfile_dir()?;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut agents = Vec::new();
        let mut readiness = Vec::new();
        for (role, roles, programs, cheat) in [
            ("host", Roles::HOST, vec!["fibonacci", "sha256sum"], None),
            (
                "cheater",
                Roles::HOST,
                vec!["keccak-chain", "wordfreq"],
                Some(Cheat::RandomStep),
            ),
            ("challenger", Roles::CHALLENGER, vec![], None),
        ] {
            let mut config =
                AgentConfig::new(deployment.clone(), key(role), dirs.join(role), roles);
            config.programs = programs.into_iter().map(String::from).collect();
            config.cheat = cheat;
            config.poll_interval = Duration::from_millis(100);
            let mut stop = stop_rx.clone();
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            readiness.push(ready_rx);
            agents.push(tokio::spawn(ecm_agent::run_when_ready(
                config,
                move || {
                    let _ = ready_tx.send(());
                },
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                },
            )));
        }
        // The windows are a few blocks of 250 ms: a challenger still checking its programs when
        // the cheater answers would miss the window, so no request goes out before every agent
        // is ready. An agent that failed to start drops its sender; its error is reported below.
        for ready in readiness {
            let _ = ready.await;
        }
        let ticker = tokio::spawn(mine_every(
            deployment.clone(),
            Duration::from_millis(250),
            stop_rx.clone(),
        ));
        println!(
            "agents running: an honest host (fibonacci, sha256sum), a cheating host (keccak-chain, wordfreq), a challenger\n"
        );

        // A step program's input in its typed form; a machine program's stdin as text.
        let request = |program: &str, input: &str, payment: U256| NewRequest {
            program: program.into(),
            input: ecm_programs::by_name(program)
                .map(|spec| spec.parse_input(input).expect("valid input"))
                .unwrap_or_else(|_| input.as_bytes().to_vec()),
            payment,
            window: DEMO_WINDOW,
            max_steps: None,
            max_gas_price: None,
            mode: ecm_client::DisputeMode::Bisection,
            min_host_jobs: 0,
        };
        let tenth = U256::from(100_000_000_000_000_000u128);
        let honest = requester.request(request("fibonacci", "60", tenth)).await?;
        println!("request {honest}: fibonacci(60) for 0.1 ETH");
        let disputed = requester
            .request(request("keccak-chain", "1000", tenth))
            .await?;
        println!("request {disputed}: keccak-chain(1000) for 0.1 ETH");
        let honest_wasm = requester
            .request(request("sha256sum", SHA256_INPUT, tenth))
            .await?;
        println!(
            "request {honest_wasm}: sha256sum (a stock wasm32-wasip1 program) of {SHA256_INPUT:?} for 0.1 ETH"
        );
        let disputed_wasm = requester
            .request(request("wordfreq", WORDFREQ_INPUT, tenth))
            .await?;
        println!(
            "request {disputed_wasm}: wordfreq (a stock wasm32-wasip1 program) of {} bytes of text for 0.1 ETH",
            WORDFREQ_INPUT.len()
        );
        let cancelled = requester
            .request(request("build-byte-array", "10", tenth / U256::from(2)))
            .await?;
        requester.cancel(cancelled).await?;
        println!("request {cancelled}: build-byte-array(10) for 0.05 ETH, cancelled at once\n");

        let deadline = tokio::time::Instant::now() + Duration::from_secs(self.timeout);
        let mut last: HashMap<u64, (Status, Option<Address>)> = HashMap::new();
        let mut accepted = std::collections::HashSet::new();
        let mut notes: HashMap<u64, Vec<String>> = HashMap::new();
        loop {
            let mut settled = true;
            for id in [honest, disputed, honest_wasm, disputed_wasm, cancelled] {
                let s = requester.status(id).await?;
                let key = (s.status, s.host);
                if last.get(&id) != Some(&key) {
                    let who = s.host.map(|h| name_of(h, &address)).unwrap_or_default();
                    let line = match s.status {
                        Status::WaitingForResolution => format!(
                            "answered by {who}: {}",
                            s.result_display.clone().unwrap_or_default()
                        ),
                        Status::Committed => {
                            format!("{who} committed to an answer (hidden until revealed)")
                        }
                        Status::NeedsResolution => "challenged".to_string(),
                        Status::Resolving => "dispute started (bisection)".to_string(),
                        other => other.to_string(),
                    };
                    println!("block {:>4}  request {id}: {line}", s.block);
                    notes.entry(id).or_default().push(line);
                    last.insert(id, key);
                }
                if (id == honest || id == honest_wasm)
                    && s.status == Status::WaitingForResolution
                    && accepted.insert(id)
                {
                    requester.accept(id).await?;
                    println!(
                        "block {:>4}  request {id}: the requester accepts the answer",
                        s.block
                    );
                }
                settled &= s.status.is_settled();
            }
            if settled {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the demo did not finish within {} s", self.timeout);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // Everyone takes their money out: the agents do it themselves, the requester here.
        if !requester.credited(address("requester")).await?.is_zero() {
            requester.withdraw().await?;
        }
        for role in ["host", "cheater", "challenger"] {
            while !requester.credited(address(role)).await?.is_zero() {
                if tokio::time::Instant::now() > deadline {
                    bail!("the {role} agent did not withdraw in time");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        let _ = stop_tx.send(true);
        for agent in agents {
            if let Ok(Err(e)) = agent.await {
                eprintln!("an agent stopped with an error: {e}");
            }
        }
        let _ = ticker.await;
        let after = balances(&requester, &address).await?;
        let disputed_status = requester.status(disputed).await?;
        let disputed_wasm_status = requester.status(disputed_wasm).await?;
        // The table below tells the story the demo means to show; say so if it did not happen.
        for s in [&disputed_status, &disputed_wasm_status] {
            if s.host != Some(address("challenger")) {
                bail!(
                    "request {}: the cheater's answer was not overturned (standing answer by {:?}); \
                     the challenger agent did not win its dispute",
                    s.id,
                    s.host
                );
            }
        }
        let honest_wasm_status = requester.status(honest_wasm).await?;

        println!("\nwhat happened");
        output::table(
            &["request", "program", "outcome"],
            &[
                vec![
                    honest.to_string(),
                    "fibonacci(60)".into(),
                    "answered by host, accepted by the requester, paid".into(),
                ],
                vec![
                    disputed.to_string(),
                    "keccak-chain(1000)".into(),
                    format!(
                        "cheater answered wrong; challenger won the bisection game, its answer stood and was paid ({})",
                        disputed_status.result_display.unwrap_or_default()
                    ),
                ],
                vec![
                    honest_wasm.to_string(),
                    "sha256sum (wasm32-wasip1)".into(),
                    format!(
                        "answered by host, accepted, paid ({})",
                        honest_wasm_status.result_display.unwrap_or_default()
                    ),
                ],
                vec![
                    disputed_wasm.to_string(),
                    "wordfreq (wasm32-wasip1)".into(),
                    "cheater lied from a random instruction; challenger won the bisection over the machine trace with one step of the on-chain WASM prover, and was paid".into(),
                ],
                vec![
                    cancelled.to_string(),
                    "build-byte-array(10)".into(),
                    "cancelled; payment refunded".into(),
                ],
            ],
        );
        println!("\nbalance changes (ETH, gas included)");
        let rows: Vec<Vec<String>> = ROLES
            .iter()
            .map(|role| {
                vec![
                    role.to_string(),
                    units::format_change(before[role], after[role]),
                ]
            })
            .collect();
        output::table(&["party", "change"], &rows);
        println!("\ndone in {:.1} s", started.elapsed().as_secs_f64());
        if let Some(explorer) = explorer {
            // Other commands can look at the demo's chain through its deployment file.
            let file = dirs.join("deployment.json");
            deployment.save(&file)?;
            println!(
                "\nthe devnet and the explorer stay up: {} (press Ctrl-C to stop)",
                explorer.url()
            );
            println!(
                "deployment file: {} (e.g. `ecm client status 2 --deployment {}`)",
                file.display(),
                file.display()
            );
            tokio::signal::ctrl_c()
                .await
                .wrap_err("waiting for Ctrl-C")?;
            explorer.stop().await;
        }
        devnet.anvil.stop().await;
        let _ = std::fs::remove_dir_all(&dirs);
        Ok(())
    }
}

async fn balances(
    client: &Client,
    address: &impl Fn(&str) -> Address,
) -> Result<HashMap<&'static str, U256>> {
    let mut out = HashMap::new();
    for role in ROLES {
        out.insert(role, client.chain().balance(address(role)).await?);
    }
    Ok(out)
}

fn name_of(account: Address, address: &impl Fn(&str) -> Address) -> String {
    ROLES
        .iter()
        .find(|r| address(r) == account)
        .map(|r| r.to_string())
        .unwrap_or_else(|| account.to_string())
}

/// Mines a block every `every` until stopped, so that windows and clocks advance.
async fn mine_every(
    deployment: ecm_primitives::Deployment,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(client) = Client::connect(deployment, None, None).await else {
        return;
    };
    while !*stop.borrow() {
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(every) => {
                let _ = client.chain().anvil_mine(1).await;
            }
        }
    }
}

/// A fresh directory for the agents' job stores, under the system's temporary directory.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("ecm-demo-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

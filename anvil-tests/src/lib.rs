//! Harness for the end-to-end tests: a devnet per test (real Anvil on a free port, deployed with
//! the same code as `ecm devnet`), agents run in-process with their real engine, clients per
//! role, and balance bookkeeping.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod proxy;
pub mod range_limit;

use alloy::primitives::{Address, U256};
use ecm_agent::{AgentConfig, Roles};
use ecm_client::{Client, NewRequest, RequestStatus, Status};
use ecm_devnet::{AnvilConfig, DeployConfig, Devnet};
use ecm_primitives::Deployment;
use std::{
    future::Future,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tokio::{sync::oneshot, task::JoinHandle};

/// One ether.
pub const ETHER: u128 = 1_000_000_000_000_000_000;

/// A devnet for one test.
pub struct TestNet {
    /// The running node and deployment.
    pub devnet: Devnet,
    dirs: tempfile::TempDir,
}

impl TestNet {
    /// Starts Anvil (automine) and deploys, with a chess clock of `clock` blocks.
    pub async fn start(clock: u32) -> Self {
        init_tracing();
        let config = DeployConfig {
            clock_blocks: clock,
            ..DeployConfig::default()
        };
        let devnet = ecm_devnet::start(AnvilConfig::default(), config)
            .await
            .expect("devnet starts");
        Self {
            devnet,
            dirs: tempfile::tempdir().unwrap(),
        }
    }

    /// The deployment.
    pub fn deployment(&self) -> &Deployment {
        &self.devnet.deployment
    }

    /// The dev account with this role.
    pub fn key(&self, role: &str) -> String {
        self.deployment()
            .account(role)
            .unwrap_or_else(|| panic!("no dev account {role}"))
            .private_key
            .clone()
    }

    /// The address of the dev account with this role.
    pub fn address(&self, role: &str) -> Address {
        self.deployment().account(role).unwrap().address
    }

    /// A client signing as `role`.
    pub async fn client(&self, role: &str) -> Client {
        Client::connect(self.deployment().clone(), None, Some(self.key(role)))
            .await
            .expect("client connects")
    }

    /// An agent configuration for `role`, with its own data directory.
    pub fn agent_config(&self, role: &str, roles: Roles) -> AgentConfig {
        let mut config = AgentConfig::new(
            self.deployment().clone(),
            self.key(role),
            self.data_dir(role),
            roles,
        );
        config.poll_interval = Duration::from_millis(50);
        config
    }

    /// The data directory of `role`'s agent (stable across restarts within the test).
    pub fn data_dir(&self, role: &str) -> PathBuf {
        self.dirs.path().join(role)
    }

    /// Mines `n` blocks.
    pub async fn mine(&self, n: u64) {
        let client = self.client("deployer").await;
        client.chain().anvil_mine(n).await.unwrap();
    }

    /// The request id of every `Answered` event on the Broker, in order: the on-chain record
    /// of how many times each request was answered.
    pub async fn answered_ids(&self) -> Vec<u64> {
        let client = self.client("deployer").await;
        let to = client.chain().block_number().await.unwrap();
        client
            .chain()
            .broker_logs(0, to)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|log| match log.event {
                ecm_bindings::Broker::BrokerEvents::Answered(e) => {
                    Some(u64::try_from(e.id).unwrap())
                }
                _ => None,
            })
            .collect()
    }

    /// Mines a block every `every`, as a chain does, until the [`Miner`] is dropped.
    pub async fn miner(&self, every: Duration) -> Miner {
        let provider = self.client("deployer").await.chain().provider().clone();
        let mining = Arc::new(AtomicBool::new(true));
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        let task = {
            let (mining, turn) = (mining.clone(), turn.clone());
            tokio::spawn(async move {
                loop {
                    {
                        let _turn = turn.lock().await;
                        if mining.load(Ordering::SeqCst) {
                            let _ = alloy::providers::ext::AnvilApi::anvil_mine(
                                &provider,
                                Some(1),
                                None,
                            )
                            .await;
                        }
                    }
                    tokio::time::sleep(every).await;
                }
            })
        };
        Miner { mining, turn, task }
    }

    /// Wei held by `address` on-chain.
    pub async fn balance(&self, address: Address) -> U256 {
        let client = self.client("deployer").await;
        client.chain().balance(address).await.unwrap()
    }
}

/// Blocks coming on their own (see [`TestNet::miner`]); stopped when dropped.
pub struct Miner {
    mining: Arc<AtomicBool>,
    turn: Arc<tokio::sync::Mutex<()>>,
    task: JoinHandle<()>,
}

impl Miner {
    /// Stops mining, once the block being mined (if any) is in.
    pub async fn pause(&self) {
        self.mining.store(false, Ordering::SeqCst);
        drop(self.turn.lock().await);
    }

    /// Mines again.
    pub fn resume(&self) {
        self.mining.store(true, Ordering::SeqCst);
    }
}

impl Drop for Miner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running agent, stopped gracefully by [`AgentHandle::stop`] or abruptly by dropping it.
pub struct AgentHandle {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<ecm_agent::Result<()>>,
}

impl AgentHandle {
    /// Starts the agent's real engine in this process.
    pub fn spawn(config: AgentConfig) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(ecm_agent::run(config, async move {
            let _ = stopped.await;
        }));
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Graceful shutdown; returns the agent's result.
    pub async fn stop(mut self) -> ecm_agent::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(60), &mut self.task)
            .await
            .expect("agent stops in time")
            .expect("agent task")
    }

    /// Kills the agent without letting it clean up (a crash).
    pub fn kill(self) {
        self.task.abort();
    }
}

/// A plain request for `program` on a typed input.
pub fn request(program: &str, input: &str, payment: u128, window: u64) -> NewRequest {
    let spec = ecm_programs::by_name(program).unwrap();
    NewRequest {
        program: program.into(),
        input: spec.parse_input(input).unwrap(),
        payment: U256::from(payment),
        window,
        max_steps: None,
        max_gas_price: None,
        mode: ecm_client::DisputeMode::Bisection,
        min_host_jobs: 0,
    }
}

/// Asserts that an agent's ledger shows no deposit lost: every deposit it staked was
/// credited back, none is still locked.
pub fn assert_no_deposit_lost(e: &ecm_agent::Earnings) {
    assert_eq!(e.deposits_lost, U256::ZERO, "{e:?}");
    assert_eq!(e.deposits_locked, U256::ZERO, "{e:?}");
    assert_eq!(e.deposits_staked, e.deposits_returned, "{e:?}");
}

/// Waits until the agent store in `dir` shows `jobs` jobs done, none engaged, and `paid` wei
/// of payments in its ledger, then asserts that ledger lost no deposit
/// ([`assert_no_deposit_lost`]); returns the earnings.
pub async fn assert_paid_and_no_deposit_lost(
    dir: &Path,
    paid: U256,
    jobs: u64,
) -> ecm_agent::Earnings {
    let earnings = eventually(
        "every payment in the ledger",
        Duration::from_secs(60),
        || async {
            let e = ecm_agent::JobStore::open(dir).ok()?.earnings().ok()?;
            (e.paid == paid && e.jobs_done == jobs && e.jobs_engaged == 0).then_some(e)
        },
    )
    .await;
    assert_no_deposit_lost(&earnings);
    earnings
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `client` reads request `id` as Finalized, and returns its status then; panics
/// after `timeout`, naming `what` it waited for.
pub async fn finalized(client: &Client, id: u64, what: &str, timeout: Duration) -> RequestStatus {
    eventually(what, timeout, || async {
        let s = client.status(id).await.unwrap();
        (s.status == Status::Finalized).then_some(s)
    })
    .await
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A figure from an agent's Prometheus endpoint on 127.0.0.1:`port`.
pub fn metric(port: u16, name: &str) -> f64 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {response}"))
}

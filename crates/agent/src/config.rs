//! How an agent is configured.

use alloy::primitives::U256;
use ecm_primitives::Deployment;
use ecm_runtime::Limits;
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// What the agent does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    /// Answer pending requests (a host).
    pub answer: bool,
    /// Challenge wrong answers (a challenger).
    pub challenge: bool,
}

impl Roles {
    /// A host.
    pub const HOST: Self = Self {
        answer: true,
        challenge: false,
    };
    /// A challenger.
    pub const CHALLENGER: Self = Self {
        answer: false,
        challenge: true,
    };
}

/// Deliberately wrong answers, for demos and tests (Anvil only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cheat {
    /// Lie at the last step: the result is altered.
    LastStep,
    /// Lie from step `k` on: the state after step `k` is altered and the trace continues from it.
    AtStep(u64),
    /// Lie from a step drawn at random from the trace (a different one per request, the same
    /// one when the request is computed again, so a restarted liar keeps its story).
    RandomStep,
}

/// An agent's configuration.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Where ecm is deployed.
    pub deployment: Deployment,
    /// JSON-RPC endpoint (defaults to the deployment's).
    pub rpc_url: String,
    /// The agent's key.
    pub private_key: String,
    /// Where the job store lives.
    pub data_dir: PathBuf,
    /// Host, challenger, or both.
    pub roles: Roles,
    /// Programs to serve, by name; all of the deployment's known programs if empty.
    pub programs: Vec<String>,
    /// Requests paying less are ignored (hosts).
    pub min_payment: U256,
    /// How often to look at the chain.
    pub poll_interval: Duration,
    /// Computations running at once (defaults to the number of cores).
    pub workers: usize,
    /// Memory for each trace's checkpoints, in bytes.
    pub checkpoint_budget: usize,
    /// Traces longer than this are not computed (the request is refused).
    pub max_compute_steps: u64,
    /// Limits programs run under.
    pub limits: Limits,
    /// Blocks of margin kept before a clock or window deadline.
    pub deadline_margin: u64,
    /// How deep a block must be before the agent takes in its logs (new requests, news on its
    /// jobs, credits to its ledger), and how deep its own transactions must be before it counts
    /// them sent: a reorganisation no deeper than this cannot make it act on a request that
    /// vanished. 0 on a devnet; a real network wants a few (its reorg depth).
    pub confirmations: u64,
    /// Answer in two transactions, a commitment then its reveal (`commitAnswer`,
    /// `revealAnswer`), so that nobody can copy the answer from the mempool; else in one
    /// (`answerRequest`). On by default.
    pub commit_answers: bool,
    /// Deliberate lies (Anvil only).
    pub cheat: Option<Cheat>,
    /// Where to find WASM modules beyond the example programs (`<dir>/<0xhash>.wasm`).
    pub module_dir: Option<PathBuf>,
    /// How long shutdown waits for transactions in flight.
    pub shutdown_grace: Duration,
    /// Where to serve Prometheus metrics (`GET /metrics`), if anywhere.
    pub metrics: Option<SocketAddr>,
}

impl AgentConfig {
    /// Defaults around a deployment, a key and a data directory.
    pub fn new(
        deployment: Deployment,
        private_key: impl Into<String>,
        data_dir: impl Into<PathBuf>,
        roles: Roles,
    ) -> Self {
        Self {
            rpc_url: deployment.rpc_url.clone(),
            deployment,
            private_key: private_key.into(),
            data_dir: data_dir.into(),
            roles,
            programs: Vec::new(),
            min_payment: U256::from(1),
            poll_interval: Duration::from_millis(200),
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            checkpoint_budget: 16 << 20,
            max_compute_steps: 1 << 34,
            limits: Limits::default(),
            deadline_margin: 2,
            confirmations: 0,
            commit_answers: true,
            cheat: None,
            module_dir: None,
            shutdown_grace: Duration::from_secs(30),
            metrics: None,
        }
    }
}

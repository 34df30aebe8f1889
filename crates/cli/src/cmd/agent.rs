//! Options shared by `ecm host run` and `ecm challenger run`.

use crate::{
    opts::{DeploymentOpts, RpcOpts, WalletOpts},
    units,
};
use clap::Args;
use ecm_agent::{AgentConfig, Cheat, Roles};
use eyre::Result;
use std::{path::PathBuf, time::Duration};

#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// Where the agent keeps its jobs (resumed on restart).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Programs to serve, by name (default: all of the deployment's).
    #[arg(long = "program", value_name = "NAME")]
    programs: Vec<String>,
    /// Ignore requests paying less than this (e.g. 0.01ether).
    #[arg(long, default_value = "1")]
    min_payment: String,
    /// Computations at once (default: the number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// How often to look at the chain, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    /// Memory for each trace's checkpoints, in MiB.
    #[arg(long, default_value_t = 16)]
    checkpoint_mib: usize,
    /// Where to find WASM modules of programs beyond the examples (`<dir>/<0xhash>.wasm`).
    #[arg(long)]
    module_dir: Option<PathBuf>,
    /// Answer wrong on purpose, lying from a step drawn at random from each request's trace
    /// (Anvil only: for demos and tests).
    #[arg(long)]
    cheat: bool,
    /// Answer wrong on purpose from this step on (Anvil only).
    #[arg(long, value_name = "STEP", conflicts_with = "cheat")]
    cheat_at_step: Option<u64>,
    /// Take in a block's logs only once it is this many blocks deep, and count the agent's own
    /// transactions sent only then: a reorganisation no deeper cannot make it act on a request
    /// that vanished (0 on a devnet; set it to the network's reorg depth elsewhere).
    #[arg(long, default_value_t = 0)]
    confirmations: u64,
    /// Answer in one transaction (`answerRequest`), which anyone watching the mempool can
    /// copy or front-run, instead of committing to the answer and revealing it next.
    #[arg(long)]
    plain_answers: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9100).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    deployment: DeploymentOpts,
    #[command(flatten)]
    rpc: RpcOpts,
    #[command(flatten)]
    wallet: WalletOpts,
}

impl AgentArgs {
    pub(crate) fn config(&self, roles: Roles, default_dir: &str) -> Result<AgentConfig> {
        let deployment = self.deployment.load()?;
        let key = self.wallet.require(&deployment)?;
        let data_dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".ecm").join(default_dir));
        let mut config = AgentConfig::new(deployment, key, data_dir, roles);
        if let Some(url) = &self.rpc.rpc_url {
            config.rpc_url = url.clone();
        }
        config.programs = self.programs.clone();
        config.min_payment = units::parse_amount(&self.min_payment)?;
        if let Some(workers) = self.workers {
            config.workers = workers.max(1);
        }
        config.poll_interval = Duration::from_millis(self.poll_ms.max(10));
        config.checkpoint_budget = self.checkpoint_mib.max(1) << 20;
        config.module_dir = self.module_dir.clone();
        config.metrics = self.metrics;
        config.confirmations = self.confirmations;
        config.commit_answers = !self.plain_answers;
        config.cheat = match (self.cheat, self.cheat_at_step) {
            (true, _) => Some(Cheat::RandomStep),
            (false, Some(step)) => Some(Cheat::AtStep(step)),
            (false, None) => None,
        };
        Ok(config)
    }
}

/// Runs an agent until Ctrl-C.
pub(crate) async fn run_until_ctrl_c(config: AgentConfig) -> Result<()> {
    ecm_agent::run(config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

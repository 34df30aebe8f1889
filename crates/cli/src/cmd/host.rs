//! `ecm host run`, `ecm host jobs`, `ecm host earnings`, `ecm host stats`.

use super::{
    agent::{AgentArgs, run_until_ctrl_c},
    jobs::{EarningsArgs, JobsArgs},
    stats::StatsArgs,
};
use clap::Subcommand;
use ecm_agent::Roles;
use eyre::Result;

#[derive(Debug, Subcommand)]
pub(crate) enum HostCommand {
    /// Answer requests, defend the answers, collect and withdraw payments, until Ctrl-C.
    Run(Box<AgentArgs>),
    /// The jobs in the host's store, newest first (while it runs, or not).
    Jobs(JobsArgs),
    /// What the host earned and spent: payments, disputes, deposits, gas.
    Earnings(EarningsArgs),
    /// An address's on-chain record: answers, payouts, disputes won and lost (what requests
    /// admitting only hosts with a record look at).
    Stats(StatsArgs),
}

impl HostCommand {
    pub(crate) async fn run(self) -> Result<()> {
        match self {
            Self::Run(args) => run_until_ctrl_c(args.config(Roles::HOST, "host")?).await,
            Self::Jobs(args) => args.run("host"),
            Self::Earnings(args) => args.run("host"),
            Self::Stats(args) => args.run().await,
        }
    }
}

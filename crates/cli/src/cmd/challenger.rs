//! `ecm challenger run`, `ecm challenger jobs`, `ecm challenger earnings`, `ecm challenger stats`.

use super::{
    agent::{AgentArgs, run_until_ctrl_c},
    jobs::{EarningsArgs, JobsArgs},
    stats::StatsArgs,
};
use clap::Subcommand;
use ecm_agent::Roles;
use eyre::Result;

#[derive(Debug, Subcommand)]
pub(crate) enum ChallengerCommand {
    /// Check every answer, dispute wrong ones and play the game, until Ctrl-C.
    Run(Box<AgentArgs>),
    /// The jobs in the challenger's store, newest first (while it runs, or not).
    Jobs(JobsArgs),
    /// What the challenger earned and spent: payments, disputes, deposits, gas.
    Earnings(EarningsArgs),
    /// An address's on-chain record: answers, payouts, disputes won and lost (what requests
    /// admitting only hosts with a record look at).
    Stats(StatsArgs),
}

impl ChallengerCommand {
    pub(crate) async fn run(self) -> Result<()> {
        match self {
            Self::Run(args) => {
                run_until_ctrl_c(args.config(Roles::CHALLENGER, "challenger")?).await
            }
            Self::Jobs(args) => args.run("challenger"),
            Self::Earnings(args) => args.run("challenger"),
            Self::Stats(args) => args.run().await,
        }
    }
}

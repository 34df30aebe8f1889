//! `ecm host run`.

use super::agent::{AgentArgs, run_until_ctrl_c};
use clap::Subcommand;
use ecm_agent::Roles;
use eyre::Result;

#[derive(Debug, Subcommand)]
pub(crate) enum HostCommand {
    /// Answer requests, defend the answers, collect and withdraw payments, until Ctrl-C.
    Run(AgentArgs),
}

impl HostCommand {
    pub(crate) async fn run(self) -> Result<()> {
        match self {
            Self::Run(args) => run_until_ctrl_c(args.config(Roles::HOST, "host")?).await,
        }
    }
}

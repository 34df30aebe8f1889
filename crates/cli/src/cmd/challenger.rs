//! `ecm challenger run`.

use super::agent::{AgentArgs, run_until_ctrl_c};
use clap::Subcommand;
use ecm_agent::Roles;
use eyre::Result;

#[derive(Debug, Subcommand)]
pub(crate) enum ChallengerCommand {
    /// Check every answer, dispute wrong ones and play the game, until Ctrl-C.
    Run(AgentArgs),
}

impl ChallengerCommand {
    pub(crate) async fn run(self) -> Result<()> {
        match self {
            Self::Run(args) => {
                run_until_ctrl_c(args.config(Roles::CHALLENGER, "challenger")?).await
            }
        }
    }
}

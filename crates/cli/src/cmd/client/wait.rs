use super::Common;
use crate::output;
use clap::Args;
use eyre::Result;
use std::{io::IsTerminal, time::Duration};

#[derive(Debug, Args)]
pub(crate) struct WaitArgs {
    /// The request id.
    id: u64,
    /// Give up after this many seconds.
    #[arg(long)]
    timeout: Option<u64>,
    /// Poll interval, in milliseconds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    #[command(flatten)]
    common: Common,
}

impl WaitArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(false).await?;
        // Progress on a terminal only: piped output stays a single final result.
        let progress = std::io::stderr().is_terminal() && !self.common.output.json;
        let status = client
            .wait(
                self.id,
                Duration::from_millis(self.poll_ms),
                self.timeout.map(Duration::from_secs),
                |s| {
                    if progress {
                        let game = s
                            .game
                            .as_ref()
                            .map(|g| format!(", segment [{}, {}], {}'s move", g.lo, g.hi, g.mover));
                        let tournament = s.tournament.as_ref().map(|t| {
                            format!(
                                ", tournament: {} entries, {} claims standing",
                                t.entries, t.standing_claims
                            )
                        });
                        let detail = game.or(tournament).unwrap_or_default();
                        eprintln!("block {}: {}{detail}", s.block, s.status);
                    }
                },
            )
            .await?;
        if self.common.output.json {
            output::json(&status);
        } else {
            super::status::print(&status);
        }
        Ok(())
    }
}

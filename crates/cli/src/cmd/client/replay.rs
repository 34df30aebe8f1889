use super::Common;
use crate::output;
use clap::Args;
use eyre::{Result, bail};

#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The request id.
    id: u64,
    #[command(flatten)]
    common: Common,
}

impl ReplayArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(false).await?;
        let replay = client.replay(self.id).await?;
        if self.common.output.json {
            output::json(&replay);
        } else {
            output::fields(&[
                (
                    "computed",
                    format!(
                        "{} steps, final {}, result {}",
                        replay.computed.steps, replay.computed.final_, replay.computed.result
                    ),
                ),
                ("commitment", replay.computed.commitment().to_string()),
                ("on-chain", replay.on_chain.to_string()),
                (
                    "verdict",
                    if replay.matches {
                        "the on-chain answer is right".into()
                    } else {
                        "the on-chain answer DIFFERS".into()
                    },
                ),
            ]);
        }
        if !replay.matches {
            bail!(
                "request {}: the standing answer differs from the local computation (challenge it while its window is open)",
                self.id
            );
        }
        Ok(())
    }
}

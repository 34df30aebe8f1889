use super::Common;
use crate::{output, units};
use clap::Args;
use eyre::Result;

#[derive(Debug, Args)]
pub(crate) struct WithdrawArgs {
    #[command(flatten)]
    common: Common,
}

impl WithdrawArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(true).await?;
        let amount = client.withdraw().await?;
        if self.common.output.json {
            output::json(&serde_json::json!({ "withdrawn": amount.to_string() }));
        } else {
            println!("withdrew {} ETH", units::format_ether(amount));
        }
        Ok(())
    }
}

use super::Common;
use crate::{output, units};
use alloy::primitives::Address;
use clap::Args;
use eyre::Result;

#[derive(Debug, Args)]
pub(crate) struct BalanceArgs {
    /// The account (default: the signing account).
    address: Option<Address>,
    #[command(flatten)]
    common: Common,
}

impl BalanceArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(false).await?;
        let account = Common::account_or_signer(&client, self.address)?;
        let credited = client.credited(account).await?;
        if self.common.output.json {
            output::json(
                &serde_json::json!({ "account": account, "credited": credited.to_string() }),
            );
        } else {
            println!("{account}: {} ETH credited", units::format_ether(credited));
        }
        Ok(())
    }
}

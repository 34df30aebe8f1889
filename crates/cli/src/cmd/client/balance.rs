use super::Common;
use crate::{output, units};
use alloy::primitives::Address;
use clap::Args;
use eyre::{Result, eyre};

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
        let account = match self.address {
            Some(address) => address,
            None => client.chain().account().map_err(|_| {
                eyre!("give an address, or a key (--private-key, --keystore, --account or --dev-account)")
            })?,
        };
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

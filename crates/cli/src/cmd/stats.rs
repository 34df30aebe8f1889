//! `ecm host stats` and `ecm challenger stats`: an address's record on the Broker.

use super::client::Common;
use crate::output;
use alloy::primitives::Address;
use clap::Args;
use eyre::Result;

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    /// The account (default: the signing account).
    address: Option<Address>,
    #[command(flatten)]
    common: Common,
}

impl StatsArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(false).await?;
        let account = Common::account_or_signer(&client, self.address)?;
        let record = client.record(account).await?;
        let admitted_up_to = record.admitted_up_to();
        if self.common.output.json {
            output::json(&serde_json::json!({
                "account": account,
                "record": record,
                "admitted_up_to": admitted_up_to,
            }));
            return Ok(());
        }
        let admission = match admitted_up_to {
            Some(0) => "by requests admitting anyone".to_string(),
            Some(n) => format!("by requests asking up to {n} jobs paid (--min-host-jobs)"),
            None => "only by requests admitting anyone (a defence was lost)".to_string(),
        };
        output::fields(&[
            ("account", account.to_string()),
            ("answers", record.answered.to_string()),
            ("paid as host", record.paid.to_string()),
            (
                "defences",
                format!("{} won, {} lost", record.defences_won, record.defences_lost),
            ),
            (
                "challenges",
                format!(
                    "{} won, {} lost",
                    record.challenges_won, record.challenges_lost
                ),
            ),
            ("lost by timeout", record.timeouts.to_string()),
            ("commitments expired", record.expired.to_string()),
            ("admitted as host", admission),
        ]);
        Ok(())
    }
}

use super::Common;
use crate::output;
use clap::Args;
use eyre::Result;

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The request id.
    id: u64,
    #[command(flatten)]
    common: Common,
}

impl CancelArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(true).await?;
        let tx = client.cancel(self.id).await?;
        if self.common.output.json {
            output::json(&serde_json::json!({ "id": self.id, "tx": tx }));
        } else {
            println!("Cancelled request {} (tx {tx})", self.id);
        }
        Ok(())
    }
}

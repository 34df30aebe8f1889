//! `ecm client result ID`: the standing answer's output, byte for byte. For a machine program,
//! what the program wrote to stdout (its exit code on stderr when it is not 0); for a step
//! program, the result state.

use super::Common;
use crate::output;
use clap::Args;
use eyre::{Result, bail};
use std::io::Write;

#[derive(Debug, Args)]
pub(crate) struct ResultArgs {
    /// The request id.
    id: u64,
    #[command(flatten)]
    common: Common,
}

impl ResultArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(false).await?;
        let status = client.status(self.id).await?;
        let machine = client.deployment().is_machine_program(&status.program);
        let (Some(result), Some(final_)) = (&status.result, status.final_) else {
            bail!(
                "request {} has no answer yet (status {}): wait with `ecm client wait {}`",
                self.id,
                status.status,
                self.id
            );
        };
        if !machine {
            if self.common.output.json {
                output::json(
                    &serde_json::json!({ "exitCode": null, "output": result, "final": final_ }),
                );
            } else {
                std::io::stdout().write_all(result)?;
            }
            return Ok(());
        }
        if !final_ {
            bail!(
                "request {}: the program ran out of steps ({} steps); the answer is its state hash {result}",
                self.id,
                status.steps
            );
        }
        if result.is_empty() {
            bail!(
                "request {}: the program trapped after {} steps; it wrote no answer (run it with `ecm program run` to see the trap)",
                self.id,
                status.steps
            );
        }
        if result.len() < 4 {
            bail!(
                "request {}: the answer {result} is not an exit code and an output",
                self.id
            );
        }
        let exit_code = u32::from_le_bytes(result[..4].try_into().expect("four bytes"));
        let stdout = &result[4..];
        if self.common.output.json {
            output::json(&serde_json::json!({
                "exitCode": exit_code,
                "output": alloy::primitives::Bytes::copy_from_slice(stdout),
            }));
        } else {
            std::io::stdout().write_all(stdout)?;
            if exit_code != 0 {
                eprintln!("exit code {exit_code}");
            }
        }
        Ok(())
    }
}

use super::Common;
use crate::{output, units};
use clap::{Args, ValueEnum};
use ecm_client::{DisputeMode, NewRequest};
use eyre::{Result, WrapErr, eyre};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// The k-ary bisection game.
    Bisection,
    /// Full on-chain re-execution (ECM's mode; short traces only).
    Full,
}

#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The program, by name (see `ecm program list`) or id.
    #[arg(long)]
    program: String,
    /// The input: for a machine program, its stdin as text; for a step program, `0x`-prefixed
    /// hex or the program's typed form (e.g. `10` for Fibonacci).
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// Read the input bytes from a file.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// The payment, e.g. `0.1ether`, `5gwei` or wei.
    #[arg(long)]
    payment: String,
    /// The challenge window, in blocks.
    #[arg(long, default_value_t = 20)]
    window: u64,
    /// The most steps the computation may take (default: the Broker's).
    #[arg(long)]
    max_steps: Option<u64>,
    /// How disputes are settled.
    #[arg(long, value_enum, default_value_t = Mode::Bisection)]
    mode: Mode,
    /// Gas price (wei) at which dispute gas is valued for deposits (default: the node's).
    #[arg(long)]
    max_gas_price: Option<u64>,
    #[command(flatten)]
    common: Common,
}

impl RequestArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(true).await?;
        let input = match (&self.input, &self.input_file) {
            (Some(text), _) => {
                let (_, name) = client.program(&self.program)?;
                let machine = client.deployment().is_machine_program(&name);
                match ecm_programs::by_name(&name) {
                    // A machine program reads its stdin: the text, byte for byte.
                    _ if machine => text.clone().into_bytes(),
                    Ok(spec) => spec.parse_input(text)?,
                    Err(_) => alloy::primitives::hex::decode(text.trim_start_matches("0x"))
                        .wrap_err("the input of an unknown program must be 0x-prefixed hex")?,
                }
            }
            (None, Some(path)) => {
                std::fs::read(path).wrap_err_with(|| format!("reading {}", path.display()))?
            }
            (None, None) => return Err(eyre!("give the input with --input or --input-file")),
        };
        let payment = units::parse_amount(&self.payment)?;
        let mode = match self.mode {
            Mode::Bisection => DisputeMode::Bisection,
            Mode::Full => DisputeMode::FullExecution,
        };
        let id = client
            .request(NewRequest {
                program: self.program,
                input,
                payment,
                window: self.window,
                max_steps: self.max_steps,
                max_gas_price: self.max_gas_price,
                mode,
            })
            .await?;
        if self.common.output.json {
            output::json(&serde_json::json!({ "id": id }));
        } else {
            println!("request {id} created; follow it with `ecm client wait {id}`");
        }
        Ok(())
    }
}

use super::Common;
use crate::{output, units};
use clap::{Args, ValueEnum};
use ecm_client::{DisputeMode, NewRequest};
use eyre::{Result, WrapErr, eyre};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    /// Bisection games played in parallel, every challenger against every other claim at once:
    /// puppet challengers cannot delay an honest one (settled within the window and four
    /// clocks, whatever their number).
    Tournament,
    /// The k-ary bisection game, one challenge at a time (each puppet challenger can hold the
    /// request for a clock).
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
    /// hex or the program's typed form (e.g. `10` for Fibonacci). Given more than once, one
    /// request per input, all in one transaction (each paid `--payment`).
    #[arg(long, conflicts_with = "input_file")]
    input: Vec<String>,
    /// Read the input bytes from a file (given more than once: one request per file, in one
    /// transaction).
    #[arg(long)]
    input_file: Vec<PathBuf>,
    /// The payment of each request, e.g. `0.1ether`, `5gwei` or wei.
    #[arg(long)]
    payment: String,
    /// The challenge window, in blocks.
    #[arg(long, default_value_t = 20)]
    window: u64,
    /// The most steps the computation may take (default: the Broker's).
    #[arg(long)]
    max_steps: Option<u64>,
    /// How disputes are settled. Tournament by default: a cheater cannot delay the honest
    /// challenger with puppets (docs/security.md, finding 10).
    #[arg(long, value_enum, default_value_t = Mode::Tournament)]
    mode: Mode,
    /// Gas price (wei) at which dispute gas is valued for deposits (default: the node's).
    #[arg(long)]
    max_gas_price: Option<u64>,
    /// Admit only hosts whose on-chain record shows at least this many jobs paid and no
    /// dispute over their own answer lost (`ecm host stats` shows a record); 0 admits anyone.
    #[arg(long, default_value_t = 0)]
    min_host_jobs: u16,
    /// Make the requests a compact batch (`requestCompactBatch`): each held on-chain as one
    /// hash of its fields while nobody disputes it, about half the gas per request of a plain
    /// batch. The agents serve compact jobs like any request; `ecm client status` shows them
    /// from their logs.
    #[arg(long)]
    compact: bool,
    #[command(flatten)]
    common: Common,
}

impl RequestArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let client = self.common.client(true).await?;
        let mut inputs = Vec::new();
        for text in &self.input {
            let (_, name) = client.program(&self.program)?;
            let machine = client.deployment().is_machine_program(&name);
            inputs.push(match ecm_programs::by_name(&name) {
                // A machine program reads its stdin: the text, byte for byte.
                _ if machine => text.clone().into_bytes(),
                Ok(spec) => spec.parse_input(text)?,
                Err(_) => alloy::primitives::hex::decode(text.trim_start_matches("0x"))
                    .wrap_err("the input of an unknown program must be 0x-prefixed hex")?,
            });
        }
        for path in &self.input_file {
            inputs
                .push(std::fs::read(path).wrap_err_with(|| format!("reading {}", path.display()))?);
        }
        if inputs.is_empty() {
            return Err(eyre!("give the input with --input or --input-file"));
        }
        let payment = units::parse_amount(&self.payment)?;
        let mode = match self.mode {
            Mode::Bisection => DisputeMode::Bisection,
            Mode::Full => DisputeMode::FullExecution,
            Mode::Tournament => DisputeMode::Tournament,
        };
        let requests: Vec<NewRequest> = inputs
            .into_iter()
            .map(|input| NewRequest {
                program: self.program.clone(),
                input,
                payment,
                window: self.window,
                max_steps: self.max_steps,
                max_gas_price: self.max_gas_price,
                mode,
                min_host_jobs: self.min_host_jobs,
            })
            .collect();
        if requests.len() == 1 && !self.compact {
            let request = requests.into_iter().next().expect("one request");
            let id = client.request(request).await?;
            if self.common.output.json {
                output::json(&serde_json::json!({ "id": id }));
            } else {
                println!("request {id} created; follow it with `ecm client wait {id}`");
            }
            return Ok(());
        }
        let ids = if self.compact {
            client.request_compact_batch(requests).await?
        } else {
            client.request_batch(requests).await?
        };
        if self.common.output.json {
            output::json(&serde_json::json!({ "ids": ids }));
        } else {
            let list: Vec<String> = ids.iter().map(u64::to_string).collect();
            println!(
                "requests {} created in one transaction; follow each with `ecm client wait ID`",
                list.join(", ")
            );
        }
        Ok(())
    }
}

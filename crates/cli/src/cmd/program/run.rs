//! `ecm program run FILE.wasm`: a local dry run on the machine, the same run a host makes.

use crate::output;
use alloy::primitives::hex;
use clap::{ArgGroup, Args};
use ecm_machine::{DryRun, End, Program};
use eyre::{Result, WrapErr, bail};
use std::{
    io::{Read, Write},
    path::PathBuf,
};

/// The default step bound: 2^32, about ten seconds of the machine.
const DEFAULT_MAX_STEPS: u64 = 1 << 32;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["input", "input_file"])))]
pub(crate) struct RunArgs {
    /// The module: a `wasm32-wasip1` command (`cargo build --release --target wasm32-wasip1`,
    /// or C built with wasi-libc), or a module exporting `ecm_main`.
    file: PathBuf,
    /// The input (stdin), as text, byte for byte.
    #[arg(long)]
    input: Option<String>,
    /// The input (stdin) from a file; `-` reads ecm's own stdin.
    #[arg(long, value_name = "PATH")]
    input_file: Option<PathBuf>,
    /// Steps the machine may take (and fuel wasmtime may burn).
    #[arg(long, default_value_t = DEFAULT_MAX_STEPS)]
    max_steps: u64,
    /// Print the run as JSON: output (hex), exit code, exact steps, fuel, the final commitment.
    #[arg(long)]
    json: bool,
}

impl RunArgs {
    pub(crate) fn run(self) -> Result<()> {
        let bytes = std::fs::read(&self.file)
            .wrap_err_with(|| format!("reading {}", self.file.display()))?;
        let program = Program::from_wasm(&bytes)
            .wrap_err_with(|| format!("{} cannot run on the machine", self.file.display()))?;
        let input = match (&self.input, &self.input_file) {
            (Some(text), _) => text.clone().into_bytes(),
            (None, Some(path)) if path.as_os_str() == "-" => {
                let mut input = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut input)
                    .wrap_err("reading the input from stdin")?;
                input
            }
            (None, Some(path)) => std::fs::read(path)
                .wrap_err_with(|| format!("reading the input file {}", path.display()))?,
            (None, None) => unreachable!("clap requires one"),
        };
        let run = ecm_machine::dry_run(&program, &input, self.max_steps)?;
        // What the program wrote to stderr is not part of the result; show it as it came.
        std::io::stderr().write_all(&run.fast.log).ok();
        if self.json {
            output::json(&json(&run));
        }
        match &run.outcome.end {
            End::Halted { exit_code, output } => {
                if !self.json {
                    let mut stdout = std::io::stdout().lock();
                    stdout.write_all(output).wrap_err("writing stdout")?;
                    stdout.flush().ok();
                    if *exit_code != 0 {
                        eprintln!("the program exited with code {exit_code}");
                    }
                }
                Ok(())
            }
            End::Trapped { trap, site } => bail!(
                "the program trapped at step {}: {trap}, at {site} (a trap's result is empty)",
                run.outcome.steps
            ),
            End::OutOfSteps { .. } => bail!(
                "the program did not finish within {} steps: raise --max-steps, or look for an \
                 endless loop",
                self.max_steps
            ),
        }
    }
}

fn json(run: &DryRun) -> serde_json::Value {
    let (output, exit_code, trap) = match &run.outcome.end {
        End::Halted { exit_code, output } => (output.clone(), Some(*exit_code), None),
        End::Trapped { trap, site } => (Vec::new(), None, Some(format!("{trap}, at {site}"))),
        End::OutOfSteps { .. } => (Vec::new(), None, None),
    };
    serde_json::json!({
        "output": format!("0x{}", hex::encode(output)),
        "exitCode": exit_code,
        "trap": trap,
        "final": run.outcome.is_final(),
        "steps": run.outcome.steps,
        "fuel": run.fast.fuel,
        "finalHash": run.outcome.commitment().to_string(),
        "engine": {
            "wasmtime_ms": run.fast_time.as_secs_f64() * 1e3,
            "machine_ms": run.machine_time.as_secs_f64() * 1e3,
        },
    })
}

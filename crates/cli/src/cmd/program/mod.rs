//! `ecm program ...`: list, check, register, deploy a WASM program as a machine program, and run
//! one on the machine.

mod deploy;
mod run;

use crate::{
    opts::{DeploymentOpts, OutputOpts, RpcOpts, WalletOpts},
    output,
};
use alloy::{
    primitives::{Address, keccak256},
    providers::Provider,
};
use clap::{Args, Subcommand};
use ecm_runtime::{Limits, Runtime};
use ecm_verifier::{EvmStepper, conformance};
use eyre::{Result, WrapErr, bail, eyre};
use std::path::PathBuf;

/// The module directory beside a deployment file: `ecm program deploy` stores each module it
/// registers there (as `<0xhash>.wasm`), and `ecm devnet`'s agents look there.
pub(crate) fn module_dir(deployment: &std::path::Path) -> PathBuf {
    deployment
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .join("modules")
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProgramCommand {
    /// The example programs, with their ids in the deployment if there is one.
    List(ListArgs),
    /// Run a program's WASM module and Execution contract side by side; report the first divergence.
    Check(CheckArgs),
    /// Register a step program (an Execution contract and a WASM module) in the Factory.
    Register(RegisterArgs),
    /// Deploy a wasm32 program (a WASI command or an `ecm_main` module) as a machine program:
    /// lower it locally, register it in the Factory, add it to the deployment file.
    Deploy(deploy::DeployArgs),
    /// Run a wasm32 program (a WASI command or an `ecm_main` module) on the machine locally:
    /// the dry run to do before paying anyone.
    Run(run::RunArgs),
}

impl ProgramCommand {
    pub(crate) async fn run(self) -> Result<()> {
        match self {
            Self::List(args) => args.run(),
            Self::Check(args) => args.run().await,
            Self::Register(args) => args.run().await,
            Self::Deploy(args) => args.run().await,
            Self::Run(args) => args.run(),
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    deployment: DeploymentOpts,
    #[command(flatten)]
    output: OutputOpts,
}

impl ListArgs {
    fn run(self) -> Result<()> {
        let deployment = self.deployment.load().ok();
        let rows: Vec<serde_json::Value> = ecm_programs::all()
            .iter()
            .map(|p| {
                let id = deployment
                    .as_ref()
                    .and_then(|d| d.programs.get(p.name))
                    .map(|e| e.id.to_string());
                serde_json::json!({
                    "name": p.name,
                    "id": id,
                    "wasmHash": p.wasm_hash().to_string(),
                    "maxStepGas": p.max_step_gas,
                    "input": p.input_help,
                    "description": p.description,
                })
            })
            .collect();
        if self.output.json {
            output::json(&rows);
            return Ok(());
        }
        let table: Vec<Vec<String>> = ecm_programs::all()
            .iter()
            .map(|p| {
                vec![
                    p.name.to_string(),
                    p.max_step_gas.to_string(),
                    p.input_help.to_string(),
                    p.description.to_string(),
                ]
            })
            .collect();
        output::table(&["program", "step gas", "input", "computes"], &table);
        if deployment.is_none() {
            println!("\n(no deployment file: start a devnet with `ecm devnet` to see program ids)");
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The program's name, or its id in the deployment.
    program: String,
    /// Steps of each input's trace to compare.
    #[arg(long, default_value_t = 200)]
    steps: u64,
    /// Random states to compare.
    #[arg(long, default_value_t = 500)]
    random_states: usize,
    /// Seed for the random states.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Check against the compiled contract instead of the code deployed on the chain.
    #[arg(long)]
    offline: bool,
    #[command(flatten)]
    deployment: DeploymentOpts,
    #[command(flatten)]
    rpc: RpcOpts,
    #[command(flatten)]
    output: OutputOpts,
}

impl CheckArgs {
    async fn run(self) -> Result<()> {
        let deployment = if self.offline {
            None
        } else {
            self.deployment.load().ok()
        };
        if let Some(d) = &deployment {
            let entry = match self.program.parse::<alloy::primitives::B256>() {
                Ok(id) => d.program_name(id).and_then(|name| d.programs.get(name)),
                Err(_) => d.programs.get(&self.program),
            };
            if let Some(entry) = entry.filter(|e| e.is_machine()) {
                return self.check_machine(d, entry).await;
            }
        }
        let spec = match ecm_programs::by_name(&self.program) {
            Ok(spec) => spec,
            Err(e) => {
                let id = self.program.parse().map_err(|_| eyre!("{e}"))?;
                let name = deployment
                    .as_ref()
                    .and_then(|d| d.program_name(id))
                    .ok_or_else(|| eyre!("no program with id {id} in the deployment"))?;
                ecm_programs::by_name(name)?
            }
        };
        let (code, max_step_gas) = match &deployment {
            Some(d) => {
                let entry = d.program(spec.name)?;
                let url = self
                    .rpc
                    .rpc_url
                    .clone()
                    .unwrap_or_else(|| d.rpc_url.clone());
                let (provider, _) = ecm_chain::provider(&url, None).await?;
                let code = provider
                    .get_code_at(entry.execution)
                    .await
                    .wrap_err_with(|| {
                        format!(
                            "fetching the code at {} (is the devnet running? or use --offline)",
                            entry.execution
                        )
                    })?;
                if code.is_empty() {
                    bail!(
                        "no code at {}: the devnet was restarted? rerun `ecm devnet`, or use --offline",
                        entry.execution
                    );
                }
                if let Err(refused) = ecm_verifier::purity::check_registered_code(
                    entry.id,
                    entry.execution,
                    &code,
                    entry.wasm_hash,
                    entry.max_step_gas,
                ) {
                    bail!("{}: {refused}; hosts will refuse it", spec.name);
                }
                (code, entry.max_step_gas)
            }
            None => (spec.runtime_bytecode.clone(), spec.max_step_gas),
        };
        // The compiled code too: a program built here must pass the Factory's rule.
        if let Some(impurity) = ecm_verifier::purity::first_impurity(&code) {
            bail!(
                "{}: {}; the Factory refuses it and hosts will not serve it",
                spec.name,
                ecm_verifier::purity::CodeRefused::Impure(impurity)
            );
        }
        let mut evm = EvmStepper::new(code, max_step_gas);
        let wasm = Runtime::new(Limits::default())?.load(spec.wasm)?;
        let inputs = spec.samples();
        let plan = conformance::Plan {
            inputs,
            steps_per_input: self.steps,
            random_states: self.random_states,
            seed: self.seed,
        };
        let report = conformance::check(&wasm, &mut evm, &plan)?;
        if self.output.json {
            output::json(&serde_json::json!({ "program": spec.name, "report": report }));
        } else {
            output::fields(&[
                ("program", spec.name.to_string()),
                (
                    "against",
                    if deployment.is_some() {
                        "the deployed Execution contract".into()
                    } else {
                        "the compiled Execution contract".to_string()
                    },
                ),
                ("traces", format!("{} inputs", report.inputs)),
                ("random states", report.random_states.to_string()),
                ("steps compared", report.steps.to_string()),
                (
                    "verdict",
                    if report.passed() {
                        "WASM and EVM agree".into()
                    } else {
                        "DIVERGENCE".into()
                    },
                ),
            ]);
            if let Some(d) = &report.divergence {
                println!(
                    "\nfirst divergence at step {} from state {}",
                    d.step, d.from
                );
                println!("  evm:  final {} state {}", d.evm.1, d.evm.0);
                match &d.wasm {
                    Ok((state, final_)) => println!("  wasm: final {final_} state {state}"),
                    Err(e) => println!("  wasm: error {e}"),
                }
            }
        }
        if !report.passed() {
            bail!(
                "{} fails the conformance check: hosts will refuse it",
                spec.name
            );
        }
        Ok(())
    }
}

impl CheckArgs {
    /// A machine program: its module re-lowered here against what the Factory records (the
    /// module's hash, the initial core, the prover), which the chain cannot check itself.
    async fn check_machine(
        &self,
        deployment: &ecm_primitives::Deployment,
        entry: &ecm_primitives::ProgramEntry,
    ) -> Result<()> {
        let wasm = ecm_programs::machine_module(entry).ok_or_else(|| {
            eyre!(
                "no module for {}: the file the deployment names is gone or changed (deploy it again with `ecm program deploy`)",
                self.program
            )
        })?;
        let lowered = ecm_machine::Program::from_wasm(&wasm)
            .wrap_err("the module no longer lowers on this machine")?;
        let url = self
            .rpc
            .rpc_url
            .clone()
            .unwrap_or_else(|| deployment.rpc_url.clone());
        let (provider, _) = ecm_chain::provider(&url, None).await?;
        let factory = ecm_bindings::Factory::new(deployment.factory, &provider);
        let record = factory
            .getProgram(entry.id)
            .call()
            .await
            .wrap_err_with(|| {
                format!(
                    "reading program {} from the Factory (is the devnet running?)",
                    entry.id
                )
            })?;
        let prover = factory.machineProver().call().await?;
        let checks = [
            ("module hash", keccak256(&wasm) == record.wasmHash),
            ("initial core", lowered.initial_core() == record.initialCore),
            ("prover", record.execution == prover),
        ];
        let passed = checks.iter().all(|(_, ok)| *ok);
        if self.output.json {
            output::json(&serde_json::json!({
                "program": self.program,
                "id": entry.id.to_string(),
                "kind": "machine",
                "wasmHash": record.wasmHash.to_string(),
                "initialCore": record.initialCore.to_string(),
                "lowered": lowered.initial_core().to_string(),
                "passed": passed,
            }));
        } else {
            let mut fields = vec![
                ("program", self.program.clone()),
                ("kind", "machine program".to_string()),
                ("id", entry.id.to_string()),
            ];
            for (what, ok) in checks {
                fields.push((
                    what,
                    if ok {
                        "matches the Factory".into()
                    } else {
                        "DIFFERS from the Factory".into()
                    },
                ));
            }
            output::fields(&fields);
        }
        if !passed {
            bail!(
                "{}: the module does not lower to what the Factory records; hosts will refuse it",
                self.program
            );
        }
        Ok(())
    }
}

#[derive(Debug, Args)]
pub(crate) struct RegisterArgs {
    /// The deployed Execution contract.
    #[arg(long)]
    execution: Address,
    /// The WASM module file.
    #[arg(long)]
    wasm: PathBuf,
    /// The gas each step is given.
    #[arg(long)]
    max_step_gas: u32,
    /// Where to find the module and its documentation.
    #[arg(long, default_value = "")]
    metadata_uri: String,
    #[command(flatten)]
    deployment: DeploymentOpts,
    #[command(flatten)]
    rpc: RpcOpts,
    #[command(flatten)]
    wallet: WalletOpts,
}

impl RegisterArgs {
    async fn run(self) -> Result<()> {
        let deployment = self.deployment.load()?;
        let key = self.wallet.require(&deployment)?;
        let bytes = std::fs::read(&self.wasm)
            .wrap_err_with(|| format!("reading {}", self.wasm.display()))?;
        Runtime::new(Limits::default())?
            .load(&bytes)
            .wrap_err("the module is not a valid ecm program")?;
        let wasm_hash = keccak256(&bytes);
        let url = self.rpc.rpc_url.unwrap_or(deployment.rpc_url.clone());
        let (provider, _) = ecm_chain::provider(&url, Some(&key)).await?;
        let factory = ecm_bindings::Factory::new(deployment.factory, &provider);
        let call = factory.registerProgram(
            self.execution,
            wasm_hash,
            self.max_step_gas,
            self.metadata_uri,
        );
        if let Err(e) = call.call().await {
            if let Some(err) =
                e.as_decoded_interface_error::<ecm_bindings::Factory::FactoryErrors>()
            {
                if let ecm_bindings::Factory::FactoryErrors::ImpureProgram(impure) = &err {
                    let name = ecm_verifier::purity::impure_opcode_name(impure.opcode)
                        .unwrap_or("an impure instruction");
                    bail!(
                        "registerProgram reverted: ImpureProgram: {}'s code holds {name} at byte {}; \
                         a step must read nothing but its arguments (no storage, block, transaction \
                         or other accounts, no calls or creations): rebuild it without them",
                        impure.execution,
                        impure.offset
                    );
                }
                bail!("registerProgram reverted: {err:?}");
            }
            bail!("registerProgram: {e}");
        }
        call.send().await?.get_receipt().await?;
        let id = factory
            .programIdOf(self.execution, wasm_hash, self.max_step_gas)
            .call()
            .await?;
        println!("registered program {id} (wasm {wasm_hash})");
        Ok(())
    }
}

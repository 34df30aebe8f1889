//! The programs an agent serves: each module compiled, its Execution code fetched, and the two
//! checked against each other before the agent takes a job on them.

use crate::{AgentConfig, Error, Result};
use alloy::primitives::{B256, Bytes};
use ecm_chain::Chain;
use ecm_primitives::ProgramEntry;
use ecm_runtime::{Runtime, WasmProgram};
use ecm_verifier::{EvmStepper, conformance};
use std::{collections::HashMap, sync::Arc};
use tracing::{error, info, warn};

/// A program the agent serves: its module, and its Execution contract's code and step gas, to
/// check one-step proofs in revm before sending them.
pub(crate) struct Program {
    pub(crate) name: String,
    pub(crate) wasm: WasmProgram,
    pub(crate) execution_code: Bytes,
    pub(crate) max_step_gas: u32,
}

impl Program {
    /// A revm over the program's Execution code (cheap; revm is not `Send`, so one per use).
    pub(crate) fn evm(&self) -> EvmStepper {
        EvmStepper::new(self.execution_code.clone(), self.max_step_gas)
    }
}

/// Loads the programs to serve: compiles each module, fetches its Execution code from the
/// chain, and runs a quick conformance check; a program that fails it is not served.
pub(crate) async fn load_programs(
    config: &AgentConfig,
    chain: &Chain,
) -> Result<HashMap<B256, Arc<Program>>> {
    let runtime = Runtime::new(config.limits.clone()).map_err(|e| Error::Config(e.to_string()))?;
    let wanted: Vec<(&String, &ProgramEntry)> = config
        .deployment
        .programs
        .iter()
        .filter(|(name, _)| {
            config.programs.is_empty() || config.programs.iter().any(|p| p == *name)
        })
        .collect();
    if let Some(unknown) = config
        .programs
        .iter()
        .find(|p| !config.deployment.programs.contains_key(*p))
    {
        return Err(Error::Config(format!(
            "program `{unknown}` is not in the deployment (known: {})",
            config
                .deployment
                .programs
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut programs = HashMap::new();
    let store = config
        .module_dir
        .as_ref()
        .map(ecm_runtime::ModuleStore::new);
    for (name, entry) in wanted {
        if entry.is_machine() {
            // Answering machine programs (wasmtime, then the interpreter in disputes) is the
            // next step of "programs as data"; until then an agent leaves them to others.
            info!(target: "agent", program = %name, "a machine program: not served by this agent yet");
            continue;
        }
        let spec = ecm_programs::by_wasm_hash(entry.wasm_hash);
        let bytes = match (spec, &store) {
            (Some(spec), _) => spec.wasm.to_vec(),
            (None, Some(store)) => match store.get(entry.wasm_hash) {
                Ok(bytes) => bytes,
                Err(e) => {
                    warn!(target: "agent", program = %name, error = %e, "no WASM module for this program: not serving it");
                    continue;
                }
            },
            (None, None) => {
                warn!(target: "agent", program = %name, "no WASM module with the registered hash (give --module-dir): not serving it");
                continue;
            }
        };
        let wasm = match runtime.load(&bytes) {
            Ok(wasm) => wasm,
            Err(e) => {
                error!(target: "agent", program = %name, error = %e, "the program's module is not usable: not serving it");
                continue;
            }
        };
        let execution = entry.execution;
        let execution_code = chain
            .read("eth_getCode", || async move {
                alloy::providers::Provider::get_code_at(chain.provider(), execution).await
            })
            .await?;
        let mut evm = EvmStepper::new(execution_code.clone(), entry.max_step_gas);
        // Representative traces when the program is a known one, generic inputs otherwise, and
        // random states either way.
        let inputs = spec.map(|s| s.samples()).unwrap_or_else(|| {
            vec![
                vec![],
                vec![3, 0, 0, 0, 0, 0, 0, 0],
                vec![7; 40],
                vec![0xff; 96],
            ]
        });
        let plan = conformance::Plan {
            inputs,
            steps_per_input: 400,
            random_states: 64,
            seed: 1,
        };
        let report = match conformance::check(&wasm, &mut evm, &plan) {
            Ok(report) => report,
            Err(e) => {
                error!(target: "agent", program = %name, error = %e, "the conformance check failed to run: not serving it");
                continue;
            }
        };
        if let Some(d) = report.divergence {
            let wasm_side = match &d.wasm {
                Ok((state, final_)) => format!("final {final_}, {} bytes", state.len()),
                Err(e) => format!("error: {e}"),
            };
            error!(target: "agent", program = %name, step = d.step, wasm = %wasm_side, evm_final = d.evm.1, "WASM and EVM disagree: not serving this program");
            continue;
        }
        info!(target: "agent", program = %name, steps = report.steps, "serving");
        let program = Program {
            name: name.clone(),
            wasm,
            execution_code,
            max_step_gas: entry.max_step_gas,
        };
        programs.insert(entry.id, Arc::new(program));
    }
    if programs.is_empty() {
        return Err(Error::Config("no program to serve".into()));
    }
    Ok(programs)
}

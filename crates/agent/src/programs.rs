//! The programs an agent serves, checked before the agent takes a job on them: a step program's
//! module compiled, its Execution code fetched and the two run against each other; a machine
//! program's module found by its hash and lowered, and its initial core compared with the one
//! it is registered with.

use crate::{AgentConfig, Error, Result};
use alloy::primitives::{B256, Bytes};
use ecm_chain::Chain;
use ecm_machine::{FastEngine, FastModule, Program as MachineProgram};
use ecm_primitives::ProgramEntry;
use ecm_runtime::{Runtime, WasmProgram};
use ecm_verifier::{EvmStepper, conformance};
use std::{
    collections::HashMap,
    sync::{Arc, OnceLock},
};
use tracing::{error, info, warn};

/// A program the agent serves.
pub(crate) struct Program {
    pub(crate) name: String,
    pub(crate) engine: Engine,
}

/// How a program's trace is computed and its one step checked before sending it.
pub(crate) enum Engine {
    /// A step program: its module, and its Execution contract's code and step gas, to check
    /// one-step proofs in revm.
    Step {
        wasm: WasmProgram,
        execution_code: Bytes,
        max_step_gas: u32,
    },
    /// A machine program; its proofs are checked against the machine prover in revm.
    Machine(MachineEngine),
}

/// A machine program, lowered for the interpreter (the trace and its proofs, in a dispute) and
/// compiled for wasmtime (the answer, at native speed) when first asked for.
pub(crate) struct MachineEngine {
    pub(crate) program: MachineProgram,
    /// Runs of up to this many steps are answered by the interpreter, which finishes them
    /// sooner than wasmtime compiles the module (and knows the exact step count).
    pub(crate) interpreter_first: u64,
    fast: OnceLock<std::result::Result<FastModule, String>>,
}

/// [`MachineEngine::interpreter_first`]'s default: 2^24 steps, a few tenths of a second on the
/// interpreter, about what compiling a program's module takes.
pub const INTERPRETER_FIRST_STEPS: u64 = 1 << 24;

impl MachineEngine {
    pub(crate) fn new(program: MachineProgram) -> Self {
        Self {
            program,
            interpreter_first: INTERPRETER_FIRST_STEPS,
            fast: OnceLock::new(),
        }
    }

    /// The program compiled by wasmtime (once; an error stays an error).
    pub(crate) fn fast(&self) -> std::result::Result<&FastModule, String> {
        self.fast
            .get_or_init(|| {
                FastEngine::new()
                    .and_then(|engine| engine.compile(&self.program))
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl Program {
    /// A revm over a step program's Execution code (cheap; revm is not `Send`, so one per use);
    /// `None` for a machine program.
    pub(crate) fn evm(&self) -> Option<EvmStepper> {
        match &self.engine {
            Engine::Step {
                execution_code,
                max_step_gas,
                ..
            } => Some(EvmStepper::new(execution_code.clone(), *max_step_gas)),
            Engine::Machine(_) => None,
        }
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
            if let Some(program) = load_machine_program(name, entry, store.as_ref()) {
                programs.insert(entry.id, Arc::new(program));
            }
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
        if let Err(refused) = ecm_verifier::purity::check_registered_code(
            entry.id,
            execution,
            &execution_code,
            entry.wasm_hash,
            entry.max_step_gas,
        ) {
            error!(target: "agent", program = %name, reason = %refused, "not serving it");
            continue;
        }
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
            engine: Engine::Step {
                wasm,
                execution_code,
                max_step_gas: entry.max_step_gas,
            },
        };
        programs.insert(entry.id, Arc::new(program));
    }
    if programs.is_empty() {
        return Err(Error::Config("no program to serve".into()));
    }
    Ok(programs)
}

/// A machine program's module, found by its registered hash (the examples built into ecm, the
/// deployment file's `module` path, then `--module-dir`), lowered and checked against the
/// registered initial core. `None`, with the reason logged, if it cannot be served.
fn load_machine_program(
    name: &str,
    entry: &ProgramEntry,
    store: Option<&ecm_runtime::ModuleStore>,
) -> Option<Program> {
    let from_store = || store.and_then(|store| store.get(entry.wasm_hash).ok());
    let Some(bytes) = ecm_programs::machine_module(entry).or_else(from_store) else {
        warn!(target: "agent", program = %name, "no module with the registered hash (give --module-dir, or deploy it with `ecm program deploy`): not serving it");
        return None;
    };
    let program = match MachineProgram::from_wasm(&bytes) {
        Ok(program) => program,
        Err(e) => {
            error!(target: "agent", program = %name, error = %e, "the machine refuses the module: not serving it");
            return None;
        }
    };
    if Some(program.initial_core()) != entry.initial_core {
        error!(target: "agent", program = %name, lowered = %program.initial_core(), "the module does not lower to the registered initial core: not serving it");
        return None;
    }
    info!(target: "agent", program = %name, "serving (machine program)");
    Some(Program {
        name: name.to_string(),
        engine: Engine::Machine(MachineEngine::new(program)),
    })
}

/// Machine programs found in the module directory after start-up: `ecm program deploy` puts a
/// newly registered module there, and a request for it should not wait for a restart. A
/// module serves a request when the id it would be registered under,
/// `keccak256(abi.encode(prover, wasmHash, initialCore))`, is the request's program id: the id
/// binds the module's hash and its lowering, so a match is proof of the registration.
#[derive(Debug, Default)]
pub(crate) struct ModuleDirScan {
    seen: std::collections::HashSet<std::path::PathBuf>,
}

impl ModuleDirScan {
    /// Lowers the modules of `dir` not seen before and adds those that are not served yet to
    /// `programs`, under the id each would have with `prover`.
    pub(crate) fn scan(
        &mut self,
        dir: &std::path::Path,
        prover: alloy::primitives::Address,
        programs: &mut HashMap<B256, Arc<Program>>,
    ) {
        use alloy::sol_types::SolValue;
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.extension().is_none_or(|ext| ext != "wasm") || !self.seen.insert(path.clone()) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let program = match MachineProgram::from_wasm(&bytes) {
                Ok(program) => program,
                Err(e) => {
                    warn!(target: "agent", path = %path.display(), error = %e, "the machine refuses this module: ignoring it");
                    continue;
                }
            };
            let wasm_hash = alloy::primitives::keccak256(&bytes);
            let id = alloy::primitives::keccak256(
                (prover, wasm_hash, program.initial_core()).abi_encode(),
            );
            if programs.contains_key(&id) {
                continue;
            }
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| wasm_hash.to_string());
            info!(target: "agent", program = %name, %id, "serving (machine program, from the module directory)");
            programs.insert(
                id,
                Arc::new(Program {
                    name,
                    engine: Engine::Machine(MachineEngine::new(program)),
                }),
            );
        }
    }
}

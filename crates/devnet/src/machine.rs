//! Registering machine programs: a WASM module lowered here, registered in the Factory by its
//! hash and the machine's initial core. The chain cannot check that the module lowers to the
//! core it is registered with, so the lowering happens on the registrant's machine, with the
//! same code hosts use to check it (`ecm_machine::Program::from_wasm`).

use crate::{Error, Result};
use alloy::{
    primitives::{Address, B256, keccak256},
    providers::DynProvider,
};
use ecm_bindings::Factory::{self, FactoryErrors};
use ecm_machine::Program;
use ecm_primitives::ProgramEntry;
use std::path::PathBuf;
use tracing::info;

/// A machine program registered (or found already registered) in a Factory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineRegistration {
    /// Its deployment file entry.
    pub entry: ProgramEntry,
    /// Whether this call registered it (false: someone had registered the same module and core).
    pub newly_registered: bool,
}

/// Why a module cannot be registered as a machine program.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The machine refuses the module (the same message `ecm program run` gives).
    #[error("the module cannot run on the machine: {0}")]
    Lowering(#[from] ecm_machine::Error),
    /// The Factory refused the registration.
    #[error("the Factory refused the registration: {0:?}")]
    Refused(FactoryErrors),
    /// Talking to the chain failed.
    #[error(transparent)]
    Chain(#[from] Error),
}

/// Lowers `wasm` and registers it in the Factory at `factory` through `provider` (which signs),
/// unless a program with the same module and initial core is registered already.
/// `module` is recorded in the entry: where hosts load the module from.
pub async fn register_machine_program(
    provider: &DynProvider,
    factory: Address,
    wasm: &[u8],
    metadata_uri: String,
    module: Option<PathBuf>,
) -> Result<MachineRegistration, RegisterError> {
    let program = Program::from_wasm(wasm)?;
    let wasm_hash = keccak256(wasm);
    let initial_core = program.initial_core();
    let factory = Factory::new(factory, provider);
    let id: B256 = factory
        .machineProgramIdOf(wasm_hash, initial_core)
        .call()
        .await
        .map_err(|e| Error::deploy("the program id (is this an ecm Factory?)", e))?;
    let known = factory
        .stepInfo(id)
        .call()
        .await
        .map_err(|e| Error::deploy("the program record", e))?;
    let newly_registered = known.execution.is_zero();
    if newly_registered {
        let call = factory.registerMachineProgram(wasm_hash, initial_core, metadata_uri);
        // Simulate first, so that a refusal is a decoded error rather than a failed transaction.
        if let Err(e) = call.call().await {
            return Err(match e.as_decoded_interface_error::<FactoryErrors>() {
                Some(refusal) => RegisterError::Refused(refusal),
                None => Error::deploy("registerMachineProgram", e).into(),
            });
        }
        call.send()
            .await
            .map_err(|e| Error::deploy("registerMachineProgram", e))?
            .get_receipt()
            .await
            .map_err(|e| Error::deploy("registerMachineProgram", e))?;
        info!(target: "devnet", %id, %wasm_hash, %initial_core, "machine program registered");
    }
    let record = factory
        .stepInfo(id)
        .call()
        .await
        .map_err(|e| Error::deploy("the program record", e))?;
    Ok(MachineRegistration {
        entry: ProgramEntry {
            id,
            execution: record.execution,
            wasm_hash,
            max_step_gas: record.maxStepGas,
            initial_core: Some(initial_core),
            module,
        },
        newly_registered,
    })
}

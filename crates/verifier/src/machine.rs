//! The WASM machine's one-step prover (`contracts/machine/`) in revm: what the chain answers
//! for a step proof, so agents can check a proof before sending it and tests can hold the
//! contract to the interpreter.

use crate::{
    Error, Result,
    evm::{self, CALLER, Evm, in_memory_evm},
};
use alloy::sol_types::{SolCall, SolConstructor, SolInterface};
use alloy_primitives::{Address, B256, Bytes, TxKind, address};
use ecm_bindings::{MachineProver, ProverMemory};
use revm::{
    ExecuteEvm,
    context::{
        TxEnv,
        result::{ExecutionResult, Output},
    },
    database::{CacheDB, EmptyDB},
    state::{AccountInfo, Bytecode},
};

const ENTRY: Address = address!("0x000000000000000000000000000000000000ec10");
const MEMORY: Address = address!("0x000000000000000000000000000000000000ec13");
/// Gas for a proof transaction: far above any step's need.
const TX_GAS: u64 = 10_000_000;

/// What the prover answered for one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenStep {
    /// The next trace state: `H` (32 bytes) while running, the final state otherwise.
    pub next: Vec<u8>,
    /// Whether `next` is final.
    pub final_: bool,
    /// The whole transaction's gas: 21,000, calldata and execution, or the EIP-7623 calldata
    /// floor if that is more.
    pub gas_used: u64,
    /// The gas the call executed: the whole transaction's standard gas less 21,000 and the
    /// calldata's.
    pub execution_gas: u64,
    /// The transaction's calldata: the `step` call, its proof ABI-encoded.
    pub calldata_bytes: usize,
}

/// Why the prover refused a proof: the decoded custom error, by name and values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofRejected(pub String);

/// The entry prover (control and math linked in) and the memory prover it calls, deployed in
/// an in-memory revm.
pub struct MachineProverEvm {
    evm: Evm,
}

impl std::fmt::Debug for MachineProverEvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineProverEvm").finish_non_exhaustive()
    }
}

impl MachineProverEvm {
    /// Deploys the provers.
    pub fn new() -> Result<Self> {
        let mut db = CacheDB::new(EmptyDB::new());
        db.insert_account_info(
            MEMORY,
            AccountInfo::from_bytecode(Bytecode::new_raw(ProverMemory::DEPLOYED_BYTECODE.clone())),
        );
        let mut evm = in_memory_evm(db);
        // Run without the EIP-7623 floor so that a result's gas is the execution's own;
        // `step` applies the floor itself (see `ProvenStep::gas_used`).
        evm.ctx.cfg.disable_eip7623 = true;
        // The entry's prover addresses are immutables: run its constructor, keep the runtime
        // code it returns.
        let mut init = MachineProver::BYTECODE.to_vec();
        init.extend(
            MachineProver::constructorCall {
                memoryProver: MEMORY,
            }
            .abi_encode(),
        );
        let tx = TxEnv::builder()
            .caller(CALLER)
            .kind(TxKind::Create)
            .data(init.into())
            .gas_limit(TX_GAS)
            .gas_price(0)
            .build_fill();
        let outcome = evm.transact(tx).map_err(|e| Error::Evm(e.to_string()))?;
        let runtime = match outcome.result {
            ExecutionResult::Success {
                output: Output::Create(code, _),
                ..
            } => code,
            other => {
                return Err(Error::Harness(format!(
                    "deploying MachineProver: {other:?}"
                )));
            }
        };
        evm.ctx.journaled_state.database.insert_account_info(
            ENTRY,
            AccountInfo::from_bytecode(Bytecode::new_raw(runtime)),
        );
        Ok(Self { evm })
    }

    /// The prover's answer for the step from `state` with `proof`: the next state, or the
    /// custom error it reverted with.
    pub fn step(&mut self, state: B256, proof: &[u8]) -> Result<Result<ProvenStep, ProofRejected>> {
        let call = MachineProver::stepCall {
            state,
            proof: Bytes::copy_from_slice(proof),
        };
        let data = call.abi_encode();
        let calldata_bytes = data.len();
        let intrinsic = evm::intrinsic_gas(&data);
        let floor = evm::floor_gas(&data);
        match evm::call(&mut self.evm, ENTRY, data, TX_GAS)? {
            ExecutionResult::Success { output, gas, .. } => {
                let ret = MachineProver::stepCall::abi_decode_returns(output.data())
                    .map_err(|e| Error::Harness(format!("undecodable prover output: {e}")))?;
                Ok(Ok(ProvenStep {
                    next: ret.next.to_vec(),
                    final_: ret.final_,
                    gas_used: gas.total_gas_spent().max(floor),
                    execution_gas: gas.total_gas_spent() - intrinsic,
                    calldata_bytes,
                }))
            }
            ExecutionResult::Revert { output, .. } => Ok(Err(ProofRejected(decode_error(&output)))),
            ExecutionResult::Halt { reason, .. } => {
                Err(Error::Harness(format!("the prover halted: {reason:?}")))
            }
        }
    }
}

/// The name and values of a prover's custom error, from any of the contracts.
fn decode_error(data: &[u8]) -> String {
    if let Ok(e) = MachineProver::MachineProverErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    if let Ok(e) = ProverMemory::ProverMemoryErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    format!("undecoded revert 0x{}", alloy_primitives::hex::encode(data))
}

//! The WASM machine's one-step prover (`contracts/machine/`) in revm: what the chain answers
//! for a step proof, so agents can check a proof before sending it and tests can hold the
//! contract to the interpreter.

use crate::{
    Error, Result,
    evm::{self, Evm, in_memory_evm},
};
use alloy::sol_types::{SolCall, SolInterface};
use alloy_primitives::{Address, B256, Bytes, address};
use ecm_bindings::MachineProver;
use revm::{
    context::result::ExecutionResult,
    database::{CacheDB, EmptyDB},
    state::{AccountInfo, Bytecode},
};

const ENTRY: Address = address!("0x000000000000000000000000000000000000ec10");
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
    /// What the calldata costs before the floor: 16 gas a byte, 4 a zero byte.
    pub calldata_gas: u64,
}

/// Why the prover refused a proof: the decoded custom error, by name and values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofRejected(pub String);

/// The prover (one contract, its classes linked in), deployed in an in-memory revm.
pub struct MachineProverEvm {
    evm: Evm,
}

impl std::fmt::Debug for MachineProverEvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MachineProverEvm").finish_non_exhaustive()
    }
}

impl MachineProverEvm {
    /// Deploys the prover.
    pub fn new() -> Result<Self> {
        let mut db = CacheDB::new(EmptyDB::new());
        db.insert_account_info(
            ENTRY,
            AccountInfo::from_bytecode(Bytecode::new_raw(MachineProver::DEPLOYED_BYTECODE.clone())),
        );
        let mut evm = in_memory_evm(db);
        // Run without the EIP-7623 floor so that a result's gas is the execution's own;
        // `step` applies the floor itself (see `ProvenStep::gas_used`).
        evm.ctx.cfg.disable_eip7623 = true;
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
                    calldata_gas: intrinsic - 21_000,
                }))
            }
            ExecutionResult::Revert { output, .. } => Ok(Err(ProofRejected(decode_error(&output)))),
            ExecutionResult::Halt { reason, .. } => {
                Err(Error::Harness(format!("the prover halted: {reason:?}")))
            }
        }
    }
}

/// The name and values of the prover's custom error (its libraries' errors included).
fn decode_error(data: &[u8]) -> String {
    if let Ok(e) = MachineProver::MachineProverErrors::abi_decode(data) {
        return format!("{e:?}");
    }
    format!("undecoded revert 0x{}", alloy_primitives::hex::encode(data))
}

//! One step of a program in revm, exactly as the Broker runs it.

use crate::{Error, Result};
use alloy::sol_types::SolCall;
use alloy_primitives::{Address, Bytes, TxKind, U256, address};
use ecm_bindings::StepHarness;
use ecm_runtime::{RunOutput, Stepper};
use revm::{
    Context, ExecuteEvm, MainBuilder, MainnetEvm,
    context::{BlockEnv, CfgEnv, Journal, TxEnv, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
    state::{AccountInfo, Bytecode},
};

/// The hardfork the contracts are compiled for (`evm_version` in foundry.toml) and devnets run.
pub const SPEC: SpecId = SpecId::PRAGUE;

const HARNESS: Address = address!("0x000000000000000000000000000000000000ec01");
const EXECUTION: Address = address!("0x000000000000000000000000000000000000ec02");
/// The sender of every transaction run in the in-memory revm.
pub(crate) const CALLER: Address = address!("0x000000000000000000000000000000000000ec00");
/// Gas for the harness transaction: the step's own gas plus ample room around it.
const HARNESS_GAS: u64 = 30_000_000;

pub(crate) type Db = CacheDB<EmptyDB>;
pub(crate) type Evm = MainnetEvm<Context<BlockEnv, TxEnv, CfgEnv, Db, Journal<Db>, ()>>;

/// Runs a call from [`CALLER`] to `to` in `evm` without committing it; an error only when
/// revm cannot run the transaction at all (a revert or halt is a result).
pub(crate) fn call(
    evm: &mut Evm,
    to: Address,
    data: Vec<u8>,
    gas_limit: u64,
) -> Result<ExecutionResult> {
    let tx = TxEnv::builder()
        .caller(CALLER)
        .kind(TxKind::Call(to))
        .data(data.into())
        .gas_limit(gas_limit)
        .gas_price(0)
        .build_fill();
    let outcome = evm.transact(tx).map_err(|e| Error::Evm(e.to_string()))?;
    Ok(outcome.result)
}

/// A call's intrinsic gas at [`SPEC`]: 21,000 and its calldata (4 gas a zero byte, 16 any
/// other), as a chain charges before executing it.
pub(crate) fn intrinsic_gas(data: &[u8]) -> u64 {
    let zeros = data.iter().filter(|&&b| b == 0).count() as u64;
    21_000 + 4 * zeros + 16 * (data.len() as u64 - zeros)
}

/// A call's EIP-7623 floor at [`SPEC`]: 21,000 and 10 gas per calldata token (a zero byte is
/// one token, any other four). A transaction pays the larger of this and its standard gas.
pub(crate) fn floor_gas(data: &[u8]) -> u64 {
    let zeros = data.iter().filter(|&&b| b == 0).count() as u64;
    21_000 + 10 * (zeros + 4 * (data.len() as u64 - zeros))
}

/// An in-memory EVM over `db` at [`SPEC`], with no block gas limit.
pub(crate) fn in_memory_evm(db: Db) -> Evm {
    Context::new(db, SPEC)
        .modify_block_chained(|block: &mut BlockEnv| block.gas_limit = u64::MAX)
        .build_mainnet()
}

/// One step as the chain computes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmStep {
    /// `s_i`.
    pub state: Vec<u8>,
    /// `f_i`.
    pub final_: bool,
    /// Gas the step took (the CALL and decoding included, as in the one-step proof).
    pub gas_used: u64,
}

/// Runs one program's Execution contract in an in-memory revm.
pub struct EvmStepper {
    evm: Evm,
    max_step_gas: u64,
}

impl std::fmt::Debug for EvmStepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvmStepper")
            .field("max_step_gas", &self.max_step_gas)
            .finish_non_exhaustive()
    }
}

impl EvmStepper {
    /// A stepper over an Execution contract's runtime code, giving each step `max_step_gas`.
    pub fn new(runtime_code: Bytes, max_step_gas: u32) -> Self {
        let mut db = CacheDB::new(EmptyDB::new());
        db.insert_account_info(
            EXECUTION,
            AccountInfo::from_bytecode(Bytecode::new_raw(runtime_code)),
        );
        db.insert_account_info(
            HARNESS,
            AccountInfo::from_bytecode(Bytecode::new_raw(StepHarness::DEPLOYED_BYTECODE.clone())),
        );
        let evm = in_memory_evm(db);
        Self {
            evm,
            max_step_gas: u64::from(max_step_gas),
        }
    }

    /// The gas each step is given.
    pub fn max_step_gas(&self) -> u64 {
        self.max_step_gas
    }

    /// `(s_i, f_i)` from `(f_{i-1}, s_{i-1})` with the Broker's rules.
    pub fn next(&mut self, i: u64, final_: bool, state: &[u8]) -> Result<EvmStep> {
        let call_data = StepHarness::nextCall {
            execution: EXECUTION,
            maxStepGas: U256::from(self.max_step_gas),
            i: U256::from(i),
            final_,
            state: Bytes::copy_from_slice(state),
        };
        match call(&mut self.evm, HARNESS, call_data.abi_encode(), HARNESS_GAS)? {
            ExecutionResult::Success { output, .. } => {
                let ret = StepHarness::nextCall::abi_decode_returns(output.data())
                    .map_err(|e| Error::Harness(format!("undecodable output: {e}")))?;
                Ok(EvmStep {
                    state: ret.nextState.to_vec(),
                    final_: ret.nextFinal,
                    gas_used: ret.gasUsed.to::<u64>(),
                })
            }
            ExecutionResult::Revert { output, .. } => {
                Err(Error::Harness(format!("reverted with {output}")))
            }
            ExecutionResult::Halt { reason, .. } => {
                Err(Error::Harness(format!("halted: {reason:?}")))
            }
        }
    }
}

impl Stepper for EvmStepper {
    fn run(&mut self, first: u64, n: u64, state: &[u8]) -> ecm_runtime::Result<RunOutput> {
        let mut out = RunOutput {
            state: state.to_vec(),
            final_: false,
            steps: 0,
        };
        while out.steps < n && !out.final_ {
            let step = self
                .next(first + out.steps, false, &out.state)
                .map_err(|e| ecm_runtime::Error::Wasmtime(format!("revm: {e}")))?;
            out = RunOutput {
                state: step.state,
                final_: step.final_,
                steps: out.steps + 1,
            };
        }
        Ok(out)
    }
}

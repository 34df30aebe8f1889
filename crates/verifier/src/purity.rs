//! What makes a step program's code pure, the rule the Factory enforces at registration
//! (`Factory.IMPURE_OPCODES`, review finding 1), and the check that an agent's copy of a
//! program's code is the code its id was registered with.
//!
//! A step whose code cannot read storage, the block, the transaction or other accounts, and
//! cannot call or create anything, is a function of `(i, prior)` and its gas alone: the same in
//! the agents' empty revm as on-chain, before and after any answer.

use alloy::sol_types::SolValue;
use alloy_primitives::{Address, B256, U256, keccak256};

/// The opcodes a step program's code may not hold, with their names: exactly the bits of the
/// Factory's `IMPURE_OPCODES`. GAS is allowed: a step is always given exactly its `maxStepGas`,
/// and with no state access its gas use depends on its arguments alone.
pub const IMPURE_OPCODES: &[(u8, &str)] = &[
    (0x30, "ADDRESS"),
    (0x31, "BALANCE"),
    (0x32, "ORIGIN"),
    (0x33, "CALLER"),
    (0x3a, "GASPRICE"),
    (0x3b, "EXTCODESIZE"),
    (0x3c, "EXTCODECOPY"),
    (0x3f, "EXTCODEHASH"),
    (0x40, "BLOCKHASH"),
    (0x41, "COINBASE"),
    (0x42, "TIMESTAMP"),
    (0x43, "NUMBER"),
    (0x44, "PREVRANDAO"),
    (0x45, "GASLIMIT"),
    (0x46, "CHAINID"),
    (0x47, "SELFBALANCE"),
    (0x48, "BASEFEE"),
    (0x49, "BLOBHASH"),
    (0x4a, "BLOBBASEFEE"),
    (0x54, "SLOAD"),
    (0x55, "SSTORE"),
    (0x5c, "TLOAD"),
    (0x5d, "TSTORE"),
    (0xf0, "CREATE"),
    (0xf1, "CALL"),
    (0xf2, "CALLCODE"),
    (0xf4, "DELEGATECALL"),
    (0xf5, "CREATE2"),
    (0xfa, "STATICCALL"),
    (0xff, "SELFDESTRUCT"),
];

/// Every instruction of `code` with its offset, decoded as the EVM does: from byte 0, skipping
/// PUSH immediates. The EVM only jumps to JUMPDESTs found the same way, so these are all the
/// instructions the code can ever run (a data section is decoded as instructions too).
pub fn instructions(code: &[u8]) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let op = code[pc];
        out.push((pc, op));
        pc += 1;
        if (0x60..=0x7f).contains(&op) {
            pc += usize::from(op - 0x5f);
        }
    }
    out
}

/// An instruction that makes a program impure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Impurity {
    /// Its offset in the code.
    pub offset: usize,
    /// The opcode.
    pub opcode: u8,
    /// Its name.
    pub name: &'static str,
}

/// The name of `opcode` if it is impure.
pub fn impure_opcode_name(opcode: u8) -> Option<&'static str> {
    IMPURE_OPCODES
        .iter()
        .find(|(op, _)| *op == opcode)
        .map(|(_, name)| *name)
}

/// The first impure instruction of `code`, if any (what `Factory.registerProgram` refuses).
pub fn first_impurity(code: &[u8]) -> Option<Impurity> {
    instructions(code).into_iter().find_map(|(offset, opcode)| {
        impure_opcode_name(opcode).map(|name| Impurity {
            offset,
            opcode,
            name,
        })
    })
}

/// Why an agent will not run a step program's code as the program's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefused {
    /// The code's hash is not the one the program id binds.
    #[error("the code at {execution} is not the code program {id} was registered with")]
    NotTheRegisteredCode {
        /// The program.
        id: B256,
        /// Where the code was read.
        execution: Address,
    },
    /// The code holds an impure instruction.
    #[error(
        "the Execution code holds {} at byte {}: its step could read state or call out, so it \
         could change behaviour after an answer",
        .0.name,
        .0.offset
    )]
    Impure(Impurity),
}

/// Checks that `code`, read at `execution`, is the code program `id` was registered with, and
/// that it is pure: then an empty revm runs it as the chain does, before and after any answer.
pub fn check_registered_code(
    id: B256,
    execution: Address,
    code: &[u8],
    wasm_hash: B256,
    max_step_gas: u32,
) -> Result<(), CodeRefused> {
    if step_program_id(execution, code, wasm_hash, max_step_gas) != id {
        return Err(CodeRefused::NotTheRegisteredCode { id, execution });
    }
    match first_impurity(code) {
        Some(impurity) => Err(CodeRefused::Impure(impurity)),
        None => Ok(()),
    }
}

/// The id the Factory gives a step program with this code (`Factory.programIdOf`): it binds
/// the code's hash, so an agent that finds its program's id from the code it fetched knows it
/// checks the code the chain runs.
pub fn step_program_id(
    execution: Address,
    code: &[u8],
    wasm_hash: B256,
    max_step_gas: u32,
) -> B256 {
    keccak256(
        (
            execution,
            keccak256(code),
            wasm_hash,
            U256::from(max_step_gas),
        )
            .abi_encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Rust list and the Factory's mask are the same set.
    #[test]
    fn the_list_is_the_factorys_mask() {
        let source = include_str!("../../../contracts/Factory.sol");
        let hex = source
            .split("IMPURE_OPCODES = 0x")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .expect("Factory.sol declares IMPURE_OPCODES");
        let mask = U256::from_str_radix(hex, 16).unwrap();
        let ours = IMPURE_OPCODES.iter().fold(U256::ZERO, |m, (op, _)| {
            m | (U256::from(1) << usize::from(*op))
        });
        assert_eq!(ours, mask);
    }

    #[test]
    fn the_scan_skips_push_data_and_finds_the_first_impurity() {
        // PUSH1 0x54, PUSH2 0xf1 0xf1, GAS, SLOAD, CALL.
        let code = [0x60, 0x54, 0x61, 0xf1, 0xf1, 0x5a, 0x54, 0xf1];
        assert_eq!(
            first_impurity(&code),
            Some(Impurity {
                offset: 6,
                opcode: 0x54,
                name: "SLOAD"
            })
        );
        assert_eq!(
            first_impurity(&code[..6]),
            None,
            "GAS and push data are pure"
        );
    }

    /// The registered code passes; other code at the address, or impure code registered under
    /// its own id, is refused with the reason.
    #[test]
    fn registered_code_is_checked_against_its_id_and_for_purity() {
        let (execution, wasm, gas) = (Address::repeat_byte(9), B256::repeat_byte(1), 20_000);
        let pure = [0x5a, 0x00];
        let id = step_program_id(execution, &pure, wasm, gas);
        assert_eq!(
            check_registered_code(id, execution, &pure, wasm, gas),
            Ok(())
        );
        assert_eq!(
            check_registered_code(id, execution, &[0x00], wasm, gas),
            Err(CodeRefused::NotTheRegisteredCode { id, execution })
        );
        let impure = [0x54];
        let impure_id = step_program_id(execution, &impure, wasm, gas);
        let refused = check_registered_code(impure_id, execution, &impure, wasm, gas).unwrap_err();
        assert!(refused.to_string().contains("SLOAD at byte 0"), "{refused}");
    }
}

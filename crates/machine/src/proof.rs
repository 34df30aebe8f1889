//! One-step proofs: for a running state, the exact bytes the on-chain prover
//! (`contracts/machine/MachineProver.sol`) needs to execute the next instruction from the state
//! hash alone.
//!
//! ```text
//! core (204 B)                    the whole core, as hash.rs encodes it
//! ioHash (32 B)
//! module preimage (68 B)          codeRoot | codeDepth u32 | keccak(tableRoot | tableDepth u32 | tableSize u32)
//! code leaf (32 B)                the two instructions of leaf pc / 2, then its codeDepth
//! code path (32 B x codeDepth)    siblings, bottom-up (both absent when pc / 2 is past the
//!                                 tree: that instruction is a trap)
//! the instruction's part          what it reads, below
//! ```
//!
//! The instruction's part, for the instructions provable so far:
//!
//! ```text
//! pops n values                   rest (32 B: the chain below them) | the n values, deepest
//!                                 first, u64 each     (drop 1, select 3, math 1 or 2,
//!                                 local.set/tee and global.set 1)
//! a local or global               then its leaf (32 B: 4 x u64) | path (32 B x aux,
//!                                 bottom-up) in the locals or globals tree; none when the
//!                                 index is past the tree (a trap)
//! const, trap                     nothing
//! br, return (and br_if taken or  the kept and the dropped values when it drops any (aux
//!   not, after its condition)     kept, b dropped), as a pop
//! call, call_indirect             its parameters (aux), as a pop; call_indirect's table index
//!                                 on top of them
//! return                          then, inside a call: rest of the frame chain (32 B) |
//!                                 returnPc u32 | callerLocalsRoot (32 B)
//! call_indirect                   then codeRoot | codeDepth u32 | tableRoot | tableDepth u32 |
//!                                 tableSize u32, and when the index is inside the table its
//!                                 leaf (32 B) and path (32 B x tableDepth)
//! halt                            its exit code as a pop, then inputRoot | inputLen u32 |
//!                                 outLen u32 | the output bytes
//! ```
//!
//! Every integer is big-endian. The contract consumes the proof exactly: a byte missing, extra
//! or changed makes it revert.

use crate::{
    hash::{CORE_BYTES, values_leaves},
    inst::{INST_BYTES, Inst, Op},
    machine::{Machine, Status},
    program::{MODULE_PREIMAGE_BYTES, module_preimage},
    tree::MerkleTree,
};

/// Why no proof can be made for a machine's next step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The machine has halted or trapped: its trace is final and needs no more proofs.
    #[error("the machine is not running ({0:?}): a final state needs no proof")]
    NotRunning(Status),
    /// The on-chain prover does not execute this instruction class yet.
    #[error(
        "no one-step proof for `{0}` yet: the prover does not execute memory and I/O instructions yet"
    )]
    Unsupported(Op),
}

/// How many values an instruction pops from the value stack, for the instructions the prover
/// executes; `None` for the others.
pub fn stack_pops(op: Op) -> Option<usize> {
    let code = op as u16;
    Some(match op {
        Op::Trap | Op::Const => 0,
        Op::LocalGet | Op::GlobalGet => 0,
        Op::Drop | Op::LocalSet | Op::LocalTee | Op::GlobalSet => 1,
        Op::Select => 3,
        Op::I32Eqz
        | Op::I32Clz
        | Op::I32Ctz
        | Op::I32Popcnt
        | Op::I32WrapI64
        | Op::I32Extend8S
        | Op::I32Extend16S
        | Op::I64Eqz
        | Op::I64Clz
        | Op::I64Ctz
        | Op::I64Popcnt
        | Op::I64ExtendI32S
        | Op::I64ExtendI32U
        | Op::I64Extend8S
        | Op::I64Extend16S
        | Op::I64Extend32S => 1,
        _ if (0x40..=0x8f).contains(&code) => 2,
        _ => return None,
    })
}

/// How many values from the top of the value stack an instruction's proof reveals, for the
/// instructions the prover executes; `None` for the others. A branch that drops values
/// reveals the ones it keeps and the ones it drops (the chain is rebuilt without the latter).
pub fn revealed_values(inst: &Inst) -> Option<usize> {
    let unwound = match inst.b {
        0 => 0,
        drop => usize::from(inst.aux) + drop as usize,
    };
    Some(match inst.op {
        Op::Br | Op::Return => unwound,
        Op::BrIf => 1 + unwound,
        Op::JumpIfZero | Op::BrTable | Op::Halt => 1,
        Op::Call => usize::from(inst.aux),
        Op::CallIndirect => usize::from(inst.aux) + 1,
        op => stack_pops(op)?,
    })
}

impl Machine {
    /// The proof of the next step (see the module docs for its layout).
    pub fn prove_step(&mut self) -> Result<Vec<u8>, ProofError> {
        if self.status() != Status::Running {
            return Err(ProofError::NotRunning(self.status()));
        }
        let pc = self.pc() as usize;
        let program = self.program().clone();
        let inst = program.code().get(pc).copied().unwrap_or(Inst::TRAP);
        let pops = revealed_values(&inst).ok_or(ProofError::Unsupported(inst.op))?;

        let core = self.core();
        let io_hash = self.io_hash();
        let p = &program.0;
        let code_path = match pc / 2 {
            leaf if leaf < (1usize << p.code_tree.depth()) => Some(leaf),
            _ => None,
        };
        let mut proof = Vec::with_capacity(
            CORE_BYTES
                + 32
                + MODULE_PREIMAGE_BYTES
                + 2 * INST_BYTES * (1 + p.code_tree.depth() as usize)
                + 32
                + 8 * pops,
        );
        proof.extend_from_slice(&core.encode());
        proof.extend_from_slice(io_hash.as_slice());
        proof.extend_from_slice(&module_preimage(
            &p.code_tree,
            &p.table_tree,
            p.table.len() as u32,
        ));
        if let Some(leaf) = code_path {
            proof.extend_from_slice(p.code_tree.leaf(leaf).as_slice());
            for sibling in p.code_tree.path(leaf) {
                proof.extend_from_slice(sibling.as_slice());
            }
        }
        if pops > 0 {
            let stack = self.stack_values();
            let below = stack.len() - pops;
            let popped: Vec<u64> = stack[below..].to_vec();
            proof.extend_from_slice(self.stack_chain_below(below).as_slice());
            for value in popped {
                proof.extend_from_slice(&value.to_be_bytes());
            }
        }
        let values = match inst.op {
            Op::LocalGet | Op::LocalSet | Op::LocalTee => Some(self.frame_locals()),
            Op::GlobalGet | Op::GlobalSet => Some(self.globals_values()),
            _ => None,
        };
        if let Some((values, depth)) = values {
            // The instruction's `aux` is the depth the contract uses; the tree is the state's.
            let leaf = inst.a as usize / 4;
            if leaf.checked_shr(u32::from(inst.aux)).unwrap_or(0) == 0 {
                let tree = MerkleTree::new(values_leaves(values), depth, 0);
                proof.extend_from_slice(tree.leaf(leaf).as_slice());
                for sibling in tree.path(leaf) {
                    proof.extend_from_slice(sibling.as_slice());
                }
            }
        }
        match inst.op {
            Op::Return => {
                if let Some((rest, return_pc, caller_root)) = self.top_frame_record() {
                    proof.extend_from_slice(rest.as_slice());
                    proof.extend_from_slice(&return_pc.to_be_bytes());
                    proof.extend_from_slice(caller_root.as_slice());
                }
            }
            Op::CallIndirect => {
                let table_size = p.table.len() as u32;
                proof.extend_from_slice(p.code_tree.root().as_slice());
                proof.extend_from_slice(&p.code_tree.depth().to_be_bytes());
                proof.extend_from_slice(p.table_tree.root().as_slice());
                proof.extend_from_slice(&p.table_tree.depth().to_be_bytes());
                proof.extend_from_slice(&table_size.to_be_bytes());
                let index = *self.stack_values().last().expect("validated code") as u32;
                if index < table_size {
                    proof.extend_from_slice(p.table_tree.leaf(index as usize).as_slice());
                    for sibling in p.table_tree.path(index as usize) {
                        proof.extend_from_slice(sibling.as_slice());
                    }
                }
            }
            Op::Halt => {
                let (input_root, input_len) = self.input_commitment();
                proof.extend_from_slice(input_root.as_slice());
                proof.extend_from_slice(&input_len.to_be_bytes());
                let output = self.output();
                proof.extend_from_slice(&(output.len() as u32).to_be_bytes());
                proof.extend_from_slice(output);
            }
            _ => {}
        }
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_math_instruction_is_provable_and_nothing_else_in_its_range() {
        for &op in Op::ALL {
            let code = op as u16;
            if (0x40..=0x8f).contains(&code) {
                assert!(matches!(stack_pops(op), Some(1 | 2)), "{op}");
            }
            if (0x20..=0x3f).contains(&code) {
                assert_eq!(stack_pops(op), None, "{op}: memory is not provable yet");
            }
        }
    }
}

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
//! The instruction's part:
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
//! loads, stores, memory.*, ecm.*  their operands as a pop (a load 1, a store 2, grow 1,
//!                                 copy/fill/input_read 3, output/log 2), then
//!                                 input_len, input_read, output: the I/O preimage (104 B:
//!                                 inputRoot | inputLen u32 | outAcc | outBuf | outLen u32)
//!                                 input_read: the input leaf read (32 B) and its 8-level path
//!                                 the memory read (a load's, a copy's or output's source),
//!                                 then the memory written (a store's, or a copy's, fill's or
//!                                 input_read's destination): one leaf with its 21-level
//!                                 path, or for a load or store across two leaves, a span
//!                                 (below). Nothing past the bounds check when the step
//!                                 traps, nor for a chunk of 0 bytes.
//!
//! span of leaves i, i + 1         leaf i | leaf i + 1 | i's siblings below the level t where
//!                                 the two paths meet (t = trailing ones of i; 32 B x t) |
//!                                 i + 1's siblings below it (32 B x t) | the shared siblings
//!                                 above it (32 B x (20 - t)): 704 B for an even i, never
//!                                 more than two paths (1,344 B)
//! ```
//!
//! Every integer is big-endian. The contract consumes the proof exactly: a byte missing, extra
//! or changed makes it revert.

use crate::{
    hash::{CORE_BYTES, values_leaves},
    inst::{INST_BYTES, Inst, Op},
    io,
    limits::LEAF_BYTES,
    machine::{Machine, Status},
    memory::Memory,
    program::{MODULE_PREIMAGE_BYTES, module_preimage},
    tree::MerkleTree,
};

const LEAF: u64 = LEAF_BYTES as u64;

/// Why no proof can be made for a machine's next step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The machine has halted or trapped: its trace is final and needs no more proofs.
    #[error("the machine is not running ({0:?}): a final state needs no proof")]
    NotRunning(Status),
}

/// How many values an instruction of fixed arity pops (trap, const, drop, select, locals,
/// globals and math); `None` for the others, whose proofs [`revealed_values`] sizes.
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

/// Bytes a load reads.
pub fn load_width(op: Op) -> Option<u64> {
    Some(match op {
        Op::I32Load8S | Op::I32Load8U | Op::I64Load8S | Op::I64Load8U => 1,
        Op::I32Load16S | Op::I32Load16U | Op::I64Load16S | Op::I64Load16U => 2,
        Op::I32Load | Op::I64Load32S | Op::I64Load32U => 4,
        Op::I64Load => 8,
        _ => return None,
    })
}

/// Bytes a store writes.
pub fn store_width(op: Op) -> Option<u64> {
    Some(match op {
        Op::I32Store8 | Op::I64Store8 => 1,
        Op::I32Store16 | Op::I64Store16 => 2,
        Op::I32Store | Op::I64Store32 => 4,
        Op::I64Store => 8,
        _ => return None,
    })
}

/// How many values from the top of the value stack an instruction's proof reveals. A branch
/// that drops values reveals the ones it keeps and the ones it drops (the chain is rebuilt
/// without the latter).
pub fn revealed_values(inst: &Inst) -> usize {
    let unwound = match inst.b {
        0 => 0,
        drop => usize::from(inst.aux) + drop as usize,
    };
    match inst.op {
        Op::Br | Op::Return => unwound,
        Op::BrIf => 1 + unwound,
        Op::JumpIfZero | Op::BrTable | Op::Halt => 1,
        Op::Call => usize::from(inst.aux),
        Op::MemorySize | Op::InputLen => 0,
        Op::MemoryGrow => 1,
        Op::Log | Op::Output => 2,
        Op::MemoryCopy | Op::MemoryFill | Op::InputRead => 3,
        op if load_width(op).is_some() => 1,
        op if store_width(op).is_some() => 2,
        Op::CallIndirect => usize::from(inst.aux) + 1,
        op => stack_pops(op).expect("every other instruction has a fixed arity"),
    }
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
        let pops = revealed_values(&inst);

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
            _ => self.prove_memory(&inst, &mut proof),
        }
        Ok(proof)
    }
}

impl Machine {
    /// The memory and I/O part of a proof: the I/O preimage for the instructions that read
    /// it, then the memory leaves the step reads or writes, each with its path.
    fn prove_memory(&mut self, inst: &Inst, proof: &mut Vec<u8>) {
        let stack = self.stack_values();
        let arg = |k: usize| stack[stack.len() - k] as u32 as u64;
        let leaf = |addr: u64| addr / LEAF;
        let mem_len = self.memory_bytes().len() as u64;
        let in_bounds = |addr: u64, n: u64| addr + n <= mem_len;
        // The leaves read, and the bytes written (first byte, length).
        let mut reads: Vec<u64> = Vec::new();
        let mut write: Option<(u64, u64)> = None;
        let mut io = false;
        match inst.op {
            op if load_width(op).is_some() => {
                let (ea, n) = (arg(1) + u64::from(inst.a), load_width(op).unwrap());
                if in_bounds(ea, n) {
                    reads.extend(leaf(ea)..=leaf(ea + n - 1));
                }
            }
            op if store_width(op).is_some() => {
                let (ea, n) = (arg(2) + u64::from(inst.a), store_width(op).unwrap());
                if in_bounds(ea, n) {
                    write = Some((ea, n));
                }
            }
            Op::InputLen => io = true,
            Op::MemoryCopy | Op::MemoryFill | Op::InputRead | Op::Output => {
                io = matches!(inst.op, Op::InputRead | Op::Output);
                if let Some(chunk) = self.next_chunk(inst.op) {
                    reads.extend(chunk.reads);
                    write = chunk.write;
                }
            }
            _ => {}
        }
        if io {
            proof.extend_from_slice(&self.io_preimage());
        }
        if inst.op == Op::InputRead
            && let Some(chunk) = self.next_chunk(inst.op)
            && let Some(input_leaf) = chunk.input_leaf
        {
            let (root, tree) = (self.input_commitment().0, io::input_tree(self.input()));
            debug_assert_eq!(tree.root(), root);
            proof.extend_from_slice(tree.leaf(input_leaf as usize).as_slice());
            for sibling in tree.path(input_leaf as usize) {
                proof.extend_from_slice(sibling.as_slice());
            }
        }
        let memory = self.memory_mut();
        match reads[..] {
            [index] => push_leaf(memory, index, proof),
            [low, high] => push_span(memory, low, high, proof),
            _ => {}
        }
        if let Some((start, n)) = write {
            let (first, last) = (leaf(start), leaf(start + n - 1));
            if first == last {
                push_leaf(memory, first, proof);
            } else {
                push_span(memory, first, last, proof);
            }
        }
    }

    /// What the next step of a restartable instruction moves: `None` when it traps or moves
    /// nothing (`n = 0`). The rules are the interpreter's (`machine.rs`, `io.rs`).
    fn next_chunk(&self, op: Op) -> Option<Chunk> {
        let stack = self.stack_values();
        let arg = |k: usize| stack[stack.len() - k] as u32 as u64;
        let memory = self.memory_bytes();
        let mem_len = memory.len() as u64;
        let leaves = |start: u64, n: u64| (start / LEAF..=(start + n - 1) / LEAF).collect();
        match op {
            Op::MemoryCopy => {
                let (dst, src, n) = (arg(3), arg(2), arg(1));
                if dst + n > mem_len || src + n > mem_len || n == 0 {
                    return None;
                }
                let (to, from, c) = io::copy_chunk(dst, src, n);
                Some(Chunk {
                    reads: leaves(from, c),
                    write: Some((to, c)),
                    input_leaf: None,
                })
            }
            Op::MemoryFill => {
                let (dst, n) = (arg(3), arg(1));
                if dst + n > mem_len || n == 0 {
                    return None;
                }
                let c = match io::steps_one(dst, n) {
                    1 => n,
                    _ => io::chunk(n, &[dst]),
                };
                Some(Chunk {
                    reads: Vec::new(),
                    write: Some((dst, c)),
                    input_leaf: None,
                })
            }
            Op::InputRead => {
                let (dst, off, n) = (arg(3), arg(2), arg(1));
                let input = self.input();
                io::check_input_read(mem_len, input.len() as u64, dst, off, n).ok()?;
                if n == 0 {
                    return None;
                }
                let c = match io::steps_two(dst, off, n) {
                    1 => n,
                    _ => io::chunk(n, &[dst, off]),
                };
                Some(Chunk {
                    reads: Vec::new(),
                    write: Some((dst, c)),
                    input_leaf: Some(off / LEAF),
                })
            }
            Op::Output => {
                let (src, n) = (arg(2), arg(1));
                let written = self.output().len() as u64;
                io::check_output(mem_len, written, src, n).ok()?;
                if n == 0 {
                    return None;
                }
                let c = match io::steps_two(src, written, n) {
                    1 => n,
                    _ => io::chunk(n, &[src, written]),
                };
                Some(Chunk {
                    reads: leaves(src, c),
                    write: None,
                    input_leaf: None,
                })
            }
            _ => None,
        }
    }
}

/// Memory leaf `index` and its path.
fn push_leaf(memory: &mut Memory, index: u64, proof: &mut Vec<u8>) {
    proof.extend_from_slice(&memory.leaf(index));
    for sibling in memory.path(index) {
        proof.extend_from_slice(sibling.as_slice());
    }
}

/// Adjacent memory leaves `low` and `high = low + 1` as a span: both leaves, each one's
/// siblings below the level where their paths meet, then the siblings they share above it.
fn push_span(memory: &mut Memory, low: u64, high: u64, proof: &mut Vec<u8>) {
    debug_assert_eq!(high, low + 1);
    let split = low.trailing_ones() as usize;
    let (low_path, high_path) = (memory.path(low), memory.path(high));
    debug_assert_eq!(low_path[split + 1..], high_path[split + 1..]);
    proof.extend_from_slice(&memory.leaf(low));
    proof.extend_from_slice(&memory.leaf(high));
    for sibling in low_path[..split]
        .iter()
        .chain(&high_path[..split])
        .chain(&low_path[split + 1..])
    {
        proof.extend_from_slice(sibling.as_slice());
    }
}

/// The bytes one step of a restartable instruction moves.
struct Chunk {
    /// Memory leaves read.
    reads: Vec<u64>,
    /// Memory written: first byte, length.
    write: Option<(u64, u64)>,
    /// The input leaf read.
    input_leaf: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instruction_has_a_proof_size() {
        for &op in Op::ALL {
            let code = op as u16;
            if (0x40..=0x8f).contains(&code) {
                assert!(matches!(stack_pops(op), Some(1 | 2)), "{op}");
            }
            // Panics for an instruction nothing sizes.
            revealed_values(&Inst::new(op));
        }
    }
}

//! Input, output and the chunking of restartable instructions: the rules the interpreter, the
//! wasmtime and wasmi host functions and (later) the on-chain prover must share byte for byte.
//!
//! A restartable instruction moves at most one leaf's worth of bytes per step, cut wherever a
//! 32-byte leaf it touches begins, so a step's proof needs one leaf per stream it touches
//! (`memory.copy`: the source leaf and the destination leaf). With `n` bytes to move it takes
//! as many steps as chunks, and one step when `n` is 0 (the bounds check).

use crate::{
    limits::{INPUT_DEPTH, LEAF_BYTES, MAX_INPUT_BYTES, MAX_OUTPUT_BYTES},
    tree,
};
use alloy_primitives::{B256, keccak256};

const LEAF: u64 = LEAF_BYTES as u64;

/// How many leaf boundaries `(start + k) % 32 == 0` fall strictly inside `0 < k < len`.
fn boundaries_inside(start: u64, len: u64) -> u64 {
    if len == 0 {
        return 0;
    }
    (start + len - 1) / LEAF - start / LEAF
}

/// Bytes the next chunk moves when cutting at leaf boundaries of every stream in `starts`.
pub fn chunk(len: u64, starts: &[u64]) -> u64 {
    starts.iter().map(|s| LEAF - s % LEAF).fold(len, u64::min)
}

/// Steps of a restartable instruction moving `len` bytes cut at the leaf boundaries of one
/// stream starting at `a` (`memory.fill`, which reads nothing).
pub fn steps_one(a: u64, len: u64) -> u64 {
    if len == 0 {
        1
    } else {
        1 + boundaries_inside(a, len)
    }
}

/// Steps of a restartable instruction cut at the boundaries of two streams starting at `a` and
/// `b` (`memory.copy`: destination and source; `ecm.input_read`: memory and input;
/// `ecm.output`: memory and output). A backward copy cuts at the same places, from the end.
pub fn steps_two(a: u64, b: u64, len: u64) -> u64 {
    if len == 0 {
        return 1;
    }
    let (ca, cb) = (boundaries_inside(a, len), boundaries_inside(b, len));
    // Where the two streams are aligned alike, their boundaries coincide.
    if a % LEAF == b % LEAF {
        1 + ca
    } else {
        1 + ca + cb
    }
}

/// Bytes the next chunk of a backward `memory.copy` (`dst > src`) moves: its last `len` bytes
/// cut at the leaf boundaries of both streams, counted from their ends.
pub fn chunk_from_end(len: u64, ends: &[u64]) -> u64 {
    ends.iter()
        .map(|e| match e % LEAF {
            0 => LEAF,
            r => r,
        })
        .fold(len, u64::min)
}

/// The next chunk of `memory.copy(dst, src, n)`, `n > 0`: where it writes, where it reads and
/// how many bytes. Forward (`dst <= src`) from the start, backward from the end (so the result
/// is `memmove`'s), cut at both streams' leaf boundaries; the last chunk is all that is left.
pub fn copy_chunk(dst: u64, src: u64, n: u64) -> (u64, u64, u64) {
    if dst <= src {
        (dst, src, chunk(n, &[dst, src]))
    } else {
        let c = chunk_from_end(n, &[dst + n, src + n]);
        (dst + n - c, src + n - c, c)
    }
}

/// The input tree: the input in 32-byte leaves, zero-padded, 8 levels.
pub fn input_tree(input: &[u8]) -> tree::MerkleTree {
    tree::MerkleTree::new(input_leaves(input), INPUT_DEPTH, 0)
}

fn input_leaves(input: &[u8]) -> Vec<B256> {
    input
        .chunks(LEAF_BYTES)
        .map(|chunk| {
            let mut leaf = [0u8; LEAF_BYTES];
            leaf[..chunk.len()].copy_from_slice(chunk);
            B256::from(leaf)
        })
        .collect()
}

/// The root of the input tree: the input in 32-byte leaves, zero-padded, 8 levels.
pub fn input_root(input: &[u8]) -> B256 {
    debug_assert!(input.len() <= MAX_INPUT_BYTES);
    tree::root(&input_leaves(input), INPUT_DEPTH)
}

/// Why an I/O primitive traps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoFault {
    /// The memory range is outside memory.
    Memory,
    /// `ecm.input_read` asked for bytes past the end of the input.
    Input,
    /// `ecm.output` would make the output longer than [`MAX_OUTPUT_BYTES`].
    OutputFull,
}

/// Checks an `ecm.input_read(dst, offset, len)` against a memory of `memory_len` bytes.
pub fn check_input_read(
    memory_len: u64,
    input_len: u64,
    dst: u64,
    offset: u64,
    len: u64,
) -> Result<(), IoFault> {
    if dst + len > memory_len {
        return Err(IoFault::Memory);
    }
    if offset + len > input_len {
        return Err(IoFault::Input);
    }
    Ok(())
}

/// Checks an `ecm.output(src, len)` with `written` bytes already out.
pub fn check_output(memory_len: u64, written: u64, src: u64, len: u64) -> Result<(), IoFault> {
    if src + len > memory_len {
        return Err(IoFault::Memory);
    }
    if written + len > MAX_OUTPUT_BYTES as u64 {
        return Err(IoFault::OutputFull);
    }
    Ok(())
}

/// The output stream and its running hash: each full 32-byte chunk folds into
/// `acc = keccak(acc || chunk)`; the partial chunk waits in `buf`. How the program split its
/// writes does not matter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    bytes: Vec<u8>,
    /// The accumulator over the first `folded` chunks.
    acc: B256,
    folded: usize,
}

impl Output {
    /// The bytes written so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Appends bytes (the caller checked the cap).
    pub fn extend(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
    }

    /// `(outAcc, outBuf, outLen)`: folds the chunks completed since the last call.
    pub fn hashes(&mut self) -> (B256, B256, u32) {
        let full = self.bytes.len() / LEAF_BYTES;
        while self.folded < full {
            let chunk = B256::from_slice(&self.bytes[self.folded * LEAF_BYTES..][..LEAF_BYTES]);
            self.acc = tree::hash_pair(&self.acc, &chunk);
            self.folded += 1;
        }
        let mut buf = [0u8; LEAF_BYTES];
        let rest = &self.bytes[full * LEAF_BYTES..];
        buf[..rest.len()].copy_from_slice(rest);
        (self.acc, B256::from(buf), self.bytes.len() as u32)
    }
}

/// `ioHash = keccak(inputRoot || inputLen u32 || outAcc || outBuf || outLen u32)`.
pub fn io_hash(input_root: B256, input_len: u32, output: &mut Output) -> B256 {
    keccak256(io_preimage(input_root, input_len, output))
}

/// Bytes in the I/O hash's preimage.
pub const IO_PREIMAGE_BYTES: usize = 104;

/// `inputRoot || inputLen u32 || outAcc || outBuf || outLen u32`: what a proof of an I/O step
/// reveals.
pub fn io_preimage(
    input_root: B256,
    input_len: u32,
    output: &mut Output,
) -> [u8; IO_PREIMAGE_BYTES] {
    let (acc, buf, len) = output.hashes();
    let mut preimage = [0u8; IO_PREIMAGE_BYTES];
    preimage[..32].copy_from_slice(input_root.as_slice());
    preimage[32..36].copy_from_slice(&input_len.to_be_bytes());
    preimage[36..68].copy_from_slice(acc.as_slice());
    preimage[68..100].copy_from_slice(buf.as_slice());
    preimage[100..104].copy_from_slice(&len.to_be_bytes());
    preimage
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Steps by walking the chunks one by one, as the machine does: forward from the streams'
    /// starts, or (a backward copy) from their ends.
    fn walk(mut at: Vec<u64>, mut len: u64, from_end: bool) -> u64 {
        if len == 0 {
            return 1;
        }
        let mut steps = 0;
        while len > 0 {
            let c = if from_end {
                chunk_from_end(len, &at)
            } else {
                chunk(len, &at)
            };
            assert!((1..=32).contains(&c));
            for a in &mut at {
                *a = if from_end { *a - c } else { *a + c };
            }
            len -= c;
            steps += 1;
        }
        steps
    }

    proptest! {
        #[test]
        fn closed_forms_count_the_chunks(a in 0u64..200, b in 0u64..200, len in 0u64..300) {
            prop_assert_eq!(steps_one(a, len), walk(vec![a], len, false));
            prop_assert_eq!(steps_two(a, b, len), walk(vec![a, b], len, false));
            prop_assert_eq!(steps_two(a, b, len), walk(vec![a + len, b + len], len, true));
            // fuel charges 1 + len for a bulk operation: never fewer than its steps.
            prop_assert!(steps_one(a, len) <= 1 + len);
            prop_assert!(steps_two(a, b, len) <= 1 + len);
            // A copy's chunk moves everything left exactly when it is the last one.
            if len > 0 {
                prop_assert_eq!(copy_chunk(a, b, len).2 == len, steps_two(a, b, len) == 1);
            }
        }

        #[test]
        fn output_hash_ignores_how_writes_are_split(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..5),
        ) {
            let mut whole = Output::default();
            whole.extend(&data);
            let mut pieces = Output::default();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort();
            let mut at = 0;
            for c in cuts.into_iter().chain([data.len()]) {
                pieces.extend(&data[at..c]);
                let _ = pieces.hashes();
                at = c;
            }
            prop_assert_eq!(whole.hashes(), pieces.hashes());
        }
    }

    #[test]
    fn output_accumulator_folds_full_chunks() {
        let mut out = Output::default();
        out.extend(&[7u8; 40]);
        let (acc, buf, len) = out.hashes();
        assert_eq!(acc, keccak256([[0u8; 32], [7u8; 32]].concat()));
        let mut expected = [0u8; 32];
        expected[..8].fill(7);
        assert_eq!(buf, B256::from(expected));
        assert_eq!(len, 40);
    }

    #[test]
    fn input_root_pads_to_eight_levels() {
        assert_eq!(input_root(&[]), tree::zero(INPUT_DEPTH));
        let mut leaf = [0u8; 32];
        leaf[0] = 1;
        assert_eq!(
            input_root(&[1]),
            tree::root(&[B256::from(leaf)], INPUT_DEPTH)
        );
    }

    #[test]
    fn bounds_checks_use_the_whole_range() {
        assert_eq!(check_input_read(64, 10, 60, 0, 4), Ok(()));
        assert_eq!(check_input_read(64, 10, 61, 0, 4), Err(IoFault::Memory));
        assert_eq!(check_input_read(64, 10, 0, 7, 4), Err(IoFault::Input));
        assert_eq!(check_input_read(64, 10, 64, 10, 0), Ok(()));
        assert_eq!(
            check_output(64, MAX_OUTPUT_BYTES as u64 - 1, 0, 2),
            Err(IoFault::OutputFull)
        );
    }
}

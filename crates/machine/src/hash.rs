//! The machine hash: what the trace commits to at every running step.
//!
//! ```text
//! core (204 B)  valueStack   bytes32  hash chain over all frames' values: h' = keccak(h || u64)
//!               frameStack   bytes32  h' = keccak(h || returnPc u32 || callerLocalsRoot)
//!               localsRoot   bytes32  the running frame's locals, 4 x u64 per leaf
//!               globalsRoot  bytes32  mutable globals, 4 x u64 per leaf
//!               memoryRoot   bytes32  21 levels of raw 32-byte leaves
//!               moduleRoot   bytes32  code and table (see Program::module_root)
//!               pc u32 | pages u32 | frameDepth u32
//! ioHash        keccak(inputRoot || inputLen u32 || outAcc || outBuf || outLen u32)
//! H             keccak(keccak(core) || ioHash)
//! ```
//!
//! Everything is big-endian, as Solidity's `abi.encodePacked` lays it out. Empty chains are
//! the zero hash.

use crate::tree::{self, hash_pair};
use alloy_primitives::{B256, keccak256};

/// Bytes in an encoded core.
pub const CORE_BYTES: usize = 204;

/// The fixed-size part of the machine state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Core {
    /// The value stack's chain hash.
    pub value_stack: B256,
    /// The frame stack's chain hash.
    pub frame_stack: B256,
    /// The running frame's locals root.
    pub locals_root: B256,
    /// The mutable globals' root.
    pub globals_root: B256,
    /// The memory root.
    pub memory_root: B256,
    /// The code and table commitment.
    pub module_root: B256,
    /// The next instruction.
    pub pc: u32,
    /// Memory size in pages.
    pub pages: u32,
    /// Number of frames (calls not yet returned).
    pub frame_depth: u32,
}

impl Core {
    /// The 204-byte encoding.
    pub fn encode(&self) -> [u8; CORE_BYTES] {
        let mut out = [0u8; CORE_BYTES];
        for (i, root) in [
            self.value_stack,
            self.frame_stack,
            self.locals_root,
            self.globals_root,
            self.memory_root,
            self.module_root,
        ]
        .iter()
        .enumerate()
        {
            out[32 * i..32 * i + 32].copy_from_slice(root.as_slice());
        }
        out[192..196].copy_from_slice(&self.pc.to_be_bytes());
        out[196..200].copy_from_slice(&self.pages.to_be_bytes());
        out[200..204].copy_from_slice(&self.frame_depth.to_be_bytes());
        out
    }

    /// `keccak(core)`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// `H = keccak(coreHash || ioHash)`.
pub fn machine_hash(core_hash: B256, io_hash: B256) -> B256 {
    hash_pair(&core_hash, &io_hash)
}

/// The value stack's chain after pushing `value`.
#[inline]
pub fn push_value(chain: &B256, value: u64) -> B256 {
    let mut buf = [0u8; 40];
    buf[..32].copy_from_slice(chain.as_slice());
    buf[32..].copy_from_slice(&value.to_be_bytes());
    keccak256(buf)
}

/// The frame stack's chain after pushing a frame record.
pub fn push_frame(chain: &B256, return_pc: u32, caller_locals_root: &B256) -> B256 {
    let mut buf = [0u8; 68];
    buf[..32].copy_from_slice(chain.as_slice());
    buf[32..36].copy_from_slice(&return_pc.to_be_bytes());
    buf[36..].copy_from_slice(caller_locals_root.as_slice());
    keccak256(buf)
}

/// The root of a tree of u64 values packed four to a leaf (big-endian lanes), `depth` levels:
/// locals and globals.
pub fn values_root(values: &[u64], depth: u32) -> B256 {
    tree::root(&values_leaves(values), depth)
}

/// The leaves of a values tree: four u64 to a leaf, big-endian lanes, the last leaf
/// zero-padded.
pub fn values_leaves(values: &[u64]) -> Vec<B256> {
    values
        .chunks(4)
        .map(|lanes| {
            let mut leaf = [0u8; 32];
            for (k, v) in lanes.iter().enumerate() {
                leaf[8 * k..8 * k + 8].copy_from_slice(&v.to_be_bytes());
            }
            B256::from(leaf)
        })
        .collect()
}

/// The depth of a values tree holding `n` values.
pub fn values_depth(n: usize) -> u32 {
    tree::depth_for(n.div_ceil(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_packed_big_endian() {
        let core = Core {
            pc: 0x0102_0304,
            pages: 2,
            frame_depth: 1,
            module_root: B256::repeat_byte(0xaa),
            ..Core::default()
        };
        let bytes = core.encode();
        assert_eq!(&bytes[160..192], &[0xaa; 32]);
        assert_eq!(&bytes[192..204], &[1, 2, 3, 4, 0, 0, 0, 2, 0, 0, 0, 1]);
        let mut preimage = [0u8; 40];
        preimage[39] = 7;
        assert_eq!(push_value(&B256::ZERO, 7), keccak256(preimage));
    }

    #[test]
    fn values_pack_four_to_a_leaf() {
        assert_eq!(values_depth(0), 0);
        assert_eq!(values_depth(4), 0);
        assert_eq!(values_depth(5), 1);
        assert_eq!(values_depth(17), 3);
        let mut leaf = [0u8; 32];
        leaf[7] = 1;
        leaf[31] = 4;
        assert_eq!(values_root(&[1, 0, 0, 4], 0), B256::from(leaf));
        assert_eq!(values_root(&[], 2), tree::zero(2));
    }
}

//! A sequential hash chain, the benchmark workload: `h_i = keccak256(h_{i-1})`.
//!
//! Input and state: `n` (8 little-endian bytes) then a 32-byte hash. Final at step `max(n, 1)`,
//! whose result is the 32-byte `h_n`.

use alloc::vec::Vec;
use tiny_keccak::{Hasher, Keccak};

const STATE_BYTES: usize = 40;

/// The input for `n` rounds from `seed`.
pub fn input(n: u64, seed: [u8; 32]) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    bytes.extend_from_slice(&seed);
    bytes
}

/// One step.
pub fn step(i: u64, state: &mut Vec<u8>) -> bool {
    if state.len() != STATE_BYTES {
        return crate::halt(state);
    }
    let mut hash = [0u8; 32];
    let mut keccak = Keccak::v256();
    keccak.update(&state[8..40]);
    keccak.finalize(&mut hash);
    let n = crate::read_u64(state);
    if i >= n {
        state.clear();
        state.extend_from_slice(&hash);
        return true;
    }
    state[8..40].copy_from_slice(&hash);
    false
}

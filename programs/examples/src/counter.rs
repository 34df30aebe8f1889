//! Counts to `n`: the cheapest step, for disputes over very long traces.
//!
//! Input: `n` as 8 little-endian bytes. State: `n` then the step count, 8 little-endian bytes
//! each. Final at step `max(n, 1)`, whose state is the result.

use alloc::vec::Vec;

/// The input for counting to `n`.
pub fn input(n: u64) -> Vec<u8> {
    n.to_le_bytes().to_vec()
}

/// One step.
pub fn step(i: u64, state: &mut Vec<u8>) -> bool {
    let expected = if i == 1 { 8 } else { 16 };
    if state.len() != expected {
        return crate::halt(state);
    }
    let n = crate::read_u64(state);
    state.truncate(8);
    state.extend_from_slice(&i.to_le_bytes());
    i >= n
}

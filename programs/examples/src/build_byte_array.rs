//! ECM's toy program: step `k` writes byte `k` (mod 256); final once the array is as long as the
//! input. For an input of `L` bytes the result is `[1, 2, ..., L]` after `max(L, 1)` steps. The
//! state keeps the input's length (a pure step cannot read it from storage as ECM's did).

use alloc::vec::Vec;

/// An input of `len` zero bytes: the result will be `[1, 2, ..., len]`.
pub fn input(len: usize) -> Vec<u8> {
    alloc::vec![0; len]
}

/// One step.
pub fn step(i: u64, state: &mut Vec<u8>) -> bool {
    let index = (i - 1) as usize;
    if index >= state.len() {
        state.resize(index + 1, 0);
    }
    state[index] = i as u8;
    i as usize >= state.len()
}

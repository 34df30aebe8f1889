//! ECM's toy program: step `k` writes byte `k` (mod 256); final once the array is as long as the
//! input. For an input of `L` bytes the result is `[1, 2, ..., L]` after `max(L, 1)` steps. The
//! state keeps the input's length (a pure step cannot read it from storage as ECM's did); step
//! `k` appends only when the state is exactly `k - 1` long (the empty input), and halts on a
//! shorter, malformed state.

use alloc::vec::Vec;

/// An input of `len` zero bytes: the result will be `[1, 2, ..., len]`.
pub fn input(len: usize) -> Vec<u8> {
    alloc::vec![0; len]
}

/// One step.
pub fn step(i: u64, state: &mut Vec<u8>) -> bool {
    let Some(index) = i.checked_sub(1).map(|k| k as usize) else {
        return crate::halt(state);
    };
    if index > state.len() {
        return crate::halt(state);
    }
    if index == state.len() {
        state.push(0);
    }
    state[index] = i as u8;
    i as usize >= state.len()
}

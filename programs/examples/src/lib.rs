//! The step functions of ecm's example programs, in plain Rust.
//!
//! Each module is one program: `step(i, state)` rewrites `s_{i-1}` into `s_i` and returns `f_i`,
//! byte for byte as the program's Execution contract in `contracts/programs/` does (the
//! conformance tests of `ecm-verifier` check it). The same code is compiled to WASM for hosts
//! (`programs/wasm/*`) and natively as the reference implementation.
//!
//! Shared rule: a state a program cannot parse halts the trace, with an empty final state, as the
//! EVM's halting rule does for a step that reverts.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;

pub mod blake2b;
pub mod build_byte_array;
pub mod counter;
pub mod fibonacci;
pub mod keccak_chain;

use alloc::vec::Vec;

/// Ends the trace: empty state, final.
pub(crate) fn halt(state: &mut Vec<u8>) -> bool {
    state.clear();
    true
}

/// `v` as 8 little-endian bytes.
pub(crate) fn read_u64(bytes: &[u8]) -> u64 {
    let mut le = [0u8; 8];
    le.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(le)
}

//! ECM's Fibonacci: F(0) = F(1) = 1, F(k) = F(k-1) + F(k-2) modulo 2^256.
//!
//! Input: `n` as little-endian bytes (any length; bytes past the 32nd vanish modulo 2^256).
//! `n + 1` steps; the result is F(n) as minimal little-endian bytes. State: three 32-byte
//! little-endian words `[F(i-2) | F(i-1) | n]` (ECM kept `n` in storage; a pure step needs it in
//! the state).

use alloc::vec::Vec;

/// A 256-bit unsigned integer as four little-endian 64-bit limbs.
type U256 = [u64; 4];

const STATE_BYTES: usize = 96;

/// The input for F(n): `n` as minimal little-endian bytes.
pub fn input(n: u64) -> Vec<u8> {
    let mut bytes = n.to_le_bytes().to_vec();
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

fn read(bytes: &[u8]) -> U256 {
    let mut word = [0u8; 32];
    let len = bytes.len().min(32);
    word[..len].copy_from_slice(&bytes[..len]);
    let mut limbs = [0u64; 4];
    for (k, limb) in limbs.iter_mut().enumerate() {
        *limb = crate::read_u64(&word[8 * k..]);
    }
    limbs
}

fn write(out: &mut Vec<u8>, v: &U256) {
    for limb in v {
        out.extend_from_slice(&limb.to_le_bytes());
    }
}

fn add(a: &U256, b: &U256) -> U256 {
    let mut sum = [0u64; 4];
    let mut carry = false;
    for k in 0..4 {
        let (s1, c1) = a[k].overflowing_add(b[k]);
        let (s2, c2) = s1.overflowing_add(carry as u64);
        sum[k] = s2;
        carry = c1 || c2;
    }
    sum
}

fn greater(a: u64, b: &U256) -> bool {
    b[1] == 0 && b[2] == 0 && b[3] == 0 && a > b[0]
}

/// One step.
pub fn step(i: u64, state: &mut Vec<u8>) -> bool {
    let one: U256 = [1, 0, 0, 0];
    let (n, previous, current) = if i == 1 {
        (read(state), [0u64; 4], one)
    } else {
        if state.len() != STATE_BYTES {
            return crate::halt(state);
        }
        let a = read(&state[0..32]);
        let b = read(&state[32..64]);
        let n = read(&state[64..96]);
        (n, b, if i == 2 { one } else { add(&a, &b) })
    };
    state.clear();
    if greater(i, &n) {
        write(state, &current);
        while state.last() == Some(&0) {
            state.pop();
        }
        return true;
    }
    write(state, &previous);
    write(state, &current);
    write(state, &n);
    false
}

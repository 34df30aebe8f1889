//! BLAKE2b-512 of the input, one 128-byte block per step (the EVM side uses the EIP-152
//! precompile for the compression function).
//!
//! State after step `i < N`: the chaining value `h` (64 bytes: eight little-endian words), the
//! byte counter `t` (8 bytes, little-endian) and the input not yet hashed. The last block is
//! zero-padded and compressed with the final flag; the result is the 64-byte digest.
//! `N = max(1, ceil(len / 128))`.

use alloc::vec::Vec;

const BLOCK: usize = 128;
const HEADER: usize = 72;

const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

/// The compression function F of RFC 7693 with 12 rounds (what EIP-152 computes).
fn compress(h: &mut [u64; 8], m: &[u64; 16], t: u64, last: bool) {
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= t;
    if last {
        v[14] = !v[14];
    }
    for round in 0..12 {
        let s = &SIGMA[round % 10];
        mix(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        mix(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        mix(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        mix(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        mix(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        mix(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        mix(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        mix(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for k in 0..8 {
        h[k] ^= v[k] ^ v[k + 8];
    }
}

fn mix(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

/// One step.
pub fn step(i: u64, state: &mut Vec<u8>) -> bool {
    let mut h = [0u64; 8];
    let (t, rest_start) = if i == 1 {
        h = IV;
        h[0] ^= 0x0101_0040; // digest length 64, no key, fanout 1, depth 1
        (0u64, 0usize)
    } else {
        if state.len() < HEADER {
            return crate::halt(state);
        }
        for (k, word) in h.iter_mut().enumerate() {
            *word = crate::read_u64(&state[8 * k..]);
        }
        (crate::read_u64(&state[64..]), HEADER)
    };
    let rest = &state[rest_start..];
    let last = rest.len() <= BLOCK;
    let take = if last { rest.len() } else { BLOCK };
    let mut block = [0u8; BLOCK];
    block[..take].copy_from_slice(&rest[..take]);
    let mut m = [0u64; 16];
    for (k, word) in m.iter_mut().enumerate() {
        *word = crate::read_u64(&block[8 * k..]);
    }
    let t = t + take as u64;
    compress(&mut h, &m, t, last);

    let mut next = Vec::with_capacity(if last {
        64
    } else {
        HEADER + rest.len() - BLOCK
    });
    for word in h {
        next.extend_from_slice(&word.to_le_bytes());
    }
    if !last {
        next.extend_from_slice(&t.to_le_bytes());
        next.extend_from_slice(&rest[BLOCK..]);
    }
    *state = next;
    last
}

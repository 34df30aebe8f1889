//! Protocol definitions shared by every ecm crate.
//!
//! The contracts and the off-chain agents must agree byte for byte on a few rules; this crate
//! is their one Rust copy (the Solidity copy is `contracts/libraries/`):
//!
//! ```text
//! trace:       s_0 = input, (s_i, f_i) = step(i, s_{i-1}), sticky once final
//! commitment:  c_i = keccak256(f_i as one byte || s_i)          -> [`commitment`]
//! claim:       an answer's (result, steps, final)               -> [`Claim`]
//! commitment to an answer before its reveal                      -> [`answer_commitment`]
//! bisection:   split points and rounds of the k-ary game         -> [`game`]
//! deployment:  where the contracts and programs are              -> [`Deployment`]
//! ```

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod deployment;
pub mod error;
pub mod game;

pub use deployment::{Deployment, DevAccount, ProgramEntry};
pub use error::{Error, Result};

use alloy_primitives::{B256, Bytes, keccak256};
use serde::{Deserialize, Serialize};

/// The largest state (and input, and result) the protocol carries, in bytes.
pub const MAX_STATE_BYTES: usize = 8192;

/// The commitment `c = keccak256(abi.encodePacked(final, state))` to a trace point.
pub fn commitment(final_: bool, state: &[u8]) -> B256 {
    let mut preimage = Vec::with_capacity(state.len() + 1);
    preimage.push(final_ as u8);
    preimage.extend_from_slice(state);
    keccak256(preimage)
}

/// What a host commits to before revealing its answer (`commitAnswer`): `keccak256(abi.encode(id,
/// claim, steps, host, salt))`, as the Broker's `answerCommitment` computes it.
pub fn answer_commitment(
    id: alloy_primitives::U256,
    claim: B256,
    steps: u64,
    host: alloy_primitives::Address,
    salt: B256,
) -> B256 {
    let mut words = [0u8; 160];
    words[..32].copy_from_slice(&id.to_be_bytes::<32>());
    words[32..64].copy_from_slice(claim.as_slice());
    words[88..96].copy_from_slice(&steps.to_be_bytes());
    words[108..128].copy_from_slice(host.as_slice());
    words[128..].copy_from_slice(salt.as_slice());
    keccak256(words)
}

/// What an answer (or a challenge) claims: the state after `steps` steps, and whether it is
/// final (`false` means "out of steps" at `maxSteps`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The state reached: the result if final.
    pub result: Bytes,
    /// The number of steps taken.
    pub steps: u64,
    /// Whether the state is final.
    #[serde(rename = "final")]
    pub final_: bool,
}

impl Claim {
    /// The claimed `c_N`, as the Broker stores it.
    pub fn commitment(&self) -> B256 {
        commitment(self.final_, &self.result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::b256;

    #[test]
    fn commitment_matches_solidity_encode_packed() {
        // keccak256(abi.encodePacked(true, hex"aa")) = keccak256(0x01aa)
        assert_eq!(commitment(true, &[0xaa]), keccak256([0x01, 0xaa]));
        // keccak256(abi.encodePacked(false, "")) = keccak256(0x00)
        assert_eq!(
            commitment(false, &[]),
            b256!("bc36789e7a1e281436464229828f817d6612f7b477d66591ff96a9e064bcc98a")
        );
    }

    #[test]
    fn claims_differ_by_final_flag() {
        let a = Claim {
            result: Bytes::from_static(b"x"),
            steps: 3,
            final_: true,
        };
        let b = Claim {
            final_: false,
            ..a.clone()
        };
        assert_ne!(a.commitment(), b.commitment());
    }
}

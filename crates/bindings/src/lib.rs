//! alloy bindings to the ecm contracts.
//!
//! `build.rs` compiles `contracts/` with solc's standard JSON interface, through the
//! `tools/solc` shim over the npm `solc` package (no compiler download), with the settings read
//! from `foundry.toml`;
//! each contract below is an `alloy::sol!` module generated from its artifact, with the bytecode
//! to deploy it. The `test-fixtures` feature adds the contracts only tests use.
//!
//! ```text
//! contracts/*.sol --tools/solc (standard JSON)--> artifacts (OUT_DIR) --sol!--> Broker, Factory, ...
//! contracts/interfaces/*.sol enums --syn-solidity--> protocol::{Status, Phase, ...}
//! ```
//!
//! Reverts decode into each contract's error enum, e.g. [`Broker::BrokerErrors`]. The ABI carries
//! the protocol's enums as `uint8`; [`protocol`] has them as Rust enums, so a status is matched
//! by name and exhaustively, never by number.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]
#![allow(unreachable_pub, missing_docs)]
// Generated constructors take one argument per event or struct field (`RequestInput` has eight).
#![allow(clippy::too_many_arguments)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

impl IBroker::Record {
    /// Whether this record's address may answer a request with host admission
    /// `min_host_jobs` (`RequestOptions.minHostJobs`), by the Broker's rule: zero admits
    /// anyone; otherwise at least that many requests paid to it as the host and no dispute
    /// over its own answer lost.
    pub fn meets(&self, min_host_jobs: u16) -> bool {
        min_host_jobs == 0 || (self.paid >= u32::from(min_host_jobs) && self.defencesLost == 0)
    }
}

pub mod protocol {
    //! The protocol's enums, generated from the Solidity interfaces (`contracts/interfaces/`)
    //! with their NatSpec, numbered as the ABI numbers them. Convert a `uint8` from the chain
    //! with `TryFrom<u8>`: a number the contract does not define is an [`UnknownValue`].

    #![warn(missing_docs)]

    include!(concat!(env!("OUT_DIR"), "/protocol.rs"));

    /// A `uint8` that is not a value of the protocol enum it was read as: the contract is newer
    /// than this build of ecm, or the value was not read from the slot it should have been.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
    #[error("{value} is not a {ty} (is ecm older than the contracts it talks to?)")]
    pub struct UnknownValue {
        /// The enum's name.
        pub ty: &'static str,
        /// The number read.
        pub value: u8,
    }

    impl Status {
        /// Whether nothing more will happen to the request.
        pub fn is_settled(self) -> bool {
            matches!(self, Self::Finalized | Self::Cancelled)
        }

        /// Whether an answer is public on-chain: sent plainly or revealed, so its challenge
        /// window has started. A commitment alone is not an answer yet.
        pub fn has_answer(self) -> bool {
            match self {
                Self::Pending | Self::Committed | Self::Cancelled => false,
                Self::WaitingForResolution
                | Self::NeedsResolution
                | Self::Resolving
                | Self::SoftResolution
                | Self::FirmResolution
                | Self::Finalized => true,
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn host_admission_needs_the_jobs_and_no_defence_lost() {
            let record = |paid, lost| crate::IBroker::Record {
                paid,
                defencesLost: lost,
                ..Default::default()
            };
            assert!(record(0, 0).meets(0));
            assert!(record(0, 5).meets(0), "zero admits anyone");
            assert!(!record(2, 0).meets(3));
            assert!(record(3, 0).meets(3));
            assert!(!record(100, 1).meets(3));
        }

        #[test]
        fn values_convert_both_ways_and_unknown_ones_are_refused() {
            for status in Status::ALL {
                assert_eq!(Status::try_from(u8::from(status)), Ok(status));
            }
            assert_eq!(Status::try_from(7), Ok(Status::Cancelled));
            assert_eq!(Status::try_from(8), Ok(Status::Committed));
            assert!(!Status::Committed.has_answer() && Status::Finalized.has_answer());
            assert_eq!(
                Status::try_from(9),
                Err(UnknownValue {
                    ty: "Status",
                    value: 9
                })
            );
            assert_eq!(Phase::try_from(3), Ok(Phase::OneStep));
            assert_eq!(DisputeMode::FullExecution.to_string(), "FullExecution");
            assert_eq!(ProgramKind::try_from(1), Ok(ProgramKind::Machine));
            assert_eq!(CreditReason::ALL.len(), 7);
        }
    }
}

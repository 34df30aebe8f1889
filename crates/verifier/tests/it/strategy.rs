//! Off-chain games between an honest party and a liar: the moves the strategy picks always
//! lead the one step to the honest side's favour (checked in revm, as the Broker would decide).

use alloy_primitives::B256;
use ecm_primitives::{commitment, game};
use ecm_runtime::{NativeStepper, TraceOracle};
use ecm_verifier::{EvmStepper, strategy};
use proptest::prelude::*;

/// A stepper that follows the honest program but lies from step `lie_at` on (flips a byte).
#[derive(Clone, Copy)]
struct Liar {
    step: fn(u64, &mut Vec<u8>) -> bool,
    lie_at: u64,
}

impl ecm_runtime::Stepper for Liar {
    fn run(
        &mut self,
        first: u64,
        n: u64,
        state: &[u8],
    ) -> ecm_runtime::Result<ecm_runtime::RunOutput> {
        let mut state = state.to_vec();
        let (mut steps, mut final_) = (0, false);
        while steps < n && !final_ {
            let i = first + steps;
            final_ = (self.step)(i, &mut state);
            if i == self.lie_at {
                if let Some(b) = state.last_mut() {
                    *b ^= 1
                } else {
                    state.push(1)
                }
            }
            steps += 1;
        }
        Ok(ecm_runtime::RunOutput {
            state,
            final_,
            steps,
        })
    }
}

/// Plays a whole game off-chain; returns whether the defender wins the one step in revm.
fn play<D: ecm_runtime::Stepper, C: ecm_runtime::Stepper>(
    defender: &mut TraceOracle<D>,
    challenger: &mut TraceOracle<C>,
    n: u64,
    arity: u64,
    evm: &mut EvmStepper,
) -> Option<bool> {
    let (mut lo, mut hi) = (0u64, n);
    let (mut c_lo, mut c_hi) = (
        defender.commitment(0).unwrap(),
        defender.commitment(n).unwrap(),
    );
    if challenger.commitment(n).unwrap() == c_hi {
        return None; // nothing to dispute
    }
    let mut rounds = 0;
    while hi - lo > 1 {
        let points = strategy::defender_points(defender, lo, hi, arity).unwrap();
        let index = strategy::challenger_index(challenger, lo, hi, arity, &points, c_hi)
            .unwrap()
            .expect("disagrees");
        let parts = game::parts(lo, hi, arity);
        let (new_lo, new_hi) = (
            game::split_point(lo, hi, parts, index),
            game::split_point(lo, hi, parts, index + 1),
        );
        if index > 0 {
            c_lo = points[index as usize - 1];
        }
        if index + 1 < parts {
            c_hi = points[index as usize];
        }
        (lo, hi) = (new_lo, new_hi);
        rounds += 1;
    }
    assert!(rounds <= game::rounds(n, arity));
    // Whoever can open c_lo reveals it (the challenger agreed with it, so it can).
    let point = if defender.commitment(lo).unwrap() == c_lo {
        strategy::reveal(defender, lo)
    } else {
        strategy::reveal(challenger, lo)
    }
    .unwrap();
    assert_eq!(point.commitment(), c_lo);
    let computed: B256 = strategy::one_step_commitment(evm, lo, &point).unwrap();
    Some(computed == c_hi)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Over random traces with a lie at a random step, the honest side wins.
    #[test]
    fn the_honest_side_wins(n in 2u64..400, lie in 1u64..400, arity in 2u64..=16, defender_lies: bool) {
        let spec = ecm_programs::by_name("keccak-chain").unwrap();
        let input = spec.parse_input(&n.to_string()).unwrap();
        let lie_at = 1 + lie % n;
        let honest = NativeStepper(spec.native);
        let liar = Liar { step: spec.native, lie_at };
        let mut evm = EvmStepper::new(spec.runtime_bytecode.clone(), spec.max_step_gas);
        let mut honest_oracle = TraceOracle::new(honest, input.clone(), n, 1 << 16);
        let mut liar_oracle = TraceOracle::new(liar, input.clone(), n, 1 << 16);
        let outcome = if defender_lies {
            play(&mut liar_oracle, &mut honest_oracle, n, arity, &mut evm)
        } else {
            play(&mut honest_oracle, &mut liar_oracle, n, arity, &mut evm)
        };
        let defender_won = outcome.expect("a lie on a hash chain changes the claim");
        prop_assert_eq!(defender_won, !defender_lies);
    }
}

#[test]
fn commitments_use_the_protocol_encoding() {
    let spec = ecm_programs::by_name("counter").unwrap();
    let input = spec.parse_input("3").unwrap();
    let mut oracle = TraceOracle::new(NativeStepper(spec.native), input.clone(), 10, 1 << 10);
    assert_eq!(oracle.commitment(0).unwrap(), commitment(false, &input));
}

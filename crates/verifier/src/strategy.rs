//! Bisection moves from a trace oracle: what the defender posts, what the challenger picks,
//! what is revealed at the one step, and what the one step will decide.

use crate::{EvmStepper, Result};
use alloy_primitives::B256;
use ecm_primitives::{commitment, game};
use ecm_runtime::{Point, TracePoints};

/// The defender's commitments at the split points of `[lo, hi]`.
pub fn defender_points<T: TracePoints + ?Sized>(
    oracle: &mut T,
    lo: u64,
    hi: u64,
    arity: u64,
) -> Result<Vec<B256>> {
    game::interior_points(lo, hi, arity)
        .into_iter()
        .map(|p| Ok(oracle.commitment(p)?))
        .collect()
}

/// The sub-segment an honest challenger picks among the defender's `posted` points of
/// `[lo, hi]` (whose right end is `c_hi`): the first whose right end it disagrees with. `None`
/// if it agrees with every point, then the defender's claim is right and the challenge wrong.
pub fn challenger_index<T: TracePoints + ?Sized>(
    oracle: &mut T,
    lo: u64,
    hi: u64,
    arity: u64,
    posted: &[B256],
    c_hi: B256,
) -> Result<Option<u64>> {
    let parts = game::parts(lo, hi, arity);
    for j in 0..parts {
        let right = if j + 1 < parts {
            posted[j as usize]
        } else {
            c_hi
        };
        if oracle.commitment(game::split_point(lo, hi, parts, j + 1))? != right {
            return Ok(Some(j));
        }
    }
    Ok(None)
}

/// The point to reveal at the one step `[lo, lo + 1]`.
pub fn reveal<T: TracePoints + ?Sized>(oracle: &mut T, lo: u64) -> Result<Point> {
    Ok(oracle.point(lo)?)
}

/// What the Broker's one-step will compute for step `lo + 1` from `point`: checked in revm
/// before sending, so a party never sends a proof it would lose.
pub fn one_step_commitment(evm: &mut EvmStepper, lo: u64, point: &Point) -> Result<B256> {
    let next = evm.next(lo + 1, point.final_, &point.state)?;
    Ok(commitment(next.final_, &next.state))
}

//! Does a program's WASM module compute exactly what its Execution contract computes?
//!
//! [`check`] runs both side by side, step by step, over the first steps of several inputs and
//! over random states at random step numbers (states no honest trace may reach, but a one-step
//! proof must still agree on), and reports the first divergence.

use crate::{EvmStepper, Result};
use alloy_primitives::Bytes;
use ecm_runtime::WasmProgram;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;

/// What the check covered, and the first divergence if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConformanceReport {
    /// Inputs whose traces were compared.
    pub inputs: usize,
    /// Random states compared.
    pub random_states: usize,
    /// Steps compared in all.
    pub steps: u64,
    /// The first disagreement, if any.
    pub divergence: Option<Divergence>,
}

impl ConformanceReport {
    /// Whether WASM and EVM agreed everywhere.
    pub fn passed(&self) -> bool {
        self.divergence.is_none()
    }
}

/// Where WASM and EVM disagree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The state stepped from, `s_{i-1}`.
    pub from: Bytes,
    /// The step number `i`.
    pub step: u64,
    /// The WASM module's `(s_i, f_i)`, or its error.
    pub wasm: Result<(Bytes, bool), String>,
    /// The Execution contract's `(s_i, f_i)`.
    pub evm: (Bytes, bool),
}

/// How much to check.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Inputs to run from.
    pub inputs: Vec<Vec<u8>>,
    /// At most this many steps of each input's trace.
    pub steps_per_input: u64,
    /// How many random states to try.
    pub random_states: usize,
    /// Seed for the random states.
    pub seed: u64,
}

/// Runs the module and the contract side by side as `plan` says.
pub fn check(wasm: &WasmProgram, evm: &mut EvmStepper, plan: &Plan) -> Result<ConformanceReport> {
    let mut instance = wasm.instantiate()?;
    let mut report = ConformanceReport {
        inputs: 0,
        random_states: 0,
        steps: 0,
        divergence: None,
    };

    for input in &plan.inputs {
        report.inputs += 1;
        let mut state = input.clone();
        for i in 1..=plan.steps_per_input {
            let (next, final_) = match compare(&mut instance, evm, i, &state)? {
                Ok(next) => next,
                Err(divergence) => {
                    report.divergence = Some(divergence);
                    return Ok(report);
                }
            };
            report.steps += 1;
            state = next;
            if final_ {
                break;
            }
        }
    }

    let mut rng = StdRng::seed_from_u64(plan.seed);
    for _ in 0..plan.random_states {
        report.random_states += 1;
        let len = match rng.random_range(0..4) {
            0 => rng.random_range(0..=16),
            1 => [8, 16, 40, 64, 72, 96, 128, 200][rng.random_range(0..8)],
            _ => rng.random_range(0..=600),
        };
        let state: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let i = if rng.random_bool(0.3) {
            1
        } else {
            rng.random_range(2..=1000)
        };
        if let Err(divergence) = compare(&mut instance, evm, i, &state)? {
            report.divergence = Some(divergence);
            return Ok(report);
        }
        report.steps += 1;
    }
    Ok(report)
}

type Compared = std::result::Result<(Vec<u8>, bool), Divergence>;

fn compare(
    instance: &mut ecm_runtime::WasmInstance,
    evm: &mut EvmStepper,
    i: u64,
    state: &[u8],
) -> Result<Compared> {
    let chain = evm.next(i, false, state)?;
    let wasm = instance.step(i, state);
    let agree = matches!(&wasm, Ok(out) if out.state == chain.state && out.final_ == chain.final_);
    if agree {
        return Ok(Ok((chain.state, chain.final_)));
    }
    Ok(Err(Divergence {
        from: Bytes::copy_from_slice(state),
        step: i,
        wasm: wasm
            .map(|out| (Bytes::from(out.state), out.final_))
            .map_err(|e| e.to_string()),
        evm: (Bytes::from(chain.state), chain.final_),
    }))
}

//! Computing requests: a trace oracle per job, on the blocking pool, within the host's limits.

use crate::Cheat;
use alloy::primitives::Bytes;
use ecm_primitives::Claim;
use ecm_runtime::{RunOutput, Stepper, TraceOracle, WasmProgram};

/// A trace oracle over whatever steps the program (honestly or not).
pub type Oracle = TraceOracle<Box<dyn Stepper + Send>>;

/// Computes a request's trace and the claim an answer would make.
///
/// Traces longer than `cap` steps (when `max_steps` is larger) are refused: the agent could not
/// stand behind an answer it cannot compute.
pub fn compute(
    program: &WasmProgram,
    input: &[u8],
    max_steps: u64,
    cap: u64,
    budget: usize,
    cheat: Option<Cheat>,
) -> Result<(Oracle, Claim), String> {
    let instance = program.instantiate().map_err(|e| e.to_string())?;
    let stepper: Box<dyn Stepper + Send> = match cheat {
        Some(at) => Box::new(Lying {
            inner: instance,
            at,
        }),
        None => Box::new(instance),
    };
    let mut oracle = TraceOracle::new(stepper, input.to_vec(), max_steps.min(cap), budget);
    let outcome = oracle.run_to_end().map_err(|e| e.to_string())?;
    if !outcome.final_ && outcome.steps < max_steps {
        return Err(format!(
            "not final within this agent's cap of {cap} steps (maxSteps is {max_steps})"
        ));
    }
    let claim = Claim {
        result: Bytes::from(outcome.result),
        steps: outcome.steps,
        final_: outcome.final_,
    };
    Ok((oracle, claim))
}

/// A stepper that follows the program but lies where `at` says: it flips the first byte of the
/// state (or appends one to an empty state) after the lie step, and continues from there. The
/// first byte, because the example programs keep their parameters at the front, so the lie
/// carries through to the result instead of being overwritten by the next step.
struct Lying<S> {
    inner: S,
    at: Cheat,
}

fn tamper(state: &mut Vec<u8>) {
    match state.first_mut() {
        Some(byte) => *byte ^= 0x01,
        None => state.push(0x01),
    }
}

impl<S: Stepper> Stepper for Lying<S> {
    fn run(&mut self, first: u64, n: u64, state: &[u8]) -> ecm_runtime::Result<RunOutput> {
        match self.at {
            Cheat::LastStep => {
                let mut out = self.inner.run(first, n, state)?;
                if out.final_ {
                    tamper(&mut out.state);
                }
                Ok(out)
            }
            Cheat::AtStep(k) if first <= k && k < first + n => {
                // Up to the lie step, then the lie, then the rest from the altered state.
                let mut out = self.inner.run(first, k - first + 1, state)?;
                if out.steps < k - first + 1 {
                    return Ok(out);
                }
                tamper(&mut out.state);
                if out.final_ || out.steps == n {
                    return Ok(out);
                }
                let rest = self.inner.run(k + 1, n - out.steps, &out.state)?;
                Ok(RunOutput {
                    state: rest.state,
                    final_: rest.final_,
                    steps: out.steps + rest.steps,
                })
            }
            Cheat::AtStep(_) => self.inner.run(first, n, state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecm_runtime::{Limits, Runtime};

    fn counter() -> WasmProgram {
        Runtime::new(Limits::default())
            .unwrap()
            .load(ecm_programs::by_name("counter").unwrap().wasm)
            .unwrap()
    }

    #[test]
    fn honest_claim() {
        let input = ecm_programs::by_name("counter")
            .unwrap()
            .parse_input("10")
            .unwrap();
        let (_, claim) = compute(&counter(), &input, 100, 1000, 1 << 16, None).unwrap();
        assert_eq!((claim.steps, claim.final_), (10, true));
        assert_eq!(&claim.result[8..], &10u64.to_le_bytes());
    }

    #[test]
    fn lies_where_asked_and_stays_consistent() {
        let input = ecm_programs::by_name("counter")
            .unwrap()
            .parse_input("10")
            .unwrap();
        let (mut honest, truth) = compute(&counter(), &input, 100, 1000, 1 << 16, None).unwrap();
        let (mut last, lie) = compute(
            &counter(),
            &input,
            100,
            1000,
            1 << 16,
            Some(Cheat::LastStep),
        )
        .unwrap();
        assert_ne!(lie.commitment(), truth.commitment());
        assert_eq!(last.commitment(9).unwrap(), honest.commitment(9).unwrap());
        assert_ne!(last.commitment(10).unwrap(), honest.commitment(10).unwrap());
        let (mut early, _) = compute(
            &counter(),
            &input,
            100,
            1000,
            1 << 16,
            Some(Cheat::AtStep(4)),
        )
        .unwrap();
        assert_eq!(early.commitment(3).unwrap(), honest.commitment(3).unwrap());
        assert_ne!(early.commitment(4).unwrap(), honest.commitment(4).unwrap());
    }

    #[test]
    fn refuses_traces_beyond_the_cap() {
        let input = ecm_programs::by_name("counter")
            .unwrap()
            .parse_input("1000")
            .unwrap();
        let err = compute(&counter(), &input, 5000, 100, 1 << 16, None)
            .err()
            .unwrap();
        assert!(err.contains("cap of 100"), "{err}");
        // At maxSteps itself, "out of steps" is a valid answer.
        let (_, claim) = compute(&counter(), &input, 100, 100, 1 << 16, None).unwrap();
        assert_eq!((claim.steps, claim.final_), (100, false));
    }
}

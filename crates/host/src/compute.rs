//! Computing requests: a trace oracle per job, on the blocking pool, within the host's limits.
//!
//! A step program's trace comes from its WASM step function (`TraceOracle`); a machine
//! program's from ecm's WASM machine (`MachineOracle`), which also makes the one-step proofs.

use crate::{Cheat, programs::Engine};
use alloy::primitives::{B256, Bytes};
use ecm_machine::{MachineOracle, Program as MachineProgram};
use ecm_primitives::Claim;
use ecm_runtime::{Point, RunOutput, Stepper, TraceOracle, TracePoints};

/// A job's trace, honest or not, answering the bisection game's queries.
pub enum Oracle {
    /// A step program's trace over whatever steps the program (honestly or not).
    Step(TraceOracle<Box<dyn Stepper + Send>>),
    /// A machine program's trace (boxed: the machine is large, and oracles move between tasks).
    Machine(Box<MachineTrace>),
}

/// A machine program's trace; a cheating agent's lies from `lie_from` on.
pub struct MachineTrace {
    oracle: MachineOracle,
    lie_from: Option<u64>,
}

impl TracePoints for Oracle {
    fn point(&mut self, i: u64) -> ecm_runtime::Result<Point> {
        match self {
            Self::Step(oracle) => oracle.point(i),
            Self::Machine(trace) => {
                let mut point = TracePoints::point(&mut trace.oracle, i)?;
                if trace.lie_from.is_some_and(|from| i >= from) {
                    tamper_last(&mut point.state);
                }
                Ok(point)
            }
        }
    }
}

impl Oracle {
    /// Steps executed so far, the first run and every replay.
    pub fn work(&self) -> u64 {
        match self {
            Self::Step(oracle) => oracle.work(),
            Self::Machine(trace) => trace.oracle.work(),
        }
    }

    /// Memory the checkpoints (snapshots) hold.
    pub fn checkpoint_bytes(&self) -> usize {
        match self {
            Self::Step(oracle) => oracle.checkpoint_bytes(),
            Self::Machine(trace) => trace.oracle.snapshot_bytes(),
        }
    }

    /// Steps between checkpoints.
    pub fn checkpoint_interval(&self) -> u64 {
        match self {
            Self::Step(oracle) => oracle.checkpoint_interval(),
            Self::Machine(trace) => trace.oracle.interval(),
        }
    }

    /// For a machine program, the state hash at `lo` and the proof of step `lo + 1` from it,
    /// made from the honest machine (what the prover checks); `None` for a step program.
    pub fn machine_proof(&mut self, lo: u64) -> Option<Result<(B256, Vec<u8>), String>> {
        let Self::Machine(trace) = self else {
            return None;
        };
        Some((|| {
            let machine = trace.oracle.machine_at(lo).map_err(|e| e.to_string())?;
            let hash = machine.hash();
            let proof = machine.prove_step().map_err(|e| e.to_string())?;
            Ok((hash, proof))
        })())
    }
}

/// Computes a request's trace and the claim an answer would make.
///
/// Traces longer than `cap` steps (when `max_steps` is larger) are refused: the agent could not
/// stand behind an answer it cannot compute.
pub(crate) fn compute(
    engine: &Engine,
    input: &[u8],
    max_steps: u64,
    cap: u64,
    budget: usize,
    cheat: Option<Cheat>,
) -> Result<(Oracle, Claim), String> {
    let (oracle, steps, final_, result) = match engine {
        Engine::Step { wasm, .. } => {
            let instance = wasm.instantiate().map_err(|e| e.to_string())?;
            let stepper: Box<dyn Stepper + Send> = match cheat {
                Some(at) => Box::new(Lying {
                    inner: instance,
                    at,
                }),
                None => Box::new(instance),
            };
            let mut oracle = TraceOracle::new(stepper, input.to_vec(), max_steps.min(cap), budget);
            let outcome = oracle.run_to_end().map_err(|e| e.to_string())?;
            (
                Oracle::Step(oracle),
                outcome.steps,
                outcome.final_,
                outcome.result,
            )
        }
        Engine::Machine(program) => {
            let (mut oracle, steps, final_) =
                machine_trace(program, input, max_steps.min(cap), budget, cheat)?;
            // The last point as this agent claims it (a liar's lie included).
            let last = oracle.point(steps).map_err(|e| e.to_string())?;
            (oracle, steps, final_, last.state)
        }
    };
    if !final_ && steps < max_steps {
        return Err(format!(
            "not final within this agent's cap of {cap} steps (maxSteps is {max_steps})"
        ));
    }
    let claim = Claim {
        result: Bytes::from(result),
        steps,
        final_,
    };
    Ok((oracle, claim))
}

/// Runs a machine program's trace to its end (the interpreter, with snapshots for the game).
fn machine_trace(
    program: &MachineProgram,
    input: &[u8],
    max_steps: u64,
    budget: usize,
    cheat: Option<Cheat>,
) -> Result<(Oracle, u64, bool), String> {
    let mut oracle =
        MachineOracle::new(program, input, max_steps, budget).map_err(|e| e.to_string())?;
    let outcome = oracle.run_to_end();
    let lie_from = match cheat {
        None => None,
        Some(Cheat::LastStep) => Some(outcome.steps),
        Some(Cheat::AtStep(k)) => (k <= outcome.steps).then_some(k),
    };
    let final_ = outcome.is_final();
    Ok((
        Oracle::Machine(Box::new(MachineTrace { oracle, lie_from })),
        outcome.steps,
        final_,
    ))
}

/// A machine liar's alteration of a point: its last byte flipped (the state hash, or the
/// output's last byte), or a byte appended to an empty (trapped) state.
fn tamper_last(state: &mut Vec<u8>) {
    match state.last_mut() {
        Some(byte) => *byte ^= 0x01,
        None => state.push(0x01),
    }
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

    fn counter() -> Engine {
        let wasm = Runtime::new(Limits::default())
            .unwrap()
            .load(ecm_programs::by_name("counter").unwrap().wasm)
            .unwrap();
        Engine::Step {
            wasm,
            execution_code: Default::default(),
            max_step_gas: 20_000,
        }
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

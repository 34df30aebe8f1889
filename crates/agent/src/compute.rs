//! Computing requests: a trace oracle per job, on the blocking pool, within the host's limits.
//!
//! A step program's trace comes from its WASM step function (`TraceOracle`). A machine
//! program's run goes first to ecm's interpreter, for up to [`crate::INTERPRETER_FIRST_STEPS`]:
//! a short run ends there sooner than wasmtime could compile the module, with its exact steps
//! and its trace (`MachineOracle`, which also makes the one-step proofs) ready. A longer run is
//! answered from wasmtime at native speed, its fuel `F` as the claimed step count (fuel is at
//! least the machine's steps `N`, and final states are sticky, so the point at `F` is the final
//! state); the interpreter's trace goes on from where it stopped only when a dispute first
//! asks for a point (so a dispute's honest work stays about one run of the trace). A
//! run wasmtime cannot finish within the bound (out of fuel, its own stack overflowing) is
//! answered from the interpreter, which knows the exact steps.

use crate::{
    Cheat,
    programs::{Engine, MachineEngine},
};
use alloy::primitives::{B256, Bytes};
use ecm_machine::MachineOracle;
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
    /// What wasmtime answered (steps claimed, final state) while the interpreter has not run
    /// the trace yet; `None` once it has.
    untraced: Option<(u64, Vec<u8>)>,
}

impl MachineTrace {
    /// The oracle, its trace run (and its snapshots placed) on first use. Checks the
    /// interpreter against what wasmtime answered: a disagreement is a bug in one of them, and
    /// the answer on-chain is then not the machine's.
    fn traced(&mut self) -> &mut MachineOracle {
        if let Some((fuel, state)) = self.untraced.take() {
            let outcome = self.oracle.run_to_end();
            if !outcome.is_final() || outcome.steps > fuel || outcome.state() != state {
                tracing::error!(target: "agent", fuel, steps = outcome.steps, "the machine's trace disagrees with wasmtime's answer: report this as a bug in ecm");
            }
        }
        &mut self.oracle
    }
}

impl TracePoints for Oracle {
    fn point(&mut self, i: u64) -> ecm_runtime::Result<Point> {
        match self {
            Self::Step(oracle) => oracle.point(i),
            Self::Machine(trace) => {
                let mut point = TracePoints::point(trace.traced(), i)?;
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
            let machine = trace.traced().machine_at(lo).map_err(|e| e.to_string())?;
            let hash = machine.hash();
            let proof = machine.prove_step().map_err(|e| e.to_string())?;
            Ok((hash, proof))
        })())
    }
}

/// Computes a request's trace and the claim an answer would make.
///
/// Traces longer than `cap` steps (when `max_steps` is larger) are refused: the agent could not
/// stand behind an answer it cannot compute. `seed` picks a [`Cheat::RandomStep`] liar's step.
pub(crate) fn compute(
    engine: &Engine,
    input: &[u8],
    max_steps: u64,
    cap: u64,
    budget: usize,
    cheat: Option<Cheat>,
    seed: u64,
) -> Result<(Oracle, Claim), String> {
    let (oracle, steps, final_, result) = match engine {
        Engine::Step { wasm, .. } => {
            let bound = max_steps.min(cap);
            let trace = |cheat: Option<Cheat>| {
                let instance = wasm.instantiate().map_err(|e| e.to_string())?;
                let stepper: Box<dyn Stepper + Send> = match cheat {
                    Some(at) => Box::new(Lying {
                        inner: instance,
                        at,
                    }),
                    None => Box::new(instance),
                };
                let mut oracle = TraceOracle::new(stepper, input.to_vec(), bound, budget);
                let outcome = oracle.run_to_end().map_err(|e| e.to_string())?;
                Ok::<_, String>((oracle, outcome))
            };
            let cheat = match cheat {
                // The honest trace's length first, to draw the step from.
                Some(Cheat::RandomStep) => {
                    Some(Cheat::AtStep(random_step(trace(None)?.1.steps, seed)))
                }
                other => other,
            };
            let (oracle, outcome) = trace(cheat)?;
            (
                Oracle::Step(oracle),
                outcome.steps,
                outcome.final_,
                outcome.result,
            )
        }
        Engine::Machine(machine) => {
            let bound = max_steps.min(cap);
            // A short run costs the interpreter less than compiling the module: trace it first,
            // up to `interpreter_first` steps; only a longer run is answered from wasmtime.
            let mut oracle = MachineOracle::new(&machine.program, input, bound, budget)
                .map_err(|e| e.to_string())?
                .with_first_interval(SHORT_RUN_INTERVAL);
            let short = oracle.run_until(machine.interpreter_first).is_some();
            let fast = match cheat {
                None if !short => fast_answer(machine, input, bound)?,
                // A liar needs the exact trace to pick an instruction to lie at.
                _ => None,
            };
            match fast {
                Some((fuel, state)) => {
                    // The trace, when a dispute asks, on from where the pre-run stopped, with
                    // snapshots spaced for its length.
                    oracle.widen_interval(interval_for(fuel));
                    let trace = MachineTrace {
                        oracle,
                        lie_from: None,
                        untraced: Some((fuel, state.clone())),
                    };
                    (Oracle::Machine(Box::new(trace)), fuel, true, state)
                }
                None => {
                    let (mut oracle, steps, final_) = machine_trace(oracle, cheat, seed);
                    // The last point as this agent claims it (a liar's lie included).
                    let last = oracle.point(steps).map_err(|e| e.to_string())?;
                    (oracle, steps, final_, last.state)
                }
            }
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

/// wasmtime's answer for a machine program: its fuel as the step count and the final state,
/// or `None` if it cannot tell within `bound` steps of fuel (the interpreter must).
fn fast_answer(
    machine: &MachineEngine,
    input: &[u8],
    bound: u64,
) -> Result<Option<(u64, Vec<u8>)>, String> {
    let module = match machine.fast() {
        Ok(module) => module,
        Err(reason) => {
            tracing::warn!(target: "agent", %reason, "wasmtime cannot compile the program; answering from the interpreter");
            return Ok(None);
        }
    };
    let run = module.run(input, bound).map_err(|e| e.to_string())?;
    Ok(match (run.final_state(), run.fuel) {
        (Some(state), Some(fuel)) if fuel <= bound => Some((fuel.max(1), state)),
        _ => None,
    })
}

/// The snapshot interval while the interpreter runs first: a short run's trace is ready for a
/// dispute with a snapshot every 1,024 steps (thinned by the memory budget).
const SHORT_RUN_INTERVAL: u64 = 1 << 10;

/// The snapshot interval for a trace of about `steps` steps: a thousand snapshots (fewer
/// once over the memory budget), so a point costs at most a thousandth of the trace to replay
/// and a dispute's queries add little to the one run; never under 1,024 steps, nor over the
/// oracle's default of 2^20.
fn interval_for(steps: u64) -> u64 {
    (steps / 1024).clamp(SHORT_RUN_INTERVAL, 1 << 20)
}

/// Runs a machine program's trace to its end on the interpreter (on from where `oracle` is),
/// with snapshots for the game.
fn machine_trace(
    mut oracle: MachineOracle,
    cheat: Option<Cheat>,
    seed: u64,
) -> (Oracle, u64, bool) {
    let outcome = oracle.run_to_end();
    let lie_from = match cheat {
        None => None,
        Some(Cheat::LastStep) => Some(outcome.steps),
        Some(Cheat::AtStep(k)) => (k <= outcome.steps).then_some(k),
        Some(Cheat::RandomStep) => Some(random_step(outcome.steps, seed)),
    };
    let final_ = outcome.is_final();
    let trace = MachineTrace {
        oracle,
        lie_from,
        untraced: None,
    };
    (Oracle::Machine(Box::new(trace)), outcome.steps, final_)
}

/// A step in `1..=steps` drawn from `seed` (splitmix64: the same seed, the same step).
fn random_step(steps: u64, seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    1 + z % steps.max(1)
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
            // Drawn before the run (`compute`); never reaches a stepper.
            Cheat::AtStep(_) | Cheat::RandomStep => self.inner.run(first, n, state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecm_machine::Program as MachineProgram;
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
        let (_, claim) = compute(&counter(), &input, 100, 1000, 1 << 16, None, 0).unwrap();
        assert_eq!((claim.steps, claim.final_), (10, true));
        assert_eq!(&claim.result[8..], &10u64.to_le_bytes());
    }

    #[test]
    fn lies_where_asked_and_stays_consistent() {
        let input = ecm_programs::by_name("counter")
            .unwrap()
            .parse_input("10")
            .unwrap();
        let (mut honest, truth) = compute(&counter(), &input, 100, 1000, 1 << 16, None, 0).unwrap();
        let (mut last, lie) = compute(
            &counter(),
            &input,
            100,
            1000,
            1 << 16,
            Some(Cheat::LastStep),
            0,
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
            0,
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
        let err = compute(&counter(), &input, 5000, 100, 1 << 16, None, 0)
            .err()
            .unwrap();
        assert!(err.contains("cap of 100"), "{err}");
        // At maxSteps itself, "out of steps" is a valid answer.
        let (_, claim) = compute(&counter(), &input, 100, 100, 1 << 16, None, 0).unwrap();
        assert_eq!((claim.steps, claim.final_), (100, false));
    }

    /// sha256sum, every run of which goes to wasmtime (`interpreter_first` 0) unless
    /// `interpreter_first` says otherwise.
    fn sha256sum_with(interpreter_first: u64) -> Engine {
        let wasm = ecm_programs::wasi_program("sha256sum").unwrap().wasm;
        let mut engine = MachineEngine::new(MachineProgram::from_wasm(wasm).unwrap());
        engine.interpreter_first = interpreter_first;
        Engine::Machine(engine)
    }

    fn sha256sum() -> Engine {
        sha256sum_with(0)
    }

    #[test]
    fn answers_a_short_machine_run_from_the_interpreter_with_its_exact_steps() {
        let engine = sha256sum_with(crate::INTERPRETER_FIRST_STEPS);
        let Engine::Machine(machine) = &engine else {
            unreachable!()
        };
        let truth = ecm_machine::run(&machine.program, TEXT, 1 << 30).unwrap();
        let (mut oracle, claim) =
            compute(&engine, TEXT, 1 << 30, 1 << 30, 1 << 20, None, 0).unwrap();
        assert_eq!((claim.steps, claim.final_), (truth.steps, true));
        assert_eq!(claim.result.to_vec(), truth.state());
        let traced = oracle.work();
        assert!(traced >= truth.steps, "the trace is run with the answer");
        assert!(oracle.point(truth.steps).unwrap().final_);
        assert_eq!(oracle.work(), traced, "the end needs no replay");
    }

    const TEXT: &[u8] = b"the quick brown fox jumps over the lazy dog";

    #[test]
    fn answers_a_machine_program_from_wasmtime_and_traces_it_only_when_asked() {
        let engine = sha256sum();
        let Engine::Machine(machine) = &engine else {
            unreachable!()
        };
        let truth = ecm_machine::run(&machine.program, TEXT, 1 << 30).unwrap();
        let (mut oracle, claim) =
            compute(&engine, TEXT, 1 << 30, 1 << 30, 1 << 20, None, 0).unwrap();
        // Fuel is the claim: at least the machine's steps, the same final state.
        assert!(claim.final_);
        assert!(
            claim.steps >= truth.steps,
            "{} < {}",
            claim.steps,
            truth.steps
        );
        assert_eq!(claim.result.to_vec(), truth.state());
        assert_eq!(oracle.work(), 0, "no interpreter work before a dispute");
        // The trace, when asked: running before N, final (and sticky) from N to the claim.
        let before = oracle.point(truth.steps - 1).unwrap();
        assert!(!before.final_);
        assert!(oracle.work() >= truth.steps);
        for i in [truth.steps, claim.steps] {
            let point = oracle.point(i).unwrap();
            assert!(point.final_);
            assert_eq!(point.state, truth.state());
        }
        // The halting step's proof, from the interpreter's state before it.
        let (hash, proof) = oracle.machine_proof(truth.steps - 1).unwrap().unwrap();
        assert_eq!(hash.to_vec(), before.state);
        assert!(!proof.is_empty());
    }

    #[test]
    fn answers_from_the_interpreter_when_fuel_runs_out_before_the_machine_halts() {
        let engine = sha256sum();
        let Engine::Machine(machine) = &engine else {
            unreachable!()
        };
        let truth = ecm_machine::run(&machine.program, TEXT, 1 << 30).unwrap();
        let (fast, _) = compute(&engine, TEXT, 1 << 30, 1 << 30, 1 << 20, None, 0).unwrap();
        drop(fast);
        // With exactly N steps allowed, fuel (>= N, here more) runs out: the machine answers.
        let (mut oracle, claim) =
            compute(&engine, TEXT, truth.steps, truth.steps, 1 << 20, None, 0).unwrap();
        assert_eq!((claim.steps, claim.final_), (truth.steps, true));
        assert_eq!(claim.result.to_vec(), truth.state());
        assert!(oracle.work() >= truth.steps, "the interpreter ran");
        assert!(oracle.point(truth.steps).unwrap().final_);
    }

    #[test]
    fn a_random_liar_lies_at_an_instruction_of_the_trace_drawn_from_its_seed() {
        let engine = sha256sum();
        let Engine::Machine(machine) = &engine else {
            unreachable!()
        };
        let truth = ecm_machine::run(&machine.program, TEXT, 1 << 30).unwrap();
        let lie = |seed| {
            let (mut oracle, claim) = compute(
                &engine,
                TEXT,
                1 << 30,
                1 << 30,
                1 << 20,
                Some(Cheat::RandomStep),
                seed,
            )
            .unwrap();
            assert_eq!(claim.steps, truth.steps);
            assert_ne!(claim.result.to_vec(), truth.state(), "the output is wrong");
            // The first point that differs from the machine's is the lie's step.
            let mut honest = MachineOracle::new(&machine.program, TEXT, 1 << 30, 1 << 20).unwrap();
            let (mut lo, mut hi) = (0, truth.steps);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if oracle.point(mid).unwrap() == honest.point(mid).unwrap() {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            hi
        };
        let (a, b) = (lie(1), lie(2));
        assert_eq!(lie(1), a, "the same seed, the same step");
        assert_ne!(a, b);
        assert!((1..=truth.steps).contains(&a) && (1..=truth.steps).contains(&b));
        assert_eq!(a, random_step(truth.steps, 1));
    }

    #[test]
    fn a_random_liar_on_a_step_program_lies_within_its_trace() {
        let input = ecm_programs::by_name("counter")
            .unwrap()
            .parse_input("10")
            .unwrap();
        let (mut honest, truth) = compute(&counter(), &input, 100, 1000, 1 << 16, None, 0).unwrap();
        let (mut liar, lie) = compute(
            &counter(),
            &input,
            100,
            1000,
            1 << 16,
            Some(Cheat::RandomStep),
            7,
        )
        .unwrap();
        assert_ne!(lie.commitment(), truth.commitment());
        let k = random_step(10, 7);
        assert_eq!(
            liar.commitment(k - 1).unwrap(),
            honest.commitment(k - 1).unwrap()
        );
        assert_ne!(liar.commitment(k).unwrap(), honest.commitment(k).unwrap());
    }
}

//! Running a program to its end on the machine, and what the trace's last point is.

use crate::{
    Error,
    fast::FastEngine,
    host::{EngineEnd, EngineRun},
    machine::{Machine, Status, Trap},
    program::{Program, Site},
};
use alloy_primitives::B256;
use ecm_primitives::commitment;
use std::time::{Duration, Instant};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The program halted: its exit code and stdout make the result.
    Halted {
        /// The exit code (`proc_exit`'s argument, 0 when `_start` returns).
        exit_code: u32,
        /// What the program wrote to stdout.
        output: Vec<u8>,
    },
    /// The program trapped: the result is the empty final state.
    Trapped {
        /// Why.
        trap: Trap,
        /// Where.
        site: Site,
    },
    /// Not final after `maxSteps` steps: the state is the machine hash there.
    OutOfSteps {
        /// `H` at `maxSteps`.
        hash: B256,
    },
}

/// A finished run: its last trace point and how many steps led there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Steps executed: the halting or trapping step, or `maxSteps`.
    pub steps: u64,
    /// How it ended.
    pub end: End,
}

impl Outcome {
    /// Whether the last point is final (halted or trapped).
    pub fn is_final(&self) -> bool {
        !matches!(self.end, End::OutOfSteps { .. })
    }

    /// The last point's state: `exit code (u32 LE) || output`, empty for a trap, `H` when out
    /// of steps.
    pub fn state(&self) -> Vec<u8> {
        match &self.end {
            End::Halted { exit_code, output } => {
                let mut state = exit_code.to_le_bytes().to_vec();
                state.extend_from_slice(output);
                state
            }
            End::Trapped { .. } => Vec::new(),
            End::OutOfSteps { hash } => hash.to_vec(),
        }
    }

    /// `c_N`: what an answer claims.
    pub fn commitment(&self) -> B256 {
        commitment(self.is_final(), &self.state())
    }
}

/// Runs `program` on `input` until it halts, traps or reaches `max_steps`.
pub fn run(program: &Program, input: &[u8], max_steps: u64) -> Result<Outcome, Error> {
    let mut machine = Machine::new(program, input)?;
    machine.run(max_steps);
    Ok(outcome(&mut machine))
}

/// The outcome of a machine that has stopped (or run out of its budget).
pub fn outcome(machine: &mut Machine) -> Outcome {
    let end = match machine.status() {
        Status::Halted { exit_code } => End::Halted {
            exit_code,
            output: machine.output().to_vec(),
        },
        Status::Trapped { trap, pc } => End::Trapped {
            trap,
            site: machine.site(pc),
        },
        Status::Running => End::OutOfSteps {
            hash: machine.hash(),
        },
    };
    Outcome {
        steps: machine.steps(),
        end,
    }
}

/// A program run both ways, as a user's dry run and a host's answer make it: wasmtime at native
/// speed (its fuel bounds the steps), then the machine for the exact trace.
#[derive(Clone, Debug)]
pub struct DryRun {
    /// The machine's outcome: exact steps, the final state.
    pub outcome: Outcome,
    /// wasmtime's run: fuel, stdout, stderr.
    pub fast: EngineRun,
    /// wasmtime's time, compilation included.
    pub fast_time: Duration,
    /// The machine's time.
    pub machine_time: Duration,
}

/// Runs `program` on `input` in wasmtime (with `max_steps` of fuel) and on the machine (up to
/// `max_steps` steps), and checks that they agree wherever wasmtime finished. A disagreement
/// is a bug in one of them: [`Error::EnginesDisagree`].
pub fn dry_run(program: &Program, input: &[u8], max_steps: u64) -> Result<DryRun, Error> {
    let start = Instant::now();
    let fast = FastEngine::new()?.compile(program)?.run(input, max_steps)?;
    let fast_time = start.elapsed();
    let start = Instant::now();
    let outcome = run(program, input, max_steps)?;
    let machine_time = start.elapsed();
    let finished = !matches!(fast.end, EngineEnd::OutOfFuel | EngineEnd::StackOverflow);
    if finished && fast.final_state() != Some(outcome.state()) {
        return Err(Error::EnginesDisagree {
            machine: format!("{:?}", outcome.end),
            wasmtime: format!("{:?} with output {:?}", fast.end, fast.output),
        });
    }
    Ok(DryRun {
        outcome,
        fast,
        fast_time,
        machine_time,
    })
}

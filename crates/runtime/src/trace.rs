//! The trace oracle: a request's trace computed once, then any point of it on demand.
//!
//! [`TraceOracle::run_to_end`] runs the program from its input until it is final or reaches
//! `maxSteps`, keeping a checkpoint (the state) every `K` steps. `K` starts at 1 and doubles
//! whenever the checkpoints outgrow the memory budget (every other checkpoint is dropped), so
//! memory stays within the budget whatever the trace length. [`TraceOracle::point`] then
//! replays from the nearest checkpoint at or before the step asked for: at most `K - 1` steps
//! (fewer when the previous query was nearby, thanks to a cursor).

use crate::{Error, Result};
use alloy_primitives::B256;
use ecm_primitives::commitment;
use std::collections::BTreeMap;

/// Runs steps of a program. Implemented by [`crate::WasmInstance`] (the real thing) and
/// [`NativeStepper`] (a Rust function, for references and benchmarks).
pub trait Stepper {
    /// Runs up to `n` steps starting with step `first` (so from `s_{first-1}` = `state`),
    /// stopping early at a final state.
    fn run(&mut self, first: u64, n: u64, state: &[u8]) -> Result<RunOutput>;
}

impl<S: Stepper + ?Sized> Stepper for Box<S> {
    fn run(&mut self, first: u64, n: u64, state: &[u8]) -> Result<RunOutput> {
        (**self).run(first, n, state)
    }
}

/// The result of running steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutput {
    /// The state reached.
    pub state: Vec<u8>,
    /// Whether it is final.
    pub final_: bool,
    /// The number of steps run.
    pub steps: u64,
}

/// A step function in plain Rust as a [`Stepper`].
#[derive(Clone, Copy, Debug)]
pub struct NativeStepper(pub fn(u64, &mut Vec<u8>) -> bool);

impl Stepper for NativeStepper {
    fn run(&mut self, first: u64, n: u64, state: &[u8]) -> Result<RunOutput> {
        let mut state = state.to_vec();
        let mut steps = 0;
        let mut final_ = false;
        while steps < n && !final_ {
            final_ = (self.0)(first + steps, &mut state);
            steps += 1;
        }
        Ok(RunOutput {
            state,
            final_,
            steps,
        })
    }
}

/// Anything that can tell trace points: the [`TraceOracle`], or a closed form in tests and
/// benchmarks. The bisection strategy only needs this.
pub trait TracePoints {
    /// The trace point `(f_i, s_i)`.
    fn point(&mut self, i: u64) -> Result<Point>;

    /// The commitment `c_i`.
    fn commitment(&mut self, i: u64) -> Result<B256> {
        Ok(self.point(i)?.commitment())
    }
}

impl<S: Stepper> TracePoints for TraceOracle<S> {
    fn point(&mut self, i: u64) -> Result<Point> {
        TraceOracle::point(self, i)
    }
}

/// A trace point `(f_i, s_i)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    /// The final flag `f_i`.
    pub final_: bool,
    /// The state `s_i`.
    pub state: Vec<u8>,
}

impl Point {
    /// The commitment `c_i`.
    pub fn commitment(&self) -> B256 {
        commitment(self.final_, &self.state)
    }
}

/// How a computation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The number of steps: the first final step, or `maxSteps` ("out of steps").
    pub steps: u64,
    /// Whether the computation finished (`false`: out of steps).
    pub final_: bool,
    /// The state reached: the result if final.
    pub result: Vec<u8>,
}

/// Memory a checkpoint takes besides its state: the map entry and the vector header.
const CHECKPOINT_OVERHEAD_BYTES: usize = 64;

/// A request's trace: computed once with checkpoints, then queried point by point.
#[derive(Debug)]
pub struct TraceOracle<S> {
    stepper: S,
    max_steps: u64,
    memory_budget: usize,
    interval: u64,
    checkpoints: BTreeMap<u64, Point>,
    checkpoint_bytes: usize,
    end: Option<(u64, Point)>,
    cursor: Option<(u64, Point)>,
    work: u64,
}

impl<S: Stepper> TraceOracle<S> {
    /// An oracle over the trace of `input`, bounded by `max_steps`, keeping at most
    /// `memory_budget` bytes of checkpoints.
    pub fn new(stepper: S, input: Vec<u8>, max_steps: u64, memory_budget: usize) -> Self {
        let mut oracle = Self {
            stepper,
            max_steps,
            memory_budget: memory_budget.max(1),
            interval: 1,
            checkpoints: BTreeMap::new(),
            checkpoint_bytes: 0,
            end: None,
            cursor: None,
            work: 0,
        };
        oracle.insert_checkpoint(
            0,
            Point {
                final_: false,
                state: input,
            },
        );
        oracle
    }

    /// Computes the whole trace (once), placing checkpoints, and says how it ends.
    pub fn run_to_end(&mut self) -> Result<Outcome> {
        if let Some((steps, point)) = &self.end {
            return Ok(Outcome {
                steps: *steps,
                final_: point.final_,
                result: point.state.clone(),
            });
        }
        let (mut at, mut point) = self
            .checkpoints
            .iter()
            .next_back()
            .map(|(i, p)| (*i, p.clone()))
            .unwrap();
        while !point.final_ && at < self.max_steps {
            let next_mark = (at / self.interval + 1) * self.interval;
            let n = next_mark.min(self.max_steps) - at;
            let out = self.stepper.run(at + 1, n, &point.state)?;
            self.work += out.steps;
            at += out.steps;
            point = Point {
                final_: out.final_,
                state: out.state,
            };
            if at % self.interval == 0 {
                self.insert_checkpoint(at, point.clone());
            }
        }
        self.insert_checkpoint(at, point.clone());
        self.end = Some((at, point.clone()));
        Ok(Outcome {
            steps: at,
            final_: point.final_,
            result: point.state,
        })
    }

    /// The trace point `(f_i, s_i)`. After the final step the trace is sticky: every later point
    /// is the final one.
    pub fn point(&mut self, i: u64) -> Result<Point> {
        if i > self.max_steps {
            return Err(Error::BeyondMaxSteps {
                step: i,
                max_steps: self.max_steps,
            });
        }
        if let Some((end, point)) = &self.end
            && i >= *end
        {
            return Ok(point.clone());
        }
        if let Some(point) = self.checkpoints.get(&i) {
            return Ok(point.clone());
        }
        let (mut at, mut point) = self
            .checkpoints
            .range(..=i)
            .next_back()
            .map(|(k, p)| (*k, p.clone()))
            .unwrap();
        if let Some((cursor_at, cursor_point)) = &self.cursor
            && *cursor_at > at
            && *cursor_at <= i
        {
            (at, point) = (*cursor_at, cursor_point.clone());
        }
        if at < i && !point.final_ {
            let out = self.stepper.run(at + 1, i - at, &point.state)?;
            self.work += out.steps;
            at += out.steps;
            point = Point {
                final_: out.final_,
                state: out.state,
            };
        }
        // A final state reached early stays (sticky).
        self.cursor = Some((at, point.clone()));
        Ok(point)
    }

    /// The commitment `c_i`.
    pub fn commitment(&mut self, i: u64) -> Result<B256> {
        Ok(self.point(i)?.commitment())
    }

    /// Steps executed so far, initial run and replays together: the oracle's work.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// The current checkpoint interval `K`.
    pub fn checkpoint_interval(&self) -> u64 {
        self.interval
    }

    /// Memory held by checkpoints, in bytes.
    pub fn checkpoint_bytes(&self) -> usize {
        self.checkpoint_bytes
    }

    /// The trace's bound.
    pub fn max_steps(&self) -> u64 {
        self.max_steps
    }

    fn insert_checkpoint(&mut self, at: u64, point: Point) {
        let size = point.state.len() + CHECKPOINT_OVERHEAD_BYTES;
        if let Some(old) = self.checkpoints.insert(at, point) {
            self.checkpoint_bytes -= old.state.len() + CHECKPOINT_OVERHEAD_BYTES;
        }
        self.checkpoint_bytes += size;
        // Over budget: keep every other checkpoint and double the interval. Step 0 (the input)
        // and the end are always kept.
        while self.checkpoint_bytes > self.memory_budget && self.checkpoints.len() > 2 {
            self.interval *= 2;
            let interval = self.interval;
            let last = *self.checkpoints.keys().next_back().unwrap();
            let mut freed = 0;
            self.checkpoints.retain(|k, p| {
                let keep = *k == 0 || *k == last || *k % interval == 0;
                if !keep {
                    freed += p.state.len() + CHECKPOINT_OVERHEAD_BYTES;
                }
                keep
            });
            self.checkpoint_bytes -= freed;
            if freed == 0 {
                break;
            }
        }
    }
}

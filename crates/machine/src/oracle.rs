//! The machine's trace oracle: a request's trace run once with snapshots, then any point of it
//! on demand, for the bisection game (`ecm_runtime::TracePoints`).
//!
//! ```text
//!  run_to_end:  0 ──K──> K ──K──> 2K ── ... ──> N (halt, trap, or maxSteps)
//!               snapshot at every multiple of K; over the memory budget, every other one is
//!               dropped and K doubles (the snapshot at 0 and the end stay)
//!  point(i):    restore the snapshot at or before i (or go on from where the last query
//!               left the machine, if that is closer), run to i, hash
//! ```
//!
//! Snapshots share every memory page that did not change between them, so one costs what the
//! program wrote in its interval. The trace points: `s_i = H_i` while running (not final), the
//! halted state `exit code || output` or the empty trapped state (final, and sticky after).

use crate::{
    Error,
    machine::{Machine, Snapshot, Status},
    program::Program,
    run::{Outcome, outcome},
};
use ecm_runtime::{Point, TracePoints};
use std::collections::BTreeMap;

/// The first snapshot interval, in steps: a query replays at most this many (a few ms).
const FIRST_INTERVAL: u64 = 1 << 20;

/// A program's trace on one input.
#[derive(Debug)]
pub struct MachineOracle {
    machine: Machine,
    max_steps: u64,
    memory_budget: usize,
    interval: u64,
    snapshots: BTreeMap<u64, Snapshot>,
    /// What the snapshots hold, counting shared pages once (`snapshot_bytes`).
    snapshot_total: usize,
    end: Option<(u64, Point, Outcome)>,
    work: u64,
}

impl MachineOracle {
    /// The trace of `program` on `input`, bounded by `max_steps`, keeping about
    /// `memory_budget` bytes of snapshots.
    pub fn new(
        program: &Program,
        input: &[u8],
        max_steps: u64,
        memory_budget: usize,
    ) -> Result<Self, Error> {
        let mut machine = Machine::new(program, input)?;
        let mut snapshots = BTreeMap::new();
        let first = machine.snapshot();
        let snapshot_total = first.unshared_bytes(None);
        snapshots.insert(0, first);
        Ok(Self {
            machine,
            max_steps,
            memory_budget,
            interval: FIRST_INTERVAL,
            snapshots,
            snapshot_total,
            end: None,
            work: 0,
        })
    }

    /// Sets the first snapshot interval (before the first run): smaller for short traces
    /// whose queries should replay little, larger to spend less on snapshots.
    pub fn with_first_interval(mut self, steps: u64) -> Self {
        self.interval = steps.max(1);
        self
    }

    /// Spaces the snapshots still to be placed at least `steps` apart, for a trace found to be
    /// longer than first thought (after a `run_until`). The interval stays a power-of-two
    /// multiple of the one before, so the snapshots already placed keep their place in the
    /// thinning.
    pub fn widen_interval(&mut self, steps: u64) {
        while self.interval < steps {
            self.interval *= 2;
        }
    }

    /// Runs the whole trace (once), placing snapshots, and says how it ends.
    pub fn run_to_end(&mut self) -> Outcome {
        self.run_until(self.max_steps)
            .expect("a run to max_steps ends the trace")
    }

    /// Runs the trace up to step `limit` (once), placing snapshots; says how it ends if it
    /// ended by then (halted, trapped, or at `max_steps`), else `None`, and a later call goes
    /// on from there.
    pub fn run_until(&mut self, limit: u64) -> Option<Outcome> {
        if let Some((_, _, outcome)) = &self.end {
            return Some(outcome.clone());
        }
        let limit = limit.min(self.max_steps);
        // Go on from the last snapshot (queries may have moved the machine elsewhere).
        let last = self.snapshots.values().next_back().unwrap().clone();
        self.machine.restore(&last);
        self.run_placing_snapshots(limit);
        if self.machine.status() == Status::Running && self.machine.steps() < self.max_steps {
            // Where the next call goes on from: a snapshot here (it is the last one).
            let at = self.machine.steps();
            if !self.snapshots.contains_key(&at) {
                self.insert_snapshot(at);
            }
            return None;
        }
        let outcome = outcome(&mut self.machine);
        let point = point_of(&mut self.machine);
        self.end = Some((outcome.steps, point, outcome.clone()));
        Some(outcome)
    }

    fn run_placing_snapshots(&mut self, limit: u64) {
        while self.machine.status() == Status::Running && self.machine.steps() < limit {
            let at = self.machine.steps();
            let next = ((at / self.interval + 1) * self.interval).min(limit);
            self.work += self.machine.run(next - at);
            let at = self.machine.steps();
            if at.is_multiple_of(self.interval) && self.machine.status() == Status::Running {
                self.insert_snapshot(at);
            }
        }
    }

    /// Adds a snapshot after every other one (snapshots are placed in trace order), keeping
    /// the total within the memory budget: the total is kept up to date, and counted afresh
    /// only after a thinning, so placing a snapshot costs the pages it does not share.
    fn insert_snapshot(&mut self, at: u64) {
        let snapshot = self.machine.snapshot();
        let previous = self.snapshots.range(..at).next_back().map(|(_, s)| s);
        self.snapshot_total += snapshot.unshared_bytes(previous);
        let in_order = self.snapshots.range(at..).next().is_none();
        self.snapshots.insert(at, snapshot);
        if !in_order {
            self.snapshot_total = self.count_snapshot_bytes();
        }
        while self.snapshot_total > self.memory_budget && self.snapshots.len() > 2 {
            self.interval *= 2;
            let interval = self.interval;
            let before = self.snapshots.len();
            self.snapshots
                .retain(|k, _| *k == 0 || *k == at || *k % interval == 0);
            if self.snapshots.len() == before {
                break;
            }
            self.snapshot_total = self.count_snapshot_bytes();
        }
    }

    /// Memory the snapshots hold, counting shared pages once.
    pub fn snapshot_bytes(&self) -> usize {
        self.snapshot_total
    }

    fn count_snapshot_bytes(&self) -> usize {
        let mut previous: Option<&Snapshot> = None;
        let mut total = 0;
        for s in self.snapshots.values() {
            total += s.unshared_bytes(previous);
            previous = Some(s);
        }
        total
    }

    /// The trace point `(f_i, s_i)`; final points are sticky.
    pub fn point(&mut self, i: u64) -> Result<Point, Error> {
        if i > self.max_steps {
            return Err(Error::BeyondMaxSteps {
                step: i,
                max_steps: self.max_steps,
            });
        }
        if let Some((end, point, _)) = &self.end
            && i >= *end
        {
            return Ok(point.clone());
        }
        self.seek(i);
        Ok(point_of(&mut self.machine))
    }

    /// The machine at step `i` (or at its final step, if the trace ends before `i`): what a
    /// one-step proof of step `i + 1` is made from.
    pub fn machine_at(&mut self, i: u64) -> Result<&mut Machine, Error> {
        if i > self.max_steps {
            return Err(Error::BeyondMaxSteps {
                step: i,
                max_steps: self.max_steps,
            });
        }
        self.seek(i);
        Ok(&mut self.machine)
    }

    fn seek(&mut self, i: u64) {
        let (&at, snapshot) = self.snapshots.range(..=i).next_back().unwrap();
        let current = self.machine.steps();
        // Go on from where the machine is if that is on the way; else restore.
        let on_the_way = at <= current && current <= i && self.machine.status() == Status::Running;
        if !on_the_way {
            let snapshot = snapshot.clone();
            self.machine.restore(&snapshot);
        }
        let from = self.machine.steps();
        if from < i {
            self.work += self.machine.run(i - from);
        }
    }

    /// Steps executed so far, the first run and every replay: the oracle's work.
    pub fn work(&self) -> u64 {
        self.work
    }

    /// The current snapshot interval.
    pub fn interval(&self) -> u64 {
        self.interval
    }

    /// How many snapshots are kept.
    pub fn snapshot_count(&self) -> usize {
        self.snapshots.len()
    }

    /// The trace's bound.
    pub fn max_steps(&self) -> u64 {
        self.max_steps
    }
}

/// The trace point of the machine where it stands.
fn point_of(machine: &mut Machine) -> Point {
    match machine.final_state() {
        Some(state) => Point {
            final_: true,
            state,
        },
        None => Point {
            final_: false,
            state: machine.hash().to_vec(),
        },
    }
}

impl TracePoints for MachineOracle {
    fn point(&mut self, i: u64) -> ecm_runtime::Result<Point> {
        MachineOracle::point(self, i).map_err(|e| match e {
            Error::BeyondMaxSteps { step, max_steps } => {
                ecm_runtime::Error::BeyondMaxSteps { step, max_steps }
            }
            other => ecm_runtime::Error::AbiViolation(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256sum() -> Program {
        Program::from_wasm(ecm_programs::wasi_program("sha256sum").unwrap().wasm).unwrap()
    }

    /// The running total of snapshot memory is what a full count says, through thinnings
    /// and through a run cut at an arbitrary step.
    #[test]
    fn the_snapshot_total_is_kept_exact() {
        let input: Vec<u8> = (0..3000u32).map(|i| (i * 31 + 7) as u8).collect();
        let program = sha256sum();
        for budget in [1 << 16, 1 << 18, 1 << 24] {
            let mut oracle = MachineOracle::new(&program, &input, 1 << 30, budget)
                .unwrap()
                .with_first_interval(1 << 10);
            assert!(oracle.run_until(100_003).is_none(), "the run is longer");
            assert_eq!(oracle.snapshot_bytes(), oracle.count_snapshot_bytes());
            let outcome = oracle.run_until(u64::MAX).unwrap();
            assert!(outcome.is_final());
            assert_eq!(oracle.snapshot_bytes(), oracle.count_snapshot_bytes());
            assert!(oracle.snapshot_count() >= 2);
            if budget < 1 << 24 {
                assert!(oracle.interval() > 1 << 10, "the budget of {budget} bit");
            }
            // The trace is the same as a run in one go.
            let whole = crate::run(&program, &input, 1 << 30).unwrap();
            assert_eq!(outcome, whole);
            assert_eq!(oracle.run_to_end(), whole);
        }
    }

    /// A trace widened mid-run keeps its early snapshots, spaces the later ones at the new
    /// interval, and its points are those of a trace run in one go; the work is one run.
    #[test]
    fn a_trace_widened_mid_run_goes_on_where_it_stopped() {
        let input: Vec<u8> = (0..3000u32).map(|i| (i * 17 + 3) as u8).collect();
        let program = sha256sum();
        let mut widened = MachineOracle::new(&program, &input, 1 << 30, 1 << 30)
            .unwrap()
            .with_first_interval(1 << 10);
        assert!(widened.run_until(50_000).is_none(), "the run is longer");
        widened.widen_interval(20_000);
        assert_eq!(widened.interval(), 1 << 15, "a power-of-two multiple");
        let end = widened.run_to_end();
        assert_eq!(widened.work(), end.steps, "the first part is not run again");
        let mut keys = widened.snapshots.keys().copied();
        assert!(keys.clone().any(|k| k == 1 << 10), "an early snapshot kept");
        assert!(
            keys.all(|k| k <= 50_000 || k % (1 << 15) == 0),
            "later ones at the new interval"
        );
        let mut whole = MachineOracle::new(&program, &input, 1 << 30, 1 << 30).unwrap();
        for i in [
            0,
            1,
            49_999,
            50_000,
            50_001,
            end.steps / 2,
            end.steps,
            end.steps + 5,
        ] {
            assert_eq!(
                widened.point(i).unwrap(),
                whole.point(i).unwrap(),
                "point {i}"
            );
        }
    }
}

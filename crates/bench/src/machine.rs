//! The machine against the engines it is tied to, on the same workloads in one process:
//! wasmtime (the hosts' fast path, fuel on), wasmi (an independent interpreter), the machine
//! alone, and the machine as a dispute runs it (the trace oracle, hashing at every snapshot).
//! Speeds are the machine's exact step count over each engine's time, so they compare.
//!
//! Then the honest party's cost in a dispute: a long trace run once with snapshots within a
//! memory budget, and the slowest bisection query answered from them.

use crate::Result;
use ecm_machine::{FastEngine, MachineOracle, Program, ReferenceModule};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What to measure.
#[derive(Clone, Debug)]
pub struct Plan {
    /// `(label, input)` of each workload of the `workloads` example program.
    pub workloads: Vec<(&'static str, &'static str)>,
    /// The input of the long trace the query cost is measured on.
    pub query_trace: &'static str,
    /// The snapshot budget of the trace oracle, in bytes.
    pub snapshot_budget: usize,
}

impl Plan {
    /// The workloads of the machine's design (§5.2) and a trace of about 2^32 steps.
    pub fn full() -> Self {
        Self {
            workloads: vec![
                ("sha256 over 1 MiB", "sha256 1048576"),
                ("3x3 blur, 1024x1024", "blur 1024 1024"),
                ("mix, 100k elements", "mix 100000"),
            ],
            // SHA-256 takes about 81 steps a byte: 53 MB is about 2^32 steps.
            query_trace: "sha256 53000000",
            snapshot_budget: 256 << 20,
        }
    }

    /// The same workloads, smaller: seconds in a debug build.
    pub fn quick() -> Self {
        Self {
            workloads: vec![
                ("sha256 over 16 KiB", "sha256 16384"),
                ("3x3 blur, 64x64", "blur 64 64"),
                ("mix, 2k elements", "mix 2000"),
            ],
            query_trace: "sha256 200000",
            snapshot_budget: 4 << 20,
        }
    }
}

/// One workload in every engine.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The workload.
    pub workload: &'static str,
    /// The machine's exact step count.
    pub steps: u64,
    /// wasmtime's fuel: at least the steps (a host may claim it).
    pub fuel: u64,
    /// Machine steps per second of wasmtime's run (compilation excluded).
    pub wasmtime: f64,
    /// Machine steps per second of wasmi's run (compilation excluded).
    pub wasmi: f64,
    /// Machine steps per second, running alone.
    pub machine: f64,
    /// Machine steps per second through the trace oracle: snapshots, each hashed.
    pub machine_hashed: f64,
    /// `machine_hashed / wasmi`.
    pub hashed_to_wasmi: f64,
    /// `machine / wasmtime`.
    pub machine_to_wasmtime: f64,
}

/// The honest party's cost of one bisection query.
#[derive(Clone, Debug, Serialize)]
pub struct QueryCost {
    /// Steps of the trace.
    pub trace_steps: u64,
    /// Seconds to run it once with snapshots.
    pub first_run_secs: f64,
    /// Snapshots kept, and the interval between them.
    pub snapshots: usize,
    /// Steps between snapshots.
    pub interval: u64,
    /// Memory the snapshots hold.
    pub snapshot_bytes: usize,
    /// The budget they were kept within.
    pub budget: usize,
    /// The slowest query measured: the point just before a snapshot, replayed from the previous
    /// one (seconds).
    pub worst_query_secs: f64,
    /// The mean of queries at random points (seconds).
    pub mean_query_secs: f64,
}

/// Everything `ecm bench machine` prints.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// One row per workload.
    pub rows: Vec<Row>,
    /// The dispute query cost.
    pub query: QueryCost,
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// Runs the plan.
pub fn run(plan: &Plan) -> Result<Report> {
    let example = ecm_programs::wasi_program("workloads").expect("the workloads example exists");
    let program = Program::from_wasm(example.wasm)?;
    let fast = FastEngine::new()?.compile(&program)?;
    let reference = ReferenceModule::new(&program)?;
    let mut rows = Vec::new();
    for &(workload, input) in &plan.workloads {
        let input = input.as_bytes();
        let (outcome, machine_time) = timed(|| ecm_machine::run(&program, input, u64::MAX));
        let outcome = outcome?;
        let steps = outcome.steps;
        let (fast_run, fast_time) = timed(|| fast.run(input, u64::MAX / 2));
        let fast_run = fast_run?;
        let (reference_run, reference_time) = timed(|| reference.run(input));
        let reference_run = reference_run?;
        // Both engines must have computed what the machine did.
        for run in [&fast_run, &reference_run] {
            if run.final_state() != Some(outcome.state()) {
                return Err(ecm_machine::Error::EnginesDisagree {
                    machine: format!("{:?}", outcome.end),
                    wasmtime: format!("{:?}", run.end),
                }
                .into());
            }
        }
        let (hashed, hashed_time) = timed(|| -> Result<u64> {
            let mut oracle = MachineOracle::new(&program, input, u64::MAX, plan.snapshot_budget)?;
            Ok(oracle.run_to_end().steps)
        });
        hashed?;
        let speed = |t: Duration| steps as f64 / t.as_secs_f64();
        rows.push(Row {
            workload,
            steps,
            fuel: fast_run.fuel.unwrap_or_default(),
            wasmtime: speed(fast_time),
            wasmi: speed(reference_time),
            machine: speed(machine_time),
            machine_hashed: speed(hashed_time),
            hashed_to_wasmi: speed(hashed_time) / speed(reference_time),
            machine_to_wasmtime: speed(machine_time) / speed(fast_time),
        });
    }
    Ok(Report {
        rows,
        query: query_cost(&program, plan)?,
    })
}

fn query_cost(program: &Program, plan: &Plan) -> Result<QueryCost> {
    let input = plan.query_trace.as_bytes();
    let mut oracle = MachineOracle::new(program, input, u64::MAX, plan.snapshot_budget)?;
    let (outcome, first_run) = timed(|| oracle.run_to_end());
    let n = outcome.steps;
    let interval = oracle.interval();
    // The costliest point: just before a snapshot, far from the machine's last position.
    let last_snapshot = (n - 1) / interval * interval;
    let worst_point = if last_snapshot >= interval {
        last_snapshot - 1
    } else {
        n - 1
    };
    oracle.point(0)?;
    let (point, worst) = timed(|| oracle.point(worst_point));
    point?;
    let mut rng = StdRng::seed_from_u64(7);
    let mut total = Duration::ZERO;
    let queries = 16;
    for _ in 0..queries {
        let i = rng.random_range(0..n);
        let (point, t) = timed(|| oracle.point(i));
        point?;
        total += t;
    }
    Ok(QueryCost {
        trace_steps: n,
        first_run_secs: first_run.as_secs_f64(),
        snapshots: oracle.snapshot_count(),
        interval,
        snapshot_bytes: oracle.snapshot_bytes(),
        budget: plan.snapshot_budget,
        worst_query_secs: worst.as_secs_f64(),
        mean_query_secs: total.as_secs_f64() / queries as f64,
    })
}

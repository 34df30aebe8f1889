//! `ecm bench ...`: the benchmarks of `ecm-bench`, printed as tables or JSON.

use crate::opts::OutputOpts;
use crate::output;
use clap::{Args, Subcommand};
use ecm_bench::dispute::{self, Plan, Snapshot};
use eyre::{Result, WrapErr, bail};
use std::{path::PathBuf, time::Duration};

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Dispute cost against trace length, bisection vs full re-execution, and the arity sweep.
    Dispute(DisputeArgs),
    /// Steps per second: native, WASM batched, WASM one step per call.
    Runtime(RuntimeArgs),
    /// Requests against one host: throughput, latency, gas per job.
    Market(MarketArgs),
    /// The WASM machine against wasmtime and wasmi, and the cost of a dispute query.
    Machine(MachineArgs),
    /// Rounds of requests through one host process: its memory and tick time as jobs pile up.
    Soak(SoakArgs),
}

impl BenchCommand {
    pub(crate) async fn run(self) -> Result<()> {
        match self {
            Self::Dispute(args) => args.run().await,
            Self::Runtime(args) => args.run().await,
            Self::Market(args) => args.run().await,
            Self::Machine(args) => args.run(),
            Self::Soak(args) => args.run().await,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct DisputeArgs {
    /// Run the small plan (the one the snapshot records) instead of the full one.
    #[arg(long)]
    quick: bool,
    /// Compare the gas figures with this snapshot and fail on any difference.
    #[arg(long, value_name = "FILE", conflicts_with = "update")]
    check: Option<PathBuf>,
    /// Write the gas figures to this snapshot.
    #[arg(long, value_name = "FILE")]
    update: Option<PathBuf>,
    /// Draw the cost curve to this PNG (SVG if no font is found).
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
    #[command(flatten)]
    output: OutputOpts,
}

impl DisputeArgs {
    async fn run(self) -> Result<()> {
        let plan = if self.quick || self.check.is_some() || self.update.is_some() {
            Plan::quick()
        } else {
            Plan::full()
        };
        let report = dispute::run(&plan).await?;
        if self.output.json {
            output::json(&report);
        } else {
            print_dispute(&report);
        }
        if let Some(path) = &self.chart {
            let written = ecm_bench::chart::draw(&report, path)?;
            eprintln!("chart written to {}", written.display());
        }
        let snapshot = report.snapshot();
        if let Some(path) = &self.update {
            std::fs::write(path, serde_json::to_string_pretty(&snapshot)? + "\n")
                .wrap_err_with(|| format!("writing {}", path.display()))?;
            eprintln!("snapshot written to {}", path.display());
        }
        if let Some(path) = &self.check {
            let text = std::fs::read_to_string(path)
                .wrap_err_with(|| format!("reading {}", path.display()))?;
            let expected: Snapshot =
                serde_json::from_str(&text).wrap_err("the snapshot is malformed")?;
            if expected != snapshot {
                let differences = differences(&expected, &snapshot);
                bail!(
                    "dispute gas differs from {}:\n{}\n(update it with `ecm bench dispute --update {}` if the change is intended)",
                    path.display(),
                    differences.join("\n"),
                    path.display()
                );
            }
            eprintln!("dispute gas matches {}", path.display());
        }
        Ok(())
    }
}

fn differences(expected: &Snapshot, actual: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let rows = |s: &Snapshot| {
        s.bisection
            .iter()
            .chain(&s.sweep)
            .cloned()
            .collect::<Vec<_>>()
    };
    for (e, a) in rows(expected).iter().zip(rows(actual)) {
        if *e != a {
            out.push(format!(
                "  {} 2^{} k={}: expected {e:?}\n  {:>w$} got {a:?}",
                e.program,
                e.log2_steps,
                e.arity,
                "",
                w = 0
            ));
        }
    }
    for (e, a) in expected.full.iter().zip(&actual.full) {
        if e != a {
            out.push(format!(
                "  full re-execution 2^{}: expected {} gas, got {}",
                e.log2_steps, e.gas, a.gas
            ));
        }
    }
    if out.is_empty() {
        out.push("  the sets of rows differ".into());
    }
    out
}

fn print_dispute(report: &dispute::DisputeReport) {
    println!("bisection disputes (k = 16), gas from the receipts, both parties");
    let rows: Vec<Vec<String>> = report
        .bisection
        .iter()
        .map(|r| {
            let full = report
                .full
                .iter()
                .find(|f| f.log2_steps == r.log2_steps && r.program == "counter");
            vec![
                r.program.clone(),
                format!("2^{}", r.log2_steps),
                format!("{} (<= {})", r.rounds, r.max_rounds),
                r.total_gas.to_string(),
                r.max_move_gas.to_string(),
                r.one_step_gas.to_string(),
                r.wall_ms.map(|m| format!("{m} ms")).unwrap_or_default(),
                full.map(full_cell).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    output::table(
        &[
            "program",
            "N",
            "rounds",
            "total gas",
            "max move",
            "one step",
            "wall time",
            "full re-execution gas",
        ],
        &rows,
    );
    println!(
        "\narity sweep at 2^{}",
        report.sweep.first().map(|r| r.log2_steps).unwrap_or(32)
    );
    let sweep: Vec<Vec<String>> = report
        .sweep
        .iter()
        .map(|r| {
            vec![
                r.arity.to_string(),
                r.rounds.to_string(),
                r.total_gas.to_string(),
                r.max_move_gas.to_string(),
                r.wall_ms.map(|m| format!("{m} ms")).unwrap_or_default(),
            ]
        })
        .collect();
    output::table(
        &["k", "rounds", "total gas", "max move", "wall time"],
        &sweep,
    );
    if let Some(best) = report.sweep.iter().min_by_key(|r| r.total_gas) {
        println!(
            "cheapest arity: {} ({} gas, largest move {})",
            best.arity, best.total_gas, best.max_move_gas
        );
    }
    if let Some(k) = report.chosen_arity {
        println!(
            "chosen arity: {k} (the cheapest whose every move stays under {} gas)",
            dispute::MOVE_GAS_LIMIT
        );
    }
    println!(
        "\nfull re-execution: {} gas per step (counter)",
        report.full_gas_per_step
    );
    match report.crossover_log2 {
        Some(log2) => println!("bisection is cheaper from N = 2^{log2} on (of the sizes run)"),
        None => println!("bisection was not cheaper at any size run"),
    }
}

fn full_cell(f: &dispute::FullRow) -> String {
    let how = if f.measured {
        "measured"
    } else {
        "extrapolated"
    };
    let cap = if f.within_cap {
        ""
    } else {
        ", over the 2^20-step cap"
    };
    if f.blocks > 1 {
        format!("{} ({how}, {} blocks{cap})", f.gas, f.blocks)
    } else {
        format!("{} ({how}{cap})", f.gas)
    }
}

#[derive(Debug, Args)]
pub(crate) struct RuntimeArgs {
    /// Seconds per program and mode.
    #[arg(long, default_value_t = 1.0)]
    seconds: f64,
    #[command(flatten)]
    output: OutputOpts,
}

impl RuntimeArgs {
    async fn run(self) -> Result<()> {
        let budget = Duration::from_secs_f64(self.seconds.max(0.05));
        let rows = tokio::task::spawn_blocking(move || ecm_bench::runtime::run(budget)).await??;
        if self.output.json {
            output::json(&rows);
            return Ok(());
        }
        let speed = |s: f64| {
            if s >= 1e6 {
                format!("{:.1} M", s / 1e6)
            } else {
                format!("{:.1} k", s / 1e3)
            }
        };
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.program.to_string(),
                    speed(r.native),
                    speed(r.wasm_batched),
                    speed(r.wasm_single),
                    format!("{:.2}", r.batched_ratio),
                    format!("{:.3}", r.single_ratio),
                ]
            })
            .collect();
        println!("steps per second");
        output::table(
            &[
                "program",
                "native",
                "wasm batched",
                "wasm single-step",
                "batched/native",
                "single/native",
            ],
            &table,
        );
        Ok(())
    }
}

#[derive(Debug, Args)]
pub(crate) struct SoakArgs {
    /// Requests per round.
    #[arg(long, default_value_t = 1000)]
    per_round: usize,
    /// Rounds: the host is measured after each, every job so far paid.
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    #[command(flatten)]
    output: OutputOpts,
}

impl SoakArgs {
    async fn run(self) -> Result<()> {
        let ecm = std::env::current_exe().wrap_err("finding the ecm binary")?;
        let rows = ecm_bench::soak::run(&ecm, self.per_round, self.rounds).await?;
        if self.output.json {
            output::json(&rows);
            return Ok(());
        }
        println!(
            "one host process (`ecm host run`), {} requests per round, every job paid before it is measured",
            self.per_round
        );
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.paid.to_string(),
                    format!("{:.1} MiB", r.rss_bytes as f64 / f64::from(1 << 20)),
                    format!("{:.2} ms", r.mean_tick_ms),
                    r.ticks.to_string(),
                    format!("{:.0} s", r.round_seconds),
                ]
            })
            .collect();
        output::table(
            &[
                "jobs paid",
                "resident memory",
                "mean tick",
                "ticks in the round",
                "round",
            ],
            &table,
        );
        Ok(())
    }
}

#[derive(Debug, Args)]
pub(crate) struct MarketArgs {
    /// The program requested: a step program (`fibonacci`) or a devnet machine program
    /// (`sha256sum`, `wordfreq`).
    #[arg(long, default_value = "fibonacci")]
    program: String,
    /// Seconds between blocks; 0 mines a block per transaction, so the latency is the host's.
    #[arg(long, default_value_t = 1)]
    block_time: u64,
    /// Numbers of requests, one run each.
    #[arg(long, value_delimiter = ',', default_values_t = [10usize, 100, 500])]
    requests: Vec<usize>,
    /// Send the requests in `requestExecutionBatch`es of this many (default: one transaction
    /// per request).
    #[arg(long)]
    batch: Option<usize>,
    /// With `--batch`: compact batches (`requestCompactBatch`), each job held as one hash.
    #[arg(long, requires = "batch")]
    compact: bool,
    #[command(flatten)]
    output: OutputOpts,
}

impl MarketArgs {
    async fn run(self) -> Result<()> {
        use ecm_bench::market::Batching;
        let batching = match (self.batch, self.compact) {
            (None, _) => Batching::None,
            (Some(n), false) => Batching::Stored(n),
            (Some(n), true) => Batching::Compact(n),
        };
        let mut rows = Vec::new();
        for m in &self.requests {
            rows.push(ecm_bench::market::run(&self.program, *m, self.block_time, batching).await?);
        }
        if self.output.json {
            output::json(&rows);
            return Ok(());
        }
        let table: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.requests.to_string(),
                    format!("{:.1}", r.answered_per_second),
                    format!("{} ms", r.latency_median_ms),
                    format!("{} ms", r.latency_p99_ms),
                    format!("{} ms", r.latency_max_ms),
                    r.gas_per_job.to_string(),
                ]
            })
            .collect();
        let blocks = match self.block_time {
            0 => "a block per transaction".to_string(),
            1 => "a block per second".to_string(),
            s => format!("a block every {s} seconds"),
        };
        let sent = match batching {
            Batching::None => String::new(),
            Batching::Stored(n) => format!(", requested in batches of {n}"),
            Batching::Compact(n) => format!(", requested in compact batches of {n}"),
        };
        println!(
            "{}: one host on a devnet mining {blocks}{sent}",
            self.program
        );
        output::table(
            &[
                "requests",
                "answered/s",
                "median latency",
                "p99 latency",
                "max latency",
                "gas per job",
            ],
            &table,
        );
        Ok(())
    }
}

#[derive(Debug, Args)]
pub(crate) struct MachineArgs {
    /// Small workloads and a short trace (seconds) instead of the design's (about a minute).
    #[arg(long)]
    quick: bool,
    #[command(flatten)]
    output: OutputOpts,
}

impl MachineArgs {
    fn run(self) -> Result<()> {
        use ecm_bench::machine::{self, Plan};
        let plan = if self.quick {
            Plan::quick()
        } else {
            Plan::full()
        };
        let report = machine::run(&plan)?;
        if self.output.json {
            output::json(&report);
            return Ok(());
        }
        let millions = |x: f64| format!("{:.0} M/s", x / 1e6);
        println!("machine steps per second (the machine's exact steps over each engine's time)");
        let rows: Vec<Vec<String>> = report
            .rows
            .iter()
            .map(|r| {
                vec![
                    r.workload.to_string(),
                    r.steps.to_string(),
                    r.fuel.to_string(),
                    millions(r.wasmtime),
                    millions(r.wasmi),
                    millions(r.machine),
                    millions(r.machine_hashed),
                    format!("{:.2}", r.hashed_to_wasmi),
                    format!("{:.3}", r.machine_to_wasmtime),
                ]
            })
            .collect();
        output::table(
            &[
                "workload",
                "steps",
                "fuel",
                "wasmtime",
                "wasmi",
                "machine",
                "machine+hash",
                "hashed/wasmi",
                "machine/wasmtime",
            ],
            &rows,
        );
        let q = &report.query;
        println!(
            "\nbisection queries over a {}-step trace (2^{:.1}): first run {:.1} s; {} snapshots \
             every {} steps in {:.1} MiB (budget {} MiB); slowest query {:.3} s, mean {:.4} s",
            q.trace_steps,
            (q.trace_steps as f64).log2(),
            q.first_run_secs,
            q.snapshots,
            q.interval,
            q.snapshot_bytes as f64 / (1 << 20) as f64,
            q.budget >> 20,
            q.worst_query_secs,
            q.mean_query_secs,
        );
        Ok(())
    }
}

//! `ecm host jobs`, `ecm host earnings` (and the challenger's): what an agent's job store holds,
//! read while the agent runs or not.

use crate::{opts::OutputOpts, output, units::format_ether};
use clap::Args;
use ecm_agent::{Job, JobStore, Stance};
use eyre::{Result, WrapErr};
use std::path::PathBuf;

/// Where the agent keeps its store.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// The agent's data directory (its --data-dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    output: OutputOpts,
}

impl StoreArgs {
    fn open(&self, default_dir: &str) -> Result<JobStore> {
        let dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(".ecm").join(default_dir));
        JobStore::open_existing(&dir)
            .wrap_err_with(|| format!("opening the job store in {}", dir.display()))
    }
}

/// `jobs`: the agent's jobs, newest first.
#[derive(Debug, Args)]
pub(crate) struct JobsArgs {
    /// Only the jobs still open (not over).
    #[arg(long)]
    open: bool,
    #[command(flatten)]
    store: StoreArgs,
}

impl JobsArgs {
    pub(crate) fn run(&self, default_dir: &str) -> Result<()> {
        let jobs = self.store.open(default_dir)?.list(self.open)?;
        if self.store.output.json {
            let jobs: Vec<serde_json::Value> = jobs.iter().map(json_row).collect();
            output::json(&jobs);
            return Ok(());
        }
        let rows: Vec<Vec<String>> = jobs.iter().map(row).collect();
        output::table(
            &[
                "id",
                "program",
                "state",
                "payment",
                "deposit",
                "steps",
                "last action",
            ],
            &rows,
        );
        Ok(())
    }
}

/// A job as JSON, its amounts as decimal strings of wei (as `earnings --json` prints them; the
/// store's own form is hexadecimal).
fn json_row(job: &Job) -> serde_json::Value {
    let mut value = serde_json::to_value(job).expect("jobs serialize");
    value["payment"] = serde_json::json!(job.payment.to_string());
    if let Some(deposit) = job.deposit {
        value["deposit"] = serde_json::json!(deposit.to_string());
    }
    value
}

fn row(job: &Job) -> Vec<String> {
    let state = match &job.stance {
        Stance::Open => "open".to_string(),
        Stance::Engaged => "engaged".to_string(),
        Stance::Done { outcome } => String::from(outcome.clone()),
    };
    vec![
        job.id.to_string(),
        job.program.clone(),
        state,
        format_ether(job.payment),
        job.deposit.map(format_ether).unwrap_or_default(),
        job.claim
            .as_ref()
            .map(|c| c.steps.to_string())
            .unwrap_or_default(),
        job.log
            .last()
            .map(|l| l.split(" tx=").next().unwrap_or(l).to_string())
            .unwrap_or_default(),
    ]
}

/// `earnings`: what the agent earned and spent, from its ledger.
#[derive(Debug, Args)]
pub(crate) struct EarningsArgs {
    #[command(flatten)]
    store: StoreArgs,
}

impl EarningsArgs {
    pub(crate) fn run(&self, default_dir: &str) -> Result<()> {
        let e = self.store.open(default_dir)?.earnings()?;
        let (gain, net) = e.net();
        if self.store.output.json {
            let mut value = serde_json::to_value(&e).expect("earnings serialize");
            value["net"] = serde_json::json!(if gain {
                net.to_string()
            } else {
                format!("-{net}")
            });
            output::json(&value);
            return Ok(());
        }
        let eth = |v| format!("{} ETH", format_ether(v));
        output::fields(&[
            ("paid", eth(e.paid)),
            ("won in disputes", eth(e.won)),
            ("other credits", eth(e.other_credits)),
            ("deposits staked", eth(e.deposits_staked)),
            ("deposits returned", eth(e.deposits_returned)),
            ("deposits locked", eth(e.deposits_locked)),
            ("deposits lost", eth(e.deposits_lost)),
            ("gas", eth(e.gas)),
            (
                "net",
                format!("{}{}", if gain { "" } else { "-" }, eth(net)),
            ),
            ("withdrawn", eth(e.withdrawn)),
            ("in the Broker", eth(e.balance)),
            (
                "jobs",
                format!(
                    "{} open, {} engaged, {} over",
                    e.jobs_open, e.jobs_engaged, e.jobs_done
                ),
            ),
        ]);
        Ok(())
    }
}

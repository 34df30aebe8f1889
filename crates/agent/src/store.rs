//! The job store: what the agent has taken on and the money it moved, in an SQLite database
//! (`<data dir>/jobs.sqlite`), written in a transaction at every change, so that a restart
//! resumes every open job and a kill at any moment loses nothing committed.
//!
//! Only open jobs are kept in memory: a finished job is written and dropped, and stays in the
//! database for `ecm host jobs` and `ecm host earnings`. The schema is versioned
//! (`PRAGMA user_version`) and migrated forward on open; a store from before the database (a
//! `jobs/` directory of JSON files and a `cursor` file) is imported on first open.

use crate::{Error, Result, decide::Outcome};
use alloy::primitives::{Address, B256, Bytes, U256};
use ecm_bindings::protocol::CreditReason;
use ecm_primitives::Claim;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// Where the agent stands on a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "stance")]
pub enum Stance {
    /// Computing the request, to answer it (host) or to check answers (challenger).
    Open,
    /// We answered or challenged: following the request to its end.
    Engaged,
    /// Nothing more to do.
    Done {
        /// How it ended for us.
        outcome: Ending,
    },
}

/// How a job ended, as its file records it: `"paid"`, or `"refused: <why>"` for a refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Ending {
    /// The outcome.
    pub outcome: Outcome,
    /// Why, for a refusal.
    pub reason: Option<String>,
}

impl From<Outcome> for Ending {
    fn from(outcome: Outcome) -> Self {
        Self {
            outcome,
            reason: None,
        }
    }
}

impl From<Ending> for String {
    fn from(ending: Ending) -> String {
        match ending.reason {
            Some(reason) => format!("{}: {reason}", ending.outcome),
            None => ending.outcome.to_string(),
        }
    }
}

impl TryFrom<String> for Ending {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let (outcome, reason) = match text.split_once(": ") {
            Some((outcome, reason)) => (outcome, Some(reason.to_string())),
            None => (text.as_str(), None),
        };
        Ok(Self {
            outcome: outcome.parse()?,
            reason,
        })
    }
}

/// What the trace oracle of a job has done, for operators and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStats {
    /// Steps in the trace (the claim's step count).
    pub steps: u64,
    /// Steps executed so far: the first run and every replay.
    pub work: u64,
    /// Memory held by checkpoints, in bytes.
    pub checkpoint_bytes: u64,
    /// The checkpoint interval `K`.
    pub checkpoint_interval: u64,
}

/// One request the agent follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The request id.
    pub id: u64,
    /// The program's name in the deployment.
    pub program: String,
    /// The program's id.
    pub program_id: B256,
    /// The request's input.
    pub input: Bytes,
    /// The request's step bound.
    pub max_steps: u64,
    /// The payment offered.
    pub payment: U256,
    /// Where we stand.
    #[serde(flatten)]
    pub stance: Stance,
    /// What we computed (and answer or challenge with).
    pub claim: Option<Claim>,
    /// Standing claims we have already challenged: never challenge the same claim twice.
    #[serde(default)]
    pub challenged: Vec<B256>,
    /// What we did, in order (action and transaction), for the record.
    #[serde(default)]
    pub log: Vec<String>,
    /// The deposit our answer or challenge put on the request, while it stands (cleared once
    /// the chain shows we no longer hold the answer or the challenge: it was forfeited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit: Option<U256>,
    /// The trace oracle's figures, while the trace is in memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceStats>,
}

impl Job {
    /// Whether the job still needs attention.
    pub fn is_open(&self) -> bool {
        !matches!(self.stance, Stance::Done { .. })
    }

    /// Whether we put money on this request (an answer or a challenge).
    pub fn is_engaged(&self) -> bool {
        self.stance == Stance::Engaged
    }
}

/// What a job store was made for: one deployment on one chain. A devnet restarted from block 0
/// keeps its chain id and contract addresses, so the block the deployment was made in (its
/// hash) is what tells two chains apart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// The chain's id.
    pub chain_id: u64,
    /// The Broker's address.
    pub broker: Address,
    /// The hash of the block the deployment was made in.
    pub deployed_in: B256,
}

/// How [`JobStore::open_bound`] found the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// Made for this binding (or new).
    Resumed,
    /// Made before stores were bound, and plausible for this chain (its cursor not past the
    /// head): adopted and bound.
    Adopted,
    /// Made for another chain or deployment: set aside in this directory, and a new store
    /// started.
    SetAside(PathBuf),
}

/// The database file in a data directory.
pub const DATABASE: &str = "jobs.sqlite";

/// Where a store from before the database is moved once imported.
const IMPORTED_JSON: &str = "imported-json-store";

/// The schema, one migration per version: migration `i` takes a database from
/// `user_version = i` to `i + 1`. Append new ones; never change one that has shipped.
const MIGRATIONS: &[&str] = &[
    r"
    -- What the store was made for (`binding`) and the last block whose logs were read (`cursor`).
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    -- One row per request the agent took on. Numbers that may not fit 63 bits (steps, wei) are
    -- decimal text; `claim`, `challenged` and `trace` are JSON.
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        program TEXT NOT NULL,
        program_id BLOB NOT NULL,
        input BLOB NOT NULL,
        max_steps TEXT NOT NULL,
        payment TEXT NOT NULL,
        stance TEXT NOT NULL CHECK (stance IN ('open', 'engaged', 'done')),
        outcome TEXT,
        claim TEXT,
        challenged TEXT NOT NULL,
        deposit TEXT,
        trace TEXT,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX jobs_open ON jobs (id) WHERE stance != 'done';
    -- What the agent did on each job, in order.
    CREATE TABLE job_events (
        job_id INTEGER NOT NULL REFERENCES jobs (id),
        seq INTEGER NOT NULL,
        entry TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (job_id, seq)
    ) STRICT;
    -- Money in and out of the agent's account. Entries read from logs carry the log's
    -- transaction and index, so reading a block twice records nothing twice.
    CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        job_id INTEGER,
        kind TEXT NOT NULL,
        amount TEXT NOT NULL,
        tx BLOB,
        log_index INTEGER,
        block INTEGER,
        UNIQUE (tx, log_index)
    ) STRICT;
",
    r"
    -- The commitments a defender posted in a game (`Bisected`), kept as soon as they are read:
    -- a node that prunes old logs cannot take them away while the game needs them.
    CREATE TABLE posted_points (
        job_id INTEGER NOT NULL REFERENCES jobs (id),
        points_hash BLOB NOT NULL,
        points BLOB NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (job_id, points_hash)
    ) STRICT;
",
];

/// A movement of money for the agent's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// A deposit sent with an answer or a challenge.
    Staked,
    /// The fee of a transaction the agent sent.
    Gas,
    /// A credit to the agent's Broker balance (`Credited`), with its reason.
    Credit(CreditReason),
    /// A withdrawal from the agent's Broker balance (`Withdrawn`).
    Withdrawn,
}

impl Movement {
    fn as_text(self) -> String {
        match self {
            Self::Staked => "staked".into(),
            Self::Gas => "gas".into(),
            Self::Credit(reason) => format!("credit:{}", reason.name()),
            Self::Withdrawn => "withdrawn".into(),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "staked" => Self::Staked,
            "gas" => Self::Gas,
            "withdrawn" => Self::Withdrawn,
            _ => {
                let name = text.strip_prefix("credit:")?;
                Self::Credit(CreditReason::ALL.into_iter().find(|r| r.name() == name)?)
            }
        })
    }
}

/// One line of the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The request it concerns (none for a withdrawal).
    pub job: Option<u64>,
    /// What moved.
    pub movement: Movement,
    /// How much, in wei.
    pub amount: U256,
    /// The transaction.
    pub tx: Option<B256>,
    /// For an entry read from a log, the log's index in its block.
    pub log_index: Option<u64>,
    /// The block.
    pub block: Option<u64>,
}

impl LedgerEntry {
    /// A movement of one of the agent's own transactions (a deposit staked, a fee paid).
    pub fn sent(job: Option<u64>, movement: Movement, amount: U256, tx: Option<B256>) -> Self {
        Self {
            job,
            movement,
            amount,
            tx,
            log_index: None,
            block: None,
        }
    }

    /// A movement a Broker log tells (a credit, a withdrawal): the log's place identifies it,
    /// so that a log read twice is recorded once.
    pub fn from_log(
        job: Option<u64>,
        movement: Movement,
        amount: U256,
        log: &ecm_chain::BrokerLog,
    ) -> Self {
        Self {
            job,
            movement,
            amount,
            tx: log.tx,
            log_index: log.log_index,
            block: Some(log.block),
        }
    }
}

/// What the agent earned and spent, from its ledger and its open jobs (wei).
/// As JSON, amounts are decimal strings of wei.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Earnings {
    /// Payments for accepted answers.
    #[serde(serialize_with = "decimal")]
    pub paid: U256,
    /// Shares of losers' deposits won in disputes.
    #[serde(serialize_with = "decimal")]
    pub won: U256,
    /// Delay compensation, refunds and gas reimbursements credited.
    #[serde(serialize_with = "decimal")]
    pub other_credits: U256,
    /// Deposits sent with answers and challenges.
    #[serde(serialize_with = "decimal")]
    pub deposits_staked: U256,
    /// Deposits credited back (returned, or a surplus over what was required).
    #[serde(serialize_with = "decimal")]
    pub deposits_returned: U256,
    /// Deposits still held by open jobs.
    #[serde(serialize_with = "decimal")]
    pub deposits_locked: U256,
    /// Deposits forfeited: staked, neither returned nor still locked.
    #[serde(serialize_with = "decimal")]
    pub deposits_lost: U256,
    /// Fees of the transactions sent.
    #[serde(serialize_with = "decimal")]
    pub gas: U256,
    /// Withdrawn from the Broker.
    #[serde(serialize_with = "decimal")]
    pub withdrawn: U256,
    /// Credited and not yet withdrawn, as far as the ledger shows.
    #[serde(serialize_with = "decimal")]
    pub balance: U256,
    /// Jobs by stance.
    pub jobs_open: u64,
    /// Jobs the agent answered or challenged and that are not over.
    pub jobs_engaged: u64,
    /// Jobs over.
    pub jobs_done: u64,
}

fn decimal<S: serde::Serializer>(value: &U256, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

impl Earnings {
    /// Payments and rewards less lost deposits and gas (positive or negative), in wei.
    pub fn net(&self) -> (bool, U256) {
        let gained = self.paid + self.won + self.other_credits;
        let spent = self.deposits_lost + self.gas;
        if gained >= spent {
            (true, gained - spent)
        } else {
            (false, spent - gained)
        }
    }
}

/// The job store of one data directory; see the module docs.
#[derive(Debug)]
pub struct JobStore {
    dir: PathBuf,
    db: Connection,
    cursor: u64,
    /// The open jobs; finished ones are only in the database.
    open: BTreeMap<u64, Job>,
}

impl JobStore {
    /// Opens (or creates) the store in `dir`, migrating its schema, importing a store from
    /// before the database if there is one.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| store_error(dir, &e))?;
        let path = dir.join(DATABASE);
        let mut db = Connection::open(&path).map_err(|e| store_error(&path, &e))?;
        configure(&db).map_err(|e| store_error(&path, &e))?;
        migrate(&mut db, &path)?;
        let mut store = Self {
            dir: dir.to_path_buf(),
            db,
            cursor: 0,
            open: BTreeMap::new(),
        };
        store.import_json_store()?;
        store.cursor = store
            .state("cursor")?
            .map(|c| {
                c.parse().map_err(|e| {
                    store_error(
                        &path,
                        &format!("the cursor `{c}` is not a block number: {e}"),
                    )
                })
            })
            .transpose()?
            .unwrap_or(0);
        store.open = store
            .query_jobs(true)?
            .into_iter()
            .map(|j| (j.id, j))
            .collect();
        Ok(store)
    }

    /// Opens an existing store in `dir` for reading (`ecm host jobs`): a directory without one
    /// is an error that names it.
    pub fn open_existing(dir: &Path) -> Result<Self> {
        let path = dir.join(DATABASE);
        if !path.exists() && !dir.join("jobs").is_dir() {
            return Err(store_error(
                &path,
                &"no job store here: pass the agent's --data-dir (by default .ecm/host or .ecm/challenger)",
            ));
        }
        Self::open(dir)
    }

    /// Opens the store in `dir` for `binding` (with `head`, the chain's latest block): a store
    /// made for another chain or deployment would answer nothing (its cursor past the new
    /// chain's blocks, its jobs naming other requests), so it is moved, whole, to
    /// `dir/previous-<n>` and a new one started. A store made before stores were bound is
    /// adopted unless its cursor is past `head`.
    pub fn open_bound(dir: &Path, binding: &Binding, head: u64) -> Result<(Self, Opened)> {
        let mut store = Self::open(dir)?;
        let recorded: Option<Binding> = match store.state("binding")? {
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                store_error(&store.path(), &format!("its binding does not parse: {e}"))
            })?),
            None => None,
        };
        let fits = store.cursor <= head;
        let blank = store.cursor == 0 && store.open.is_empty() && store.is_empty()?;
        let opened = match &recorded {
            Some(recorded) if recorded == binding => Opened::Resumed,
            Some(_) => Opened::SetAside(PathBuf::new()),
            None if blank => Opened::Resumed,
            None if fits => Opened::Adopted,
            None => Opened::SetAside(PathBuf::new()),
        };
        let opened = if let Opened::SetAside(_) = opened {
            drop(store);
            let aside = set_aside(dir)?;
            store = Self::open(dir)?;
            Opened::SetAside(aside)
        } else {
            opened
        };
        if recorded.as_ref() != Some(binding) || matches!(opened, Opened::SetAside(_)) {
            let text = serde_json::to_string(binding).expect("bindings serialize");
            store.set_state("binding", &text)?;
        }
        Ok((store, opened))
    }

    /// The database file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(DATABASE)
    }

    /// Saves job `id` (one transaction: its row and its new events); a job that is over is
    /// then dropped from memory.
    pub fn save_job(&mut self, id: u64) -> Result<()> {
        let Some(job) = self.open.get(&id) else {
            return Ok(());
        };
        let path = self.path();
        write_job(&mut self.db, job).map_err(|e| store_error(&path, &e))?;
        if !job.is_open() {
            self.open.remove(&id);
        }
        Ok(())
    }

    /// Saves the log cursor.
    pub fn save_cursor(&self) -> Result<()> {
        self.set_state("cursor", &self.cursor.to_string())
    }

    /// Saves every open job and the cursor.
    pub fn save(&mut self) -> Result<()> {
        let ids: Vec<u64> = self.open.keys().copied().collect();
        for id in ids {
            self.save_job(id)?;
        }
        self.save_cursor()
    }

    /// The last block whose logs were processed.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Records that logs up to `block` were processed (saved by [`JobStore::save_cursor`]).
    pub fn set_cursor(&mut self, block: u64) {
        self.cursor = block;
    }

    /// The open jobs.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.open.values()
    }

    /// The open job for request `id`.
    pub fn get(&self, id: u64) -> Option<&Job> {
        self.open.get(&id)
    }

    /// The open job for request `id`, to change (then [`JobStore::save_job`]).
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Job> {
        self.open.get_mut(&id)
    }

    /// The job for request `id`, open or over.
    pub fn job(&self, id: u64) -> Result<Option<Job>> {
        if let Some(job) = self.open.get(&id) {
            return Ok(Some(job.clone()));
        }
        let path = self.path();
        let row = self
            .db
            .query_row(
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
                [sql_id(id, &path)?],
                job_from_row,
            )
            .optional()
            .map_err(|e| store_error(&path, &e))?;
        let Some(job) = row else { return Ok(None) };
        let mut job = job.map_err(|e| store_error(&path, &format!("job {id}: {e}")))?;
        job.log = self.events(id)?;
        Ok(Some(job))
    }

    /// Every job, newest first (only the open ones with `open_only`).
    pub fn list(&self, open_only: bool) -> Result<Vec<Job>> {
        let mut jobs = self.query_jobs(open_only)?;
        jobs.reverse();
        Ok(jobs)
    }

    /// Takes on a job, unless the store already has one for its request (open or over): a log
    /// read again after a restart must not start a finished job over. Returns whether it did.
    pub fn insert(&mut self, job: Job) -> Result<bool> {
        if self.open.contains_key(&job.id) || self.job(job.id)?.is_some() {
            return Ok(false);
        }
        self.open.insert(job.id, job);
        Ok(true)
    }

    /// Adds `entry` to the ledger (nothing, if an entry from the same log is there already).
    pub fn record(&self, entry: &LedgerEntry) -> Result<()> {
        let path = self.path();
        let job = entry.job.map(|id| sql_id(id, &path)).transpose()?;
        self.db
            .execute(
                "INSERT OR IGNORE INTO ledger (job_id, kind, amount, tx, log_index, block)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    job,
                    entry.movement.as_text(),
                    entry.amount.to_string(),
                    entry.tx.map(|t| t.to_vec()),
                    entry.log_index.map(|i| i as i64),
                    entry.block.map(|b| b as i64),
                ],
            )
            .map_err(|e| store_error(&path, &e))?;
        Ok(())
    }

    /// Keeps the commitments posted in a round of request `id`'s game (`Bisected`), under
    /// the hash the Broker records for them (`keccak256` of their concatenation).
    pub fn record_points(&self, id: u64, points: &[B256]) -> Result<()> {
        let path = self.path();
        let bytes: Vec<u8> = points.iter().flat_map(|p| p.0).collect();
        let hash = alloy::primitives::keccak256(&bytes);
        self.db
            .execute(
                "INSERT OR IGNORE INTO posted_points (job_id, points_hash, points, seq)
                 VALUES (?1, ?2, ?3, (SELECT COUNT(*) FROM posted_points WHERE job_id = ?1))",
                params![sql_id(id, &path)?, hash.to_vec(), bytes],
            )
            .map_err(|e| store_error(&path, &e))?;
        Ok(())
    }

    /// The last `n` sets of commitments kept for request `id`'s game, newest first.
    pub fn recent_points(&self, id: u64, n: usize) -> Result<Vec<Vec<B256>>> {
        let id = sql_id(id, &self.path())?;
        let rows = self.select(
            "SELECT points FROM posted_points WHERE job_id = ?1 ORDER BY seq DESC LIMIT ?2",
            params![id, n as i64],
            |row| row.get::<_, Vec<u8>>(0),
        )?;
        Ok(rows
            .into_iter()
            .map(|bytes| bytes.chunks_exact(32).map(B256::from_slice).collect())
            .collect())
    }

    /// The transaction of the last deposit staked on request `id`.
    pub fn last_stake(&self, id: u64) -> Result<Option<B256>> {
        let id = sql_id(id, &self.path())?;
        let rows = self.select(
            "SELECT tx FROM ledger WHERE job_id = ?1 AND kind = 'staked' ORDER BY seq DESC LIMIT 1",
            [id],
            |row| row.get::<_, Option<Vec<u8>>>(0),
        )?;
        Ok(rows
            .into_iter()
            .flatten()
            .find(|t| t.len() == 32)
            .map(|t| B256::from_slice(&t)))
    }

    /// Drops what the ledger recorded for the agent's own transaction `tx` (its deposit and
    /// fee): a reorganisation removed it from the chain, so neither was paid.
    pub fn forget_sent(&self, tx: B256) -> Result<()> {
        let path = self.path();
        self.db
            .execute(
                "DELETE FROM ledger WHERE tx = ?1 AND log_index IS NULL",
                [tx.to_vec()],
            )
            .map_err(|e| store_error(&path, &e))?;
        Ok(())
    }

    /// The ledger, oldest first.
    pub fn ledger(&self) -> Result<Vec<LedgerEntry>> {
        let path = self.path();
        let rows = self.select(
            "SELECT job_id, kind, amount, tx, log_index, block FROM ledger ORDER BY seq",
            [],
            |row| {
                Ok((
                    row.get::<_, Option<i64>>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<Vec<u8>>>(3)?,
                    row.get::<_, Option<i64>>(4)?,
                    row.get::<_, Option<i64>>(5)?,
                ))
            },
        )?;
        let mut entries = Vec::new();
        for (job, kind, amount, tx, log_index, block) in rows {
            let movement = Movement::parse(&kind).ok_or_else(|| {
                store_error(&path, &format!("unknown ledger entry kind `{kind}`"))
            })?;
            entries.push(LedgerEntry {
                job: job.map(|j| j as u64),
                movement,
                amount: amount
                    .parse()
                    .map_err(|e| store_error(&path, &format!("ledger amount `{amount}`: {e}")))?,
                tx: tx.filter(|t| t.len() == 32).map(|t| B256::from_slice(&t)),
                log_index: log_index.map(|i| i as u64),
                block: block.map(|b| b as u64),
            });
        }
        Ok(entries)
    }

    /// What the agent earned and spent.
    pub fn earnings(&self) -> Result<Earnings> {
        let mut e = Earnings::default();
        // Per job, staked less returned: what its deposit still holds in the Broker.
        let mut held: std::collections::HashMap<u64, (U256, U256)> = Default::default();
        for entry in self.ledger()? {
            let amount = entry.amount;
            let job = entry.job.unwrap_or(u64::MAX);
            match entry.movement {
                Movement::Staked => {
                    e.deposits_staked += amount;
                    held.entry(job).or_default().0 += amount;
                }
                Movement::Credit(CreditReason::DepositReturned | CreditReason::Surplus) => {
                    held.entry(job).or_default().1 += amount;
                }
                _ => {}
            }
            match entry.movement {
                Movement::Staked => {}
                Movement::Gas => e.gas += amount,
                Movement::Withdrawn => e.withdrawn += amount,
                Movement::Credit(reason) => {
                    e.balance += amount;
                    match reason {
                        CreditReason::Payment => e.paid += amount,
                        CreditReason::DisputeReward => e.won += amount,
                        CreditReason::DepositReturned | CreditReason::Surplus => {
                            e.deposits_returned += amount;
                        }
                        CreditReason::Refund
                        | CreditReason::DelayCompensation
                        | CreditReason::GasReimbursement => e.other_credits += amount,
                    }
                }
            }
        }
        e.balance = e.balance.saturating_sub(e.withdrawn);
        let jobs = self.select("SELECT id, stance, deposit FROM jobs", [], |row| {
            Ok((
                row.get::<_, i64>(0)? as u64,
                row.get::<_, String>(1)?,
                row.get::<_, Option<String>>(2)?,
            ))
        })?;
        for (id, stance, deposit) in jobs {
            match stance.as_str() {
                "open" => e.jobs_open += 1,
                "engaged" => {
                    e.jobs_engaged += 1;
                    // A deposit already credited back is not locked, though the job has not
                    // recorded its end yet (its credit is read before it decides again).
                    let deposit = deposit
                        .and_then(|d| d.parse::<U256>().ok())
                        .unwrap_or_default();
                    let (staked, returned) = held.get(&id).copied().unwrap_or_default();
                    e.deposits_locked += deposit.min(staked.saturating_sub(returned));
                }
                _ => e.jobs_done += 1,
            }
        }
        e.deposits_lost = e
            .deposits_staked
            .saturating_sub(e.deposits_returned)
            .saturating_sub(e.deposits_locked);
        Ok(e)
    }

    fn is_empty(&self) -> Result<bool> {
        let path = self.path();
        self.db
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM jobs)", [], |row| {
                row.get(0)
            })
            .map_err(|e| store_error(&path, &e))
    }

    fn state(&self, key: &str) -> Result<Option<String>> {
        let path = self.path();
        self.db
            .query_row("SELECT value FROM state WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| store_error(&path, &e))
    }

    fn set_state(&self, key: &str, value: &str) -> Result<()> {
        let path = self.path();
        self.db
            .execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(|e| store_error(&path, &e))?;
        Ok(())
    }

    fn events(&self, id: u64) -> Result<Vec<String>> {
        let id = sql_id(id, &self.path())?;
        self.select(
            "SELECT entry FROM job_events WHERE job_id = ?1 ORDER BY seq",
            [id],
            |row| row.get(0),
        )
    }

    fn query_jobs(&self, open_only: bool) -> Result<Vec<Job>> {
        let path = self.path();
        let filter = if open_only {
            "WHERE stance != 'done'"
        } else {
            ""
        };
        let rows = self.select(
            &format!("SELECT {JOB_COLUMNS} FROM jobs {filter} ORDER BY id"),
            [],
            job_from_row,
        )?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in rows {
            let mut job = row.map_err(|e| store_error(&path, &e))?;
            job.log = self.events(job.id)?;
            jobs.push(job);
        }
        Ok(jobs)
    }

    /// Runs the query `sql` and maps each row with `f`.
    fn select<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>> {
        let path = self.path();
        let mut statement = self
            .db
            .prepare_cached(sql)
            .map_err(|e| store_error(&path, &e))?;
        statement
            .query_map(params, f)
            .and_then(|rows| rows.collect())
            .map_err(|e| store_error(&path, &e))
    }

    /// Imports a store from before the database (`jobs/<id>.json`, `cursor`,
    /// `binding.json`), if the directory holds one, in one transaction, then moves those files
    /// to `imported-json-store/` (a file that does not parse stops the import, which is tried
    /// again on the next open).
    fn import_json_store(&mut self) -> Result<()> {
        let jobs_dir = self.dir.join("jobs");
        let names = ["jobs", "cursor", "binding.json"];
        if !names.iter().any(|n| self.dir.join(n).exists()) {
            return Ok(());
        }
        let cursor = match std::fs::read_to_string(self.dir.join("cursor")) {
            Ok(text) => Some(text.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(store_error(&self.dir.join("cursor"), &e)),
        };
        let binding = match std::fs::read_to_string(self.dir.join("binding.json")) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(store_error(&self.dir.join("binding.json"), &e)),
        };
        let mut jobs = Vec::new();
        if jobs_dir.is_dir() {
            for entry in std::fs::read_dir(&jobs_dir).map_err(|e| store_error(&jobs_dir, &e))? {
                let path = entry.map_err(|e| store_error(&jobs_dir, &e))?.path();
                if path.extension().and_then(|e| e.to_str()) != Some("json") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|e| store_error(&path, &e))?;
                let job: Job = serde_json::from_str(&text).map_err(|e| {
                    store_error(&path, &format!("{e}; move the file away to drop the job"))
                })?;
                jobs.push(job);
            }
        }
        let path = self.path();
        let tx = self.db.transaction().map_err(|e| store_error(&path, &e))?;
        for job in &jobs {
            write_job_in(&tx, job).map_err(|e| store_error(&path, &e))?;
        }
        for (key, value) in [("cursor", cursor), ("binding", binding)] {
            if let Some(value) = value {
                tx.execute(
                    "INSERT INTO state (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [key, &value],
                )
                .map_err(|e| store_error(&path, &e))?;
            }
        }
        tx.commit().map_err(|e| store_error(&path, &e))?;
        let imported = self.dir.join(IMPORTED_JSON);
        std::fs::create_dir_all(&imported).map_err(|e| store_error(&imported, &e))?;
        for name in names {
            let from = self.dir.join(name);
            if from.exists() {
                std::fs::rename(&from, imported.join(name)).map_err(|e| store_error(&from, &e))?;
            }
        }
        tracing::info!(target: "agent", jobs = jobs.len(), dir = %self.dir.display(), "imported the JSON job store into the database");
        Ok(())
    }
}

/// The pragmas of every connection: a write-ahead log (readers, such as `ecm host jobs`, never
/// block the agent), `synchronous = NORMAL` (a committed transaction survives the process
/// being killed; a power cut may lose the last ones, never corrupt the database), and a wait
/// rather than an error while another connection writes.
fn configure(db: &Connection) -> rusqlite::Result<()> {
    db.busy_timeout(std::time::Duration::from_secs(10))?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "NORMAL")?;
    db.pragma_update(None, "foreign_keys", true)
}

/// Brings the schema to the latest version, one migration per transaction. Each takes the
/// write lock first and reads the version under it, so two processes opening a new store at
/// once (an agent, and `ecm host jobs` or a test) migrate it once.
fn migrate(db: &mut Connection, path: &Path) -> Result<()> {
    loop {
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| store_error(path, &e))?;
        let version: usize = tx
            .pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0))
            .map_err(|e| store_error(path, &e))?
            .try_into()
            .unwrap_or(usize::MAX);
        let Some(migration) = MIGRATIONS.get(version) else {
            if version > MIGRATIONS.len() {
                return Err(store_error(
                    path,
                    &format!(
                        "its schema is version {version}, newer than this ecm knows ({}): upgrade ecm",
                        MIGRATIONS.len()
                    ),
                ));
            }
            return Ok(());
        };
        tx.execute_batch(migration)
            .and_then(|()| tx.pragma_update(None, "user_version", (version + 1) as i64))
            .and_then(|()| tx.commit())
            .map_err(|e| {
                store_error(
                    path,
                    &format!("migrating to schema version {}: {e}", version + 1),
                )
            })?;
    }
}

const JOB_COLUMNS: &str = "id, program, program_id, input, max_steps, payment, stance, outcome, claim, challenged, deposit, trace";

/// A job from a row of `JOB_COLUMNS` (without its events): an SQL error, or a row whose
/// values do not parse.
fn job_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<std::result::Result<Job, String>> {
    let id: i64 = row.get(0)?;
    let program: String = row.get(1)?;
    let program_id: Vec<u8> = row.get(2)?;
    let input: Vec<u8> = row.get(3)?;
    let max_steps: String = row.get(4)?;
    let payment: String = row.get(5)?;
    let stance: String = row.get(6)?;
    let outcome: Option<String> = row.get(7)?;
    let claim: Option<String> = row.get(8)?;
    let challenged: String = row.get(9)?;
    let deposit: Option<String> = row.get(10)?;
    let trace: Option<String> = row.get(11)?;
    Ok((|| {
        let stance = match (stance.as_str(), outcome) {
            ("open", _) => Stance::Open,
            ("engaged", _) => Stance::Engaged,
            ("done", Some(outcome)) => Stance::Done {
                outcome: Ending::try_from(outcome)?,
            },
            (other, _) => return Err(format!("stance `{other}` without an outcome")),
        };
        Ok(Job {
            id: id as u64,
            program,
            program_id: B256::try_from(program_id.as_slice()).map_err(|e| e.to_string())?,
            input: input.into(),
            max_steps: max_steps.parse().map_err(|e| format!("max_steps: {e}"))?,
            payment: payment.parse().map_err(|e| format!("payment: {e}"))?,
            stance,
            claim: claim
                .map(|c| serde_json::from_str(&c))
                .transpose()
                .map_err(|e| format!("claim: {e}"))?,
            challenged: serde_json::from_str(&challenged)
                .map_err(|e| format!("challenged: {e}"))?,
            log: Vec::new(),
            deposit: deposit
                .map(|d| d.parse())
                .transpose()
                .map_err(|e| format!("deposit: {e}"))?,
            trace: trace
                .map(|t| serde_json::from_str(&t))
                .transpose()
                .map_err(|e| format!("trace: {e}"))?,
        })
    })())
}

fn write_job(db: &mut Connection, job: &Job) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    write_job_in(&tx, job)?;
    tx.commit()
}

/// Writes `job`'s row and the events not yet written (the log only grows).
fn write_job_in(tx: &rusqlite::Transaction<'_>, job: &Job) -> rusqlite::Result<()> {
    let id =
        i64::try_from(job.id).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    let (stance, outcome) = match &job.stance {
        Stance::Open => ("open", None),
        Stance::Engaged => ("engaged", None),
        Stance::Done { outcome } => ("done", Some(String::from(outcome.clone()))),
    };
    let now = unix_now();
    tx.prepare_cached(
        "INSERT INTO jobs (id, program, program_id, input, max_steps, payment, stance, outcome,
                           claim, challenged, deposit, trace, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (id) DO UPDATE SET stance = excluded.stance, outcome = excluded.outcome,
             claim = excluded.claim, challenged = excluded.challenged,
             deposit = excluded.deposit, trace = excluded.trace, updated_at = excluded.updated_at",
    )?
    .execute(params![
        id,
        job.program,
        job.program_id.to_vec(),
        job.input.to_vec(),
        job.max_steps.to_string(),
        job.payment.to_string(),
        stance,
        outcome,
        job.claim.as_ref().map(to_json),
        to_json(&job.challenged),
        job.deposit.map(|d| d.to_string()),
        job.trace.as_ref().map(to_json),
        now,
    ])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO job_events (job_id, seq, entry, at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (seq, entry) in job.log.iter().enumerate() {
        insert.execute(params![id, seq as i64, entry, now])?;
    }
    Ok(())
}

/// A job field the store keeps as JSON.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("job fields serialize")
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A request id as SQLite's signed 64-bit integer.
fn sql_id(id: u64, path: &Path) -> Result<i64> {
    i64::try_from(id).map_err(|_| store_error(path, &format!("request id {id} is out of range")))
}

/// Moves a store's database (and its write-ahead log) into a new `dir/previous-<n>`, returned.
fn set_aside(dir: &Path) -> Result<PathBuf> {
    let aside = (1..)
        .map(|n| dir.join(format!("previous-{n}")))
        .find(|p| !p.exists())
        .expect("some previous-<n> is free");
    std::fs::create_dir_all(&aside).map_err(|e| store_error(&aside, &e))?;
    for suffix in ["", "-wal", "-shm"] {
        let name = format!("{DATABASE}{suffix}");
        let from = dir.join(&name);
        if from.exists() {
            std::fs::rename(&from, aside.join(&name)).map_err(|e| store_error(&from, &e))?;
        }
    }
    Ok(aside)
}

fn store_error(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Store {
        path: path.into(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = JobStore::open(dir.path()).unwrap();
        store
            .insert(Job {
                id: 7,
                program: "counter".into(),
                program_id: B256::repeat_byte(1),
                input: Bytes::from_static(&[5, 0, 0, 0, 0, 0, 0, 0]),
                max_steps: 100,
                payment: U256::from(10),
                stance: Stance::Engaged,
                claim: Some(Claim {
                    result: Bytes::from_static(b"r"),
                    steps: 5,
                    final_: true,
                }),
                challenged: vec![],
                log: vec!["answered 0xabc".into()],
                deposit: None,
                trace: None,
            })
            .unwrap();
        store.set_cursor(42);
        store.save().unwrap();
        let reopened = JobStore::open(dir.path()).unwrap();
        assert_eq!(reopened.cursor(), 42);
        assert_eq!(reopened.get(7), store.get(7));
    }

    fn binding(deployed_in: u8) -> Binding {
        Binding {
            chain_id: 31337,
            broker: Address::repeat_byte(4),
            deployed_in: B256::repeat_byte(deployed_in),
        }
    }

    /// A store with one job and its cursor at 621.
    fn used_store(dir: &Path) {
        let mut store = JobStore::open(dir).unwrap();
        store
            .insert(Job {
                id: 1,
                program: "counter".into(),
                program_id: B256::repeat_byte(1),
                input: Bytes::new(),
                max_steps: 10,
                payment: U256::from(1),
                stance: Stance::Engaged,
                claim: None,
                challenged: vec![],
                log: vec![],
                deposit: None,
                trace: None,
            })
            .unwrap();
        store.set_cursor(621);
        store.save().unwrap();
    }

    /// The same deployment resumes its store; a devnet restarted (same chain id and Broker, a
    /// new deployment block) gets a new one, the old one kept aside whole.
    #[test]
    fn a_store_is_bound_to_its_chain_and_deployment() {
        let dir = tempfile::tempdir().unwrap();
        let (_, opened) = JobStore::open_bound(dir.path(), &binding(1), 700).unwrap();
        assert_eq!(opened, Opened::Resumed, "a new store");
        used_store(dir.path());
        let (store, opened) = JobStore::open_bound(dir.path(), &binding(1), 700).unwrap();
        assert_eq!(opened, Opened::Resumed);
        assert_eq!(store.cursor(), 621);
        assert!(store.get(1).is_some());

        let (store, opened) = JobStore::open_bound(dir.path(), &binding(2), 10).unwrap();
        let Opened::SetAside(aside) = opened else {
            panic!("{opened:?}")
        };
        assert_eq!(store.cursor(), 0);
        assert!(store.get(1).is_none());
        let old = JobStore::open(&aside).unwrap();
        assert_eq!(old.cursor(), 621, "nothing lost");
        assert!(old.get(1).is_some());
        // The new store is bound to the new deployment.
        let (_, opened) = JobStore::open_bound(dir.path(), &binding(2), 10).unwrap();
        assert_eq!(opened, Opened::Resumed);
    }

    /// A store from before stores were bound is adopted if its cursor fits the chain, and set
    /// aside if it is past the chain's head (a restarted devnet).
    #[test]
    fn an_unbound_store_is_adopted_only_if_it_fits_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        used_store(dir.path());
        let (store, opened) = JobStore::open_bound(dir.path(), &binding(1), 700).unwrap();
        assert_eq!(opened, Opened::Adopted);
        assert_eq!(store.cursor(), 621);

        let dir = tempfile::tempdir().unwrap();
        used_store(dir.path());
        let (store, opened) = JobStore::open_bound(dir.path(), &binding(1), 12).unwrap();
        assert!(matches!(opened, Opened::SetAside(_)), "{opened:?}");
        assert_eq!(store.cursor(), 0);
    }

    fn job(id: u64, stance: Stance) -> Job {
        Job {
            id,
            program: "counter".into(),
            program_id: B256::repeat_byte(1),
            input: Bytes::from_static(&[5, 0, 0, 0, 0, 0, 0, 0]),
            max_steps: u64::MAX,
            payment: U256::from(10),
            stance,
            claim: None,
            challenged: vec![B256::repeat_byte(9)],
            log: vec!["answered tx=0x01".into()],
            deposit: Some(U256::from(7)),
            trace: None,
        }
    }

    fn paid() -> Stance {
        Stance::Done {
            outcome: Outcome::Paid.into(),
        }
    }

    /// A finished job leaves memory (ticks and start-up touch only open jobs) but stays in the
    /// database, whole; a log read again cannot start it over.
    #[test]
    fn finished_jobs_leave_memory_and_stay_in_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = JobStore::open(dir.path()).unwrap();
        assert!(store.insert(job(1, Stance::Engaged)).unwrap());
        assert!(store.insert(job(2, Stance::Open)).unwrap());
        store.save().unwrap();
        let j = store.get_mut(1).unwrap();
        j.stance = paid();
        j.log.push("finalized tx=0x02".into());
        store.save_job(1).unwrap();
        assert!(store.get(1).is_none(), "out of memory");
        assert_eq!(store.jobs().map(|j| j.id).collect::<Vec<_>>(), [2]);
        let done = store.job(1).unwrap().unwrap();
        assert_eq!(done.stance, paid());
        assert_eq!(done.log, ["answered tx=0x01", "finalized tx=0x02"]);
        assert_eq!(done.max_steps, u64::MAX, "u64 beyond SQLite's integers");
        assert_eq!(done.challenged, [B256::repeat_byte(9)]);
        assert!(
            !store.insert(job(1, Stance::Open)).unwrap(),
            "not started over"
        );
        assert!(!store.insert(job(2, Stance::Open)).unwrap());

        let reopened = JobStore::open(dir.path()).unwrap();
        assert_eq!(
            reopened.jobs().map(|j| j.id).collect::<Vec<_>>(),
            [2],
            "only open jobs loaded"
        );
        assert_eq!(reopened.job(1).unwrap(), Some(done));
        assert_eq!(
            reopened
                .list(false)
                .unwrap()
                .iter()
                .map(|j| j.id)
                .collect::<Vec<_>>(),
            [2, 1]
        );
        assert_eq!(reopened.list(true).unwrap().len(), 1);
        assert_eq!(reopened.job(3).unwrap(), None);
    }

    /// A data directory from before the database is imported whole on first open, its files
    /// kept aside.
    #[test]
    fn a_json_store_is_imported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("jobs")).unwrap();
        for j in [job(4, Stance::Engaged), job(5, paid())] {
            std::fs::write(
                dir.path().join(format!("jobs/{}.json", j.id)),
                serde_json::to_string_pretty(&j).unwrap(),
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("cursor"), "621").unwrap();
        std::fs::write(
            dir.path().join("binding.json"),
            serde_json::to_string(&binding(1)).unwrap(),
        )
        .unwrap();
        let store = JobStore::open(dir.path()).unwrap();
        assert_eq!(store.cursor(), 621);
        assert_eq!(store.get(4), Some(&job(4, Stance::Engaged)));
        assert_eq!(store.job(5).unwrap(), Some(job(5, paid())));
        for name in ["jobs", "cursor", "binding.json"] {
            assert!(!dir.path().join(name).exists(), "{name} moved");
            assert!(
                dir.path().join(IMPORTED_JSON).join(name).exists(),
                "{name} kept"
            );
        }
        drop(store);
        let (_, opened) = JobStore::open_bound(dir.path(), &binding(1), 700).unwrap();
        assert_eq!(opened, Opened::Resumed, "the binding came along");
    }

    #[test]
    fn a_corrupt_job_file_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("jobs")).unwrap();
        std::fs::write(dir.path().join("jobs/3.json"), "{ not json").unwrap();
        let err = JobStore::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("move the file away") && err.contains("3.json"),
            "{err}"
        );
        // Nothing imported, and the import is tried again once the file is gone.
        std::fs::remove_file(dir.path().join("jobs/3.json")).unwrap();
        std::fs::write(dir.path().join("cursor"), "9").unwrap();
        assert_eq!(JobStore::open(dir.path()).unwrap().cursor(), 9);
    }

    /// A database made at schema version 1 is migrated on open, its jobs kept; the posted
    /// points (version 2) are kept per job, newest first.
    #[test]
    fn an_older_schema_is_migrated_and_posted_points_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut db = Connection::open(dir.path().join(DATABASE)).unwrap();
            let tx = db.transaction().unwrap();
            tx.execute_batch(MIGRATIONS[0]).unwrap();
            tx.pragma_update(None, "user_version", 1).unwrap();
            write_job_in(&tx, &job(8, Stance::Engaged)).unwrap();
            tx.commit().unwrap();
        }
        let store = JobStore::open(dir.path()).unwrap();
        let version: i64 = store
            .db
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version as usize, MIGRATIONS.len());
        assert_eq!(store.get(8), Some(&job(8, Stance::Engaged)));

        let round = |b: u8| vec![B256::repeat_byte(b), B256::repeat_byte(b + 1)];
        store.record_points(8, &round(1)).unwrap();
        store.record_points(8, &round(1)).unwrap();
        store.record_points(8, &round(5)).unwrap();
        assert_eq!(store.recent_points(8, 2).unwrap(), [round(5), round(1)]);
        assert_eq!(store.recent_points(8, 1).unwrap(), [round(5)]);
        assert!(store.recent_points(9, 2).unwrap().is_empty());
    }

    #[test]
    fn a_database_from_a_newer_ecm_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(JobStore::open(dir.path()).unwrap());
        let db = Connection::open(dir.path().join(DATABASE)).unwrap();
        db.pragma_update(None, "user_version", (MIGRATIONS.len() + 1) as i64)
            .unwrap();
        drop(db);
        let err = JobStore::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("newer than this ecm knows") && err.contains("upgrade ecm"),
            "{err}"
        );
    }

    #[test]
    fn open_existing_names_the_missing_store() {
        let dir = tempfile::tempdir().unwrap();
        let err = JobStore::open_existing(dir.path()).unwrap_err().to_string();
        assert!(err.contains("--data-dir"), "{err}");
        assert!(!dir.path().join(DATABASE).exists(), "nothing created");
    }

    fn credit(reason: CreditReason, amount: u64, log_index: u64) -> LedgerEntry {
        LedgerEntry {
            job: Some(1),
            movement: Movement::Credit(reason),
            amount: U256::from(amount),
            tx: Some(B256::repeat_byte(3)),
            log_index: Some(log_index),
            block: Some(10),
        }
    }

    /// Earnings from the ledger: a log read twice counts once; a deposit is lost when it was
    /// staked and neither returned nor still locked.
    #[test]
    fn earnings_add_up_the_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = JobStore::open(dir.path()).unwrap();
        let sent = |movement, amount: u64, tx: u8, job: u64| {
            LedgerEntry::sent(
                Some(job),
                movement,
                U256::from(amount),
                Some(B256::repeat_byte(tx)),
            )
        };
        // Job 1: answered (deposit 100), paid 50 and the deposit returned.
        store.record(&sent(Movement::Staked, 100, 1, 1)).unwrap();
        store.record(&sent(Movement::Gas, 3, 1, 1)).unwrap();
        store.record(&credit(CreditReason::Payment, 50, 0)).unwrap();
        store.record(&credit(CreditReason::Payment, 50, 0)).unwrap();
        store
            .record(&credit(CreditReason::DepositReturned, 100, 1))
            .unwrap();
        // Job 2: challenged (deposit 100) and lost; job 3: answered (deposit 40), still open.
        store.record(&sent(Movement::Staked, 100, 2, 2)).unwrap();
        store.record(&sent(Movement::Gas, 4, 2, 2)).unwrap();
        store.record(&sent(Movement::Staked, 40, 4, 3)).unwrap();
        let mut open = job(3, Stance::Engaged);
        open.deposit = Some(U256::from(40));
        store.insert(open).unwrap();
        store.save().unwrap();
        // A win elsewhere, and a withdrawal.
        store
            .record(&credit(CreditReason::DisputeReward, 25, 2))
            .unwrap();
        store
            .record(&LedgerEntry {
                job: None,
                movement: Movement::Withdrawn,
                amount: U256::from(150),
                tx: Some(B256::repeat_byte(5)),
                log_index: Some(0),
                block: Some(11),
            })
            .unwrap();
        let e = store.earnings().unwrap();
        assert_eq!(e.paid, U256::from(50), "the repeated log counted once");
        assert_eq!(e.won, U256::from(25));
        assert_eq!(e.deposits_staked, U256::from(240));
        assert_eq!(e.deposits_returned, U256::from(100));
        assert_eq!(e.deposits_locked, U256::from(40));
        assert_eq!(e.deposits_lost, U256::from(100));
        assert_eq!(e.gas, U256::from(7));
        assert_eq!(e.withdrawn, U256::from(150));
        assert_eq!(e.balance, U256::from(25), "175 credited, 150 withdrawn");
        assert_eq!(
            e.net(),
            (false, U256::from(32)),
            "75 gained, 107 lost or spent"
        );
        assert_eq!((e.jobs_open, e.jobs_engaged, e.jobs_done), (0, 1, 0));
        assert_eq!(store.ledger().unwrap().len(), 9);

        // Job 3's deposit credited back before the job records its end: returned, not locked,
        // and job 2's loss still a loss.
        store
            .record(&LedgerEntry {
                job: Some(3),
                ..credit(CreditReason::DepositReturned, 40, 7)
            })
            .unwrap();
        let e = store.earnings().unwrap();
        assert_eq!(e.deposits_locked, U256::ZERO);
        assert_eq!(e.deposits_lost, U256::from(100));

        // Job 2's challenge vanished in a reorganisation: its deposit and fee were never paid.
        assert_eq!(store.last_stake(2).unwrap(), Some(B256::repeat_byte(2)));
        store.forget_sent(B256::repeat_byte(2)).unwrap();
        assert_eq!(store.last_stake(2).unwrap(), None);
        let e = store.earnings().unwrap();
        assert_eq!(e.deposits_staked, U256::from(140));
        assert_eq!(e.deposits_lost, U256::ZERO);
        assert_eq!(e.gas, U256::from(3));
        assert_eq!(e.paid, U256::from(50), "credits read from logs are kept");
    }

    #[test]
    fn endings_are_stored_as_the_text_job_files_always_held() {
        let refused = Stance::Done {
            outcome: Ending {
                outcome: Outcome::Refused,
                reason: Some("unknown program: x".into()),
            },
        };
        let json = serde_json::to_string(&refused).unwrap();
        assert_eq!(
            json,
            r#"{"stance":"done","outcome":"refused: unknown program: x"}"#
        );
        assert_eq!(serde_json::from_str::<Stance>(&json).unwrap(), refused);
        let paid: Stance = serde_json::from_str(r#"{"stance":"done","outcome":"paid"}"#).unwrap();
        assert_eq!(
            paid,
            Stance::Done {
                outcome: Outcome::Paid.into()
            }
        );
        let err = serde_json::from_str::<Stance>(r#"{"stance":"done","outcome":"won"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown job outcome `won`"), "{err}");
    }
}

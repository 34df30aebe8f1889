//! The job store: what the agent has taken on, saved after every change so that a restart
//! resumes every open job.

use crate::{Error, Result, decide::Outcome};
use alloy::primitives::{Address, B256, Bytes, U256};
use ecm_primitives::Claim;
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

/// The jobs on disk: one file per job, `<data dir>/jobs/<id>.json`, and the log cursor in
/// `<data dir>/cursor`, each written to a temporary file and renamed over the old one, so a
/// change costs one small write whatever the number of jobs, and a crash never leaves a torn file.
#[derive(Debug)]
pub struct JobStore {
    dir: PathBuf,
    cursor: u64,
    jobs: BTreeMap<u64, Job>,
}

impl JobStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let jobs_dir = dir.join("jobs");
        std::fs::create_dir_all(&jobs_dir).map_err(|e| store_error(&jobs_dir, &e))?;
        let cursor_path = dir.join("cursor");
        let cursor = match std::fs::read_to_string(&cursor_path) {
            Ok(text) => text.trim().parse().map_err(|e| {
                store_error(
                    &cursor_path,
                    &format!("{e}; move the file away to start afresh"),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(store_error(&cursor_path, &e)),
        };
        let mut jobs = BTreeMap::new();
        for entry in std::fs::read_dir(&jobs_dir).map_err(|e| store_error(&jobs_dir, &e))? {
            let path = entry.map_err(|e| store_error(&jobs_dir, &e))?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| store_error(&path, &e))?;
            let job: Job = serde_json::from_str(&text).map_err(|e| {
                store_error(&path, &format!("{e}; move the file away to drop the job"))
            })?;
            jobs.insert(job.id, job);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            cursor,
            jobs,
        })
    }

    /// Opens the store in `dir` for `binding` (with `head`, the chain's latest block): a store
    /// made for another chain or deployment would answer nothing (its cursor past the new
    /// chain's blocks, its jobs naming other requests), so it is moved, whole, to
    /// `dir/previous-<n>` and a new one started. A store made before stores were bound is
    /// adopted unless its cursor is past `head`.
    pub fn open_bound(dir: &Path, binding: &Binding, head: u64) -> Result<(Self, Opened)> {
        let binding_path = dir.join("binding.json");
        let recorded: Option<Binding> = match std::fs::read_to_string(&binding_path) {
            Ok(text) => Some(serde_json::from_str(&text).map_err(|e| {
                store_error(
                    &binding_path,
                    &format!("{e}; move the file away to rebind the store"),
                )
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(store_error(&binding_path, &e)),
        };
        let mut opened = match &recorded {
            Some(recorded) if recorded == binding => Opened::Resumed,
            Some(_) => Opened::SetAside(set_aside(dir)?),
            None => Opened::Adopted,
        };
        let mut store = Self::open(dir)?;
        if opened == Opened::Adopted {
            if store.cursor > head {
                drop(store);
                opened = Opened::SetAside(set_aside(dir)?);
                store = Self::open(dir)?;
            } else if store.cursor == 0 && store.jobs.is_empty() {
                opened = Opened::Resumed;
            }
        }
        if recorded.as_ref() != Some(binding) {
            let text = serde_json::to_string_pretty(binding).expect("bindings serialize");
            write_atomically(&binding_path, &text)?;
        }
        Ok((store, opened))
    }

    /// Saves job `id`.
    pub fn save_job(&self, id: u64) -> Result<()> {
        let Some(job) = self.jobs.get(&id) else {
            return Ok(());
        };
        let text = serde_json::to_string_pretty(job).expect("jobs serialize");
        write_atomically(&self.dir.join("jobs").join(format!("{id}.json")), &text)
    }

    /// Saves the log cursor.
    pub fn save_cursor(&self) -> Result<()> {
        write_atomically(&self.dir.join("cursor"), &self.cursor.to_string())
    }

    /// Saves everything.
    pub fn save(&self) -> Result<()> {
        for id in self.jobs.keys() {
            self.save_job(*id)?;
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

    /// Every job.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.values()
    }

    /// The job for request `id`.
    pub fn get(&self, id: u64) -> Option<&Job> {
        self.jobs.get(&id)
    }

    /// The job for request `id`, to change (then [`JobStore::save_job`]).
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Job> {
        self.jobs.get_mut(&id)
    }

    /// Adds a job (keeping an existing one for the same id).
    pub fn insert(&mut self, job: Job) {
        self.jobs.entry(job.id).or_insert(job);
    }
}

/// Moves a store's files (jobs, cursor, binding) into a new `dir/previous-<n>`, returned.
fn set_aside(dir: &Path) -> Result<PathBuf> {
    let aside = (1..)
        .map(|n| dir.join(format!("previous-{n}")))
        .find(|p| !p.exists())
        .expect("some previous-<n> is free");
    std::fs::create_dir_all(&aside).map_err(|e| store_error(&aside, &e))?;
    for name in ["jobs", "cursor", "binding.json"] {
        let from = dir.join(name);
        if from.exists() {
            std::fs::rename(&from, aside.join(name)).map_err(|e| store_error(&from, &e))?;
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

fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| store_error(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = JobStore::open(dir.path()).unwrap();
        store.insert(Job {
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
        });
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
        store.insert(Job {
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
        });
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

//! The job store: what the agent has taken on, saved after every change so that a restart
//! resumes every open job.

use crate::{Error, Result};
use alloy::primitives::{B256, Bytes, U256};
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
    /// Nothing more to do; `outcome` says why (paid, lost, cancelled, refused: ..., settled).
    Done {
        /// How it ended for us.
        outcome: String,
    },
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
            trace: None,
        });
        store.set_cursor(42);
        store.save().unwrap();
        let reopened = JobStore::open(dir.path()).unwrap();
        assert_eq!(reopened.cursor(), 42);
        assert_eq!(reopened.get(7), store.get(7));
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
}

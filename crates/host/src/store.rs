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

#[derive(Debug, Default, Serialize, Deserialize)]
struct Contents {
    /// The last block whose logs were processed.
    cursor: u64,
    jobs: BTreeMap<u64, Job>,
}

/// The jobs on disk, as `<data dir>/jobs.json` (written to a temporary file, then renamed).
#[derive(Debug)]
pub struct JobStore {
    path: PathBuf,
    contents: Contents,
}

impl JobStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let fail = |path: &Path, e: &dyn std::fmt::Display| Error::Store {
            path: path.into(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(dir, &e))?;
        let path = dir.join("jobs.json");
        let contents = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| fail(&path, &format!("{e}; move the file away to start afresh")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Contents::default(),
            Err(e) => return Err(fail(&path, &e)),
        };
        Ok(Self { path, contents })
    }

    /// Saves the store atomically.
    pub fn save(&self) -> Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(&self.contents).expect("jobs serialize");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| Error::Store {
                path: self.path.clone(),
                reason: e.to_string(),
            })
    }

    /// The last block whose logs were processed.
    pub fn cursor(&self) -> u64 {
        self.contents.cursor
    }

    /// Records that logs up to `block` were processed.
    pub fn set_cursor(&mut self, block: u64) {
        self.contents.cursor = block;
    }

    /// Every job.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.contents.jobs.values()
    }

    /// The job for request `id`.
    pub fn get(&self, id: u64) -> Option<&Job> {
        self.contents.jobs.get(&id)
    }

    /// The job for request `id`, to change.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Job> {
        self.contents.jobs.get_mut(&id)
    }

    /// Adds a job (keeping an existing one for the same id).
    pub fn insert(&mut self, job: Job) {
        self.contents.jobs.entry(job.id).or_insert(job);
    }
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
    fn a_corrupt_store_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jobs.json"), "{ not json").unwrap();
        let err = JobStore::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("move the file away"), "{err}");
    }
}

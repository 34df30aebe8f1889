//! Compact batch jobs (`IBroker.Job`): a request the Broker holds as one word, the hash of its
//! fields, which every call on it passes. [`Chain::holding`] reads a request however it is held:
//! stored, or a job, whose fields are rebuilt from its logs and checked against that word (a
//! job paid out as one is found by its `Finalized` log).

use crate::{Chain, Error, Result, events};
use alloy::{
    primitives::{Address, B256, U256, aliases::U48, aliases::U96, keccak256},
    sol_types::{SolEvent, SolValue},
};
use ecm_bindings::{
    Broker::{self, BrokerEvents},
    IBroker::{Job, Request},
    protocol::Status,
};

/// How a request is held on the chain.
#[derive(Clone, Debug)]
pub enum Holding {
    /// Stored as a request: `getRequest` shows it.
    Stored(Request),
    /// A compact batch's job, held as a hash of these fields.
    Job(Box<Job>),
    /// A compact batch's job paid out as one (`settleJobs`): its word cleared, `paid_to`
    /// credited, at `block`.
    PaidOut {
        /// Its fields as they last stood, rebuilt from its logs.
        job: Option<Box<Job>>,
        /// The job's host, paid.
        paid_to: Address,
        /// The block of its `Finalized` log.
        block: u64,
    },
}

impl Holding {
    /// The request as `getRequest` shows it; a job as the request it stands for (Finalized,
    /// to its host, once paid out), but for what a job does not hold: its `inputCommitment`
    /// and its program's step gas (zero).
    pub fn request(&self) -> Request {
        match self {
            Self::Stored(request) => request.clone(),
            Self::Job(job) => as_request(job),
            Self::PaidOut { job, paid_to, .. } => Request {
                status: Status::Finalized as u8,
                host: *paid_to,
                ..job.as_deref().map(as_request).unwrap_or_default()
            },
        }
    }

    /// The job's fields, for a job held as a hash.
    pub fn held_job(&self) -> Option<&Job> {
        match self {
            Self::Job(job) => Some(job),
            _ => None,
        }
    }
}

/// The hash a job stands at (`IBroker.jobHash`): `keccak256(abi.encode(job))`.
pub fn job_hash(job: &Job) -> B256 {
    keccak256(job.abi_encode())
}

/// Job `id` as it stands at its request: `Created`'s program and requester, and
/// `RequestInput`'s input and terms.
pub fn requested(program_id: B256, requester: Address, input: &Broker::RequestInput) -> Job {
    Job {
        id: input.id,
        inputHash: keccak256(&input.input),
        programId: program_id,
        requester,
        payment: U96::saturating_from(input.payment),
        maxSteps: input.maxSteps,
        maxGasPrice: input.maxGasPrice,
        softResolutionBlocks: input.softResolutionBlocks,
        mode: input.mode,
        minHostJobs: input.minHostJobs,
        status: Status::Pending as u8,
        deadline: U48::ZERO,
        host: Address::ZERO,
        steps: 0,
        claim: B256::ZERO,
    }
}

/// Moves `job` on by one of its events after the request (`AnswerCommitted`, `Answered`);
/// any other event leaves it as it is.
pub fn apply(job: &mut Job, event: &BrokerEvents) {
    match event {
        BrokerEvents::AnswerCommitted(e) if e.id == job.id => {
            job.status = Status::Committed as u8;
            job.deadline = U48::saturating_from(e.revealDeadline);
            job.host = e.host;
            job.claim = e.commitment;
        }
        BrokerEvents::Answered(e) if e.id == job.id => {
            job.status = Status::WaitingForResolution as u8;
            job.deadline = U48::saturating_from(e.windowEnd);
            job.host = e.host;
            job.steps = e.steps;
            job.claim = keccak256([&[u8::from(e.final_)][..], &e.result[..]].concat());
        }
        _ => {}
    }
}

/// Job `id`'s fields rebuilt from its logs, in order (`Created`, `RequestInput`, then each
/// `AnswerCommitted` and `Answered`); `None` without its `Created` and `RequestInput`.
pub fn rebuild(id: U256, logs: &[crate::BrokerLog]) -> Option<Job> {
    let mut created = None;
    let mut job: Option<Job> = None;
    for log in logs {
        match &log.event {
            BrokerEvents::Created(e) if e.id == id => created = Some((e.programId, e.requester)),
            BrokerEvents::RequestInput(e) if e.id == id => {
                let (program_id, requester) = created?;
                job = Some(requested(program_id, requester, e));
            }
            event => {
                if let Some(job) = job.as_mut() {
                    apply(job, event);
                }
            }
        }
    }
    job
}

/// The request a held job stands for, as `getRequest` would show it once hydrated, but for
/// what the job does not hold: its `inputCommitment` (zero) and its program's step gas (zero).
fn as_request(job: &Job) -> Request {
    Request {
        requester: job.requester,
        status: job.status,
        mode: job.mode,
        softResolutionBlocks: job.softResolutionBlocks,
        deadline: job.deadline,
        programId: job.programId,
        inputCommitment: B256::ZERO,
        payment: job.payment,
        maxGasPrice: U48::saturating_from(job.maxGasPrice),
        minHostJobs: job.minHostJobs,
        maxSteps: job.maxSteps,
        maxStepGas: 0,
        host: job.host,
        steps: job.steps,
        hostWins: 0,
        disputes: 0,
        claim: job.claim,
    }
}

impl Chain {
    /// Request `id` as the chain holds it: stored (`getRequest`), or a compact batch's job,
    /// held as a hash or paid out as one. A job's logs are read from block `from` (its
    /// request's, or the deployment's), unless `hint`, its fields as the caller followed them
    /// from the logs it read, is what the Broker holds. `None` while a job moves between two
    /// reads (the node's logs lag its word, or it was hydrated meanwhile): read again.
    pub async fn holding(
        &self,
        id: U256,
        from: u64,
        hint: Option<&Job>,
    ) -> Result<Option<Holding>> {
        let error = match self.request(id).await {
            Ok(request) => return Ok(Some(Holding::Stored(request))),
            Err(e) => e,
        };
        let refused = |what: &str| matches!(&error, Error::Revert { name, .. } if name == what);
        let held_as_job = refused("HeldAsJob");
        if !held_as_job && !refused("NoSuchRequest") {
            return Err(error);
        }
        match self.job_state(id, from, hint).await {
            Ok(Some(holding)) => Ok(Some(holding)),
            // Hydrated since `getRequest` refused it: a request now.
            Ok(None) if held_as_job => Ok(None),
            Ok(None) => Err(error),
            Err(Error::JobLogsBehind { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Where job `id` stands (`Holding::Job` or `Holding::PaidOut`): `hint` if the Broker holds
    /// it, else its fields rebuilt from its logs since block `from` and checked against the word
    /// the Broker holds, or its payout; `None` if it is not held as a hash (stored as a request:
    /// hydrated, or never a job; or unknown). A word the logs do not rebuild (a node whose logs
    /// lag its state) is `Error::JobLogsBehind`.
    async fn job_state(&self, id: U256, from: u64, hint: Option<&Job>) -> Result<Option<Holding>> {
        let held = self.call("jobHash", self.broker.jobHash(id)).await?;
        if let Some(hint) = hint
            && held != B256::ZERO
            && job_hash(hint) == held
        {
            return Ok(Some(Holding::Job(Box::new(hint.clone()))));
        }
        let to = self.block_number().await?;
        let events = vec![
            Broker::Created::SIGNATURE_HASH,
            Broker::RequestInput::SIGNATURE_HASH,
            Broker::AnswerCommitted::SIGNATURE_HASH,
            Broker::Answered::SIGNATURE_HASH,
            Broker::Finalized::SIGNATURE_HASH,
            Broker::Hydrated::SIGNATURE_HASH,
        ];
        let filter = alloy::rpc::types::Filter::new()
            .event_signature(events)
            .topic1(B256::from(id));
        let logs = events::broker_logs(self, filter, from, to).await?;
        if held == B256::ZERO {
            // Paid out as a job: a `Finalized` log and no `Hydrated` one (a hydrated job is
            // paid out as a request, and `getRequest` shows it).
            let hydrated = logs
                .iter()
                .any(|log| matches!(log.event, BrokerEvents::Hydrated(_)));
            let paid = logs.iter().find_map(|log| match &log.event {
                BrokerEvents::Finalized(e) if !hydrated => Some((e.paidTo, log.block)),
                _ => None,
            });
            return Ok(paid.map(|(paid_to, block)| Holding::PaidOut {
                job: rebuild(id, &logs).map(Box::new),
                paid_to,
                block,
            }));
        }
        match rebuild(id, &logs) {
            Some(job) if job_hash(&job) == held => Ok(Some(Holding::Job(Box::new(job)))),
            _ => Err(Error::JobLogsBehind { id }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BrokerLog;
    use alloy::primitives::{Bytes, address};

    fn log(event: BrokerEvents) -> BrokerLog {
        BrokerLog {
            event,
            block: 1,
            tx: None,
            log_index: None,
        }
    }

    #[test]
    fn a_job_is_rebuilt_from_its_request_commitment_and_reveal() {
        let id = U256::from(7);
        let host = address!("0x00000000000000000000000000000000000000aa");
        let input = Bytes::from_static(b"input");
        let result = Bytes::from_static(b"result");
        let mut logs = vec![
            log(BrokerEvents::Created(Broker::Created {
                id,
                programId: B256::repeat_byte(1),
                requester: address!("0x00000000000000000000000000000000000000bb"),
            })),
            log(BrokerEvents::RequestInput(Broker::RequestInput {
                id,
                input: input.clone(),
                payment: U256::from(5),
                maxSteps: 64,
                maxGasPrice: 3,
                softResolutionBlocks: 10,
                mode: 0,
                minHostJobs: 1,
            })),
        ];
        let pending = rebuild(id, &logs).unwrap();
        assert_eq!(pending.status, Status::Pending as u8);
        assert_eq!(pending.inputHash, keccak256(&input));
        assert_eq!(pending.payment, U96::from(5));
        logs.push(log(BrokerEvents::AnswerCommitted(
            Broker::AnswerCommitted {
                id,
                host,
                commitment: B256::repeat_byte(9),
                revealDeadline: U256::from(300),
            },
        )));
        let committed = rebuild(id, &logs).unwrap();
        assert_eq!(committed.status, Status::Committed as u8);
        assert_eq!(
            (committed.host, committed.claim),
            (host, B256::repeat_byte(9))
        );
        logs.push(log(BrokerEvents::Answered(Broker::Answered {
            id,
            host,
            result: result.clone(),
            steps: 12,
            final_: true,
            windowEnd: U256::from(50),
        })));
        let answered = rebuild(id, &logs).unwrap();
        assert_eq!(answered.status, Status::WaitingForResolution as u8);
        assert_eq!(answered.deadline, U48::from(50));
        assert_eq!(answered.steps, 12);
        assert_eq!(
            answered.claim,
            keccak256([&[1u8][..], &result[..]].concat())
        );
        // Another request's logs change nothing; without its request, no job.
        assert!(rebuild(U256::from(8), &logs).is_none());
        assert!(rebuild(id, &logs[1..]).is_none());
    }

    /// `abi.encode` of a struct of value types is its fields, a word each, in order: what
    /// `JobHash` hashes in place on-chain (the anvil tests check a rebuilt job against the
    /// Broker's word).
    #[test]
    fn a_job_encodes_as_its_fifteen_words_in_order() {
        let job = Job {
            id: U256::from(1),
            claim: B256::repeat_byte(2),
            ..Default::default()
        };
        let encoded = job.abi_encode();
        assert_eq!(encoded.len(), 15 * 32);
        assert_eq!(U256::from_be_slice(&encoded[..32]), U256::from(1));
        assert_eq!(&encoded[14 * 32..], B256::repeat_byte(2).as_slice());
    }
}

//! One action on one request: read its state from the chain, [`decide`], and send what the
//! decision calls for (an answer, a challenge, a bisection move, a one-step proof, ...).

use crate::{
    AgentConfig, Job,
    compute::Oracle,
    decide::{Action, Outcome, View, decide},
    programs::Program,
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use ecm_bindings::{Broker, IBroker};
use ecm_chain::{Chain, Holding};
use ecm_primitives::{Claim, commitment};
use ecm_runtime::TracePoints;
use ecm_verifier::{MachineProverEvm, strategy};
use std::sync::{Arc, Mutex};
use tracing::{debug, error, info, warn};

mod tournament;

/// Steps per `executeExecutable` call, and its gas.
const EXECUTE_STEPS: u64 = 10_000;
const EXECUTE_GAS: u64 = 25_000_000;
/// Gas of a proveStep besides the step's own.
const PROVE_OVERHEAD_GAS: u64 = 400_000;

/// What the chain showed about our stake in a request when we last decided on it. The chain is
/// authoritative: a transaction whose response was lost may still have landed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    /// Our answer stands, or our challenge is open.
    pub(crate) engaged: bool,
    /// The standing claim we are challenging, if we are.
    pub(crate) challenging: Option<B256>,
    /// The transaction that put our deposit on the request, if it is no longer on the chain
    /// (a reorganisation deeper than our confirmations dropped it): the deposit was never
    /// taken, not forfeited.
    pub(crate) vanished_stake: Option<B256>,
    /// The deposit our answer or challenge holds, when the chain shows one our job does not
    /// know of (the agent stopped before it heard back from its transaction), and that
    /// transaction as the request's logs show it.
    pub(crate) unrecorded_stake: Option<(U256, Option<B256>)>,
}

/// Why an action could not be taken; it is decided again on the next tick.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ActError {
    /// The chain could not be read or refused a transaction.
    #[error(transparent)]
    Chain(#[from] ecm_chain::Error),
    /// Our own trace could not answer a query (a bug, or the trace is gone).
    #[error("trace query: {0}")]
    Trace(#[from] ecm_verifier::Error),
    /// A worker thread running a trace query or the one-step check panicked or was cancelled.
    #[error("{what}: the worker thread failed: {source}")]
    Worker {
        /// What it was doing.
        what: &'static str,
        /// How it failed.
        #[source]
        source: tokio::task::JoinError,
    },
    /// No `Bisected` log in the block that started the challenger's turn matches the game's
    /// points hash (the node serves logs partially, or is behind the state it reported).
    #[error("no Bisected log in block {block} matches the game's posted points")]
    PointsNotFound {
        /// The block read.
        block: u64,
    },
}

/// What an action achieved.
pub(crate) enum Acted {
    /// Nothing was sent; look again at this block (or on news).
    Wait(Option<u64>),
    /// A transaction landed.
    Sent(Sent),
    /// Steps of a tournament landed, one transaction each (any left unsent are decided again).
    Played(Vec<Sent>),
    /// The job is over.
    Done(Outcome),
    /// The request can be accepted and paid out: the engine settles such requests together,
    /// many in one transaction (`settle`; `settleJobs` for a compact batch's job, whose fields
    /// it carries).
    Settle(Option<Box<IBroker::Job>>),
    /// A commitment or a reveal to send: the engine sends those of every job ready together,
    /// many in one transaction (`commitAnswers`, `revealAnswers`).
    Batch(Batched),
    /// The trace is needed but not in memory (after a restart): compute it again.
    NeedTrace,
    /// The action failed; it will be decided again.
    Failed(ActError),
}

/// A job's part of a batched answer. A compact batch's job carries its fields: it goes in
/// `commitJobs` or `revealJobs`, with the others of its kind.
#[derive(Clone, Debug)]
pub(crate) enum Batched {
    /// Commit to our answer with this deposit.
    Commit {
        commitment: B256,
        deposit: U256,
        steps: u64,
        job: Option<Box<IBroker::Job>>,
    },
    /// Reveal our committed answer.
    Reveal {
        answer: IBroker::RevealedAnswer,
        job: Option<Box<IBroker::Job>>,
    },
}

impl Batched {
    /// Whether this is a reveal (else a commitment).
    pub(crate) fn is_reveal(&self) -> bool {
        matches!(self, Self::Reveal { .. })
    }

    /// The compact batch job's fields, for a job held as a hash.
    pub(crate) fn job(&self) -> Option<&IBroker::Job> {
        match self {
            Self::Commit { job, .. } | Self::Reveal { job, .. } => job.as_deref(),
        }
    }
}

/// A transaction that landed, for the job's record.
pub(crate) struct Sent {
    /// What it did, with its hash.
    pub(crate) what: String,
    /// Whether it put money on the request (an answer or a challenge).
    pub(crate) engages: bool,
    /// The standing claim it challenged, if it was a challenge.
    pub(crate) challenged: Option<B256>,
    /// The deposit it put on the request (an answer or a challenge).
    pub(crate) staked: Option<U256>,
    /// Its hash.
    pub(crate) tx: B256,
    /// What it cost: gas used times the price paid.
    pub(crate) fee: U256,
}

impl Sent {
    /// The record of job `job`'s transaction that did `what` and landed (logged here): its hash
    /// and fee, no stake, no engagement (set them on the result for an answer or a challenge).
    pub(crate) fn landed(
        job: u64,
        what: String,
        receipt: &alloy::rpc::types::TransactionReceipt,
    ) -> Self {
        let tx = receipt.transaction_hash;
        info!(target: "agent", id = job, %tx, gas = receipt.gas_used, "{what}");
        Self {
            what: format!("{what} tx={tx}"),
            engages: false,
            challenged: None,
            staked: None,
            tx,
            fee: fee(receipt),
        }
    }
}

/// The transaction that put an account's deposit on a request, given the request's logs naming
/// that account (commitments, answers, challenges, expiries), in order: its last commitment,
/// plain answer or challenge. A reveal (an answer after a commitment not expired) carries no
/// deposit: its commitment did.
pub(crate) fn stake_tx(logs: &[ecm_chain::BrokerLog]) -> Option<B256> {
    use ecm_bindings::Broker::BrokerEvents as E;
    let (mut stake, mut committed) = (None, false);
    for log in logs {
        match log.event {
            E::AnswerCommitted(_) => (stake, committed) = (log.tx, true),
            E::Answered(_) if committed => committed = false,
            // A tournament's entry (the answer's is entry 0, entered by no log of its own).
            E::Answered(_) | E::Challenged(_) | E::Entered(_) => {
                (stake, committed) = (log.tx, false)
            }
            E::CommitmentExpired(_) => committed = false,
            _ => {}
        }
    }
    stake
}

/// Gas a `commitAnswers` of `n` commitments (or an `answerRequest`, `n` = 1) is allowed for
/// when the account's funds are counted: comfortably above the limit a send sets (its estimate,
/// about 30,000 per commitment over a 26,000 base, plus a quarter and 10,000).
pub(crate) fn commit_gas_allowance(n: usize) -> u64 {
    100_000 + 40_000 * n as u64
}

/// What a landed transaction cost its sender.
pub(crate) fn fee(receipt: &alloy::rpc::types::TransactionReceipt) -> U256 {
    U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
}

/// Everything one action needs, owned, so it can run in the background.
pub(crate) struct ActContext {
    pub(crate) chain: Arc<Chain>,
    pub(crate) me: Address,
    pub(crate) config: AgentConfig,
    pub(crate) oracle: Option<Arc<Mutex<Oracle>>>,
    pub(crate) program: Arc<Program>,
    pub(crate) job: Job,
    pub(crate) block: u64,
    /// The first block where the request's logs may be (its request's, when known).
    pub(crate) logs_from: u64,
    /// The request's fields as a compact batch job, as the engine followed them from the logs
    /// (checked against `jobHash` before use).
    pub(crate) job_hint: Option<IBroker::Job>,
    /// The transaction that put the job's deposit on the request, while it holds one.
    pub(crate) stake_tx: Option<B256>,
    /// The commitments posted in the game's last rounds, as the job store kept them.
    pub(crate) kept_points: Vec<Vec<B256>>,
}

impl ActContext {
    /// Decides and acts; also returns what the chain showed, if the request could be read.
    pub(crate) async fn act(self) -> (Acted, Option<Seen>) {
        let mut seen = None;
        match self.try_act(&mut seen).await {
            Ok(acted) => (acted, seen),
            Err(e) => (Acted::Failed(e), seen),
        }
    }

    /// The transaction of ours that put our deposit on request `id`, from its logs: so that
    /// the ledger can tell the deposit was never taken if a reorganisation removes it.
    async fn find_stake_tx(&self, id: U256) -> std::result::Result<Option<B256>, ActError> {
        use ecm_bindings::Broker::{
            AnswerCommitted, Answered, Challenged, CommitmentExpired, Entered,
        };
        let events = vec![
            AnswerCommitted::SIGNATURE_HASH,
            Answered::SIGNATURE_HASH,
            Challenged::SIGNATURE_HASH,
            CommitmentExpired::SIGNATURE_HASH,
            Entered::SIGNATURE_HASH,
        ];
        let from = self.config.deployment.deployed_at_block;
        let logs = self
            .chain
            .request_logs_naming(id, self.me, events, from, self.block)
            .await?;
        Ok(stake_tx(&logs))
    }

    async fn try_act(&self, seen: &mut Option<Seen>) -> std::result::Result<Acted, ActError> {
        let id = U256::from(self.job.id);
        let broker = self.chain.broker();
        // A compact batch's job is read from its logs, its fields checked against its word.
        let holding = self
            .chain
            .holding(id, self.logs_from, self.job_hint.as_ref())
            .await?;
        // `None`: a job moving between two reads; look again next block.
        let Some(holding) = holding else {
            return Ok(Acted::Wait(Some(self.block + 1)));
        };
        let request = holding.request();
        if let Some(acted) = self.act_in_tournament(id, &request, seen).await? {
            return Ok(acted);
        }
        let job_fields = holding.held_job().cloned().map(Box::new);
        let challenge = self
            .chain
            .call("getChallenge", broker.getChallenge(id))
            .await?;
        let game = self.chain.call("getGame", broker.getGame(id)).await?;
        let challenging = challenge.challenger == self.me;
        let engaged = request.host == self.me || challenging;
        let vanished_stake = self.vanished_stake(engaged).await?;
        let unrecorded_stake = if engaged && !self.job.is_engaged() {
            let deposit = self.deposit(id, job_fields.as_deref()).await?;
            Some((deposit, self.find_stake_tx(id).await?))
        } else {
            None
        };
        *seen = Some(Seen {
            engaged,
            challenging: challenging.then_some(request.claim),
            vanished_stake,
            unrecorded_stake,
        });
        let view = View {
            me: self.me,
            roles: self.config.roles,
            block: self.block,
            request: &request,
            challenge: &challenge,
            game: &game,
            claim: self.job.claim.as_ref().map(Claim::commitment),
            challenged: &self.job.challenged,
            engaged: self.job.is_engaged(),
            margin: self.config.deadline_margin,
            // A job held as a hash is answered by commitment: there is no plain job answer.
            commit_answers: self.config.commit_answers || job_fields.is_some(),
        };
        let action = decide(&view);
        debug!(target: "agent", id = self.job.id, ?action, status = request.status, "decided");
        let sent = |what: String, receipt: alloy::rpc::types::TransactionReceipt| {
            Acted::Sent(Sent {
                engages: matches!(action, Action::Answer | Action::Commit | Action::Challenge),
                challenged: matches!(action, Action::Challenge).then_some(request.claim),
                ..Sent::landed(self.job.id, what, &receipt)
            })
        };
        let staking = |mut acted: Acted, deposit: U256| {
            if let Acted::Sent(sent) = &mut acted {
                sent.staked = Some(deposit);
            }
            acted
        };
        Ok(match action {
            Action::Wait { until } => Acted::Wait(until),
            Action::Done(outcome) => {
                // A settlement a reorganisation could still remove must not end the job: with
                // confirmations, it must show as deep as that.
                let deep_enough = match holding {
                    Holding::PaidOut { block, .. } => {
                        block <= self.block.saturating_sub(self.config.confirmations)
                    }
                    _ => self.finalized_deep_enough(id, &request).await?,
                };
                if !deep_enough {
                    return Ok(Acted::Wait(Some(self.block + 1)));
                }
                Acted::Done(outcome)
            }
            Action::Compute => {
                if !self.may_answer(&request).await? {
                    return Ok(Acted::Wait(None));
                }
                Acted::NeedTrace
            }
            Action::Answer | Action::Commit => {
                if !self.may_answer(&request).await? {
                    return Ok(Acted::Wait(None));
                }
                let (claim, deposit) = self.stake(id, job_fields.as_deref()).await?;
                // A deposit the account cannot pay with its gas would make a send that fails
                // at every look: wait for funds (payouts, or the operator's).
                let (max_fee, _) = self.chain.fees().await?;
                let gas = U256::from(commit_gas_allowance(1)) * U256::from(max_fee);
                let balance = self.chain.balance(self.me).await?;
                if balance < deposit + gas {
                    info!(target: "agent", id = self.job.id, %balance, %deposit, "the deposit and its gas are more than our balance; not answering for now");
                    return Ok(Acted::Wait(None));
                }
                if action == Action::Commit {
                    let commitment = ecm_primitives::answer_commitment(
                        id,
                        claim.commitment(),
                        claim.steps,
                        self.me,
                        self.salt(),
                    );
                    return Ok(Acted::Batch(Batched::Commit {
                        commitment,
                        deposit,
                        steps: claim.steps,
                        job: job_fields,
                    }));
                }
                let call = broker
                    .answerRequest_1(id, claim.result.clone(), claim.steps, claim.final_)
                    .value(deposit);
                let receipt = self.chain.send("answerRequest", call).await?;
                staking(
                    sent(format!("answered {} steps", claim.steps), receipt),
                    deposit,
                )
            }
            Action::Reveal => {
                let claim = self.job.claim.clone().expect("a commitment has a claim");
                Acted::Batch(Batched::Reveal {
                    answer: IBroker::RevealedAnswer {
                        id,
                        result: claim.result.clone(),
                        steps: claim.steps,
                        final_: claim.final_,
                        salt: self.salt(),
                    },
                    job: job_fields,
                })
            }
            Action::Expire => {
                self.hydrate(job_fields.as_deref()).await?;
                sent(
                    "ended a commitment not revealed in time".into(),
                    self.chain
                        .send("expireCommitment", broker.expireCommitment(id))
                        .await?,
                )
            }
            Action::Challenge => {
                let (claim, deposit) = self.stake(id, job_fields.as_deref()).await?;
                self.hydrate(job_fields.as_deref()).await?;
                let call = broker
                    .challengeAnswer_1(id, claim.result.clone(), claim.steps, claim.final_)
                    .value(deposit);
                let receipt = self.chain.send("challengeAnswer", call).await?;
                let what = format!(
                    "challenged {}'s answer with {} steps",
                    request.host, claim.steps
                );
                staking(sent(what, receipt), deposit)
            }
            Action::Start => sent(
                "started the dispute".into(),
                self.chain
                    .send("initializeDispute", broker.initializeDispute(id))
                    .await?,
            ),
            Action::Timeout => sent(
                "claimed a timeout".into(),
                self.chain
                    .send("claimTimeout", broker.claimTimeout(id))
                    .await?,
            ),
            Action::SoftResolve | Action::Finalize => Acted::Settle(job_fields),
            Action::Execute => {
                let Some(oracle) = self.oracle.clone() else {
                    return Ok(Acted::NeedTrace);
                };
                // The Broker keeps only the commitment to where the re-execution is: bring the
                // state from our own trace, which the chain's run of the program must match.
                let execution = self
                    .chain
                    .call("getFullExecution", broker.getFullExecution(id))
                    .await?;
                let steps = execution.steps;
                let point =
                    blocking(move || Ok(TracePoints::point(&mut *oracle.lock().unwrap(), steps)?))
                        .await?;
                if point.commitment() != execution.commitment {
                    // A liar's trace past its lie, or a program whose module and contract
                    // disagree: only the other side can carry the run on.
                    warn!(target: "agent", id = self.job.id, steps, "our trace is not where the on-chain re-execution is; leaving it to the other side");
                    return Ok(Acted::Wait(None));
                }
                let call = broker
                    .executeExecutable(id, U256::from(EXECUTE_STEPS), point.state.into())
                    .gas(EXECUTE_GAS);
                sent(
                    "executed steps on-chain".into(),
                    self.chain.send("executeExecutable", call).await?,
                )
            }
            Action::Bisect => {
                let Some(oracle) = self.oracle.clone() else {
                    return Ok(Acted::NeedTrace);
                };
                let (lo, hi) = (game.lo, game.hi);
                let points = self.our_points(oracle, &game).await?;
                let receipt = self.chain.send("bisect", broker.bisect(id, points)).await?;
                sent(format!("bisected [{lo}, {hi}]"), receipt)
            }
            Action::Select => {
                let Some(oracle) = self.oracle.clone() else {
                    return Ok(Acted::NeedTrace);
                };
                let posted = self.posted_points(id, &game).await?;
                let (lo, hi) = (game.lo, game.hi);
                match self.our_segment(oracle, &game, posted.clone()).await? {
                    Some(index) => {
                        let receipt = self
                            .chain
                            .send(
                                "selectSegment",
                                broker.selectSegment(id, posted, U256::from(index)),
                            )
                            .await?;
                        sent(format!("selected segment {index} of [{lo}, {hi}]"), receipt)
                    }
                    None => Acted::Wait(None),
                }
            }
            Action::Prove => self.prove(id, &request, &game).await?,
        })
    }

    /// The transaction that put our deposit on the request, if we held a deposit, the chain
    /// shows none of ours (`engaged` false) and that transaction is no longer on the chain: a
    /// reorganisation deeper than our confirmations dropped it. Its nonce is free again.
    async fn vanished_stake(&self, engaged: bool) -> std::result::Result<Option<B256>, ActError> {
        let Some(tx) = self
            .stake_tx
            .filter(|_| !engaged && self.job.deposit.is_some())
        else {
            return Ok(None);
        };
        let receipt = self
            .chain
            .read("eth_getTransactionReceipt", || async {
                alloy::providers::Provider::get_transaction_receipt(self.chain.provider(), tx).await
            })
            .await?;
        if receipt.is_some() {
            return Ok(None);
        }
        self.chain.forget_nonce().await;
        Ok(Some(tx))
    }

    /// Whether `request` (as read now) showed the same status as deep as our confirmations: a
    /// settlement a reorganisation could still remove must not end the job.
    async fn finalized_deep_enough(
        &self,
        id: U256,
        request: &IBroker::Request,
    ) -> std::result::Result<bool, ActError> {
        let depth = self.config.confirmations;
        if depth == 0 {
            return Ok(true);
        }
        let past = self.block.saturating_sub(depth);
        let broker = self.chain.broker();
        let then = self
            .chain
            .call("getRequest", broker.getRequest(id).block(past.into()))
            .await?;
        Ok(then.status == request.status)
    }

    /// The secret salt of our commitment to an answer of this request: derived from our key
    /// and the request, so that nobody can guess it and a restart finds it again without
    /// having stored it.
    fn salt(&self) -> B256 {
        alloy::primitives::keccak256(format!(
            "ecm answer salt:{}:{}",
            self.config.private_key.trim_start_matches("0x"),
            self.job.id
        ))
    }

    /// Stores the compact batch job `job` as a request (`hydrate`), for the calls only a
    /// stored request takes (a challenge, an expiry); nothing for a stored request.
    async fn hydrate(&self, job: Option<&IBroker::Job>) -> std::result::Result<(), ActError> {
        let Some(job) = job else { return Ok(()) };
        let call = self
            .chain
            .broker()
            .hydrate(job.clone(), self.job.input.clone());
        let receipt = self.chain.send("hydrate", call).await?;
        info!(target: "agent", id = self.job.id, tx = %receipt.transaction_hash, gas = receipt.gas_used, "stored the compact batch job as a request (hydrate)");
        Ok(())
    }

    /// The deposit an answer or a challenge of request `id` takes (of job `job`, for a job
    /// held as a hash).
    async fn deposit(
        &self,
        id: U256,
        job: Option<&IBroker::Job>,
    ) -> std::result::Result<U256, ActError> {
        let broker = self.chain.broker();
        Ok(match job {
            Some(job) => {
                self.chain
                    .call("requiredJobDeposit", broker.requiredJobDeposit(job.clone()))
                    .await?
            }
            None => {
                self.chain
                    .call("requiredDeposit", broker.requiredDeposit(id))
                    .await?
            }
        })
    }

    /// Whether we may answer `request` now; if not, we look again later (the gas price may
    /// fall, our record may grow) rather than give up.
    async fn may_answer(&self, request: &IBroker::Request) -> std::result::Result<bool, ActError> {
        // The deposit covers dispute gas at the requester's price bound; above it, a dispute
        // would cost more than the deposits pay back. Wait for cheaper blocks.
        let base_fee = self.chain.base_fee().await?;
        if request.maxGasPrice.to::<u128>() < base_fee {
            info!(target: "agent", id = self.job.id, base_fee, bound = request.maxGasPrice.to::<u64>(), "gas is above the request's price bound; not answering for now");
            return Ok(false);
        }
        // A request admitting only hosts with a record: the Broker would refuse us.
        if request.minHostJobs != 0 {
            let broker = self.chain.broker();
            let record = self
                .chain
                .call("recordOf", broker.recordOf(self.me))
                .await?;
            if !record.meets(request.minHostJobs) {
                info!(target: "agent", id = self.job.id, min_host_jobs = request.minHostJobs, paid = record.paid, defences_lost = record.defencesLost, "the request admits only hosts with a longer record; not answering for now");
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Our claim and the deposit that must go with it, for an answer or a challenge.
    async fn stake(
        &self,
        id: U256,
        job: Option<&IBroker::Job>,
    ) -> std::result::Result<(Claim, U256), ActError> {
        // `decide` only answers or challenges once the job has a claim.
        let claim = self
            .job
            .claim
            .clone()
            .expect("an answer or a challenge has a claim");
        let deposit = self.deposit(id, job).await?;
        Ok((claim, deposit))
    }

    /// The commitments the defender posted this round: as kept from its `Bisected` log when
    /// that was read, else from the log itself.
    async fn posted_points(
        &self,
        id: U256,
        game: &IBroker::Game,
    ) -> std::result::Result<Vec<B256>, ActError> {
        // Kept when the log was read: the Broker's hash of them is the proof they are these.
        if let Some(kept) = self
            .kept_points
            .iter()
            .find(|p| alloy::primitives::keccak256(concat(p)) == game.pointsHash)
        {
            return Ok(kept.clone());
        }
        let filter = posted_points_filter(self.config.deployment.broker, id, game);
        let logs = self.logs_in_one_read(&filter).await?;
        for log in logs.iter().rev() {
            let Ok(event) = Broker::Bisected::decode_raw_log(log.topics(), &log.data().data) else {
                continue;
            };
            if event.lo == game.lo
                && event.hi == game.hi
                && alloy::primitives::keccak256(concat(&event.points)) == game.pointsHash
            {
                return Ok(event.points);
            }
        }
        Err(ActError::PointsNotFound {
            block: game.turnStart.to::<u64>(),
        })
    }

    /// The defender's commitments at the split points of `game`'s segment, from our trace.
    pub(crate) async fn our_points(
        &self,
        oracle: Arc<Mutex<Oracle>>,
        game: &IBroker::Game,
    ) -> std::result::Result<Vec<B256>, ActError> {
        let (lo, hi, arity) = (game.lo, game.hi, self.config.deployment.arity);
        blocking(move || strategy::defender_points(&mut *oracle.lock().unwrap(), lo, hi, arity))
            .await
    }

    /// The sub-segment of `game` whose right end our trace disputes among the defender's
    /// `posted` points; `None` (logged) if we agree with every one: our claim was wrong.
    pub(crate) async fn our_segment(
        &self,
        oracle: Arc<Mutex<Oracle>>,
        game: &IBroker::Game,
        posted: Vec<B256>,
    ) -> std::result::Result<Option<u64>, ActError> {
        let (lo, hi, arity, c_hi) = (game.lo, game.hi, self.config.deployment.arity, game.cHi);
        let index = blocking(move || {
            strategy::challenger_index(&mut *oracle.lock().unwrap(), lo, hi, arity, &posted, c_hi)
        })
        .await?;
        if index.is_none() {
            error!(target: "agent", id = self.job.id, lo, hi, "our trace agrees with every posted point: our claim was wrong");
        }
        Ok(index)
    }

    /// The logs matching `filter`, in one `eth_getLogs` (its range a block: any provider takes it).
    async fn logs_in_one_read(
        &self,
        filter: &Filter,
    ) -> std::result::Result<Vec<alloy::rpc::types::Log>, ActError> {
        let provider = self.chain.provider();
        Ok(self
            .chain
            .read("eth_getLogs", || async {
                alloy::providers::Provider::get_logs(provider, filter).await
            })
            .await?)
    }

    /// Reveals the agreed point, if revm says the one step goes our way.
    async fn prove(
        &self,
        id: U256,
        request: &IBroker::Request,
        game: &IBroker::Game,
    ) -> std::result::Result<Acted, ActError> {
        let defending = request.host == self.me;
        let (point, proof) = match self.check_one_step(game, defending).await? {
            OneStep::Send { point, proof } => (point, proof),
            OneStep::NeedTrace => return Ok(Acted::NeedTrace),
            OneStep::Hold => return Ok(Acted::Wait(None)),
        };
        let lo = game.lo;
        let gas = prove_gas(request.maxStepGas, &point, proof.as_deref());
        let broker = self.chain.broker();
        let state = Bytes::from(point.state);
        let receipt = match proof {
            None => {
                let call = broker.proveStep(id, point.final_, state).gas(gas);
                self.chain.send("proveStep", call).await?
            }
            Some(proof) => {
                let call = broker
                    .proveMachineStep(id, point.final_, state, Bytes::from(proof))
                    .gas(gas);
                self.chain.send("proveMachineStep", call).await?
            }
        };
        let what = format!("proved step {}", lo + 1);
        Ok(Acted::Sent(Sent::landed(self.job.id, what, &receipt)))
    }

    /// Whether to reveal the agreed point of `game` (at its one step), and with what: only if
    /// our trace opens its agreed commitment and revm, running what the Broker will run for
    /// step `lo + 1` (the Execution code for a step program, the machine prover with our own
    /// proof for a machine program), says it goes our way (`defending`: we hold `cHi`).
    pub(crate) async fn check_one_step(
        &self,
        game: &IBroker::Game,
        defending: bool,
    ) -> std::result::Result<OneStep, ActError> {
        let Some(oracle) = self.oracle.clone() else {
            return Ok(OneStep::NeedTrace);
        };
        let lo = game.lo;
        let reveal_oracle = oracle.clone();
        let point =
            blocking(move || strategy::reveal(&mut *reveal_oracle.lock().unwrap(), lo)).await?;
        if point.commitment() != game.cLo {
            // Only a party whose trace opens the agreed commitment can reveal it.
            return Ok(OneStep::Hold);
        }
        let program = self.program.clone();
        let reveal = point.clone();
        let proof_oracle = oracle;
        // A final agreed point is sticky and needs no proof.
        let checked =
            tokio::task::spawn_blocking(move || -> Result<(B256, Option<Vec<u8>>), String> {
                if let Some(mut evm) = program.evm() {
                    let computed = strategy::one_step_commitment(&mut evm, lo, &reveal)
                        .map_err(|e| e.to_string())?;
                    return Ok((computed, None));
                }
                if reveal.final_ {
                    return Ok((reveal.commitment(), Some(Vec::new())));
                }
                let (hash, proof) = proof_oracle
                    .lock()
                    .unwrap()
                    .machine_proof(lo)
                    .expect("a machine program's oracle")?;
                if hash.as_slice() != reveal.state.as_slice() {
                    return Err(format!(
                        "the machine at step {lo} is not the revealed state"
                    ));
                }
                let proven = MachineProverEvm::new()
                    .map_err(|e| e.to_string())?
                    .step(hash, &proof)
                    .map_err(|e| e.to_string())?
                    .map_err(|rejected| format!("the prover rejects our proof: {rejected:?}"))?;
                Ok((commitment(proven.final_, &proven.next), Some(proof)))
            })
            .await
            .map_err(|source| ActError::Worker {
                what: "one-step check",
                source,
            })?;
        let (computed, proof) = match checked {
            Ok(checked) => checked,
            Err(reason) => {
                error!(target: "agent", id = self.job.id, step = lo + 1, %reason, "cannot check the one step; not sending it");
                return Ok(OneStep::Hold);
            }
        };
        if (computed == game.cHi) != defending {
            warn!(target: "agent", id = self.job.id, step = lo + 1, "revm says the one step would go against us; not sending it");
            return Ok(OneStep::Hold);
        }
        Ok(OneStep::Send { point, proof })
    }
}

/// What [`ActContext::check_one_step`] found.
pub(crate) enum OneStep {
    /// Reveal `point` (with the machine prover's `proof` for a machine program).
    Send {
        point: ecm_runtime::Point,
        proof: Option<Vec<u8>>,
    },
    /// The trace is not in memory.
    NeedTrace,
    /// Not ours to send, or it would not go our way (logged).
    Hold,
}

/// Gas of a one-step proof: a step program's call is capped at twice the request's step gas
/// over the settlement and the state's calldata; the machine prover's is not capped: the
/// proof's execution, its calldata (at most the EIP-7623 floor, 40 gas a byte) and the
/// settlement.
pub(crate) fn prove_gas(
    max_step_gas: u32,
    point: &ecm_runtime::Point,
    proof: Option<&[u8]>,
) -> u64 {
    match proof {
        None => u64::from(max_step_gas) * 2 + PROVE_OVERHEAD_GAS + 16 * point.state.len() as u64,
        Some(proof) => PROVE_OVERHEAD_GAS + 40 * (proof.len() + point.state.len()) as u64,
    }
}

fn concat(points: &[B256]) -> Vec<u8> {
    points.iter().flat_map(|p| p.0).collect()
}

/// The logs that can hold the defender's points of the current round: the `Bisected` events of
/// request `id` in the one block that started the challenger's turn (the bisection set
/// `turnStart` to its own block), so the read is one block whatever the deployment's age
/// (hosted providers cap the range of `eth_getLogs`).
fn posted_points_filter(
    broker: alloy::primitives::Address,
    id: U256,
    game: &IBroker::Game,
) -> Filter {
    let block = game.turnStart.to::<u64>();
    Filter::new()
        .address(broker)
        .event_signature(Broker::Bisected::SIGNATURE_HASH)
        .topic1(B256::from(id))
        .from_block(block)
        .to_block(block)
}

/// Runs trace queries on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ecm_verifier::Result<T> + Send + 'static,
) -> std::result::Result<T, ActError> {
    Ok(tokio::task::spawn_blocking(f)
        .await
        .map_err(|source| ActError::Worker {
            what: "trace query",
            source,
        })??)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of `event` in transaction number `tx`.
    fn log(event: Broker::BrokerEvents, tx: u8) -> ecm_chain::BrokerLog {
        ecm_chain::BrokerLog {
            event,
            block: u64::from(tx),
            tx: Some(B256::repeat_byte(tx)),
            log_index: Some(0),
        }
    }

    fn committed() -> Broker::BrokerEvents {
        Broker::BrokerEvents::AnswerCommitted(Broker::AnswerCommitted::default())
    }

    fn answered() -> Broker::BrokerEvents {
        Broker::BrokerEvents::Answered(Broker::Answered::default())
    }

    fn expired() -> Broker::BrokerEvents {
        Broker::BrokerEvents::CommitmentExpired(Broker::CommitmentExpired::default())
    }

    fn challenged() -> Broker::BrokerEvents {
        Broker::BrokerEvents::Challenged(Broker::Challenged::default())
    }

    /// A revealed answer's deposit came with its commitment; a plain answer and a challenge
    /// carry their own; a commitment that expired leaves the next answer a plain one.
    #[test]
    fn the_stake_is_the_last_commitment_plain_answer_or_challenge() {
        let tx = |n: u8| Some(B256::repeat_byte(n));
        assert_eq!(stake_tx(&[]), None);
        assert_eq!(stake_tx(&[log(committed(), 1)]), tx(1));
        assert_eq!(stake_tx(&[log(committed(), 1), log(answered(), 2)]), tx(1));
        assert_eq!(stake_tx(&[log(answered(), 3)]), tx(3));
        assert_eq!(
            stake_tx(&[log(committed(), 1), log(expired(), 2), log(answered(), 3)]),
            tx(3)
        );
        assert_eq!(
            stake_tx(&[
                log(committed(), 1),
                log(expired(), 2),
                log(committed(), 3),
                log(answered(), 4)
            ]),
            tx(3)
        );
        assert_eq!(
            stake_tx(&[
                log(committed(), 1),
                log(answered(), 2),
                log(challenged(), 5)
            ]),
            tx(5)
        );
    }

    /// The posted points are read from the one block that started the challenger's turn, not
    /// from the deployment block on: a range hosted providers accept at any age.
    #[test]
    fn the_posted_points_are_read_from_one_block() {
        let game = IBroker::Game {
            turnStart: alloy::primitives::Uint::from(1_234_567u64),
            ..Default::default()
        };
        let filter = posted_points_filter(alloy::primitives::Address::ZERO, U256::from(7), &game);
        assert_eq!(filter.get_from_block(), Some(1_234_567));
        assert_eq!(filter.get_to_block(), Some(1_234_567));
        assert_eq!(
            filter.topics[1].to_value_or_array(),
            Some(alloy::rpc::types::ValueOrArray::Value(B256::from(
                U256::from(7)
            )))
        );
    }
}

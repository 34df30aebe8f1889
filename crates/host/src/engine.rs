//! The agent's loop: discover requests, compute them, and act on each as [`decide`] says.

use crate::{
    AgentConfig, Error, Job, JobStore, Result, Stance,
    compute::{self, Oracle},
    decide::{Action, View, decide},
};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use ecm_bindings::{Broker, IBroker};
use ecm_chain::{Chain, ChainConfig};
use ecm_primitives::{Claim, ProgramEntry};
use ecm_runtime::{Runtime, WasmProgram};
use ecm_verifier::{EvmStepper, conformance, strategy};
use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex},
};
use tokio::{sync::mpsc, task::JoinSet};
use tracing::{debug, error, info, warn};

/// Blocks of logs read per `eth_getLogs` call.
const LOG_CHUNK: u64 = 5_000;
/// Steps per `executeExecutable` call, and its gas.
const EXECUTE_STEPS: u64 = 10_000;
const EXECUTE_GAS: u64 = 25_000_000;
/// Decisions (each a few reads and perhaps a transaction, mostly waiting for its receipt)
/// running at once.
const ACTS_IN_FLIGHT: usize = 256;
/// A job not looked at for this long is looked at again, whatever the news.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(5);
/// At most this many such stale jobs per tick.
const STALE_PER_TICK: usize = 8;
/// Gas of a proveStep besides the step's own.
const PROVE_OVERHEAD_GAS: u64 = 400_000;

/// A program the agent serves: its module, and its Execution contract's code and step gas, to
/// check one-step proofs in revm before sending them.
struct Program {
    name: String,
    wasm: WasmProgram,
    execution_code: Bytes,
    max_step_gas: u32,
}

impl Program {
    /// A revm over the program's Execution code (cheap; revm is not `Send`, so one per use).
    fn evm(&self) -> EvmStepper {
        EvmStepper::new(self.execution_code.clone(), self.max_step_gas)
    }
}

/// What a finished background task reports.
enum Done {
    Computed {
        id: u64,
        result: std::result::Result<(Oracle, Claim), String>,
    },
    Acted {
        id: u64,
        outcome: Acted,
        seen: Seen,
    },
}

/// What the chain showed about our stake in a request when we last decided on it. The chain is
/// authoritative: a transaction whose response was lost may still have landed.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    /// Our answer stands, or our challenge is open.
    engaged: bool,
    /// The standing claim we are challenging, if we are.
    challenging: Option<B256>,
}

/// What an action achieved.
enum Acted {
    /// Nothing was sent; look again at this block (or on news).
    Wait(Option<u64>),
    /// A transaction landed.
    Sent(Sent),
    /// The job is over.
    Done(&'static str),
    /// The trace is needed but not in memory (after a restart): compute it again.
    NeedTrace,
    /// The action failed; it will be decided again.
    Failed(String),
}

/// A transaction that landed, for the job's record.
struct Sent {
    /// What it did, with its hash.
    what: String,
    /// Whether it put money on the request (an answer or a challenge).
    engages: bool,
    /// The standing claim it challenged, if it was a challenge.
    challenged: Option<B256>,
}

/// Runs an agent until `shutdown` resolves: discovers requests, computes them on the blocking
/// pool, answers, challenges, plays disputes, collects payments and withdraws them.
pub async fn run(config: AgentConfig, shutdown: impl Future<Output = ()>) -> Result<()> {
    let mut agent = Agent::start(config).await?;
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(agent.config.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(done) = agent.done_rx.recv() => agent.on_done(done)?,
            _ = tick.tick() => {
                if let Err(e) = agent.tick().await {
                    warn!(target: "agent", error = %e, "tick failed, retrying next tick");
                }
            }
        }
    }
    agent.shut_down().await
}

struct Agent {
    config: AgentConfig,
    chain: Arc<Chain>,
    me: Address,
    store: JobStore,
    programs: HashMap<B256, Arc<Program>>,
    oracles: HashMap<u64, Arc<Mutex<Oracle>>>,
    /// Program ids of requests seen in `Created` logs, until their `RequestInput` arrives.
    created: HashMap<u64, B256>,
    /// Jobs with news since their last decision, or whose deadline passed.
    dirty: HashSet<u64>,
    /// Blocks at which waiting jobs should be looked at again.
    wake: HashMap<u64, u64>,
    /// When each job was last decided on.
    decided_at: HashMap<u64, std::time::Instant>,
    busy: HashSet<u64>,
    computing: HashSet<u64>,
    /// Bounds the computations running at once.
    permits: Arc<tokio::sync::Semaphore>,
    /// Whether a withdrawal is in flight (one at a time).
    withdrawing: Arc<std::sync::atomic::AtomicBool>,
    tasks: JoinSet<()>,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    ticks: u64,
}

impl Agent {
    async fn start(config: AgentConfig) -> Result<Self> {
        if !config.roles.answer && !config.roles.challenge {
            return Err(Error::Config(
                "the agent neither answers nor challenges".into(),
            ));
        }
        let mut chain_config = ChainConfig::new(&config.rpc_url, config.deployment.broker);
        chain_config.private_key = Some(config.private_key.clone());
        chain_config.chain_id = Some(config.deployment.chain_id);
        chain_config.connect_attempts = 12;
        let chain = Arc::new(Chain::connect(chain_config).await?);
        if config.cheat.is_some() && chain.chain_id() != ecm_chain::ANVIL_CHAIN_ID {
            return Err(Error::CheatOnRealNetwork {
                chain_id: chain.chain_id(),
                anvil: ecm_chain::ANVIL_CHAIN_ID,
            });
        }
        let me = chain.account()?;
        let programs = load_programs(&config, &chain).await?;
        let mut store = JobStore::open(&config.data_dir)?;
        if store.cursor() == 0 {
            store.set_cursor(config.deployment.deployed_at_block.saturating_sub(1));
        }
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let permits = Arc::new(tokio::sync::Semaphore::new(config.workers.max(1)));
        let mut agent = Self {
            permits,
            withdrawing: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            config,
            chain,
            me,
            store,
            programs,
            oracles: HashMap::new(),
            created: HashMap::new(),
            dirty: HashSet::new(),
            wake: HashMap::new(),
            decided_at: HashMap::new(),
            busy: HashSet::new(),
            computing: HashSet::new(),
            tasks: JoinSet::new(),
            done_tx,
            done_rx,
            ticks: 0,
        };
        let open: Vec<u64> = agent
            .store
            .jobs()
            .filter(|j| j.is_open())
            .map(|j| j.id)
            .collect();
        info!(target: "agent", account = %me, roles = ?agent.config.roles, resumed = open.len(), "agent started");
        for id in open {
            agent.dirty.insert(id);
            let needs_claim = agent.store.get(id).is_some_and(|j| j.claim.is_none());
            if needs_claim {
                agent.spawn_compute(id);
            }
        }
        Ok(agent)
    }

    /// One look at the chain.
    async fn tick(&mut self) -> Result<()> {
        self.ticks += 1;
        let block = self.chain.block_number().await?;
        self.discover(block).await?;
        // Jobs with news or a passed deadline, at most ACTS_IN_FLIGHT at once; then, as a safety
        // net for anything missed, a few jobs not looked at for a while.
        let now = std::time::Instant::now();
        let mut room = ACTS_IN_FLIGHT.saturating_sub(self.busy.len());
        let open: Vec<u64> = self
            .store
            .jobs()
            .filter(|j| j.is_open() && !self.busy.contains(&j.id))
            .map(|j| j.id)
            .collect();
        let mut due: Vec<u64> = open
            .iter()
            .copied()
            .filter(|id| self.dirty.contains(id) || self.wake.get(id).is_some_and(|b| block >= *b))
            .take(room)
            .collect();
        room -= due.len();
        let stale = open
            .iter()
            .copied()
            .filter(|id| !due.contains(id))
            .filter(|id| {
                self.decided_at
                    .get(id)
                    .is_none_or(|at| now.duration_since(*at) > STALE_AFTER)
            })
            .take(room.min(STALE_PER_TICK));
        due.extend(stale.collect::<Vec<_>>());
        for id in due {
            self.dirty.remove(&id);
            self.decided_at.insert(id, now);
            self.spawn_act(id, block);
        }
        if self.ticks.is_multiple_of(10) {
            self.spawn_withdraw();
        }
        Ok(())
    }

    /// Reads the Broker's logs since the cursor: new requests become jobs, events on known
    /// requests mark them for a new decision.
    async fn discover(&mut self, block: u64) -> Result<()> {
        let mut from = self.store.cursor() + 1;
        while from <= block {
            let to = block.min(from + LOG_CHUNK - 1);
            for log in self.chain.broker_logs(from, to).await? {
                self.on_log(log.event);
            }
            self.store.set_cursor(to);
            self.store.save_cursor()?;
            from = to + 1;
        }
        Ok(())
    }

    fn on_log(&mut self, event: Broker::BrokerEvents) {
        use Broker::BrokerEvents as E;
        let id = match &event {
            E::Created(e) => {
                self.created.insert(to_u64(e.id), e.programId);
                return;
            }
            E::RequestInput(e) => {
                let id = to_u64(e.id);
                if let Some(program_id) = self.created.remove(&id) {
                    self.new_request(id, program_id, e);
                }
                return;
            }
            E::Answered(e) => e.id,
            E::Challenged(e) => e.id,
            E::Cancelled(e) => e.id,
            E::SoftResolved(e) => e.id,
            E::DisputeStarted(e) => e.id,
            E::Bisected(e) => e.id,
            E::SegmentSelected(e) => e.id,
            E::StepProven(e) => e.id,
            E::Executed(e) => e.id,
            E::DisputeResolved(e) => e.id,
            E::FirmlyResolved(e) => e.id,
            E::Finalized(e) => e.id,
            _ => return,
        };
        self.dirty.insert(to_u64(id));
    }

    fn new_request(&mut self, id: u64, program_id: B256, e: &Broker::RequestInput) {
        if self.store.get(id).is_some() {
            return;
        }
        let Some(program) = self.programs.get(&program_id) else {
            debug!(target: "agent", id, %program_id, "not a program we serve");
            return;
        };
        if self.config.roles.answer
            && !self.config.roles.challenge
            && e.payment < self.config.min_payment
        {
            debug!(target: "agent", id, payment = %e.payment, "payment below our minimum");
            return;
        }
        info!(target: "agent", id, program = %program.name, "new request");
        self.store.insert(Job {
            id,
            program: program.name.clone(),
            program_id,
            input: e.input.clone(),
            max_steps: e.maxSteps,
            payment: e.payment,
            stance: Stance::Open,
            claim: None,
            challenged: vec![],
            log: vec![],
            trace: None,
        });
        self.dirty.insert(id);
        self.spawn_compute(id);
        if let Err(e) = self.store.save_job(id) {
            warn!(target: "agent", id, error = %e, "cannot save the new job");
        }
    }

    /// Computes job `id`'s trace on the blocking pool (once at a time per job).
    fn spawn_compute(&mut self, id: u64) {
        if !self.computing.insert(id) {
            return;
        }
        let Some(job) = self.store.get(id) else {
            return;
        };
        let Some(program) = self.programs.get(&job.program_id).cloned() else {
            return;
        };
        let (input, max_steps) = (job.input.clone(), job.max_steps);
        let (cap, budget) = (self.config.max_compute_steps, self.config.checkpoint_budget);
        let cheat = self.config.cheat;
        let tx = self.done_tx.clone();
        let permits = self.permits.clone();
        self.tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = tokio::task::spawn_blocking(move || {
                compute::compute(&program.wasm, &input, max_steps, cap, budget, cheat)
            })
            .await
            .unwrap_or_else(|e| Err(format!("computation panicked: {e}")));
            let _ = tx.send(Done::Computed { id, result });
        });
    }

    fn on_done(&mut self, done: Done) -> Result<()> {
        match done {
            Done::Computed { id, result } => {
                self.computing.remove(&id);
                let Some(job) = self.store.get_mut(id) else {
                    return Ok(());
                };
                match result {
                    Ok((oracle, claim)) => {
                        if let Some(previous) = &job.claim {
                            if previous.commitment() != claim.commitment() {
                                error!(target: "agent", id, "recomputed trace differs from the stored claim; keeping the stored claim");
                            }
                        } else {
                            info!(target: "agent", id, steps = claim.steps, final_ = claim.final_, "computed");
                            job.claim = Some(claim);
                        }
                        job.trace = Some(trace_stats(&oracle, job.claim.as_ref()));
                        self.oracles.insert(id, Arc::new(Mutex::new(oracle)));
                    }
                    Err(reason) => {
                        warn!(target: "agent", id, %reason, "refusing the request");
                        if job.stance == Stance::Open {
                            job.stance = Stance::Done {
                                outcome: format!("refused: {reason}"),
                            };
                        }
                    }
                }
                self.dirty.insert(id);
                self.store.save_job(id)?;
            }
            Done::Acted { id, outcome, seen } => {
                self.busy.remove(&id);
                let Some(job) = self.store.get_mut(id) else {
                    return Ok(());
                };
                let mut adopted = false;
                if seen.engaged && job.stance == Stance::Open {
                    job.stance = Stance::Engaged;
                    job.log.push("our answer or challenge is on-chain (the response to its transaction was lost)".into());
                    adopted = true;
                }
                if let Some(claim) = seen.challenging.filter(|c| !job.challenged.contains(c)) {
                    job.challenged.push(claim);
                    adopted = true;
                }
                if adopted {
                    self.store.save_job(id)?;
                }
                let Some(job) = self.store.get_mut(id) else {
                    return Ok(());
                };
                match outcome {
                    Acted::Wait(until) => {
                        match until {
                            Some(block) => self.wake.insert(id, block),
                            None => self.wake.remove(&id),
                        };
                    }
                    Acted::Sent(sent) => {
                        if sent.engages {
                            job.stance = Stance::Engaged;
                        }
                        job.challenged.extend(sent.challenged);
                        job.log.push(sent.what);
                        self.dirty.insert(id);
                        self.store.save_job(id)?;
                    }
                    Acted::Done(outcome) => {
                        info!(target: "agent", id, outcome, "job done");
                        job.stance = Stance::Done {
                            outcome: outcome.into(),
                        };
                        self.oracles.remove(&id);
                        self.wake.remove(&id);
                        self.store.save_job(id)?;
                    }
                    Acted::NeedTrace => {
                        self.spawn_compute(id);
                    }
                    Acted::Failed(reason) => {
                        warn!(target: "agent", id, %reason, "action failed; deciding again next tick");
                        self.dirty.insert(id);
                    }
                }
            }
        }
        Ok(())
    }

    /// Decides and acts on job `id` in the background.
    fn spawn_act(&mut self, id: u64, block: u64) {
        let Some(job) = self.store.get(id).cloned() else {
            return;
        };
        let Some(program) = self.programs.get(&job.program_id).cloned() else {
            return;
        };
        self.busy.insert(id);
        let ctx = ActContext {
            chain: self.chain.clone(),
            me: self.me,
            config: self.config.clone(),
            oracle: self.oracles.get(&id).cloned(),
            program,
            job,
            block,
        };
        let tx = self.done_tx.clone();
        self.tasks.spawn(async move {
            let (outcome, seen) = ctx.act().await;
            let _ = tx.send(Done::Acted { id, outcome, seen });
        });
    }

    fn spawn_withdraw(&mut self) {
        use std::sync::atomic::Ordering;
        if self.withdrawing.swap(true, Ordering::SeqCst) {
            return;
        }
        let (chain, me, withdrawing) = (self.chain.clone(), self.me, self.withdrawing.clone());
        self.tasks.spawn(async move {
            if let Ok(balance) = chain.call("balanceOf", chain.broker().balanceOf(me)).await
                && !balance.is_zero() {
                    match chain.send("withdraw", chain.broker().withdraw()).await {
                        Ok(receipt) => info!(target: "agent", amount = %balance, tx = %receipt.transaction_hash, "withdrew"),
                        Err(e) => warn!(target: "agent", error = %e, "withdraw failed; retrying later"),
                    }
                }
            withdrawing.store(false, Ordering::SeqCst);
        });
    }

    /// Stops taking work, waits (within the grace period) for the tasks in flight, saves.
    async fn shut_down(mut self) -> Result<()> {
        info!(target: "agent", in_flight = self.tasks.len(), "shutting down");
        let grace = self.config.shutdown_grace;
        let drained = tokio::time::timeout(grace, async {
            while let Some(joined) = self.tasks.join_next().await {
                let _ = joined;
                while let Ok(done) = self.done_rx.try_recv() {
                    let _ = self.on_done(done);
                }
            }
        })
        .await;
        while let Ok(done) = self.done_rx.try_recv() {
            let _ = self.on_done(done);
        }
        if drained.is_err() {
            warn!(target: "agent", "tasks still running after the grace period; they resume on restart");
            self.tasks.abort_all();
        }
        self.store.save()?;
        info!(target: "agent", "stopped");
        Ok(())
    }
}

/// Everything one action needs, owned, so it can run in the background.
struct ActContext {
    chain: Arc<Chain>,
    me: Address,
    config: AgentConfig,
    oracle: Option<Arc<Mutex<Oracle>>>,
    program: Arc<Program>,
    job: Job,
    block: u64,
}

impl ActContext {
    async fn act(self) -> (Acted, Seen) {
        let mut seen = Seen::default();
        match self.try_act(&mut seen).await {
            Ok(acted) => (acted, seen),
            Err(e) => (Acted::Failed(e.to_string()), seen),
        }
    }

    async fn try_act(&self, seen: &mut Seen) -> std::result::Result<Acted, ecm_chain::Error> {
        let id = U256::from(self.job.id);
        let broker = self.chain.broker();
        let request = self.chain.request(id).await?;
        let challenge = self
            .chain
            .call("getChallenge", broker.getChallenge(id))
            .await?;
        let game = self.chain.call("getGame", broker.getGame(id)).await?;
        let challenging = challenge.challenger == self.me;
        *seen = Seen {
            engaged: request.host == self.me || challenging,
            challenging: challenging.then_some(request.claim),
        };
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
        };
        let action = decide(&view);
        debug!(target: "agent", id = self.job.id, ?action, status = request.status, "decided");
        let sent = |what: String, receipt: alloy::rpc::types::TransactionReceipt| {
            info!(target: "agent", id = self.job.id, tx = %receipt.transaction_hash, gas = receipt.gas_used, "{what}");
            let engages = matches!(action, Action::Answer | Action::Challenge);
            let challenged = matches!(action, Action::Challenge).then_some(request.claim);
            Acted::Sent(Sent {
                what: format!("{what} tx={}", receipt.transaction_hash),
                engages,
                challenged,
            })
        };
        Ok(match action {
            Action::Wait { until } => Acted::Wait(until),
            Action::Done(outcome) => Acted::Done(outcome),
            Action::Answer => {
                // The deposit covers dispute gas at the requester's price bound; above it, a
                // dispute would cost more than the deposits pay back. Wait for cheaper blocks.
                let base_fee = self.chain.base_fee().await?;
                if u128::from(request.maxGasPrice) < base_fee {
                    info!(target: "agent", id = self.job.id, base_fee, bound = request.maxGasPrice, "gas is above the request's price bound; not answering for now");
                    return Ok(Acted::Wait(None));
                }
                let claim = self
                    .job
                    .claim
                    .clone()
                    .expect("decided to answer with a claim");
                let deposit = self
                    .chain
                    .call("requiredDeposit", broker.requiredDeposit(id))
                    .await?;
                let call = broker
                    .answerRequest_1(id, claim.result.clone(), claim.steps, claim.final_)
                    .value(deposit);
                sent(
                    format!("answered {} steps", claim.steps),
                    self.chain.send("answerRequest", call).await?,
                )
            }
            Action::Challenge => {
                let claim = self
                    .job
                    .claim
                    .clone()
                    .expect("decided to challenge with a claim");
                let deposit = self
                    .chain
                    .call("requiredDeposit", broker.requiredDeposit(id))
                    .await?;
                let call = broker
                    .challengeAnswer_1(id, claim.result.clone(), claim.steps, claim.final_)
                    .value(deposit);
                let receipt = self.chain.send("challengeAnswer", call).await?;
                sent(
                    format!(
                        "challenged {}'s answer with {} steps",
                        request.host, claim.steps
                    ),
                    receipt,
                )
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
            Action::SoftResolve => sent(
                "soft-resolved".into(),
                self.chain
                    .send("softResolveAnswer", broker.softResolveAnswer(id))
                    .await?,
            ),
            Action::Finalize => sent(
                "finalized".into(),
                self.chain.send("finalize", broker.finalize(id)).await?,
            ),
            Action::Execute => {
                let call = broker
                    .executeExecutable(id, U256::from(EXECUTE_STEPS))
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
                let (lo, hi, arity) = (game.lo, game.hi, self.config.deployment.arity);
                let points = blocking(move || {
                    strategy::defender_points(&mut *oracle.lock().unwrap(), lo, hi, arity)
                })
                .await?;
                let receipt = self.chain.send("bisect", broker.bisect(id, points)).await?;
                sent(format!("bisected [{lo}, {hi}]"), receipt)
            }
            Action::Select => {
                let Some(oracle) = self.oracle.clone() else {
                    return Ok(Acted::NeedTrace);
                };
                let posted = self.posted_points(id, &game).await?;
                let (lo, hi, arity, c_hi) =
                    (game.lo, game.hi, self.config.deployment.arity, game.cHi);
                let index = blocking(move || {
                    strategy::challenger_index(
                        &mut *oracle.lock().unwrap(),
                        lo,
                        hi,
                        arity,
                        &posted,
                        c_hi,
                    )
                    .map(|i| (i, posted))
                })
                .await?;
                match index {
                    (Some(index), posted) => {
                        let receipt = self
                            .chain
                            .send(
                                "selectSegment",
                                broker.selectSegment(id, posted, U256::from(index)),
                            )
                            .await?;
                        sent(format!("selected segment {index} of [{lo}, {hi}]"), receipt)
                    }
                    (None, _) => {
                        error!(target: "agent", id = self.job.id, "our trace agrees with every posted point: our challenge was wrong");
                        Acted::Wait(None)
                    }
                }
            }
            Action::Prove => self.prove(id, &request, &game).await?,
        })
    }

    /// The commitments the defender posted this round, from its `Bisected` log.
    async fn posted_points(
        &self,
        id: U256,
        game: &IBroker::Game,
    ) -> std::result::Result<Vec<B256>, ecm_chain::Error> {
        let filter = Filter::new()
            .address(self.config.deployment.broker)
            .event_signature(Broker::Bisected::SIGNATURE_HASH)
            .topic1(B256::from(id))
            .from_block(self.config.deployment.deployed_at_block);
        let provider = self.chain.provider();
        let logs = self
            .chain
            .read("eth_getLogs", || async {
                alloy::providers::Provider::get_logs(provider, &filter).await
            })
            .await?;
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
        Err(ecm_chain::Error::Rpc {
            action: "reading the posted points".into(),
            reason: "no Bisected log matches the game".into(),
        })
    }

    /// Reveals the agreed point, if revm says the one step goes our way.
    async fn prove(
        &self,
        id: U256,
        request: &IBroker::Request,
        game: &IBroker::Game,
    ) -> std::result::Result<Acted, ecm_chain::Error> {
        let Some(oracle) = self.oracle.clone() else {
            return Ok(Acted::NeedTrace);
        };
        let lo = game.lo;
        let point = blocking(move || strategy::reveal(&mut *oracle.lock().unwrap(), lo)).await?;
        if point.commitment() != game.cLo {
            // Only a party whose trace opens the agreed commitment can reveal it.
            return Ok(Acted::Wait(None));
        }
        let program = self.program.clone();
        let reveal = point.clone();
        let computed = tokio::task::spawn_blocking(move || {
            strategy::one_step_commitment(&mut program.evm(), lo, &reveal)
        })
        .await
        .map_err(|e| ecm_chain::Error::Rpc {
            action: "one-step check".into(),
            reason: e.to_string(),
        })?
        .map_err(|e| ecm_chain::Error::Rpc {
            action: "one-step check".into(),
            reason: e.to_string(),
        })?;
        let defending = request.host == self.me;
        if (computed == game.cHi) != defending {
            warn!(target: "agent", id = self.job.id, step = lo + 1, "revm says the one step would go against us; not sending it");
            return Ok(Acted::Wait(None));
        }
        let gas =
            u64::from(request.maxStepGas) * 2 + PROVE_OVERHEAD_GAS + 16 * point.state.len() as u64;
        let call = self
            .chain
            .broker()
            .proveStep(id, point.final_, Bytes::from(point.state))
            .gas(gas);
        let receipt = self.chain.send("proveStep", call).await?;
        info!(target: "agent", id = self.job.id, step = lo + 1, tx = %receipt.transaction_hash, gas = receipt.gas_used, "proved the one step");
        let what = format!("proved step {} tx={}", lo + 1, receipt.transaction_hash);
        Ok(Acted::Sent(Sent {
            what,
            engages: false,
            challenged: None,
        }))
    }
}

fn trace_stats(oracle: &Oracle, claim: Option<&Claim>) -> crate::TraceStats {
    crate::TraceStats {
        steps: claim.map(|c| c.steps).unwrap_or_default(),
        work: oracle.work(),
        checkpoint_bytes: oracle.checkpoint_bytes() as u64,
        checkpoint_interval: oracle.checkpoint_interval(),
    }
}

fn concat(points: &[B256]) -> Vec<u8> {
    points.iter().flat_map(|p| p.0).collect()
}

/// Runs trace queries on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ecm_verifier::Result<T> + Send + 'static,
) -> std::result::Result<T, ecm_chain::Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ecm_chain::Error::Rpc {
            action: "trace query".into(),
            reason: e.to_string(),
        })?
        .map_err(|e| ecm_chain::Error::Rpc {
            action: "trace query".into(),
            reason: e.to_string(),
        })
}

fn to_u64(id: U256) -> u64 {
    u64::try_from(id).unwrap_or(u64::MAX)
}

/// Loads the programs to serve: compiles each module, fetches its Execution code from the
/// chain, and runs a quick conformance check; a program that fails it is not served.
async fn load_programs(config: &AgentConfig, chain: &Chain) -> Result<HashMap<B256, Arc<Program>>> {
    let runtime = Runtime::new(config.limits.clone()).map_err(|e| Error::Config(e.to_string()))?;
    let wanted: Vec<(&String, &ProgramEntry)> = config
        .deployment
        .programs
        .iter()
        .filter(|(name, _)| {
            config.programs.is_empty() || config.programs.iter().any(|p| p == *name)
        })
        .collect();
    if let Some(unknown) = config
        .programs
        .iter()
        .find(|p| !config.deployment.programs.contains_key(*p))
    {
        return Err(Error::Config(format!(
            "program `{unknown}` is not in the deployment (known: {})",
            config
                .deployment
                .programs
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut programs = HashMap::new();
    let store = config
        .module_dir
        .as_ref()
        .map(ecm_runtime::ModuleStore::new);
    for (name, entry) in wanted {
        let spec = ecm_programs::by_wasm_hash(entry.wasm_hash);
        let bytes = match (spec, &store) {
            (Some(spec), _) => spec.wasm.to_vec(),
            (None, Some(store)) => match store.get(entry.wasm_hash) {
                Ok(bytes) => bytes,
                Err(e) => {
                    warn!(target: "agent", program = %name, error = %e, "no WASM module for this program: not serving it");
                    continue;
                }
            },
            (None, None) => {
                warn!(target: "agent", program = %name, "no WASM module with the registered hash (give --module-dir): not serving it");
                continue;
            }
        };
        let wasm = match runtime.load(&bytes) {
            Ok(wasm) => wasm,
            Err(e) => {
                error!(target: "agent", program = %name, error = %e, "the program's module is not usable: not serving it");
                continue;
            }
        };
        let execution = entry.execution;
        let execution_code = chain
            .read("eth_getCode", || async move {
                alloy::providers::Provider::get_code_at(chain.provider(), execution).await
            })
            .await?;
        let mut evm = EvmStepper::new(execution_code.clone(), entry.max_step_gas);
        // Representative traces when the program is a known one, generic inputs otherwise, and
        // random states either way.
        let inputs = spec.map(|s| s.samples()).unwrap_or_else(|| {
            vec![
                vec![],
                vec![3, 0, 0, 0, 0, 0, 0, 0],
                vec![7; 40],
                vec![0xff; 96],
            ]
        });
        let plan = conformance::Plan {
            inputs,
            steps_per_input: 400,
            random_states: 64,
            seed: 1,
        };
        let report = match conformance::check(&wasm, &mut evm, &plan) {
            Ok(report) => report,
            Err(e) => {
                error!(target: "agent", program = %name, error = %e, "the conformance check failed to run: not serving it");
                continue;
            }
        };
        if let Some(d) = report.divergence {
            let wasm_side = match &d.wasm {
                Ok((state, final_)) => format!("final {final_}, {} bytes", state.len()),
                Err(e) => format!("error: {e}"),
            };
            error!(target: "agent", program = %name, step = d.step, wasm = %wasm_side, evm_final = d.evm.1, "WASM and EVM disagree: not serving this program");
            continue;
        }
        info!(target: "agent", program = %name, steps = report.steps, "serving");
        let program = Program {
            name: name.clone(),
            wasm,
            execution_code,
            max_step_gas: entry.max_step_gas,
        };
        programs.insert(entry.id, Arc::new(program));
    }
    if programs.is_empty() {
        return Err(Error::Config("no program to serve".into()));
    }
    Ok(programs)
}

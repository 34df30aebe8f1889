//! The agent's loop: discover requests, compute them, and act on each as [`crate::decide()`] says.

use crate::{
    AgentConfig, Error, Job, JobStore, Result, Stance,
    act::{ActContext, Acted, Batched, Seen, Sent, commit_gas_allowance},
    compute::{self, Oracle},
    decide::Outcome,
    metrics::{self, Metrics},
    programs::{ModuleDirScan, Program, load_programs},
    store::{Binding, Ending, LedgerEntry, Movement, Opened},
};
use alloy::primitives::{Address, B256, U256};
use ecm_bindings::{Broker, IBroker, protocol::CreditReason};
use ecm_chain::{Chain, ChainConfig};
use ecm_primitives::Claim;
use std::{
    collections::{BTreeMap, HashMap},
    future::Future,
    sync::{Arc, Mutex, atomic::Ordering},
    time::Instant,
};
use tokio::{sync::mpsc, task::JoinSet};
use tracing::{debug, error, info, warn};

/// Blocks of logs taken in at a time, the cursor saved after each (the chain layer reads them
/// in whatever spans the node accepts).
const LOG_CHUNK: u64 = 5_000;
/// Decisions (each a few reads and perhaps a transaction, mostly waiting for its receipt)
/// running at once.
const ACTS_IN_FLIGHT: usize = 256;
/// Requests accepted and paid out by one `settle` at most (about 13k gas each, so a hundred
/// stay well within a block).
const SETTLE_BATCH: usize = 100;
/// At most this many commitments (or reveals) in one `commitAnswers` (`revealAnswers`).
const ANSWER_BATCH: usize = 50;
/// At most this many bytes of results in one `revealAnswers` (each up to 8 KiB): nodes refuse
/// transactions much over 128 KiB.
const REVEAL_BATCH_BYTES: usize = 48 * 1024;
/// Answer batches in flight at once, and settles. Each waits for its receipt, so with one at a
/// time a host answered at most `ANSWER_BATCH` jobs every other block (commitments in one,
/// their reveals in the next) and a burst of 500 requests took 20 blocks; with several, a
/// burst's commitments go in one block and their reveals in the next.
const BATCHES_IN_FLIGHT: usize = 8;
/// A job not looked at for this long is looked at again, whatever the news.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(5);
/// At most this many such stale jobs per tick.
const STALE_PER_TICK: usize = 8;

/// What the engine holds for a job while it is open (the store holds the job itself). Finished
/// jobs have none: ticks and memory follow open work only.
#[derive(Default)]
struct Live {
    /// The job's trace, once computed in this run (after a restart, when a decision needs it).
    oracle: Option<Arc<Mutex<Oracle>>>,
    /// News since its last decision (a log, a transaction that landed, a failed action).
    dirty: bool,
    /// The block at which a deadline passes, to decide again then.
    wake: Option<u64>,
    /// When it was last decided on.
    decided_at: Option<Instant>,
    /// A decision is running.
    acting: bool,
    /// Its computation is running.
    computing: bool,
    /// Its commitment or reveal waits for, or rides in, a batch: it is decided again when the
    /// batch reports, not before (a decision meanwhile would find the batch's deposit on the
    /// chain and record it a second time).
    batched: bool,
    /// The challenger of the request's latest challenge, from its `Challenged` log.
    challenger: Option<Address>,
    /// The block of the request's `RequestInput` log, when this run saw it: where a compact
    /// batch job's logs start (after a restart, the deployment's block).
    requested_at: Option<u64>,
    /// The request as a compact batch job would stand, followed from the logs this run read
    /// (`ecm_chain::apply`): the action checks it against `jobHash` and reads the job's logs
    /// again only if the Broker holds other fields. Unused for a stored request.
    job_fields: Option<IBroker::Job>,
}

impl Live {
    /// Whether a decision is due at `block`.
    fn due(&self, block: u64) -> bool {
        !self.acting && !self.batched && (self.dirty || self.wake.is_some_and(|b| block >= b))
    }

    /// Whether it has gone `STALE_AFTER` without a decision, as of `now`.
    fn stale(&self, now: Instant) -> bool {
        !self.acting
            && !self.batched
            && self
                .decided_at
                .is_none_or(|at| now.duration_since(at) > STALE_AFTER)
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
        seen: Option<Seen>,
    },
    /// A withdrawal landed: its fee, for the ledger.
    Withdrew { tx: B256, fee: U256 },
    /// A `settle` of these jobs landed (its hash and fee) or failed.
    Settled {
        ids: Vec<u64>,
        result: std::result::Result<(B256, U256), String>,
    },
    /// A `countDispute` of this job landed: its hash and fee, for the ledger.
    Counted { id: u64, tx: B256, fee: U256 },
    /// A `commitAnswers` or `revealAnswers` of these jobs' parts landed (its hash, fee, and
    /// the jobs the Broker took: the others it skipped) or failed.
    Answered {
        parts: Vec<(u64, Batched)>,
        /// What the batch held of the account's funds (`AnswerBatch::reserved`).
        reserved: U256,
        result: std::result::Result<(B256, U256, Vec<u64>), String>,
    },
}

/// What new commitments may stake this tick: the account's balance less what the commitment
/// batches in flight hold, and the fee per gas their transactions would offer.
#[derive(Clone, Copy, Debug)]
struct Funds {
    left: U256,
    max_fee: u128,
}

impl Funds {
    /// `account`'s funds now, less `held` by batches in flight.
    async fn read(chain: &Chain, account: Address, held: U256) -> Result<Self> {
        let balance = chain.balance(account).await?;
        let (max_fee, _) = chain.fees().await?;
        Ok(Self {
            left: balance.saturating_sub(held),
            max_fee,
        })
    }
}

/// The parts of one `commitAnswers` or `revealAnswers`, and what a commitment batch holds of
/// the account's funds until it reports (its deposits and its gas at `Funds::max_fee`).
#[derive(Debug)]
struct AnswerBatch {
    parts: Vec<(u64, Batched)>,
    reserved: U256,
}

/// Runs an agent until `shutdown` resolves: discovers requests, computes them on the blocking
/// pool, answers, challenges, plays disputes, collects payments and withdraws them.
pub async fn run(config: AgentConfig, shutdown: impl Future<Output = ()>) -> Result<()> {
    run_when_ready(config, || {}, shutdown).await
}

/// [`run`], calling `ready` once the agent has loaded (and checked) its programs and resumed its
/// jobs, before its first look at the chain: what a caller that sends requests with short
/// windows right after starting agents waits for (`ecm demo`).
pub async fn run_when_ready(
    config: AgentConfig,
    ready: impl FnOnce(),
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let mut agent = Agent::start(config).await?;
    ready();
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(agent.config.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(done) = agent.done_rx.recv() => agent.on_done(done)?,
            _ = tick.tick() => {
                let started = Instant::now();
                if let Err(e) = agent.tick().await {
                    warn!(target: "agent", error = %e, "tick failed, retrying next tick");
                }
                agent.metrics.ticked(started.elapsed());
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
    /// The Factory's machine prover (for ids of modules found later in the module directory),
    /// and what of that directory has been looked at.
    machine_prover: Option<Address>,
    module_scan: ModuleDirScan,
    /// The open jobs, by request id: exactly the store's jobs that are not done.
    live: BTreeMap<u64, Live>,
    /// Program ids and requesters of requests seen in `Created` logs, until their
    /// `RequestInput` arrives.
    created: HashMap<u64, (B256, Address)>,
    /// Bounds the computations running at once.
    permits: Arc<tokio::sync::Semaphore>,
    /// Whether a withdrawal is in flight (one at a time).
    withdrawing: Arc<std::sync::atomic::AtomicBool>,
    /// Jobs ready to be accepted and paid out, settled together by the next `settle`.
    settling: std::collections::BTreeSet<u64>,
    /// Those that are compact batch jobs, held as hashes, with their fields: settled together
    /// by the next `settleJobs`.
    settling_jobs: std::collections::BTreeMap<u64, IBroker::Job>,
    /// `settle`s in flight (at most `BATCHES_IN_FLIGHT`).
    settles_in_flight: usize,
    /// Commitments and reveals ready, sent together by the next `commitAnswers` or
    /// `revealAnswers` (reveals first: their deadline runs).
    answering: std::collections::BTreeMap<u64, Batched>,
    /// Those in flight (at most `BATCHES_IN_FLIGHT`).
    answer_batches_in_flight: usize,
    /// The funds the commitment batches in flight hold (`AnswerBatch::reserved`).
    committing: U256,
    /// Commitments wait for funds (said once, when they start to).
    short_of_funds: bool,
    tasks: JoinSet<()>,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    ticks: u64,
    metrics: Arc<Metrics>,
    /// The `--metrics` server, stopped at shutdown.
    metrics_server: Option<tokio::task::JoinHandle<()>>,
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
        chain_config.confirmations = config.confirmations;
        let chain = Arc::new(Chain::connect(chain_config).await?);
        if config.cheat.is_some() && chain.chain_id() != ecm_chain::ANVIL_CHAIN_ID {
            return Err(Error::CheatOnRealNetwork {
                chain_id: chain.chain_id(),
                anvil: ecm_chain::ANVIL_CHAIN_ID,
            });
        }
        let me = chain.account()?;
        let programs = load_programs(&config, &chain).await?;
        let factory =
            ecm_bindings::Factory::new(config.deployment.factory, chain.provider().clone());
        let machine_prover = chain
            .call("machineProver", factory.machineProver())
            .await
            .inspect_err(|e| warn!(target: "agent", error = %e, "cannot read the Factory's machine prover: no machine programs from the module directory"))
            .ok();
        let mut store = open_store(&config, &chain).await?;
        if store.cursor() == 0 {
            store.set_cursor(config.deployment.deployed_at_block.saturating_sub(1));
        }
        let metrics = Arc::new(Metrics::default());
        let metrics_server = match config.metrics {
            Some(addr) => Some(metrics::serve(addr, metrics.clone(), chain.clone()).await?),
            None => None,
        };
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let permits = Arc::new(tokio::sync::Semaphore::new(config.workers.max(1)));
        let mut agent = Self {
            permits,
            withdrawing: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            settling: Default::default(),
            settling_jobs: Default::default(),
            settles_in_flight: 0,
            answering: Default::default(),
            answer_batches_in_flight: 0,
            committing: U256::ZERO,
            short_of_funds: false,
            config,
            chain,
            me,
            store,
            programs,
            machine_prover,
            module_scan: ModuleDirScan::default(),
            live: BTreeMap::new(),
            created: HashMap::new(),
            tasks: JoinSet::new(),
            done_tx,
            done_rx,
            ticks: 0,
            metrics,
            metrics_server,
        };
        let open: Vec<u64> = agent
            .store
            .jobs()
            .filter(|j| j.is_open())
            .map(|j| j.id)
            .collect();
        info!(target: "agent", account = %me, roles = ?agent.config.roles, resumed = open.len(), "agent started");
        for id in open {
            agent.live.insert(
                id,
                Live {
                    dirty: true,
                    ..Live::default()
                },
            );
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
        // A JoinSet keeps every finished task until it is joined: reap them, or memory grows
        // with every computation and action the agent ever ran.
        while let Some(joined) = self.tasks.try_join_next() {
            if let Err(e) = joined
                && e.is_panic()
            {
                error!(target: "agent", error = %e, "a background task panicked");
            }
        }
        let block = self.chain.block_number().await?;
        self.discover(block).await?;
        self.count_jobs(block);
        // Jobs with news or a passed deadline, at most ACTS_IN_FLIGHT at once; then, as a safety
        // net for anything missed, a few jobs not looked at for a while.
        let now = Instant::now();
        let acting = self.live.values().filter(|l| l.acting).count();
        let room = ACTS_IN_FLIGHT.saturating_sub(acting);
        let mut due: Vec<u64> = self
            .live
            .iter()
            .filter(|(_, l)| l.due(block))
            .map(|(id, _)| *id)
            .take(room)
            .collect();
        let stale: Vec<u64> = self
            .live
            .iter()
            .filter(|(_, l)| !l.due(block) && l.stale(now))
            .map(|(id, _)| *id)
            .take((room - due.len()).min(STALE_PER_TICK))
            .collect();
        due.extend(stale);
        for id in due {
            self.spawn_act(id, block, now);
        }
        self.spawn_settles();
        // Commitments carry deposits: counted against the balance, so that a batch is never
        // sent that the account cannot pay (it would fail, and fail again at every tick).
        let commitments_wait = self
            .answering
            .values()
            .any(|part| matches!(part, Batched::Commit { .. }));
        let funds = match commitments_wait {
            true => Some(Funds::read(&self.chain, self.me, self.committing).await?),
            false => None,
        };
        self.spawn_answer_batches(funds);
        if self.ticks.is_multiple_of(10) {
            self.spawn_withdraw();
            if self.metrics_server.is_some()
                && let Ok(balance) = self.chain.balance(self.me).await
            {
                *self.metrics.balance_wei.lock().expect("metrics lock") =
                    balance.try_into().unwrap_or(u128::MAX);
            }
        }
        Ok(())
    }

    /// The jobs-by-stance gauges, and the block they were counted at.
    fn count_jobs(&self, block: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        let (mut open, mut engaged, mut locked) = (0, 0, U256::ZERO);
        for job in self.live.keys().filter_map(|id| self.store.get(*id)) {
            match job.stance {
                Stance::Open => open += 1,
                Stance::Engaged => {
                    engaged += 1;
                    locked = locked.saturating_add(job.deposit.unwrap_or_default());
                }
                Stance::Done { .. } => {}
            }
        }
        self.metrics.block.store(block, Relaxed);
        self.metrics.jobs_open.store(open, Relaxed);
        self.metrics.jobs_engaged.store(engaged, Relaxed);
        *self
            .metrics
            .deposits_locked_wei
            .lock()
            .expect("metrics lock") = locked.try_into().unwrap_or(u128::MAX);
    }

    /// Reads the Broker's logs since the cursor, up to `confirmations` blocks below `head`: new
    /// requests become jobs, events on known requests mark them for a new decision, credits
    /// and withdrawals go to the ledger.
    async fn discover(&mut self, head: u64) -> Result<()> {
        let block = head.saturating_sub(self.config.confirmations);
        let mut from = self.store.cursor() + 1;
        while from <= block {
            let to = block.min(from + LOG_CHUNK - 1);
            for log in self.chain.broker_logs(from, to).await? {
                self.on_log(log)?;
            }
            self.store.set_cursor(to);
            self.store.save_cursor()?;
            from = to + 1;
        }
        Ok(())
    }

    fn on_log(&mut self, log: ecm_chain::BrokerLog) -> Result<()> {
        use Broker::BrokerEvents as E;
        match &log.event {
            E::Created(e) => {
                self.created
                    .insert(to_u64(e.id), (e.programId, e.requester));
                return Ok(());
            }
            E::RequestInput(e) => {
                let id = to_u64(e.id);
                if let Some(created) = self.created.remove(&id) {
                    self.new_request(id, created, e, log.block);
                }
                return Ok(());
            }
            E::Credited(e) if e.account == self.me => {
                let Ok(reason) = CreditReason::try_from(e.reason) else {
                    warn!(target: "agent", reason = e.reason, "a credit for a reason this ecm does not know; not in the ledger");
                    return Ok(());
                };
                let job = Some(to_u64(e.id));
                let entry = LedgerEntry::from_log(job, Movement::Credit(reason), e.amount, &log);
                return self.store.record(&entry);
            }
            E::Withdrawn(e) if e.account == self.me => {
                let entry = LedgerEntry::from_log(None, Movement::Withdrawn, e.amount, &log);
                return self.store.record(&entry);
            }
            E::Challenged(e) => {
                if let Some(live) = self.live.get_mut(&to_u64(e.id)) {
                    live.challenger = Some(e.challenger);
                }
            }
            // We won as the challenger: the host we caught is counted in its record only at
            // the request's payout, a window from now, and meets host admission elsewhere until
            // then. Count it now (one transaction; the payout would count it otherwise).
            E::DisputeResolved(e)
                if e.winner == self.me
                    && e.loser != self.me
                    && self
                        .live
                        .get(&to_u64(e.id))
                        .is_some_and(|l| l.challenger == Some(self.me)) =>
            {
                self.spawn_count_dispute(to_u64(e.id));
            }
            E::Bisected(e) => {
                let id = to_u64(e.id);
                if self.live.contains_key(&id)
                    && let Err(err) = self.store.record_points(id, &e.points)
                {
                    warn!(target: "agent", id, error = %err, "cannot keep the posted points");
                }
            }
            _ => {}
        }
        // Any other news on a job of ours: decide on it again.
        if let Some(live) = log.request_id().and_then(|id| self.live.get_mut(&id)) {
            live.dirty = true;
            if let Some(fields) = live.job_fields.as_mut() {
                ecm_chain::apply(fields, &log.event);
            }
        }
        Ok(())
    }

    fn new_request(
        &mut self,
        id: u64,
        (program_id, requester): (B256, Address),
        e: &Broker::RequestInput,
        block: u64,
    ) {
        if !self.programs.contains_key(&program_id) {
            self.look_for_module(program_id);
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
        let job = Job {
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
            deposit: None,
            trace: None,
        };
        match self.store.insert(job) {
            // Known already (a log read again after a restart): open, or over.
            Ok(false) => return,
            Ok(true) => info!(target: "agent", id, program = %program.name, "new request"),
            Err(e) => {
                warn!(target: "agent", id, error = %e, "cannot read the job store; skipping the request");
                return;
            }
        }
        self.live.insert(
            id,
            Live {
                dirty: true,
                requested_at: Some(block),
                job_fields: Some(ecm_chain::requested(program_id, requester, e)),
                ..Live::default()
            },
        );
        // At once, to answer or check an answer as soon as may be; but a host that a request's
        // admission may keep out computes it only once its decision finds it let in
        // (`Action::Compute`), so that a request it cannot answer costs it nothing.
        if self.config.roles.challenge || e.minHostJobs == 0 {
            self.spawn_compute(id);
        }
        if let Err(e) = self.store.save_job(id) {
            warn!(target: "agent", id, error = %e, "cannot save the new job");
        }
    }

    /// A request for a program we do not serve: a machine program deployed after we started
    /// may be in the module directory (unless the operator named the programs to serve).
    fn look_for_module(&mut self, program_id: B256) {
        let (Some(dir), Some(prover)) = (&self.config.module_dir, self.machine_prover) else {
            return;
        };
        if !self.config.programs.is_empty() {
            return;
        }
        self.module_scan.scan(dir, prover, &mut self.programs);
        if !self.programs.contains_key(&program_id) {
            debug!(target: "agent", %program_id, "no module in the module directory for it");
        }
    }

    /// Computes job `id`'s trace on the blocking pool (once at a time per job).
    fn spawn_compute(&mut self, id: u64) {
        let (Some(live), Some(job)) = (self.live.get_mut(&id), self.store.get(id)) else {
            return;
        };
        let Some(program) = self.programs.get(&job.program_id).cloned() else {
            return;
        };
        if live.computing {
            return;
        }
        live.computing = true;
        let (input, max_steps) = (job.input.clone(), job.max_steps);
        let (cap, budget) = (self.config.max_compute_steps, self.config.checkpoint_budget);
        let cheat = self.config.cheat;
        let tx = self.done_tx.clone();
        let permits = self.permits.clone();
        self.tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = tokio::task::spawn_blocking(move || {
                compute::compute(&program.engine, &input, max_steps, cap, budget, cheat, id)
            })
            .await
            .unwrap_or_else(|e| Err(format!("computation panicked: {e}")));
            let _ = tx.send(Done::Computed { id, result });
        });
    }

    fn on_done(&mut self, done: Done) -> Result<()> {
        match done {
            Done::Computed { id, result } => self.on_computed(id, result),
            Done::Acted { id, outcome, seen } => self.on_acted(id, outcome, seen),
            Done::Withdrew { tx, fee } => {
                let entry = LedgerEntry::sent(None, Movement::Gas, fee, Some(tx));
                self.store.record(&entry)
            }
            Done::Settled { ids, result } => self.on_settled(ids, result),
            Done::Counted { id, tx, fee } => {
                if let Some(job) = self.store.get_mut(id) {
                    job.log.push(format!(
                        "counted the dispute it won in both records at once tx={tx}"
                    ));
                    self.store.save_job(id)?;
                }
                let entry = LedgerEntry::sent(Some(id), Movement::Gas, fee, Some(tx));
                self.store.record(&entry)
            }
            Done::Answered {
                parts,
                reserved,
                result,
            } => {
                self.committing = self.committing.saturating_sub(reserved);
                self.on_answered(parts, result)
            }
        }
    }

    /// Sends the jobs whose part is ready in `revealAnswers` (reveals first) and
    /// `commitAnswers`, at most `ANSWER_BATCH` each (`next_answer_batch`) and commitments as far
    /// as `funds` go, while fewer than `BATCHES_IN_FLIGHT` are in flight.
    fn spawn_answer_batches(&mut self, funds: Option<Funds>) {
        let room = BATCHES_IN_FLIGHT.saturating_sub(self.answer_batches_in_flight);
        let (batches, short) = take_answer_batches(&mut self.answering, room, funds);
        if short && !self.short_of_funds {
            let waiting = self.answering.len();
            info!(target: "agent", waiting, "commitments wait for funds: the balance covers no more deposits until some come back");
        }
        self.short_of_funds = short;
        for AnswerBatch { parts, reserved } in batches {
            self.answer_batches_in_flight += 1;
            self.committing += reserved;
            let chain = self.chain.clone();
            let done = self.done_tx.clone();
            self.tasks.spawn(async move {
                let result = send_answer_batch(&chain, &parts).await;
                let _ = done.send(Done::Answered {
                    parts,
                    reserved,
                    result,
                });
            });
        }
    }

    /// A `commitAnswers` or `revealAnswers` landed or failed: each job the Broker took records
    /// its part as sent (with an even share of the fee); each decides again.
    fn on_answered(
        &mut self,
        parts: Vec<(u64, Batched)>,
        result: std::result::Result<(B256, U256, Vec<u64>), String>,
    ) -> Result<()> {
        self.answer_batches_in_flight -= 1;
        let (tx, fee, landed) = match result {
            Ok(landed) => landed,
            Err(reason) => {
                self.metrics.actions_failed.fetch_add(1, Ordering::Relaxed);
                warn!(target: "agent", jobs = parts.len(), %reason, "a batch of answers failed; deciding again next tick");
                for (id, _) in &parts {
                    if let Some(live) = self.live.get_mut(id) {
                        live.dirty = true;
                        live.batched = false;
                    }
                }
                return Ok(());
            }
        };
        self.metrics.actions_sent.fetch_add(1, Ordering::Relaxed);
        let count = parts.len();
        for (k, (id, part)) in parts.into_iter().enumerate() {
            let (Some(live), Some(job)) = (self.live.get_mut(&id), self.store.get_mut(id)) else {
                continue;
            };
            live.dirty = true;
            live.batched = false;
            let share = fee_share(fee, count, k);
            let taken = landed.contains(&id);
            let mut ledger = Vec::new();
            let (what, staked) = match &part {
                Batched::Commit { deposit, steps, .. } if taken => (
                    format!("committed to {steps} steps (a batch of {count})"),
                    Some(*deposit),
                ),
                Batched::Commit { deposit, .. } => {
                    // Skipped (another host was first): the deposit went in and was credited
                    // back (`Surplus`), so the ledger shows it staked and returned.
                    ledger.push((Movement::Staked, *deposit, Some(tx)));
                    (
                        format!("commitment skipped in a batch of {count}: the request was taken"),
                        None,
                    )
                }
                Batched::Reveal { answer, .. } if taken => (
                    format!("revealed {} steps (a batch of {count})", answer.steps),
                    None,
                ),
                Batched::Reveal { .. } => (format!("reveal skipped in a batch of {count}"), None),
            };
            let sent = Sent {
                what: format!("{what} tx={tx}"),
                engages: staked.is_some(),
                challenged: None,
                staked,
                tx,
                fee: share,
            };
            ledger.extend(apply_sent(job, sent, &self.metrics));
            for (movement, amount, tx) in ledger {
                self.store
                    .record(&LedgerEntry::sent(Some(id), movement, amount, tx))?;
            }
            self.store.save_job(id)?;
        }
        Ok(())
    }

    /// A `settle` landed or failed: each job records its share of the fee, and decides again
    /// (a paid job then ends; one the batch could not pay is looked at anew).
    fn on_settled(
        &mut self,
        ids: Vec<u64>,
        result: std::result::Result<(B256, U256), String>,
    ) -> Result<()> {
        self.settles_in_flight -= 1;
        for (k, id) in ids.iter().enumerate() {
            if let Some(live) = self.live.get_mut(id) {
                live.dirty = true;
            }
            let Ok((tx, fee)) = &result else { continue };
            let share = fee_share(*fee, ids.len(), k);
            if let Some(job) = self.store.get_mut(*id) {
                job.log
                    .push(format!("settled in a batch of {} tx={tx}", ids.len()));
                let entry = LedgerEntry::sent(Some(*id), Movement::Gas, share, Some(*tx));
                self.store.record(&entry)?;
                self.store.save_job(*id)?;
            }
        }
        match result {
            Ok(_) => {
                self.metrics.actions_sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(reason) => {
                self.metrics.actions_failed.fetch_add(1, Ordering::Relaxed);
                warn!(target: "agent", jobs = ids.len(), %reason, "settle failed; deciding again next tick");
            }
        }
        Ok(())
    }

    /// Sends `settle`s (`settleJobs` for compact batch jobs) for the jobs ready to be paid
    /// out, at most `SETTLE_BATCH` each, while fewer than `BATCHES_IN_FLIGHT` are in flight.
    fn spawn_settles(&mut self) {
        while self.settles_in_flight < BATCHES_IN_FLIGHT {
            // One kind per transaction: stored requests by id, then jobs by their fields.
            let (ids, fields) = if !self.settling.is_empty() {
                let ids = (0..SETTLE_BATCH)
                    .map_while(|_| self.settling.pop_first())
                    .collect();
                (ids, Vec::new())
            } else if !self.settling_jobs.is_empty() {
                (0..SETTLE_BATCH)
                    .map_while(|_| self.settling_jobs.pop_first())
                    .unzip()
            } else {
                break;
            };
            self.settles_in_flight += 1;
            self.spawn_settle(ids, fields);
        }
    }

    /// Sends one `settle` for `ids`, or one `settleJobs` for compact batch jobs with these
    /// `fields` (then one for each id).
    fn spawn_settle(&mut self, ids: Vec<u64>, fields: Vec<IBroker::Job>) {
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        self.tasks.spawn(async move {
            let broker = chain.broker();
            let sent = if fields.is_empty() {
                let call = broker.settle(ids.iter().map(|id| U256::from(*id)).collect());
                chain.send("settle", call).await
            } else {
                chain.send("settleJobs", broker.settleJobs(fields)).await
            };
            let result = match sent {
                Ok(receipt) => {
                    info!(target: "agent", jobs = ids.len(), tx = %receipt.transaction_hash, gas = receipt.gas_used, "settled");
                    Ok((receipt.transaction_hash, crate::act::fee(&receipt)))
                }
                Err(e) => Err(e.to_string()),
            };
            let _ = done.send(Done::Settled { ids, result });
        });
    }

    /// A computation ended: keep the trace and the claim, or refuse the request.
    fn on_computed(
        &mut self,
        id: u64,
        result: std::result::Result<(Oracle, Claim), String>,
    ) -> Result<()> {
        // A job that ended meanwhile needs no trace.
        let (Some(live), Some(job)) = (self.live.get_mut(&id), self.store.get_mut(id)) else {
            return Ok(());
        };
        live.computing = false;
        live.dirty = true;
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
                live.oracle = Some(Arc::new(Mutex::new(oracle)));
            }
            Err(reason) => {
                warn!(target: "agent", id, %reason, "refusing the request");
                if job.stance == Stance::Open {
                    job.stance = Stance::Done {
                        outcome: Ending {
                            outcome: Outcome::Refused,
                            reason: Some(reason.to_string()),
                        },
                    };
                    self.metrics.ended(Outcome::Refused);
                    self.live.remove(&id);
                }
            }
        }
        self.store.save_job(id)
    }

    /// A decision ended: record what the chain showed and what was sent, or end the job.
    fn on_acted(&mut self, id: u64, outcome: Acted, seen: Option<Seen>) -> Result<()> {
        let (Some(live), Some(job)) = (self.live.get_mut(&id), self.store.get_mut(id)) else {
            return Ok(());
        };
        live.acting = false;
        let mut changed = false;
        let mut ledger = Vec::new();
        let engaged = seen.as_ref().map(|s| s.engaged);
        if engaged == Some(true) && job.stance == Stance::Open {
            job.stance = Stance::Engaged;
            job.log.push(
                "our answer or challenge is on-chain (the agent stopped before it heard back from its transaction)"
                    .into(),
            );
            if let Some((deposit, tx)) = seen.as_ref().and_then(|s| s.unrecorded_stake) {
                // Its fee is unknown; the deposit is the request's, its transaction the logs'.
                job.deposit = Some(deposit);
                ledger.push((Movement::Staked, deposit, tx));
            }
            changed = true;
        }
        if let Some(claim) = seen
            .as_ref()
            .and_then(|s| s.challenging)
            .filter(|c| !job.challenged.contains(c))
        {
            job.challenged.push(claim);
            changed = true;
        }
        let vanished = seen.as_ref().and_then(|s| s.vanished_stake);
        if engaged == Some(false) && job.deposit.is_some() {
            // Our answer was overturned or our challenge lost: the deposit is gone. Or the
            // transaction that staked it is no longer on the chain: it was never taken.
            job.deposit = None;
            if let Some(tx) = vanished {
                warn!(target: "agent", id, %tx, "our answer or challenge vanished in a reorganisation");
                job.log.push(format!(
                    "our answer or challenge vanished in a reorganisation tx={tx}"
                ));
            }
            changed = true;
        }
        // A machine trace runs when a dispute first needs it: keep the figures current.
        if let Some(Ok(oracle)) = live.oracle.as_ref().map(|o| o.try_lock()) {
            job.trace = Some(trace_stats(&oracle, job.claim.as_ref()));
        }
        match outcome {
            Acted::Wait(until) => live.wake = until,
            Acted::Sent(sent) => {
                self.metrics.actions_sent.fetch_add(1, Ordering::Relaxed);
                ledger.extend(apply_sent(job, sent, &self.metrics));
                live.dirty = true;
                changed = true;
            }
            Acted::Played(sent) => {
                for sent in sent {
                    self.metrics.actions_sent.fetch_add(1, Ordering::Relaxed);
                    ledger.extend(apply_sent(job, sent, &self.metrics));
                }
                live.dirty = true;
                changed = true;
            }
            Acted::Done(outcome) => {
                info!(target: "agent", id, %outcome, "job done");
                self.metrics.ended(outcome);
                job.stance = Stance::Done {
                    outcome: outcome.into(),
                };
                job.deposit = None;
                self.live.remove(&id);
                changed = true;
            }
            Acted::Settle(job) => {
                // Decided again once the batch reports.
                live.wake = None;
                match job {
                    Some(job) => {
                        self.settling_jobs.insert(id, *job);
                    }
                    None => {
                        self.settling.insert(id);
                    }
                }
            }
            Acted::Batch(part) => {
                live.wake = None;
                live.batched = true;
                self.answering.insert(id, part);
            }
            Acted::NeedTrace => self.spawn_compute(id),
            Acted::Failed(reason) => {
                self.metrics.actions_failed.fetch_add(1, Ordering::Relaxed);
                warn!(target: "agent", id, %reason, "action failed; deciding again next tick");
                live.dirty = true;
            }
        }
        if let Some(tx) = vanished {
            self.store.forget_sent(tx)?;
        }
        for (movement, amount, tx) in ledger {
            self.store
                .record(&LedgerEntry::sent(Some(id), movement, amount, tx))?;
        }
        if changed {
            self.store.save_job(id)?;
        }
        Ok(())
    }

    /// Decides and acts on job `id` in the background.
    fn spawn_act(&mut self, id: u64, block: u64, now: Instant) {
        let (Some(live), Some(job)) = (self.live.get_mut(&id), self.store.get(id)) else {
            return;
        };
        let Some(program) = self.programs.get(&job.program_id).cloned() else {
            return;
        };
        live.acting = true;
        live.dirty = false;
        live.decided_at = Some(now);
        let stake_tx = match job.deposit {
            Some(_) => self.store.last_stake(id).unwrap_or_else(|e| {
                warn!(target: "agent", id, error = %e, "cannot read the ledger");
                None
            }),
            None => None,
        };
        // The points posted in the game's last rounds, kept as they were read: the current
        // round's, if among them, need no log query.
        let kept_points = self.store.recent_points(id, 2).unwrap_or_default();
        let ctx = ActContext {
            chain: self.chain.clone(),
            me: self.me,
            config: self.config.clone(),
            oracle: live.oracle.clone(),
            program,
            job: job.clone(),
            block,
            logs_from: live
                .requested_at
                .unwrap_or(self.config.deployment.deployed_at_block),
            job_hint: live.job_fields.clone(),
            stake_tx,
            kept_points,
        };
        let tx = self.done_tx.clone();
        self.tasks.spawn(async move {
            let (outcome, seen) = ctx.act().await;
            let _ = tx.send(Done::Acted { id, outcome, seen });
        });
    }

    /// Sends `countDispute(id)`: a dispute we won as challenger, counted now in the caught
    /// host's record. Not retried: the request's payout counts it anyway.
    fn spawn_count_dispute(&mut self, id: u64) {
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        self.tasks.spawn(async move {
            let call = chain.broker().countDispute(U256::from(id));
            match chain.send("countDispute", call).await {
                Ok(receipt) => {
                    info!(target: "agent", id, tx = %receipt.transaction_hash, "counted the dispute we won in the caught host's record");
                    let fee = crate::act::fee(&receipt);
                    let tx = receipt.transaction_hash;
                    let _ = done.send(Done::Counted { id, tx, fee });
                }
                Err(e) => {
                    debug!(target: "agent", id, error = %e, "the dispute was not counted now; its payout counts it")
                }
            }
        });
    }

    fn spawn_withdraw(&mut self) {
        use std::sync::atomic::Ordering;
        if self.withdrawing.swap(true, Ordering::SeqCst) {
            return;
        }
        let (chain, me, withdrawing) = (self.chain.clone(), self.me, self.withdrawing.clone());
        let done = self.done_tx.clone();
        self.tasks.spawn(async move {
            if let Ok(balance) = chain.call("balanceOf", chain.broker().balanceOf(me)).await
                && !balance.is_zero() {
                    match chain.send("withdraw", chain.broker().withdraw()).await {
                        Ok(receipt) => {
                            info!(target: "agent", amount = %balance, tx = %receipt.transaction_hash, "withdrew");
                            let fee = crate::act::fee(&receipt);
                            let _ = done.send(Done::Withdrew { tx: receipt.transaction_hash, fee });
                        }
                        Err(e) => warn!(target: "agent", error = %e, "withdraw failed; retrying later"),
                    }
                }
            withdrawing.store(false, Ordering::SeqCst);
        });
    }

    /// Stops taking work, waits (within the grace period) for the tasks in flight, saves.
    async fn shut_down(mut self) -> Result<()> {
        info!(target: "agent", in_flight = self.tasks.len(), "shutting down");
        if let Some(server) = self.metrics_server.take() {
            server.abort();
        }
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

fn trace_stats(oracle: &Oracle, claim: Option<&Claim>) -> crate::TraceStats {
    crate::TraceStats {
        steps: claim.map(|c| c.steps).unwrap_or_default(),
        work: oracle.work(),
        checkpoint_bytes: oracle.checkpoint_bytes() as u64,
        checkpoint_interval: oracle.checkpoint_interval(),
    }
}

fn to_u64(id: U256) -> u64 {
    u64::try_from(id).unwrap_or(u64::MAX)
}

/// The job store in the data directory, bound to this chain and deployment: one made for
/// another (a devnet restarted from block 0 has the same chain id and addresses, and its
/// request 1 is not the old request 1) is set aside, and the agent starts afresh rather than
/// act on the old jobs.
async fn open_store(config: &AgentConfig, chain: &Chain) -> Result<JobStore> {
    let deployed_at = config.deployment.deployed_at_block;
    let block = chain
        .read("eth_getBlockByNumber", || async {
            alloy::providers::Provider::get_block_by_number(
                chain.provider(),
                alloy::eips::BlockNumberOrTag::Number(deployed_at),
            )
            .await
        })
        .await?
        .ok_or_else(|| {
            Error::Config(format!(
                "block {deployed_at}, where the deployment was made, is not on this chain: \
                 is the deployment file for this node? (a restarted devnet writes a new one)"
            ))
        })?;
    let binding = Binding {
        chain_id: chain.chain_id(),
        broker: config.deployment.broker,
        deployed_in: block.header.hash,
    };
    let head = chain.block_number().await?;
    let (store, opened) = JobStore::open_bound(&config.data_dir, &binding, head)?;
    match opened {
        Opened::Resumed => {}
        Opened::Adopted => {
            info!(target: "agent", dir = %config.data_dir.display(), "bound the job store to this chain and deployment");
        }
        Opened::SetAside(aside) => {
            warn!(target: "agent", dir = %config.data_dir.display(), kept = %aside.display(), "the job store was made for another chain or deployment (a restarted devnet?): kept it aside and started a new one");
        }
    }
    Ok(store)
}

/// Job `k`'s share of the fee of a transaction for `count` jobs: even, the remainder on the
/// first, so that the shares in the ledger sum to the fee.
fn fee_share(fee: U256, count: usize, k: usize) -> U256 {
    let count = U256::from(count.max(1));
    fee / count + if k == 0 { fee % count } else { U256::ZERO }
}

/// Takes out of `answering` the parts of at most `room` batches, each as `next_answer_batch`
/// chooses it (so reveals go first), until none is left; commitments only as far as `funds`
/// cover their deposits and gas (`None`: not counted). Also says whether commitments were left
/// for want of funds.
fn take_answer_batches(
    answering: &mut std::collections::BTreeMap<u64, Batched>,
    room: usize,
    mut funds: Option<Funds>,
) -> (Vec<AnswerBatch>, bool) {
    let mut batches = Vec::new();
    while batches.len() < room && !answering.is_empty() {
        let mut ids = next_answer_batch(answering);
        let mut reserved = U256::ZERO;
        if let Some(funds) = funds.as_mut()
            && matches!(answering.get(&ids[0]), Some(Batched::Commit { .. }))
        {
            // The longest run of these commitments that the funds cover.
            let mut deposits = U256::ZERO;
            let mut fits = 0;
            for (k, id) in ids.iter().enumerate() {
                let Some(Batched::Commit { deposit, .. }) = answering.get(id) else {
                    break;
                };
                let gas = U256::from(commit_gas_allowance(k + 1)) * U256::from(funds.max_fee);
                if deposits + *deposit + gas > funds.left {
                    break;
                }
                deposits += *deposit;
                fits = k + 1;
                reserved = deposits + gas;
            }
            if fits == 0 {
                return (batches, true);
            }
            ids.truncate(fits);
            funds.left -= reserved;
        }
        let parts = ids
            .iter()
            .filter_map(|id| Some((*id, answering.remove(id)?)))
            .collect();
        batches.push(AnswerBatch { parts, reserved });
    }
    (batches, false)
}

/// The jobs whose parts go in the next batch: reveals first (their deadline runs), at most
/// `ANSWER_BATCH`, and reveals up to `REVEAL_BATCH_BYTES` of results (at least one).
fn next_answer_batch(answering: &std::collections::BTreeMap<u64, Batched>) -> Vec<u64> {
    // One kind per transaction: reveals before commitments, stored requests before compact
    // batch jobs (which go in `revealJobs` and `commitJobs`).
    let kind = |part: &Batched| (!part.is_reveal(), part.job().is_some());
    let Some(first) = answering.values().map(kind).min() else {
        return Vec::new();
    };
    let mut bytes = 0;
    answering
        .iter()
        .filter(|(_, part)| kind(part) == first)
        .take(ANSWER_BATCH)
        .take_while(|(_, part)| {
            let first = bytes == 0;
            if let Batched::Reveal { answer, .. } = part {
                bytes += answer.result.len().max(1);
            }
            first || bytes <= REVEAL_BATCH_BYTES
        })
        .map(|(id, _)| *id)
        .collect()
}

/// Records on job `job` a transaction of its that landed: its log line, its stance and deposit;
/// returns the ledger entries (fee, deposit) to record.
fn apply_sent(job: &mut Job, sent: Sent, metrics: &Metrics) -> Vec<(Movement, U256, Option<B256>)> {
    let mut ledger = vec![(Movement::Gas, sent.fee, Some(sent.tx))];
    if let Some(deposit) = sent.staked {
        ledger.push((Movement::Staked, deposit, Some(sent.tx)));
    }
    if sent.engages {
        metrics.engagements.fetch_add(1, Ordering::Relaxed);
        job.stance = Stance::Engaged;
    }
    job.challenged.extend(sent.challenged);
    if sent.staked.is_some() {
        job.deposit = sent.staked;
    }
    job.log.push(sent.what);
    ledger
}

/// Sends the commitments (with their deposits) or the reveals of `parts` in one transaction;
/// returns its hash, its fee and the jobs the Broker took (an `AnswerCommitted` or `Answered`
/// log each).
async fn send_answer_batch(
    chain: &Chain,
    parts: &[(u64, Batched)],
) -> std::result::Result<(B256, U256, Vec<u64>), String> {
    use alloy::sol_types::SolEvent;
    let broker = chain.broker();
    let mut ids = Vec::new();
    let mut commitments = Vec::new();
    let mut reveals = Vec::new();
    let mut value = U256::ZERO;
    for (id, part) in parts {
        match part {
            Batched::Commit {
                commitment,
                deposit,
                ..
            } => {
                ids.push(U256::from(*id));
                commitments.push(*commitment);
                value += *deposit;
            }
            Batched::Reveal { answer, .. } => reveals.push(answer.clone()),
        }
    }
    // A batch is of one kind (`next_answer_batch`): compact batch jobs, or stored requests.
    let jobs: Vec<IBroker::Job> = parts
        .iter()
        .filter_map(|(_, part)| part.job().cloned())
        .collect();
    let receipt = match (reveals.is_empty(), jobs.is_empty()) {
        (true, true) => {
            let call = broker.commitAnswers(ids, commitments).value(value);
            chain.send("commitAnswers", call).await
        }
        (true, false) => {
            let call = broker.commitJobs(jobs, commitments).value(value);
            chain.send("commitJobs", call).await
        }
        (false, true) => {
            chain
                .send("revealAnswers", broker.revealAnswers(reveals))
                .await
        }
        (false, false) => {
            chain
                .send("revealJobs", broker.revealJobs(jobs, reveals))
                .await
        }
    }
    .map_err(|e| e.to_string())?;
    let landed = receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| {
            let id = if let Ok(e) = Broker::AnswerCommitted::decode_log_data(log.data()) {
                e.id
            } else {
                Broker::Answered::decode_log_data(log.data()).ok()?.id
            };
            u64::try_from(id).ok()
        })
        .collect();
    info!(target: "agent", jobs = parts.len(), tx = %receipt.transaction_hash, gas = receipt.gas_used, "answers sent in a batch");
    Ok((receipt.transaction_hash, crate::act::fee(&receipt), landed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecm_bindings::IBroker::RevealedAnswer;

    fn reveal(bytes: usize) -> Batched {
        Batched::Reveal {
            answer: RevealedAnswer {
                id: U256::ZERO,
                result: vec![0u8; bytes].into(),
                steps: 1,
                final_: true,
                salt: B256::ZERO,
            },
            job: None,
        }
    }

    fn commit() -> Batched {
        Batched::Commit {
            commitment: B256::ZERO,
            deposit: U256::from(1),
            steps: 1,
            job: None,
        }
    }

    #[test]
    fn a_batch_takes_reveals_first_and_bounds_their_bytes_and_its_size() {
        let mut answering: std::collections::BTreeMap<u64, Batched> =
            (1..=3).map(|id| (id, commit())).collect();
        answering.insert(4, reveal(8192));
        answering.insert(5, reveal(8192));
        assert_eq!(next_answer_batch(&answering), vec![4, 5], "reveals first");
        for id in 10..20 {
            answering.insert(id, reveal(8192));
        }
        let batch = next_answer_batch(&answering);
        assert_eq!(batch.len(), REVEAL_BATCH_BYTES / 8192, "{batch:?}");
        answering.retain(|_, part| matches!(part, Batched::Commit { .. }));
        assert_eq!(next_answer_batch(&answering), vec![1, 2, 3]);
        for id in 100..200 {
            answering.insert(id, commit());
        }
        assert_eq!(next_answer_batch(&answering).len(), ANSWER_BATCH);
        // One result over the byte bound still goes, alone.
        answering.insert(1000, reveal(REVEAL_BATCH_BYTES + 1));
        assert_eq!(next_answer_batch(&answering), vec![1000]);
    }

    /// A compact batch's jobs go in `revealJobs` and `commitJobs`, stored requests in
    /// `revealAnswers` and `commitAnswers`: one kind per transaction, reveals first.
    #[test]
    fn compact_jobs_and_stored_requests_go_in_batches_of_their_own() {
        let as_job = |part: Batched| match part {
            Batched::Commit {
                commitment,
                deposit,
                steps,
                ..
            } => Batched::Commit {
                commitment,
                deposit,
                steps,
                job: Some(Box::default()),
            },
            Batched::Reveal { answer, .. } => Batched::Reveal {
                answer,
                job: Some(Box::default()),
            },
        };
        let mut answering: std::collections::BTreeMap<u64, Batched> = [
            (1, commit()),
            (2, as_job(commit())),
            (3, as_job(reveal(8))),
            (4, reveal(8)),
            (5, as_job(reveal(8))),
        ]
        .into_iter()
        .collect();
        let (batches, _) = take_answer_batches(&mut answering, BATCHES_IN_FLIGHT, None);
        let ids: Vec<Vec<u64>> = batches
            .iter()
            .map(|b| b.parts.iter().map(|(id, _)| *id).collect())
            .collect();
        assert_eq!(ids, vec![vec![4], vec![3, 5], vec![1], vec![2]]);
        for batch in &batches {
            let jobs = batch
                .parts
                .iter()
                .filter(|(_, p)| p.job().is_some())
                .count();
            assert!(jobs == 0 || jobs == batch.parts.len(), "{batch:?}");
        }
    }

    #[test]
    fn a_burst_goes_in_several_batches_at_once_up_to_the_room_left() {
        let mut answering: std::collections::BTreeMap<u64, Batched> = (1..=2 * ANSWER_BATCH as u64
            + 1)
            .map(|id| (id, commit()))
            .collect();
        answering.insert(1000, reveal(8));
        let (batches, short) = take_answer_batches(&mut answering, BATCHES_IN_FLIGHT, None);
        let sizes: Vec<usize> = batches.iter().map(|b| b.parts.len()).collect();
        assert_eq!(
            sizes,
            vec![1, ANSWER_BATCH, ANSWER_BATCH, 1],
            "the reveal first, then every commitment"
        );
        assert!(matches!(
            batches[0].parts[0],
            (1000, Batched::Reveal { .. })
        ));
        assert!(answering.is_empty() && !short);

        // With one batch's room left, one batch goes; the rest waits for the next tick.
        let mut answering: std::collections::BTreeMap<u64, Batched> = (1..=2 * ANSWER_BATCH as u64)
            .map(|id| (id, commit()))
            .collect();
        let (batches, _) = take_answer_batches(&mut answering, 1, None);
        assert_eq!(batches.len(), 1);
        assert_eq!(answering.len(), ANSWER_BATCH);
        assert!(take_answer_batches(&mut answering, 0, None).0.is_empty());
    }

    #[test]
    fn commitments_go_as_far_as_the_funds_cover_their_deposits_and_gas() {
        // Deposits of 1 wei each, gas at 1 wei: funds for three deposits and their gas.
        let mut answering: std::collections::BTreeMap<u64, Batched> =
            (1..=10).map(|id| (id, commit())).collect();
        answering.insert(100, reveal(8));
        let left = U256::from(3 + commit_gas_allowance(3));
        let funds = Funds { left, max_fee: 1 };
        let (batches, short) = take_answer_batches(&mut answering, BATCHES_IN_FLIGHT, Some(funds));
        let sizes: Vec<usize> = batches.iter().map(|b| b.parts.len()).collect();
        assert_eq!(
            sizes,
            vec![1, 3],
            "the reveal, which stakes nothing, then three commitments"
        );
        assert_eq!(batches[0].reserved, U256::ZERO);
        assert_eq!(batches[1].reserved, left);
        assert!(short, "seven commitments wait for funds");
        assert_eq!(answering.len(), 7);
        // Not even one fits: nothing goes, and nothing is lost.
        let funds = Funds {
            left: U256::from(commit_gas_allowance(1)),
            max_fee: 1,
        };
        let (batches, short) = take_answer_batches(&mut answering, BATCHES_IN_FLIGHT, Some(funds));
        assert!(batches.is_empty() && short);
        assert_eq!(answering.len(), 7);
    }
}

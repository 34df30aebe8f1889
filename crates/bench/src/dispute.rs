//! What a dispute costs: bisection against full re-execution, as the trace grows.
//!
//! Each dispute runs on a devnet with a defender that claims final too early at step `N` (or, on
//! the keccak chain, alters the last state) and an honest challenger, each moving from its own
//! view of the trace through `ecm_verifier::strategy`, the same code the agents use. Counter
//! traces have a closed form, so disputes over 2^32 steps cost nothing to prepare; keccak-chain
//! traces are computed for real. Gas figures come from the receipts and are deterministic for a
//! given plan, so [`Plan::quick`] is checked against a snapshot in CI.

use crate::{Error, Result};
use alloy::{
    primitives::{Address, B256, Bytes, U256},
    rpc::types::TransactionReceipt,
};
use ecm_bindings::{
    Broker, IBroker,
    protocol::{DisputeMode, Status},
    tournaments::BrokerTournaments,
};
use ecm_chain::{Chain, ChainConfig};
use ecm_devnet::{AnvilConfig, DeployConfig, Devnet};
use ecm_primitives::{Claim, game};
use ecm_runtime::{NativeStepper, Point, TraceOracle, TracePoints};
use ecm_verifier::strategy;
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Gas a block holds on the devnet (and on mainnet, roughly).
pub const BLOCK_GAS: u64 = 30_000_000;
/// Steps a full re-execution request may take (the Broker's `MAX_FULL_EXECUTION_STEPS`).
pub const FULL_EXECUTION_CAP: u64 = 1 << 20;

/// Which disputes to run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// `log2 N` of the counter disputes.
    pub counter_log2: Vec<u32>,
    /// `log2 N` of the keccak-chain disputes (their traces are computed).
    pub keccak_log2: Vec<u32>,
    /// `log2 N` of the machine-program disputes (a liar's claim of N steps of `sha256sum`).
    pub machine_log2: Vec<u32>,
    /// Arities of the sweep, each at `2^sweep_log2` steps.
    pub sweep_arities: Vec<u64>,
    /// `log2 N` of the sweep.
    pub sweep_log2: u32,
    /// Full re-execution is measured up to `2^full_measure_log2` steps, then extrapolated.
    pub full_measure_log2: u32,
}

impl Plan {
    /// Every size from 2^4 to 2^32 by factors of 4, and the whole arity sweep.
    pub fn full() -> Self {
        Self {
            counter_log2: (1..=16).map(|k| 2 * k).collect(),
            keccak_log2: vec![4, 6, 8, 10, 12, 14, 16],
            machine_log2: vec![20, 30, 32],
            sweep_arities: vec![2, 4, 8, 16, 32],
            sweep_log2: 32,
            full_measure_log2: 10,
        }
    }

    /// A small plan whose gas figures CI checks against the snapshot.
    pub fn quick() -> Self {
        Self {
            counter_log2: vec![4, 8, 16, 32],
            keccak_log2: vec![4, 8],
            machine_log2: vec![20, 32],
            sweep_arities: vec![2, 16],
            sweep_log2: 32,
            full_measure_log2: 6,
        }
    }
}

/// One bisection dispute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeRow {
    /// The program.
    pub program: String,
    /// `log2 N`.
    pub log2_steps: u32,
    /// The arity.
    pub arity: u64,
    /// Bisection rounds played.
    pub rounds: u32,
    /// `ceil(log_k N)`, the bound.
    pub max_rounds: u32,
    /// Gas of the challenge (with its deposit).
    pub challenge_gas: u64,
    /// Gas of `initializeDispute`.
    pub start_gas: u64,
    /// The most gas one `bisect` or `selectSegment` took.
    pub max_move_gas: u64,
    /// Gas of the one-step proof (with the settlement credits).
    pub one_step_gas: u64,
    /// Everything from the challenge to the one step, both parties.
    pub total_gas: u64,
    /// Wall time of the dispute on Anvil, in milliseconds (not checked: it varies).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub wall_ms: Option<u64>,
}

/// What full re-execution costs at one size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FullRow {
    /// `log2 N`.
    pub log2_steps: u32,
    /// Total gas of the dispute (challenge, start, every `executeExecutable`).
    pub gas: u64,
    /// Whether it was measured on Anvil or extrapolated from the largest measurement.
    pub measured: bool,
    /// Blocks of 30M gas it fills.
    pub blocks: u64,
    /// Whether the Broker accepts full re-execution at this size at all.
    pub within_cap: bool,
}

/// The largest gas one move may take, with a margin under the 90,000 the design targets, for
/// choosing the arity.
pub const MOVE_GAS_LIMIT: u64 = 80_000;

/// Everything the dispute benchmark measured.
#[derive(Clone, Debug, Serialize)]
pub struct DisputeReport {
    /// Bisection disputes at the default arity.
    pub bisection: Vec<DisputeRow>,
    /// The arity sweep.
    pub sweep: Vec<DisputeRow>,
    /// Full re-execution of the counter, by size.
    pub full: Vec<FullRow>,
    /// Gas per step of full re-execution, from the largest measurement.
    pub full_gas_per_step: u64,
    /// The smallest `log2 N` (of those run) at which bisection is cheaper than full re-execution.
    pub crossover_log2: Option<u32>,
    /// The arity of the sweep with the least total gas among those whose every move stays
    /// under [`MOVE_GAS_LIMIT`]: the deployment default.
    pub chosen_arity: Option<u64>,
}

impl DisputeReport {
    /// The deterministic part, for the snapshot.
    pub fn snapshot(&self) -> Snapshot {
        let strip = |rows: &[DisputeRow]| {
            rows.iter()
                .map(|r| DisputeRow {
                    wall_ms: None,
                    ..r.clone()
                })
                .collect()
        };
        Snapshot {
            bisection: strip(&self.bisection),
            sweep: strip(&self.sweep),
            full: self.full.iter().filter(|f| f.measured).cloned().collect(),
        }
    }
}

/// The gas figures CI checks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Bisection disputes.
    pub bisection: Vec<DisputeRow>,
    /// The arity sweep.
    pub sweep: Vec<DisputeRow>,
    /// Measured full re-executions.
    pub full: Vec<FullRow>,
}

/// Runs the plan on a fresh devnet.
pub async fn run(plan: &Plan) -> Result<DisputeReport> {
    let bench = Bench::start().await?;
    bench.enrol(bench.broker).await?;
    let mut bisection = Vec::new();
    for &log2 in &plan.counter_log2 {
        bisection.push(bench.counter_dispute(bench.broker, 16, log2).await?);
    }
    for &log2 in &plan.keccak_log2 {
        bisection.push(bench.keccak_dispute(log2).await?);
    }
    for &log2 in &plan.machine_log2 {
        bisection.push(bench.machine_dispute(log2).await?);
    }
    let mut sweep = Vec::new();
    for &arity in &plan.sweep_arities {
        let broker = bench.broker_with_arity(arity).await?;
        bench.enrol(broker).await?;
        sweep.push(
            bench
                .counter_dispute(broker, arity, plan.sweep_log2)
                .await?,
        );
    }
    let mut measured = Vec::new();
    let smallest = plan.counter_log2.iter().copied().min().unwrap_or(4);
    for log2 in (smallest..=plan.full_measure_log2).step_by(2) {
        measured.push((log2, bench.full_execution(log2).await?));
    }
    let &(largest_log2, largest_gas) = measured
        .last()
        .ok_or_else(|| Error::Other("no full re-execution measured".into()))?;
    let &(smallest_log2, smallest_gas) = measured.first().unwrap();
    // gas(N) = fixed + per_step * N, from the smallest and the largest measurement.
    let span = (1u64 << largest_log2) - (1u64 << smallest_log2);
    let per_step = (largest_gas - smallest_gas)
        .checked_div(span)
        .unwrap_or(largest_gas >> largest_log2);
    let fixed = largest_gas.saturating_sub(per_step << largest_log2);
    let mut full = Vec::new();
    let sizes: Vec<u32> = plan
        .counter_log2
        .iter()
        .copied()
        .chain(measured.iter().map(|(l, _)| *l))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for log2 in sizes {
        let (gas, was_measured) = match measured.iter().find(|(l, _)| *l == log2) {
            Some((_, gas)) => (*gas, true),
            None => (
                fixed.saturating_add(per_step.saturating_mul(1u64 << log2)),
                false,
            ),
        };
        full.push(FullRow {
            log2_steps: log2,
            gas,
            measured: was_measured,
            blocks: gas.div_ceil(BLOCK_GAS),
            within_cap: (1u64 << log2) <= FULL_EXECUTION_CAP,
        });
    }
    let crossover_log2 = bisection
        .iter()
        .filter(|r| r.program == "counter")
        .find(|r| {
            full.iter()
                .any(|f| f.log2_steps == r.log2_steps && f.gas > r.total_gas)
        })
        .map(|r| r.log2_steps);
    let chosen_arity = sweep
        .iter()
        .filter(|r| r.max_move_gas <= MOVE_GAS_LIMIT)
        .min_by_key(|r| r.total_gas)
        .map(|r| r.arity);
    Ok(DisputeReport {
        bisection,
        sweep,
        full,
        full_gas_per_step: per_step,
        crossover_log2,
        chosen_arity,
    })
}

/// A devnet with the accounts of a dispute.
struct Bench {
    devnet: Devnet,
    broker: Address,
}

impl Bench {
    async fn start() -> Result<Self> {
        let devnet = ecm_devnet::start(
            AnvilConfig::default(),
            DeployConfig {
                clock_blocks: 10_000,
                ..DeployConfig::default()
            },
        )
        .await?;
        let broker = devnet.deployment.broker;
        Ok(Self { devnet, broker })
    }

    /// The id of an example program in this devnet's deployment.
    fn program_id(&self, name: &str) -> Result<B256> {
        Ok(self
            .devnet
            .deployment
            .program(name)
            .map_err(|e| Error::Other(e.to_string()))?
            .id)
    }

    async fn chain(&self, role: &str, broker: Address) -> Result<Chain> {
        let d = &self.devnet.deployment;
        let mut config = ChainConfig::new(&d.rpc_url, broker);
        config.private_key = Some(d.account(role).expect("dev account").private_key.clone());
        Ok(Chain::connect(config).await?)
    }

    /// Deploys another Broker, with `arity`, over the same Factory.
    async fn broker_with_arity(&self, arity: u64) -> Result<Address> {
        let d = &self.devnet.deployment;
        let key = &d.account("deployer").unwrap().private_key;
        // The one chain layer's provider (the one every command uses), signing as the deployer.
        let (provider, _) = ecm_chain::provider(&d.rpc_url, Some(key)).await?;
        let deploy_error = |e| Error::Other(format!("deploying a Broker: {e}"));
        let tournaments =
            *BrokerTournaments::deploy(&provider, d.factory, U256::from(arity), 10_000)
                .await
                .map_err(deploy_error)?
                .address();
        let broker = Broker::deploy(provider, d.factory, U256::from(arity), 10_000, tournaments)
            .await
            .map_err(deploy_error)?;
        Ok(*broker.address())
    }

    /// Gives the dispute's parties their account indices on `broker` (each party's first
    /// request, answer or challenge on a Broker writes its index, once), so that every row
    /// measures what a dispute between known parties costs rather than the first one paying
    /// for the enrolments: the challenger, the only party not enrolled by the request and the
    /// answer, makes a request and cancels it.
    async fn enrol(&self, broker: Address) -> Result<()> {
        let challenger = self.chain("challenger", broker).await?;
        let options = IBroker::RequestOptions {
            maxSteps: 1,
            maxGasPrice: 1_000_000_000,
            mode: DisputeMode::Bisection.into(),
            minHostJobs: 0,
        };
        let program = self.program_id("counter")?;
        let (id, _) =
            open_request(&challenger, program, 1u64.to_le_bytes().to_vec(), options).await?;
        challenger
            .send("cancel", challenger.broker().cancelRequest(id))
            .await?;
        withdraw_all(&[&challenger]).await
    }

    /// A counter dispute over `2^log2` steps: the defender claims final at N, the truth counts on.
    async fn counter_dispute(&self, broker: Address, arity: u64, log2: u32) -> Result<DisputeRow> {
        let n = 1u64 << log2;
        let target = n + 5;
        let mut truth = CounterTrace {
            target,
            claim: None,
        };
        let lie = Point {
            final_: true,
            state: counter_state(target, n),
        };
        let mut liar = CounterTrace {
            target,
            claim: Some((n, lie.clone())),
        };
        let defender_claim = Claim {
            result: lie.state.into(),
            steps: n,
            final_: true,
        };
        let challenger_claim = Claim {
            result: counter_state(target, target).into(),
            steps: target,
            final_: true,
        };
        let program = self.program_id("counter")?;
        let input = target.to_le_bytes().to_vec();
        let mut run = DisputeRun {
            bench: self,
            broker,
            arity,
            program,
            input,
            max_steps: target,
            machine: None,
        };
        let mut row = run
            .play(
                "counter",
                log2,
                defender_claim,
                challenger_claim,
                &mut liar,
                &mut truth,
            )
            .await?;
        row.arity = arity;
        Ok(row)
    }

    /// A keccak-chain dispute over `2^log2` steps, computed for real: the defender alters its
    /// last state.
    async fn keccak_dispute(&self, log2: u32) -> Result<DisputeRow> {
        let n = 1u64 << log2;
        let spec = ecm_programs::by_name("keccak-chain").expect("example program");
        let input = spec.parse_input(&n.to_string()).expect("valid input");
        let mut truth = TraceOracle::new(NativeStepper(spec.native), input.clone(), n, 64 << 20);
        let outcome = truth.run_to_end()?;
        let mut altered = outcome.result.clone();
        altered[0] ^= 1;
        let lie = Point {
            final_: true,
            state: altered,
        };
        let mut honest_for_liar =
            TraceOracle::new(NativeStepper(spec.native), input.clone(), n, 64 << 20);
        honest_for_liar.run_to_end()?;
        let mut liar = LieAt {
            inner: honest_for_liar,
            at: n,
            claim: lie.clone(),
        };
        let defender_claim = Claim {
            result: lie.state.into(),
            steps: n,
            final_: true,
        };
        let challenger_claim = Claim {
            result: outcome.result.into(),
            steps: outcome.steps,
            final_: outcome.final_,
        };
        let program = self.program_id("keccak-chain")?;
        let mut run = DisputeRun {
            bench: self,
            broker: self.broker,
            arity: 16,
            program,
            input,
            max_steps: n,
            machine: None,
        };
        run.play(
            "keccak-chain",
            log2,
            defender_claim,
            challenger_claim,
            &mut liar,
            &mut truth,
        )
        .await
    }

    /// A machine-program dispute over `2^log2` steps without running them: the defender claims
    /// that `sha256sum` ran `N` steps to a wrong output, and its points after step 0 are made up
    /// (a liar's are whatever it likes); the honest challenger's are the machine's real trace,
    /// so it rejects the first sub-segment every round, the game ends at `[0, 1]`, and step 1
    /// is proven from the real first state. Moves carry 32-byte hashes as in any machine
    /// dispute, so their gas is what a real trace of that length costs.
    async fn machine_dispute(&self, log2: u32) -> Result<DisputeRow> {
        let n = 1u64 << log2;
        let wasm = ecm_programs::wasi_program("sha256sum")
            .expect("example program")
            .wasm;
        let program = ecm_machine::Program::from_wasm(wasm)
            .map_err(|e| Error::Other(format!("lowering sha256sum: {e}")))?;
        let input = b"ecm".to_vec();
        let mut truth = ecm_machine::MachineOracle::new(&program, &input, n, 64 << 20)
            .map_err(|e| Error::Other(e.to_string()))?;
        let outcome = truth.run_to_end();
        let first = TracePoints::point(&mut truth, 0)?;
        let lie = Point {
            final_: true,
            state: b"\0\0\0\0not the digest\n".to_vec(),
        };
        let mut liar = MadeUp {
            first,
            n,
            claim: lie.clone(),
        };
        let defender_claim = Claim {
            result: lie.state.into(),
            steps: n,
            final_: true,
        };
        let challenger_claim = Claim {
            result: outcome.state().into(),
            steps: outcome.steps,
            final_: outcome.is_final(),
        };
        let mut run = DisputeRun {
            bench: self,
            broker: self.broker,
            arity: 16,
            program: self.program_id("sha256sum")?,
            input,
            max_steps: n,
            machine: Some(program),
        };
        run.play(
            "sha256sum (machine)",
            log2,
            defender_claim,
            challenger_claim,
            &mut liar,
            &mut truth,
        )
        .await
    }

    /// A full re-execution of the counter over `2^log2` steps; returns the dispute's total gas.
    async fn full_execution(&self, log2: u32) -> Result<u64> {
        let n = 1u64 << log2;
        let target = n + 5; // not final within maxSteps = n: the truth is "out of steps"
        let program = self.program_id("counter")?;
        let requester = self.chain("requester", self.broker).await?;
        let host = self.chain("host", self.broker).await?;
        let challenger = self.chain("challenger", self.broker).await?;
        let options = IBroker::RequestOptions {
            maxSteps: n,
            maxGasPrice: 1_000_000_000,
            mode: DisputeMode::FullExecution.into(),
            minHostJobs: 0,
        };
        let (id, deposit) =
            open_request(&requester, program, target.to_le_bytes().to_vec(), options).await?;
        let state: Bytes = counter_state(target, n).into();
        host.send(
            "answer",
            host.broker()
                .answerRequest_1(id, state.clone(), n, true)
                .value(deposit),
        )
        .await?;
        let mut gas = challenger
            .send(
                "challenge",
                challenger
                    .broker()
                    .challengeAnswer_1(id, state, n, false)
                    .value(deposit),
            )
            .await?
            .gas_used;
        gas += challenger
            .send("start", challenger.broker().initializeDispute(id))
            .await?
            .gas_used;
        while requester.request(id).await?.status == u8::from(Status::Resolving) {
            // The state the re-execution is at: the input, then the Counter's closed form.
            let at = challenger
                .call("getFullExecution", challenger.broker().getFullExecution(id))
                .await?
                .steps;
            let state: Bytes = if at == 0 {
                target.to_le_bytes().to_vec().into()
            } else {
                counter_state(target, at).into()
            };
            let call = challenger
                .broker()
                .executeExecutable(id, U256::from(n), state)
                .gas(25_000_000);
            gas += challenger.send("executeExecutable", call).await?.gas_used;
        }
        let status = requester.request(id).await?;
        if status.host != challenger.account()? {
            return Err(Error::Other(
                "the full re-execution did not find the challenger right".into(),
            ));
        }
        withdraw_all(&[&requester, &host, &challenger]).await?;
        Ok(gas)
    }
}

/// One bisection dispute being played.
struct DisputeRun<'a> {
    bench: &'a Bench,
    broker: Address,
    arity: u64,
    program: B256,
    input: Vec<u8>,
    max_steps: u64,
    /// A machine program's lowered module: the one step is then a proof for the prover.
    machine: Option<ecm_machine::Program>,
}

impl DisputeRun<'_> {
    async fn play(
        &mut self,
        program: &str,
        log2: u32,
        defender_claim: Claim,
        challenger_claim: Claim,
        defender: &mut dyn TracePoints,
        challenger: &mut dyn TracePoints,
    ) -> Result<DisputeRow> {
        let requester = self.bench.chain("requester", self.broker).await?;
        let host = self.bench.chain("host", self.broker).await?;
        let ch = self.bench.chain("challenger", self.broker).await?;
        let options = IBroker::RequestOptions {
            maxSteps: self.max_steps,
            maxGasPrice: 1_000_000_000,
            mode: DisputeMode::Bisection.into(),
            minHostJobs: 0,
        };
        let (id, deposit) =
            open_request(&requester, self.program, self.input.clone(), options).await?;
        let d = &defender_claim;
        host.send(
            "answer",
            host.broker()
                .answerRequest_1(id, d.result.clone(), d.steps, d.final_)
                .value(deposit),
        )
        .await?;

        let started = Instant::now();
        let c = &challenger_claim;
        let challenge_gas = ch
            .send(
                "challenge",
                ch.broker()
                    .challengeAnswer_1(id, c.result.clone(), c.steps, c.final_)
                    .value(deposit),
            )
            .await?
            .gas_used;
        let start_gas = ch
            .send("start", ch.broker().initializeDispute(id))
            .await?
            .gas_used;
        let (mut rounds, mut max_move_gas, mut moves_gas) = (0u32, 0u64, 0u64);
        let one_step_gas = loop {
            let g = requester
                .call("getGame", requester.broker().getGame(id))
                .await?;
            match g.phase {
                1 => {
                    let points = strategy::defender_points(defender, g.lo, g.hi, self.arity)?;
                    let gas = host
                        .send("bisect", host.broker().bisect(id, points))
                        .await?
                        .gas_used;
                    max_move_gas = max_move_gas.max(gas);
                    moves_gas += gas;
                }
                2 => {
                    let points = strategy::defender_points(defender, g.lo, g.hi, self.arity)?;
                    let index = strategy::challenger_index(
                        challenger, g.lo, g.hi, self.arity, &points, g.cHi,
                    )?
                    .ok_or_else(|| Error::Other("the challenger agrees with every point".into()))?;
                    let gas = ch
                        .send(
                            "selectSegment",
                            ch.broker().selectSegment(id, points, U256::from(index)),
                        )
                        .await?
                        .gas_used;
                    max_move_gas = max_move_gas.max(gas);
                    moves_gas += gas;
                    rounds += 1;
                }
                3 => {
                    let point = strategy::reveal(challenger, g.lo)?;
                    let Some(machine) = &self.machine else {
                        let call = ch
                            .broker()
                            .proveStep(id, point.final_, point.state.into())
                            .gas(2_000_000);
                        break ch.send("proveStep", call).await?.gas_used;
                    };
                    let proof = match point.final_ {
                        true => Vec::new(),
                        false => machine_proof(machine, &self.input, g.lo)?,
                    };
                    let call = ch
                        .broker()
                        .proveMachineStep(id, point.final_, point.state.into(), proof.into())
                        .gas(2_000_000);
                    break ch.send("proveMachineStep", call).await?.gas_used;
                }
                phase => return Err(Error::Other(format!("unexpected game phase {phase}"))),
            }
        };
        let wall_ms = started.elapsed().as_millis() as u64;
        let standing = requester.request(id).await?;
        if standing.host != ch.account()? {
            return Err(Error::Other(format!(
                "{program} 2^{log2}: the honest challenger did not win"
            )));
        }
        // Withdraw so that the next dispute credits empty balances again (the worst case).
        withdraw_all(&[&requester, &host, &ch]).await?;
        Ok(DisputeRow {
            program: program.into(),
            log2_steps: log2,
            arity: self.arity,
            rounds,
            max_rounds: game::rounds(defender_claim.steps, self.arity),
            challenge_gas,
            start_gas,
            max_move_gas,
            one_step_gas,
            total_gas: challenge_gas + start_gas + moves_gas + one_step_gas,
            wall_ms: Some(wall_ms),
        })
    }
}

async fn withdraw_all(chains: &[&Chain]) -> Result<()> {
    for chain in chains {
        let me = chain.account()?;
        if !chain
            .call("balanceOf", chain.broker().balanceOf(me))
            .await?
            .is_zero()
        {
            chain.send("withdraw", chain.broker().withdraw()).await?;
        }
    }
    Ok(())
}

/// Makes a request (0.001 ETH, a 1000-block window) and returns its id and the deposit an
/// answer or a challenge to it must carry.
async fn open_request(
    requester: &Chain,
    program: B256,
    input: Vec<u8>,
    options: IBroker::RequestOptions,
) -> Result<(U256, U256)> {
    let call = requester
        .broker()
        .requestExecution_1(program, input.into(), U256::from(1000), options)
        .value(U256::from(1_000_000_000_000_000u64));
    let id = request_id(&requester.send("request", call).await?)?;
    let deposit = requester
        .call("requiredDeposit", requester.broker().requiredDeposit(id))
        .await?;
    Ok((id, deposit))
}

fn request_id(receipt: &TransactionReceipt) -> Result<U256> {
    use alloy::sol_types::SolEvent;
    receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| Broker::Created::decode_log_data(log.data()).ok())
        .map(|e| e.id)
        .ok_or_else(|| Error::Other("no Created event".into()))
}

fn counter_state(target: u64, count: u64) -> Vec<u8> {
    let mut state = target.to_le_bytes().to_vec();
    state.extend_from_slice(&count.to_le_bytes());
    state
}

/// The Counter's trace counting to `target`, in closed form; with `claim`, a liar's trace that
/// agrees below step `N` and claims `claim` from `N` on.
struct CounterTrace {
    target: u64,
    claim: Option<(u64, Point)>,
}

impl TracePoints for CounterTrace {
    fn point(&mut self, i: u64) -> ecm_runtime::Result<Point> {
        if let Some((at, claim)) = &self.claim
            && i >= *at
        {
            return Ok(claim.clone());
        }
        if i == 0 {
            return Ok(Point {
                final_: false,
                state: self.target.to_le_bytes().to_vec(),
            });
        }
        let end = self.target.max(1);
        Ok(Point {
            final_: i >= end,
            state: counter_state(self.target, i.min(end)),
        })
    }
}

/// The proof of step `lo + 1` of `program` on `input`, from the machine run to step `lo`.
fn machine_proof(program: &ecm_machine::Program, input: &[u8], lo: u64) -> Result<Vec<u8>> {
    let mut machine =
        ecm_machine::Machine::new(program, input).map_err(|e| Error::Other(e.to_string()))?;
    machine.run(lo);
    machine
        .prove_step()
        .map_err(|e| Error::Other(format!("proving step {}: {e}", lo + 1)))
}

/// A liar's machine trace that agrees only on the first state: made-up running hashes after
/// it, and its claim from step `n` on.
struct MadeUp {
    first: Point,
    n: u64,
    claim: Point,
}

impl TracePoints for MadeUp {
    fn point(&mut self, i: u64) -> ecm_runtime::Result<Point> {
        Ok(match i {
            0 => self.first.clone(),
            i if i >= self.n => self.claim.clone(),
            i => Point {
                final_: false,
                state: alloy::primitives::keccak256(
                    [b"made up".as_slice(), &i.to_be_bytes()].concat(),
                )
                .to_vec(),
            },
        })
    }
}

/// A computed trace that lies from step `at` on, claiming `claim`.
struct LieAt<T> {
    inner: T,
    at: u64,
    claim: Point,
}

impl<T: TracePoints> TracePoints for LieAt<T> {
    fn point(&mut self, i: u64) -> ecm_runtime::Result<Point> {
        if i >= self.at {
            Ok(self.claim.clone())
        } else {
            self.inner.point(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecm_primitives::commitment;

    #[test]
    fn counter_closed_form_matches_the_program() {
        let spec = ecm_programs::by_name("counter").unwrap();
        let mut oracle = TraceOracle::new(
            NativeStepper(spec.native),
            40u64.to_le_bytes().to_vec(),
            60,
            1 << 16,
        );
        let mut closed = CounterTrace {
            target: 40,
            claim: None,
        };
        for i in 0..=60 {
            assert_eq!(
                closed.point(i).unwrap(),
                oracle.point(i).unwrap(),
                "step {i}"
            );
        }
        assert_eq!(
            closed.commitment(3).unwrap(),
            commitment(false, &counter_state(40, 3))
        );
    }
}

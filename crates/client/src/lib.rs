//! The requester's library.
//!
//! ```text
//!  Client::request  --requestExecution--> Broker --Created/RequestInput--> hosts
//!  Client::request_batch  --requestExecutionBatch--> (one transaction, one request per input)
//!  Client::status   <--getRequest + Answered/Challenged logs-- (status, result, deadlines)
//!  Client::wait     polls status until the request settles, reporting each change
//!  Client::accept / finalize / cancel / withdraw   one transaction each
//!  Client::replay   recomputes the request with the runtime and compares with the answer
//! ```
//!
//! Every call that sends a transaction simulates it first; a revert comes back as
//! [`ecm_chain::Error::Revert`] with the Broker error's name, values and a hint.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod error;
mod record;
mod status;

pub use ecm_bindings::protocol::{DisputeMode, Status};
pub use error::{Error, Result};
pub use record::Record;
pub use status::{GameView, RequestStatus, TournamentSummary};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use ecm_bindings::{Broker, IBroker};
use ecm_chain::{Chain, ChainConfig};
use ecm_primitives::{Claim, Deployment, ProgramEntry};
use ecm_runtime::{Limits, Runtime, TraceOracle};
use std::{collections::BTreeMap, time::Duration};

/// A computation to request.
#[derive(Clone, Debug)]
pub struct NewRequest {
    /// The program, by name in the deployment or as a `0x` program id.
    pub program: String,
    /// The input bytes.
    pub input: Vec<u8>,
    /// The payment, in wei.
    pub payment: U256,
    /// The challenge window, in blocks.
    pub window: u64,
    /// The step bound (the Broker's default when `None`).
    pub max_steps: Option<u64>,
    /// The gas price bound for dispute costs (the node's gas price when `None`).
    pub max_gas_price: Option<u64>,
    /// How disputes are settled.
    pub mode: DisputeMode,
    /// Host admission: when non-zero, only a host with at least this many jobs paid and no
    /// dispute over its own answer lost may answer (`RequestOptions.minHostJobs`).
    pub min_host_jobs: u16,
}

/// The highest `maxGasPrice` a request may carry (the Broker's `MAX_GAS_PRICE`, wei per gas):
/// a node's gas price above it is clamped to it.
pub const MAX_GAS_PRICE: u64 = (1 << 48) - 1;

/// What a replay found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Replay {
    /// The claim computed locally.
    pub computed: Claim,
    /// The standing claim's commitment on-chain (zero if nobody answered).
    pub on_chain: B256,
    /// Whether they agree.
    pub matches: bool,
}

/// A requester's connection to an ecm deployment.
#[derive(Debug)]
pub struct Client {
    chain: Chain,
    deployment: Deployment,
}

impl Client {
    /// Connects to `deployment` (through `rpc_url` if given), signing with `private_key` if given.
    pub async fn connect(
        deployment: Deployment,
        rpc_url: Option<String>,
        private_key: Option<String>,
    ) -> Result<Self> {
        let mut config = ChainConfig::new(
            rpc_url.unwrap_or_else(|| deployment.rpc_url.clone()),
            deployment.broker,
        );
        config.private_key = private_key;
        config.chain_id = Some(deployment.chain_id);
        let chain = Chain::connect(config).await?;
        Ok(Self { chain, deployment })
    }

    /// A client over a connection made elsewhere (say, with fewer retries for a server that
    /// must report a node that went away rather than wait for it).
    pub fn from_chain(chain: Chain, deployment: Deployment) -> Self {
        Self { chain, deployment }
    }

    /// The chain connection.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The deployment.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// Learns the programs registered since the client connected (a deployment file that
    /// `ecm program deploy` added to), so that they are shown by name and their results in
    /// their own terms.
    pub fn set_programs(&mut self, programs: BTreeMap<String, ProgramEntry>) {
        self.deployment.programs = programs;
    }

    /// The program id and name for a name or a `0x` id.
    pub fn program(&self, program: &str) -> Result<(B256, String)> {
        if let Ok(id) = program.parse::<B256>() {
            let name = self
                .deployment
                .program_name(id)
                .unwrap_or("unknown")
                .to_string();
            return Ok((id, name));
        }
        let entry = self
            .deployment
            .program(program)
            .map_err(|e| Error::UnknownProgram(e.to_string()))?;
        Ok((entry.id, program.to_string()))
    }

    /// Requests a computation; returns its id.
    pub async fn request(&self, new: NewRequest) -> Result<u64> {
        let (program_id, _) = self.program(&new.program)?;
        let broker = self.chain.broker();
        let window = U256::from(new.window);
        let receipt = if new.max_steps.is_none()
            && new.max_gas_price.is_none()
            && new.mode == DisputeMode::Bisection
            && new.min_host_jobs == 0
        {
            let call = broker
                .requestExecution_0(program_id, new.input.into(), window)
                .value(new.payment);
            self.chain.send("requestExecution", call).await?
        } else {
            let options = self.options(&new).await?;
            let call = broker
                .requestExecution_1(program_id, new.input.into(), window, options)
                .value(new.payment);
            self.chain.send("requestExecution", call).await?
        };
        Ok(self.created(&receipt)?[0])
    }

    /// Requests several computations of one program on the same terms (they differ in their
    /// input only) in one transaction; returns their ids, in order. Each is a request of its
    /// own from then on.
    pub async fn request_batch(&self, requests: Vec<NewRequest>) -> Result<Vec<u64>> {
        self.send_batch(requests, false).await
    }

    /// [`Client::request_batch`] as a compact batch (`requestCompactBatch`): each request held
    /// as one hash of its fields while on the happy path, about half the gas per job; the
    /// agents serve them as any request, [`Client::status`] shows them from their logs.
    pub async fn request_compact_batch(&self, requests: Vec<NewRequest>) -> Result<Vec<u64>> {
        self.send_batch(requests, true).await
    }

    async fn send_batch(&self, requests: Vec<NewRequest>, compact: bool) -> Result<Vec<u64>> {
        let Some(first) = requests.first() else {
            return Ok(Vec::new());
        };
        for other in &requests[1..] {
            let differs = [
                ("the program", other.program != first.program),
                ("the payment", other.payment != first.payment),
                ("the window", other.window != first.window),
                ("the step bound", other.max_steps != first.max_steps),
                (
                    "the gas price bound",
                    other.max_gas_price != first.max_gas_price,
                ),
                ("the dispute mode", other.mode != first.mode),
                (
                    "the host admission",
                    other.min_host_jobs != first.min_host_jobs,
                ),
            ];
            if let Some((what, _)) = differs.into_iter().find(|(_, differs)| *differs) {
                return Err(Error::MixedBatch(what));
            }
        }
        let (program_id, _) = self.program(&first.program)?;
        let options = self.options(first).await?;
        let total = first.payment * U256::from(requests.len());
        let window = U256::from(first.window);
        let inputs: Vec<Bytes> = requests.into_iter().map(|r| r.input.into()).collect();
        let broker = self.chain.broker();
        let receipt = if compact {
            let call = broker
                .requestCompactBatch(program_id, inputs, window, options)
                .value(total);
            self.chain.send("requestCompactBatch", call).await?
        } else {
            let call = broker
                .requestExecutionBatch(program_id, inputs, window, options)
                .value(total);
            self.chain.send("requestExecutionBatch", call).await?
        };
        self.created(&receipt)
    }

    /// The ids of the requests a transaction created, in order.
    fn created(&self, receipt: &alloy::rpc::types::TransactionReceipt) -> Result<Vec<u64>> {
        let ids: Vec<u64> = receipt
            .inner
            .logs()
            .iter()
            .filter_map(|log| Broker::Created::decode_log_data(log.data()).ok())
            .map(|created| u64::try_from(created.id).unwrap_or(u64::MAX))
            .collect();
        if ids.is_empty() {
            return Err(Error::NoCreatedEvent);
        }
        Ok(ids)
    }

    /// A request's options, with the defaults filled in from the chain.
    async fn options(&self, new: &NewRequest) -> Result<IBroker::RequestOptions> {
        let broker = self.chain.broker();
        let max_gas_price = match new.max_gas_price {
            Some(price) => price,
            None => u64::try_from(
                self.chain
                    .read("eth_gasPrice", || async {
                        self.chain.provider().get_gas_price().await
                    })
                    .await?,
            )
            .unwrap_or(u64::MAX)
            .min(MAX_GAS_PRICE),
        };
        let max_steps = match (new.max_steps, new.mode) {
            (Some(steps), _) => steps,
            (None, DisputeMode::Bisection | DisputeMode::Tournament) => {
                self.chain
                    .call("DEFAULT_MAX_STEPS", broker.DEFAULT_MAX_STEPS())
                    .await?
            }
            (None, DisputeMode::FullExecution) => {
                self.chain
                    .call(
                        "MAX_FULL_EXECUTION_STEPS",
                        broker.MAX_FULL_EXECUTION_STEPS(),
                    )
                    .await?
            }
        };
        Ok(IBroker::RequestOptions {
            maxSteps: max_steps,
            maxGasPrice: max_gas_price,
            mode: new.mode.into(),
            minHostJobs: new.min_host_jobs,
        })
    }

    /// The request's status, with its result if answered.
    pub async fn status(&self, id: u64) -> Result<RequestStatus> {
        status::fetch(self, id).await
    }

    /// Polls the request until it settles (Finalized or Cancelled) or `timeout` passes,
    /// calling `on_change` on every change of status.
    pub async fn wait(
        &self,
        id: u64,
        poll: Duration,
        timeout: Option<Duration>,
        mut on_change: impl FnMut(&RequestStatus),
    ) -> Result<RequestStatus> {
        let started = tokio::time::Instant::now();
        let mut last: Option<(Status, Address, B256)> = None;
        loop {
            let status = self.status(id).await?;
            let key = (status.status, status.host.unwrap_or_default(), status.claim);
            if last != Some(key) {
                on_change(&status);
                last = Some(key);
            }
            if status.status.is_settled() {
                return Ok(status);
            }
            if timeout.is_some_and(|t| started.elapsed() > t) {
                return Err(Error::Timeout {
                    id,
                    status: status.status,
                });
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Accepts the standing answer now (the requester's soft resolution).
    pub async fn accept(&self, id: u64) -> Result<B256> {
        let receipt = self
            .chain
            .send(
                "softResolveAnswer",
                self.chain.broker().softResolveAnswer(U256::from(id)),
            )
            .await?;
        Ok(receipt.transaction_hash)
    }

    /// Pays out a resolved request.
    pub async fn finalize(&self, id: u64) -> Result<B256> {
        let receipt = self
            .chain
            .send("finalize", self.chain.broker().finalize(U256::from(id)))
            .await?;
        Ok(receipt.transaction_hash)
    }

    /// Cancels a pending request (the payment is credited back).
    pub async fn cancel(&self, id: u64) -> Result<B256> {
        let receipt = self
            .chain
            .send(
                "cancelRequest",
                self.chain.broker().cancelRequest(U256::from(id)),
            )
            .await?;
        Ok(receipt.transaction_hash)
    }

    /// Wei credited to `account` in the Broker.
    pub async fn credited(&self, account: Address) -> Result<U256> {
        Ok(self
            .chain
            .call("balanceOf", self.chain.broker().balanceOf(account))
            .await?)
    }

    /// `account`'s record on the Broker: its answers, payouts and dispute outcomes.
    pub async fn record(&self, account: Address) -> Result<Record> {
        Ok(self
            .chain
            .call("recordOf", self.chain.broker().recordOf(account))
            .await?
            .into())
    }

    /// Withdraws everything credited to the signing account; returns the amount.
    pub async fn withdraw(&self) -> Result<U256> {
        let account = self.chain.account()?;
        let amount = self.credited(account).await?;
        self.chain
            .send("withdraw", self.chain.broker().withdraw())
            .await?;
        Ok(amount)
    }

    /// The request's input, from its `RequestInput` log.
    pub async fn input(&self, id: u64) -> Result<Bytes> {
        let logs = self
            .request_logs(id, vec![Broker::RequestInput::SIGNATURE_HASH])
            .await?;
        logs.iter()
            .find_map(|log| {
                Broker::RequestInput::decode_raw_log(log.topics(), &log.data().data).ok()
            })
            .map(|e| e.input)
            .ok_or(Error::NoInput(id))
    }

    /// Recomputes the request locally and compares with the standing answer.
    pub async fn replay(&self, id: u64) -> Result<Replay> {
        // A compact batch's job as its logs rebuild it.
        let (request, _) = status::read(self, id).await?;
        let name = self
            .deployment
            .program_name(request.programId)
            .ok_or_else(|| Error::UnknownProgram(format!("{}", request.programId)))?;
        let entry = self
            .deployment
            .program(name)
            .map_err(|e| Error::UnknownProgram(e.to_string()))?;
        let input = self.input(id).await?;
        let max_steps = request.maxSteps;
        let computed = if entry.is_machine() {
            let wasm = ecm_programs::machine_module(entry).ok_or_else(|| {
                Error::UnknownProgram(format!(
                    "no module for the machine program {name} (its file moved? deploy it again)"
                ))
            })?;
            tokio::task::spawn_blocking(move || machine_claim(&wasm, &input, max_steps))
        } else {
            let spec = ecm_programs::by_wasm_hash(entry.wasm_hash)
                .ok_or_else(|| Error::UnknownProgram(format!("no WASM module for {name}")))?;
            tokio::task::spawn_blocking(move || -> Result<Claim> {
                let program = Runtime::new(Limits::default())?.load(spec.wasm)?;
                let mut oracle =
                    TraceOracle::new(program.instantiate()?, input.to_vec(), max_steps, 16 << 20);
                let outcome = oracle.run_to_end()?;
                Ok(Claim {
                    result: outcome.result.into(),
                    steps: outcome.steps,
                    final_: outcome.final_,
                })
            })
        }
        .await
        .map_err(|e| Error::Replay(e.to_string()))??;
        let matches = computed.commitment() == request.claim;
        Ok(Replay {
            computed,
            on_chain: request.claim,
            matches,
        })
    }

    /// The request's logs of the `events` (topic0s), in one query, in chain order.
    async fn request_logs(
        &self,
        id: u64,
        events: Vec<B256>,
    ) -> Result<Vec<alloy::rpc::types::Log>> {
        let filter = Filter::new()
            .address(self.deployment.broker)
            .event_signature(events)
            .topic1(B256::from(U256::from(id)));
        let head = self.chain.block_number().await?;
        Ok(self
            .chain
            .logs(&filter, self.deployment.deployed_at_block, head)
            .await?)
    }
}

/// A machine program's claim on `input`: the machine's exact trace, to `max_steps`.
fn machine_claim(wasm: &[u8], input: &[u8], max_steps: u64) -> Result<Claim> {
    let replay = |e: ecm_machine::Error| Error::Replay(e.to_string());
    let program = ecm_machine::Program::from_wasm(wasm).map_err(replay)?;
    let outcome = ecm_machine::run(&program, input, max_steps).map_err(replay)?;
    Ok(Claim {
        result: outcome.state().into(),
        steps: outcome.steps,
        final_: outcome.is_final(),
    })
}

//! Talking to an ecm deployment.
//!
//! Every agent and command goes through a [`Chain`]: one provider, at most one signer, and the
//! Broker. It adds what a long-running process needs on top of alloy:
//!
//! ```text
//!  reads  --retry with backoff on transport errors--> node
//!  sends  --simulate (eth_call) -> decode revert into BrokerErrors -> one send at a time per
//!           account (nonce order) -> wait for the receipt and confirmations--> node
//!  events --Broker logs in block ranges, decoded--> agents
//! ```
//!
//! Reverts are decoded into the `sol!`-generated [`ecm_bindings::Broker::BrokerErrors`] and
//! reported with the values they carry and a hint on how to fix the call.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

// Only its `rustls-tls-native-roots` feature is used: wss endpoints trust the platform's roots.
use tokio_tungstenite as _;

mod connect;
pub mod error;
mod events;
mod jobs;
mod revert;

pub use connect::{SCHEMES, provider};
pub use error::{Error, Result};
pub use events::BrokerLog;
pub use jobs::{Holding, apply, job_hash, rebuild, requested};
pub use revert::describe;

use alloy::{
    contract::{CallBuilder, CallDecoder},
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionReceipt,
};
use ecm_bindings::Broker::{self, BrokerInstance};
use ecm_bindings::tournaments::BrokerTournaments::{self, BrokerTournamentsInstance};
use std::{future::Future, time::Duration};
use tokio::sync::Mutex;
use tracing::{debug, warn};

/// Chain id of Anvil devnets.
pub const ANVIL_CHAIN_ID: u64 = 31337;

/// How to connect.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    /// JSON-RPC endpoint (http).
    pub rpc_url: String,
    /// Key to send transactions with; reads only without one.
    pub private_key: Option<String>,
    /// The Broker's address.
    pub broker: Address,
    /// The chain id the deployment lives on: connecting elsewhere is refused.
    pub chain_id: Option<u64>,
    /// Blocks to wait after a transaction's own block before treating it as done.
    pub confirmations: u64,
    /// Attempts for a read before giving up on transport errors.
    pub read_attempts: u32,
    /// Attempts to reach the node when connecting: few for a command (fail fast when the node
    /// is not there), more for a daemon (ride out a node restarting or a flaky network).
    pub connect_attempts: u32,
    /// How long to wait for a transaction's receipt.
    pub receipt_timeout: Duration,
}

impl ChainConfig {
    /// Defaults suited to a local devnet.
    pub fn new(rpc_url: impl Into<String>, broker: Address) -> Self {
        Self {
            rpc_url: rpc_url.into(),
            private_key: None,
            broker,
            chain_id: None,
            confirmations: 0,
            read_attempts: 8,
            connect_attempts: 3,
            receipt_timeout: Duration::from_secs(60),
        }
    }
}

/// A connection to one ecm deployment, with at most one signing account.
#[derive(Debug)]
pub struct Chain {
    provider: DynProvider,
    broker: BrokerInstance<DynProvider>,
    account: Option<Address>,
    /// Signs the account's transactions here, so that each one's hash is known before it is
    /// sent (see [`Chain::send`]).
    wallet: Option<alloy::network::EthereumWallet>,
    chain_id: u64,
    config: ChainConfig,
    /// The next nonce of the signing account, once known. Sends take it under this lock, one
    /// at a time, so nonces are used in order; a failed send forgets it (it is read again).
    send_lock: Mutex<Option<u64>>,
    /// Fee estimate and when it was made, reused for a second.
    fees: Mutex<Option<(tokio::time::Instant, u128, u128)>>,
    /// Blocks per `eth_getLogs`, lowered when the node refuses a range.
    log_span: std::sync::atomic::AtomicU64,
    /// What the reads cost so far, for an agent's metrics.
    rpc: RpcStats,
}

/// Reads sent to the node (each with its retries counted once), failed reads, and the time
/// spent in them.
#[derive(Debug, Default)]
pub struct RpcStats {
    reads: std::sync::atomic::AtomicU64,
    failures: std::sync::atomic::AtomicU64,
    micros: std::sync::atomic::AtomicU64,
}

impl RpcStats {
    fn record(&self, ok: bool, took: Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        self.reads.fetch_add(1, Relaxed);
        if !ok {
            self.failures.fetch_add(1, Relaxed);
        }
        self.micros.fetch_add(took.as_micros() as u64, Relaxed);
    }

    /// Reads so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Reads that failed after their retries.
    pub fn failures(&self) -> u64 {
        self.failures.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Time spent in reads, retries included.
    pub fn time(&self) -> Duration {
        Duration::from_micros(self.micros.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl Chain {
    /// Connects, checks the chain id and that the Broker has code.
    pub async fn connect(config: ChainConfig) -> Result<Self> {
        let (provider, account) =
            connect::provider(&config.rpc_url, config.private_key.as_deref()).await?;
        // A node that does not answer at all is reported quickly; later reads retry longer.
        let probe = ChainConfig {
            read_attempts: config.connect_attempts.max(1),
            ..config.clone()
        };
        let chain_id = retry(&probe, "eth_chainId", || provider.get_chain_id())
            .await
            .map_err(|e| Error::unreachable(&config.rpc_url, e))?;
        if let Some(expected) = config.chain_id
            && expected != chain_id
        {
            return Err(Error::WrongChain {
                expected,
                found: chain_id,
                url: config.rpc_url.clone(),
            });
        }
        let code = retry(&config, "eth_getCode", || async {
            provider.get_code_at(config.broker).await
        })
        .await?;
        if code.is_empty() {
            return Err(Error::NoBroker {
                address: config.broker,
                chain_id,
            });
        }
        // Receipts of a local node arrive within milliseconds: poll for them often (alloy's
        // default is 250 ms for local transports, which would dominate every action's latency).
        if url_is_loopback(&config.rpc_url) {
            provider
                .client()
                .set_poll_interval(Duration::from_millis(25));
        }
        let broker = Broker::new(config.broker, provider.clone());
        let wallet = config
            .private_key
            .as_deref()
            .map(connect::signer)
            .transpose()?
            .map(alloy::network::EthereumWallet::from);
        Ok(Self {
            provider,
            broker,
            account,
            wallet,
            chain_id,
            config,
            send_lock: Mutex::new(None),
            fees: Mutex::new(None),
            log_span: std::sync::atomic::AtomicU64::new(events::LOG_SPAN),
            rpc: RpcStats::default(),
        })
    }

    /// The provider, for reads the helpers do not cover.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The Broker.
    pub fn broker(&self) -> &BrokerInstance<DynProvider> {
        &self.broker
    }

    /// The Broker's tournament-mode calls (`IBrokerTournaments`, run by its `BrokerTournaments`
    /// module), at the Broker's address.
    pub fn tournaments(&self) -> BrokerTournamentsInstance<DynProvider> {
        BrokerTournaments::new(*self.broker.address(), self.provider.clone())
    }

    /// The signing account.
    pub fn account(&self) -> Result<Address> {
        self.account.ok_or(Error::NoSigner)
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The connection settings.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// Runs a read, retrying transport errors with exponential backoff.
    pub async fn read<T, E, F, Fut>(&self, what: &str, f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        E: Into<ReadError>,
    {
        let started = tokio::time::Instant::now();
        let result = retry(&self.config, what, f).await;
        self.rpc.record(result.is_ok(), started.elapsed());
        result
    }

    /// What the reads cost so far.
    pub fn rpc_stats(&self) -> &RpcStats {
        &self.rpc
    }

    /// The latest block number.
    pub async fn block_number(&self) -> Result<u64> {
        self.read("eth_blockNumber", || self.provider.get_block_number())
            .await
    }

    /// The latest block's number and hash: a hash that changes under the same number tells a
    /// reorganisation.
    pub async fn head(&self) -> Result<(u64, B256)> {
        let block = self
            .latest_block()
            .await?
            .ok_or_else(|| Error::rpc("eth_getBlockByNumber", "the node has no latest block"))?;
        Ok((block.header.number, block.header.hash))
    }

    /// The base fee per gas of the latest block (0 before London).
    pub async fn base_fee(&self) -> Result<u128> {
        Ok(self
            .latest_block()
            .await?
            .and_then(|b| b.header.base_fee_per_gas)
            .map(u128::from)
            .unwrap_or(0))
    }

    async fn latest_block(&self) -> Result<Option<alloy::rpc::types::Block>> {
        self.read("eth_getBlockByNumber", || async {
            self.provider
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                .await
        })
        .await
    }

    /// Wei held by `account`.
    pub async fn balance(&self, account: Address) -> Result<U256> {
        self.read("eth_getBalance", || async {
            self.provider.get_balance(account).await
        })
        .await
    }

    /// Request `id`; reverts `NoSuchRequest` are reported as such.
    pub async fn request(&self, id: U256) -> Result<ecm_bindings::IBroker::Request> {
        self.call("getRequest", self.broker.getRequest(id)).await
    }

    /// Calls a view function (with retries), decoding reverts.
    pub async fn call<D>(
        &self,
        what: &str,
        call: CallBuilder<&DynProvider, D>,
    ) -> Result<D::CallOutput>
    where
        D: CallDecoder + Send + Sync + Unpin,
        D::CallOutput: Send,
    {
        let mut attempt = 0;
        loop {
            match call.call().await {
                Ok(out) => return Ok(out),
                Err(e) => {
                    if let Some(revert) = revert::decode(what, &e) {
                        return Err(revert);
                    }
                    attempt += 1;
                    if attempt >= self.config.read_attempts || !is_transport(&e) {
                        return Err(Error::rpc(what, e));
                    }
                    backoff(what, attempt, &e.to_string()).await;
                }
            }
        }
    }

    /// Sends a transaction: simulates it first (a revert is reported decoded and nothing is
    /// sent), prices it (gas estimate and fees, outside any lock), then takes the next nonce,
    /// signs it here and sends it under the account's send lock (`submit`: a lost answer is
    /// sent again), then waits for its receipt.
    pub async fn send<D>(
        &self,
        action: &str,
        call: CallBuilder<&DynProvider, D>,
    ) -> Result<TransactionReceipt>
    where
        D: CallDecoder + Send + Sync + Unpin,
        D::CallOutput: Send,
    {
        let account = self.account()?;
        let call = call.from(account);
        // Checked here rather than read from the node's refusal, whose wording differs between
        // nodes: the simulation below fails if the value alone is more than the balance.
        let balance = self.balance(account).await?;
        let value = AsRef::<alloy::rpc::types::TransactionRequest>::as_ref(&call)
            .value
            .unwrap_or_default();
        let afford = |needed: U256| {
            if balance < needed {
                return Err(Error::InsufficientFunds {
                    action: action.into(),
                    account,
                    balance,
                    needed,
                });
            }
            Ok(())
        };
        afford(value)?;
        if let Err(e) = call.call().await {
            return Err(revert::decode(action, &e).unwrap_or_else(|| Error::rpc(action, e)));
        }
        let explicit_gas = AsRef::<alloy::rpc::types::TransactionRequest>::as_ref(&call).gas;
        let gas = match explicit_gas {
            Some(gas) => gas,
            // The state may move between the estimate and the inclusion: keep a margin.
            None => {
                let estimate = call.estimate_gas().await.map_err(|e| {
                    revert::decode(action, &e).unwrap_or_else(|| Error::rpc(action, e))
                })?;
                estimate + estimate / 4 + 10_000
            }
        };
        let (max_fee, priority_fee) = self.fees().await?;
        afford(value + U256::from(gas) * U256::from(max_fee))?;
        let mut tx = call.into_transaction_request();
        tx.gas = Some(gas);
        tx.max_fee_per_gas = Some(max_fee);
        tx.max_priority_fee_per_gas = Some(priority_fee);
        tx.chain_id = Some(self.chain_id);
        let hash = {
            let mut next_nonce = self.send_lock.lock().await;
            let nonce = match *next_nonce {
                Some(nonce) => nonce,
                None => {
                    self.read("eth_getTransactionCount", || async {
                        self.provider.get_transaction_count(account).pending().await
                    })
                    .await?
                }
            };
            tx.nonce = Some(nonce);
            let signed = self.sign(action, tx).await?;
            let hash = *signed.tx_hash();
            match self.submit(action, &signed).await {
                Ok(Submitted::Taken) => *next_nonce = Some(nonce + 1),
                // The node may have taken it or not: read the nonce again next time, and look
                // for the receipt, which tells.
                Ok(Submitted::Unknown) => *next_nonce = None,
                Err(e) => {
                    *next_nonce = None;
                    return Err(e);
                }
            }
            hash
        };
        debug!(target: "chain", %hash, action, "sent");
        let receipt = match self.wait_for_receipt(action, hash).await {
            Ok(receipt) => receipt,
            Err(e) => {
                // Never mined (dropped, or stuck behind a nonce a reorganisation freed): the
                // next send reads the nonce from the node again.
                self.forget_nonce().await;
                return Err(e);
            }
        };
        if !receipt.status() {
            return Err(Error::Failed {
                action: action.into(),
                tx: hash,
            });
        }
        Ok(receipt)
    }

    /// Signs `tx` with the account's key.
    async fn sign(
        &self,
        action: &str,
        tx: alloy::rpc::types::TransactionRequest,
    ) -> Result<alloy::consensus::TxEnvelope> {
        use alloy::network::{Ethereum, NetworkWallet};
        let wallet = self.wallet.as_ref().ok_or(Error::NoSigner)?;
        NetworkWallet::<Ethereum>::sign_request(wallet, tx)
            .await
            .map_err(|e| Error::rpc(action, e))
    }

    /// Hands a signed transaction to the node. A lost response (a dropped connection, a
    /// timeout) does not say whether the node took it, and sending it again cannot run it
    /// twice (same bytes, same nonce): so it is sent again. After a first loss, a refusal
    /// (already known, nonce too low) or no answer at all leaves it to the receipt to tell.
    /// Only a first, clear refusal is an error: then nothing was sent.
    async fn submit(
        &self,
        action: &str,
        signed: &alloy::consensus::TxEnvelope,
    ) -> Result<Submitted> {
        use alloy::eips::Encodable2718;
        let raw = signed.encoded_2718();
        let mut attempt = 0;
        loop {
            match self.provider.send_raw_transaction(&raw).await {
                Ok(_) => return Ok(Submitted::Taken),
                Err(e) if attempt == 0 && !is_retryable(&e) => {
                    return Err(Error::rpc(action, e));
                }
                Err(e) => {
                    attempt += 1;
                    if attempt >= self.config.read_attempts || !is_retryable(&e) {
                        warn!(target: "chain", action, tx = %signed.tx_hash(), reason = %e, "the node's answer to a transaction was lost; looking for its receipt");
                        return Ok(Submitted::Unknown);
                    }
                    backoff(action, attempt, &e.to_string()).await;
                }
            }
        }
    }

    /// Forgets the next nonce this account would use, so the next send reads it from the node:
    /// for a caller that saw one of its transactions dropped from the chain by a
    /// reorganisation (the cached nonce would leave a gap nothing fills).
    pub async fn forget_nonce(&self) {
        *self.send_lock.lock().await = None;
    }

    /// The max fee and the priority fee per gas a send offers now: EIP-1559 fees from the node,
    /// reused for a second, twice the latest base fee plus the suggested tip, so a transaction
    /// stays includable while the base fee rises.
    pub async fn fees(&self) -> Result<(u128, u128)> {
        let mut cached = self.fees.lock().await;
        if let Some((at, max_fee, priority)) = *cached
            && at.elapsed() < Duration::from_secs(1)
        {
            return Ok((max_fee, priority));
        }
        let estimate = self
            .read("eth_feeHistory", || async {
                self.provider.estimate_eip1559_fees().await
            })
            .await?;
        *cached = Some((
            tokio::time::Instant::now(),
            estimate.max_fee_per_gas,
            estimate.max_priority_fee_per_gas,
        ));
        Ok((estimate.max_fee_per_gas, estimate.max_priority_fee_per_gas))
    }

    /// Polls for the receipt of `hash` until it is `confirmations` blocks deep or the receipt
    /// timeout passes. Polling `eth_getTransactionReceipt` directly, rather than following new
    /// blocks, cannot miss a receipt however fast blocks come.
    ///
    /// A transaction the node no longer knows at all (not mined, not pending), twice in a row
    /// some seconds apart, was dropped, for instance by a reorganisation: that is reported at
    /// once rather than at the timeout, so that the caller decides again.
    async fn wait_for_receipt(&self, action: &str, hash: B256) -> Result<TransactionReceipt> {
        const DROP_CHECK: Duration = Duration::from_secs(3);
        let started = tokio::time::Instant::now();
        let deadline = started + self.config.receipt_timeout;
        let poll = self.provider.client().poll_interval();
        let mut next_drop_check = started + DROP_CHECK;
        let mut unknown_once = false;
        loop {
            let receipt = self
                .read("eth_getTransactionReceipt", || async {
                    self.provider.get_transaction_receipt(hash).await
                })
                .await?;
            if let Some(receipt) = receipt {
                let mined_in = receipt.block_number.unwrap_or_default();
                if self.config.confirmations == 0
                    || self.block_number().await? >= mined_in + self.config.confirmations
                {
                    return Ok(receipt);
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(Error::NoReceipt {
                    action: action.into(),
                    tx: hash,
                    reason: format!("not mined within {:?}", self.config.receipt_timeout),
                });
            }
            if tokio::time::Instant::now() >= next_drop_check {
                next_drop_check += DROP_CHECK;
                let known = self
                    .read("eth_getTransactionByHash", || async {
                        self.provider.get_transaction_by_hash(hash).await
                    })
                    .await?
                    .is_some();
                if !known && unknown_once {
                    return Err(Error::NoReceipt {
                        action: action.into(),
                        tx: hash,
                        reason: "the node no longer knows it: dropped (by a reorganisation?)"
                            .into(),
                    });
                }
                unknown_once = !known;
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Decoded Broker logs in blocks `from..=to`.
    pub async fn broker_logs(&self, from: u64, to: u64) -> Result<Vec<BrokerLog>> {
        events::broker_logs(self, alloy::rpc::types::Filter::new(), from, to).await
    }

    /// Decoded Broker logs of the `events` (by signature) about request `id` whose first
    /// address is `account` (the host, the challenger), in blocks `from..=to`.
    pub async fn request_logs_naming(
        &self,
        id: U256,
        account: Address,
        events: Vec<B256>,
        from: u64,
        to: u64,
    ) -> Result<Vec<BrokerLog>> {
        let filter = alloy::rpc::types::Filter::new()
            .event_signature(events)
            .topic1(B256::from(id))
            .topic2(account.into_word());
        events::broker_logs(self, filter, from, to).await
    }

    /// The logs matching `filter` (its own block range ignored) in blocks `from..=to`, read in
    /// spans the node accepts: a span it refuses is halved, and remembered.
    pub async fn logs(
        &self,
        filter: &alloy::rpc::types::Filter,
        from: u64,
        to: u64,
    ) -> Result<Vec<alloy::rpc::types::Log>> {
        events::logs(self, filter, from, to).await
    }

    /// Mines `blocks` blocks at once (Anvil only): for tests and demos that skip windows.
    pub async fn anvil_mine(&self, blocks: u64) -> Result<()> {
        use alloy::providers::ext::AnvilApi;
        self.provider
            .anvil_mine(Some(blocks), None)
            .await
            .map_err(|e| Error::rpc("anvil_mine", e))
    }
}

fn url_is_loopback(url: &str) -> bool {
    url.parse::<alloy::transports::http::reqwest::Url>()
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]")
        })
        .unwrap_or(false)
}

/// What sending a signed transaction established.
enum Submitted {
    /// The node took it.
    Taken,
    /// The node's answer was lost at least once: only its receipt can tell.
    Unknown,
}

/// Errors a read may retry on.
#[derive(Debug)]
pub struct ReadError(alloy::transports::TransportError);

impl From<alloy::transports::TransportError> for ReadError {
    fn from(e: alloy::transports::TransportError) -> Self {
        Self(e)
    }
}

fn is_transport(e: &alloy::contract::Error) -> bool {
    matches!(e, alloy::contract::Error::TransportError(t) if is_retryable(t))
}

/// An HTTP 4xx other than a timeout or a rate limit: the server refusing this very request.
fn is_http_refusal(e: &alloy::transports::TransportError) -> bool {
    use alloy::transports::RpcError;
    matches!(e, RpcError::Transport(kind) if kind
        .as_http_error()
        .is_some_and(|http| (400..500).contains(&http.status) && ![408, 429].contains(&http.status)))
}

/// Transport-level failures (connection refused or dropped, timeouts, 5xx, truncated bodies)
/// are worth retrying; JSON-RPC error responses are answers and are not.
fn is_retryable(e: &alloy::transports::TransportError) -> bool {
    use alloy::transports::RpcError;
    match e {
        // A 4xx is the server refusing this request (a provider's range limit answers 400),
        // except for a timeout or a rate limit.
        RpcError::Transport(_) => !is_http_refusal(e),
        RpcError::NullResp | RpcError::DeserError { .. } => true,
        RpcError::ErrorResp(payload) => payload.is_retry_err(),
        _ => false,
    }
}

/// Reads retry here, not in alloy's `RetryBackoffLayer`: that layer sits under every request,
/// sends included (its docs warn that a retried request may run twice), backs off by a constant
/// delay, and reports exhaustion as an untyped "Max retries exceeded" string. Here only reads
/// retry, with exponential backoff, on the errors `is_retryable` names, and the last error is
/// kept as the source of ours.
async fn retry<T, E, F, Fut>(config: &ChainConfig, what: &str, f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: Into<ReadError>,
{
    retry_transport(config, what, f)
        .await
        .map_err(|e| Error::rpc(what, e))
}

/// [`retry`], giving back the last error as the transport reported it.
async fn retry_transport<T, E, F, Fut>(
    config: &ChainConfig,
    what: &str,
    mut f: F,
) -> std::result::Result<T, alloy::transports::TransportError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: Into<ReadError>,
{
    let mut attempt = 0;
    loop {
        match f().await.map_err(Into::into) {
            Ok(value) => return Ok(value),
            Err(ReadError(e)) => {
                attempt += 1;
                if attempt >= config.read_attempts || !is_retryable(&e) {
                    return Err(e);
                }
                backoff(what, attempt, &e.to_string()).await;
            }
        }
    }
}

async fn backoff(what: &str, attempt: u32, reason: &str) {
    let delay = Duration::from_millis(50u64 << attempt.min(6));
    if attempt >= 3 {
        warn!(target: "chain", what, attempt, ?delay, reason, "transport error, retrying");
    } else {
        debug!(target: "chain", what, attempt, ?delay, reason, "transport error, retrying");
    }
    tokio::time::sleep(delay).await;
}

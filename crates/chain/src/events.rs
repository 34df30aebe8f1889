//! Broker events and other logs, read in block ranges the node accepts.

use crate::{Chain, Error, Result, is_http_refusal, retry_transport};
use alloy::{
    primitives::B256,
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::SolEventInterface,
    transports::{RpcError, TransportError},
};
use ecm_bindings::Broker::BrokerEvents;
use std::sync::atomic::Ordering;
use tracing::warn;

/// A decoded Broker event and where it happened.
#[derive(Clone, Debug)]
pub struct BrokerLog {
    /// The event.
    pub event: BrokerEvents,
    /// Its block.
    pub block: u64,
    /// Its transaction.
    pub tx: Option<B256>,
    /// Its index in its block: with `tx`, what tells two logs apart.
    pub log_index: Option<u64>,
}

impl BrokerLog {
    /// The request the log is about; `None` for a withdrawal, which is an account's. Every
    /// event is named here (no wildcard), so that a new event of the Broker must say whether it
    /// is a request's before it builds: the agents wake a job, and the explorer files a log,
    /// by this.
    pub fn request_id(&self) -> Option<u64> {
        use BrokerEvents as E;
        let id = match &self.event {
            E::Created(e) => e.id,
            E::RequestInput(e) => e.id,
            E::Cancelled(e) => e.id,
            E::AnswerCommitted(e) => e.id,
            E::CommitmentExpired(e) => e.id,
            E::Answered(e) => e.id,
            E::Challenged(e) => e.id,
            E::SoftResolved(e) => e.id,
            E::DisputeStarted(e) => e.id,
            E::Bisected(e) => e.id,
            E::SegmentSelected(e) => e.id,
            E::StepProven(e) => e.id,
            E::Executed(e) => e.id,
            E::DisputeResolved(e) => e.id,
            E::DisputeCounted(e) => e.id,
            E::FirmlyResolved(e) => e.id,
            E::Finalized(e) => e.id,
            E::Credited(e) => e.id,
            // A compact batch's first job: the agents do not take jobs held as hashes yet.
            E::CompactBatch(e) => e.firstId,
            E::Hydrated(e) => e.id,
            // A tournament-mode dispute's (`IBrokerTournaments`, run in the Broker's storage).
            E::TournamentOpened(e) => e.id,
            E::Entered(e) => e.id,
            E::GameStarted(e) => e.id,
            E::GameBisected(e) => e.id,
            E::GameSegmentSelected(e) => e.id,
            E::GameStepProven(e) => e.id,
            E::GameEnded(e) => e.id,
            E::TournamentSettled(e) => e.id,
            E::Withdrawn(_) => return None,
        };
        // Ids are counted from 1 by the Broker: one beyond u64 is not a request of this world.
        u64::try_from(id).ok()
    }
}

/// Blocks per `eth_getLogs` at first: what public providers commonly accept (many cap a range
/// at 10,000 blocks or fewer, some at 1,000 or 500; [`logs`] learns a smaller span when refused).
pub(crate) const LOG_SPAN: u64 = 5_000;

/// The Broker's logs matching `filter` (its address and block range set here), decoded; a log
/// this build cannot decode is left out.
pub(crate) async fn broker_logs(
    chain: &Chain,
    filter: Filter,
    from: u64,
    to: u64,
) -> Result<Vec<BrokerLog>> {
    let filter = filter.address(chain.config.broker);
    let logs = logs(chain, &filter, from, to).await?;
    Ok(logs
        .into_iter()
        .filter_map(|log| {
            let event = BrokerEvents::decode_raw_log(log.topics(), &log.data().data).ok()?;
            Some(BrokerLog {
                event,
                block: log.block_number.unwrap_or_default(),
                tx: log.transaction_hash,
                log_index: log.log_index,
            })
        })
        .collect())
}

/// The logs matching `filter` in blocks `from..=to`, in order, read a span of blocks at a time.
///
/// Providers limit `eth_getLogs` by block range or by result count, each differently, and
/// refuse a query over the limit with an error response (or an HTTP 4xx). A refused span is
/// halved and the query tried again, down to a single block; the smaller span is kept for the
/// chain's later reads. Transport errors are retried as every read's are.
pub(crate) async fn logs(chain: &Chain, filter: &Filter, from: u64, to: u64) -> Result<Vec<Log>> {
    let mut found = Vec::new();
    let mut start = from;
    while start <= to {
        let span = chain.log_span.load(Ordering::Relaxed).max(1);
        let end = to.min(start.saturating_add(span - 1));
        let ranged = filter.clone().from_block(start).to_block(end);
        // One plain attempt first: a refusal (some providers use the rate limit's code -32005
        // for a range that is too large) narrows the span at once rather than after retries.
        let started = tokio::time::Instant::now();
        let attempt = match chain.provider.get_logs(&ranged).await {
            Err(e) if !(end > start && is_refusal(&e)) => {
                retry_transport(&chain.config, "eth_getLogs", || {
                    chain.provider.get_logs(&ranged)
                })
                .await
            }
            other => other,
        };
        chain.rpc.record(attempt.is_ok(), started.elapsed());
        match attempt {
            Ok(logs) => {
                found.extend(logs);
                start = end + 1;
            }
            Err(e) if end > start && is_refusal(&e) => {
                let smaller = (end - start).div_ceil(2);
                chain.log_span.store(smaller, Ordering::Relaxed);
                warn!(target: "chain", from = start, to = end, smaller, reason = %e, "eth_getLogs refused; reading smaller spans");
            }
            Err(e) => {
                return Err(Error::rpc(format!("eth_getLogs {start}..={end}"), e));
            }
        }
    }
    Ok(found)
}

/// The node answered, and the answer is no: an error response, or an HTTP 4xx other than a
/// timeout or a rate limit.
fn is_refusal(e: &TransportError) -> bool {
    matches!(e, RpcError::ErrorResp(_)) || is_http_refusal(e)
}

//! Broker events, polled in block ranges.

use crate::{Chain, Result};
use alloy::{primitives::B256, rpc::types::Filter, sol_types::SolEventInterface};
use ecm_bindings::Broker::BrokerEvents;

/// A decoded Broker event and where it happened.
#[derive(Clone, Debug)]
pub struct BrokerLog {
    /// The event.
    pub event: BrokerEvents,
    /// Its block.
    pub block: u64,
    /// Its transaction.
    pub tx: Option<B256>,
}

pub(crate) async fn broker_logs(chain: &Chain, from: u64, to: u64) -> Result<Vec<BrokerLog>> {
    let filter = Filter::new()
        .address(chain.config.broker)
        .from_block(from)
        .to_block(to);
    let logs = chain
        .read("eth_getLogs", || chain.provider.get_logs(&filter))
        .await?;
    Ok(logs
        .into_iter()
        .filter_map(|log| {
            let event = BrokerEvents::decode_raw_log(log.topics(), &log.data().data).ok()?;
            Some(BrokerLog {
                event,
                block: log.block_number.unwrap_or_default(),
                tx: log.transaction_hash,
            })
        })
        .collect())
}

use alloy::providers::Provider as _;

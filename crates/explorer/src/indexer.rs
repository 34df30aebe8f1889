//! Follows the chain: reads the Broker's new logs on every new block, the on-chain status of
//! the requests they touch, and the balances of the accounts they touch, and publishes a new
//! [`Snapshot`] for the pages.
//!
//! Pages never wait on the node: they render the latest snapshot. A node that stops answering
//! is reported in the snapshot (with the block the data is from) and read again at every poll.

use crate::model::Model;
use alloy::primitives::{Address, U256};
use ecm_bindings::Broker::BrokerEvents;
use ecm_chain::BrokerLog;
use ecm_client::{Client, Record, RequestStatus};
use ecm_primitives::Deployment;
use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};
use tokio::sync::watch;
use tracing::{debug, warn};

/// Blocks read again at every poll, so that a reorganisation this deep is undone in the pages.
pub const REREAD_DEPTH: u64 = 12;

/// What the pages show: the chain as of `head`.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Bumped on every change; the pages' live updates follow it.
    pub version: u64,
    /// The deployment, with the programs its file names (read again when the file changes).
    pub deployment: Arc<Deployment>,
    /// The block the data is from (0 before the first read).
    pub head: u64,
    /// The Broker's balance, wei.
    pub broker_balance: U256,
    /// The logs folded (shared: a snapshot is copied for every page update, the model only
    /// when logs change).
    pub model: Arc<Model>,
    /// Each request's status as the Broker reports it, as of the last log that touched it.
    pub statuses: BTreeMap<u64, RequestStatus>,
    /// Each account's withdrawable balance.
    pub balances: BTreeMap<Address, U256>,
    /// Each account's record as the Broker keeps it (`recordOf`: what host admission reads).
    pub records: BTreeMap<Address, Record>,
    /// The node's trouble, if the last poll failed.
    pub node_error: Option<NodeError>,
}

/// The node did not answer the last poll.
#[derive(Clone, Debug)]
pub struct NodeError {
    /// What went wrong.
    pub message: String,
    /// Since when polls fail.
    pub since: SystemTime,
}

impl Snapshot {
    /// Nothing read yet.
    pub fn new(deployment: Deployment) -> Self {
        Self {
            version: 0,
            deployment: Arc::new(deployment),
            head: 0,
            broker_balance: U256::ZERO,
            model: Arc::default(),
            statuses: BTreeMap::new(),
            balances: BTreeMap::new(),
            records: BTreeMap::new(),
            node_error: None,
        }
    }

    /// The deposit of request `id`, if its status was read.
    pub fn deposit(&self, id: u64) -> Option<U256> {
        self.statuses.get(&id).map(|s| s.deposit)
    }

    /// The Broker's balance split into what it holds for open requests and what it owes
    /// accounts: `(escrowed, deposits locked, owed to accounts)`.
    pub fn holdings(&self) -> (U256, U256, U256) {
        let mut escrowed = U256::ZERO;
        let mut locked = U256::ZERO;
        for request in self.model.requests.values() {
            let money = request.money(self.deposit(request.id).unwrap_or_default());
            escrowed += money.escrowed;
            locked += money.deposits_locked;
        }
        let owed = self.balances.values().fold(U256::ZERO, |a, b| a + *b);
        (escrowed, locked, owed)
    }
}

/// The indexer's own state between polls.
struct Follower {
    client: Client,
    /// The deployment file, and when it was last changed, as read.
    deployment_file: Option<(PathBuf, Option<SystemTime>)>,
    /// Every Broker log read, in chain order.
    logs: Vec<BrokerLog>,
    /// The last block read, and its hash.
    read_to: Option<(u64, alloy::primitives::B256)>,
    snapshot: Snapshot,
}

/// Follows the chain until `stop` turns true, publishing snapshots on `publish`.
pub(crate) async fn follow(
    client: Client,
    deployment_file: Option<PathBuf>,
    every: Duration,
    publish: watch::Sender<Arc<Snapshot>>,
    mut stop: watch::Receiver<bool>,
) {
    let snapshot = Snapshot::new(client.deployment().clone());
    let mut follower = Follower {
        client,
        deployment_file: deployment_file.map(|path| {
            let changed = modified(&path);
            (path, changed)
        }),
        logs: Vec::new(),
        read_to: None,
        snapshot,
    };
    while !*stop.borrow() {
        let learned = follower.learn_programs();
        match follower.poll().await {
            Ok(true) => {
                follower.snapshot.node_error = None;
                follower.publish(&publish);
            }
            Ok(false) if follower.snapshot.node_error.is_some() => {
                follower.snapshot.node_error = None;
                follower.publish(&publish);
            }
            Ok(false) if learned => follower.publish(&publish),
            Ok(false) => {}
            Err(e) => {
                let message = e.to_string();
                let changed = follower
                    .snapshot
                    .node_error
                    .as_ref()
                    .is_none_or(|old| old.message != message);
                if changed {
                    warn!(target: "explorer", error = %message, "the node did not answer");
                    let since = follower
                        .snapshot
                        .node_error
                        .as_ref()
                        .map_or_else(SystemTime::now, |old| old.since);
                    follower.snapshot.node_error = Some(NodeError { message, since });
                    follower.publish(&publish);
                }
            }
        }
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(every) => {}
        }
    }
}

impl Follower {
    /// Reads the deployment file again if it changed (`ecm program deploy` adds programs to
    /// it); whether it named new programs. A file now about another Broker is not taken.
    fn learn_programs(&mut self) -> bool {
        let Some((path, seen)) = &mut self.deployment_file else {
            return false;
        };
        let changed = modified(path);
        if changed == *seen {
            return false;
        }
        *seen = changed;
        let current = self.client.deployment();
        match Deployment::load(path) {
            Ok(file) if file.broker == current.broker && file.chain_id == current.chain_id => {
                if file.programs == current.programs {
                    return false;
                }
                self.client.set_programs(file.programs);
                self.snapshot.deployment = Arc::new(self.client.deployment().clone());
                true
            }
            Ok(_) => {
                warn!(target: "explorer", file = %path.display(), "the deployment file now names another Broker; keeping the one the explorer started with");
                false
            }
            Err(e) => {
                debug!(target: "explorer", error = %e, "the deployment file could not be read again");
                false
            }
        }
    }

    fn publish(&mut self, publish: &watch::Sender<Arc<Snapshot>>) {
        self.snapshot.version += 1;
        publish.send_replace(Arc::new(self.snapshot.clone()));
    }

    /// Reads what changed since the last poll; whether anything did.
    async fn poll(&mut self) -> ecm_client::Result<bool> {
        let chain = self.client.chain();
        let (head, head_hash) = chain.head().await?;
        if self.read_to == Some((head, head_hash)) {
            return Ok(false);
        }
        let deployed = self.client.deployment().deployed_at_block;
        // Read again the last blocks (a reorganisation may have replaced them: a new hash at
        // the same height says so), or everything if the chain is now shorter than what was
        // read (a devnet started over).
        let from = match self.read_to {
            Some((read, _)) if head + REREAD_DEPTH >= read => {
                read.min(head).saturating_sub(REREAD_DEPTH).max(deployed)
            }
            _ => deployed,
        };
        let fresh = chain.broker_logs(from, head).await?;
        let kept = self.logs.partition_point(|log| log.block < from);
        let replaced: HashSet<_> = self.logs[kept..].iter().map(key).collect();
        let added: HashSet<_> = fresh.iter().map(key).collect();
        // Requests and accounts whose logs changed, one way or the other.
        let touched: Vec<&BrokerLog> = self.logs[kept..]
            .iter()
            .filter(|log| !added.contains(&key(log)))
            .chain(fresh.iter().filter(|log| !replaced.contains(&key(log))))
            .collect();
        let ids: BTreeSet<u64> = touched.iter().filter_map(|l| l.request_id()).collect();
        let accounts: BTreeSet<Address> =
            touched.iter().filter_map(|l| account(&l.event)).collect();
        debug!(target: "explorer", from, head, changed = touched.len(), "read logs");
        let changed = !touched.is_empty();
        let logs: Vec<BrokerLog> = if !changed {
            Vec::new()
        } else {
            self.logs[..kept].iter().cloned().chain(fresh).collect()
        };
        let model = changed.then(|| Model::from_logs(&logs));

        // A request whose logs a reorganisation removed is no longer on the chain: its status
        // goes rather than being read.
        let mut statuses = Vec::with_capacity(ids.len());
        for &id in &ids {
            let exists = model.as_ref().is_some_and(|m| m.requests.contains_key(&id));
            let status =
                match exists {
                    true => match self.client.status(id).await {
                        Ok(status) => Some(status),
                        // A compact batch's job (held as a hash, or paid out as one) has no stored
                        // request to read: its logs alone tell it.
                        Err(ecm_client::Error::Chain(ecm_chain::Error::Revert {
                            name, ..
                        })) if name == "HeldAsJob" || name == "NoSuchRequest" => None,
                        Err(e) => return Err(e),
                    },
                    false => None,
                };
            statuses.push((id, status));
        }
        let mut balances = Vec::with_capacity(accounts.len());
        for &address in &accounts {
            balances.push((address, self.client.credited(address).await?));
        }
        // The records of everyone in a touched request: an outcome may be counted in a record
        // later than its own log (a dispute's, at the request's payout or next challenge).
        let parties: BTreeSet<Address> = model
            .iter()
            .flat_map(|m| ids.iter().filter_map(|id| m.requests.get(id)))
            .flat_map(|r| r.parties())
            .collect();
        let mut records = Vec::with_capacity(parties.len());
        for &address in &parties {
            records.push((address, self.client.record(address).await?));
        }
        let broker_balance = chain.balance(self.client.deployment().broker).await?;

        // Everything read: only now change the state, so that a failed poll leaves it whole.
        let snapshot = &mut self.snapshot;
        if self
            .read_to
            .is_some_and(|(read, _)| head + REREAD_DEPTH < read)
        {
            // A devnet started over: what was read of the old chain goes.
            snapshot.statuses.clear();
            snapshot.balances.clear();
            snapshot.records.clear();
        }
        self.read_to = Some((head, head_hash));
        snapshot.head = head;
        snapshot.broker_balance = broker_balance;
        for (id, status) in statuses {
            match status {
                Some(status) => snapshot.statuses.insert(id, status),
                None => snapshot.statuses.remove(&id),
            };
        }
        snapshot.balances.extend(balances);
        snapshot.records.extend(records);
        if let Some(model) = model {
            self.logs = logs;
            snapshot.model = Arc::new(model);
        }
        Ok(true)
    }
}

/// When the file at `path` was last changed, if it can be told.
fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// What tells two logs apart.
fn key(log: &BrokerLog) -> (Option<alloy::primitives::B256>, Option<u64>, u64) {
    (log.tx, log.log_index, log.block)
}

/// The account whose withdrawable balance a log changes.
fn account(event: &BrokerEvents) -> Option<Address> {
    match event {
        BrokerEvents::Credited(e) => Some(e.account),
        BrokerEvents::Withdrawn(e) => Some(e.account),
        _ => None,
    }
}

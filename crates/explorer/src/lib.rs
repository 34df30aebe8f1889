//! The explorer: a local web page over an ecm deployment.
//!
//! ```text
//!  node --Broker logs, getRequest, balances--> indexer --Snapshot (watch)--> pages (axum)
//!                                                                   \--> /api/updates (SSE)
//! ```
//!
//! The [`indexer`] follows the chain through the requester's library (`ecm-client`) and folds
//! the Broker's logs into requests, disputes and accounts ([`model`]); the [`server`] renders
//! the latest snapshot, never waiting on the node, and tells open pages when a new one is out
//! so that they update in place. Static assets are compiled into the binary.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

pub mod indexer;
pub mod model;
mod pages;
mod server;

pub use indexer::Snapshot;

use ecm_chain::{Chain, ChainConfig};
use ecm_client::Client;
use ecm_primitives::Deployment;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// Errors starting the explorer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node could not be reached or is not the deployment's chain.
    #[error("cannot reach the deployment's node: {0}")]
    Node(#[from] ecm_chain::Error),
    /// The address could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another server on that port? pass another --port)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// How to run the explorer.
#[derive(Clone, Debug)]
pub struct ExplorerConfig {
    /// The deployment to show.
    pub deployment: Deployment,
    /// The node to read (the deployment's when `None`).
    pub rpc_url: Option<String>,
    /// The deployment's file, read again when it changes so that programs deployed later are
    /// shown by name (none: the programs of `deployment` only).
    pub deployment_file: Option<std::path::PathBuf>,
    /// Where to listen (port 0: any free port).
    pub listen: SocketAddr,
    /// How often to look for a new block.
    pub poll_interval: Duration,
}

impl ExplorerConfig {
    /// The explorer for `deployment` on 127.0.0.1:`port`, looking for blocks every 500 ms.
    pub fn new(deployment: Deployment, port: u16) -> Self {
        Self {
            deployment,
            rpc_url: None,
            deployment_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// A running explorer.
#[derive(Debug)]
pub struct Explorer {
    addr: SocketAddr,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Explorer {
    /// Connects to the node, binds the address, and starts following the chain and serving.
    pub async fn start(config: ExplorerConfig) -> Result<Self, Error> {
        let rpc_url = config
            .rpc_url
            .clone()
            .unwrap_or_else(|| config.deployment.rpc_url.clone());
        let mut chain_config = ChainConfig::new(rpc_url, config.deployment.broker);
        chain_config.chain_id = Some(config.deployment.chain_id);
        // A page reports a node that went away within a poll or two, rather than after the
        // long backoff an agent rides out an outage with.
        chain_config.read_attempts = 2;
        let chain = Chain::connect(chain_config).await?;
        let client = Client::from_chain(chain, config.deployment.clone());
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;

        let (stop, stopped) = watch::channel(false);
        let (publish, snapshots) =
            watch::channel(Arc::new(Snapshot::new(config.deployment.clone())));
        let follower = tokio::spawn(indexer::follow(
            client,
            config.deployment_file,
            config.poll_interval,
            publish,
            stopped.clone(),
        ));
        let app = server::router(server::AppState {
            snapshots: snapshots.clone(),
        });
        let mut shutdown = stopped;
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|s| *s).await;
            });
            if let Err(e) = serve.await {
                tracing::error!(target: "explorer", error = %e, "the explorer's server stopped");
            }
        });
        Ok(Self {
            addr,
            snapshots,
            stop,
            tasks: vec![follower, server],
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the pages show now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// Its address as a URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops following and serving (open live-update streams are closed).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

//! Anvil, from the npm package, as a child process.

use crate::{Error, Result};
use alloy::{
    primitives::U64,
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
};
use std::{
    collections::HashMap,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::{io::AsyncReadExt, process::Child};

/// Anvil's well-known development keys (mnemonic `test test ... junk`), funded at genesis.
/// Never use them on a real network.
pub const DEV_KEYS: [&str; 10] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// How to start Anvil.
#[derive(Clone, Debug, Default)]
pub struct AnvilConfig {
    /// Port on 127.0.0.1; a free one if `None`.
    pub port: Option<u16>,
    /// Seconds between blocks; automine (a block per transaction) if `None`. Set after the
    /// deployment (see [`Anvil::set_block_time`]) so that deploying is quick either way.
    pub block_time: Option<u64>,
    /// The binary; found with [`find_anvil`] if `None`.
    pub binary: Option<PathBuf>,
    /// The chain id (Anvil's 31337 if `None`).
    pub chain_id: Option<u64>,
}

/// A running Anvil, killed when dropped.
#[derive(Debug)]
pub struct Anvil {
    child: Child,
    url: String,
    port: u16,
    /// The automine watchdog, if started; stopped with the node.
    watchdog: Option<AbortOnDrop>,
    /// Where the node writes the states it no longer keeps in memory, removed after it (declared
    /// after `child`, so dropped after the node is killed). Anvil's default,
    /// `~/.foundry/anvil/tmp`, keeps them when the node is killed: gigabytes per long run.
    states: tempfile::TempDir,
}

/// Aborts a background task when dropped.
#[derive(Debug)]
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Anvil {
    /// Starts Anvil on 127.0.0.1 and waits until it answers.
    ///
    /// Spawned here rather than with alloy's node bindings (`alloy::node_bindings::Anvil`),
    /// which start the node with a blocking `std::process` spawn and read its banner: this is a
    /// tokio child (killed on drop, awaited on `stop`) whose exit status and stderr are
    /// reported if it dies before answering, on a port chosen by the caller or free.
    pub async fn spawn(config: AnvilConfig) -> Result<Self> {
        let binary = match config.binary {
            Some(path) => path,
            None => find_anvil()?,
        };
        let port = match config.port {
            Some(port) => port,
            None => free_port().map_err(|e| Error::AnvilFailed {
                path: binary.clone(),
                reason: format!("no free port: {e}"),
            })?,
        };
        let states = tempfile::Builder::new()
            .prefix("ecm-anvil-states-")
            .tempdir()
            .map_err(|e| Error::AnvilFailed {
                path: binary.clone(),
                reason: format!("cannot make a directory for its states: {e}"),
            })?;
        let mut command = tokio::process::Command::new(&binary);
        command
            .arg("--cache-path")
            .arg(states.path())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--chain-id", &config.chain_id.unwrap_or(31337).to_string()])
            .args([
                "--hardfork",
                "prague",
                "--accounts",
                "10",
                "--balance",
                "100000",
            ])
            .arg("--silent")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| Error::AnvilFailed {
            path: binary.clone(),
            reason: e.to_string(),
        })?;
        let mut anvil = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            watchdog: None,
            states,
        };
        anvil.wait_ready(&binary).await?;
        Ok(anvil)
    }

    /// Where it writes the states it no longer keeps in memory (removed with it).
    pub fn states_dir(&self) -> &Path {
        self.states.path()
    }

    /// Its JSON-RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Switches from automine to a block every `seconds` (`anvil_setIntervalMining`).
    pub async fn set_block_time(&self, seconds: u64) -> Result<()> {
        let provider = ProviderBuilder::new().connect_http(self.url.parse().expect("a valid url"));
        provider
            .anvil_set_interval_mining(seconds)
            .await
            .map_err(|e| Error::AnvilFailed {
                path: "anvil".into(),
                reason: format!("setting the block time: {e}"),
            })
    }

    /// Works around an Anvil bug in automine mode: when many transactions from one sender
    /// arrive at once, Anvil can leave some of them ready but unmined until another transaction
    /// arrives (foundry-rs/foundry#10122), and an agent waiting for their receipts stalls. The
    /// watchdog looks at the pool four times a second and mines a block when transactions have
    /// been ready across two looks with no block in between. It stops with the node, or by
    /// itself once the node stops answering.
    pub fn watch_automine(&mut self) {
        let url = self.url.clone();
        self.watchdog = Some(AbortOnDrop(tokio::spawn(automine_watchdog(url))));
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it now (it also stops when dropped).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    async fn wait_ready(&mut self, binary: &Path) -> Result<()> {
        let provider = ProviderBuilder::new().connect_http(self.url.parse().expect("a valid url"));
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr).await;
                }
                return Err(Error::AnvilFailed {
                    path: binary.into(),
                    reason: format!("exited with {status}: {}", stderr.trim()),
                });
            }
            if provider.get_chain_id().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::AnvilFailed {
                    path: binary.into(),
                    reason: "did not answer within 20 s".into(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A port on 127.0.0.1 that was free a moment ago (for a node, a metrics server, ...).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Finds the Anvil binary: `$ECM_ANVIL`, else the npm package's native binary (or its node
/// wrapper) under a `node_modules` in the current directory or one of its parents, or in the
/// repository this crate was built from.
pub fn find_anvil() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("ECM_ANVIL") {
        return Ok(PathBuf::from(path));
    }
    let candidates = [
        "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
        "node_modules/@foundry-rs/anvil-linux-arm64/bin/anvil",
        "node_modules/@foundry-rs/anvil-darwin-arm64/bin/anvil",
        "node_modules/@foundry-rs/anvil-darwin-amd64/bin/anvil",
        "node_modules/.bin/anvil",
    ];
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    for root in &roots {
        for candidate in candidates {
            let path = root.join(candidate);
            if path.is_file() {
                return Ok(path);
            }
        }
    }
    Err(Error::AnvilNotFound { looked: "$ECM_ANVIL, node_modules in the current directory and its parents, and the ecm repository".into() })
}

/// See [`Anvil::watch_automine`].
async fn automine_watchdog(url: String) {
    /// Consecutive failed looks after which the node is taken to be gone.
    const GIVE_UP_AFTER: u32 = 20;
    let provider = ProviderBuilder::new().connect_http(url.parse().expect("a valid url"));
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut previous: Option<(u64, u64)> = None;
    let mut failures = 0;
    while failures < GIVE_UP_AFTER {
        tick.tick().await;
        let look = async {
            let block = provider.get_block_number().await?;
            // Raw: alloy's typed `TxPoolApi` would add a crate for this one call.
            let status: HashMap<String, U64> =
                provider.raw_request("txpool_status".into(), ()).await?;
            let ready = status.get("pending").map_or(0, |n| n.to::<u64>());
            Ok::<_, alloy::transports::TransportError>((block, ready))
        };
        let Ok((block, ready)) = look.await else {
            failures += 1;
            continue;
        };
        failures = 0;
        if ready > 0 && previous == Some((block, ready)) {
            tracing::debug!(target: "devnet", block, ready, "transactions left unmined by automine: mining a block");
            let _ = provider.evm_mine(None).await;
        }
        previous = Some((block, ready));
    }
}

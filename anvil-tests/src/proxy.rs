//! A TCP proxy in front of Anvil that misbehaves on purpose: it drops connections before
//! forwarding a request, resets them after forwarding but before the answer comes back (so the
//! node acted and the client never heard), and delays answers. Seeded, so runs are repeatable.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// How often each fault strikes, as "one chunk in N" (0: never).
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Close the connection instead of forwarding a request chunk.
    pub drop_request_one_in: u64,
    /// Forward the request, then close the connection instead of relaying the answer.
    pub drop_answer_one_in: u64,
    /// Most extra delay before relaying an answer chunk, in milliseconds.
    pub max_delay_ms: u64,
    /// Forward the first this many `eth_sendRawTransaction` requests, then close the connection
    /// instead of relaying the node's answer: the transaction is in the node, and its sender
    /// never heard.
    pub lose_first_sends: u64,
}

/// What the proxy did.
#[derive(Debug, Default)]
pub struct FaultStats {
    /// Requests dropped before reaching the node.
    pub requests_dropped: AtomicU64,
    /// Answers dropped after the node acted.
    pub answers_dropped: AtomicU64,
    /// Answers to `eth_sendRawTransaction` dropped (`Faults::lose_first_sends`).
    pub sends_lost: AtomicU64,
    /// Chunks relayed.
    pub relayed: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct ChaosProxy {
    /// Its URL.
    pub url: String,
    /// What it did so far.
    pub stats: Arc<FaultStats>,
    task: JoinHandle<()>,
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A tiny deterministic generator (xorshift), shared by the connections.
struct Dice(AtomicU64);

impl Dice {
    fn roll(&self, one_in: u64) -> bool {
        if one_in == 0 {
            return false;
        }
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.store(x, Ordering::Relaxed);
        x.is_multiple_of(one_in)
    }

    fn below(&self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        let x = self.0.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
        x % bound
    }
}

impl ChaosProxy {
    /// Starts a proxy on 127.0.0.1 in front of `upstream` (an `http://127.0.0.1:port` URL).
    pub async fn start(upstream: &str, faults: Faults, seed: u64) -> Self {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("a loopback address");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stats = Arc::new(FaultStats::default());
        let dice = Arc::new(Dice(AtomicU64::new(seed | 1)));
        let shared = stats.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (stats, dice) = (shared.clone(), dice.clone());
                tokio::spawn(async move {
                    if let Ok(node) = TcpStream::connect(upstream).await {
                        relay(client, node, faults, &stats, &dice).await;
                    }
                });
            }
        });
        Self { url, stats, task }
    }
}

async fn relay(
    client: TcpStream,
    node: TcpStream,
    faults: Faults,
    stats: &FaultStats,
    dice: &Dice,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut node_read, mut node_write) = node.into_split();
    let mut request = vec![0u8; 64 * 1024];
    let mut answer = vec![0u8; 64 * 1024];
    // The last request forwarded was a transaction whose answer is to be lost.
    let mut losing = false;
    loop {
        tokio::select! {
            read = client_read.read(&mut request) => {
                let Ok(n) = read else { return };
                if n == 0 { return; }
                if dice.roll(faults.drop_request_one_in) {
                    stats.requests_dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                if contains(&request[..n], b"eth_sendRawTransaction")
                    && stats.sends_lost.load(Ordering::Relaxed) < faults.lose_first_sends
                {
                    losing = true;
                }
                if node_write.write_all(&request[..n]).await.is_err() { return; }
            }
            read = node_read.read(&mut answer) => {
                let Ok(n) = read else { return };
                if n == 0 { return; }
                if losing {
                    stats.sends_lost.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                if dice.roll(faults.drop_answer_one_in) {
                    stats.answers_dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                let delay = dice.below(faults.max_delay_ms + 1);
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                if client_write.write_all(&answer[..n]).await.is_err() { return; }
                stats.relayed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

//! A JSON-RPC proxy in front of Anvil that refuses `eth_getLogs` over more than a set number
//! of blocks, as hosted providers do (with their error code -32005), and counts what it did.

use alloy::transports::http::reqwest;
use serde_json::{Value, json};
use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// What the proxy saw.
#[derive(Debug, Default)]
pub struct RangeStats {
    /// `eth_getLogs` refused for spanning too many blocks.
    pub refused: AtomicU64,
    /// `eth_getLogs` served.
    pub served: AtomicU64,
    /// The widest range served, in blocks.
    pub widest_served: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct RangeLimitProxy {
    /// Its URL.
    pub url: String,
    /// What it did so far.
    pub stats: Arc<RangeStats>,
    task: JoinHandle<()>,
}

impl Drop for RangeLimitProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RangeLimitProxy {
    /// Starts a proxy on 127.0.0.1 in front of `upstream`, serving `eth_getLogs` over at most
    /// `max_blocks` blocks.
    pub async fn start(upstream: &str, max_blocks: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stats = Arc::new(RangeStats::default());
        let (shared, upstream) = (stats.clone(), upstream.to_string());
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            while let Ok((client, _)) = listener.accept().await {
                let (stats, http, upstream) = (shared.clone(), http.clone(), upstream.clone());
                tokio::spawn(async move {
                    serve(client, &http, &upstream, max_blocks, &stats).await;
                });
            }
        });
        Self { url, stats, task }
    }
}

/// HTTP/1.1 with keep-alive, one JSON-RPC body per request (what alloy sends).
async fn serve(
    client: TcpStream,
    http: &reqwest::Client,
    upstream: &str,
    max_blocks: u64,
    stats: &RangeStats,
) {
    let mut client = BufReader::new(client);
    loop {
        let mut length = None;
        loop {
            let mut line = String::new();
            match client.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; length.unwrap_or(0)];
        if client.read_exact(&mut body).await.is_err() {
            return;
        }
        let answer = match refusal(&body, max_blocks, stats) {
            Some(refused) => refused.to_string().into_bytes(),
            None => match http
                .post(upstream)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
            {
                Ok(response) => match response.bytes().await {
                    Ok(bytes) => bytes.to_vec(),
                    Err(_) => return,
                },
                Err(_) => return,
            },
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        let stream = client.get_mut();
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(&answer).await.is_err()
        {
            return;
        }
    }
}

/// The error answer to an `eth_getLogs` over too many blocks (or with a block tag, which has
/// no bound), counting what was served.
fn refusal(body: &[u8], max_blocks: u64, stats: &RangeStats) -> Option<Value> {
    let request: Value = serde_json::from_slice(body).ok()?;
    if request["method"] != "eth_getLogs" {
        return None;
    }
    let filter = &request["params"][0];
    let block = |key: &str| {
        filter[key]
            .as_str()
            .and_then(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok())
    };
    match (block("fromBlock"), block("toBlock")) {
        (Some(from), Some(to)) if to.saturating_sub(from) < max_blocks => {
            stats.served.fetch_add(1, Ordering::Relaxed);
            stats
                .widest_served
                .fetch_max(to.saturating_sub(from) + 1, Ordering::Relaxed);
            None
        }
        _ => {
            stats.refused.fetch_add(1, Ordering::Relaxed);
            Some(json!({
                "jsonrpc": "2.0",
                "id": request["id"],
                "error": {
                    "code": -32005,
                    "message": format!("query exceeds max block range {max_blocks}"),
                },
            }))
        }
    }
}

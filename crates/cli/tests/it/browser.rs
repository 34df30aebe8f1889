//! A headless Chromium driven over the DevTools protocol, just enough for the explorer's test:
//! open a page, wait for it to load, evaluate JavaScript, take a screenshot, and collect every
//! console error, uncaught exception and failed load the page reports.
//!
//! Chromium comes from Debian (`chromium-headless-shell`; `make install-test-packages`).

#![allow(
    unreachable_pub,
    reason = "helpers for the other test modules of this binary"
)]

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt as _,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

/// The binary of Debian's `chromium-headless-shell`.
const CHROMIUM: &str = "chromium-headless-shell";

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(30);

/// A browser with one tab.
pub struct Browser {
    child: Child,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// What the page reported as wrong since the last `take_problems`.
    problems: Vec<String>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with a fresh profile and opens a blank tab.
    pub async fn start() -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(CHROMIUM)
            // Its own process group, killed whole when the test ends: Debian's command is a
            // shell script that starts the browser as its child, which starts others.
            .process_group(0)
            .args([
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {CHROMIUM}: {e}\nhint: install Debian's chromium-headless-shell \
                     (`make install-test-packages` does)"
                )
            });
        // Chromium says where its DevTools endpoint is on stderr; the rest of stderr is drained
        // by a thread so that the browser never blocks on a full pipe.
        let (found, url) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("ws://")
                    && let Some(found) = found.take()
                {
                    let _ = found.send(line[at..].trim().to_string());
                }
            }
        });
        let url = url
            .recv_timeout(STEP)
            .expect("Chromium printed no DevTools address");
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        let mut browser = Self {
            child,
            socket,
            session: String::new(),
            next_id: 0,
            problems: Vec::new(),
            _profile: profile,
        };
        let target = browser
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await;
        let attached = browser
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            browser.page_call(domain, json!({})).await;
        }
        browser
    }

    /// Opens `url` and waits for its load event.
    pub async fn open(&mut self, url: &str) {
        let navigated = self.page_call("Page.navigate", json!({ "url": url })).await;
        assert!(
            navigated.get("errorText").is_none(),
            "opening {url}: {navigated}"
        );
        self.wait_for_event("Page.loadEventFired").await;
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    pub async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .page_call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await;
        assert!(
            result.get("exceptionDetails").is_none(),
            "evaluating {expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Waits until a JavaScript expression is true; fails the test after `timeout`.
    pub async fn wait_until(&mut self, expression: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.eval(expression).await != Value::Bool(true) {
            assert!(
                Instant::now() < deadline,
                "{expression} not true within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot of the whole page as PNG.
    pub async fn screenshot(&mut self, path: &Path) {
        let shot = self
            .page_call(
                "Page.captureScreenshot",
                json!({ "format": "png", "captureBeyondViewport": true }),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// The console errors, uncaught exceptions and failed loads reported since the last call.
    pub async fn take_problems(&mut self) -> Vec<String> {
        // Events already sent are read by a round trip.
        self.page_call("Runtime.evaluate", json!({ "expression": "0" }))
            .await;
        std::mem::take(&mut self.problems)
    }

    async fn page_call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params).await
    }

    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
        let deadline = Instant::now() + STEP;
        loop {
            let reply = self.next_message(deadline, method).await;
            if reply["id"] == json!(id) {
                if let Some(error) = reply.get("error") {
                    panic!("{method}: {error}");
                }
                return reply["result"].clone();
            }
        }
    }

    async fn wait_for_event(&mut self, event: &str) {
        let deadline = Instant::now() + STEP;
        while self.next_message(deadline, event).await["method"] != json!(event) {}
    }

    /// The next message from the browser, noting the problems it reports.
    async fn next_message(&mut self, deadline: Instant, waiting_for: &str) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, self.socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {waiting_for} from Chromium within {STEP:?}"))
            .expect("Chromium closed its DevTools connection")
            .unwrap();
        let Ok(text) = message.to_text() else {
            return Value::Null;
        };
        let value: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let params = &value["params"];
        match value["method"].as_str() {
            Some("Runtime.exceptionThrown") => self
                .problems
                .push(format!("uncaught: {}", params["exceptionDetails"])),
            Some("Runtime.consoleAPICalled")
                if matches!(params["type"].as_str(), Some("error" | "assert")) =>
            {
                self.problems
                    .push(format!("console.error: {}", params["args"]))
            }
            Some("Log.entryAdded") if params["entry"]["level"] == json!("error") => {
                self.problems.push(format!(
                    "{}: {}",
                    params["entry"]["source"], params["entry"]["text"]
                ))
            }
            _ => {}
        }
        value
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.child.wait();
    }
}

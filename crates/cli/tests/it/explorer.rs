//! `ecm explorer` in a real browser, over the chain of `ecm demo --explorer`: after the demo's
//! stories (two honest jobs, two cheaters caught by bisection, a cancel), the pages load without
//! a console error and show every request with its status, the disputes' rounds narrowing to one
//! step, and the parties' records; bad input and a node that goes away get a clear message.
//! Screenshots go to `target/tmp/explorer/`.

use crate::{browser::Browser, common};
use serde_json::Value;
use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

/// An `ecm` process, interrupted when dropped (`ecm demo` then stops its Anvil node).
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        if !common::interrupt(&mut self.0, Duration::from_secs(20)) {
            let _ = self.0.kill();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_explorer_shows_the_demos_stories_in_a_browser() {
    let port = common::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(["demo", "--explorer", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let read = lines_of(&mut child);
    let mut demo = Stopped(child);
    // The story's requests, by what the demo said of them: "request N: program(...) ...".
    let mut stories: HashMap<&str, u64> = HashMap::new();
    let mut told = String::new();
    let deployment = loop {
        let line = read
            .recv_timeout(Duration::from_secs(240))
            .unwrap_or_else(|_| panic!("the demo did not finish; it said:\n{told}"));
        told.push_str(&line);
        told.push('\n');
        for program in [
            "fibonacci",
            "keccak-chain",
            "sha256sum",
            "wordfreq",
            "build-byte-array",
        ] {
            if let Some(id) = line
                .strip_prefix("request ")
                .and_then(|rest| rest.split_once(": "))
                .filter(|(_, what)| what.starts_with(program))
                .and_then(|(id, _)| id.parse().ok())
            {
                stories.insert(program, id);
            }
        }
        if let Some(file) = line.strip_prefix("deployment file: ") {
            break PathBuf::from(file.split(' ').next().unwrap());
        }
    };
    assert_eq!(stories.len(), 5, "the demo's requests: {told}");
    // The demo's own explorer serves; the browser looks at `ecm explorer` over the demo's
    // deployment file, a process of its own.
    assert_eq!(common::http_get(port, "/").0, 200);
    let port = common::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args(["explorer", "--port", &port.to_string(), "--deployment"])
        .arg(&deployment)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let said = lines_of(&mut child).recv_timeout(Duration::from_secs(30));
    let mut standalone = Stopped(child);
    assert_eq!(said, Ok(format!("explorer on http://127.0.0.1:{port}")));
    let explorer = format!("http://127.0.0.1:{port}");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explorer");
    std::fs::create_dir_all(&shots).unwrap();

    let mut browser = Browser::start().await;

    // The requests, newest first, with the statuses and answers the stories ended in.
    browser.open(&explorer).await;
    browser
        .wait_until(
            "document.querySelectorAll('#requests tbody tr').length === 5",
            Duration::from_secs(20),
        )
        .await;
    let rows = browser
        .eval(
            "[...document.querySelectorAll('#requests tbody tr')].map(tr => [Number(tr.dataset.id), \
             tr.querySelector('[data-status]').dataset.status, tr.cells[4].innerText])",
        )
        .await;
    let rows: Vec<(u64, String, String)> = serde_json::from_value(rows).unwrap();
    let ids: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);
    let row = |program: &str| rows.iter().find(|r| r.0 == stories[program]).unwrap();
    for (program, status, answered_by) in [
        ("fibonacci", "Finalized", "host"),
        ("keccak-chain", "Finalized", "challenger"),
        ("sha256sum", "Finalized", "host"),
        ("wordfreq", "Finalized", "challenger"),
        ("build-byte-array", "Cancelled", "\u{2014}"),
    ] {
        let (_, shown, by) = row(program);
        assert_eq!(shown, status, "{program}'s status");
        assert!(by.starts_with(answered_by), "{program} answered by {by}");
    }
    // Everyone withdrew at the end of the demo: the Broker holds nothing, and says it adds up.
    let accounted = browser
        .eval("document.getElementById('accounted').innerText")
        .await;
    assert_eq!(accounted, "every wei accounted for");
    browser.screenshot(&shots.join("requests.png")).await;
    assert_eq!(browser.take_problems().await, Vec::<String>::new());

    // Each dispute: rounds that narrow, each inside the last, to one step the challenger won.
    for program in ["keccak-chain", "wordfreq"] {
        let id = stories[program];
        browser.open(&format!("{explorer}/requests/{id}")).await;
        let rounds = browser
            .eval(
                "[...document.querySelectorAll('.round')].map(r => \
                 [Number(r.dataset.lo), Number(r.dataset.hi), r.dataset.chosen || ''])",
            )
            .await;
        let rounds: Vec<(u64, u64, String)> = serde_json::from_value(rounds).unwrap();
        assert!(rounds.len() >= 2, "{program}: rounds {rounds:?}");
        assert_eq!(rounds[0].0, 0, "{program}: the game starts from the input");
        let chosen: Vec<(u64, u64)> = rounds
            .iter()
            .map(|(_, _, c)| {
                let (lo, hi) = c.split_once(',').expect("every round was answered");
                (lo.parse().unwrap(), hi.parse().unwrap())
            })
            .collect();
        for (i, (lo, hi, _)) in rounds.iter().enumerate() {
            let (clo, chi) = chosen[i];
            assert!(lo <= &clo && chi <= *hi && clo < chi, "{program} round {i}");
            if let Some(next) = rounds.get(i + 1) {
                assert_eq!(
                    (next.0, next.1),
                    (clo, chi),
                    "{program}: round {i} leads on"
                );
            }
        }
        let (last_lo, last_hi) = *chosen.last().unwrap();
        assert_eq!(last_hi, last_lo + 1, "{program} ends in one step");
        let verdict = browser
            .eval("document.querySelector('.verdict').innerText")
            .await;
        let verdict = verdict.as_str().unwrap();
        assert!(
            verdict.starts_with(&format!("Step {last_hi} ")) && verdict.ends_with("challenger."),
            "{program}: {verdict}"
        );
        let outcome = browser
            .eval("document.querySelector('.outcome').innerText")
            .await;
        assert!(
            outcome.as_str().unwrap().starts_with("challenger")
                && outcome.as_str().unwrap().contains("cheater"),
            "{program}: {outcome}"
        );
        let money = browser
            .eval("document.getElementById('money').innerText")
            .await;
        assert!(
            money.as_str().unwrap().contains("escrowed\n0 ETH"),
            "{program}: {money}"
        );
        browser
            .screenshot(&shots.join(format!("dispute-{program}.png")))
            .await;
        assert_eq!(
            browser.take_problems().await,
            Vec::<String>::new(),
            "{program}"
        );
    }

    // The parties' records: the cheater lost both disputes, the challenger won both.
    browser.open(&format!("{explorer}/accounts")).await;
    let records = browser
        .eval(
            "Object.fromEntries([...document.querySelectorAll('#accounts tbody tr')].map(tr => \
             [tr.cells[0].innerText.split(' ')[0], [tr.cells[4].innerText, tr.cells[5].innerText]]))",
        )
        .await;
    assert_eq!(records["challenger"], serde_json::json!(["2", "0"]));
    assert_eq!(records["cheater"], serde_json::json!(["0", "2"]));
    assert_eq!(records["host"], serde_json::json!(["0", "0"]));
    browser.screenshot(&shots.join("accounts.png")).await;
    assert_eq!(browser.take_problems().await, Vec::<String>::new());

    // The cheater's record as the Broker keeps it: both defences lost, counted at the payouts,
    // so no request asking for a record admits it.
    let cheater = ecm_primitives::Deployment::load(&deployment)
        .unwrap()
        .account("cheater")
        .unwrap()
        .address;
    browser
        .open(&format!("{explorer}/accounts/{cheater}"))
        .await;
    let on_chain = browser
        .eval("document.getElementById('onchain-record').innerText")
        .await;
    let on_chain = on_chain.as_str().unwrap();
    assert!(
        on_chain.contains("defences\n0 won, 2 lost")
            && on_chain.contains("only by requests admitting anyone"),
        "{on_chain}"
    );
    assert_eq!(browser.take_problems().await, Vec::<String>::new());

    // Bad input: a clear message and the right status, never a blank page.
    for (path, status, says) in [
        (
            "/requests/99",
            404,
            "There is no request 99: this Broker has 5 requests",
        ),
        ("/requests/abc", 400, "is not a request id"),
        ("/accounts/0x12", 400, "is not an address"),
        ("/nowhere", 404, "The explorer has the requests"),
    ] {
        let (code, body) = common::http_get(port, path);
        assert_eq!(code, status, "{path}");
        assert!(body.contains(says), "{path}: {body}");
        browser.open(&format!("{explorer}{path}")).await;
        let text = browser
            .eval("document.getElementById('problem').innerText")
            .await;
        assert!(text.as_str().unwrap().contains(says), "{path}: {text}");
        // The only problem such a page may report is its own status.
        for problem in browser.take_problems().await {
            assert!(
                problem.contains(&format!("status of {status}")),
                "{path}: {problem}"
            );
        }
    }

    // The node goes away: the open page says so by itself (live update), keeps what it showed,
    // and a page opened afterwards says so too.
    browser
        .open(&format!("{explorer}/requests/{}", stories["wordfreq"]))
        .await;
    let node_port: u16 = browser
        .eval("document.querySelector('footer').innerText.match(/127\\.0\\.0\\.1:(\\d+)/)[1]")
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    kill_anvil_on(node_port);
    browser
        .wait_until(
            "document.querySelector('.alert') !== null",
            Duration::from_secs(20),
        )
        .await;
    let alert = browser
        .eval("document.querySelector('.alert').innerText")
        .await;
    assert!(
        alert
            .as_str()
            .unwrap()
            .starts_with("The node does not answer."),
        "{alert}"
    );
    let rounds_kept = browser
        .eval("document.querySelectorAll('.round').length")
        .await;
    assert!(
        rounds_kept.as_u64() > Some(0),
        "the disputes stay on the page"
    );
    browser.screenshot(&shots.join("node-gone.png")).await;
    browser.open(&explorer).await;
    assert_eq!(
        browser
            .eval("document.querySelectorAll('.alert').length")
            .await,
        Value::from(1)
    );
    assert_eq!(
        browser
            .eval("document.querySelectorAll('#requests tbody tr').length")
            .await,
        Value::from(5)
    );
    assert_eq!(browser.take_problems().await, Vec::<String>::new());
    drop(browser);
    assert!(
        common::interrupt(&mut standalone.0, Duration::from_secs(20)),
        "ecm explorer did not stop on Ctrl-C"
    );
    assert!(
        common::interrupt(&mut demo.0, Duration::from_secs(20)),
        "the demo did not stop on Ctrl-C"
    );
}

/// The lines a child prints on stdout, read by a thread until it closes it (so that the child
/// never finds its stdout closed).
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (lines, read) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    read
}

/// Kills the Anvil node listening on `port` (the demo's), as a crashed node would go.
fn kill_anvil_on(port: u16) {
    let port = port.to_string();
    let mut killed = 0;
    for entry in std::fs::read_dir("/proc").unwrap().map_while(Result::ok) {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_anvil = args.first().is_some_and(|a| a.ends_with("anvil"));
        if is_anvil && args.windows(2).any(|w| w[0] == "--port" && w[1] == port) {
            let pid = entry.file_name().to_string_lossy().into_owned();
            assert!(
                Command::new("kill")
                    .args(["-9", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            killed += 1;
        }
    }
    assert_eq!(killed, 1, "the demo's Anvil node on port {port}");
}

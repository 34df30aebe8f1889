//! `ecm host run --metrics ADDR`: a Prometheus endpoint whose figures follow the host's work.

use crate::common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// `GET path` on 127.0.0.1:`port`: the status line and the body (None while nothing listens).
/// The request goes out in two pieces a moment apart, as a client may send it: the server must
/// read the whole head before it answers.
fn get(port: u16, path: &str) -> Option<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\n").ok()?;
    std::thread::sleep(Duration::from_millis(20));
    write!(stream, "host: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

/// The value of the sample `name` (with its labels) in a scrape.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_follow_a_job_from_answer_to_payment() {
    let (devnet, dir, deployment) = common::devnet_with_file().await;
    let port = common::free_port();
    let mut host = Command::new(env!("CARGO_BIN_EXE_ecm"))
        .args([
            "host",
            "run",
            "--dev-account",
            "host",
            "--program",
            "fibonacci",
        ])
        .args(["--poll-ms", "50", "--metrics", &format!("127.0.0.1:{port}")])
        .arg("--deployment")
        .arg(&deployment)
        .arg("--data-dir")
        .arg(dir.path().join("host"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let scrape_until = |what: &str, check: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some((status, body)) = get(port, "/metrics")
                && status.contains("200")
                && check(&body)
            {
                return body;
            }
            assert!(Instant::now() < deadline, "the metrics never showed {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let idle = scrape_until("a first tick", &|s| {
        sample(s, "ecm_block").is_some_and(|b| b > 0.0)
    });
    assert_eq!(sample(&idle, "ecm_engagements_total"), Some(0.0));
    assert_eq!(sample(&idle, "ecm_deposits_locked_wei"), Some(0.0));
    assert_eq!(
        sample(&idle, "ecm_jobs_ended_total{outcome=\"paid\"}"),
        Some(0.0)
    );
    assert_eq!(
        get(port, "/").map(|(status, _)| status.contains("404")),
        Some(true)
    );

    let requester = common::requester(&devnet.deployment).await;
    let id = requester
        .request(common::fibonacci("20", 20))
        .await
        .unwrap();
    common::wait_answered(&requester, id, Duration::from_secs(60)).await;
    // The gauges are counted at each tick, the counters as actions land: both catch up.
    let deposit: f64 = requester
        .status(id)
        .await
        .unwrap()
        .deposit
        .to_string()
        .parse()
        .unwrap();
    assert!(deposit > 0.0);
    scrape_until("the answer and its deposit", &|s| {
        sample(s, "ecm_engagements_total") == Some(1.0)
            && sample(s, "ecm_jobs{stance=\"engaged\"}") == Some(1.0)
            && sample(s, "ecm_deposits_locked_wei") == Some(deposit)
    });
    // The requester accepts at once: the host finalizes and is paid.
    requester.accept(id).await.unwrap();
    let paid = scrape_until("the payment", &|s| {
        sample(s, "ecm_jobs_ended_total{outcome=\"paid\"}") == Some(1.0)
            && sample(s, "ecm_jobs{stance=\"engaged\"}") == Some(0.0)
            && sample(s, "ecm_deposits_locked_wei") == Some(0.0)
            && sample(s, "ecm_balance_wei").is_some_and(|wei| wei > 0.0)
    });
    assert_eq!(sample(&paid, "ecm_engagements_total"), Some(1.0));
    assert!(
        sample(&paid, "ecm_actions_total").unwrap() >= 2.0,
        "answer and finalize"
    );
    assert!(sample(&paid, "ecm_rpc_reads_total").unwrap() > 0.0);
    assert!(sample(&paid, "ecm_ticks_total").unwrap() > sample(&idle, "ecm_ticks_total").unwrap());
    assert!(sample(&paid, "ecm_tick_seconds_total").unwrap() > 0.0);
    assert!(
        sample(&paid, "process_resident_memory_bytes").unwrap() > 1e6,
        "the process's memory, in bytes"
    );
    host.kill().unwrap();
    host.wait().unwrap();
}

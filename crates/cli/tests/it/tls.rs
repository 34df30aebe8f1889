//! The agents and the client through TLS endpoints, as with a hosted RPC provider: a host
//! answers through `https://`, the client reads through `wss://`, both trusting a self-signed
//! certificate through `SSL_CERT_FILE`; without it the certificate is refused with a hint.

use crate::common;

use std::{
    net::SocketAddr,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    },
};

/// A TLS terminator in front of `upstream` (Anvil, which speaks HTTP and WebSocket on one
/// port), serving `certificate`. Counts the handshakes it completed.
async fn tls_proxy(
    upstream: SocketAddr,
    certificate: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (u16, Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![certificate], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicU64::new(0));
    let counter = handshakes.clone();
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (acceptor, counter) = (acceptor.clone(), counter.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to relay.
                let Ok(mut client) = acceptor.accept(client).await else {
                    return;
                };
                counter.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut node) = TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut node).await;
                }
            });
        }
    });
    (port, handshakes, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_answers_through_https_and_the_client_reads_through_wss() {
    let (devnet, dir, deployment) = common::devnet_with_file().await;

    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, certified.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let upstream: SocketAddr = ([127, 0, 0, 1], devnet.anvil.port()).into();
    let (port, handshakes, proxy) = tls_proxy(upstream, certified.cert.der().clone(), key).await;
    let https = format!("https://127.0.0.1:{port}");
    let wss = format!("wss://127.0.0.1:{port}");
    let ecm = |args: &[&str], url: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecm"));
        command
            .args(args)
            .arg("--deployment")
            .arg(&deployment)
            .args(["--rpc-url", url])
            .env_remove("SSL_CERT_DIR")
            .env("RUST_LOG", "warn");
        command
    };

    // Not trusted: refused, saying how to trust it.
    let refused = ecm(&["client", "balance", "--dev-account", "host"], &https)
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("certificate") && stderr.contains("SSL_CERT_FILE"),
        "{stderr}"
    );
    assert_eq!(handshakes.load(Ordering::Relaxed), 0);

    // Trusted: a host through https answers a request.
    let mut host = ecm(
        &[
            "host",
            "run",
            "--dev-account",
            "host",
            "--program",
            "fibonacci",
            "--poll-ms",
            "50",
        ],
        &https,
    )
    .arg("--data-dir")
    .arg(dir.path().join("host"))
    .env("SSL_CERT_FILE", &ca)
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let requester = common::requester(&devnet.deployment).await;
    let id = requester
        .request(common::fibonacci("30", 10))
        .await
        .unwrap();
    common::wait_answered(&requester, id, Duration::from_secs(60)).await;
    host.kill().unwrap();
    host.wait().unwrap();
    assert!(handshakes.load(Ordering::Relaxed) > 0);

    // Trusted: the client reads the answer through wss.
    let before = handshakes.load(Ordering::Relaxed);
    let status = ecm(&["client", "status", &id.to_string(), "--json"], &wss)
        .env("SSL_CERT_FILE", &ca)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let host: alloy::primitives::Address = status["host"].as_str().unwrap().parse().unwrap();
    assert_eq!(host, devnet.deployment.account("host").unwrap().address);
    assert!(
        handshakes.load(Ordering::Relaxed) > before,
        "the read went through wss"
    );
    proxy.abort();
}

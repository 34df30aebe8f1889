//! Reputation through the real agents: the Broker counts each host's jobs paid, and a request
//! admitting only hosts with a record is left alone by a newcomer (which computes nothing, sends
//! nothing and fails no action: it does not even try) and answered by a host whose record
//! meets it.

use alloy::providers::Provider;
use ecm_agent::Roles;
use ecm_anvil_tests::{AgentHandle, ETHER, TestNet, eventually, metric, request};
use ecm_client::{Record, Status};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_admitting_only_a_record_is_answered_by_the_veteran_not_the_newcomer() {
    let net = TestNet::start(100).await;
    let miner = net.miner(Duration::from_millis(100)).await;
    let requester = net.client("requester").await;
    let (veteran, newcomer) = (net.address("host"), net.address("spare-1"));

    // The veteran earns a record: one job paid.
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let first = requester
        .request(request("fibonacci", "10", ETHER / 100, 3))
        .await
        .unwrap();
    eventually("the first job paid", Duration::from_secs(60), || async {
        (requester.status(first).await.unwrap().status == Status::Finalized).then_some(())
    })
    .await;
    host.stop().await.unwrap();
    let record = requester.record(veteran).await.unwrap();
    assert_eq!((record.answered, record.paid), (1, 1), "{record:?}");
    assert_eq!(requester.record(newcomer).await.unwrap(), Record::default());

    // A request admitting hosts with a job paid: the newcomer takes it in, computes nothing
    // and sends nothing.
    let mut admitting = request("fibonacci", "12", ETHER / 100, 3);
    admitting.min_host_jobs = 1;
    let id = requester.request(admitting).await.unwrap();
    assert_eq!(requester.status(id).await.unwrap().min_host_jobs, 1);
    let metrics_port = ecm_devnet::free_port().unwrap();
    let mut config = net.agent_config("spare-1", Roles::HOST);
    config.metrics = Some(([127, 0, 0, 1], metrics_port).into());
    let newcomer_agent = AgentHandle::spawn(config);
    let store_dir = net.data_dir("spare-1");
    eventually("the newcomer's job", Duration::from_secs(30), || async {
        let store = ecm_agent::JobStore::open(&store_dir).ok()?;
        store.job(id).ok()?.map(|_| ())
    })
    .await;
    // Several decisions later (a tick is 50 ms; a stale job is looked at every 5 s).
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(requester.status(id).await.unwrap().status, Status::Pending);
    let job = ecm_agent::JobStore::open(&store_dir)
        .unwrap()
        .job(id)
        .unwrap()
        .unwrap();
    assert!(
        job.claim.is_none() && job.trace.is_none(),
        "the newcomer computed a request it cannot answer: {job:?}"
    );
    let provider = requester.chain().provider();
    assert_eq!(
        provider.get_transaction_count(newcomer).await.unwrap(),
        0,
        "the newcomer sent no transaction"
    );
    assert_eq!(
        metric(metrics_port, "ecm_actions_failed_total"),
        0.0,
        "the newcomer tried to answer"
    );

    // The veteran, back, answers it and is paid.
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let s = eventually(
        "the admitted host's payout",
        Duration::from_secs(60),
        || async {
            let s = requester.status(id).await.unwrap();
            (s.status == Status::Finalized).then_some(s)
        },
    )
    .await;
    assert_eq!(s.host, Some(veteran));
    host.stop().await.unwrap();
    newcomer_agent.stop().await.unwrap();
    drop(miner);
    let record = requester.record(veteran).await.unwrap();
    assert_eq!((record.answered, record.paid), (2, 2), "{record:?}");
    assert!(record.meets(2) && !record.meets(3));
    assert_eq!(provider.get_transaction_count(newcomer).await.unwrap(), 0);
}

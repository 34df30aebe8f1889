//! Reorganisations (Anvil's `anvil_reorg`): an agent with `confirmations` takes in only what is
//! that deep, and recovers when a deeper reorganisation removes its own answer.

use alloy::{
    primitives::U256,
    providers::{DynProvider, ext::AnvilApi},
    rpc::types::anvil::ReorgOptions,
};
use ecm_agent::{JobStore, Roles};
use ecm_anvil_tests::{
    AgentHandle, ETHER, TestNet, assert_paid_and_no_deposit_lost, eventually, request,
};
use ecm_client::Status;
use std::time::Duration;

async fn reorg(provider: &DynProvider, depth: u64) {
    provider
        .anvil_reorg(ReorgOptions {
            depth,
            tx_block_pairs: vec![],
        })
        .await
        .expect("anvil_reorg");
}

/// Reorganises back to just before the chain's first `AnswerCommitted`.
async fn reorg_away_the_first_commitment(client: &ecm_client::Client, provider: &DynProvider) {
    let chain = client.chain();
    let committed_in = chain
        .broker_logs(0, chain.block_number().await.unwrap())
        .await
        .unwrap()
        .into_iter()
        .find(|log| {
            matches!(
                log.event,
                ecm_bindings::Broker::BrokerEvents::AnswerCommitted(_)
            )
        })
        .expect("a commitment on the chain")
        .block;
    let head = chain.block_number().await.unwrap();
    reorg(provider, head - committed_in + 1).await;
}

async fn request_count(net: &TestNet) -> u64 {
    let client = net.client("deployer").await;
    let count = client
        .chain()
        .call("requestCount", client.chain().broker().requestCount())
        .await
        .unwrap();
    u64::try_from(count).unwrap()
}

const CONFIRMATIONS: u64 = 3;

/// A request that a reorganisation removes while it is less than `confirmations` deep is
/// never taken in: the request that gets its id on the new chain, with another input, is
/// answered for its own input. (An agent without confirmations would have kept the vanished
/// request's input under that id, and answered the new request with the old one's result.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_removed_by_a_reorg_is_never_taken_in() {
    let net = TestNet::start(600).await;
    let mut config = net.agent_config("host", Roles::HOST);
    config.confirmations = CONFIRMATIONS;
    let host = AgentHandle::spawn(config);
    let provider = net.client("deployer").await.chain().provider().clone();

    let vanishing = net.client("requester").await;
    let id = vanishing
        .request(request("fibonacci", "10", ETHER / 100, 5))
        .await
        .unwrap();
    net.mine(1).await; // two blocks deep
    // The host has read every block it may: all but the last three.
    let head = vanishing.chain().block_number().await.unwrap();
    eventually("the host's reading", Duration::from_secs(30), || async {
        let store = JobStore::open(&net.data_dir("host")).ok()?;
        (store.cursor() >= head - CONFIRMATIONS).then_some(())
    })
    .await;
    reorg(&provider, 2).await;
    assert_eq!(request_count(&net).await, 0, "the request is gone");

    // A new client: the old one's cached nonce belongs to the vanished chain.
    let requester = net.client("requester").await;
    let again = requester
        .request(request("fibonacci", "20", ETHER / 100, 5))
        .await
        .unwrap();
    assert_eq!(again, id, "the new request takes the vanished one's id");
    // Blocks keep coming, so that the host's commitment gets deep enough to reveal it.
    let miner = net.miner(Duration::from_millis(100)).await;
    eventually("the answer", Duration::from_secs(60), || async {
        (requester.status(id).await.unwrap().status == Status::WaitingForResolution).then_some(())
    })
    .await;
    assert!(
        requester.replay(id).await.unwrap().matches,
        "answered for the new request's input"
    );
    net.mine(CONFIRMATIONS).await; // the host's answer confirmed: nothing left in flight
    host.stop().await.unwrap();
    drop(miner);
    let store = JobStore::open(&net.data_dir("host")).unwrap();
    let job = store.job(id).unwrap().unwrap();
    assert_eq!(
        job.input,
        ecm_programs::by_name("fibonacci")
            .unwrap()
            .parse_input("20")
            .unwrap()
    );
}

/// An answer that a reorganisation deeper than the host's confirmations removes, with the
/// commitment that staked its deposit, after the host counted both sent: the host finds the
/// request pending again, answers again and is paid once, and its ledger forgets the deposit
/// and fee of the vanished transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_removed_by_a_reorg_is_sent_again_and_paid_once() {
    let net = TestNet::start(600).await;
    let provider = net.client("deployer").await.chain().provider().clone();
    // Blocks keep coming (a chain does), so confirmations do; paused around the reorg.
    let miner = net.miner(Duration::from_millis(100)).await;
    let mut config = net.agent_config("host", Roles::HOST);
    config.confirmations = 2;
    let host = AgentHandle::spawn(config);
    let requester = net.client("requester").await;
    let payment = ETHER / 100;
    let id = requester
        .request(request("fibonacci", "30", payment, 20))
        .await
        .unwrap();

    // The host counts its answer sent once it is two blocks deep: its job records it.
    eventually(
        "the answer, counted sent",
        Duration::from_secs(60),
        || async {
            let store = JobStore::open(&net.data_dir("host")).ok()?;
            let job = store.job(id).ok()??;
            job.log
                .iter()
                .any(|l| l.starts_with("revealed"))
                .then_some(())
        },
    )
    .await;
    miner.pause().await;
    reorg_away_the_first_commitment(&requester, &provider).await;
    assert_eq!(
        requester.status(id).await.unwrap().status,
        Status::Pending,
        "the answer is gone, the request is not"
    );
    miner.resume();

    let settled = eventually("the payout", Duration::from_secs(120), || async {
        let s = requester.status(id).await.unwrap();
        (s.status == Status::Finalized).then_some(s)
    })
    .await;
    assert_eq!(settled.host, Some(net.address("host")));
    assert_eq!(net.answered_ids().await, [id], "one answer on the chain");
    assert_paid_and_no_deposit_lost(&net.data_dir("host"), U256::from(payment), 1).await;
    host.stop().await.unwrap();
    drop(miner);
    let store = JobStore::open(&net.data_dir("host")).unwrap();
    let log = store.job(id).unwrap().unwrap().log;
    assert!(
        log.iter()
            .any(|l| l.contains("vanished in a reorganisation")),
        "{log:?}"
    );
}

/// The host stops (a crash, a lost store) after its commitment and reveal landed and before it
/// recorded them; restarted on an empty store, it finds its deposit on the request and the
/// commitment that put it there in the request's logs. A reorganisation then removes both: the
/// ledger forgets the deposit (never taken) rather than counting it lost, and the host answers
/// again and is paid once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_the_host_never_recorded_and_a_reorg_removes_is_not_counted_lost() {
    let net = TestNet::start(600).await;
    let provider = net.client("deployer").await.chain().provider().clone();
    let miner = net.miner(Duration::from_millis(100)).await;
    let config = || {
        let mut config = net.agent_config("host", Roles::HOST);
        config.confirmations = 2;
        config
    };
    let host = AgentHandle::spawn(config());
    let requester = net.client("requester").await;
    let payment = ETHER / 100;
    let id = requester
        .request(request("fibonacci", "30", payment, 20))
        .await
        .unwrap();
    eventually("the answer", Duration::from_secs(60), || async {
        let status = requester.status(id).await.unwrap().status;
        status.has_answer().then_some(())
    })
    .await;
    host.kill();

    let mut restored = config();
    restored.data_dir = net.data_dir("host-restored");
    let host = AgentHandle::spawn(restored);
    eventually(
        "the unrecorded deposit found",
        Duration::from_secs(60),
        || async {
            let store = JobStore::open(&net.data_dir("host-restored")).ok()?;
            let job = store.job(id).ok()??;
            job.deposit.is_some().then_some(())
        },
    )
    .await;
    let store = JobStore::open(&net.data_dir("host-restored")).unwrap();
    let staked = store.ledger().unwrap();
    assert!(
        staked
            .iter()
            .any(|e| e.movement == ecm_agent::Movement::Staked && e.tx.is_some()),
        "the deposit is recorded with the transaction that staked it: {staked:?}"
    );
    drop(store);

    miner.pause().await;
    reorg_away_the_first_commitment(&requester, &provider).await;
    assert_eq!(requester.status(id).await.unwrap().status, Status::Pending);
    miner.resume();
    eventually("the payout", Duration::from_secs(120), || async {
        (requester.status(id).await.unwrap().status == Status::Finalized).then_some(())
    })
    .await;
    assert_eq!(net.answered_ids().await, [id], "one answer on the chain");
    assert_paid_and_no_deposit_lost(&net.data_dir("host-restored"), U256::from(payment), 1).await;
    host.stop().await.unwrap();
    drop(miner);
}

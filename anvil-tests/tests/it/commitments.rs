//! Answers by commitment and reveal, on a real chain: the agents' commitment is the Broker's,
//! and a commitment nobody reveals (a griefer holding the request) is ended by the host, who
//! then answers and is paid while the griefer's deposit goes to the requester.

use alloy::primitives::{Address, B256, U256};
use ecm_agent::Roles;
use ecm_anvil_tests::{AgentHandle, ETHER, TestNet, eventually, finalized, request};
use ecm_client::Status;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_commitment_agents_compute_is_the_brokers() {
    let net = TestNet::start(100).await;
    let client = net.client("deployer").await;
    let broker = client.chain().broker();
    for k in 0..8u8 {
        let id = U256::from(k) * U256::from(u64::MAX) + U256::from(7);
        let claim = B256::repeat_byte(k.wrapping_mul(37));
        let steps = u64::MAX / 3 + u64::from(k);
        let host = Address::repeat_byte(0xa0 | k);
        let salt = B256::repeat_byte(0x5a ^ k);
        let on_chain = client
            .chain()
            .call(
                "answerCommitment",
                broker.answerCommitment(id, claim, steps, host, salt),
            )
            .await
            .unwrap();
        assert_eq!(
            ecm_primitives::answer_commitment(id, claim, steps, host, salt),
            on_chain
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commitment_nobody_reveals_is_ended_and_the_host_is_paid() {
    let net = TestNet::start(100).await;
    let requester = net.client("requester").await;
    let id = requester
        .request(request("fibonacci", "10", ETHER / 100, 3))
        .await
        .unwrap();
    // A griefer (the cheater's account) holds the request with a commitment it never reveals.
    let griefer = net.client("cheater").await;
    let deposit = griefer
        .chain()
        .call(
            "requiredDeposit",
            griefer.chain().broker().requiredDeposit(U256::from(id)),
        )
        .await
        .unwrap();
    let call = griefer
        .chain()
        .broker()
        .commitAnswer(U256::from(id), B256::repeat_byte(1))
        .value(deposit);
    griefer.chain().send("commitAnswer", call).await.unwrap();
    assert_eq!(
        requester.status(id).await.unwrap().status,
        Status::Committed
    );

    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    // The host waits out the reveal deadline, ends the commitment, commits, reveals, and
    // resolves its answer after the window.
    net.mine(257).await;
    eventually("the host's answer", Duration::from_secs(60), || async {
        let s = requester.status(id).await.unwrap();
        (s.status == Status::WaitingForResolution).then_some(())
    })
    .await;
    net.mine(4).await;
    finalized(&requester, id, "the payout", Duration::from_secs(60)).await;
    host.stop().await.unwrap();
    let s = requester.status(id).await.unwrap();
    assert_eq!(s.host, Some(net.address("host")));
    // The griefer's deposit is the requester's.
    assert_eq!(
        requester.credited(net.address("requester")).await.unwrap(),
        deposit
    );
    assert_eq!(
        requester.credited(net.address("cheater")).await.unwrap(),
        U256::ZERO
    );
}

//! The request lifecycle with real agents on a real Anvil: honest job, cancel, soft resolution
//! by the requester and by timeout, with every party's balances.

use alloy::primitives::U256;
use ecm_anvil_tests::*;
use ecm_client::Status;
use ecm_host::Roles;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_job_is_answered_accepted_and_paid() {
    let net = TestNet::start(100).await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let requester = net.client("requester").await;
    let payment = ETHER / 10;
    let host_before = net.balance(net.address("host")).await;

    let id = requester.request(request("fibonacci", "60", payment, 5)).await.unwrap();
    let answered = eventually("the answer", Duration::from_secs(60), || async {
        let s = requester.status(id).await.unwrap();
        (s.status == Status::WaitingForResolution).then_some(s)
    })
    .await;
    assert_eq!(answered.result_display.as_deref(), Some("2504730781961"));
    assert_eq!(answered.host, Some(net.address("host")));
    assert_eq!(answered.steps, 61);

    requester.accept(id).await.unwrap();
    let settled = eventually("payout", Duration::from_secs(60), || async {
        let s = requester.status(id).await.unwrap();
        (s.status == Status::Finalized).then_some(s)
    })
    .await;
    assert_eq!(settled.host, Some(net.address("host")));
    // The host withdraws on its own: it ends up with the payment, less its gas.
    let host_after = eventually("the host's withdrawal", Duration::from_secs(60), || async {
        let credited = requester.credited(net.address("host")).await.unwrap();
        let balance = net.balance(net.address("host")).await;
        (credited.is_zero() && balance > host_before).then_some(balance)
    })
    .await;
    assert!(host_after - host_before < U256::from(payment));
    assert!(host_after - host_before > U256::from(payment * 9 / 10), "gas is small next to the payment");
    host.stop().await.unwrap();
}

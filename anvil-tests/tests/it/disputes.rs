//! Disputes played by the real agents: a cheating host caught by bisection wherever it lies,
//! a false challenge defeated, each side losing by timeout, and full re-execution's outcomes.

use alloy::primitives::U256;
use ecm_agent::{Cheat, JobStore, Roles};
use ecm_anvil_tests::*;
use ecm_client::Status;
use std::time::Duration;

const PAYMENT: u128 = ETHER / 10;

/// Runs a cheating host (lying as `cheat` says) against an honest challenger on a keccak chain
/// of 200 steps; checks the challenger's answer stands, is paid, and balances add up.
async fn cheater_is_caught(cheat: Cheat) {
    let net = TestNet::start(100).await;
    let mut cheater = net.agent_config("cheater", Roles::HOST);
    cheater.cheat = Some(cheat);
    let cheater = AgentHandle::spawn(cheater);
    let challenger = AgentHandle::spawn(net.agent_config("challenger", Roles::CHALLENGER));
    let requester = net.client("requester").await;

    let id = requester
        .request(request("keccak-chain", "200", PAYMENT, 20))
        .await
        .unwrap();
    let deposit = requester.status(id).await.unwrap().deposit;
    let won = eventually("the challenger's win", Duration::from_secs(120), || async {
        let s = requester.status(id).await.unwrap();
        (s.host == Some(net.address("challenger")) && s.status == Status::WaitingForResolution)
            .then_some(s)
    })
    .await;
    // The true result stands.
    let spec = ecm_programs::by_name("keccak-chain").unwrap();
    let mut state = spec.parse_input("200").unwrap();
    let mut i = 1;
    while !(spec.native)(i, &mut state) {
        i += 1;
    }
    assert_eq!(won.result.map(|r| r.to_vec()), Some(state));
    // The cheater's record follows the chain: its deposit is no longer locked once its answer is
    // overturned, while the job waits for the request's end; the challenger's now backs the
    // standing answer.
    eventually(
        "the cheater's forfeited deposit",
        Duration::from_secs(30),
        || async {
            let store = JobStore::open(&net.data_dir("cheater")).ok()?;
            let job = store.job(id).ok()??;
            (job.is_engaged() && job.deposit.is_none()).then_some(())
        },
    )
    .await;
    let store = JobStore::open(&net.data_dir("challenger")).unwrap();
    assert_eq!(store.job(id).unwrap().unwrap().deposit, Some(deposit));
    // The winner has the caught host counted at once (`countDispute`), not at the payout a
    // window later: host admission elsewhere sees the lost defence now.
    let record = eventually(
        "the cheater's lost defence counted",
        Duration::from_secs(30),
        || async {
            let r = requester.record(net.address("cheater")).await.unwrap();
            (r.defences_lost == 1).then_some(r)
        },
    )
    .await;
    assert_eq!(record.paid, 0, "{record:?}");
    assert_eq!(
        requester.status(id).await.unwrap().status,
        Status::WaitingForResolution,
        "counted before the payout"
    );
    assert_eq!(
        requester
            .record(net.address("challenger"))
            .await
            .unwrap()
            .challenges_won,
        1
    );

    net.mine(25).await; // past the fresh window
    let settled = finalized(&requester, id, "payout", Duration::from_secs(60)).await;
    assert_eq!(settled.host, Some(net.address("challenger")));
    // The requester got half the cheater's deposit for the delay.
    assert_eq!(
        requester.credited(net.address("requester")).await.unwrap(),
        deposit - deposit / U256::from(2)
    );
    // The challenger: payment + its deposit back + half the cheater's (withdrawn by its agent).
    eventually(
        "the challenger's withdrawal",
        Duration::from_secs(30),
        || async {
            requester
                .credited(net.address("challenger"))
                .await
                .unwrap()
                .is_zero()
                .then_some(())
        },
    )
    .await;
    cheater.stop().await.unwrap();
    challenger.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheating_host_caught_lie_at_first_step() {
    cheater_is_caught(Cheat::AtStep(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheating_host_caught_lie_at_middle_step() {
    cheater_is_caught(Cheat::AtStep(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheating_host_caught_lie_at_last_step() {
    cheater_is_caught(Cheat::LastStep).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn false_challenge_is_defeated() {
    let net = TestNet::start(100).await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let mut liar = net.agent_config("cheater", Roles::CHALLENGER);
    liar.cheat = Some(Cheat::AtStep(50));
    let liar = AgentHandle::spawn(liar);
    let requester = net.client("requester").await;

    let id = requester
        .request(request("keccak-chain", "120", PAYMENT, 20))
        .await
        .unwrap();
    let deposit = requester.status(id).await.unwrap().deposit;
    // The liar challenges, loses the game, and the host's answer stands with a fresh window;
    // the liar's deposit is split at finalize.
    let s = eventually("the dispute to end", Duration::from_secs(120), || async {
        let s = requester.status(id).await.unwrap();
        (s.disputes == 1).then_some(s)
    })
    .await;
    assert_eq!(s.host, Some(net.address("host")));
    assert_eq!(s.host_wins, 1);
    assert!(
        requester
            .credited(net.address("requester"))
            .await
            .unwrap()
            .is_zero()
    );
    assert!(
        requester.replay(id).await.unwrap().matches,
        "the standing answer is the true one"
    );
    net.mine(25).await;
    finalized(&requester, id, "payout", Duration::from_secs(60)).await;
    assert_eq!(
        requester.credited(net.address("requester")).await.unwrap(),
        deposit - deposit / U256::from(2),
        "the requester's half of the liar's deposit, at finalize"
    );
    host.stop().await.unwrap();
    liar.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_defender_loses_by_timeout() {
    let net = TestNet::start(30).await;
    let mut cheater = net.agent_config("cheater", Roles::HOST);
    cheater.cheat = Some(Cheat::LastStep);
    let cheater = AgentHandle::spawn(cheater);
    let requester = net.client("requester").await;
    let id = requester
        .request(request("counter", "500", PAYMENT, 20))
        .await
        .unwrap();
    eventually("the wrong answer", Duration::from_secs(60), || async {
        (requester.status(id).await.unwrap().status == Status::WaitingForResolution).then_some(())
    })
    .await;
    cheater.kill(); // the defender goes offline before anyone challenges
    let challenger = AgentHandle::spawn(net.agent_config("challenger", Roles::CHALLENGER));
    eventually("the game to start", Duration::from_secs(60), || async {
        (requester.status(id).await.unwrap().status == Status::Resolving).then_some(())
    })
    .await;
    net.mine(31).await; // past the defender's clock
    let s = eventually("the timeout", Duration::from_secs(60), || async {
        let s = requester.status(id).await.unwrap();
        (s.host == Some(net.address("challenger"))).then_some(s)
    })
    .await;
    assert_eq!(s.status, Status::WaitingForResolution);
    challenger.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_challenger_loses_by_timeout() {
    let net = TestNet::start(30).await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let requester = net.client("requester").await;
    let id = requester
        .request(request("counter", "500", PAYMENT, 20))
        .await
        .unwrap();
    eventually("the answer", Duration::from_secs(60), || async {
        (requester.status(id).await.unwrap().status == Status::WaitingForResolution).then_some(())
    })
    .await;
    // A challenger that starts a dispute, then never moves.
    let griefer = net.client("cheater").await;
    let broker = griefer.chain().broker();
    let deposit = griefer.status(id).await.unwrap().deposit;
    let wrong = ecm_programs::by_name("counter")
        .unwrap()
        .parse_input("7")
        .unwrap();
    griefer
        .chain()
        .send(
            "challenge",
            broker
                .challengeAnswer_0(U256::from(id), wrong.into(), 500)
                .value(deposit),
        )
        .await
        .unwrap();
    griefer
        .chain()
        .send("start", broker.initializeDispute(U256::from(id)))
        .await
        .unwrap();
    eventually("the host's bisection", Duration::from_secs(60), || async {
        let s = requester.status(id).await.unwrap();
        s.game.filter(|g| g.mover == "challenger").map(|_| ())
    })
    .await;
    net.mine(31).await;
    eventually(
        "the host's timeout claim",
        Duration::from_secs(60),
        || async {
            let s = requester.status(id).await.unwrap();
            (s.status == Status::WaitingForResolution && s.host == Some(net.address("host")))
                .then_some(())
        },
    )
    .await;
    let s = requester.status(id).await.unwrap();
    assert_eq!((s.disputes, s.host_wins), (1, 1));
    net.mine(25).await; // past the fresh window: the host resolves and finalizes
    finalized(&requester, id, "payout", Duration::from_secs(60)).await;
    assert_eq!(
        requester.credited(net.address("requester")).await.unwrap(),
        deposit - deposit / U256::from(2)
    );
    host.stop().await.unwrap();
}

/// A full re-execution request for Fibonacci(100), disputed by the given agents.
async fn full_execution(
    host_cheat: Option<Cheat>,
    challenger_cheat: Option<Cheat>,
) -> (TestNet, u64, U256) {
    let net = TestNet::start(100).await;
    let mut host = net.agent_config("host", Roles::HOST);
    host.cheat = host_cheat;
    let mut challenger = net.agent_config("challenger", Roles::CHALLENGER);
    challenger.cheat = challenger_cheat;
    let host = AgentHandle::spawn(host);
    let requester = net.client("requester").await;
    let mut new = request("fibonacci", "100", PAYMENT, 20);
    new.mode = DisputeMode::FullExecution;
    new.max_steps = Some(200);
    new.max_gas_price = Some(1_000_000_000);
    let id = requester.request(new).await.unwrap();
    eventually("the answer", Duration::from_secs(60), || async {
        (requester.status(id).await.unwrap().status == Status::WaitingForResolution).then_some(())
    })
    .await;
    let challenger = AgentHandle::spawn(challenger);
    eventually("the firm resolution", Duration::from_secs(120), || async {
        let s = requester.status(id).await.unwrap().status;
        matches!(s, Status::FirmResolution | Status::Finalized).then_some(())
    })
    .await;
    let deposit = requester.status(id).await.unwrap().deposit;
    host.stop().await.unwrap();
    challenger.stop().await.unwrap();
    (net, id, deposit)
}

use ecm_client::DisputeMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_execution_host_right() {
    let (net, id, _) = full_execution(None, Some(Cheat::LastStep)).await;
    let requester = net.client("requester").await;
    let s = requester.status(id).await.unwrap();
    assert_eq!(s.host, Some(net.address("host")));
    assert_eq!(s.result_display.as_deref(), Some("573147844013817084101"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_execution_challenger_right() {
    let (net, id, _) = full_execution(Some(Cheat::LastStep), None).await;
    let requester = net.client("requester").await;
    let s = requester.status(id).await.unwrap();
    assert_eq!(s.host, Some(net.address("challenger")));
    assert_eq!(s.result_display.as_deref(), Some("573147844013817084101"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_execution_neither_right_refunds_the_requester() {
    let (net, id, deposit) = full_execution(Some(Cheat::LastStep), Some(Cheat::AtStep(40))).await;
    let requester = net.client("requester").await;
    let s = requester.status(id).await.unwrap();
    assert_eq!(s.host, None, "nobody's answer stands");
    if s.status == Status::FirmResolution {
        requester.finalize(id).await.unwrap();
    }
    // Payment back, plus both deposits less the gas reimbursed to whoever drove the execution.
    let credited = requester.credited(net.address("requester")).await.unwrap();
    assert!(credited > U256::from(PAYMENT) + deposit, "{credited}");
    assert!(credited < U256::from(PAYMENT) + deposit * U256::from(2));
}

/// Kills `victim`'s agent once the game is past its first round, restarts it on the same job
/// store, and checks the honest side still wins. The other side polls slowly, so the game lasts.
async fn restart_mid_game(honest_role: &str, honest: Roles, liar_role: &str, liar: Roles) {
    let net = TestNet::start(10_000).await;
    let mut liar_config = net.agent_config(liar_role, liar);
    liar_config.cheat = Some(Cheat::AtStep(1000));
    liar_config.poll_interval = Duration::from_millis(700);
    let liar_agent = AgentHandle::spawn(liar_config);
    let honest_agent = AgentHandle::spawn(net.agent_config(honest_role, honest));
    let requester = net.client("requester").await;
    // Honest side second, so that the host's role fits: the liar answers or challenges first.
    let id = requester
        .request(request("keccak-chain", "5000", PAYMENT, 30))
        .await
        .unwrap();
    eventually(
        "the first round to end",
        Duration::from_secs(120),
        || async {
            let s = requester.status(id).await.unwrap();
            s.game.filter(|g| g.hi - g.lo < 5000).map(|_| ())
        },
    )
    .await;
    honest_agent.kill();
    let s = requester.status(id).await.unwrap();
    assert_eq!(
        s.status,
        Status::Resolving,
        "killed in the middle of the game"
    );
    let honest_agent = AgentHandle::spawn(net.agent_config(honest_role, honest));
    let s = eventually(
        "the honest side's win",
        Duration::from_secs(120),
        || async {
            let s = requester.status(id).await.unwrap();
            (s.status == Status::WaitingForResolution && s.host == Some(net.address(honest_role)))
                .then_some(s)
        },
    )
    .await;
    assert!(requester.replay(id).await.unwrap().matches);
    assert_eq!(s.host, Some(net.address(honest_role)));
    honest_agent.stop().await.unwrap();
    liar_agent.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenger_restarted_mid_game_still_wins() {
    restart_mid_game("challenger", Roles::CHALLENGER, "cheater", Roles::HOST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_restarted_mid_game_still_wins() {
    restart_mid_game("host", Roles::HOST, "cheater", Roles::CHALLENGER).await;
}

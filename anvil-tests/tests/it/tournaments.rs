//! Tournament-mode disputes on a real Anvil: through the Broker's fallback into its
//! `BrokerTournaments` module (calls, gas estimates, events), read as the agents read them
//! (`ecm_agent::tournament`). The parties act by hand here, each step checked against what the
//! agents would decide; `tournament_agents` has the agents play.

use alloy::primitives::{Address, B256, U256};
use ecm_agent::tournament::{self, Situation, Step, game_key};
use ecm_anvil_tests::{ETHER, TestNet, request};
use ecm_client::{Client, DisputeMode, Status};

async fn steps(client: &Client, id: u64, me: Address, claim: B256) -> Vec<Step> {
    let chain = client.chain();
    let block = chain.block_number().await.unwrap();
    let t = tournament::read(chain, U256::from(id), me, false, block)
        .await
        .unwrap();
    let situation = Situation {
        me,
        claim,
        block,
        margin: 0,
        tournament: &t,
    };
    tournament::next_steps(&situation).0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tournament_is_played_through_the_broker_and_read_as_the_agents_decide() {
    // The default maxSteps (2^40) needs 22 blocks of clock at arity 16.
    let clock = 30;
    let net = TestNet::start(clock).await;
    let requester = net.client("requester").await;
    let mut new = request("counter", "5", ETHER / 100, 12);
    new.mode = DisputeMode::Tournament;
    let id = requester.request(new).await.unwrap();
    let deposit = requester.status(id).await.unwrap().deposit;
    let counter = ecm_programs::by_name("counter").unwrap();
    let claim_of = |n: &str| counter.parse_input(n).unwrap();

    // A wrong answer, then two claims against it: the honest challenger's and a puppet's.
    let host = net.client("host").await;
    let broker = host.chain().broker();
    let call = broker
        .answerRequest_1(U256::from(id), claim_of("7").into(), 5, true)
        .value(deposit);
    host.chain().send("answer", call).await.unwrap();
    let challenger = net.client("challenger").await;
    let puppet = net.client("cheater").await;
    for (client, n) in [(&challenger, "5"), (&puppet, "9")] {
        let call = client
            .chain()
            .broker()
            .challengeAnswer_1(U256::from(id), claim_of(n).into(), 5, true)
            .value(deposit);
        client.chain().send("challenge", call).await.unwrap();
    }
    let status = requester.status(id).await.unwrap();
    assert_eq!(status.status, Status::Resolving);
    let summary = status.tournament.expect("the client shows the tournament");
    assert_eq!(
        (summary.entries, summary.standing_claims, summary.over),
        (3, 3, false)
    );

    // The host's view: three entries, two games it defends, its moves due in both.
    let (host_address, honest) = (net.address("host"), net.address("challenger"));
    let now = host.chain().block_number().await.unwrap();
    let t = tournament::read(host.chain(), U256::from(id), host_address, false, now)
        .await
        .unwrap();
    assert_eq!(t.entries.len(), 3);
    assert_eq!(
        t.entries.iter().map(|e| e.party).collect::<Vec<_>>(),
        [host_address, honest, net.address("cheater")]
    );
    let host_claim = t.entries[0].claim;
    let honest_claim = t.entries[1].claim;
    assert_eq!(
        steps(&host, id, host_address, host_claim).await,
        [
            Step::Bisect {
                game: game_key(0, 1)
            },
            Step::Bisect {
                game: game_key(0, 2)
            }
        ]
    );
    // The honest challenger's view: the puppet's claim differs from its own; challenge it.
    let due = steps(&challenger, id, honest, honest_claim).await;
    assert_eq!(due, [Step::ChallengeEntry { ours: 1, theirs: 2 }]);
    let tournaments = challenger.chain().tournaments();
    challenger
        .chain()
        .send(
            "challengeEntry",
            tournaments.challengeEntry(U256::from(id), 1, 2),
        )
        .await
        .unwrap();

    // Nobody else moves: once the clocks run out, the honest challenger claims both timeouts.
    net.mine(u64::from(clock) + 2).await;
    let due = steps(&challenger, id, honest, honest_claim).await;
    let timeouts = [game_key(0, 1), game_key(1, 2)];
    assert_eq!(due, timeouts.map(|game| Step::Timeout { game }));
    for game in timeouts {
        let call = tournaments.claimTimeout(U256::from(id), U256::from(game));
        challenger.chain().send("claimTimeout", call).await.unwrap();
    }

    // One claim stands: settled once the entries close, then the honest entry collects.
    net.mine(12).await;
    let due = steps(&challenger, id, honest, honest_claim).await;
    assert_eq!(due, [Step::Settle { standing: 1 }]);
    let call = tournaments.settleTournament(U256::from(id), 1);
    challenger.chain().send("settle", call).await.unwrap();
    let status = requester.status(id).await.unwrap();
    assert_eq!(status.status, Status::Finalized);
    let call = tournaments.collectEntry(U256::from(id), 1);
    challenger.chain().send("collect", call).await.unwrap();
    let broker = challenger.chain().broker();
    let owed = challenger
        .chain()
        .call("balanceOf", broker.balanceOf(honest))
        .await
        .unwrap();
    // The payment, its deposit back, and half of each of the two deposits it took.
    assert_eq!(
        owed,
        U256::from(ETHER / 100) + deposit + deposit / U256::from(2) * U256::from(2)
    );
}

//! Tournament-mode disputes played by the real agents. The measure runs on a chain that mines
//! a block every 100 ms (with every transaction sent meanwhile): a cheating host, the honest
//! challenger, and puppets entering wrong claims of their own at the window's last blocks and
//! never moving. The honest challenger challenges every puppet at once, so the blocks from the
//! answer to the settlement do not grow with their number (issue 15, finding 10). Then: an
//! honest host against puppet challenges, a restart mid-tournament, a machine program.

use alloy::primitives::U256;
use ecm_agent::{Cheat, JobStore, Outcome, Roles, Stance};
use ecm_anvil_tests::*;
use ecm_bindings::Broker::BrokerEvents;
use ecm_client::{DisputeMode, Status};
use std::time::Duration;

const PAYMENT: u128 = ETHER / 10;
const CLOCK: u32 = 30;
const WINDOW: u64 = 40;

/// Plays one tournament with `puppets` puppet entries; returns the blocks from the answer to
/// the settlement, after checking who was paid what.
async fn tournament_with_puppets(puppets: u64) -> u64 {
    let net = TestNet::start(CLOCK).await;
    let mut cheater = net.agent_config("cheater", Roles::HOST);
    cheater.cheat = Some(Cheat::AtStep(10));
    let cheater = AgentHandle::spawn(cheater);
    let challenger = AgentHandle::spawn(net.agent_config("challenger", Roles::CHALLENGER));
    let requester = net.client("requester").await;
    let _miner = block_every_100_ms(&net).await;

    let (id, deposit) = request_tournament(&requester, "counter", "20", WINDOW).await;
    let opened = eventually(
        "the honest challenger's entry",
        Duration::from_secs(60),
        || async { requester.status(id).await.unwrap().tournament },
    )
    .await;

    // The puppets: wrong claims of their own, entered at the last blocks entries are open (the
    // worst case: their games can start only then), never played.
    eventually(
        "the window's last blocks",
        Duration::from_secs(60),
        || async {
            let block = requester.chain().block_number().await.unwrap();
            (block + 3 >= opened.entry_deadline).then_some(())
        },
    )
    .await;
    puppet_claims(&net, id, deposit, puppets, Puppets::Enter).await;

    let settled = finalized(&requester, id, "the settlement", Duration::from_secs(120)).await;
    assert_eq!(settled.mode, DisputeMode::Tournament);
    assert_eq!(settled.host, None, "the answer's entry was eliminated");
    assert!(
        requester.replay(id).await.unwrap().matches,
        "the claim that stood is the true one"
    );
    let (answered, settled_at) = answer_and_settlement_blocks(&net, id).await;

    // The requester: half of every eliminated deposit (the cheater's and each puppet's); the
    // payment went whole to the one standing entry.
    let halves = U256::from(puppets + 1) * (deposit - deposit / U256::from(2));
    assert_eq!(
        requester.credited(net.address("requester")).await.unwrap(),
        halves
    );
    // The honest challenger: the payment, its deposit back, and half of the deposit of every
    // entry it eliminated, in its ledger (its agent withdraws them); its job paid.
    let store_dir = net.data_dir("challenger");
    let earnings = assert_paid_and_no_deposit_lost(&store_dir, U256::from(PAYMENT), 1).await;
    assert!(earnings.won > U256::ZERO, "{earnings:?}");
    let job = JobStore::open(&store_dir)
        .unwrap()
        .job(id)
        .unwrap()
        .unwrap();
    assert_eq!(job.stance, done(Outcome::Paid), "{:?}", job.log);
    // The cheater's job ended lost, its deposit gone.
    eventually(
        "the cheater's job to end",
        Duration::from_secs(60),
        || async {
            let job = JobStore::open(&net.data_dir("cheater"))
                .ok()?
                .job(id)
                .ok()??;
            (job.stance == done(Outcome::Lost) && job.deposit.is_none()).then_some(())
        },
    )
    .await;
    cheater.stop().await.unwrap();
    challenger.stop().await.unwrap();
    settled_at - answered
}

/// A tournament-mode request of `program` on `input`, paid `PAYMENT`; its id and deposit.
async fn request_tournament(
    requester: &ecm_client::Client,
    program: &str,
    input: &str,
    window: u64,
) -> (u64, U256) {
    let mut new = request(program, input, PAYMENT, window);
    new.mode = DisputeMode::Tournament;
    let id = requester.request(new).await.unwrap();
    (id, requester.status(id).await.unwrap().deposit)
}

/// How the puppets put their claims on a tournament.
#[derive(Clone, Copy, PartialEq)]
enum Puppets {
    /// `enter`: an entry alone, which the honest parties must challenge.
    Enter,
    /// `challengeAnswer`: an entry and a game against the answer, which its host defends.
    ChallengeTheAnswer,
}

/// `puppets` wrong claims of the counter program (one account, `spare-1`) on request `id`,
/// sent all at once (nonces in order) so that they land together whatever their number: what
/// the tests measure is the agents' pace, not the puppets'. The puppets never move again.
async fn puppet_claims(net: &TestNet, id: u64, deposit: U256, puppets: u64, how: Puppets) {
    let puppet = net.client("spare-1").await;
    let counter = ecm_programs::by_name("counter").unwrap();
    let (broker, tournaments) = (puppet.chain().broker(), &puppet.chain().tournaments());
    let sends = (0..puppets).map(|k| {
        let claim: alloy::primitives::Bytes =
            counter.parse_input(&(100 + k).to_string()).unwrap().into();
        let (id, chain) = (U256::from(id), puppet.chain());
        async move {
            match how {
                Puppets::Enter => {
                    let call = tournaments.enter(id, claim, 20, true).value(deposit);
                    chain.send("enter", call).await
                }
                Puppets::ChallengeTheAnswer => {
                    let call = broker.challengeAnswer_1(id, claim, 20, true).value(deposit);
                    chain.send("challengeAnswer", call).await
                }
            }
        }
    });
    for sent in futures::future::join_all(sends).await {
        sent.unwrap();
    }
}

/// A block every 100 ms holding every transaction sent meanwhile, as a chain does: not a block
/// per transaction (Anvil's automine), which would count the agents' transactions as time.
async fn block_every_100_ms(net: &TestNet) -> Miner {
    let client = net.client("deployer").await;
    alloy::providers::ext::AnvilApi::anvil_set_auto_mine(client.chain().provider(), false)
        .await
        .unwrap();
    net.miner(Duration::from_millis(100)).await
}

fn done(outcome: Outcome) -> Stance {
    Stance::Done {
        outcome: outcome.into(),
    }
}

/// The blocks of request `id`'s answer and of its tournament's settlement.
async fn answer_and_settlement_blocks(net: &TestNet, id: u64) -> (u64, u64) {
    let client = net.client("deployer").await;
    let head = client.chain().block_number().await.unwrap();
    let logs = client.chain().broker_logs(0, head).await.unwrap();
    let block_of = |wanted: fn(&BrokerEvents) -> bool| {
        logs.iter()
            .find(|log| log.request_id() == Some(id) && wanted(&log.event))
            .map(|log| log.block)
            .expect("the log")
    };
    (
        block_of(|e| matches!(e, BrokerEvents::Answered(_))),
        block_of(|e| matches!(e, BrokerEvents::TournamentSettled(_))),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_settle_a_tournament_in_bounded_blocks_whatever_the_puppets() {
    let mut blocks = Vec::new();
    for puppets in [1, 4, 16] {
        let took = tournament_with_puppets(puppets).await;
        eprintln!(
            "tournament with {puppets} puppet(s): {took} blocks from the answer to the settlement"
        );
        blocks.push(took);
    }
    // Entries close a window after the answer, the puppets' games start then and time out a
    // clock later; the rest is the agents' reaction, a few blocks. What the puppets must not do
    // is add blocks: the counts take the same time, to that reaction.
    let bound = WINDOW + u64::from(CLOCK) + 15;
    let (fastest, slowest) = (blocks.iter().min().unwrap(), blocks.iter().max().unwrap());
    assert!(*slowest <= bound, "{blocks:?} blocks, bound {bound}");
    assert!(
        slowest - fastest <= 10,
        "{blocks:?} blocks for 1, 4 and 16 puppets"
    );
}

/// Puppets challenge an honest host's answer at once and never move again; the host agent
/// defends every game (and, with `supporter`, a challenger agent agreeing with the answer enters
/// beside it and challenges the puppets too). Checks the payouts; returns the blocks from the
/// answer to the settlement.
async fn host_defends_puppets(puppets: u64, supporter: bool) -> u64 {
    let net = TestNet::start(CLOCK).await;
    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    let challenger =
        supporter.then(|| AgentHandle::spawn(net.agent_config("challenger", Roles::CHALLENGER)));
    let requester = net.client("requester").await;
    let _miner = block_every_100_ms(&net).await;
    let (id, deposit) = request_tournament(&requester, "counter", "20", WINDOW).await;
    eventually("the host's answer", Duration::from_secs(60), || async {
        (requester.status(id).await.unwrap().status == Status::WaitingForResolution).then_some(())
    })
    .await;

    puppet_claims(&net, id, deposit, puppets, Puppets::ChallengeTheAnswer).await;

    let settled = finalized(&requester, id, "the settlement", Duration::from_secs(120)).await;
    assert_eq!(settled.host, Some(net.address("host")), "the answer stood");
    let (answered, settled_at) = answer_and_settlement_blocks(&net, id).await;
    let halves = U256::from(puppets) * (deposit - deposit / U256::from(2));
    assert_eq!(
        requester.credited(net.address("requester")).await.unwrap(),
        halves
    );
    // The host: the whole payment, its deposit back, half of each puppet's deposit it won.
    let host_earnings =
        assert_paid_and_no_deposit_lost(&net.data_dir("host"), U256::from(PAYMENT), 1).await;
    let job = JobStore::open(&net.data_dir("host"))
        .unwrap()
        .job(id)
        .unwrap()
        .unwrap();
    assert_eq!(job.stance, done(Outcome::Paid), "{:?}", job.log);
    // A supporter: no payment, its deposit back, half of each puppet's deposit it won; the two
    // won every puppet's between them.
    let supporter_won = match &challenger {
        Some(_) => {
            let dir = net.data_dir("challenger");
            let earnings = assert_paid_and_no_deposit_lost(&dir, U256::ZERO, 1).await;
            assert_eq!(
                earnings.deposits_staked, deposit,
                "it entered beside the answer"
            );
            let job = JobStore::open(&dir).unwrap().job(id).unwrap().unwrap();
            assert_eq!(job.stance, done(Outcome::Settled), "{:?}", job.log);
            earnings.won
        }
        None => U256::ZERO,
    };
    assert_eq!(
        host_earnings.won + supporter_won,
        U256::from(puppets) * (deposit / U256::from(2))
    );
    host.stop().await.unwrap();
    if let Some(challenger) = challenger {
        challenger.stop().await.unwrap();
    }
    settled_at - answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_host_defends_every_puppet_challenge_at_once() {
    let took = host_defends_puppets(8, false).await;
    eprintln!(
        "the host defended 8 puppet challenges: {took} blocks from the answer to the settlement"
    );
    assert!(took <= WINDOW + u64::from(CLOCK) + 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supporter_beside_an_honest_host_is_paid_its_wins_and_the_host_the_payment() {
    host_defends_puppets(4, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenger_restarted_mid_tournament_resumes_from_its_store_and_wins() {
    let net = TestNet::start(10_000).await;
    let mut liar = net.agent_config("cheater", Roles::HOST);
    liar.cheat = Some(Cheat::AtStep(1000));
    // The liar polls slowly, so the game lasts long enough to kill the challenger in it.
    liar.poll_interval = Duration::from_millis(700);
    let liar = AgentHandle::spawn(liar);
    let challenger = AgentHandle::spawn(net.agent_config("challenger", Roles::CHALLENGER));
    let requester = net.client("requester").await;
    let (id, _) = request_tournament(&requester, "keccak-chain", "5000", 30).await;

    let tournaments = requester.chain().tournaments();
    let game = U256::from(ecm_agent::tournament::game_key(0, 1));
    let narrowed = || async {
        let g = requester
            .chain()
            .call(
                "getTournamentGame",
                tournaments.getTournamentGame(U256::from(id), game),
            )
            .await
            .ok()?;
        (g.open && g.game.hi > 0 && g.game.hi - g.game.lo < 5000).then_some(())
    };
    eventually("the first round to end", Duration::from_secs(120), narrowed).await;
    challenger.kill();
    let challenger = AgentHandle::spawn(net.agent_config("challenger", Roles::CHALLENGER));

    // The game ends at the one step, for the challenger; entries close a window after the
    // answer (blocks come with transactions here: mine them), then it settles and collects.
    eventually(
        "the liar's elimination",
        Duration::from_secs(120),
        || async {
            let s = requester.status(id).await.unwrap();
            s.tournament.filter(|t| t.eliminated == 1).map(|_| ())
        },
    )
    .await;
    net.mine(31).await;
    let settled = finalized(&requester, id, "the settlement", Duration::from_secs(60)).await;
    assert!(requester.replay(id).await.unwrap().matches);
    assert_eq!(settled.host, None, "the answer's entry lost");
    assert_paid_and_no_deposit_lost(&net.data_dir("challenger"), U256::from(PAYMENT), 1).await;
    challenger.stop().await.unwrap();
    liar.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_catch_a_cheating_host_of_a_machine_program_in_a_tournament() {
    let net = TestNet::start(200).await;
    let (mut liar, mut honest) = (
        net.agent_config("cheater", Roles::HOST),
        net.agent_config("challenger", Roles::CHALLENGER),
    );
    liar.programs = vec!["sha256sum".into()];
    honest.programs = vec!["sha256sum".into()];
    liar.cheat = Some(Cheat::AtStep(5_000));
    let liar = AgentHandle::spawn(liar);
    let honest = AgentHandle::spawn(honest);
    let requester = net.client("requester").await;
    let new = ecm_client::NewRequest {
        program: "sha256sum".into(),
        input: b"a tournament over a machine program's trace".to_vec(),
        payment: U256::from(PAYMENT),
        window: 20,
        max_steps: None,
        max_gas_price: None,
        mode: DisputeMode::Tournament,
        min_host_jobs: 0,
    };
    let id = requester.request(new).await.unwrap();

    // The game ends at one step of the machine prover, for the challenger (its proof checked
    // in revm first); then entries close (mined here) and it is settled and collected.
    eventually(
        "the liar's elimination",
        Duration::from_secs(300),
        || async {
            let s = requester.status(id).await.unwrap();
            s.tournament.filter(|t| t.eliminated == 1).map(|_| ())
        },
    )
    .await;
    net.mine(21).await;
    finalized(&requester, id, "the settlement", Duration::from_secs(60)).await;
    assert!(
        requester.replay(id).await.unwrap().matches,
        "the true output stood"
    );
    let logs = net.client("deployer").await;
    let head = logs.chain().block_number().await.unwrap();
    let ended_at_the_step = logs
        .chain()
        .broker_logs(0, head)
        .await
        .unwrap()
        .into_iter()
        .any(|log| matches!(log.event, BrokerEvents::GameStepProven(e) if !e.defenderWon));
    assert!(ended_at_the_step, "decided by the machine prover");
    assert_paid_and_no_deposit_lost(&net.data_dir("challenger"), U256::from(PAYMENT), 1).await;
    honest.stop().await.unwrap();
    liar.stop().await.unwrap();
}

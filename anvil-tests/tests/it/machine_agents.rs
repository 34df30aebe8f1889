//! Machine programs played by the real agents: a stock wasm32-wasip1 program (`sha256sum`, one
//! of the devnet's example machine programs) requested through the client, answered, disputed
//! by bisection over the machine trace, and settled by the on-chain prover with the proof the
//! agent made and checked in revm. A cheating host caught, a lying challenger defeated, each
//! lying from an instruction in the middle of the run; a lie at a random instruction of a run
//! of over 10^8 steps; an honest challenger killed mid-game and restarted; and a trapping
//! program (registered while the agents run) whose trap the challenger proves against a host
//! claiming an output. Honest agents answer short runs from the interpreter and long ones from
//! wasmtime (their fuel as the step count, the machine's trace run only for the dispute): each
//! run checks that the honest side's work stays within 1.2 x N.

use alloy::primitives::U256;
use ecm_agent::{Cheat, INTERPRETER_FIRST_STEPS, JobStore, Roles};
use ecm_anvil_tests::*;
use ecm_client::{DisputeMode, NewRequest, Status};
use ecm_machine::Program;
use std::time::Duration;

const PAYMENT: u128 = ETHER / 10;

fn machine_request(program: &str, input: Vec<u8>) -> NewRequest {
    NewRequest {
        program: program.into(),
        input,
        payment: U256::from(PAYMENT),
        window: 20,
        max_steps: None,
        max_gas_price: None,
        mode: DisputeMode::Bisection,
        min_host_jobs: 0,
    }
}

fn input() -> Vec<u8> {
    (0..2000u32).map(|i| (i * 7 + i / 13) as u8).collect()
}

/// The true trace's length and its final state (`exit code || stdout`).
fn truth(program: &str, input: &[u8]) -> (u64, Vec<u8>) {
    let wasm = ecm_programs::wasi_program(program).unwrap().wasm;
    let program = Program::from_wasm(wasm).unwrap();
    let outcome = ecm_machine::run(&program, input, 1 << 40).unwrap();
    assert!(outcome.is_final());
    (outcome.steps, outcome.state())
}

/// The steps an honest agent claims for a run of `n` steps: `n` if the interpreter finishes
/// it first, else wasmtime's fuel (at least `n`).
fn claimed_steps(program: &Program, input: &[u8], n: u64) -> u64 {
    if n <= INTERPRETER_FIRST_STEPS {
        return n;
    }
    let run = ecm_machine::FastEngine::new()
        .unwrap()
        .compile(program)
        .unwrap()
        .run(input, 1 << 40)
        .unwrap();
    run.fuel.unwrap()
}

/// Plays one request of `program` on `input` to its payout: the host answers, the challenger
/// challenges, and the side that lies (the host if `host_lies`) does so from step
/// `lie_at(n)` of the true trace of `n` steps on. Checks the honest answer stands and who is
/// credited; returns the request id and its deposit.
async fn dispute(
    net: &TestNet,
    program: &str,
    input: Vec<u8>,
    host_lies: bool,
    lie_at: impl FnOnce(u64) -> u64,
) -> (u64, U256) {
    let started = std::time::Instant::now();
    let (n, state) = truth(program, &input);
    let claimed = claimed_steps(
        &Program::from_wasm(ecm_programs::wasi_program(program).unwrap().wasm).unwrap(),
        &input,
        n,
    );
    assert!(claimed >= n);
    let lie_at = lie_at(n);
    let (mut host, mut challenger) = (
        net.agent_config("host", Roles::HOST),
        net.agent_config("challenger", Roles::CHALLENGER),
    );
    host.programs = vec![program.into()];
    challenger.programs = vec![program.into()];
    if host_lies {
        host.cheat = Some(Cheat::AtStep(lie_at));
    } else {
        challenger.cheat = Some(Cheat::AtStep(lie_at));
    }
    let host = AgentHandle::spawn(host);
    let challenger = AgentHandle::spawn(challenger);
    let requester = net.client("requester").await;

    let id = requester
        .request(machine_request(program, input))
        .await
        .unwrap();
    let deposit = requester.status(id).await.unwrap().deposit;
    let winner = if host_lies { "challenger" } else { "host" };
    let s = eventually("the dispute to end", Duration::from_secs(600), || async {
        let s = requester.status(id).await.unwrap();
        (s.disputes == 1).then_some(s)
    })
    .await;
    assert_eq!(
        s.host,
        Some(net.address(winner)),
        "the honest side's answer stands"
    );
    assert_eq!(s.status, Status::WaitingForResolution);
    assert_eq!(
        s.result.map(|r| r.to_vec()),
        Some(state),
        "the true output stands"
    );
    assert_eq!(s.steps, claimed, "the honest side's claim");
    assert_eq!(s.host_wins, 1, "the winner is owed half the liar's deposit");

    net.mine(25).await; // past the fresh window
    eventually("payout", Duration::from_secs(60), || async {
        (requester.status(id).await.unwrap().status == Status::Finalized).then_some(())
    })
    .await;
    // The liar's deposit: half to the requester, half to the winner, at finalize.
    assert_eq!(
        requester.credited(net.address("requester")).await.unwrap(),
        deposit - deposit / U256::from(2)
    );
    // The winner's agent withdraws payment, its deposit back and half the liar's.
    eventually(
        "the winner's withdrawal",
        Duration::from_secs(30),
        || async {
            requester
                .credited(net.address(winner))
                .await
                .unwrap()
                .is_zero()
                .then_some(())
        },
    )
    .await;
    host.stop().await.unwrap();
    challenger.stop().await.unwrap();
    // The honest side answered from wasmtime and ran the machine's trace only for the dispute.
    let honest = JobStore::open(&net.data_dir(winner)).unwrap();
    let stats = honest
        .job(id)
        .unwrap()
        .unwrap()
        .trace
        .clone()
        .expect("trace stats");
    eprintln!(
        "{program}: {n} steps (claimed {claimed}), a lie from step {lie_at} by the {}, settled and paid in {:.1} s; \
         honest work {} steps = {:.3} x N, checkpoints {} bytes, interval {}",
        if host_lies { "host" } else { "challenger" },
        started.elapsed().as_secs_f64(),
        stats.work,
        stats.work as f64 / n as f64,
        stats.checkpoint_bytes,
        stats.checkpoint_interval,
    );
    assert!(stats.work >= n, "the honest side ran the trace");
    assert!(
        stats.work as f64 <= 1.2 * n as f64,
        "honest work {} > 1.2 N",
        stats.work
    );
    (id, deposit)
}

/// The honest side of a sha256sum dispute (the host unless `host_lies`) ends up with the
/// payment and half the liar's deposit, less its gas (under 0.01 ETH).
async fn honest_side_is_paid(host_lies: bool) {
    let net = TestNet::start(200).await;
    let honest = net.address(if host_lies { "challenger" } else { "host" });
    let before = net.balance(honest).await;
    let (_, deposit) = dispute(&net, "sha256sum", input(), host_lies, |n| n / 3).await;
    let gained = net.balance(honest).await - before;
    let prize = U256::from(PAYMENT) + deposit / U256::from(2);
    assert!(
        gained < prize && gained > prize - U256::from(ETHER / 100),
        "{gained} vs {prize}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_catch_a_cheating_host_on_a_machine_program() {
    honest_side_is_paid(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_defeat_a_lying_challenger_on_a_machine_program() {
    honest_side_is_paid(false).await;
}

/// Issue 14's acceptance run: a cheating host lies at a (seeded) random instruction of a run of
/// more than 10^8 steps of a real program, and the honest challenger's agent wins with the
/// one-step prover. About 105 million machine steps of SHA-256 over generated data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_catch_a_lie_at_a_random_instruction_of_a_run_of_over_10_to_the_8_steps() {
    let net = TestNet::start(600).await;
    let (id, _) = dispute(&net, "workloads", b"sha256 1300000".to_vec(), true, |n| {
        assert!(n > 100_000_000, "the run is {n} steps");
        1 + 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(0xec14) % n
    })
    .await;
    let requester = net.client("requester").await;
    assert_eq!(
        requester.status(id).await.unwrap().host,
        Some(net.address("challenger"))
    );
}

/// The honest challenger's agent killed after the game's first round and restarted on the same
/// job store: it answers again from wasmtime, runs the trace when the game asks, and wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenger_restarted_mid_game_on_a_machine_program_still_wins() {
    let net = TestNet::start(10_000).await;
    let input = input();
    let (n, state) = truth("sha256sum", &input);
    let mut liar = net.agent_config("cheater", Roles::HOST);
    liar.programs = vec!["sha256sum".into()];
    liar.cheat = Some(Cheat::AtStep(n / 2));
    liar.poll_interval = Duration::from_millis(700);
    let liar = AgentHandle::spawn(liar);
    let challenger = || {
        let mut config = net.agent_config("challenger", Roles::CHALLENGER);
        config.programs = vec!["sha256sum".into()];
        config
    };
    let honest = AgentHandle::spawn(challenger());
    let requester = net.client("requester").await;
    let id = requester
        .request(machine_request("sha256sum", input))
        .await
        .unwrap();
    eventually(
        "the first round to end",
        Duration::from_secs(120),
        || async {
            let s = requester.status(id).await.unwrap();
            s.game.filter(|g| g.hi - g.lo < n / 2).map(|_| ())
        },
    )
    .await;
    honest.kill();
    assert_eq!(
        requester.status(id).await.unwrap().status,
        Status::Resolving,
        "killed in the middle of the game"
    );
    let honest = AgentHandle::spawn(challenger());
    let s = eventually(
        "the honest side's win",
        Duration::from_secs(120),
        || async {
            let s = requester.status(id).await.unwrap();
            (s.status == Status::WaitingForResolution && s.host == Some(net.address("challenger")))
                .then_some(s)
        },
    )
    .await;
    assert_eq!(s.result.map(|r| r.to_vec()), Some(state));
    assert!(requester.replay(id).await.unwrap().matches);
    honest.stop().await.unwrap();
    liar.stop().await.unwrap();
}

/// A program that counts to 5,000 and traps (`unreachable`): a module of its own, registered
/// while the agents run and found in their module directory.
const TRAPS: &str = r#"(module
  (memory 1)
  (func (export "ecm_main") (local $i i32)
    (loop $again
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 5000))))
    unreachable))"#;

/// A trapping run: the true answer is the empty final state. A host claiming an output for it
/// is overturned by the challenger, whose one-step proof shows the trap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_prove_a_trap_against_a_host_claiming_an_output() {
    let net = TestNet::start(200).await;
    let wasm = wat::parse_str(TRAPS).unwrap();
    let modules = net.data_dir("modules");
    let (mut host, mut challenger) = (
        net.agent_config("host", Roles::HOST),
        net.agent_config("challenger", Roles::CHALLENGER),
    );
    for config in [&mut host, &mut challenger] {
        config.module_dir = Some(modules.clone());
    }
    host.cheat = Some(Cheat::LastStep);
    let host = AgentHandle::spawn(host);
    let challenger = AgentHandle::spawn(challenger);

    // Registered after the agents started: they find it in their module directory.
    let signer: alloy::signers::local::PrivateKeySigner = net.key("deployer").parse().unwrap();
    let provider = alloy::providers::ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(signer))
        .connect_http(net.deployment().rpc_url.parse().unwrap());
    let registration = ecm_devnet::register_machine_program(
        &alloy::providers::Provider::erased(provider),
        net.deployment().factory,
        &wasm,
        "ecm://tests/traps".into(),
        None,
    )
    .await
    .unwrap();
    ecm_runtime::ModuleStore::new(&modules)
        .insert(&wasm)
        .unwrap();

    let requester = net.client("requester").await;
    let id = requester
        .request(machine_request(
            &registration.entry.id.to_string(),
            Vec::new(),
        ))
        .await
        .unwrap();
    let s = eventually("the dispute to end", Duration::from_secs(120), || async {
        let s = requester.status(id).await.unwrap();
        (s.host == Some(net.address("challenger")) && s.status == Status::WaitingForResolution)
            .then_some(s)
    })
    .await;
    assert_eq!(
        s.result.map(|r| r.to_vec()),
        Some(vec![]),
        "the trap: empty"
    );
    assert_eq!(s.final_, Some(true));
    let program = Program::from_wasm(&wasm).unwrap();
    let outcome = ecm_machine::run(&program, &[], 1 << 40).unwrap();
    assert!(matches!(outcome.end, ecm_machine::End::Trapped { .. }));
    assert_eq!(
        s.steps, outcome.steps,
        "a short run: the interpreter's exact steps"
    );
    host.stop().await.unwrap();
    challenger.stop().await.unwrap();
}

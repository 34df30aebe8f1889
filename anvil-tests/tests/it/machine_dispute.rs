//! A machine program through the contracts on Anvil, with the real prover: a stock
//! `wasm32-wasip1` program registered by its module and initial core, requested on an input
//! (the Broker computes `c_0` from it), answered, challenged by a side lying from a random
//! instruction on, bisected over the machine trace, and settled by one step of the
//! `MachineProver` proven from the interpreter, with every party's balance checked.
//!
//! The parties move through the contract bindings, driven by the same strategy functions the
//! agents use (`ecm_verifier::strategy`); the agents' own machine path is issue 14's next step.

use alloy::{
    contract::{CallBuilder, CallDecoder},
    network::EthereumWallet,
    primitives::{B256, Bytes, U256, keccak256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use ecm_anvil_tests::*;
use ecm_bindings::{Broker, Factory, IBroker, protocol::DisputeMode};
use ecm_machine::{Machine, MachineOracle, Program};
use ecm_primitives::commitment;
use ecm_runtime::{Point, TracePoints};
use ecm_verifier::{MachineProverEvm, strategy};

const PAYMENT: u128 = ETHER / 10;
const GAS_PRICE: u64 = 1_000_000_000;
const MAX_STEPS: u64 = 1 << 32;
const WINDOW: u64 = 20;
/// The Broker's phases (IBroker.Phase).
const PHASE_BISECT: u8 = 1;
const PHASE_SELECT: u8 = 2;
const PHASE_ONE_STEP: u8 = 3;

/// A side that follows the true trace up to `from - 1` and lies at every point from `from`
/// on: a flipped byte in the state hash or the output, as a host that computed wrongly from
/// one instruction would.
struct Liar {
    honest: MachineOracle,
    from: u64,
}

impl TracePoints for Liar {
    fn point(&mut self, i: u64) -> ecm_runtime::Result<Point> {
        let mut point = TracePoints::point(&mut self.honest, i)?;
        if i >= self.from {
            match point.state.last_mut() {
                Some(byte) => *byte ^= 0x01,
                None => point.state.push(0x01),
            }
        }
        Ok(point)
    }
}

/// Sends a call and waits for its receipt, which must exist.
trait Confirmed {
    async fn confirmed(self) -> TransactionReceipt;
}

impl<D: CallDecoder> Confirmed for CallBuilder<&DynProvider, D> {
    async fn confirmed(self) -> TransactionReceipt {
        self.send().await.unwrap().get_receipt().await.unwrap()
    }
}

fn provider(net: &TestNet, role: &str) -> DynProvider {
    let signer: PrivateKeySigner = net.key(role).parse().unwrap();
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(net.deployment().rpc_url.parse().unwrap())
        .erased()
}

/// The machine program `sha256sum`, registered by the devnet, and its lowered form; its id is
/// the one the Factory computes from the module and its lowering.
async fn register(net: &TestNet) -> (B256, Program) {
    let wasm = ecm_programs::wasi_program("sha256sum").unwrap().wasm;
    let program = Program::from_wasm(wasm).unwrap();
    let factory = Factory::new(net.deployment().factory, provider(net, "deployer"));
    let id = factory
        .machineProgramIdOf(keccak256(wasm), program.initial_core())
        .call()
        .await
        .unwrap();
    assert_eq!(id, net.deployment().program("sha256sum").unwrap().id);
    let record = factory.getProgram(id).call().await.unwrap();
    assert_eq!(record.initialCore, program.initial_core());
    (id, program)
}

/// What one dispute showed.
struct Played {
    rounds: u64,
    lie_at: u64,
    prove_gas: u64,
    /// What the Broker adds to the proof: the transaction's gas less what the proof itself
    /// costs in a transaction (21,000, its calldata, the prover's execution; revm).
    broker_share: u64,
}

/// Plays a whole dispute of a sha256sum request: the host answers from `host_lies` (a liar
/// from a random step, or the truth), the challenger from the other. Checks `c_0` against the
/// interpreter, the proof in revm before sending it, and every party's balance after.
async fn dispute(host_lies: bool, seed: u64) -> Played {
    let net = TestNet::start(200).await;
    let (program_id, program) = register(&net).await;
    let input: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed as u8)
        .collect();

    let requester = Broker::new(net.deployment().broker, provider(&net, "requester"));
    let host = Broker::new(net.deployment().broker, provider(&net, "host"));
    let challenger = Broker::new(net.deployment().broker, provider(&net, "challenger"));
    let anyone = Broker::new(net.deployment().broker, provider(&net, "spare-1"));
    let arity = requester.arity().call().await.unwrap().to::<u64>();

    let options = IBroker::RequestOptions {
        maxSteps: MAX_STEPS,
        maxGasPrice: GAS_PRICE,
        mode: DisputeMode::Bisection.into(),
        minHostJobs: 0,
    };
    requester
        .requestExecution_1(
            program_id,
            input.clone().into(),
            U256::from(WINDOW),
            options,
        )
        .value(U256::from(PAYMENT))
        .confirmed()
        .await;
    let id = requester.requestCount().call().await.unwrap();
    let request = requester.getRequest(id).call().await.unwrap();
    let h0 = Machine::new(&program, &input).unwrap().hash();
    assert_eq!(
        request.inputCommitment,
        commitment(false, h0.as_slice()),
        "the Broker's c_0 is the interpreter's first state"
    );

    // The true trace, and a liar from a random step of it.
    let mut truth = MachineOracle::new(&program, &input, MAX_STEPS, 64 << 20)
        .unwrap()
        .with_first_interval(1 << 14);
    let outcome = truth.run_to_end();
    let n = outcome.steps;
    let lie_at = 1 + seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) % n;
    let mut liar = Liar {
        honest: MachineOracle::new(&program, &input, MAX_STEPS, 64 << 20)
            .unwrap()
            .with_first_interval(1 << 14),
        from: lie_at,
    };
    liar.honest.run_to_end();
    let true_end = TracePoints::point(&mut truth, n).unwrap();
    let false_end = liar.point(n).unwrap();
    assert!(true_end.final_, "sha256sum halts");
    assert_eq!(&true_end.state[..4], &[0, 0, 0, 0], "exit code 0");

    let deposit = requester.requiredDeposit(id).call().await.unwrap();
    let (host_claim, challenger_claim) = if host_lies {
        (&false_end, &true_end)
    } else {
        (&true_end, &false_end)
    };
    host.answerRequest_1(id, host_claim.state.clone().into(), n, host_claim.final_)
        .value(deposit)
        .confirmed()
        .await;
    challenger
        .challengeAnswer_1(
            id,
            challenger_claim.state.clone().into(),
            n,
            challenger_claim.final_,
        )
        .value(deposit)
        .confirmed()
        .await;
    anyone.initializeDispute(id).confirmed().await;

    // Bisection: each side moves from its own view of the trace.
    let (defender, chooser): (&mut dyn TracePoints, &mut dyn TracePoints) = if host_lies {
        (&mut liar, &mut truth)
    } else {
        (&mut truth, &mut liar)
    };
    let mut rounds = 0;
    let game = loop {
        let g = anyone.getGame(id).call().await.unwrap();
        match g.phase {
            PHASE_BISECT => {
                let points = strategy::defender_points(defender, g.lo, g.hi, arity).unwrap();
                host.bisect(id, points).confirmed().await;
                rounds += 1;
            }
            PHASE_SELECT => {
                // The challenger reads the posted points from the `Bisected` event; here they
                // are recomputed from the defender's view, which is the same list.
                let posted = strategy::defender_points(defender, g.lo, g.hi, arity).unwrap();
                let index = strategy::challenger_index(chooser, g.lo, g.hi, arity, &posted, g.cHi)
                    .unwrap()
                    .expect("the sides disagree somewhere");
                challenger
                    .selectSegment(id, posted, U256::from(index))
                    .confirmed()
                    .await;
            }
            PHASE_ONE_STEP => break g,
            other => panic!("unexpected phase {other}"),
        }
    };
    assert_eq!(
        (game.lo, game.hi),
        (lie_at - 1, lie_at),
        "the game ends at the lie"
    );

    // The one step, proven from the interpreter and checked in revm before it is sent.
    let machine = truth.machine_at(game.lo).unwrap();
    let before = machine.hash();
    assert_eq!(commitment(false, before.as_slice()), game.cLo);
    let proof = machine.prove_step().unwrap();
    let mut prover = MachineProverEvm::new().unwrap();
    let proven = prover.step(before, &proof).unwrap().unwrap();
    let expected = TracePoints::point(&mut truth, lie_at).unwrap();
    assert_eq!(
        (proven.next.clone(), proven.final_),
        (expected.state.clone(), expected.final_)
    );
    let receipt = anyone
        .proveMachineStep(id, false, before.to_vec().into(), Bytes::from(proof))
        .confirmed()
        .await;
    assert!(receipt.status());
    let broker_share = receipt.gas_used - (21_000 + proven.calldata_gas + proven.execution_gas);
    // `BROKER_SHARE` in crates/verifier/tests/it/machine_prover_gas.rs is this figure; a
    // settlement that grew past it would make that test's Broker column wrong.
    assert!(
        broker_share <= 44_500,
        "the Broker's share grew: {broker_share}"
    );

    // The honest side won and is paid at finalize; the liar lost its deposit, half to the
    // requester.
    let (honest, liar_account) = if host_lies {
        (net.address("challenger"), net.address("host"))
    } else {
        (net.address("host"), net.address("challenger"))
    };
    let after = requester.getRequest(id).call().await.unwrap();
    assert_eq!(after.host, honest);
    assert_eq!(after.claim, true_end.commitment());
    assert_eq!((after.hostWins, after.disputes), (1, 1));
    let half = deposit / U256::from(2);
    let requester_address = net.address("requester");
    for account in [honest, liar_account, requester_address] {
        assert_eq!(
            requester.balanceOf(account).call().await.unwrap(),
            U256::ZERO,
            "the one step credits nobody"
        );
    }

    requester.softResolveAnswer(id).confirmed().await;
    anyone.finalize(id).confirmed().await;
    let paid = U256::from(PAYMENT) + deposit + half;
    assert_eq!(requester.balanceOf(honest).call().await.unwrap(), paid);
    assert_eq!(
        requester.balanceOf(liar_account).call().await.unwrap(),
        U256::ZERO
    );
    assert_eq!(
        requester.balanceOf(requester_address).call().await.unwrap(),
        deposit - half
    );
    // The Broker holds exactly what it owes.
    let owed = paid + (deposit - half);
    assert_eq!(net.balance(net.deployment().broker).await, owed);

    Played {
        rounds,
        lie_at,
        prove_gas: receipt.gas_used,
        broker_share,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheating_host_caught_by_the_machine_prover() {
    for seed in [1, 2] {
        let played = dispute(true, seed).await;
        eprintln!(
            "machine dispute, lying host from step {}: {} rounds, proveMachineStep {} gas \
             (the Broker's share {})",
            played.lie_at, played.rounds, played.prove_gas, played.broker_share
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_challenger_defeated_by_the_machine_prover() {
    let played = dispute(false, 3).await;
    eprintln!(
        "machine dispute, lying challenger from step {}: {} rounds, proveMachineStep {} gas \
         (the Broker's share {})",
        played.lie_at, played.rounds, played.prove_gas, played.broker_share
    );
}

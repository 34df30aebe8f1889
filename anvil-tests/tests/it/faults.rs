//! Faults and hostile conditions, end to end: a network that drops and delays, a gas price spike
//! above a request's bound, programs whose two implementations disagree, a module that traps,
//! a step over its gas, traces beyond what a host will compute, and a provider that caps
//! `eth_getLogs` ranges.

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{B256, U256},
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use ecm_agent::{Cheat, JobStore, Roles};
use ecm_anvil_tests::{
    proxy::{ChaosProxy, Faults},
    range_limit::RangeLimitProxy,
    *,
};
use ecm_client::Status;
use ecm_primitives::ProgramEntry;
use std::{sync::atomic::Ordering, time::Duration};

const PAYMENT: u128 = ETHER / 100;
/// The challenge window of the cheater's request in the flaky-network test, in blocks.
const DISPUTED_WINDOW: u64 = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_network_loses_nothing_and_answers_nothing_twice() {
    let net = TestNet::start(2_000).await;
    let faults = Faults {
        drop_request_one_in: 25,
        drop_answer_one_in: 25,
        max_delay_ms: 20,
        ..Faults::default()
    };
    let proxy = ChaosProxy::start(&net.deployment().rpc_url, faults, 7).await;
    let through_proxy = |role: &str, roles: Roles| {
        let mut config = net.agent_config(role, roles);
        config.rpc_url = proxy.url.clone();
        config
    };
    // The honest host serves the honest requests' programs; the keccak chain is the cheater's.
    let mut host = through_proxy("host", Roles::HOST);
    host.programs = vec!["fibonacci".into(), "counter".into()];
    let host = AgentHandle::spawn(host);
    let challenger = AgentHandle::spawn(through_proxy("challenger", Roles::CHALLENGER));
    let mut cheater = through_proxy("cheater", Roles::HOST);
    cheater.cheat = Some(Cheat::LastStep);
    cheater.programs = vec!["keccak-chain".into()];
    let cheater = AgentHandle::spawn(cheater);

    let requester = net.client("requester").await;
    let mut honest = Vec::new();
    for k in 0..8u64 {
        let program = if k % 2 == 0 { "fibonacci" } else { "counter" };
        honest.push(
            requester
                .request(request(program, &(40 + k).to_string(), PAYMENT, 5))
                .await
                .unwrap(),
        );
    }
    // Under automine every transaction is a block, so the honest jobs alone move the chain by
    // dozens of blocks while the challenger's transactions are being dropped: the disputed
    // request's window must outlast that (20 blocks did not, about once in ten runs).
    let disputed = requester
        .request(request("keccak-chain", "300", PAYMENT, DISPUTED_WINDOW))
        .await
        .unwrap();

    let all: Vec<u64> = honest.iter().copied().chain([disputed]).collect();
    for id in &all {
        eventually(
            "an answer through the flaky network",
            Duration::from_secs(180),
            || async {
                let s = requester.status(*id).await.unwrap();
                s.status.has_answer().then_some(())
            },
        )
        .await;
    }
    eventually(
        "the cheater to be caught",
        Duration::from_secs(180),
        || async {
            let s = requester.status(disputed).await.unwrap();
            (s.host == Some(net.address("challenger")) && s.status == Status::WaitingForResolution)
                .then_some(())
        },
    )
    .await;
    for _ in 0..30 {
        net.mine(1).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The challenger's answer stands with a fresh window of its own.
    net.mine(DISPUTED_WINDOW).await;
    for id in &all {
        finalized(
            &requester,
            *id,
            "settlement through the flaky network",
            Duration::from_secs(180),
        )
        .await;
        assert!(
            requester.replay(*id).await.unwrap().matches,
            "request {id} settled on the true answer"
        );
    }
    let dropped = proxy.stats.requests_dropped.load(Ordering::Relaxed)
        + proxy.stats.answers_dropped.load(Ordering::Relaxed);
    println!(
        "flaky network: {} requests and {} answers dropped, {} chunks relayed",
        proxy.stats.requests_dropped.load(Ordering::Relaxed),
        proxy.stats.answers_dropped.load(Ordering::Relaxed),
        proxy.stats.relayed.load(Ordering::Relaxed)
    );
    assert!(dropped > 10, "the proxy did inject faults");
    host.stop().await.unwrap();
    challenger.stop().await.unwrap();
    cheater.stop().await.unwrap();
    // Nothing answered twice: at most one answer sent per request in the host's record (a
    // response lost on the way leaves none, but the job still knows it is engaged), and exactly
    // one on-chain.
    let store = JobStore::open(&net.data_dir("host")).unwrap();
    for id in &honest {
        let job = store.job(*id).unwrap().unwrap();
        let answers = job.log.iter().filter(|l| l.starts_with("answered")).count();
        assert!(answers <= 1, "request {id}: {:?}", job.log);
        assert_eq!(
            job.stance,
            ecm_agent::Stance::Done {
                outcome: ecm_agent::Outcome::Paid.into()
            },
            "request {id}: {:?}",
            job.log
        );
    }
    let answered = net.answered_ids().await;
    for id in &all {
        assert_eq!(
            answered.iter().filter(|a| **a == *id).count(),
            1,
            "one Answered event for request {id}"
        );
    }
}

/// The node takes a transaction and the answer saying so is lost, and so is the answer to the
/// first resend: the sender still finds the transaction by its receipt (its hash is known before
/// it is sent), so the request is made once, its id returned, and the account's next
/// transaction uses the next nonce.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_whose_answer_is_lost_is_made_once_and_found_by_its_receipt() {
    let net = TestNet::start(2_000).await;
    let faults = Faults {
        lose_first_sends: 2,
        ..Faults::default()
    };
    let proxy = ChaosProxy::start(&net.deployment().rpc_url, faults, 1).await;
    let requester = ecm_client::Client::connect(
        net.deployment().clone(),
        Some(proxy.url.clone()),
        Some(net.key("requester")),
    )
    .await
    .unwrap();
    let account = net.address("requester");
    let provider = net.client("deployer").await.chain().provider().clone();
    let nonce_before = provider.get_transaction_count(account).await.unwrap();
    let first = requester
        .request(request("fibonacci", "10", PAYMENT, 5))
        .await
        .expect("the request is found by its receipt");
    assert_eq!(proxy.stats.sends_lost.load(Ordering::Relaxed), 2);
    let second = requester
        .request(request("fibonacci", "11", PAYMENT, 5))
        .await
        .unwrap();
    assert_eq!(second, first + 1);
    assert_eq!(
        provider.get_transaction_count(account).await.unwrap(),
        nonce_before + 2,
        "two transactions, no nonce skipped or used twice"
    );
    let created = net
        .client("deployer")
        .await
        .chain()
        .broker_logs(0, provider.get_block_number().await.unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|log| matches!(log.event, ecm_bindings::Broker::BrokerEvents::Created(_)))
        .count();
    assert_eq!(created, 2, "each request made once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_waits_out_a_gas_price_spike_above_the_bound() {
    let net = TestNet::start(100).await;
    let requester = net.client("requester").await;
    let provider = ProviderBuilder::new().connect_http(net.deployment().rpc_url.parse().unwrap());
    provider
        .anvil_set_next_block_base_fee_per_gas(100_000_000_000)
        .await
        .unwrap(); // 100 gwei
    provider.anvil_mine(Some(1), None).await.unwrap();
    let mut new = request("fibonacci", "20", PAYMENT, 5);
    new.max_gas_price = Some(2_000_000_000); // the requester will pay for disputes up to 2 gwei
    let id = requester.request(new).await.unwrap();

    let host = AgentHandle::spawn(net.agent_config("host", Roles::HOST));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        requester.status(id).await.unwrap().status,
        Status::Pending,
        "no answer while gas costs 50x the bound"
    );
    // Empty blocks bring the base fee down 12.5% each.
    provider.anvil_mine(Some(60), None).await.unwrap();
    let s = eventually(
        "the answer once gas is cheap again",
        Duration::from_secs(60),
        || async {
            let s = requester.status(id).await.unwrap();
            (s.status == Status::WaitingForResolution).then_some(s)
        },
    )
    .await;
    assert_eq!(s.result_display.as_deref(), Some("10946"));
    host.stop().await.unwrap();
}

/// Registers a program for `execution` and `wasm_hash` in the Factory and returns its entry.
async fn register(
    net: &TestNet,
    execution: alloy::primitives::Address,
    wasm_hash: B256,
    max_step_gas: u32,
) -> ProgramEntry {
    let signer: PrivateKeySigner = net.key("deployer").parse().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(net.deployment().rpc_url.parse().unwrap());
    let factory = ecm_bindings::Factory::new(net.deployment().factory, &provider);
    factory
        .registerProgram(execution, wasm_hash, max_step_gas, String::new())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let id = factory
        .programIdOf(execution, wasm_hash, max_step_gas)
        .call()
        .await
        .unwrap();
    ProgramEntry {
        id,
        execution,
        wasm_hash,
        max_step_gas,
        initial_core: None,
        module: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_refuse_hostile_programs_and_traces_beyond_their_cap() {
    let mut net = TestNet::start(100).await;
    let counter = net.deployment().program("counter").unwrap().clone();
    let counter_wasm = ecm_programs::by_name("counter").unwrap().wasm_hash();

    // 1. EVM and WASM disagree at step 37.
    let signer: PrivateKeySigner = net.key("deployer").parse().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(net.deployment().rpc_url.parse().unwrap());
    let deploy = TransactionRequest::default()
        .with_deploy_code(ecm_bindings::DivergentCounter::BYTECODE.clone());
    let divergent = provider
        .send_transaction(deploy)
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap()
        .contract_address
        .unwrap();
    let divergent = register(&net, divergent, counter_wasm, 20_000).await;
    // 2. A step that needs more gas than the program declares.
    let starved = register(&net, counter.execution, counter_wasm, 1_000).await;
    // 3. A module that traps, from the agent's module directory.
    let modules = net.data_dir("modules");
    let trapping = ecm_runtime::ModuleStore::new(&modules)
        .insert(
            br#"(module (memory (export "memory") 1)
                (func (export "ecm_abi_version") (result i32) (i32.const 1))
                (func (export "ecm_alloc") (param i32) (result i32) (i32.const 0))
                (func (export "ecm_step") (param i64 i32 i32) (result i32) unreachable)
                (func (export "ecm_run") (param i64 i64 i32 i32) (result i32) unreachable))"#,
        )
        .unwrap();
    let trapping = register(&net, counter.execution, trapping, 20_000).await;
    for (name, entry) in [
        ("divergent", &divergent),
        ("starved", &starved),
        ("trapping", &trapping),
    ] {
        net.devnet
            .deployment
            .programs
            .insert(name.into(), entry.clone());
    }

    let mut config = net.agent_config("host", Roles::HOST);
    config.module_dir = Some(modules);
    config.max_compute_steps = 10_000;
    let host = AgentHandle::spawn(config);
    let requester = net.client("requester").await;
    let input = ecm_programs::by_name("counter")
        .unwrap()
        .parse_input("100")
        .unwrap();
    let mut refused = Vec::new();
    for program in ["divergent", "starved", "trapping"] {
        let mut new = request("counter", "100", PAYMENT, 5);
        new.program = program.into();
        new.input = input.clone();
        refused.push(requester.request(new).await.unwrap());
    }
    let too_long = requester
        .request(request("counter", "1000000", PAYMENT, 5))
        .await
        .unwrap();
    let fine = requester
        .request(request("counter", "100", PAYMENT, 5))
        .await
        .unwrap();
    eventually(
        "the sound request's answer",
        Duration::from_secs(60),
        || async {
            (requester.status(fine).await.unwrap().status == Status::WaitingForResolution)
                .then_some(())
        },
    )
    .await;
    let job = eventually(
        "the over-long request's refusal",
        Duration::from_secs(60),
        || async {
            let store = JobStore::open(&net.data_dir("host")).ok()?;
            store.job(too_long).ok()?.filter(|j| !j.is_open())
        },
    )
    .await;
    assert!(
        matches!(
            &job.stance,
            ecm_agent::Stance::Done { outcome: ecm_agent::Ending { outcome: ecm_agent::Outcome::Refused, reason: Some(why) } }
                if why.contains("cap of 10000")
        ),
        "{:?}",
        job.stance
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in refused.iter().chain([&too_long]) {
        assert_eq!(
            requester.status(*id).await.unwrap().status,
            Status::Pending,
            "request {id} was not answered"
        );
    }
    host.stop().await.unwrap();
    let _ = U256::ZERO;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheating_is_refused_off_anvil() {
    let devnet = ecm_devnet::start(
        ecm_devnet::AnvilConfig {
            chain_id: Some(1),
            ..Default::default()
        },
        ecm_devnet::DeployConfig::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = devnet
        .deployment
        .account("cheater")
        .unwrap()
        .private_key
        .clone();
    let mut config =
        ecm_agent::AgentConfig::new(devnet.deployment.clone(), key, dir.path(), Roles::HOST);
    config.cheat = Some(Cheat::LastStep);
    let err = ecm_agent::run(config, async {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            ecm_agent::Error::CheatOnRealNetwork {
                chain_id: 1,
                anvil: 31337
            }
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_caps_log_ranges_is_read_in_spans_it_accepts() {
    const CAP: u64 = 100;
    let net = TestNet::start(2_000).await;
    // Far more blocks since the deployment than the provider serves in one query.
    net.mine(1_000).await;
    let proxy = RangeLimitProxy::start(&net.deployment().rpc_url, CAP).await;
    let mut config = net.agent_config("host", Roles::HOST);
    config.rpc_url = proxy.url.clone();
    config.programs = vec!["fibonacci".into()];
    let host = AgentHandle::spawn(config);

    let requester = net.client("requester").await;
    let id = requester
        .request(request("fibonacci", "25", PAYMENT, 5))
        .await
        .unwrap();
    eventually(
        "the host's answer through the capped provider",
        Duration::from_secs(60),
        || async {
            let s = requester.status(id).await.unwrap();
            s.status.has_answer().then_some(())
        },
    )
    .await;
    // A client through the same provider reads the request's input, logged 1,000 blocks ago.
    let through_proxy =
        ecm_client::Client::connect(net.deployment().clone(), Some(proxy.url.clone()), None)
            .await
            .unwrap();
    assert_eq!(
        through_proxy.input(id).await.unwrap(),
        requester.input(id).await.unwrap()
    );
    let stats = &proxy.stats;
    assert!(stats.refused.load(Ordering::Relaxed) > 0, "the cap was hit");
    assert!(stats.served.load(Ordering::Relaxed) > 0);
    assert!(stats.widest_served.load(Ordering::Relaxed) <= CAP);
    host.stop().await.unwrap();
}

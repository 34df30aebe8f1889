//! Starts a real Anvil, deploys, and checks what the deployment file says against the chain.

use alloy::providers::{Provider, ProviderBuilder};
use ecm_bindings::protocol::ProgramKind;
use ecm_devnet::{AnvilConfig, DeployConfig};

#[tokio::test]
async fn deploys_every_program_and_funds_the_dev_accounts() {
    let devnet = ecm_devnet::start(AnvilConfig::default(), DeployConfig::default())
        .await
        .unwrap();
    let d = &devnet.deployment;
    let provider = ProviderBuilder::new().connect_http(d.rpc_url.parse().unwrap());
    assert_eq!(d.chain_id, 31337);
    assert!(!provider.get_code_at(d.broker).await.unwrap().is_empty());
    let factory = ecm_bindings::Factory::new(d.factory, &provider);
    assert_eq!(
        factory.programCount().call().await.unwrap(),
        alloy::primitives::U256::from(
            ecm_programs::all().len() + ecm_programs::wasi_programs().len()
        )
    );
    // The example machine programs: registered with the prover and the initial core the
    // machine lowers their modules to.
    let prover = factory.machineProver().call().await.unwrap();
    assert!(!provider.get_code_at(prover).await.unwrap().is_empty());
    for wasi in ecm_programs::wasi_programs() {
        let entry = d.program(wasi.name).unwrap();
        let core = ecm_machine::Program::from_wasm(wasi.wasm)
            .unwrap()
            .initial_core();
        assert_eq!(entry.initial_core, Some(core), "{}", wasi.name);
        let program = factory.getProgram(entry.id).call().await.unwrap();
        assert_eq!(program.execution, prover);
        assert_eq!(program.initialCore, core);
        assert_eq!(program.wasmHash, alloy::primitives::keccak256(wasi.wasm));
        assert_eq!(
            ProgramKind::try_from(program.kind),
            Ok(ProgramKind::Machine)
        );
    }
    for spec in ecm_programs::all() {
        let entry = d.program(spec.name).unwrap();
        let program = factory.getProgram(entry.id).call().await.unwrap();
        assert_eq!(program.wasmHash, spec.wasm_hash());
        assert_eq!(program.maxStepGas, spec.max_step_gas);
        // The deployed runtime code is the artifact's, but for the immutable holding the
        // implementation's own address (zero in the artifact).
        let code = provider.get_code_at(entry.execution).await.unwrap();
        let own_address = entry.execution.into_word();
        let masked: Vec<u8> = mask(&code, own_address.as_slice());
        assert_eq!(masked, spec.runtime_bytecode.to_vec(), "{}", spec.name);
    }
    for account in &d.accounts {
        assert!(
            provider.get_balance(account.address).await.unwrap() > alloy::primitives::U256::ZERO,
            "{}",
            account.role
        );
    }
    let broker = ecm_bindings::Broker::new(d.broker, &provider);
    assert_eq!(
        broker.arity().call().await.unwrap(),
        alloy::primitives::U256::from(16)
    );
}

#[tokio::test]
async fn a_missing_binary_is_a_clear_error() {
    let err = ecm_devnet::Anvil::spawn(AnvilConfig {
        binary: Some("/nonexistent/anvil".into()),
        ..Default::default()
    })
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/anvil"), "{err}");
}

/// `code` with every occurrence of `word` replaced by zeros.
fn mask(code: &[u8], word: &[u8]) -> Vec<u8> {
    let mut out = code.to_vec();
    let mut i = 0;
    while i + word.len() <= out.len() {
        if &out[i..i + word.len()] == word {
            out[i..i + word.len()].fill(0);
            i += word.len();
        } else {
            i += 1;
        }
    }
    out
}

/// The states Anvil writes out of memory go to a directory of the devnet's, removed with it
/// (Anvil's own default keeps them when the node is killed: gigabytes per long run).
#[tokio::test]
async fn the_nodes_written_states_go_with_the_devnet() {
    let devnet = ecm_devnet::start(AnvilConfig::default(), DeployConfig::default())
        .await
        .unwrap();
    let states = devnet.anvil.states_dir().to_path_buf();
    let provider =
        alloy::providers::ProviderBuilder::new().connect_http(devnet.anvil.url().parse().unwrap());
    alloy::providers::ext::AnvilApi::anvil_mine(&provider, Some(1_000), None)
        .await
        .unwrap();
    let written = std::fs::read_dir(&states).unwrap().count();
    assert!(written > 0, "Anvil wrote states to {}", states.display());
    drop(devnet);
    assert!(!states.exists(), "{} removed", states.display());
}

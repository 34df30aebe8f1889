//! Deploying ecm: the machine prover, the Factory, the Broker, the example step programs and
//! the example machine programs.

use crate::{Error, Result, anvil::DEV_KEYS};
use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use ecm_bindings::{Broker, Factory, MachineProver};
use ecm_primitives::{Deployment, DevAccount, ProgramEntry};
use std::collections::BTreeMap;
use tracing::info;

/// Parameters of a deployment.
#[derive(Clone, Debug)]
pub struct DeployConfig {
    /// The bisection arity (16 is the measured optimum, see docs/benchmarks.md).
    pub arity: u64,
    /// Each party's chess clock per game, in blocks.
    pub clock_blocks: u32,
    /// Whether to record Anvil's dev accounts, with roles, in the deployment file.
    pub dev_accounts: bool,
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            arity: 16,
            clock_blocks: 600,
            dev_accounts: true,
        }
    }
}

/// Roles of Anvil's dev accounts in the deployment file (by index).
pub const DEV_ROLES: [&str; 10] = [
    "deployer",
    "requester",
    "host",
    "challenger",
    "cheater",
    "requester-2",
    "host-2",
    "challenger-2",
    "spare-1",
    "spare-2",
];

/// Deploys the machine prover, the Factory, the Broker and every example program through `rpc_url` with
/// `deployer_key`, registering each program with its WASM module hash.
pub async fn deploy(
    rpc_url: &str,
    deployer_key: &str,
    config: &DeployConfig,
) -> Result<Deployment> {
    let fail = |what: &str| {
        let what = what.to_string();
        move |e: &dyn std::fmt::Display| Error::Deploy {
            what: what.clone(),
            reason: e.to_string(),
        }
    };
    let signer: PrivateKeySigner = deployer_key
        .parse()
        .map_err(|e| fail("the deployer key")(&e))?;
    let provider: DynProvider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(rpc_url.parse().map_err(|e| fail("the rpc url")(&e))?)
        .erased();
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| fail("(reading the chain id)")(&e))?;

    // The prover of every machine program this Factory registers, fixed at its deployment.
    let prover = MachineProver::deploy(provider.clone())
        .await
        .map_err(|e| fail("MachineProver")(&e))?;
    let factory = Factory::deploy(provider.clone(), *prover.address())
        .await
        .map_err(|e| fail("Factory")(&e))?;
    let clock = config.clock_blocks;
    let broker = Broker::deploy(
        provider.clone(),
        *factory.address(),
        U256::from(config.arity),
        clock,
    )
    .await
    .map_err(|e| fail("Broker")(&e))?;
    let deployed_at_block = provider
        .get_block_number()
        .await
        .map_err(|e| fail("(reading the block number)")(&e))?;

    let mut programs = BTreeMap::new();
    for spec in ecm_programs::all() {
        let tx = TransactionRequest::default().with_deploy_code(spec.creation_bytecode.clone());
        let receipt = provider
            .send_transaction(tx)
            .await
            .map_err(|e| fail(spec.name)(&e))?
            .get_receipt()
            .await
            .map_err(|e| fail(spec.name)(&e))?;
        let execution = receipt
            .contract_address
            .ok_or_else(|| fail(spec.name)(&"no contract address in the receipt"))?;
        let wasm_hash = spec.wasm_hash();
        factory
            .registerProgram(
                execution,
                wasm_hash,
                spec.max_step_gas,
                format!("ecm://programs/{}", spec.name),
            )
            .send()
            .await
            .map_err(|e| fail(spec.name)(&e))?
            .get_receipt()
            .await
            .map_err(|e| fail(spec.name)(&e))?;
        let id = factory
            .programIdOf(execution, wasm_hash, spec.max_step_gas)
            .call()
            .await
            .map_err(|e| fail(spec.name)(&e))?;
        info!(target: "devnet", program = spec.name, %id, %execution, "registered");
        programs.insert(
            spec.name.to_string(),
            ProgramEntry {
                id,
                execution,
                wasm_hash,
                max_step_gas: spec.max_step_gas,
                initial_core: None,
                module: None,
            },
        );
    }

    // The example machine programs: stock wasm32-wasip1 modules, no contract of their own.
    for wasi in ecm_programs::wasi_programs() {
        let registration = crate::machine::register_machine_program(
            &provider,
            *factory.address(),
            wasi.wasm,
            format!("ecm://programs/{}", wasi.name),
            None,
        )
        .await
        .map_err(|e| fail(wasi.name)(&e))?;
        programs.insert(wasi.name.to_string(), registration.entry);
    }

    let accounts = if config.dev_accounts {
        DEV_KEYS
            .iter()
            .zip(DEV_ROLES)
            .map(|(key, role)| {
                let address: Address = key
                    .parse::<PrivateKeySigner>()
                    .expect("valid dev key")
                    .address();
                DevAccount {
                    role: role.into(),
                    address,
                    private_key: key.to_string(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Deployment {
        rpc_url: rpc_url.to_string(),
        chain_id,
        broker: *broker.address(),
        factory: *factory.address(),
        deployed_at_block,
        arity: config.arity,
        clock_blocks: config.clock_blocks,
        programs,
        accounts,
    })
}

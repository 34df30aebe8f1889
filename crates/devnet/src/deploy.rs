//! Deploying ecm to any EVM chain: the machine prover, the Factory, the Broker (and its tournament module), the example step
//! programs and the example machine programs.
//!
//! One path for the devnet and for real networks. On a real network a deployment can be
//! interrupted (a dropped connection, Ctrl-C, a machine that reboots), so [`deploy_resumable`]
//! keeps a journal beside the deployment file and a second run picks up where the first stopped:
//!
//! ```text
//!  wait until none of the deployer's transactions is pending      (nothing in flight to guess)
//!  for each contract:  journal names it and code is there -> adopt it
//!                      otherwise -> journal its address (deployer + nonce), then send
//!  for each program:   the Factory knows its id -> skip; otherwise register
//! ```
//!
//! A contract's address is written to the journal before its creation is sent and adopted only
//! if code is there, so a run killed at any moment neither loses a contract nor creates one twice.

use crate::{Error, Result, anvil::DEV_KEYS};
use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolConstructor,
};
use ecm_bindings::{Broker, Factory, MachineProver, tournaments::BrokerTournaments};
use ecm_primitives::{Deployment, DevAccount, ProgramEntry};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};
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
    /// The example programs to deploy and register, by name (`None`: all of them).
    pub programs: Option<Vec<String>>,
    /// Blocks to wait on top of each transaction's own block before the next step.
    pub confirmations: u64,
    /// How long to wait for the deployer's earlier transactions, and for each confirmation.
    pub timeout: Duration,
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            arity: 16,
            clock_blocks: 600,
            dev_accounts: true,
            programs: None,
            confirmations: 0,
            timeout: Duration::from_secs(300),
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

/// The names of the example programs a deployment can register: the step programs, then the
/// machine programs.
pub fn program_names() -> Vec<&'static str> {
    ecm_programs::all()
        .iter()
        .map(|spec| spec.name)
        .chain(ecm_programs::wasi_programs().iter().map(|wasi| wasi.name))
        .collect()
}

/// Deploys everything through `rpc_url` with `deployer_key`, in one go (the devnet's path: a
/// fresh chain, nothing to resume).
pub async fn deploy(
    rpc_url: &str,
    deployer_key: &str,
    config: &DeployConfig,
) -> Result<Deployment> {
    run(rpc_url, deployer_key, config, None).await
}

/// Deploys everything through `rpc_url` with `deployer_key`, keeping a journal at `journal`
/// so that a run interrupted at any point is finished by the next one without deploying
/// anything twice. The journal is removed once the deployment is complete.
pub async fn deploy_resumable(
    rpc_url: &str,
    deployer_key: &str,
    config: &DeployConfig,
    journal: &Path,
) -> Result<Deployment> {
    let deployment = run(rpc_url, deployer_key, config, Some(journal)).await?;
    std::fs::remove_file(journal).map_err(|e| Error::Journal {
        path: journal.into(),
        reason: format!("removing it: {e}"),
    })?;
    Ok(deployment)
}

/// Where a deployment's journal is kept: beside its deployment file.
pub fn journal_path(deployment_file: &Path) -> PathBuf {
    let mut name = deployment_file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "deployment.json".into());
    name.push(".partial");
    deployment_file.with_file_name(name)
}

async fn run(
    rpc_url: &str,
    deployer_key: &str,
    config: &DeployConfig,
    journal_file: Option<&Path>,
) -> Result<Deployment> {
    let chosen = choose_programs(config.programs.as_deref())?;
    let (provider, account) = ecm_chain::provider(rpc_url, Some(deployer_key))
        .await
        .map_err(|e| Error::deploy("(connecting)", e))?;
    let account = account.expect("a provider with a key has an account");
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(|e| Error::deploy("(reading the chain id)", e))?;
    let journal = Journal::open(journal_file, chain_id, account, config)?;
    let mut deployer = Deployer {
        provider: provider.clone(),
        account,
        journal,
        journal_file: journal_file.map(Path::to_path_buf),
        config: config.clone(),
    };
    deployer.settle_pending().await?;

    // The prover of every machine program this Factory registers, fixed at its deployment.
    let prover = deployer
        .create("MachineProver", MachineProver::BYTECODE.clone())
        .await?;
    let factory = deployer
        .create(
            "Factory",
            with_constructor(
                &Factory::BYTECODE,
                Factory::constructorCall {
                    machineProver_: prover,
                },
            ),
        )
        .await?;
    // The Broker's tournament disputes run in this module, deployed first with the Broker's
    // parameters (the Broker's creation code has no room for it).
    let tournaments = deployer
        .create(
            "BrokerTournaments",
            with_constructor(
                &BrokerTournaments::BYTECODE,
                BrokerTournaments::constructorCall {
                    factory_: factory,
                    arity_: U256::from(config.arity),
                    clockBlocks_: config.clock_blocks,
                },
            ),
        )
        .await?;
    let broker = deployer
        .create(
            "Broker",
            with_constructor(
                &Broker::BYTECODE,
                Broker::constructorCall {
                    factory_: factory,
                    arity_: U256::from(config.arity),
                    clockBlocks_: config.clock_blocks,
                    tournaments_: tournaments,
                },
            ),
        )
        .await?;
    let deployed_at_block = deployer.journal.contracts["Broker"].block;

    let factory_contract = Factory::new(factory, provider.clone());
    let mut programs = BTreeMap::new();
    for spec in ecm_programs::all()
        .iter()
        .filter(|spec| chosen.contains(&spec.name))
    {
        let execution = deployer
            .create(
                &format!("program:{}", spec.name),
                spec.creation_bytecode.clone(),
            )
            .await?;
        let wasm_hash = spec.wasm_hash();
        let id = factory_contract
            .programIdOf(execution, wasm_hash, spec.max_step_gas)
            .call()
            .await
            .map_err(|e| Error::deploy(spec.name, e))?;
        let known = factory_contract
            .stepInfo(id)
            .call()
            .await
            .map_err(|e| Error::deploy(spec.name, e))?;
        if known.execution.is_zero() {
            let receipt = factory_contract
                .registerProgram(
                    execution,
                    wasm_hash,
                    spec.max_step_gas,
                    format!("ecm://programs/{}", spec.name),
                )
                .send()
                .await
                .map_err(|e| Error::deploy(spec.name, e))?
                .get_receipt()
                .await
                .map_err(|e| Error::deploy(spec.name, e))?;
            deployer
                .confirm(spec.name, receipt.block_number.unwrap_or_default())
                .await?;
            info!(target: "deploy", program = spec.name, %id, %execution, "registered");
        }
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
    for wasi in ecm_programs::wasi_programs()
        .iter()
        .filter(|wasi| chosen.contains(&wasi.name))
    {
        let registration = crate::machine::register_machine_program(
            &provider,
            factory,
            wasi.wasm,
            format!("ecm://programs/{}", wasi.name),
            None,
        )
        .await
        .map_err(|e| Error::deploy(wasi.name, e))?;
        if registration.newly_registered {
            let head = deployer.head(wasi.name).await?;
            deployer.confirm(wasi.name, head).await?;
        }
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
        broker,
        factory,
        deployed_at_block,
        arity: config.arity,
        clock_blocks: config.clock_blocks,
        programs,
        accounts,
    })
}

/// The chosen program names, checked against the known ones.
fn choose_programs(chosen: Option<&[String]>) -> Result<Vec<&'static str>> {
    let known = program_names();
    let Some(chosen) = chosen else {
        return Ok(known);
    };
    chosen
        .iter()
        .map(|name| {
            known
                .iter()
                .find(|k| **k == name.as_str())
                .copied()
                .ok_or_else(|| Error::UnknownProgram {
                    name: name.clone(),
                    known: known.join(", "),
                })
        })
        .collect()
}

/// Creation code followed by its ABI-encoded constructor arguments.
fn with_constructor(code: &Bytes, args: impl SolConstructor) -> Bytes {
    [code.as_ref(), &args.abi_encode()].concat().into()
}

/// What a deployment has created so far, kept on disk between runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Journal {
    chain_id: u64,
    deployer: Address,
    arity: u64,
    clock_blocks: u32,
    /// Contracts by name ("MachineProver", "Factory", "BrokerTournaments", "Broker", "program:<name>").
    contracts: BTreeMap<String, Created>,
}

/// A contract creation: where it lands, and a block at or before the one it landed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Created {
    address: Address,
    /// Before the creation is confirmed, the head when it was sent; then its own block.
    block: u64,
}

impl Journal {
    /// The journal at `path` if there is one (it must be for this chain, deployer and
    /// parameters), else an empty one.
    fn open(
        path: Option<&Path>,
        chain_id: u64,
        deployer: Address,
        config: &DeployConfig,
    ) -> Result<Self> {
        let fresh = Self {
            chain_id,
            deployer,
            arity: config.arity,
            clock_blocks: config.clock_blocks,
            contracts: BTreeMap::new(),
        };
        let Some(path) = path else {
            return Ok(fresh);
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
            Err(e) => {
                return Err(Error::Journal {
                    path: path.into(),
                    reason: e.to_string(),
                });
            }
        };
        let journal: Self = serde_json::from_str(&text).map_err(|e| Error::Journal {
            path: path.into(),
            reason: format!("{e} (remove it to start over)"),
        })?;
        let same = |found: String, now: String, what: &str| {
            if found == now {
                Ok(())
            } else {
                Err(Error::Journal {
                    path: path.into(),
                    reason: format!(
                        "it is an unfinished deployment with {what} {found}, this one has {now}: \
                         run with the same settings to finish it, or remove it to start over"
                    ),
                })
            }
        };
        same(
            journal.chain_id.to_string(),
            chain_id.to_string(),
            "chain id",
        )?;
        same(
            journal.deployer.to_string(),
            deployer.to_string(),
            "deployer",
        )?;
        same(journal.arity.to_string(), config.arity.to_string(), "arity")?;
        same(
            journal.clock_blocks.to_string(),
            config.clock_blocks.to_string(),
            "clock",
        )?;
        info!(target: "deploy", journal = %path.display(), contracts = journal.contracts.len(), "resuming");
        Ok(journal)
    }

    /// Writes the journal: a temporary file, synced, renamed over the old one, so that a crash
    /// leaves either the old journal or the new one.
    fn save(&self, path: &Path) -> Result<()> {
        let error = |e: std::io::Error| Error::Journal {
            path: path.into(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(error)?;
        }
        let temporary = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(self).expect("a journal serializes");
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&temporary).map_err(error)?;
            file.write_all(text.as_bytes()).map_err(error)?;
            file.sync_all().map_err(error)?;
        }
        std::fs::rename(&temporary, path).map_err(error)
    }
}

/// Sends the deployment's transactions, journaling each creation.
struct Deployer {
    provider: DynProvider,
    account: Address,
    journal: Journal,
    journal_file: Option<PathBuf>,
    config: DeployConfig,
}

impl Deployer {
    fn save(&self) -> Result<()> {
        match &self.journal_file {
            Some(path) => self.journal.save(path),
            None => Ok(()),
        }
    }

    /// Waits until none of the deployer's transactions is pending, so that what the chain
    /// shows is all there will be of an earlier run.
    async fn settle_pending(&self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        loop {
            let mined = self
                .provider
                .get_transaction_count(self.account)
                .latest()
                .await
                .map_err(|e| Error::deploy("(reading the deployer's nonce)", e))?;
            let pending = self
                .provider
                .get_transaction_count(self.account)
                .pending()
                .await
                .map_err(|e| Error::deploy("(reading the deployer's nonce)", e))?;
            if pending <= mined {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::deploy(
                    "(waiting for earlier transactions)",
                    format!(
                        "{} transaction(s) of {} still pending after {:?}: wait for them to be \
                         mined (or replace them), then run again",
                        pending - mined,
                        self.account,
                        self.config.timeout
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The contract `name` from the journal if its code is on chain, else created now from
    /// `code` (its address journaled before the transaction is sent).
    async fn create(&mut self, name: &str, code: Bytes) -> Result<Address> {
        if let Some(created) = self.journal.contracts.get(name).copied() {
            let deployed = self
                .provider
                .get_code_at(created.address)
                .await
                .map_err(|e| Error::deploy(name, e))?;
            if !deployed.is_empty() {
                info!(target: "deploy", contract = name, address = %created.address, "already deployed");
                return Ok(created.address);
            }
        }
        let nonce = self
            .provider
            .get_transaction_count(self.account)
            .pending()
            .await
            .map_err(|e| Error::deploy(name, e))?;
        let address = self.account.create(nonce);
        let head = self.head(name).await?;
        self.journal.contracts.insert(
            name.into(),
            Created {
                address,
                block: head,
            },
        );
        self.save()?;
        let tx = TransactionRequest::default()
            .with_deploy_code(code)
            .with_nonce(nonce);
        let receipt = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(|e| Error::deploy(name, e))?
            .get_receipt()
            .await
            .map_err(|e| Error::deploy(name, e))?;
        if !receipt.status() || receipt.contract_address != Some(address) {
            return Err(Error::deploy(
                name,
                format!(
                    "transaction {} created no contract at {address}",
                    receipt.transaction_hash
                ),
            ));
        }
        let block = receipt.block_number.unwrap_or(head);
        self.journal
            .contracts
            .insert(name.into(), Created { address, block });
        self.save()?;
        self.confirm(name, block).await?;
        info!(target: "deploy", contract = name, %address, block, "deployed");
        Ok(address)
    }

    async fn head(&self, what: &str) -> Result<u64> {
        self.provider
            .get_block_number()
            .await
            .map_err(|e| Error::deploy(what, e))
    }

    /// Waits until `block` has the configured number of blocks on top of it.
    async fn confirm(&self, what: &str, block: u64) -> Result<()> {
        let wanted = block + self.config.confirmations;
        let deadline = tokio::time::Instant::now() + self.config.timeout;
        while self.head(what).await? < wanted {
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::deploy(
                    what,
                    format!(
                        "block {block} did not get {} confirmations within {:?}",
                        self.config.confirmations, self.config.timeout
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_sits_beside_the_deployment_file() {
        assert_eq!(
            journal_path(Path::new("/d/net.json")),
            Path::new("/d/net.json.partial")
        );
    }

    #[test]
    fn unknown_programs_are_refused_with_the_known_ones() {
        let err = choose_programs(Some(&["fibonacci".into(), "nope".into()])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("`nope`"), "{message}");
        assert!(message.contains("fibonacci"), "{message}");
        assert_eq!(
            choose_programs(Some(&["fibonacci".into()])).unwrap(),
            ["fibonacci"]
        );
        assert_eq!(choose_programs(None).unwrap(), program_names());
    }
}

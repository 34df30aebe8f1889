//! The deployment file: where a network's contracts and programs are.
//!
//! `ecm devnet` writes it; every other command reads it (`--deployment`), so that nobody has to
//! copy addresses by hand.

use crate::{Error, Result};
use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// A deployment of ecm on one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The JSON-RPC endpoint the deployment was made through.
    pub rpc_url: String,
    /// The chain's id.
    pub chain_id: u64,
    /// The Broker contract.
    pub broker: Address,
    /// The Factory (program registry).
    pub factory: Address,
    /// The block the contracts were deployed in (watchers start from it).
    pub deployed_at_block: u64,
    /// The bisection arity of the Broker.
    pub arity: u64,
    /// The per-party chess clock of the Broker, in blocks.
    pub clock_blocks: u32,
    /// Registered programs by name.
    pub programs: BTreeMap<String, ProgramEntry>,
    /// Funded development accounts (devnets only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<DevAccount>,
}

/// A registered program: a step program (an Execution contract and its WASM twin) or a
/// machine program (a WASM module run by ecm's machine, `initial_core` set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgramEntry {
    /// Its id in the Factory.
    pub id: B256,
    /// Its Execution implementation contract; the machine prover for a machine program.
    pub execution: Address,
    /// keccak256 of its WASM module.
    pub wasm_hash: B256,
    /// The gas each step is given (a machine program's: the Factory's `MACHINE_STEP_GAS`, which
    /// only sizes deposits).
    pub max_step_gas: u32,
    /// A machine program's initial core, `keccak(core_0)` of the lowered module; absent for a
    /// step program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_core: Option<B256>,
    /// Where a machine program's module file is, for hosts and challengers to load (absent for
    /// the step programs, which are built into ecm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<PathBuf>,
}

impl ProgramEntry {
    /// Whether this is a machine program.
    pub fn is_machine(&self) -> bool {
        self.initial_core.is_some()
    }
}

/// A funded development account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevAccount {
    /// What the account is for in the demo (requester, host, challenger, ...).
    pub role: String,
    /// Its address.
    pub address: Address,
    /// Its private key, hex (Anvil's well-known dev keys: never use them on a real network).
    pub private_key: String,
}

impl Deployment {
    /// Reads a deployment file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::Io {
            path: path.into(),
            error,
        })?;
        serde_json::from_str(&text).map_err(|error| Error::Malformed {
            path: path.into(),
            error,
        })
    }

    /// Writes the deployment file (pretty JSON).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("a deployment serializes");
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| Error::Io {
                path: dir.into(),
                error,
            })?;
        }
        std::fs::write(path, text + "\n").map_err(|error| Error::Io {
            path: path.into(),
            error,
        })
    }

    /// The program named `name`.
    pub fn program(&self, name: &str) -> Result<&ProgramEntry> {
        self.programs.get(name).ok_or_else(|| {
            Error::UnknownProgram(
                name.into(),
                self.programs.keys().cloned().collect::<Vec<_>>().join(", "),
            )
        })
    }

    /// Whether the program named `name` is one of this deployment's machine programs.
    pub fn is_machine_program(&self, name: &str) -> bool {
        self.programs
            .get(name)
            .is_some_and(ProgramEntry::is_machine)
    }

    /// The name of the program with id `id`, if it is one of this deployment's.
    pub fn program_name(&self, id: B256) -> Option<&str> {
        self.programs
            .iter()
            .find(|(_, p)| p.id == id)
            .map(|(name, _)| name.as_str())
    }

    /// The dev account with role `role`.
    pub fn account(&self, role: &str) -> Option<&DevAccount> {
        self.accounts.iter().find(|a| a.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Deployment {
        let mut programs = BTreeMap::new();
        programs.insert(
            "counter".to_string(),
            ProgramEntry {
                id: B256::repeat_byte(1),
                execution: Address::repeat_byte(2),
                wasm_hash: B256::repeat_byte(3),
                max_step_gas: 20_000,
                initial_core: None,
                module: None,
            },
        );
        programs.insert(
            "sha256sum".to_string(),
            ProgramEntry {
                id: B256::repeat_byte(6),
                execution: Address::repeat_byte(7),
                wasm_hash: B256::repeat_byte(8),
                max_step_gas: 500_000,
                initial_core: Some(B256::repeat_byte(9)),
                module: Some("programs/sha256sum.wasm".into()),
            },
        );
        Deployment {
            rpc_url: "http://127.0.0.1:8545".into(),
            chain_id: 31337,
            broker: Address::repeat_byte(4),
            factory: Address::repeat_byte(5),
            deployed_at_block: 1,
            arity: 16,
            clock_blocks: 100,
            programs,
            accounts: vec![],
        }
    }

    #[test]
    fn round_trips_through_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/deployment.json");
        sample().save(&path).unwrap();
        assert_eq!(Deployment::load(&path).unwrap(), sample());
    }

    #[test]
    fn unknown_program_names_the_known_ones() {
        let err = sample().program("fib").unwrap_err().to_string();
        assert!(err.contains("`fib`") && err.contains("counter"), "{err}");
    }

    #[test]
    fn malformed_file_says_how_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        std::fs::write(&path, "{").unwrap();
        let err = Deployment::load(&path).unwrap_err().to_string();
        assert!(err.contains("ecm devnet"), "{err}");
    }
}

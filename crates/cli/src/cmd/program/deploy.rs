//! `ecm program deploy FILE.wasm`: a stock wasm32 program registered as a machine program, in
//! one command: lowered locally (refused with the machine's own message if it cannot run),
//! registered in the Factory by its hash and initial core, and added to the deployment file.

use crate::{
    opts::{DeploymentOpts, OutputOpts, RpcOpts, WalletOpts},
    output,
};
use clap::Args;
use ecm_devnet::{RegisterError, register_machine_program};
use eyre::{Result, WrapErr, bail, eyre};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The module: a `wasm32-wasip1` command (`cargo build --release --target wasm32-wasip1`,
    /// or C built with wasi-libc), or a module exporting `ecm_main`.
    file: PathBuf,
    /// Its name in the deployment file (default: the file's name without `.wasm`).
    #[arg(long)]
    name: Option<String>,
    /// Where the module and its documentation can be found (recorded in the Factory).
    #[arg(long)]
    metadata_uri: Option<String>,
    #[command(flatten)]
    deployment: DeploymentOpts,
    #[command(flatten)]
    rpc: RpcOpts,
    #[command(flatten)]
    wallet: WalletOpts,
    #[command(flatten)]
    output: OutputOpts,
}

impl DeployArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let mut deployment = self.deployment.load()?;
        let key = self.wallet.require(&deployment)?;
        let bytes = std::fs::read(&self.file)
            .wrap_err_with(|| format!("reading {}", self.file.display()))?;
        let name = match &self.name {
            Some(name) => name.clone(),
            None => self
                .file
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
                .ok_or_else(|| {
                    eyre!(
                        "cannot name the program after {}: pass --name",
                        self.file.display()
                    )
                })?,
        };
        let module = std::fs::canonicalize(&self.file)
            .wrap_err_with(|| format!("resolving {}", self.file.display()))?;
        let url = self
            .rpc
            .rpc_url
            .clone()
            .unwrap_or(deployment.rpc_url.clone());
        let (provider, _) = ecm_chain::provider(&url, Some(&key)).await?;
        let uri = self
            .metadata_uri
            .clone()
            .unwrap_or_else(|| format!("ecm://programs/{name}"));
        let registration = match register_machine_program(
            &provider,
            deployment.factory,
            &bytes,
            uri,
            Some(module),
        )
        .await
        {
            Ok(registration) => registration,
            Err(RegisterError::Lowering(e)) => {
                return Err(eyre!(e))
                    .wrap_err(format!("{} cannot run on the machine", self.file.display()));
            }
            Err(e) => return Err(eyre!(e)).wrap_err("registering the program"),
        };
        let entry = registration.entry;
        if let Some(existing) = deployment.programs.get(&name)
            && existing.id != entry.id
        {
            bail!(
                "the deployment already has a program named `{name}` (id {}): choose another --name",
                existing.id
            );
        }
        // Beside the deployment, for agents that watch it (`ecm devnet`'s do).
        let store = ecm_runtime::ModuleStore::new(super::module_dir(&self.deployment.deployment));
        store
            .insert(&bytes)
            .wrap_err_with(|| format!("storing the module in {}", store.dir().display()))?;
        deployment.programs.insert(name.clone(), entry.clone());
        deployment
            .save(&self.deployment.deployment)
            .wrap_err("adding the program to the deployment file")?;

        let initial_core = entry
            .initial_core
            .expect("a machine program's entry has its core");
        if self.output.json {
            output::json(&serde_json::json!({
                "name": name,
                "id": entry.id.to_string(),
                "wasmHash": entry.wasm_hash.to_string(),
                "initialState": initial_core.to_string(),
                "newlyRegistered": registration.newly_registered,
            }));
        } else {
            output::fields(&[
                ("program", name.clone()),
                ("id", entry.id.to_string()),
                ("wasm hash", entry.wasm_hash.to_string()),
                ("initial core", initial_core.to_string()),
                (
                    "registered",
                    if registration.newly_registered {
                        "now".into()
                    } else {
                        "already (same module, same lowering)".into()
                    },
                ),
                (
                    "deployment",
                    self.deployment.deployment.display().to_string(),
                ),
            ]);
        }
        Ok(())
    }
}

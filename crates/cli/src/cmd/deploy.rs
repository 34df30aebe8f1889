//! `ecm deploy`: ecm on any EVM chain, its deployment file written for every other command.

use crate::{
    opts::{OutputOpts, WalletOpts},
    output,
};
use alloy::providers::Provider;
use clap::Args;
use ecm_devnet::{DeployConfig, deploy_resumable, journal_path};
use ecm_primitives::Deployment;
use eyre::{Result, WrapErr, bail, eyre};
use std::{path::PathBuf, time::Duration};

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// JSON-RPC endpoint of the chain (http, https, ws or wss).
    #[arg(long, env = "ETH_RPC_URL")]
    rpc_url: String,
    /// The deployer, who pays for the deployment.
    #[command(flatten)]
    wallet: WalletOpts,
    /// Where to write the deployment file (the other commands' --deployment).
    #[arg(long)]
    out: PathBuf,
    /// Bisection arity of the Broker.
    #[arg(long, default_value_t = 16)]
    arity: u64,
    /// Each party's chess clock in a dispute, in blocks.
    #[arg(long, default_value_t = 600)]
    clock_blocks: u32,
    /// The example programs to deploy and register, comma-separated, or `none`
    /// (default: all of them; `ecm program deploy` adds your own later).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    programs: Option<Vec<String>>,
    /// Blocks to wait on top of each transaction's block before the next step.
    #[arg(long, default_value_t = 2)]
    confirmations: u64,
    /// Seconds to wait for earlier pending transactions, and for each confirmation.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    #[command(flatten)]
    output: OutputOpts,
}

impl DeployArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let key = self.wallet.require_own(None)?;
        let journal = journal_path(&self.out);
        if self.out.exists() && !journal.exists() {
            return self.already_deployed().await;
        }
        let programs = match self.programs.as_deref() {
            Some([none]) if none == "none" => Some(Vec::new()),
            other => other.map(<[String]>::to_vec),
        };
        let config = DeployConfig {
            arity: self.arity,
            clock_blocks: self.clock_blocks,
            dev_accounts: false,
            programs,
            confirmations: self.confirmations,
            timeout: Duration::from_secs(self.timeout),
        };
        let deployment = match deploy_resumable(&self.rpc_url, &key, &config, &journal).await {
            Ok(deployment) => deployment,
            Err(e) => {
                let resume = if journal.exists() {
                    format!(
                        "; what was deployed is in {}, and the same command finishes the job",
                        journal.display()
                    )
                } else {
                    String::new()
                };
                return Err(eyre!(e)).wrap_err(format!("deploying ecm{resume}"));
            }
        };
        deployment
            .save(&self.out)
            .wrap_err_with(|| format!("writing {}", self.out.display()))?;
        self.report(&deployment, true);
        Ok(())
    }

    /// A finished deployment file at --out: nothing to deploy, if it is this chain's.
    async fn already_deployed(&self) -> Result<()> {
        let deployment = Deployment::load(&self.out)?;
        let (provider, _) = ecm_chain::provider(&self.rpc_url, None).await?;
        let chain_id = provider
            .get_chain_id()
            .await
            .wrap_err_with(|| format!("reading the chain id from {}", self.rpc_url))?;
        let code = provider
            .get_code_at(deployment.broker)
            .await
            .wrap_err("reading the Broker's code")?;
        if chain_id != deployment.chain_id || code.is_empty() {
            bail!(
                "{} describes a deployment that is not on this chain (chain {}, Broker {}): \
                 choose another --out, or remove the file to deploy afresh",
                self.out.display(),
                deployment.chain_id,
                deployment.broker
            );
        }
        self.report(&deployment, false);
        Ok(())
    }

    /// Prints what is deployed; `newly`: by this run (else it was there already).
    fn report(&self, deployment: &Deployment, newly: bool) {
        if self.output.json {
            output::json(&serde_json::json!({
                "chainId": deployment.chain_id,
                "broker": deployment.broker.to_string(),
                "factory": deployment.factory.to_string(),
                "deployedAtBlock": deployment.deployed_at_block,
                "programs": deployment.programs.keys().collect::<Vec<_>>(),
                "deployment": self.out.display().to_string(),
                "newlyDeployed": newly,
            }));
            return;
        }
        let what = if newly {
            "deployed"
        } else {
            "already deployed"
        };
        println!("ecm {what} on chain {}", deployment.chain_id);
        output::fields(&[
            ("broker", deployment.broker.to_string()),
            ("factory", deployment.factory.to_string()),
            (
                "deployed at block",
                deployment.deployed_at_block.to_string(),
            ),
            ("arity", deployment.arity.to_string()),
            ("clock blocks", deployment.clock_blocks.to_string()),
            (
                "programs",
                deployment
                    .programs
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            ("deployment", self.out.display().to_string()),
        ]);
    }
}

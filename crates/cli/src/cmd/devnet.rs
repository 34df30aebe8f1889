//! `ecm devnet`: Anvil with ecm deployed, and optionally agents, until Ctrl-C.

use crate::output;
use clap::Args;
use ecm_agent::{AgentConfig, Cheat, Roles};
use ecm_devnet::{AnvilConfig, DeployConfig};
use eyre::{Result, WrapErr};
use std::path::PathBuf;
use tokio::sync::watch;

#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8545)]
    port: u16,
    /// Seconds between blocks (0: a block per transaction).
    #[arg(long, default_value_t = 1)]
    block_time: u64,
    /// Where to write the deployment file.
    #[arg(long, env = "ECM_DEPLOYMENT", default_value = ".ecm/deployment.json")]
    out: PathBuf,
    /// Bisection arity.
    #[arg(long, default_value_t = 16)]
    arity: u64,
    /// Each party's chess clock in a dispute, in blocks.
    #[arg(long, default_value_t = 600)]
    clock_blocks: u32,
    /// Also run a host (dev account `host`).
    #[arg(long)]
    host: bool,
    /// Also run a challenger (dev account `challenger`).
    #[arg(long)]
    challenger: bool,
    /// Also run a cheating host (dev account `cheater`) that lies from a step drawn at random
    /// from each request's trace (a flipped state, so a wrong output).
    #[arg(long)]
    cheater: bool,
    /// Also serve the explorer (a web page over the devnet) on this port of 127.0.0.1.
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "8080")]
    explorer: Option<u16>,
}

impl DevnetArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let anvil = AnvilConfig {
            port: Some(self.port),
            block_time: (self.block_time > 0).then_some(self.block_time),
            binary: None,
            chain_id: None,
        };
        let deploy = DeployConfig {
            arity: self.arity,
            clock_blocks: self.clock_blocks,
            ..DeployConfig::default()
        };
        let devnet = ecm_devnet::start(anvil, deploy)
            .await
            .wrap_err("starting the devnet")?;
        let deployment = devnet.deployment.clone();
        deployment.save(&self.out)?;

        println!(
            "ecm devnet on {} (chain {})",
            deployment.rpc_url, deployment.chain_id
        );
        output::fields(&[
            ("broker", deployment.broker.to_string()),
            ("factory", deployment.factory.to_string()),
            ("deployment", self.out.display().to_string()),
        ]);
        println!();
        let programs: Vec<Vec<String>> = deployment
            .programs
            .iter()
            .map(|(name, p)| {
                let kind = if p.is_machine() { "machine" } else { "step" };
                vec![
                    name.clone(),
                    kind.into(),
                    p.id.to_string(),
                    p.max_step_gas.to_string(),
                ]
            })
            .collect();
        output::table(&["program", "kind", "id", "step gas"], &programs);
        println!();
        let accounts: Vec<Vec<String>> = deployment
            .accounts
            .iter()
            .map(|a| vec![a.role.clone(), a.address.to_string(), a.private_key.clone()])
            .collect();
        output::table(
            &[
                "dev account",
                "address",
                "private key (well-known: devnets only)",
            ],
            &accounts,
        );

        let (stop_tx, stop_rx) = watch::channel(false);
        let mut agents = Vec::new();
        let data = self
            .out
            .parent()
            .map(|p| p.join("agents"))
            .unwrap_or_else(|| PathBuf::from(".ecm/agents"));
        for (enabled, role, roles, cheat) in [
            (self.host, "host", Roles::HOST, None),
            (self.challenger, "challenger", Roles::CHALLENGER, None),
            (
                self.cheater,
                "cheater",
                Roles::HOST,
                Some(Cheat::RandomStep),
            ),
        ] {
            if !enabled {
                continue;
            }
            let key = deployment
                .account(role)
                .expect("dev accounts are recorded")
                .private_key
                .clone();
            let mut config = AgentConfig::new(deployment.clone(), key, data.join(role), roles);
            config.cheat = cheat;
            // Where `ecm program deploy` puts the modules it registers: the agents serve a
            // program deployed while they run.
            config.module_dir = Some(crate::cmd::program::module_dir(&self.out));
            let mut stop = stop_rx.clone();
            agents.push(tokio::spawn(ecm_agent::run(config, async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            })));
            println!("running a {role} agent in-process");
        }
        let explorer = match self.explorer {
            Some(port) => Some(
                crate::cmd::explorer::serve(deployment.clone(), Some(self.out.clone()), port)
                    .await?,
            ),
            None => None,
        };
        println!("\nready; press Ctrl-C to stop");

        tokio::signal::ctrl_c()
            .await
            .wrap_err("waiting for Ctrl-C")?;
        println!("stopping...");
        if let Some(explorer) = explorer {
            explorer.stop().await;
        }
        let _ = stop_tx.send(true);
        for agent in agents {
            if let Ok(Err(e)) = agent.await {
                eprintln!("an agent stopped with an error: {e}");
            }
        }
        devnet.anvil.stop().await;
        Ok(())
    }
}

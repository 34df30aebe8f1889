//! `ecm explorer`: a local web page over a deployment, until Ctrl-C.

use crate::opts::{DeploymentOpts, RpcOpts};
use clap::Args;
use ecm_explorer::{Explorer, ExplorerConfig};
use ecm_primitives::Deployment;
use eyre::{Result, WrapErr};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(crate) struct ExplorerArgs {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[command(flatten)]
    deployment: DeploymentOpts,
    #[command(flatten)]
    rpc: RpcOpts,
}

impl ExplorerArgs {
    pub(crate) async fn run(self) -> Result<()> {
        let deployment = self.deployment.load()?;
        let mut config = ExplorerConfig::new(deployment, self.port);
        config.rpc_url = self.rpc.rpc_url;
        config.deployment_file = Some(self.deployment.deployment);
        let explorer = start(config).await?;
        println!("press Ctrl-C to stop");
        tokio::signal::ctrl_c()
            .await
            .wrap_err("waiting for Ctrl-C")?;
        explorer.stop().await;
        Ok(())
    }
}

/// Starts the explorer for `deployment` on `port` (0: any free port) and says where it is;
/// with the deployment's file, programs deployed later are shown by name.
pub(crate) async fn serve(
    deployment: Deployment,
    file: Option<PathBuf>,
    port: u16,
) -> Result<Explorer> {
    let mut config = ExplorerConfig::new(deployment, port);
    config.deployment_file = file;
    start(config).await
}

async fn start(config: ExplorerConfig) -> Result<Explorer> {
    let explorer = Explorer::start(config)
        .await
        .wrap_err("starting the explorer")?;
    println!("explorer on {}", explorer.url());
    Ok(explorer)
}

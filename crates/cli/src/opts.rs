//! Global options, the shared RPC/wallet/deployment options, and the command tree.

use crate::cmd;
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Parser, Subcommand};
use ecm_primitives::Deployment;
use eyre::{Result, WrapErr, bail, eyre};
use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
};

/// A verifiable compute market on Ethereum.
#[derive(Debug, Parser)]
#[command(name = "ecm", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start a local Anvil devnet with ecm deployed (and optionally agents), until Ctrl-C.
    Devnet(cmd::devnet::DevnetArgs),
    /// Deploy ecm to any EVM chain and write its deployment file (resumable).
    Deploy(cmd::deploy::DeployArgs),
    /// The whole story on an embedded devnet: an honest job, a cheating host caught, a cancel.
    Demo(cmd::demo::DemoArgs),
    /// A local web page over a deployment: requests, disputes, hosts, where the money is.
    Explorer(cmd::explorer::ExplorerArgs),
    /// Request computations and follow them.
    #[command(subcommand)]
    Client(cmd::client::ClientCommand),
    /// Run a host: answer requests, defend answers, collect payments.
    #[command(subcommand)]
    Host(cmd::host::HostCommand),
    /// Run a challenger: check answers, dispute wrong ones.
    #[command(subcommand)]
    Challenger(cmd::challenger::ChallengerCommand),
    /// The programs: list, check WASM against EVM, register.
    #[command(subcommand)]
    Program(cmd::program::ProgramCommand),
    /// Benchmarks: dispute cost curve, runtime speed, host throughput.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(cmd::bench::BenchCommand),
    /// Benchmarks (not in this build: `cargo run -p ecm-cli --features bench -- bench ...`).
    #[cfg(not(feature = "bench"))]
    #[command(hide = true)]
    Bench {
        /// The benchmark's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

impl Cli {
    pub(crate) async fn run(self) -> Result<()> {
        match self.command {
            Command::Devnet(args) => args.run().await,
            Command::Deploy(args) => args.run().await,
            Command::Demo(args) => args.run().await,
            Command::Explorer(args) => args.run().await,
            Command::Client(command) => command.run().await,
            Command::Host(command) => command.run().await,
            Command::Challenger(command) => command.run().await,
            Command::Program(command) => command.run().await,
            #[cfg(feature = "bench")]
            Command::Bench(command) => command.run().await,
            #[cfg(not(feature = "bench"))]
            Command::Bench { .. } => Err(eyre!(
                "this ecm was built without the benchmarks: run them with `cargo run -p ecm-cli --features bench -- bench ...`"
            )),
        }
    }

    /// The log level when `RUST_LOG` is not set: progress for daemons, warnings for one-off
    /// commands, errors only for the demo (which tells its own story).
    fn default_log_level(&self) -> &'static str {
        match self.command {
            Command::Devnet(_)
            | Command::Deploy(_)
            | Command::Explorer(_)
            | Command::Host(_)
            | Command::Challenger(_) => "info",
            Command::Demo(_) => "error",
            _ => "warn",
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default: info for daemons, warnings otherwise).
pub(crate) fn init_logging(cli: &Cli) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| cli.default_log_level().into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true)
        .try_init();
}

/// Where the deployment file is.
#[derive(Clone, Debug, Args)]
pub(crate) struct DeploymentOpts {
    /// The deployment file written by `ecm devnet`.
    #[arg(
        long,
        env = "ECM_DEPLOYMENT",
        default_value = ".ecm/deployment.json",
        global = true
    )]
    pub(crate) deployment: PathBuf,
}

impl DeploymentOpts {
    pub(crate) fn load(&self) -> Result<Deployment> {
        Deployment::load(&self.deployment).wrap_err(
            "cannot load the deployment (start a devnet with `ecm devnet`, or pass --deployment)",
        )
    }
}

/// The JSON-RPC endpoint.
#[derive(Clone, Debug, Args)]
pub(crate) struct RpcOpts {
    /// JSON-RPC endpoint (default: the deployment's).
    #[arg(long, env = "ETH_RPC_URL", global = true)]
    pub(crate) rpc_url: Option<String>,
}

/// The signing account: a raw key, a keystore (Foundry's format), or a devnet's dev account.
#[derive(Clone, Debug, Args)]
pub(crate) struct WalletOpts {
    /// Private key to sign with (hex). Prefer --keystore or --account off a devnet.
    #[arg(long, env = "ECM_PRIVATE_KEY", hide_env_values = true, global = true)]
    pub(crate) private_key: Option<String>,
    /// An encrypted JSON keystore to sign with (as `cast wallet new` or `cast wallet import`
    /// write them).
    #[arg(
        long,
        value_name = "PATH",
        env = "ECM_KEYSTORE",
        global = true,
        conflicts_with_all = ["private_key", "account"]
    )]
    pub(crate) keystore: Option<PathBuf>,
    /// The keystore named NAME in Foundry's keystore folder (~/.foundry/keystores).
    #[arg(
        long,
        value_name = "NAME",
        global = true,
        conflicts_with_all = ["private_key", "keystore"]
    )]
    pub(crate) account: Option<String>,
    /// A file holding the keystore's password (without it, the password is asked for on the
    /// terminal).
    #[arg(long, value_name = "PATH", env = "ECM_PASSWORD_FILE", global = true)]
    pub(crate) password_file: Option<PathBuf>,
    /// On a devnet: sign as the dev account with this role (requester, host, challenger, ...).
    #[arg(
        long,
        value_name = "ROLE",
        global = true,
        conflicts_with_all = ["private_key", "keystore", "account"]
    )]
    pub(crate) dev_account: Option<String>,
}

impl WalletOpts {
    /// The key to sign with on `deployment`'s chain, if any.
    pub(crate) fn key(&self, deployment: &Deployment) -> Result<Option<String>> {
        let Some(role) = &self.dev_account else {
            return self.own_key(Some(deployment.chain_id));
        };
        let account = deployment.account(role).ok_or_else(|| {
            let roles: Vec<&str> = deployment
                .accounts
                .iter()
                .map(|a| a.role.as_str())
                .collect();
            eyre!(
                "the deployment has no dev account `{role}` (known: {})",
                roles.join(", ")
            )
        })?;
        Ok(Some(account.private_key.clone()))
    }

    /// The key to sign with on `deployment`'s chain; an error saying how to give one if there is
    /// none.
    pub(crate) fn require(&self, deployment: &Deployment) -> Result<String> {
        self.key(deployment)?.ok_or_else(|| eyre!(NO_KEY))
    }

    /// A key of the user's own (raw, keystore or Foundry account), not a dev account, for a
    /// chain (`None`: not known yet); an error saying how to give one if there is none.
    pub(crate) fn require_own(&self, chain_id: Option<u64>) -> Result<String> {
        if self.dev_account.is_some() {
            bail!("--dev-account needs a devnet's deployment file: give your own key here");
        }
        self.own_key(chain_id)?.ok_or_else(|| eyre!(NO_KEY))
    }

    fn own_key(&self, chain_id: Option<u64>) -> Result<Option<String>> {
        if let Some(key) = &self.private_key {
            if chain_id != Some(ecm_chain::ANVIL_CHAIN_ID) {
                tracing::warn!(
                    target: "ecm",
                    "signing with a raw --private-key: off a devnet, prefer an encrypted keystore \
                     (--keystore PATH, or --account NAME for `cast wallet import NAME`)"
                );
            }
            return Ok(Some(key.clone()));
        }
        let path = match (&self.keystore, &self.account) {
            (Some(path), _) => path.clone(),
            (None, Some(name)) => foundry_keystores()?.join(name),
            (None, None) => return Ok(None),
        };
        if !path.is_file() {
            bail!(
                "no keystore at {} (`cast wallet list` shows Foundry's accounts)",
                path.display()
            );
        }
        let password = self.password(&path)?;
        let signer = PrivateKeySigner::decrypt_keystore(&path, password).map_err(|e| {
            eyre!(
                "cannot open the keystore {}: {e} (a wrong password, or not a keystore file)",
                path.display()
            )
        })?;
        Ok(Some(signer.to_bytes().to_string()))
    }

    /// The keystore's password: from --password-file, else asked for on the terminal.
    fn password(&self, keystore: &Path) -> Result<String> {
        if let Some(file) = &self.password_file {
            let text = std::fs::read_to_string(file)
                .wrap_err_with(|| format!("reading the password file {}", file.display()))?;
            // A file written by `echo` ends with a newline that is not part of the password.
            return Ok(text.trim_end_matches(['\n', '\r']).to_string());
        }
        if !std::io::stdin().is_terminal() {
            bail!(
                "the keystore {} is encrypted and there is no terminal to ask for its password \
                 on: pass --password-file PATH",
                keystore.display()
            );
        }
        rpassword::prompt_password(format!("Password for {}: ", keystore.display()))
            .wrap_err("reading the password from the terminal")
    }
}

/// What to do when a command that sends has no key.
const NO_KEY: &str = "this sends transactions: pass --private-key (or ECM_PRIVATE_KEY), \
                      --keystore PATH, --account NAME, or --dev-account ROLE on a devnet";

/// Foundry's keystore folder, where `cast wallet import NAME` writes.
fn foundry_keystores() -> Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .ok_or_else(|| eyre!("HOME is not set: give the keystore's path with --keystore"))?;
    Ok(PathBuf::from(home).join(".foundry").join("keystores"))
}

/// Output format.
#[derive(Clone, Copy, Debug, Args)]
pub(crate) struct OutputOpts {
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_a_request() {
        let cli = Cli::try_parse_from([
            "ecm",
            "client",
            "request",
            "--program",
            "fibonacci",
            "--input",
            "10",
            "--payment",
            "0.1ether",
            "--dev-account",
            "requester",
        ])
        .unwrap();
        assert!(matches!(cli.command, Command::Client(_)));
    }

    #[test]
    fn key_and_dev_account_conflict() {
        let err = Cli::try_parse_from([
            "ecm",
            "client",
            "withdraw",
            "--private-key",
            "0x01",
            "--dev-account",
            "host",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}

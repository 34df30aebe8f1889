//! `ecm client ...`: the requester's commands.

mod accept;
mod balance;
mod cancel;
mod finalize;
mod replay;
mod request;
mod result;
mod status;
mod wait;
mod withdraw;

use crate::opts::{DeploymentOpts, OutputOpts, RpcOpts, WalletOpts};
use alloy::primitives::Address;
use clap::{Args, Subcommand};
use ecm_client::Client;
use eyre::{Result, eyre};

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Request a computation.
    Request(request::RequestArgs),
    /// Show a request.
    Status(status::StatusArgs),
    /// Follow a request until it settles.
    Wait(wait::WaitArgs),
    /// Accept the standing answer now (requester only).
    Accept(accept::AcceptArgs),
    /// Pay out a resolved request.
    Finalize(finalize::FinalizeArgs),
    /// Cancel a pending request (requester only); the payment is credited back.
    Cancel(cancel::CancelArgs),
    /// Withdraw everything credited to you.
    Withdraw(withdraw::WithdrawArgs),
    /// Wei credited to an account in the Broker.
    Balance(balance::BalanceArgs),
    /// Recompute a request locally and compare with the on-chain answer.
    Replay(replay::ReplayArgs),
    /// Print the standing answer's output byte for byte (a machine program's stdout).
    Result(result::ResultArgs),
}

impl ClientCommand {
    pub(crate) async fn run(self) -> Result<()> {
        match self {
            Self::Request(args) => args.run().await,
            Self::Status(args) => args.run().await,
            Self::Wait(args) => args.run().await,
            Self::Accept(args) => args.run().await,
            Self::Finalize(args) => args.run().await,
            Self::Cancel(args) => args.run().await,
            Self::Withdraw(args) => args.run().await,
            Self::Balance(args) => args.run().await,
            Self::Replay(args) => args.run().await,
            Self::Result(args) => args.run().await,
        }
    }
}

/// What every client command needs: where, through which node, as whom, and how to print.
#[derive(Clone, Debug, Args)]
pub(crate) struct Common {
    #[command(flatten)]
    deployment: DeploymentOpts,
    #[command(flatten)]
    rpc: RpcOpts,
    #[command(flatten)]
    wallet: WalletOpts,
    #[command(flatten)]
    pub(crate) output: OutputOpts,
}

impl Common {
    /// A client; `sign` says whether the command sends transactions.
    pub(crate) async fn client(&self, sign: bool) -> Result<Client> {
        let deployment = self.deployment.load()?;
        let key = if sign {
            Some(self.wallet.require(&deployment)?)
        } else {
            self.wallet.key(&deployment)?
        };
        Ok(Client::connect(deployment, self.rpc.rpc_url.clone(), key).await?)
    }

    /// `address`, or else the signing account of `client` (for commands about an account).
    pub(crate) fn account_or_signer(client: &Client, address: Option<Address>) -> Result<Address> {
        match address {
            Some(address) => Ok(address),
            None => client.chain().account().map_err(|_| {
                eyre!("give an address, or a key (--private-key, --keystore, --account or --dev-account)")
            }),
        }
    }
}

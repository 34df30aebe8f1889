//! Errors of chain access, each with what to do about it.

use alloy::primitives::{Address, B256, U256};

/// What can go wrong talking to the chain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The RPC URL does not parse.
    #[error("invalid RPC URL `{url}`: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The node does not answer, or its TLS certificate is not trusted.
    #[error("cannot reach the node at {url}: {} ({hint})", with_sources(&**.source))]
    Unreachable {
        /// The URL.
        url: String,
        /// The transport error.
        #[source]
        source: BoxError,
        /// What to check, for this kind of endpoint.
        hint: &'static str,
    },
    /// The node is on another chain than the deployment.
    #[error(
        "the node at {url} is on chain {found}, the deployment is on chain {expected}: check --rpc-url and --deployment"
    )]
    WrongChain {
        /// The deployment's chain.
        expected: u64,
        /// The node's chain.
        found: u64,
        /// The URL.
        url: String,
    },
    /// No Broker at the address.
    #[error(
        "no Broker contract at {address} on chain {chain_id}: the deployment file is for another network, or the devnet was restarted (rerun `ecm devnet`)"
    )]
    NoBroker {
        /// The address.
        address: Address,
        /// The chain.
        chain_id: u64,
    },
    /// The private key does not parse.
    #[error("invalid private key: {0} (expected 32 bytes of hex)")]
    BadKey(String),
    /// A transaction was asked for without a key.
    #[error(
        "this sends a transaction: pass --private-key, --keystore or --account (or --dev-account on a devnet)"
    )]
    NoSigner,
    /// A compact batch job's logs do not rebuild the word the Broker holds for it: the node's
    /// logs lag its state (or a log was missed). Transient: read again.
    #[error(
        "job {id}: its logs do not rebuild the fields the Broker holds (the node's logs lag its state); read again"
    )]
    JobLogsBehind {
        /// The job.
        id: U256,
    },
    /// The call reverts with one of the Broker's errors.
    #[error("{action} reverted: {message}")]
    Revert {
        /// What was attempted.
        action: String,
        /// The error's name.
        name: String,
        /// The error with its values, and a hint.
        message: String,
    },
    /// The account cannot pay for the transaction: its value, or its value and gas.
    #[error(
        "{action}: insufficient funds: {account} holds {balance} wei, the transaction needs {needed} wei (fund the account, or lower --payment)"
    )]
    InsufficientFunds {
        /// What was attempted.
        action: String,
        /// The paying account.
        account: Address,
        /// Its balance.
        balance: U256,
        /// The transaction's value, plus its gas limit at its fee cap once it is priced.
        needed: U256,
    },
    /// The transaction was mined but failed.
    #[error("{action}: transaction {tx} was mined but failed")]
    Failed {
        /// What was attempted.
        action: String,
        /// The transaction.
        tx: B256,
    },
    /// No receipt came in time.
    #[error("{action}: no receipt for transaction {tx}: {reason}")]
    NoReceipt {
        /// What was attempted.
        action: String,
        /// The transaction.
        tx: B256,
        /// Why.
        reason: String,
    },
    /// Any other RPC failure (after retries, for reads).
    #[error("{action}: {}", with_sources(&**.source))]
    Rpc {
        /// What was attempted.
        action: String,
        /// The transport's or the contract binding's error.
        #[source]
        source: BoxError,
    },
}

/// A transport's or a binding's error, kept as the source of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The node at `url` did not answer; the hint names what to check for its scheme.
    pub(crate) fn unreachable(url: &str, source: impl Into<BoxError>) -> Self {
        let hint = if url.starts_with("https://") || url.starts_with("wss://") {
            "is the URL right? a certificate your system does not trust (self-signed, or from a \
             private CA) is trusted by adding it to the PEM bundle that SSL_CERT_FILE names"
        } else {
            "is it running? `ecm devnet` starts a local one"
        };
        Self::Unreachable {
            url: url.to_string(),
            source: source.into(),
            hint,
        }
    }

    /// Any other failure of `action`, keeping the error as its source.
    pub(crate) fn rpc(action: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Rpc {
            action: action.into(),
            source: source.into(),
        }
    }
}

/// An error's message followed by its sources' (a TLS failure is three levels below the
/// transport's "error sending request"), each once. Our errors show their source this way,
/// so that a log line says what happened; a report that walks the chain should skip what a
/// message already contains (as `ecm`'s does).
pub fn with_sources(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

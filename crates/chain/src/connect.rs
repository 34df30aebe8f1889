//! Opening a provider on any endpoint a user may give: `http://`, `https://`, `ws://`, `wss://`.
//!
//! TLS is rustls with the platform's trust store (on Linux the system's CA bundle, which
//! `SSL_CERT_FILE` and `SSL_CERT_DIR` override): a hosted endpoint works out of the box, a node
//! behind a private CA works once its certificate is in the bundle those variables name.

use crate::{Error, Result};
use alloy::{
    network::EthereumWallet,
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};

/// The schemes [`provider`] accepts.
pub const SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];

/// A provider on `url`, signing with `key` if given, and the signing account.
///
/// A WebSocket endpoint is connected here, so an unreachable one fails now
/// ([`Error::Unreachable`]); an HTTP one is only reached by the first request.
pub async fn provider(url: &str, key: Option<&str>) -> Result<(DynProvider, Option<Address>)> {
    let bad_url = |reason: String| Error::BadUrl {
        url: url.to_string(),
        reason,
    };
    let parsed: alloy::transports::http::reqwest::Url =
        url.parse().map_err(|e| bad_url(format!("{e}")))?;
    if !SCHEMES.contains(&parsed.scheme()) {
        return Err(bad_url(format!(
            "the scheme `{}` is not supported (use one of {})",
            parsed.scheme(),
            SCHEMES.join(", ")
        )));
    }
    let signer = key.map(signer).transpose()?;
    let account = signer.as_ref().map(PrivateKeySigner::address);
    let unreachable = |e: alloy::transports::TransportError| Error::unreachable(url, e);
    // The nonce of each transaction is read from the node (pending), never cached: callers
    // that set nonces themselves (the Chain's sender, the deployer's journaled creations) and
    // other processes sharing the key would leave a cache behind.
    let builder = || {
        ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id()
    };
    let provider = match signer {
        Some(signer) => builder()
            .wallet(EthereumWallet::from(signer))
            .connect(url)
            .await
            .map_err(unreachable)?
            .erased(),
        None => builder().connect(url).await.map_err(unreachable)?.erased(),
    };
    Ok((provider, account))
}

/// The signer of a hex private key.
pub(crate) fn signer(key: &str) -> Result<PrivateKeySigner> {
    key.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|e| Error::BadKey(format!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unsupported_scheme_is_refused_with_the_supported_ones() {
        let err = provider("ftp://127.0.0.1:1", None).await.unwrap_err();
        assert!(matches!(err, Error::BadUrl { .. }), "{err}");
        assert!(err.to_string().contains("http, https, ws, wss"), "{err}");
    }

    #[tokio::test]
    async fn a_bad_key_is_refused_before_connecting() {
        let err = provider("http://127.0.0.1:1", Some("0xzz"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::BadKey(_)), "{err}");
    }

    #[tokio::test]
    async fn an_unreachable_websocket_fails_at_connect() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let err = provider("ws://127.0.0.1:1", None).await.unwrap_err();
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
        // The transport's error stays attached, typed, and its text is in the message once.
        let source = std::error::Error::source(&err).expect("the transport error is the source");
        assert!(
            source.is::<alloy::transports::TransportError>(),
            "{source:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&source.to_string()), "{message}");
    }
}

//! The automine watchdog mines transactions that Anvil left ready but unmined.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use ecm_devnet::{Anvil, AnvilConfig, DEV_KEYS};
use std::time::Duration;

/// Stands in for Anvil's automine bug (foundry-rs/foundry#10122) by switching automine off:
/// a ready transaction then stays unmined, exactly the state the watchdog is for.
async fn transfer_is_mined(watch: bool) -> bool {
    let mut anvil = Anvil::spawn(AnvilConfig::default()).await.unwrap();
    if watch {
        anvil.watch_automine();
    }
    let signer: PrivateKeySigner = DEV_KEYS[0].parse().unwrap();
    let provider = ProviderBuilder::new()
        .wallet(signer)
        .connect_http(anvil.url().parse().unwrap());
    provider
        .raw_request::<_, ()>("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let tx = TransactionRequest::default()
        .with_to(Address::repeat_byte(0x11))
        .with_value(U256::from(1));
    let hash = *provider.send_transaction(tx).await.unwrap().tx_hash();
    for _ in 0..40 {
        if provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
            .is_some()
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn watchdog_mines_transactions_left_ready() {
    assert!(
        !transfer_is_mined(false).await,
        "without the watchdog the transaction stays in the pool"
    );
    assert!(
        transfer_is_mined(true).await,
        "the watchdog mined it within two seconds"
    );
}

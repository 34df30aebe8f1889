//! Typed inputs and readable results of the example programs.

use crate::{Error, Result};
use alloy_primitives::hex;
use ecm_example_programs as examples;
use ecm_primitives::MAX_STATE_BYTES;

/// Parses `text` as raw hex (`0x...`), else with the program's typed parser.
pub(crate) fn parse(
    program: &'static str,
    expected: &'static str,
    text: &str,
    typed: fn(&str) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>> {
    let text = text.trim();
    let bytes = if let Some(stripped) = text.strip_prefix("0x") {
        hex::decode(stripped).map_err(|e| Error::InvalidInput {
            program,
            reason: format!("bad hex: {e}"),
            expected,
        })?
    } else {
        typed(text).map_err(|reason| Error::InvalidInput {
            program,
            reason,
            expected,
        })?
    };
    if bytes.len() > MAX_STATE_BYTES {
        return Err(Error::InputTooLarge {
            len: bytes.len(),
            max: MAX_STATE_BYTES,
        });
    }
    Ok(bytes)
}

fn decimal(text: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse::<u64>()
        .map_err(|e| format!("`{text}` is not a decimal number: {e}"))
}

pub(crate) fn fibonacci(text: &str) -> Result<Vec<u8>, String> {
    Ok(examples::fibonacci::input(decimal(text)?))
}

pub(crate) fn counter(text: &str) -> Result<Vec<u8>, String> {
    Ok(examples::counter::input(decimal(text)?))
}

pub(crate) fn build_byte_array(text: &str) -> Result<Vec<u8>, String> {
    let len = decimal(text)? as usize;
    if len > MAX_STATE_BYTES {
        return Err(format!(
            "{len} bytes is above the maximum of {MAX_STATE_BYTES}"
        ));
    }
    Ok(examples::build_byte_array::input(len))
}

pub(crate) fn keccak_chain(text: &str) -> Result<Vec<u8>, String> {
    let (n, seed) = match text.split_once(':') {
        Some((n, seed)) => {
            let bytes = hex::decode(seed.trim_start_matches("0x"))
                .map_err(|e| format!("bad seed hex: {e}"))?;
            let seed: [u8; 32] = bytes
                .try_into()
                .map_err(|_| "the seed must be 32 bytes".to_string())?;
            (decimal(n)?, seed)
        }
        None => (decimal(text)?, [0u8; 32]),
    };
    Ok(examples::keccak_chain::input(n, seed))
}

pub(crate) fn text(text: &str) -> Result<Vec<u8>, String> {
    Ok(text.as_bytes().to_vec())
}

/// Little-endian bytes as a decimal number (up to 256 bits).
pub(crate) fn show_le_decimal(bytes: &[u8]) -> String {
    if bytes.len() > 32 {
        return format!("0x{}", hex::encode(bytes));
    }
    let mut be = [0u8; 32];
    for (k, b) in bytes.iter().enumerate() {
        be[31 - k] = *b;
    }
    alloy_primitives::U256::from_be_bytes(be).to_string()
}

pub(crate) fn show_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

pub(crate) fn show_counter(bytes: &[u8]) -> String {
    if bytes.len() == 16 {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
        let count = u64::from_le_bytes(bytes[8..].try_into().unwrap());
        format!("counted {count} of {n}")
    } else {
        show_hex(bytes)
    }
}

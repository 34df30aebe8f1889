//! Ether amounts on the command line: `0.1ether`, `5gwei`, `1000` (wei).

use alloy::primitives::{U256, utils::parse_units};
use eyre::{Result, eyre};

/// Parses an amount with an optional unit (`ether`/`eth`, `gwei`, `wei`; wei by default).
pub(crate) fn parse_amount(text: &str) -> Result<U256> {
    let text = text.trim().to_lowercase();
    let (number, unit) = ["ether", "eth", "gwei", "wei"]
        .iter()
        .find_map(|unit| {
            text.strip_suffix(unit)
                .map(|n| (n.trim().to_string(), *unit))
        })
        .unwrap_or((text.clone(), "wei"));
    let unit = if unit == "eth" { "ether" } else { unit };
    let value = parse_units(&number, unit)
        .map_err(|e| eyre!("invalid amount `{text}`: {e} (examples: 0.1ether, 5gwei, 1000)"))?;
    Ok(value.get_absolute())
}

/// Wei as ether, exactly, without trailing zeros.
pub(crate) fn format_ether(wei: U256) -> String {
    alloy::primitives::utils::format_ether(wei)
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

/// A signed change in wei as ether.
pub(crate) fn format_change(before: U256, after: U256) -> String {
    if after >= before {
        format!("+{}", format_ether(after - before))
    } else {
        format!("-{}", format_ether(before - after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// No text makes the parser panic; whole amounts of wei, gwei and ether parse exactly.
        #[test]
        fn amounts_never_panic(text in ".{0,40}") {
            let _ = parse_amount(&text);
        }

        #[test]
        fn whole_amounts_round_trip(value in 0u64..u64::MAX / 2) {
            prop_assert_eq!(parse_amount(&value.to_string()).unwrap(), U256::from(value));
            prop_assert_eq!(parse_amount(&format!("{value}gwei")).unwrap(), U256::from(value) * U256::from(1_000_000_000u64));
        }
    }

    #[test]
    fn amounts() {
        assert_eq!(
            parse_amount("0.1ether").unwrap(),
            U256::from(100_000_000_000_000_000u64)
        );
        assert_eq!(
            parse_amount("2 ETH").unwrap(),
            U256::from(2_000_000_000_000_000_000u128)
        );
        assert_eq!(parse_amount("5gwei").unwrap(), U256::from(5_000_000_000u64));
        assert_eq!(parse_amount("1000").unwrap(), U256::from(1000));
        assert!(
            parse_amount("lots")
                .unwrap_err()
                .to_string()
                .contains("examples")
        );
        assert_eq!(
            format_ether(U256::from(1_500_000_000_000_000_000u128)),
            "1.5"
        );
        assert_eq!(
            format_change(U256::from(10), U256::from(4)),
            "-0.000000000000000006"
        );
    }
}

//! Reverts decoded into the contracts' custom errors, with a hint on how to fix the call.

use crate::Error;
use ecm_bindings::{
    Broker::BrokerErrors,
    Factory::FactoryErrors,
    protocol::{Phase, Status, UnknownValue},
    tournaments::BrokerTournaments::BrokerTournamentsErrors,
};

/// The typed error a failed call reverted with, if the revert data decodes to one.
pub(crate) fn decode(action: &str, e: &alloy::contract::Error) -> Option<Error> {
    let (name, message) = if let Some(error) = e.as_decoded_interface_error::<BrokerErrors>() {
        describe(&error)
    } else if let Some(error) = e.as_decoded_interface_error::<BrokerTournamentsErrors>() {
        // The tournament rules' own errors (`Tournament`'s), raised at the Broker's address by
        // its tournament module: the Broker's ABI does not declare them.
        describe_tournament(&error)
    } else if let Some(error) = e.as_decoded_interface_error::<FactoryErrors>() {
        split(&format!("{error:?}"))
    } else {
        let data = e.as_revert_data()?;
        ("Unknown".into(), format!("undecoded revert data {data}"))
    };
    Some(Error::Revert {
        action: action.into(),
        name,
        message,
    })
}

/// A Broker error's name, and the error with its values followed by a hint on what to do.
pub fn describe(error: &BrokerErrors) -> (String, String) {
    let (name, mut body) = split(&format!("{error:?}"));
    // Statuses and phases by name, not number.
    if let BrokerErrors::WrongStatus(e) = error {
        body = format!(
            "WrongStatus {{ id: {}, actual: {}, expected: {} }}",
            e.id,
            name_of::<Status>(e.actual),
            name_of::<Status>(e.expected)
        );
    }
    if let BrokerErrors::WrongPhase(e) = error {
        body = format!(
            "WrongPhase {{ id: {}, actual: {}, expected: {} }}",
            e.id,
            name_of::<Phase>(e.actual),
            name_of::<Phase>(e.expected)
        );
    }
    let hint = match error {
        BrokerErrors::DepositTooLow(_) => {
            "send at least `requiredDeposit(id)` wei (`ecm client status ID` shows it)"
        }
        BrokerErrors::ZeroPayment(_) => "pass a payment (--payment, or the call's value)",
        BrokerErrors::UnknownProgram(_) => {
            "register the program first, or check `ecm program list` for its id"
        }
        BrokerErrors::NoSuchRequest(_) => {
            "check the id: requests are numbered from 1 (`requestCount()` is the last)"
        }
        BrokerErrors::WrongStatus(_) => {
            "the request is not in the state this needs (`ecm client status ID`)"
        }
        BrokerErrors::NotRequester(_) => "only the account that made the request may do this",
        BrokerErrors::WindowClosed(_) => {
            "the challenge window is over; the answer can no longer be challenged"
        }
        BrokerErrors::WindowOpen(_) => {
            "only the requester may accept before the window ends; wait for the deadline block"
        }
        BrokerErrors::SameClaim(_) => {
            "a challenge must claim a different result than the standing answer"
        }
        BrokerErrors::NothingToWithdraw(_) => "nothing is credited to this account yet",
        BrokerErrors::WithdrawFailed(_) => {
            "the recipient rejects ether; use `withdrawTo` with another address"
        }
        BrokerErrors::InputTooLarge(_) | BrokerErrors::ResultTooLarge(_) => {
            "states are at most 8192 bytes"
        }
        BrokerErrors::WindowOutOfRange(_) => "pick a window between 1 and 2^32 - 1 blocks",
        BrokerErrors::MaxStepsOutOfRange(_) => {
            "full re-execution requests are limited to 2^20 steps"
        }
        BrokerErrors::NotYourMove(_) | BrokerErrors::WrongPhase(_) => {
            "it is the other party's move"
        }
        BrokerErrors::ClockExpired(_) | BrokerErrors::DeadlinePassed(_) => {
            "the deadline passed: call claimTimeout"
        }
        BrokerErrors::DeadlineNotReached(_) => "the deadline has not passed yet",
        BrokerErrors::NothingToCount(_) => {
            "the request's last dispute is counted already (or one is under way)"
        }
        BrokerErrors::InsufficientGasForStep(_) => "resend with a higher gas limit",
        BrokerErrors::MaxGasPriceTooHigh(_) => {
            "lower --max-gas-price: dispute gas is valued at most 2^48 - 1 wei (about 281,475 gwei) per gas"
        }
        BrokerErrors::HostNotAdmitted(_) => {
            "the request admits only hosts with that many jobs paid and no defence lost (`ecm host stats` shows a record)"
        }
        BrokerErrors::HeldAsJob(_) => {
            "the request is a compact batch's job: pass its fields to commitJobs/revealJobs/settleJobs, or store it first with hydrate (see IBroker.Job)"
        }
        BrokerErrors::JobMismatch(_) => {
            "the job does not stand at these fields (jobHash): rebuild them from its latest events"
        }
        BrokerErrors::InputMismatch(_) => {
            "pass the job's input as its RequestInput event carries it"
        }
        BrokerErrors::ClockTooShortForSteps(_) => {
            "ask for fewer steps (--max-steps): the game must fit each party's clock"
        }
        _ => "",
    };
    (name, with_hint(body, hint))
}

/// A tournament error's name, and the error with its values followed by a hint on what to do.
pub(crate) fn describe_tournament(error: &BrokerTournamentsErrors) -> (String, String) {
    use BrokerTournamentsErrors as E;
    let (name, body) = split(&format!("{error:?}"));
    let hint = match error {
        E::EntriesClosed(_) => "the answer's window is over: no claim can be entered any more",
        E::StartsClosed(_) => "games could start until that block: no game can start any more",
        E::EntryEliminated(_) => {
            "that entry lost a game: it plays no more (`getEntry` shows it; end a game it is in with `forfeit`)"
        }
        E::NotEntrysParty(_) => "only the entry's own party may start its games",
        E::SameClaimEntries(_) => "both entries hold the same claim: there is nothing to decide",
        E::GameExists(_) => "these two entries have played, or are playing, their game",
        E::NoOpenGame(_) => "no game is open under that key (`gameKey(a, b)` names a game)",
        E::GameForfeited(_) => "an entry of this game lost elsewhere: end it with `forfeit`",
        E::NoSuchEntry(_) => "entries are numbered from 0 (`getTournament` counts them)",
        _ => "",
    };
    (name, with_hint(body, hint))
}

/// An error's text followed by what to do about it, if there is something to say.
fn with_hint(body: String, hint: &str) -> String {
    if hint.is_empty() {
        body
    } else {
        format!("{body}: {hint}")
    }
}

/// A protocol enum's name for a `uint8` from a revert, or the number if ecm does not know it.
fn name_of<T: TryFrom<u8, Error = UnknownValue> + std::fmt::Display>(value: u8) -> String {
    T::try_from(value).map_or_else(|_| format!("{value} (unknown)"), |v| v.to_string())
}

/// `Name(Name { a: 1 })` into `("Name", "Name { a: 1 }")`.
fn split(debug: &str) -> (String, String) {
    match debug.split_once('(') {
        Some((name, rest)) => (
            name.to_string(),
            rest.strip_suffix(')').unwrap_or(rest).to_string(),
        ),
        None => (debug.to_string(), debug.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{primitives::U256, sol_types::SolInterface};
    use ecm_bindings::Broker;

    #[test]
    fn describes_with_values_and_hint() {
        let error = BrokerErrors::DepositTooLow(Broker::DepositTooLow {
            sent: U256::from(5),
            required: U256::from(9),
        });
        let (name, message) = describe(&error);
        assert_eq!(name, "DepositTooLow");
        assert!(
            message.contains("sent: 5") && message.contains("required: 9"),
            "{message}"
        );
        assert!(message.contains("requiredDeposit"), "{message}");
        // Round trip through the ABI, as a revert would arrive.
        let decoded = BrokerErrors::abi_decode(&error.abi_encode()).unwrap();
        assert_eq!(describe(&decoded).0, "DepositTooLow");
    }

    #[test]
    fn the_tournament_rules_errors_are_named() {
        use ecm_bindings::tournaments::BrokerTournaments;
        let error = BrokerTournamentsErrors::EntryEliminated(BrokerTournaments::EntryEliminated {
            index: U256::ZERO,
        });
        let decoded = BrokerTournamentsErrors::abi_decode(&error.abi_encode()).unwrap();
        let (name, message) = describe_tournament(&decoded);
        assert_eq!(name, "EntryEliminated");
        assert!(message.contains("lost a game"), "{message}");
    }

    #[test]
    fn statuses_by_name() {
        let error = BrokerErrors::WrongStatus(Broker::WrongStatus {
            id: U256::from(1),
            actual: 6,
            expected: 0,
        });
        let (_, message) = describe(&error);
        assert!(
            message.contains("actual: Finalized, expected: Pending"),
            "{message}"
        );
        let error = BrokerErrors::WrongPhase(Broker::WrongPhase {
            id: U256::from(1),
            actual: 9,
            expected: 3,
        });
        let (_, message) = describe(&error);
        assert!(
            message.contains("actual: 9 (unknown), expected: OneStep"),
            "{message}"
        );
    }
}

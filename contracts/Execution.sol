// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IExecution} from "./interfaces/IExecution.sol";

/// @title Execution
/// @notice Base of every program's Execution contract: a program implements `step` only.
/// @dev ECM's programs also carried the instance logic (`initialize`, `executeN`) that full
/// re-execution ran on clones of them, which let a registrant's code decide a dispute (review
/// finding 2). The Broker now runs the steps itself (`Reexecution`), so a program's only code
/// that a dispute ever reaches is its `step`.
abstract contract Execution is IExecution {}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {Bisection} from "./Bisection.sol";
import {MAX_STATE_BYTES} from "./Trace.sol";

/// @title Deposits
/// @notice What a dispute costs, and so what a host or challenger must stake: pure functions of
/// a request's terms, and the bound on what a full re-execution call is reimbursed.
/// @dev A deposit covers the winner's dispute gas twice over at the request's gas price bound
/// (the loser's deposit goes half to the winner, half to the requester), plus the payment as a
/// bounty. The gas figures are upper bounds measured by the gas snapshots
/// (`snapshots/*.json`); `Deposits.t.sol` checks the arithmetic.
library Deposits {
    /// @notice Gas one side spends on a bisection dispute besides its rounds and the step:
    /// challenge or answer, start, one-step proof and settlement, with transaction overheads.
    uint256 internal constant BISECTION_FIXED_GAS = 400_000;
    /// @notice Gas of one bisection round (a defender and a challenger move, with overheads).
    uint256 internal constant BISECTION_ROUND_GAS = 150_000;
    /// @notice Gas of a full re-execution besides its calls' steps and states: challenge,
    /// start, settlement, with transaction overheads.
    uint256 internal constant FULL_EXECUTION_FIXED_GAS = 600_000;
    /// @notice Gas each on-chain step costs on top of the step itself.
    uint256 internal constant FULL_EXECUTION_STEP_GAS = 10_000;
    /// @notice Gas of an `executeExecutable` transaction not seen by `gasleft()` besides its
    /// state's calldata (the intrinsic cost, the other arguments), added when reimbursing.
    uint256 internal constant EXECUTE_CALL_OVERHEAD_GAS = 25_000;
    /// @notice Gas per byte of the state an `executeExecutable` carries: its calldata (16), its
    /// `Executed` event (8), the copies and hashes of it (the rest).
    uint256 internal constant EXECUTE_STATE_BYTE_GAS = 48;
    /// @notice The step gas a full re-execution call is assumed to carry when deposits count
    /// the calls a re-execution takes (each carries a state of up to `MAX_STATE_BYTES`).
    uint256 internal constant FULL_EXECUTION_CALL_GAS = 10_000_000;
    /// @notice The most priority fee (wei per gas) a full re-execution call is reimbursed above
    /// the base fee: a block producer that executes in its own block is paid its own tip, so an
    /// unbounded tip would let it turn up to half a deposit into profit.
    uint256 internal constant MAX_REIMBURSED_TIP = 2 gwei;

    /// @notice The deposit a host or challenger stakes on a request with these terms.
    function required(
        IBroker.DisputeMode mode,
        uint256 payment,
        uint256 maxGasPrice,
        uint64 maxSteps,
        uint256 maxStepGas,
        uint256 arity
    ) internal pure returns (uint256) {
        uint256 rounds = mode != IBroker.DisputeMode.FullExecution ? Bisection.rounds(maxSteps, arity) : 0;
        return requiredForRounds(mode, payment, maxGasPrice, maxSteps, maxStepGas, rounds);
    }

    /// @notice `required`, for a caller that has the game's `Bisection.rounds` at hand
    /// (ignored in full re-execution).
    function requiredForRounds(
        IBroker.DisputeMode mode,
        uint256 payment,
        uint256 maxGasPrice,
        uint64 maxSteps,
        uint256 maxStepGas,
        uint256 rounds
    ) internal pure returns (uint256) {
        // A tournament's games are bisection games: each loser pays for one.
        uint256 disputeGas = mode != IBroker.DisputeMode.FullExecution
            ? BISECTION_FIXED_GAS + rounds * BISECTION_ROUND_GAS + maxStepGas
            : fullExecutionGas(maxSteps, maxStepGas);
        return payment + 2 * maxGasPrice * disputeGas;
    }

    /// @notice The gas of a full re-execution of `maxSteps` steps: the fixed part, the steps,
    /// and the state each call carries (at most `MAX_STATE_BYTES`, one call per
    /// `FULL_EXECUTION_CALL_GAS` of steps).
    function fullExecutionGas(uint64 maxSteps, uint256 maxStepGas) internal pure returns (uint256) {
        uint256 stepsGas = maxSteps * (maxStepGas + FULL_EXECUTION_STEP_GAS);
        uint256 calls = 1 + stepsGas / FULL_EXECUTION_CALL_GAS;
        return FULL_EXECUTION_FIXED_GAS + stepsGas + calls
            * (EXECUTE_CALL_OVERHEAD_GAS + MAX_STATE_BYTES * EXECUTE_STATE_BYTE_GAS);
    }

    /// @notice What an `executeExecutable` call that ran `executed` steps on a state of
    /// `stateBytes` bytes and used `gasUsed` gas is reimbursed: its gas, bounded by what such a
    /// call can need, at `price` (`reimbursedPrice`), and at most `budget` (what is left of
    /// half the loser's deposit).
    function reimbursement(
        uint256 gasUsed,
        uint256 executed,
        uint256 stateBytes,
        uint256 maxStepGas,
        uint256 price,
        uint256 budget
    ) internal pure returns (uint256 amount) {
        uint256 gasCap = EXECUTE_CALL_OVERHEAD_GAS + stateBytes * EXECUTE_STATE_BYTE_GAS + executed
            * (maxStepGas + FULL_EXECUTION_STEP_GAS);
        amount = (gasUsed < gasCap ? gasUsed : gasCap) * price;
        if (amount > budget) amount = budget;
    }

    /// @notice The gas price a full re-execution call is reimbursed at: what it paid, at most
    /// the request's `maxGasPrice` and at most the base fee plus `MAX_REIMBURSED_TIP`.
    function reimbursedPrice(uint256 paid, uint256 maxGasPrice, uint256 baseFee) internal pure returns (uint256) {
        uint256 price = paid < maxGasPrice ? paid : maxGasPrice;
        uint256 tipBound = baseFee + MAX_REIMBURSED_TIP;
        return price < tipBound ? price : tipBound;
    }
}

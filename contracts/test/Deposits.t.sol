// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {Bisection} from "../libraries/Bisection.sol";
import {Deposits} from "../libraries/Deposits.sol";
import {MAX_STATE_BYTES} from "../libraries/Trace.sol";
import {Test} from "./utils/Test.sol";

/// @notice Deposit sizing and the full re-execution reimbursement, on their own (the Broker's
/// tests check that requests are charged these figures).
contract DepositsTest is Test {
    uint256 internal constant PAYMENT = 1 ether;
    uint256 internal constant GAS_PRICE = 3 gwei;
    uint256 internal constant STEP_GAS = 50_000;

    function test_required_Bisection_FixedPlusRoundsPlusStep_TwiceOverPlusPayment() public pure {
        // 2^32 steps at arity 16: 8 rounds.
        uint256 gas = Deposits.BISECTION_FIXED_GAS + 8 * Deposits.BISECTION_ROUND_GAS + STEP_GAS;
        vm.assertEq(
            Deposits.required(IBroker.DisputeMode.Bisection, PAYMENT, GAS_PRICE, 2 ** 32, STEP_GAS, 16),
            PAYMENT + 2 * GAS_PRICE * gas
        );
    }

    function test_required_Bisection_GrowsWithRoundsNotSteps() public pure {
        uint256 oneRound = Deposits.required(IBroker.DisputeMode.Bisection, 0, 1, 16, STEP_GAS, 16);
        vm.assertEq(oneRound, Deposits.required(IBroker.DisputeMode.Bisection, 0, 1, 2, STEP_GAS, 16));
        uint256 twoRounds = Deposits.required(IBroker.DisputeMode.Bisection, 0, 1, 17, STEP_GAS, 16);
        vm.assertEq(twoRounds - oneRound, 2 * Deposits.BISECTION_ROUND_GAS);
    }

    function test_required_FullExecution_CountsEveryStepAndEachCallsState() public pure {
        uint64 steps = 1000;
        uint256 stepsGas = steps * (STEP_GAS + Deposits.FULL_EXECUTION_STEP_GAS);
        // 60M gas of steps: 7 calls of at most FULL_EXECUTION_CALL_GAS, each with an 8 KiB state.
        uint256 calls = 1 + stepsGas / Deposits.FULL_EXECUTION_CALL_GAS;
        vm.assertEq(calls, 7);
        uint256 perCall = Deposits.EXECUTE_CALL_OVERHEAD_GAS + MAX_STATE_BYTES * Deposits.EXECUTE_STATE_BYTE_GAS;
        uint256 gas = Deposits.FULL_EXECUTION_FIXED_GAS + stepsGas + calls * perCall;
        vm.assertEq(Deposits.fullExecutionGas(steps, STEP_GAS), gas);
        vm.assertEq(
            Deposits.required(IBroker.DisputeMode.FullExecution, PAYMENT, GAS_PRICE, steps, STEP_GAS, 16),
            PAYMENT + 2 * GAS_PRICE * gas
        );
    }

    function test_required_ZeroGasPrice_IsThePaymentAlone() public pure {
        vm.assertEq(Deposits.required(IBroker.DisputeMode.Bisection, PAYMENT, 0, 2 ** 40, STEP_GAS, 2), PAYMENT);
        vm.assertEq(Deposits.required(IBroker.DisputeMode.FullExecution, PAYMENT, 0, 2 ** 20, STEP_GAS, 2), PAYMENT);
    }

    function test_reimbursedPrice_PaidBoundedByRequestAndBaseFeePlusTip() public pure {
        uint256 tip = Deposits.MAX_REIMBURSED_TIP;
        // Below both bounds: what was paid.
        vm.assertEq(Deposits.reimbursedPrice(2 gwei, 10 gwei, 1 gwei), 2 gwei);
        // The request's bound.
        vm.assertEq(Deposits.reimbursedPrice(9 gwei, 5 gwei, 4 gwei), 5 gwei);
        // A block producer's own tip is reimbursed only up to MAX_REIMBURSED_TIP.
        vm.assertEq(Deposits.reimbursedPrice(100 gwei, 200 gwei, 1 gwei), 1 gwei + tip);
    }

    function test_reimbursement_GasUsedAtPrice_WhenWithinTheCap() public pure {
        uint256 gasCap = Deposits.EXECUTE_CALL_OVERHEAD_GAS + 100 * Deposits.EXECUTE_STATE_BYTE_GAS + 3
            * (STEP_GAS + Deposits.FULL_EXECUTION_STEP_GAS);
        vm.assertEq(Deposits.reimbursement(gasCap - 1, 3, 100, STEP_GAS, 2, type(uint256).max), (gasCap - 1) * 2);
        // More gas than three steps on 100 bytes can need: only the cap is paid.
        vm.assertEq(Deposits.reimbursement(gasCap + 10 ** 6, 3, 100, STEP_GAS, 2, type(uint256).max), gasCap * 2);
    }

    function test_reimbursement_NeverMoreThanTheBudget() public pure {
        vm.assertEq(Deposits.reimbursement(10 ** 6, 40, 8192, STEP_GAS, 1 gwei, 12345), 12345);
        vm.assertEq(Deposits.reimbursement(10 ** 6, 40, 8192, STEP_GAS, 1 gwei, 0), 0);
    }

    /// @dev Whatever the call, the reimbursement stays within the budget and the price-capped
    /// gas cap.
    function testFuzz_reimbursement_Bounded(uint32 gasUsed, uint16 executed, uint16 stateBytes, uint64 budget)
        public
        pure
    {
        uint256 amount = Deposits.reimbursement(gasUsed, executed, stateBytes, STEP_GAS, GAS_PRICE, budget);
        uint256 gasCap = Deposits.EXECUTE_CALL_OVERHEAD_GAS + uint256(stateBytes) * Deposits.EXECUTE_STATE_BYTE_GAS
            + uint256(executed) * (STEP_GAS + Deposits.FULL_EXECUTION_STEP_GAS);
        vm.assertLe(amount, budget);
        vm.assertLe(amount, gasCap * GAS_PRICE);
        vm.assertLe(amount, uint256(gasUsed) * GAS_PRICE);
    }

    function test_clockNeeded_TwoBlocksPerMoveForEachRoundAndTheStep() public pure {
        vm.assertEq(Bisection.clockNeeded(2 ** 32, 16), (8 + 1) * Bisection.BLOCKS_PER_MOVE);
        vm.assertEq(Bisection.clockNeeded(1, 16), Bisection.BLOCKS_PER_MOVE);
    }
}

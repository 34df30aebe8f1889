// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MAX_STATE_BYTES, Trace} from "../libraries/Trace.sol";
import {Reexecution} from "../libraries/Reexecution.sol";
import {Counter} from "../programs/Counter.sol";
import {Fibonacci} from "../programs/Fibonacci.sol";
import {GasGuzzler, GasProbe, LengthLiar, Malformed, Oversized, Reverting} from "./utils/Hostile.sol";
import {Test} from "./utils/Test.sol";

/// @notice The full re-execution loop (`Reexecution`, what ECM's `executeN` was) and the
/// step-safety rules of `Trace`.
contract ExecutionTest is Test {
    Counter internal counter;

    function setUp() public {
        counter = new Counter();
    }

    /// The loop, called from outside so that tests can give it a gas limit; also returns the
    /// gas left after it.
    function run(address impl, uint256 stepGas, uint64 from, bytes memory state, uint256 n, uint256 reserve)
        external
        view
        returns (bytes memory reached, bool final_, uint64 executed, uint256 left)
    {
        (reached, final_, executed) = Reexecution.run(impl, stepGas, from, state, n, reserve);
        left = gasleft();
    }

    function test_run_RunsToTheFinalState() public view {
        (bytes memory s, bool final_, uint64 executed,) =
            this.run(address(counter), 20_000, 0, hex"0500000000000000", 100, 0);
        vm.assertEq(executed, 5);
        vm.assertTrue(final_);
        vm.assertEq(s, hex"05000000000000000500000000000000");
    }

    function test_run_InSeveralCallsMatchesOneCall() public {
        Fibonacci fib = new Fibonacci();
        (bytes memory whole, bool wholeFinal, uint64 executed,) = this.run(address(fib), 50_000, 0, hex"3c", 1000, 0);
        vm.assertEq(executed, 61);
        vm.assertTrue(wholeFinal);
        bytes memory s = hex"3c";
        bool final_;
        for (uint64 k = 0; k < 61; ++k) {
            vm.assertFalse(final_);
            (s, final_, executed,) = this.run(address(fib), 50_000, k, s, 1, 0);
            vm.assertEq(executed, 1);
        }
        vm.assertTrue(final_);
        vm.assertEq(s, whole);
        vm.assertEq(s, hex"09a9962d4702"); // F(60) = 2504730781961 = 0x02472d96a909, little-endian
    }

    /// @dev ECM lost the whole call when the last step ran out of gas; the loop stops in time,
    /// keeps the steps it ran, and leaves the caller its reserve.
    function test_run_StopsBeforeRunningOutOfGasAndKeepsTheReserve() public view {
        uint256 reserve = 100_000;
        (bytes memory s, bool final_, uint64 executed, uint256 left) =
            this.run{gas: 500_000}(address(counter), 20_000, 0, hex"ffffffffffffffff", 1_000_000, reserve);
        vm.assertGt(executed, 0);
        vm.assertLt(executed, 1_000_000);
        vm.assertFalse(final_);
        vm.assertEq(s.length, 16);
        vm.assertGe(left, reserve, "the caller's reserve is left");
    }

    function test_run_WithTooLittleGasForOneStepRunsNothing() public view {
        (bytes memory s,, uint64 executed,) =
            this.run{gas: 40_000}(address(counter), 20_000, 0, hex"0500000000000000", 10, 0);
        vm.assertEq(executed, 0);
        vm.assertEq(s, hex"0500000000000000");
    }

    // ---------------------------------------------------------------------------------------
    // The halting rule: each misbehaviour ends the trace with an empty final state
    // ---------------------------------------------------------------------------------------

    function _assertHaltsAtBadStep(address impl) internal view {
        (bytes memory s, bool final_, uint64 executed,) = this.run(impl, 100_000, 0, "", 10, 0);
        vm.assertEq(executed, 3, "runs steps 1, 2, then the bad step 3");
        vm.assertTrue(final_);
        vm.assertEq(s, "");
    }

    function test_halts_WhenTheStepReverts() public {
        _assertHaltsAtBadStep(address(new Reverting()));
    }

    function test_halts_WhenTheStepRunsOutOfItsGas() public {
        _assertHaltsAtBadStep(address(new GasGuzzler()));
    }

    function test_halts_WhenTheStepReturnsMalformedData() public {
        _assertHaltsAtBadStep(address(new Malformed()));
    }

    function test_halts_WhenTheStepReturnsAnOversizedState() public {
        _assertHaltsAtBadStep(address(new Oversized()));
    }

    function test_halts_WhenTheStepLiesAboutTheLength() public {
        _assertHaltsAtBadStep(address(new LengthLiar()));
    }

    /// @dev The 63/64 rule: a step is only run when it can receive its whole `maxStepGas`, so a
    /// caller cannot make an honest step fail by sending too little gas.
    function test_runStep_GivesTheStepItsWholeGas() public {
        GasProbe probe = new GasProbe(90_000);
        // Too little gas to hand the step its 100k: the step is not run at all (rather than
        // run starved, which would halt the trace wrongly).
        (bytes memory s,, uint64 executed,) = this.run{gas: 120_000}(address(probe), 100_000, 0, "x", 1, 0);
        vm.assertEq(executed, 0);
        // With enough gas the step receives more than 90k and succeeds.
        bool final_;
        (s, final_, executed,) = this.run(address(probe), 100_000, 0, "x", 1, 0);
        vm.assertEq(executed, 1);
        vm.assertEq(s, "x", "not halted: the step was not starved");
        vm.assertTrue(final_);
    }

    function test_next_FinalStateIsSticky() public view {
        (bytes memory s, bool f) = this.next(address(counter), true, hex"1234");
        vm.assertEq(s, hex"1234");
        vm.assertTrue(f);
    }

    function next(address impl, bool final_, bytes memory state) external view returns (bytes memory, bool) {
        return Trace.next(impl, 20_000, 5, final_, state);
    }

    function test_maxStateBytes_Is8KiB() public pure {
        vm.assertEq(MAX_STATE_BYTES, 8192);
    }
}

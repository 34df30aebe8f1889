// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Bisection} from "../libraries/Bisection.sol";
import {Test} from "./utils/Test.sol";

/// @notice The split-point arithmetic of the game, on its own.
contract BisectionTest is Test {
    function test_pointCount_KMinusOneOnLongSegments() public pure {
        vm.assertEq(Bisection.pointCount(0, 1000, 16), 15);
        vm.assertEq(Bisection.pointCount(0, 16, 16), 15);
    }

    function test_pointCount_AllInteriorPointsOnShortSegments() public pure {
        vm.assertEq(Bisection.pointCount(10, 15, 16), 4);
        vm.assertEq(Bisection.pointCount(10, 12, 16), 1);
        vm.assertEq(Bisection.pointCount(10, 11, 16), 0);
    }

    function test_splitPoint_EndsAndEvenCuts() public pure {
        vm.assertEq(Bisection.splitPoint(0, 100, 4, 0), 0);
        vm.assertEq(Bisection.splitPoint(0, 100, 4, 1), 25);
        vm.assertEq(Bisection.splitPoint(0, 100, 4, 3), 75);
        vm.assertEq(Bisection.splitPoint(0, 100, 4, 4), 100);
        vm.assertEq(Bisection.splitPoint(7, 10, 3, 1), 8);
        vm.assertEq(Bisection.splitPoint(7, 10, 3, 2), 9);
    }

    function test_splitPoint_NoOverflowAtTheTopOfTheRange() public pure {
        uint64 hi = type(uint64).max;
        vm.assertEq(Bisection.splitPoint(0, hi, 32, 32), hi);
        vm.assertEq(Bisection.splitPoint(0, hi, 32, 16), hi / 2);
    }

    /// @dev Sub-segments are nonempty, ordered and cover [lo, hi] exactly.
    function testFuzz_splitPoint_StrictlyIncreasingCover(uint64 lo, uint64 span, uint8 arity) public pure {
        uint256 k = bound(arity, 2, 32);
        lo = uint64(bound(lo, 0, type(uint64).max - 2));
        span = uint64(bound(span, 2, type(uint64).max - lo));
        uint64 hi = lo + span;
        uint256 parts = Bisection.pointCount(lo, hi, k) + 1;
        uint64 previous = Bisection.splitPoint(lo, hi, parts, 0);
        vm.assertEq(previous, lo);
        for (uint256 j = 1; j <= parts; ++j) {
            uint64 point = Bisection.splitPoint(lo, hi, parts, j);
            vm.assertGt(point, previous);
            previous = point;
        }
        vm.assertEq(previous, hi);
    }

    function test_splitPoint_StrictlyIncreasingCover_ConcreteTwin() public pure {
        testFuzz_splitPoint_StrictlyIncreasingCover(5, 17, 16);
    }

    function test_rounds_CeilLogK() public pure {
        vm.assertEq(Bisection.rounds(1, 16), 0);
        vm.assertEq(Bisection.rounds(2, 16), 1);
        vm.assertEq(Bisection.rounds(16, 16), 1);
        vm.assertEq(Bisection.rounds(17, 16), 2);
        vm.assertEq(Bisection.rounds(2 ** 32, 16), 8);
        vm.assertEq(Bisection.rounds(2 ** 32, 2), 32);
        vm.assertEq(Bisection.rounds(2 ** 30, 32), 6);
        vm.assertEq(Bisection.rounds(type(uint64).max, 2), 64);
    }

    /// @dev Each round keeps at most ceil(span / k) steps, so ceil(log_k N) rounds reach 1.
    function testFuzz_rounds_BoundTheGame(uint64 n, uint8 arity) public pure {
        uint256 k = bound(arity, 2, 32);
        n = uint64(bound(n, 1, type(uint64).max));
        uint256 span = n;
        uint256 played;
        while (span > 1) {
            uint256 parts = span < k ? span : k;
            // The longest sub-segment of a cut into `parts`.
            span = (span + parts - 1) / parts;
            ++played;
        }
        vm.assertLe(played, Bisection.rounds(n, k));
    }
}

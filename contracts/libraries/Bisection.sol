// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";

/// @title Bisection
/// @notice The rules of the k-ary bisection game over one `IBroker.Game` record.
/// @dev The defender (author of the standing answer) claims `cLo = c_0` and `cHi = c_N`. Each
/// round the defender posts the commitments at the split points of `[lo, hi]`; the challenger
/// picks a sub-segment whose left end it agrees with and whose right end it rejects. When one
/// step is left, the left end is revealed and the step is run on-chain (in the Broker).
/// Whose move it is, and each party's chess clock, are checked in one place: `takeTurn`.
library Bisection {
    /// @notice Blocks of its clock a party is assumed to spend per move when a game is checked
    /// to fit the clock (`clockNeeded`).
    uint256 internal constant BLOCKS_PER_MOVE = 2;

    /// @notice Opens a game over `[0, n]` with both clocks full; the defender moves first.
    function start(IBroker.Game storage g, bytes32 c0, bytes32 cN, uint64 n, uint32 clock) internal {
        g.lo = 0;
        g.hi = n;
        g.turnStart = uint48(block.number);
        g.defenderClock = clock;
        g.challengerClock = clock;
        g.phase = n == 1 ? IBroker.Phase.OneStep : IBroker.Phase.Bisect;
        g.cLo = c0;
        g.cHi = cN;
    }

    /// @notice Checks that this is the `expected` phase, that the caller is `mover` (the party
    /// whose turn it is: the defender, or the challenger in the select phase; anyone may move
    /// for it if `anyone`), and that the mover's clock has not run out; then charges the
    /// mover's clock for the blocks it used and starts the other clock.
    function takeTurn(IBroker.Game storage g, uint256 id, IBroker.Phase expected, address mover, bool anyone) internal {
        IBroker.Phase phase = g.phase;
        if (phase != expected) revert IBroker.WrongPhase(id, phase, expected);
        bool defenderMoves = phase != IBroker.Phase.Select;
        if (!anyone && msg.sender != mover) revert IBroker.NotYourMove(id, msg.sender, mover);
        uint256 turnStart = g.turnStart;
        uint256 clock = defenderMoves ? g.defenderClock : g.challengerClock;
        uint256 elapsed = block.number - turnStart;
        if (elapsed > clock) revert IBroker.ClockExpired(mover, turnStart + clock);
        // forge-lint: disable-next-line(unsafe-typecast) -- at most `clock`, itself a uint32
        uint32 left = uint32(clock - elapsed);
        if (defenderMoves) g.defenderClock = left;
        else g.challengerClock = left;
        g.turnStart = uint48(block.number);
    }

    /// @notice Whether the mover's clock has run out, whether the mover is the defender, and
    /// the last block at which the mover could still move.
    function timeout(IBroker.Game storage g)
        internal
        view
        returns (bool expired, bool defenderMoves, uint256 deadline)
    {
        defenderMoves = g.phase != IBroker.Phase.Select;
        deadline = uint256(g.turnStart) + (defenderMoves ? g.defenderClock : g.challengerClock);
        expired = block.number > deadline;
    }

    /// @notice The number of commitments a bisection of `[lo, hi]` posts: one less than the
    /// number of sub-segments, which is `arity`, or `hi - lo` on shorter segments.
    function pointCount(uint64 lo, uint64 hi, uint256 arity) internal pure returns (uint256) {
        uint256 span = hi - lo;
        return (span < arity ? span : arity) - 1;
    }

    /// @notice The step number of split point `j` (0..parts) of `[lo, hi]` cut into `parts`
    /// nearly equal sub-segments; point 0 is `lo` and point `parts` is `hi`.
    function splitPoint(uint64 lo, uint64 hi, uint256 parts, uint256 j) internal pure returns (uint64) {
        // forge-lint: disable-next-line(unsafe-typecast) -- between lo and hi, both uint64
        return uint64(lo + (uint256(hi - lo) * j) / parts);
    }

    /// @notice The number of rounds a game over `n` steps takes at most: `ceil(log_arity(n))`.
    /// The arity must be in [2, 32] (the Broker's bounds).
    /// @dev Deposits are priced by it on every answer, challenge and settlement, so the loop is
    /// in assembly: about half the gas of its Solidity form (10 rounds at 2^40 steps, arity 16).
    /// `span` is below 2^64 before each product and the arity at most 32: no overflow.
    function rounds(uint64 n, uint256 arity) internal pure returns (uint256 r) {
        assembly ("memory-safe") {
            for { let span := 1 } lt(span, n) { span := mul(span, arity) } { r := add(r, 1) }
        }
    }

    /// @notice The clock a party needs for a game over `maxSteps` steps: one move per round
    /// and the one step, each taking `BLOCKS_PER_MOVE` blocks (the move cannot land in the
    /// block that started the turn, and a busy chain may not take it in the next).
    function clockNeeded(uint64 maxSteps, uint256 arity) internal pure returns (uint256) {
        return clockForRounds(rounds(maxSteps, arity));
    }

    /// @notice `clockNeeded` for a game of `rounds_` rounds.
    function clockForRounds(uint256 rounds_) internal pure returns (uint256) {
        return (rounds_ + 1) * BLOCKS_PER_MOVE;
    }

    /// @notice The defender posts `points` for the current segment.
    function bisect(IBroker.Game storage g, bytes32[] calldata points, uint256 arity) internal {
        uint256 expected = pointCount(g.lo, g.hi, arity);
        if (points.length != expected) revert IBroker.WrongPointCount(points.length, expected);
        g.pointsHash = keccak256(abi.encodePacked(points));
        g.phase = IBroker.Phase.Select;
    }

    /// @notice The challenger picks sub-segment `index` of the posted `points`; the game
    /// continues on it, or moves to the one-step phase if it is one step long.
    function select(IBroker.Game storage g, bytes32[] calldata points, uint256 index) internal {
        bytes32 given = keccak256(abi.encodePacked(points));
        bytes32 posted = g.pointsHash;
        if (given != posted) revert IBroker.PointsMismatch(given, posted);
        uint256 parts = points.length + 1;
        if (index >= parts) revert IBroker.SegmentIndexOutOfRange(index, parts);
        uint64 lo = g.lo;
        uint64 hi = g.hi;
        uint64 newLo = splitPoint(lo, hi, parts, index);
        uint64 newHi = splitPoint(lo, hi, parts, index + 1);
        if (index > 0) g.cLo = points[index - 1];
        if (index + 1 < parts) g.cHi = points[index];
        g.lo = newLo;
        g.hi = newHi;
        g.pointsHash = bytes32(0);
        g.phase = newHi - newLo == 1 ? IBroker.Phase.OneStep : IBroker.Phase.Bisect;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../../interfaces/IBroker.sol";
import {IBrokerTournaments} from "../../interfaces/IBrokerTournaments.sol";
import {IExecution} from "../../interfaces/IExecution.sol";
import {Fixtures} from "./Fixtures.sol";

/// @notice Plays bisection games in tests: each side moves from its own view of the trace, the
/// way the off-chain agents do. A side's view is its list of trace points; a liar's view is
/// the honest trace with one deviation.
abstract contract GameDriver is Fixtures {
    /// @notice How a liar's trace deviates at its lie step.
    enum Lie {
        /// The state is altered (last byte flipped) and the trace continues from it.
        State,
        /// The final flag is flipped: final too early, or not final when it should be.
        FinalFlag
    }

    struct View {
        bytes[] states;
        bool[] finals;
        bytes32[] cs;
    }

    /// @dev Extra blocks each move waits, to exercise the clocks.
    uint256 internal moveDelay;

    /// @dev The trace points `0..maxSteps` of `program` on `input`, honest if `lieAt == 0`.
    function _view(IExecution program, bytes memory input, uint256 maxSteps, uint256 lieAt, Lie lie)
        internal
        view
        returns (View memory v)
    {
        v.states = new bytes[](maxSteps + 1);
        v.finals = new bool[](maxSteps + 1);
        v.states[0] = input;
        for (uint256 i = 1; i <= maxSteps; ++i) {
            if (v.finals[i - 1]) {
                (v.states[i], v.finals[i]) = (v.states[i - 1], true);
            } else {
                (v.states[i], v.finals[i]) = program.step(i, v.states[i - 1]);
            }
            if (i == lieAt) {
                if (lie == Lie.State) {
                    bytes memory s = v.states[i];
                    if (s.length == 0) s = hex"00";
                    else s[s.length - 1] ^= 0x01;
                    v.states[i] = s;
                } else {
                    v.finals[i] = !v.finals[i];
                }
            }
        }
        v.cs = _commitments(v.states, v.finals);
    }

    /// @dev The claim a side makes from its view: its first final step, or "out of steps".
    function _claimOf(View memory v) internal pure returns (bytes memory result, uint64 steps, bool final_) {
        uint256 last = v.states.length - 1;
        for (uint256 i = 1; i <= last; ++i) {
            if (v.finals[i]) return (v.states[i], uint64(i), true);
        }
        return (v.states[last], uint64(last), false);
    }

    /// @dev The defender posts its commitments at the split points of the current segment.
    function _defenderBisects(uint256 id, address defender, View memory d) internal returns (bytes32[] memory points) {
        IBroker.Game memory g = broker.getGame(id);
        uint256 parts = _parts(g.lo, g.hi);
        points = new bytes32[](parts - 1);
        for (uint256 j = 1; j < parts; ++j) {
            points[j - 1] = d.cs[broker.splitPoint(g.lo, g.hi, parts, j)];
        }
        vm.prank(defender);
        broker.bisect(id, points);
    }

    /// @dev The index a challenger with view `c` picks: the first sub-segment whose right end
    /// it rejects (its left end is then one it agrees with).
    function _honestIndex(IBroker.Game memory g, bytes32[] memory points, View memory c)
        internal
        view
        returns (uint256)
    {
        uint256 parts = points.length + 1;
        for (uint256 j = 0; j < parts; ++j) {
            bytes32 right = j + 1 < parts ? points[j] : g.cHi;
            if (c.cs[broker.splitPoint(g.lo, g.hi, parts, j + 1)] != right) return j;
        }
        return parts - 1;
    }

    function _parts(uint64 lo, uint64 hi) internal view returns (uint256) {
        uint256 span = hi - lo;
        uint256 k = broker.arity();
        return span < k ? span : k;
    }

    /// @dev Plays the game to its end: the defender from `d`, the challenger from `c`. At the
    /// one step, the defender reveals its state at `lo` if it matches the agreed commitment,
    /// else the challenger reveals its own. Returns whether the defender won.
    function _play(uint256 id, address defender, View memory d, address challengerAccount, View memory c)
        internal
        returns (bool defenderWon)
    {
        if (_status(id) == IBroker.Status.NeedsResolution) broker.initializeDispute(id);
        address standingBefore = broker.getRequest(id).host;
        for (uint256 guard = 0; guard < 200; ++guard) {
            if (_status(id) != IBroker.Status.Resolving) break;
            if (moveDelay > 0) vm.roll(block.number + moveDelay);
            IBroker.Game memory g = broker.getGame(id);
            if (g.phase == IBroker.Phase.Bisect) {
                _defenderBisects(id, defender, d);
            } else if (g.phase == IBroker.Phase.Select) {
                bytes32[] memory points = _lastPoints(id, d, g);
                uint256 index = _honestIndex(g, points, c);
                vm.prank(challengerAccount);
                broker.selectSegment(id, points, index);
            } else {
                _reveal(id, g, d, c);
            }
        }
        require(_status(id) == IBroker.Status.WaitingForResolution, "game did not end");
        defenderWon = broker.getRequest(id).host == standingBefore;
    }

    /// @dev Plays until the one-step phase.
    function _toOneStep(uint256 id, View memory d, View memory c) internal {
        while (broker.getGame(id).phase != IBroker.Phase.OneStep) {
            IBroker.Game memory g = broker.getGame(id);
            if (g.phase == IBroker.Phase.Bisect) {
                _defenderBisects(id, host, d);
            } else {
                bytes32[] memory points = _lastPoints(id, d, g);
                uint256 index = _honestIndex(g, points, c);
                vm.prank(challenger);
                broker.selectSegment(id, points, index);
            }
        }
    }

    /// @dev The points the defender posted this round (recomputed from its view).
    function _lastPoints(uint256, View memory d, IBroker.Game memory g)
        internal
        view
        returns (bytes32[] memory points)
    {
        uint256 parts = _parts(g.lo, g.hi);
        points = new bytes32[](parts - 1);
        for (uint256 j = 1; j < parts; ++j) {
            points[j - 1] = d.cs[broker.splitPoint(g.lo, g.hi, parts, j)];
        }
    }

    function _reveal(uint256 id, IBroker.Game memory g, View memory d, View memory c) internal virtual {
        View memory who = d.cs[g.lo] == g.cLo ? d : c;
        vm.prank(stranger);
        broker.proveStep(id, who.finals[g.lo], who.states[g.lo]);
    }

    // ---------------------------------------------------------------------------------------
    // Tournament games (`IBrokerTournaments`)
    // ---------------------------------------------------------------------------------------

    /// @dev The Broker, for its tournament calls (run by `BrokerTournaments`).
    function tour() internal view returns (IBrokerTournaments) {
        return IBrokerTournaments(address(broker));
    }

    /// @dev Plays game `game` to its end, the defender (`defender`) from `d`, the challenger
    /// from `c`, as `_play` does; returns whether the defender won.
    function _playGame(
        uint256 id,
        uint256 game,
        address defender,
        View memory d,
        address challengerParty,
        View memory c
    ) internal returns (bool) {
        for (uint256 guard = 0; guard < 64; ++guard) {
            IBrokerTournaments.GameView memory gv = tour().getTournamentGame(id, game);
            if (!gv.open) return gv.defenderWon;
            IBroker.Game memory g = gv.game;
            if (g.phase == IBroker.Phase.Bisect) {
                bytes32[] memory points = _lastPoints(id, d, g);
                vm.prank(defender);
                tour().bisect(id, game, points);
            } else if (g.phase == IBroker.Phase.Select) {
                bytes32[] memory points = _lastPoints(id, d, g);
                uint256 index = _honestIndex(g, points, c);
                vm.prank(challengerParty);
                tour().selectSegment(id, game, points, index);
            } else {
                _proveInGame(id, game, g, d, c);
            }
        }
        revert("game did not end");
    }

    /// @dev The one step of tournament game `game`: as `_reveal`, by game.
    function _proveInGame(uint256 id, uint256 game, IBroker.Game memory g, View memory d, View memory c)
        internal
        virtual
    {
        View memory who = d.cs[g.lo] == g.cLo ? d : c;
        vm.prank(stranger);
        tour().proveStep(id, game, who.finals[g.lo], who.states[g.lo]);
    }
}

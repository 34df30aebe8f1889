// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {Tournament} from "../libraries/Tournament.sol";
import {GameDriver} from "./utils/GameDriver.sol";
import {TournamentHarness} from "./utils/TournamentHarness.sol";

/// @notice The tournament's rules (review finding 10, stage 1): games between claims in
/// parallel, a claim eliminated by its first loss, and an end bounded whatever the number of
/// puppets. Games are played for real (bisection and the Counter's one-step proof) where their
/// outcome is the point; a cheater's stalls end by the clocks.
contract TournamentTest is GameDriver {
    uint64 internal constant N = 20;
    uint256 internal constant START_BLOCKS = 20;

    TournamentHarness internal th;
    View internal honestView;

    function setUp() public override {
        super.setUp();
        th = new TournamentHarness(address(counter), COUNTER_STEP_GAS, ARITY, CLOCK);
        View memory v = _view(counter, _counterInput(N), N, 0, Lie.State);
        honestView.states = v.states;
        honestView.finals = v.finals;
        honestView.cs = v.cs;
    }

    // ---------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------

    function _honest() internal view returns (View memory) {
        return honestView;
    }

    /// @dev The honest trace with its last point tampered by `tag`: a wrong claim of its own
    /// (a different tag, a different claim), shown wrong only by the last step.
    function _liar(uint8 tag) internal view returns (View memory v) {
        View memory h = honestView;
        v.states = new bytes[](N + 1);
        v.finals = new bool[](N + 1);
        for (uint256 i = 0; i <= N; ++i) {
            v.states[i] = h.states[i];
            v.finals[i] = h.finals[i];
        }
        v.states[N] = bytes.concat(h.states[N], bytes1(tag));
        v.cs = _commitments(v.states, v.finals);
    }

    function _claim(View memory v) internal pure returns (bytes32) {
        return v.cs[N];
    }

    function _open(address who, View memory v) internal {
        vm.prank(who);
        th.open(honestView.cs[0], _claim(v), N, WINDOW, START_BLOCKS);
    }

    function _enter(address who, View memory v) internal returns (uint32 index) {
        vm.prank(who);
        index = th.enter(_claim(v), N);
    }

    function _challengeEntry(uint32 challengerIndex, uint32 defenderIndex) internal returns (uint256 key) {
        vm.prank(th.entry(challengerIndex).party);
        key = th.challenge(challengerIndex, defenderIndex);
    }

    /// @dev Plays game `key` to its end, the defender from `d`, the challenger choosing from
    /// `c` (or always the first sub-segment if `throwIt`); returns whether the defender won.
    function _playGame(uint256 key, View memory d, View memory c, bool throwIt) internal returns (bool) {
        Tournament.Match memory m = th.getMatch(key);
        address defender = th.entry(m.defender).party;
        address challengerParty = th.entry(m.challenger).party;
        for (uint256 guard = 0; guard < 64 && th.getMatch(key).open; ++guard) {
            IBroker.Game memory g = th.getGame(key);
            bytes32[] memory points = _lastPoints(0, d, g);
            if (g.phase == IBroker.Phase.Bisect) {
                vm.prank(defender);
                th.bisect(key, points);
            } else if (g.phase == IBroker.Phase.Select) {
                uint256 index = throwIt ? 0 : _honestIndex(g, points, c);
                vm.prank(challengerParty);
                th.selectSegment(key, points, index);
            } else {
                View memory who = d.cs[g.lo] == g.cLo ? d : c;
                vm.prank(stranger);
                th.proveStep(key, who.finals[g.lo], who.states[g.lo]);
            }
        }
        require(!th.getMatch(key).open, "game did not end");
        return th.getMatch(key).defenderWon;
    }

    /// @dev Ends game `key` by its mover's timeout, the first block it may.
    function _timeOut(uint256 key) internal returns (bool defenderWon) {
        IBroker.Game memory g = th.getGame(key);
        bool defenderMoves = g.phase != IBroker.Phase.Select;
        uint256 deadline = uint256(g.turnStart) + (defenderMoves ? g.defenderClock : g.challengerClock);
        if (block.number <= deadline) vm.roll(deadline + 1);
        defenderWon = th.claimTimeout(key);
    }

    function _assertVerdict(bool over, bool decided, uint32 winner) internal view {
        (bool isOver, bool isDecided, uint32 who) = th.verdict();
        vm.assertEq(isOver, over, "over");
        vm.assertEq(isDecided, decided, "decided");
        if (decided) vm.assertEq(who, winner, "winner");
    }

    // ---------------------------------------------------------------------------------------
    // Outcomes
    // ---------------------------------------------------------------------------------------

    function test_anHonestChallenger_EliminatesAWrongAnswerByTheOneStep() public {
        _open(host, _liar(1));
        uint32 x = _enter(challenger, _honest());
        uint256 key = _challengeEntry(x, 0);
        vm.assertFalse(_playGame(key, _liar(1), _honest(), false));
        vm.assertTrue(th.entry(0).eliminated);
        vm.assertFalse(th.entry(x).eliminated);
        // Entries stay open until the window's end, so nothing is decided before it.
        (uint256 entryDeadline,,) = th.deadlines();
        _assertVerdict(false, false, 0);
        vm.roll(entryDeadline + 1);
        _assertVerdict(true, true, x);
    }

    function test_anHonestHost_EliminatesAWrongChallengeByTheOneStep() public {
        _open(host, _honest());
        uint32 p = _enter(challenger, _liar(2));
        uint256 key = _challengeEntry(p, 0);
        vm.assertTrue(_playGame(key, _honest(), _liar(2), false));
        vm.assertTrue(th.entry(p).eliminated);
        (uint256 entryDeadline,,) = th.deadlines();
        vm.roll(entryDeadline + 1);
        _assertVerdict(true, true, 0);
    }

    function test_nobodyChallenges_TheAnswerStandsAfterTheWindow() public {
        _open(host, _honest());
        (uint256 entryDeadline,,) = th.deadlines();
        vm.roll(entryDeadline);
        _assertVerdict(false, false, 0);
        vm.roll(entryDeadline + 1);
        _assertVerdict(true, true, 0);
    }

    function test_claimsNobodyPlays_EndUndecidedAfterTheEndDeadline() public {
        _open(host, _liar(1));
        _enter(challenger, _liar(2));
        (uint256 entryDeadline,, uint256 endDeadline) = th.deadlines();
        vm.roll(entryDeadline + 1);
        _assertVerdict(false, false, 0);
        vm.roll(endDeadline);
        _assertVerdict(false, false, 0);
        vm.roll(endDeadline + 1);
        _assertVerdict(true, false, 0);
    }

    function test_aThrownGame_EliminatesItsThrowerNotTheSameClaimEnteredByAnother() public {
        _open(host, _liar(1));
        // A puppet enters the right claim first, then throws its game (it always picks the
        // first sub-segment, where the liar's trace is right).
        uint32 puppet = _enter(stranger, _honest());
        uint32 x = _enter(challenger, _honest());
        vm.assertTrue(_playGame(_challengeEntry(puppet, 0), _liar(1), _honest(), true));
        vm.assertTrue(th.entry(puppet).eliminated);
        // The honest challenger's own entry of the same claim still stands and wins.
        vm.assertFalse(_playGame(_challengeEntry(x, 0), _liar(1), _honest(), false));
        (uint256 entryDeadline,,) = th.deadlines();
        vm.roll(entryDeadline + 1);
        _assertVerdict(true, true, x);
    }

    function test_aGameAgainstAnEntryEliminatedElsewhere_IsForfeitedByIt() public {
        _open(host, _liar(1));
        uint32 x = _enter(challenger, _honest());
        uint32 puppet = _enter(stranger, _liar(2));
        uint256 xAgainstHost = _challengeEntry(x, 0);
        uint256 xAgainstPuppet = _challengeEntry(x, puppet);
        // Nothing to forfeit while both stand.
        vm.expectRevert(abi.encodeWithSelector(Tournament.NothingForfeited.selector, xAgainstHost));
        th.forfeit(xAgainstHost);
        // The host throws a game to the puppet (within the block: both are one cheater)...
        uint256 puppetAgainstHost = _challengeEntry(puppet, 0);
        vm.assertFalse(_playGame(puppetAgainstHost, _liar(1), _liar(2), false));
        vm.assertTrue(th.entry(0).eliminated);
        // ...so no game starts against it any more, and the one it was playing is its loss.
        vm.expectRevert(abi.encodeWithSelector(Tournament.EntryEliminated.selector, 0));
        vm.prank(stranger);
        th.challenge(puppet, 0);
        bytes32[] memory points = _lastPoints(0, _liar(1), th.getGame(xAgainstHost));
        vm.expectRevert(abi.encodeWithSelector(Tournament.GameForfeited.selector, xAgainstHost));
        vm.prank(host);
        th.bisect(xAgainstHost, points);
        vm.assertFalse(th.forfeit(xAgainstHost));
        // The puppet, which stalled against x meanwhile, loses that game by its clock.
        vm.assertFalse(_timeOut(xAgainstPuppet));
        // The forfeit eliminated nobody new: the host's deposit went half to the puppet that
        // beat it first, the puppet's half to x.
        (uint256[] memory shares, uint256 requesterOwed) = th.shares(2 ether);
        vm.assertEq(shares[0], 0);
        vm.assertEq(shares[puppet], 1 ether);
        vm.assertEq(shares[x], 2 ether + 1 ether);
        vm.assertEq(requesterOwed, 2 ether);
        (uint256 entryDeadline,,) = th.deadlines();
        vm.roll(entryDeadline + 1);
        _assertVerdict(true, true, x);
    }

    function test_aCycleOfWrongClaims_LeavesOneStanding_ForNoEntryLosesToAnEliminatedOne() public {
        _open(host, _liar(1));
        uint32 b = _enter(challenger, _liar(2));
        uint32 c = _enter(stranger, _liar(3));
        // Each challenges the next, and every defender stalls.
        uint256 ab = _challengeEntry(0, b);
        uint256 bc = _challengeEntry(b, c);
        uint256 ca = _challengeEntry(c, 0);
        vm.assertFalse(_timeOut(ab));
        // b lost: its game against c is dead, and ends as b's loss, not c's.
        vm.expectRevert(abi.encodeWithSelector(Tournament.GameForfeited.selector, bc));
        th.claimTimeout(bc);
        vm.assertTrue(th.forfeit(bc));
        vm.assertFalse(_timeOut(ca));
        vm.assertTrue(th.entry(0).eliminated && th.entry(b).eliminated && !th.entry(c).eliminated);
        _assertVerdict(true, true, c);
    }

    function test_rules_RefuseEveryIllegalEntryOrGame() public {
        _open(host, _liar(1));
        uint32 x = _enter(challenger, _honest());
        uint32 same = _enter(stranger, _liar(1));
        // Only an entry's party starts its games.
        vm.expectRevert(abi.encodeWithSelector(Tournament.NotEntrysParty.selector, x, challenger));
        vm.prank(stranger);
        th.challenge(x, 0);
        // Nothing to decide between equal claims.
        vm.expectRevert(abi.encodeWithSelector(Tournament.SameClaimEntries.selector, same, 0));
        vm.prank(stranger);
        th.challenge(same, 0);
        vm.expectRevert(abi.encodeWithSelector(Tournament.NoSuchEntry.selector, 7));
        vm.prank(challenger);
        th.challenge(x, 7);
        // One game per pair, whichever way round.
        uint256 key = _challengeEntry(x, 0);
        vm.expectRevert(abi.encodeWithSelector(Tournament.GameExists.selector, x, 0));
        vm.prank(challenger);
        th.challenge(x, 0);
        vm.expectRevert(abi.encodeWithSelector(Tournament.GameExists.selector, 0, x));
        vm.prank(host);
        th.challenge(0, x);
        // Whose move it is, and the clock, are the bisection game's.
        bytes32[] memory points = _lastPoints(0, _liar(1), th.getGame(key));
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotYourMove.selector, key, challenger, host));
        vm.prank(challenger);
        th.bisect(key, points);
        IBroker.Game memory g = th.getGame(key);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.DeadlineNotReached.selector, key, uint256(g.turnStart) + g.defenderClock)
        );
        th.claimTimeout(key);
        // An entry that lost starts nothing and is challenged by nobody; an ended game takes
        // no move.
        vm.assertFalse(_playGame(key, _liar(1), _honest(), false));
        vm.expectRevert(abi.encodeWithSelector(Tournament.EntryEliminated.selector, 0));
        vm.prank(host);
        th.challenge(0, same);
        vm.expectRevert(abi.encodeWithSelector(Tournament.NoOpenGame.selector, key));
        th.claimTimeout(key);
        // Entries close with the window, games some blocks later.
        (uint256 entryDeadline, uint256 startDeadline,) = th.deadlines();
        vm.roll(entryDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(Tournament.EntriesClosed.selector, entryDeadline));
        vm.prank(stranger);
        th.enter(_claim(_liar(9)), N);
        vm.roll(startDeadline + 1);
        vm.expectRevert(abi.encodeWithSelector(Tournament.StartsClosed.selector, startDeadline));
        vm.prank(challenger);
        th.challenge(x, same);
    }

    // ---------------------------------------------------------------------------------------
    // The bound (review finding 10)
    // ---------------------------------------------------------------------------------------

    /// @dev Blocks from the answer until the tournament is decided, with `puppets` puppets
    /// playing for the cheater as slowly as the rules let them. Each enters at the window's
    /// last block with a claim of its own and never moves in its games against the honest
    /// party. At the last block games may start, the puppets either start games among
    /// themselves and stall in them too, or (`throwChain`) throw games down a chain, each
    /// beaten by the next within the block (the wrong host beaten by the first puppet), which
    /// would restart every game if games were played against the standing answer. The honest
    /// party (the challenger of a wrong answer, or the host of a right one) challenges every
    /// other claim as it appears, claims each timeout when it comes and ignores dead games.
    /// Checks the verdict and the money; returns the blocks.
    function _settlementBlocks(uint256 puppets, bool honestHost, bool throwChain) internal returns (uint256 blocks) {
        uint256 answeredAt = block.number;
        _open(host, honestHost ? _honest() : _liar(1));
        uint32 honest = 0;
        uint32 firstPuppet = 1;
        uint256[] memory keys = new uint256[](puppets + 1);
        if (!honestHost) {
            honest = _enter(challenger, _honest());
            firstPuppet = 2;
            keys[puppets] = _challengeEntry(honest, 0); // the host stalls in it
        }
        (uint256 entryDeadline, uint256 startDeadline,) = th.deadlines();
        vm.roll(entryDeadline);
        for (uint256 k = 0; k < puppets; ++k) {
            // forge-lint: disable-next-line(unsafe-typecast) -- a small number
            address puppet = address(uint160(0xBEEF00 + k));
            // forge-lint: disable-next-line(unsafe-typecast) -- at most 16 puppets: tags 2 to 17
            uint32 p = _enter(puppet, _liar(uint8(2 + k)));
            keys[k] = _challengeEntry(honest, p);
        }
        vm.roll(startDeadline);
        _puppetsPlayAmongThemselves(puppets, firstPuppet, honestHost, throwChain);
        // Each live game's timeout is claimed in the first block it may be.
        uint256 eliminatedByHonest = 0;
        for (uint256 k = 0; k < keys.length; ++k) {
            if (keys[k] == 0 || th.entry(th.getMatch(keys[k]).defender).eliminated) continue;
            vm.assertFalse(_timeOut(keys[k]), "the staller loses");
            ++eliminatedByHonest;
        }
        _assertVerdict(true, true, honest);
        uint256 others = honestHost ? puppets : puppets + 1;
        vm.assertEq(eliminatedByHonest, throwChain ? 1 : others);
        _assertShares(honest, eliminatedByHonest, others);
        blocks = block.number - answeredAt;
    }

    /// @dev At the last block games may start, the wrong host (unless `honestHost`) and each
    /// puppet but the last are challenged by the next puppet, and lose within the block if
    /// `throwChain` (both sides play), or stall (neither moves).
    function _puppetsPlayAmongThemselves(uint256 puppets, uint32 firstPuppet, bool honestHost, bool throwChain)
        internal
    {
        for (uint256 k = honestHost ? 1 : 0; k < puppets; ++k) {
            // forge-lint: disable-next-line(unsafe-typecast) -- at most 17 entries
            uint32 beaten = k == 0 ? 0 : uint32(firstPuppet + k - 1);
            // forge-lint: disable-next-line(unsafe-typecast) -- as above
            uint256 key = _challengeEntry(uint32(firstPuppet + k), beaten);
            // forge-lint: disable-next-line(unsafe-typecast) -- tags 1 to 17
            if (throwChain) vm.assertFalse(_playGame(key, _liar(uint8(1 + k)), _liar(uint8(2 + k)), false));
        }
    }

    /// @dev The honest party gets its deposit back and half of each of the `eliminated`
    /// deposits it took; the requester the other half of all `lost` deposits.
    function _assertShares(uint32 honest, uint256 eliminated, uint256 lost) internal view {
        uint256 deposit = 1 ether;
        (uint256[] memory shares, uint256 requesterOwed) = th.shares(deposit);
        vm.assertEq(shares[honest], deposit + eliminated * (deposit / 2), "the honest party's share");
        vm.assertEq(requesterOwed, lost * (deposit - deposit / 2), "the requester's share");
    }

    function test_sybilDelay_PuppetsCostTheHonestPartyGasNotTime() public {
        uint256[3] memory counts = [uint256(1), 4, 16];
        uint256 bound = WINDOW + START_BLOCKS + 2 * uint256(CLOCK) + 1;
        for (uint256 scenario = 0; scenario < 4; ++scenario) {
            bool honestHost = scenario % 2 == 1;
            bool throwChain = scenario >= 2;
            uint256 first;
            for (uint256 k = 0; k < counts.length; ++k) {
                uint256 snapshot = vm.snapshotState();
                uint256 blocks = _settlementBlocks(counts[k], honestHost, throwChain);
                vm.snapshotValue(
                    string.concat(
                        "tournament_blocks_",
                        honestHost ? "honestHost_" : "wrongHost_",
                        throwChain ? "throwing_" : "",
                        vm.toString(counts[k]),
                        "puppets"
                    ),
                    blocks
                );
                // The same whatever the number of puppets, and within the rules' bound.
                if (k == 0) first = blocks;
                vm.assertEq(blocks, first, "independent of the puppets");
                vm.assertLe(blocks, bound, "within the bound");
                vm.revertToState(snapshot);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Random play
    // ---------------------------------------------------------------------------------------

    /// @dev Claims the random play draws from: the right one and three wrong ones.
    function _someClaim(uint256 r) internal view returns (bytes32) {
        // forge-lint: disable-next-line(unsafe-typecast) -- below 4
        return r % 4 == 0 ? _claim(_honest()) : _claim(_liar(uint8(r % 4)));
    }

    /// @dev Different claims among the entries not eliminated, counted from scratch.
    function _recount() internal view returns (uint256 distinct) {
        (uint32 count,) = th.counts();
        bytes32[] memory seen = new bytes32[](count);
        for (uint32 i = 0; i < count; ++i) {
            Tournament.Entry memory e = th.entry(i);
            if (e.eliminated) continue;
            bool known = false;
            for (uint256 j = 0; j < distinct; ++j) {
                if (seen[j] == e.claim) known = true;
            }
            if (!known) seen[distinct++] = e.claim;
        }
    }

    /// @dev The entries' shares and the requester's add up to the deposits held (an odd
    /// deposit, so that its halves differ).
    function _assertSharesAddUp(uint256 deposit) internal view {
        (uint256[] memory entries, uint256 requesterOwed) = th.shares(deposit);
        uint256 total = requesterOwed;
        for (uint256 i = 0; i < entries.length; ++i) {
            total += entries[i];
        }
        vm.assertEq(total, entries.length * deposit, "shares add up to the deposits");
    }

    /// @dev Random entries, games, timeouts, forfeits and waits, any of which may be refused:
    /// the count of standing claims the verdict reads always equals a recount, never drops to
    /// zero, a decided verdict names a standing entry holding the one standing claim, and the
    /// shares add up to the deposits.
    function testFuzz_standingClaims_MatchARecountWhateverIsPlayed(uint256 seed) public {
        vm.prank(address(0xA0));
        th.open(honestView.cs[0], _someClaim(seed), N, WINDOW, START_BLOCKS);
        uint256[] memory keys = new uint256[](64);
        uint256 started = 0;
        for (uint256 op = 0; op < 48; ++op) {
            uint256 r = uint256(keccak256(abi.encode(seed, op)));
            (uint32 count,) = th.counts();
            uint256 action = r % 5;
            if (action == 0) {
                vm.prank(address(uint160(0xA0 + (r >> 8) % 4)));
                try th.enter(_someClaim(r >> 16), N) {} catch {}
            } else if (action == 1) {
                // forge-lint: disable-next-line(unsafe-typecast) -- below the entry count
                uint32 a = uint32((r >> 8) % count);
                // forge-lint: disable-next-line(unsafe-typecast) -- as above
                uint32 b = uint32((r >> 24) % count);
                vm.prank(th.entry(a).party);
                try th.challenge(a, b) returns (uint256 key) {
                    keys[started++] = key;
                } catch {}
            } else if (action == 2 && started > 0) {
                try th.claimTimeout(keys[(r >> 8) % started]) {} catch {}
            } else if (action == 3 && started > 0) {
                try th.forfeit(keys[(r >> 8) % started]) {} catch {}
            } else {
                vm.roll(block.number + (r >> 8) % 30);
            }
            (, uint32 standing) = th.counts();
            vm.assertEq(standing, _recount(), "standing claims");
            vm.assertGe(standing, 1, "some claim stands");
            _assertSharesAddUp(1 ether + 1);
            (bool over, bool decided, uint32 winner) = th.verdict();
            if (decided) {
                vm.assertTrue(over);
                vm.assertEq(standing, 1);
                vm.assertFalse(th.entry(winner).eliminated, "the winner stands");
            }
        }
    }
}

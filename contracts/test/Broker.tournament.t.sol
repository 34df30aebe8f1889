// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {IBrokerTournaments, IBrokerTournamentsEvents} from "../interfaces/IBrokerTournaments.sol";
import {Tournament} from "../libraries/Tournament.sol";
import {DisputeFixtures} from "./utils/DisputeFixtures.sol";

/// @notice Tournament-mode requests through the Broker (`IBrokerTournaments`, run by
/// `BrokerTournaments`): every outcome with every party's balance, the refusals, and review
/// finding 10 measured on the Broker: puppets delay the honest party no more with 16 of them
/// than with 1.
contract BrokerTournamentTest is DisputeFixtures {
    // ---------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------

    function _tournamentRequest() internal returns (uint256) {
        return _requestWith(keccakChainId, input, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.Tournament);
    }

    /// @dev A tournament-mode request answered by the host from view `d`.
    function _answered(View memory d) internal returns (uint256 id) {
        id = _tournamentRequest();
        (bytes memory result, uint64 steps, bool final_) = _claimOf(d);
        _answer(id, host, result, steps, final_);
    }

    /// @dev `who` challenges the answer from view `v`: its entry and its game against entry 0.
    function _challengeFrom(uint256 id, address who, View memory v) internal returns (uint32 entry, uint256 game) {
        (bytes memory result, uint64 steps, bool final_) = _claimOf(v);
        _challenge(id, who, result, steps, final_);
        entry = tour().getTournament(id).entries - 1;
        game = tour().gameKey(entry, 0);
    }

    /// @dev `who` enters the claim of view `v` without a game.
    function _enterFrom(uint256 id, address who, View memory v) internal returns (uint32 entry) {
        (bytes memory result, uint64 steps, bool final_) = _claimOf(v);
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(who);
        entry = tour().enter{value: deposit}(id, result, steps, final_);
    }

    /// @dev Collects every entry of request `id`'s tournament.
    function _collectAll(uint256 id) internal {
        uint32 entries = tour().getTournament(id).entries;
        for (uint32 i = 0; i < entries; ++i) {
            tour().collectEntry(id, i);
        }
    }

    /// @dev The Broker holds exactly what `parties` may withdraw (its only request settled and
    /// collected).
    function _assertHeldIsOwed(address[] memory parties) internal view {
        uint256 owed = 0;
        for (uint256 k = 0; k < parties.length; ++k) {
            owed += broker.balanceOf(parties[k]);
        }
        vm.assertEq(address(broker).balance, owed, "the Broker holds what it owes");
    }

    /// @dev After a tournament of one game, settled and collected: the winner has the payment,
    /// its deposit and half the loser's; the loser nothing; the requester the other half; each
    /// record counts the game (`defenderWon`: the winner defended) and the winner's payout.
    function _assertOneGameSettled(address winner, address loser, uint256 deposit, bool defenderWon) internal view {
        vm.assertEq(broker.balanceOf(winner), PAYMENT + deposit + deposit / 2);
        vm.assertEq(broker.balanceOf(loser), 0);
        vm.assertEq(broker.balanceOf(requester), deposit - deposit / 2);
        _assertHeldIsOwed(_parties());
        if (defenderWon) {
            _assertDisputeRecord(winner, 1, 0, 0, 0, 0);
            _assertDisputeRecord(loser, 0, 0, 0, 1, 0);
        } else {
            _assertDisputeRecord(winner, 0, 0, 1, 0, 0);
            _assertDisputeRecord(loser, 0, 1, 0, 0, 0);
        }
        vm.assertEq(broker.recordOf(winner).paid, 1);
    }

    function _parties() internal view returns (address[] memory p) {
        p = new address[](4);
        (p[0], p[1], p[2], p[3]) = (requester, host, challenger, stranger);
    }

    // ---------------------------------------------------------------------------------------
    // Outcomes
    // ---------------------------------------------------------------------------------------

    function test_tournament_NobodyChallenges_TheHappyPathIsUnchanged() public {
        uint256 id = _answered(_truth());
        uint256 deposit = broker.requiredDeposit(id);
        _settleAfterWindow(id);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Finalized));
        vm.assertEq(tour().getTournament(id).entries, 0, "no tournament opened");
        vm.assertEq(broker.balanceOf(host), PAYMENT + deposit);
        _assertHeldIsOwed(_parties());
    }

    function test_tournament_AnHonestChallengerBeatsAWrongAnswer() public {
        uint256 id = _answered(_lie(20, Lie.State));
        uint256 deposit = broker.requiredDeposit(id);
        (uint32 entry, uint256 game) = _challengeFrom(id, challenger, _truth());
        vm.assertEq(entry, 1);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));
        vm.assertFalse(_playGame(id, game, host, _lie(20, Lie.State), challenger, _truth()), "the challenger wins");

        // Decided only once the entries close: another claim could still come.
        vm.expectRevert(
            abi.encodeWithSelector(
                IBrokerTournamentsEvents.TournamentNotOver.selector, id, tour().getTournament(id).endDeadline
            )
        );
        tour().settleTournament(id, entry);
        _rollPast(tour().getTournament(id).entryDeadline);
        vm.expectRevert(abi.encodeWithSelector(IBrokerTournamentsEvents.NotStanding.selector, id, uint32(0)));
        tour().settleTournament(id, 0);
        vm.prank(stranger);
        tour().settleTournament(id, entry);

        IBroker.Request memory q = broker.getRequest(id);
        vm.assertEq(uint8(q.status), uint8(IBroker.Status.Finalized));
        vm.assertEq(q.host, address(0), "the answer's author lost");
        (bytes memory result, uint64 steps, bool final_) = _claimOf(_truth());
        vm.assertEq(q.claim, keccak256(abi.encodePacked(final_, result)), "the request shows the claim that stood");
        vm.assertEq(q.steps, steps);
        _collectAll(id);
        _assertOneGameSettled(challenger, host, deposit, false);
    }

    function test_tournament_AnHonestHostBeatsAWrongChallenge() public {
        uint256 id = _answered(_truth());
        uint256 deposit = broker.requiredDeposit(id);
        (, uint256 game) = _challengeFrom(id, challenger, _lie(7, Lie.FinalFlag));
        vm.assertTrue(_playGame(id, game, host, _truth(), challenger, _lie(7, Lie.FinalFlag)), "the host wins");
        _rollPast(tour().getTournament(id).entryDeadline);
        tour().settleTournament(id, 0);
        vm.assertEq(broker.getRequest(id).host, host);
        _collectAll(id);
        _assertOneGameSettled(host, challenger, deposit, true);
    }

    /// A supporter beside a standing answer is paid by the deposits it wins, not the payment:
    /// the payment is the answer's author's while its entry stands.
    function test_tournament_ASupporterBesideAStandingAnswerIsPaidItsWinsNotThePayment() public {
        uint256 id = _answered(_truth());
        uint256 deposit = broker.requiredDeposit(id);
        uint32 supporter = _enterFrom(id, stranger, _truth());
        (uint32 wrong, uint256 game) = _challengeFrom(id, challenger, _lie(3, Lie.State));
        // The host never moves; the supporter challenges the wrong entry and beats it.
        vm.prank(stranger);
        uint256 second = tour().challengeEntry(id, supporter, wrong);
        vm.assertFalse(_playGame(id, second, challenger, _lie(3, Lie.State), stranger, _truth()));
        // The game against the host is dead: the wrong entry lost elsewhere. It takes no move,
        // and its forfeit counts no second loss.
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(Tournament.GameForfeited.selector, game));
        tour().bisect(id, game, new bytes32[](3));
        tour().forfeit(id, game);
        _rollPast(tour().getTournament(id).entryDeadline);
        tour().settleTournament(id, 0);
        _collectAll(id);
        vm.assertEq(broker.balanceOf(host), PAYMENT + deposit, "the whole payment: its answer stood");
        vm.assertEq(broker.balanceOf(stranger), deposit + deposit / 2, "its deposit and its win");
        vm.assertEq(broker.balanceOf(requester), deposit - deposit / 2);
        vm.assertEq(broker.balanceOf(challenger), 0);
        _assertHeldIsOwed(_parties());
        _assertDisputeRecord(challenger, 0, 1, 0, 0, 0);
        _assertDisputeRecord(stranger, 0, 0, 1, 0, 0);
        vm.assertEq(broker.recordOf(host).paid, 1);
        vm.assertEq(broker.recordOf(stranger).paid, 0);
    }

    /// When the answer's entry falls (its host silent), the right claim's other standing
    /// entries share the payment evenly, the requester keeping what does not divide.
    function test_tournament_EntriesOfTheClaimThatStandsShareThePaymentWhenTheAnswerFell() public {
        address other = makeAddr("another supporter");
        vm.deal(other, FUNDS);
        uint256 id = _answered(_truth());
        uint256 deposit = broker.requiredDeposit(id);
        uint32 first = _enterFrom(id, stranger, _truth());
        uint32 second = _enterFrom(id, other, _truth());
        (uint32 wrong, uint256 game) = _challengeFrom(id, challenger, _lie(3, Lie.State));
        // The host never moves: the wrong entry beats it by timeout.
        vm.roll(block.number + CLOCK + 1);
        tour().claimTimeout(id, game);
        vm.assertTrue(tour().getEntry(id, 0).eliminated, "the answer's entry fell");
        // The first supporter beats the wrong entry; the second one never plays.
        vm.prank(stranger);
        uint256 beat = tour().challengeEntry(id, first, wrong);
        vm.assertFalse(_playGame(id, beat, challenger, _lie(3, Lie.State), stranger, _truth()));
        _rollPast(tour().getTournament(id).entryDeadline);
        tour().settleTournament(id, second);
        vm.assertEq(broker.getRequest(id).host, address(0), "the answer's author lost");
        _collectAll(id);
        uint256 share = PAYMENT / 2;
        vm.assertEq(broker.balanceOf(stranger), share + deposit + deposit / 2, "a share, its deposit, its win");
        vm.assertEq(broker.balanceOf(other), share + deposit, "a share and its deposit");
        vm.assertEq(broker.balanceOf(challenger), deposit / 2, "its win over the host, then its loss");
        vm.assertEq(broker.balanceOf(host), 0);
        vm.assertEq(broker.balanceOf(requester), 2 * (deposit - deposit / 2) + PAYMENT % 2);
        address[] memory parties = new address[](5);
        (parties[0], parties[1], parties[2], parties[3], parties[4]) = (requester, host, challenger, stranger, other);
        _assertHeldIsOwed(parties);
    }

    /// Two claims still stand at the end when nobody played their game to its end: nothing
    /// was shown, so the requester is refunded and both deposits are returned.
    function test_tournament_ClaimsNobodyPlayedEndUndecided() public {
        uint256 id = _answered(_lie(20, Lie.State));
        uint256 deposit = broker.requiredDeposit(id);
        _challengeFrom(id, challenger, _truth());
        IBrokerTournaments.TournamentView memory t = tour().getTournament(id);
        vm.roll(t.endDeadline);
        vm.expectRevert(abi.encodeWithSelector(IBrokerTournamentsEvents.TournamentNotOver.selector, id, t.endDeadline));
        tour().settleTournament(id, 0);
        vm.roll(t.endDeadline + 1);
        tour().settleTournament(id, 0);
        IBroker.Request memory q = broker.getRequest(id);
        vm.assertEq(q.host, address(0));
        vm.assertEq(q.claim, bytes32(0), "no claim stood alone");
        _collectAll(id);
        vm.assertEq(broker.balanceOf(requester), PAYMENT);
        vm.assertEq(broker.balanceOf(host), deposit);
        vm.assertEq(broker.balanceOf(challenger), deposit);
        _assertHeldIsOwed(_parties());
    }

    function test_tournament_ALostGameByTimeoutIsCountedAsOne() public {
        uint256 id = _answered(_lie(20, Lie.State));
        (uint32 entry, uint256 game) = _challengeFrom(id, challenger, _truth());
        uint256 deadline = block.number + CLOCK;
        vm.roll(deadline);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DeadlineNotReached.selector, game, deadline));
        tour().claimTimeout(id, game);
        vm.roll(deadline + 1);
        vm.expectEmit(address(broker));
        emit IBrokerTournamentsEvents.GameEnded(id, game, entry, 0, 1);
        vm.prank(stranger);
        tour().claimTimeout(id, game);
        _assertDisputeRecord(host, 0, 1, 0, 0, 1);
        _assertDisputeRecord(challenger, 0, 0, 1, 0, 0);
    }

    // ---------------------------------------------------------------------------------------
    // Refusals
    // ---------------------------------------------------------------------------------------

    /// The fallback that reaches the module lets nothing else through: plain ether and
    /// unknown calls revert, and the module's own address holds no request.
    function test_tournament_TheFallbackRunsOnlyTheModulesFunctions() public {
        vm.deal(stranger, 1 ether);
        vm.prank(stranger);
        (bool sent,) = address(broker).call{value: 1 ether}("");
        vm.assertFalse(sent, "plain ether is refused");
        (bool called,) = address(broker).call(abi.encodeWithSignature("noSuchFunction(uint256)", 1));
        vm.assertFalse(called, "an unknown call reverts");
        vm.assertEq(address(broker).balance, 0);
    }

    function test_tournament_RevertWhen_NotATournament() public {
        uint256 id = _newRequest();
        (bytes memory result, uint64 steps, bool final_) = _claimOf(_truth());
        _answer(id, host, result, steps, final_);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(abi.encodeWithSelector(IBrokerTournamentsEvents.NotATournament.selector, id));
        tour().enter{value: deposit}(id, result, steps, final_);
        vm.expectRevert(abi.encodeWithSelector(IBrokerTournamentsEvents.NotATournament.selector, id));
        tour().claimTimeout(id, 1);
        vm.expectRevert(abi.encodeWithSelector(IBrokerTournamentsEvents.NotATournament.selector, id));
        tour().collectEntry(id, 0);
    }

    function test_tournament_RevertWhen_TheSingleGameCallsAreUsed() public {
        uint256 id = _answered(_lie(20, Lie.State));
        _challengeFrom(id, challenger, _truth());
        vm.expectRevert(abi.encodeWithSelector(IBroker.WrongMode.selector, id, IBroker.DisputeMode.Tournament));
        broker.claimTimeout(id);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(IBroker.WrongMode.selector, id, IBroker.DisputeMode.Tournament));
        broker.bisect(id, new bytes32[](3));
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.Resolving, IBroker.Status.WaitingForResolution
            )
        );
        broker.softResolveAnswer(id);
    }

    function test_tournament_RevertWhen_EntriesAndGamesAreRefused() public {
        uint256 id = _answered(_lie(20, Lie.State));
        uint256 deposit = broker.requiredDeposit(id);
        (bytes memory lie, uint64 lieSteps, bool lieFinal) = _claimOf(_lie(20, Lie.State));
        // Challenging the answer with its own claim: nothing to decide.
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(Tournament.SameClaimEntries.selector, uint32(1), uint32(0)));
        broker.challengeAnswer{value: deposit}(id, lie, lieSteps, lieFinal);
        (uint32 entry, uint256 game) = _challengeFrom(id, challenger, _truth());
        // Only an entry's party starts its games; a pair plays once.
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Tournament.NotEntrysParty.selector, entry, challenger));
        tour().challengeEntry(id, entry, 0);
        vm.prank(host);
        vm.expectRevert(abi.encodeWithSelector(Tournament.GameExists.selector, uint32(0), entry));
        tour().challengeEntry(id, 0, entry);
        // Moves: whose turn, which game.
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotYourMove.selector, id, challenger, host));
        tour().bisect(id, game, new bytes32[](3));
        vm.expectRevert(abi.encodeWithSelector(Tournament.NoOpenGame.selector, game + 1));
        tour().claimTimeout(id, game + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.WrongStatus.selector, id, IBroker.Status.Resolving, IBroker.Status.Finalized)
        );
        tour().collectEntry(id, 0);
        // Too little deposit.
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DepositTooLow.selector, deposit - 1, deposit));
        tour().enter{value: deposit - 1}(id, lie, lieSteps, lieFinal);
        // Entries close with the answer's window.
        _rollPast(tour().getTournament(id).entryDeadline);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(Tournament.EntriesClosed.selector, tour().getTournament(id).entryDeadline)
        );
        tour().enter{value: deposit}(id, lie, lieSteps, lieFinal);
    }

    function test_tournament_RevertWhen_AnEntryIsCollectedTwice() public {
        uint256 id = _answered(_truth());
        (, uint256 game) = _challengeFrom(id, challenger, _lie(7, Lie.FinalFlag));
        _playGame(id, game, host, _truth(), challenger, _lie(7, Lie.FinalFlag));
        _rollPast(tour().getTournament(id).entryDeadline);
        tour().settleTournament(id, 0);
        tour().collectEntry(id, 0);
        vm.expectRevert(abi.encodeWithSelector(IBrokerTournamentsEvents.AlreadyCollected.selector, id, uint32(0)));
        tour().collectEntry(id, 0);
        vm.expectRevert(abi.encodeWithSelector(Tournament.NoSuchEntry.selector, uint256(2)));
        tour().collectEntry(id, 2);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.WrongStatus.selector, id, IBroker.Status.Finalized, IBroker.Status.Resolving)
        );
        tour().settleTournament(id, 0);
    }

    // ---------------------------------------------------------------------------------------
    // Review finding 10: the sybil delay, bounded
    // ---------------------------------------------------------------------------------------

    /// @dev Blocks from the answer until the tournament may be settled, with `puppets`
    /// puppet challengers that enter at the window's last block, each with its own wrong
    /// claim, and never move. `honestHost`: the answer is right and the host defends it;
    /// else the answer is wrong, its host plays its game to the end (and loses), and an
    /// honest challenger challenges it at once and every puppet as soon as entries close.
    function _settlementDelay(uint256 puppets, bool honestHost) internal returns (uint256 blocks) {
        View memory lie = _lie(20, Lie.State);
        uint256 id = _answered(honestHost ? _truth() : lie);
        uint256 answeredAt = block.number;
        uint256 deposit = broker.requiredDeposit(id);
        uint256 honestGame = 0;
        if (!honestHost) (, honestGame) = _challengeFrom(id, challenger, _truth());

        // The puppets enter at the window's last block, each against the answer.
        vm.roll(broker.getRequest(id).deadline);
        uint256[] memory games = new uint256[](puppets);
        for (uint256 k = 0; k < puppets; ++k) {
            address puppet = makeAddr(string.concat("puppet", vm.toString(k)));
            vm.deal(puppet, deposit);
            (, games[k]) = _challengeFrom(id, puppet, _lie(2 + k, Lie.State));
        }
        vm.roll(block.number + 1);
        uint32 honest = honestHost ? 0 : 1;
        address honestParty = honestHost ? host : challenger;
        if (honestHost) {
            // The host bisects in every game at once; the puppets never select.
            for (uint256 k = 0; k < puppets; ++k) {
                IBroker.Game memory g = tour().getTournamentGame(id, games[k]).game;
                bytes32[] memory points = _lastPoints(id, _truth(), g);
                vm.prank(host);
                tour().bisect(id, games[k], points);
            }
        } else {
            // The honest challenger challenges every puppet at once; they never bisect. The
            // wrong host plays its game against the honest challenger to the end.
            for (uint32 k = 0; k < puppets; ++k) {
                vm.prank(challenger);
                games[k] = tour().challengeEntry(id, honest, 2 + k);
            }
            vm.assertFalse(_playGame(id, honestGame, host, lie, challenger, _truth()), "the honest challenger wins");
        }
        // Every puppet's clock runs out together; the honest party claims each timeout.
        vm.roll(block.number + CLOCK + 1);
        for (uint256 k = 0; k < puppets; ++k) {
            vm.prank(honestParty);
            tour().claimTimeout(id, games[k]);
        }
        IBrokerTournaments.TournamentView memory t = tour().getTournament(id);
        vm.assertTrue(t.decided, "one claim stands");
        vm.assertEq(t.eliminated, puppets + (honestHost ? 0 : 1));
        blocks = block.number - answeredAt;
        tour().settleTournament(id, honest);

        // The honest party: its deposit, the payment, half of every deposit it took.
        tour().collectEntry(id, honest);
        vm.assertEq(broker.balanceOf(honestParty), PAYMENT + deposit + t.eliminated * (deposit / 2));
        vm.assertEq(broker.balanceOf(requester), t.eliminated * (deposit - deposit / 2));
    }

    /// @dev As `_settlementDelay` with a wrong answer, but the cheater throws games down a chain
    /// at the last block games may start: puppet 1 beats the host's entry, puppet 2 puppet 1,
    /// ..., each game played out within the block (the move that restarts every game when games
    /// are played against "the standing answer"). Puppet `k` lies at step `k + 2`, the host at
    /// step 2: in each game the defender's lie comes first, so the one step beats it.
    function _throwingDelay(uint256 puppets) internal returns (uint256 blocks) {
        View memory hostLie = _lie(2, Lie.State);
        uint256 id = _answered(hostLie);
        uint256 answeredAt = block.number;
        uint256 deposit = broker.requiredDeposit(id);
        _challengeFrom(id, challenger, _truth()); // entry 1; the host never moves in this game
        vm.roll(broker.getRequest(id).deadline);
        for (uint256 k = 1; k <= puppets; ++k) {
            address puppet = makeAddr(string.concat("puppet", vm.toString(k)));
            vm.deal(puppet, deposit);
            _enterFrom(id, puppet, _lie(2 + k, Lie.State)); // entry 1 + k
        }
        // Entries closed: the honest challenger challenges every puppet at once.
        vm.roll(block.number + 1);
        uint256[] memory games = new uint256[](puppets);
        for (uint32 k = 1; k <= puppets; ++k) {
            vm.prank(challenger);
            games[k - 1] = tour().challengeEntry(id, 1, 1 + k);
        }
        // The last block games may start: the chain of thrown games.
        vm.roll(tour().getTournament(id).startDeadline);
        View memory beaten = hostLie;
        uint32 beatenEntry = 0;
        for (uint32 k = 1; k <= puppets; ++k) {
            address puppet = makeAddr(string.concat("puppet", vm.toString(uint256(k))));
            View memory thrower = _lie(2 + k, Lie.State);
            vm.prank(puppet);
            uint256 game = tour().challengeEntry(id, 1 + k, beatenEntry);
            address defender = beatenEntry == 0 ? host : makeAddr(string.concat("puppet", vm.toString(uint256(k - 1))));
            vm.assertFalse(_playGame(id, game, defender, beaten, puppet, thrower), "thrown");
            (beaten, beatenEntry) = (thrower, 1 + k);
        }
        // Only the last puppet stands against the honest claim; its clock, started when the
        // honest challenger challenged it, runs out.
        vm.assertEq(tour().getTournament(id).standingClaims, 2);
        IBroker.Game memory last = tour().getTournamentGame(id, games[puppets - 1]).game;
        vm.roll(uint256(last.turnStart) + last.defenderClock + 1);
        vm.prank(challenger);
        tour().claimTimeout(id, games[puppets - 1]);
        vm.assertTrue(tour().getTournament(id).decided, "one claim stands");
        blocks = block.number - answeredAt;
        tour().settleTournament(id, 1);
        tour().collectEntry(id, 1);
        // The payment, its deposit, half of the last puppet's: the host and the other puppets
        // fell to puppets, whose wins are theirs.
        vm.assertEq(broker.balanceOf(challenger), PAYMENT + deposit + deposit / 2);
        vm.assertEq(broker.balanceOf(requester), (puppets + 1) * (deposit - deposit / 2));
    }

    /// Review finding 10: with one game at a time, each puppet challenger held the request a
    /// clock (`Broker.sybil.t.sol`: 51, 204, 816 blocks for 1, 4, 16 puppets). In a tournament
    /// the puppets' games run in parallel with the honest party's: it settles as early with 16
    /// puppets as with 1, whether the honest party is the host or a challenger; each puppet
    /// costs the cheater half a deposit and the honest party one transaction or two.
    function test_sybilDelay_TournamentPuppetsCostGasNotTime() public {
        uint256[3] memory counts = [uint256(1), 4, 16];
        for (uint256 scenario = 0; scenario < 2; ++scenario) {
            bool honestHost = scenario == 0;
            uint256 first = 0;
            for (uint256 k = 0; k < counts.length; ++k) {
                uint256 snapshot = vm.snapshotState();
                uint256 blocks = _settlementDelay(counts[k], honestHost);
                vm.snapshotValue(
                    string.concat(
                        "tournament_blocks_",
                        vm.toString(counts[k]),
                        honestHost ? "puppets_honestHost" : "puppets_honestChallenger"
                    ),
                    blocks
                );
                if (k == 0) first = blocks;
                vm.assertEq(blocks, first, "as many blocks whatever the number of puppets");
                // Entries close with the window; the games, started by then, take a clock.
                vm.assertLe(blocks, WINDOW + 2 * uint256(CLOCK) + 2);
                vm.revertToState(snapshot);
            }
        }
        uint256 thrownFirst = 0;
        for (uint256 k = 0; k < counts.length; ++k) {
            uint256 snapshot = vm.snapshotState();
            uint256 blocks = _throwingDelay(counts[k]);
            vm.snapshotValue(string.concat("tournament_blocks_", vm.toString(counts[k]), "puppets_throwing"), blocks);
            if (k == 0) thrownFirst = blocks;
            vm.assertEq(blocks, thrownFirst, "thrown games hold nothing back either");
            vm.assertLe(blocks, WINDOW + 2 * uint256(CLOCK) + 2);
            vm.revertToState(snapshot);
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Broker} from "../Broker.sol";
import {deployBroker} from "./utils/Fixtures.sol";
import {IBroker} from "../interfaces/IBroker.sol";
import {StepHarness} from "../verifier/StepHarness.sol";
import {DisputeFixtures} from "./utils/DisputeFixtures.sol";
import {GameDriver} from "./utils/GameDriver.sol";
import {ArmedByBlock, ArmedByCall, ArmedByStorage, GasProbe} from "./utils/Hostile.sol";
import {IFactory} from "../interfaces/IFactory.sol";
import {Bisection} from "../libraries/Bisection.sol";
import {MAX_STATE_BYTES} from "../libraries/Trace.sol";

/// @notice Bisection disputes: every move, every revert, every outcome with balances, and
/// liars of each kind on either side losing to the honest side.
contract BrokerDisputeTest is DisputeFixtures {
    // ---------------------------------------------------------------------------------------
    // Outcomes with balances
    // ---------------------------------------------------------------------------------------

    function test_bisection_HonestDefenderWins_AndIsPaid() public {
        uint256 id = _disputed(_truth(), _lie(20, Lie.State));
        uint256 deposit = broker.requiredDeposit(id);
        vm.assertTrue(_play(id, host, _truth(), challenger, _lie(20, Lie.State)));

        // The challenger's deposit is split, half to the host and half to the requester, when
        // the request is finalized: the dispute only counts the halves.
        _assertOwedLater(id, 1);
        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.host, host);
        vm.assertEq(r.deadline, block.number + WINDOW, "a fresh window");
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.WaitingForResolution));

        _settleAfterWindow(id);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit + deposit / 2);
        _withdrawAll(requester);
        vm.assertEq(host.balance, FUNDS + PAYMENT + deposit / 2);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + (deposit - deposit / 2));
        vm.assertEq(address(broker).balance, 0);
    }

    function test_bisection_HonestChallengerWins_AndIsPaid() public {
        uint256 id = _disputed(_lie(20, Lie.State), _truth());
        uint256 deposit = broker.requiredDeposit(id);
        vm.assertFalse(_play(id, host, _lie(20, Lie.State), challenger, _truth()));

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.host, challenger, "the challenger's answer stands");
        vm.assertEq(r.claim, truth.cs[LENGTH]);
        vm.assertEq(r.steps, LENGTH);
        _assertOwedLater(id, 1);

        _settleAfterWindow(id);
        vm.assertEq(_withdrawAll(challenger), PAYMENT + deposit + deposit / 2);
        _withdrawAll(requester);
        vm.assertEq(challenger.balance, FUNDS + PAYMENT + deposit / 2);
        vm.assertEq(host.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + (deposit - deposit / 2));
        vm.assertEq(address(broker).balance, 0);
    }

    /// @dev After a dispute: nobody is credited yet; the standing host has won `hostWins`
    /// disputes and the requester is owed one compensation per dispute.
    function _assertOwedLater(uint256 id, uint16 hostWins) internal view {
        vm.assertEq(broker.balanceOf(host), 0);
        vm.assertEq(broker.balanceOf(challenger), 0);
        vm.assertEq(broker.balanceOf(requester), 0);
        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.hostWins, hostWins);
        vm.assertEq(r.disputes, 1);
    }

    function test_bisection_LieAtFirstMiddleAndLastStepIsCaught() public {
        uint256[3] memory steps = [uint256(1), LENGTH / 2, LENGTH];
        for (uint256 k = 0; k < 3; ++k) {
            View memory liar = _lie(steps[k], Lie.State);
            uint256 id = _disputed(liar, _truth());
            vm.assertFalse(_play(id, host, liar, challenger, _truth()), "liar defender loses");
            IBroker.Game memory g = broker.getGame(id);
            vm.assertEq(uint8(g.phase), uint8(IBroker.Phase.None), "game record cleared");
        }
    }

    function test_bisection_RoundsWithinCeilLogK() public {
        View memory liar = _lie(LENGTH, Lie.State);
        uint256 id = _disputed(liar, _truth());
        broker.initializeDispute(id);
        uint256 rounds;
        while (broker.getGame(id).phase == IBroker.Phase.Bisect) {
            _defenderBisects(id, host, liar);
            IBroker.Game memory g = broker.getGame(id);
            bytes32[] memory points = _lastPoints(id, liar, g);
            uint256 index = _honestIndex(g, points, _truth());
            vm.prank(challenger);
            broker.selectSegment(id, points, index);
            ++rounds;
        }
        vm.assertEq(uint8(broker.getGame(id).phase), uint8(IBroker.Phase.OneStep));
        vm.assertLe(rounds, broker.roundsFor(LENGTH)); // ceil(log4 37) = 3
        vm.assertEq(broker.roundsFor(LENGTH), 3);
    }

    // ---------------------------------------------------------------------------------------
    // A cheating defender tries each deviation, and loses
    // ---------------------------------------------------------------------------------------

    function test_cheatingDefender_ClaimsFinalTooEarly() public {
        View memory liar = _lie(10, Lie.FinalFlag); // claims final at step 10
        (, uint64 steps, bool final_) = _claimOf(liar);
        vm.assertEq(steps, 10);
        vm.assertTrue(final_);
        uint256 id = _disputed(liar, _truth());
        vm.assertFalse(_play(id, host, liar, challenger, _truth()));
    }

    function test_cheatingDefender_ClaimsFinalTooLate() public {
        View memory liar = _lie(LENGTH, Lie.FinalFlag); // not final at 37, so step 38 runs on
        (, uint64 steps, bool final_) = _claimOf(liar);
        vm.assertEq(steps, LENGTH + 1);
        vm.assertTrue(final_);
        uint256 id = _disputed(liar, _truth());
        vm.assertFalse(_play(id, host, liar, challenger, _truth()));
    }

    function test_cheatingDefender_ClaimsOutOfStepsWhenFinal() public {
        // Claims the computation never finished: the final state, not final, up to maxSteps.
        View memory liar = _truth();
        for (uint256 i = LENGTH; i <= MAX_STEPS; ++i) {
            liar.finals[i] = false;
            liar.cs[i] = keccak256(abi.encodePacked(false, liar.states[i]));
        }
        (, uint64 steps, bool final_) = _claimOf(liar);
        vm.assertEq(steps, MAX_STEPS);
        vm.assertFalse(final_);
        uint256 id = _disputed(liar, _truth());
        vm.assertFalse(_play(id, host, liar, challenger, _truth()));
    }

    function test_cheatingDefender_InconsistentCommitments() public {
        View memory liar = _lie(LENGTH, Lie.State);
        // Garbage commitments everywhere in between: no state hashes to them.
        for (uint256 i = 1; i < LENGTH; ++i) {
            liar.cs[i] = keccak256(abi.encode("garbage", i));
        }
        uint256 id = _disputed(liar, _truth());
        vm.assertFalse(_play(id, host, liar, challenger, _truth()));
    }

    function test_cheatingDefender_WrongPreimage_RevertsThenTimesOut() public {
        View memory liar = _lie(1, Lie.State);
        uint256 id = _disputed(liar, _truth());
        broker.initializeDispute(id);
        _toOneStep(id, liar, _truth());
        IBroker.Game memory g = broker.getGame(id);
        vm.assertEq(g.lo, 0);
        bytes32 wrong = keccak256(abi.encodePacked(false, hex"1234"));
        vm.expectRevert(abi.encodeWithSelector(IBroker.PreimageMismatch.selector, wrong, g.cLo));
        vm.prank(host);
        broker.proveStep(id, false, hex"1234");

        vm.roll(uint256(g.turnStart) + g.defenderClock + 1);
        broker.claimTimeout(id);
        vm.assertEq(broker.getRequest(id).host, challenger);
    }

    function test_cheatingDefender_CannotAnswerBeyondMaxSteps() public {
        uint256 id = _newRequest();
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.StepsOutOfRange.selector, MAX_STEPS + 1, MAX_STEPS));
        vm.prank(host);
        broker.answerRequest{value: deposit}(id, hex"00", MAX_STEPS + 1);
    }

    // ---------------------------------------------------------------------------------------
    // A cheating challenger tries each deviation, and loses
    // ---------------------------------------------------------------------------------------

    function test_cheatingChallenger_ConsistentLie() public {
        View memory liar = _lie(5, Lie.State);
        uint256 id = _disputed(_truth(), liar);
        vm.assertTrue(_play(id, host, _truth(), challenger, liar));
    }

    function test_cheatingChallenger_FinalFlagLie() public {
        View memory liar = _lie(12, Lie.FinalFlag);
        uint256 id = _disputed(_truth(), liar);
        vm.assertTrue(_play(id, host, _truth(), challenger, liar));
    }

    function test_cheatingChallenger_PicksSegmentsAtRandom() public {
        uint256 id = _disputed(_truth(), _lie(3, Lie.State));
        broker.initializeDispute(id);
        uint256 salt;
        while (_status(id) == IBroker.Status.Resolving) {
            IBroker.Game memory g = broker.getGame(id);
            if (g.phase == IBroker.Phase.Bisect) {
                _defenderBisects(id, host, _truth());
            } else if (g.phase == IBroker.Phase.Select) {
                bytes32[] memory points = _lastPoints(id, _truth(), g);
                uint256 index = uint256(keccak256(abi.encode(++salt))) % (points.length + 1);
                vm.prank(challenger);
                broker.selectSegment(id, points, index);
            } else {
                vm.prank(host);
                broker.proveStep(id, truth.finals[g.lo], truth.states[g.lo]);
            }
        }
        vm.assertEq(broker.getRequest(id).host, host, "every segment of an honest trace is consistent");
    }

    // ---------------------------------------------------------------------------------------
    // The honest side always wins: random traces, a lie at a random step, either side lying
    // ---------------------------------------------------------------------------------------

    function testFuzz_bisection_HonestSideWins(uint256 lieAt, bool defenderLies, bool flagLie, uint256 delay) public {
        lieAt = bound(lieAt, 1, MAX_STEPS);
        moveDelay = bound(delay, 0, 2);
        View memory liar = _lie(lieAt, flagLie ? Lie.FinalFlag : Lie.State);
        (bytes memory lr,, bool lf) = _claimOf(liar);
        // A lie that does not change the claim cannot be challenged; nothing to test then.
        vm.assume(keccak256(abi.encodePacked(lf, lr)) != truth.cs[LENGTH]);
        uint256 id = defenderLies ? _disputed(liar, _truth()) : _disputed(_truth(), liar);
        bool defenderWon =
            defenderLies ? _play(id, host, liar, challenger, _truth()) : _play(id, host, _truth(), challenger, liar);
        vm.assertEq(defenderWon, !defenderLies, "the honest side wins");
        vm.assertEq(broker.getRequest(id).claim, truth.cs[LENGTH], "the true answer stands");
    }

    function test_bisection_HonestSideWins_ConcreteTwin() public {
        testFuzz_bisection_HonestSideWins(29, true, false, 1);
        testFuzz_bisection_HonestSideWins(36, false, true, 0);
    }

    // ---------------------------------------------------------------------------------------
    // Repeated disputes: every loser's deposit is split once, at finalize
    // ---------------------------------------------------------------------------------------

    function test_repeatedDisputes_HostWinsTwice_IsPaidBothRewardsAtFinalize() public {
        uint256 id = _disputed(_truth(), _lie(20, Lie.State));
        uint256 deposit = broker.requiredDeposit(id);
        vm.assertTrue(_play(id, host, _truth(), challenger, _lie(20, Lie.State)));
        (bytes memory lr, uint64 ls, bool lf) = _claimOf(_lie(9, Lie.State));
        _challenge(id, stranger, lr, ls, lf);
        vm.assertTrue(_play(id, host, _truth(), stranger, _lie(9, Lie.State)));

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.hostWins, 2);
        vm.assertEq(r.disputes, 2);
        vm.assertEq(broker.balanceOf(host) + broker.balanceOf(requester), 0, "nothing credited yet");

        _settleAfterWindow(id);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit + 2 * (deposit / 2));
        vm.assertEq(_withdrawAll(requester), 2 * (deposit - deposit / 2));
        vm.assertEq(host.balance, FUNDS + PAYMENT + 2 * (deposit / 2));
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(stranger.balance, FUNDS - deposit);
        vm.assertEq(address(broker).balance, 0);
        r = broker.getRequest(id);
        vm.assertEq(r.hostWins + r.disputes, 0, "paid out once");
    }

    /// A lying host that wins its first dispute (the challenger never starts it) and loses the
    /// second: its first reward is credited when it loses, the new host's at finalize.
    function test_repeatedDisputes_HostThatWonThenLoses_IsCreditedItsEarlierRewardAtOnce() public {
        View memory lie = _lie(20, Lie.State);
        uint256 id = _disputed(lie, _truth());
        uint256 deposit = broker.requiredDeposit(id);
        _rollPast(broker.getRequest(id).deadline);
        broker.claimTimeout(id);
        vm.assertEq(broker.getRequest(id).hostWins, 1);

        (bytes memory tr, uint64 ts, bool tf) = _claimOf(_truth());
        _challenge(id, stranger, tr, ts, tf);
        vm.assertFalse(_play(id, host, lie, stranger, _truth()));
        vm.assertEq(broker.balanceOf(host), deposit / 2, "its earlier win, at once");
        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.host, stranger);
        vm.assertEq(r.hostWins, 1);
        vm.assertEq(r.disputes, 2);

        _settleAfterWindow(id);
        vm.assertEq(_withdrawAll(stranger), PAYMENT + deposit + deposit / 2);
        vm.assertEq(_withdrawAll(requester), 2 * (deposit - deposit / 2));
        _withdrawAll(host);
        vm.assertEq(host.balance, FUNDS - deposit + deposit / 2);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(stranger.balance, FUNDS + PAYMENT + deposit / 2);
        vm.assertEq(address(broker).balance, 0);
    }

    /// Counters at their maximum are paid out before they would overflow: a dispute never
    /// reverts for being one too many.
    function test_repeatedDisputes_FullCountersArePaidOutInsteadOfOverflowing() public {
        uint256 id = _disputed(_truth(), _lie(20, Lie.State));
        uint256 deposit = broker.requiredDeposit(id);
        // StoredRequest's first word ends with hostWins (2 bytes) and disputes (2).
        bytes32 slot = keccak256(abi.encode(id, uint256(1)));
        uint256 word = uint256(vm.load(address(broker), slot));
        vm.store(address(broker), slot, bytes32((word & ((uint256(1) << 224) - 1)) | (uint256(0xffffffff) << 224)));
        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.hostWins, type(uint16).max);
        vm.assertEq(r.disputes, type(uint16).max);

        vm.assertTrue(_play(id, host, _truth(), challenger, _lie(20, Lie.State)));
        vm.assertEq(broker.balanceOf(host), uint256(type(uint16).max) * (deposit / 2));
        vm.assertEq(broker.balanceOf(requester), uint256(type(uint16).max) * (deposit - deposit / 2));
        r = broker.getRequest(id);
        vm.assertEq(r.hostWins, 1);
        vm.assertEq(r.disputes, 1);
    }

    // ---------------------------------------------------------------------------------------
    // Timeouts: the party that misses its deadline loses
    // ---------------------------------------------------------------------------------------

    function test_timeout_DefenderSilent_ChallengerWins() public {
        uint256 id = _disputed(_lie(4, Lie.State), _truth());
        uint256 deposit = broker.requiredDeposit(id);
        broker.initializeDispute(id);
        IBroker.Game memory g = broker.getGame(id);
        _claimTimeoutAfter(id, uint256(g.turnStart) + CLOCK, challenger, host);
        vm.assertEq(broker.getRequest(id).host, challenger);
        _assertOwedLater(id, 1);
        vm.assertEq(broker.balanceOf(stranger), 0);
        _settleAfterWindow(id);
        vm.assertEq(broker.balanceOf(challenger), PAYMENT + deposit + deposit / 2);
        vm.assertEq(broker.balanceOf(requester), deposit - deposit / 2);
    }

    function test_timeout_ChallengerSilent_DefenderWins() public {
        uint256 id = _disputed(_truth(), _lie(4, Lie.State));
        uint256 deposit = broker.requiredDeposit(id);
        broker.initializeDispute(id);
        vm.roll(block.number + 7);
        _defenderBisects(id, host, _truth());
        IBroker.Game memory g = broker.getGame(id);
        vm.assertEq(g.defenderClock, CLOCK - 7, "the defender's clock was charged 7 blocks");
        vm.roll(block.number + CLOCK + 1);
        broker.claimTimeout(id);
        vm.assertEq(broker.getRequest(id).host, host);
        _assertOwedLater(id, 1);
        _settleAfterWindow(id);
        vm.assertEq(broker.balanceOf(host), PAYMENT + deposit + deposit / 2);
        vm.assertEq(broker.balanceOf(requester), deposit - deposit / 2);
    }

    function test_timeout_DisputeNeverStarted_ChallengerLoses() public {
        uint256 id = _disputed(_truth(), _lie(4, Lie.State));
        uint256 deadline = broker.getRequest(id).deadline;
        vm.expectRevert(abi.encodeWithSelector(IBroker.DeadlineNotReached.selector, id, deadline));
        broker.claimTimeout(id);
        _rollPast(deadline);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DeadlinePassed.selector, id, deadline));
        broker.initializeDispute(id);
        broker.claimTimeout(id);
        vm.assertEq(broker.getRequest(id).host, host);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.WaitingForResolution));
    }

    function test_timeout_RevertWhen_NothingToTimeOut() public {
        uint256 id = _newRequest();
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.WrongStatus.selector, id, IBroker.Status.Pending, IBroker.Status.Resolving)
        );
        broker.claimTimeout(id);
    }

    function test_move_RevertWhen_ClockExpired() public {
        uint256 id = _disputed(_truth(), _lie(4, Lie.State));
        broker.initializeDispute(id);
        IBroker.Game memory g = broker.getGame(id);
        vm.roll(uint256(g.turnStart) + CLOCK + 1);
        bytes32[] memory points = new bytes32[](3);
        vm.expectRevert(abi.encodeWithSelector(IBroker.ClockExpired.selector, host, uint256(g.turnStart) + CLOCK));
        vm.prank(host);
        broker.bisect(id, points);
    }

    function test_timeout_AfterChallengerWinsTheNewAnswerCanBeChallengedAgain() public {
        uint256 id = _disputed(_lie(4, Lie.State), _truth());
        vm.assertFalse(_play(id, host, _lie(4, Lie.State), challenger, _truth()));
        // Someone with yet another (wrong) answer challenges the new standing answer, and loses.
        View memory other = _lie(30, Lie.State);
        (bytes memory r, uint64 s, bool f) = _claimOf(other);
        _challenge(id, stranger, r, s, f);
        vm.assertTrue(_play(id, challenger, _truth(), stranger, other));
        vm.assertEq(broker.getRequest(id).host, challenger);
    }

    // ---------------------------------------------------------------------------------------
    // Move reverts
    // ---------------------------------------------------------------------------------------

    function _started() internal returns (uint256 id) {
        id = _disputed(_truth(), _lie(4, Lie.State));
        broker.initializeDispute(id);
    }

    function test_initializeDispute_StartsTheGame() public {
        uint256 id = _disputed(_truth(), _lie(4, Lie.State));
        vm.expectEmit(address(broker));
        emit IBroker.DisputeStarted(id, IBroker.DisputeMode.Bisection);
        broker.initializeDispute(id);
        IBroker.Game memory g = broker.getGame(id);
        vm.assertEq(g.lo, 0);
        vm.assertEq(g.hi, LENGTH);
        vm.assertEq(g.cLo, truth.cs[0]);
        vm.assertEq(g.cHi, truth.cs[LENGTH]);
        vm.assertEq(g.defenderClock, CLOCK);
        vm.assertEq(g.challengerClock, CLOCK);
        vm.assertEq(uint8(g.phase), uint8(IBroker.Phase.Bisect));
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));
    }

    function test_initializeDispute_RevertWhen_NotChallenged() public {
        uint256 id = _newRequest();
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.Pending, IBroker.Status.NeedsResolution
            )
        );
        broker.initializeDispute(id);
    }

    function test_bisect_RevertWhen_NotStarted() public {
        uint256 id = _disputed(_truth(), _lie(4, Lie.State));
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.NeedsResolution, IBroker.Status.Resolving
            )
        );
        vm.prank(host);
        broker.bisect(id, new bytes32[](3));
    }

    function test_bisect_RevertWhen_NotYourMove() public {
        uint256 id = _started();
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotYourMove.selector, id, challenger, host));
        vm.prank(challenger);
        broker.bisect(id, new bytes32[](3));
    }

    function test_bisect_RevertWhen_WrongPointCount() public {
        uint256 id = _started();
        vm.expectRevert(abi.encodeWithSelector(IBroker.WrongPointCount.selector, 2, 3));
        vm.prank(host);
        broker.bisect(id, new bytes32[](2));
    }

    function test_bisect_RevertWhen_WrongPhase() public {
        uint256 id = _started();
        _defenderBisects(id, host, _truth());
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.WrongPhase.selector, id, IBroker.Phase.Select, IBroker.Phase.Bisect)
        );
        vm.prank(host);
        broker.bisect(id, new bytes32[](3));
    }

    function test_bisect_EmitsThePoints() public {
        uint256 id = _started();
        bytes32[] memory points = new bytes32[](3);
        points[0] = truth.cs[9];
        points[1] = truth.cs[18];
        points[2] = truth.cs[27];
        vm.expectEmit(address(broker));
        emit IBroker.Bisected(id, 0, LENGTH, points);
        vm.prank(host);
        broker.bisect(id, points);
        vm.assertEq(broker.getGame(id).pointsHash, keccak256(abi.encodePacked(points)));
    }

    function test_selectSegment_RevertWhen_NotYourMove() public {
        uint256 id = _started();
        bytes32[] memory points = _defenderBisects(id, host, _truth());
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotYourMove.selector, id, host, challenger));
        vm.prank(host);
        broker.selectSegment(id, points, 0);
    }

    function test_selectSegment_RevertWhen_PointsMismatch() public {
        uint256 id = _started();
        bytes32[] memory points = _defenderBisects(id, host, _truth());
        bytes32 posted = keccak256(abi.encodePacked(points));
        points[1] = bytes32(uint256(1));
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.PointsMismatch.selector, keccak256(abi.encodePacked(points)), posted)
        );
        vm.prank(challenger);
        broker.selectSegment(id, points, 0);
    }

    function test_selectSegment_RevertWhen_SegmentIndexOutOfRange() public {
        uint256 id = _started();
        bytes32[] memory points = _defenderBisects(id, host, _truth());
        vm.expectRevert(abi.encodeWithSelector(IBroker.SegmentIndexOutOfRange.selector, 4, 4));
        vm.prank(challenger);
        broker.selectSegment(id, points, 4);
    }

    function test_selectSegment_NarrowsTheSegment() public {
        uint256 id = _started();
        bytes32[] memory points = _defenderBisects(id, host, _truth());
        vm.expectEmit(address(broker));
        emit IBroker.SegmentSelected(id, 9, 18, truth.cs[9], truth.cs[18]);
        vm.prank(challenger);
        broker.selectSegment(id, points, 1);
        IBroker.Game memory g = broker.getGame(id);
        vm.assertEq(g.lo, 9);
        vm.assertEq(g.hi, 18);
        vm.assertEq(g.pointsHash, bytes32(0));
        vm.assertEq(uint8(g.phase), uint8(IBroker.Phase.Bisect));
    }

    function test_proveStep_RevertWhen_WrongPhase() public {
        uint256 id = _started();
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.WrongPhase.selector, id, IBroker.Phase.Bisect, IBroker.Phase.OneStep)
        );
        broker.proveStep(id, false, input);
    }

    function test_proveStep_RevertWhen_InsufficientGasForStep() public {
        View memory liar = _lie(1, Lie.State);
        uint256 id = _disputed(liar, _truth());
        broker.initializeDispute(id);
        _toOneStep(id, liar, _truth());
        (bool ok, bytes memory reason) =
            address(broker).call{gas: 35_000}(abi.encodeCall(IBroker.proveStep, (id, false, input)));
        vm.assertFalse(ok);
        vm.assertEq(bytes4(reason), IBroker.InsufficientGasForStep.selector);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving), "nothing decided");
    }

    /// Review finding 3: a caller of `proveStep` chose a gas limit that passed the 63/64 check
    /// but, after the cold reads and the copy of an 8 KiB state, handed the step ~700 gas less
    /// than `maxStepGas`, so an honest step ran out of gas, the trace halted, and the honest
    /// defender lost. The check now sits right before the call: at every gas limit around
    /// the threshold, the call either reverts, deciding nothing, or gives the step its gas.
    function test_attack_StarvingTheStepCannotFlipAnHonestDefendersWin() public {
        uint32 stepGas = 100_000;
        // Fails if it receives even 50 gas less than its step gas (its own entry costs ~450).
        bytes32 probeId = _register(address(new GasProbe(stepGas - 500)), "probe", stepGas);
        bytes memory state = new bytes(MAX_STATE_BYTES);
        state[0] = 0x01;
        uint256 id = _requestWith(probeId, state, 1, GAS_PRICE, IBroker.DisputeMode.Bisection);
        _answer(id, host, state, 1, true);
        _challenge(id, challenger, hex"00", 1, true);
        broker.initializeDispute(id);
        vm.assertEq(uint8(broker.getGame(id).phase), uint8(IBroker.Phase.OneStep));

        bytes memory call = abi.encodeCall(IBroker.proveStep, (id, false, state));
        // Given plenty of gas, the probe's step succeeds and the defender wins.
        uint256 plenty = vm.snapshotState();
        vm.prank(challenger);
        broker.proveStep{gas: 1_000_000}(id, false, state);
        vm.assertEq(broker.getRequest(id).host, host);
        vm.revertToState(plenty);
        // The smallest gas limit at which the call goes through.
        uint256 hi = _leastGasThatSucceeds(challenger, call, 50_000, 1_000_000);
        for (uint256 gas = hi - 3_000; gas <= hi + 3_000; gas += 25) {
            uint256 snap = vm.snapshotState();
            vm.prank(challenger);
            (bool ok,) = address(broker).call{gas: gas}(call);
            if (ok) vm.assertEq(broker.getRequest(id).host, host, "a starved step flipped the outcome");
            else vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving), "a revert decides nothing");
            vm.revertToState(snap);
        }
    }

    /// Review finding 1: program ids bound an address, not pure code, so a `step` reading a
    /// storage flag passed every check, and after an honest answer the requester armed it,
    /// disputed, proved step 1 against the armed code and took the host's deposit. The Factory
    /// now refuses any step code that can read state, the environment or other accounts: each
    /// way of arming a trap is refused at registration, naming the instruction.
    function test_attack_AProgramThatCanBeArmedCannotBeRegistered() public {
        ArmedByStorage byStorage = new ArmedByStorage();
        vm.expectRevert(
            abi.encodeWithSelector(
                IFactory.ImpureProgram.selector, address(byStorage), _firstOf(address(byStorage), 0x54), 0x54
            )
        );
        factory.registerProgram(address(byStorage), keccak256("armed"), 20_000, "");
        address byCall = address(new ArmedByCall(byStorage));
        vm.expectRevert(abi.encodeWithSelector(IFactory.ImpureProgram.selector, byCall, _firstOf(byCall, 0xfa), 0xfa));
        factory.registerProgram(byCall, keccak256("armed"), 20_000, "");
        address byBlock = address(new ArmedByBlock());
        vm.expectRevert(abi.encodeWithSelector(IFactory.ImpureProgram.selector, byBlock, _firstOf(byBlock, 0x43), 0x43));
        factory.registerProgram(byBlock, keccak256("armed"), 20_000, "");
        vm.assertEq(factory.programCount(), 5, "only the fixtures' programs");
    }

    /// @dev The offset of the first instruction `op` in `account`'s code (PUSH data skipped).
    function _firstOf(address account, uint8 op) internal view returns (uint256) {
        bytes memory code = account.code;
        for (uint256 pc = 0; pc < code.length;) {
            uint8 at = uint8(code[pc]);
            if (at == op) return pc;
            pc += at >= 0x60 && at <= 0x7f ? at - 0x5e : 1;
        }
        revert("not in the code");
    }

    /// Review finding 4: nothing related the chess clock to the game's rounds, so a request
    /// could make an honest defender lose by construction (arity 2, a 50-block clock, a
    /// 60-round game: replying every block, it runs out of clock). A request must now fit the
    /// clock at `BLOCKS_PER_MOVE` blocks per move, and a defender moving that fast wins the
    /// longest game the clock admits.
    function test_attack_AGameLongerThanTheClockCannotBeRequested() public {
        broker = deployBroker(factory, 2, 50);
        vm.expectRevert(abi.encodeWithSelector(IBroker.ClockTooShortForSteps.selector, uint64(2 ** 60), 122, 50));
        _requestWith(keccakChainId, input, 2 ** 60, GAS_PRICE, IBroker.DisputeMode.Bisection);
        // Full re-execution has no game, hence no such bound.
        _requestWith(keccakChainId, input, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);

        // keccak-chain over 45 steps at arity 2: 6 rounds and the one step, 14 blocks.
        broker = deployBroker(factory, 2, 13);
        vm.expectRevert(abi.encodeWithSelector(IBroker.ClockTooShortForSteps.selector, MAX_STEPS, 14, 13));
        _newRequest();
        broker = deployBroker(factory, 2, 14);
        uint256 id = _disputed(_truth(), _lie(20, Lie.State));
        moveDelay = Bisection.BLOCKS_PER_MOVE;
        vm.assertTrue(_play(id, host, _truth(), challenger, _lie(20, Lie.State)), "the honest defender wins");
        vm.assertEq(broker.getRequest(id).host, host);
    }

    /// Review finding 7 (the rule, decided): the fresh window after a game protects the
    /// requester's result, so the requester may waive it and accept at once, as it may any
    /// answer. A requester whose puppet challenger beat an offline host and accepts at once
    /// takes nothing the host would not lose anyway (its deposit goes by its own timeout);
    /// what it gives up is others' chance to correct a wrong result it was paying for.
    /// Anyone else must still wait for the window.
    function test_rule_TheRequesterMayAcceptRightAfterAGame() public {
        uint256 id = _disputed(_truth(), _lie(20, Lie.State));
        uint256 deposit = broker.requiredDeposit(id);
        vm.assertTrue(_play(id, host, _truth(), challenger, _lie(20, Lie.State)));
        uint256 deadline = broker.getRequest(id).deadline;
        vm.expectRevert(abi.encodeWithSelector(IBroker.WindowOpen.selector, id, deadline));
        vm.prank(stranger);
        broker.softResolveAnswer(id);

        vm.prank(requester);
        broker.softResolveAnswer(id);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.SoftResolution));
        (bytes memory lr, uint64 ls, bool lf) = _claimOf(_lie(9, Lie.State));
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.SoftResolution, IBroker.Status.WaitingForResolution
            )
        );
        vm.prank(stranger);
        broker.challengeAnswer{value: deposit}(id, lr, ls, lf);
        broker.finalize(id);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit + deposit / 2);
        vm.assertEq(_withdrawAll(requester), deposit - deposit / 2);
    }

    function test_proveStep_ByTheChallengerWhenTheDefenderCannot() public {
        View memory liar = _lie(6, Lie.State);
        uint256 id = _disputed(liar, _truth());
        broker.initializeDispute(id);
        _toOneStep(id, liar, _truth());
        IBroker.Game memory g = broker.getGame(id);
        vm.expectEmit(address(broker));
        emit IBroker.StepProven(id, g.lo + 1, truth.cs[g.lo + 1], false);
        vm.prank(challenger);
        broker.proveStep(id, truth.finals[g.lo], truth.states[g.lo]);
        vm.assertEq(broker.getRequest(id).host, challenger);
    }

    function test_bisect_RevertWhen_FullExecutionMode() public {
        uint256 id = _requestWith(keccakChainId, input, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, truth.states[LENGTH], LENGTH);
        _challenge(id, challenger, hex"00", LENGTH);
        broker.initializeDispute(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.WrongMode.selector, id, IBroker.DisputeMode.FullExecution));
        vm.prank(host);
        broker.bisect(id, new bytes32[](3));
    }

    function test_executeExecutable_RevertWhen_BisectionMode() public {
        uint256 id = _started();
        vm.expectRevert(abi.encodeWithSelector(IBroker.WrongMode.selector, id, IBroker.DisputeMode.Bisection));
        broker.executeExecutable(id, 10, input);
    }

    function test_oneStepGame_WhenTheClaimIsOneStepLong() public {
        bytes memory shortInput = abi.encodePacked(_u64le(1), keccak256("seed"));
        uint256 id = _requestWith(keccakChainId, shortInput, 5, GAS_PRICE, IBroker.DisputeMode.Bisection);
        _answer(id, host, hex"00", 1); // wrong: the true result is keccak(seed)
        _challenge(id, challenger, abi.encodePacked(keccak256(abi.encodePacked(keccak256("seed")))), 1);
        broker.initializeDispute(id);
        vm.assertEq(uint8(broker.getGame(id).phase), uint8(IBroker.Phase.OneStep));
        broker.proveStep(id, false, shortInput);
        vm.assertEq(broker.getRequest(id).host, challenger);
    }
}

/// @notice The figures of ARCHITECTURE.md section 4 at the default arity (16), on a dispute over
/// 2^32 steps of the Counter, whose trace points have a closed form.
contract BisectionGasTest is GameDriver {
    uint64 internal constant N = 2 ** 32;
    uint64 internal constant COUNT_TO = N + 5; // truth: not final at N

    function _deployBroker(uint256, uint32 clock) internal override returns (Broker) {
        return deployBroker(factory, 16, clock);
    }

    function _state(uint64 i) internal pure returns (bytes memory) {
        return i == 0 ? _u64le(COUNT_TO) : abi.encodePacked(_u64le(COUNT_TO), _u64le(i));
    }

    /// @dev The defender claims final at N ("final too early"): its commitments are true below N.
    function _defenderCommitment(uint64 i) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(i == N, _state(i)));
    }

    function _trueCommitment(uint64 i) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(false, _state(i)));
    }

    function test_gas_DisputeOver2To32Steps() public {
        _request(counterId, hex"00"); // warm the request counter, as on a live Broker
        uint256 id = _requestWith(counterId, _u64le(COUNT_TO), type(uint64).max, 0, IBroker.DisputeMode.Bisection);
        _answer(id, host, _state(N), N, true);
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(challenger);
        broker.challengeAnswer{value: deposit}(id, _state(COUNT_TO), COUNT_TO);
        uint256 total = vm.snapshotGasLastCall("bisection_challengeAnswer");
        broker.initializeDispute(id);
        total += vm.snapshotGasLastCall("bisection_initializeDispute");

        uint256 rounds;
        uint256 maxMove;
        while (broker.getGame(id).phase == IBroker.Phase.Bisect) {
            IBroker.Game memory g = broker.getGame(id);
            uint256 parts = _parts(g.lo, g.hi);
            bytes32[] memory points = new bytes32[](parts - 1);
            for (uint256 j = 1; j < parts; ++j) {
                points[j - 1] = _defenderCommitment(broker.splitPoint(g.lo, g.hi, parts, j));
            }
            vm.prank(host);
            broker.bisect(id, points);
            uint256 bisectGas = vm.snapshotGasLastCall("bisection_bisect");
            uint256 index = parts - 1; // the only disagreement is at N
            for (uint256 j = 0; j + 1 < parts; ++j) {
                if (points[j] != _trueCommitment(broker.splitPoint(g.lo, g.hi, parts, j + 1))) {
                    index = j;
                    break;
                }
            }
            vm.prank(challenger);
            broker.selectSegment(id, points, index);
            uint256 selectGas = vm.snapshotGasLastCall("bisection_selectSegment");
            total += bisectGas + selectGas;
            if (bisectGas > maxMove) maxMove = bisectGas;
            if (selectGas > maxMove) maxMove = selectGas;
            ++rounds;
        }
        IBroker.Game memory last = broker.getGame(id);
        vm.assertEq(last.hi, N);
        uint256 beforeOneStep = vm.snapshotState();
        vm.prank(challenger);
        broker.proveStep(id, false, _state(last.lo));
        uint256 oneStep = vm.snapshotGasLastCall("bisection_proveStep");
        total += oneStep;
        IBroker.Request memory proven = broker.getRequest(id);

        vm.assertEq(broker.getRequest(id).host, challenger, "the honest challenger won");
        vm.assertEq(rounds, 8, "ceil(log16 2^32)");
        vm.assertLe(rounds, broker.roundsFor(N));
        vm.assertLe(maxMove, 90_000, "gas per move");
        vm.assertLe(oneStep, 60_000 + COUNTER_STEP_GAS, "one-step within 60k plus the step's gas");
        vm.snapshotValue("bisection_2to32_rounds", rounds);
        vm.snapshotValue("bisection_2to32_maxMove", maxMove);
        vm.snapshotValue("bisection_2to32_total", total);
        vm.assertLe(total, 1_500_000, "a whole dispute over 2^32 steps");

        // The verification part of the one step on its own: the step run as the Broker runs it
        // (Trace.next: the gas check, the call with maxStepGas, the decoding).
        StepHarness harness = new StepHarness();
        (,, uint256 stepGas) = harness.next(address(counter), COUNTER_STEP_GAS, last.lo + 1, false, _state(last.lo));
        vm.snapshotValue("bisection_oneStep_stepCallGas", stepGas);
        vm.assertLe(stepGas, 60_000 + COUNTER_STEP_GAS);

        // proveStep also settles the dispute. Settling the same game the other way it can end,
        // the defender's clock running out at the one step, takes the same path (the same
        // credits, the same records cleared); the difference is what the one-step proof itself
        // costs: the preimage check, the step and the comparison.
        vm.assertTrue(vm.revertToState(beforeOneStep));
        vm.roll(uint256(last.turnStart) + last.defenderClock + 1);
        broker.claimTimeout(id);
        uint256 settlement = vm.snapshotGasLastCall("bisection_settleByTimeout");
        IBroker.Request memory timedOut = broker.getRequest(id);
        vm.assertEq(timedOut.host, proven.host, "both settle for the challenger");
        vm.assertEq(timedOut.claim, proven.claim);
        uint256 verification = oneStep - settlement;
        vm.snapshotValue("bisection_oneStep_verification", verification);
        vm.assertLe(verification, 60_000, "the one-step proof within 60k plus the step's gas");
    }
}

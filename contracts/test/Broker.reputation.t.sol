// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {DisputeFixtures} from "./utils/DisputeFixtures.sol";

/// @notice Reputation: each outcome counted in the record of whoever it belongs to
/// (`recordOf`; a bisection dispute's when its request is next challenged or paid out, so
/// that the one-step proof writes no record), and host admission (`RequestOptions.minHostJobs`) enforced on the answer and
/// the commitment, refusing a host without changing anything. (Full re-execution's outcomes
/// are counted in `Broker.full.t.sol`.)
contract BrokerReputationTest is DisputeFixtures {
    bytes32 internal constant SALT = keccak256("salt");

    /// @dev A keccak-chain request admitting hosts with `minHostJobs` jobs paid.
    function _requestAdmitting(uint16 minHostJobs) internal returns (uint256 id) {
        vm.prank(requester);
        id = broker.requestExecution{value: PAYMENT}(
            keccakChainId,
            input,
            WINDOW,
            IBroker.RequestOptions(MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.Bisection, minHostJobs)
        );
    }

    /// @dev `who` answers request `id` truthfully.
    function _answerTruly(uint256 id, address who) internal {
        (bytes memory result, uint64 steps, bool final_) = _claimOf(_truth());
        _answer(id, who, result, steps, final_);
    }

    /// @dev `who` answers `jobs` requests truthfully and is paid for each.
    function _buildRecord(address who, uint256 jobs) internal {
        for (uint256 k = 0; k < jobs; ++k) {
            uint256 id = _newRequest();
            _answerTruly(id, who);
            _settleAfterWindow(id);
        }
    }

    /// @dev `who`'s true answer to request `id` is refused: `who` is not admitted.
    function _answerTrulyRefused(uint256 id, address who, uint16 minHostJobs) internal {
        (bytes memory result, uint64 steps, bool final_) = _claimOf(_truth());
        uint256 deposit = broker.requiredDeposit(id);
        _expectNotAdmitted(id, who, minHostJobs);
        vm.prank(who);
        broker.answerRequest{value: deposit}(id, result, steps, final_);
    }

    function _expectNothingToCount(uint256 id) internal {
        vm.expectRevert(abi.encodeWithSelector(IBroker.NothingToCount.selector, id));
    }

    function _expectNotAdmitted(uint256 id, address who, uint16 minHostJobs) internal {
        IBroker.Record memory r = broker.recordOf(who);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.HostNotAdmitted.selector, id, who, r.paid, r.defencesLost, minHostJobs)
        );
    }

    // ---------------------------------------------------------------------------------------
    // Counting
    // ---------------------------------------------------------------------------------------

    function test_record_StartsEmpty() public view {
        IBroker.Record memory r = broker.recordOf(host);
        vm.assertEq(r.answered, 0);
        vm.assertEq(r.paid, 0);
        vm.assertEq(r.expired, 0);
        _assertDisputeRecord(host, 0, 0, 0, 0, 0);
    }

    function test_record_AnswersAndPayoutsAreCounted() public {
        uint256 id = _newRequest();
        _answerTruly(id, host);
        vm.assertEq(broker.recordOf(host).answered, 1);
        vm.assertEq(broker.recordOf(host).paid, 0, "paid only once paid out");
        _settleAfterWindow(id);
        vm.assertEq(broker.recordOf(host).paid, 1);

        // Paid out through `settle` as well.
        uint256 second = _newRequest();
        _answerTruly(second, host);
        _rollPast(broker.getRequest(second).deadline);
        uint256[] memory ids = new uint256[](1);
        ids[0] = second;
        broker.settle(ids);
        IBroker.Record memory r = broker.recordOf(host);
        vm.assertEq(r.answered, 2);
        vm.assertEq(r.paid, 2);
        vm.assertEq(broker.recordOf(requester).answered, 0, "the requester's record is its own");
    }

    function test_record_ARevealIsAnAnswer_ACommitmentIsNot() public {
        uint256 id = _newRequest();
        (bytes memory result, uint64 steps, bool final_) = _claimOf(_truth());
        bytes32 claim = keccak256(abi.encodePacked(final_, result));
        uint256 deposit = broker.requiredDeposit(id);
        bytes32 commitment = broker.answerCommitment(id, claim, steps, host, SALT);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(id, commitment);
        vm.assertEq(broker.recordOf(host).answered, 0);
        vm.prank(host);
        broker.revealAnswer(id, result, steps, final_, SALT);
        vm.assertEq(broker.recordOf(host).answered, 1);
    }

    function test_record_AnExpiredCommitmentIsCounted() public {
        uint256 id = _newRequest();
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(id, keccak256("never revealed"));
        _rollPast(broker.getRequest(id).deadline);
        vm.prank(stranger);
        broker.expireCommitment(id);
        IBroker.Record memory r = broker.recordOf(host);
        vm.assertEq(r.expired, 1);
        vm.assertEq(r.answered, 0);
        vm.assertEq(broker.recordOf(stranger).expired, 0, "counted for the committer, not the caller");
    }

    function test_record_AnHonestDefenceWonByProof() public {
        uint256 id = _disputed(_truth(), _lie(20, Lie.State));
        vm.assertTrue(_play(id, host, _truth(), challenger, _lie(20, Lie.State)));
        // Kept, not counted yet; the request shows no challenge.
        _assertDisputeRecord(host, 0, 0, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 0, 0, 0);
        vm.assertEq(broker.getChallenge(id).challenger, address(0));
        _settleAfterWindow(id);
        _assertDisputeRecord(host, 1, 0, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 0, 1, 0);
        vm.assertEq(broker.recordOf(host).paid, 1);
    }

    function test_record_ADisputeIsCountedAtTheNextChallenge() public {
        uint256 id = _disputed(_truth(), _lie(20, Lie.State));
        vm.assertTrue(_play(id, host, _truth(), challenger, _lie(20, Lie.State)));
        (bytes memory lie, uint64 steps, bool final_) = _claimOf(_lie(30, Lie.State));
        _challenge(id, stranger, lie, steps, final_);
        _assertDisputeRecord(host, 1, 0, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 0, 1, 0);
        vm.assertEq(broker.getChallenge(id).challenger, stranger, "the new challenge");
        // The second dispute, lost by the stranger who never starts it, at the payout.
        _claimTimeoutAfter(id, broker.getRequest(id).deadline, host, stranger);
        _settleAfterWindow(id);
        _assertDisputeRecord(host, 2, 0, 0, 0, 0);
        _assertDisputeRecord(stranger, 0, 0, 0, 1, 1);
        _assertDisputeRecord(challenger, 0, 0, 0, 1, 0);
    }

    function test_record_AWrongAnswerOverturnedByProof() public {
        uint256 id = _disputed(_lie(20, Lie.State), _truth());
        vm.assertFalse(_play(id, host, _lie(20, Lie.State), challenger, _truth()));
        _settleAfterWindow(id);
        _assertDisputeRecord(host, 0, 1, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 1, 0, 0);
        vm.assertEq(broker.recordOf(challenger).paid, 1, "paid as the host it became");
        vm.assertEq(broker.recordOf(host).paid, 0);
        vm.assertEq(broker.recordOf(host).answered, 1);
        vm.assertEq(broker.recordOf(challenger).answered, 0, "a challenge is not an answer");
    }

    function test_record_ASilentDefenderLosesByTimeout() public {
        uint256 id = _disputed(_lie(4, Lie.State), _truth());
        broker.initializeDispute(id);
        IBroker.Game memory g = broker.getGame(id);
        _claimTimeoutAfter(id, uint256(g.turnStart) + CLOCK, challenger, host);
        _settleAfterWindow(id);
        _assertDisputeRecord(host, 0, 1, 0, 0, 1);
        _assertDisputeRecord(challenger, 0, 0, 1, 0, 0);
        vm.assertEq(broker.recordOf(stranger).challengesWon, 0, "not the caller's");
    }

    function test_record_AChallengerThatNeverStartsLosesByTimeout() public {
        uint256 id = _disputed(_truth(), _lie(4, Lie.State));
        _claimTimeoutAfter(id, broker.getRequest(id).deadline, host, challenger);
        _settleAfterWindow(id);
        _assertDisputeRecord(host, 1, 0, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 0, 1, 1);
    }

    /// A host caught cheating is counted at once by `countDispute` (anyone's call), not at
    /// the payout a window later: it no longer meets admission elsewhere, and the payout does
    /// not count the dispute again.
    function test_countDispute_CountsACaughtHostAtOnce_AndOnlyOnce() public {
        _buildRecord(host, 3);
        uint256 id = _disputed(_lie(20, Lie.State), _truth());
        vm.assertFalse(_play(id, host, _lie(20, Lie.State), challenger, _truth()));
        uint256 admitting = _requestAdmitting(1);
        vm.assertEq(broker.recordOf(host).defencesLost, 0, "kept, not counted yet");

        vm.expectEmit(address(broker));
        emit IBroker.DisputeCounted(id, host, challenger);
        vm.prank(stranger);
        broker.countDispute(id);
        _assertDisputeRecord(host, 0, 1, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 1, 0, 0);
        _assertDisputeRecord(stranger, 0, 0, 0, 0, 0);
        _answerTrulyRefused(admitting, host, 1);

        _expectNothingToCount(id);
        broker.countDispute(id);
        _settleAfterWindow(id);
        _assertDisputeRecord(host, 0, 1, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 1, 0, 0);
        vm.assertEq(broker.recordOf(challenger).paid, 1);
    }

    /// Nothing to count before a dispute, during one (the slot holds the open challenge), or
    /// after its count at the next challenge; the refusal changes nothing.
    function test_countDispute_RevertWhen_NoOutcomeIsWaiting() public {
        uint256 id = _disputed(_truth(), _lie(20, Lie.State));
        _expectNothingToCount(id);
        broker.countDispute(id);
        broker.initializeDispute(id);
        _expectNothingToCount(id);
        broker.countDispute(id);
        vm.assertTrue(_play(id, host, _truth(), challenger, _lie(20, Lie.State)));
        (bytes memory lie, uint64 steps, bool final_) = _claimOf(_lie(30, Lie.State));
        _challenge(id, stranger, lie, steps, final_);
        _expectNothingToCount(id);
        broker.countDispute(id);
        _assertDisputeRecord(host, 1, 0, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 0, 1, 0);
        uint256 fresh = _newRequest();
        _expectNothingToCount(fresh);
        broker.countDispute(fresh);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, 999));
        broker.countDispute(999);
    }

    // ---------------------------------------------------------------------------------------
    // Admission
    // ---------------------------------------------------------------------------------------

    function test_admission_IsARequestTerm() public {
        vm.assertEq(broker.getRequest(_requestAdmitting(3)).minHostJobs, 3);
        vm.assertEq(broker.getRequest(_newRequest()).minHostJobs, 0, "anyone by default");
    }

    function test_admission_ANewHostIsRefused_AndNothingChanges() public {
        uint256 id = _requestAdmitting(1);
        (bytes memory result, uint64 steps, bool final_) = _claimOf(_truth());
        uint256 deposit = broker.requiredDeposit(id);
        uint256 held = address(broker).balance;

        _expectNotAdmitted(id, host, 1);
        vm.prank(host);
        broker.answerRequest{value: deposit}(id, result, steps, final_);
        _expectNotAdmitted(id, host, 1);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(id, keccak256("commitment"));

        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Pending));
        vm.assertEq(host.balance, FUNDS);
        vm.assertEq(address(broker).balance, held);
        vm.assertEq(broker.recordOf(host).answered, 0);
    }

    function test_admission_AHostWithEnoughJobsPaidIsAdmitted() public {
        _buildRecord(host, 2);
        _answerTrulyRefused(_requestAdmitting(3), host, 3);

        uint256 id = _requestAdmitting(2);
        _answerTruly(id, host);
        _settleAfterWindow(id);
        vm.assertEq(broker.recordOf(host).paid, 3);

        // And by commitment.
        uint256 committed = _requestAdmitting(3);
        uint256 deposit = broker.requiredDeposit(committed);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(committed, keccak256("commitment"));
        vm.assertEq(uint8(_status(committed)), uint8(IBroker.Status.Committed));
    }

    function test_admission_AHostThatLostADefenceIsRefused() public {
        _buildRecord(host, 3);
        uint256 lost = _disputed(_lie(20, Lie.State), _truth());
        vm.assertFalse(_play(lost, host, _lie(20, Lie.State), challenger, _truth()));
        _settleAfterWindow(lost);

        _answerTrulyRefused(_requestAdmitting(1), host, 1);
        // A request admitting anyone still takes its answers.
        _answerTruly(_newRequest(), host);
    }

    /// A challenger proves the admitted host wrong: it becomes the host and is paid whatever
    /// its record, since its answer is proved; admission guards only the first answer.
    function test_admission_AChallengerThatWinsIsPaidWhateverItsRecord() public {
        _buildRecord(host, 1);
        uint256 id = _requestAdmitting(1);
        (bytes memory lie, uint64 steps, bool final_) = _claimOf(_lie(20, Lie.State));
        _answer(id, host, lie, steps, final_);
        (bytes memory truthResult, uint64 truthSteps, bool truthFinal) = _claimOf(_truth());
        _challenge(id, challenger, truthResult, truthSteps, truthFinal);
        vm.assertFalse(_play(id, host, _lie(20, Lie.State), challenger, _truth()));
        uint256 deposit = broker.requiredDeposit(id);
        _settleAfterWindow(id);
        vm.assertEq(broker.getRequest(id).host, challenger);
        vm.assertEq(broker.balanceOf(challenger), PAYMENT + deposit + deposit / 2);
    }

    function test_admission_EachRequestOfABatchCarriesIt() public {
        bytes[] memory inputs = new bytes[](2);
        inputs[0] = input;
        inputs[1] = input;
        vm.prank(requester);
        uint256 first = broker.requestExecutionBatch{value: 2 * PAYMENT}(
            keccakChainId,
            inputs,
            WINDOW,
            IBroker.RequestOptions(MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.Bisection, 5)
        );
        vm.assertEq(broker.getRequest(first).minHostJobs, 5);
        vm.assertEq(broker.getRequest(first + 1).minHostJobs, 5);
        _answerTrulyRefused(first + 1, host, 5);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @notice Answers in two steps (`commitAnswer`, `revealAnswer`, `expireCommitment`): every
/// path with every party's balance, every revert with its values, and the copier who watches
/// the mempool failing at every point it could try.
contract BrokerCommitTest is Fixtures {
    uint64 internal constant STEPS = 5;
    bytes32 internal constant SALT = keccak256("host's secret");

    function _claim(bytes memory result) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(true, result));
    }

    function _commitment(uint256 id, address who, bytes32 salt) internal view returns (bytes32) {
        return broker.answerCommitment(id, _claim(_counterResult(STEPS)), STEPS, who, salt);
    }

    /// @dev A request and `host`'s commitment to its true answer; returns the id.
    function _committed() internal returns (uint256 id) {
        id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        bytes32 commitment = _commitment(id, host, SALT);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(id, commitment);
    }

    /// @dev The requester accepts the standing answer and it is paid out.
    function _acceptAndPay(uint256 id) internal {
        vm.prank(requester);
        broker.softResolveAnswer(id);
        broker.finalize(id);
    }

    function _reveal(uint256 id, address who, bytes32 salt) internal {
        vm.prank(who);
        broker.revealAnswer(id, _counterResult(STEPS), STEPS, true, salt);
    }

    // ---------------------------------------------------------------------------------------
    // The two steps
    // ---------------------------------------------------------------------------------------

    function test_answerCommitment_IsTheDocumentedHash() public view {
        bytes32 claim = _claim(hex"aa");
        vm.assertEq(
            broker.answerCommitment(7, claim, 3, host, SALT),
            keccak256(abi.encode(uint256(7), claim, uint64(3), host, SALT))
        );
    }

    function test_commitAnswer_TakesTheDepositAndHoldsTheRequest() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        bytes32 commitment = _commitment(id, host, SALT);
        vm.expectEmit(address(broker));
        emit IBroker.AnswerCommitted(id, host, commitment, block.number + broker.REVEAL_BLOCKS());
        vm.prank(host);
        broker.commitAnswer{value: deposit}(id, commitment);

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.Committed));
        vm.assertEq(r.host, host);
        vm.assertEq(r.claim, commitment);
        vm.assertEq(r.deadline, block.number + broker.REVEAL_BLOCKS());
        vm.assertEq(address(broker).balance, PAYMENT + deposit);
        vm.assertEq(host.balance, FUNDS - deposit);
    }

    function test_revealAnswer_OpensTheWindowAsAnAnswerWould() public {
        uint256 id = _committed();
        vm.roll(block.number + 1);
        vm.expectEmit(address(broker));
        emit IBroker.Answered(id, host, _counterResult(STEPS), STEPS, true, block.number + WINDOW);
        _reveal(id, host, SALT);

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.WaitingForResolution));
        vm.assertEq(r.claim, _claim(_counterResult(STEPS)));
        vm.assertEq(r.steps, STEPS);
        vm.assertEq(r.deadline, block.number + WINDOW);
    }

    function test_commitReveal_PaysTheHostAsAPlainAnswer() public {
        uint256 id = _committed();
        uint256 deposit = broker.requiredDeposit(id);
        _reveal(id, host, SALT);
        _rollPast(broker.getRequest(id).deadline);
        vm.prank(stranger);
        broker.softResolveAnswer(id);
        broker.finalize(id);
        vm.assertEq(broker.balanceOf(host), PAYMENT + deposit);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit);
        vm.assertEq(host.balance, FUNDS + PAYMENT);
        vm.assertEq(requester.balance, FUNDS - PAYMENT);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_revealedAnswer_CanBeChallengedAndLosesAsAPlainOne() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        bytes memory wrong = _counterResult(STEPS + 1);
        bytes32 commitment = broker.answerCommitment(id, _claim(wrong), STEPS, host, SALT);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(id, commitment);
        vm.prank(host);
        broker.revealAnswer(id, wrong, STEPS, true, SALT);
        _challenge(id, challenger, _counterResult(STEPS), STEPS);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.NeedsResolution));
        vm.assertEq(broker.getChallenge(id).challenger, challenger);
    }

    // ---------------------------------------------------------------------------------------
    // Expiry
    // ---------------------------------------------------------------------------------------

    function test_expireCommitment_CreditsTheDepositToTheRequesterAndReopens() public {
        uint256 id = _committed();
        uint256 deposit = broker.requiredDeposit(id);
        uint256 deadline = broker.getRequest(id).deadline;
        vm.roll(deadline);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DeadlineNotReached.selector, id, deadline));
        broker.expireCommitment(id);

        _rollPast(deadline);
        vm.expectEmit(address(broker));
        emit IBroker.CommitmentExpired(id, host);
        vm.expectEmit(address(broker));
        emit IBroker.Credited(requester, id, deposit, IBroker.CreditReason.DelayCompensation);
        vm.prank(stranger);
        broker.expireCommitment(id);

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.Pending));
        vm.assertEq(r.host, address(0));
        vm.assertEq(r.claim, bytes32(0));
        vm.assertEq(broker.balanceOf(requester), deposit);
        vm.assertEq(broker.balanceOf(host), 0);
        vm.assertEq(address(broker).balance, PAYMENT + deposit);

        // Pending again: another host answers and is paid; the requester keeps the deposit.
        _answer(id, challenger, _counterResult(STEPS), STEPS);
        _acceptAndPay(id);
        vm.assertEq(_withdrawAll(challenger), PAYMENT + deposit);
        vm.assertEq(_withdrawAll(requester), deposit);
        vm.assertEq(host.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + deposit);
        vm.assertEq(challenger.balance, FUNDS + PAYMENT);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_revealAnswer_RevertWhen_TooLate() public {
        uint256 id = _committed();
        uint256 deadline = broker.getRequest(id).deadline;
        _rollPast(deadline);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DeadlinePassed.selector, id, deadline));
        _reveal(id, host, SALT);
    }

    // ---------------------------------------------------------------------------------------
    // Reverts
    // ---------------------------------------------------------------------------------------

    function test_commitAnswer_RevertWhen_NotPending() public {
        uint256 id = _committed();
        uint256 deposit = broker.requiredDeposit(id);
        _expectWrongStatus(id, IBroker.Status.Committed, IBroker.Status.Pending);
        vm.prank(challenger);
        broker.commitAnswer{value: deposit}(id, bytes32(uint256(1)));
    }

    function test_commitAnswer_RevertWhen_DepositTooLow() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DepositTooLow.selector, deposit - 1, deposit));
        vm.prank(host);
        broker.commitAnswer{value: deposit - 1}(id, bytes32(uint256(1)));
    }

    function test_commitAnswer_CreditsTheSurplus() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        bytes32 commitment = _commitment(id, host, SALT);
        vm.prank(host);
        broker.commitAnswer{value: deposit + 5}(id, commitment);
        vm.assertEq(broker.balanceOf(host), 5);
    }

    function test_revealAnswer_RevertWhen_NotCommitted() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _expectWrongStatus(id, IBroker.Status.Pending, IBroker.Status.Committed);
        _reveal(id, host, SALT);
    }

    function test_revealAnswer_RevertWhen_NotTheCommittedAnswer() public {
        uint256 id = _committed();
        bytes32 wrongSalt = keccak256("another salt");
        bytes32 computed = _commitment(id, host, wrongSalt);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.RevealMismatch.selector, id, computed, _commitment(id, host, SALT))
        );
        _reveal(id, host, wrongSalt);
    }

    function test_revealAnswer_RevertWhen_ClaimInvalid() public {
        uint256 id = _committed();
        uint64 maxSteps = broker.getRequest(id).maxSteps;
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotFinalBeforeMaxSteps.selector, STEPS, maxSteps));
        vm.prank(host);
        broker.revealAnswer(id, _counterResult(STEPS), STEPS, false, SALT);
    }

    function test_expireCommitment_RevertWhen_NotCommitted() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _expectWrongStatus(id, IBroker.Status.Pending, IBroker.Status.Committed);
        broker.expireCommitment(id);
    }

    function test_cancelRequest_RevertWhen_Committed() public {
        uint256 id = _committed();
        _expectWrongStatus(id, IBroker.Status.Committed, IBroker.Status.Pending);
        vm.prank(requester);
        broker.cancelRequest(id);
    }

    // ---------------------------------------------------------------------------------------
    // The copier: sees the host's transactions in the mempool before they are mined
    // ---------------------------------------------------------------------------------------

    /// The copier reads the honest reveal (result, steps, salt) from the mempool and sends it
    /// first with a higher fee: the commitment binds the host, so its reveal fails; a plain
    /// answer fails as the request is held for the committed host; the host's reveal lands and
    /// the host is paid.
    function test_copier_CannotTakeARevealedAnswer() public {
        address copier = stranger;
        uint256 id = _committed();
        uint256 deposit = broker.requiredDeposit(id);

        vm.expectRevert(abi.encodeWithSelector(IBroker.NotCommitter.selector, id, copier, host));
        _reveal(id, copier, SALT);
        _expectWrongStatus(id, IBroker.Status.Committed, IBroker.Status.Pending);
        vm.prank(copier);
        broker.answerRequest{value: deposit}(id, _counterResult(STEPS), STEPS);
        // Nor can it copy the commitment itself (it could never open it) or commit over it.
        bytes32 copy = _commitment(id, host, SALT);
        _expectWrongStatus(id, IBroker.Status.Committed, IBroker.Status.Pending);
        vm.prank(copier);
        broker.commitAnswer{value: deposit}(id, copy);

        _reveal(id, host, SALT);
        _acceptAndPay(id);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit);
        vm.assertEq(copier.balance, FUNDS);
    }

    /// The copier front-runs the host's commitment with a copy of it: it holds the request but
    /// cannot open the copy (the hash names the host), so it loses its deposit to the
    /// requester at expiry, and the host answers after.
    function test_copier_WhoFrontRunsTheCommitmentLosesItsDeposit() public {
        address copier = stranger;
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        bytes32 honest = _commitment(id, host, SALT);
        vm.prank(copier);
        broker.commitAnswer{value: deposit}(id, honest);

        bytes32 computed = _commitment(id, copier, SALT);
        vm.expectRevert(abi.encodeWithSelector(IBroker.RevealMismatch.selector, id, computed, honest));
        _reveal(id, copier, SALT);

        _rollPast(broker.getRequest(id).deadline);
        broker.expireCommitment(id);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(id, honest);
        _reveal(id, host, SALT);
        _acceptAndPay(id);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit);
        vm.assertEq(_withdrawAll(requester), deposit);
        vm.assertEq(copier.balance, FUNDS - deposit);
        vm.assertEq(address(broker).balance, 0);
    }

    // ---------------------------------------------------------------------------------------
    // Batches: commitAnswers, revealAnswers
    // ---------------------------------------------------------------------------------------

    /// @dev `count` requests, and `host`'s commitments to their true answers.
    function _requestsAndCommitments(uint256 count)
        internal
        returns (uint256[] memory ids, bytes32[] memory commitments, uint256 deposits)
    {
        ids = new uint256[](count);
        commitments = new bytes32[](count);
        for (uint256 k = 0; k < count; ++k) {
            ids[k] = _request(counterId, _counterInput(STEPS));
            commitments[k] = _commitment(ids[k], host, SALT);
            deposits += broker.requiredDeposit(ids[k]);
        }
    }

    function _reveals(uint256[] memory ids) internal pure returns (IBroker.RevealedAnswer[] memory answers) {
        answers = new IBroker.RevealedAnswer[](ids.length);
        for (uint256 k = 0; k < ids.length; ++k) {
            answers[k] = IBroker.RevealedAnswer(ids[k], _counterResult(STEPS), STEPS, true, SALT);
        }
    }

    function test_commitAnswers_CommitsEach_SkipsOneTaken_AndAllArePaid() public {
        (uint256[] memory ids, bytes32[] memory commitments, uint256 deposits) = _requestsAndCommitments(3);
        uint256 deposit = broker.requiredDeposit(ids[1]);
        // Another host commits to the second first.
        bytes32 theirs = _commitment(ids[1], stranger, SALT);
        vm.prank(stranger);
        broker.commitAnswer{value: deposit}(ids[1], theirs);

        vm.prank(host);
        uint256 committed = broker.commitAnswers{value: deposits + 5}(ids, commitments);
        vm.assertEq(committed, 2);
        vm.assertEq(broker.getRequest(ids[0]).host, host);
        vm.assertEq(broker.getRequest(ids[1]).host, stranger, "the taken one is untouched");
        vm.assertEq(broker.getRequest(ids[2]).host, host);
        vm.assertEq(broker.balanceOf(host), deposit + 5, "the skipped deposit and the surplus come back");

        vm.prank(host);
        vm.assertEq(broker.revealAnswers(_reveals(ids)), 2, "the stranger's is not ours to reveal");
        vm.assertEq(uint8(_status(ids[0])), uint8(IBroker.Status.WaitingForResolution));
        vm.assertEq(uint8(_status(ids[1])), uint8(IBroker.Status.Committed));
        vm.assertEq(uint8(_status(ids[2])), uint8(IBroker.Status.WaitingForResolution));
        vm.assertEq(broker.recordOf(host).answered, 2);

        _rollPast(broker.getRequest(ids[2]).deadline);
        broker.settle(ids);
        vm.assertEq(_withdrawAll(host), 2 * (PAYMENT + deposit) + deposit + 5);
        vm.assertEq(host.balance, FUNDS + 2 * PAYMENT);
        vm.assertEq(requester.balance, FUNDS - 3 * PAYMENT);
        vm.assertEq(stranger.balance, FUNDS - deposit, "its deposit is in its commitment");
        vm.assertEq(address(broker).balance, PAYMENT + deposit, "the stranger's request, still held");
    }

    function test_commitAnswers_SkipsARequestThatDoesNotAdmitTheHost() public {
        uint256[] memory ids = new uint256[](1);
        bytes32[] memory commitments = new bytes32[](1);
        vm.prank(requester);
        ids[0] = broker.requestExecution{value: PAYMENT}(
            counterId,
            _counterInput(STEPS),
            WINDOW,
            IBroker.RequestOptions(broker.DEFAULT_MAX_STEPS(), 0, IBroker.DisputeMode.Bisection, 1)
        );
        commitments[0] = _commitment(ids[0], host, SALT);
        uint256 deposit = broker.requiredDeposit(ids[0]);
        vm.prank(host);
        vm.assertEq(broker.commitAnswers{value: deposit}(ids, commitments), 0);
        vm.assertEq(uint8(_status(ids[0])), uint8(IBroker.Status.Pending));
        vm.assertEq(broker.balanceOf(host), deposit);
    }

    function test_commitAnswers_RevertWhen_DepositTooLow() public {
        (uint256[] memory ids, bytes32[] memory commitments, uint256 deposits) = _requestsAndCommitments(2);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DepositTooLow.selector, deposits - 1, deposits));
        vm.prank(host);
        broker.commitAnswers{value: deposits - 1}(ids, commitments);
        vm.assertEq(uint8(_status(ids[0])), uint8(IBroker.Status.Pending));
    }

    function test_commitAnswers_RevertWhen_LengthsDifferOrAnIdIsUnknown() public {
        (uint256[] memory ids, bytes32[] memory commitments, uint256 deposits) = _requestsAndCommitments(2);
        bytes32[] memory one = new bytes32[](1);
        vm.expectRevert(abi.encodeWithSelector(IBroker.BatchLengthMismatch.selector, 2, 1));
        vm.prank(host);
        broker.commitAnswers{value: deposits}(ids, one);
        ids[1] = 99;
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, 99));
        vm.prank(host);
        broker.commitAnswers{value: deposits}(ids, commitments);
        // An empty batch would leave its value with no request to be credited from.
        uint256 held = address(broker).balance;
        vm.expectRevert(IBroker.EmptyBatch.selector);
        vm.prank(host);
        broker.commitAnswers{value: 1 ether}(new uint256[](0), new bytes32[](0));
        vm.assertEq(address(broker).balance, held);
    }

    function test_revealAnswers_SkipsOnePastItsDeadline_RevertsOnAWrongSalt() public {
        (uint256[] memory ids, bytes32[] memory commitments, uint256 deposits) = _requestsAndCommitments(2);
        vm.prank(host);
        broker.commitAnswers{value: deposits}(ids, commitments);
        IBroker.RevealedAnswer[] memory answers = _reveals(ids);
        answers[1].salt = keccak256("not the salt");
        bytes32 computed = broker.answerCommitment(ids[1], _claim(_counterResult(STEPS)), STEPS, host, answers[1].salt);
        vm.expectRevert(abi.encodeWithSelector(IBroker.RevealMismatch.selector, ids[1], computed, commitments[1]));
        vm.prank(host);
        broker.revealAnswers(answers);

        _rollPast(broker.getRequest(ids[0]).deadline);
        vm.prank(host);
        vm.assertEq(broker.revealAnswers(_reveals(ids)), 0, "too late: skipped, to be expired");
        vm.assertEq(uint8(_status(ids[0])), uint8(IBroker.Status.Committed));
    }

    /// @dev Twenty answers committed and revealed in two transactions, against forty.
    function test_gas_CommitAndRevealInBatchesOf20() public {
        _answer(_request(counterId, _counterInput(STEPS)), host, _counterResult(STEPS), STEPS);
        (uint256[] memory ids, bytes32[] memory commitments, uint256 deposits) = _requestsAndCommitments(20);
        vm.prank(host);
        broker.commitAnswers{value: deposits}(ids, commitments);
        uint256 commitGas = vm.snapshotGasLastCall("commitAnswers_batchOf20_total");
        vm.roll(block.number + 1);
        vm.prank(host);
        broker.revealAnswers(_reveals(ids));
        uint256 revealGas = vm.snapshotGasLastCall("revealAnswers_batchOf20_total");
        vm.snapshotValue("commitReveal_batchOf20_perJob", (commitGas + revealGas) / 20);
        for (uint256 k = 0; k < 20; ++k) {
            vm.assertEq(uint8(_status(ids[k])), uint8(IBroker.Status.WaitingForResolution));
        }
    }

    // ---------------------------------------------------------------------------------------
    // Gas: the soft path through a commitment
    // ---------------------------------------------------------------------------------------

    /// @dev As `test_gas_SoftPath`: the request counter and the host's record are warm, as on
    /// a live Broker (a host answered before).
    function test_gas_CommitRevealSoftPath() public {
        _answer(_request(counterId, _counterInput(STEPS)), host, _counterResult(STEPS), STEPS);
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        bytes32 commitment = _commitment(id, host, SALT);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(id, commitment);
        uint256 commitGas = vm.snapshotGasLastCall("commitAnswer");
        vm.roll(block.number + 1);
        _reveal(id, host, SALT);
        uint256 revealGas = vm.snapshotGasLastCall("revealAnswer");
        vm.snapshotValue("commitReveal_answerTotal", commitGas + revealGas);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.WaitingForResolution));
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @notice Many requests in one transaction (`requestExecutionBatch`): each is a request of its
/// own from then on, with its own payment, window, answers, disputes and money. And many
/// settled in one (`settle`).
contract BrokerBatchTest is Fixtures {
    uint64 internal constant STEPS = 5;

    function _inputs(uint256 count) internal pure returns (bytes[] memory inputs) {
        inputs = new bytes[](count);
        for (uint256 k = 0; k < count; ++k) {
            inputs[k] = _counterInput(uint64(STEPS + k));
        }
    }

    function _options() internal view returns (IBroker.RequestOptions memory) {
        return IBroker.RequestOptions(broker.DEFAULT_MAX_STEPS(), 0, IBroker.DisputeMode.Bisection, 0);
    }

    function _batch(uint256 count) internal returns (uint256 firstId) {
        bytes[] memory inputs = _inputs(count);
        IBroker.RequestOptions memory options = _options();
        vm.prank(requester);
        firstId = broker.requestExecutionBatch{value: PAYMENT * count}(counterId, inputs, WINDOW, options);
    }

    function test_requestExecutionBatch_MakesOneRequestPerInput() public {
        _request(counterId, _counterInput(1));
        bytes[] memory inputs = _inputs(3);
        IBroker.RequestOptions memory options = _options();
        for (uint256 k = 0; k < 3; ++k) {
            vm.expectEmit(address(broker));
            emit IBroker.Created(2 + k, counterId, requester);
            vm.expectEmit(address(broker));
            emit IBroker.RequestInput(
                2 + k, inputs[k], PAYMENT, options.maxSteps, 0, uint32(WINDOW), IBroker.DisputeMode.Bisection, 0
            );
        }
        vm.prank(requester);
        uint256 firstId = broker.requestExecutionBatch{value: 3 * PAYMENT}(counterId, inputs, WINDOW, options);

        vm.assertEq(firstId, 2);
        vm.assertEq(broker.requestCount(), 4);
        for (uint256 k = 0; k < 3; ++k) {
            IBroker.Request memory r = broker.getRequest(firstId + k);
            vm.assertEq(r.requester, requester);
            vm.assertEq(uint8(r.status), uint8(IBroker.Status.Pending));
            vm.assertEq(r.payment, PAYMENT);
            vm.assertEq(r.inputCommitment, keccak256(abi.encodePacked(false, inputs[k])));
            vm.assertEq(r.softResolutionBlocks, WINDOW);
        }
        vm.assertEq(address(broker).balance, 4 * PAYMENT);
        vm.assertEq(requester.balance, FUNDS - 4 * PAYMENT);
    }

    /// A cancel, an accepted answer and a lost dispute on three requests of one batch: each
    /// settles on its own, with every party's balance.
    function test_batch_EachRequestSettlesOnItsOwn() public {
        uint256 first = _batch(3);
        uint256 deposit = broker.requiredDeposit(first);
        // The first: cancelled.
        vm.prank(requester);
        broker.cancelRequest(first);
        // The second: answered and accepted.
        _answer(first + 1, host, _counterResult(STEPS + 1), STEPS + 1);
        vm.prank(requester);
        broker.softResolveAnswer(first + 1);
        broker.finalize(first + 1);
        // The third: answered wrong, challenged; the challenge alone touches it.
        _answer(first + 2, stranger, _counterResult(STEPS + 3), STEPS + 2);
        _challenge(first + 2, challenger, _counterResult(STEPS + 2), STEPS + 2);
        vm.assertEq(uint8(_status(first)), uint8(IBroker.Status.Cancelled));
        vm.assertEq(uint8(_status(first + 1)), uint8(IBroker.Status.Finalized));
        vm.assertEq(uint8(_status(first + 2)), uint8(IBroker.Status.NeedsResolution));

        vm.assertEq(_withdrawAll(requester), PAYMENT);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit);
        vm.assertEq(requester.balance, FUNDS - 2 * PAYMENT);
        vm.assertEq(host.balance, FUNDS + PAYMENT);
        vm.assertEq(stranger.balance, FUNDS - deposit);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        // What the Broker holds is the third request's: its payment and two deposits.
        vm.assertEq(address(broker).balance, PAYMENT + 2 * deposit);
    }

    function test_requestExecutionBatch_RevertWhen_Empty() public {
        IBroker.RequestOptions memory options = _options();
        vm.expectRevert(abi.encodeWithSelector(IBroker.BatchPaymentUneven.selector, PAYMENT, 0));
        vm.prank(requester);
        broker.requestExecutionBatch{value: PAYMENT}(counterId, new bytes[](0), WINDOW, options);
    }

    function test_requestExecutionBatch_RevertWhen_PaymentDoesNotSplitEvenly() public {
        bytes[] memory inputs = _inputs(3);
        IBroker.RequestOptions memory options = _options();
        vm.expectRevert(abi.encodeWithSelector(IBroker.BatchPaymentUneven.selector, PAYMENT + 1, 3));
        vm.prank(requester);
        broker.requestExecutionBatch{value: PAYMENT + 1}(counterId, inputs, WINDOW, options);
    }

    /// One bad input refuses the whole batch: nothing is requested, nothing is kept.
    function test_requestExecutionBatch_RevertWhen_AnInputIsBad_AndNothingIsKept() public {
        bytes[] memory inputs = _inputs(3);
        inputs[1] = new bytes(broker.MAX_INPUT_BYTES() + 1);
        IBroker.RequestOptions memory options = _options();
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.InputTooLarge.selector, inputs[1].length, broker.MAX_INPUT_BYTES())
        );
        vm.prank(requester);
        broker.requestExecutionBatch{value: 3 * PAYMENT}(counterId, inputs, WINDOW, options);
        vm.assertEq(broker.requestCount(), 0);
        vm.assertEq(address(broker).balance, 0);
        vm.assertEq(requester.balance, FUNDS);
    }

    // ---------------------------------------------------------------------------------------
    // settle: accept and pay out many requests in one call
    // ---------------------------------------------------------------------------------------

    /// One of each: window open (skipped), window passed (accepted and paid), accepted (paid),
    /// already paid (skipped), pending (skipped), unknown (skipped); every balance after.
    function test_settle_PaysWhatCanBePaidAndSkipsTheRest() public {
        uint256 first = _batch(5);
        uint256 deposit = broker.requiredDeposit(first);
        for (uint256 k = 0; k < 4; ++k) {
            _answer(first + k, host, _counterResult(uint64(STEPS + k)), uint64(STEPS + k));
        }
        uint256 passed = first + 1;
        uint256 accepted = first + 2;
        uint256 paidAlready = first + 3;
        vm.prank(requester);
        broker.softResolveAnswer(accepted);
        vm.prank(requester);
        broker.softResolveAnswer(paidAlready);
        broker.finalize(paidAlready);
        // Request `first` is answered later, so its window is still open when `passed`'s ends.
        vm.roll(broker.getRequest(passed).deadline + 1);
        vm.prank(requester);
        broker.cancelRequest(first + 4);
        _rollPast(block.number);
        uint256 open = _request(counterId, _counterInput(STEPS));
        _answer(open, host, _counterResult(STEPS), STEPS);

        uint256[] memory ids = new uint256[](6);
        (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]) = (open, passed, accepted, paidAlready, first + 4, 999);
        vm.expectEmit(address(broker));
        emit IBroker.SoftResolved(passed, stranger);
        vm.prank(stranger);
        uint256 paid = broker.settle(ids);

        vm.assertEq(paid, 2);
        vm.assertEq(uint8(_status(open)), uint8(IBroker.Status.WaitingForResolution));
        vm.assertEq(uint8(_status(passed)), uint8(IBroker.Status.Finalized));
        vm.assertEq(uint8(_status(accepted)), uint8(IBroker.Status.Finalized));
        vm.assertEq(uint8(_status(first + 4)), uint8(IBroker.Status.Cancelled));
        // Three paid to the host (one before), the cancel refunded; `first` and `open` held.
        vm.assertEq(_withdrawAll(host), 3 * (PAYMENT + deposit));
        vm.assertEq(_withdrawAll(requester), PAYMENT);
        vm.assertEq(address(broker).balance, 2 * (PAYMENT + deposit));
        vm.assertEq(stranger.balance, FUNDS);
    }

    function test_settle_AcceptsForTheRequesterWithinTheWindow() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        _answer(id, host, _counterResult(STEPS), STEPS);
        uint256[] memory ids = new uint256[](1);
        ids[0] = id;
        // A stranger cannot cut the window short...
        vm.prank(stranger);
        vm.assertEq(broker.settle(ids), 0);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.WaitingForResolution));
        // ...the requester can, as with softResolveAnswer.
        vm.prank(requester);
        vm.assertEq(broker.settle(ids), 1);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit);
    }

    /// Execution gas per request of accepting and paying out 20 requests in one `settle`,
    /// against `softResolveAnswer` then `finalize` for each.
    function test_gas_SettleTwentyAgainstOneByOne() public {
        uint256 first = _batch(21);
        for (uint256 k = 0; k < 21; ++k) {
            _answer(first + k, host, _counterResult(uint64(STEPS + k)), uint64(STEPS + k));
        }
        vm.roll(block.number + WINDOW + 1);
        vm.prank(host);
        broker.softResolveAnswer(first);
        uint256 single = vm.snapshotGasLastCall("settle_single_softResolve");
        vm.prank(host);
        broker.finalize(first);
        single += vm.snapshotGasLastCall("settle_single_finalize");
        uint256[] memory ids = new uint256[](20);
        for (uint256 k = 0; k < 20; ++k) {
            ids[k] = first + 1 + k;
        }
        vm.prank(host);
        vm.assertEq(broker.settle(ids), 20);
        uint256 perJob = vm.snapshotGasLastCall("settle_batchOf20_total") / 20;
        vm.snapshotValue("settle_batchOf20_perJob", perJob);
        vm.assertLt(perJob, single);
    }

    /// Execution gas per request: one `requestExecution` with options, against a batch of 20.
    function test_gas_BatchOfTwentyAgainstOne() public {
        _request(counterId, _counterInput(1));
        IBroker.RequestOptions memory options = _options();
        bytes memory input = _counterInput(STEPS);
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(counterId, input, WINDOW, options);
        uint256 single = vm.snapshotGasLastCall("request_single_withOptions");
        bytes[] memory inputs = _inputs(20);
        vm.prank(requester);
        broker.requestExecutionBatch{value: 20 * PAYMENT}(counterId, inputs, WINDOW, options);
        uint256 perJob = vm.snapshotGasLastCall("request_batchOf20_total") / 20;
        vm.snapshotValue("request_batchOf20_perJob", perJob);
        vm.assertLt(perJob, single);
    }
}

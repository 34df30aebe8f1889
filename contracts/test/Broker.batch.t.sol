// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @notice Many requests in one transaction (`requestExecutionBatch`): each is a request of its
/// own from then on, with its own payment, window, answers, disputes and money.
contract BrokerBatchTest is Fixtures {
    uint64 internal constant STEPS = 5;

    function _inputs(uint256 count) internal pure returns (bytes[] memory inputs) {
        inputs = new bytes[](count);
        for (uint256 k = 0; k < count; ++k) {
            inputs[k] = _counterInput(uint64(STEPS + k));
        }
    }

    function _options() internal view returns (IBroker.RequestOptions memory) {
        return IBroker.RequestOptions(broker.DEFAULT_MAX_STEPS(), 0, IBroker.DisputeMode.Bisection);
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
                2 + k, inputs[k], PAYMENT, options.maxSteps, 0, uint32(WINDOW), IBroker.DisputeMode.Bisection
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

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Broker} from "../Broker.sol";
import {BrokerTournaments} from "../BrokerTournaments.sol";
import {IBroker} from "../interfaces/IBroker.sol";
import {IFactory} from "../interfaces/IFactory.sol";
import {Deposits} from "../libraries/Deposits.sol";
import {Fixtures} from "./utils/Fixtures.sol";
import {Reentrant, Rejecting} from "./utils/Actors.sol";

/// @notice The request lifecycle without disputes: every function, every revert with its exact
/// error and values, and every party's balance on every path.
contract BrokerTest is Fixtures {
    bytes internal constant RESULT = hex"aa";
    bytes internal constant OTHER = hex"bb";
    uint64 internal constant STEPS = 5;

    // ---------------------------------------------------------------------------------------
    // constructor
    // ---------------------------------------------------------------------------------------

    function test_constructor_RevertWhen_ArityOutOfRange() public {
        BrokerTournaments module = new BrokerTournaments(factory, 16, CLOCK);
        vm.expectRevert(abi.encodeWithSelector(IBroker.ArityOutOfRange.selector, 1, 2, 32));
        new Broker(factory, 1, CLOCK, module);
        vm.expectRevert(abi.encodeWithSelector(IBroker.ArityOutOfRange.selector, 33, 2, 32));
        new Broker(factory, 33, CLOCK, module);
    }

    function test_constructor_RevertWhen_ZeroClock() public {
        BrokerTournaments module = new BrokerTournaments(factory, 16, CLOCK);
        vm.expectRevert(IBroker.ZeroClock.selector);
        new Broker(factory, 16, 0, module);
    }

    function test_constructor_RevertWhen_TheTournamentModuleHasOtherParameters() public {
        BrokerTournaments otherClock = new BrokerTournaments(factory, ARITY, CLOCK + 1);
        vm.expectRevert(abi.encodeWithSelector(IBroker.ModuleMismatch.selector, address(otherClock)));
        new Broker(factory, ARITY, CLOCK, otherClock);
        BrokerTournaments otherArity = new BrokerTournaments(factory, ARITY + 1, CLOCK);
        vm.expectRevert(abi.encodeWithSelector(IBroker.ModuleMismatch.selector, address(otherArity)));
        new Broker(factory, ARITY, CLOCK, otherArity);
    }

    function test_constructor_StoresConfig() public view {
        vm.assertEq(broker.factory(), address(factory));
        vm.assertEq(broker.arity(), ARITY);
        vm.assertEq(broker.clockBlocks(), CLOCK);
    }

    // ---------------------------------------------------------------------------------------
    // requestExecution
    // ---------------------------------------------------------------------------------------

    function test_requestExecution_StoresRequestAndHoldsPayment() public {
        bytes memory input = _counterInput(STEPS);
        vm.expectEmit(address(broker));
        emit IBroker.Created(1, counterId, requester);
        vm.expectEmit(address(broker));
        emit IBroker.RequestInput(
            1, input, PAYMENT, broker.DEFAULT_MAX_STEPS(), 0, uint32(WINDOW), IBroker.DisputeMode.Bisection, 0
        );
        uint256 id = _request(counterId, input);

        vm.assertEq(id, 1);
        vm.assertEq(broker.requestCount(), 1);
        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.requester, requester);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.Pending));
        vm.assertEq(uint8(r.mode), uint8(IBroker.DisputeMode.Bisection));
        vm.assertEq(r.softResolutionBlocks, WINDOW);
        vm.assertEq(r.programId, counterId);
        vm.assertEq(r.inputCommitment, keccak256(abi.encodePacked(false, input)));
        vm.assertEq(r.payment, PAYMENT);
        vm.assertEq(r.maxSteps, broker.DEFAULT_MAX_STEPS());
        vm.assertEq(r.maxStepGas, COUNTER_STEP_GAS);
        vm.assertEq(r.host, address(0));
        vm.assertEq(address(broker).balance, PAYMENT);
        vm.assertEq(requester.balance, FUNDS - PAYMENT);
    }

    /// @notice A request stores its program by the Broker's index of it, the terms copied from
    /// the Factory by the program's first request: later requests do not ask the Factory, and
    /// every request still shows its program's id and step gas.
    function test_request_TheFirstRequestOfAProgramNotesItsTerms() public {
        (, uint32 fibonacciStepGas,) = factory.stepInfo(fibonacciId);
        vm.expectCall(address(factory), abi.encodeCall(IFactory.stepInfo, (counterId)), 1);
        vm.expectCall(address(factory), abi.encodeCall(IFactory.stepInfo, (fibonacciId)), 1);
        uint256 a = _request(counterId, _counterInput(3));
        uint256 b = _request(fibonacciId, hex"01");
        uint256 c = _request(counterId, _counterInput(4));
        vm.assertEq(broker.getRequest(a).programId, counterId);
        vm.assertEq(broker.getRequest(b).programId, fibonacciId);
        vm.assertEq(broker.getRequest(c).programId, counterId);
        vm.assertEq(broker.getRequest(c).maxStepGas, COUNTER_STEP_GAS);
        vm.assertEq(broker.getRequest(b).maxStepGas, fibonacciStepGas);
        vm.assertEq(broker.requiredDeposit(c), broker.requiredDeposit(a));
    }

    /// Requests name their requester and host by account index (`StoredRequest`): one index
    /// per account whatever its roles, its two words written by its first request, answer or
    /// challenge only. The host of one request requests another and its requester answers it;
    /// a newcomer challenges (enrolled by its challenge) and wins on the host's clock, so its
    /// index becomes the host's; every request still names every party by its address.
    function test_accounts_OneIndexPerAccountInEveryRole() public {
        uint256 a = _request(counterId, _counterInput(STEPS));
        uint256 gasBefore = gasleft();
        _answer(a, host, _counterResult(STEPS), STEPS);
        uint256 firstAnswerGas = gasBefore - gasleft();
        vm.prank(host);
        uint256 b = broker.requestExecution{value: PAYMENT}(counterId, _counterInput(STEPS), WINDOW);
        _answer(b, requester, _counterResult(STEPS), STEPS);
        uint256 c = _request(counterId, _counterInput(STEPS + 1));
        gasBefore = gasleft();
        _answer(c, host, _counterResult(STEPS + 1), STEPS + 1);
        uint256 laterAnswerGas = gasBefore - gasleft();
        vm.assertTrue(firstAnswerGas > laterAnswerGas + 2 * 20_000, "the first answer writes the account's two words");

        _challenge(a, stranger, _counterResult(STEPS + 2), STEPS);
        broker.initializeDispute(a);
        _rollPast(block.number + CLOCK);
        broker.claimTimeout(a);

        vm.assertEq(broker.getRequest(a).requester, requester);
        vm.assertEq(broker.getRequest(a).host, stranger, "the winning challenger is the host");
        vm.assertEq(broker.getRequest(b).requester, host);
        vm.assertEq(broker.getRequest(b).host, requester);
        vm.assertEq(broker.getRequest(c).requester, requester);
        vm.assertEq(broker.getRequest(c).host, host);
    }

    function test_requestExecution_DefaultGasPriceIsTheTransactions() public {
        vm.txGasPrice(3 gwei);
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.assertEq(broker.getRequest(id).maxGasPrice, 3 gwei);
    }

    function test_requestExecution_WithOptions() public {
        uint256 id = _requestWith(counterId, _counterInput(STEPS), 100, 2 gwei, IBroker.DisputeMode.FullExecution);
        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.maxSteps, 100);
        vm.assertEq(r.maxGasPrice, 2 gwei);
        vm.assertEq(uint8(r.mode), uint8(IBroker.DisputeMode.FullExecution));
    }

    function test_requestExecution_RevertWhen_UnknownProgram() public {
        vm.expectRevert(abi.encodeWithSelector(IBroker.UnknownProgram.selector, bytes32(uint256(42))));
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(bytes32(uint256(42)), "", WINDOW);
    }

    function test_requestExecution_RevertWhen_ZeroPayment() public {
        vm.expectRevert(IBroker.ZeroPayment.selector);
        vm.prank(requester);
        broker.requestExecution(counterId, "", WINDOW);
    }

    function test_requestExecution_RevertWhen_PaymentTooLarge() public {
        uint256 tooMuch = uint256(type(uint96).max) + 1;
        vm.deal(requester, tooMuch);
        vm.expectRevert(abi.encodeWithSelector(IBroker.PaymentTooLarge.selector, tooMuch, type(uint96).max));
        vm.prank(requester);
        broker.requestExecution{value: tooMuch}(counterId, "", WINDOW);
    }

    function test_requestExecution_RevertWhen_InputTooLarge() public {
        bytes memory input = new bytes(8193);
        vm.expectRevert(abi.encodeWithSelector(IBroker.InputTooLarge.selector, 8193, 8192));
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(counterId, input, WINDOW);
    }

    function test_requestExecution_AcceptsMaximumInput() public {
        uint256 id = _request(blake2bId, new bytes(8192));
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Pending));
    }

    function test_requestExecution_RevertWhen_WindowOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IBroker.WindowOutOfRange.selector, 0, 1, type(uint32).max));
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(counterId, "", 0);
        uint256 tooLong = uint256(type(uint32).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IBroker.WindowOutOfRange.selector, tooLong, 1, type(uint32).max));
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(counterId, "", tooLong);
    }

    function test_requestExecution_RevertWhen_MaxStepsOutOfRange() public {
        IBroker.RequestOptions memory zero = IBroker.RequestOptions(0, 0, IBroker.DisputeMode.Bisection, 0);
        vm.expectRevert(abi.encodeWithSelector(IBroker.MaxStepsOutOfRange.selector, 0, 1, type(uint64).max));
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(counterId, "", WINDOW, zero);

        uint64 tooMany = broker.MAX_FULL_EXECUTION_STEPS() + 1;
        IBroker.RequestOptions memory full = IBroker.RequestOptions(tooMany, 0, IBroker.DisputeMode.FullExecution, 0);
        vm.expectRevert(abi.encodeWithSelector(IBroker.MaxStepsOutOfRange.selector, tooMany, 1, tooMany - 1));
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(counterId, "", WINDOW, full);
    }

    function test_requestExecution_RevertWhen_MaxGasPriceTooHigh() public {
        uint256 max = broker.MAX_GAS_PRICE();
        vm.assertEq(max, type(uint48).max);
        IBroker.RequestOptions memory options =
            IBroker.RequestOptions(broker.DEFAULT_MAX_STEPS(), uint64(max + 1), IBroker.DisputeMode.Bisection, 0);
        vm.expectRevert(abi.encodeWithSelector(IBroker.MaxGasPriceTooHigh.selector, max + 1, max));
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(counterId, "", WINDOW, options);
    }

    function test_requestExecution_RevertWhen_DepositTooLarge() public {
        uint64 maxSteps = broker.MAX_FULL_EXECUTION_STEPS();
        uint64 gasPrice = uint64(broker.MAX_GAS_PRICE());
        IBroker.RequestOptions memory options =
            IBroker.RequestOptions(maxSteps, gasPrice, IBroker.DisputeMode.FullExecution, 0);
        uint256 payment = type(uint96).max;
        vm.deal(requester, payment);
        uint256 deposit = payment + 2 * uint256(gasPrice) * _fullExecutionGas(maxSteps);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DepositTooLarge.selector, deposit, type(uint96).max));
        vm.prank(requester);
        broker.requestExecution{value: payment}(counterId, "", WINDOW, options);
    }

    function test_requestExecution_RequestsAreNumberedFromOne() public {
        vm.assertEq(_request(counterId, ""), 1);
        vm.assertEq(_request(counterId, ""), 2);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, 0));
        broker.getRequest(0);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, 3));
        broker.getRequest(3);
    }

    function testFuzz_requestExecution_HoldsExactlyThePayment(uint96 payment, uint32 window) public {
        payment = uint96(bound(payment, 1, 1000 ether));
        window = uint32(bound(window, 1, type(uint32).max));
        vm.prank(requester);
        uint256 id = broker.requestExecution{value: payment}(counterId, _counterInput(3), window);
        vm.assertEq(address(broker).balance, payment);
        vm.assertEq(broker.getRequest(id).payment, payment);
        vm.assertEq(broker.getRequest(id).softResolutionBlocks, window);
    }

    // ---------------------------------------------------------------------------------------
    // requiredDeposit: units are wei, sized from the request's gas price bound
    // ---------------------------------------------------------------------------------------

    function test_requiredDeposit_IsPaymentPlusTwiceTheDisputeGasInWei() public {
        uint64 maxSteps = 1000;
        uint256 id = _requestWith(counterId, _counterInput(STEPS), maxSteps, 1 gwei, IBroker.DisputeMode.Bisection);
        uint256 rounds = broker.roundsFor(maxSteps); // ceil(log4 1000) = 5
        vm.assertEq(rounds, 5);
        uint256 gas = Deposits.BISECTION_FIXED_GAS + rounds * Deposits.BISECTION_ROUND_GAS + COUNTER_STEP_GAS;
        vm.assertEq(broker.requiredDeposit(id), PAYMENT + 2 * 1 gwei * gas);
    }

    /// The gas a full re-execution of `maxSteps` Counter steps is priced at: the fixed part,
    /// the steps, and a largest state carried by each call (one per 10M gas of steps).
    function _fullExecutionGas(uint256 maxSteps) internal pure returns (uint256) {
        uint256 stepsGas = maxSteps * (COUNTER_STEP_GAS + Deposits.FULL_EXECUTION_STEP_GAS);
        uint256 calls = 1 + stepsGas / Deposits.FULL_EXECUTION_CALL_GAS;
        uint256 perCall = Deposits.EXECUTE_CALL_OVERHEAD_GAS + 8192 * Deposits.EXECUTE_STATE_BYTE_GAS;
        return Deposits.FULL_EXECUTION_FIXED_GAS + stepsGas + calls * perCall;
    }

    function test_requiredDeposit_FullExecutionScalesWithSteps() public {
        uint256 id = _requestWith(counterId, _counterInput(STEPS), 10, 1 gwei, IBroker.DisputeMode.FullExecution);
        vm.assertEq(broker.requiredDeposit(id), PAYMENT + 2 * 1 gwei * _fullExecutionGas(10));
    }

    function testFuzz_requiredDeposit_GrowsWithGasPrice(uint64 lowPrice, uint64 highPrice) public {
        lowPrice = uint64(bound(lowPrice, 0, 1000 gwei));
        highPrice = uint64(bound(highPrice, lowPrice, 1000 gwei));
        uint256 low = _requestWith(counterId, "", 1000, lowPrice, IBroker.DisputeMode.Bisection);
        uint256 high = _requestWith(counterId, "", 1000, highPrice, IBroker.DisputeMode.Bisection);
        vm.assertLe(broker.requiredDeposit(low), broker.requiredDeposit(high));
        vm.assertGe(broker.requiredDeposit(low), PAYMENT);
    }

    function test_requiredDeposit_RevertWhen_NoSuchRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, 7));
        broker.requiredDeposit(7);
    }

    // ---------------------------------------------------------------------------------------
    // cancelRequest
    // ---------------------------------------------------------------------------------------

    function test_cancelRequest_RefundsThePayment() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.expectEmit(address(broker));
        emit IBroker.Cancelled(id);
        vm.expectEmit(address(broker));
        emit IBroker.Credited(requester, id, PAYMENT, IBroker.CreditReason.Refund);
        vm.prank(requester);
        broker.cancelRequest(id);

        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Cancelled));
        vm.assertEq(broker.balanceOf(requester), PAYMENT);
        vm.assertEq(_withdrawAll(requester), PAYMENT);
        vm.assertEq(requester.balance, FUNDS);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_cancelRequest_RevertWhen_NotRequester() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotRequester.selector, id, stranger, requester));
        vm.prank(stranger);
        broker.cancelRequest(id);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Pending));
        vm.assertEq(broker.balanceOf(stranger), 0);
    }

    function test_cancelRequest_RevertWhen_Answered() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.WaitingForResolution, IBroker.Status.Pending
            )
        );
        vm.prank(requester);
        broker.cancelRequest(id);
    }

    function test_cancelRequest_RevertWhen_AlreadyCancelled() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.prank(requester);
        broker.cancelRequest(id);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.WrongStatus.selector, id, IBroker.Status.Cancelled, IBroker.Status.Pending)
        );
        vm.prank(requester);
        broker.cancelRequest(id);
        vm.assertEq(broker.balanceOf(requester), PAYMENT);
    }

    function test_cancelRequest_RevertWhen_NoSuchRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, 9));
        vm.prank(requester);
        broker.cancelRequest(9);
    }

    // ---------------------------------------------------------------------------------------
    // answerRequest
    // ---------------------------------------------------------------------------------------

    function test_answerRequest_LocksDepositAndOpensWindow() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        vm.roll(100);
        vm.expectEmit(address(broker));
        emit IBroker.Answered(id, host, RESULT, STEPS, true, 100 + WINDOW);
        _answer(id, host, RESULT, STEPS);

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.WaitingForResolution));
        vm.assertEq(r.host, host);
        vm.assertEq(r.steps, STEPS);
        vm.assertEq(r.claim, keccak256(abi.encodePacked(true, RESULT)));
        vm.assertEq(r.deadline, 100 + WINDOW);
        vm.assertEq(host.balance, FUNDS - deposit);
        vm.assertEq(address(broker).balance, PAYMENT + deposit);
        vm.assertEq(broker.balanceOf(host), 0);
    }

    function test_answerRequest_OutOfStepsAtMaxSteps() public {
        uint256 id = _requestWith(counterId, _counterInput(100), 10, 0, IBroker.DisputeMode.Bisection);
        _answer(id, host, RESULT, 10, false);
        vm.assertEq(broker.getRequest(id).claim, keccak256(abi.encodePacked(false, RESULT)));
    }

    function test_answerRequest_RevertWhen_NotFinalBeforeMaxSteps() public {
        uint256 id = _requestWith(counterId, _counterInput(100), 10, 0, IBroker.DisputeMode.Bisection);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotFinalBeforeMaxSteps.selector, 9, 10));
        vm.prank(host);
        broker.answerRequest{value: deposit}(id, RESULT, 9, false);
    }

    function test_answerRequest_RevertWhen_StepsOutOfRange() public {
        uint256 id = _requestWith(counterId, _counterInput(100), 10, 0, IBroker.DisputeMode.Bisection);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.StepsOutOfRange.selector, 0, 10));
        vm.prank(host);
        broker.answerRequest{value: deposit}(id, RESULT, 0);
        vm.expectRevert(abi.encodeWithSelector(IBroker.StepsOutOfRange.selector, 11, 10));
        vm.prank(host);
        broker.answerRequest{value: deposit}(id, RESULT, 11);
    }

    function test_answerRequest_RevertWhen_ResultTooLarge() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.ResultTooLarge.selector, 8193, 8192));
        vm.prank(host);
        broker.answerRequest{value: deposit}(id, new bytes(8193), STEPS);
    }

    function test_answerRequest_RevertWhen_DepositTooLow() public {
        uint256 id = _requestWith(counterId, _counterInput(STEPS), 1000, 1 gwei, IBroker.DisputeMode.Bisection);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DepositTooLow.selector, deposit - 1, deposit));
        vm.prank(host);
        broker.answerRequest{value: deposit - 1}(id, RESULT, STEPS);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Pending));
        vm.assertEq(host.balance, FUNDS);
    }

    function test_answerRequest_RevertWhen_AlreadyAnswered() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.WaitingForResolution, IBroker.Status.Pending
            )
        );
        vm.prank(stranger);
        broker.answerRequest{value: deposit}(id, OTHER, STEPS);
    }

    function test_answerRequest_RevertWhen_Cancelled() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.prank(requester);
        broker.cancelRequest(id);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.WrongStatus.selector, id, IBroker.Status.Cancelled, IBroker.Status.Pending)
        );
        vm.prank(host);
        broker.answerRequest{value: PAYMENT}(id, RESULT, STEPS);
    }

    function test_answerRequest_RevertWhen_NoSuchRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, 5));
        vm.prank(host);
        broker.answerRequest{value: PAYMENT}(5, RESULT, STEPS);
    }

    function test_answerRequest_SurplusIsCredited() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectEmit(address(broker));
        emit IBroker.Credited(host, id, 1 ether, IBroker.CreditReason.Surplus);
        vm.prank(host);
        broker.answerRequest{value: deposit + 1 ether}(id, RESULT, STEPS);
        vm.assertEq(broker.balanceOf(host), 1 ether);
    }

    function testFuzz_answerRequest_SurplusIsCredited(uint96 surplus) public {
        surplus = uint96(bound(surplus, 0, 1000 ether));
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(host);
        broker.answerRequest{value: deposit + surplus}(id, RESULT, STEPS);
        vm.assertEq(broker.balanceOf(host), surplus);
        vm.assertEq(address(broker).balance, PAYMENT + deposit + surplus);
    }

    // ---------------------------------------------------------------------------------------
    // Early deposit reclaim (ECM defect): a deposit is locked until its request settles
    // ---------------------------------------------------------------------------------------

    function test_deposit_CannotBeReclaimedBeforeSettlement() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NothingToWithdraw.selector, host));
        vm.prank(host);
        broker.withdraw();
        // Not after the window either, until someone resolves and finalizes.
        vm.roll(block.number + WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NothingToWithdraw.selector, host));
        vm.prank(host);
        broker.withdraw();
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.WaitingForResolution, IBroker.Status.SoftResolution
            )
        );
        broker.finalize(id);
    }

    // ---------------------------------------------------------------------------------------
    // challengeAnswer (the dispute itself is in Broker.dispute.t.sol)
    // ---------------------------------------------------------------------------------------

    function test_challengeAnswer_LocksDepositAndNeedsResolution() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectEmit(address(broker));
        emit IBroker.Challenged(id, challenger, OTHER, STEPS, true, block.number + CLOCK);
        _challenge(id, challenger, OTHER, STEPS);

        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.NeedsResolution));
        IBroker.Challenge memory c = broker.getChallenge(id);
        vm.assertEq(c.challenger, challenger);
        vm.assertEq(c.steps, STEPS);
        vm.assertEq(c.claim, keccak256(abi.encodePacked(true, OTHER)));
        vm.assertEq(address(broker).balance, PAYMENT + 2 * deposit);
        vm.assertEq(challenger.balance, FUNDS - deposit);
    }

    function test_challengeAnswer_RevertWhen_SameClaim() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        uint256 deposit = broker.requiredDeposit(id);
        bytes32 claim = keccak256(abi.encodePacked(true, RESULT));
        vm.expectRevert(abi.encodeWithSelector(IBroker.SameClaim.selector, claim));
        vm.prank(challenger);
        broker.challengeAnswer{value: deposit}(id, RESULT, STEPS + 1);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.WaitingForResolution));
    }

    function test_challengeAnswer_SameResultDifferentFinalFlagIsADifferentClaim() public {
        uint256 id = _requestWith(counterId, _counterInput(100), 10, 0, IBroker.DisputeMode.Bisection);
        _answer(id, host, RESULT, 10, true);
        _challenge(id, challenger, RESULT, 10, false);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.NeedsResolution));
    }

    function test_challengeAnswer_RevertWhen_WindowClosed() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        uint256 deadline = broker.getRequest(id).deadline;
        uint256 deposit = broker.requiredDeposit(id);
        _rollPast(deadline);
        vm.expectRevert(abi.encodeWithSelector(IBroker.WindowClosed.selector, id, deadline));
        vm.prank(challenger);
        broker.challengeAnswer{value: deposit}(id, OTHER, STEPS);
    }

    function test_challengeAnswer_RevertWhen_DepositTooLow() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DepositTooLow.selector, deposit - 1, deposit));
        vm.prank(challenger);
        broker.challengeAnswer{value: deposit - 1}(id, OTHER, STEPS);
    }

    function test_challengeAnswer_RevertWhen_Pending() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.Pending, IBroker.Status.WaitingForResolution
            )
        );
        vm.prank(challenger);
        broker.challengeAnswer{value: PAYMENT}(id, OTHER, STEPS);
    }

    function test_challengeAnswer_RevertWhen_AlreadyChallenged() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        _challenge(id, challenger, OTHER, STEPS);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.NeedsResolution, IBroker.Status.WaitingForResolution
            )
        );
        vm.prank(stranger);
        broker.challengeAnswer{value: deposit}(id, hex"cc", STEPS);
    }

    /// @dev ECM defect: the window counted from the request's block, so a late answer could
    /// not be challenged at all. Here it counts from the answer.
    function test_challengeAnswer_WindowCountsFromTheAnswer() public {
        vm.roll(100);
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.roll(100 + 5 * WINDOW);
        _answer(id, host, RESULT, STEPS);
        vm.roll(100 + 6 * WINDOW); // long after request + window, still inside answer + window
        _challenge(id, challenger, OTHER, STEPS);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.NeedsResolution));
    }

    // ---------------------------------------------------------------------------------------
    // softResolveAnswer and finalize
    // ---------------------------------------------------------------------------------------

    function test_softResolveAnswer_ByRequesterAtOnce() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectEmit(address(broker));
        emit IBroker.SoftResolved(id, requester);
        vm.prank(requester);
        broker.softResolveAnswer(id);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.SoftResolution));

        vm.expectEmit(address(broker));
        emit IBroker.Finalized(id, host, PAYMENT + deposit);
        vm.prank(stranger);
        broker.finalize(id);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Finalized));
        _assertSoftPathPaid(id, deposit);
    }

    function test_softResolveAnswer_ByAnyoneAfterTheWindow() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        uint256 deposit = broker.requiredDeposit(id);
        _rollPast(broker.getRequest(id).deadline);
        vm.prank(stranger);
        broker.softResolveAnswer(id);
        vm.prank(stranger);
        broker.finalize(id);
        _assertSoftPathPaid(id, deposit);
        vm.assertEq(stranger.balance, FUNDS);
    }

    function _assertSoftPathPaid(uint256 id, uint256 deposit) internal {
        vm.assertEq(broker.balanceOf(host), PAYMENT + deposit);
        vm.assertEq(broker.balanceOf(requester), 0);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit);
        vm.assertEq(host.balance, FUNDS + PAYMENT);
        vm.assertEq(requester.balance, FUNDS - PAYMENT);
        vm.assertEq(address(broker).balance, 0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.Finalized, IBroker.Status.SoftResolution
            )
        );
        broker.finalize(id);
    }

    function test_softResolveAnswer_RevertWhen_WindowOpen() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        uint256 deadline = broker.getRequest(id).deadline;
        vm.roll(deadline);
        vm.expectRevert(abi.encodeWithSelector(IBroker.WindowOpen.selector, id, deadline));
        vm.prank(host);
        broker.softResolveAnswer(id);
    }

    function test_softResolveAnswer_RevertWhen_Pending() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.Pending, IBroker.Status.WaitingForResolution
            )
        );
        vm.prank(requester);
        broker.softResolveAnswer(id);
    }

    function test_finalize_RevertWhen_NoSuchRequest() public {
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, 3));
        broker.finalize(3);
    }

    // ---------------------------------------------------------------------------------------
    // Pooled funds (ECM defect): each request's money is its own
    // ---------------------------------------------------------------------------------------

    function test_funds_SettlingOneRequestLeavesTheOthersWhole() public {
        uint256 a = _request(counterId, _counterInput(STEPS));
        uint256 b = _request(counterId, _counterInput(STEPS + 1));
        _answer(a, host, RESULT, STEPS);
        _answer(b, host, OTHER, STEPS + 1);
        uint256 depositB = broker.requiredDeposit(b);

        vm.prank(requester);
        broker.softResolveAnswer(a);
        broker.finalize(a);
        _withdrawAll(host);
        vm.assertEq(address(broker).balance, PAYMENT + depositB, "b's money is still all there");

        vm.prank(requester);
        broker.softResolveAnswer(b);
        broker.finalize(b);
        vm.assertEq(_withdrawAll(host), PAYMENT + depositB);
        vm.assertEq(address(broker).balance, 0);
        vm.assertEq(host.balance, FUNDS + 2 * PAYMENT);
    }

    // ---------------------------------------------------------------------------------------
    // withdraw: pull payments, reentrancy, failed sends
    // ---------------------------------------------------------------------------------------

    function test_withdraw_RevertWhen_NothingToWithdraw() public {
        vm.expectRevert(abi.encodeWithSelector(IBroker.NothingToWithdraw.selector, stranger));
        vm.prank(stranger);
        broker.withdraw();
    }

    function test_withdraw_SendsAndZeroes() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.prank(requester);
        broker.cancelRequest(id);
        vm.expectEmit(address(broker));
        emit IBroker.Withdrawn(requester, requester, PAYMENT);
        vm.prank(requester);
        broker.withdraw();
        vm.assertEq(broker.balanceOf(requester), 0);
        vm.assertEq(requester.balance, FUNDS);
        // Nothing left (the word keeps a one that is not money), and the next credit is
        // withdrawn whole.
        vm.expectRevert(abi.encodeWithSelector(IBroker.NothingToWithdraw.selector, requester));
        vm.prank(requester);
        broker.withdraw();
        uint256 again = _request(counterId, _counterInput(STEPS));
        vm.prank(requester);
        broker.cancelRequest(again);
        vm.assertEq(broker.balanceOf(requester), PAYMENT);
        vm.prank(requester);
        broker.withdraw();
        vm.assertEq(requester.balance, FUNDS);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_withdraw_ReentrancyGetsNothingMore() public {
        Reentrant attacker = new Reentrant(broker);
        vm.deal(address(attacker), 10 ether);
        uint256 id = attacker.request(counterId, _counterInput(STEPS), PAYMENT, WINDOW);
        attacker.cancel(id);
        // Another request's money sits in the Broker too: the attacker must not reach it.
        uint256 other = _request(counterId, _counterInput(STEPS));

        attacker.withdraw();
        vm.assertEq(attacker.reentered(), 1);
        vm.assertEq(attacker.reentryRejected(), 1);
        vm.assertEq(address(attacker).balance, 10 ether);
        vm.assertEq(address(broker).balance, PAYMENT);
        vm.assertEq(broker.getRequest(other).payment, PAYMENT);
    }

    function test_withdraw_ReentryIntoOtherFunctionsIsRejected() public {
        Reentrant attacker = new Reentrant(broker);
        vm.deal(address(attacker), 10 ether);
        uint256 id = attacker.request(counterId, _counterInput(STEPS), PAYMENT, WINDOW);
        attacker.cancel(id);
        uint256 victim = _request(counterId, _counterInput(STEPS));
        attacker.setReentryTarget(abi.encodeWithSignature("finalize(uint256)", victim));
        attacker.withdraw();
        vm.assertEq(attacker.reentryRejected(), 1);
        vm.assertEq(uint8(_status(victim)), uint8(IBroker.Status.Pending));
    }

    /// @dev ECM defect: a failed send could lose the funds or block the request. Here a
    /// recipient that rejects ether keeps its balance, can withdraw elsewhere, and blocks no one.
    function test_withdraw_FailedSendKeepsTheBalance() public {
        Rejecting rejecting = new Rejecting(broker);
        vm.deal(address(rejecting), 10 ether);
        uint256 id = rejecting.request(counterId, _counterInput(STEPS), PAYMENT, WINDOW);
        rejecting.cancel(id);

        vm.expectRevert(abi.encodeWithSelector(IBroker.WithdrawFailed.selector, address(rejecting), PAYMENT));
        rejecting.withdraw();
        vm.assertEq(broker.balanceOf(address(rejecting)), PAYMENT);

        address payable elsewhere = payable(makeAddr("elsewhere"));
        rejecting.withdrawTo(elsewhere);
        vm.assertEq(elsewhere.balance, PAYMENT);
        vm.assertEq(broker.balanceOf(address(rejecting)), 0);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_withdraw_RejectingHostDoesNotBlockTheRequester() public {
        Rejecting rejecting = new Rejecting(broker);
        vm.deal(address(rejecting), 10 ether);
        uint256 id = _request(counterId, _counterInput(STEPS));
        rejecting.answer{value: broker.requiredDeposit(id)}(id, RESULT, STEPS);
        vm.prank(requester);
        broker.softResolveAnswer(id);
        broker.finalize(id);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Finalized));
        vm.assertEq(broker.balanceOf(address(rejecting)), PAYMENT + broker.requiredDeposit(id));
    }

    // ---------------------------------------------------------------------------------------
    // Gas: the soft path, measured
    // ---------------------------------------------------------------------------------------

    /// @dev request, answer, soft-resolve, finalize, withdraw for a 32-byte input. A first
    /// request is made, answered, paid out and withdrawn beforehand, so the request counter,
    /// the program's terms, both accounts' indices, the host's record and its balance word are
    /// warm, as on a live Broker (a program's first request also pays for noting its terms and,
    /// here, the requester's index: `requestExecution_firstOfAProgram`; a host's very first
    /// answer for its index and its record's slot: `answerRequest_firstAnswerOfAHost`; an
    /// account's first credit ever for its balance word: `finalize_firstPayoutOfAHost`).
    function test_gas_SoftPath() public {
        uint256 first = _request(fibonacciId, hex"01");
        vm.snapshotGasLastCall("requestExecution_firstOfAProgram");
        uint256 firstDeposit = broker.requiredDeposit(first);
        vm.prank(host);
        broker.answerRequest{value: firstDeposit}(first, hex"01", 2);
        vm.snapshotGasLastCall("answerRequest_firstAnswerOfAHost");
        vm.prank(requester);
        broker.softResolveAnswer(first);
        vm.prank(host);
        broker.finalize(first);
        vm.snapshotGasLastCall("finalize_firstPayoutOfAHost");
        vm.prank(host);
        broker.withdraw();
        bytes memory input = abi.encodePacked(bytes32(uint256(10) << 248)); // n = 10, 32 bytes LE
        uint256 total;

        vm.prank(requester);
        uint256 id = broker.requestExecution{value: PAYMENT}(fibonacciId, input, WINDOW);
        total += vm.snapshotGasLastCall("softPath_1_requestExecution");

        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(host);
        broker.answerRequest{value: deposit}(id, hex"59", 11);
        total += vm.snapshotGasLastCall("softPath_2_answerRequest");

        vm.prank(requester);
        broker.softResolveAnswer(id);
        total += vm.snapshotGasLastCall("softPath_3_softResolveAnswer");

        vm.prank(host);
        broker.finalize(id);
        total += vm.snapshotGasLastCall("softPath_4_finalize");

        vm.prank(host);
        broker.withdraw();
        total += vm.snapshotGasLastCall("softPath_5_withdraw");

        vm.snapshotValue("softPath_total", total);
        vm.assertEq(host.balance, FUNDS + 2 * PAYMENT);
        vm.assertEq(broker.balanceOf(host), 0);
        vm.assertLe(total, 150_000, "soft path over issue 17's goal");
    }

    /// EIP-170: a contract's code is at most 24,576 bytes, or it cannot be deployed on a real
    /// chain (Foundry's test EVM does not enforce it; Anvil does).
    function test_deploy_TheBrokerAndItsDisputeCodeFitTheSizeLimit() public view {
        address disputes = vm.computeCreateAddress(address(broker), 1);
        vm.assertGt(disputes.code.length, 0);
        vm.assertLe(address(broker).code.length, 24_576, "Broker");
        vm.assertLe(disputes.code.length, 24_576, "BrokerDisputes");
    }

    /// `BrokerDisputes` runs in the Broker's storage; called directly, it has no requests.
    function test_disputes_CalledDirectlyHaveNoRequests() public {
        uint256 id = _request(counterId, _counterInput(STEPS));
        _answer(id, host, RESULT, STEPS);
        IBroker disputes = IBroker(vm.computeCreateAddress(address(broker), 1));
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, id));
        disputes.claimTimeout(id);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, id));
        disputes.initializeDispute(id);
    }

    function test_gas_Cancel() public {
        _request(counterId, hex"01");
        uint256 id = _request(counterId, _counterInput(STEPS));
        vm.prank(requester);
        broker.cancelRequest(id);
        vm.snapshotGasLastCall("cancelRequest");
        vm.assertEq(broker.balanceOf(requester), PAYMENT);
    }

    function test_factory_IsTheOneProgramsAreLookedUpIn() public view {
        IFactory.Program memory p = factory.getProgram(counterId);
        vm.assertEq(p.execution, address(counter));
    }
}

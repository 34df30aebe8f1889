// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {IExecution} from "../interfaces/IExecution.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @notice Full re-execution disputes (ECM mode): the three outcomes with every party's
/// balance, gas reimbursement, and execution spread over many calls.
contract BrokerFullExecutionTest is Fixtures {
    bytes internal constant N = hex"0a"; // Fibonacci n = 10: 11 steps, F(10) = 89
    bytes internal constant RIGHT = hex"59";
    bytes internal constant WRONG = hex"58";
    bytes internal constant ALSO_WRONG = hex"57";
    uint64 internal constant MAX_STEPS = 50;
    uint64 internal constant GAS_PRICE = 2 gwei;

    address internal executor;

    function setUp() public override {
        super.setUp();
        executor = makeAddr("executor");
        vm.deal(executor, FUNDS);
    }

    function _disputed(bytes memory answer, bytes memory challenge) internal returns (uint256 id) {
        id = _requestWith(fibonacciId, N, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, answer, 11);
        _challenge(id, challenger, challenge, 11);
        broker.initializeDispute(id);
    }

    /// @dev Runs the re-execution to the end in calls of `perCall` steps by `executor` at
    /// `gasPrice`, returning the total reimbursed.
    function _execute(uint256 id, uint256 perCall, uint256 gasPrice) internal returns (uint256 reimbursed) {
        vm.txGasPrice(gasPrice);
        for (uint256 guard = 0; guard < 100 && _status(id) == IBroker.Status.Resolving; ++guard) {
            vm.prank(executor);
            broker.executeExecutable(id, perCall);
        }
        vm.txGasPrice(0);
        reimbursed = broker.balanceOf(executor);
    }

    function test_fullExecution_BuildsAnInstance() public {
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        broker.initializeDispute(id);
        IExecution instance = IExecution(broker.getFullExecution(id).instance);
        vm.assertEq(instance.implementation(), address(fibonacci));
        vm.assertEq(instance.controller(), address(broker));
        vm.assertEq(instance.currentState(), N);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));
    }

    function test_fullExecution_HostRight() public {
        uint256 id = _disputed(RIGHT, WRONG);
        uint256 deposit = broker.requiredDeposit(id);
        uint256 reimbursed = _execute(id, 4, 1 gwei);
        vm.assertGt(reimbursed, 0);

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.FirmResolution));
        vm.assertEq(r.host, host);
        uint256 forfeited = deposit - reimbursed;
        vm.assertEq(broker.balanceOf(host), forfeited / 2);
        vm.assertEq(broker.balanceOf(requester), forfeited - forfeited / 2);

        broker.finalize(id);
        vm.assertEq(broker.balanceOf(host), PAYMENT + deposit + forfeited / 2);
        _withdrawEveryone();
        vm.assertEq(host.balance, FUNDS + PAYMENT + forfeited / 2);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + (forfeited - forfeited / 2));
        vm.assertEq(executor.balance, FUNDS + reimbursed);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_fullExecution_ChallengerRight() public {
        uint256 id = _disputed(WRONG, RIGHT);
        uint256 deposit = broker.requiredDeposit(id);
        uint256 reimbursed = _execute(id, 100, 1 gwei);

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.FirmResolution));
        vm.assertEq(r.host, challenger);
        vm.assertEq(r.claim, keccak256(abi.encodePacked(true, RIGHT)));
        uint256 forfeited = deposit - reimbursed;

        broker.finalize(id);
        _withdrawEveryone();
        vm.assertEq(challenger.balance, FUNDS + PAYMENT + forfeited / 2);
        vm.assertEq(host.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + (forfeited - forfeited / 2));
        vm.assertEq(executor.balance, FUNDS + reimbursed);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_fullExecution_NeitherRight_RequesterRefunded() public {
        uint256 id = _disputed(WRONG, ALSO_WRONG);
        uint256 deposit = broker.requiredDeposit(id);
        vm.expectEmit(address(broker));
        emit IBroker.FirmlyResolved(id, address(0), keccak256(abi.encodePacked(true, RIGHT)));
        uint256 reimbursed = _execute(id, 100, 1 gwei);

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.FirmResolution));
        vm.assertEq(r.host, address(0));
        vm.expectEmit(address(broker));
        emit IBroker.Finalized(id, requester, PAYMENT);
        broker.finalize(id);
        _withdrawEveryone();
        vm.assertEq(requester.balance, FUNDS + 2 * deposit - reimbursed);
        vm.assertEq(host.balance, FUNDS - deposit);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(executor.balance, FUNDS + reimbursed);
        vm.assertEq(address(broker).balance, 0);
    }

    /// A wrong host wins a first dispute because its challenger never starts it; a second
    /// challenge goes to full re-execution and nobody is right. The first dispute's halves
    /// still reach the host (at once, as its answer no longer stands) and the requester
    /// (at finalize): nothing stays in the Broker.
    function test_fullExecution_EarlierTimeoutWinStillPaidWhenNobodyIsRight() public {
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        uint256 deposit = broker.requiredDeposit(id);
        _answer(id, host, WRONG, 11);
        _challenge(id, challenger, RIGHT, 11);
        _rollPast(broker.getRequest(id).deadline);
        broker.claimTimeout(id);
        vm.assertEq(broker.getRequest(id).hostWins, 1);
        vm.assertEq(broker.getRequest(id).disputes, 1);

        _challenge(id, executor, ALSO_WRONG, 11);
        broker.initializeDispute(id);
        uint256 reimbursed = _execute(id, 100, 1 gwei);
        vm.assertEq(broker.getRequest(id).host, address(0));
        vm.assertEq(broker.balanceOf(host), deposit / 2, "its earlier win, at once");
        broker.finalize(id);
        _withdrawEveryone();
        vm.assertEq(host.balance, FUNDS - deposit + deposit / 2);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(executor.balance, FUNDS - deposit + reimbursed);
        vm.assertEq(requester.balance, FUNDS + (deposit - deposit / 2) + 2 * deposit - reimbursed);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_fullExecution_OutOfStepsAnswerIsRight() public {
        // maxSteps 5 < 11: the computation cannot finish; the true outcome is the state at 5.
        uint256 id = _requestWith(fibonacciId, N, 5, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        bytes memory s5 = _stateAt(5);
        _answer(id, host, s5, 5, false);
        _challenge(id, challenger, RIGHT, 5, true);
        broker.initializeDispute(id);
        _execute(id, 100, 0);
        vm.assertEq(broker.getRequest(id).host, host);
        vm.assertEq(IExecution(broker.getFullExecution(id).instance).stepCount(), 5);
    }

    function _stateAt(uint256 steps) internal view returns (bytes memory s) {
        s = N;
        for (uint256 i = 1; i <= steps; ++i) {
            (s,) = fibonacci.step(i, s);
        }
    }

    function test_executeExecutable_NeverFailsForWantOfGasMidway() public {
        // n = 200: 201 steps, far more than 400k gas can run.
        uint256 id = _requestWith(fibonacciId, hex"c8", 300, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, _resultOf(hex"c8", 201), 201);
        _challenge(id, challenger, WRONG, 201);
        broker.initializeDispute(id);
        IExecution instance = IExecution(broker.getFullExecution(id).instance);
        (bool ok,) = address(broker).call{gas: 400_000}(abi.encodeCall(IBroker.executeExecutable, (id, 1000)));
        vm.assertTrue(ok, "a partial run succeeds");
        uint64 done = instance.stepCount();
        vm.assertGt(done, 0);
        vm.assertLt(done, 201);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));
        _execute(id, 1000, 0);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.FirmResolution));
        vm.assertEq(broker.getRequest(id).host, host);
    }

    function _resultOf(bytes memory input, uint256 steps) internal view returns (bytes memory s) {
        s = input;
        for (uint256 i = 1; i <= steps; ++i) {
            (s,) = fibonacci.step(i, s);
        }
    }

    function test_executeExecutable_RevertWhen_NoProgress() public {
        uint256 id = _disputed(RIGHT, WRONG);
        (bool ok, bytes memory reason) =
            address(broker).call{gas: 120_000}(abi.encodeCall(IBroker.executeExecutable, (id, 100)));
        vm.assertFalse(ok);
        vm.assertEq(reason, abi.encodeWithSelector(IBroker.NoProgress.selector, id));
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoProgress.selector, id));
        broker.executeExecutable(id, 0);
    }

    function test_executeExecutable_RevertWhen_NotResolving() public {
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        vm.expectRevert(
            abi.encodeWithSelector(
                IBroker.WrongStatus.selector, id, IBroker.Status.NeedsResolution, IBroker.Status.Resolving
            )
        );
        broker.executeExecutable(id, 10);
    }

    function test_reimbursement_UsesTheLowerOfTxAndBoundGasPrice() public {
        uint256 id = _disputed(RIGHT, WRONG);
        vm.txGasPrice(100 gwei); // above the request's 2 gwei bound
        vm.prank(executor);
        broker.executeExecutable(id, 1);
        uint256 atBound = broker.balanceOf(executor);
        vm.assertGt(atBound, 0);
        vm.assertEq(atBound % GAS_PRICE, 0, "priced at the 2 gwei bound");
        vm.assertEq(broker.getFullExecution(id).reimbursed, atBound);
    }

    /// Review finding 6: a block producer executing in its own block pays its priority fee to
    /// itself, so a reimbursement at `tx.gasprice` would turn the whole tip into profit. The
    /// tip is reimbursed only up to `MAX_REIMBURSED_TIP` above the base fee.
    function test_attack_ABlockProducerCannotPocketItsOwnTipFromTheDeposit() public {
        // A request whose bound is far above the base fee: 1 gwei base fee, 100 gwei bound.
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, 100 gwei, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        broker.initializeDispute(id);
        vm.fee(1 gwei);
        vm.txGasPrice(100 gwei); // a 99 gwei tip, paid back to the producer itself
        vm.prank(executor);
        broker.executeExecutable(id, 1);
        uint256 reimbursed = broker.balanceOf(executor);
        uint256 priced = 1 gwei + broker.MAX_REIMBURSED_TIP();
        vm.assertGt(reimbursed, 0);
        vm.assertEq(reimbursed % priced, 0, "priced at base fee plus the tip bound");
        vm.assertLe(reimbursed / priced, 200_000, "about one call's gas");
        // An honest executor paying a tip within the bound is reimbursed what it paid.
        vm.txGasPrice(1 gwei + 1);
        vm.prank(stranger);
        broker.executeExecutable(id, 1);
        vm.assertEq(broker.balanceOf(stranger) % (1 gwei + 1), 0, "priced at what it paid");
        vm.txGasPrice(0);
        vm.fee(0);
    }

    function test_reimbursement_CappedAtHalfADeposit() public {
        // A tiny gas price bound makes the deposit's gas part small, so the cap binds.
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, 1, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        broker.initializeDispute(id);
        uint256 deposit = broker.requiredDeposit(id);
        vm.txGasPrice(1);
        for (uint256 k = 0; k < 11; ++k) {
            vm.prank(executor);
            broker.executeExecutable(id, 1);
        }
        vm.assertLe(broker.balanceOf(executor) - 0, deposit / 2);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.FirmResolution));
    }

    function test_fullExecution_ChallengeTimeoutLeavesTheInputForTheNextChallenge() public {
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        _rollPast(broker.getRequest(id).deadline);
        broker.claimTimeout(id);
        _challenge(id, stranger, ALSO_WRONG, 11);
        broker.initializeDispute(id);
        vm.assertEq(IExecution(broker.getFullExecution(id).instance).currentState(), N);
        _execute(id, 100, 0);
        vm.assertEq(broker.getRequest(id).host, host);
    }

    function test_gas_FullExecutionPerStep() public {
        uint256 id = _disputed(RIGHT, WRONG);
        vm.prank(executor);
        broker.executeExecutable(id, 11);
        vm.snapshotGasLastCall("fullExecution_fibonacci10_allSteps");
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.FirmResolution));
    }

    function _withdrawEveryone() internal {
        _withdrawAll(host);
        _withdrawAll(challenger);
        _withdrawAll(requester);
        _withdrawAll(executor);
    }
}

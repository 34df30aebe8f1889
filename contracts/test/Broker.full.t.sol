// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../Execution.sol";
import {IBroker} from "../interfaces/IBroker.sol";
import {IExecution} from "../interfaces/IExecution.sol";
import {Deposits} from "../libraries/Deposits.sol";
import {MAX_STATE_BYTES} from "../libraries/Trace.sol";
import {Fixtures} from "./utils/Fixtures.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice What review finding 2 registered: an honest `step`, with ECM's instance entry
/// points armed against the dispute (an `executeN` that never progresses, an `initialize`
/// that reverts). The Broker never calls them.
contract StallingInstance is Execution {
    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata state) external pure returns (bytes memory, bool) {
        return (state, i >= 3);
    }

    function initialize(bytes calldata, uint32, address) external pure {
        revert("armed");
    }

    function executeN(uint256) external pure returns (uint256, bool) {
        return (0, false);
    }
}

/// @notice An 8 KiB state that changes at every step (its first word counts the steps) and
/// ends at step 40: every call carries and returns the largest state there is.
contract EightKiBCounter is Execution {
    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata state) external pure returns (bytes memory next, bool) {
        next = state;
        assembly ("memory-safe") {
            mstore(add(next, 0x20), i)
        }
        return (next, i >= 40);
    }
}

/// @notice Full re-execution disputes (ECM mode): the three outcomes and the timeout with every
/// party's balance, gas reimbursement, execution spread over many calls, and the review's
/// attacks on this mode.
contract BrokerFullExecutionTest is Fixtures {
    bytes internal constant N = hex"0a"; // Fibonacci n = 10: 11 steps, F(10) = 89
    bytes internal constant RIGHT = hex"59";
    bytes internal constant WRONG = hex"58";
    bytes internal constant ALSO_WRONG = hex"57";
    uint64 internal constant MAX_STEPS = 50;
    uint64 internal constant GAS_PRICE = 2 gwei;

    address internal executor;
    /// The state each request's re-execution is at, as the last `Executed` event carried it.
    mapping(uint256 id => bytes) internal _current;

    function setUp() public override {
        super.setUp();
        executor = makeAddr("executor");
        vm.deal(executor, FUNDS);
    }

    function _disputed(bytes memory answer, bytes memory challenge) internal returns (uint256 id) {
        id = _requestWith(fibonacciId, N, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, answer, 11);
        _challenge(id, challenger, challenge, 11);
        _start(id, N);
    }

    /// @dev Starts the dispute of request `id` on `input`.
    function _start(uint256 id, bytes memory input) internal {
        broker.initializeDispute(id);
        _current[id] = input;
    }

    /// @dev One `executeExecutable` by `who` from the state the last call reached, keeping the
    /// state its `Executed` event carries for the next.
    function _executeOnce(uint256 id, address who, uint256 steps) internal {
        vm.recordLogs();
        vm.prank(who);
        broker.executeExecutable(id, steps, _current[id]);
        _absorb(id, vm.getRecordedLogs());
    }

    function _absorb(uint256 id, Vm.Log[] memory logs) internal {
        for (uint256 k = 0; k < logs.length; ++k) {
            if (logs[k].emitter == address(broker) && logs[k].topics[0] == IBroker.Executed.selector) {
                (,,, _current[id]) = abi.decode(logs[k].data, (uint64, bool, bool, bytes));
            }
        }
    }

    /// @dev Runs the re-execution to the end in calls of `perCall` steps by `executor` at
    /// `gasPrice`, returning the total reimbursed.
    function _execute(uint256 id, uint256 perCall, uint256 gasPrice) internal returns (uint256 reimbursed) {
        vm.txGasPrice(gasPrice);
        for (uint256 guard = 0; guard < 100 && _status(id) == IBroker.Status.Resolving; ++guard) {
            _executeOnce(id, executor, perCall);
        }
        vm.txGasPrice(0);
        reimbursed = broker.balanceOf(executor);
    }

    function test_fullExecution_StartsFromTheInput() public {
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        vm.expectEmit(address(broker));
        emit IBroker.DisputeStarted(id, IBroker.DisputeMode.FullExecution);
        broker.initializeDispute(id);
        IBroker.FullExecution memory fx = broker.getFullExecution(id);
        vm.assertEq(fx.commitment, keccak256(abi.encodePacked(false, N)));
        vm.assertEq(fx.steps, 0);
        vm.assertEq(fx.deadline, block.number + broker.clockBlocks());
        vm.assertEq(fx.reimbursed, 0);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));
    }

    function test_executeExecutable_EmitsTheStateReached() public {
        uint256 id = _disputed(RIGHT, WRONG);
        vm.expectEmit(address(broker));
        emit IBroker.Executed(id, executor, 2, false, false, _stateAt(2));
        _executeOnce(id, executor, 2);
        IBroker.FullExecution memory fx = broker.getFullExecution(id);
        vm.assertEq(fx.steps, 2);
        vm.assertEq(fx.commitment, keccak256(abi.encodePacked(false, _stateAt(2))));
    }

    function test_executeExecutable_RevertWhen_NotTheCurrentState() public {
        uint256 id = _disputed(RIGHT, WRONG);
        _executeOnce(id, executor, 2);
        bytes32 agreed = keccak256(abi.encodePacked(false, _stateAt(2)));
        // The input again, or any other state, is not where the execution is.
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.PreimageMismatch.selector, keccak256(abi.encodePacked(false, N)), agreed)
        );
        broker.executeExecutable(id, 5, N);
        vm.assertEq(broker.getFullExecution(id).steps, 2);
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
        _assertPaidOut(host, challenger, deposit, reimbursed);
        _assertDisputeRecord(host, 1, 0, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 0, 1, 0);
        vm.assertEq(broker.recordOf(host).paid, 1);
    }

    /// @dev After `finalize`: everyone withdraws; `winner` has the payment and half of what
    /// `loser` forfeited (its deposit less the reimbursed gas), the requester the other half,
    /// the executor its gas, and the Broker nothing.
    function _assertPaidOut(address winner, address loser, uint256 deposit, uint256 reimbursed) internal {
        uint256 forfeited = deposit - reimbursed;
        _withdrawEveryone();
        vm.assertEq(winner.balance, FUNDS + PAYMENT + forfeited / 2);
        vm.assertEq(loser.balance, FUNDS - deposit);
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

        broker.finalize(id);
        _assertPaidOut(challenger, host, deposit, reimbursed);
        _assertDisputeRecord(host, 0, 1, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 1, 0, 0);
        vm.assertEq(broker.recordOf(challenger).paid, 1, "paid as the host it became");
        vm.assertEq(broker.recordOf(host).paid, 0);
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
        _assertDisputeRecord(host, 0, 1, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 0, 1, 0);
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
        _start(id, N);
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
        _start(id, N);
        vm.expectEmit(address(broker));
        emit IBroker.Executed(id, executor, 5, false, true, s5);
        _execute(id, 100, 0);
        vm.assertEq(broker.getRequest(id).host, host);
        IBroker.FullExecution memory fx = broker.getFullExecution(id);
        vm.assertEq(fx.steps, 5);
        vm.assertEq(fx.commitment, keccak256(abi.encodePacked(false, s5)), "where the run ended");
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
        _start(id, hex"c8");
        vm.recordLogs();
        (bool ok,) =
            address(broker).call{gas: 400_000}(abi.encodeCall(IBroker.executeExecutable, (id, 1000, bytes(hex"c8"))));
        vm.assertTrue(ok, "a partial run succeeds");
        _absorb(id, vm.getRecordedLogs());
        uint64 done = broker.getFullExecution(id).steps;
        vm.assertGt(done, 0);
        vm.assertLt(done, 201);
        vm.assertEq(_current[id], _resultOf(hex"c8", done));
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
            address(broker).call{gas: 200_000}(abi.encodeCall(IBroker.executeExecutable, (id, 100, N)));
        vm.assertFalse(ok);
        vm.assertEq(reason, abi.encodeWithSelector(IBroker.NoProgress.selector, id));
        vm.expectRevert(abi.encodeWithSelector(IBroker.NoProgress.selector, id));
        broker.executeExecutable(id, 0, N);
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
        broker.executeExecutable(id, 10, N);
    }

    function test_reimbursement_UsesTheLowerOfTxAndBoundGasPrice() public {
        uint256 id = _disputed(RIGHT, WRONG);
        vm.txGasPrice(100 gwei); // above the request's 2 gwei bound
        _executeOnce(id, executor, 1);
        uint256 atBound = broker.balanceOf(executor);
        vm.assertGt(atBound, 0);
        vm.assertEq(atBound % GAS_PRICE, 0, "priced at the 2 gwei bound");
        vm.assertEq(broker.getFullExecution(id).reimbursed, atBound);
        vm.txGasPrice(0);
    }

    /// Review finding 6: a block producer executing in its own block pays its priority fee to
    /// itself, so a reimbursement at `tx.gasprice` would turn the whole tip into profit. The
    /// tip is reimbursed only up to `MAX_REIMBURSED_TIP` above the base fee.
    function test_attack_ABlockProducerCannotPocketItsOwnTipFromTheDeposit() public {
        // A request whose bound is far above the base fee: 1 gwei base fee, 100 gwei bound.
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, 100 gwei, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        _start(id, N);
        vm.fee(1 gwei);
        vm.txGasPrice(100 gwei); // a 99 gwei tip, paid back to the producer itself
        _executeOnce(id, executor, 1);
        uint256 reimbursed = broker.balanceOf(executor);
        uint256 priced = 1 gwei + Deposits.MAX_REIMBURSED_TIP;
        vm.assertGt(reimbursed, 0);
        vm.assertEq(reimbursed % priced, 0, "priced at base fee plus the tip bound");
        vm.assertLe(reimbursed / priced, 200_000, "about one call's gas");
        // An honest executor paying a tip within the bound is reimbursed what it paid.
        vm.txGasPrice(1 gwei + 1);
        _executeOnce(id, stranger, 1);
        vm.assertEq(broker.balanceOf(stranger) % (1 gwei + 1), 0, "priced at what it paid");
        vm.txGasPrice(0);
        vm.fee(0);
    }

    function test_reimbursement_CappedAtHalfADeposit() public {
        // A tiny gas price bound makes the deposit's gas part small, so the cap binds.
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, 1, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        _start(id, N);
        uint256 deposit = broker.requiredDeposit(id);
        vm.txGasPrice(1);
        for (uint256 k = 0; k < 11; ++k) {
            _executeOnce(id, executor, 1);
        }
        vm.txGasPrice(0);
        vm.assertLe(broker.balanceOf(executor), deposit / 2);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.FirmResolution));
    }

    function test_fullExecution_AChallengeNeverStartedLeavesTheNextDisputeFromTheInput() public {
        uint256 id = _requestWith(fibonacciId, N, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, RIGHT, 11);
        _challenge(id, challenger, WRONG, 11);
        _rollPast(broker.getRequest(id).deadline);
        broker.claimTimeout(id);
        _challenge(id, stranger, ALSO_WRONG, 11);
        _start(id, N);
        vm.assertEq(broker.getFullExecution(id).commitment, keccak256(abi.encodePacked(false, N)));
        _execute(id, 100, 0);
        vm.assertEq(broker.getRequest(id).host, host);
    }

    /// Review finding 2: full re-execution ran the registrant's own instance code, so an
    /// `executeN` that never progresses locked the payment and both deposits forever, and an
    /// `initialize` that reverts made the challenger lose by timeout. The Broker now runs the
    /// registered `step` itself: with both armed, the dispute starts, runs and settles.
    function test_attack_ARegistrantsCodeBesidesStepCannotStallOrDecideAReexecution() public {
        bytes32 armedId = _register(address(new StallingInstance()), "armed", 20_000);
        uint256 id = _requestWith(armedId, hex"01", MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        uint256 deposit = broker.requiredDeposit(id);
        _answer(id, host, hex"01", 3);
        _challenge(id, challenger, hex"02", 3);
        _start(id, hex"01");
        uint256 reimbursed = _execute(id, 100, 1 gwei);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.FirmResolution));
        vm.assertEq(broker.getRequest(id).host, host, "the right answer won");
        vm.assertEq(broker.balanceOf(host), (deposit - reimbursed) / 2);
        broker.finalize(id);
        _assertPaidOut(host, challenger, deposit, reimbursed);
    }

    /// Review finding 2's second half: the mode had no deadline. A re-execution nobody
    /// advances for a clock ends against the challenger (who must show the answer wrong):
    /// its deposit, less what executors were reimbursed, goes half to the host and half to
    /// the requester, and the answer gets a fresh window, so others may still challenge it.
    function test_fullExecution_NobodyAdvancing_TheChallengerLosesAtTheDeadline() public {
        uint256 id = _disputed(RIGHT, WRONG);
        uint256 deposit = broker.requiredDeposit(id);
        vm.txGasPrice(1 gwei);
        _executeOnce(id, executor, 3);
        vm.txGasPrice(0);
        uint256 reimbursed = broker.balanceOf(executor);
        vm.assertGt(reimbursed, 0);
        // Each call moved the deadline a clock ahead.
        uint256 deadline = broker.getFullExecution(id).deadline;
        vm.assertEq(deadline, block.number + broker.clockBlocks());
        _claimTimeoutAfter(id, deadline, host, challenger);
        _assertDisputeRecord(host, 1, 0, 0, 0, 0);
        _assertDisputeRecord(challenger, 0, 0, 0, 1, 1);

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(uint8(r.status), uint8(IBroker.Status.WaitingForResolution));
        vm.assertEq(r.deadline, block.number + r.softResolutionBlocks, "a fresh window");
        vm.assertEq(r.host, host);
        vm.assertEq(broker.getFullExecution(id).reimbursed, 0, "the next dispute starts afresh");
        uint256 forfeited = deposit - reimbursed;
        vm.assertEq(broker.balanceOf(host), forfeited / 2);
        vm.assertEq(broker.balanceOf(requester), forfeited - forfeited / 2);

        // Another challenger may still dispute the answer; the window ends, and all is paid.
        _challenge(id, stranger, ALSO_WRONG, 11);
        _start(id, N);
        _execute(id, 100, 0);
        vm.assertEq(broker.getRequest(id).host, host);
        broker.finalize(id);
        _withdrawEveryone();
        _withdrawAll(stranger);
        vm.assertEq(host.balance, FUNDS + PAYMENT + forfeited / 2 + deposit / 2);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(stranger.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + (forfeited - forfeited / 2) + (deposit - deposit / 2));
        vm.assertEq(executor.balance, FUNDS + reimbursed);
        vm.assertEq(address(broker).balance, 0);
    }

    /// Review finding 5: an 8 KiB input made `initializeDispute` cost 5.9M gas (the clone
    /// stored it) while the deposit priced the whole dispute at 720k, so honest challengers
    /// lost money. The input now travels in calldata: the dispute's start costs the same for
    /// any input, and the deposit covers what a winner spends on the whole re-execution of the
    /// largest states there are.
    function test_attack_AnEightKiBStateCostsNoMoreThanTheDepositPrices() public {
        bytes32 bigId = _register(address(new EightKiBCounter()), "big", 50_000);
        bytes memory input = new bytes(MAX_STATE_BYTES);
        input[MAX_STATE_BYTES - 1] = 0x01;
        uint256 id = _requestWith(bigId, input, 40, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        bytes memory result = bytes.concat(input);
        assembly ("memory-safe") {
            mstore(add(result, 0x20), 40)
        }
        _answer(id, host, result, 40);
        _challenge(id, challenger, hex"00", 40);
        broker.initializeDispute(id);
        uint256 startGas = vm.lastCallGas().gasTotalUsed;
        vm.assertLt(startGas, 100_000, "starting costs the same for any input");
        _current[id] = input;
        // The winner runs it in calls of 4 steps: ten calls, each carrying 8 KiB.
        uint256 spent = startGas;
        for (uint256 k = 0; k < 10; ++k) {
            _executeOnce(id, host, 4);
            // The calldata of the state, which the VM's count leaves out.
            spent += vm.lastCallGas().gasTotalUsed + 21_000 + 16 * MAX_STATE_BYTES;
        }
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.FirmResolution));
        vm.assertEq(broker.getRequest(id).host, host);
        uint256 pricedGas = (broker.requiredDeposit(id) - PAYMENT) / 2 / GAS_PRICE;
        vm.assertLe(spent, pricedGas, "the deposit prices the re-execution the winner paid for");
        vm.snapshotValue("fullExecution_8KiB_start", startGas);
        vm.snapshotValue("fullExecution_8KiB_40steps_10calls_winnerGas", spent);
        vm.snapshotValue("fullExecution_8KiB_40steps_pricedGas", pricedGas);
    }

    /// Review finding 8: settlement deleted an 8 KiB input after the loop had spent the gas,
    /// so the last call could run out of gas, and agents retried the same call forever. Nothing
    /// of variable size is stored or deleted now, and the loop keeps what settling needs: at
    /// every gas limit from the least that runs a step upwards, the call succeeds.
    function test_attack_TheLastCallCannotRunOutOfGasSettling() public {
        bytes32 bigId = _register(address(new EightKiBCounter()), "big", 50_000);
        bytes memory input = new bytes(MAX_STATE_BYTES);
        uint256 id = _requestWith(bigId, input, 40, GAS_PRICE, IBroker.DisputeMode.FullExecution);
        _answer(id, host, hex"01", 40);
        _challenge(id, challenger, hex"02", 40);
        _start(id, input);
        _executeOnce(id, executor, 39);
        bytes memory call = abi.encodeCall(IBroker.executeExecutable, (id, 1, _current[id]));
        // The least gas at which the last step runs (and settles).
        uint256 hi = _leastGasThatSucceeds(executor, call, 50_000, 5_000_000);
        for (uint256 gas = hi; gas <= hi + 2_000_000; gas += 20_000) {
            uint256 snap = vm.snapshotState();
            vm.prank(executor);
            (bool ok, bytes memory reason) = address(broker).call{gas: gas}(call);
            vm.assertTrue(ok, string(reason));
            vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.FirmResolution), "settled");
            vm.revertToState(snap);
        }
        // Below it, the call reverts with `NoProgress` or for want of gas before any step:
        // either way it decided nothing.
        vm.prank(executor);
        (bool under,) = address(broker).call{gas: hi - 1}(call);
        vm.assertFalse(under);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));
    }

    function test_gas_FullExecutionPerStep() public {
        uint256 id = _disputed(RIGHT, WRONG);
        vm.prank(executor);
        broker.executeExecutable(id, 11, N);
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

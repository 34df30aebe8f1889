// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Broker} from "../../Broker.sol";
import {BrokerTournaments} from "../../BrokerTournaments.sol";
import {IFactory} from "../../interfaces/IFactory.sol";
import {MachineProver} from "../../machine/MachineProver.sol";
import {Factory} from "../../Factory.sol";
import {IBroker} from "../../interfaces/IBroker.sol";
import {IExecution} from "../../interfaces/IExecution.sol";
import {Blake2b} from "../../programs/Blake2b.sol";
import {BuildByteArray} from "../../programs/BuildByteArray.sol";
import {Counter} from "../../programs/Counter.sol";
import {Fibonacci} from "../../programs/Fibonacci.sol";
import {KeccakChain} from "../../programs/KeccakChain.sol";
import {Test} from "./Test.sol";

/// @notice Shared deployment for the Broker tests: a Factory with the example programs, a
/// Broker, funded actors, and helpers that play the lifecycle. No assertions here.
/// @notice A Broker on `factory` with its tournament module, as the deployment does.
function deployBroker(IFactory factory, uint256 arity, uint32 clock) returns (Broker) {
    return new Broker(factory, arity, clock, new BrokerTournaments(factory, arity, clock));
}

abstract contract Fixtures is Test {
    uint256 internal constant PAYMENT = 1 ether;
    uint256 internal constant WINDOW = 10;
    uint32 internal constant CLOCK = 50;
    uint256 internal constant ARITY = 4;
    uint256 internal constant FUNDS = 1_000_000 ether;

    uint32 internal constant COUNTER_STEP_GAS = 20_000;
    uint32 internal constant FIBONACCI_STEP_GAS = 50_000;
    uint32 internal constant BUILD_BYTE_ARRAY_STEP_GAS = 200_000;
    uint32 internal constant KECCAK_CHAIN_STEP_GAS = 30_000;
    uint32 internal constant BLAKE2B_STEP_GAS = 300_000;

    Factory internal factory;
    Broker internal broker;
    Counter internal counter;
    Fibonacci internal fibonacci;
    BuildByteArray internal buildByteArray;
    KeccakChain internal keccakChain;
    Blake2b internal blake2b;
    bytes32 internal counterId;
    bytes32 internal fibonacciId;
    bytes32 internal buildByteArrayId;
    bytes32 internal keccakChainId;
    bytes32 internal blake2bId;

    address internal requester;
    address internal host;
    address internal challenger;
    address internal stranger;

    function setUp() public virtual {
        factory = new Factory(address(new MachineProver()));
        counter = new Counter();
        fibonacci = new Fibonacci();
        buildByteArray = new BuildByteArray();
        keccakChain = new KeccakChain();
        blake2b = new Blake2b();
        counterId = _register(address(counter), "counter", COUNTER_STEP_GAS);
        fibonacciId = _register(address(fibonacci), "fibonacci", FIBONACCI_STEP_GAS);
        buildByteArrayId = _register(address(buildByteArray), "build-byte-array", BUILD_BYTE_ARRAY_STEP_GAS);
        keccakChainId = _register(address(keccakChain), "keccak-chain", KECCAK_CHAIN_STEP_GAS);
        blake2bId = _register(address(blake2b), "blake2b", BLAKE2B_STEP_GAS);
        broker = _deployBroker(ARITY, CLOCK);

        requester = makeAddr("requester");
        host = makeAddr("host");
        challenger = makeAddr("challenger");
        stranger = makeAddr("stranger");
        vm.deal(requester, FUNDS);
        vm.deal(host, FUNDS);
        vm.deal(challenger, FUNDS);
        vm.deal(stranger, FUNDS);
    }

    function _deployBroker(uint256 arity, uint32 clock) internal virtual returns (Broker) {
        return deployBroker(factory, arity, clock);
    }

    function _register(address execution, string memory name, uint32 stepGas) internal returns (bytes32) {
        return factory.registerProgram(execution, keccak256(bytes(name)), stepGas, string.concat("ecm://", name));
    }

    // ---------------------------------------------------------------------------------------
    // Inputs
    // ---------------------------------------------------------------------------------------

    function _u64le(uint64 v) internal pure returns (bytes memory out) {
        out = new bytes(8);
        for (uint256 j = 0; j < 8; ++j) {
            out[j] = bytes1(uint8(v >> (8 * j)));
        }
    }

    function _counterInput(uint64 n) internal pure returns (bytes memory) {
        return _u64le(n);
    }

    /// @dev The Counter's result after `n` steps.
    function _counterResult(uint64 n) internal pure returns (bytes memory) {
        return abi.encodePacked(_u64le(n), _u64le(n == 0 ? 1 : n));
    }

    // ---------------------------------------------------------------------------------------
    // Lifecycle helpers
    // ---------------------------------------------------------------------------------------

    function _request(bytes32 programId, bytes memory input) internal returns (uint256 id) {
        vm.prank(requester);
        id = broker.requestExecution{value: PAYMENT}(programId, input, WINDOW);
    }

    function _requestWith(
        bytes32 programId,
        bytes memory input,
        uint64 maxSteps,
        uint64 gasPrice,
        IBroker.DisputeMode mode
    ) internal returns (uint256 id) {
        vm.prank(requester);
        id = broker.requestExecution{value: PAYMENT}(
            programId, input, WINDOW, IBroker.RequestOptions(maxSteps, gasPrice, mode, 0)
        );
    }

    function _answer(uint256 id, address who, bytes memory result, uint64 steps) internal {
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(who);
        broker.answerRequest{value: deposit}(id, result, steps);
    }

    function _answer(uint256 id, address who, bytes memory result, uint64 steps, bool final_) internal {
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(who);
        broker.answerRequest{value: deposit}(id, result, steps, final_);
    }

    function _challenge(uint256 id, address who, bytes memory result, uint64 steps) internal {
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(who);
        broker.challengeAnswer{value: deposit}(id, result, steps);
    }

    function _challenge(uint256 id, address who, bytes memory result, uint64 steps, bool final_) internal {
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(who);
        broker.challengeAnswer{value: deposit}(id, result, steps, final_);
    }

    /// @dev The next call reverts `WrongStatus(id, actual, expected)`.
    function _expectWrongStatus(uint256 id, IBroker.Status actual, IBroker.Status expected) internal {
        vm.expectRevert(abi.encodeWithSelector(IBroker.WrongStatus.selector, id, actual, expected));
    }

    /// @dev `who`'s dispute counters (`recordOf`) are, in order: defences won and lost,
    /// challenges won and lost, timeouts.
    function _assertDisputeRecord(
        address who,
        uint32 defencesWon,
        uint32 defencesLost,
        uint32 challengesWon,
        uint32 challengesLost,
        uint32 timeouts
    ) internal view {
        IBroker.Record memory r = broker.recordOf(who);
        vm.assertEq(r.defencesWon, defencesWon, "defences won");
        vm.assertEq(r.defencesLost, defencesLost, "defences lost");
        vm.assertEq(r.challengesWon, challengesWon, "challenges won");
        vm.assertEq(r.challengesLost, challengesLost, "challenges lost");
        vm.assertEq(r.timeouts, timeouts, "timeouts");
    }

    function _status(uint256 id) internal view returns (IBroker.Status) {
        return broker.getRequest(id).status;
    }

    function _rollPast(uint256 blockNumber) internal {
        vm.roll(blockNumber + 1);
    }

    /// @dev Checks that `claimTimeout` on request `id` waits for its `deadline` to pass, then
    /// lets a stranger end the dispute for `winner` against `loser`.
    function _claimTimeoutAfter(uint256 id, uint256 deadline, address winner, address loser) internal {
        vm.roll(deadline);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DeadlineNotReached.selector, id, deadline));
        broker.claimTimeout(id);
        vm.roll(deadline + 1);
        vm.expectEmit(address(broker));
        emit IBroker.DisputeResolved(id, winner, loser, true);
        vm.prank(stranger);
        broker.claimTimeout(id);
    }

    /// @dev The least gas limit in `(lo, hi]` at which `caller`'s call `data` to the Broker
    /// succeeds (state reverted after each try), assuming success is monotonic in the gas.
    function _leastGasThatSucceeds(address caller, bytes memory data, uint256 lo, uint256 hi)
        internal
        returns (uint256)
    {
        while (hi - lo > 1) {
            uint256 mid = (lo + hi) / 2;
            uint256 snap = vm.snapshotState();
            vm.prank(caller);
            (bool ok,) = address(broker).call{gas: mid}(data);
            vm.revertToState(snap);
            (lo, hi) = ok ? (lo, mid) : (mid, hi);
        }
        return hi;
    }

    function _withdrawAll(address who) internal returns (uint256 amount) {
        amount = broker.balanceOf(who);
        if (amount == 0) return 0;
        vm.prank(who);
        broker.withdraw();
    }

    // ---------------------------------------------------------------------------------------
    // Traces
    // ---------------------------------------------------------------------------------------

    /// @dev The trace points `(f_i, s_i)` for `i = 0..n` of `program` on `input`, with the
    /// sticky-final rule; the step of index `lieAt` (if nonzero) has `tamper` appended to its
    /// state, and the trace continues from the tampered state.
    function _trace(IExecution program, bytes memory input, uint256 n, uint256 lieAt, bytes memory tamper)
        internal
        view
        returns (bytes[] memory states, bool[] memory finals)
    {
        states = new bytes[](n + 1);
        finals = new bool[](n + 1);
        states[0] = input;
        for (uint256 i = 1; i <= n; ++i) {
            if (finals[i - 1]) {
                (states[i], finals[i]) = (states[i - 1], true);
            } else {
                (states[i], finals[i]) = program.step(i, states[i - 1]);
            }
            if (i == lieAt) states[i] = bytes.concat(states[i], tamper);
        }
    }

    function _commitments(bytes[] memory states, bool[] memory finals) internal pure returns (bytes32[] memory cs) {
        cs = new bytes32[](states.length);
        for (uint256 i = 0; i < states.length; ++i) {
            cs[i] = keccak256(abi.encodePacked(finals[i], states[i]));
        }
    }
}

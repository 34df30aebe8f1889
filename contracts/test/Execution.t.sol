// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MachineProver} from "../machine/MachineProver.sol";
import {Factory} from "../Factory.sol";
import {IExecution} from "../interfaces/IExecution.sol";
import {MAX_STATE_BYTES, Trace} from "../libraries/Trace.sol";
import {Counter} from "../programs/Counter.sol";
import {Fibonacci} from "../programs/Fibonacci.sol";
import {GasGuzzler, GasProbe, LengthLiar, Malformed, Oversized, Reverting} from "./utils/Hostile.sol";
import {Test} from "./utils/Test.sol";
import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";

/// @notice Builds a bare clone of an implementation, without initialising it.
contract CloneOf {
    address public immutable instance;

    constructor(address implementation) {
        instance = Clones.clone(implementation);
    }
}

/// @notice The instance logic (ECM's execute/executeN) and the step-safety rules of `Trace`.
contract ExecutionTest is Test {
    Factory internal factory;
    Counter internal counter;
    bytes32 internal counterId;

    function setUp() public {
        factory = new Factory(address(new MachineProver()));
        counter = new Counter();
        counterId = factory.registerProgram(address(counter), keccak256("counter"), 20_000, "");
    }

    function _build(address impl, bytes memory input, uint32 stepGas) internal returns (IExecution) {
        bytes32 id = factory.registerProgram(impl, keccak256(abi.encode(impl, stepGas)), stepGas, "");
        return IExecution(factory.build(id, input));
    }

    function test_executeN_RunsToTheFinalState() public {
        IExecution e = IExecution(factory.build(counterId, hex"0500000000000000"));
        (uint256 executed, bool final_) = e.executeN(100);
        vm.assertEq(executed, 5);
        vm.assertTrue(final_);
        vm.assertEq(e.stepCount(), 5);
        vm.assertEq(e.currentState(), hex"05000000000000000500000000000000");
        // Sticky: nothing more happens.
        (executed, final_) = e.executeN(100);
        vm.assertEq(executed, 0);
        vm.assertTrue(final_);
    }

    function test_executeN_InSeveralCallsMatchesOneCall() public {
        Fibonacci fib = new Fibonacci();
        IExecution a = _build(address(fib), hex"3c", 50_000);
        IExecution b = IExecution(
            factory.build(
                factory.programIdOf(address(fib), keccak256(abi.encode(address(fib), uint32(50_000))), 50_000), hex"3c"
            )
        );
        a.executeN(1000);
        for (uint256 k = 0; k < 61; ++k) {
            b.executeN(1);
        }
        vm.assertEq(a.stepCount(), 61);
        vm.assertEq(b.stepCount(), 61);
        vm.assertEq(a.currentState(), b.currentState());
        vm.assertEq(a.currentState(), hex"09a9962d4702"); // F(60) = 2504730781961 = 0x02472d96a909, little-endian
    }

    function test_executeN_EmitsTheStepsRun() public {
        IExecution e = IExecution(factory.build(counterId, hex"0500000000000000"));
        vm.expectEmit(address(e));
        emit IExecution.Executed(1, 2, false);
        e.executeN(2);
    }

    /// @dev ECM lost the whole call when the last step ran out of gas; here the loop stops in
    /// time and keeps the steps it ran.
    function test_executeN_StopsBeforeRunningOutOfGas() public {
        IExecution e = IExecution(factory.build(counterId, hex"ffffffffffffffff"));
        (bool ok, bytes memory ret) = address(e).call{gas: 300_000}(abi.encodeCall(IExecution.executeN, (1_000_000)));
        vm.assertTrue(ok, "the call must not fail");
        (uint256 executed, bool final_) = abi.decode(ret, (uint256, bool));
        vm.assertGt(executed, 0);
        vm.assertLt(executed, 1_000_000);
        vm.assertFalse(final_);
        vm.assertEq(e.stepCount(), executed);
    }

    function test_executeN_WithTooLittleGasForOneStepDoesNothing() public {
        IExecution e = IExecution(factory.build(counterId, hex"0500000000000000"));
        (bool ok, bytes memory ret) = address(e).call{gas: 60_000}(abi.encodeCall(IExecution.executeN, (10)));
        vm.assertTrue(ok);
        (uint256 executed,) = abi.decode(ret, (uint256, bool));
        vm.assertEq(executed, 0);
        vm.assertEq(e.stepCount(), 0);
    }

    function test_executeN_RevertWhen_NotController() public {
        IExecution e = IExecution(factory.build(counterId, hex"05"));
        vm.expectRevert(abi.encodeWithSelector(IExecution.NotController.selector, address(0xbad), address(this)));
        vm.prank(address(0xbad));
        e.executeN(1);
    }

    function test_initialize_RevertWhen_AlreadyInitialized() public {
        IExecution e = IExecution(factory.build(counterId, hex"05"));
        vm.expectRevert(IExecution.AlreadyInitialized.selector);
        e.initialize(hex"06", 1, address(this));
        // The implementation itself is locked.
        vm.expectRevert(IExecution.AlreadyInitialized.selector);
        counter.initialize(hex"06", 1, address(this));
    }

    function test_initialize_RevertWhen_ZeroController() public {
        IExecution e = IExecution(address(new Counter()));
        // A fresh implementation is locked; a clone built by hand is not.
        address clone = address(new CloneOf(address(e)).instance());
        vm.expectRevert(IExecution.ZeroController.selector);
        IExecution(clone).initialize(hex"05", 1000, address(0));
    }

    function test_initialize_RevertWhen_InputTooLarge() public {
        vm.expectRevert(abi.encodeWithSelector(IExecution.InputTooLarge.selector, 8193, 8192));
        factory.build(counterId, new bytes(8193));
    }

    // ---------------------------------------------------------------------------------------
    // The halting rule: each misbehaviour ends the trace with an empty final state
    // ---------------------------------------------------------------------------------------

    function _assertHaltsAtBadStep(address impl) internal {
        IExecution e = _build(impl, "", 100_000);
        (uint256 executed, bool final_) = e.executeN(10);
        vm.assertEq(executed, 3, "runs steps 1, 2, then the bad step 3");
        vm.assertTrue(final_);
        vm.assertEq(e.currentState(), "");
        vm.assertEq(e.commitment(), keccak256(abi.encodePacked(true, bytes(""))));
    }

    function test_halts_WhenTheStepReverts() public {
        _assertHaltsAtBadStep(address(new Reverting()));
    }

    function test_halts_WhenTheStepRunsOutOfItsGas() public {
        _assertHaltsAtBadStep(address(new GasGuzzler()));
    }

    function test_halts_WhenTheStepReturnsMalformedData() public {
        _assertHaltsAtBadStep(address(new Malformed()));
    }

    function test_halts_WhenTheStepReturnsAnOversizedState() public {
        _assertHaltsAtBadStep(address(new Oversized()));
    }

    function test_halts_WhenTheStepLiesAboutTheLength() public {
        _assertHaltsAtBadStep(address(new LengthLiar()));
    }

    /// @dev The 63/64 rule: a step is only run when it can receive its whole `maxStepGas`, so a
    /// caller cannot make an honest step fail by sending too little gas.
    function test_runStep_GivesTheStepItsWholeGas() public {
        GasProbe probe = new GasProbe(90_000);
        IExecution e = _build(address(probe), "x", 100_000);
        // Too little gas to hand the step its 100k: the step is not run at all (rather than
        // run starved, which would halt the trace wrongly).
        (bool ok, bytes memory ret) = address(e).call{gas: 140_000}(abi.encodeCall(IExecution.executeN, (1)));
        vm.assertTrue(ok);
        (uint256 executed,) = abi.decode(ret, (uint256, bool));
        vm.assertEq(executed, 0);
        vm.assertEq(e.stepCount(), 0);
        // With enough gas the step receives more than 90k and succeeds.
        (executed,) = e.executeN(1);
        vm.assertEq(executed, 1);
        vm.assertEq(e.currentState(), "x", "not halted: the step was not starved");
        vm.assertTrue(e.isFinal());
    }

    function test_next_FinalStateIsSticky() public view {
        (bytes memory s, bool f) = this.next(address(counter), true, hex"1234");
        vm.assertEq(s, hex"1234");
        vm.assertTrue(f);
    }

    function next(address impl, bool final_, bytes memory state) external view returns (bytes memory, bool) {
        return Trace.next(impl, 20_000, 5, final_, state);
    }

    function test_maxStateBytes_Is8KiB() public pure {
        vm.assertEq(MAX_STATE_BYTES, 8192);
    }
}

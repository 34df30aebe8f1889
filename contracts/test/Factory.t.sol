// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Factory} from "../Factory.sol";
import {IFactory} from "../interfaces/IFactory.sol";
import {MachineProver} from "../machine/MachineProver.sol";
import {Counter} from "../programs/Counter.sol";
import {Test} from "./utils/Test.sol";

contract FactoryTest is Test {
    Factory internal factory;
    Counter internal counter;
    address internal prover;
    bytes32 internal constant WASM = keccak256("counter.wasm");
    bytes32 internal constant CORE = keccak256("initial core");

    function setUp() public {
        prover = address(new MachineProver());
        factory = new Factory(prover);
        counter = new Counter();
    }

    function test_constructor_RevertWhen_ProverNotAContract() public {
        vm.expectRevert(abi.encodeWithSelector(IFactory.NotAContract.selector, address(0x99)));
        new Factory(address(0x99));
    }

    function test_registerProgram_RecordsAndEmits() public {
        bytes32 expected = keccak256(abi.encode(address(counter), address(counter).codehash, WASM, uint32(20_000)));
        vm.expectEmit(address(factory));
        emit IFactory.ProgramRegistered(expected, address(counter), address(this), WASM, 20_000, "ipfs://counter");
        bytes32 id = factory.registerProgram(address(counter), WASM, 20_000, "ipfs://counter");

        vm.assertEq(id, expected);
        vm.assertEq(id, factory.programIdOf(address(counter), WASM, 20_000));
        IFactory.Program memory p = factory.getProgram(id);
        vm.assertEq(p.execution, address(counter));
        vm.assertEq(p.maxStepGas, 20_000);
        vm.assertEq(p.registrant, address(this));
        vm.assertEq(p.wasmHash, WASM);
        vm.assertEq(bytes(p.metadataURI), bytes("ipfs://counter"));
        vm.assertTrue(p.kind == IFactory.ProgramKind.Step);
        vm.assertEq(p.initialCore, bytes32(0));
        (address execution, uint32 gas, IFactory.ProgramKind kind) = factory.stepInfo(id);
        vm.assertEq(execution, address(counter));
        vm.assertEq(gas, 20_000);
        vm.assertTrue(kind == IFactory.ProgramKind.Step);
        vm.assertEq(factory.initialCoreOf(id), bytes32(0));
        vm.assertEq(factory.programCount(), 1);
        vm.assertEq(factory.programAt(0), id);
    }

    /// The program id binds the code: the same address with other code is another id.
    function test_programIdOf_BindsTheCode() public {
        bytes32 before = factory.programIdOf(address(counter), WASM, 20_000);
        vm.etch(address(counter), hex"00");
        vm.assertNotEq(factory.programIdOf(address(counter), WASM, 20_000), before);
    }

    /// Every impure opcode is refused, wherever it sits; PUSH immediates holding the same bytes
    /// are data, not instructions, and pass.
    function test_registerProgram_RevertWhen_ImpureOpcode() public {
        uint256 impure = factory.IMPURE_OPCODES();
        uint256 refused = 0;
        for (uint256 op = 0; op < 256; ++op) {
            if ((impure >> op) & 1 == 0) continue;
            ++refused;
            address program = address(uint160(0x10000 + op));
            // PUSH1 <op>, PUSH2 <op> <op>, then the opcode itself at offset 5.
            vm.etch(program, abi.encodePacked(hex"60", uint8(op), hex"61", uint8(op), uint8(op), uint8(op), hex"00"));
            vm.expectRevert(abi.encodeWithSelector(IFactory.ImpureProgram.selector, program, 5, uint8(op)));
            factory.registerProgram(program, WASM, 20_000, "");
            // As a PUSH immediate only, the byte is data.
            vm.etch(program, abi.encodePacked(hex"60", uint8(op), hex"00"));
            factory.registerProgram(program, WASM, 20_000, "");
        }
        // The 30 opcodes the Factory documents, no more: GAS and CALLVALUE stay allowed.
        vm.assertEq(refused, 30);
        vm.assertEq((impure >> 0x5a) & 1, 0);
        vm.assertEq((impure >> 0x34) & 1, 0);
    }

    function test_registerProgram_SameProgramTwice_RevertWhen_ProgramExists() public {
        bytes32 id = factory.registerProgram(address(counter), WASM, 20_000, "a");
        vm.expectRevert(abi.encodeWithSelector(IFactory.ProgramExists.selector, id));
        vm.prank(address(0xbeef));
        factory.registerProgram(address(counter), WASM, 20_000, "b");
        // A different step gas is a different program.
        bytes32 other = factory.registerProgram(address(counter), WASM, 30_000, "b");
        vm.assertNotEq(id, other);
    }

    function test_registerProgram_RevertWhen_NotAContract() public {
        vm.expectRevert(abi.encodeWithSelector(IFactory.NotAContract.selector, address(0x1234)));
        factory.registerProgram(address(0x1234), WASM, 20_000, "");
    }

    function test_registerProgram_RevertWhen_ZeroWasmHash() public {
        vm.expectRevert(IFactory.ZeroWasmHash.selector);
        factory.registerProgram(address(counter), bytes32(0), 20_000, "");
    }

    function test_registerProgram_RevertWhen_StepGasOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IFactory.StepGasOutOfRange.selector, 999, 1_000, 10_000_000));
        factory.registerProgram(address(counter), WASM, 999, "");
        vm.expectRevert(abi.encodeWithSelector(IFactory.StepGasOutOfRange.selector, 10_000_001, 1_000, 10_000_000));
        factory.registerProgram(address(counter), WASM, 10_000_001, "");
    }

    function test_getProgram_RevertWhen_UnknownProgram() public {
        vm.expectRevert(abi.encodeWithSelector(IFactory.UnknownProgram.selector, bytes32(uint256(1))));
        factory.getProgram(bytes32(uint256(1)));
        (address execution,,) = factory.stepInfo(bytes32(uint256(1)));
        vm.assertEq(execution, address(0));
    }

    function test_registerMachineProgram_RecordsAndEmits() public {
        bytes32 expected = keccak256(abi.encode(prover, WASM, CORE));
        vm.expectEmit(address(factory));
        emit IFactory.MachineProgramRegistered(expected, WASM, address(this), CORE, "ipfs://sha256");
        bytes32 id = factory.registerMachineProgram(WASM, CORE, "ipfs://sha256");

        vm.assertEq(id, expected);
        vm.assertEq(id, factory.machineProgramIdOf(WASM, CORE));
        vm.assertEq(factory.machineProver(), prover);
        IFactory.Program memory p = factory.getProgram(id);
        vm.assertEq(p.execution, prover);
        vm.assertEq(p.maxStepGas, factory.MACHINE_STEP_GAS());
        vm.assertTrue(p.kind == IFactory.ProgramKind.Machine);
        vm.assertEq(p.registrant, address(this));
        vm.assertEq(p.wasmHash, WASM);
        vm.assertEq(p.initialCore, CORE);
        vm.assertEq(bytes(p.metadataURI), bytes("ipfs://sha256"));
        (address execution, uint32 gas, IFactory.ProgramKind kind) = factory.stepInfo(id);
        vm.assertEq(execution, prover);
        vm.assertEq(gas, factory.MACHINE_STEP_GAS());
        vm.assertTrue(kind == IFactory.ProgramKind.Machine);
        vm.assertEq(factory.initialCoreOf(id), CORE);
        vm.assertEq(factory.programCount(), 1);
        vm.assertEq(factory.programAt(0), id);
    }

    function test_registerMachineProgram_SameProgramTwice_RevertWhen_ProgramExists() public {
        bytes32 id = factory.registerMachineProgram(WASM, CORE, "a");
        vm.expectRevert(abi.encodeWithSelector(IFactory.ProgramExists.selector, id));
        vm.prank(address(0xbeef));
        factory.registerMachineProgram(WASM, CORE, "b");
        // The same module lowered differently is a different program.
        bytes32 other = factory.registerMachineProgram(WASM, keccak256("other core"), "b");
        vm.assertNotEq(id, other);
    }

    function test_registerMachineProgram_RevertWhen_ZeroHashes() public {
        vm.expectRevert(IFactory.ZeroWasmHash.selector);
        factory.registerMachineProgram(bytes32(0), CORE, "");
        vm.expectRevert(IFactory.ZeroInitialCore.selector);
        factory.registerMachineProgram(WASM, bytes32(0), "");
        vm.assertEq(factory.programCount(), 0);
    }
}

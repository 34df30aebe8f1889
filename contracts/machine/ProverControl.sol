// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMachineProver, IOneStepProver} from "./IMachineProver.sol";
import {Core, Instruction, MachineState, Outcome} from "./lib/MachineState.sol";
import {ProofReader} from "./lib/ProofReader.sol";

/// @title ProverControl
/// @notice Control instructions (opcodes 0x00-0x1f): so far `trap`, `const`, `drop` and
/// `select`. Locals, globals, branches, calls, return and halt revert `UnsupportedInstruction`
/// until the next stage; an opcode the machine does not define traps.
contract ProverControl is IOneStepProver {
    uint16 internal constant TRAP = 0x00;
    uint16 internal constant CONST = 0x01;
    uint16 internal constant DROP = 0x02;
    uint16 internal constant SELECT = 0x03;
    /// @dev The last control opcode the machine defines (`halt`).
    uint16 internal constant LAST_DEFINED = 0x10;

    /// @inheritdoc IOneStepProver
    function execute(Core calldata core, bytes32 ioHash, Instruction calldata inst, bytes calldata proof)
        external
        pure
        returns (Core memory next, bytes32 nextIoHash, Outcome outcome)
    {
        next = core;
        nextIoHash = ioHash;
        uint16 op = inst.op;
        uint256 at = 0;
        uint64[] memory popped;
        bytes32 rest;
        if (op == CONST) {
            next.valueStack = MachineState.push(core.valueStack, inst.b);
        } else if (op == DROP) {
            (popped, next.valueStack, at) = MachineState.pop(core.valueStack, 1, proof, 0);
        } else if (op == SELECT) {
            (popped, rest, at) = MachineState.pop(core.valueStack, 3, proof, 0);
            // select(v1, v2, c): v1 if c != 0, compared as i32.
            next.valueStack = MachineState.push(rest, uint32(popped[2]) != 0 ? popped[0] : popped[1]);
        } else if (op == TRAP || op > LAST_DEFINED) {
            ProofReader.requireConsumed(proof, 0);
            return (next, nextIoHash, Outcome.Trapped);
        } else {
            revert IMachineProver.UnsupportedInstruction(op);
        }
        ProofReader.requireConsumed(proof, at);
        next.pc = core.pc + 1;
        outcome = Outcome.Running;
    }
}

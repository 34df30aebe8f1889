// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMachineProver, IOneStepProver} from "./IMachineProver.sol";
import {Core, Instruction, MachineState, Outcome} from "./lib/MachineState.sol";
import {MerklePath} from "./lib/MerklePath.sol";
import {ProofReader} from "./lib/ProofReader.sol";

/// @title ProverControl
/// @notice Control instructions (opcodes 0x00-0x1f): so far `trap`, `const`, `drop`, `select`,
/// `local.get/set/tee` and `global.get/set`. Branches, calls, return and halt revert
/// `UnsupportedInstruction` until the next stage; an opcode the machine does not define traps.
contract ProverControl is IOneStepProver {
    uint16 internal constant TRAP = 0x00;
    uint16 internal constant CONST = 0x01;
    uint16 internal constant DROP = 0x02;
    uint16 internal constant SELECT = 0x03;
    uint16 internal constant LOCAL_GET = 0x04;
    uint16 internal constant LOCAL_TEE = 0x06;
    uint16 internal constant GLOBAL_GET = 0x07;
    uint16 internal constant GLOBAL_SET = 0x08;
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
        } else if (op >= LOCAL_GET && op <= GLOBAL_SET) {
            outcome = _variable(next, inst, proof) ? Outcome.Trapped : Outcome.Running;
            return (next, nextIoHash, outcome);
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

    /// @dev `local.get/set/tee` and `global.get/set` on `next`, in place: variable `a` is lane
    /// `a % 4` of leaf `a / 4` in the running frame's locals tree or the globals tree, of depth
    /// `aux`. A get reveals the leaf and its path; a set or tee pops (tee pushes back) the
    /// value, then the same. An index past the tree traps: returns true.
    function _variable(Core memory next, Instruction calldata inst, bytes calldata proof)
        private
        pure
        returns (bool trapped)
    {
        uint256 at = 0;
        uint64 value = 0;
        bytes32 rest = next.valueStack;
        if (inst.op != LOCAL_GET && inst.op != GLOBAL_GET) {
            uint64[] memory popped;
            (popped, rest, at) = MachineState.pop(next.valueStack, 1, proof, 0);
            value = popped[0];
        }
        if ((inst.a >> 2) >> inst.aux != 0) {
            ProofReader.requireConsumed(proof, at);
            return true;
        }
        (bytes32 leaf, uint256 path) =
            _readVariable(proof, at, inst.op <= LOCAL_TEE ? next.localsRoot : next.globalsRoot, inst);
        if (inst.op == LOCAL_GET || inst.op == GLOBAL_GET) {
            next.valueStack = MachineState.push(next.valueStack, uint64(uint256(leaf) >> _shift(inst.a)));
        } else {
            bytes32 root = _write(proof, path, leaf, value, inst);
            if (inst.op <= LOCAL_TEE) next.localsRoot = root;
            else next.globalsRoot = root;
            // tee keeps the value on the stack.
            if (inst.op != LOCAL_TEE) next.valueStack = rest;
        }
        next.pc += 1;
    }

    /// @dev Reads the variable's leaf and path at `at`, checks them against `root` and that
    /// they end the proof; returns the leaf and where its path starts.
    function _readVariable(bytes calldata proof, uint256 at, bytes32 root, Instruction calldata inst)
        private
        pure
        returns (bytes32 leaf, uint256 path)
    {
        (leaf, path) = ProofReader.readBytes32(proof, at);
        (bytes32 proven, uint256 end) = MerklePath.root(proof, path, leaf, inst.a >> 2, inst.aux);
        if (proven != root) revert IMachineProver.VariablesMismatch(root, proven);
        ProofReader.requireConsumed(proof, end);
    }

    /// @dev The root after writing `value` into the variable's lane of `leaf`, over the same
    /// path (at `path`, already checked).
    function _write(bytes calldata proof, uint256 path, bytes32 leaf, uint64 value, Instruction calldata inst)
        private
        pure
        returns (bytes32 root)
    {
        uint256 shift = _shift(inst.a);
        uint256 written = (uint256(leaf) & ~(uint256(type(uint64).max) << shift)) | (uint256(value) << shift);
        uint256 end;
        (root, end) = MerklePath.root(proof, path, bytes32(written), inst.a >> 2, inst.aux);
        // The same path as the read, so it ends where the proof does.
        ProofReader.requireConsumed(proof, end);
    }

    /// @dev Where variable `a`'s lane sits in its leaf: lane 0 is the leaf's first 8 bytes.
    function _shift(uint32 a) private pure returns (uint256) {
        return 192 - 64 * uint256(a & 3);
    }
}

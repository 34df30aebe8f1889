// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMachineProver} from "./IMachineProver.sol";
import {Core, Instruction, MachineState, Outcome} from "./lib/MachineState.sol";
import {MerklePath} from "./lib/MerklePath.sol";
import {ProofReader} from "./lib/ProofReader.sol";

/// @title ProverControl
/// @notice Control instructions (opcodes 0x00-0x1f): `trap`, `const`, `drop`, `select`,
/// `local.get/set/tee`, `global.get/set`, `br`, `br_if`, `jump_if_zero`, `br_table`, `call`,
/// `call_indirect`, `return` and `halt`. An opcode the machine does not define traps.
/// @dev Semantics are `crates/machine/src/machine.rs`'s, proof layouts `proof.rs`'s.
library ProverControl {
    uint16 internal constant TRAP = 0x00;
    uint16 internal constant CONST = 0x01;
    uint16 internal constant DROP = 0x02;
    uint16 internal constant SELECT = 0x03;
    uint16 internal constant LOCAL_GET = 0x04;
    uint16 internal constant LOCAL_TEE = 0x06;
    uint16 internal constant GLOBAL_GET = 0x07;
    uint16 internal constant GLOBAL_SET = 0x08;
    uint16 internal constant BR = 0x09;
    uint16 internal constant BR_IF = 0x0a;
    uint16 internal constant JUMP_IF_ZERO = 0x0b;
    uint16 internal constant BR_TABLE = 0x0c;
    uint16 internal constant CALL = 0x0d;
    uint16 internal constant CALL_INDIRECT = 0x0e;
    uint16 internal constant RETURN = 0x0f;
    uint16 internal constant HALT = 0x10;

    /// @dev Nested calls the machine allows (`limits::MAX_FRAMES`); one more traps.
    uint32 internal constant MAX_FRAMES = 1 << 16;

    /// @notice Executes `inst` on `core` (changed in place and returned) and `ioHash`, reading
    /// what it needs from `proof`, the instruction's part of the step proof, which it must
    /// consume exactly; returns the outcome and, when halted, the final state.
    function execute(Core memory core, bytes32 ioHash, Instruction memory inst, bytes calldata proof)
        internal
        pure
        returns (Core memory next, bytes32 nextIoHash, Outcome outcome, bytes memory result)
    {
        next = core;
        nextIoHash = ioHash;
        uint16 op = inst.op;
        bool trapped = false;
        if (op >= CONST && op <= SELECT) {
            _stack(next, inst, proof);
        } else if (op >= LOCAL_GET && op <= GLOBAL_SET) {
            trapped = _variable(next, inst, proof);
        } else if (op >= BR && op <= BR_TABLE) {
            _branch(next, inst, proof);
        } else if (op == CALL || op == CALL_INDIRECT) {
            trapped = _call(next, inst, proof);
        } else if (op == RETURN) {
            trapped = _return(next, inst, proof);
        } else if (op == HALT) {
            return (next, nextIoHash, Outcome.Halted, _halt(core, ioHash, proof));
        } else {
            // `trap`, and every opcode of this range the machine does not define.
            ProofReader.requireConsumed(proof, 0);
            trapped = true;
        }
        outcome = trapped ? Outcome.Trapped : Outcome.Running;
    }

    /// @dev `const`, `drop`, `select`.
    function _stack(Core memory next, Instruction memory inst, bytes calldata proof) private pure {
        uint256 at = 0;
        if (inst.op == CONST) {
            next.valueStack = MachineState.push(next.valueStack, inst.b);
        } else {
            uint64[] memory v;
            bytes32 rest;
            (v, rest, at) = MachineState.pop(next.valueStack, inst.op == DROP ? 1 : 3, proof, 0);
            // select(v1, v2, c): v1 if c != 0, compared as i32.
            next.valueStack = inst.op == DROP ? rest : MachineState.push(rest, uint32(v[2]) != 0 ? v[0] : v[1]);
        }
        ProofReader.requireConsumed(proof, at);
        next.pc += 1;
    }

    /// @dev `local.get/set/tee` and `global.get/set` on `next`, in place: variable `a` is lane
    /// `a % 4` of leaf `a / 4` in the running frame's locals tree or the globals tree, of depth
    /// `aux`. A get reveals the leaf and its path; a set or tee pops (tee pushes back) the
    /// value, then the same. An index past the tree traps: returns true.
    function _variable(Core memory next, Instruction memory inst, bytes calldata proof)
        private
        pure
        returns (bool trapped)
    {
        bool get = inst.op == LOCAL_GET || inst.op == GLOBAL_GET;
        (uint64[] memory popped, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, get ? 0 : 1, proof, 0);
        // A get pops nothing (`rest` is the stack); tee keeps the value on the stack.
        if (inst.op != LOCAL_TEE) next.valueStack = rest;
        if ((inst.a >> 2) >> inst.aux != 0) {
            ProofReader.requireConsumed(proof, at);
            return true;
        }
        (bytes32 leaf, uint256 path) =
            _readVariable(proof, at, inst.op <= LOCAL_TEE ? next.localsRoot : next.globalsRoot, inst);
        if (get) {
            next.valueStack = MachineState.push(next.valueStack, uint64(uint256(leaf) >> _shift(inst.a)));
        } else if (inst.op <= LOCAL_TEE) {
            next.localsRoot = _write(proof, path, leaf, popped[0], inst);
        } else {
            next.globalsRoot = _write(proof, path, leaf, popped[0], inst);
        }
        next.pc += 1;
    }

    /// @dev Reads the variable's leaf and path at `at`, checks them against `root` and that
    /// they end the proof; returns the leaf and where its path starts.
    function _readVariable(bytes calldata proof, uint256 at, bytes32 root, Instruction memory inst)
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
    function _write(bytes calldata proof, uint256 path, bytes32 leaf, uint64 value, Instruction memory inst)
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

    /// @dev Values a branch or return unwinds: the `aux` it keeps and the `b` below them it
    /// drops, when it drops any (otherwise the stack stays as it is and nothing is revealed).
    function _unwound(Instruction memory inst) private pure returns (uint256) {
        return inst.b == 0 ? 0 : uint256(inst.aux) + inst.b;
    }

    /// @dev `br`, `br_if`, `jump_if_zero`, `br_table`. The condition or index is on top of
    /// the unwound values.
    function _branch(Core memory next, Instruction memory inst, bytes calldata proof) private pure {
        uint16 op = inst.op;
        uint256 unwound = op == BR || op == BR_IF ? _unwound(inst) : 0;
        uint256 condition = op == BR ? 0 : 1;
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, unwound + condition, proof, 0);
        ProofReader.requireConsumed(proof, at);

        bool jump = true;
        uint256 target = inst.a;
        if (op == BR_IF) jump = uint32(v[unwound]) != 0;
        else if (op == JUMP_IF_ZERO) jump = uint32(v[0]) == 0;
        else if (op == BR_TABLE) target += uint32(v[0]) < inst.b ? uint32(v[0]) : inst.b;

        if (jump && unwound > 0) {
            // Keep the top `aux` of the unwound values on the chain below the dropped ones.
            next.valueStack = _keep(rest, v, inst.b, unwound);
        } else if (condition == 1) {
            // Only the condition goes.
            next.valueStack = _keep(rest, v, 0, unwound);
        }
        next.pc = jump ? uint32(target) : next.pc + 1;
    }

    /// @dev `chain` with `values[from..to]` pushed in order.
    function _keep(bytes32 chain, uint64[] memory values, uint256 from, uint256 to) private pure returns (bytes32) {
        for (uint256 k = from; k < to; ++k) {
            chain = MachineState.push(chain, values[k]);
        }
        return chain;
    }

    /// @dev `call` and `call_indirect`: pops the `aux` parameters (and the table index on top
    /// of them), pushes a frame record `(pc + 1, localsRoot)`, and enters the callee with the
    /// parameters as its first locals, the rest zero. Traps: a `call_indirect` index past the
    /// table, an empty slot or another type, and a call past `MAX_FRAMES`.
    function _call(Core memory next, Instruction memory inst, bytes calldata proof) private pure returns (bool) {
        uint256 params = inst.aux;
        bool indirect = inst.op == CALL_INDIRECT;
        (uint64[] memory v, bytes32 rest, uint256 at) =
            MachineState.pop(next.valueStack, params + (indirect ? 1 : 0), proof, 0);
        uint32 entry = inst.a;
        uint256 depth = inst.b & 0xff;
        if (indirect) {
            bool found;
            (found, entry, depth, at) = _lookup(next.moduleRoot, inst.a, uint32(v[params]), proof, at);
            ProofReader.requireConsumed(proof, at);
            if (!found) return true;
        } else {
            ProofReader.requireConsumed(proof, at);
        }
        if (next.frameDepth >= MAX_FRAMES) return true;
        // More parameters than the callee's locals tree holds: only code the lowering never
        // makes, and it traps.
        if (depth < 16 && params > 4 << depth) return true;

        next.frameStack = keccak256(abi.encodePacked(next.frameStack, next.pc + 1, next.localsRoot));
        next.localsRoot = _localsRoot(v, params, depth);
        next.valueStack = rest;
        next.frameDepth += 1;
        next.pc = entry;
        return false;
    }

    /// @dev The callee of a `call_indirect`: reveals the module's code and table commitments,
    /// then the slot's leaf and path when `index` is inside the table. Returns whether the slot
    /// holds a function of type `typeId`, its entry and its locals depth.
    function _lookup(bytes32 moduleRoot, uint32 typeId, uint32 index, bytes calldata proof, uint256 at)
        private
        pure
        returns (bool found, uint32 entry, uint256 depth, uint256 next)
    {
        bytes32 tableRoot;
        uint32 tableDepth;
        uint32 tableSize;
        (tableRoot, tableDepth, tableSize, at) = _readModule(moduleRoot, proof, at);
        if (index >= tableSize) return (false, 0, 0, at);
        bytes32 leaf;
        (leaf, next) = _readSlot(proof, at, index, tableRoot, tableDepth);
        // `1 | 0 0 0 | entry u32 | type id u32 | depth u32 | 0...`; an empty slot is zero.
        uint256 word = uint256(leaf);
        found = word >> 248 == 1 && uint32(word >> 160) == typeId;
        entry = uint32(word >> 192);
        depth = uint32(word >> 128);
    }

    /// @dev Reads table slot `index`'s leaf and path at `at` and checks them against the table
    /// root.
    function _readSlot(bytes calldata proof, uint256 at, uint32 index, bytes32 tableRoot, uint32 tableDepth)
        private
        pure
        returns (bytes32 leaf, uint256 next)
    {
        (leaf, at) = ProofReader.readBytes32(proof, at);
        bytes32 proven;
        (proven, next) = MerklePath.root(proof, at, leaf, index, tableDepth);
        if (proven != tableRoot) revert IMachineProver.TableMismatch(tableRoot, proven);
    }

    /// @dev Reads `codeRoot | codeDepth | tableRoot | tableDepth | tableSize`, checks them
    /// against `moduleRoot`, returns the table's part.
    function _readModule(bytes32 moduleRoot, bytes calldata proof, uint256 at)
        private
        pure
        returns (bytes32 tableRoot, uint32 tableDepth, uint32 tableSize, uint256 next)
    {
        bytes32 codeRoot;
        uint32 codeDepth;
        (codeRoot, at) = ProofReader.readBytes32(proof, at);
        (codeDepth, at) = ProofReader.readU32(proof, at);
        (tableRoot, at) = ProofReader.readBytes32(proof, at);
        (tableDepth, at) = ProofReader.readU32(proof, at);
        (tableSize, next) = ProofReader.readU32(proof, at);
        bytes32 proven =
            MachineState.moduleRoot(codeRoot, codeDepth, MachineState.tableHash(tableRoot, tableDepth, tableSize));
        if (proven != moduleRoot) revert IMachineProver.ModuleMismatch(moduleRoot, proven);
    }

    /// @dev The root of a locals tree of `depth` levels holding `values[0..n]` then zeros,
    /// four big-endian u64 lanes to a leaf.
    function _localsRoot(uint64[] memory values, uint256 n, uint256 depth) private pure returns (bytes32) {
        uint256 width = (n + 3) / 4;
        bytes32[] memory level = new bytes32[](width == 0 ? 1 : width);
        for (uint256 k; k < n; ++k) {
            level[k / 4] |= bytes32(uint256(values[k]) << (192 - 64 * (k % 4)));
        }
        uint256 len = level.length;
        bytes32 zero = 0;
        for (uint256 d; d < depth; ++d) {
            uint256 half = (len + 1) / 2;
            for (uint256 i; i < half; ++i) {
                bytes32 right = 2 * i + 1 < len ? level[2 * i + 1] : zero;
                level[i] = keccak256(abi.encodePacked(level[2 * i], right));
            }
            len = half;
            zero = keccak256(abi.encodePacked(zero, zero));
        }
        return level[0];
    }

    /// @dev `return`: unwinds, then pops the frame record and resumes the caller with its
    /// locals. Outside a call it traps.
    function _return(Core memory next, Instruction memory inst, bytes calldata proof) private pure returns (bool) {
        uint256 unwound = _unwound(inst);
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, unwound, proof, 0);
        if (next.frameDepth == 0) {
            ProofReader.requireConsumed(proof, at);
            return true;
        }
        bytes32 below;
        uint32 returnPc;
        bytes32 callerLocals;
        (below, at) = ProofReader.readBytes32(proof, at);
        (returnPc, at) = ProofReader.readU32(proof, at);
        (callerLocals, at) = ProofReader.readBytes32(proof, at);
        ProofReader.requireConsumed(proof, at);
        bytes32 proven = keccak256(abi.encodePacked(below, returnPc, callerLocals));
        if (proven != next.frameStack) revert IMachineProver.FrameMismatch(next.frameStack, proven);

        if (unwound > 0) next.valueStack = _keep(rest, v, inst.b, unwound);
        next.frameStack = below;
        next.localsRoot = callerLocals;
        next.frameDepth -= 1;
        next.pc = returnPc;
        return false;
    }

    /// @dev `halt`: pops the exit code, reveals the input commitment and the whole output,
    /// checks them against the I/O hash, and returns the final state `exit code u32 LE ||
    /// output`.
    function _halt(Core memory core, bytes32 ioHash, bytes calldata proof) private pure returns (bytes memory) {
        // The rest of the stack does not matter once the program has halted.
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(core.valueStack, 1, proof, 0);
        rest;
        bytes32 inputRoot;
        uint32 inputLen;
        uint32 outLen;
        (inputRoot, at) = ProofReader.readBytes32(proof, at);
        (inputLen, at) = ProofReader.readU32(proof, at);
        (outLen, at) = ProofReader.readU32(proof, at);
        if (at + outLen > proof.length) revert ProofReader.ProofTooShort(at + outLen, proof.length);
        ProofReader.requireConsumed(proof, at + outLen);
        bytes calldata output = proof[at:at + outLen];

        bytes32 proven = keccak256(abi.encodePacked(inputRoot, inputLen, _outputHashes(output), outLen));
        if (proven != ioHash) revert IMachineProver.IoMismatch(ioHash, proven);
        uint32 code = uint32(v[0]);
        bytes4 le = bytes4(uint32(code >> 24 | (code >> 8) & 0xff00 | (code << 8) & 0xff0000 | code << 24));
        return abi.encodePacked(le, output);
    }

    /// @dev `outAcc || outBuf`: every full 32-byte chunk folded as `acc = keccak(acc || chunk)`,
    /// the partial one left-aligned and zero-padded.
    function _outputHashes(bytes calldata output) private pure returns (bytes memory) {
        bytes32 acc = 0;
        uint256 full = output.length / 32;
        for (uint256 k; k < full; ++k) {
            acc = keccak256(abi.encodePacked(acc, bytes32(output[32 * k:32 * k + 32])));
        }
        bytes32 buf = 0;
        uint256 partLen = output.length % 32;
        if (partLen > 0) {
            bytes32 word = bytes32(output[32 * full:]);
            buf = word & ~bytes32(type(uint256).max >> (8 * partLen));
        }
        return abi.encodePacked(acc, buf);
    }
}

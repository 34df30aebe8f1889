// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMachineProver} from "./IMachineProver.sol";
import {Core, Instruction, MachineState, Outcome} from "./lib/MachineState.sol";
import {MerklePath} from "./lib/MerklePath.sol";
import {ProofReader} from "./lib/ProofReader.sol";
import {ProverControl} from "./ProverControl.sol";
import {ProverMath} from "./ProverMath.sol";
import {ProverMemory} from "./ProverMemory.sol";

/// @title MachineProver
/// @notice The entry of the one-step prover: checks the revealed core against the state hash,
/// fetches the instruction at `pc` from the code tree, executes it with the prover of its
/// class, and hashes the result. It holds no state and decides nothing: the Broker does.
/// @dev Opcode ranges: 0x00-0x1f control, 0x20-0x3f memory and I/O, 0x40-0x8f math
/// (`crates/machine/src/inst.rs`). An opcode no class knows traps, as the all-zero leaf past
/// the end of the code does. The three classes are libraries linked into this one contract:
/// a call to a prover of its own would cost every step about 5-6k gas (a cold STATICCALL and
/// the core's ABI round trip), and all three fit under the code size limit together.
contract MachineProver is IMachineProver {
    /// @notice The deepest code tree: 2^20 instructions, two to a leaf.
    uint32 public constant MAX_CODE_DEPTH = 19;

    /// @inheritdoc IMachineProver
    function step(bytes32 state, bytes calldata proof) external pure returns (bytes memory next, bool final_) {
        (Core memory core, uint256 at) = MachineState.readCore(proof, 0);
        bytes32 ioHash;
        (ioHash, at) = ProofReader.readBytes32(proof, at);
        bytes32 proven = MachineState.hashMachine(core, ioHash);
        if (proven != state) revert StateMismatch(state, proven);

        Instruction memory inst;
        (inst, at) = _fetch(core, proof, at);

        // An opcode of no class traps, and needs nothing more than its code path.
        Outcome outcome = Outcome.Trapped;
        bytes memory result = "";
        if (inst.op < 0x20) {
            (core, ioHash, outcome, result) = ProverControl.execute(core, ioHash, inst, proof[at:]);
        } else if (inst.op < 0x40) {
            (core, ioHash, outcome, result) = ProverMemory.execute(core, ioHash, inst, proof[at:]);
        } else if (inst.op < 0x90) {
            (core, ioHash, outcome, result) = ProverMath.execute(core, ioHash, inst, proof[at:]);
        } else {
            ProofReader.requireConsumed(proof, at);
        }

        if (outcome == Outcome.Trapped) return ("", true);
        if (outcome == Outcome.Halted) return (result, true);
        return (abi.encodePacked(MachineState.hashMachine(core, ioHash)), false);
    }

    /// @dev Reads the module preimage, checks it against `moduleRoot`, and reads the
    /// instruction at `pc` with its code path. A `pc` past the code tree is a trap (opcode 0).
    function _fetch(Core memory core, bytes calldata proof, uint256 at)
        private
        pure
        returns (Instruction memory inst, uint256 next)
    {
        bytes32 codeRoot;
        uint32 codeDepth;
        bytes32 tableHash;
        (codeRoot, at) = ProofReader.readBytes32(proof, at);
        (codeDepth, at) = ProofReader.readU32(proof, at);
        (tableHash, at) = ProofReader.readBytes32(proof, at);
        bytes32 moduleRoot = MachineState.moduleRoot(codeRoot, codeDepth, tableHash);
        if (moduleRoot != core.moduleRoot) revert ModuleMismatch(core.moduleRoot, moduleRoot);
        if (codeDepth > MAX_CODE_DEPTH) revert CodeDepthTooLarge(codeDepth, MAX_CODE_DEPTH);

        uint256 index = core.pc >> 1;
        if (index >> codeDepth != 0) return (inst, at);
        bytes32 leaf;
        (leaf, at) = ProofReader.readBytes32(proof, at);
        bytes32 root;
        (root, at) = MerklePath.root(proof, at, leaf, index, codeDepth);
        if (root != codeRoot) revert CodeMismatch(codeRoot, root);

        // The instruction is the leaf's first or second 16 bytes.
        uint256 word = uint256(leaf) >> (core.pc & 1 == 0 ? 128 : 0);
        inst.op = uint16(word >> 112);
        inst.aux = uint16(word >> 96);
        inst.a = uint32(word >> 64);
        inst.b = uint64(word);
        next = at;
    }
}

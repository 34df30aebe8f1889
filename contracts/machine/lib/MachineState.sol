// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProofReader} from "./ProofReader.sol";

/// @notice The fixed-size part of the machine state (204 bytes when encoded).
/// @dev Field order and widths are the encoding's: six words, then three big-endian u32.
struct Core {
    /// @dev Hash chain over every frame's values: `h' = keccak(h || u64 value)`.
    bytes32 valueStack;
    /// @dev Hash chain over the call frames: `h' = keccak(h || returnPc u32 || callerLocalsRoot)`.
    bytes32 frameStack;
    /// @dev The running frame's locals, 4 x u64 per leaf.
    bytes32 localsRoot;
    /// @dev The mutable globals, 4 x u64 per leaf.
    bytes32 globalsRoot;
    /// @dev 21 levels of raw 32-byte leaves.
    bytes32 memoryRoot;
    /// @dev `keccak(codeRoot || codeDepth u32 || keccak(tableRoot || tableDepth u32 || tableSize u32))`.
    bytes32 moduleRoot;
    uint32 pc;
    uint32 pages;
    uint32 frameDepth;
}

/// @notice One machine instruction: `opcode u16 | aux u16 | a u32 | b u64`, two to a code leaf.
struct Instruction {
    uint16 op;
    uint16 aux;
    uint32 a;
    uint64 b;
}

/// @notice What a step ended in.
enum Outcome {
    /// @dev The machine goes on: the next state is `keccak(keccak(core) || ioHash)`, not final.
    Running,
    /// @dev The step trapped: the next state is empty and final.
    Trapped,
    /// @dev The program halted: the next state is `exit code u32 LE || output`, final.
    Halted
}

/// @title MachineState
/// @notice The machine's core and value stack: decoding, hashing, pushing and popping.
/// @dev Must match `crates/machine/src/hash.rs` byte for byte.
library MachineState {
    /// @notice Bytes in an encoded core.
    uint256 internal constant CORE_BYTES = 204;

    /// @notice The values revealed for a pop do not chain to the core's value stack.
    /// @param expected The core's value-stack hash.
    /// @param proven The hash the revealed values and rest chain to.
    error ValueStackMismatch(bytes32 expected, bytes32 proven);

    /// @notice The core encoded at `at`, and the offset after it.
    function readCore(bytes calldata proof, uint256 at) internal pure returns (Core memory core, uint256 next) {
        next = ProofReader.skip(proof, at, CORE_BYTES);
        assembly ("memory-safe") {
            let p := add(proof.offset, at)
            // Six words, then three u32 at bytes 192, 196 and 200.
            for { let k := 0 } lt(k, 6) { k := add(k, 1) } {
                mstore(add(core, mul(k, 0x20)), calldataload(add(p, mul(k, 0x20))))
            }
            mstore(add(core, 0xc0), shr(224, calldataload(add(p, 0xc0))))
            mstore(add(core, 0xe0), shr(224, calldataload(add(p, 0xc4))))
            mstore(add(core, 0x100), shr(224, calldataload(add(p, 0xc8))))
        }
    }

    /// @notice `keccak(core)` over its 204-byte encoding.
    function hashCore(Core memory core) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            // Encoded in free memory, which is left as it was: nothing is allocated.
            let p := mload(0x40)
            for { let k := 0 } lt(k, 6) { k := add(k, 1) } {
                mstore(add(p, mul(k, 0x20)), mload(add(core, mul(k, 0x20))))
            }
            mstore(add(p, 0xc0), shl(224, mload(add(core, 0xc0))))
            mstore(add(p, 0xc4), shl(224, mload(add(core, 0xe0))))
            mstore(add(p, 0xc8), shl(224, mload(add(core, 0x100))))
            h := keccak256(p, CORE_BYTES)
        }
    }

    /// @notice The machine hash `H = keccak(keccak(core) || ioHash)`.
    function hashMachine(Core memory core, bytes32 ioHash) internal pure returns (bytes32 h) {
        bytes32 coreHash = hashCore(core);
        assembly ("memory-safe") {
            mstore(0x00, coreHash)
            mstore(0x20, ioHash)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @notice A module's commitment: `keccak(codeRoot || codeDepth u32 || tableHash)`.
    function moduleRoot(bytes32 codeRoot, uint32 codeDepth, bytes32 tableHash) internal pure returns (bytes32 root) {
        assembly ("memory-safe") {
            // Encoded in free memory, which is left as it was: nothing is allocated.
            let p := mload(0x40)
            mstore(p, codeRoot)
            mstore(add(p, 0x20), shl(224, codeDepth))
            mstore(add(p, 0x24), tableHash)
            root := keccak256(p, 0x44)
        }
    }

    /// @notice A table's commitment: `keccak(tableRoot || tableDepth u32 || tableSize u32)`.
    function tableHash(bytes32 tableRoot, uint32 tableDepth, uint32 tableSize) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(tableRoot, tableDepth, tableSize));
    }

    /// @notice The value stack after pushing `value`.
    function push(bytes32 valueStack, uint64 value) internal pure returns (bytes32 chain) {
        assembly ("memory-safe") {
            mstore(0x00, valueStack)
            mstore(0x20, shl(192, value))
            chain := keccak256(0x00, 0x28)
        }
    }

    /// @notice Pops `n` values: reads the chain below them and the values, deepest first, from
    /// `at`, checks that they chain to `valueStack`, and returns them with the rest's hash.
    /// Popping none reads nothing.
    function pop(bytes32 valueStack, uint256 n, bytes calldata proof, uint256 at)
        internal
        pure
        returns (uint64[] memory values, bytes32 rest, uint256 next)
    {
        values = new uint64[](n);
        if (n == 0) return (values, valueStack, at);
        (rest, at) = ProofReader.readBytes32(proof, at);
        bytes32 chain = rest;
        for (uint256 k; k < n; ++k) {
            (values[k], at) = ProofReader.readU64(proof, at);
            chain = push(chain, values[k]);
        }
        if (chain != valueStack) revert ValueStackMismatch(valueStack, chain);
        next = at;
    }

    /// @notice Pops `n` values whose values do not matter: returns the rest's hash and the
    /// offset after them.
    function discard(bytes32 valueStack, uint256 n, bytes calldata proof, uint256 at)
        internal
        pure
        returns (bytes32 rest, uint256 next)
    {
        uint64[] memory values;
        (values, rest, next) = pop(valueStack, n, proof, at);
        // The values were checked against the chain; nothing else needs them.
        delete values;
    }

    /// @notice `chain` with `values[from..]` pushed in order.
    function pushAll(bytes32 chain, uint64[] memory values, uint256 from) internal pure returns (bytes32) {
        for (uint256 k = from; k < values.length; ++k) {
            chain = push(chain, values[k]);
        }
        return chain;
    }
}

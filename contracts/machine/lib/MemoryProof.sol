// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerklePath} from "./MerklePath.sol";
import {ProofReader} from "./ProofReader.sol";

/// @notice The I/O hash's preimage: `inputRoot || inputLen u32 || outAcc || outBuf || outLen u32`.
struct Io {
    bytes32 inputRoot;
    uint32 inputLen;
    bytes32 outAcc;
    bytes32 outBuf;
    uint32 outLen;
}

/// @title MemoryProof
/// @notice Memory leaves, input leaves and the I/O preimage as a step proof reveals them, and
/// the bytes inside a leaf.
/// @dev A memory leaf is 32 bytes of memory in address order; byte `j` of a leaf is its
/// `j`-th byte from the left (`bytes32` order).
library MemoryProof {
    /// @notice Levels of the memory tree (64 MiB of 32-byte leaves).
    uint256 internal constant MEMORY_DEPTH = 21;
    /// @notice Levels of the input tree (8 KiB).
    uint256 internal constant INPUT_DEPTH = 8;

    /// @notice The revealed memory leaf and path do not reach the memory root.
    error MemoryMismatch(bytes32 expected, bytes32 proven);

    /// @notice The revealed input leaf and path do not reach the input root.
    error InputMismatch(bytes32 expected, bytes32 proven);

    /// @notice The revealed I/O preimage does not hash to the state's I/O hash.
    error IoPreimageMismatch(bytes32 expected, bytes32 proven);

    /// @notice Reads memory leaf `index` and its path at `at`, checked against `root`, to read
    /// only; returns the leaf and the offset after its path.
    function checkLeaf(bytes calldata proof, uint256 at, bytes32 root, uint256 index)
        internal
        pure
        returns (bytes32 leaf, uint256 next)
    {
        (leaf, at) = ProofReader.readBytes32(proof, at);
        bytes32 proven;
        (proven, next) = MerklePath.root(proof, at, leaf, index, MEMORY_DEPTH);
        if (proven != root) revert MemoryMismatch(root, proven);
    }

    /// @notice Reads the memory leaf at `at` to change it: the leaf and where its path starts,
    /// for `writeLeaf`, which checks it.
    function readLeaf(bytes calldata proof, uint256 at) internal pure returns (bytes32 leaf, uint256 path) {
        (leaf, path) = ProofReader.readBytes32(proof, at);
    }

    /// @notice The memory root with leaf `index` changed from `oldLeaf` to `newLeaf`, over the
    /// path at `path`, after checking that `oldLeaf` there reaches `root`; and the offset after
    /// the path.
    function writeLeaf(
        bytes calldata proof,
        uint256 path,
        bytes32 root,
        uint256 index,
        bytes32 oldLeaf,
        bytes32 newLeaf
    ) internal pure returns (bytes32 newRoot, uint256 next) {
        bytes32 proven;
        (proven, newRoot, next) = MerklePath.update(proof, path, oldLeaf, newLeaf, index, MEMORY_DEPTH);
        if (proven != root) revert MemoryMismatch(root, proven);
    }

    /// @notice Reads input leaf `index` and its path at `at`, checked against `inputRoot`.
    function readInputLeaf(bytes calldata proof, uint256 at, bytes32 inputRoot, uint256 index)
        internal
        pure
        returns (bytes32 leaf, uint256 next)
    {
        (leaf, at) = ProofReader.readBytes32(proof, at);
        bytes32 proven;
        (proven, next) = MerklePath.root(proof, at, leaf, index, INPUT_DEPTH);
        if (proven != inputRoot) revert InputMismatch(inputRoot, proven);
    }

    /// @notice Reads the I/O preimage at `at`, checked against `ioHash`.
    function readIo(bytes calldata proof, uint256 at, bytes32 ioHash)
        internal
        pure
        returns (Io memory io, uint256 next)
    {
        (io.inputRoot, at) = ProofReader.readBytes32(proof, at);
        (io.inputLen, at) = ProofReader.readU32(proof, at);
        (io.outAcc, at) = ProofReader.readBytes32(proof, at);
        (io.outBuf, at) = ProofReader.readBytes32(proof, at);
        (io.outLen, next) = ProofReader.readU32(proof, at);
        bytes32 proven = hashIo(io);
        if (proven != ioHash) revert IoPreimageMismatch(ioHash, proven);
    }

    /// @notice `keccak(inputRoot || inputLen || outAcc || outBuf || outLen)`.
    function hashIo(Io memory io) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(io.inputRoot, io.inputLen, io.outAcc, io.outBuf, io.outLen));
    }

    /// @notice `n` bytes of `word` from byte `from`, moved to start at byte `to` of `into`
    /// (`from + n <= 32`, `to + n <= 32`).
    function moveBytes(bytes32 word, uint256 from, bytes32 into, uint256 to, uint256 n)
        internal
        pure
        returns (bytes32 result)
    {
        assembly ("memory-safe") {
            // The n bytes from `to` on: ones, shifted right past the first `to` bytes. `shl`
            // by 256 (n = 0) is zero, as wanted.
            let mask := shr(mul(8, to), not(shr(mul(8, n), not(0))))
            let moved := shr(mul(8, to), shl(mul(8, from), word))
            result := or(and(into, not(mask)), and(moved, mask))
        }
    }

    /// @notice `c` bytes (`c <= 32`) of the 64 bytes `low || high` from byte `from` (< 32),
    /// left-aligned: a span of memory that may cross into the next leaf.
    function span(bytes32 low, bytes32 high, uint256 from, uint256 c) internal pure returns (bytes32 chunk) {
        assembly ("memory-safe") {
            // `shr` by 256 (from = 0) is zero, as wanted.
            chunk := or(shl(mul(8, from), low), shr(sub(256, mul(8, from)), high))
            chunk := and(chunk, not(shr(mul(8, c), not(0))))
        }
    }
}

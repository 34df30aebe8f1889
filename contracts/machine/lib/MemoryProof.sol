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

    /// @notice Reads the span of memory leaves `index` and `index + 1` at `at` (both leaves,
    /// each one's siblings below the level where their paths meet, then the siblings they
    /// share), checked against `root`; returns the leaves and the offset after the span.
    function checkSpan(bytes calldata proof, uint256 at, bytes32 root, uint256 index)
        internal
        pure
        returns (bytes32 low, bytes32 high, uint256 next)
    {
        (low, high, at) = readSpan(proof, at);
        uint256 t = _trailingOnes(index);
        bytes32 lowNode;
        bytes32 highNode;
        (lowNode, at) = MerklePath.root(proof, at, low, index, t);
        (highNode, at) = MerklePath.root(proof, at, high, index + 1, t);
        bytes32 proven;
        (proven, next) = MerklePath.root(proof, at, _parent(lowNode, highNode), index >> (t + 1), MEMORY_DEPTH - t - 1);
        if (proven != root) revert MemoryMismatch(root, proven);
    }

    /// @notice Reads the two leaves of a span at `at` to change them: the leaves and where the
    /// rest of the span starts, for `writeSpan`, which checks them.
    function readSpan(bytes calldata proof, uint256 at)
        internal
        pure
        returns (bytes32 low, bytes32 high, uint256 path)
    {
        (low, at) = ProofReader.readBytes32(proof, at);
        (high, path) = ProofReader.readBytes32(proof, at);
    }

    /// @notice The memory root with leaves `index` and `index + 1` changed from `old` to
    /// `new_`, over the span's siblings at `path`, after checking the old leaves against
    /// `root`; and the offset after the span.
    function writeSpan(
        bytes calldata proof,
        uint256 path,
        bytes32 root,
        uint256 index,
        bytes32[2] memory old,
        bytes32[2] memory new_
    ) internal pure returns (bytes32 newRoot, uint256 next) {
        bytes32 proven;
        (proven, newRoot, next) = _span(proof, path, index, [old[0], old[1], new_[0], new_[1]]);
        if (proven != root) revert MemoryMismatch(root, proven);
    }

    /// @dev The roots over a span's siblings at `at` with `leaves = [oldLow, oldHigh, newLow,
    /// newHigh]` at `index` and `index + 1`, and the offset after them. The paths meet at
    /// level `t`, the trailing ones of `index`: below it each leaf has `t` siblings of its own,
    /// above it they share `MEMORY_DEPTH - t - 1`.
    function _span(bytes calldata proof, uint256 at, uint256 index, bytes32[4] memory leaves)
        private
        pure
        returns (bytes32 oldRoot, bytes32 newRoot, uint256 next)
    {
        uint256 t = _trailingOnes(index);
        // Each leaf's old and new node at level t, in place.
        (leaves[0], leaves[2], at) = MerklePath.update(proof, at, leaves[0], leaves[2], index, t);
        (leaves[1], leaves[3], at) = MerklePath.update(proof, at, leaves[1], leaves[3], index + 1, t);
        (oldRoot, newRoot, next) = MerklePath.update(
            proof,
            at,
            _parent(leaves[0], leaves[1]),
            _parent(leaves[2], leaves[3]),
            index >> (t + 1),
            MEMORY_DEPTH - t - 1
        );
    }

    function _parent(bytes32 left, bytes32 right) private pure returns (bytes32 node) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            node := keccak256(0x00, 0x40)
        }
    }

    /// @dev How many of `x`'s lowest bits are ones.
    function _trailingOnes(uint256 x) private pure returns (uint256 n) {
        while (x & 1 == 1) {
            x >>= 1;
            ++n;
        }
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

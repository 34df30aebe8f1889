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

    /// @notice Reads memory leaf `index` and its path at `at`, checked against `root`; returns
    /// the leaf, where its path starts (to write it back) and the offset after the path.
    function readLeaf(bytes calldata proof, uint256 at, bytes32 root, uint256 index)
        internal
        pure
        returns (bytes32 leaf, uint256 path, uint256 next)
    {
        (leaf, path) = ProofReader.readBytes32(proof, at);
        bytes32 proven;
        (proven, next) = MerklePath.root(proof, path, leaf, index, MEMORY_DEPTH);
        if (proven != root) revert MemoryMismatch(root, proven);
    }

    /// @notice Reads memory leaf `index` and its path at `at`, checked against `root`, to read
    /// only; returns the leaf and the offset after its path.
    function checkLeaf(bytes calldata proof, uint256 at, bytes32 root, uint256 index)
        internal
        pure
        returns (bytes32 leaf, uint256 next)
    {
        uint256 path;
        (leaf, path, next) = readLeaf(proof, at, root, index);
        // Where the path starts matters only to a write.
        delete path;
    }

    /// @notice The memory root with leaf `index` replaced by `leaf`, over the path at `path`.
    function writeLeaf(bytes calldata proof, uint256 path, bytes32 leaf, uint256 index)
        internal
        pure
        returns (bytes32 root)
    {
        (root,) = MerklePath.root(proof, path, leaf, index, MEMORY_DEPTH);
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

    /// @notice Byte `j` of `word`.
    function byteAt(bytes32 word, uint256 j) internal pure returns (uint8) {
        return uint8(uint256(word) >> (248 - 8 * j));
    }

    /// @notice `word` with byte `j` replaced by `b`.
    function setByte(bytes32 word, uint256 j, uint8 b) internal pure returns (bytes32) {
        uint256 shift = 248 - 8 * j;
        return bytes32((uint256(word) & ~(uint256(0xff) << shift)) | (uint256(b) << shift));
    }

    /// @notice `n` bytes of `word` from byte `from`, moved to start at byte `to` of `into`.
    function moveBytes(bytes32 word, uint256 from, bytes32 into, uint256 to, uint256 n)
        internal
        pure
        returns (bytes32)
    {
        for (uint256 k; k < n; ++k) {
            into = setByte(into, to + k, byteAt(word, from + k));
        }
        return into;
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ProofReader
/// @notice Reads big-endian integers and words from a one-step proof in calldata, one cursor
/// at a time. Every read checks the proof's length: a short proof reverts with `ProofTooShort`,
/// never with an out-of-bounds panic.
library ProofReader {
    /// @notice The proof ends before a read of `needed` bytes' end.
    /// @param needed The offset just past the read.
    /// @param length The proof's length.
    error ProofTooShort(uint256 needed, uint256 length);

    /// @notice Bytes were left over after the step was executed.
    /// @param used The bytes the step read.
    /// @param length The proof's length.
    error ProofTooLong(uint256 used, uint256 length);

    function _need(bytes calldata proof, uint256 at, uint256 n) private pure {
        if (at + n > proof.length) revert ProofTooShort(at + n, proof.length);
    }

    /// @notice The 32 bytes at `at`, and the offset after them.
    function readBytes32(bytes calldata proof, uint256 at) internal pure returns (bytes32 word, uint256 next) {
        _need(proof, at, 32);
        assembly ("memory-safe") {
            word := calldataload(add(proof.offset, at))
        }
        next = at + 32;
    }

    /// @notice The big-endian u64 at `at`, and the offset after it.
    function readU64(bytes calldata proof, uint256 at) internal pure returns (uint64 value, uint256 next) {
        _need(proof, at, 8);
        assembly ("memory-safe") {
            value := shr(192, calldataload(add(proof.offset, at)))
        }
        next = at + 8;
    }

    /// @notice The big-endian u32 at `at`, and the offset after it.
    function readU32(bytes calldata proof, uint256 at) internal pure returns (uint32 value, uint256 next) {
        _need(proof, at, 4);
        assembly ("memory-safe") {
            value := shr(224, calldataload(add(proof.offset, at)))
        }
        next = at + 4;
    }

    /// @notice The offset `n` bytes past `at`, after checking the proof holds them: for a caller
    /// that reads them itself.
    function skip(bytes calldata proof, uint256 at, uint256 n) internal pure returns (uint256 next) {
        _need(proof, at, n);
        next = at + n;
    }

    /// @notice Reverts unless the proof was read to its last byte.
    function requireConsumed(bytes calldata proof, uint256 at) internal pure {
        if (at != proof.length) revert ProofTooLong(at, proof.length);
    }
}

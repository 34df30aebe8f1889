// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProofReader} from "./ProofReader.sol";

/// @title MerklePath
/// @notice Roots of the machine's fixed-depth trees from a leaf and its siblings in calldata.
/// Leaves are raw 32-byte words and a parent is `keccak256(left || right)` (no leaf hashing:
/// depths are fixed, so a leaf can never pass for an inner node).
/// @dev The loops are assembly over calldata with one length check per path: a path is the
/// commonest thing a proof carries (21 levels for every memory leaf), and a checked read per
/// level cost more than the hashing.
library MerklePath {
    /// @notice The root reached from `leaf` at `index` through `depth` siblings read bottom-up
    /// from `at`, and the offset after them.
    function root(bytes calldata proof, uint256 at, bytes32 leaf, uint256 index, uint256 depth)
        internal
        pure
        returns (bytes32 node, uint256 next)
    {
        next = ProofReader.skip(proof, at, 32 * depth);
        assembly ("memory-safe") {
            node := leaf
            let sibling := add(proof.offset, at)
            for { let level := 0 } lt(level, depth) { level := add(level, 1) } {
                // keccak(node || sibling) for a left child, keccak(sibling || node) for a right one.
                let right := and(shr(level, index), 1)
                mstore(mul(right, 0x20), node)
                mstore(mul(iszero(right), 0x20), calldataload(sibling))
                node := keccak256(0x00, 0x40)
                sibling := add(sibling, 0x20)
            }
        }
    }

    /// @notice One pass over the path at `at` for a leaf that changes: the root with `oldLeaf`
    /// at `index` (to check against the known root) and the root with `newLeaf` there, and
    /// the offset after the path.
    function update(bytes calldata proof, uint256 at, bytes32 oldLeaf, bytes32 newLeaf, uint256 index, uint256 depth)
        internal
        pure
        returns (bytes32 oldRoot, bytes32 newRoot, uint256 next)
    {
        next = ProofReader.skip(proof, at, 32 * depth);
        assembly ("memory-safe") {
            oldRoot := oldLeaf
            newRoot := newLeaf
            let sibling := add(proof.offset, at)
            for { let level := 0 } lt(level, depth) { level := add(level, 1) } {
                let right := and(shr(level, index), 1)
                let s := calldataload(sibling)
                mstore(mul(iszero(right), 0x20), s)
                mstore(mul(right, 0x20), oldRoot)
                oldRoot := keccak256(0x00, 0x40)
                mstore(mul(right, 0x20), newRoot)
                newRoot := keccak256(0x00, 0x40)
                sibling := add(sibling, 0x20)
            }
        }
    }
}

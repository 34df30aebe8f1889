// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProofReader} from "./ProofReader.sol";

/// @title MerklePath
/// @notice Roots of the machine's fixed-depth trees from a leaf and its siblings in calldata.
/// Leaves are raw 32-byte words and a parent is `keccak256(left || right)` (no leaf hashing:
/// depths are fixed, so a leaf can never pass for an inner node).
library MerklePath {
    /// @notice The root reached from `leaf` at `index` through `depth` siblings read bottom-up
    /// from `at`, and the offset after them.
    function root(bytes calldata proof, uint256 at, bytes32 leaf, uint256 index, uint256 depth)
        internal
        pure
        returns (bytes32 node, uint256 next)
    {
        node = leaf;
        bytes32 sibling;
        for (uint256 level; level < depth; ++level) {
            (sibling, at) = ProofReader.readBytes32(proof, at);
            assembly ("memory-safe") {
                // keccak(node || sibling) for a left child, keccak(sibling || node) for a right one.
                let right := and(shr(level, index), 1)
                mstore(mul(right, 0x20), node)
                mstore(mul(iszero(right), 0x20), sibling)
                node := keccak256(0x00, 0x40)
            }
        }
        next = at;
    }
}

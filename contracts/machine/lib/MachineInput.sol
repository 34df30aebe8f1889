// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title MachineInput
/// @notice The machine's first state on an input: what the Broker commits to as `c_0` when a
/// machine program is requested (`crates/machine/src/io.rs`, `Machine::new`).
/// @dev `H_0 = keccak(initialCore || ioHash_0)` with
/// `ioHash_0 = keccak(inputRoot || inputLen u32 || outAcc 0 || outBuf 0 || outLen u32 0)`, and
/// `inputRoot` the root of the input in zero-padded 32-byte leaves, a tree of fixed depth 8
/// whose parents are `keccak(left || right)` (raw leaves, no leaf hashing).
library MachineInput {
    /// @notice Levels of the input tree (8 KiB of 32-byte leaves).
    uint256 internal constant INPUT_DEPTH = 8;
    /// @notice The largest input: a full input tree.
    uint256 internal constant MAX_INPUT_BYTES = 32 << INPUT_DEPTH;

    /// @notice The machine's state hash before the first step of the program whose initial
    /// core is `initialCore`, on `input` (at most `MAX_INPUT_BYTES`, checked by the caller).
    function initialState(bytes32 initialCore, bytes calldata input) internal pure returns (bytes32 h) {
        bytes32 ioHash =
            keccak256(abi.encodePacked(root(input), uint32(input.length), bytes32(0), bytes32(0), uint32(0)));
        assembly ("memory-safe") {
            mstore(0x00, initialCore)
            mstore(0x20, ioHash)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @notice The root of the input tree: only the leaves the input fills are hashed; each
    /// level pairs its last node with the all-zero subtree of that height when it has no
    /// partner, and an empty input is the all-zero tree.
    function root(bytes calldata input) internal pure returns (bytes32 node) {
        uint256 n = (input.length + 31) >> 5;
        // The leaves, then each level written over the one below it, with a word to spare for
        // the zero partner of an odd level. The last leaf is masked: ABI padding after the
        // input is not guaranteed to be zero.
        bytes memory level = new bytes((n + 1) << 5);
        assembly ("memory-safe") {
            let data := add(level, 0x20)
            calldatacopy(data, input.offset, input.length)
            let tail := and(input.length, 31)
            if tail {
                let last := add(data, sub(shl(5, n), 0x20))
                mstore(last, and(mload(last), not(shr(shl(3, tail), not(0)))))
            }
            // `zero` is the root of an all-zero subtree of the current height.
            let zero := 0
            for { let height := 0 } lt(height, INPUT_DEPTH) { height := add(height, 1) } {
                if iszero(n) { break }
                if and(n, 1) {
                    mstore(add(data, shl(5, n)), zero)
                    n := add(n, 1)
                }
                n := shr(1, n)
                for { let k := 0 } lt(k, n) { k := add(k, 1) } {
                    mstore(add(data, shl(5, k)), keccak256(add(data, shl(6, k)), 0x40))
                }
                mstore(0x00, zero)
                mstore(0x20, zero)
                zero := keccak256(0x00, 0x40)
            }
            switch n
            case 0 {
                // An empty input: the all-zero tree of the full depth. The loop stopped at
                // height 0 and `zero` is still Z[0].
                for { let height := 0 } lt(height, INPUT_DEPTH) { height := add(height, 1) } {
                    mstore(0x00, zero)
                    mstore(0x20, zero)
                    zero := keccak256(0x00, 0x40)
                }
                node := zero
            }
            default { node := mload(data) }
        }
    }
}

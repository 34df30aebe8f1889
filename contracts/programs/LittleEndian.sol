// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title LittleEndian
/// @notice Little-endian encodings of 256-bit words, as ECM's programs use them.
library LittleEndian {
    /// @notice Reverses the byte order of a word (big-endian <-> little-endian), in O(1).
    function reverse(uint256 v) internal pure returns (uint256) {
        v = ((v & 0xFF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00) >> 8)
            | ((v & 0x00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF00FF) << 8);
        v = ((v & 0xFFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000) >> 16)
            | ((v & 0x0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF0000FFFF) << 16);
        v = ((v & 0xFFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000) >> 32)
            | ((v & 0x00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF00000000FFFFFFFF) << 32);
        v = ((v & 0xFFFFFFFFFFFFFFFF0000000000000000FFFFFFFFFFFFFFFF0000000000000000) >> 64)
            | ((v & 0x0000000000000000FFFFFFFFFFFFFFFF0000000000000000FFFFFFFFFFFFFFFF) << 64);
        return (v >> 128) | (v << 128);
    }

    /// @notice The value of `data` read as a little-endian integer, modulo 2^256 (bytes past
    /// the 32nd have weight 256^32 and vanish).
    function read(bytes calldata data) internal pure returns (uint256) {
        // forge-lint: disable-next-line(unsafe-typecast) -- bytes past the 32nd are dropped on purpose (modulo 2^256)
        return reverse(uint256(bytes32(data)));
    }

    /// @notice The little-endian word at `data[offset:offset + 32]`.
    function readWord(bytes calldata data, uint256 offset) internal pure returns (uint256) {
        return reverse(uint256(bytes32(data[offset:offset + 32])));
    }

    /// @notice `v` as a 32-byte little-endian word.
    function word(uint256 v) internal pure returns (bytes32) {
        return bytes32(reverse(v));
    }

    /// @notice `v` as little-endian bytes without trailing zero bytes (zero is empty).
    function minimal(uint256 v) internal pure returns (bytes memory out) {
        uint256 length;
        for (uint256 x = v; x != 0; x >>= 8) {
            ++length;
        }
        out = abi.encodePacked(reverse(v));
        assembly ("memory-safe") {
            mstore(out, length)
        }
    }
}

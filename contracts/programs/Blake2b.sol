// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../Execution.sol";
import {IExecution} from "../interfaces/IExecution.sol";

/// @title Blake2b
/// @notice BLAKE2b-512 of the input, one 128-byte block per step, through the EIP-152
/// compression precompile: a checksum of a document that nobody has to hash on-chain unless a
/// dispute reaches the one disputed block.
/// @dev State after step `i < N`: the chaining value `h` (64 bytes, the precompile's
/// little-endian words), the byte counter `t` (8 bytes, little-endian) and the input not yet
/// hashed. Step 1 starts from the unkeyed 64-byte-digest parameter block. The last block
/// (1..128 bytes, or the empty input) is padded with zeros and compressed with the final flag;
/// the result is the 64-byte digest. `N = max(1, ceil(len / 128))`. A state shorter than its
/// header halts the trace (empty, final).
contract Blake2b is Execution {
    uint256 private constant BLOCK = 128;
    uint256 private constant HEADER = 72; // h (64) + t (8)
    address private constant BLAKE2F = address(0x09);
    /// The IV with the parameter block folded in: h[0] ^= 0x01010040 (digest 64, no key,
    /// fanout 1, depth 1); each word little-endian.
    bytes private constant INITIAL_H =
        hex"48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b";

    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata prior) external view returns (bytes memory next, bool final_) {
        bytes memory h;
        uint64 t = 0;
        bytes calldata rest;
        if (i == 1) {
            h = INITIAL_H;
            rest = prior;
        } else {
            if (prior.length < HEADER) return (new bytes(0), true);
            h = prior[0:64];
            for (uint256 j = 72; j > 64; --j) {
                t = (t << 8) | uint8(prior[j - 1]);
            }
            rest = prior[HEADER:];
        }
        final_ = rest.length <= BLOCK;
        uint256 take = final_ ? rest.length : BLOCK;
        // forge-lint: disable-next-line(unsafe-typecast) -- at most 128
        t += uint64(take);
        bytes memory block_ = new bytes(BLOCK);
        for (uint256 j = 0; j < take; ++j) {
            block_[j] = rest[j];
        }
        bytes memory hashed = _compress(h, block_, t, final_);
        if (final_) return (hashed, true);
        return (abi.encodePacked(hashed, _u64(t), rest[BLOCK:]), false);
    }

    function _compress(bytes memory h, bytes memory m, uint64 t, bool last) private view returns (bytes memory out) {
        // The EIP-152 input: rounds (4 bytes, big-endian), h, m, t (16 bytes), final flag.
        bytes memory input =
            bytes.concat(bytes4(uint32(12)), h, m, _u64(t), bytes8(0), last ? bytes1(0x01) : bytes1(0x00));
        bool ok;
        (ok, out) = BLAKE2F.staticcall(input);
        require(ok && out.length == 64);
    }

    function _u64(uint64 v) private pure returns (bytes8 le) {
        uint64 out = 0;
        for (uint256 j = 0; j < 8; ++j) {
            out = (out << 8) | (v & 0xff);
            v >>= 8;
        }
        return bytes8(out);
    }
}

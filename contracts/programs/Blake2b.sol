// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../Execution.sol";
import {IExecution} from "../interfaces/IExecution.sol";
import {LittleEndian} from "./LittleEndian.sol";

/// @title Blake2b
/// @notice BLAKE2b-512 of the input, one 128-byte block per step: a checksum of a document that
/// nobody has to hash on-chain unless a dispute reaches the one disputed block.
/// @dev State after step `i < N`: the chaining value `h` (64 bytes, eight little-endian words),
/// the byte counter `t` (8 bytes, little-endian) and the input not yet hashed. Step 1 starts
/// from the unkeyed 64-byte-digest parameter block. The last block (1..128 bytes, or the empty
/// input) is padded with zeros and compressed with the final flag; the result is the 64-byte
/// digest. `N = max(1, ceil(len / 128))`. A state shorter than its header halts the trace
/// (empty, final).
///
/// The compression is written out here rather than taken from the EIP-152 precompile: the
/// Factory accepts only step code that cannot reach other accounts (no call of any kind), so
/// that a program's behaviour is fixed once registered (`docs/security.md`). Its constants live
/// in the code (PUSH immediates), not in a data section, for the same scan.
contract Blake2b is Execution {
    uint256 private constant BLOCK = 128;
    uint256 private constant HEADER = 72; // h (64) + t (8)
    /// The message schedule: row `r` of BLAKE2b's sigma is the 64 bits at `64 * (r % 4)` of
    /// the `r / 4`-th of these, entry `j` its nibble `j`.
    uint256 private constant SIGMA_0_3 = 0x8f04a562ebcd1397491763eadf250c8b357b20c16df984aefedcba9876543210;
    uint256 private constant SIGMA_4_7 = 0xa2684f05931ce7bdb8293670a4def15c91ef57d438b0a6c2d386cb1efa427509;
    uint256 private constant SIGMA_8_9 = 0x0dc3e9bf5167482a5a417d2c803b9ef6;

    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata prior) external pure returns (bytes memory next, bool final_) {
        uint64[8] memory h = _iv();
        uint64 t = 0;
        bytes calldata rest;
        if (i == 1) {
            // The parameter block: digest length 64, no key, fanout 1, depth 1.
            h[0] ^= 0x01010040;
            rest = prior;
        } else {
            if (prior.length < HEADER) return (new bytes(0), true);
            for (uint256 w = 0; w < 8; ++w) {
                h[w] = _le64(prior, 8 * w);
            }
            t = _le64(prior, 64);
            rest = prior[HEADER:];
        }
        final_ = rest.length <= BLOCK;
        uint256 take = final_ ? rest.length : BLOCK;
        // forge-lint: disable-next-line(unsafe-typecast) -- at most 128
        t += uint64(take);
        _compress(h, _words(rest, take), t, final_);
        bytes memory hashed = abi.encodePacked(
            _u64(h[0]), _u64(h[1]), _u64(h[2]), _u64(h[3]), _u64(h[4]), _u64(h[5]), _u64(h[6]), _u64(h[7])
        );
        if (final_) return (hashed, true);
        return (abi.encodePacked(hashed, _u64(t), rest[BLOCK:]), false);
    }

    /// @dev BLAKE2b's compression function F (RFC 7693, 3.2) on `h` in place: 12 rounds over
    /// the block's words `m`, the counter `t` (below 2^64 here) and the final flag. In assembly:
    /// the same rounds in Solidity cost about 235k gas a step, too close to the step gas.
    function _compress(uint64[8] memory h, uint64[16] memory m, uint64 t, bool last) private pure {
        uint64[8] memory iv = _iv();
        assembly ("memory-safe") {
            function rotr(x, n) -> r {
                r := and(or(shr(n, x), shl(sub(64, n), x)), 0xffffffffffffffff)
            }
            // G (RFC 7693, 3.1) on the words at indices a, b, c, d of v, with message words x, y.
            function g(v, a, b, c, d, x, y) {
                let pA := add(v, shl(5, a))
                let pB := add(v, shl(5, b))
                let pC := add(v, shl(5, c))
                let pD := add(v, shl(5, d))
                let va := and(add(add(mload(pA), mload(pB)), x), 0xffffffffffffffff)
                let vd := rotr(xor(mload(pD), va), 32)
                let vc := and(add(mload(pC), vd), 0xffffffffffffffff)
                let vb := rotr(xor(mload(pB), vc), 24)
                va := and(add(add(va, vb), y), 0xffffffffffffffff)
                vd := rotr(xor(vd, va), 16)
                vc := and(add(vc, vd), 0xffffffffffffffff)
                vb := rotr(xor(vb, vc), 63)
                mstore(pA, va)
                mstore(pB, vb)
                mstore(pC, vc)
                mstore(pD, vd)
            }
            // The message word named by nibble k of the sigma row s.
            function mw(words, row, k) -> x {
                x := mload(add(words, shl(5, and(shr(shl(2, k), row), 15))))
            }
            let v := mload(0x40)
            mstore(0x40, add(v, 0x200))
            for { let w := 0 } lt(w, 8) { w := add(w, 1) } {
                mstore(add(v, shl(5, w)), mload(add(h, shl(5, w))))
                mstore(add(v, shl(5, add(w, 8))), mload(add(iv, shl(5, w))))
            }
            mstore(add(v, 0x180), xor(mload(add(v, 0x180)), t))
            if last { mstore(add(v, 0x1c0), xor(mload(add(v, 0x1c0)), 0xffffffffffffffff)) }
            for { let r := 0 } lt(r, 12) { r := add(r, 1) } {
                let row := mod(r, 10)
                let pack := SIGMA_0_3
                if gt(row, 3) { pack := SIGMA_4_7 }
                if gt(row, 7) { pack := SIGMA_8_9 }
                let s := and(shr(shl(6, mod(row, 4)), pack), 0xffffffffffffffff)
                g(v, 0, 4, 8, 12, mw(m, s, 0), mw(m, s, 1))
                g(v, 1, 5, 9, 13, mw(m, s, 2), mw(m, s, 3))
                g(v, 2, 6, 10, 14, mw(m, s, 4), mw(m, s, 5))
                g(v, 3, 7, 11, 15, mw(m, s, 6), mw(m, s, 7))
                g(v, 0, 5, 10, 15, mw(m, s, 8), mw(m, s, 9))
                g(v, 1, 6, 11, 12, mw(m, s, 10), mw(m, s, 11))
                g(v, 2, 7, 8, 13, mw(m, s, 12), mw(m, s, 13))
                g(v, 3, 4, 9, 14, mw(m, s, 14), mw(m, s, 15))
            }
            for { let w := 0 } lt(w, 8) { w := add(w, 1) } {
                let ph := add(h, shl(5, w))
                mstore(ph, xor(mload(ph), xor(mload(add(v, shl(5, w))), mload(add(v, shl(5, add(w, 8)))))))
            }
        }
    }

    function _iv() private pure returns (uint64[8] memory) {
        return [
            uint64(0x6a09e667f3bcc908),
            0xbb67ae8584caa73b,
            0x3c6ef372fe94f82b,
            0xa54ff53a5f1d36f1,
            0x510e527fade682d1,
            0x9b05688c2b3e6c1f,
            0x1f83d9abfb41bd6b,
            0x5be0cd19137e2179
        ];
    }

    /// @dev The sixteen words of the block `rest[:take]`, zero-padded (a short slice reads as
    /// zeros).
    function _words(bytes calldata rest, uint256 take) private pure returns (uint64[16] memory m) {
        for (uint256 w = 0; w < 16; ++w) {
            uint256 from = 8 * w < take ? 8 * w : take;
            uint256 to = 8 * w + 8 < take ? 8 * w + 8 : take;
            // forge-lint: disable-next-line(unsafe-typecast) -- at most 8 bytes
            m[w] = uint64(LittleEndian.read(rest[from:to]));
        }
    }

    /// @dev The little-endian word at `offset` of `b`.
    function _le64(bytes calldata b, uint256 offset) private pure returns (uint64) {
        // forge-lint: disable-next-line(unsafe-typecast) -- 8 bytes
        return uint64(LittleEndian.read(b[offset:offset + 8]));
    }

    /// @dev `v` as eight little-endian bytes.
    function _u64(uint64 v) private pure returns (bytes8) {
        return bytes8(LittleEndian.word(v));
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Core, Instruction, MachineState, Outcome} from "./lib/MachineState.sol";
import {ProofReader} from "./lib/ProofReader.sol";

/// @title ProverMath
/// @notice i32 and i64 arithmetic, comparisons, bit counts, conversions and sign extension
/// (opcodes 0x40-0x8f): pops one or two values, pushes one, or traps on division by zero and
/// `INT_MIN / -1`. Values are untyped u64; an i32 operand is the low 32 bits of its value and
/// an i32 result is zero-extended, exactly as `crates/machine/src/machine.rs` computes them.
/// An opcode of this range the machine does not define traps.
library ProverMath {
    /// @notice Executes `inst` on `core` (changed in place and returned) and `ioHash`, reading
    /// what it needs from `proof`, the instruction's part of the step proof, which it must
    /// consume exactly; returns the outcome and, when halted, the final state.
    function execute(Core memory core, bytes32 ioHash, Instruction memory inst, bytes calldata proof)
        internal
        pure
        returns (Core memory next, bytes32 nextIoHash, Outcome outcome, bytes memory finalState)
    {
        next = core;
        nextIoHash = ioHash;
        uint16 op = inst.op;
        uint256 arity = _arity(op);
        if (arity == 0) {
            ProofReader.requireConsumed(proof, 0);
            return (next, nextIoHash, Outcome.Trapped, "");
        }
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(core.valueStack, arity, proof, 0);
        ProofReader.requireConsumed(proof, at);

        uint64 result;
        bool trapped = false;
        if (arity == 1) {
            result = _unary(op, v[0]);
        } else if (op < 0x60) {
            (result, trapped) = _binary32(op, uint32(v[0]), uint32(v[1]));
        } else {
            (result, trapped) = _binary64(op, v[0], v[1]);
        }
        if (trapped) return (next, nextIoHash, Outcome.Trapped, "");
        next.valueStack = MachineState.push(rest, result);
        next.pc = core.pc + 1;
        outcome = Outcome.Running;
    }

    /// @dev Values popped: 1 for tests, bit counts and conversions, 2 for the rest, 0 for an
    /// opcode the machine does not define.
    function _arity(uint16 op) private pure returns (uint256) {
        if (op == 0x40 || (op >= 0x4b && op <= 0x4d) || (op >= 0x5d && op <= 0x60)) return 1;
        if ((op >= 0x6b && op <= 0x6d) || (op >= 0x7d && op <= 0x81)) return 1;
        if (op > 0x81) return 0;
        return 2;
    }

    function _unary(uint16 op, uint64 x) private pure returns (uint64) {
        uint32 x32 = uint32(x);
        if (op == 0x40) return x32 == 0 ? 1 : 0; // i32.eqz
        if (op == 0x4b) return _clz(x32, 32); // i32.clz
        if (op == 0x4c) return _ctz(x32, 32); // i32.ctz
        if (op == 0x4d) return _popcnt(x32); // i32.popcnt
        if (op == 0x5d) return x32; // i32.wrap_i64
        if (op == 0x5e) return uint32(int32(int8(uint8(x)))); // i32.extend8_s
        if (op == 0x5f) return uint32(int32(int16(uint16(x)))); // i32.extend16_s
        if (op == 0x60) return x == 0 ? 1 : 0; // i64.eqz
        if (op == 0x6b) return _clz(x, 64); // i64.clz
        if (op == 0x6c) return _ctz(x, 64); // i64.ctz
        if (op == 0x6d) return _popcnt(x); // i64.popcnt
        if (op == 0x7d) return uint64(int64(int32(x32))); // i64.extend_i32_s
        if (op == 0x7e) return x32; // i64.extend_i32_u
        if (op == 0x7f) return uint64(int64(int8(uint8(x)))); // i64.extend8_s
        if (op == 0x80) return uint64(int64(int16(uint16(x)))); // i64.extend16_s
        return uint64(int64(int32(x32))); // 0x81 i64.extend32_s
    }

    function _binary32(uint16 op, uint32 a, uint32 b) private pure returns (uint64 r, bool trapped) {
        unchecked {
            if (op <= 0x4a) return (_compare(op - 0x41, a, b, int32(a) < int32(b), int32(a) > int32(b)), false);
            if (op == 0x4e) return (a + b, false);
            if (op == 0x4f) return (a - b, false);
            if (op == 0x50) return (a * b, false);
            if (op >= 0x51 && op <= 0x54) {
                if (b == 0) return (0, true);
                if (op == 0x51) {
                    if (a == 0x80000000 && b == 0xffffffff) return (0, true);
                    return (uint32(int32(a) / int32(b)), false);
                }
                if (op == 0x52) return (a / b, false);
                if (op == 0x53) return (b == 0xffffffff ? 0 : uint32(int32(a) % int32(b)), false);
                return (a % b, false);
            }
            if (op == 0x55) return (a & b, false);
            if (op == 0x56) return (a | b, false);
            if (op == 0x57) return (a ^ b, false);
            uint32 k = b & 31;
            if (op == 0x58) return (a << k, false);
            if (op == 0x59) return (uint32(int32(a) >> k), false);
            if (op == 0x5a) return (a >> k, false);
            if (k == 0) return (a, false); // a rotation by a multiple of the width
            if (op == 0x5b) return ((a << k) | (a >> (32 - k)), false);
            return ((a >> k) | (a << (32 - k)), false); // 0x5c i32.rotr
        }
    }

    function _binary64(uint16 op, uint64 a, uint64 b) private pure returns (uint64 r, bool trapped) {
        unchecked {
            if (op <= 0x6a) return (_compare(op - 0x61, a, b, int64(a) < int64(b), int64(a) > int64(b)), false);
            if (op == 0x6e) return (a + b, false);
            if (op == 0x6f) return (a - b, false);
            if (op == 0x70) return (a * b, false);
            if (op >= 0x71 && op <= 0x74) {
                if (b == 0) return (0, true);
                if (op == 0x71) {
                    if (a == 0x8000000000000000 && b == type(uint64).max) return (0, true);
                    return (uint64(int64(a) / int64(b)), false);
                }
                if (op == 0x72) return (a / b, false);
                if (op == 0x73) return (b == type(uint64).max ? 0 : uint64(int64(a) % int64(b)), false);
                return (a % b, false);
            }
            if (op == 0x75) return (a & b, false);
            if (op == 0x76) return (a | b, false);
            if (op == 0x77) return (a ^ b, false);
            uint64 k = b & 63;
            if (op == 0x78) return (a << k, false);
            if (op == 0x79) return (uint64(int64(a) >> k), false);
            if (op == 0x7a) return (a >> k, false);
            if (k == 0) return (a, false);
            if (op == 0x7b) return ((a << k) | (a >> (64 - k)), false);
            return ((a >> k) | (a << (64 - k)), false); // 0x7c i64.rotr
        }
    }

    /// @dev The ten comparisons, in opcode order from `eq`: eq ne lt_s lt_u gt_s gt_u le_s
    /// le_u ge_s ge_u.
    function _compare(uint16 which, uint64 a, uint64 b, bool ltS, bool gtS) private pure returns (uint64) {
        bool r;
        if (which == 0) r = a == b;
        else if (which == 1) r = a != b;
        else if (which == 2) r = ltS;
        else if (which == 3) r = a < b;
        else if (which == 4) r = gtS;
        else if (which == 5) r = a > b;
        else if (which == 6) r = !gtS;
        else if (which == 7) r = a <= b;
        else if (which == 8) r = !ltS;
        else r = a >= b;
        return r ? 1 : 0;
    }

    function _clz(uint64 x, uint64 width) private pure returns (uint64 n) {
        if (x == 0) return width;
        // Binary search for the highest set bit, counted in 64 bits; a 32-bit value has 32
        // leading zeros more in 64 bits than in its own width.
        if (x >> 32 == 0) (n, x) = (n + 32, x << 32);
        if (x >> 48 == 0) (n, x) = (n + 16, x << 16);
        if (x >> 56 == 0) (n, x) = (n + 8, x << 8);
        if (x >> 60 == 0) (n, x) = (n + 4, x << 4);
        if (x >> 62 == 0) (n, x) = (n + 2, x << 2);
        if (x >> 63 == 0) n += 1;
        n -= 64 - width;
    }

    function _ctz(uint64 x, uint64 width) private pure returns (uint64) {
        if (x == 0) return width;
        unchecked {
            // The ones below the lowest set bit.
            return _popcnt((x & (~x + 1)) - 1);
        }
    }

    function _popcnt(uint64 x) private pure returns (uint64) {
        unchecked {
            // Bits per 2, 4, then 8 bits, summed into the top byte by the multiplication.
            x = x - ((x >> 1) & 0x5555555555555555);
            x = (x & 0x3333333333333333) + ((x >> 2) & 0x3333333333333333);
            x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0f;
            return (x * 0x0101010101010101) >> 56;
        }
    }
}

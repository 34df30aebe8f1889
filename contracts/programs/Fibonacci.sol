// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../Execution.sol";
import {IExecution} from "../interfaces/IExecution.sol";
import {LittleEndian} from "./LittleEndian.sol";

/// @title Fibonacci
/// @notice ECM's Fibonacci: F(0) = F(1) = 1, F(k) = F(k-1) + F(k-2) modulo 2^256.
/// @dev Input: `n` as little-endian bytes (minimal, though any length parses, modulo 2^256).
/// The trace takes `n + 1` steps; the result is F(n) as minimal little-endian bytes. As in
/// ECM, steps 1 and 2 produce 1 and step `i > 2` adds the two words of the state. ECM's step
/// read `n` from the contract's storage; a step here sees only its state, so the state carries
/// `n` as a third word: `[F(i-2) | F(i-1) | n]`, three 32-byte little-endian words. A state of
/// another length halts the trace (empty, final), as the WASM module does.
contract Fibonacci is Execution {
    uint256 private constant STATE_BYTES = 96;

    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata prior) external pure returns (bytes memory next, bool final_) {
        uint256 n;
        uint256 previous = 0;
        uint256 current;
        if (i == 1) {
            n = LittleEndian.read(prior);
            current = 1;
        } else {
            if (prior.length != STATE_BYTES) return (new bytes(0), true);
            uint256 a = LittleEndian.readWord(prior, 0);
            uint256 b = LittleEndian.readWord(prior, 32);
            n = LittleEndian.readWord(prior, 64);
            previous = b;
            unchecked {
                current = i == 2 ? 1 : a + b;
            }
        }
        if (i > n) return (LittleEndian.minimal(current), true);
        return (abi.encodePacked(LittleEndian.word(previous), LittleEndian.word(current), LittleEndian.word(n)), false);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../Execution.sol";
import {IExecution} from "../interfaces/IExecution.sol";

/// @title KeccakChain
/// @notice A sequential hash chain, the benchmark workload: `h_i = keccak256(h_{i-1})`.
/// Input: `n` (8 little-endian bytes) then the 32-byte seed `h_0`. State: the same layout with
/// `h_i` in place of the seed. Final at step `max(n, 1)`, whose result is the 32-byte `h_n`.
/// A malformed state halts the trace (empty, final).
contract KeccakChain is Execution {
    uint256 private constant STATE_BYTES = 40;

    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata prior) external pure returns (bytes memory next, bool final_) {
        if (prior.length != STATE_BYTES) return (new bytes(0), true);
        bytes32 h = keccak256(prior[8:40]);
        uint64 n = 0;
        for (uint256 j = 8; j > 0; --j) {
            n = (n << 8) | uint8(prior[j - 1]);
        }
        if (i >= n) return (abi.encodePacked(h), true);
        return (abi.encodePacked(prior[0:8], h), false);
    }
}

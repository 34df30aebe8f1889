// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../Execution.sol";
import {IExecution} from "../interfaces/IExecution.sol";

/// @title Counter
/// @notice The cheapest possible step, for measuring disputes over very long traces: counts to
/// `n`. Input: `n` as 8 little-endian bytes. State: `n` then the step count, 8 little-endian
/// bytes each. Final at step `max(n, 1)`; the result is the last state. A malformed state halts
/// the trace (empty, final).
contract Counter is Execution {
    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata prior) external pure returns (bytes memory next, bool final_) {
        if (prior.length != (i == 1 ? 8 : 16)) return (new bytes(0), true);
        uint64 n = _readU64(prior[0:8]);
        // forge-lint: disable-next-line(unsafe-typecast) -- step numbers are below 2^64: maxSteps is a uint64
        uint64 count = uint64(i);
        return (abi.encodePacked(prior[0:8], _u64(count)), count >= n);
    }

    function _readU64(bytes calldata le) private pure returns (uint64 v) {
        for (uint256 j = 8; j > 0; --j) {
            v = (v << 8) | uint8(le[j - 1]);
        }
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

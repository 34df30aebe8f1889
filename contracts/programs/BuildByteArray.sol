// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../Execution.sol";
import {IExecution} from "../interfaces/IExecution.sol";

/// @title BuildByteArray
/// @notice ECM's toy program: step `k` writes byte `k` (mod 256); the trace is final once the
/// array is as long as the input. For an input of `L` bytes the result is `[1, 2, ..., L]`
/// after `max(L, 1)` steps, as in ECM.
/// @dev ECM's step read the input length from storage. A step here sees only its state, so the
/// state keeps the input's length: step `k` overwrites byte `k - 1` of the state (appending
/// when the state is exactly `k - 1` long, which only happens for the empty input). A state
/// shorter than that is malformed and halts the trace (empty, final).
contract BuildByteArray is Execution {
    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata prior) external pure returns (bytes memory next, bool final_) {
        uint256 index = i - 1;
        if (index > prior.length) return (new bytes(0), true);
        if (index < prior.length) {
            next = prior;
        } else {
            next = bytes.concat(prior, bytes1(0));
        }
        // forge-lint: disable-next-line(unsafe-typecast) -- byte k is k modulo 256, as in ECM
        next[index] = bytes1(uint8(i));
        final_ = i >= next.length;
    }
}

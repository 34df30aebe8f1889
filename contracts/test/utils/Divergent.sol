// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../../Execution.sol";
import {IExecution} from "../../interfaces/IExecution.sol";

/// @notice A Counter whose EVM side diverges from its WASM module at step 37: it claims to be
/// final there whatever `n` is. The conformance check must catch it.
contract DivergentCounter is Execution {
    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata state) external pure returns (bytes memory next, bool final_) {
        if (state.length != (i == 1 ? 8 : 16)) return (new bytes(0), true);
        uint64 n;
        for (uint256 j = 8; j > 0; --j) {
            n = (n << 8) | uint8(state[j - 1]);
        }
        bytes memory count = new bytes(8);
        for (uint256 j = 0; j < 8; ++j) {
            count[j] = bytes1(uint8(i >> (8 * j)));
        }
        return (abi.encodePacked(state[0:8], count), i >= n || i == 37);
    }
}

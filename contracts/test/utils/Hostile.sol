// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Execution} from "../../Execution.sol";
import {IExecution} from "../../interfaces/IExecution.sol";

/// @notice Programs that misbehave in each way the halting rule covers. Each counts like the
/// Counter on an empty state (1 byte per step) until it misbehaves at step `badStep`.
abstract contract Misbehaving is Execution {
    uint256 internal constant BAD_STEP = 3;

    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata state) external view returns (bytes memory, bool) {
        if (i == BAD_STEP) _misbehave(state);
        return (bytes.concat(state, bytes1(uint8(i))), i >= 5);
    }

    function _misbehave(bytes calldata state) internal view virtual;
}

contract Reverting is Misbehaving {
    function _misbehave(bytes calldata) internal pure override {
        revert("boom");
    }
}

contract GasGuzzler is Misbehaving {
    function _misbehave(bytes calldata) internal pure override {
        while (true) {}
    }
}

contract Malformed is Misbehaving {
    function _misbehave(bytes calldata) internal pure override {
        assembly {
            // offset 0x20 instead of 0x40, final flag 7: not a `(bytes, bool)`
            mstore(0, 0x20)
            mstore(0x20, 7)
            mstore(0x40, 0)
            return(0, 0x60)
        }
    }
}

contract Oversized is Misbehaving {
    function _misbehave(bytes calldata) internal pure override {
        bytes memory huge = new bytes(8193);
        assembly {
            // The ABI encoding of (huge, false), returned directly.
            let start := sub(huge, 0x40)
            mstore(start, 0x40)
            mstore(add(start, 0x20), 0)
            return(start, add(0x60, 8224))
        }
    }
}

contract LengthLiar is Misbehaving {
    function _misbehave(bytes calldata) internal pure override {
        assembly {
            // Claims 1000 bytes of state but returns only 32.
            mstore(0, 0x40)
            mstore(0x20, 0)
            mstore(0x40, 1000)
            mstore(0x60, 0)
            return(0, 0x80)
        }
    }
}

/// @notice Uses exactly as much gas as it is given, for checking that a step receives its full
/// `maxStepGas`: it only succeeds if `gasleft()` at entry is above `threshold`.
contract GasProbe is Execution {
    uint256 public immutable threshold;

    constructor(uint256 threshold_) {
        threshold = threshold_;
    }

    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata state) external view returns (bytes memory, bool) {
        require(gasleft() > threshold, "starved");
        return (state, i >= 1);
    }
}

/// @notice The review's trap (finding 1): an honest-looking step that reads a storage flag the
/// registrant sets after an honest answer, to make the honest trace halt.
contract ArmedByStorage is Execution {
    bool public armed;

    function arm() external {
        armed = true;
    }

    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata state) external view returns (bytes memory, bool) {
        if (armed) return ("", true);
        return (state, i >= 3);
    }
}

/// @notice The same trap with the flag in another contract, read through a call.
contract ArmedByCall is Execution {
    ArmedByStorage public immutable flag;

    constructor(ArmedByStorage flag_) {
        flag = flag_;
    }

    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata state) external view returns (bytes memory, bool) {
        if (flag.armed()) return ("", true);
        return (state, i >= 3);
    }
}

/// @notice The same trap keyed to the block: honest until a chosen block.
contract ArmedByBlock is Execution {
    /// @inheritdoc IExecution
    function step(uint256 i, bytes calldata state) external view returns (bytes memory, bool) {
        if (block.number > 1_000) return ("", true);
        return (state, i >= 3);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Trace} from "../libraries/Trace.sol";

/// @title StepHarness
/// @notice Runs one step exactly as the Broker's one-step proof does (`Trace.next`: the full
/// `maxStepGas`, the sticky-final and halting rules), for off-chain reproduction in revm. Never
/// deployed on-chain; the verifier loads it next to a program's Execution code.
contract StepHarness {
    /// @notice `(s_i, f_i)` from `(f_{i-1}, s_{i-1})`, and the gas the step took.
    function next(address execution, uint256 maxStepGas, uint256 i, bool final_, bytes calldata state)
        external
        view
        returns (bytes memory nextState, bool nextFinal, uint256 gasUsed)
    {
        uint256 before = gasleft();
        (nextState, nextFinal) = Trace.next(execution, maxStepGas, i, final_, state);
        gasUsed = before - gasleft();
    }
}

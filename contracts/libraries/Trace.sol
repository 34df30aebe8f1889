// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {IExecution} from "../interfaces/IExecution.sol";

/// @dev The largest state (and input) the protocol carries, in bytes. Larger states would make
/// the one-step proof's calldata and the full re-execution's storage unbounded.
uint256 constant MAX_STATE_BYTES = 8192;

/// @title Trace
/// @notice Commitments to trace points, and the one safe way to run a program's step.
/// @dev Both dispute modes and the off-chain agents must agree on these rules byte for byte:
/// - `commit(f, s) = keccak256(abi.encodePacked(f, s))`, one byte for the flag then the state;
/// - a final state is sticky: stepping it returns it unchanged, still final, without running
///   the program;
/// - a step is given exactly `maxStepGas`; if it reverts, runs out of gas, returns data that is
///   not a well-formed `(bytes, bool)` or a state longer than `MAX_STATE_BYTES`, the trace halts:
///   the next state is empty and final.
library Trace {
    /// @dev Gas kept back for the CALL itself (cold account access, memory) on top of the
    /// 64/63 share the caller must hold for the callee to receive its full gas.
    uint256 internal constant CALL_OVERHEAD_GAS = 10_000;

    /// @notice The commitment to a trace point.
    function commit(bool final_, bytes memory state) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(final_, state));
    }

    /// @notice `commit` of a state in calldata, hashed from one copy (`commit` would copy it
    /// twice: into memory, then packed).
    function commitCalldata(bool final_, bytes calldata state) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(final_, state));
    }

    /// @notice What a host commits to before revealing its answer: the request, the claim
    /// (`commit(final_, result)`), the steps, the host itself (so that nobody else can reveal
    /// it) and a secret salt (so that the claim cannot be guessed from the hash).
    function answerCommitment(uint256 id, bytes32 claim, uint64 steps, address host, bytes32 salt)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(id, claim, steps, host, salt));
    }

    /// @notice Checks that `(final_, state)` is the point committed to by `agreed`.
    function checkPreimage(bool final_, bytes calldata state, bytes32 agreed) internal pure {
        bytes32 revealed = commitCalldata(final_, state);
        if (revealed != agreed) revert IBroker.PreimageMismatch(revealed, agreed);
    }

    /// @notice Checks an answer's claim on a request of at most `maxSteps` steps: the state
    /// after `steps` steps, final, or not final at exactly `maxSteps` ("out of steps").
    function checkClaim(uint64 maxSteps, uint256 resultBytes, uint64 steps, bool final_) internal pure {
        if (resultBytes > MAX_STATE_BYTES) revert IBroker.ResultTooLarge(resultBytes, MAX_STATE_BYTES);
        if (steps == 0 || steps > maxSteps) revert IBroker.StepsOutOfRange(steps, maxSteps);
        if (!final_ && steps != maxSteps) revert IBroker.NotFinalBeforeMaxSteps(steps, maxSteps);
    }

    /// @notice The gas a caller must have left so that a step receives its full `maxStepGas`
    /// under the 63/64 rule (EIP-150).
    function gasNeeded(uint256 maxStepGas) internal pure returns (uint256) {
        return maxStepGas + maxStepGas / 63 + CALL_OVERHEAD_GAS;
    }

    /// @notice Runs step `i` of the program at `execution` on `(final_, state)`, applying the
    /// sticky-final and halting rules, for a one-step proof: reverts
    /// `IBroker.InsufficientGasForStep` rather than run the step with less than `maxStepGas`.
    /// The gas is checked after the call data is built (an 8 KiB state costs a few thousand gas
    /// to copy), right before the call, so that no caller can starve an honest step.
    function next(address execution, uint256 maxStepGas, uint256 i, bool final_, bytes memory state)
        internal
        view
        returns (bytes memory, bool)
    {
        if (final_) return (state, true);
        bytes memory callData = abi.encodeCall(IExecution.step, (i, state));
        uint256 needed = gasNeeded(maxStepGas);
        if (gasleft() < needed) revert IBroker.InsufficientGasForStep(gasleft(), needed);
        return _call(execution, maxStepGas, callData);
    }

    /// @notice Calls `step(i, state)` with exactly `maxStepGas` and decodes the answer without
    /// trusting it: any failure halts the trace (empty state, final). The caller must have
    /// checked `gasNeeded` with room for building the call data.
    function runStep(address execution, uint256 maxStepGas, uint256 i, bytes memory state)
        internal
        view
        returns (bytes memory nextState, bool final_)
    {
        return _call(execution, maxStepGas, abi.encodeCall(IExecution.step, (i, state)));
    }

    function _call(address execution, uint256 maxStepGas, bytes memory callData)
        private
        view
        returns (bytes memory nextState, bool final_)
    {
        bool ok;
        uint256 size;
        assembly ("memory-safe") {
            ok := staticcall(maxStepGas, execution, add(callData, 0x20), mload(callData), 0, 0)
            size := returndatasize()
        }
        // A well-formed answer is: offset (0x40), flag, length, data padded to 32 bytes.
        if (!ok || size < 0x60 || size > 0x60 + MAX_STATE_BYTES + 31) return (new bytes(0), true);
        uint256 offset;
        uint256 flag;
        uint256 length;
        assembly ("memory-safe") {
            // The three head words, through the scratch space.
            returndatacopy(0x00, 0x00, 0x40)
            offset := mload(0x00)
            flag := mload(0x20)
            returndatacopy(0x00, 0x40, 0x20)
            length := mload(0x00)
        }
        if (offset != 0x40 || flag > 1 || length > MAX_STATE_BYTES || 0x60 + length > size) {
            return (new bytes(0), true);
        }
        nextState = new bytes(length);
        assembly ("memory-safe") {
            returndatacopy(add(nextState, 0x20), 0x60, length)
        }
        final_ = flag == 1;
    }
}

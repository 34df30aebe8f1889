// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IExecution
/// @notice One program's step function, registered once in the Factory. Disputes only ever
/// `staticcall` it: a bisection's one-step proof runs it once, a full re-execution runs it step
/// after step in the Broker's own loop (`Reexecution`).
/// @dev The trace of input `x` is `s_0 = x`, `(s_i, f_i) = step(i, s_{i-1})` for `i = 1..N`,
/// where `f_N` is the first `true`. Steps are 1-indexed. A step that reverts, runs out of the
/// program's `maxStepGas`, returns malformed data or returns a state longer than
/// `MAX_STATE_BYTES` halts the trace: the next state is empty and final (see `Trace`).
interface IExecution {
    /// @notice The program's transition function: the state after step `i` from the state
    /// after step `i - 1`, and whether it is final. Pure in spirit: it must depend only on its
    /// arguments, and must return the same bytes as the program's WASM module.
    function step(uint256 i, bytes calldata prior) external view returns (bytes memory next, bool final_);
}

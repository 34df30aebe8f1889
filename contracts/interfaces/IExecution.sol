// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IExecution
/// @notice One program's step function, and the instance logic that runs it on-chain step by
/// step (the ECM "executable"). A program's implementation contract is registered once in the
/// Factory; full re-execution disputes run EIP-1167 clones of it, each holding one trace.
/// @dev The trace of input `x` is `s_0 = x`, `(s_i, f_i) = step(i, s_{i-1})` for `i = 1..N`,
/// where `f_N` is the first `true`. Steps are 1-indexed. A step that reverts, runs out of the
/// program's `maxStepGas`, returns malformed data or returns a state longer than
/// `MAX_STATE_BYTES` halts the trace: the next state is empty and final (see `StepCall`).
interface IExecution {
    /// @notice `initialize` was called on an instance that already holds a trace, or on the
    /// implementation itself (only clones are initialised).
    error AlreadyInitialized();
    /// @notice Only the instance's controller (the contract that had the Factory build it) may
    /// advance the trace.
    error NotController(address caller, address controller);
    /// @notice An instance needs a controller.
    error ZeroController();
    /// @notice The input is longer than `MAX_STATE_BYTES`.
    error InputTooLarge(uint256 length, uint256 max);

    /// @notice An instance was initialised with `input`; `controller` may advance it.
    event Initialized(address indexed controller, uint32 maxStepGas, bytes input);
    /// @notice Steps `fromStep..toStep` (inclusive) ran; `final_` is the flag after `toStep`.
    event Executed(uint64 fromStep, uint64 toStep, bool final_);

    /// @notice The program's transition function: the state after step `i` from the state
    /// after step `i - 1`, and whether it is final. Pure in spirit: it must depend only on its
    /// arguments, and must return the same bytes as the program's WASM module.
    function step(uint256 i, bytes calldata prior) external view returns (bytes memory next, bool final_);

    /// @notice Initialises a fresh clone with the trace's input (called by the Factory).
    function initialize(bytes calldata input, uint32 stepGas, address owner) external;

    /// @notice Runs up to `n` steps while gas allows, keeping enough gas back to store the
    /// state: a call never fails because a step would not fit, it just does fewer steps.
    /// @return executed The number of steps run by this call.
    /// @return final_ Whether the trace is final after this call.
    function executeN(uint256 n) external returns (uint256 executed, bool final_);

    /// @notice The implementation contract whose `step` this instance runs.
    function implementation() external view returns (address);
    /// @notice The account allowed to advance this instance.
    function controller() external view returns (address);
    /// @notice The gas each step is given.
    function maxStepGas() external view returns (uint32);
    /// @notice The number of steps run so far (`i` of the current state `s_i`).
    function stepCount() external view returns (uint64);
    /// @notice Whether the current state is final.
    function isFinal() external view returns (bool);
    /// @notice The current state `s_i`.
    function currentState() external view returns (bytes memory);
    /// @notice The commitment `keccak256(abi.encodePacked(f_i, s_i))` to the current state.
    function commitment() external view returns (bytes32);
}

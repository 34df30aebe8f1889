// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IExecution} from "./interfaces/IExecution.sol";
import {MAX_STATE_BYTES, Trace} from "./libraries/Trace.sol";

/// @title Execution
/// @notice Base of every program's Execution contract. A program only implements `step`; this
/// base adds the instance logic that full re-execution disputes run on EIP-1167 clones.
/// @dev ECM ran `executeN` until gas ran out and lost the whole call when the last step did.
/// Here every step is given exactly `maxStepGas` (checked against the 63/64 rule before the
/// call), and the loop stops while enough gas is left to store the state it reached.
abstract contract Execution is IExecution {
    /// @dev Gas kept back for the bookkeeping after the loop (event, counters).
    uint256 private constant LOOP_EXIT_GAS = 20_000;
    /// @dev Worst-case gas to store one 32-byte word of state (a fresh slot, cold).
    uint256 private constant STORE_WORD_GAS = 22_100;

    /// @dev The implementation's own address, so that clones call `step` on it directly.
    address private immutable _self = address(this);

    // Instance storage: only clones use it (the implementation is locked in the constructor).
    address private _controller;
    uint32 private _maxStepGas;
    uint64 private _stepCount;
    bool private _final;
    bytes private _state;

    constructor() {
        // The implementation never holds a trace: lock it so nobody can initialise it.
        _controller = address(this);
    }

    /// @inheritdoc IExecution
    function initialize(bytes calldata input, uint32 stepGas, address owner) external {
        if (_controller != address(0)) revert AlreadyInitialized();
        if (owner == address(0)) revert ZeroController();
        if (input.length > MAX_STATE_BYTES) revert InputTooLarge(input.length, MAX_STATE_BYTES);
        _controller = owner;
        _maxStepGas = stepGas;
        _state = input;
        emit Initialized(owner, stepGas, input);
    }

    /// @inheritdoc IExecution
    function executeN(uint256 n) external returns (uint256 executed, bool final_) {
        address controller_ = _controller;
        if (msg.sender != controller_) revert NotController(msg.sender, controller_);
        final_ = _final;
        if (final_ || n == 0) return (0, final_);

        uint256 maxStepGas_ = _maxStepGas;
        uint64 first = _stepCount + 1;
        uint64 i = _stepCount;
        bytes memory current = _state;
        while (executed < n) {
            // Room for one more step, then for storing whatever it returns (at most the
            // current state grown by a word, or the previous state if that does not fit).
            if (gasleft() < Trace.gasNeeded(maxStepGas_) + _storeGas(current.length + 32)) break;
            (bytes memory next, bool nextFinal) = Trace.runStep(_self, maxStepGas_, i + 1, current);
            if (gasleft() < _storeGas(next.length)) break;
            current = next;
            final_ = nextFinal;
            ++i;
            ++executed;
            if (final_) break;
        }
        if (executed == 0) return (0, false);
        _state = current;
        _stepCount = i;
        _final = final_;
        emit Executed(first, i, final_);
    }

    /// @inheritdoc IExecution
    function implementation() external view returns (address) {
        return _self;
    }

    /// @inheritdoc IExecution
    function controller() external view returns (address) {
        return _controller;
    }

    /// @inheritdoc IExecution
    function maxStepGas() external view returns (uint32) {
        return _maxStepGas;
    }

    /// @inheritdoc IExecution
    function stepCount() external view returns (uint64) {
        return _stepCount;
    }

    /// @inheritdoc IExecution
    function isFinal() external view returns (bool) {
        return _final;
    }

    /// @inheritdoc IExecution
    function currentState() external view returns (bytes memory) {
        return _state;
    }

    /// @inheritdoc IExecution
    function commitment() external view returns (bytes32) {
        return Trace.commit(_final, _state);
    }

    /// @dev Worst-case gas to store a state of `length` bytes and leave the loop.
    function _storeGas(uint256 length) private pure returns (uint256) {
        return (length / 32 + 2) * STORE_WORD_GAS + LOOP_EXIT_GAS;
    }
}

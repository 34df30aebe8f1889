// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IMachineProver
/// @notice Executes ONE instruction of ecm's WASM machine from the state hash before it and a
/// proof, and returns the trace's next state. Pure: no storage, no environment; a proof that
/// is short, long, or inconsistent with the state reverts with an error naming what is wrong.
/// @dev The proof's layout is documented in `crates/machine/src/proof.rs` and `docs/machine.md`.
interface IMachineProver {
    /// @notice The revealed core and I/O hash do not hash to the state being stepped.
    /// @param expected The state hash given.
    /// @param proven `keccak(keccak(core) || ioHash)` of what the proof reveals.
    error StateMismatch(bytes32 expected, bytes32 proven);

    /// @notice The revealed module preimage does not hash to the core's `moduleRoot`.
    error ModuleMismatch(bytes32 expected, bytes32 proven);

    /// @notice The revealed code leaf and path do not reach the module's code root.
    error CodeMismatch(bytes32 expected, bytes32 proven);

    /// @notice The revealed leaf and path of a local or global do not reach the locals or
    /// globals root.
    error VariablesMismatch(bytes32 expected, bytes32 proven);

    /// @notice The revealed table leaf and path do not reach the table root.
    error TableMismatch(bytes32 expected, bytes32 proven);

    /// @notice The revealed frame record does not hash to the core's frame stack.
    error FrameMismatch(bytes32 expected, bytes32 proven);

    /// @notice The revealed input commitment and output do not hash to the state's I/O hash.
    error IoMismatch(bytes32 expected, bytes32 proven);

    /// @notice The module claims a code tree deeper than a program can have.
    error CodeDepthTooLarge(uint32 depth, uint32 max);

    /// @notice The next trace state after the running state `state`.
    /// @param state `H = keccak(keccak(core) || ioHash)` of the running state.
    /// @param proof The core, I/O hash, module preimage, code leaf and path, and what the
    /// instruction reads.
    /// @return next `H` of the next state if it runs, or the final state (empty after a trap).
    /// @return final_ Whether `next` is final.
    function step(bytes32 state, bytes calldata proof) external view returns (bytes memory next, bool final_);
}

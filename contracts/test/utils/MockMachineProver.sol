// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IMachineProver} from "../../machine/IMachineProver.sol";

/// @notice A stand-in for the machine prover in the Broker's tests, with a trace simple enough
/// to compute in Solidity: the next state is `keccak(state)`, and a state whose hash starts
/// with a byte below `HALT_BELOW` halts with the output `exit code 0 || "out" || state`. A proof
/// is valid only if it is `proofFor(state)`; anything else reverts, as a bad proof does in the
/// real prover. The real prover is tested against the interpreter in `crates/verifier`.
contract MockMachineProver is IMachineProver {
    /// @notice About one step in `256 / HALT_BELOW` halts.
    uint8 public constant HALT_BELOW = 12;

    error BadProof(bytes32 state);

    function proofFor(bytes32 state) public pure returns (bytes memory) {
        return abi.encodePacked("proof of", state);
    }

    function step(bytes32 state, bytes calldata proof) external pure returns (bytes memory next, bool final_) {
        if (keccak256(proof) != keccak256(proofFor(state))) revert BadProof(state);
        bytes32 h = keccak256(abi.encodePacked(state));
        if (uint8(h[0]) < HALT_BELOW) return (abi.encodePacked(uint32(0), "out", state), true);
        return (abi.encodePacked(h), false);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProgramTerms} from "../BrokerTypes.sol";
import {IBroker} from "../interfaces/IBroker.sol";
import {IMachineProver} from "../machine/IMachineProver.sol";
import {Trace} from "./Trace.sol";

/// @title OneStep
/// @notice The end of a bisection game: the state at the agreed left end `cLo` is revealed, one
/// step is run on-chain, and the point it reaches decides the game (the defender wins if it is
/// the defender's `cHi`).
/// @dev A step program's step is its registered `step`, given its full `maxStepGas` (`Trace.next`
/// refuses rather than decide on a starved step). A machine program's step is the one WASM
/// prover's, checked against a proof: the prover is pure and fixed by the Factory, a bad proof
/// reverts and decides nothing, and a lack of gas can only revert, so no gas check is needed.
library OneStep {
    /// @notice Checks that `(final_, state)` is the point both parties agreed on at `g.lo`.
    function reveal(IBroker.Game storage g, bool final_, bytes calldata state) internal view {
        Trace.checkPreimage(final_, state, g.cLo);
    }

    /// @notice Runs step `stepNumber` of request `id`'s step program `program` on the revealed
    /// point and returns the commitment to the point it reaches. A machine program's steps need
    /// a proof (`machineStep`), except from a final point, which is sticky.
    function programStep(ProgramTerms memory program, uint256 id, uint64 stepNumber, bool final_, bytes calldata state)
        internal
        view
        returns (bytes32)
    {
        if (!final_ && program.machine) revert IBroker.ProofRequired(id);
        (bytes memory next, bool nextFinal) =
            Trace.next(program.execution, program.maxStepGas, stepNumber, final_, state);
        return Trace.commit(nextFinal, next);
    }

    /// @notice Runs one step of a machine program from the revealed point (a machine state
    /// hash) with `prover`, checked against `proof`, and returns the commitment to the point it
    /// reaches. A final point is sticky and needs no proof. (The caller checks the request's
    /// program is a machine program.)
    function machineStep(address prover, bool final_, bytes calldata state, bytes calldata proof)
        internal
        view
        returns (bytes32)
    {
        if (final_) return Trace.commitCalldata(true, state);
        if (state.length != 32) revert IBroker.MachineStateLength(state.length);
        // forge-lint: disable-next-line(unsafe-typecast) -- exactly 32 bytes, checked just above
        (bytes memory next, bool nextFinal) = IMachineProver(prover).step(bytes32(state), proof);
        return Trace.commit(nextFinal, next);
    }
}

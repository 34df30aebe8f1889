// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "./interfaces/IBroker.sol";

/// @notice A request as the Broker stores it: `IBroker.Request` (which `getRequest` returns)
/// with its program named by the Broker's index of it (`ProgramTerms.index`) rather than by its
/// id and step gas. Three words are written by a request instead of four: the 32-byte program id
/// gives way to a 4-byte index in the terms' word.
/// @dev The fields mean what `IBroker.Request`'s of the same names mean.
struct StoredRequest {
    address requester;
    IBroker.Status status;
    IBroker.DisputeMode mode;
    uint32 softResolutionBlocks;
    uint48 deadline;
    bytes32 inputCommitment;
    uint96 payment;
    uint48 maxGasPrice;
    uint16 minHostJobs;
    uint64 maxSteps;
    /// The request's program: `ProgramTerms.index`.
    uint32 program;
    address host;
    uint64 steps;
    uint16 hostWins;
    uint16 disputes;
    bytes32 claim;
}

/// @notice What a request takes from its program, copied from the Factory by the program's
/// first request (a registration never changes: the program id binds it), in one word.
struct ProgramTerms {
    /// The Execution whose `step` is the program's (the machine prover for a machine program).
    address execution;
    /// The gas one step is given.
    uint32 maxStepGas;
    /// A machine program (its steps are proven by the machine prover).
    bool machine;
    /// The Broker's index of the program, from 1 in the order of first requests.
    uint32 index;
}

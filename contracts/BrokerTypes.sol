// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "./interfaces/IBroker.sol";

/// @notice A request as the Broker stores it: `IBroker.Request` (which `getRequest` returns)
/// in four words. Its program is named by the Broker's index of it (`ProgramTerms.index`)
/// rather than by its id and step gas, and its requester and host by their account indices
/// (`BrokerStorage._accountIndex`) rather than by address, so that everything an answer or a
/// dispute changes shares the first word with the status: a request writes three fresh words,
/// its answer one (the claim).
/// @dev The fields mean what `IBroker.Request`'s of the same names mean.
struct StoredRequest {
    // Word 1: the parties and where the request stands.
    /// The requester's account index; never zero for a request that exists.
    uint32 requester;
    IBroker.Status status;
    IBroker.DisputeMode mode;
    uint32 softResolutionBlocks;
    uint48 deadline;
    /// The host's account index; zero while nobody answers.
    uint32 host;
    uint64 steps;
    uint16 hostWins;
    uint16 disputes;
    // Word 2.
    bytes32 inputCommitment;
    // Word 3: the terms.
    uint96 payment;
    uint48 maxGasPrice;
    uint16 minHostJobs;
    uint64 maxSteps;
    /// The request's program: `ProgramTerms.index`.
    uint32 program;
    // Word 4, written by the answer.
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

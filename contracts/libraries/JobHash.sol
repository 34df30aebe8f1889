// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";

/// @title JobHash
/// @notice The word a compact batch job stands at, `keccak256(abi.encode(job))`
/// (`IBroker.jobHash`), computed over the job's own bytes: a `Job` holds value types only,
/// so its ABI encoding, in calldata or in memory, is its 15 words in order. Hashing them in
/// place spares the copy and the allocation `abi.encode` makes for every job of a batch.
/// @dev Fields passed with dirty high bits hash to another word than the clean job's, so such
/// a job never stands at them: the calls skip it or revert `JobMismatch`.
library JobHash {
    /// @dev `IBroker.Job`'s encoding: 15 words.
    uint256 internal constant JOB_BYTES = 480;
    /// @dev The terms (`programId` to `minHostJobs`): words 2 to 9.
    uint256 private constant TERMS_OFFSET = 64;
    uint256 private constant TERMS_BYTES = 256;
    /// @dev Where the job stands (`status` to `claim`): words 10 to 14.
    uint256 private constant STANDING_OFFSET = 320;

    /// @notice The hash of `job`, built in memory.
    function ofMemory(IBroker.Job memory job) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := keccak256(job, JOB_BYTES)
        }
    }

    /// @notice The hash of `job` as passed.
    function asPassed(IBroker.Job calldata job) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            // Scratch past the free memory pointer, which is not moved.
            let ptr := mload(0x40)
            calldatacopy(ptr, job, JOB_BYTES)
            h := keccak256(ptr, JOB_BYTES)
        }
    }

    /// @notice The hash of `job` with where it stands replaced: its next word.
    function standingAt(
        IBroker.Job calldata job,
        IBroker.Status status,
        uint256 deadline,
        address host,
        uint64 steps,
        bytes32 claim
    ) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, job, STANDING_OFFSET)
            mstore(add(ptr, STANDING_OFFSET), status)
            mstore(add(ptr, add(STANDING_OFFSET, 32)), deadline)
            mstore(add(ptr, add(STANDING_OFFSET, 64)), host)
            mstore(add(ptr, add(STANDING_OFFSET, 96)), steps)
            mstore(add(ptr, add(STANDING_OFFSET, 128)), claim)
            h := keccak256(ptr, JOB_BYTES)
        }
    }

    /// @notice A hash of `job`'s terms: jobs with the same key take the same deposit.
    function termsKey(IBroker.Job calldata job) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, add(job, TERMS_OFFSET), TERMS_BYTES)
            h := keccak256(ptr, TERMS_BYTES)
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrokerIntake} from "./BrokerIntake.sol";
import {ProgramTerms, StoredRequest} from "./BrokerTypes.sol";
import {IBroker} from "./interfaces/IBroker.sol";
import {IFactory} from "./interfaces/IFactory.sol";
import {JobHash} from "./libraries/JobHash.sol";
import {Trace} from "./libraries/Trace.sol";

/// @title BrokerJobs
/// @notice Compact batches: requests held as one word each, the hash of their fields
/// (`IBroker.Job`), while they stay on the happy path (request, commitment, reveal, payout).
/// A stored request writes three fresh words at the request and one at the answer (some
/// 88,000 gas); a job writes one at the request and rewrites it at each step, its fields
/// passed in calldata and checked against the word. A job that leaves the happy path (a
/// challenge, a cancel, an expiry) is stored as an ordinary request first (`hydrate`), so
/// that disputes, and every call that takes an id, keep one code path. The Broker deploys this
/// contract and runs its functions in its own storage by `DELEGATECALL`, as it does
/// `BrokerDisputes`; called directly, every function reverts `NotDelegated`.
/// @dev Same storage layout as the Broker (both are `BrokerStorage`), same immutables (the
/// Broker passes its own parameters), same selectors as `IBroker`'s functions. A job's word
/// is zero once it is paid out or hydrated, and no hash is zero, so a job's fields can never
/// be replayed after it leaves.
// Ether sent to it stays in the Broker, which runs its code: called directly, every function
// reverts `NotDelegated`, so it never holds any (slither looks at it alone).
// slither-disable-next-line locked-ether
contract BrokerJobs is BrokerIntake {
    /// @dev This contract's own address: where its code runs as itself, not as the Broker's.
    address private immutable _self = address(this);

    /// @dev The parameters are the Broker's.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_) BrokerIntake(factory_, arity_, clockBlocks_) {}

    /// @dev Only in the Broker's storage: called directly, this contract would hold jobs and
    /// ether of its own that nothing could pay out.
    modifier delegated() {
        if (address(this) == _self) revert IBroker.NotDelegated();
        _;
    }

    /// @notice See `IBroker`.
    function requestCompactBatch(
        bytes32 programId,
        bytes[] calldata inputs,
        uint256 softResolutionBlocks,
        IBroker.RequestOptions calldata options
    ) external payable delegated nonReentrant returns (uint256 firstId) {
        uint256 count = inputs.length;
        if (count == 0 || msg.value % count != 0) revert IBroker.BatchPaymentUneven(msg.value, count);
        uint256 payment = msg.value / count;
        IBroker.RequestOptions memory terms = options;
        // The terms are the batch's, checked once (the program noted at its first request).
        _acceptTerms(programId, softResolutionBlocks, terms, payment);
        // Each job as it stands at its request: Pending, nobody's answer yet.
        IBroker.Job memory job = IBroker.Job({
            id: 0,
            inputHash: bytes32(0),
            programId: programId,
            requester: msg.sender,
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against 2^96 - 1 by _checkTerms
            payment: uint96(payment),
            maxSteps: terms.maxSteps,
            maxGasPrice: terms.maxGasPrice,
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against MAX_WINDOW_BLOCKS = 2^32 - 1
            softResolutionBlocks: uint32(softResolutionBlocks),
            mode: terms.mode,
            minHostJobs: terms.minHostJobs,
            status: IBroker.Status.Pending,
            deadline: 0,
            host: address(0),
            steps: 0,
            claim: bytes32(0)
        });
        uint256 id = _requestCount;
        firstId = id + 1;
        // First, so that a reader of the logs knows the jobs before their `Created`.
        emit IBroker.CompactBatch(firstId, count);
        for (uint256 k = 0; k < count; ++k) {
            bytes calldata input = inputs[k];
            // The input's commitment (`c_0`) is computed when the job is hydrated, if ever.
            if (input.length > MAX_INPUT_BYTES) revert IBroker.InputTooLarge(input.length, MAX_INPUT_BYTES);
            job.id = ++id;
            job.inputHash = keccak256(input);
            _jobs[id] = JobHash.ofMemory(job);
            emit IBroker.Created(id, programId, msg.sender);
            emit IBroker.RequestInput(
                id,
                input,
                payment,
                terms.maxSteps,
                terms.maxGasPrice,
                job.softResolutionBlocks,
                terms.mode,
                terms.minHostJobs
            );
        }
        _requestCount = id;
    }

    /// @notice See `IBroker`.
    function commitJobs(IBroker.Job[] calldata jobs, bytes32[] calldata commitments)
        external
        payable
        delegated
        nonReentrant
        returns (uint256 committed)
    {
        if (jobs.length != commitments.length) {
            revert IBroker.BatchLengthMismatch(jobs.length, commitments.length);
        }
        if (jobs.length == 0) revert IBroker.EmptyBatch();
        uint256 revealDeadline = block.number + REVEAL_BLOCKS;
        uint256 required = 0;
        DepositCache memory deposits = DepositCache(bytes32(0), 0);
        for (uint256 k = 0; k < jobs.length; ++k) {
            IBroker.Job calldata job = jobs[k];
            uint256 id = job.id;
            uint256 deposit = _jobDeposit(deposits, job);
            required += deposit;
            if (
                job.status != IBroker.Status.Pending || !_meetsRecord(job.minHostJobs, msg.sender)
                    || _jobs[id] != JobHash.asPassed(job)
            ) {
                _credit(msg.sender, id, deposit, IBroker.CreditReason.Surplus);
                continue;
            }
            bytes32 commitment = commitments[k];
            _jobs[id] =
                JobHash.standingAt(job, IBroker.Status.Committed, revealDeadline, msg.sender, job.steps, commitment);
            emit IBroker.AnswerCommitted(id, msg.sender, commitment, revealDeadline);
            ++committed;
        }
        if (msg.value < required) revert IBroker.DepositTooLow(msg.value, required);
        _credit(msg.sender, jobs[0].id, msg.value - required, IBroker.CreditReason.Surplus);
    }

    /// @notice See `IBroker`.
    function revealJobs(IBroker.Job[] calldata jobs, IBroker.RevealedAnswer[] calldata answers)
        external
        delegated
        nonReentrant
        returns (uint256 revealed)
    {
        if (jobs.length != answers.length) revert IBroker.BatchLengthMismatch(jobs.length, answers.length);
        for (uint256 k = 0; k < jobs.length; ++k) {
            IBroker.Job calldata job = jobs[k];
            IBroker.RevealedAnswer calldata a = answers[k];
            uint256 id = job.id;
            if (
                a.id != id || job.status != IBroker.Status.Committed || job.host != msg.sender
                    || block.number > job.deadline || _jobs[id] != JobHash.asPassed(job)
            ) continue;
            Trace.checkClaim(job.maxSteps, a.result.length, a.steps, a.final_);
            bytes32 claim = Trace.commitCalldata(a.final_, a.result);
            bytes32 computed = Trace.answerCommitment(id, claim, a.steps, msg.sender, a.salt);
            if (computed != job.claim) revert IBroker.RevealMismatch(id, computed, job.claim);
            uint256 windowEnd = block.number + job.softResolutionBlocks;
            _jobs[id] =
                JobHash.standingAt(job, IBroker.Status.WaitingForResolution, windowEnd, msg.sender, a.steps, claim);
            _count(msg.sender, ANSWERED);
            emit IBroker.Answered(id, msg.sender, a.result, a.steps, a.final_, windowEnd);
            ++revealed;
        }
    }

    /// @notice See `IBroker`.
    function settleJobs(IBroker.Job[] calldata jobs) external delegated nonReentrant returns (uint256 paid) {
        DepositCache memory deposits = DepositCache(bytes32(0), 0);
        for (uint256 k = 0; k < jobs.length; ++k) {
            IBroker.Job calldata job = jobs[k];
            if (job.status != IBroker.Status.WaitingForResolution) continue;
            if (block.number <= job.deadline && msg.sender != job.requester) continue;
            uint256 id = job.id;
            if (_jobs[id] != JobHash.asPassed(job)) continue;
            delete _jobs[id];
            emit IBroker.SoftResolved(id, msg.sender);
            // As `finalize` pays a request without disputes: its host, who revealed (never zero).
            address host = job.host;
            uint256 payment = job.payment;
            uint256 deposit = _jobDeposit(deposits, job);
            _count(host, PAID);
            _addBalance(host, payment + deposit);
            emit IBroker.Credited(host, id, payment, IBroker.CreditReason.Payment);
            emit IBroker.Credited(host, id, deposit, IBroker.CreditReason.DepositReturned);
            emit IBroker.Finalized(id, host, payment + deposit);
            ++paid;
        }
    }

    /// @notice See `IBroker`.
    function hydrate(IBroker.Job calldata job, bytes calldata input) external delegated nonReentrant {
        uint256 id = job.id;
        bytes32 held = _jobs[id];
        bytes32 given = JobHash.asPassed(job);
        if (held == 0 || held != given) revert IBroker.JobMismatch(id, given, held);
        bytes32 inputHash = keccak256(input);
        if (inputHash != job.inputHash) revert IBroker.InputMismatch(id, inputHash, job.inputHash);
        // Noted by the job's request.
        ProgramTerms memory program = _programTerms[job.programId];
        bytes32 inputCommitment = _inputCommitment(input, program.machine ? _initialCores[program.index] : bytes32(0));
        delete _jobs[id];
        // What `Broker._open`, `_commit` and `_reveal` would have stored on the same calls.
        StoredRequest storage r = _requests[id];
        r.requester = _enrol(job.requester);
        r.status = job.status;
        r.mode = job.mode;
        r.softResolutionBlocks = job.softResolutionBlocks;
        r.deadline = job.deadline;
        if (job.host != address(0)) r.host = _enrol(job.host);
        r.steps = job.steps;
        r.inputCommitment = inputCommitment;
        r.payment = job.payment;
        // forge-lint: disable-next-line(unsafe-typecast) -- checked against MAX_GAS_PRICE = 2^48 - 1 at the request
        r.maxGasPrice = uint48(job.maxGasPrice);
        r.minHostJobs = job.minHostJobs;
        r.maxSteps = job.maxSteps;
        r.program = program.index;
        r.claim = job.claim;
        emit IBroker.Hydrated(id, msg.sender);
    }

    /// @dev The deposit of the last terms a batch call computed one for: the jobs of one batch
    /// share their terms, so a run of them computes it once.
    struct DepositCache {
        bytes32 termsKey;
        uint256 deposit;
    }

    /// @dev The deposit a host or challenger stakes on `job` (`_deposit` of its request).
    function _jobDeposit(DepositCache memory cache, IBroker.Job calldata job) private view returns (uint256) {
        bytes32 key = JobHash.termsKey(job);
        if (key != cache.termsKey) {
            cache.termsKey = key;
            cache.deposit = _depositFor(
                job.mode, job.payment, job.maxGasPrice, job.maxSteps, _programTerms[job.programId].maxStepGas
            );
        }
        return cache.deposit;
    }
}

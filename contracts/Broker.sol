// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrokerDisputes} from "./BrokerDisputes.sol";
import {BrokerIntake} from "./BrokerIntake.sol";
import {BrokerJobs} from "./BrokerJobs.sol";
import {BrokerTournaments} from "./BrokerTournaments.sol";
import {ProgramTerms, StoredRequest} from "./BrokerTypes.sol";
import {IBroker} from "./interfaces/IBroker.sol";
import {IBrokerTournamentsEvents} from "./interfaces/IBrokerTournaments.sol";
import {IFactory} from "./interfaces/IFactory.sol";
import {Bisection} from "./libraries/Bisection.sol";
import {OneStep} from "./libraries/OneStep.sol";
import {Trace} from "./libraries/Trace.sol";

/// @title Broker
/// @notice The request lifecycle, deposits, disputes and pull payments of ecm (see IBroker).
/// @dev Accounting: at every moment the Broker's balance is the sum of the credited balances
/// plus, for each unsettled request, its payment and the deposits locked in it (less the gas
/// already reimbursed from them). Every transfer of value out of a request is a credit; ether
/// only leaves through `withdraw`. The lifecycle, the game's moves and the one-step proof are
/// in this contract; starting a dispute, full re-execution, timeouts and `countDispute` in
/// `BrokerDisputes`, and compact batches (requests held as one hash each) in `BrokerJobs`,
/// which this contract deploys and runs in its own storage (`DELEGATECALL`); how a dispute's
/// end moves money and records in `BrokerSettlement`; program terms, accounts and deposits
/// taken in `BrokerIntake`; parameters, storage and reads in `BrokerStorage`; the dispute rules in libraries (`Bisection`, `OneStep`, `Reexecution`,
/// `Trace`) and the deposit arithmetic in `Deposits`.
contract Broker is IBroker, IBrokerTournamentsEvents, BrokerIntake {
    using Bisection for Game;
    using OneStep for Game;

    /// @dev The code `initializeDispute`, `executeExecutable`, `claimTimeout` and
    /// `countDispute` run.
    address private immutable _disputes;
    /// @dev The code compact batches run (`requestCompactBatch` and the job calls).
    address private immutable _jobsCode;
    /// @dev The code tournament-mode disputes run (`IBrokerTournaments`, through `fallback`).
    address private immutable _tournamentsCode;
    /// @dev The Factory's machine prover (fixed with the Factory), which proves machine steps.
    address private immutable _machineProver;

    /// @dev The parameters are `BrokerStorage`'s; `BrokerDisputes` and `BrokerJobs` are deployed
    /// with them. `tournaments_` is deployed beforehand (this contract's creation code has no
    /// room for it under EIP-3860's 49,152 bytes) and must have been given the same parameters.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_, BrokerTournaments tournaments_)
        BrokerIntake(factory_, arity_, clockBlocks_)
    {
        (IFactory f, uint256 a, uint32 c) = tournaments_.parameters();
        if (f != factory_ || a != arity_ || c != clockBlocks_) revert ModuleMismatch(address(tournaments_));
        _disputes = address(new BrokerDisputes(factory_, arity_, clockBlocks_));
        _jobsCode = address(new BrokerJobs(factory_, arity_, clockBlocks_));
        _tournamentsCode = address(tournaments_);
        _machineProver = factory_.machineProver();
    }

    /// @notice Runs `IBrokerTournaments`' functions (tournament-mode disputes) in
    /// `BrokerTournaments`; any other call data reverts there.
    fallback() external payable {
        _delegate(_tournamentsCode);
    }

    /// @notice Plain ether is refused (`BrokerTournaments` has no `receive`): value comes with
    /// a request, an answer or a challenge.
    receive() external payable {
        _delegate(_tournamentsCode);
    }

    // ---------------------------------------------------------------------------------------
    // Lifecycle
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBroker
    function requestExecution(bytes32 programId, bytes calldata input, uint256 softResolutionBlocks)
        external
        payable
        nonReentrant
        returns (uint256 id)
    {
        uint256 gasPrice = tx.gasprice > MAX_GAS_PRICE ? MAX_GAS_PRICE : tx.gasprice;
        // forge-lint: disable-next-line(unsafe-typecast) -- clamped to MAX_GAS_PRICE < 2^64 just above
        RequestOptions memory options = RequestOptions(DEFAULT_MAX_STEPS, uint64(gasPrice), DisputeMode.Bisection, 0);
        return _request(programId, input, softResolutionBlocks, options, msg.value);
    }

    /// @inheritdoc IBroker
    function requestExecution(
        bytes32 programId,
        bytes calldata input,
        uint256 softResolutionBlocks,
        RequestOptions calldata options
    ) external payable nonReentrant returns (uint256 id) {
        return _request(programId, input, softResolutionBlocks, options, msg.value);
    }

    /// @inheritdoc IBroker
    function requestExecutionBatch(
        bytes32 programId,
        bytes[] calldata inputs,
        uint256 softResolutionBlocks,
        RequestOptions calldata options
    ) external payable nonReentrant returns (uint256 firstId) {
        if (inputs.length == 0 || msg.value % inputs.length != 0) {
            revert BatchPaymentUneven(msg.value, inputs.length);
        }
        uint256 payment = msg.value / inputs.length;
        RequestOptions memory terms = options;
        // The terms are the batch's, checked and looked up once; then each input.
        (ProgramTerms memory program, bytes32 initialCore) =
            _acceptTerms(programId, softResolutionBlocks, terms, payment);
        firstId = _requestCount + 1;
        for (uint256 k = 0; k < inputs.length; ++k) {
            _open(programId, inputs[k], softResolutionBlocks, terms, payment, program.index, initialCore);
        }
    }

    /// @inheritdoc IBroker
    function cancelRequest(uint256 id) external nonReentrant {
        StoredRequest storage r = _get(id);
        _expectStatus(id, r.status, Status.Pending);
        address requester = _requesterOf(r);
        if (msg.sender != requester) revert NotRequester(id, msg.sender, requester);
        r.status = Status.Cancelled;
        emit Cancelled(id);
        _credit(requester, id, r.payment, CreditReason.Refund);
    }

    /// @inheritdoc IBroker
    function answerRequest(uint256 id, bytes calldata result, uint64 steps) external payable nonReentrant {
        _answer(id, result, steps, true);
    }

    /// @inheritdoc IBroker
    function answerRequest(uint256 id, bytes calldata result, uint64 steps, bool final_) external payable nonReentrant {
        _answer(id, result, steps, final_);
    }

    /// @inheritdoc IBroker
    function commitAnswer(uint256 id, bytes32 commitment) external payable nonReentrant {
        StoredRequest storage r = _get(id);
        _expectStatus(id, r.status, Status.Pending);
        _checkAdmitted(id, r, msg.sender);
        _takeDeposit(id, _deposit(r));
        _commit(id, r, commitment);
    }

    /// @inheritdoc IBroker
    function commitAnswers(uint256[] calldata ids, bytes32[] calldata commitments)
        external
        payable
        nonReentrant
        returns (uint256 committed)
    {
        if (ids.length != commitments.length) revert BatchLengthMismatch(ids.length, commitments.length);
        if (ids.length == 0) revert EmptyBatch();
        uint256 required = 0;
        for (uint256 k = 0; k < ids.length; ++k) {
            uint256 id = ids[k];
            StoredRequest storage r = _get(id);
            uint256 deposit = _deposit(r);
            required += deposit;
            if (r.status != Status.Pending || !_admitted(r, msg.sender)) {
                _credit(msg.sender, id, deposit, CreditReason.Surplus);
                continue;
            }
            _commit(id, r, commitments[k]);
            ++committed;
        }
        if (msg.value < required) revert DepositTooLow(msg.value, required);
        _credit(msg.sender, ids[0], msg.value - required, CreditReason.Surplus);
    }

    /// @inheritdoc IBroker
    function revealAnswer(uint256 id, bytes calldata result, uint64 steps, bool final_, bytes32 salt)
        external
        nonReentrant
    {
        StoredRequest storage r = _get(id);
        _expectStatus(id, r.status, Status.Committed);
        address host = _hostOf(r);
        if (msg.sender != host) revert NotCommitter(id, msg.sender, host);
        if (block.number > r.deadline) revert DeadlinePassed(id, r.deadline);
        _reveal(id, r, host, result, steps, final_, salt);
    }

    /// @inheritdoc IBroker
    function revealAnswers(RevealedAnswer[] calldata answers) external nonReentrant returns (uint256 revealed) {
        for (uint256 k = 0; k < answers.length; ++k) {
            RevealedAnswer calldata a = answers[k];
            StoredRequest storage r = _get(a.id);
            if (r.status != Status.Committed || block.number > r.deadline || _hostOf(r) != msg.sender) continue;
            _reveal(a.id, r, msg.sender, a.result, a.steps, a.final_, a.salt);
            ++revealed;
        }
    }

    /// @inheritdoc IBroker
    function expireCommitment(uint256 id) external nonReentrant {
        StoredRequest storage r = _get(id);
        _expectStatus(id, r.status, Status.Committed);
        if (block.number <= r.deadline) revert DeadlineNotReached(id, r.deadline);
        address host = _hostOf(r);
        r.status = Status.Pending;
        r.deadline = 0;
        r.host = 0;
        r.claim = bytes32(0);
        _count(host, EXPIRED);
        emit CommitmentExpired(id, host);
        _credit(_requesterOf(r), id, _deposit(r), CreditReason.DelayCompensation);
    }

    /// @inheritdoc IBroker
    /// @dev A challenge to a tournament-mode request is an entry, run by `BrokerTournaments`
    /// (which guards itself against reentry: the delegation comes before this contract's guard).
    // The delegation returns the module's answer itself (the `else` is the other mode's).
    // slither-disable-next-line incorrect-return
    function challengeAnswer(uint256 id, bytes calldata result, uint64 steps) external payable {
        if (_requests[id].mode == DisputeMode.Tournament) _delegate(_tournamentsCode);
        else _challenge(id, result, steps, true);
    }

    /// @inheritdoc IBroker
    // As above.
    // slither-disable-next-line incorrect-return
    function challengeAnswer(uint256 id, bytes calldata result, uint64 steps, bool final_) external payable {
        if (_requests[id].mode == DisputeMode.Tournament) _delegate(_tournamentsCode);
        else _challenge(id, result, steps, final_);
    }

    /// @inheritdoc IBroker
    function softResolveAnswer(uint256 id) external nonReentrant {
        StoredRequest storage r = _get(id);
        _expectStatus(id, r.status, Status.WaitingForResolution);
        if (block.number <= r.deadline && msg.sender != _requesterOf(r)) revert WindowOpen(id, r.deadline);
        r.status = Status.SoftResolution;
        emit SoftResolved(id, msg.sender);
    }

    /// @inheritdoc IBroker
    function settle(uint256[] calldata ids) external nonReentrant returns (uint256 paid) {
        uint256 count = _requestCount;
        for (uint256 k = 0; k < ids.length; ++k) {
            uint256 id = ids[k];
            if (id == 0 || id > count) continue;
            StoredRequest storage r = _requests[id];
            Status status = r.status;
            if (status == Status.WaitingForResolution && (block.number > r.deadline || msg.sender == _requesterOf(r))) {
                r.status = status = Status.SoftResolution;
                emit SoftResolved(id, msg.sender);
            }
            if (status == Status.SoftResolution || status == Status.FirmResolution) {
                _finalize(id, r);
                ++paid;
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Disputes run by BrokerDisputes
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBroker
    function initializeDispute(uint256) external {
        _runDisputes();
    }

    /// @inheritdoc IBroker
    function executeExecutable(uint256, uint256, bytes calldata) external {
        _runDisputes();
    }

    /// @inheritdoc IBroker
    function claimTimeout(uint256) external {
        _runDisputes();
    }

    /// @inheritdoc IBroker
    function countDispute(uint256) external {
        _runDisputes();
    }

    function _runDisputes() private {
        _delegate(_disputes);
    }

    // ---------------------------------------------------------------------------------------
    // Compact batches run by BrokerJobs
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBroker
    function requestCompactBatch(bytes32, bytes[] calldata, uint256, RequestOptions calldata)
        external
        payable
        returns (uint256)
    {
        _delegate(_jobsCode);
    }

    /// @inheritdoc IBroker
    function commitJobs(Job[] calldata, bytes32[] calldata) external payable returns (uint256) {
        _delegate(_jobsCode);
    }

    /// @inheritdoc IBroker
    function revealJobs(Job[] calldata, RevealedAnswer[] calldata) external returns (uint256) {
        _delegate(_jobsCode);
    }

    /// @inheritdoc IBroker
    function settleJobs(Job[] calldata) external returns (uint256) {
        _delegate(_jobsCode);
    }

    /// @inheritdoc IBroker
    function hydrate(Job calldata, bytes calldata) external {
        _delegate(_jobsCode);
    }

    /// @dev Runs this call's function of `target`, `BrokerDisputes` or `BrokerJobs` (same
    /// selector, same arguments), in this contract's storage, and returns or reverts with what
    /// it returned or reverted.
    function _delegate(address target) private {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            let ok := delegatecall(gas(), target, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize())
            if iszero(ok) { revert(ptr, returndatasize()) }
            return(ptr, returndatasize())
        }
    }

    /// @inheritdoc IBroker
    function bisect(uint256 id, bytes32[] calldata points) external nonReentrant {
        StoredRequest storage r = _get(id);
        _expectResolving(id, r, DisputeMode.Bisection);
        Game storage g = _games[id];
        g.takeTurn(id, Phase.Bisect, _hostOf(r), false);
        g.bisect(points, _arity);
        emit Bisected(id, g.lo, g.hi, points);
    }

    /// @inheritdoc IBroker
    function selectSegment(uint256 id, bytes32[] calldata points, uint256 index) external nonReentrant {
        StoredRequest storage r = _get(id);
        _expectResolving(id, r, DisputeMode.Bisection);
        Game storage g = _games[id];
        g.takeTurn(id, Phase.Select, _challenges[id].challenger, false);
        g.select(points, index);
        emit SegmentSelected(id, g.lo, g.hi, g.cLo, g.cHi);
    }

    /// @inheritdoc IBroker
    function proveStep(uint256 id, bool final_, bytes calldata state) external nonReentrant {
        (StoredRequest storage r, Game storage g) = _openStep(id, final_, state);
        // The program id binds its step gas: the terms noted at its first request are the registry's.
        uint64 stepNumber = g.lo + 1;
        _closeStep(id, r, g, stepNumber, OneStep.programStep(_programs[r.program], id, stepNumber, final_, state));
    }

    /// @inheritdoc IBroker
    function proveMachineStep(uint256 id, bool final_, bytes calldata state, bytes calldata proof)
        external
        nonReentrant
    {
        (StoredRequest storage r, Game storage g) = _openStep(id, final_, state);
        uint32 program = r.program;
        if (!_programs[program].machine) revert NotAMachineProgram(_programIds[program]);
        _closeStep(id, r, g, g.lo + 1, OneStep.machineStep(_machineProver, final_, state, proof));
    }

    /// @inheritdoc IBroker
    function finalize(uint256 id) external nonReentrant {
        StoredRequest storage r = _get(id);
        Status status = r.status;
        if (status != Status.SoftResolution && status != Status.FirmResolution) {
            revert WrongStatus(id, status, Status.SoftResolution);
        }
        _finalize(id, r);
    }

    /// @dev Pays out resolved request `id` (`finalize`, `settle`).
    function _finalize(uint256 id, StoredRequest storage r) internal {
        r.status = Status.Finalized;
        address host = _hostOf(r);
        uint256 payment = r.payment;
        uint256 deposit = _deposit(r);
        uint256 reward = deposit / 2;
        if (r.disputes != 0) {
            _payCompensation(id, r, deposit - reward);
            _countLastDispute(id, host);
        }
        if (host != address(0)) {
            _count(host, PAID);
            // Each win is the floor of half a deposit, as one dispute's credit would be.
            // slither-disable-next-line divide-before-multiply
            uint256 won = uint256(r.hostWins) * reward;
            if (won != 0) r.hostWins = 0;
            _addBalance(host, payment + deposit + won);
            emit Credited(host, id, payment, CreditReason.Payment);
            emit Credited(host, id, deposit, CreditReason.DepositReturned);
            if (won != 0) emit Credited(host, id, won, CreditReason.DisputeReward);
            emit Finalized(id, host, payment + deposit + won);
        } else {
            address requester = _requesterOf(r);
            _credit(requester, id, payment, CreditReason.Refund);
            emit Finalized(id, requester, payment);
        }
    }

    /// @inheritdoc IBroker
    function withdraw() external nonReentrant {
        _withdraw(payable(msg.sender));
    }

    /// @inheritdoc IBroker
    function withdrawTo(address payable to) external nonReentrant {
        _withdraw(to);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBroker
    function getRequest(uint256 id) external view returns (Request memory q) {
        StoredRequest storage r = _get(id);
        uint32 program = r.program;
        q.requester = _requesterOf(r);
        q.status = r.status;
        q.mode = r.mode;
        q.softResolutionBlocks = r.softResolutionBlocks;
        q.deadline = r.deadline;
        q.programId = _programIds[program];
        q.inputCommitment = r.inputCommitment;
        q.payment = r.payment;
        q.maxGasPrice = r.maxGasPrice;
        q.minHostJobs = r.minHostJobs;
        q.maxSteps = r.maxSteps;
        q.maxStepGas = _programs[program].maxStepGas;
        q.host = _hostOf(r);
        q.steps = r.steps;
        q.hostWins = r.hostWins;
        q.disputes = r.disputes;
        q.claim = r.claim;
    }

    /// @inheritdoc IBroker
    function requiredDeposit(uint256 id) external view returns (uint256) {
        return _deposit(_get(id));
    }

    /// @inheritdoc IBroker
    function jobHash(uint256 id) external view returns (bytes32) {
        return _jobs[id];
    }

    /// @inheritdoc IBroker
    function requiredJobDeposit(Job calldata job) external view returns (uint256) {
        return
            _depositFor(job.mode, job.payment, job.maxGasPrice, job.maxSteps, _programTerms[job.programId].maxStepGas);
    }

    /// @inheritdoc IBroker
    function getChallenge(uint256 id) external view returns (Challenge memory c) {
        // Outside a dispute the slot may hold the last dispute's outcome, not a challenge.
        Status status = _requests[id].status;
        if (status == Status.NeedsResolution || status == Status.Resolving) c = _challenges[id];
    }

    /// @inheritdoc IBroker
    function getGame(uint256 id) external view returns (Game memory) {
        return _games[id];
    }

    /// @inheritdoc IBroker
    function getFullExecution(uint256 id) external view returns (FullExecution memory) {
        return _fullExecutions[id];
    }

    /// @inheritdoc IBroker
    function balanceOf(address account) external view returns (uint256) {
        return _balanceOf(account);
    }

    /// @inheritdoc IBroker
    function recordOf(address account) external view returns (Record memory) {
        uint256 w = _records[account];
        // forge-lint: disable-start(unsafe-typecast) -- each field is its 32-bit lane
        return Record(
            uint32(w),
            uint32(w >> 32),
            uint32(w >> 64),
            uint32(w >> 96),
            uint32(w >> 128),
            uint32(w >> 160),
            uint32(w >> 192),
            uint32(w >> 224)
        );
        // forge-lint: disable-end(unsafe-typecast)
    }

    /// @inheritdoc IBroker
    function requestCount() external view returns (uint256) {
        return _requestCount;
    }

    /// @inheritdoc IBroker
    function roundsFor(uint64 steps) external view returns (uint256) {
        return Bisection.rounds(steps, _arity);
    }

    /// @inheritdoc IBroker
    function answerCommitment(uint256 id, bytes32 claim, uint64 steps, address host, bytes32 salt)
        external
        pure
        returns (bytes32)
    {
        return Trace.answerCommitment(id, claim, steps, host, salt);
    }

    /// @inheritdoc IBroker
    function splitPoint(uint64 lo, uint64 hi, uint256 parts, uint256 j) external pure returns (uint64) {
        return Bisection.splitPoint(lo, hi, parts, j);
    }

    /// @inheritdoc IBroker
    function factory() external view returns (address) {
        return address(_factory);
    }

    /// @inheritdoc IBroker
    function arity() external view returns (uint256) {
        return _arity;
    }

    /// @inheritdoc IBroker
    function clockBlocks() external view returns (uint32) {
        return _clockBlocks;
    }

    // ---------------------------------------------------------------------------------------
    // Internal: lifecycle steps
    // ---------------------------------------------------------------------------------------

    function _request(
        bytes32 programId,
        bytes calldata input,
        uint256 softResolutionBlocks,
        RequestOptions memory options,
        uint256 payment
    ) internal returns (uint256 id) {
        (ProgramTerms memory program, bytes32 initialCore) =
            _acceptTerms(programId, softResolutionBlocks, options, payment);
        return _open(programId, input, softResolutionBlocks, options, payment, program.index, initialCore);
    }

    /// @dev Opens request `id` on `input` for the program of index `program`, its terms checked by
    /// `_acceptTerms`.
    function _open(
        bytes32 programId,
        bytes calldata input,
        uint256 softResolutionBlocks,
        RequestOptions memory options,
        uint256 payment,
        uint32 program,
        bytes32 initialCore
    ) internal returns (uint256 id) {
        bytes32 inputCommitment = _inputCommitment(input, initialCore);
        id = ++_requestCount;
        {
            // Field by field rather than a struct literal, which would also write the zero
            // answer slots (host, steps, claim) and pay for touching them; the answer writes
            // them. The status starts as Pending, which is 0, and the deadline as 0.
            StoredRequest storage r = _requests[id];
            r.requester = _enrol(msg.sender);
            r.mode = options.mode;
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against MAX_WINDOW_BLOCKS = 2^32 - 1
            r.softResolutionBlocks = uint32(softResolutionBlocks);
            r.inputCommitment = inputCommitment;
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against 2^96 - 1 by _checkTerms
            r.payment = uint96(payment);
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against MAX_GAS_PRICE = 2^48 - 1 by _checkTerms
            r.maxGasPrice = uint48(options.maxGasPrice);
            r.minHostJobs = options.minHostJobs;
            r.maxSteps = options.maxSteps;
            r.program = program;
        }
        emit Created(id, programId, msg.sender);
        emit RequestInput(
            id,
            input,
            payment,
            options.maxSteps,
            options.maxGasPrice,
            // forge-lint: disable-next-line(unsafe-typecast) -- as above
            uint32(softResolutionBlocks),
            options.mode,
            options.minHostJobs
        );
    }

    function _answer(uint256 id, bytes calldata result, uint64 steps, bool final_) internal {
        StoredRequest storage r = _get(id);
        _expectStatus(id, r.status, Status.Pending);
        Trace.checkClaim(r.maxSteps, result.length, steps, final_);
        _checkAdmitted(id, r, msg.sender);
        _takeDeposit(id, _deposit(r));
        _count(msg.sender, ANSWERED);
        uint256 windowEnd = _openWindow(r);
        r.host = _enrol(msg.sender);
        r.steps = steps;
        r.claim = Trace.commitCalldata(final_, result);
        emit Answered(id, msg.sender, result, steps, final_, windowEnd);
    }

    /// @dev Holds request `r` for the sender's committed answer (`commitAnswer`); its deposit
    /// is taken. The answer's slots hold the commitment until the reveal: no storage of its own.
    function _commit(uint256 id, StoredRequest storage r, bytes32 commitment) internal {
        uint256 revealDeadline = block.number + REVEAL_BLOCKS;
        r.status = Status.Committed;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus REVEAL_BLOCKS stay far below 2^48
        r.deadline = uint48(revealDeadline);
        r.host = _enrol(msg.sender);
        r.claim = commitment;
        emit AnswerCommitted(id, msg.sender, commitment, revealDeadline);
    }

    /// @dev Opens request `r`'s window on its host's revealed answer, checked against the
    /// commitment (the caller checked the status, that the sender is `host`, and the deadline).
    function _reveal(
        uint256 id,
        StoredRequest storage r,
        address host,
        bytes calldata result,
        uint64 steps,
        bool final_,
        bytes32 salt
    ) internal {
        Trace.checkClaim(r.maxSteps, result.length, steps, final_);
        bytes32 claim = Trace.commitCalldata(final_, result);
        bytes32 computed = Trace.answerCommitment(id, claim, steps, host, salt);
        if (computed != r.claim) revert RevealMismatch(id, computed, r.claim);
        uint256 windowEnd = _openWindow(r);
        r.steps = steps;
        r.claim = claim;
        _count(host, ANSWERED);
        emit Answered(id, host, result, steps, final_, windowEnd);
    }

    function _challenge(uint256 id, bytes calldata result, uint64 steps, bool final_) internal nonReentrant {
        StoredRequest storage r = _get(id);
        _expectStatus(id, r.status, Status.WaitingForResolution);
        if (block.number > r.deadline) revert WindowClosed(id, r.deadline);
        Trace.checkClaim(r.maxSteps, result.length, steps, final_);
        bytes32 claim = Trace.commitCalldata(final_, result);
        if (claim == r.claim) revert SameClaim(claim);
        _takeDeposit(id, _deposit(r));
        // The last dispute's outcome is counted before its slot takes the new challenge.
        _countLastDispute(id, _hostOf(r));
        // Enrolled now, so that a win can make it the host (`_adoptChallengersClaim`)
        // without the one step paying for a new account.
        _enrol(msg.sender);
        _challenges[id] = Challenge({challenger: msg.sender, steps: steps, claim: claim});
        uint256 startDeadline = block.number + _clockBlocks;
        r.status = Status.NeedsResolution;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 clock stay far below 2^48
        r.deadline = uint48(startDeadline);
        emit Challenged(id, msg.sender, result, steps, final_, startDeadline);
    }

    /// @dev The one-step phase's opening, for `proveStep` and `proveMachineStep`: the turn
    /// (anyone may prove) and the revealed state against the agreed commitment at `lo`.
    function _openStep(uint256 id, bool final_, bytes calldata state)
        internal
        returns (StoredRequest storage r, Game storage g)
    {
        r = _get(id);
        _expectResolving(id, r, DisputeMode.Bisection);
        g = _games[id];
        g.takeTurn(id, Phase.OneStep, _hostOf(r), true);
        g.reveal(final_, state);
    }

    /// @dev The one-step phase's verdict: the defender wins if the step lands on its `cHi`.
    function _closeStep(uint256 id, StoredRequest storage r, Game storage g, uint64 stepNumber, bytes32 computed)
        internal
    {
        bool defenderWon = computed == g.cHi;
        emit StepProven(id, stepNumber, computed, defenderWon);
        _resolveChallenge(id, r, defenderWon, false);
    }

    function _withdraw(address payable to) internal {
        uint256 amount = _balanceOf(msg.sender);
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        // One, not zero: the next credit then rewrites the word rather than filling it afresh.
        _balances[msg.sender] = 1;
        emit Withdrawn(msg.sender, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert WithdrawFailed(to, amount);
    }
}

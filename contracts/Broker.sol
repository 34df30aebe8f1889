// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrokerStorage} from "./BrokerStorage.sol";
import {IBroker} from "./interfaces/IBroker.sol";
import {IFactory} from "./interfaces/IFactory.sol";
import {Bisection} from "./libraries/Bisection.sol";
import {Deposits} from "./libraries/Deposits.sol";
import {OneStep} from "./libraries/OneStep.sol";
import {Reexecution} from "./libraries/Reexecution.sol";
import {Trace} from "./libraries/Trace.sol";

/// @title Broker
/// @notice The request lifecycle, deposits, disputes and pull payments of ecm (see IBroker).
/// @dev Accounting: at every moment the Broker's balance is the sum of the credited balances
/// plus, for each unsettled request, its payment and the deposits locked in it (less the gas
/// already reimbursed from them). Every transfer of value out of a request is a credit; ether
/// only leaves through `withdraw`. Every state change, credit and event is in this contract;
/// its parameters, storage and reads are in `BrokerStorage`, the dispute rules in libraries
/// (`Bisection`, `OneStep`, `Reexecution`, `Trace`) and the deposit arithmetic in `Deposits`.
contract Broker is BrokerStorage {
    using Bisection for IBroker.Game;
    using OneStep for IBroker.Game;
    using Reexecution for IBroker.FullExecution;

    /// @dev The parameters are `BrokerStorage`'s.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_) BrokerStorage(factory_, arity_, clockBlocks_) {}

    bool private transient _entered;

    modifier nonReentrant() {
        if (_entered) revert Reentrancy();
        _entered = true;
        _;
        _entered = false;
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
        uint256 gasPrice = tx.gasprice > type(uint64).max ? type(uint64).max : tx.gasprice;
        // forge-lint: disable-next-line(unsafe-typecast) -- clamped to the uint64 range just above
        RequestOptions memory options = RequestOptions(DEFAULT_MAX_STEPS, uint64(gasPrice), DisputeMode.Bisection);
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
        (uint32 maxStepGas, bytes32 initialCore) = _requestTerms(programId, softResolutionBlocks, terms, payment);
        firstId = _requestCount + 1;
        for (uint256 k = 0; k < inputs.length; ++k) {
            _open(programId, inputs[k], softResolutionBlocks, terms, payment, maxStepGas, initialCore);
        }
    }

    /// @inheritdoc IBroker
    function cancelRequest(uint256 id) external nonReentrant {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.Pending);
        address requester = r.requester;
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
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.Pending);
        _takeDeposit(id, _deposit(r));
        // The answer's slots hold the commitment until the reveal: no storage of its own.
        uint256 revealDeadline = block.number + REVEAL_BLOCKS;
        r.status = Status.Committed;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus REVEAL_BLOCKS stay far below 2^48
        r.deadline = uint48(revealDeadline);
        r.host = msg.sender;
        r.claim = commitment;
        emit AnswerCommitted(id, msg.sender, commitment, revealDeadline);
    }

    /// @inheritdoc IBroker
    function revealAnswer(uint256 id, bytes calldata result, uint64 steps, bool final_, bytes32 salt)
        external
        nonReentrant
    {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.Committed);
        address host = r.host;
        if (msg.sender != host) revert NotCommitter(id, msg.sender, host);
        if (block.number > r.deadline) revert DeadlinePassed(id, r.deadline);
        Trace.checkClaim(r.maxSteps, result.length, steps, final_);
        bytes32 claim = Trace.commitCalldata(final_, result);
        bytes32 computed = Trace.answerCommitment(id, claim, steps, host, salt);
        if (computed != r.claim) revert RevealMismatch(id, computed, r.claim);
        uint256 windowEnd = _openWindow(r);
        r.steps = steps;
        r.claim = claim;
        emit Answered(id, host, result, steps, final_, windowEnd);
    }

    /// @inheritdoc IBroker
    function expireCommitment(uint256 id) external nonReentrant {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.Committed);
        if (block.number <= r.deadline) revert DeadlineNotReached(id, r.deadline);
        address host = r.host;
        r.status = Status.Pending;
        r.deadline = 0;
        r.host = address(0);
        r.claim = bytes32(0);
        emit CommitmentExpired(id, host);
        _credit(r.requester, id, _deposit(r), CreditReason.DelayCompensation);
    }

    /// @inheritdoc IBroker
    function challengeAnswer(uint256 id, bytes calldata result, uint64 steps) external payable nonReentrant {
        _challenge(id, result, steps, true);
    }

    /// @inheritdoc IBroker
    function challengeAnswer(uint256 id, bytes calldata result, uint64 steps, bool final_)
        external
        payable
        nonReentrant
    {
        _challenge(id, result, steps, final_);
    }

    /// @inheritdoc IBroker
    function softResolveAnswer(uint256 id) external nonReentrant {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.WaitingForResolution);
        if (msg.sender != r.requester && block.number <= r.deadline) revert WindowOpen(id, r.deadline);
        r.status = Status.SoftResolution;
        emit SoftResolved(id, msg.sender);
    }

    /// @inheritdoc IBroker
    function settle(uint256[] calldata ids) external nonReentrant returns (uint256 paid) {
        uint256 count = _requestCount;
        for (uint256 k = 0; k < ids.length; ++k) {
            uint256 id = ids[k];
            if (id == 0 || id > count) continue;
            Request storage r = _requests[id];
            Status status = r.status;
            if (status == Status.WaitingForResolution && (msg.sender == r.requester || block.number > r.deadline)) {
                r.status = status = Status.SoftResolution;
                emit SoftResolved(id, msg.sender);
            }
            if (status == Status.SoftResolution || status == Status.FirmResolution) {
                _finalize(id, r);
                ++paid;
            }
        }
    }

    /// @inheritdoc IBroker
    function initializeDispute(uint256 id) external nonReentrant {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.NeedsResolution);
        if (block.number > r.deadline) revert DeadlinePassed(id, r.deadline);
        r.status = Status.Resolving;
        if (r.mode == DisputeMode.Bisection) {
            _games[id].start(r.inputCommitment, r.claim, r.steps, _clockBlocks);
        } else {
            // From the input (`c_0`), nothing reimbursed yet.
            _fullExecutions[id] = FullExecution(r.inputCommitment, 0, _fullExecutionDeadline(), 0);
        }
        emit DisputeStarted(id, r.mode);
    }

    /// @inheritdoc IBroker
    function executeExecutable(uint256 id, uint256 maxSteps, bytes calldata state) external nonReentrant {
        uint256 gasAtStart = gasleft();
        Request storage r = _get(id);
        _expectResolving(id, r, DisputeMode.FullExecution);
        FullExecution storage fx = _fullExecutions[id];
        Reexecution.Progress memory p = fx.advance(r, _factory, maxSteps, state, EXECUTE_SETTLE_GAS);
        if (p.executed == 0) revert NoProgress(id);
        if (!p.finished) fx.deadline = _fullExecutionDeadline();
        emit Executed(id, msg.sender, p.count, p.final_, p.finished, p.state);
        // The state's calldata is paid by the caller but not seen by `gasleft()`.
        uint256 gasUsed = gasAtStart - gasleft() + Deposits.EXECUTE_CALL_OVERHEAD_GAS + 16 * state.length;
        uint256 refund = fx.reimburse(r, _deposit(r), p.executed, state.length, gasUsed);
        _credit(msg.sender, id, refund, CreditReason.GasReimbursement);
        if (p.finished) _settleFullExecution(id, r, fx, p.reached);
    }

    /// @inheritdoc IBroker
    function bisect(uint256 id, bytes32[] calldata points) external nonReentrant {
        Request storage r = _get(id);
        _expectResolving(id, r, DisputeMode.Bisection);
        Game storage g = _games[id];
        g.takeTurn(id, Phase.Bisect, r.host, _challenges[id].challenger, false);
        g.bisect(points, _arity);
        emit Bisected(id, g.lo, g.hi, points);
    }

    /// @inheritdoc IBroker
    function selectSegment(uint256 id, bytes32[] calldata points, uint256 index) external nonReentrant {
        Request storage r = _get(id);
        _expectResolving(id, r, DisputeMode.Bisection);
        Game storage g = _games[id];
        g.takeTurn(id, Phase.Select, r.host, _challenges[id].challenger, false);
        g.select(points, index);
        emit SegmentSelected(id, g.lo, g.hi, g.cLo, g.cHi);
    }

    /// @inheritdoc IBroker
    function proveStep(uint256 id, bool final_, bytes calldata state) external nonReentrant {
        (Request storage r, Game storage g) = _openStep(id, final_, state);
        // The program id binds its step gas, so the registry's is the one fixed at request time.
        uint64 stepNumber = g.lo + 1;
        _closeStep(id, r, g, stepNumber, OneStep.programStep(_factory, id, r.programId, stepNumber, final_, state));
    }

    /// @inheritdoc IBroker
    function proveMachineStep(uint256 id, bool final_, bytes calldata state, bytes calldata proof)
        external
        nonReentrant
    {
        (Request storage r, Game storage g) = _openStep(id, final_, state);
        _closeStep(id, r, g, g.lo + 1, OneStep.machineStep(_factory, r.programId, final_, state, proof));
    }

    /// @inheritdoc IBroker
    function claimTimeout(uint256 id) external nonReentrant {
        Request storage r = _get(id);
        Status status = r.status;
        if (status == Status.NeedsResolution) {
            // The challenger did not start the dispute it opened.
            if (block.number <= r.deadline) revert DeadlineNotReached(id, r.deadline);
            _resolveChallenge(id, r, true, true);
        } else if (status == Status.Resolving && r.mode == DisputeMode.Bisection) {
            (bool expired, bool defenderMoves, uint256 deadline) = _games[id].timeout();
            if (!expired) revert DeadlineNotReached(id, deadline);
            _resolveChallenge(id, r, !defenderMoves, true);
        } else if (status == Status.Resolving) {
            // A full re-execution nobody advanced: the challenger, who must show the answer
            // wrong, did not. Its deposit, less the gas reimbursed out of it, goes half to the
            // host and half to the requester; the answer gets a fresh window (a stalled run
            // proves nothing about it, so others may still challenge it).
            FullExecution storage fx = _fullExecutions[id];
            uint256 deadline = fx.deadline;
            if (block.number <= deadline) revert DeadlineNotReached(id, deadline);
            address host = r.host;
            _forfeit(id, r.requester, host, _deposit(r) - fx.reimbursed);
            delete _fullExecutions[id];
            emit DisputeResolved(id, host, _challenges[id].challenger, true);
            _reopen(id, r);
        } else {
            revert WrongStatus(id, status, Status.Resolving);
        }
    }

    /// @inheritdoc IBroker
    function finalize(uint256 id) external nonReentrant {
        Request storage r = _get(id);
        Status status = r.status;
        if (status != Status.SoftResolution && status != Status.FirmResolution) {
            revert WrongStatus(id, status, Status.SoftResolution);
        }
        _finalize(id, r);
    }

    /// @dev Pays out resolved request `id` (`finalize`, `settle`).
    function _finalize(uint256 id, Request storage r) internal {
        r.status = Status.Finalized;
        address host = r.host;
        uint256 payment = r.payment;
        uint256 deposit = _deposit(r);
        uint256 reward = deposit / 2;
        if (r.disputes != 0) _payCompensation(id, r, deposit - reward);
        if (host != address(0)) {
            // Each win is the floor of half a deposit, as one dispute's credit would be.
            // slither-disable-next-line divide-before-multiply
            uint256 won = uint256(r.hostWins) * reward;
            if (won != 0) r.hostWins = 0;
            _balances[host] += payment + deposit + won;
            emit Credited(host, id, payment, CreditReason.Payment);
            emit Credited(host, id, deposit, CreditReason.DepositReturned);
            if (won != 0) emit Credited(host, id, won, CreditReason.DisputeReward);
            emit Finalized(id, host, payment + deposit + won);
        } else {
            address requester = r.requester;
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
    // Internal: lifecycle steps
    // ---------------------------------------------------------------------------------------

    function _request(
        bytes32 programId,
        bytes calldata input,
        uint256 softResolutionBlocks,
        RequestOptions memory options,
        uint256 payment
    ) internal returns (uint256 id) {
        (uint32 maxStepGas, bytes32 initialCore) = _requestTerms(programId, softResolutionBlocks, options, payment);
        return _open(programId, input, softResolutionBlocks, options, payment, maxStepGas, initialCore);
    }

    /// @dev Opens request `id` on `input`, its terms checked by `_requestTerms`.
    function _open(
        bytes32 programId,
        bytes calldata input,
        uint256 softResolutionBlocks,
        RequestOptions memory options,
        uint256 payment,
        uint32 maxStepGas,
        bytes32 initialCore
    ) internal returns (uint256 id) {
        bytes32 inputCommitment = _inputCommitment(input, initialCore);
        id = ++_requestCount;
        {
            // Field by field rather than a struct literal, which would also write the zero
            // answer slots (host, steps, claim) and pay for touching them; the answer writes
            // them. The status starts as Pending, which is 0, and the deadline as 0.
            Request storage r = _requests[id];
            r.requester = msg.sender;
            r.mode = options.mode;
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against MAX_WINDOW_BLOCKS = 2^32 - 1
            r.softResolutionBlocks = uint32(softResolutionBlocks);
            r.programId = programId;
            r.inputCommitment = inputCommitment;
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against 2^96 - 1 by _requestTerms
            r.payment = uint96(payment);
            r.maxGasPrice = options.maxGasPrice;
            r.maxSteps = options.maxSteps;
            r.maxStepGas = maxStepGas;
        }
        emit Created(id, programId, msg.sender);
        emit RequestInput(
            // forge-lint: disable-next-line(unsafe-typecast) -- as above
            id,
            input,
            payment,
            options.maxSteps,
            options.maxGasPrice,
            uint32(softResolutionBlocks),
            options.mode
        );
    }

    function _answer(uint256 id, bytes calldata result, uint64 steps, bool final_) internal {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.Pending);
        Trace.checkClaim(r.maxSteps, result.length, steps, final_);
        _takeDeposit(id, _deposit(r));
        uint256 windowEnd = _openWindow(r);
        r.host = msg.sender;
        r.steps = steps;
        r.claim = Trace.commitCalldata(final_, result);
        emit Answered(id, msg.sender, result, steps, final_, windowEnd);
    }

    function _challenge(uint256 id, bytes calldata result, uint64 steps, bool final_) internal {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.WaitingForResolution);
        if (block.number > r.deadline) revert WindowClosed(id, r.deadline);
        Trace.checkClaim(r.maxSteps, result.length, steps, final_);
        bytes32 claim = Trace.commitCalldata(final_, result);
        if (claim == r.claim) revert SameClaim(claim);
        _takeDeposit(id, _deposit(r));
        _challenges[id] = Challenge({challenger: msg.sender, steps: steps, claim: claim});
        uint256 startDeadline = block.number + _clockBlocks;
        r.status = Status.NeedsResolution;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 clock stay far below 2^48
        r.deadline = uint48(startDeadline);
        emit Challenged(id, msg.sender, result, steps, final_, startDeadline);
    }

    /// @dev Ends a bisection dispute (or one never started). The loser's deposit stays in the
    /// Broker: its halves are counted (`hostWins` for the winner, who is the host from here on;
    /// `disputes` for the requester) and credited by `finalize`, so that the one step writes no
    /// balance. A host that loses is credited at once what it had won before; a counter that
    /// would overflow is paid out instead.
    function _resolveChallenge(uint256 id, Request storage r, bool defenderWon, bool byTimeout) internal {
        Challenge memory c = _challenges[id];
        address defender = r.host;
        (address winner, address loser) = defenderWon ? (defender, c.challenger) : (c.challenger, defender);
        // The deposit is computed (a cold read) only when something is paid out now.
        if (defenderWon) {
            if (r.hostWins == type(uint16).max) _payHostWins(id, r, defender, _deposit(r) / 2);
            ++r.hostWins;
        } else {
            if (r.hostWins != 0) _payHostWins(id, r, defender, _deposit(r) / 2);
            _adoptChallengersClaim(r, c, 1);
        }
        if (r.disputes == type(uint16).max) {
            uint256 deposit = _deposit(r);
            _payCompensation(id, r, deposit - deposit / 2);
        }
        ++r.disputes;
        _reopen(id, r);
        emit DisputeResolved(id, winner, loser, byTimeout);
    }

    /// @dev The challenger won: its answer is the request's standing answer from here on,
    /// with `hostWins` wins to its credit.
    function _adoptChallengersClaim(Request storage r, Challenge memory c, uint16 hostWins) internal {
        r.host = c.challenger;
        r.steps = c.steps;
        r.hostWins = hostWins;
        r.claim = c.claim;
    }

    /// @dev Returns a request whose dispute ended to its challenge window, a fresh one.
    function _reopen(uint256 id, Request storage r) internal {
        _openWindow(r);
        delete _challenges[id];
        delete _games[id];
    }

    /// @dev Opens the challenge window of request `r`'s standing answer, from this block.
    function _openWindow(Request storage r) internal returns (uint256 windowEnd) {
        windowEnd = block.number + r.softResolutionBlocks;
        r.status = Status.WaitingForResolution;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 window stay far below 2^48
        r.deadline = uint48(windowEnd);
    }

    /// @dev Ends a full re-execution: the computed commitment decides who was right.
    function _settleFullExecution(uint256 id, Request storage r, FullExecution storage fx, bytes32 computed) internal {
        Challenge memory c = _challenges[id];
        uint256 deposit = _deposit(r);
        uint256 reimbursed = fx.reimbursed;
        address defender = r.host;
        address winner = address(0);
        address loser = address(0);
        if (computed == r.claim) {
            (winner, loser) = (defender, c.challenger);
            _forfeit(id, r.requester, winner, deposit - reimbursed);
        } else if (computed == c.claim) {
            (winner, loser) = (c.challenger, defender);
            _forfeit(id, r.requester, winner, deposit - reimbursed);
            // A dispute the defender won earlier (its challenger never started it) is its own.
            _payHostWins(id, r, defender, deposit / 2);
            _adoptChallengersClaim(r, c, 0);
        } else {
            // Nobody was right: both deposits (less the gas reimbursed) go to the requester,
            // who is also refunded the payment on `finalize`.
            _credit(r.requester, id, 2 * deposit - reimbursed, CreditReason.DelayCompensation);
            _payHostWins(id, r, defender, deposit / 2);
            r.host = address(0);
            r.steps = 0;
            r.claim = computed;
        }
        r.status = Status.FirmResolution;
        delete _challenges[id];
        emit DisputeResolved(id, winner, loser, false);
        emit FirmlyResolved(id, winner, computed);
    }

    /// @dev The one-step phase's opening, for `proveStep` and `proveMachineStep`: the turn
    /// (anyone may prove) and the revealed state against the agreed commitment at `lo`.
    function _openStep(uint256 id, bool final_, bytes calldata state)
        internal
        returns (Request storage r, Game storage g)
    {
        r = _get(id);
        _expectResolving(id, r, DisputeMode.Bisection);
        g = _games[id];
        g.takeTurn(id, Phase.OneStep, r.host, address(0), true);
        g.reveal(final_, state);
    }

    /// @dev The one-step phase's verdict: the defender wins if the step lands on its `cHi`.
    function _closeStep(uint256 id, Request storage r, Game storage g, uint64 stepNumber, bytes32 computed) internal {
        bool defenderWon = computed == g.cHi;
        emit StepProven(id, stepNumber, computed, defenderWon);
        _resolveChallenge(id, r, defenderWon, false);
    }

    /// @dev Credits `host` the rewards of the disputes it won on request `id`, and clears them.
    function _payHostWins(uint256 id, Request storage r, address host, uint256 reward) internal {
        uint256 wins = r.hostWins;
        if (wins == 0) return;
        r.hostWins = 0;
        _credit(host, id, wins * reward, CreditReason.DisputeReward);
    }

    /// @dev Credits the requester its compensation for the disputes on request `id` so far.
    function _payCompensation(uint256 id, Request storage r, uint256 compensation) internal {
        uint256 count = r.disputes;
        r.disputes = 0;
        _credit(r.requester, id, count * compensation, CreditReason.DelayCompensation);
    }

    function _forfeit(uint256 id, address requester, address winner, uint256 amount) internal {
        uint256 reward = amount / 2;
        _credit(winner, id, reward, CreditReason.DisputeReward);
        _credit(requester, id, amount - reward, CreditReason.DelayCompensation);
    }

    function _takeDeposit(uint256 id, uint256 required) internal {
        if (msg.value < required) revert DepositTooLow(msg.value, required);
        if (msg.value > required) _credit(msg.sender, id, msg.value - required, CreditReason.Surplus);
    }

    function _credit(address account, uint256 id, uint256 amount, CreditReason reason) internal {
        if (amount == 0) return;
        _balances[account] += amount;
        emit Credited(account, id, amount, reason);
    }

    function _withdraw(address payable to) internal {
        uint256 amount = _balances[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _balances[msg.sender] = 0;
        emit Withdrawn(msg.sender, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert WithdrawFailed(to, amount);
    }
}

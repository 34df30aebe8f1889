// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrokerSettlement} from "./BrokerSettlement.sol";
import {ProgramTerms, StoredRequest} from "./BrokerTypes.sol";
import {IBroker} from "./interfaces/IBroker.sol";
import {IFactory} from "./interfaces/IFactory.sol";
import {Bisection} from "./libraries/Bisection.sol";
import {Deposits} from "./libraries/Deposits.sol";
import {Reexecution} from "./libraries/Reexecution.sol";

/// @title BrokerDisputes
/// @notice The `Broker`'s dispute entry points that are not moves of a game: starting a
/// dispute, full re-execution, timeouts and counting a dispute's outcome early. The Broker
/// deploys this contract and runs these functions in its own storage by `DELEGATECALL` (the
/// Broker's code would not fit in EIP-170's 24,576 bytes with them); the game's moves and the one-step proof stay in the
/// Broker itself, where a dispute's bounded transactions pay no extra call. Called directly,
/// it has no requests: every function reverts `NoSuchRequest`.
/// @dev Same storage layout as the Broker (both are `BrokerStorage`), same immutables (the
/// Broker passes its own parameters), same selectors as `IBroker`'s functions.
contract BrokerDisputes is BrokerSettlement {
    using Bisection for IBroker.Game;
    using Reexecution for IBroker.FullExecution;

    /// @dev The parameters are the Broker's.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_)
        BrokerSettlement(factory_, arity_, clockBlocks_)
    {}

    /// @notice See `IBroker`.
    function initializeDispute(uint256 id) external nonReentrant {
        StoredRequest storage r = _get(id);
        _expectStatus(id, r.status, IBroker.Status.NeedsResolution);
        if (block.number > r.deadline) revert IBroker.DeadlinePassed(id, r.deadline);
        r.status = IBroker.Status.Resolving;
        if (r.mode == IBroker.DisputeMode.Bisection) {
            _games[id].start(r.inputCommitment, r.claim, r.steps, _clockBlocks);
        } else {
            // From the input (`c_0`), nothing reimbursed yet.
            _fullExecutions[id] = IBroker.FullExecution(r.inputCommitment, 0, _fullExecutionDeadline(), 0);
        }
        emit IBroker.DisputeStarted(id, r.mode);
    }

    /// @notice See `IBroker`.
    function executeExecutable(uint256 id, uint256 maxSteps, bytes calldata state) external nonReentrant {
        uint256 gasAtStart = gasleft();
        StoredRequest storage r = _get(id);
        _expectResolving(id, r, IBroker.DisputeMode.FullExecution);
        IBroker.FullExecution storage fx = _fullExecutions[id];
        ProgramTerms memory program = _programs[r.program];
        Reexecution.Progress memory p = fx.advance(r, program, maxSteps, state, EXECUTE_SETTLE_GAS);
        if (p.executed == 0) revert IBroker.NoProgress(id);
        if (!p.finished) fx.deadline = _fullExecutionDeadline();
        emit IBroker.Executed(id, msg.sender, p.count, p.final_, p.finished, p.state);
        // The state's calldata is paid by the caller but not seen by `gasleft()`.
        uint256 gasUsed = gasAtStart - gasleft() + Deposits.EXECUTE_CALL_OVERHEAD_GAS + 16 * state.length;
        uint256 refund = fx.reimburse(r, program.maxStepGas, _deposit(r), p.executed, state.length, gasUsed);
        _credit(msg.sender, id, refund, IBroker.CreditReason.GasReimbursement);
        if (p.finished) _settleFullExecution(id, r, fx, p.reached);
    }

    /// @notice See `IBroker`.
    function claimTimeout(uint256 id) external nonReentrant {
        StoredRequest storage r = _get(id);
        IBroker.Status status = r.status;
        if (status == IBroker.Status.NeedsResolution) {
            // The challenger did not start the dispute it opened.
            if (block.number <= r.deadline) revert IBroker.DeadlineNotReached(id, r.deadline);
            _resolveChallenge(id, r, true, true);
        } else if (status == IBroker.Status.Resolving && r.mode == IBroker.DisputeMode.Bisection) {
            (bool expired, bool defenderMoves, uint256 deadline) = _games[id].timeout();
            if (!expired) revert IBroker.DeadlineNotReached(id, deadline);
            _resolveChallenge(id, r, !defenderMoves, true);
        } else if (status == IBroker.Status.Resolving && r.mode == IBroker.DisputeMode.FullExecution) {
            // A full re-execution nobody advanced: the challenger, who must show the answer
            // wrong, did not. Its deposit, less the gas reimbursed out of it, goes half to the
            // host and half to the requester; the answer gets a fresh window (a stalled run
            // proves nothing about it, so others may still challenge it).
            IBroker.FullExecution storage fx = _fullExecutions[id];
            uint256 deadline = fx.deadline;
            if (block.number <= deadline) revert IBroker.DeadlineNotReached(id, deadline);
            address host = _hostOf(r);
            _forfeit(id, _requesterOf(r), host, _deposit(r) - fx.reimbursed);
            _recordDispute(host, _challenges[id].challenger, true, true);
            delete _fullExecutions[id];
            emit IBroker.DisputeResolved(id, host, _challenges[id].challenger, true);
            _reopen(id, r);
        } else if (status == IBroker.Status.Resolving) {
            // A tournament's games are timed out one by one: `claimTimeout(id, game)`.
            revert IBroker.WrongMode(id, r.mode);
        } else {
            revert IBroker.WrongStatus(id, status, IBroker.Status.Resolving);
        }
    }

    /// @notice See `IBroker`.
    function countDispute(uint256 id) external nonReentrant {
        StoredRequest storage r = _get(id);
        IBroker.Status status = r.status;
        // During a dispute the slot holds the open challenge; outside one, a kept outcome.
        if (
            status == IBroker.Status.NeedsResolution || status == IBroker.Status.Resolving
                || _challenges[id].challenger == address(0)
        ) revert IBroker.NothingToCount(id);
        _countLastDispute(id, _hostOf(r));
    }

    /// @dev Ends a full re-execution: the computed commitment decides who was right.
    function _settleFullExecution(
        uint256 id,
        StoredRequest storage r,
        IBroker.FullExecution storage fx,
        bytes32 computed
    ) internal {
        IBroker.Challenge memory c = _challenges[id];
        uint256 deposit = _deposit(r);
        uint256 reimbursed = fx.reimbursed;
        address requester = _requesterOf(r);
        address defender = _hostOf(r);
        address winner = address(0);
        address loser = address(0);
        if (computed == r.claim) {
            (winner, loser) = (defender, c.challenger);
            _forfeit(id, requester, winner, deposit - reimbursed);
            _recordDispute(defender, c.challenger, true, false);
        } else if (computed == c.claim) {
            (winner, loser) = (c.challenger, defender);
            _forfeit(id, requester, winner, deposit - reimbursed);
            _recordDispute(defender, c.challenger, false, false);
            // A dispute the defender won earlier (its challenger never started it) is its own.
            _payHostWins(id, r, defender, deposit / 2);
            _adoptChallengersClaim(r, c, 0);
        } else {
            // Nobody was right: both deposits (less the gas reimbursed) go to the requester,
            // who is also refunded the payment on `finalize`.
            _credit(requester, id, 2 * deposit - reimbursed, IBroker.CreditReason.DelayCompensation);
            _payHostWins(id, r, defender, deposit / 2);
            _count(defender, DEFENCE_LOST);
            _count(c.challenger, CHALLENGE_LOST);
            r.host = 0;
            r.steps = 0;
            r.claim = computed;
        }
        r.status = IBroker.Status.FirmResolution;
        delete _challenges[id];
        emit IBroker.DisputeResolved(id, winner, loser, false);
        emit IBroker.FirmlyResolved(id, winner, computed);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrokerStorage} from "./BrokerStorage.sol";
import {StoredRequest} from "./BrokerTypes.sol";
import {IBroker} from "./interfaces/IBroker.sol";
import {IFactory} from "./interfaces/IFactory.sol";

/// @title BrokerSettlement
/// @notice How a dispute's end moves a request on: the loser's deposit counted for the winner
/// and the requester, the winner's answer standing in a fresh window, both parties' records;
/// and the credits every path ends in. Shared by `Broker` (the one-step proof) and
/// `BrokerDisputes` (timeouts, full re-execution), which run in the same storage.
abstract contract BrokerSettlement is BrokerStorage {
    /// @dev `_keepOutcome`'s flags.
    uint64 private constant OUTCOME_DEFENDER_LOST = 1;
    uint64 private constant OUTCOME_BY_TIMEOUT = 2;

    /// @dev The parameters are `BrokerStorage`'s.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_) BrokerStorage(factory_, arity_, clockBlocks_) {}

    /// @dev Ends a bisection dispute (or one never started). The loser's deposit stays in the
    /// Broker: its halves are counted (`hostWins` for the winner, who is the host from here on;
    /// `disputes` for the requester) and credited by `finalize`, so that the one step writes no
    /// balance. A host that loses is credited at once what it had won before; a counter that
    /// would overflow is paid out instead.
    function _resolveChallenge(uint256 id, StoredRequest storage r, bool defenderWon, bool byTimeout) internal {
        IBroker.Challenge memory c = _challenges[id];
        address defender = _hostOf(r);
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
        _openWindow(r);
        delete _games[id];
        _keepOutcome(id, loser, !defenderWon, byTimeout);
        emit IBroker.DisputeResolved(id, winner, loser, byTimeout);
    }

    /// @dev Keeps a bisection dispute's outcome in the request's challenge slot, which the
    /// challenge no longer needs, until `_countLastDispute` counts it in both parties' records
    /// (at the request's next challenge or payout): the one-step proof, a bounded move, then
    /// writes no record (the two words would cost it 8,300 gas). The loser takes the
    /// challenger's place; `steps` holds whether it was the defender (1) and lost by timeout
    /// (2); the claim is cleared. The winner is the request's host from here on.
    function _keepOutcome(uint256 id, address loser, bool defenderLost, bool byTimeout) internal {
        IBroker.Challenge storage c = _challenges[id];
        c.challenger = loser;
        c.steps = (defenderLost ? OUTCOME_DEFENDER_LOST : 0) | (byTimeout ? OUTCOME_BY_TIMEOUT : 0);
        c.claim = bytes32(0);
    }

    /// @dev Counts the outcome `_keepOutcome` kept for request `id`, if any, with `winner` (its
    /// host since then) in both parties' records, and clears it.
    function _countLastDispute(uint256 id, address winner) internal {
        IBroker.Challenge storage c = _challenges[id];
        address loser = c.challenger;
        if (loser == address(0)) return;
        uint64 outcome = c.steps;
        bool defenderLost = outcome & OUTCOME_DEFENDER_LOST != 0;
        (address defender, address challenger) = defenderLost ? (loser, winner) : (winner, loser);
        _recordDispute(defender, challenger, !defenderLost, outcome & OUTCOME_BY_TIMEOUT != 0);
        delete _challenges[id];
        emit IBroker.DisputeCounted(id, defender, challenger);
    }

    /// @dev The challenger won: its answer is the request's standing answer from here on,
    /// with `hostWins` wins to its credit.
    function _adoptChallengersClaim(StoredRequest storage r, IBroker.Challenge memory c, uint16 hostWins) internal {
        // The challenger was enrolled by its challenge.
        r.host = _accountIndex[c.challenger];
        r.steps = c.steps;
        r.hostWins = hostWins;
        r.claim = c.claim;
    }

    /// @dev Returns a request whose dispute ended to its challenge window, a fresh one.
    function _reopen(uint256 id, StoredRequest storage r) internal {
        _openWindow(r);
        delete _challenges[id];
        delete _games[id];
    }

    /// @dev Opens the challenge window of request `r`'s standing answer, from this block.
    function _openWindow(StoredRequest storage r) internal returns (uint256 windowEnd) {
        windowEnd = block.number + r.softResolutionBlocks;
        r.status = IBroker.Status.WaitingForResolution;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 window stay far below 2^48
        r.deadline = uint48(windowEnd);
    }

    /// @dev Counts a dispute's outcome in both parties' records.
    function _recordDispute(address defender, address challenger, bool defenderWon, bool byTimeout) internal {
        uint256 timeout = byTimeout ? TIMEOUT : 0;
        if (defenderWon) {
            _count(defender, DEFENCE_WON);
            _count(challenger, CHALLENGE_LOST | timeout);
        } else {
            _count(defender, DEFENCE_LOST | timeout);
            _count(challenger, CHALLENGE_WON);
        }
    }

    /// @dev Adds `units` (a sum of `_records` counter units) to `account`'s record.
    function _count(address account, uint256 units) internal {
        unchecked {
            _records[account] += units;
        }
    }

    /// @dev Credits `host` the rewards of the disputes it won on request `id`, and clears them.
    function _payHostWins(uint256 id, StoredRequest storage r, address host, uint256 reward) internal {
        uint256 wins = r.hostWins;
        if (wins == 0) return;
        r.hostWins = 0;
        _credit(host, id, wins * reward, IBroker.CreditReason.DisputeReward);
    }

    /// @dev Credits the requester its compensation for the disputes on request `id` so far.
    function _payCompensation(uint256 id, StoredRequest storage r, uint256 compensation) internal {
        uint256 count = r.disputes;
        r.disputes = 0;
        _credit(_requesterOf(r), id, count * compensation, IBroker.CreditReason.DelayCompensation);
    }

    function _forfeit(uint256 id, address requester, address winner, uint256 amount) internal {
        uint256 reward = amount / 2;
        _credit(winner, id, reward, IBroker.CreditReason.DisputeReward);
        _credit(requester, id, amount - reward, IBroker.CreditReason.DelayCompensation);
    }

    function _credit(address account, uint256 id, uint256 amount, IBroker.CreditReason reason) internal {
        if (amount == 0) return;
        _addBalance(account, amount);
        emit IBroker.Credited(account, id, amount, reason);
    }

    /// @dev Adds `amount` to `account`'s balance (its word holds the balance plus one once
    /// credited: see `_balances`).
    function _addBalance(address account, uint256 amount) internal {
        uint256 held = _balances[account];
        _balances[account] = (held == 0 ? 1 : held) + amount;
    }
}

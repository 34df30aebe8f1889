// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {Bisection} from "./Bisection.sol";

/// @title Tournament
/// @notice A request's disputes as a tournament between claims, whose end is bounded whatever
/// the number of claimants (review finding 10, the sybil delay): the rules and who is owed
/// what, tested on their own (`Tournament.t.sol`) and played by the Broker for tournament-mode
/// requests (`BrokerTournaments`, which pays the answer's entry if it stands and else splits the
/// payment among the claim's standing entries, rather than name one winner: `outcome` is the
/// verdict it reads).
///
/// Why a tournament. With one game at a time, a cheater's puppet challengers each hold the
/// request a clock, one after another. Letting challengers play the standing answer in
/// parallel is not enough: when the standing answer loses a game (to a puppet it throws the
/// game to, which a contract can do within one block), the games of everyone else against it
/// must restart against the winner's claim, and a cheater with a reserve of puppets restarts the
/// honest challenger's game at will. So games are between two *claims*, never against "the
/// standing answer", and a claim that loses any game is eliminated, whoever wins elsewhere:
/// - the answer is entry 0; anyone may enter a claim (with its deposit, in the Broker) until
///   `entryDeadline`, the answer's window; entries are never added after it;
/// - the party of a standing entry may challenge any other standing entry with a different
///   claim until `startDeadline`, once per pair; the game is the bisection game over the
///   defender's trace (`Bisection`), with its own chess clocks, played in parallel with any
///   others; its loser is eliminated. A game one of whose entries lost another game is dead:
///   no move is taken in it, and `forfeit` ends it as that entry's loss (so a standing entry
///   never loses to an eliminated one);
/// - after `entryDeadline` the tournament is decided as soon as exactly one claim stands (no
///   game can eliminate it any more: its opponents are all eliminated): that claim is the
///   answer, its earliest standing entry the winner. It ends undecided if two or more still
///   stand after `endDeadline`, `startDeadline + 3 * clock + 1`: every game that could start
///   has had both clocks and one more clock for its timeout to be claimed, so only entries
///   nobody played against are left. Some claim always stands: an entry is eliminated only by
///   losing a live game, whose winner stands.
///
/// The bound. An honest claimant enters within the window and challenges every standing
/// entry with another claim, all at once, and claims each timeout when it comes; a right
/// claim never loses a game, so every game it plays ends within `2 * clock + 1` blocks of its
/// start, and the tournament is decided by `startDeadline + 2 * clock + 1` whatever the
/// number of puppets: they cost the honest party gas per game, not time. Games between
/// puppets do not hold the verdict back: it asks how many claims stand, not which games run.
/// Money. Every entry holds one deposit (the Broker's `deposit`, the same for all). An
/// entry's first loss forfeits it: half to the party that eliminated it (`Entry.wins`), half to
/// the requester (`requesterShare`); a standing entry's deposit is returned (`share`). So each
/// puppet costs the cheater half a deposit, as a lost challenge does today, and the shares
/// always add up to the deposits held. What this does not pay: the gas an honest party spent
/// starting a game against an entry some other entry eliminated first.
/// @dev Indices are `uint32`; a game is keyed by its pair of entries (`gameKey`).
library Tournament {
    using Bisection for IBroker.Game;

    /// @notice One claim entered in the tournament.
    struct Entry {
        /// Who entered it: the only one who may start its games and move for it.
        address party;
        /// The steps it claims.
        uint64 steps;
        /// Whether it lost a game.
        bool eliminated;
        /// Entries it eliminated: each owes it half a deposit.
        uint24 wins;
        /// `Trace.commit(final, result)` of the claimed answer.
        bytes32 claim;
    }

    /// @notice A game between two entries.
    struct Match {
        uint32 defender;
        uint32 challenger;
        bool open;
        /// Whether the defender won; meaningful once the match is over.
        bool defenderWon;
    }

    /// @notice A request's tournament.
    struct State {
        /// The last block at which a claim may be entered.
        uint48 entryDeadline;
        /// The last block at which a game may start.
        uint48 startDeadline;
        /// The block after which the tournament is over, decided or not.
        uint48 endDeadline;
        /// Entries so far; entry 0 is the answer.
        uint32 count;
        /// Different claims held by at least one entry not eliminated.
        uint32 standingClaims;
        /// Entries eliminated.
        uint32 eliminated;
        mapping(uint256 index => Entry) entries;
        /// Per claim, its entries not eliminated.
        mapping(bytes32 claim => uint256) standingEntries;
        mapping(uint256 key => Match) matches;
        mapping(uint256 key => IBroker.Game) games;
    }

    /// @notice No entry at index `index`.
    error NoSuchEntry(uint256 index);
    /// @notice Entries closed at block `deadline`.
    error EntriesClosed(uint256 deadline);
    /// @notice Games could start until block `deadline`.
    error StartsClosed(uint256 deadline);
    /// @notice Entry `index` lost a game: it can start none and is a party to none.
    error EntryEliminated(uint256 index);
    /// @notice Only entry `index`'s party (`party`) may start its games.
    error NotEntrysParty(uint256 index, address party);
    /// @notice Entries `a` and `b` hold the same claim: there is nothing to decide between them.
    error SameClaimEntries(uint256 a, uint256 b);
    /// @notice Entries `a` and `b` have played, or are playing, their game.
    error GameExists(uint256 a, uint256 b);
    /// @notice No open game under `key`.
    error NoOpenGame(uint256 key);
    /// @notice Neither party of game `key` was eliminated elsewhere.
    error NothingForfeited(uint256 key);
    /// @notice An entry of game `key` lost another game: the game takes no move; end it with
    /// `forfeit`.
    error GameForfeited(uint256 key);

    /// @notice Opens the tournament on `host`'s answer: entries until `entryDeadline`, games
    /// until `entryDeadline + startBlocks`, each with chess clocks of `clock` blocks.
    function open(
        State storage t,
        address host,
        bytes32 claim,
        uint64 steps,
        uint256 entryDeadline,
        uint256 startBlocks,
        uint32 clock
    ) internal {
        uint256 startDeadline = entryDeadline + startBlocks;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus windows and clocks stay far below 2^48
        t.entryDeadline = uint48(entryDeadline);
        // forge-lint: disable-next-line(unsafe-typecast) -- as above
        t.startDeadline = uint48(startDeadline);
        // forge-lint: disable-next-line(unsafe-typecast) -- as above
        t.endDeadline = uint48(startDeadline + 3 * uint256(clock) + 1);
        _add(t, host, claim, steps);
    }

    /// @notice Enters `party`'s claim; returns its index. The same claim may be entered more
    /// than once (by others): a claimant never depends on another's playing well.
    function enter(State storage t, address party, bytes32 claim, uint64 steps) internal returns (uint32 index) {
        uint256 deadline = t.entryDeadline;
        if (block.number > deadline) revert EntriesClosed(deadline);
        index = _add(t, party, claim, steps);
    }

    /// @notice The sender, `challenger`'s party, challenges entry `defender`: their game starts
    /// over the defender's trace `[c0, claim]` with both clocks at `clock`; returns its key.
    function challenge(State storage t, uint32 challenger, uint32 defender, bytes32 c0, uint32 clock)
        internal
        returns (uint256 key)
    {
        uint256 deadline = t.startDeadline;
        if (block.number > deadline) revert StartsClosed(deadline);
        Entry storage c = _standing(t, challenger);
        Entry storage d = _standing(t, defender);
        if (msg.sender != c.party) revert NotEntrysParty(challenger, c.party);
        if (c.claim == d.claim) revert SameClaimEntries(challenger, defender);
        key = gameKey(challenger, defender);
        Match storage m = t.matches[key];
        if (m.defender != m.challenger) revert GameExists(challenger, defender);
        m.defender = defender;
        m.challenger = challenger;
        m.open = true;
        t.games[key].start(c0, d.claim, d.steps, clock);
    }

    /// @notice Open game `key`'s record and its defender's and challenger's parties, for a
    /// move (`Bisection.takeTurn` checks whose move it is); reverts on a dead game.
    function game(State storage t, uint256 key)
        internal
        view
        returns (IBroker.Game storage g, address defenderParty, address challengerParty)
    {
        Match storage m = t.matches[key];
        if (!m.open) revert NoOpenGame(key);
        Entry storage d = t.entries[m.defender];
        Entry storage c = t.entries[m.challenger];
        if (d.eliminated || c.eliminated) revert GameForfeited(key);
        g = t.games[key];
        defenderParty = d.party;
        challengerParty = c.party;
    }

    /// @notice Ends open game `key`: its loser is eliminated (if it was not already).
    function decide(State storage t, uint256 key, bool defenderWon) internal {
        Match storage m = t.matches[key];
        if (!m.open) revert NoOpenGame(key);
        m.open = false;
        m.defenderWon = defenderWon;
        (uint32 winner, uint32 loser) = defenderWon ? (m.defender, m.challenger) : (m.challenger, m.defender);
        _eliminate(t, loser, winner);
        delete t.games[key];
    }

    /// @notice Ends open game `key` whose mover's clock ran out: the mover loses. Returns
    /// whether the defender won.
    function timeout(State storage t, uint256 key) internal returns (bool defenderWon) {
        (IBroker.Game storage g,,) = game(t, key);
        (bool expired, bool defenderMoves, uint256 deadline) = g.timeout();
        if (!expired) revert IBroker.DeadlineNotReached(key, deadline);
        defenderWon = !defenderMoves;
        decide(t, key, defenderWon);
    }

    /// @notice Ends open game `key` one of whose entries lost another game: it loses this one
    /// too (the defender, if both did). Returns whether the defender won.
    function forfeit(State storage t, uint256 key) internal returns (bool defenderWon) {
        Match storage m = t.matches[key];
        if (!m.open) revert NoOpenGame(key);
        if (t.entries[m.defender].eliminated) defenderWon = false;
        else if (t.entries[m.challenger].eliminated) defenderWon = true;
        else revert NothingForfeited(key);
        decide(t, key, defenderWon);
    }

    /// @notice Whether the tournament is over, and if so whether one claim stands (`decided`)
    /// and its earliest standing entry (`winner`).
    /// @dev The search for the winner reads the entries before it: one storage read per entry.
    function verdict(State storage t) internal view returns (bool over, bool decided, uint32 winner) {
        (over, decided) = outcome(t);
        if (!decided) return (over, false, 0);
        uint32 count = t.count;
        for (uint32 i = 0; i < count; ++i) {
            if (!t.entries[i].eliminated) return (true, true, i);
        }
    }

    /// @notice `verdict` without the winner, in constant gas: whether the tournament is over
    /// and, if so, whether one claim stands.
    function outcome(State storage t) internal view returns (bool over, bool decided) {
        if (block.number <= t.entryDeadline) return (false, false);
        if (t.standingClaims == 1) return (true, true);
        return (block.number > t.endDeadline, false);
    }

    /// @notice What entry `index`'s party is owed at the end, each entry having held `deposit`:
    /// its deposit back if it stands, and half a deposit per entry it eliminated.
    function share(State storage t, uint32 index, uint256 deposit) internal view returns (uint256) {
        Entry storage e = t.entries[index];
        // Each win is the floor of half a deposit on purpose: `requesterShare` takes the rest.
        // slither-disable-next-line divide-before-multiply
        return (e.eliminated ? 0 : deposit) + uint256(e.wins) * (deposit / 2);
    }

    /// @notice What the requester is owed for the entries eliminated: the other half of each
    /// one's deposit.
    function requesterShare(State storage t, uint256 deposit) internal view returns (uint256) {
        return uint256(t.eliminated) * (deposit - deposit / 2);
    }

    /// @notice The key of the game between entries `a` and `b`, either way round.
    function gameKey(uint32 a, uint32 b) internal pure returns (uint256) {
        (uint256 lo, uint256 hi) = a < b ? (a, b) : (b, a);
        return lo << 32 | hi;
    }

    function _add(State storage t, address party, bytes32 claim, uint64 steps) private returns (uint32 index) {
        index = t.count;
        t.count = index + 1;
        t.entries[index] = Entry({party: party, steps: steps, eliminated: false, wins: 0, claim: claim});
        if (t.standingEntries[claim]++ == 0) ++t.standingClaims;
    }

    function _standing(State storage t, uint32 index) private view returns (Entry storage e) {
        if (index >= t.count) revert NoSuchEntry(index);
        e = t.entries[index];
        if (e.eliminated) revert EntryEliminated(index);
    }

    /// @dev Eliminates entry `index`, beaten by `winner`, unless it already lost elsewhere (a
    /// forfeit): the first loss alone counts, for the standing claims and for the money.
    function _eliminate(State storage t, uint32 index, uint32 winner) private {
        Entry storage e = t.entries[index];
        if (e.eliminated) return;
        e.eliminated = true;
        ++t.eliminated;
        ++t.entries[winner].wins;
        if (--t.standingEntries[e.claim] == 0) --t.standingClaims;
    }
}

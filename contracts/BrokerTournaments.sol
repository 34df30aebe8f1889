// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrokerIntake} from "./BrokerIntake.sol";
import {StoredRequest} from "./BrokerTypes.sol";
import {IBroker} from "./interfaces/IBroker.sol";
import {IBrokerTournaments} from "./interfaces/IBrokerTournaments.sol";
import {IFactory} from "./interfaces/IFactory.sol";
import {Bisection} from "./libraries/Bisection.sol";
import {OneStep} from "./libraries/OneStep.sol";
import {Trace} from "./libraries/Trace.sol";
import {Tournament} from "./libraries/Tournament.sol";

/// @title BrokerTournaments
/// @notice The disputes of tournament-mode requests (`IBrokerTournaments`): entries, games
/// between them in parallel, and who is paid what at the end. The Broker runs these functions
/// in its own storage by `DELEGATECALL`: `challengeAnswer` on a tournament-mode request, every
/// other function through its fallback. Called directly, it has no requests: every function
/// reverts `NoSuchRequest`.
/// @dev Deployed on its own (the Broker's creation code has no room for it, EIP-3860) with the
/// Broker's parameters, which the Broker's constructor checks (`parameters`). The rules are the
/// `Tournament` library's; each game is a `Bisection` game ending in the `OneStep` proof, as a
/// bisection-mode dispute does. A game's end is counted in both parties' records at once.
// Its payable functions run as the Broker's (`DELEGATECALL`); called directly they revert
// `NoSuchRequest`, so it never holds ether.
// slither-disable-next-line locked-ether
contract BrokerTournaments is BrokerIntake, IBrokerTournaments {
    using Bisection for IBroker.Game;
    using OneStep for IBroker.Game;
    using Tournament for Tournament.State;

    /// @dev `GameEnded`'s `how`.
    uint8 private constant BY_STEP = 0;
    uint8 private constant BY_TIMEOUT = 1;
    uint8 private constant BY_FORFEIT = 2;

    /// @dev The Factory's machine prover, as the Broker's.
    address private immutable _machineProver;

    /// @param factory_ The Broker's Factory; `arity_` and `clockBlocks_` its game parameters.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_) BrokerIntake(factory_, arity_, clockBlocks_) {
        _machineProver = factory_.machineProver();
    }

    /// @notice The parameters this module was deployed with, which must be the Broker's.
    function parameters() external view returns (IFactory factory_, uint256 arity_, uint32 clockBlocks_) {
        return (_factory, _arity, _clockBlocks);
    }

    // ---------------------------------------------------------------------------------------
    // Entries and games
    // ---------------------------------------------------------------------------------------

    /// @notice `IBroker.challengeAnswer` on a tournament-mode request: `enter`, then a game
    /// against entry 0 (the answer).
    function challengeAnswer(uint256 id, bytes calldata result, uint64 steps) external payable nonReentrant {
        _challengeAnswer(id, result, steps, true);
    }

    /// @notice As above, with the claim's final flag.
    function challengeAnswer(uint256 id, bytes calldata result, uint64 steps, bool final_)
        external
        payable
        nonReentrant
    {
        _challengeAnswer(id, result, steps, final_);
    }

    /// @inheritdoc IBrokerTournaments
    function enter(uint256 id, bytes calldata result, uint64 steps, bool final_)
        external
        payable
        nonReentrant
        returns (uint32 entry)
    {
        (entry,) = _enter(id, result, steps, final_);
    }

    /// @inheritdoc IBrokerTournaments
    function challengeEntry(uint256 id, uint32 challenger, uint32 defender)
        external
        nonReentrant
        returns (uint256 game)
    {
        (StoredRequest storage r, Tournament.State storage t) = _running(id);
        return _startGame(id, r, t, challenger, defender);
    }

    // ---------------------------------------------------------------------------------------
    // Moves
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBrokerTournaments
    function bisect(uint256 id, uint256 game, bytes32[] calldata points) external nonReentrant {
        (, Tournament.State storage t) = _running(id);
        // The challenger's party is not this move's.
        // slither-disable-next-line unused-return
        (IBroker.Game storage g, address defender,) = t.game(game);
        g.takeTurn(id, IBroker.Phase.Bisect, defender, false);
        g.bisect(points, _arity);
        emit GameBisected(id, game, g.lo, g.hi, points);
    }

    /// @inheritdoc IBrokerTournaments
    function selectSegment(uint256 id, uint256 game, bytes32[] calldata points, uint256 index) external nonReentrant {
        (, Tournament.State storage t) = _running(id);
        // The defender's party is not this move's.
        // slither-disable-next-line unused-return
        (IBroker.Game storage g,, address challenger) = t.game(game);
        g.takeTurn(id, IBroker.Phase.Select, challenger, false);
        g.select(points, index);
        emit GameSegmentSelected(id, game, g.lo, g.hi, g.cLo, g.cHi);
    }

    /// @inheritdoc IBrokerTournaments
    function proveStep(uint256 id, uint256 game, bool final_, bytes calldata state) external nonReentrant {
        (StoredRequest storage r, IBroker.Game storage g) = _openStep(id, game, final_, state);
        _closeStep(id, game, g, OneStep.programStep(_programs[r.program], id, g.lo + 1, final_, state));
    }

    /// @inheritdoc IBrokerTournaments
    function proveMachineStep(uint256 id, uint256 game, bool final_, bytes calldata state, bytes calldata proof)
        external
        nonReentrant
    {
        (StoredRequest storage r, IBroker.Game storage g) = _openStep(id, game, final_, state);
        _expectMachine(r);
        _closeStep(id, game, g, OneStep.machineStep(_machineProver, final_, state, proof));
    }

    /// @inheritdoc IBrokerTournaments
    function claimTimeout(uint256 id, uint256 game) external nonReentrant {
        (, Tournament.State storage t) = _running(id);
        _ended(id, t, game, t.timeout(game), BY_TIMEOUT);
    }

    /// @inheritdoc IBrokerTournaments
    function forfeit(uint256 id, uint256 game) external nonReentrant {
        (, Tournament.State storage t) = _running(id);
        _ended(id, t, game, t.forfeit(game), BY_FORFEIT);
    }

    // ---------------------------------------------------------------------------------------
    // The end
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBrokerTournaments
    function settleTournament(uint256 id, uint32 standingEntry) external nonReentrant {
        (StoredRequest storage r, Tournament.State storage t) = _running(id);
        (bool over, bool decided) = t.outcome();
        if (!over) revert TournamentNotOver(id, t.endDeadline);
        uint256 deposit = _deposit(r);
        address requester = _requesterOf(r);
        uint256 payment = r.payment;
        uint32 standing = 0;
        uint256 paymentShare = 0;
        bytes32 claim = bytes32(0);
        r.status = IBroker.Status.Finalized;
        if (decided) {
            if (standingEntry >= t.count || t.entries[standingEntry].eliminated) revert NotStanding(id, standingEntry);
            Tournament.Entry storage w = t.entries[standingEntry];
            claim = w.claim;
            standing = uint32(_payees(t, claim));
            paymentShare = payment / standing;
            // What does not divide evenly is the requester's.
            _credit(requester, id, payment % standing, IBroker.CreditReason.Refund);
            // The request shows the claim that stood; its host is the answer's author only if
            // the answer's entry stands among its entries.
            if (t.entries[0].eliminated) r.host = 0;
            r.steps = w.steps;
            r.claim = claim;
        } else {
            r.host = 0;
            r.steps = 0;
            r.claim = bytes32(0);
            _credit(requester, id, payment, IBroker.CreditReason.Refund);
        }
        _credit(requester, id, t.requesterShare(deposit), IBroker.CreditReason.DelayCompensation);
        emit TournamentSettled(id, decided, claim, standing, paymentShare);
    }

    /// @inheritdoc IBrokerTournaments
    function collectEntry(uint256 id, uint32 entry) external nonReentrant {
        StoredRequest storage r = _tournamentMode(id);
        _expectStatus(id, r.status, IBroker.Status.Finalized);
        Tournament.State storage t = _tournaments[id];
        if (entry >= t.count) revert Tournament.NoSuchEntry(entry);
        Tournament.Entry storage e = t.entries[entry];
        address party = e.party;
        if (party == address(0)) revert AlreadyCollected(id, entry);
        // Cleared, not flagged: the entry's word has no room for a flag, and no move is taken
        // on a Finalized request.
        e.party = address(0);
        uint256 deposit = _deposit(r);
        // Each win is the floor of half a deposit: `Tournament.requesterShare` took the rest.
        // slither-disable-next-line divide-before-multiply
        uint256 won = uint256(e.wins) * (deposit / 2);
        if (!e.eliminated) {
            _credit(party, id, deposit, IBroker.CreditReason.DepositReturned);
            // A standing entry holds the decided claim, or none was decided (`r.claim` zero).
            bytes32 claim = r.claim;
            bool paid = claim != bytes32(0) && (entry == 0 || t.entries[0].eliminated);
            uint256 paymentShare = paid ? r.payment / _payees(t, claim) : 0;
            if (paymentShare != 0) {
                _count(party, PAID);
                _credit(party, id, paymentShare, IBroker.CreditReason.Payment);
            }
        }
        _credit(party, id, won, IBroker.CreditReason.DisputeReward);
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBrokerTournaments
    function getTournament(uint256 id) external view returns (TournamentView memory v) {
        Tournament.State storage t = _tournaments[id];
        v.entryDeadline = t.entryDeadline;
        v.startDeadline = t.startDeadline;
        v.endDeadline = t.endDeadline;
        v.entries = t.count;
        v.standingClaims = t.standingClaims;
        v.eliminated = t.eliminated;
        if (v.entries != 0) (v.over, v.decided) = t.outcome();
    }

    /// @inheritdoc IBrokerTournaments
    function getEntry(uint256 id, uint32 entry) external view returns (EntryView memory) {
        Tournament.Entry storage e = _tournaments[id].entries[entry];
        return EntryView(e.party, e.steps, e.eliminated, e.wins, e.claim);
    }

    /// @inheritdoc IBrokerTournaments
    function getTournamentGame(uint256 id, uint256 game) external view returns (GameView memory) {
        Tournament.State storage t = _tournaments[id];
        Tournament.Match storage m = t.matches[game];
        return GameView(m.defender, m.challenger, m.open, m.defenderWon, t.games[game]);
    }

    /// @inheritdoc IBrokerTournaments
    function gameKey(uint32 a, uint32 b) external pure returns (uint256) {
        return Tournament.gameKey(a, b);
    }

    // ---------------------------------------------------------------------------------------
    // Internal
    // ---------------------------------------------------------------------------------------

    function _challengeAnswer(uint256 id, bytes calldata result, uint64 steps, bool final_) private {
        (uint32 entry, Tournament.State storage t) = _enter(id, result, steps, final_);
        _startGame(id, _requests[id], t, entry, 0);
    }

    /// @dev Enters the sender's claim on tournament-mode request `id`, opening the tournament
    /// on the answer (entry 0) at the first entry.
    function _enter(uint256 id, bytes calldata result, uint64 steps, bool final_)
        private
        returns (uint32 entry, Tournament.State storage t)
    {
        StoredRequest storage r = _tournamentMode(id);
        t = _tournaments[id];
        IBroker.Status status = r.status;
        if (status == IBroker.Status.WaitingForResolution) {
            uint256 windowEnd = r.deadline;
            if (block.number > windowEnd) revert IBroker.WindowClosed(id, windowEnd);
            t.open(_hostOf(r), r.claim, r.steps, windowEnd, _clockBlocks, _clockBlocks);
            r.status = IBroker.Status.Resolving;
            emit TournamentOpened(id, windowEnd, t.startDeadline, t.endDeadline);
        } else {
            _expectStatus(id, status, IBroker.Status.Resolving);
        }
        Trace.checkClaim(r.maxSteps, result.length, steps, final_);
        _takeDeposit(id, _deposit(r));
        // Enrolled now, so that the end can name it the request's host.
        _enrol(msg.sender);
        entry = t.enter(msg.sender, Trace.commitCalldata(final_, result), steps);
        emit Entered(id, entry, msg.sender, result, steps, final_);
    }

    /// @dev The entries the payment is split among once `claim` stood: the answer's entry
    /// alone if it stands (its host did the work; an entry beside it was paid by the deposits it
    /// won), else every standing entry of the claim.
    function _payees(Tournament.State storage t, bytes32 claim) private view returns (uint256) {
        return t.entries[0].eliminated ? t.standingEntries[claim] : 1;
    }

    /// @dev Starts the game of entry `challenger` (the sender's) against entry `defender`.
    function _startGame(
        uint256 id,
        StoredRequest storage r,
        Tournament.State storage t,
        uint32 challenger,
        uint32 defender
    ) private returns (uint256 game) {
        game = t.challenge(challenger, defender, r.inputCommitment, _clockBlocks);
        emit GameStarted(id, game, defender, challenger);
    }

    function _expectMachine(StoredRequest storage r) private view {
        uint32 program = r.program;
        if (!_programs[program].machine) revert IBroker.NotAMachineProgram(_programIds[program]);
    }

    /// @dev Request `id`, which must be a tournament-mode request.
    function _tournamentMode(uint256 id) private view returns (StoredRequest storage r) {
        r = _get(id);
        if (r.mode != IBroker.DisputeMode.Tournament) revert NotATournament(id);
    }

    /// @dev Request `id` and its tournament, which must be running.
    function _running(uint256 id) private view returns (StoredRequest storage r, Tournament.State storage t) {
        r = _tournamentMode(id);
        _expectStatus(id, r.status, IBroker.Status.Resolving);
        t = _tournaments[id];
    }

    /// @dev The one-step phase's opening in game `game` (anyone may prove): the turn, and the
    /// revealed state against the agreed commitment at `lo`.
    function _openStep(uint256 id, uint256 game, bool final_, bytes calldata state)
        private
        returns (StoredRequest storage r, IBroker.Game storage g)
    {
        Tournament.State storage t;
        (r, t) = _running(id);
        address defender;
        // The challenger's party is not this move's (anyone may prove).
        // slither-disable-next-line unused-return
        (g, defender,) = t.game(game);
        g.takeTurn(id, IBroker.Phase.OneStep, defender, true);
        g.reveal(final_, state);
    }

    /// @dev The one-step verdict of game `game` (`g`), whose step gave `computed`: the defender
    /// wins if the step lands on its `cHi`.
    function _closeStep(uint256 id, uint256 game, IBroker.Game storage g, bytes32 computed) private {
        bool defenderWon = computed == g.cHi;
        emit GameStepProven(id, game, g.lo + 1, computed, defenderWon);
        Tournament.State storage t = _tournaments[id];
        t.decide(game, defenderWon);
        _ended(id, t, game, defenderWon, BY_STEP);
    }

    /// @dev Game `game` was decided (`defenderWon`) by `how`: counted in both parties' records
    /// (a forfeit is not: its loser's loss was counted in the game it lost), and announced.
    function _ended(uint256 id, Tournament.State storage t, uint256 game, bool defenderWon, uint8 how) private {
        Tournament.Match storage m = t.matches[game];
        (uint32 winner, uint32 loser) = defenderWon ? (m.defender, m.challenger) : (m.challenger, m.defender);
        if (how != BY_FORFEIT) {
            _recordDispute(t.entries[m.defender].party, t.entries[m.challenger].party, defenderWon, how == BY_TIMEOUT);
        }
        emit GameEnded(id, game, winner, loser, how);
    }
}

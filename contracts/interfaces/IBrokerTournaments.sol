// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "./IBroker.sol";

/// @title IBrokerTournamentsEvents
/// @notice The events and errors of tournament-mode disputes. The Broker's address emits and
/// reverts with them (it runs `BrokerTournaments` by `DELEGATECALL`), so the Broker's ABI
/// declares them too: a client decoding the Broker's logs with its ABI (cast, ethers, alloy)
/// reads a tournament's as well.
interface IBrokerTournamentsEvents {
    /// @notice The tournament of request `id` opened on its answer, at its first challenge.
    event TournamentOpened(uint256 indexed id, uint256 entryDeadline, uint256 startDeadline, uint256 endDeadline);
    /// @notice `party` entered claim `Trace.commit(final_, result)` as entry `entry`.
    event Entered(uint256 indexed id, uint32 entry, address indexed party, bytes result, uint64 steps, bool final_);
    /// @notice Entry `challenger` challenged entry `defender`: game `game` started.
    event GameStarted(uint256 indexed id, uint256 indexed game, uint32 defender, uint32 challenger);
    /// @notice The defender of game `game` posted `points` for `[lo, hi]`.
    event GameBisected(uint256 indexed id, uint256 indexed game, uint64 lo, uint64 hi, bytes32[] points);
    /// @notice The challenger of game `game` picked `[lo, hi]`, its ends committed as `cLo`, `cHi`.
    event GameSegmentSelected(uint256 indexed id, uint256 indexed game, uint64 lo, uint64 hi, bytes32 cLo, bytes32 cHi);
    /// @notice Step `step` of game `game` ran on-chain and gave `computed`.
    event GameStepProven(uint256 indexed id, uint256 indexed game, uint64 step, bytes32 computed, bool defenderWon);
    /// @notice Game `game` ended; `how` says by what: 0 the one step, 1 a timeout, 2 a forfeit
    /// (the loser had lost another game).
    event GameEnded(uint256 indexed id, uint256 indexed game, uint32 winner, uint32 loser, uint8 how);
    /// @notice The tournament of request `id` is settled: if `decided`, `claim` stood, and
    /// `standing` of its entries are each owed `paymentShare` of the payment besides their
    /// deposit (the answer's entry alone if it stands).
    event TournamentSettled(uint256 indexed id, bool decided, bytes32 claim, uint32 standing, uint256 paymentShare);

    /// @notice The request is not in tournament mode.
    error NotATournament(uint256 id);
    /// @notice Request `id`'s tournament is not over: it ends at block `endDeadline` at the latest.
    error TournamentNotOver(uint256 id, uint256 endDeadline);
    /// @notice Entry `entry` holds no standing claim: name a standing entry to settle by.
    error NotStanding(uint256 id, uint32 entry);
    /// @notice Entry `entry`'s share was collected already.
    error AlreadyCollected(uint256 id, uint32 entry);
}

/// @title IBrokerTournaments
/// @notice The disputes of a request made in `IBroker.DisputeMode.Tournament`: every claim
/// against the answer is an *entry*, games are between pairs of entries and run in parallel,
/// and a claim that loses any game is eliminated (`contracts/libraries/Tournament.sol` has the
/// rules and why). Puppet challengers then cost an honest party gas per game, not time: the
/// request is settled within a bound that does not grow with their number.
///
/// Call these at the Broker's address (it runs them by `DELEGATECALL` in `BrokerTournaments`).
/// The lifecycle up to the answer, and the happy path (`softResolveAnswer`, `finalize`,
/// `settle`), are `IBroker`'s. A tournament opens at the first challenge (`IBroker.challengeAnswer`,
/// which enters the claim and starts its game against the answer, entry 0); from then on the
/// request is `Resolving` until `settleTournament`, after which every entry's party is paid by
/// `collectEntry`.
///
/// Timeline, from the answer's window end `E` (the entries' deadline) and the Broker's clock `C`:
/// entries until `E`; games start until `E + C`; the tournament is decided as soon as one claim
/// stands after `E`, and over, decided or not, after `E + 4C + 1`.
///
/// Money: each entry holds one deposit (`IBroker.requiredDeposit`). An entry's first loss
/// forfeits it: half to the entry that beat it, half to the requester. A standing entry gets
/// its deposit back. If one claim stands, the payment is the answer's author's while the answer's
/// entry stands (an entry beside it is paid by the deposits it wins); if the answer's entry fell,
/// the standing entries of the claim that stood share it evenly (the requester keeps what does
/// not divide). If none is decided, the requester is refunded.
interface IBrokerTournaments is IBrokerTournamentsEvents {
    /// @notice A request's tournament (`getTournament`).
    struct TournamentView {
        /// The last block at which a claim may be entered (the answer's window end).
        uint48 entryDeadline;
        /// The last block at which a game may start.
        uint48 startDeadline;
        /// The block after which the tournament is over, decided or not.
        uint48 endDeadline;
        /// Entries so far; entry 0 is the answer. Zero: no tournament was opened.
        uint32 entries;
        /// Different claims held by at least one entry not eliminated.
        uint32 standingClaims;
        /// Entries eliminated.
        uint32 eliminated;
        /// Whether it is over and, if so, whether one claim stands (`settleTournament`).
        bool over;
        bool decided;
    }

    /// @notice One entry (`getEntry`).
    struct EntryView {
        /// Who entered it; zero once its share was collected.
        address party;
        uint64 steps;
        bool eliminated;
        /// Entries it eliminated.
        uint24 wins;
        /// `Trace.commit(final, result)` of its claim.
        bytes32 claim;
    }

    /// @notice One game between two entries (`getTournamentGame`).
    struct GameView {
        uint32 defender;
        uint32 challenger;
        /// Whether it is still being played.
        bool open;
        /// Whether the defender won; meaningful once it is over.
        bool defenderWon;
        /// The bisection game's record (cleared when it ends).
        IBroker.Game game;
    }

    /// @notice Enters claim `(result, steps, final_)` on request `id` with the deposit
    /// (`IBroker.requiredDeposit`), opening the tournament if it is the first; returns the entry.
    /// Enter the answer's own claim to defend it alongside its host; to dispute, challenge the
    /// entries whose claims differ (`challengeEntry`). `IBroker.challengeAnswer` is this plus a
    /// game against entry 0.
    function enter(uint256 id, bytes calldata result, uint64 steps, bool final_) external payable returns (uint32 entry);

    /// @notice The sender, party of standing entry `challenger`, challenges standing entry
    /// `defender` of another claim: their game starts over the defender's trace (it moves
    /// first); returns the game's key.
    function challengeEntry(uint256 id, uint32 challenger, uint32 defender) external returns (uint256 game);

    /// @notice `IBroker.bisect` in game `game`: the defender's move.
    function bisect(uint256 id, uint256 game, bytes32[] calldata points) external;

    /// @notice `IBroker.selectSegment` in game `game`: the challenger's move.
    function selectSegment(uint256 id, uint256 game, bytes32[] calldata points, uint256 index) external;

    /// @notice `IBroker.proveStep` in game `game` (anyone may prove): its loser is eliminated.
    function proveStep(uint256 id, uint256 game, bool final_, bytes calldata state) external;

    /// @notice `IBroker.proveMachineStep` in game `game`.
    function proveMachineStep(uint256 id, uint256 game, bool final_, bytes calldata state, bytes calldata proof)
        external;

    /// @notice Ends game `game` whose mover's clock ran out (anyone may call): the mover loses.
    function claimTimeout(uint256 id, uint256 game) external;

    /// @notice Ends game `game` one of whose entries lost another game (anyone may call): it
    /// loses this one too, so that a standing entry never loses to an eliminated one.
    function forfeit(uint256 id, uint256 game) external;

    /// @notice Settles request `id`'s tournament once it is over (anyone may call), naming any
    /// standing entry `standingEntry` (ignored if none is decided): the requester is credited
    /// its half of every deposit lost (and the payment, if undecided), and the request is
    /// Finalized. The entries are then paid by `collectEntry`.
    function settleTournament(uint256 id, uint32 standingEntry) external;

    /// @notice Credits entry `entry`'s party what it is owed (anyone may call, once per entry):
    /// its deposit if it stands, half a deposit per entry it eliminated, and the payment or its
    /// share of it if its claim was decided (the answer's entry alone is paid while it stands).
    function collectEntry(uint256 id, uint32 entry) external;

    /// @notice Request `id`'s tournament.
    function getTournament(uint256 id) external view returns (TournamentView memory);

    /// @notice Entry `entry` of request `id`'s tournament.
    function getEntry(uint256 id, uint32 entry) external view returns (EntryView memory);

    /// @notice Game `game` of request `id`'s tournament.
    function getTournamentGame(uint256 id, uint256 game) external view returns (GameView memory);

    /// @notice The key of the game between entries `a` and `b`, either way round.
    function gameKey(uint32 a, uint32 b) external pure returns (uint256);
}

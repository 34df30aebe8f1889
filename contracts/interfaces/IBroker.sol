// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IBroker
/// @notice The request lifecycle of the Ethereum Computation Market, with verifiable disputes.
///
/// A requester pays for a computation (`requestExecution`); a host answers with the result and
/// a deposit (`answerRequest`); during the challenge window anyone may dispute the answer with a
/// different result and an equal deposit (`challengeAnswer`). Unchallenged answers resolve
/// softly (`softResolveAnswer`) and are paid out (`finalize`). A challenged answer is settled
/// by a dispute in the mode the requester chose:
/// - Bisection (default): a k-ary game narrows the disagreement to one step that the Broker
///   runs on-chain (`bisect`, `selectSegment`, `proveStep`); the loser forfeits its deposit, the
///   winner's answer stands with a fresh challenge window.
/// - FullExecution (ECM): the program's registered `step` is re-executed on-chain by the Broker
///   itself (`executeExecutable`, which carries the current state in calldata against its
///   stored commitment) and the result decides (host right, challenger right, or neither); a
///   re-execution nobody advances for `clockBlocks` ends against the challenger
///   (`claimTimeout`), and the request returns to its challenge window.
/// - Tournament: every challenge within the answer's window is an entry, and bisection games
///   between entries of different claims run in parallel, a claim losing one game being out
///   (`IBrokerTournaments`, called at this address): puppet challengers cannot hold the request
///   one after another as they can in Bisection, where games are one at a time (review finding
///   10). `challengeAnswer` enters the claim and starts its game against the answer.
///
/// Machine programs (IFactory's `ProgramKind.Machine`, any WASM module run by ecm's machine)
/// are disputed by bisection (games or a tournament) only: `c_0` commits to the machine's first state on the input,
/// running points are the 32-byte state hash `H_i`, an answer is `exit code (u32 LE) || stdout`
/// (empty after a trap), and the one step is proven by the machine prover
/// (`proveMachineStep(id, final_, state, proof)`).
///
/// Money moves by pull: every outcome credits balances, `withdraw` pays them out. Each
/// request's money is its own: the Broker always holds exactly the sum of what it owes.
///
/// Statuses keep ECM's numbers:
/// 0 Pending -> 1 WaitingForResolution -> 4 SoftResolution -> 6 Finalized, or
/// 1 -> 2 NeedsResolution -> 3 Resolving -> (bisection) 1 again | (full) 5 FirmResolution -> 6;
/// 0 -> 7 Cancelled. An answer may also come in two steps, so that nobody can copy it from the
/// mempool: 0 -> 8 Committed (a hash binding the answer to its host) -> 1 on the reveal, or
/// back to 0 if it is not revealed in time (the host's deposit then goes to the requester).
///
/// A compact batch (`requestCompactBatch`) holds each of its requests as one hash of its fields
/// (`Job`) while it stands at 0, 8 or 1; its calls take the fields (`commitJobs`, `revealJobs`,
/// `settleJobs`, which pays it out and clears its word), and anything else stores it as an
/// ordinary request first (`hydrate`).
interface IBroker {
    // ---------------------------------------------------------------------------------------
    // Types
    // ---------------------------------------------------------------------------------------

    /// @notice Where a request is in its lifecycle (ECM's numbering).
    enum Status {
        /// Waiting for an answer.
        Pending,
        /// Answered; the challenge window is open (or passed, awaiting resolution).
        WaitingForResolution,
        /// Challenged; the dispute must start.
        NeedsResolution,
        /// A dispute is being played.
        Resolving,
        /// Accepted without dispute; awaiting payout.
        SoftResolution,
        /// Settled by full re-execution; awaiting payout.
        FirmResolution,
        /// Paid out.
        Finalized,
        /// Cancelled by the requester.
        Cancelled,
        /// A host committed to an answer it has not shown yet (`commitAnswer`); it reveals it
        /// by the deadline (`revealAnswer`, then WaitingForResolution) or the commitment
        /// expires (`expireCommitment`, back to Pending).
        Committed
    }

    /// @notice How a challenged answer is settled.
    enum DisputeMode {
        /// A k-ary bisection game that ends in one step run on-chain.
        Bisection,
        /// The Broker re-executes the program step by step; the result decides (step programs).
        FullExecution,
        /// Bisection games between every pair of claims that disagree, played in parallel
        /// (`IBrokerTournaments`): puppet challengers cannot delay an honest one.
        Tournament
    }

    /// @notice The phase of a bisection game: whose move it is and what it must be.
    enum Phase {
        /// No game is being played.
        None,
        /// The defender posts the commitments that split the current segment.
        Bisect,
        /// The challenger picks the sub-segment it disputes.
        Select,
        /// The segment is one step long: the defender (or anyone) reveals its left end.
        OneStep
    }

    /// @notice Why a balance was credited (see `Credited`).
    enum CreditReason {
        /// Payment returned to the requester (cancel, or nobody was right).
        Refund,
        /// Payment to the author of the accepted answer.
        Payment,
        /// A deposit returned to its owner.
        DepositReturned,
        /// The winner's share of the loser's deposit.
        DisputeReward,
        /// The requester's share of a loser's deposit, for the delay.
        DelayCompensation,
        /// Gas refunded to whoever drove a full re-execution.
        GasReimbursement,
        /// The part of a deposit sent above the required amount.
        Surplus
    }

    /// @notice Optional parameters of a request (see the 4-argument `requestExecution`).
    struct RequestOptions {
        /// The most steps the computation may take; an answer at `maxSteps` that is not final
        /// reports "out of steps". Bisection: 1..2^64-1; full execution: 1..MAX_FULL_EXECUTION_STEPS.
        uint64 maxSteps;
        /// The gas price (wei) at which dispute gas is valued when sizing deposits and
        /// reimbursing full re-execution: at most `MAX_GAS_PRICE`.
        uint64 maxGasPrice;
        /// How a challenge is settled.
        DisputeMode mode;
        /// Host admission: when non-zero, only an address whose record (`recordOf`) shows at
        /// least this many requests paid to it as the host and no dispute over its own
        /// answer lost may answer or commit. A challenger who wins becomes the host whatever
        /// its record: it has proved its answer.
        uint16 minHostJobs;
    }

    /// @notice One answer of `revealAnswers`: `revealAnswer`'s arguments.
    struct RevealedAnswer {
        uint256 id;
        bytes result;
        uint64 steps;
        bool final_;
        bytes32 salt;
    }

    /// @notice What an address has done on this Broker, counted at each outcome and read with
    /// `recordOf`; a bisection dispute's outcome is counted at its request's next challenge or
    /// payout (so that the one-step proof writes no record). One storage slot per address; a
    /// counter cannot realistically reach 2^32 (each count takes a transaction).
    struct Record {
        /// Answers made public: sent with `answerRequest` or revealed.
        uint32 answered;
        /// Requests paid out to it as the host (its answer stood).
        uint32 paid;
        /// Disputes over its answer that it won (as the defender).
        uint32 defencesWon;
        /// Disputes over its answer that it lost: its answer was shown wrong (or it stopped
        /// defending it).
        uint32 defencesLost;
        /// Disputes it started by a challenge and won.
        uint32 challengesWon;
        /// Disputes it started by a challenge and lost.
        uint32 challengesLost;
        /// Disputes it lost by not moving in time, on either side (counted in the losses too).
        uint32 timeouts;
        /// Commitments it did not reveal in time (`expireCommitment`).
        uint32 expired;
    }

    /// @notice One request, as `getRequest` shows it. The Broker stores it in four words, its
    /// program as the Broker's index of it (the id and step gas shown here are the program's,
    /// noted by its first request) and its requester and host as account indices (shown here
    /// by address).
    struct Request {
        address requester;
        Status status;
        DisputeMode mode;
        /// Length of every challenge window, in blocks.
        uint32 softResolutionBlocks;
        /// The block after which the current wait ends: the challenge window while
        /// WaitingForResolution, the dispute start while NeedsResolution.
        uint48 deadline;
        bytes32 programId;
        /// `c_0 = keccak256(abi.encodePacked(false, s_0))`, with `s_0` the input for a step
        /// program and the machine's first state hash on the input for a machine program
        /// (`MachineInput.initialState`); the input itself is in `RequestInput`.
        bytes32 inputCommitment;
        /// Payment in wei, held until the request settles.
        uint96 payment;
        uint48 maxGasPrice;
        /// `RequestOptions.minHostJobs`: zero admits any host.
        uint16 minHostJobs;
        uint64 maxSteps;
        /// The program's step gas, fixed when the request was made.
        uint32 maxStepGas;
        /// Author of the standing answer (zero before the first answer, and after a full
        /// re-execution found nobody right).
        address host;
        /// Steps claimed by the standing answer.
        uint64 steps;
        /// Bisection disputes the standing answer's author won as the current host: each is
        /// half a deposit owed to it, credited by `finalize` (or when it loses a later dispute),
        /// so that a dispute's one step writes no balance.
        uint16 hostWins;
        /// Bisection disputes settled on this request: each is the requester's half of a
        /// deposit for the delay, credited by `finalize`.
        uint16 disputes;
        /// `keccak256(abi.encodePacked(final, result))` of the standing answer: the claimed `c_N`.
        bytes32 claim;
    }

    /// @notice A job of a compact batch (`requestCompactBatch`): a request the Broker holds as
    /// one word, `jobHash(id) = keccak256(abi.encode(job))`, rather than as `Request`'s four,
    /// while its path is the happy one (Pending, Committed, WaitingForResolution). Every call
    /// on it (`commitJobs`, `revealJobs`, `settleJobs`, `hydrate`) passes its fields as they
    /// stand, which its events tell: `Created` and `RequestInput` (`inputHash` is the
    /// keccak256 of the input), then `AnswerCommitted` (status Committed, `deadline` the reveal
    /// deadline, `host`, `claim` the commitment) and `Answered` (status WaitingForResolution,
    /// `deadline` the window's end, `steps`, `claim = keccak256(abi.encodePacked(final_,
    /// result))`). Anything else (a challenge, a cancel, an expiry) first stores it as a
    /// request (`hydrate`), after which it is an ordinary request. The fields mean what
    /// `Request`'s of the same names mean.
    struct Job {
        uint256 id;
        /// keccak256 of the input (`RequestInput.input`).
        bytes32 inputHash;
        // The terms, the same for every job of a batch.
        bytes32 programId;
        address requester;
        uint96 payment;
        uint64 maxSteps;
        uint64 maxGasPrice;
        uint32 softResolutionBlocks;
        DisputeMode mode;
        uint16 minHostJobs;
        // Where the job stands.
        Status status;
        uint48 deadline;
        address host;
        uint64 steps;
        bytes32 claim;
    }

    /// @notice An open challenge to the standing answer.
    struct Challenge {
        address challenger;
        uint64 steps;
        bytes32 claim;
    }

    /// @notice The bisection game of a request, updated in place.
    struct Game {
        /// The disputed segment: the challenger agrees with `cLo` at step `lo` and rejects
        /// the defender's `cHi` at step `hi`.
        uint64 lo;
        uint64 hi;
        /// The block at which the current mover's clock started running.
        uint48 turnStart;
        /// Blocks left on each party's chess clock.
        uint32 defenderClock;
        uint32 challengerClock;
        Phase phase;
        bytes32 cLo;
        bytes32 cHi;
        /// keccak256 of the commitments the defender posted this round (`Bisected` has them).
        bytes32 pointsHash;
    }

    /// @notice The on-chain re-execution of a request in full execution mode. The Broker keeps
    /// only the commitment to the current trace point; each `executeExecutable` brings the
    /// state (the input at step 0, then the state the last `Executed` event carried).
    struct FullExecution {
        /// `keccak256(abi.encodePacked(final_, state))` of the point at `steps`.
        bytes32 commitment;
        /// Steps run so far.
        uint64 steps;
        /// The block after which, if nobody advanced it, the challenger loses (`claimTimeout`).
        uint48 deadline;
        /// Gas reimbursed so far (wei), out of the loser's deposit.
        uint96 reimbursed;
    }

    // ---------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------

    /// @notice The bisection arity must lie in `[min, max]`.
    error ArityOutOfRange(uint256 given, uint256 min, uint256 max);
    /// @notice The chess clock must be at least one block.
    error ZeroClock();
    /// @notice The tournament module at `module` was deployed with other parameters than the
    /// Broker's (deploy `BrokerTournaments` with the same Factory, arity and clock).
    error ModuleMismatch(address module);
    /// @notice A bisection game over `maxSteps` steps takes `blocksNeeded` blocks of a party's
    /// clock even if it replies every other block; the clock is `clockBlocks`. An honest party
    /// could lose by construction: ask for fewer steps (or deploy with a longer clock).
    error ClockTooShortForSteps(uint64 maxSteps, uint256 blocksNeeded, uint256 clockBlocks);
    /// @notice No program with this id is registered in the Factory.
    error UnknownProgram(bytes32 programId);
    /// @notice A request must pay something: send the payment as the call's value.
    error ZeroPayment();
    /// @notice The payment does not fit the request record (at most `max` wei).
    error PaymentTooLarge(uint256 sent, uint256 max);
    /// @notice The input is longer than the protocol's maximum state size.
    error InputTooLarge(uint256 length, uint256 max);
    /// @notice `softResolutionBlocks` must lie in `[min, max]`.
    error WindowOutOfRange(uint256 given, uint256 min, uint256 max);
    /// @notice `maxSteps` must lie in `[min, max]` for the chosen dispute mode.
    error MaxStepsOutOfRange(uint256 given, uint256 min, uint256 max);
    /// @notice The deposit this request would need does not fit in 96 bits: lower
    /// `maxGasPrice` or `maxSteps`.
    error DepositTooLarge(uint256 deposit, uint256 max);
    /// @notice `RequestOptions.maxGasPrice` above `MAX_GAS_PRICE`.
    error MaxGasPriceTooHigh(uint256 given, uint256 max);
    /// @notice The request admits only hosts with `minHostJobs` requests paid and no defence
    /// lost (`RequestOptions.minHostJobs`); `host`'s record falls short.
    error HostNotAdmitted(uint256 id, address host, uint32 paid, uint32 defencesLost, uint16 minHostJobs);
    /// @notice There is no request with this id.
    error NoSuchRequest(uint256 id);
    /// @notice The request is not in the status this call needs.
    error WrongStatus(uint256 id, Status actual, Status expected);
    /// @notice Only the requester may do this.
    error NotRequester(uint256 id, address caller, address requester);
    /// @notice A batch needs at least one input and a value that splits evenly between them.
    error BatchPaymentUneven(uint256 value, uint256 count);
    /// @notice `commitAnswers` takes one commitment per id.
    error BatchLengthMismatch(uint256 ids, uint256 commitments);
    /// @notice `commitAnswers` needs at least one id (its value would have no request to go to).
    error EmptyBatch();
    /// @notice Only the host that committed may reveal the answer.
    error NotCommitter(uint256 id, address caller, address committer);
    /// @notice The revealed answer is not the one committed to (see `answerCommitment`).
    error RevealMismatch(uint256 id, bytes32 computed, bytes32 committed);
    /// @notice A result is a state, so it is at most `MAX_STATE_BYTES` long.
    error ResultTooLarge(uint256 length, uint256 max);
    /// @notice The deposit sent is below `requiredDeposit(id)`.
    error DepositTooLow(uint256 sent, uint256 required);
    /// @notice An answer's step count must lie in `[1, maxSteps]`.
    error StepsOutOfRange(uint64 steps, uint64 maxSteps);
    /// @notice An answer that is not final must be the state at exactly `maxSteps` ("out of
    /// steps"): a trace cannot stop early without being final.
    error NotFinalBeforeMaxSteps(uint64 steps, uint64 maxSteps);
    /// @notice A challenge must claim a different result (or final flag) than the standing answer.
    error SameClaim(bytes32 claim);
    /// @notice The challenge window ended at block `deadline`.
    error WindowClosed(uint256 id, uint256 deadline);
    /// @notice Only the requester may resolve before the window ends at block `deadline`.
    error WindowOpen(uint256 id, uint256 deadline);
    /// @notice The wait for this move ended at block `deadline`: call `claimTimeout`.
    error DeadlinePassed(uint256 id, uint256 deadline);
    /// @notice Nothing has timed out yet; the current wait ends at block `deadline`.
    error DeadlineNotReached(uint256 id, uint256 deadline);
    /// @notice `countDispute`: request `id` has no dispute outcome waiting to be counted (none
    /// ended since the last count, or one is under way).
    error NothingToCount(uint256 id);
    /// @notice The request uses the other dispute mode.
    error WrongMode(uint256 id, DisputeMode mode);
    /// @notice The account has no credited balance.
    error NothingToWithdraw(address account);
    /// @notice Sending the withdrawal failed; the balance is kept. Use `withdrawTo` with an
    /// address that accepts ether.
    error WithdrawFailed(address to, uint256 amount);
    /// @notice A state-changing call re-entered the Broker.
    error Reentrancy();
    /// @notice It is not this account's move in the game.
    error NotYourMove(uint256 id, address caller, address mover);
    /// @notice The game is in another phase.
    error WrongPhase(uint256 id, Phase actual, Phase expected);
    /// @notice A bisection must post exactly `expected` commitments for the current segment.
    error WrongPointCount(uint256 given, uint256 expected);
    /// @notice The commitments passed are not the ones the defender posted this round.
    error PointsMismatch(bytes32 given, bytes32 posted);
    /// @notice The chosen sub-segment index must be below the number of sub-segments.
    error SegmentIndexOutOfRange(uint256 index, uint256 segments);
    /// @notice The revealed state does not hash to the agreed commitment.
    error PreimageMismatch(bytes32 revealed, bytes32 committed);
    /// @notice The mover's clock ran out at block `deadline`: call `claimTimeout`.
    error ClockExpired(address mover, uint256 deadline);
    /// @notice The call did not carry enough gas to give the step its full `maxStepGas`; resend
    /// with a higher gas limit.
    error InsufficientGasForStep(uint256 available, uint256 required);
    /// @notice The full re-execution has not made progress: no step fitted in the gas given.
    error NoProgress(uint256 id);
    /// @notice Machine programs are disputed by bisection only: request without the
    /// FullExecution mode.
    error ModeUnsupported(bytes32 programId, DisputeMode mode);
    /// @notice A running state of a machine program is stepped by the prover: call
    /// `proveMachineStep(id, final_, state, proof)` with the proof from `ecm-machine`.
    error ProofRequired(uint256 id);
    /// @notice The request's program is a step program: prove with `proveStep(id, final_, state)`.
    error NotAMachineProgram(bytes32 programId);
    /// @notice A running state of a machine program is its 32-byte state hash.
    error MachineStateLength(uint256 length);
    /// @notice Request `id` is a compact batch's job, held as a hash (`jobHash`): pass its
    /// fields to the job calls (`commitJobs`, `revealJobs`, `settleJobs`), or store it as a
    /// request first (`hydrate`).
    error HeldAsJob(uint256 id);
    /// @notice The fields passed for job `id` are not the ones it stands at (`jobHash`; zero
    /// once the job is settled or hydrated): read them again from its events.
    error JobMismatch(uint256 id, bytes32 given, bytes32 held);
    /// @notice `BrokerJobs` was called directly: its code runs only as the Broker's (call the Broker).
    error NotDelegated();
    /// @notice The input passed does not hash to the job's `inputHash`.
    error InputMismatch(uint256 id, bytes32 given, bytes32 expected);

    // ---------------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------------

    /// @notice A request was made (ECM's event; the input and terms are in `RequestInput`).
    event Created(uint256 indexed id, bytes32 indexed programId, address indexed requester);
    /// @notice The input and terms of request `id` (`minHostJobs`: see `RequestOptions`; a
    /// host that does not meet it can leave the request alone without computing it).
    event RequestInput(
        uint256 indexed id,
        bytes input,
        uint256 payment,
        uint64 maxSteps,
        uint64 maxGasPrice,
        uint32 softResolutionBlocks,
        DisputeMode mode,
        uint16 minHostJobs
    );
    /// @notice The requester cancelled a pending request.
    event Cancelled(uint256 indexed id);
    /// @notice A host answered; the challenge window ends at block `windowEnd`.
    event Answered(
        uint256 indexed id, address indexed host, bytes result, uint64 steps, bool final_, uint256 windowEnd
    );
    /// @notice `host` committed to an answer (`answerCommitment`) with its deposit; it must
    /// reveal it by block `revealDeadline`.
    event AnswerCommitted(uint256 indexed id, address indexed host, bytes32 commitment, uint256 revealDeadline);
    /// @notice `host` did not reveal its committed answer in time: its deposit went to the
    /// requester and the request is Pending again.
    event CommitmentExpired(uint256 indexed id, address indexed host);
    /// @notice The standing answer was challenged; the dispute must start by block `startDeadline`.
    event Challenged(
        uint256 indexed id, address indexed challenger, bytes result, uint64 steps, bool final_, uint256 startDeadline
    );
    /// @notice The answer was accepted without dispute.
    event SoftResolved(uint256 indexed id, address indexed by);
    /// @notice The dispute started (status Resolving).
    event DisputeStarted(uint256 indexed id, DisputeMode mode);
    /// @notice The defender split segment `[lo, hi]` with `points` (their step numbers follow
    /// from `splitPoint`).
    event Bisected(uint256 indexed id, uint64 lo, uint64 hi, bytes32[] points);
    /// @notice The challenger chose `[lo, hi]`, agreeing with `cLo` and rejecting `cHi`.
    event SegmentSelected(uint256 indexed id, uint64 lo, uint64 hi, bytes32 cLo, bytes32 cHi);
    /// @notice The one step `lo -> lo + 1` was run on-chain.
    event StepProven(uint256 indexed id, uint64 step, bytes32 computed, bool defenderWon);
    /// @notice A full re-execution advanced to `stepCount`, whose state is `state` (what the
    /// next `executeExecutable` must bring); `finished` if that settled the request.
    event Executed(
        uint256 indexed id, address indexed executor, uint64 stepCount, bool final_, bool finished, bytes state
    );
    /// @notice A dispute ended: `winner`'s answer stands (zero if nobody was right).
    event DisputeResolved(uint256 indexed id, address indexed winner, address indexed loser, bool byTimeout);
    /// @notice Request `id`'s last bisection dispute, between `defender` and `challenger`, was
    /// counted in both records (`recordOf`): by `countDispute`, or at the request's next
    /// challenge or payout.
    event DisputeCounted(uint256 indexed id, address indexed defender, address indexed challenger);
    /// @notice A full re-execution settled the request (status FirmResolution).
    event FirmlyResolved(uint256 indexed id, address indexed host, bytes32 computed);
    /// @notice The request was settled and paid out. A tournament's settlement emits
    /// `IBrokerTournamentsEvents.TournamentSettled` instead (its entries are then paid one by one,
    /// `collectEntry`, each credit a `Credited`): watch both to see every request end.
    event Finalized(uint256 indexed id, address indexed paidTo, uint256 amount);
    /// @notice `amount` wei of request `id` became withdrawable by `account`.
    event Credited(address indexed account, uint256 indexed id, uint256 amount, CreditReason reason);
    /// @notice Requests `firstId` to `firstId + count - 1` are a compact batch's jobs
    /// (`requestCompactBatch`), held as hashes (`Job`).
    event CompactBatch(uint256 indexed firstId, uint256 count);
    /// @notice Job `id` is stored as a request from here on (`hydrate`).
    event Hydrated(uint256 indexed id, address indexed by);
    /// @notice `account` withdrew its balance to `to`.
    event Withdrawn(address indexed account, address indexed to, uint256 amount);

    // ---------------------------------------------------------------------------------------
    // Lifecycle
    // ---------------------------------------------------------------------------------------

    /// @notice Requests a computation of `programId` on `input`, paying `msg.value` to whoever
    /// answers correctly. Defaults: bisection disputes, `DEFAULT_MAX_STEPS`, and dispute gas
    /// valued at the transaction's gas price.
    /// @param softResolutionBlocks The challenge window, in blocks, counted from each answer.
    function requestExecution(bytes32 programId, bytes calldata input, uint256 softResolutionBlocks)
        external
        payable
        returns (uint256 id);

    /// @notice Requests a computation with explicit options.
    function requestExecution(
        bytes32 programId,
        bytes calldata input,
        uint256 softResolutionBlocks,
        RequestOptions calldata options
    ) external payable returns (uint256 id);

    /// @notice Requests one computation of `programId` per input, in one transaction, each
    /// paying `msg.value / inputs.length` (which must divide evenly) on the same terms. The ids
    /// are consecutive from `firstId`; each request is on its own from here on (its window,
    /// answers, disputes and money touch no other).
    function requestExecutionBatch(
        bytes32 programId,
        bytes[] calldata inputs,
        uint256 softResolutionBlocks,
        RequestOptions calldata options
    ) external payable returns (uint256 firstId);

    /// @notice Requests as `requestExecutionBatch` does, but holds each request as one word,
    /// the hash of its fields (`Job`), while it stays on the happy path: the cheap way to ask
    /// for many jobs. Each job is on its own as a batch's request is (its window, answers,
    /// disputes and money touch no other); the calls on it take its fields (`commitJobs`,
    /// `revealJobs`, `settleJobs`), and anything else needs it stored first (`hydrate`).
    /// `getRequest` does not show a job (`HeldAsJob`): its events do. Emits `CompactBatch`,
    /// then `Created` and `RequestInput` for each job.
    function requestCompactBatch(
        bytes32 programId,
        bytes[] calldata inputs,
        uint256 softResolutionBlocks,
        RequestOptions calldata options
    ) external payable returns (uint256 firstId);

    /// @notice `commitAnswers` for jobs: commits `commitments[k]` to `jobs[k]`, as
    /// `commitAnswer` would, `msg.value` carrying each job's deposit (`DepositTooLow`
    /// otherwise; a surplus is credited back). A job that does not stand at the fields passed
    /// (another host was first: `jobHash`), is not Pending, or whose host admission refuses
    /// the sender is skipped and its deposit credited back (`Surplus`). At least one job
    /// (`EmptyBatch`). Returns how many were committed (an `AnswerCommitted` each).
    function commitJobs(Job[] calldata jobs, bytes32[] calldata commitments)
        external
        payable
        returns (uint256 committed);

    /// @notice `revealAnswers` for jobs: reveals `answers[k]` for `jobs[k]` (same id, else
    /// skipped), as `revealAnswer` would. A job that does not stand at the fields passed, is
    /// not Committed to by the sender, or is past its reveal deadline is skipped; an answer
    /// that does not match its commitment reverts the batch (`RevealMismatch`). Returns how
    /// many were revealed (an `Answered` each).
    function revealJobs(Job[] calldata jobs, RevealedAnswer[] calldata answers) external returns (uint256 revealed);

    /// @notice `settle` for jobs (anyone may call): accepts each answer whose window has passed
    /// (the requester's at any time) and pays it out, as `settle` would; the job's word is then
    /// cleared (`jobHash` zero). A job that does not stand at the fields passed or is not
    /// settleable yet is skipped. Returns how many jobs it paid out.
    function settleJobs(Job[] calldata jobs) external returns (uint256 paid);

    /// @notice Stores job `job` as a request (anyone may call, at any status): from here on it
    /// is an ordinary request, shown by `getRequest` and taken by every call that takes an id
    /// (`challengeAnswer`, `cancelRequest`, `expireCommitment`, `settle`, ...). `input` is the
    /// job's input (`InputMismatch` otherwise), from which its `inputCommitment` is computed.
    /// The caller pays for the four words; a challenger hydrates before it challenges.
    function hydrate(Job calldata job, bytes calldata input) external;

    /// @notice Cancels a request nobody has answered; the payment is credited back.
    function cancelRequest(uint256 id) external;

    /// @notice Answers request `id` with the final state `result` after `steps` steps, with a
    /// deposit of at least `requiredDeposit(id)` (any surplus is credited back).
    /// A request with `minHostJobs` admits only a host whose record meets it (`HostNotAdmitted`).
    function answerRequest(uint256 id, bytes calldata result, uint64 steps) external payable;

    /// @notice Answers with an explicit final flag: `final_ = false` is only valid at
    /// `steps == maxSteps` and reports "out of steps" with the state reached.
    function answerRequest(uint256 id, bytes calldata result, uint64 steps, bool final_) external payable;

    /// @notice Commits to an answer of request `id` without showing it, with the deposit
    /// `answerRequest` takes: `commitment` is `answerCommitment(id, claim, steps, msg.sender,
    /// salt)` for a secret `salt`. Nobody else can answer until the commitment is revealed or
    /// expires (`REVEAL_BLOCKS` blocks), and only this host can reveal it, so an answer cannot
    /// be copied from the mempool or front-run. Host admission is checked here, as for `answerRequest`.
    function commitAnswer(uint256 id, bytes32 commitment) external payable;

    /// @notice Reveals the committed answer; it then stands as `answerRequest`'s would (an
    /// `Answered` event, the challenge window from this block).
    function revealAnswer(uint256 id, bytes calldata result, uint64 steps, bool final_, bytes32 salt) external;

    /// @notice Commits to answers of several requests in one transaction, as `commitAnswer`
    /// would to each (`commitments[k]` for `ids[k]`), `msg.value` carrying every id's
    /// `requiredDeposit` (`DepositTooLow` otherwise; a surplus is credited back). An id no longer
    /// Pending (another host was first, or it was cancelled) or whose host admission refuses
    /// the sender is skipped and its deposit credited back (`Surplus`), so that one request
    /// never fails the batch. At least one id (`EmptyBatch`). Returns how many were committed
    /// (an `AnswerCommitted` each).
    function commitAnswers(uint256[] calldata ids, bytes32[] calldata commitments)
        external
        payable
        returns (uint256 committed);

    /// @notice Reveals several committed answers in one transaction, each as `revealAnswer`
    /// would. One no longer Committed to by the sender, or past its reveal deadline, is skipped,
    /// so that one request never fails the batch; one that does not match its commitment reverts
    /// the batch (`RevealMismatch`: a wrong salt or claim is the caller's bug). Returns how many
    /// were revealed (an `Answered` each).
    function revealAnswers(RevealedAnswer[] calldata answers) external returns (uint256 revealed);

    /// @notice Ends a commitment not revealed by its deadline (anyone may call): the host's
    /// deposit is credited to the requester for the delay, and the request is Pending again.
    function expireCommitment(uint256 id) external;

    /// @notice The commitment `commitAnswer` takes: `keccak256(abi.encode(id, claim, steps,
    /// host, salt))`, with `claim = keccak256(abi.encodePacked(final_, result))`.
    function answerCommitment(uint256 id, bytes32 claim, uint64 steps, address host, bytes32 salt)
        external
        pure
        returns (bytes32);

    /// @notice Challenges the standing answer with a different (final) result and an equal
    /// deposit, inside the challenge window. On a tournament-mode request it enters the claim
    /// and starts its game against the answer (`IBrokerTournaments`: events `Entered`,
    /// `GameStarted`), also while the tournament the first challenge opened runs, until the
    /// window's end.
    function challengeAnswer(uint256 id, bytes calldata result, uint64 steps) external payable;

    /// @notice Challenges with an explicit final flag (see `answerRequest`).
    function challengeAnswer(uint256 id, bytes calldata result, uint64 steps, bool final_) external payable;

    /// @notice Accepts the standing answer: the requester at any time, anyone once the window
    /// has ended.
    function softResolveAnswer(uint256 id) external;

    /// @notice Settles what it can of `ids` in one transaction (anyone may call): accepts each
    /// answer whose window has passed (the requester's at any time), as `softResolveAnswer`
    /// does, and pays out each resolved request, as `finalize` does. Any other id (settled,
    /// not settleable yet, or unknown) is skipped, so that a batch never fails on one request.
    /// Returns how many requests it paid out.
    function settle(uint256[] calldata ids) external returns (uint256 paid);

    /// @notice Starts the dispute of a challenged answer (anyone may call, before the start
    /// deadline; after it, `claimTimeout` makes the challenger lose).
    function initializeDispute(uint256 id) external;

    /// @notice Full execution mode: runs up to `maxSteps` more steps on-chain from `state`, the
    /// state at the execution's current step (the request's input at step 0, else the one the
    /// last `Executed` event carried; `PreimageMismatch` otherwise), as many as the gas given
    /// allows (`NoProgress` if not one fits). Only the program's registered `step` runs, each
    /// with its full `maxStepGas`. Each call that runs steps moves the execution's deadline to
    /// `clockBlocks` blocks ahead; the caller is reimbursed for its gas from the loser's
    /// deposit, at the price it paid bounded by the request's `maxGasPrice` and by the base
    /// fee plus `MAX_REIMBURSED_TIP`.
    function executeExecutable(uint256 id, uint256 maxSteps, bytes calldata state) external;

    /// @notice Bisection: the defender posts the `k - 1` (fewer on short segments)
    /// commitments that split the current segment.
    function bisect(uint256 id, bytes32[] calldata points) external;

    /// @notice Bisection: the challenger picks the sub-segment `index` whose left end it agrees
    /// with and whose right end it rejects; `points` are the defender's commitments of this round.
    function selectSegment(uint256 id, bytes32[] calldata points, uint256 index) external;

    /// @notice Bisection, one step left: reveals `(final_, state)`, the preimage of the agreed
    /// commitment at `lo`; the Broker runs step `lo + 1` and compares with the defender's `cHi`.
    /// Anyone may call; the arithmetic decides who wins.
    /// A machine program's running state needs a proof: use `proveMachineStep`.
    function proveStep(uint256 id, bool final_, bytes calldata state) external;

    /// @notice Bisection over a machine program, one step left: reveals `(final_, state)` as
    /// `proveStep` does, and `proof`, what the machine prover needs to run
    /// step `lo + 1` from the state hash `state` (`ecm_machine::proof`). A proof the prover
    /// rejects reverts with its error and decides nothing; a final `state` needs no proof.
    function proveMachineStep(uint256 id, bool final_, bytes calldata state, bytes calldata proof) external;

    /// @notice Ends a wait whose deadline passed: the party that missed it loses (a challenger
    /// that did not start its dispute, a bisection mover out of clock, or the challenger of a
    /// full re-execution nobody advanced for `clockBlocks`).
    function claimTimeout(uint256 id) external;

    /// @notice Counts request `id`'s last bisection dispute in both parties' records now. Such
    /// an outcome is otherwise counted at the request's next challenge or payout (the one-step
    /// proof writes no record), and until then a host caught cheating still meets host
    /// admission elsewhere (`recordOf`); anyone may end that wait, and the agents do when they
    /// win as challenger. Reverts `NothingToCount` when there is no outcome left to count.
    function countDispute(uint256 id) external;

    /// @notice Pays out a resolved request: the answer's author gets the payment, its deposit
    /// back and its rewards from the bisection disputes it won (`hostWins`), the requester its
    /// compensation for every bisection dispute (`disputes`); if nobody was right, the
    /// requester gets the payment back.
    function finalize(uint256 id) external;

    /// @notice Sends the caller everything credited to it.
    function withdraw() external;

    /// @notice Sends the caller's credited balance to `to`.
    function withdrawTo(address payable to) external;

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @notice The request record; reverts `NoSuchRequest` for unknown ids and `HeldAsJob`
    /// for a compact batch's job (see `Job`).
    function getRequest(uint256 id) external view returns (Request memory);

    /// @notice The deposit (wei) an answer or a challenge of request `id` must carry.
    function requiredDeposit(uint256 id) external view returns (uint256);

    /// @notice The hash compact batch job `id` stands at (`Job`): zero if `id` is no job
    /// (a request stored as such, a job settled or hydrated, or no request at all).
    function jobHash(uint256 id) external view returns (bytes32);

    /// @notice The deposit a host or challenger stakes on job `job` (`requiredDeposit` of the
    /// request it stands for), from its terms.
    function requiredJobDeposit(Job calldata job) external view returns (uint256);

    /// @notice The open challenge of request `id` (zero outside a dispute).
    function getChallenge(uint256 id) external view returns (Challenge memory);

    /// @notice The bisection game of request `id` (zero if none).
    function getGame(uint256 id) external view returns (Game memory);

    /// @notice The full re-execution of request `id` (zero if none).
    function getFullExecution(uint256 id) external view returns (FullExecution memory);

    /// @notice Wei credited to `account` and not yet withdrawn.
    function balanceOf(address account) external view returns (uint256);

    /// @notice `account`'s record: its answers, payouts and dispute outcomes on this Broker.
    function recordOf(address account) external view returns (Record memory);

    /// @notice The number of requests made so far; ids run from 1 to `requestCount()`.
    function requestCount() external view returns (uint256);

    /// @notice The most rounds a bisection game over `steps` steps takes: `ceil(log_arity(steps))`.
    function roundsFor(uint64 steps) external view returns (uint256);

    /// @notice The step number of split point `j` of segment `[lo, hi]` cut into `parts`.
    function splitPoint(uint64 lo, uint64 hi, uint256 parts, uint256 j) external pure returns (uint64);

    /// @notice The Factory programs are looked up in.
    function factory() external view returns (address);

    /// @notice The arity of the bisection game (sub-segments per round).
    function arity() external view returns (uint256);

    /// @notice Each party's chess clock, in blocks, at the start of a game.
    function clockBlocks() external view returns (uint32);
}

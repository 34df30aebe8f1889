// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProgramTerms, StoredRequest} from "./BrokerTypes.sol";
import {IBroker} from "./interfaces/IBroker.sol";
import {IFactory} from "./interfaces/IFactory.sol";
import {Bisection} from "./libraries/Bisection.sol";
import {Deposits} from "./libraries/Deposits.sol";
import {MAX_STATE_BYTES, Trace} from "./libraries/Trace.sol";
import {Tournament} from "./libraries/Tournament.sol";
import {MachineInput} from "./machine/lib/MachineInput.sol";

/// @title BrokerStorage
/// @notice The Broker's parameters, storage layout and reads of it: the checks a call starts
/// with, and the terms a request takes from its program. `Broker` and `BrokerDisputes` share it
/// (the same layout, one storage: the Broker's).
/// @dev Nothing here writes storage or moves value.
abstract contract BrokerStorage {
    // ---------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------

    /// @notice Inputs and results are states: at most this many bytes.
    uint256 public constant MAX_INPUT_BYTES = MAX_STATE_BYTES;
    /// @notice Bounds on the challenge window, in blocks.
    uint256 public constant MIN_WINDOW_BLOCKS = 1;
    uint256 public constant MAX_WINDOW_BLOCKS = type(uint32).max;
    /// @notice `maxSteps` of a request made without options.
    uint64 public constant DEFAULT_MAX_STEPS = 2 ** 40;
    /// @notice Full re-execution runs every step on-chain, so its traces are kept short.
    uint64 public constant MAX_FULL_EXECUTION_STEPS = 2 ** 20;
    /// @notice Blocks a committed answer has to be revealed in (`commitAnswer`): room for a
    /// busy host whose reveal queues behind its other transactions (on a devnet that mines a
    /// block per transaction, too), and for confirmations on fast chains; a commitment never
    /// revealed holds the request this long, at the cost of its deposit.
    uint256 public constant REVEAL_BLOCKS = 256;
    /// @notice The highest `IBroker.RequestOptions.maxGasPrice` (wei per gas, about 281,475 gwei): it
    /// is stored in 48 bits, beside the request's host admission.
    uint256 public constant MAX_GAS_PRICE = type(uint48).max;
    /// @notice Bounds on the bisection arity.
    uint256 public constant MIN_ARITY = 2;
    uint256 public constant MAX_ARITY = 32;

    /// @dev The units of `_records`' counters, one per `IBroker.Record` field.
    uint256 internal constant ANSWERED = 1;
    uint256 internal constant PAID = 1 << 32;
    uint256 internal constant DEFENCE_WON = 1 << 64;
    uint256 internal constant DEFENCE_LOST = 1 << 96;
    uint256 internal constant CHALLENGE_WON = 1 << 128;
    uint256 internal constant CHALLENGE_LOST = 1 << 160;
    uint256 internal constant TIMEOUT = 1 << 192;
    uint256 internal constant EXPIRED = 1 << 224;

    /// @dev Gas `executeExecutable` keeps back from its steps for what follows them: the
    /// commitment, the event, the reimbursement and the settlement (at most four credits).
    uint256 internal constant EXECUTE_SETTLE_GAS = 250_000;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    IFactory internal immutable _factory;
    uint256 internal immutable _arity;
    uint32 internal immutable _clockBlocks;

    // Written by `Broker`, read by `BrokerDisputes` in the Broker's storage: slither, which
    // looks at one contract at a time, takes it for a constant there.
    // slither-disable-next-line constable-states
    uint256 internal _requestCount;
    mapping(uint256 id => StoredRequest) internal _requests;
    mapping(uint256 id => IBroker.Challenge) internal _challenges;
    mapping(uint256 id => IBroker.Game) internal _games;
    // Written by `BrokerDisputes` in the Broker's storage, read by the Broker's view: slither,
    // which looks at one contract at a time, takes it for never written there.
    // slither-disable-next-line uninitialized-state
    mapping(uint256 id => IBroker.FullExecution) internal _fullExecutions;
    /// @dev Each account's credited balance plus one, once it has been credited (zero before):
    /// a withdrawal leaves the word at one rather than zero, so that the account's next credit
    /// rewrites a word (5,000 gas) rather than filling a fresh one (22,100), as a host paid
    /// again and again would otherwise pay at every payout after a withdrawal. `_balanceOf` is
    /// the balance.
    mapping(address account => uint256) internal _balances;
    /// @dev The programs requested so far, by id and by index (`ProgramTerms`, noted by a
    /// program's first request): requests, deposits and one-step proofs read their terms here
    /// rather than call the Factory, and a request stores the 4-byte index.
    mapping(bytes32 programId => ProgramTerms) internal _programTerms;
    // Written by `Broker` (a program's first request), read by `BrokerDisputes` in the Broker's
    // storage: slither, which looks at one contract at a time, takes it for never written there.
    // slither-disable-next-line uninitialized-state
    mapping(uint256 index => ProgramTerms) internal _programs;
    mapping(uint256 index => bytes32 programId) internal _programIds;
    /// @dev A machine program's initial core (`IFactory.initialCoreOf`), by index.
    mapping(uint256 index => bytes32) internal _initialCores;
    // Written by `Broker` only: slither, looking at `BrokerDisputes` alone, takes it for a constant.
    // slither-disable-next-line constable-states
    uint32 internal _programCount;
    /// @dev The accounts that have requested, answered or challenged, numbered from 1 in the
    /// order they first did (`Broker._enrol`): a request names its requester and host by these
    /// 4-byte indices, which leaves room in its first word for the answer's fields, so that an
    /// answer writes one fresh word rather than two. Index 0 is nobody. Written by `Broker`
    /// only, read by `BrokerDisputes` in the Broker's storage: slither, looking at one contract
    /// at a time, takes them for constants or never written there.
    // slither-disable-next-line constable-states
    uint32 internal _accountCount;
    // slither-disable-next-line uninitialized-state
    mapping(address account => uint32 index) internal _accountIndex;
    // slither-disable-next-line uninitialized-state
    mapping(uint32 index => address account) internal _accounts;
    /// @dev Each account's `IBroker.Record` as eight 32-bit counters in one word, its fields from the
    /// lowest bits up; an outcome adds its counters' units (`_count`). A counter would need
    /// 2^32 transactions to carry into the next.
    mapping(address account => uint256) internal _records;
    /// @dev Each compact batch job's `IBroker.Job` hash (`_hashJob`) while it is held as one
    /// (`BrokerJobs`), by id; zero for every other id. Written by `BrokerJobs` in the Broker's
    /// storage, read by the Broker: slither, looking at one contract at a time, takes it for
    /// never written there.
    // slither-disable-next-line uninitialized-state
    mapping(uint256 id => bytes32) internal _jobs;
    /// @dev Each tournament-mode request's tournament, opened at its first challenge. Written
    /// and read by `BrokerTournaments` in the Broker's storage only.
    mapping(uint256 id => Tournament.State) internal _tournaments;

    /// @dev Set while a call runs (in `Broker` or, by `DELEGATECALL`, `BrokerDisputes`).
    bool private transient _entered;

    modifier nonReentrant() {
        if (_entered) revert IBroker.Reentrancy();
        _entered = true;
        _;
        _entered = false;
    }

    // ---------------------------------------------------------------------------------------
    // Constructor
    // ---------------------------------------------------------------------------------------

    /// @param factory_ The program registry.
    /// @param arity_ Sub-segments per bisection round (16 is the measured optimum).
    /// @param clockBlocks_ Each party's chess clock per game, in blocks; also the time a
    /// challenger has to start the dispute.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_) {
        if (arity_ < MIN_ARITY || arity_ > MAX_ARITY) revert IBroker.ArityOutOfRange(arity_, MIN_ARITY, MAX_ARITY);
        if (clockBlocks_ == 0) revert IBroker.ZeroClock();
        _factory = factory_;
        _arity = arity_;
        _clockBlocks = clockBlocks_;
    }

    // ---------------------------------------------------------------------------------------
    // Internal: checks and arithmetic
    // ---------------------------------------------------------------------------------------

    function _get(uint256 id) internal view returns (StoredRequest storage r) {
        r = _requests[id];
        if (r.requester == 0) {
            if (_jobs[id] != 0) revert IBroker.HeldAsJob(id);
            revert IBroker.NoSuchRequest(id);
        }
    }

    /// @dev Request `r`'s requester.
    function _requesterOf(StoredRequest storage r) internal view returns (address) {
        return _accounts[r.requester];
    }

    /// @dev Request `r`'s host; zero while nobody answers (`_accounts[0]` is never written).
    function _hostOf(StoredRequest storage r) internal view returns (address) {
        return _accounts[r.host];
    }

    /// @dev What `account` may withdraw (see `_balances`).
    function _balanceOf(address account) internal view returns (uint256) {
        uint256 held = _balances[account];
        return held == 0 ? 0 : held - 1;
    }

    function _expectStatus(uint256 id, IBroker.Status actual, IBroker.Status expected) internal pure {
        if (actual != expected) revert IBroker.WrongStatus(id, actual, expected);
    }

    function _expectResolving(uint256 id, StoredRequest storage r, IBroker.DisputeMode mode) internal view {
        _expectStatus(id, r.status, IBroker.Status.Resolving);
        if (r.mode != mode) revert IBroker.WrongMode(id, r.mode);
    }

    function _deposit(StoredRequest storage r) internal view returns (uint256) {
        return _depositFor(r.mode, r.payment, r.maxGasPrice, r.maxSteps, _programs[r.program].maxStepGas);
    }

    /// @dev The deposit a host or challenger stakes on request `r` (`Deposits.required`).
    function _depositFor(
        IBroker.DisputeMode mode,
        uint256 payment,
        uint256 maxGasPrice,
        uint64 maxSteps,
        uint256 maxStepGas
    ) internal view returns (uint256) {
        return Deposits.required(mode, payment, maxGasPrice, maxSteps, maxStepGas, _arity);
    }

    /// @dev The block after which a full re-execution nobody advances ends against the
    /// challenger: one clock from now.
    function _fullExecutionDeadline() internal view returns (uint48) {
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 clock stay far below 2^48
        return uint48(block.number + _clockBlocks);
    }

    /// @dev Checks a request's payment and terms against the Broker's bounds and its program
    /// `p` (once for a whole batch: they are the same for every input): the step gas must give
    /// a deposit that fits, and a machine program is disputed by bisection (games or a tournament) only.
    function _checkTerms(
        bytes32 programId,
        ProgramTerms memory p,
        uint256 softResolutionBlocks,
        IBroker.RequestOptions memory options,
        uint256 payment
    ) internal view {
        if (payment == 0) revert IBroker.ZeroPayment();
        if (payment > type(uint96).max) revert IBroker.PaymentTooLarge(payment, type(uint96).max);
        if (softResolutionBlocks < MIN_WINDOW_BLOCKS || softResolutionBlocks > MAX_WINDOW_BLOCKS) {
            revert IBroker.WindowOutOfRange(softResolutionBlocks, MIN_WINDOW_BLOCKS, MAX_WINDOW_BLOCKS);
        }
        if (options.maxGasPrice > MAX_GAS_PRICE) revert IBroker.MaxGasPriceTooHigh(options.maxGasPrice, MAX_GAS_PRICE);
        uint256 stepsCap =
            options.mode == IBroker.DisputeMode.FullExecution ? MAX_FULL_EXECUTION_STEPS : type(uint64).max;
        if (options.maxSteps == 0 || options.maxSteps > stepsCap) {
            revert IBroker.MaxStepsOutOfRange(options.maxSteps, 1, stepsCap);
        }
        // Computed once, for the clock check and the deposit (a full re-execution has none).
        uint256 rounds = 0;
        if (options.mode != IBroker.DisputeMode.FullExecution) {
            rounds = Bisection.rounds(options.maxSteps, _arity);
            uint256 needed = Bisection.clockForRounds(rounds);
            if (needed > _clockBlocks) revert IBroker.ClockTooShortForSteps(options.maxSteps, needed, _clockBlocks);
        }
        uint256 deposit = Deposits.requiredForRounds(
            options.mode, payment, options.maxGasPrice, options.maxSteps, p.maxStepGas, rounds
        );
        if (deposit > type(uint96).max) revert IBroker.DepositTooLarge(deposit, type(uint96).max);
        if (p.machine && options.mode == IBroker.DisputeMode.FullExecution) {
            revert IBroker.ModeUnsupported(programId, options.mode);
        }
    }

    /// @dev Checks that `host` may answer request `r` (`IBroker.RequestOptions.minHostJobs`).
    function _checkAdmitted(uint256 id, StoredRequest storage r, address host) internal view {
        if (_admitted(r, host)) return;
        uint256 w = _records[host];
        // forge-lint: disable-next-line(unsafe-typecast) -- the counters' 32-bit lanes
        revert IBroker.HostNotAdmitted(id, host, uint32(w >> 32), uint32(w >> 96), r.minHostJobs);
    }

    /// @dev Whether request `r` admits `host` (`IBroker.RequestOptions.minHostJobs`): at least
    /// that many requests paid to it as the host (`PAID`) and no defence lost (`DEFENCE_LOST`).
    function _admitted(StoredRequest storage r, address host) internal view returns (bool) {
        return _meetsRecord(r.minHostJobs, host);
    }

    /// @dev Whether `host`'s record meets host admission `minJobs` (see `_admitted`).
    function _meetsRecord(uint16 minJobs, address host) internal view returns (bool) {
        if (minJobs == 0) return true;
        uint256 w = _records[host];
        return uint32(w >> 32) >= minJobs && uint32(w >> 96) == 0;
    }

    /// @dev `c_0` of a request on `input`: the input itself for a step program
    /// (`initialCore` zero), else the machine's first state hash on it (a core is a hash,
    /// never zero).
    function _inputCommitment(bytes calldata input, bytes32 initialCore) internal pure returns (bytes32) {
        if (input.length > MAX_INPUT_BYTES) revert IBroker.InputTooLarge(input.length, MAX_INPUT_BYTES);
        if (initialCore == bytes32(0)) return Trace.commitCalldata(false, input);
        return Trace.commit(false, abi.encodePacked(MachineInput.initialState(initialCore, input)));
    }
}

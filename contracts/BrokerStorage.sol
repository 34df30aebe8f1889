// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "./interfaces/IBroker.sol";
import {IFactory} from "./interfaces/IFactory.sol";
import {Bisection} from "./libraries/Bisection.sol";
import {Deposits} from "./libraries/Deposits.sol";
import {MAX_STATE_BYTES, Trace} from "./libraries/Trace.sol";
import {MachineInput} from "./machine/lib/MachineInput.sol";

/// @title BrokerStorage
/// @notice The Broker's parameters, storage layout and every read of it: the views of
/// `IBroker`, the checks a call starts with, and the terms a request takes from its program.
/// @dev Nothing here writes storage or moves value; `Broker` holds every state change.
abstract contract BrokerStorage is IBroker {
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
    /// @notice Bounds on the bisection arity.
    uint256 public constant MIN_ARITY = 2;
    uint256 public constant MAX_ARITY = 32;

    /// @dev Gas `executeExecutable` keeps back from its steps for what follows them: the
    /// commitment, the event, the reimbursement and the settlement (at most four credits).
    uint256 internal constant EXECUTE_SETTLE_GAS = 250_000;

    // ---------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------

    IFactory internal immutable _factory;
    uint256 internal immutable _arity;
    uint32 internal immutable _clockBlocks;

    uint256 internal _requestCount;
    mapping(uint256 id => Request) internal _requests;
    mapping(uint256 id => Challenge) internal _challenges;
    mapping(uint256 id => Game) internal _games;
    mapping(uint256 id => FullExecution) internal _fullExecutions;
    mapping(address account => uint256) internal _balances;

    // ---------------------------------------------------------------------------------------
    // Constructor
    // ---------------------------------------------------------------------------------------

    /// @param factory_ The program registry.
    /// @param arity_ Sub-segments per bisection round (16 is the measured optimum).
    /// @param clockBlocks_ Each party's chess clock per game, in blocks; also the time a
    /// challenger has to start the dispute.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_) {
        if (arity_ < MIN_ARITY || arity_ > MAX_ARITY) revert ArityOutOfRange(arity_, MIN_ARITY, MAX_ARITY);
        if (clockBlocks_ == 0) revert ZeroClock();
        _factory = factory_;
        _arity = arity_;
        _clockBlocks = clockBlocks_;
    }

    // ---------------------------------------------------------------------------------------
    // Views
    // ---------------------------------------------------------------------------------------

    /// @inheritdoc IBroker
    function getRequest(uint256 id) external view returns (Request memory) {
        return _get(id);
    }

    /// @inheritdoc IBroker
    function requiredDeposit(uint256 id) external view returns (uint256) {
        return _deposit(_get(id));
    }

    /// @inheritdoc IBroker
    function getChallenge(uint256 id) external view returns (Challenge memory) {
        return _challenges[id];
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
        return _balances[account];
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
    // Internal: checks and arithmetic
    // ---------------------------------------------------------------------------------------

    function _get(uint256 id) internal view returns (Request storage r) {
        r = _requests[id];
        if (r.requester == address(0)) revert NoSuchRequest(id);
    }

    function _expectStatus(uint256 id, Status actual, Status expected) internal pure {
        if (actual != expected) revert WrongStatus(id, actual, expected);
    }

    function _expectResolving(uint256 id, Request storage r, DisputeMode mode) internal view {
        _expectStatus(id, r.status, Status.Resolving);
        if (r.mode != mode) revert WrongMode(id, r.mode);
    }

    function _deposit(Request storage r) internal view returns (uint256) {
        return _depositFor(r.mode, r.payment, r.maxGasPrice, r.maxSteps, r.maxStepGas);
    }

    /// @dev The deposit a host or challenger stakes on request `r` (`Deposits.required`).
    function _depositFor(DisputeMode mode, uint256 payment, uint256 maxGasPrice, uint64 maxSteps, uint256 maxStepGas)
        internal
        view
        returns (uint256)
    {
        return Deposits.required(mode, payment, maxGasPrice, maxSteps, maxStepGas, _arity);
    }

    /// @dev The block after which a full re-execution nobody advances ends against the
    /// challenger: one clock from now.
    function _fullExecutionDeadline() internal view returns (uint48) {
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 clock stay far below 2^48
        return uint48(block.number + _clockBlocks);
    }

    /// @dev Checks a request's payment and terms against the Broker's bounds and its program
    /// (once for a whole batch: they are the same for every input), and returns what it takes
    /// from its program: the step gas (checked to give a deposit that fits), and for a machine
    /// program (disputed by bisection only) its initial core, zero for a step program.
    function _requestTerms(
        bytes32 programId,
        uint256 softResolutionBlocks,
        RequestOptions memory options,
        uint256 payment
    ) internal view returns (uint32 maxStepGas, bytes32 initialCore) {
        if (payment == 0) revert ZeroPayment();
        if (payment > type(uint96).max) revert PaymentTooLarge(payment, type(uint96).max);
        if (softResolutionBlocks < MIN_WINDOW_BLOCKS || softResolutionBlocks > MAX_WINDOW_BLOCKS) {
            revert WindowOutOfRange(softResolutionBlocks, MIN_WINDOW_BLOCKS, MAX_WINDOW_BLOCKS);
        }
        uint256 stepsCap = options.mode == DisputeMode.FullExecution ? MAX_FULL_EXECUTION_STEPS : type(uint64).max;
        if (options.maxSteps == 0 || options.maxSteps > stepsCap) {
            revert MaxStepsOutOfRange(options.maxSteps, 1, stepsCap);
        }
        // Computed once, for the clock check and the deposit (a full re-execution has none).
        uint256 rounds = 0;
        if (options.mode == DisputeMode.Bisection) {
            rounds = Bisection.rounds(options.maxSteps, _arity);
            uint256 needed = Bisection.clockForRounds(rounds);
            if (needed > _clockBlocks) revert ClockTooShortForSteps(options.maxSteps, needed, _clockBlocks);
        }
        (address execution, uint32 stepGas, IFactory.ProgramKind kind) = _factory.stepInfo(programId);
        if (execution == address(0)) revert UnknownProgram(programId);
        uint256 deposit =
            Deposits.requiredForRounds(options.mode, payment, options.maxGasPrice, options.maxSteps, stepGas, rounds);
        if (deposit > type(uint96).max) revert DepositTooLarge(deposit, type(uint96).max);
        maxStepGas = stepGas;
        if (kind == IFactory.ProgramKind.Step) return (maxStepGas, bytes32(0));
        if (options.mode != DisputeMode.Bisection) revert ModeUnsupported(programId, options.mode);
        initialCore = _factory.initialCoreOf(programId);
    }

    /// @dev `c_0` of a request on `input`: the input itself for a step program
    /// (`initialCore` zero), else the machine's first state hash on it (a core is a hash,
    /// never zero).
    function _inputCommitment(bytes calldata input, bytes32 initialCore) internal pure returns (bytes32) {
        if (input.length > MAX_INPUT_BYTES) revert InputTooLarge(input.length, MAX_INPUT_BYTES);
        if (initialCore == bytes32(0)) return Trace.commitCalldata(false, input);
        return Trace.commit(false, abi.encodePacked(MachineInput.initialState(initialCore, input)));
    }
}

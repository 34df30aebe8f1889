// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "./interfaces/IBroker.sol";
import {IFactory} from "./interfaces/IFactory.sol";
import {Bisection} from "./libraries/Bisection.sol";
import {Reexecution} from "./libraries/Reexecution.sol";
import {MAX_STATE_BYTES, Trace} from "./libraries/Trace.sol";
import {IMachineProver} from "./machine/IMachineProver.sol";
import {MachineInput} from "./machine/lib/MachineInput.sol";

/// @title Broker
/// @notice The request lifecycle, deposits, disputes and pull payments of ecm (see IBroker).
/// @dev Accounting: at every moment the Broker's balance is the sum of the credited balances
/// plus, for each unsettled request, its payment and the deposits locked in it (less the gas
/// already reimbursed from them). Every transfer of value out of a request is a credit; ether
/// only leaves through `withdraw`.
contract Broker is IBroker {
    using Bisection for IBroker.Game;

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
    /// @notice Blocks of its clock a party is assumed to spend per move when the Broker checks
    /// that a game fits the clock (`ClockTooShortForSteps`).
    uint256 public constant BLOCKS_PER_MOVE = 2;
    /// @notice Full re-execution runs every step on-chain, so its traces are kept short.
    uint64 public constant MAX_FULL_EXECUTION_STEPS = 2 ** 20;
    /// @notice Bounds on the bisection arity.
    uint256 public constant MIN_ARITY = 2;
    uint256 public constant MAX_ARITY = 32;

    /// @notice Gas one side spends on a bisection dispute besides its rounds and the step:
    /// challenge or answer, start, one-step proof and settlement, with transaction overheads.
    uint256 public constant BISECTION_FIXED_GAS = 400_000;
    /// @notice Gas of one bisection round (a defender and a challenger move, with overheads).
    uint256 public constant BISECTION_ROUND_GAS = 150_000;
    /// @notice Gas of a full re-execution besides its calls' steps and states: challenge,
    /// start, settlement, with transaction overheads.
    uint256 public constant FULL_EXECUTION_FIXED_GAS = 600_000;
    /// @notice Gas each on-chain step costs on top of the step itself.
    uint256 public constant FULL_EXECUTION_STEP_GAS = 10_000;
    /// @notice Gas of an `executeExecutable` transaction not seen by `gasleft()` besides its
    /// state's calldata (the intrinsic cost, the other arguments), added when reimbursing.
    uint256 public constant EXECUTE_CALL_OVERHEAD_GAS = 25_000;
    /// @notice Gas per byte of the state an `executeExecutable` carries: its calldata (16), its
    /// `Executed` event (8), the copies and hashes of it (the rest).
    uint256 public constant EXECUTE_STATE_BYTE_GAS = 48;
    /// @notice The step gas a full re-execution call is assumed to carry when deposits count
    /// the calls a re-execution takes (each carries a state of up to `MAX_STATE_BYTES`).
    uint256 public constant FULL_EXECUTION_CALL_GAS = 10_000_000;
    /// @dev Gas `executeExecutable` keeps back from its steps for what follows them: the
    /// commitment, the event, the reimbursement and the settlement (at most four credits).
    uint256 internal constant EXECUTE_SETTLE_GAS = 250_000;
    /// @notice The most priority fee (wei per gas) a full re-execution call is reimbursed above
    /// the base fee: a block producer that executes in its own block is paid its own tip, so an
    /// unbounded tip would let it turn up to half a deposit into profit.
    uint256 public constant MAX_REIMBURSED_TIP = 2 gwei;

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

    bool private transient _entered;

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
        return _request(programId, input, softResolutionBlocks, options);
    }

    /// @inheritdoc IBroker
    function requestExecution(
        bytes32 programId,
        bytes calldata input,
        uint256 softResolutionBlocks,
        RequestOptions calldata options
    ) external payable nonReentrant returns (uint256 id) {
        return _request(programId, input, softResolutionBlocks, options);
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
        (uint64 executed, bool finished, bytes32 reached) = _reexecute(id, r, fx, maxSteps, state);
        // The state's calldata is paid by the caller but not seen by `gasleft()`.
        uint256 gasUsed = gasAtStart - gasleft() + EXECUTE_CALL_OVERHEAD_GAS + 16 * state.length;
        _reimburse(id, r, fx, executed, state.length, gasUsed);
        if (finished) _settleFullExecution(id, r, fx, reached);
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
        (address execution, uint32 maxStepGas, IFactory.ProgramKind kind) = _factory.stepInfo(r.programId);
        // Without the full step gas the step could fail for want of gas, not by its own doing:
        // `Trace.next` refuses (`InsufficientGasForStep`) right before the call rather than
        // decide on it.
        if (!final_ && kind == IFactory.ProgramKind.Machine) revert ProofRequired(id);
        uint64 stepNumber = g.lo + 1;
        (bytes memory next, bool nextFinal) = Trace.next(execution, maxStepGas, stepNumber, final_, state);
        _closeStep(id, r, g, stepNumber, next, nextFinal);
    }

    /// @inheritdoc IBroker
    /// @dev The prover is pure and fixed by the Factory; a revert (a bad proof) bubbles up and
    /// decides nothing, and a lack of gas can only revert, so no 63/64 check is needed.
    function proveMachineStep(uint256 id, bool final_, bytes calldata state, bytes calldata proof)
        external
        nonReentrant
    {
        (Request storage r, Game storage g) = _openStep(id, final_, state);
        // A machine step is a proof: its gas is the caller's, not a program's budget.
        // slither-disable-next-line unused-return
        (address prover,, IFactory.ProgramKind kind) = _factory.stepInfo(r.programId);
        if (kind != IFactory.ProgramKind.Machine) revert NotAMachineProgram(r.programId);
        bytes memory next = state;
        bool nextFinal = true;
        if (!final_) {
            if (state.length != 32) revert MachineStateLength(state.length);
            (next, nextFinal) = IMachineProver(prover).step(bytes32(state), proof);
        }
        _closeStep(id, r, g, g.lo + 1, next, nextFinal);
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
            // wrong, did not.
            uint256 deadline = _fullExecutions[id].deadline;
            if (block.number <= deadline) revert DeadlineNotReached(id, deadline);
            _timeOutFullExecution(id, r);
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
        RequestOptions memory options
    ) internal returns (uint256 id) {
        if (msg.value == 0) revert ZeroPayment();
        if (msg.value > type(uint96).max) revert PaymentTooLarge(msg.value, type(uint96).max);
        if (input.length > MAX_INPUT_BYTES) revert InputTooLarge(input.length, MAX_INPUT_BYTES);
        if (softResolutionBlocks < MIN_WINDOW_BLOCKS || softResolutionBlocks > MAX_WINDOW_BLOCKS) {
            revert WindowOutOfRange(softResolutionBlocks, MIN_WINDOW_BLOCKS, MAX_WINDOW_BLOCKS);
        }
        uint256 stepsCap = options.mode == DisputeMode.FullExecution ? MAX_FULL_EXECUTION_STEPS : type(uint64).max;
        if (options.maxSteps == 0 || options.maxSteps > stepsCap) {
            revert MaxStepsOutOfRange(options.maxSteps, 1, stepsCap);
        }
        if (options.mode == DisputeMode.Bisection) {
            uint256 needed = _blocksNeeded(options.maxSteps);
            if (needed > _clockBlocks) revert ClockTooShortForSteps(options.maxSteps, needed, _clockBlocks);
        }
        (uint32 maxStepGas, bytes32 inputCommitment) = _programTerms(programId, input, options);

        id = ++_requestCount;
        // Field by field rather than a struct literal, which would also write the zero answer
        // slots (host, steps, claim) and pay for touching them; the answer writes them. The
        // status starts as Pending, which is 0, and the deadline as 0.
        Request storage r = _requests[id];
        r.requester = msg.sender;
        r.mode = options.mode;
        // forge-lint: disable-next-line(unsafe-typecast) -- checked against MAX_WINDOW_BLOCKS = 2^32 - 1
        r.softResolutionBlocks = uint32(softResolutionBlocks);
        r.programId = programId;
        r.inputCommitment = inputCommitment;
        r.payment = uint96(msg.value);
        r.maxGasPrice = options.maxGasPrice;
        r.maxSteps = options.maxSteps;
        r.maxStepGas = maxStepGas;
        emit Created(id, programId, msg.sender);
        emit RequestInput(
            id,
            input,
            msg.value,
            options.maxSteps,
            options.maxGasPrice,
            // forge-lint: disable-next-line(unsafe-typecast) -- checked against MAX_WINDOW_BLOCKS = 2^32 - 1
            uint32(softResolutionBlocks),
            options.mode
        );
    }

    /// @dev What a request takes from its program: the step gas, checked to give a deposit
    /// that fits, and `c_0`: the input itself for a step program; for a machine program
    /// (disputed by bisection only), the machine's first state hash on the input.
    function _programTerms(bytes32 programId, bytes calldata input, RequestOptions memory options)
        internal
        view
        returns (uint32 maxStepGas, bytes32 inputCommitment)
    {
        address execution;
        IFactory.ProgramKind kind;
        (execution, maxStepGas, kind) = _factory.stepInfo(programId);
        if (execution == address(0)) revert UnknownProgram(programId);
        uint256 deposit = _depositFor(options.mode, msg.value, options.maxGasPrice, options.maxSteps, maxStepGas);
        if (deposit > type(uint96).max) revert DepositTooLarge(deposit, type(uint96).max);
        if (kind == IFactory.ProgramKind.Step) return (maxStepGas, Trace.commit(false, input));
        if (options.mode != DisputeMode.Bisection) revert ModeUnsupported(programId, options.mode);
        bytes32 initialState = MachineInput.initialState(_factory.initialCoreOf(programId), input);
        inputCommitment = Trace.commit(false, abi.encodePacked(initialState));
    }

    function _answer(uint256 id, bytes calldata result, uint64 steps, bool final_) internal {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.Pending);
        _checkClaim(r, result, steps, final_);
        _takeDeposit(id, _deposit(r));
        uint256 windowEnd = block.number + r.softResolutionBlocks;
        r.status = Status.WaitingForResolution;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 window stay far below 2^48
        r.deadline = uint48(windowEnd);
        r.host = msg.sender;
        r.steps = steps;
        r.claim = Trace.commit(final_, result);
        emit Answered(id, msg.sender, result, steps, final_, windowEnd);
    }

    function _challenge(uint256 id, bytes calldata result, uint64 steps, bool final_) internal {
        Request storage r = _get(id);
        _expectStatus(id, r.status, Status.WaitingForResolution);
        if (block.number > r.deadline) revert WindowClosed(id, r.deadline);
        _checkClaim(r, result, steps, final_);
        bytes32 claim = Trace.commit(final_, result);
        if (claim == r.claim) revert SameClaim(claim);
        _takeDeposit(id, _deposit(r));
        _challenges[id] = Challenge({challenger: msg.sender, steps: steps, claim: claim});
        uint256 startDeadline = block.number + _clockBlocks;
        r.status = Status.NeedsResolution;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 clock stay far below 2^48
        r.deadline = uint48(startDeadline);
        emit Challenged(id, msg.sender, result, steps, final_, startDeadline);
    }

    /// @dev Ends a bisection dispute (or a dispute never started): the loser's deposit goes half
    /// to the winner and half to the requester; the winner's answer stands with a fresh window.
    /// @dev Ends a bisection dispute. The loser's deposit stays in the Broker: its halves are
    /// counted (`hostWins` for the winner, who is the host from here on; `disputes` for the
    /// requester) and credited by `finalize`, so that the one step writes no balance. A host
    /// that loses is credited at once what it had won before; a counter that would overflow
    /// is paid out instead.
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
            r.host = c.challenger;
            r.steps = c.steps;
            r.claim = c.claim;
            r.hostWins = 1;
        }
        if (r.disputes == type(uint16).max) {
            uint256 deposit = _deposit(r);
            _payCompensation(id, r, deposit - deposit / 2);
        }
        ++r.disputes;
        _reopen(id, r);
        emit DisputeResolved(id, winner, loser, byTimeout);
    }

    /// @dev Ends a full re-execution nobody advanced before its deadline against the
    /// challenger: its deposit, less the gas reimbursed out of it, goes half to the host and
    /// half to the requester at once; the host's answer stands with a fresh window (a stalled
    /// re-execution proves nothing about the answer, so others may still challenge it).
    function _timeOutFullExecution(uint256 id, Request storage r) internal {
        address host = r.host;
        address challenger = _challenges[id].challenger;
        _forfeit(id, r.requester, host, _deposit(r) - _fullExecutions[id].reimbursed);
        delete _fullExecutions[id];
        _reopen(id, r);
        emit DisputeResolved(id, host, challenger, true);
    }

    /// @dev Returns a request whose dispute ended to its challenge window, a fresh one.
    function _reopen(uint256 id, Request storage r) internal {
        uint256 windowEnd = block.number + r.softResolutionBlocks;
        r.status = Status.WaitingForResolution;
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 window stay far below 2^48
        r.deadline = uint48(windowEnd);
        delete _challenges[id];
        delete _games[id];
    }

    /// @dev The block after which a full re-execution nobody advances ends against the
    /// challenger: one clock from now.
    function _fullExecutionDeadline() internal view returns (uint48) {
        // forge-lint: disable-next-line(unsafe-typecast) -- block numbers plus a uint32 clock stay far below 2^48
        return uint48(block.number + _clockBlocks);
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
            r.host = c.challenger;
            r.steps = c.steps;
            r.claim = c.claim;
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

    /// @dev Runs up to `maxSteps` steps of a full re-execution from `state`, which must be the
    /// state at its current step, keeping back the gas that settling needs; records the point
    /// reached, and a new deadline unless that finished the execution (final, or at the
    /// request's `maxSteps`).
    function _reexecute(uint256 id, Request storage r, FullExecution storage fx, uint256 maxSteps, bytes calldata state)
        internal
        returns (uint64 executed, bool finished, bytes32 reached)
    {
        {
            bytes32 revealed = Trace.commit(false, state);
            bytes32 agreed = fx.commitment;
            if (revealed != agreed) revert PreimageMismatch(revealed, agreed);
        }
        uint64 done = fx.steps;
        bytes memory next;
        bool final_;
        (next, final_, executed) = _runSteps(r, done, state, maxSteps);
        if (executed == 0) revert NoProgress(id);
        uint64 count = done + executed;
        finished = final_ || count == r.maxSteps;
        reached = Trace.commit(final_, next);
        emit Executed(id, msg.sender, count, final_, finished, next);
        fx.commitment = reached;
        fx.steps = count;
        if (!finished) fx.deadline = _fullExecutionDeadline();
    }

    /// @dev Runs up to `maxSteps` steps of request `r`'s program from step `done`'s `state`,
    /// never past the request's `maxSteps`.
    function _runSteps(Request storage r, uint64 done, bytes calldata state, uint256 maxSteps)
        internal
        view
        returns (bytes memory, bool, uint64)
    {
        uint256 remaining = r.maxSteps - done;
        // slither-disable-next-line unused-return
        (address execution, uint32 maxStepGas,) = _factory.stepInfo(r.programId);
        return Reexecution.run(
            execution, maxStepGas, done, state, maxSteps < remaining ? maxSteps : remaining, EXECUTE_SETTLE_GAS
        );
    }

    /// @dev Reimburses the caller's gas at the price it paid, bounded by the request's gas price
    /// bound and by the base fee plus `MAX_REIMBURSED_TIP`, out of what the loser will forfeit:
    /// at most half a deposit in all, and only for calls that ran steps.
    function _reimburse(
        uint256 id,
        Request storage r,
        FullExecution storage fx,
        uint256 executed,
        uint256 stateBytes,
        uint256 gasUsed
    ) internal {
        uint256 price = tx.gasprice < r.maxGasPrice ? tx.gasprice : r.maxGasPrice;
        uint256 tipBound = block.basefee + MAX_REIMBURSED_TIP;
        if (price > tipBound) price = tipBound;
        uint256 maxStepGas = r.maxStepGas;
        uint256 gasCap = EXECUTE_CALL_OVERHEAD_GAS + stateBytes * EXECUTE_STATE_BYTE_GAS + executed
            * (maxStepGas + FULL_EXECUTION_STEP_GAS);
        uint256 amount = (gasUsed < gasCap ? gasUsed : gasCap) * price;
        uint256 reimbursed = fx.reimbursed;
        uint256 budget = _deposit(r) / 2 - reimbursed;
        if (amount > budget) amount = budget;
        if (amount == 0) return;
        // forge-lint: disable-next-line(unsafe-typecast) -- at most half a deposit, which fits 96 bits (checked at request time)
        fx.reimbursed = uint96(reimbursed + amount);
        _credit(msg.sender, id, amount, CreditReason.GasReimbursement);
    }

    /// @dev The one-step phase's opening, for `proveStep` and `proveMachineStep`: the turn (anyone may prove)
    /// and the revealed state against the agreed commitment at `lo`.
    function _openStep(uint256 id, bool final_, bytes calldata state)
        internal
        returns (Request storage r, Game storage g)
    {
        r = _get(id);
        _expectResolving(id, r, DisputeMode.Bisection);
        g = _games[id];
        g.takeTurn(id, Phase.OneStep, r.host, address(0), true);
        bytes32 revealed = Trace.commit(final_, state);
        bytes32 agreed = g.cLo;
        if (revealed != agreed) revert PreimageMismatch(revealed, agreed);
    }

    /// @dev The one-step phase's verdict: the defender wins if the step lands on its `cHi`.
    function _closeStep(
        uint256 id,
        Request storage r,
        Game storage g,
        uint64 stepNumber,
        bytes memory next,
        bool nextFinal
    ) internal {
        bytes32 computed = Trace.commit(nextFinal, next);
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

    /// @dev An answer claims the state after `steps` steps: final, or not final at exactly
    /// `maxSteps` ("out of steps").
    function _checkClaim(Request storage r, bytes calldata result, uint64 steps, bool final_) internal view {
        if (result.length > MAX_STATE_BYTES) revert ResultTooLarge(result.length, MAX_STATE_BYTES);
        uint64 maxSteps = r.maxSteps;
        if (steps == 0 || steps > maxSteps) revert StepsOutOfRange(steps, maxSteps);
        if (!final_ && steps != maxSteps) revert NotFinalBeforeMaxSteps(steps, maxSteps);
    }

    /// @dev The clock a party needs for a game over `maxSteps` steps: one move per round and
    /// the one step, each taking `BLOCKS_PER_MOVE` blocks (the move cannot land in the block
    /// that started the turn, and a busy chain may not take it in the next).
    function _blocksNeeded(uint64 maxSteps) internal view returns (uint256) {
        return (Bisection.rounds(maxSteps, _arity) + 1) * BLOCKS_PER_MOVE;
    }

    function _deposit(Request storage r) internal view returns (uint256) {
        return _depositFor(r.mode, r.payment, r.maxGasPrice, r.maxSteps, r.maxStepGas);
    }

    /// @dev A deposit covers the winner's dispute gas twice over at the request's gas price
    /// bound (half goes to the winner, half to the requester), plus the payment as a bounty.
    function _depositFor(DisputeMode mode, uint256 payment, uint256 maxGasPrice, uint64 maxSteps, uint256 maxStepGas)
        internal
        view
        returns (uint256)
    {
        uint256 disputeGas = mode == DisputeMode.Bisection
            ? BISECTION_FIXED_GAS + Bisection.rounds(maxSteps, _arity) * BISECTION_ROUND_GAS + maxStepGas
            : _fullExecutionGas(maxSteps, maxStepGas);
        return payment + 2 * maxGasPrice * disputeGas;
    }

    /// @dev The gas of a full re-execution of `maxSteps` steps: the fixed part, the steps, and
    /// the state each call carries (at most `MAX_STATE_BYTES`, one call per
    /// `FULL_EXECUTION_CALL_GAS` of steps).
    function _fullExecutionGas(uint64 maxSteps, uint256 maxStepGas) internal pure returns (uint256) {
        uint256 stepsGas = maxSteps * (maxStepGas + FULL_EXECUTION_STEP_GAS);
        uint256 calls = 1 + stepsGas / FULL_EXECUTION_CALL_GAS;
        return FULL_EXECUTION_FIXED_GAS + stepsGas + calls
            * (EXECUTE_CALL_OVERHEAD_GAS + MAX_STATE_BYTES * EXECUTE_STATE_BYTE_GAS);
    }
}

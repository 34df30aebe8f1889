// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Broker} from "../Broker.sol";
import {deployBroker} from "./utils/Fixtures.sol";
import {MachineProver} from "../machine/MachineProver.sol";
import {Factory} from "../Factory.sol";
import {IBroker} from "../interfaces/IBroker.sol";
import {IBrokerTournaments, IBrokerTournamentsEvents} from "../interfaces/IBrokerTournaments.sol";
import {Counter} from "../programs/Counter.sol";
import {Test} from "./utils/Test.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Drives the Broker through random lifecycles: several requesters, an honest and a
/// cheating host, an honest and a cheating challenger, both dispute modes, timeouts, time warps
/// and withdrawals. Every action is valid for the request's state, so that runs go deep.
/// Requests run the Counter (`n` in 1..40), whose trace has a closed form.
contract BrokerHandler is Test {
    uint64 internal constant MAX_STEPS = 64;

    Broker public immutable broker;
    bytes32 public immutable counterId;

    address[] public actors;
    uint256[] public ids;
    mapping(uint256 id => uint64) internal _n;
    /// @dev The wrong state each liar claimed for a request (empty for honest claims).
    mapping(uint256 id => mapping(address account => bytes)) internal _lies;
    /// @dev Compact batch jobs (`requestCompactBatch`), in the order requested, and each one's
    /// fields as the handler last saw them stand; a job hydrated joins `ids`.
    uint256[] public jobIds;
    mapping(uint256 id => IBroker.Job) internal _jobOf;
    /// @dev Whether job `id` is still held as a hash (neither paid out nor hydrated).
    mapping(uint256 id => bool) internal _held;
    /// @dev Whether job `id` was paid out as a job (`settleJobs`): Finalized.
    mapping(uint256 id => bool) internal _jobPaid;
    /// @dev The games started in each tournament-mode request, in the order they started.
    mapping(uint256 id => uint256[]) internal _gamesOf;

    // Ghost counters, for the invariants.
    /// Disputes the handler ended (a one-step proof, a timeout, a finished re-execution), and
    /// the `DisputeResolved` events the Broker emitted.
    uint256 public ghostDisputesResolved;
    uint256 public ghostDisputeEvents;
    /// Ether sent into the Broker (payments, deposits) and withdrawn from it.
    uint256 public ghostPaidIn;
    uint256 public ghostWithdrawn;
    /// Credited to, and withdrawn by, each actor, from the Broker's events.
    mapping(address account => uint256) public ghostCredited;
    mapping(address account => uint256) public ghostWithdrawnBy;
    /// Per account, the outcomes its record counts, from the events: answers (`Answered`),
    /// payouts (a `Payment` credit), expired commitments (`CommitmentExpired`).
    mapping(address account => uint256) public ghostAnswered;
    mapping(address account => uint256) public ghostPaid;
    mapping(address account => uint256) public ghostExpired;
    /// Status changes the lifecycle does not allow (see `_allowed`).
    uint256 public ghostBadTransitions;
    mapping(uint256 id => IBroker.Status) internal _lastStatus;

    constructor(Broker broker_, bytes32 counterId_) {
        broker = broker_;
        counterId = counterId_;
        for (uint256 k = 0; k < 7; ++k) {
            address actor = vm.addr(uint256(keccak256(abi.encode("actor", k))));
            vm.deal(actor, 1_000_000 ether);
            actors.push(actor);
        }
    }

    /// Records the Broker's events during an action, then accounts for them and checks every
    /// request's status change.
    modifier observed() {
        vm.recordLogs();
        _;
        _absorb(vm.getRecordedLogs());
        _checkTransitions();
    }

    function _absorb(Vm.Log[] memory logs) internal {
        for (uint256 k = 0; k < logs.length; ++k) {
            Vm.Log memory log = logs[k];
            if (log.emitter != address(broker)) continue;
            if (log.topics[0] == IBroker.Credited.selector) {
                (uint256 amount, uint8 reason) = abi.decode(log.data, (uint256, uint8));
                address account = address(uint160(uint256(log.topics[1])));
                ghostCredited[account] += amount;
                if (reason == uint8(IBroker.CreditReason.Payment)) ++ghostPaid[account];
            } else if (log.topics[0] == IBroker.Answered.selector) {
                ++ghostAnswered[address(uint160(uint256(log.topics[2])))];
            } else if (log.topics[0] == IBroker.CommitmentExpired.selector) {
                ++ghostExpired[address(uint160(uint256(log.topics[2])))];
            } else if (log.topics[0] == IBroker.Withdrawn.selector) {
                ghostWithdrawnBy[address(uint160(uint256(log.topics[1])))] += abi.decode(log.data, (uint256));
            } else if (log.topics[0] == IBroker.DisputeResolved.selector) {
                ++ghostDisputeEvents;
            } else if (log.topics[0] == IBrokerTournamentsEvents.GameEnded.selector) {
                // A tournament game's end is a dispute's, but for a forfeit (its loser's loss
                // was counted in the game it lost).
                (,, uint8 how) = abi.decode(log.data, (uint32, uint32, uint8));
                if (how != 2) ++ghostDisputeEvents;
            }
        }
    }

    /// No status goes backwards: nothing returns to Pending but an expired commitment;
    /// Pending only moves to WaitingForResolution, Committed or Cancelled; Committed only to
    /// WaitingForResolution (the reveal) or Pending (the expiry); Soft and Firm resolutions
    /// only move to Finalized; Finalized and Cancelled never change. (A dispute may return a
    /// request from Resolving to WaitingForResolution: that is the next window, not a step back.)
    function _allowed(IBroker.Status from, IBroker.Status to) internal pure returns (bool) {
        if (from == to) return true;
        if (from == IBroker.Status.Committed) {
            return to == IBroker.Status.WaitingForResolution || to == IBroker.Status.Pending;
        }
        if (to == IBroker.Status.Pending) return false;
        if (from == IBroker.Status.Finalized || from == IBroker.Status.Cancelled) return false;
        if (to == IBroker.Status.Cancelled) return from == IBroker.Status.Pending;
        if (from == IBroker.Status.Pending) {
            return to == IBroker.Status.WaitingForResolution || to == IBroker.Status.Committed;
        }
        if (from == IBroker.Status.SoftResolution || from == IBroker.Status.FirmResolution) {
            return to == IBroker.Status.Finalized;
        }
        return true;
    }

    function _checkTransitions() internal {
        for (uint256 k = 0; k < ids.length; ++k) {
            uint256 id = ids[k];
            IBroker.Status now_ = broker.getRequest(id).status;
            if (!_allowed(_lastStatus[id], now_)) ++ghostBadTransitions;
            _lastStatus[id] = now_;
        }
        for (uint256 k = 0; k < jobIds.length; ++k) {
            uint256 id = jobIds[k];
            if (!_held[id] && !_jobPaid[id]) continue;
            IBroker.Status now_ = _held[id] ? _jobOf[id].status : IBroker.Status.Finalized;
            if (!_allowed(_lastStatus[id], now_)) ++ghostBadTransitions;
            _lastStatus[id] = now_;
        }
    }

    // Roles: 0..2 requesters, 3 honest host, 4 cheating host, 5 honest challenger, 6 cheater.
    function _actor(uint256 seed, uint256 from, uint256 count) internal view returns (address) {
        return actors[from + (seed % count)];
    }

    /// @dev Mostly one of the latest requests, so that lifecycles get carried to their end.
    function _id(uint256 seed) internal view returns (uint256) {
        uint256 count = ids.length;
        if (count == 0) return 0;
        if (seed % 4 != 0) return ids[count - 1 - (seed / 4) % (count < 3 ? count : 3)];
        return ids[(seed / 4) % count];
    }

    // ---------------------------------------------------------------------------------------
    // The closed-form Counter trace
    // ---------------------------------------------------------------------------------------

    function _u64le(uint64 v) internal pure returns (bytes memory out) {
        out = new bytes(8);
        for (uint256 j = 0; j < 8; ++j) {
            out[j] = bytes1(uint8(v >> (8 * j)));
        }
    }

    function _state(uint64 n, uint64 i) internal pure returns (bytes memory) {
        if (i == 0) return _u64le(n);
        return abi.encodePacked(_u64le(n), _u64le(i < n ? i : n));
    }

    function _commit(uint256 id, address party, uint64 i) internal view returns (bytes32) {
        uint64 n = _n[id];
        bytes memory lie = _lies[id][party];
        if (lie.length != 0 && i >= n) return keccak256(abi.encodePacked(true, lie));
        return keccak256(abi.encodePacked(i >= n && i > 0, _state(n, i)));
    }

    // ---------------------------------------------------------------------------------------
    // Actions
    // ---------------------------------------------------------------------------------------

    function request(uint256 actorSeed, uint256 nSeed, uint256 payment, uint256 gasPrice, uint8 modeSeed)
        external
        observed
    {
        uint64 n = uint64(bound(nSeed, 1, 40));
        payment = bound(payment, 1, 10 ether);
        gasPrice = bound(gasPrice, 0, 10 gwei);
        IBroker.DisputeMode mode = IBroker.DisputeMode(modeSeed % 3);
        // One request in three admits only hosts with a job paid and no defence lost.
        uint16 minHostJobs = nSeed % 3 == 0 ? 1 : 0;
        // A tournament's window is also its entries' period: long enough for some to come.
        uint256 window = mode == IBroker.DisputeMode.Tournament ? 10 + nSeed % 20 : 1 + nSeed % 5;
        vm.prank(_actor(actorSeed, 0, 3));
        uint256 id = broker.requestExecution{value: payment}(
            counterId, _u64le(n), window, IBroker.RequestOptions(MAX_STEPS, uint64(gasPrice), mode, minHostJobs)
        );
        ghostPaidIn += payment;
        _n[id] = n;
        ids.push(id);
    }

    /// @dev Up to four requests in one transaction, each paid `payment`.
    function requestBatch(uint256 actorSeed, uint256 nSeed, uint256 payment, uint256 countSeed) external observed {
        uint256 count = bound(countSeed, 1, 4);
        payment = bound(payment, 1, 1 ether);
        bytes[] memory inputs = new bytes[](count);
        uint64[] memory ns = new uint64[](count);
        for (uint256 k = 0; k < count; ++k) {
            ns[k] = uint64(bound(uint256(keccak256(abi.encode(nSeed, k))), 1, 40));
            inputs[k] = _u64le(ns[k]);
        }
        vm.prank(_actor(actorSeed, 0, 3));
        uint256 first = broker.requestExecutionBatch{value: payment * count}(
            counterId, inputs, 1 + (nSeed % 5), IBroker.RequestOptions(MAX_STEPS, 0, IBroker.DisputeMode.Bisection, 0)
        );
        ghostPaidIn += payment * count;
        for (uint256 k = 0; k < count; ++k) {
            _n[first + k] = ns[k];
            ids.push(first + k);
        }
    }

    /// @dev `settle` over a few of the latest requests, in any state, by anyone.
    function settleSome(uint256 idSeed, uint256 countSeed, uint256 actorSeed) external observed {
        uint256 count = bound(countSeed, 1, 4);
        uint256[] memory some = new uint256[](count);
        for (uint256 k = 0; k < count; ++k) {
            some[k] = _id(uint256(keccak256(abi.encode(idSeed, k))));
        }
        vm.prank(actors[actorSeed % actors.length]);
        broker.settle(some);
    }

    function cancel(uint256 idSeed) external observed {
        uint256 id = _id(idSeed);
        if (id == 0 || broker.getRequest(id).status != IBroker.Status.Pending) return;
        vm.prank(broker.getRequest(id).requester);
        broker.cancelRequest(id);
    }

    function answer(uint256 idSeed, bool honest, uint256 surplus) external observed {
        uint256 id = _id(idSeed);
        if (id == 0 || broker.getRequest(id).status != IBroker.Status.Pending) return;
        address who = honest ? actors[3] : actors[4];
        if (!_admitted(id, who)) return;
        bytes memory result = _claim(id, who, honest);
        uint256 value = broker.requiredDeposit(id) + bound(surplus, 0, 1 ether);
        vm.prank(who);
        broker.answerRequest{value: value}(id, result, _n[id]);
        ghostPaidIn += value;
    }

    /// @dev Whether request `id` admits `who` as its host (`RequestOptions.minHostJobs`).
    function _admitted(uint256 id, address who) internal view returns (bool) {
        uint16 minJobs = broker.getRequest(id).minHostJobs;
        IBroker.Record memory r = broker.recordOf(who);
        return minJobs == 0 || (r.paid >= minJobs && r.defencesLost == 0);
    }

    /// @dev A commitment to an answer (honest or not), revealed now, later, or never.
    function commit(uint256 idSeed, bool honest, uint256 surplus) external observed {
        uint256 id = _id(idSeed);
        if (id == 0 || broker.getRequest(id).status != IBroker.Status.Pending) return;
        address who = honest ? actors[3] : actors[4];
        if (!_admitted(id, who)) return;
        bytes32 commitment = _commitmentOf(id, who, honest);
        uint256 value = broker.requiredDeposit(id) + bound(surplus, 0, 1 ether);
        vm.prank(who);
        broker.commitAnswer{value: value}(id, commitment);
        ghostPaidIn += value;
    }

    function reveal(uint256 idSeed) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        IBroker.Request memory r = broker.getRequest(id);
        if (r.status != IBroker.Status.Committed || block.number > r.deadline) return;
        bytes memory lie = _lies[id][r.host];
        bytes memory result = lie.length != 0 ? lie : _state(_n[id], _n[id]);
        vm.prank(r.host);
        broker.revealAnswer(id, result, _n[id], true, _salt(id, r.host));
    }

    /// @dev `commitAnswers` over up to four of the latest requests in any state (those not
    /// Pending, or not admitting the host, are skipped and their deposits credited back).
    function commitSome(uint256 idSeed, uint256 countSeed, bool honest, uint256 surplus) external observed {
        uint256 count = bound(countSeed, 1, 4);
        address who = honest ? actors[3] : actors[4];
        uint256[] memory some = new uint256[](count);
        bytes32[] memory commitments = new bytes32[](count);
        uint256 value = bound(surplus, 0, 1 ether);
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = _id(uint256(keccak256(abi.encode(idSeed, k))));
            if (id == 0) return;
            some[k] = id;
            value += broker.requiredDeposit(id);
            if (broker.getRequest(id).status != IBroker.Status.Pending) continue;
            commitments[k] = _commitmentOf(id, who, honest);
        }
        vm.prank(who);
        broker.commitAnswers{value: value}(some, commitments);
        ghostPaidIn += value;
    }

    /// @dev `revealAnswers` by one host over up to four of the latest requests (those it has
    /// not committed to, or too late, are skipped).
    function revealSome(uint256 idSeed, uint256 countSeed, bool honest) external observed {
        uint256 count = bound(countSeed, 1, 4);
        address who = honest ? actors[3] : actors[4];
        IBroker.RevealedAnswer[] memory answers = new IBroker.RevealedAnswer[](count);
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = _id(uint256(keccak256(abi.encode(idSeed, k))));
            if (id == 0) return;
            bytes memory lie = _lies[id][who];
            bytes memory result = lie.length != 0 ? lie : _state(_n[id], _n[id]);
            answers[k] = IBroker.RevealedAnswer(id, result, _n[id], true, _salt(id, who));
        }
        vm.prank(who);
        broker.revealAnswers(answers);
    }

    // ---------------------------------------------------------------------------------------
    // Compact batches: jobs held as hashes until paid out or hydrated
    // ---------------------------------------------------------------------------------------

    /// @dev A compact batch of up to four jobs, each paid `payment`.
    function requestJobs(uint256 actorSeed, uint256 nSeed, uint256 payment, uint256 countSeed) external observed {
        uint256 count = bound(countSeed, 1, 4);
        payment = bound(payment, 1, 1 ether);
        bytes[] memory inputs = new bytes[](count);
        for (uint256 k = 0; k < count; ++k) {
            inputs[k] = _u64le(uint64(bound(uint256(keccak256(abi.encode(nSeed, k))), 1, 40)));
        }
        address requester = _actor(actorSeed, 0, 3);
        IBroker.RequestOptions memory options =
            IBroker.RequestOptions(MAX_STEPS, 0, IBroker.DisputeMode.Bisection, nSeed % 3 == 0 ? 1 : 0);
        uint32 window = uint32(1 + (nSeed % 5));
        vm.prank(requester);
        uint256 first = broker.requestCompactBatch{value: payment * count}(counterId, inputs, window, options);
        ghostPaidIn += payment * count;
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = first + k;
            _n[id] = uint64(bound(uint256(keccak256(abi.encode(nSeed, k))), 1, 40));
            IBroker.Job storage job = _jobOf[id];
            (job.id, job.inputHash, job.programId, job.requester) = (id, keccak256(inputs[k]), counterId, requester);
            (job.payment, job.maxSteps, job.softResolutionBlocks, job.minHostJobs) =
            (uint96(payment), MAX_STEPS, window, options.minHostJobs);
            _held[id] = true;
            jobIds.push(id);
        }
    }

    /// @dev Mostly one of the latest jobs, as `_id`.
    function _jobId(uint256 seed) internal view returns (uint256) {
        uint256 count = jobIds.length;
        if (count == 0) return 0;
        if (seed % 4 != 0) return jobIds[count - 1 - (seed / 4) % (count < 3 ? count : 3)];
        return jobIds[(seed / 4) % count];
    }

    /// @dev Takes `job`'s new standing if the Broker holds it at that now.
    function _sync(
        IBroker.Job memory job,
        IBroker.Status status,
        uint256 deadline,
        address host,
        uint64 steps,
        bytes32 claim
    ) internal {
        if (!_held[job.id]) return;
        (job.status, job.deadline, job.host, job.steps, job.claim) = (status, uint48(deadline), host, steps, claim);
        if (broker.jobHash(job.id) == keccak256(abi.encode(job))) _jobOf[job.id] = job;
    }

    /// @dev `commitJobs` over up to four of the latest jobs in any state (those not Pending,
    /// gone, or not admitting the host are skipped and their deposits credited back).
    function commitJobsSome(uint256 idSeed, uint256 countSeed, bool honest, uint256 surplus) external observed {
        uint256 count = bound(countSeed, 1, 4);
        address who = honest ? actors[3] : actors[4];
        IBroker.Job[] memory some = new IBroker.Job[](count);
        bytes32[] memory commitments = new bytes32[](count);
        uint256 value = bound(surplus, 0, 1 ether);
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = _jobId(uint256(keccak256(abi.encode(idSeed, k))));
            if (id == 0) return;
            some[k] = _jobOf[id];
            value += broker.requiredJobDeposit(some[k]);
            if (_held[id] && some[k].status == IBroker.Status.Pending) commitments[k] = _commitmentOf(id, who, honest);
        }
        uint256 deadline = block.number + broker.REVEAL_BLOCKS();
        vm.prank(who);
        broker.commitJobs{value: value}(some, commitments);
        ghostPaidIn += value;
        for (uint256 k = 0; k < count; ++k) {
            _sync(some[k], IBroker.Status.Committed, deadline, who, 0, commitments[k]);
        }
    }

    /// @dev `revealJobs` by one host over up to four of the latest jobs (those it has not
    /// committed to, gone, or too late are skipped).
    function revealJobsSome(uint256 idSeed, uint256 countSeed, bool honest) external observed {
        uint256 count = bound(countSeed, 1, 4);
        address who = honest ? actors[3] : actors[4];
        IBroker.Job[] memory some = new IBroker.Job[](count);
        IBroker.RevealedAnswer[] memory answers = new IBroker.RevealedAnswer[](count);
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = _jobId(uint256(keccak256(abi.encode(idSeed, k))));
            if (id == 0) return;
            some[k] = _jobOf[id];
            bytes memory lie = _lies[id][who];
            bytes memory result = lie.length != 0 ? lie : _state(_n[id], _n[id]);
            answers[k] = IBroker.RevealedAnswer(id, result, _n[id], true, _salt(id, who));
        }
        vm.prank(who);
        broker.revealJobs(some, answers);
        for (uint256 k = 0; k < count; ++k) {
            bytes32 claim = keccak256(abi.encodePacked(true, answers[k].result));
            uint256 windowEnd = block.number + some[k].softResolutionBlocks;
            _sync(some[k], IBroker.Status.WaitingForResolution, windowEnd, who, answers[k].steps, claim);
        }
    }

    /// @dev `settleJobs` over up to four of the latest jobs, in any state, by anyone.
    function settleJobsSome(uint256 idSeed, uint256 countSeed, uint256 actorSeed) external observed {
        uint256 count = bound(countSeed, 1, 4);
        IBroker.Job[] memory some = new IBroker.Job[](count);
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = _jobId(uint256(keccak256(abi.encode(idSeed, k))));
            if (id == 0) return;
            some[k] = _jobOf[id];
        }
        vm.prank(actors[actorSeed % actors.length]);
        broker.settleJobs(some);
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = some[k].id;
            if (_held[id] && broker.jobHash(id) == 0) (_held[id], _jobPaid[id]) = (false, true);
        }
    }

    /// @dev Stores a job as a request, by anyone; the request's own actions take it from here.
    function hydrate(uint256 idSeed, uint256 actorSeed) external observed {
        uint256 id = _jobId(idSeed);
        if (id == 0 || !_held[id]) return;
        _hydrate(id, actors[actorSeed % actors.length]);
    }

    function _hydrate(uint256 id, address by) internal {
        vm.prank(by);
        broker.hydrate(_jobOf[id], _u64le(_n[id]));
        _held[id] = false;
        ids.push(id);
    }

    function expire(uint256 idSeed) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        IBroker.Request memory r = broker.getRequest(id);
        if (r.status != IBroker.Status.Committed) return;
        if (block.number <= r.deadline) vm.roll(uint256(r.deadline) + 1);
        broker.expireCommitment(id);
    }

    /// @dev `who`'s commitment to its answer of request `id` (honest or not: `_claim`).
    function _commitmentOf(uint256 id, address who, bool honest) internal returns (bytes32) {
        bytes memory result = _claim(id, who, honest);
        return broker.answerCommitment(id, keccak256(abi.encodePacked(true, result)), _n[id], who, _salt(id, who));
    }

    function _salt(uint256 id, address who) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", id, who));
    }

    /// @dev A tournament-mode request's challenge is an entry with a game against the answer.
    function challenge(uint256 idSeed, bool honest, bool start) external observed {
        _challenge(_id(idSeed), honest, start);
    }

    /// @dev A challenge to a tournament-mode request that may take one (they are rarer than
    /// requests, and their windows short).
    function enterTournament(uint256 idSeed, bool honest) external observed {
        uint256 count = ids.length;
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = ids[(idSeed % count + k) % count];
            IBroker.Request memory r = broker.getRequest(id);
            if (r.mode == IBroker.DisputeMode.Tournament && _mayEnter(id, r)) return _challenge(id, honest, false);
        }
    }

    function _challenge(uint256 id, bool honest, bool start) internal {
        if (id == 0) return;
        IBroker.Request memory r = broker.getRequest(id);
        bool tournament = r.mode == IBroker.DisputeMode.Tournament;
        if (tournament
                ? !_mayEnter(id, r)
                : r.status != IBroker.Status.WaitingForResolution || block.number > r.deadline) {
            return;
        }
        address who = honest ? actors[5] : actors[6];
        bytes memory result = _claim(id, who, honest);
        if (keccak256(abi.encodePacked(true, result)) == r.claim) return;
        uint256 deposit = broker.requiredDeposit(id);
        vm.prank(who);
        broker.challengeAnswer{value: deposit}(id, result, _n[id]);
        ghostPaidIn += deposit;
        if (tournament) _gamesOf[id].push(_tour().gameKey(_tour().getTournament(id).entries - 1, 0));
        else if (start) broker.initializeDispute(id);
    }

    function _claim(uint256 id, address who, bool honest) internal returns (bytes memory result) {
        uint64 n = _n[id];
        if (honest) {
            delete _lies[id][who];
            return _state(n, n);
        }
        // A wrong final state, different per liar so two liars can disagree.
        result = abi.encodePacked(_u64le(n), _u64le(n + 7 + uint64(uint160(who) % 5)));
        _lies[id][who] = result;
    }

    function softResolve(uint256 idSeed, bool byRequester) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        IBroker.Request memory r = broker.getRequest(id);
        if (r.status != IBroker.Status.WaitingForResolution) return;
        if (!byRequester && block.number <= r.deadline) vm.roll(uint256(r.deadline) + 1);
        vm.prank(byRequester ? r.requester : actors[6]);
        broker.softResolveAnswer(id);
    }

    function initializeDispute(uint256 idSeed) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        IBroker.Request memory r = broker.getRequest(id);
        if (r.status != IBroker.Status.NeedsResolution || block.number > r.deadline) return;
        broker.initializeDispute(id);
    }

    /// @dev Up to a few moves of a bisection game, each by whoever's turn it is, from their
    /// own view.
    function move(uint256 idSeed, uint256 moves) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        moves = bound(moves, 1, 8);
        for (uint256 k = 0; k < moves; ++k) {
            if (!_move(id)) return;
        }
    }

    function _move(uint256 id) internal returns (bool moved) {
        IBroker.Request memory r = broker.getRequest(id);
        if (r.status == IBroker.Status.Resolving && r.mode == IBroker.DisputeMode.Tournament) {
            return _moveInTournament(id);
        }
        if (r.status != IBroker.Status.Resolving || r.mode != IBroker.DisputeMode.Bisection) return false;
        IBroker.Game memory g = broker.getGame(id);
        (bool expired,) = _expired(g);
        if (expired) return false;
        moved = true;
        address defender = r.host;
        address challengerAccount = broker.getChallenge(id).challenger;
        if (g.phase == IBroker.Phase.Bisect) {
            bytes32[] memory points = _points(id, defender, g);
            vm.prank(defender);
            broker.bisect(id, points);
        } else if (g.phase == IBroker.Phase.Select) {
            bytes32[] memory points = _points(id, defender, g);
            uint256 parts = points.length + 1;
            uint256 index = parts - 1;
            for (uint256 j = 0; j + 1 < parts; ++j) {
                if (_commit(id, challengerAccount, broker.splitPoint(g.lo, g.hi, parts, j + 1)) != points[j]) {
                    index = j;
                    break;
                }
            }
            vm.prank(challengerAccount);
            broker.selectSegment(id, points, index);
        } else if (g.phase == IBroker.Phase.OneStep) {
            // Below n every view is the truth, and lo < hi <= n.
            uint64 n = _n[id];
            broker.proveStep(id, g.lo >= n && g.lo > 0, _state(n, g.lo));
            ++ghostDisputesResolved;
        }
    }

    /// @dev The state a full re-execution is at: the Counter's trace in closed form (a step
    /// before the end is never final).
    function _reexecutionState(uint256 id) internal view returns (bytes memory) {
        return _state(_n[id], broker.getFullExecution(id).steps);
    }

    function _points(uint256 id, address defender, IBroker.Game memory g)
        internal
        view
        returns (bytes32[] memory points)
    {
        uint256 span = g.hi - g.lo;
        uint256 parts = span < broker.arity() ? span : broker.arity();
        points = new bytes32[](parts - 1);
        for (uint256 j = 1; j < parts; ++j) {
            points[j - 1] = _commit(id, defender, broker.splitPoint(g.lo, g.hi, parts, j));
        }
    }

    function _expired(IBroker.Game memory g) internal view returns (bool expired, uint256 deadline) {
        uint256 clock = g.phase == IBroker.Phase.Select ? g.challengerClock : g.defenderClock;
        deadline = uint256(g.turnStart) + clock;
        expired = block.number > deadline;
    }

    function timeout(uint256 idSeed) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        IBroker.Request memory r = broker.getRequest(id);
        if (r.status == IBroker.Status.NeedsResolution) {
            if (block.number <= r.deadline) vm.roll(uint256(r.deadline) + 1);
        } else if (r.status == IBroker.Status.Resolving && r.mode == IBroker.DisputeMode.Tournament) {
            _endAGame(id);
            return;
        } else if (r.status == IBroker.Status.Resolving && r.mode == IBroker.DisputeMode.Bisection) {
            (bool expired, uint256 deadline) = _expired(broker.getGame(id));
            if (!expired) vm.roll(deadline + 1);
        } else if (r.status == IBroker.Status.Resolving) {
            // A full re-execution left alone until its deadline.
            uint256 deadline = broker.getFullExecution(id).deadline;
            if (block.number <= deadline) vm.roll(deadline + 1);
        } else {
            return;
        }
        broker.claimTimeout(id);
        ++ghostDisputesResolved;
    }

    /// @dev Anyone counts a request's last dispute early; the only refusal allowed is that
    /// there is nothing to count (the handler cannot see a kept outcome).
    function countDispute(uint256 idSeed, uint256 actorSeed) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        vm.prank(actors[actorSeed % actors.length]);
        try broker.countDispute(id) {}
        catch (bytes memory reason) {
            vm.assertEq(reason, abi.encodeWithSelector(IBroker.NothingToCount.selector, id));
        }
    }

    function execute(uint256 idSeed, uint256 steps, uint256 gasPrice, uint256 executorSeed) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        IBroker.Request memory r = broker.getRequest(id);
        if (r.status != IBroker.Status.Resolving || r.mode != IBroker.DisputeMode.FullExecution) return;
        // Base fee and tip both vary: the reimbursement is bounded by each.
        gasPrice = bound(gasPrice, 0, 20 gwei);
        vm.fee(gasPrice / (1 + executorSeed % 4));
        vm.txGasPrice(gasPrice);
        bytes memory state = _reexecutionState(id);
        vm.prank(actors[executorSeed % actors.length]);
        broker.executeExecutable(id, bound(steps, 1, 16), state);
        vm.txGasPrice(0);
        vm.fee(0);
        if (broker.getRequest(id).status == IBroker.Status.FirmResolution) ++ghostDisputesResolved;
    }

    function finalize(uint256 idSeed) external observed {
        uint256 id = _id(idSeed);
        if (id == 0) return;
        IBroker.Status status = broker.getRequest(id).status;
        if (status != IBroker.Status.SoftResolution && status != IBroker.Status.FirmResolution) return;
        broker.finalize(id);
    }

    function withdraw(uint256 actorSeed) external observed {
        address who = actors[actorSeed % actors.length];
        uint256 owed = broker.balanceOf(who);
        if (owed == 0) return;
        uint256 before = who.balance;
        vm.prank(who);
        broker.withdraw();
        vm.assertEq(who.balance - before, owed, "withdrew a different amount than credited");
        ghostWithdrawn += owed;
    }

    function warp(uint256 blocks) external observed {
        vm.roll(block.number + bound(blocks, 1, 30));
    }

    // ---------------------------------------------------------------------------------------
    // Tournaments
    // ---------------------------------------------------------------------------------------

    function _tour() internal view returns (IBrokerTournaments) {
        return IBrokerTournaments(address(broker));
    }

    /// @notice Whether request `id` opened a tournament.
    function hasTournament(uint256 id) public view returns (bool) {
        return _tour().getTournament(id).entries != 0;
    }

    /// @dev Whether a claim may be entered on tournament-mode request `r` with a game against
    /// its answer: within the window, the answer's entry standing.
    function _mayEnter(uint256 id, IBroker.Request memory r) internal view returns (bool) {
        if (r.status == IBroker.Status.WaitingForResolution) return block.number <= r.deadline;
        if (r.status != IBroker.Status.Resolving) return false;
        return block.number <= _tour().getTournament(id).entryDeadline && !_tour().getEntry(id, 0).eliminated;
    }

    /// @dev A request with a tournament in status `status`, searched from a point `seed`
    /// picks (0 if none): tournaments are rarer than requests, so their actions look for one.
    function _tournamentId(uint256 seed, IBroker.Status status) internal view returns (uint256) {
        uint256 count = ids.length;
        for (uint256 k = 0; k < count; ++k) {
            uint256 id = ids[(seed % count + k) % count];
            if (hasTournament(id) && broker.getRequest(id).status == status) return id;
        }
        return 0;
    }

    /// @dev The party of one standing entry challenges another of a different claim.
    function challengeEntry(uint256 idSeed, uint256 aSeed, uint256 bSeed) external observed {
        uint256 id = _tournamentId(idSeed, IBroker.Status.Resolving);
        if (id == 0) return;
        IBrokerTournaments.TournamentView memory t = _tour().getTournament(id);
        if (block.number > t.startDeadline) return;
        // forge-lint: disable-next-line(unsafe-typecast) -- below t.entries, a uint32
        uint32 a = uint32(aSeed % t.entries);
        // forge-lint: disable-next-line(unsafe-typecast) -- below t.entries, a uint32
        uint32 b = uint32(bSeed % t.entries);
        IBrokerTournaments.EntryView memory ea = _tour().getEntry(id, a);
        IBrokerTournaments.EntryView memory eb = _tour().getEntry(id, b);
        if (ea.eliminated || eb.eliminated || ea.claim == eb.claim) return;
        uint256 key = _tour().gameKey(a, b);
        IBrokerTournaments.GameView memory existing = _tour().getTournamentGame(id, key);
        if (existing.defender != existing.challenger) return;
        vm.prank(ea.party);
        _tour().challengeEntry(id, a, b);
        _gamesOf[id].push(key);
    }

    /// @dev Whether game `gv` may take a move: open, both entries standing, clock not out.
    function _live(uint256 id, IBrokerTournaments.GameView memory gv) internal view returns (bool) {
        if (!gv.open || _tour().getEntry(id, gv.defender).eliminated) return false;
        if (_tour().getEntry(id, gv.challenger).eliminated) return false;
        (bool expired,) = _expired(gv.game);
        return !expired;
    }

    /// @dev Up to a few moves in a running tournament's games.
    function moveInTournament(uint256 idSeed, uint256 moves) external observed {
        uint256 id = _tournamentId(idSeed, IBroker.Status.Resolving);
        if (id == 0) return;
        moves = bound(moves, 1, 8);
        for (uint256 k = 0; k < moves; ++k) {
            if (!_moveInTournament(id)) return;
        }
    }

    /// @dev Ends a game of a running tournament: a forfeit, or a timeout.
    function endTournamentGame(uint256 idSeed) external observed {
        uint256 id = _tournamentId(idSeed, IBroker.Status.Resolving);
        if (id != 0) _endAGame(id);
    }

    /// @dev One move in the first live game of tournament `id`, by whoever's turn it is.
    function _moveInTournament(uint256 id) internal returns (bool) {
        uint256[] storage keys = _gamesOf[id];
        for (uint256 k = 0; k < keys.length; ++k) {
            IBrokerTournaments.GameView memory gv = _tour().getTournamentGame(id, keys[k]);
            if (!_live(id, gv)) continue;
            _moveInGame(id, keys[k], gv);
            return true;
        }
        return false;
    }

    function _moveInGame(uint256 id, uint256 key, IBrokerTournaments.GameView memory gv) internal {
        IBroker.Game memory g = gv.game;
        address defender = _tour().getEntry(id, gv.defender).party;
        address challengerAccount = _tour().getEntry(id, gv.challenger).party;
        if (g.phase == IBroker.Phase.Bisect) {
            bytes32[] memory points = _points(id, defender, g);
            vm.prank(defender);
            _tour().bisect(id, key, points);
        } else if (g.phase == IBroker.Phase.Select) {
            bytes32[] memory points = _points(id, defender, g);
            uint256 index = _index(id, challengerAccount, g, points);
            vm.prank(challengerAccount);
            _tour().selectSegment(id, key, points, index);
        } else {
            uint64 n = _n[id];
            _tour().proveStep(id, key, g.lo >= n && g.lo > 0, _state(n, g.lo));
            ++ghostDisputesResolved;
        }
    }

    /// @dev The sub-segment `challengerAccount` picks: the first whose right end it rejects.
    function _index(uint256 id, address challengerAccount, IBroker.Game memory g, bytes32[] memory points)
        internal
        view
        returns (uint256)
    {
        uint256 parts = points.length + 1;
        for (uint256 j = 0; j + 1 < parts; ++j) {
            if (_commit(id, challengerAccount, broker.splitPoint(g.lo, g.hi, parts, j + 1)) != points[j]) return j;
        }
        return parts - 1;
    }

    /// @dev Ends the first open game of tournament `id`: a forfeit if it is dead, else a
    /// timeout (waiting for it if need be).
    function _endAGame(uint256 id) internal {
        uint256[] storage keys = _gamesOf[id];
        for (uint256 k = 0; k < keys.length; ++k) {
            IBrokerTournaments.GameView memory gv = _tour().getTournamentGame(id, keys[k]);
            if (!gv.open) continue;
            bool dead = _tour().getEntry(id, gv.defender).eliminated || _tour().getEntry(id, gv.challenger).eliminated;
            if (dead) {
                _tour().forfeit(id, keys[k]);
                return;
            }
            (bool expired, uint256 deadline) = _expired(gv.game);
            if (!expired) vm.roll(deadline + 1);
            _tour().claimTimeout(id, keys[k]);
            ++ghostDisputesResolved;
            return;
        }
    }

    /// @dev Settles a tournament once it is over (waiting for its end if `wait`).
    function settleTournament(uint256 idSeed, bool wait) external observed {
        uint256 id = _tournamentId(idSeed, IBroker.Status.Resolving);
        if (id == 0) return;
        IBrokerTournaments.TournamentView memory t = _tour().getTournament(id);
        if (!t.over) {
            if (!wait) return;
            vm.roll(uint256(t.endDeadline) + 1);
        }
        _tour().settleTournament(id, _aStandingEntry(id));
    }

    /// @dev A standing entry of tournament `id` (entry 0 if none stands: then it is undecided).
    function _aStandingEntry(uint256 id) internal view returns (uint32) {
        uint32 entries = _tour().getTournament(id).entries;
        for (uint32 i = 0; i < entries; ++i) {
            if (!_tour().getEntry(id, i).eliminated) return i;
        }
        return 0;
    }

    function collectEntry(uint256 idSeed, uint256 entrySeed) external observed {
        uint256 id = _tournamentId(idSeed, IBroker.Status.Finalized);
        if (id == 0) return;
        uint32 entry = uint32(entrySeed % _tour().getTournament(id).entries);
        if (_tour().getEntry(id, entry).party == address(0)) return;
        _tour().collectEntry(id, entry);
    }

    /// @dev Collects every entry of tournament `id` not collected yet, once it is settled.
    function _collectAll(uint256 id) internal {
        if (!hasTournament(id) || broker.getRequest(id).status != IBroker.Status.Finalized) return;
        uint32 entries = _tour().getTournament(id).entries;
        for (uint32 i = 0; i < entries; ++i) {
            if (_tour().getEntry(id, i).party != address(0)) _tour().collectEntry(id, i);
        }
    }

    /// @dev What tournament `id` holds: while it runs, the payment and every entry's deposit;
    /// once settled, the shares its entries have not collected.
    function _heldByTournament(uint256 id, IBroker.Request memory r, uint256 deposit)
        internal
        view
        returns (uint256 sum)
    {
        uint32 entries = _tour().getTournament(id).entries;
        if (r.status == IBroker.Status.Resolving) return r.payment + entries * deposit;
        // The payment: the answer's entry's alone if it stands, else shared by the standing
        // entries of the claim that stood (none if undecided: `r.claim` zero).
        bool answerStands = !_tour().getEntry(id, 0).eliminated;
        uint256 payees = 0;
        for (uint32 i = 0; i < entries; ++i) {
            IBrokerTournaments.EntryView memory e = _tour().getEntry(id, i);
            if (!e.eliminated && e.claim == r.claim && (i == 0 || !answerStands)) ++payees;
        }
        for (uint32 i = 0; i < entries; ++i) {
            IBrokerTournaments.EntryView memory e = _tour().getEntry(id, i);
            if (e.party == address(0)) continue;
            sum += uint256(e.wins) * (deposit / 2);
            if (e.eliminated) continue;
            sum += deposit;
            if (r.claim != bytes32(0) && (i == 0 || !answerStands)) sum += r.payment / payees;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Liveness: from any state, every request can be driven to Finalized or Cancelled
    // ---------------------------------------------------------------------------------------

    /// Drives every request to a final state with only the moves the protocol always offers
    /// someone (cancel, let deadlines pass, claim timeouts, run the re-execution, finalize), and
    /// returns how many did not get there.
    function settleEverything() external observed returns (uint256 stuck) {
        // A job held as a hash is driven as the request it stands for.
        for (uint256 k = 0; k < jobIds.length; ++k) {
            if (_held[jobIds[k]]) _hydrate(jobIds[k], actors[6]);
        }
        for (uint256 k = 0; k < ids.length; ++k) {
            uint256 id = ids[k];
            for (uint256 guard = 0; guard < 64; ++guard) {
                IBroker.Request memory r = broker.getRequest(id);
                if (r.status == IBroker.Status.Finalized || r.status == IBroker.Status.Cancelled) break;
                _push(id, r);
            }
            IBroker.Status s = broker.getRequest(id).status;
            if (s != IBroker.Status.Finalized && s != IBroker.Status.Cancelled) ++stuck;
            _collectAll(id);
        }
    }

    function _push(uint256 id, IBroker.Request memory r) internal {
        if (r.status == IBroker.Status.Pending) {
            vm.prank(r.requester);
            broker.cancelRequest(id);
        } else if (r.status == IBroker.Status.Committed) {
            vm.roll(uint256(r.deadline) + 1);
            broker.expireCommitment(id);
        } else if (r.status == IBroker.Status.WaitingForResolution) {
            vm.roll(uint256(r.deadline) + 1);
            vm.prank(actors[6]);
            broker.softResolveAnswer(id);
        } else if (r.status == IBroker.Status.NeedsResolution) {
            vm.roll(uint256(r.deadline) + 1);
            broker.claimTimeout(id);
        } else if (r.status == IBroker.Status.Resolving && r.mode == IBroker.DisputeMode.Tournament) {
            uint256 end = _tour().getTournament(id).endDeadline;
            if (block.number <= end) vm.roll(end + 1);
            _tour().settleTournament(id, _aStandingEntry(id));
        } else if (r.status == IBroker.Status.Resolving && r.mode == IBroker.DisputeMode.Bisection) {
            (, uint256 deadline) = _expired(broker.getGame(id));
            vm.roll(deadline + 1);
            broker.claimTimeout(id);
        } else if (r.status == IBroker.Status.Resolving) {
            broker.executeExecutable(id, 1000, _reexecutionState(id));
        } else {
            broker.finalize(id);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Views for the invariants
    // ---------------------------------------------------------------------------------------

    function idCount() external view returns (uint256) {
        return ids.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    /// @notice What request `id` still holds, from its public state alone.
    function held(uint256 id) public view returns (uint256) {
        IBroker.Request memory r = broker.getRequest(id);
        uint256 deposit = broker.requiredDeposit(id);
        if (hasTournament(id)) return _heldByTournament(id, r, deposit);
        IBroker.Status s = r.status;
        if (s == IBroker.Status.Pending) return r.payment;
        if (s == IBroker.Status.Committed) return r.payment + deposit;
        if (s == IBroker.Status.Finalized || s == IBroker.Status.Cancelled) return 0;
        // The bisection disputes' deposit halves, owed at finalize.
        uint256 owed = uint256(r.hostWins) * (deposit / 2) + uint256(r.disputes) * (deposit - deposit / 2);
        return owed + _locked(id, r, s, deposit);
    }

    /// @dev What a request holds besides the disputes' halves: its payment and live deposits.
    function _locked(uint256 id, IBroker.Request memory r, IBroker.Status s, uint256 deposit)
        internal
        view
        returns (uint256)
    {
        if (s == IBroker.Status.WaitingForResolution || s == IBroker.Status.SoftResolution) {
            return r.payment + deposit;
        }
        if (s == IBroker.Status.NeedsResolution || s == IBroker.Status.Resolving) {
            return r.payment + 2 * deposit - broker.getFullExecution(id).reimbursed;
        }
        if (s == IBroker.Status.FirmResolution) return r.payment + (r.host != address(0) ? deposit : 0);
        return 0;
    }

    function jobCount() external view returns (uint256) {
        return jobIds.length;
    }

    /// @notice What job `id` still holds while held as a hash, from its fields alone (once
    /// hydrated, `held` counts it; once paid out, nothing).
    function heldByJob(uint256 id) public view returns (uint256) {
        if (!_held[id]) return 0;
        IBroker.Job memory job = _jobOf[id];
        if (job.status == IBroker.Status.Pending) return job.payment;
        return job.payment + broker.requiredJobDeposit(job);
    }

    /// @notice The word job `id` should stand at: its fields' hash while held, else zero.
    function expectedJobHash(uint256 id) external view returns (bytes32) {
        return _held[id] ? keccak256(abi.encode(_jobOf[id])) : bytes32(0);
    }

    function actorAt(uint256 k) external view returns (address) {
        return actors[k];
    }

    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](31);
        s[0] = this.request.selector;
        s[1] = this.cancel.selector;
        s[2] = this.answer.selector;
        s[3] = this.challenge.selector;
        s[4] = this.softResolve.selector;
        s[5] = this.initializeDispute.selector;
        s[6] = this.move.selector;
        s[7] = this.timeout.selector;
        s[8] = this.execute.selector;
        s[9] = this.finalize.selector;
        s[10] = this.withdraw.selector;
        s[11] = this.warp.selector;
        s[12] = this.commit.selector;
        s[13] = this.reveal.selector;
        s[14] = this.expire.selector;
        s[15] = this.requestBatch.selector;
        s[16] = this.settleSome.selector;
        s[17] = this.commitSome.selector;
        s[18] = this.revealSome.selector;
        s[19] = this.countDispute.selector;
        s[20] = this.requestJobs.selector;
        s[21] = this.commitJobsSome.selector;
        s[22] = this.revealJobsSome.selector;
        s[23] = this.settleJobsSome.selector;
        s[24] = this.hydrate.selector;
        s[25] = this.challengeEntry.selector;
        s[26] = this.settleTournament.selector;
        s[27] = this.collectEntry.selector;
        s[28] = this.moveInTournament.selector;
        s[29] = this.endTournamentGame.selector;
        s[30] = this.enterTournament.selector;
    }
}

/// @notice Conservation of funds: the Broker always holds exactly what it owes.
contract BrokerInvariantTest is Test {
    Broker internal broker;
    BrokerHandler internal handler;

    function setUp() public {
        Factory factory = new Factory(address(new MachineProver()));
        Counter counter = new Counter();
        bytes32 counterId = factory.registerProgram(address(counter), keccak256("counter"), 20_000, "");
        broker = deployBroker(factory, 4, 20);
        handler = new BrokerHandler(broker, counterId);
        targetContract(address(handler));
        targetSelector(FuzzSelector(address(handler), handler.selectors()));
    }

    /// (Each invariant function costs a campaign of its own, so related checks share one.)
    function invariant_BrokerHoldsExactlyWhatItOwes() public view {
        uint256 owed;
        for (uint256 k = 0; k < handler.actorCount(); ++k) {
            owed += broker.balanceOf(handler.actors(k));
        }
        for (uint256 k = 0; k < handler.idCount(); ++k) {
            owed += handler.held(handler.ids(k));
        }
        for (uint256 k = 0; k < handler.jobCount(); ++k) {
            owed += handler.heldByJob(handler.jobIds(k));
        }
        vm.assertEq(address(broker).balance, owed, "Broker balance == credited balances + what requests hold");
        // Ether leaves the Broker only by withdrawals: no other path sends any.
        vm.assertEq(
            handler.ghostPaidIn() - handler.ghostWithdrawn(), address(broker).balance, "paid in - withdrawn == balance"
        );
    }

    /// Each account: withdrawn + balance == credited, and its record counts what its events
    /// show; over all accounts, each dispute counted is one defence and one challenge (a
    /// bisection dispute is counted at its request's next challenge or payout: all of them
    /// once everything is settled, `afterInvariant`).
    function invariant_EachAccountMatchesItsEvents() public view {
        uint256 defences;
        uint256 challenges;
        for (uint256 k = 0; k < handler.actorCount(); ++k) {
            address a = handler.actorAt(k);
            vm.assertEq(
                handler.ghostWithdrawnBy(a) + broker.balanceOf(a),
                handler.ghostCredited(a),
                "withdrawn + balance == everything credited"
            );
            IBroker.Record memory r = broker.recordOf(a);
            vm.assertEq(r.answered, handler.ghostAnswered(a), "answers");
            vm.assertEq(r.paid, handler.ghostPaid(a), "payouts");
            vm.assertEq(r.expired, handler.ghostExpired(a), "expired commitments");
            vm.assertLe(r.timeouts, r.defencesLost + r.challengesLost, "a timeout is a loss");
            defences += r.defencesWon + r.defencesLost;
            challenges += r.challengesWon + r.challengesLost;
        }
        vm.assertEq(defences, challenges, "one defence and one challenge per dispute");
        vm.assertLe(defences, handler.ghostDisputeEvents(), "no dispute counted that did not end");
    }

    /// Every dispute that ended, counted once in each party's record.
    function _assertEveryDisputeCounted() internal view {
        uint256 defences;
        uint256 challenges;
        for (uint256 k = 0; k < handler.actorCount(); ++k) {
            IBroker.Record memory r = broker.recordOf(handler.actorAt(k));
            defences += r.defencesWon + r.defencesLost;
            challenges += r.challengesWon + r.challengesLost;
        }
        vm.assertEq(defences, handler.ghostDisputeEvents(), "one defence per dispute");
        vm.assertEq(challenges, handler.ghostDisputeEvents(), "one challenge per dispute");
    }

    /// Statuses only move forward, and every dispute the handler ended (a one-step proof, a
    /// timeout, a finished re-execution) was announced once, and no other.
    function invariant_NoStatusGoesBackwards() public view {
        vm.assertEq(handler.ghostBadTransitions(), 0);
        vm.assertEq(handler.ghostDisputeEvents(), handler.ghostDisputesResolved(), "DisputeResolved events");
    }

    /// At the end of every run: whatever state the run left, every request can still reach a
    /// final state, and then the Broker holds nothing but unwithdrawn balances.
    function afterInvariant() public {
        vm.assertEq(handler.settleEverything(), 0, "every request reaches Finalized or Cancelled");
        _assertEveryDisputeCounted();
        uint256 owed;
        for (uint256 k = 0; k < handler.actorCount(); ++k) {
            owed += broker.balanceOf(handler.actorAt(k));
        }
        vm.assertEq(address(broker).balance, owed, "once settled, the Broker holds only credited balances");
    }

    /// Also: each job's word is the fields the handler saw it take, zero once paid or hydrated.
    function invariant_NoLockedDepositOutlivesItsRequest() public view {
        for (uint256 k = 0; k < handler.jobCount(); ++k) {
            uint256 id = handler.jobIds(k);
            vm.assertEq(broker.jobHash(id), handler.expectedJobHash(id), "a job stands at its fields");
        }
        for (uint256 k = 0; k < handler.idCount(); ++k) {
            uint256 id = handler.ids(k);
            IBroker.Status s = broker.getRequest(id).status;
            // A settled tournament holds its entries' shares until each is collected.
            if ((s == IBroker.Status.Finalized || s == IBroker.Status.Cancelled) && !handler.hasTournament(id)) {
                vm.assertEq(handler.held(id), 0);
            }
        }
    }
}

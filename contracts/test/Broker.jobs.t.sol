// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../interfaces/IBroker.sol";
import {IBrokerTournaments} from "../interfaces/IBrokerTournaments.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @notice Compact batches (`requestCompactBatch`): each job held as one hash of its fields
/// while on the happy path, its calls passing the fields; a job that leaves it is stored as a
/// request (`hydrate`) and from then on is one.
contract BrokerJobsTest is Fixtures {
    uint64 internal constant STEPS = 5;
    bytes32 internal constant SALT = keccak256("host's secret");

    // ---------------------------------------------------------------------------------------
    // Helpers: the jobs as their events tell them
    // ---------------------------------------------------------------------------------------

    function _options() internal view returns (IBroker.RequestOptions memory) {
        return _optionsIn(IBroker.DisputeMode.Bisection);
    }

    function _optionsIn(IBroker.DisputeMode mode) internal view returns (IBroker.RequestOptions memory) {
        return IBroker.RequestOptions(broker.DEFAULT_MAX_STEPS(), 0, mode, 0);
    }

    /// @dev The input of the batch's job `k`: counting to `STEPS + k`.
    function _input(uint256 k) internal pure returns (bytes memory) {
        return _counterInput(uint64(STEPS + k));
    }

    function _result(uint256 k) internal pure returns (bytes memory) {
        return _counterResult(uint64(STEPS + k));
    }

    /// @dev A compact batch of `count` jobs by `requester`, and the jobs as they stand.
    function _requestJobs(uint256 count) internal returns (IBroker.Job[] memory jobs) {
        return _requestJobsIn(count, IBroker.DisputeMode.Bisection);
    }

    /// @dev As `_requestJobs`, the jobs' disputes in `mode`.
    function _requestJobsIn(uint256 count, IBroker.DisputeMode mode) internal returns (IBroker.Job[] memory jobs) {
        bytes[] memory inputs = new bytes[](count);
        for (uint256 k = 0; k < count; ++k) {
            inputs[k] = _input(k);
        }
        IBroker.RequestOptions memory options = _optionsIn(mode);
        vm.prank(requester);
        uint256 firstId = broker.requestCompactBatch{value: PAYMENT * count}(counterId, inputs, WINDOW, options);
        jobs = new IBroker.Job[](count);
        for (uint256 k = 0; k < count; ++k) {
            jobs[k].id = firstId + k;
            jobs[k].programId = counterId;
            jobs[k].requester = requester;
            jobs[k].inputHash = keccak256(inputs[k]);
            jobs[k].payment = uint96(PAYMENT);
            jobs[k].maxSteps = options.maxSteps;
            jobs[k].softResolutionBlocks = uint32(WINDOW);
            jobs[k].mode = mode;
        }
    }

    function _commitments(IBroker.Job[] memory jobs, address who) internal view returns (bytes32[] memory cs) {
        cs = new bytes32[](jobs.length);
        for (uint256 k = 0; k < jobs.length; ++k) {
            bytes32 claim = keccak256(abi.encodePacked(true, _result(jobs[k].id - jobs[0].id)));
            cs[k] = broker.answerCommitment(jobs[k].id, claim, uint64(STEPS + jobs[k].id - jobs[0].id), who, SALT);
        }
    }

    function _deposits(IBroker.Job[] memory jobs) internal view returns (uint256 sum) {
        for (uint256 k = 0; k < jobs.length; ++k) {
            sum += broker.requiredJobDeposit(jobs[k]);
        }
    }

    /// @dev `who` commits to the true answer of each job; the jobs are updated to match.
    function _commit(IBroker.Job[] memory jobs, address who) internal {
        bytes32[] memory cs = _commitments(jobs, who);
        uint256 deposits = _deposits(jobs);
        uint48 revealDeadline = uint48(block.number + broker.REVEAL_BLOCKS());
        vm.prank(who);
        vm.assertEq(broker.commitJobs{value: deposits}(jobs, cs), jobs.length);
        for (uint256 k = 0; k < jobs.length; ++k) {
            jobs[k].status = IBroker.Status.Committed;
            jobs[k].deadline = revealDeadline;
            jobs[k].host = who;
            jobs[k].claim = cs[k];
        }
    }

    function _reveals(IBroker.Job[] memory jobs) internal pure returns (IBroker.RevealedAnswer[] memory answers) {
        answers = new IBroker.RevealedAnswer[](jobs.length);
        for (uint256 k = 0; k < jobs.length; ++k) {
            uint256 j = jobs[k].id - jobs[0].id;
            answers[k] = IBroker.RevealedAnswer(jobs[k].id, _result(j), uint64(STEPS + j), true, SALT);
        }
    }

    /// @dev The committer reveals each job's answer; the jobs are updated to match.
    function _reveal(IBroker.Job[] memory jobs) internal {
        IBroker.RevealedAnswer[] memory answers = _reveals(jobs);
        vm.prank(jobs[0].host);
        vm.assertEq(broker.revealJobs(jobs, answers), jobs.length);
        for (uint256 k = 0; k < jobs.length; ++k) {
            jobs[k].status = IBroker.Status.WaitingForResolution;
            jobs[k].deadline = uint48(block.number + WINDOW);
            jobs[k].steps = answers[k].steps;
            jobs[k].claim = keccak256(abi.encodePacked(true, answers[k].result));
        }
    }

    /// @dev A compact batch of `count` jobs answered by `host` (committed and revealed, the
    /// window open), and the deposit of each.
    function _answeredJobs(uint256 count) internal returns (IBroker.Job[] memory jobs, uint256 deposit) {
        jobs = _requestJobs(count);
        deposit = broker.requiredJobDeposit(jobs[0]);
        _commit(jobs, host);
        _reveal(jobs);
    }

    /// @dev `host` commits to and reveals a wrong result of the single job `jobs[0]`, which is
    /// updated to match.
    function _answerWrong(IBroker.Job[] memory jobs, uint256 deposit) internal {
        uint256 id = jobs[0].id;
        bytes memory wrong = _counterResult(STEPS + 9);
        bytes32 commitment = broker.answerCommitment(id, keccak256(abi.encodePacked(true, wrong)), STEPS, host, SALT);
        vm.prank(host);
        broker.commitJobs{value: deposit}(jobs, _single(commitment));
        (jobs[0].status, jobs[0].deadline, jobs[0].host, jobs[0].claim) =
        (IBroker.Status.Committed, uint48(block.number + broker.REVEAL_BLOCKS()), host, commitment);
        IBroker.RevealedAnswer[] memory answers = new IBroker.RevealedAnswer[](1);
        answers[0] = IBroker.RevealedAnswer(id, wrong, STEPS, true, SALT);
        vm.prank(host);
        vm.assertEq(broker.revealJobs(jobs, answers), 1);
        (jobs[0].status, jobs[0].deadline, jobs[0].steps, jobs[0].claim) =
        (
            IBroker.Status.WaitingForResolution,
            uint48(block.number + WINDOW),
            STEPS,
            keccak256(abi.encodePacked(true, wrong))
        );
    }

    function _one(IBroker.Job memory job) internal pure returns (IBroker.Job[] memory jobs) {
        jobs = new IBroker.Job[](1);
        jobs[0] = job;
    }

    function _assertHeld(IBroker.Job memory job) internal view {
        vm.assertEq(broker.jobHash(job.id), keccak256(abi.encode(job)), "the job stands at these fields");
    }

    // ---------------------------------------------------------------------------------------
    // The request
    // ---------------------------------------------------------------------------------------

    function test_requestCompactBatch_HoldsEachJobAsTheHashOfItsFields() public {
        _request(counterId, _counterInput(1));
        IBroker.RequestOptions memory options = _options();
        vm.expectEmit(address(broker));
        emit IBroker.CompactBatch(2, 3);
        for (uint256 k = 0; k < 3; ++k) {
            vm.expectEmit(address(broker));
            emit IBroker.Created(2 + k, counterId, requester);
            vm.expectEmit(address(broker));
            emit IBroker.RequestInput(
                2 + k, _input(k), PAYMENT, options.maxSteps, 0, uint32(WINDOW), IBroker.DisputeMode.Bisection, 0
            );
        }
        IBroker.Job[] memory jobs = _requestJobs(3);

        vm.assertEq(jobs[0].id, 2);
        vm.assertEq(broker.requestCount(), 4);
        for (uint256 k = 0; k < 3; ++k) {
            _assertHeld(jobs[k]);
            vm.expectRevert(abi.encodeWithSelector(IBroker.HeldAsJob.selector, jobs[k].id));
            broker.getRequest(jobs[k].id);
            vm.expectRevert(abi.encodeWithSelector(IBroker.HeldAsJob.selector, jobs[k].id));
            broker.requiredDeposit(jobs[k].id);
            vm.assertEq(broker.requiredJobDeposit(jobs[k]), broker.requiredDeposit(1), "a request's deposit");
        }
        vm.assertEq(broker.jobHash(1), bytes32(0), "a stored request is no job");
        vm.assertEq(address(broker).balance, 4 * PAYMENT);
        vm.assertEq(requester.balance, FUNDS - 4 * PAYMENT);
    }

    function test_requestCompactBatch_RevertWhen_PaymentDoesNotSplitEvenly() public {
        bytes[] memory inputs = new bytes[](3);
        IBroker.RequestOptions memory options = _options();
        vm.expectRevert(abi.encodeWithSelector(IBroker.BatchPaymentUneven.selector, PAYMENT + 1, 3));
        vm.prank(requester);
        broker.requestCompactBatch{value: PAYMENT + 1}(counterId, inputs, WINDOW, options);
        vm.expectRevert(abi.encodeWithSelector(IBroker.BatchPaymentUneven.selector, 0, 0));
        vm.prank(requester);
        broker.requestCompactBatch(counterId, new bytes[](0), WINDOW, options);
    }

    /// One bad input refuses the whole batch: nothing is requested, nothing is kept.
    function test_requestCompactBatch_RevertWhen_AnInputIsBad_AndNothingIsKept() public {
        bytes[] memory inputs = new bytes[](2);
        inputs[1] = new bytes(broker.MAX_INPUT_BYTES() + 1);
        IBroker.RequestOptions memory options = _options();
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.InputTooLarge.selector, inputs[1].length, broker.MAX_INPUT_BYTES())
        );
        vm.prank(requester);
        broker.requestCompactBatch{value: 2 * PAYMENT}(counterId, inputs, WINDOW, options);
        vm.assertEq(broker.requestCount(), 0);
        vm.assertEq(broker.jobHash(1), bytes32(0));
        vm.assertEq(address(broker).balance, 0);
    }

    /// The terms are checked as a request's are.
    function test_requestCompactBatch_RevertWhen_TermsAreBad() public {
        bytes[] memory inputs = new bytes[](1);
        IBroker.RequestOptions memory options = _options();
        vm.expectRevert(abi.encodeWithSelector(IBroker.UnknownProgram.selector, bytes32(uint256(7))));
        vm.prank(requester);
        broker.requestCompactBatch{value: PAYMENT}(bytes32(uint256(7)), inputs, WINDOW, options);
        vm.expectRevert(abi.encodeWithSelector(IBroker.WindowOutOfRange.selector, 0, 1, type(uint32).max));
        vm.prank(requester);
        broker.requestCompactBatch{value: PAYMENT}(counterId, inputs, 0, options);
    }

    // ---------------------------------------------------------------------------------------
    // The happy path: commit, reveal, settle
    // ---------------------------------------------------------------------------------------

    function test_jobs_CommitRevealSettle_PaysTheHost_AndClearsEachWord() public {
        IBroker.Job[] memory jobs = _requestJobs(3);
        uint256 deposit = broker.requiredJobDeposit(jobs[0]);
        _commit(jobs, host);
        for (uint256 k = 0; k < 3; ++k) {
            _assertHeld(jobs[k]);
        }
        vm.assertEq(host.balance, FUNDS - 3 * deposit);
        vm.roll(block.number + 1);
        _reveal(jobs);
        for (uint256 k = 0; k < 3; ++k) {
            _assertHeld(jobs[k]);
        }
        vm.assertEq(broker.recordOf(host).answered, 3);

        // Before the window ends a stranger settles nothing.
        vm.prank(stranger);
        vm.assertEq(broker.settleJobs(jobs), 0);
        _rollPast(jobs[0].deadline);
        for (uint256 k = 0; k < 3; ++k) {
            vm.expectEmit(address(broker));
            emit IBroker.SoftResolved(jobs[k].id, stranger);
            vm.expectEmit(address(broker));
            emit IBroker.Credited(host, jobs[k].id, PAYMENT, IBroker.CreditReason.Payment);
            vm.expectEmit(address(broker));
            emit IBroker.Credited(host, jobs[k].id, deposit, IBroker.CreditReason.DepositReturned);
            vm.expectEmit(address(broker));
            emit IBroker.Finalized(jobs[k].id, host, PAYMENT + deposit);
        }
        vm.prank(stranger);
        vm.assertEq(broker.settleJobs(jobs), 3);

        for (uint256 k = 0; k < 3; ++k) {
            vm.assertEq(broker.jobHash(jobs[k].id), bytes32(0), "cleared");
            vm.expectRevert(abi.encodeWithSelector(IBroker.NoSuchRequest.selector, jobs[k].id));
            broker.getRequest(jobs[k].id);
        }
        // Settled once: the same fields again pay nothing.
        vm.prank(stranger);
        vm.assertEq(broker.settleJobs(jobs), 0);
        vm.assertEq(broker.recordOf(host).paid, 3);
        vm.assertEq(_withdrawAll(host), 3 * (PAYMENT + deposit));
        vm.assertEq(host.balance, FUNDS + 3 * PAYMENT);
        vm.assertEq(requester.balance, FUNDS - 3 * PAYMENT);
        vm.assertEq(stranger.balance, FUNDS);
        vm.assertEq(broker.balanceOf(requester), 0);
        vm.assertEq(address(broker).balance, 0);
    }

    function test_settleJobs_TheRequesterAcceptsWithinTheWindow() public {
        (IBroker.Job[] memory jobs, uint256 deposit) = _answeredJobs(1);
        vm.prank(requester);
        vm.assertEq(broker.settleJobs(jobs), 1);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit);
        vm.assertEq(address(broker).balance, 0);
    }

    /// Fields that are not the job's (a higher payment, another host) settle nothing and move
    /// no money, even past the window.
    function test_settleJobs_SkipsFieldsTheJobDoesNotStandAt() public {
        (IBroker.Job[] memory jobs, uint256 deposit) = _answeredJobs(1);
        _rollPast(jobs[0].deadline);
        IBroker.Job memory forged = _copy(jobs[0]);
        forged.payment = uint96(2 * PAYMENT);
        vm.prank(stranger);
        vm.assertEq(broker.settleJobs(_one(forged)), 0);
        forged = _requestJobs(1)[0];
        forged.id = jobs[0].id;
        vm.prank(stranger);
        vm.assertEq(broker.settleJobs(_one(forged)), 0);
        vm.assertEq(broker.balanceOf(host), 0);
        vm.assertEq(address(broker).balance, 2 * PAYMENT + deposit);
        vm.prank(stranger);
        vm.assertEq(broker.settleJobs(jobs), 1);
        vm.assertEq(broker.balanceOf(host), PAYMENT + deposit);
    }

    /// A second host that commits on the same fields was too late: its job is skipped and its
    /// deposit credited back, the batch does not fail.
    function test_commitJobs_SkipsAJobAnotherHostTook_AndCreditsItsDeposit() public {
        IBroker.Job[] memory jobs = _requestJobs(2);
        IBroker.Job[] memory stale = new IBroker.Job[](2);
        stale[0] = jobs[0];
        stale[1] = jobs[1];
        uint256 deposit = broker.requiredJobDeposit(jobs[0]);
        IBroker.Job[] memory first = _one(jobs[0]);
        _commit(first, host);
        bytes32[] memory cs = _commitments(stale, stranger);
        vm.prank(stranger);
        vm.expectEmit(address(broker));
        emit IBroker.Credited(stranger, jobs[0].id, deposit, IBroker.CreditReason.Surplus);
        vm.assertEq(broker.commitJobs{value: 2 * deposit}(stale, cs), 1);
        vm.assertEq(broker.balanceOf(stranger), deposit);
        vm.assertEq(stranger.balance, FUNDS - 2 * deposit);
        _assertHeld(first[0]);
        vm.assertEq(address(broker).balance, 2 * PAYMENT + 3 * deposit);
    }

    function test_commitJobs_RevertWhen_DepositTooLow_OrLengthsDiffer_OrEmpty() public {
        IBroker.Job[] memory jobs = _requestJobs(2);
        uint256 deposits = _deposits(jobs);
        bytes32[] memory cs = _commitments(jobs, host);
        vm.expectRevert(abi.encodeWithSelector(IBroker.DepositTooLow.selector, deposits - 1, deposits));
        vm.prank(host);
        broker.commitJobs{value: deposits - 1}(jobs, cs);
        vm.expectRevert(abi.encodeWithSelector(IBroker.BatchLengthMismatch.selector, 2, 1));
        vm.prank(host);
        broker.commitJobs{value: deposits}(jobs, new bytes32[](1));
        vm.expectRevert(IBroker.EmptyBatch.selector);
        vm.prank(host);
        broker.commitJobs(new IBroker.Job[](0), new bytes32[](0));
        _assertHeld(jobs[0]);
        _assertHeld(jobs[1]);
    }

    /// Host admission holds for jobs: a host without the record is skipped, its deposit back.
    function test_commitJobs_HostAdmissionSkipsAHostWithoutTheRecord() public {
        bytes[] memory inputs = new bytes[](1);
        inputs[0] = _input(0);
        IBroker.RequestOptions memory options = _options();
        options.minHostJobs = 1;
        vm.prank(requester);
        uint256 id = broker.requestCompactBatch{value: PAYMENT}(counterId, inputs, WINDOW, options);
        IBroker.Job memory job;
        (job.id, job.programId, job.requester, job.inputHash) = (id, counterId, requester, keccak256(inputs[0]));
        (job.payment, job.maxSteps, job.softResolutionBlocks, job.minHostJobs) =
        (uint96(PAYMENT), options.maxSteps, uint32(WINDOW), 1);
        _assertHeld(job);
        uint256 deposit = broker.requiredJobDeposit(job);
        IBroker.Job[] memory jobs = _one(job);
        bytes32[] memory cs = _commitments(jobs, host);
        vm.prank(host);
        vm.assertEq(broker.commitJobs{value: deposit}(jobs, cs), 0);
        vm.assertEq(broker.balanceOf(host), deposit);
        _assertHeld(job);
    }

    /// Only the committer reveals, before the deadline, on the fields the job stands at; a
    /// reveal that does not match its commitment reverts.
    function test_revealJobs_SkipsOthersAndLateOnes_RevertWhen_TheAnswerDoesNotMatch() public {
        IBroker.Job[] memory jobs = _requestJobs(1);
        _commit(jobs, host);
        IBroker.RevealedAnswer[] memory answers = _reveals(jobs);
        // A copier who saw the reveal in the mempool cannot take it.
        vm.prank(stranger);
        vm.assertEq(broker.revealJobs(jobs, answers), 0);
        // Answers paired with another job's id are skipped.
        answers[0].id = jobs[0].id + 1;
        vm.prank(host);
        vm.assertEq(broker.revealJobs(jobs, answers), 0);
        answers = _reveals(jobs);
        answers[0].salt = bytes32(0);
        bytes32 claim = keccak256(abi.encodePacked(true, answers[0].result));
        bytes32 computed = broker.answerCommitment(jobs[0].id, claim, answers[0].steps, host, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(IBroker.RevealMismatch.selector, jobs[0].id, computed, jobs[0].claim));
        vm.prank(host);
        broker.revealJobs(jobs, answers);
        // Past the deadline: skipped, to be expired.
        _rollPast(jobs[0].deadline);
        vm.prank(host);
        vm.assertEq(broker.revealJobs(jobs, _reveals(jobs)), 0);
        _assertHeld(jobs[0]);
        vm.expectRevert(abi.encodeWithSelector(IBroker.BatchLengthMismatch.selector, 1, 0));
        broker.revealJobs(jobs, new IBroker.RevealedAnswer[](0));
    }

    // ---------------------------------------------------------------------------------------
    // Off the happy path: hydrate, then the request's own calls
    // ---------------------------------------------------------------------------------------

    /// A hydrated job is the request the stored path would have made: same fields, field by
    /// field, as a `requestExecutionBatch` request answered the same way.
    function test_hydrate_StoresWhatTheStoredPathWould() public {
        IBroker.Job[] memory jobs = _requestJobs(1);
        bytes[] memory inputs = new bytes[](1);
        inputs[0] = _input(0);
        IBroker.RequestOptions memory options = _options();
        vm.prank(requester);
        uint256 stored = broker.requestExecutionBatch{value: PAYMENT}(counterId, inputs, WINDOW, options);
        uint256 deposit = broker.requiredDeposit(stored);
        bytes32 storedCommitment =
            broker.answerCommitment(stored, keccak256(abi.encodePacked(true, _result(0))), STEPS, host, SALT);
        _commit(jobs, host);
        vm.prank(host);
        broker.commitAnswer{value: deposit}(stored, storedCommitment);
        vm.roll(block.number + 1);
        _reveal(jobs);
        vm.prank(host);
        broker.revealAnswer(stored, _result(0), STEPS, true, SALT);

        vm.expectEmit(address(broker));
        emit IBroker.Hydrated(jobs[0].id, stranger);
        vm.prank(stranger);
        broker.hydrate(jobs[0], inputs[0]);
        vm.snapshotGasLastCall("hydrate_answeredJob");
        vm.assertEq(broker.jobHash(jobs[0].id), bytes32(0));
        IBroker.Request memory a = broker.getRequest(jobs[0].id);
        IBroker.Request memory b = broker.getRequest(stored);
        vm.assertEq(keccak256(abi.encode(a)), keccak256(abi.encode(b)), "the same request");
        vm.assertEq(broker.requiredDeposit(jobs[0].id), deposit);
        // Hydrated once: the fields are no longer a job's.
        bytes32 given = keccak256(abi.encode(jobs[0]));
        vm.expectRevert(abi.encodeWithSelector(IBroker.JobMismatch.selector, jobs[0].id, given, bytes32(0)));
        broker.hydrate(jobs[0], inputs[0]);
        vm.prank(stranger);
        vm.assertEq(broker.settleJobs(jobs), 0);
    }

    function test_hydrate_RevertWhen_TheFieldsOrTheInputAreNotTheJobs() public {
        IBroker.Job[] memory jobs = _requestJobs(1);
        IBroker.Job memory forged = _copy(jobs[0]);
        forged.payment = 1;
        bytes32 held = broker.jobHash(jobs[0].id);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.JobMismatch.selector, jobs[0].id, keccak256(abi.encode(forged)), held)
        );
        broker.hydrate(forged, _input(0));
        bytes memory other = _input(1);
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.InputMismatch.selector, jobs[0].id, keccak256(other), jobs[0].inputHash)
        );
        broker.hydrate(jobs[0], other);
        _assertHeld(jobs[0]);
    }

    /// A wrong answer on a job is challenged as any request's: the challenger hydrates it,
    /// challenges, and wins the dispute (here by the host's timeout); every balance after.
    function test_hydrate_ThenChallenge_TheChallengerWinsAndIsPaid() public {
        IBroker.Job[] memory jobs = _requestJobs(1);
        uint256 deposit = broker.requiredJobDeposit(jobs[0]);
        uint256 id = jobs[0].id;
        // The host commits to and reveals a wrong result.
        _answerWrong(jobs, deposit);

        // Without hydration the request's calls refuse the job, and say how to go on.
        vm.expectRevert(abi.encodeWithSelector(IBroker.HeldAsJob.selector, id));
        vm.prank(challenger);
        broker.challengeAnswer{value: deposit}(id, _result(0), STEPS);
        vm.prank(challenger);
        broker.hydrate(jobs[0], _input(0));
        _challenge(id, challenger, _result(0), STEPS);
        vm.prank(challenger);
        broker.initializeDispute(id);
        _claimTimeoutAfter(id, block.number + CLOCK, challenger, host);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.WaitingForResolution));
        vm.assertEq(broker.getRequest(id).host, challenger);
        _rollPast(broker.getRequest(id).deadline);
        uint256[] memory ids = new uint256[](1);
        ids[0] = id;
        vm.assertEq(broker.settle(ids), 1);

        uint256 reward = deposit / 2;
        vm.assertEq(_withdrawAll(challenger), PAYMENT + deposit + reward);
        vm.assertEq(_withdrawAll(requester), deposit - reward);
        vm.assertEq(_withdrawAll(host), 0);
        vm.assertEq(host.balance, FUNDS - deposit);
        vm.assertEq(challenger.balance, FUNDS + PAYMENT + reward);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + deposit - reward);
        vm.assertEq(address(broker).balance, 0);
    }

    /// A compact job in tournament mode, answered wrong, is hydrated and challenged as a stored
    /// tournament-mode request: the challenge opens its tournament (the Broker hands it to its
    /// module), the host's silence loses the game, and settlement and collection pay as for
    /// any tournament; every balance after.
    function test_hydrate_ThenChallenge_ATournamentModeJobIsATournament() public {
        IBroker.Job[] memory jobs = _requestJobsIn(1, IBroker.DisputeMode.Tournament);
        uint256 deposit = broker.requiredJobDeposit(jobs[0]);
        uint256 id = jobs[0].id;
        _answerWrong(jobs, deposit);

        vm.prank(challenger);
        broker.hydrate(jobs[0], _input(0));
        _challenge(id, challenger, _result(0), STEPS);
        IBrokerTournaments t = IBrokerTournaments(address(broker));
        vm.assertEq(t.getTournament(id).entries, 2, "the answer and the challenge");
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));
        // The host (the defender, to bisect first) never moves.
        vm.roll(block.number + CLOCK + 1);
        vm.prank(stranger);
        t.claimTimeout(id, t.gameKey(0, 1));
        _rollPast(t.getTournament(id).entryDeadline);
        vm.prank(stranger);
        t.settleTournament(id, 1);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Finalized));
        t.collectEntry(id, 0);
        t.collectEntry(id, 1);

        uint256 reward = deposit / 2;
        vm.assertEq(_withdrawAll(challenger), PAYMENT + deposit + reward);
        vm.assertEq(_withdrawAll(requester), deposit - reward);
        vm.assertEq(_withdrawAll(host), 0);
        vm.assertEq(challenger.balance, FUNDS + PAYMENT + reward);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + deposit - reward);
        vm.assertEq(address(broker).balance, 0);
    }

    /// A challenge to one job of a batch touches none of the others: they settle by their
    /// fields in one `settleJobs` (the challenged one, held as a request now, is skipped), and
    /// the challenged job keeps its own dispute and payout.
    function test_jobs_AChallengeToOneJobLeavesTheOthersToSettleOnTheirOwn() public {
        (IBroker.Job[] memory jobs, uint256 deposit) = _answeredJobs(3);
        uint256 disputed = jobs[1].id;
        vm.prank(challenger);
        broker.hydrate(jobs[1], _input(1));
        _challenge(disputed, challenger, _result(9), STEPS + 1); // a wrong challenge
        vm.assertEq(broker.jobHash(disputed), bytes32(0), "held as a request now");
        _assertHeld(jobs[0]);
        _assertHeld(jobs[2]);

        // Past the others' window: they are paid, the disputed one is skipped.
        _rollPast(jobs[0].deadline);
        vm.prank(stranger);
        vm.assertEq(broker.settleJobs(jobs), 2);
        vm.assertEq(broker.jobHash(jobs[0].id), bytes32(0));
        vm.assertEq(broker.jobHash(jobs[2].id), bytes32(0));
        vm.assertEq(uint8(_status(disputed)), uint8(IBroker.Status.NeedsResolution));

        // The challenger never starts its dispute: the host wins it, and a fresh window later
        // the disputed job pays the host too, with half the challenger's deposit.
        _claimTimeoutAfter(disputed, broker.getRequest(disputed).deadline, host, challenger);
        _rollPast(broker.getRequest(disputed).deadline);
        uint256[] memory ids = new uint256[](1);
        ids[0] = disputed;
        vm.assertEq(broker.settle(ids), 1);

        uint256 reward = deposit / 2;
        vm.assertEq(_withdrawAll(host), 3 * (PAYMENT + deposit) + reward);
        vm.assertEq(_withdrawAll(requester), deposit - reward);
        vm.assertEq(_withdrawAll(challenger), 0);
        vm.assertEq(host.balance, FUNDS + 3 * PAYMENT + reward);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - 3 * PAYMENT + deposit - reward);
        vm.assertEq(stranger.balance, FUNDS);
        vm.assertEq(address(broker).balance, 0);
    }

    /// A pending job is cancelled as a request is, once hydrated: the payment back.
    function test_hydrate_ThenCancel_RefundsTheRequester() public {
        IBroker.Job[] memory jobs = _requestJobs(2);
        vm.prank(requester);
        broker.hydrate(jobs[1], _input(1));
        vm.prank(requester);
        broker.cancelRequest(jobs[1].id);
        vm.assertEq(uint8(_status(jobs[1].id)), uint8(IBroker.Status.Cancelled));
        vm.assertEq(_withdrawAll(requester), PAYMENT);
        _assertHeld(jobs[0]);
        vm.assertEq(address(broker).balance, PAYMENT);
    }

    /// A commitment never revealed expires as a request's does, once hydrated: the host's
    /// deposit to the requester, the request Pending again and open to another host.
    function test_hydrate_ThenExpire_TheRequesterTakesTheDeposit() public {
        IBroker.Job[] memory jobs = _requestJobs(1);
        uint256 deposit = broker.requiredJobDeposit(jobs[0]);
        _commit(jobs, host);
        _rollPast(jobs[0].deadline);
        vm.prank(stranger);
        broker.hydrate(jobs[0], _input(0));
        vm.prank(stranger);
        broker.expireCommitment(jobs[0].id);
        vm.assertEq(uint8(_status(jobs[0].id)), uint8(IBroker.Status.Pending));
        _answer(jobs[0].id, challenger, _result(0), STEPS);
        vm.prank(requester);
        broker.softResolveAnswer(jobs[0].id);
        broker.finalize(jobs[0].id);
        vm.assertEq(_withdrawAll(requester), deposit);
        vm.assertEq(_withdrawAll(challenger), PAYMENT + deposit);
        vm.assertEq(host.balance, FUNDS - deposit);
        vm.assertEq(address(broker).balance, 0);
    }

    function _copy(IBroker.Job memory job) internal pure returns (IBroker.Job memory) {
        return abi.decode(abi.encode(job), (IBroker.Job));
    }

    function _single(bytes32 c) internal pure returns (bytes32[] memory cs) {
        cs = new bytes32[](1);
        cs[0] = c;
    }

    /// The module's code runs only as the Broker's: called directly, it takes no jobs and no
    /// ether that nothing could pay out.
    function test_brokerJobs_RevertWhen_CalledDirectly() public {
        // The Broker's second contract creation (after BrokerDisputes) is its BrokerJobs.
        address jobsCode = vm.computeCreateAddress(address(broker), 2);
        vm.assertGt(jobsCode.code.length, 0);
        bytes[] memory inputs = new bytes[](1);
        IBroker.RequestOptions memory options = _options();
        vm.expectRevert(IBroker.NotDelegated.selector);
        vm.prank(requester);
        IBroker(jobsCode).requestCompactBatch{value: PAYMENT}(counterId, inputs, WINDOW, options);
        vm.expectRevert(IBroker.NotDelegated.selector);
        IBroker(jobsCode).settleJobs(new IBroker.Job[](0));
        vm.assertEq(jobsCode.balance, 0);
    }

    // ---------------------------------------------------------------------------------------
    // Gas
    // ---------------------------------------------------------------------------------------

    /// Execution gas per job of the whole happy path in batches of 20: request, commit,
    /// reveal, settle (accept and pay out), and the host's withdrawal. The request counter,
    /// the program and the host's record and balance are warm, as on a live Broker.
    function test_gas_CompactBatchOfTwenty_WholePath() public {
        IBroker.Job[] memory warm = _requestJobs(1);
        _commit(warm, host);
        _reveal(warm);
        vm.prank(requester);
        broker.settleJobs(warm);

        bytes[] memory inputs = new bytes[](20);
        for (uint256 k = 0; k < 20; ++k) {
            inputs[k] = _input(k);
        }
        IBroker.RequestOptions memory options = _options();
        vm.prank(requester);
        uint256 firstId = broker.requestCompactBatch{value: 20 * PAYMENT}(counterId, inputs, WINDOW, options);
        uint256 total = vm.snapshotGasLastCall("compact_request_batchOf20_total");
        IBroker.Job[] memory jobs = new IBroker.Job[](20);
        for (uint256 k = 0; k < 20; ++k) {
            jobs[k] = _copy(warm[0]);
            (jobs[k].id, jobs[k].inputHash) = (firstId + k, keccak256(inputs[k]));
            (jobs[k].status, jobs[k].deadline, jobs[k].host, jobs[k].steps, jobs[k].claim) =
            (IBroker.Status.Pending, 0, address(0), 0, bytes32(0));
        }
        _commit(jobs, host);
        total += vm.snapshotGasLastCall("compact_commit_batchOf20_total");
        vm.roll(block.number + 1);
        _reveal(jobs);
        total += vm.snapshotGasLastCall("compact_reveal_batchOf20_total");
        _rollPast(jobs[0].deadline);
        vm.prank(host);
        vm.assertEq(broker.settleJobs(jobs), 20);
        total += vm.snapshotGasLastCall("compact_settle_batchOf20_total");
        vm.prank(host);
        broker.withdraw();
        total += vm.snapshotGasLastCall("compact_withdraw");
        uint256 perJob = total / 20;
        vm.snapshotValue("compact_wholePath_batchOf20_perJob", perJob);
        vm.assertLe(perJob, 60_000, "the batch goal: 60,000 gas per job");
        vm.assertEq(address(broker).balance, 0);
    }
}

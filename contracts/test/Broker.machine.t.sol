// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Broker} from "../Broker.sol";
import {deployBroker} from "./utils/Fixtures.sol";
import {Factory} from "../Factory.sol";
import {IBroker} from "../interfaces/IBroker.sol";
import {Deposits} from "../libraries/Deposits.sol";
import {GameDriver} from "./utils/GameDriver.sol";
import {MockMachineProver} from "./utils/MockMachineProver.sol";

/// @notice Machine programs through the Broker: `c_0` from the input, bisection over machine
/// traces ending in the prover, every outcome with balances, and the typed refusals. The
/// prover here is a mock with a trace computable in Solidity (`MockMachineProver`); the real
/// prover is checked against the interpreter in `crates/verifier`, and both together on Anvil
/// in `anvil-tests`.
contract BrokerMachineTest is GameDriver {
    uint64 internal constant MAX_STEPS = 200;
    uint64 internal constant GAS_PRICE = 1 gwei;
    bytes32 internal constant WASM = keccak256("sha256.wasm");
    bytes32 internal constant CORE = keccak256("initial core");

    MockMachineProver internal mock;
    bytes32 internal machineId;
    bytes internal input = "hello, machine";
    /// @dev The step at which the honest trace halts.
    uint64 internal halt;

    function setUp() public override {
        super.setUp();
        mock = new MockMachineProver();
        factory = new Factory(address(mock));
        keccakChainId = _register(address(keccakChain), "keccak-chain", KECCAK_CHAIN_STEP_GAS);
        machineId = factory.registerMachineProgram(WASM, CORE, "ecm://sha256");
        broker = deployBroker(factory, ARITY, CLOCK);
        (, halt,) = _claimOf(_truth());
        vm.assertTrue(_truth().finals[halt] && halt >= 4 && halt + 10 < MAX_STEPS, "the fixture's trace halts early");
    }

    // ---------------------------------------------------------------------------------------
    // The machine's first state, as a reference computes it
    // ---------------------------------------------------------------------------------------

    /// @dev The input tree built in full, 256 leaves and 255 parents: the plain definition the
    /// Broker's sparse computation must agree with.
    function _naiveInputRoot(bytes memory data) internal pure returns (bytes32) {
        bytes32[] memory level = new bytes32[](256);
        for (uint256 i = 0; i < data.length; ++i) {
            level[i / 32] |= bytes32(data[i]) >> (8 * (i % 32));
        }
        for (uint256 width = 128; width > 0; width >>= 1) {
            for (uint256 k = 0; k < width; ++k) {
                level[k] = keccak256(abi.encodePacked(level[2 * k], level[2 * k + 1]));
            }
        }
        return level[0];
    }

    function _h0(bytes memory data) internal pure returns (bytes32) {
        bytes32 ioHash =
            keccak256(abi.encodePacked(_naiveInputRoot(data), uint32(data.length), bytes32(0), bytes32(0), uint32(0)));
        return keccak256(abi.encodePacked(CORE, ioHash));
    }

    function _pattern(uint256 length) internal pure returns (bytes memory data) {
        data = new bytes(length);
        for (uint256 i = 0; i < length; ++i) {
            data[i] = bytes1(uint8(i * 7 + 1));
        }
    }

    function _requestMachine(bytes memory data) internal returns (uint256 id) {
        return _requestWith(machineId, data, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.Bisection);
    }

    function _expectedCommitment(bytes memory data) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(false, _h0(data)));
    }

    /// A compact batch job on a machine program commits to the machine's first state when it
    /// is hydrated, as a stored request does at once.
    function test_hydrate_CommitsToTheMachinesFirstState() public {
        bytes[] memory inputs = new bytes[](2);
        (inputs[0], inputs[1]) = (_pattern(33), _pattern(8192));
        IBroker.RequestOptions memory options =
            IBroker.RequestOptions(MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.Bisection, 0);
        vm.prank(requester);
        uint256 firstId = broker.requestCompactBatch{value: 2 * PAYMENT}(machineId, inputs, WINDOW, options);
        for (uint256 k = 0; k < 2; ++k) {
            IBroker.Job memory job;
            (job.id, job.inputHash, job.programId, job.requester) =
            (firstId + k, keccak256(inputs[k]), machineId, requester);
            (job.payment, job.maxSteps, job.maxGasPrice, job.softResolutionBlocks) =
            (uint96(PAYMENT), MAX_STEPS, GAS_PRICE, uint32(WINDOW));
            broker.hydrate(job, inputs[k]);
            vm.assertEq(broker.getRequest(firstId + k).inputCommitment, _expectedCommitment(inputs[k]));
            vm.assertEq(broker.getRequest(firstId + k).maxStepGas, _requestOf(_requestMachine(inputs[k])).maxStepGas);
        }
    }

    function _requestOf(uint256 id) internal view returns (IBroker.Request memory) {
        return broker.getRequest(id);
    }

    function test_request_CommitsToTheMachinesFirstState() public {
        uint16[9] memory lengths = [uint16(0), 1, 31, 32, 33, 100, 4096, 8191, 8192];
        for (uint256 j = 0; j < lengths.length; ++j) {
            bytes memory data = _pattern(lengths[j]);
            uint256 id = _requestMachine(data);
            vm.assertEq(broker.getRequest(id).inputCommitment, _expectedCommitment(data));
        }
    }

    function testFuzz_request_CommitsToTheMachinesFirstState(bytes calldata data) public {
        vm.assume(data.length <= 8192);
        uint256 id = _requestMachine(data);
        vm.assertEq(broker.getRequest(id).inputCommitment, _expectedCommitment(data));
    }

    /// @dev The bytes after an input in calldata (ABI padding) are not part of it, whatever
    /// they hold: a caller cannot move `c_0` by dirtying them.
    function test_request_IgnoresDirtyAbiPadding() public {
        bytes memory data = "abc";
        bytes memory callData = abi.encodeWithSignature(
            "requestExecution(bytes32,bytes,uint256,(uint64,uint64,uint8,uint16))",
            machineId,
            data,
            WINDOW,
            IBroker.RequestOptions(MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.Bisection, 0)
        );
        // Head: selector, programId, offset, window, four option words; then length, data.
        uint256 dataAt = 4 + 32 * 8;
        vm.assertEq(uint256(bytes32(_slice(callData, dataAt - 32, 32))), 3);
        for (uint256 i = dataAt + 3; i < dataAt + 32; ++i) {
            callData[i] = 0xff;
        }
        vm.prank(requester);
        (bool ok,) = address(broker).call{value: PAYMENT}(callData);
        vm.assertTrue(ok);
        vm.assertEq(broker.getRequest(broker.requestCount()).inputCommitment, _expectedCommitment(data));
    }

    function _slice(bytes memory data, uint256 from, uint256 length) internal pure returns (bytes memory out) {
        out = new bytes(length);
        for (uint256 i = 0; i < length; ++i) {
            out[i] = data[from + i];
        }
    }

    function test_request_RevertWhen_FullExecutionMode() public {
        vm.expectRevert(
            abi.encodeWithSelector(IBroker.ModeUnsupported.selector, machineId, IBroker.DisputeMode.FullExecution)
        );
        vm.prank(requester);
        broker.requestExecution{value: PAYMENT}(
            machineId, input, WINDOW, IBroker.RequestOptions(MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.FullExecution, 0)
        );
        vm.assertEq(broker.requestCount(), 0);
    }

    function test_request_DepositSizedByTheMachineStepGas() public {
        uint256 id = _requestMachine(input);
        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.maxStepGas, factory.MACHINE_STEP_GAS());
        uint256 disputeGas = Deposits.BISECTION_FIXED_GAS + broker.roundsFor(MAX_STEPS) * Deposits.BISECTION_ROUND_GAS
            + factory.MACHINE_STEP_GAS();
        vm.assertEq(broker.requiredDeposit(id), PAYMENT + 2 * GAS_PRICE * disputeGas);
    }

    // ---------------------------------------------------------------------------------------
    // Traces of the mock machine
    // ---------------------------------------------------------------------------------------

    /// @dev The machine trace `0..MAX_STEPS` on `input`, honest if `lieAt == 0`; a liar's
    /// trace goes on from its altered point.
    function _machineView(uint256 lieAt, Lie lie) internal view returns (View memory v) {
        v.states = new bytes[](MAX_STEPS + 1);
        v.finals = new bool[](MAX_STEPS + 1);
        v.states[0] = abi.encodePacked(_h0(input));
        for (uint256 i = 1; i <= MAX_STEPS; ++i) {
            if (v.finals[i - 1]) {
                (v.states[i], v.finals[i]) = (v.states[i - 1], true);
            } else {
                bytes32 state = bytes32(v.states[i - 1]);
                (v.states[i], v.finals[i]) = mock.step(state, mock.proofFor(state));
            }
            if (i == lieAt) {
                if (lie == Lie.State) {
                    // A copy: a sticky point shares its bytes with the points before it.
                    bytes memory altered = bytes.concat(v.states[i]);
                    altered[altered.length - 1] ^= 0x01;
                    v.states[i] = altered;
                } else {
                    v.finals[i] = !v.finals[i];
                }
            }
        }
        v.cs = _commitments(v.states, v.finals);
    }

    function _truth() internal view returns (View memory) {
        return _machineView(0, Lie.State);
    }

    function _disputed(View memory d, View memory c) internal returns (uint256 id) {
        (bytes memory dr, uint64 ds, bool df) = _claimOf(d);
        (bytes memory cr, uint64 cs, bool cf) = _claimOf(c);
        id = _requestMachine(input);
        _answer(id, host, dr, ds, df);
        _challenge(id, challenger, cr, cs, cf);
    }

    /// @dev At the one step, whoever's view matches the agreed point reveals it, with the
    /// prover's proof for a running state.
    function _reveal(uint256 id, IBroker.Game memory g, View memory d, View memory c) internal override {
        View memory who = d.cs[g.lo] == g.cLo ? d : c;
        bytes memory state = who.states[g.lo];
        bool final_ = who.finals[g.lo];
        bytes memory proof = final_ ? bytes("") : mock.proofFor(bytes32(state));
        vm.prank(stranger);
        broker.proveMachineStep(id, final_, state, proof);
    }

    // ---------------------------------------------------------------------------------------
    // Outcomes with balances
    // ---------------------------------------------------------------------------------------

    function test_machine_HonestDefenderWins_AndIsPaid() public {
        View memory liar = _machineView(halt / 2, Lie.State);
        uint256 id = _disputed(_truth(), liar);
        uint256 deposit = broker.requiredDeposit(id);
        vm.assertTrue(_play(id, host, _truth(), challenger, liar));

        // The deposit's halves are counted by the dispute and credited at finalize.
        vm.assertEq(broker.balanceOf(host) + broker.balanceOf(requester) + broker.balanceOf(challenger), 0);
        vm.assertEq(broker.getRequest(id).hostWins, 1);
        vm.assertEq(broker.getRequest(id).disputes, 1);
        _settle(id);
        vm.assertEq(_withdrawAll(host), PAYMENT + deposit + deposit / 2);
        _withdrawAll(requester);
        vm.assertEq(host.balance, FUNDS + PAYMENT + deposit / 2);
        vm.assertEq(challenger.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + (deposit - deposit / 2));
        vm.assertEq(stranger.balance, FUNDS, "proving costs the prover gas only");
        vm.assertEq(address(broker).balance, 0);
    }

    function test_machine_HonestChallengerWins_AndIsPaid() public {
        View memory liar = _machineView(halt / 2, Lie.State);
        uint256 id = _disputed(liar, _truth());
        uint256 deposit = broker.requiredDeposit(id);
        vm.assertFalse(_play(id, host, liar, challenger, _truth()));

        IBroker.Request memory r = broker.getRequest(id);
        vm.assertEq(r.host, challenger, "the challenger's answer stands");
        vm.assertEq(r.claim, _truth().cs[halt]);
        vm.assertEq(r.steps, halt);
        _settle(id);
        vm.assertEq(_withdrawAll(challenger), PAYMENT + deposit + deposit / 2);
        _withdrawAll(requester);
        vm.assertEq(challenger.balance, FUNDS + PAYMENT + deposit / 2);
        vm.assertEq(host.balance, FUNDS - deposit);
        vm.assertEq(requester.balance, FUNDS - PAYMENT + (deposit - deposit / 2));
        vm.assertEq(address(broker).balance, 0);
    }

    /// @dev As `_reveal`, in tournament game `game`.
    function _proveInGame(uint256 id, uint256 game, IBroker.Game memory g, View memory d, View memory c)
        internal
        override
    {
        View memory who = d.cs[g.lo] == g.cLo ? d : c;
        bytes memory state = who.states[g.lo];
        bool final_ = who.finals[g.lo];
        bytes memory proof = final_ ? bytes("") : mock.proofFor(bytes32(state));
        vm.prank(stranger);
        tour().proveMachineStep(id, game, final_, state, proof);
    }

    /// A machine program's request in Tournament mode: the game ends in the machine prover's
    /// step, as in Bisection mode, and the honest challenger is paid.
    function test_machine_InATournamentTheHonestChallengerWins_AndIsPaid() public {
        View memory liar = _machineView(halt / 2, Lie.State);
        uint256 id = _requestWith(machineId, input, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.Tournament);
        (bytes memory result, uint64 steps, bool final_) = _claimOf(liar);
        _answer(id, host, result, steps, final_);
        (result, steps, final_) = _claimOf(_truth());
        _challenge(id, challenger, result, steps, final_);
        uint256 deposit = broker.requiredDeposit(id);
        vm.assertFalse(_playGame(id, tour().gameKey(1, 0), host, liar, challenger, _truth()), "the challenger wins");
        _rollPast(tour().getTournament(id).entryDeadline);
        tour().settleTournament(id, 1);
        vm.assertEq(broker.getRequest(id).claim, _truth().cs[halt]);
        tour().collectEntry(id, 0);
        tour().collectEntry(id, 1);
        vm.assertEq(_withdrawAll(challenger), PAYMENT + deposit + deposit / 2);
        vm.assertEq(broker.balanceOf(host), 0);
        vm.assertEq(_withdrawAll(requester), deposit - deposit / 2);
        vm.assertEq(address(broker).balance, 0);
    }

    /// The machine prover is for machine programs, in a tournament as in a single game.
    function test_tournament_proveMachineStep_RevertWhen_NotAMachineProgram() public {
        bytes memory chainInput = abi.encodePacked(_u64le(3), keccak256("seed"));
        uint256 id = _requestWith(keccakChainId, chainInput, 45, GAS_PRICE, IBroker.DisputeMode.Tournament);
        _answer(id, host, hex"aa", 3, true);
        _challenge(id, challenger, hex"bb", 3, true);
        uint256 game = tour().gameKey(1, 0);
        // Down to the one step [0, 1]: the defender bisects [0, 3] in three, the challenger
        // picks the first; its agreed point is the input.
        bytes32[] memory points = new bytes32[](2);
        vm.prank(host);
        tour().bisect(id, game, points);
        vm.prank(challenger);
        tour().selectSegment(id, game, points, 0);
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotAMachineProgram.selector, keccakChainId));
        tour().proveMachineStep(id, game, false, chainInput, "");
    }

    function _settle(uint256 id) internal {
        _rollPast(broker.getRequest(id).deadline);
        vm.prank(stranger);
        broker.softResolveAnswer(id);
        broker.finalize(id);
    }

    function testFuzz_machine_HonestSideWins(uint256 lieAt, bool defenderLies, bool flagLie) public {
        lieAt = bound(lieAt, 1, halt);
        View memory liar = _machineView(lieAt, flagLie ? Lie.FinalFlag : Lie.State);
        (bytes memory lr,, bool lf) = _claimOf(liar);
        (bytes memory tr,,) = _claimOf(_truth());
        // A lie that ends in the same claim is no dispute.
        vm.assume(keccak256(abi.encodePacked(lf, lr)) != keccak256(abi.encodePacked(true, tr)));
        uint256 id = defenderLies ? _disputed(liar, _truth()) : _disputed(_truth(), liar);
        bool defenderWon =
            defenderLies ? _play(id, host, liar, challenger, _truth()) : _play(id, host, _truth(), challenger, liar);
        vm.assertEq(defenderWon, !defenderLies);
        vm.assertEq(broker.getRequest(id).claim, _truth().cs[halt], "the true answer stands");
    }

    /// @dev A defender claiming the program halted later with another output: the game ends
    /// between two steps past the halt, where the agreed point is final and stepping it
    /// needs no proof (halted states are sticky).
    function test_machine_FinalAgreedPoint_NeedsNoProof() public {
        uint256 lieAt = halt + 5;
        View memory liar = _machineView(lieAt, Lie.State);
        uint256 id = _requestMachine(input);
        _answer(id, host, liar.states[lieAt], uint64(lieAt), true);
        (bytes memory tr,,) = _claimOf(_truth());
        _challenge(id, challenger, tr, halt, true);
        broker.initializeDispute(id);
        _toOneStep(id, liar, _truth());
        IBroker.Game memory g = broker.getGame(id);
        vm.assertEq(g.lo, lieAt - 1);
        vm.expectEmit(address(broker));
        emit IBroker.StepProven(id, uint64(lieAt), _truth().cs[lieAt], false);
        vm.prank(stranger);
        broker.proveMachineStep(id, true, _truth().states[lieAt - 1], "");
        vm.assertEq(broker.getRequest(id).host, challenger);
    }

    // ---------------------------------------------------------------------------------------
    // The one step: typed refusals that change nothing
    // ---------------------------------------------------------------------------------------

    /// @dev A dispute over a lie at the first step, at its one step: the agreed point is the
    /// running state `H_0`.
    function _atFirstStep() internal returns (uint256 id, View memory liar) {
        liar = _machineView(1, Lie.State);
        id = _disputed(liar, _truth());
        broker.initializeDispute(id);
        _toOneStep(id, liar, _truth());
        vm.assertEq(broker.getGame(id).lo, 0);
    }

    function test_proveMachineStep_RevertWhen_ProofRequired() public {
        (uint256 id,) = _atFirstStep();
        bytes memory h0 = abi.encodePacked(_h0(input));
        vm.expectRevert(abi.encodeWithSelector(IBroker.ProofRequired.selector, id));
        broker.proveStep(id, false, h0);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));
    }

    function test_proveMachineStep_BadProof_RevertsWithTheProversError_AndChangesNothing() public {
        (uint256 id,) = _atFirstStep();
        bytes32 h0 = _h0(input);
        IBroker.Game memory before = broker.getGame(id);
        vm.expectRevert(abi.encodeWithSelector(MockMachineProver.BadProof.selector, h0));
        broker.proveMachineStep(id, false, abi.encodePacked(h0), "not a proof");
        IBroker.Game memory afterwards = broker.getGame(id);
        vm.assertEq(afterwards.defenderClock, before.defenderClock);
        vm.assertEq(afterwards.turnStart, before.turnStart);
        vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.Resolving));

        // The right proof then decides: the liar defender loses.
        vm.prank(stranger);
        broker.proveMachineStep(id, false, abi.encodePacked(h0), mock.proofFor(h0));
        vm.assertEq(broker.getRequest(id).host, challenger);
    }

    function test_proveMachineStep_RevertWhen_WrongPreimage() public {
        (uint256 id,) = _atFirstStep();
        bytes32 other = keccak256("other");
        bytes32 revealed = keccak256(abi.encodePacked(false, other));
        bytes32 agreed = broker.getGame(id).cLo;
        bytes memory proof = mock.proofFor(other);
        vm.expectRevert(abi.encodeWithSelector(IBroker.PreimageMismatch.selector, revealed, agreed));
        broker.proveMachineStep(id, false, abi.encodePacked(other), proof);
    }

    /// @dev Both sides agreeing on a running point that is not a state hash (colluding, or a
    /// defender posting garbage its challenger accepted): no proof can step it, so the
    /// defender cannot win by proof and loses on its clock.
    function test_proveMachineStep_RevertWhen_MachineStateLength() public {
        uint256 k = halt / 2;
        View memory d = _truth();
        d.states[k] = abi.encodePacked(d.states[k], hex"00");
        d.cs = _commitments(d.states, d.finals);
        View memory c = _truth();
        c.states[k] = d.states[k];
        for (uint256 j = k + 1; j <= MAX_STEPS; ++j) {
            c.states[j] = hex"01";
        }
        c.cs = _commitments(c.states, c.finals);
        uint256 id = _requestMachine(input);
        _answer(id, host, d.states[halt], halt, true);
        _challenge(id, challenger, hex"02", halt, true);
        broker.initializeDispute(id);
        _toOneStep(id, d, c);
        vm.assertEq(broker.getGame(id).lo, k);
        vm.expectRevert(abi.encodeWithSelector(IBroker.MachineStateLength.selector, 33));
        broker.proveMachineStep(id, false, d.states[k], "");
    }

    function test_proveMachineStep_RevertWhen_NotAMachineProgram() public {
        bytes memory chainInput = abi.encodePacked(_u64le(5), keccak256("seed"));
        View memory t = _view(keccakChain, chainInput, 8, 0, Lie.State);
        View memory liar = _view(keccakChain, chainInput, 8, 3, Lie.State);
        uint256 id = _requestWith(keccakChainId, chainInput, 8, GAS_PRICE, IBroker.DisputeMode.Bisection);
        (bytes memory dr, uint64 ds, bool df) = _claimOf(liar);
        (bytes memory cr, uint64 cs, bool cf) = _claimOf(t);
        _answer(id, host, dr, ds, df);
        _challenge(id, challenger, cr, cs, cf);
        broker.initializeDispute(id);
        _toOneStep(id, liar, t);
        uint64 lo = broker.getGame(id).lo;
        vm.expectRevert(abi.encodeWithSelector(IBroker.NotAMachineProgram.selector, keccakChainId));
        broker.proveMachineStep(id, t.finals[lo], t.states[lo], "");
    }
}

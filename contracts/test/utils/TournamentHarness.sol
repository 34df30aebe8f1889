// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProgramTerms} from "../../BrokerTypes.sol";
import {IBroker} from "../../interfaces/IBroker.sol";
import {Bisection} from "../../libraries/Bisection.sol";
import {OneStep} from "../../libraries/OneStep.sol";
import {Tournament} from "../../libraries/Tournament.sol";

/// @notice One request's tournament with its moves, the way the Broker will run it: the
/// bisection moves and the one-step proof of a step program, over the tournament's games.
/// Money is left out: the tests check who is eliminated, who wins, and when it is over.
contract TournamentHarness {
    using Bisection for IBroker.Game;
    using Tournament for Tournament.State;

    Tournament.State internal t;
    ProgramTerms internal program;
    uint256 internal immutable arity;
    uint32 internal immutable clock;
    bytes32 internal inputCommitment;

    constructor(address execution, uint32 maxStepGas, uint256 arity_, uint32 clock_) {
        program = ProgramTerms({execution: execution, maxStepGas: maxStepGas, machine: false, index: 1});
        arity = arity_;
        clock = clock_;
    }

    /// @dev The sender answers: the tournament opens on its claim.
    function open(bytes32 c0, bytes32 claim, uint64 steps, uint256 window, uint256 startBlocks) external {
        inputCommitment = c0;
        t.open(msg.sender, claim, steps, block.number + window, startBlocks, clock);
    }

    function enter(bytes32 claim, uint64 steps) external returns (uint32) {
        return t.enter(msg.sender, claim, steps);
    }

    function challenge(uint32 challenger, uint32 defender) external returns (uint256) {
        return t.challenge(challenger, defender, inputCommitment, clock);
    }

    function bisect(uint256 key, bytes32[] calldata points) external {
        (IBroker.Game storage g, address defender,) = t.game(key);
        g.takeTurn(key, IBroker.Phase.Bisect, defender, false);
        g.bisect(points, arity);
    }

    function selectSegment(uint256 key, bytes32[] calldata points, uint256 index) external {
        (IBroker.Game storage g,, address challenger) = t.game(key);
        g.takeTurn(key, IBroker.Phase.Select, challenger, false);
        g.select(points, index);
    }

    function proveStep(uint256 key, bool final_, bytes calldata state) external {
        (IBroker.Game storage g,,) = t.game(key);
        g.takeTurn(key, IBroker.Phase.OneStep, address(0), true);
        OneStep.reveal(g, final_, state);
        bytes32 computed = OneStep.programStep(program, key, g.lo + 1, final_, state);
        t.decide(key, computed == g.cHi);
    }

    function claimTimeout(uint256 key) external returns (bool) {
        return t.timeout(key);
    }

    function forfeit(uint256 key) external returns (bool) {
        return t.forfeit(key);
    }

    function verdict() external view returns (bool over, bool decided, uint32 winner) {
        return t.verdict();
    }

    function getGame(uint256 key) external view returns (IBroker.Game memory) {
        return t.games[key];
    }

    function getMatch(uint256 key) external view returns (Tournament.Match memory) {
        return t.matches[key];
    }

    function entry(uint32 index) external view returns (Tournament.Entry memory) {
        return t.entries[index];
    }

    function deadlines() external view returns (uint256 entries, uint256 starts, uint256 end) {
        return (t.entryDeadline, t.startDeadline, t.endDeadline);
    }

    function counts() external view returns (uint32 entries, uint32 standingClaims) {
        return (t.count, t.standingClaims);
    }

    /// @dev Each entry's share and the requester's, each entry having held `deposit`.
    function shares(uint256 deposit) external view returns (uint256[] memory entries, uint256 requester) {
        entries = new uint256[](t.count);
        for (uint32 i = 0; i < t.count; ++i) {
            entries[i] = t.share(i, deposit);
        }
        requester = t.requesterShare(deposit);
    }

    function gameKey(uint32 a, uint32 b) external pure returns (uint256) {
        return Tournament.gameKey(a, b);
    }
}

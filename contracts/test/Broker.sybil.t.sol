// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Broker} from "../Broker.sol";
import {IBroker} from "../interfaces/IBroker.sol";
import {Fixtures} from "./utils/Fixtures.sol";

/// @notice A cheater's puppets take the challenge slot one after another (review finding 10,
/// in Bisection mode; Tournament mode bounds it, `Broker.tournament.t.sol`): each challenges in the block where the last one's timeout is claimed, as a contract
/// can, and never starts its dispute, so the honest challenger gets in only after all of them.
contract PuppetMaster {
    Broker internal immutable broker;

    constructor(Broker broker_) {
        broker = broker_;
    }

    /// @dev Ends the last puppet's challenge (if any) and challenges at once, in one transaction.
    function takeSlot(uint256 id, bytes calldata result, uint64 steps, bool claimLast) external payable {
        if (claimLast) broker.claimTimeout(id);
        broker.challengeAnswer{value: msg.value}(id, result, steps);
    }
}

/// @notice Measures the delay of Bisection mode, one game at a time, the baseline of Tournament
/// mode's (`test_sybilDelay_TournamentPuppetsCostGasNotTime`): with a clock of `CLOCK` blocks
/// each puppet holds the request `CLOCK + 1` blocks, at the price of half a deposit (the other
/// half goes back to the cheating host).
contract BrokerSybilDelayTest is Fixtures {
    uint64 internal constant STEPS = 5;

    /// @dev Blocks from the wrong answer until the honest challenger's challenge lands, with
    /// `puppets` puppets first; and what the cheater (host and puppets together) paid for it.
    function _delay(uint256 puppets) internal returns (uint256 blocks, uint256 cheaterCost) {
        uint256 id = _request(counterId, _counterInput(STEPS));
        uint256 deposit = broker.requiredDeposit(id);
        PuppetMaster master = new PuppetMaster(broker);
        _answer(id, host, _counterResult(STEPS + 1), STEPS); // wrong
        uint256 answeredAt = block.number;
        for (uint256 k = 0; k < puppets; ++k) {
            // A claim different from the answer (right or wrong matters not: it never plays).
            master.takeSlot{value: deposit}(id, _counterResult(STEPS + 2 + uint64(k)), STEPS, k > 0);
            vm.assertEq(uint8(_status(id)), uint8(IBroker.Status.NeedsResolution));
            // The honest challenger cannot get in while the puppet holds the slot.
            _expectWrongStatus(id, IBroker.Status.NeedsResolution, IBroker.Status.WaitingForResolution);
            vm.prank(challenger);
            broker.challengeAnswer{value: deposit}(id, _counterResult(STEPS), STEPS);
            _rollPast(broker.getRequest(id).deadline);
        }
        if (puppets > 0) broker.claimTimeout(id);
        _challenge(id, challenger, _counterResult(STEPS), STEPS);
        blocks = block.number - answeredAt;
        // The puppets' deposits, less the halves the host won from them (owed at finalize).
        cheaterCost = puppets * deposit - uint256(broker.getRequest(id).hostWins) * (deposit / 2);
    }

    function test_sybilDelay_InBisectionModeEachPuppetHoldsTheRequestAClock() public {
        uint256[3] memory counts = [uint256(1), 4, 16];
        uint256 deposit;
        for (uint256 k = 0; k < counts.length; ++k) {
            uint256 snapshot = vm.snapshotState();
            (uint256 blocks, uint256 cost) = _delay(counts[k]);
            deposit = broker.requiredDeposit(1);
            vm.snapshotValue(string.concat("sybilDelay_blocks_", vm.toString(counts[k]), "puppets"), blocks);
            // Linear in the puppets: the finding, measured. Tournament mode makes it bounded.
            vm.assertEq(blocks, counts[k] * (uint256(CLOCK) + 1));
            vm.assertEq(cost, counts[k] * (deposit - deposit / 2));
            vm.revertToState(snapshot);
        }
    }
}

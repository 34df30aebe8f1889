// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../../interfaces/IBroker.sol";
import {GameDriver} from "./GameDriver.sol";

/// @notice Bisection disputes over a keccak chain of 37 steps (45 allowed): the honest trace,
/// liars deviating from it at a chosen step, and requests answered and challenged from them.
abstract contract DisputeFixtures is GameDriver {
    uint64 internal constant LENGTH = 37; // keccak-chain length: final at step 37
    uint64 internal constant MAX_STEPS = 45;
    uint64 internal constant GAS_PRICE = 1 gwei;

    bytes internal input;
    View internal truth;

    function setUp() public override {
        super.setUp();
        input = abi.encodePacked(_u64le(LENGTH), keccak256("seed"));
        View memory t = _view(keccakChain, input, MAX_STEPS, 0, Lie.State);
        _store(t);
    }

    function _store(View memory t) internal {
        delete truth.states;
        delete truth.finals;
        delete truth.cs;
        for (uint256 i = 0; i < t.states.length; ++i) {
            truth.states.push(t.states[i]);
            truth.finals.push(t.finals[i]);
            truth.cs.push(t.cs[i]);
        }
    }

    function _truth() internal view returns (View memory) {
        return truth;
    }

    function _newRequest() internal returns (uint256) {
        return _requestWith(keccakChainId, input, MAX_STEPS, GAS_PRICE, IBroker.DisputeMode.Bisection);
    }

    /// @dev A request answered from `d` by the host and challenged from `c` by the challenger.
    function _disputed(View memory d, View memory c) internal returns (uint256 id) {
        id = _newRequest();
        (bytes memory dr, uint64 ds, bool df) = _claimOf(d);
        (bytes memory cr, uint64 cs, bool cf) = _claimOf(c);
        _answer(id, host, dr, ds, df);
        _challenge(id, challenger, cr, cs, cf);
    }

    function _lie(uint256 at, Lie lie) internal view returns (View memory) {
        return _view(keccakChain, input, MAX_STEPS, at, lie);
    }

    function _settleAfterWindow(uint256 id) internal {
        _rollPast(broker.getRequest(id).deadline);
        vm.prank(stranger);
        broker.softResolveAnswer(id);
        broker.finalize(id);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBroker} from "../../interfaces/IBroker.sol";

/// @notice A requester or host that is a contract, for the paths where the Broker sends ether.
abstract contract ContractActor {
    IBroker internal immutable _broker;

    constructor(IBroker broker_) {
        _broker = broker_;
    }

    function request(bytes32 programId, bytes calldata input, uint256 payment, uint256 window)
        external
        returns (uint256)
    {
        return _broker.requestExecution{value: payment}(programId, input, window);
    }

    function answer(uint256 id, bytes calldata result, uint64 steps) external payable {
        _broker.answerRequest{value: msg.value}(id, result, steps);
    }

    function cancel(uint256 id) external {
        _broker.cancelRequest(id);
    }

    function withdraw() external {
        _broker.withdraw();
    }

    function withdrawTo(address payable to) external {
        _broker.withdrawTo(to);
    }
}

/// @notice Re-enters the Broker from `receive` (by default calling `withdraw` again) and
/// records whether the Broker let it in.
contract Reentrant is ContractActor {
    uint256 public reentered;
    uint256 public reentryRejected;
    bytes internal _reentryCall = abi.encodeWithSignature("withdraw()");

    constructor(IBroker broker_) ContractActor(broker_) {}

    function setReentryTarget(bytes calldata data) external {
        _reentryCall = data;
    }

    receive() external payable {
        if (reentered > 0) return;
        ++reentered;
        (bool ok, bytes memory reason) = address(_broker).call(_reentryCall);
        if (!ok && bytes4(reason) == IBroker.Reentrancy.selector) ++reentryRejected;
    }
}

/// @notice Rejects every ether transfer.
contract Rejecting is ContractActor {
    constructor(IBroker broker_) ContractActor(broker_) {}

    receive() external payable {
        revert("no ether, thanks");
    }
}

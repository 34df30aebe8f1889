// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BrokerSettlement} from "./BrokerSettlement.sol";
import {ProgramTerms} from "./BrokerTypes.sol";
import {IBroker} from "./interfaces/IBroker.sol";
import {IFactory} from "./interfaces/IFactory.sol";

/// @title BrokerIntake
/// @notice What opening a request and taking part in one write besides the request itself: a
/// program's terms noted at its first request, an account's index at its first part. Shared by `Broker` and `BrokerJobs` (compact batches), which run in the same
/// storage.
abstract contract BrokerIntake is BrokerSettlement {
    /// @dev The parameters are `BrokerStorage`'s.
    constructor(IFactory factory_, uint256 arity_, uint32 clockBlocks_)
        BrokerSettlement(factory_, arity_, clockBlocks_)
    {}

    /// @dev The terms of program `programId` (noted by its first request: `_noteProgram`),
    /// checked with a request's (`_checkTerms`); and a machine program's initial core, zero
    /// for a step program.
    function _acceptTerms(
        bytes32 programId,
        uint256 softResolutionBlocks,
        IBroker.RequestOptions memory options,
        uint256 payment
    ) internal returns (ProgramTerms memory program, bytes32 initialCore) {
        program = _programTerms[programId];
        if (program.index == 0) program = _noteProgram(programId);
        _checkTerms(programId, program, softResolutionBlocks, options, payment);
        if (program.machine) initialCore = _initialCores[program.index];
    }

    /// @dev Copies program `programId`'s terms from the Factory, under the next index: once per
    /// program, by its first request (a registration never changes: the id binds it).
    function _noteProgram(bytes32 programId) internal returns (ProgramTerms memory program) {
        (address execution, uint32 maxStepGas, IFactory.ProgramKind kind) = _factory.stepInfo(programId);
        if (execution == address(0)) revert IBroker.UnknownProgram(programId);
        uint32 index = ++_programCount;
        program = ProgramTerms(execution, maxStepGas, kind == IFactory.ProgramKind.Machine, index);
        _programTerms[programId] = program;
        _programs[index] = program;
        _programIds[index] = programId;
        if (program.machine) _initialCores[index] = _factory.initialCoreOf(programId);
    }

    /// @dev `account`'s index (`_accountIndex`), given it now if it has none: the first
    /// request, answer or challenge of an account pays for its two words, once. The count
    /// would revert past 2^32 - 1 accounts, some 190 trillion gas of enrolments away.
    function _enrol(address account) internal returns (uint32 index) {
        index = _accountIndex[account];
        if (index != 0) return index;
        index = ++_accountCount;
        _accountIndex[account] = index;
        _accounts[index] = account;
    }

    /// @dev Takes `required` of the value sent as request `id`'s deposit; credits the rest.
    /// Reached from the payable answers and challenges of `Broker` and `BrokerTournaments`;
    /// `BrokerJobs` inherits it unused, which slither, per contract, reports.
    // slither-disable-next-line msg-value-in-nonpayable
    function _takeDeposit(uint256 id, uint256 required) internal {
        if (msg.value < required) revert IBroker.DepositTooLow(msg.value, required);
        if (msg.value > required) _credit(msg.sender, id, msg.value - required, IBroker.CreditReason.Surplus);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IFactory} from "./interfaces/IFactory.sol";

/// @title Factory
/// @notice Permissionless program registry.
contract Factory is IFactory {
    /// @notice The gas a machine program's step is given: a one-step proof's whole transaction
    /// in the worst case (a HALT revealing 8 KiB of output, under the EIP-7623 calldata floor),
    /// with room to spare. It sizes deposits only: the prover's call is not capped.
    uint32 public constant MACHINE_STEP_GAS = 500_000;

    /// @notice Bounds on a program's step gas: enough for a trivial step, and small enough that a
    /// one-step proof always fits in a block with room to spare.
    uint256 public constant MIN_STEP_GAS = 1_000;
    uint256 public constant MAX_STEP_GAS = 10_000_000;

    /// @notice The one-step prover of every machine program registered here. A prover fix is
    /// a new Factory, so a program id always means the same prover.
    address public immutable machineProver;

    /// @notice The opcodes a step program's code may not hold (bit `op` set): ADDRESS, BALANCE,
    /// ORIGIN, CALLER, GASPRICE, EXTCODESIZE/COPY/HASH, BLOCKHASH to BLOBBASEFEE (the block),
    /// SLOAD, SSTORE, TLOAD, TSTORE, CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2, STATICCALL,
    /// SELFDESTRUCT. GAS stays allowed: a step is always given exactly its `maxStepGas`, and
    /// with no state access its gas use depends on its arguments alone.
    uint256 public constant IMPURE_OPCODES = 0x8437000000000000000000000000000000000000303007ff9c0f000000000000;

    mapping(bytes32 programId => Program) internal _programs;
    bytes32[] internal _programIds;

    /// @param machineProver_ The machine prover (`contracts/machine/MachineProver.sol`).
    constructor(address machineProver_) {
        if (machineProver_.code.length == 0) revert NotAContract(machineProver_);
        machineProver = machineProver_;
    }

    /// @inheritdoc IFactory
    function registerProgram(address execution, bytes32 wasmHash, uint32 maxStepGas, string calldata metadataURI)
        external
        returns (bytes32 programId)
    {
        if (execution.code.length == 0) revert NotAContract(execution);
        if (wasmHash == bytes32(0)) revert ZeroWasmHash();
        _requirePure(execution);
        if (maxStepGas < MIN_STEP_GAS || maxStepGas > MAX_STEP_GAS) {
            revert StepGasOutOfRange(maxStepGas, MIN_STEP_GAS, MAX_STEP_GAS);
        }
        programId = programIdOf(execution, wasmHash, maxStepGas);
        if (_programs[programId].execution != address(0)) revert ProgramExists(programId);
        _programs[programId] = Program({
            execution: execution,
            maxStepGas: maxStepGas,
            kind: ProgramKind.Step,
            registrant: msg.sender,
            wasmHash: wasmHash,
            metadataURI: metadataURI,
            initialCore: bytes32(0)
        });
        _programIds.push(programId);
        emit ProgramRegistered(programId, execution, msg.sender, wasmHash, maxStepGas, metadataURI);
    }

    /// @inheritdoc IFactory
    function registerMachineProgram(bytes32 wasmHash, bytes32 initialCore, string calldata metadataURI)
        external
        returns (bytes32 programId)
    {
        if (wasmHash == bytes32(0)) revert ZeroWasmHash();
        if (initialCore == bytes32(0)) revert ZeroInitialCore();
        programId = machineProgramIdOf(wasmHash, initialCore);
        if (_programs[programId].execution != address(0)) revert ProgramExists(programId);
        _programs[programId] = Program({
            execution: machineProver,
            maxStepGas: MACHINE_STEP_GAS,
            kind: ProgramKind.Machine,
            registrant: msg.sender,
            wasmHash: wasmHash,
            metadataURI: metadataURI,
            initialCore: initialCore
        });
        _programIds.push(programId);
        emit MachineProgramRegistered(programId, wasmHash, msg.sender, initialCore, metadataURI);
    }

    /// @inheritdoc IFactory
    function programIdOf(address execution, bytes32 wasmHash, uint32 maxStepGas) public view returns (bytes32) {
        return keccak256(abi.encode(execution, execution.codehash, wasmHash, maxStepGas));
    }

    /// @dev Refuses code holding an impure opcode. The scan decodes the code as the EVM does
    /// (from byte 0, skipping PUSH immediates), and the EVM only jumps to JUMPDESTs found the
    /// same way, so every instruction the code can ever run is one the scan saw; bytes of a
    /// data section are scanned as instructions too, which can only refuse more.
    function _requirePure(address execution) internal view {
        bytes memory code = execution.code;
        uint256 length = code.length;
        uint256 impure = IMPURE_OPCODES;
        uint256 offset = 0;
        uint256 op = 0;
        bool found = false;
        assembly ("memory-safe") {
            let start := add(code, 0x20)
            for {} lt(offset, length) {} {
                op := byte(0, mload(add(start, offset)))
                if and(shr(op, impure), 1) {
                    found := 1
                    break
                }
                // PUSH1..PUSH32 (0x60..0x7f) carry 1..32 immediate bytes.
                let immediate := 0
                if and(gt(op, 0x5f), lt(op, 0x80)) { immediate := sub(op, 0x5f) }
                offset := add(offset, add(1, immediate))
            }
        }
        // forge-lint: disable-next-line(unsafe-typecast) -- a byte
        if (found) revert ImpureProgram(execution, offset, uint8(op));
    }

    /// @inheritdoc IFactory
    function machineProgramIdOf(bytes32 wasmHash, bytes32 initialCore) public view returns (bytes32) {
        return keccak256(abi.encode(machineProver, wasmHash, initialCore));
    }

    /// @inheritdoc IFactory
    function getProgram(bytes32 programId) external view returns (Program memory program) {
        program = _programs[programId];
        if (program.execution == address(0)) revert UnknownProgram(programId);
    }

    /// @inheritdoc IFactory
    function stepInfo(bytes32 programId)
        external
        view
        returns (address execution, uint32 maxStepGas, ProgramKind kind)
    {
        Program storage program = _programs[programId];
        return (program.execution, program.maxStepGas, program.kind);
    }

    /// @inheritdoc IFactory
    function initialCoreOf(bytes32 programId) external view returns (bytes32) {
        return _programs[programId].initialCore;
    }

    /// @inheritdoc IFactory
    function executionOf(bytes32 programId) external view returns (address) {
        return _programs[programId].execution;
    }

    /// @inheritdoc IFactory
    function programCount() external view returns (uint256) {
        return _programIds.length;
    }

    /// @inheritdoc IFactory
    function programAt(uint256 index) external view returns (bytes32) {
        return _programIds[index];
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IFactory
/// @notice A permissionless registry of programs, of two kinds:
/// - a **step program** is a pair of implementations of one step function: an Execution
///   contract (EVM) and a WASM module identified by the keccak256 of its bytes. Disputes only
///   ever `staticcall` its `step` (a one-step proof, or the Broker's full re-execution loop);
/// - a **machine program** is data: a stock WASM module (its keccak256) and the initial state
///   of ecm's WASM machine it lowers to (`initialCore`: code, table, memory and globals). Its
///   disputes end in one step of the Factory's machine prover, fixed at deployment, so its
///   behaviour cannot change once registered.
interface IFactory {
    /// @notice What a program is made of.
    enum ProgramKind {
        /// An Execution contract and a WASM module implementing one step function.
        Step,
        /// A WASM module run by ecm's machine, proven by the machine prover.
        Machine
    }

    /// @notice What the registry knows of a program.
    struct Program {
        /// The Execution implementation whose `step` defines a step program on-chain; the
        /// machine prover for a machine program.
        address execution;
        /// The gas one step is given, on-chain and in disputes (a machine program's step is
        /// a proof, given `MACHINE_STEP_GAS`).
        uint32 maxStepGas;
        /// Step or machine program.
        ProgramKind kind;
        /// Who registered it (informational: programs have no owner).
        address registrant;
        /// keccak256 of the WASM module that implements the same step function off-chain.
        bytes32 wasmHash;
        /// Where to find the module and its documentation (e.g. an ipfs:// or https:// URI).
        string metadataURI;
        /// A machine program's initial state without its input: `keccak(core_0)` of the
        /// lowered module (zero for a step program). `ecm program check` re-lowers the module
        /// and compares.
        bytes32 initialCore;
    }

    /// @notice A program with this id is already registered.
    error ProgramExists(bytes32 programId);
    /// @notice No program with this id is registered.
    error UnknownProgram(bytes32 programId);
    /// @notice The execution address has no code: deploy the Execution contract first.
    error NotAContract(address execution);
    /// @notice `maxStepGas` must lie in `[min, max]`.
    error StepGasOutOfRange(uint256 maxStepGas, uint256 min, uint256 max);
    /// @notice The WASM module hash must not be zero.
    error ZeroWasmHash();
    /// @notice The Execution contract's code holds `opcode` at byte `offset`, an instruction
    /// that reads storage, the environment or other accounts, or calls out: a step must be a
    /// function of its arguments alone, or it could change behaviour after an answer. Build
    /// the step without them (a constant kept in a data section can look like one: make it a
    /// number literal, which the compiler keeps in the code).
    error ImpureProgram(address execution, uint256 offset, uint8 opcode);
    /// @notice A machine program's initial core must not be zero: lower the module with
    /// `ecm program deploy` (or `Program::initial_core` in `ecm-machine`).
    error ZeroInitialCore();

    /// @notice A program was registered.
    event ProgramRegistered(
        bytes32 indexed programId,
        address indexed execution,
        address indexed registrant,
        bytes32 wasmHash,
        uint32 maxStepGas,
        string metadataURI
    );
    /// @notice A machine program was registered; its prover is the Factory's `machineProver()`.
    event MachineProgramRegistered(
        bytes32 indexed programId,
        bytes32 indexed wasmHash,
        address indexed registrant,
        bytes32 initialCore,
        string metadataURI
    );

    /// @notice Registers a program. The id is `programIdOf(execution, wasmHash, maxStepGas)`, so
    /// the same pair of implementations with the same step gas is one program for everyone.
    /// The Execution contract's code must be pure (`ImpureProgram`): no instruction of it may
    /// read storage (its own, transient or any other account's), the block or the transaction,
    /// or call or create anything, so its `step` is a function of `(i, prior)` and its gas
    /// alone, on-chain as in the agents' revm, before and after any answer.
    function registerProgram(address execution, bytes32 wasmHash, uint32 maxStepGas, string calldata metadataURI)
        external
        returns (bytes32 programId);

    /// @notice Registers a machine program: the module with keccak256 `wasmHash`, lowered to
    /// the machine state `initialCore`. The id is `machineProgramIdOf(wasmHash, initialCore)`,
    /// which binds the Factory's prover. The chain cannot check that the module lowers to
    /// `initialCore`; hosts re-lower it and refuse a mismatch (`ecm program check`).
    function registerMachineProgram(bytes32 wasmHash, bytes32 initialCore, string calldata metadataURI)
        external
        returns (bytes32 programId);

    /// @notice The id a program with these parameters has (registered or not):
    /// `keccak256(abi.encode(execution, execution.codehash, wasmHash, maxStepGas))`, binding the
    /// code the agents check.
    function programIdOf(address execution, bytes32 wasmHash, uint32 maxStepGas) external view returns (bytes32);

    /// @notice The id a machine program with this module and initial core has (registered or
    /// not): `keccak256(abi.encode(machineProver(), wasmHash, initialCore))`.
    function machineProgramIdOf(bytes32 wasmHash, bytes32 initialCore) external view returns (bytes32);

    /// @notice The one-step prover of every machine program registered here.
    function machineProver() external view returns (address);

    /// @notice The whole program record; reverts `UnknownProgram` if there is none.
    function getProgram(bytes32 programId) external view returns (Program memory);

    /// @notice The three fields the Broker needs to step a program, in one storage read;
    /// `execution` is zero for an unknown program.
    function stepInfo(bytes32 programId) external view returns (address execution, uint32 maxStepGas, ProgramKind kind);

    /// @notice A machine program's initial core (zero for a step or unknown program).
    function initialCoreOf(bytes32 programId) external view returns (bytes32);

    /// @notice The program's Execution implementation (zero for an unknown program).
    function executionOf(bytes32 programId) external view returns (address);

    /// @notice The number of programs registered, and the id of the `index`-th.
    function programCount() external view returns (uint256);
    function programAt(uint256 index) external view returns (bytes32);
}

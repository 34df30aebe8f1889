// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IFactory
/// @notice A permissionless registry of programs. A program is a pair of implementations of one
/// step function: an Execution contract (EVM) and a WASM module identified by the keccak256 of
/// its bytes. The Factory also builds Execution instances (EIP-1167 clones) for full
/// re-execution disputes.
interface IFactory {
    /// @notice What the registry knows of a program.
    struct Program {
        /// The Execution implementation whose `step` defines the program on-chain.
        address execution;
        /// The gas one step is given, on-chain and in disputes.
        uint32 maxStepGas;
        /// Who registered it (informational: programs have no owner).
        address registrant;
        /// keccak256 of the WASM module that implements the same step function off-chain.
        bytes32 wasmHash;
        /// Where to find the module and its documentation (e.g. an ipfs:// or https:// URI).
        string metadataURI;
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

    /// @notice A program was registered.
    event ProgramRegistered(
        bytes32 indexed programId,
        address indexed execution,
        address indexed registrant,
        bytes32 wasmHash,
        uint32 maxStepGas,
        string metadataURI
    );
    /// @notice An Execution instance was built for `builder` (its controller).
    event InstanceBuilt(bytes32 indexed programId, address indexed instance, address indexed builder);

    /// @notice Registers a program. The id is `programIdOf(execution, wasmHash, maxStepGas)`, so
    /// the same pair of implementations with the same step gas is one program for everyone.
    function registerProgram(address execution, bytes32 wasmHash, uint32 maxStepGas, string calldata metadataURI)
        external
        returns (bytes32 programId);

    /// @notice Deploys a clone of the program's Execution implementation holding `input`, with
    /// the caller as its controller.
    function build(bytes32 programId, bytes calldata input) external returns (address instance);

    /// @notice The id a program with these parameters has (registered or not).
    function programIdOf(address execution, bytes32 wasmHash, uint32 maxStepGas) external pure returns (bytes32);

    /// @notice The whole program record; reverts `UnknownProgram` if there is none.
    function getProgram(bytes32 programId) external view returns (Program memory);

    /// @notice The two fields the Broker needs, in one storage read; `execution` is zero for an
    /// unknown program.
    function stepInfo(bytes32 programId) external view returns (address execution, uint32 maxStepGas);

    /// @notice The program's Execution implementation (zero for an unknown program).
    function executionOf(bytes32 programId) external view returns (address);

    /// @notice The number of programs registered, and the id of the `index`-th.
    function programCount() external view returns (uint256);
    function programAt(uint256 index) external view returns (bytes32);
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ProgramTerms, StoredRequest} from "../BrokerTypes.sol";
import {IBroker} from "../interfaces/IBroker.sol";
import {Deposits} from "./Deposits.sol";
import {MAX_STATE_BYTES, Trace} from "./Trace.sol";

/// @title Reexecution
/// @notice Full re-execution (ECM mode), run by the Broker itself: a program's registered
/// `step`, and nothing else of its code, applied step after step through `Trace.next` (each
/// step with its full `maxStepGas`, the halting rules of the one-step proof).
/// @dev ECM cloned the program's own instance contract and ran its `executeN`, so a registrant
/// could write an `executeN` that never progresses or an `initialize` that reverts (review
/// finding 2). Here the loop is the Broker's; the state travels in calldata against a stored
/// commitment, so a call costs its steps plus the state's bytes, and nothing of variable size
/// is ever stored or deleted.
library Reexecution {
    /// @dev Gas kept back per step beyond the step's own and the memory the step's call data
    /// and answer need: the loop's bookkeeping and the copy into the call data.
    uint256 internal constant STEP_MARGIN_GAS = 5_000;
    /// @dev Memory the steps of one call may take before it is reused (see `run`).
    uint256 internal constant MEMORY_REUSE_BYTES = 4096;

    /// @notice One `executeExecutable` call's progress.
    struct Progress {
        /// Steps this call ran.
        uint64 executed;
        /// Steps run in all.
        uint64 count;
        /// The state reached, and whether it is final.
        bytes state;
        bool final_;
        /// Whether the re-execution is over: a final state, or the request's `maxSteps`.
        bool finished;
        /// The commitment to the point reached.
        bytes32 reached;
    }

    /// @notice Runs up to `maxSteps` steps of request `r`'s program `program` from `state`, which must
    /// be the state at the re-execution's current point, never past the request's `maxSteps`,
    /// keeping `reserve` gas back; records the point reached. The caller refuses a call that
    /// ran no step and, unless the re-execution finished, sets its next deadline.
    function advance(
        IBroker.FullExecution storage fx,
        StoredRequest storage r,
        ProgramTerms memory program,
        uint256 maxSteps,
        bytes calldata state,
        uint256 reserve
    ) internal returns (Progress memory p) {
        Trace.checkPreimage(false, state, fx.commitment);
        uint64 done = fx.steps;
        (p.state, p.final_, p.executed) = _runFrom(r, program, done, state, maxSteps, reserve);
        p.count = done + p.executed;
        p.finished = p.final_ || p.count == r.maxSteps;
        p.reached = Trace.commit(p.final_, p.state);
        fx.commitment = p.reached;
        fx.steps = p.count;
    }

    /// @notice Records the reimbursement of a call's gas (`Deposits.reimbursement`, at the
    /// price `Deposits.reimbursedPrice` allows) out of what the loser will forfeit, at most half
    /// of `deposit` in all and only for calls that ran steps, and returns it for the caller to
    /// credit. `maxStepGas` is the program's.
    function reimburse(
        IBroker.FullExecution storage fx,
        StoredRequest storage r,
        uint256 maxStepGas,
        uint256 deposit,
        uint256 executed,
        uint256 stateBytes,
        uint256 gasUsed
    ) internal returns (uint256 amount) {
        uint256 reimbursed = fx.reimbursed;
        amount = Deposits.reimbursement(
            gasUsed,
            executed,
            stateBytes,
            maxStepGas,
            Deposits.reimbursedPrice(tx.gasprice, r.maxGasPrice, block.basefee),
            deposit / 2 - reimbursed
        );
        // forge-lint: disable-next-line(unsafe-typecast) -- at most half a deposit, which fits 96 bits (checked at request time)
        if (amount != 0) fx.reimbursed = uint96(reimbursed + amount);
    }

    /// @notice Runs steps `from + 1, from + 2, ...` of the program at `execution` on the
    /// non-final `state`: at most `n` of them, only while the next one, with the memory it may
    /// need, fits with `reserve` gas left over, and up to the first final state.
    /// @return next The state reached.
    /// @return final_ Whether it is final.
    /// @return executed The number of steps run (0 if not one fitted).
    function run(address execution, uint256 maxStepGas, uint64 from, bytes memory state, uint256 n, uint256 reserve)
        internal
        view
        returns (bytes memory next, bool final_, uint64 executed)
    {
        next = state;
        // Memory costs the square of its size, so the steps reuse it: a step's call data and
        // answer are put above the state it stepped and, once the memory above `base` exceeds
        // `MEMORY_REUSE_BYTES`, the answer is moved down to `base`, freeing the rest for the
        // next steps (small states are not worth the copy). So memory never grows beyond
        // `base` plus that, a state, and what one more step (its call data and answer) and the
        // caller (its commitment and event over the final state) need: what that could cost is
        // kept back once for every step.
        uint256 base;
        assembly ("memory-safe") {
            base := mload(0x40)
        }
        uint256 perStep = Trace.gasNeeded(maxStepGas) + STEP_MARGIN_GAS + reserve
            + memoryExpansionGas(MEMORY_REUSE_BYTES + 5 * (MAX_STATE_BYTES + 128));
        while (executed < n) {
            if (gasleft() < perStep) break;
            ++executed;
            (next, final_) = Trace.next(execution, maxStepGas, from + executed, false, next);
            // Not marked memory-safe: it lowers the free memory pointer (nothing in use lies
            // above `base` but `next`, the only state the loop keeps).
            assembly {
                if gt(sub(mload(0x40), base), MEMORY_REUSE_BYTES) {
                    let size := add(mload(next), 0x20)
                    mcopy(base, next, size)
                    next := base
                    mstore(0x40, and(add(add(base, size), 0x1f), not(0x1f)))
                }
            }
            if (final_) break;
        }
    }

    /// @notice The gas of growing memory by `bytes_` beyond what is allocated (the free memory
    /// pointer; EVM memory cost: `3 w + w^2 / 512` for `w` words).
    function memoryExpansionGas(uint256 bytes_) internal pure returns (uint256) {
        uint256 size;
        assembly ("memory-safe") {
            size := mload(0x40)
        }
        // Memory is paid in whole words.
        uint256 before = (size + 31) >> 5;
        uint256 after_ = before + ((bytes_ + 31) >> 5);
        return 3 * (after_ - before) + (after_ * after_) / 512 - (before * before) / 512;
    }

    /// @dev `run` on request `r`'s program `program` from step `done`, for at most `maxSteps`
    /// steps and never past the request's `maxSteps`.
    function _runFrom(
        StoredRequest storage r,
        ProgramTerms memory program,
        uint64 done,
        bytes calldata state,
        uint256 maxSteps,
        uint256 reserve
    ) private view returns (bytes memory, bool, uint64) {
        uint256 remaining = r.maxSteps - done;
        return
            run(
                program.execution, program.maxStepGas, done, state, maxSteps < remaining ? maxSteps : remaining, reserve
            );
    }
}

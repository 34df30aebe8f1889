// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Core, Instruction, MachineState, Outcome} from "./lib/MachineState.sol";
import {Io, MemoryProof} from "./lib/MemoryProof.sol";
import {ProofReader} from "./lib/ProofReader.sol";

/// @title ProverMemory
/// @notice Memory and I/O instructions (opcodes 0x20-0x3f): loads and stores (one or two
/// leaves), `memory.size`, `memory.grow`, and the restartable `memory.copy`, `memory.fill`,
/// `ecm.input_read` and `ecm.output`, which move one chunk (at most one leaf) per step; and
/// `ecm.input_len`, `ecm.log`. An opcode of this range the machine does not define traps.
/// @dev Semantics are `crates/machine/src/machine.rs`'s and `io.rs`'s, proof layouts `proof.rs`'s.
library ProverMemory {
    uint16 internal constant LAST_LOAD = 0x2b;
    uint16 internal constant LAST_STORE = 0x32;
    uint16 internal constant MEMORY_SIZE = 0x33;
    uint16 internal constant MEMORY_GROW = 0x34;
    uint16 internal constant MEMORY_COPY = 0x35;
    uint16 internal constant MEMORY_FILL = 0x36;
    uint16 internal constant INPUT_LEN = 0x38;
    uint16 internal constant INPUT_READ = 0x39;
    uint16 internal constant OUTPUT = 0x3a;
    uint16 internal constant LOG = 0x3b;

    uint256 internal constant PAGE_BYTES = 1 << 16;
    /// @dev 0x01 in every byte: a byte times this fills a word with it.
    uint256 internal constant BYTE_ONES = 0x0101010101010101010101010101010101010101010101010101010101010101;
    uint256 internal constant MAX_PAGES = 1024;
    /// @dev The most output a result may hold (`limits::MAX_OUTPUT_BYTES`).
    uint256 internal constant MAX_OUTPUT_BYTES = 8188;

    /// @notice Executes `inst` on `core` (changed in place and returned) and `ioHash`, reading
    /// what it needs from `proof`, the instruction's part of the step proof, which it must
    /// consume exactly; returns the outcome (never halted).
    function execute(Core memory core, bytes32 ioHash, Instruction memory inst, bytes calldata proof)
        internal
        pure
        returns (Core memory next, bytes32 nextIoHash, Outcome outcome, bytes memory)
    {
        next = core;
        nextIoHash = ioHash;
        uint16 op = inst.op;
        bool trapped = false;
        if (op <= LAST_LOAD) {
            trapped = _load(next, inst, proof);
        } else if (op <= LAST_STORE) {
            trapped = _store(next, inst, proof);
        } else if (op == MEMORY_SIZE || op == INPUT_LEN) {
            _push(next, ioHash, op, proof);
        } else if (op == MEMORY_GROW) {
            _grow(next, inst, proof);
        } else if (op == MEMORY_COPY || op == MEMORY_FILL) {
            trapped = _bulk(next, op, proof);
        } else if (op == INPUT_READ) {
            trapped = _inputRead(next, ioHash, proof);
        } else if (op == OUTPUT) {
            (trapped, nextIoHash) = _output(next, ioHash, proof);
        } else if (op == LOG) {
            (bytes32 rest, uint256 at) = MachineState.discard(next.valueStack, 2, proof, 0);
            ProofReader.requireConsumed(proof, at);
            next.valueStack = rest;
            next.pc += 1;
        } else {
            ProofReader.requireConsumed(proof, 0);
            trapped = true;
        }
        outcome = trapped ? Outcome.Trapped : Outcome.Running;
        return (next, nextIoHash, outcome, "");
    }

    /// @dev Bytes of memory.
    function _memoryBytes(Core memory core) private pure returns (uint256) {
        return uint256(core.pages) * PAGE_BYTES;
    }

    /// @dev `(width, signed, i64)` of a load.
    function _loadKind(uint16 op) private pure returns (uint256 width, bool signed, bool wide) {
        if (op == 0x20) return (4, false, false); // i32.load
        if (op == 0x21) return (8, false, true); // i64.load
        if (op <= 0x23) return (1, op == 0x22, false); // i32.load8_s/u
        if (op <= 0x25) return (2, op == 0x24, false); // i32.load16_s/u
        if (op <= 0x27) return (1, op == 0x26, true); // i64.load8_s/u
        if (op <= 0x29) return (2, op == 0x28, true); // i64.load16_s/u
        return (4, op == 0x2a, true); // i64.load32_s/u
    }

    /// @dev Bytes a store writes.
    function _storeWidth(uint16 op) private pure returns (uint256) {
        if (op == 0x2c || op == 0x32) return 4; // i32.store, i64.store32
        if (op == 0x2d) return 8; // i64.store
        if (op == 0x2e || op == 0x30) return 1; // i32.store8, i64.store8
        return 2; // i32.store16, i64.store16
    }

    /// @dev A load: pops the address; reads its one or two leaves; pushes the value.
    function _load(Core memory next, Instruction memory inst, bytes calldata proof) private pure returns (bool) {
        (uint256 width,,) = _loadKind(inst.op);
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, 1, proof, 0);
        uint256 ea = uint256(uint32(v[0])) + inst.a;
        if (ea + width > _memoryBytes(next)) {
            ProofReader.requireConsumed(proof, at);
            return true;
        }
        bytes32 chunk;
        (chunk, at) = _gather(proof, at, next.memoryRoot, ea, width);
        ProofReader.requireConsumed(proof, at);
        next.valueStack = MachineState.push(rest, _loadValue(chunk, inst.op));
        next.pc += 1;
        return false;
    }

    /// @dev The value a load pushes from its bytes (left-aligned in `chunk`, the rest zero,
    /// little-endian).
    function _loadValue(bytes32 chunk, uint16 op) private pure returns (uint64 result) {
        (uint256 width, bool signed, bool wide) = _loadKind(op);
        uint256 value = _reverse8(uint64(uint256(chunk) >> 192));
        if (signed && value >> (8 * width - 1) == 1) {
            // Sign-extend to 64 bits.
            value |= uint256(type(uint64).max) << (8 * width);
        }
        result = uint64(value);
        if (!wide) result = uint64(uint32(result));
    }

    /// @dev `x` with its 8 bytes in reverse order: little-endian to big-endian and back.
    function _reverse8(uint64 x) private pure returns (uint64) {
        x = ((x & 0x00ff00ff00ff00ff) << 8) | ((x >> 8) & 0x00ff00ff00ff00ff);
        x = ((x & 0x0000ffff0000ffff) << 16) | ((x >> 16) & 0x0000ffff0000ffff);
        return (x << 32) | (x >> 32);
    }

    /// @dev A store: pops the value and the address; writes one leaf, or across a leaf
    /// boundary the two leaves of a span, against the memory root.
    function _store(Core memory next, Instruction memory inst, bytes calldata proof) private pure returns (bool) {
        uint256 width = _storeWidth(inst.op);
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, 2, proof, 0);
        uint256 ea = uint256(uint32(v[0])) + inst.a;
        if (ea + width > _memoryBytes(next)) {
            ProofReader.requireConsumed(proof, at);
            return true;
        }
        // The value's bytes in memory order (little-endian), left-aligned.
        bytes32 bytes_ = bytes32(uint256(_reverse8(v[1])) << 192);
        uint256 first = _min(width, 32 - ea % 32);
        if (first == width) {
            at = _scatter(next, proof, at, bytes_, ea, width);
        } else {
            at = _scatterSpan(next, proof, at, bytes_, ea, width, first);
        }
        ProofReader.requireConsumed(proof, at);
        next.valueStack = rest;
        next.pc += 1;
        return false;
    }

    /// @dev `memory.size` pushes the pages; `ecm.input_len` reveals the I/O preimage and pushes
    /// the input's length.
    function _push(Core memory next, bytes32 ioHash, uint16 op, bytes calldata proof) private pure {
        uint64 value = next.pages;
        uint256 at = 0;
        if (op == INPUT_LEN) {
            Io memory io;
            (io, at) = MemoryProof.readIo(proof, 0, ioHash);
            value = io.inputLen;
        }
        ProofReader.requireConsumed(proof, at);
        next.valueStack = MachineState.push(next.valueStack, value);
        next.pc += 1;
    }

    /// @dev `memory.grow`: pops `delta`; grows and pushes the old size if the new size stays
    /// within the cap (`b`, at most 1,024 pages), else pushes -1 as an i32. New pages are zero,
    /// so only `pages` changes.
    function _grow(Core memory next, Instruction memory inst, bytes calldata proof) private pure {
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, 1, proof, 0);
        ProofReader.requireConsumed(proof, at);
        uint256 cap = uint32(inst.b) < MAX_PAGES ? uint32(inst.b) : MAX_PAGES;
        uint256 grown = uint256(next.pages) + uint32(v[0]);
        if (grown > cap) {
            next.valueStack = MachineState.push(rest, type(uint32).max);
        } else {
            next.valueStack = MachineState.push(rest, next.pages);
            next.pages = uint32(grown);
        }
        next.pc += 1;
    }

    /// @dev Whether `[start, start + n)` (n > 0) lies in one leaf.
    function _oneLeaf(uint256 start, uint256 n) private pure returns (bool) {
        return (start + n - 1) / 32 == start / 32;
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev One step of `memory.copy(dst, src, n)` or `memory.fill(dst, value, n)`: bounds
    /// checked at every step; with nothing left it pops its operands and goes on; a chunk that
    /// ends the operation does the same after moving it; any other chunk moves at most up to
    /// the next destination leaf boundary (forward), or from the last one (a backward copy,
    /// `dst > src`), and rewrites the operands.
    function _bulk(Core memory next, uint16 op, bytes calldata proof) private pure returns (bool) {
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, 3, proof, 0);
        uint256 size = _memoryBytes(next);
        if (
            uint256(uint32(v[0])) + uint32(v[2]) > size
                || (op == MEMORY_COPY && uint256(uint32(v[1])) + uint32(v[2]) > size)
        ) {
            ProofReader.requireConsumed(proof, at);
            return true;
        }
        if (uint32(v[2]) == 0) {
            ProofReader.requireConsumed(proof, at);
            next.valueStack = rest;
            next.pc += 1;
            return false;
        }
        uint256 c;
        (at, c) = _moveChunk(next, op, v, proof, at);
        ProofReader.requireConsumed(proof, at);
        // Only the last chunk moves all that is left.
        bool whole = c == uint32(v[2]);
        if (whole) {
            next.valueStack = rest;
            next.pc += 1;
        } else {
            next.valueStack = _rewrite(rest, op, v, c);
        }
        return false;
    }

    /// @dev Moves this step's chunk of a copy or fill into `next`'s memory; returns the offset
    /// after its leaves and its length.
    function _moveChunk(Core memory next, uint16 op, uint64[] memory v, bytes calldata proof, uint256 at)
        private
        pure
        returns (uint256, uint256)
    {
        uint256[3] memory plan = _plan(op, v);
        bytes32 chunk;
        if (op == MEMORY_COPY) {
            (chunk, at) = _gather(proof, at, next.memoryRoot, plan[1], plan[2]);
        } else {
            // A fill's chunk: its byte, everywhere.
            chunk = bytes32(uint256(uint8(v[1])) * BYTE_ONES);
        }
        return (_scatter(next, proof, at, chunk, plan[0], plan[2]), plan[2]);
    }

    /// @dev This step of a copy or fill over `v = (dst, src or value, n)`, n > 0: where it
    /// writes, where it reads (a copy's), and how many bytes. A chunk that does not end the
    /// operation is cut at the next leaf boundary of the destination (and of a copy's source),
    /// or for a backward copy (`dst > src`) at the last ones, counted from the end.
    function _plan(uint16 op, uint64[] memory v) private pure returns (uint256[3] memory plan) {
        uint256 dst = uint32(v[0]);
        uint256 src = uint32(v[1]);
        uint256 n = uint32(v[2]);
        if (op != MEMORY_COPY) return [dst, src, _oneLeaf(dst, n) ? n : _min(n, 32 - dst % 32)];
        if (_lastChunk(dst, src, n)) return [dst, src, n];
        if (dst <= src) return [dst, src, _min(n, _min(32 - dst % 32, 32 - src % 32))];
        uint256 c = _min(n, _min(_tail(dst + n), _tail(src + n)));
        return [dst + n - c, src + n - c, c];
    }

    /// @dev Bytes of the leaf a stream ending at `end` ends in: 32 at a leaf boundary.
    function _tail(uint256 end) private pure returns (uint256) {
        uint256 r = end % 32;
        return r == 0 ? 32 : r;
    }

    /// @dev The operands after a chunk of `c` bytes that does not end the operation: a forward
    /// copy advances both addresses, a fill its destination, a backward copy neither.
    function _rewrite(bytes32 rest, uint16 op, uint64[] memory v, uint256 c) private pure returns (bytes32) {
        bool backward = op == MEMORY_COPY && uint32(v[0]) > uint32(v[1]);
        uint64 dst = backward ? v[0] : v[0] + uint64(c);
        uint64 second = op == MEMORY_COPY && !backward ? v[1] + uint64(c) : v[1];
        return MachineState.push(MachineState.push(MachineState.push(rest, dst), second), v[2] - uint64(c));
    }

    /// @dev The `c` bytes of memory at `from` (one or two leaves, checked against `root`),
    /// left-aligned, the rest zero.
    function _gather(bytes calldata proof, uint256 at, bytes32 root, uint256 from, uint256 c)
        private
        pure
        returns (bytes32 chunk, uint256 next)
    {
        bytes32 low;
        bytes32 high = 0;
        if (_oneLeaf(from, c)) (low, at) = MemoryProof.checkLeaf(proof, at, root, from / 32);
        else (low, high, at) = MemoryProof.checkSpan(proof, at, root, from / 32);
        chunk = MemoryProof.span(low, high, from % 32, c);
        next = at;
    }

    /// @dev Writes the first `c` bytes of `chunk` at `to` (inside one leaf) into `next`'s memory;
    /// returns the offset after the leaf's path.
    function _scatter(Core memory next, bytes calldata proof, uint256 at, bytes32 chunk, uint256 to, uint256 c)
        private
        pure
        returns (uint256 end)
    {
        (bytes32 leaf, uint256 path) = MemoryProof.readLeaf(proof, at);
        bytes32 written = MemoryProof.moveBytes(chunk, 0, leaf, to % 32, c);
        (next.memoryRoot, end) = MemoryProof.writeLeaf(proof, path, next.memoryRoot, to / 32, leaf, written);
    }

    /// @dev Writes the first `width` bytes of `chunk` at `to`, across the leaf boundary `first`
    /// bytes in, into `next`'s memory, over a span; returns the offset after it.
    function _scatterSpan(
        Core memory next,
        bytes calldata proof,
        uint256 at,
        bytes32 chunk,
        uint256 to,
        uint256 width,
        uint256 first
    ) private pure returns (uint256) {
        bytes32[2] memory old;
        uint256 path;
        (old[0], old[1], path) = MemoryProof.readSpan(proof, at);
        bytes32[2] memory written = [
            MemoryProof.moveBytes(chunk, 0, old[0], to % 32, first),
            MemoryProof.moveBytes(chunk, first, old[1], 0, width - first)
        ];
        (next.memoryRoot, at) = MemoryProof.writeSpan(proof, path, next.memoryRoot, to / 32, old, written);
        return at;
    }

    /// @dev Steps `ecm.input_read` and `ecm.output` take over `n` bytes from two streams at
    /// `a` and `b` is one: whether this chunk ends the operation.
    function _lastChunk(uint256 a, uint256 b, uint256 n) private pure returns (bool) {
        if (a % 32 == b % 32) return _oneLeaf(a, n);
        return _oneLeaf(a, n) && _oneLeaf(b, n);
    }

    /// @dev One step of `ecm.input_read(dst, offset, n)`: bounds checked (memory, then input);
    /// a chunk cut at memory and input leaf boundaries moves from the input tree to memory.
    function _inputRead(Core memory next, bytes32 ioHash, bytes calldata proof) private pure returns (bool) {
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, 3, proof, 0);
        Io memory io;
        (io, at) = MemoryProof.readIo(proof, at, ioHash);
        uint256 dst = uint32(v[0]);
        uint256 offset = uint32(v[1]);
        uint256 n = uint32(v[2]);
        if (dst + n > _memoryBytes(next) || offset + n > io.inputLen) {
            ProofReader.requireConsumed(proof, at);
            return true;
        }
        if (n == 0) {
            ProofReader.requireConsumed(proof, at);
            next.valueStack = rest;
            next.pc += 1;
            return false;
        }
        (bool whole, uint256 c) = _ioChunk(dst, offset, n);
        bytes32 leaf;
        (leaf, at) = MemoryProof.readInputLeaf(proof, at, io.inputRoot, offset / 32);
        at = _scatter(next, proof, at, MemoryProof.moveBytes(leaf, offset % 32, 0, 0, c), dst, c);
        ProofReader.requireConsumed(proof, at);
        if (whole) {
            next.valueStack = rest;
            next.pc += 1;
        } else {
            next.valueStack = MachineState.push(
                MachineState.push(MachineState.push(rest, v[0] + uint64(c)), v[1] + uint64(c)), v[2] - uint64(c)
            );
        }
        return false;
    }

    /// @dev One step of `ecm.output(src, n)`: bounds checked (memory, then the output cap);
    /// a chunk cut at memory and output leaf boundaries is appended to the output, whose full
    /// 32-byte chunks fold into `outAcc`.
    function _output(Core memory next, bytes32 ioHash, bytes calldata proof)
        private
        pure
        returns (bool trapped, bytes32 nextIoHash)
    {
        nextIoHash = ioHash;
        (uint64[] memory v, bytes32 rest, uint256 at) = MachineState.pop(next.valueStack, 2, proof, 0);
        Io memory io;
        (io, at) = MemoryProof.readIo(proof, at, ioHash);
        if (
            uint256(uint32(v[0])) + uint32(v[1]) > _memoryBytes(next)
                || uint256(io.outLen) + uint32(v[1]) > MAX_OUTPUT_BYTES
        ) {
            ProofReader.requireConsumed(proof, at);
            return (true, ioHash);
        }
        if (uint32(v[1]) == 0) {
            ProofReader.requireConsumed(proof, at);
            next.valueStack = rest;
            next.pc += 1;
            return (false, ioHash);
        }
        uint256 c;
        (nextIoHash, c, at) = _emit(next.memoryRoot, io, v, proof, at);
        ProofReader.requireConsumed(proof, at);
        if (c == uint32(v[1])) {
            // The last chunk.
            next.valueStack = rest;
            next.pc += 1;
        } else {
            next.valueStack = MachineState.push(MachineState.push(rest, v[0] + uint64(c)), v[1] - uint64(c));
        }
        return (false, nextIoHash);
    }

    /// @dev Appends this step's chunk of `ecm.output(v[0], v[1])` (read from memory at `at`)
    /// to the output; returns the new I/O hash, the chunk's length and the offset after it.
    function _emit(bytes32 memoryRoot, Io memory io, uint64[] memory v, bytes calldata proof, uint256 at)
        private
        pure
        returns (bytes32, uint256 c, uint256)
    {
        (, c) = _ioChunk(uint32(v[0]), io.outLen, uint32(v[1]));
        bytes32 chunk;
        (chunk, at) = _gather(proof, at, memoryRoot, uint32(v[0]), c);
        return (_append(io, chunk, c), c, at);
    }

    /// @dev Whether this chunk of an operation over two streams at `a` and `b` with `n > 0`
    /// bytes left ends it, and its length: cut at both streams' leaf boundaries.
    function _ioChunk(uint256 a, uint256 b, uint256 n) private pure returns (bool whole, uint256 c) {
        whole = _lastChunk(a, b, n);
        c = whole ? n : _min(n, _min(32 - a % 32, 32 - b % 32));
    }

    /// @dev The I/O hash after appending the first `c` bytes of `chunk` to the output.
    function _append(Io memory io, bytes32 chunk, uint256 c) private pure returns (bytes32) {
        io.outBuf = MemoryProof.moveBytes(chunk, 0, io.outBuf, io.outLen % 32, c);
        io.outLen += uint32(c);
        if (io.outLen % 32 == 0) {
            io.outAcc = keccak256(abi.encodePacked(io.outAcc, io.outBuf));
            io.outBuf = 0;
        }
        return MemoryProof.hashIo(io);
    }
}

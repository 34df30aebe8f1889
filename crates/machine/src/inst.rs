//! The machine's instruction set and its 16-byte encoding.
//!
//! Each instruction is `opcode u16 | aux u16 | a u32 | b u64`, big-endian, so two fill one
//! 32-byte code leaf. Opcode 0 is [`Op::Trap`]: an all-zero leaf (a `pc` past the end of the
//! code) traps. Opcodes are grouped by the on-chain prover that executes them:
//!
//! ```text
//! 0x00..=0x1f  control   const, drop, select, locals, globals, branches, calls, halt
//! 0x20..=0x3f  memory    loads, stores, size, grow, copy, fill; input, output, log
//! 0x40..=0x8f  math      i32 and i64 arithmetic, comparisons, conversions, sign extension
//! ```
//!
//! The operands each instruction uses are documented on its variant; unused fields are zero.
//! Opcodes from 0x100 are the interpreter's internal superinstructions: never in a program.

use std::fmt;

macro_rules! ops {
    (
        $( $(#[$doc:meta])* $name:ident = $code:literal => $text:literal, )*
        @internal
        $( $(#[$idoc:meta])* $iname:ident = $icode:literal => $itext:literal, )*
    ) => {
        /// A machine opcode.
        #[repr(u16)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Op {
            $( $(#[$doc])* $name = $code, )*
            $( $(#[$idoc])* $iname = $icode, )*
        }

        impl Op {
            /// Every opcode a program's code may hold, in numeric order.
            pub const ALL: &'static [Op] = &[$(Op::$name,)*];

            /// The opcode with this number, if a program's code may hold it (never one of the
            /// interpreter's internal opcodes).
            pub const fn from_u16(code: u16) -> Option<Op> {
                match code {
                    $( $code => Some(Op::$name), )*
                    _ => None,
                }
            }

            /// The opcode's name, in the style of the WebAssembly text format.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Op::$name => $text, )*
                    $( Op::$iname => $itext, )*
                }
            }
        }
    };
}

ops! {
    /// Traps: the next state is empty and final. `unreachable`, and every float instruction.
    Trap = 0x00 => "trap",
    /// Pushes `b`.
    Const = 0x01 => "const",
    /// Pops one value.
    Drop = 0x02 => "drop",
    /// Pops `c`, `v2`, `v1`; pushes `v1` if `c != 0`, else `v2`.
    Select = 0x03 => "select",
    /// Pushes local `a` of the running frame; `aux` is the locals tree's depth.
    LocalGet = 0x04 => "local.get",
    /// Pops into local `a`; `aux` is the locals tree's depth.
    LocalSet = 0x05 => "local.set",
    /// Copies the top of the stack into local `a`; `aux` is the locals tree's depth.
    LocalTee = 0x06 => "local.tee",
    /// Pushes mutable global `a`; `aux` is the globals tree's depth.
    GlobalGet = 0x07 => "global.get",
    /// Pops into mutable global `a`; `aux` is the globals tree's depth.
    GlobalSet = 0x08 => "global.set",
    /// Jumps to `a`, keeping the top `aux` values and dropping the `b` values below them.
    Br = 0x09 => "br",
    /// Pops `c`; if `c != 0`, does what [`Op::Br`] does, else goes on.
    BrIf = 0x0a => "br_if",
    /// Pops `c`; if `c == 0`, jumps to `a`, else goes on. (`if`.)
    JumpIfZero = 0x0b => "jump_if_zero",
    /// Pops `i`; jumps to `a + min(i, b)`, where a [`Op::Br`] per target waits.
    BrTable = 0x0c => "br_table",
    /// Calls the function at `a` with `aux` parameters: pops them into a fresh locals tree of
    /// depth `b & 0xff` (its other locals zero), pushes a frame, jumps. `b >> 8` is the
    /// function's number of locals, which the interpreter allocates and the prover ignores.
    Call = 0x0d => "call",
    /// Pops a table index; calls the function in that table slot, which must have the
    /// canonical type `a`; `aux` parameters. Traps on an index out of range, an empty slot or
    /// another type.
    CallIndirect = 0x0e => "call_indirect",
    /// Keeps the top `aux` values, drops the `b` values below them, pops the frame and
    /// returns to its caller.
    Return = 0x0f => "return",
    /// Pops the exit code and halts: the next state is `exit code (u32 LE) || output`, final.
    Halt = 0x10 => "halt",

    /// Pops an address, pushes the i32 at address + `a` (`a` is the static offset).
    I32Load = 0x20 => "i32.load",
    /// Pops an address, pushes the i64 at address + `a`.
    I64Load = 0x21 => "i64.load",
    /// `i32.load8_s`.
    I32Load8S = 0x22 => "i32.load8_s",
    /// `i32.load8_u`.
    I32Load8U = 0x23 => "i32.load8_u",
    /// `i32.load16_s`.
    I32Load16S = 0x24 => "i32.load16_s",
    /// `i32.load16_u`.
    I32Load16U = 0x25 => "i32.load16_u",
    /// `i64.load8_s`.
    I64Load8S = 0x26 => "i64.load8_s",
    /// `i64.load8_u`.
    I64Load8U = 0x27 => "i64.load8_u",
    /// `i64.load16_s`.
    I64Load16S = 0x28 => "i64.load16_s",
    /// `i64.load16_u`.
    I64Load16U = 0x29 => "i64.load16_u",
    /// `i64.load32_s`.
    I64Load32S = 0x2a => "i64.load32_s",
    /// `i64.load32_u`.
    I64Load32U = 0x2b => "i64.load32_u",
    /// Pops a value and an address, stores the i32 at address + `a`.
    I32Store = 0x2c => "i32.store",
    /// `i64.store`.
    I64Store = 0x2d => "i64.store",
    /// `i32.store8`.
    I32Store8 = 0x2e => "i32.store8",
    /// `i32.store16`.
    I32Store16 = 0x2f => "i32.store16",
    /// `i64.store8`.
    I64Store8 = 0x30 => "i64.store8",
    /// `i64.store16`.
    I64Store16 = 0x31 => "i64.store16",
    /// `i64.store32`.
    I64Store32 = 0x32 => "i64.store32",
    /// Pushes the memory size in pages.
    MemorySize = 0x33 => "memory.size",
    /// Pops `delta`; if `pages + delta <= b` (the cap), grows and pushes the old size, else
    /// pushes -1 (as an i32).
    MemoryGrow = 0x34 => "memory.grow",
    /// Restartable `memory.copy` over `dst, src, n` (n on top): moves at most 32 bytes per
    /// step, never across a destination leaf boundary, in memmove order; rewrites its
    /// operands and stays at `pc` until `n` reaches 0.
    MemoryCopy = 0x35 => "memory.copy",
    /// Restartable `memory.fill` over `dst, value, n`, 32 bytes (one destination leaf) a step.
    MemoryFill = 0x36 => "memory.fill",
    /// Pushes the input's length in bytes.
    InputLen = 0x38 => "ecm.input_len",
    /// Restartable read of `len` input bytes at `offset` to memory at `dst`
    /// (`dst, offset, len`, len on top), never across an input or a memory leaf boundary.
    InputRead = 0x39 => "ecm.input_read",
    /// Restartable append of `len` bytes at `src` to the output (`src, len`), never across a
    /// memory leaf or an output chunk boundary.
    Output = 0x3a => "ecm.output",
    /// Pops `src, len` and does nothing: the engines show those bytes as the program's
    /// stderr, which is not part of the result.
    Log = 0x3b => "ecm.log",

    /// `i32.eqz`.
    I32Eqz = 0x40 => "i32.eqz",
    /// `i32.eq`.
    I32Eq = 0x41 => "i32.eq",
    /// `i32.ne`.
    I32Ne = 0x42 => "i32.ne",
    /// `i32.lt_s`.
    I32LtS = 0x43 => "i32.lt_s",
    /// `i32.lt_u`.
    I32LtU = 0x44 => "i32.lt_u",
    /// `i32.gt_s`.
    I32GtS = 0x45 => "i32.gt_s",
    /// `i32.gt_u`.
    I32GtU = 0x46 => "i32.gt_u",
    /// `i32.le_s`.
    I32LeS = 0x47 => "i32.le_s",
    /// `i32.le_u`.
    I32LeU = 0x48 => "i32.le_u",
    /// `i32.ge_s`.
    I32GeS = 0x49 => "i32.ge_s",
    /// `i32.ge_u`.
    I32GeU = 0x4a => "i32.ge_u",
    /// `i32.clz`.
    I32Clz = 0x4b => "i32.clz",
    /// `i32.ctz`.
    I32Ctz = 0x4c => "i32.ctz",
    /// `i32.popcnt`.
    I32Popcnt = 0x4d => "i32.popcnt",
    /// `i32.add`.
    I32Add = 0x4e => "i32.add",
    /// `i32.sub`.
    I32Sub = 0x4f => "i32.sub",
    /// `i32.mul`.
    I32Mul = 0x50 => "i32.mul",
    /// `i32.div_s`: traps on division by zero and on `INT_MIN / -1`.
    I32DivS = 0x51 => "i32.div_s",
    /// `i32.div_u`: traps on division by zero.
    I32DivU = 0x52 => "i32.div_u",
    /// `i32.rem_s`: traps on division by zero.
    I32RemS = 0x53 => "i32.rem_s",
    /// `i32.rem_u`: traps on division by zero.
    I32RemU = 0x54 => "i32.rem_u",
    /// `i32.and`.
    I32And = 0x55 => "i32.and",
    /// `i32.or`.
    I32Or = 0x56 => "i32.or",
    /// `i32.xor`.
    I32Xor = 0x57 => "i32.xor",
    /// `i32.shl`.
    I32Shl = 0x58 => "i32.shl",
    /// `i32.shr_s`.
    I32ShrS = 0x59 => "i32.shr_s",
    /// `i32.shr_u`.
    I32ShrU = 0x5a => "i32.shr_u",
    /// `i32.rotl`.
    I32Rotl = 0x5b => "i32.rotl",
    /// `i32.rotr`.
    I32Rotr = 0x5c => "i32.rotr",
    /// `i32.wrap_i64`.
    I32WrapI64 = 0x5d => "i32.wrap_i64",
    /// `i32.extend8_s`.
    I32Extend8S = 0x5e => "i32.extend8_s",
    /// `i32.extend16_s`.
    I32Extend16S = 0x5f => "i32.extend16_s",

    /// `i64.eqz`.
    I64Eqz = 0x60 => "i64.eqz",
    /// `i64.eq`.
    I64Eq = 0x61 => "i64.eq",
    /// `i64.ne`.
    I64Ne = 0x62 => "i64.ne",
    /// `i64.lt_s`.
    I64LtS = 0x63 => "i64.lt_s",
    /// `i64.lt_u`.
    I64LtU = 0x64 => "i64.lt_u",
    /// `i64.gt_s`.
    I64GtS = 0x65 => "i64.gt_s",
    /// `i64.gt_u`.
    I64GtU = 0x66 => "i64.gt_u",
    /// `i64.le_s`.
    I64LeS = 0x67 => "i64.le_s",
    /// `i64.le_u`.
    I64LeU = 0x68 => "i64.le_u",
    /// `i64.ge_s`.
    I64GeS = 0x69 => "i64.ge_s",
    /// `i64.ge_u`.
    I64GeU = 0x6a => "i64.ge_u",
    /// `i64.clz`.
    I64Clz = 0x6b => "i64.clz",
    /// `i64.ctz`.
    I64Ctz = 0x6c => "i64.ctz",
    /// `i64.popcnt`.
    I64Popcnt = 0x6d => "i64.popcnt",
    /// `i64.add`.
    I64Add = 0x6e => "i64.add",
    /// `i64.sub`.
    I64Sub = 0x6f => "i64.sub",
    /// `i64.mul`.
    I64Mul = 0x70 => "i64.mul",
    /// `i64.div_s`: traps on division by zero and on `INT_MIN / -1`.
    I64DivS = 0x71 => "i64.div_s",
    /// `i64.div_u`: traps on division by zero.
    I64DivU = 0x72 => "i64.div_u",
    /// `i64.rem_s`: traps on division by zero.
    I64RemS = 0x73 => "i64.rem_s",
    /// `i64.rem_u`: traps on division by zero.
    I64RemU = 0x74 => "i64.rem_u",
    /// `i64.and`.
    I64And = 0x75 => "i64.and",
    /// `i64.or`.
    I64Or = 0x76 => "i64.or",
    /// `i64.xor`.
    I64Xor = 0x77 => "i64.xor",
    /// `i64.shl`.
    I64Shl = 0x78 => "i64.shl",
    /// `i64.shr_s`.
    I64ShrS = 0x79 => "i64.shr_s",
    /// `i64.shr_u`.
    I64ShrU = 0x7a => "i64.shr_u",
    /// `i64.rotl`.
    I64Rotl = 0x7b => "i64.rotl",
    /// `i64.rotr`.
    I64Rotr = 0x7c => "i64.rotr",
    /// `i64.extend_i32_s`.
    I64ExtendI32S = 0x7d => "i64.extend_i32_s",
    /// `i64.extend_i32_u`.
    I64ExtendI32U = 0x7e => "i64.extend_i32_u",
    /// `i64.extend8_s`.
    I64Extend8S = 0x7f => "i64.extend8_s",
    /// `i64.extend16_s`.
    I64Extend16S = 0x80 => "i64.extend16_s",
    /// `i64.extend32_s`.
    I64Extend32S = 0x81 => "i64.extend32_s",

    @internal
    // The interpreter's superinstructions. They appear only in its private copy of the code
    // (`Program::exec`), never in a program's code, its code tree or a proof; `from_u16`
    // refuses them. Each does exactly what its sequence does, and counts its steps.
    /// Internal: `const b; i32.add`: 2 steps in one dispatch.
    CAdd = 0x100 => "(const; i32.add)",
    /// Internal: `const b; i32.sub`: 2 steps in one dispatch.
    CSub = 0x101 => "(const; i32.sub)",
    /// Internal: `const b; i32.mul`: 2 steps in one dispatch.
    CMul = 0x102 => "(const; i32.mul)",
    /// Internal: `const b; i32.and`: 2 steps in one dispatch.
    CAnd = 0x103 => "(const; i32.and)",
    /// Internal: `const b; i32.or`: 2 steps in one dispatch.
    COr = 0x104 => "(const; i32.or)",
    /// Internal: `const b; i32.xor`: 2 steps in one dispatch.
    CXor = 0x105 => "(const; i32.xor)",
    /// Internal: `const b; i32.shl`: 2 steps in one dispatch.
    CShl = 0x106 => "(const; i32.shl)",
    /// Internal: `const b; i32.shr_s`: 2 steps in one dispatch.
    CShrS = 0x107 => "(const; i32.shr_s)",
    /// Internal: `const b; i32.shr_u`: 2 steps in one dispatch.
    CShrU = 0x108 => "(const; i32.shr_u)",
    /// Internal: `const b; i32.rotl`: 2 steps in one dispatch.
    CRotl = 0x109 => "(const; i32.rotl)",
    /// Internal: `const b; i32.rotr`: 2 steps in one dispatch.
    CRotr = 0x10a => "(const; i32.rotr)",
    /// Internal: `local.get a; i32.add`: 2 steps in one dispatch.
    LAdd = 0x10b => "(local.get; i32.add)",
    /// Internal: `local.get a; i32.sub`: 2 steps in one dispatch.
    LSub = 0x10c => "(local.get; i32.sub)",
    /// Internal: `local.get a; i32.mul`: 2 steps in one dispatch.
    LMul = 0x10d => "(local.get; i32.mul)",
    /// Internal: `local.get a; i32.and`: 2 steps in one dispatch.
    LAnd = 0x10e => "(local.get; i32.and)",
    /// Internal: `local.get a; i32.or`: 2 steps in one dispatch.
    LOr = 0x10f => "(local.get; i32.or)",
    /// Internal: `local.get a; i32.xor`: 2 steps in one dispatch.
    LXor = 0x110 => "(local.get; i32.xor)",
    /// Internal: `local.get a; i32.shl`: 2 steps in one dispatch.
    LShl = 0x111 => "(local.get; i32.shl)",
    /// Internal: `local.get a; i32.shr_s`: 2 steps in one dispatch.
    LShrS = 0x112 => "(local.get; i32.shr_s)",
    /// Internal: `local.get a; i32.shr_u`: 2 steps in one dispatch.
    LShrU = 0x113 => "(local.get; i32.shr_u)",
    /// Internal: `local.get a; i32.rotl`: 2 steps in one dispatch.
    LRotl = 0x114 => "(local.get; i32.rotl)",
    /// Internal: `local.get a; i32.rotr`: 2 steps in one dispatch.
    LRotr = 0x115 => "(local.get; i32.rotr)",
    /// Internal: `local.get a; const b; i32.add`: 3 steps in one dispatch.
    LcAdd = 0x116 => "(local.get; const; i32.add)",
    /// Internal: `local.get a; const b; i32.sub`: 3 steps in one dispatch.
    LcSub = 0x117 => "(local.get; const; i32.sub)",
    /// Internal: `local.get a; const b; i32.mul`: 3 steps in one dispatch.
    LcMul = 0x118 => "(local.get; const; i32.mul)",
    /// Internal: `local.get a; const b; i32.and`: 3 steps in one dispatch.
    LcAnd = 0x119 => "(local.get; const; i32.and)",
    /// Internal: `local.get a; const b; i32.or`: 3 steps in one dispatch.
    LcOr = 0x11a => "(local.get; const; i32.or)",
    /// Internal: `local.get a; const b; i32.xor`: 3 steps in one dispatch.
    LcXor = 0x11b => "(local.get; const; i32.xor)",
    /// Internal: `local.get a; const b; i32.shl`: 3 steps in one dispatch.
    LcShl = 0x11c => "(local.get; const; i32.shl)",
    /// Internal: `local.get a; const b; i32.shr_s`: 3 steps in one dispatch.
    LcShrS = 0x11d => "(local.get; const; i32.shr_s)",
    /// Internal: `local.get a; const b; i32.shr_u`: 3 steps in one dispatch.
    LcShrU = 0x11e => "(local.get; const; i32.shr_u)",
    /// Internal: `local.get a; const b; i32.rotl`: 3 steps in one dispatch.
    LcRotl = 0x11f => "(local.get; const; i32.rotl)",
    /// Internal: `local.get a; const b; i32.rotr`: 3 steps in one dispatch.
    LcRotr = 0x120 => "(local.get; const; i32.rotr)",
    /// Internal: `local.get a; local.get b; i32.add`: 3 steps in one dispatch.
    LlAdd = 0x121 => "(local.get; local.get; i32.add)",
    /// Internal: `local.get a; local.get b; i32.sub`: 3 steps in one dispatch.
    LlSub = 0x122 => "(local.get; local.get; i32.sub)",
    /// Internal: `local.get a; local.get b; i32.mul`: 3 steps in one dispatch.
    LlMul = 0x123 => "(local.get; local.get; i32.mul)",
    /// Internal: `local.get a; local.get b; i32.and`: 3 steps in one dispatch.
    LlAnd = 0x124 => "(local.get; local.get; i32.and)",
    /// Internal: `local.get a; local.get b; i32.or`: 3 steps in one dispatch.
    LlOr = 0x125 => "(local.get; local.get; i32.or)",
    /// Internal: `local.get a; local.get b; i32.xor`: 3 steps in one dispatch.
    LlXor = 0x126 => "(local.get; local.get; i32.xor)",
    /// Internal: `local.get a; local.get b; i32.shl`: 3 steps in one dispatch.
    LlShl = 0x127 => "(local.get; local.get; i32.shl)",
    /// Internal: `local.get a; local.get b; i32.shr_s`: 3 steps in one dispatch.
    LlShrS = 0x128 => "(local.get; local.get; i32.shr_s)",
    /// Internal: `local.get a; local.get b; i32.shr_u`: 3 steps in one dispatch.
    LlShrU = 0x129 => "(local.get; local.get; i32.shr_u)",
    /// Internal: `local.get a; local.get b; i32.rotl`: 3 steps in one dispatch.
    LlRotl = 0x12a => "(local.get; local.get; i32.rotl)",
    /// Internal: `local.get a; local.get b; i32.rotr`: 3 steps in one dispatch.
    LlRotr = 0x12b => "(local.get; local.get; i32.rotr)",
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The size of an encoded instruction.
pub const INST_BYTES: usize = 16;

/// One machine instruction: an opcode and three operand fields whose meaning depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inst {
    /// What to do.
    pub op: Op,
    /// A small operand: a tree depth, a count of values kept or parameters.
    pub aux: u16,
    /// A 32-bit operand: a jump target, an index, a static memory offset.
    pub a: u32,
    /// A 64-bit operand: a constant, a count of values dropped, a bound.
    pub b: u64,
}

impl Inst {
    /// An instruction with only an opcode.
    pub const fn new(op: Op) -> Self {
        Self {
            op,
            aux: 0,
            a: 0,
            b: 0,
        }
    }

    /// The trap instruction (an all-zero encoding).
    pub const TRAP: Inst = Inst::new(Op::Trap);

    /// Pushes `value`.
    pub const fn constant(value: u64) -> Self {
        Self {
            op: Op::Const,
            aux: 0,
            a: 0,
            b: value,
        }
    }

    /// The 16-byte big-endian encoding.
    pub fn encode(&self) -> [u8; INST_BYTES] {
        let mut out = [0u8; INST_BYTES];
        out[0..2].copy_from_slice(&(self.op as u16).to_be_bytes());
        out[2..4].copy_from_slice(&self.aux.to_be_bytes());
        out[4..8].copy_from_slice(&self.a.to_be_bytes());
        out[8..16].copy_from_slice(&self.b.to_be_bytes());
        out
    }

    /// Decodes 16 bytes; `None` if the opcode is unknown.
    pub fn decode(bytes: &[u8; INST_BYTES]) -> Option<Self> {
        let op = Op::from_u16(u16::from_be_bytes([bytes[0], bytes[1]]))?;
        Some(Self {
            op,
            aux: u16::from_be_bytes([bytes[2], bytes[3]]),
            a: u32::from_be_bytes(bytes[4..8].try_into().unwrap()),
            b: u64::from_be_bytes(bytes[8..16].try_into().unwrap()),
        })
    }
}

impl fmt::Display for Inst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.op)?;
        if (self.aux, self.a, self.b) != (0, 0, 0) {
            write!(f, " aux={} a={} b={}", self.aux, self.a, self.b)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_round_trip_and_zero_is_trap() {
        for &op in Op::ALL {
            assert_eq!(Op::from_u16(op as u16), Some(op));
        }
        assert_eq!(Inst::decode(&[0; INST_BYTES]), Some(Inst::TRAP));
        assert_eq!(Op::from_u16(0x37), None);
        assert_eq!(Op::from_u16(0xffff), None);
    }

    #[test]
    fn encoding_is_big_endian_and_round_trips() {
        let inst = Inst {
            op: Op::Br,
            aux: 0x0102,
            a: 0x0304_0506,
            b: 0x0708_090a_0b0c_0d0e,
        };
        let bytes = inst.encode();
        assert_eq!(bytes, [0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
        assert_eq!(Inst::decode(&bytes), Some(inst));
    }

    #[test]
    fn groups_are_where_the_prover_expects_them() {
        for &op in Op::ALL {
            let code = op as u16;
            let group = match op.name() {
                n if n.starts_with("i32.load")
                    || n.starts_with("i64.load")
                    || n.starts_with("i32.store")
                    || n.starts_with("i64.store")
                    || n.starts_with("memory.")
                    || n.starts_with("ecm.") =>
                {
                    "memory"
                }
                n if n.starts_with("i32.") || n.starts_with("i64.") => "math",
                _ => "control",
            };
            let expected = match code {
                0x00..=0x1f => "control",
                0x20..=0x3f => "memory",
                _ => "math",
            };
            assert_eq!(group, expected, "{op}");
        }
    }
}

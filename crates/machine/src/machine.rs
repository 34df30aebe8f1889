//! The interpreter: the machine's state and its step function.
//!
//! Stepping never hashes. Values live in a `Vec<u64>` (i32 zero-extended), locals in one arena
//! with a frame per call, memory in flat bytes that mark 1 KiB blocks dirty. [`Machine::hash`]
//! brings the hash up to date: it reuses the value-stack chain up to the first value that
//! changed, the frame chain up to the first frame that changed (frames carry a serial), and
//! rehashes only dirty memory blocks. [`Machine::hash_from_scratch`] ignores every cache; the
//! property tests hold the two equal.
//!
//! A restartable instruction (`memory.copy`, `memory.fill`, `ecm.input_read`, `ecm.output`)
//! takes one step per chunk; when the step budget covers all its chunks it runs in one go,
//! otherwise it runs exactly as many chunks as the budget allows and leaves its rewritten
//! operands on the stack, as the chunk-by-chunk machine would.

use crate::{
    hash::{Core, machine_hash, push_frame, push_value, values_root},
    inst::{Inst, Op},
    io::{self, IoFault, Output},
    limits::MAX_FRAMES,
    memory::{Memory, MemorySnapshot},
    program::{Callee, Export, Program, Site},
    tree,
};
use alloy_primitives::B256;
use std::{fmt, sync::Arc};

/// Why a program trapped. A trap ends the trace in the empty final state, whatever its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trap {
    /// `unreachable`, or a float instruction.
    Unreachable,
    /// Integer division or remainder by zero.
    DivideByZero,
    /// `INT_MIN / -1`.
    IntegerOverflow,
    /// A load, store or bulk operation outside memory.
    MemoryOutOfBounds,
    /// `call_indirect` with an index past the table.
    TableOutOfBounds,
    /// `call_indirect` to an empty table slot.
    NullFunction,
    /// `call_indirect` to a function of another type.
    SignatureMismatch,
    /// More than [`MAX_FRAMES`] nested calls.
    CallStackExhausted,
    /// `ecm.input_read` past the end of the input.
    InputOutOfBounds,
    /// More output than a result may hold.
    OutputTooLarge,
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trap::Unreachable => "unreachable executed",
            Trap::DivideByZero => "integer division by zero",
            Trap::IntegerOverflow => "integer overflow",
            Trap::MemoryOutOfBounds => "out of bounds memory access",
            Trap::TableOutOfBounds => "undefined element: table index out of bounds",
            Trap::NullFunction => "uninitialized element: null function",
            Trap::SignatureMismatch => "indirect call type mismatch",
            Trap::CallStackExhausted => "call stack exhausted",
            Trap::InputOutOfBounds => "input read past the end of the input",
            Trap::OutputTooLarge => "output larger than a result may be",
        })
    }
}

/// Where a machine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Steps remain.
    Running,
    /// Halted with this exit code.
    Halted {
        /// The exit code.
        exit_code: u32,
    },
    /// Trapped at `pc`.
    Trapped {
        /// Why.
        trap: Trap,
        /// The instruction that trapped.
        pc: u32,
    },
}

/// A call in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frame {
    return_pc: u32,
    locals_base: u32,
    locals_len: u32,
    depth: u8,
    /// Unique per call over the machine's life: a cached chain entry is valid while its
    /// frame's serial matches.
    serial: u64,
}

/// What `hash` reuses.
#[derive(Clone, Debug, Default)]
struct HashCache {
    stack_values: Vec<u64>,
    /// `stack_chain[k]`: the chain after the first `k + 1` values.
    stack_chain: Vec<B256>,
    /// Per frame: its serial and the chain after its record.
    frame_chain: Vec<(u64, B256)>,
}

/// A frozen machine state; [`Machine::restore`] returns to it.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pc: u32,
    stack: Vec<u64>,
    locals: Vec<u64>,
    frames: Vec<Frame>,
    globals: Vec<u64>,
    memory: MemorySnapshot,
    output: Vec<u8>,
    status: Status,
    steps: u64,
}

impl Snapshot {
    /// The step this snapshot was taken at.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Memory this snapshot holds that `previous` does not share, in bytes.
    pub fn unshared_bytes(&self, previous: Option<&Snapshot>) -> usize {
        8 * (self.stack.len() + self.locals.len() + self.globals.len())
            + std::mem::size_of::<Frame>() * self.frames.len()
            + self.output.len()
            + self.memory.unshared_bytes(previous.map(|p| &p.memory))
    }
}

/// A program running on an input.
#[derive(Clone)]
pub struct Machine {
    program: Program,
    pc: u32,
    stack: Vec<u64>,
    locals: Vec<u64>,
    frames: Vec<Frame>,
    globals: Vec<u64>,
    memory: Memory,
    input: Arc<[u8]>,
    input_root: B256,
    output: Output,
    status: Status,
    steps: u64,
    next_serial: u64,
    cache: HashCache,
}

impl fmt::Debug for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Machine")
            .field("pc", &self.pc)
            .field("steps", &self.steps)
            .field("status", &self.status)
            .field("frames", &self.frames.len())
            .field("stack", &self.stack.len())
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// The machine at step 0 of `program` on `input` (at most 8 KiB, see
    /// [`Program::check_input`]).
    pub fn new(program: &Program, input: &[u8]) -> Result<Self, crate::Error> {
        Program::check_input(input)?;
        let p = &program.0;
        Ok(Self {
            program: program.clone(),
            pc: 0,
            stack: Vec::with_capacity(1024),
            locals: Vec::with_capacity(1024),
            frames: Vec::with_capacity(64),
            globals: p.globals.clone(),
            memory: Memory::from_snapshot(&p.memory),
            input: input.into(),
            input_root: io::input_root(input),
            output: Output::default(),
            status: Status::Running,
            steps: 0,
            next_serial: 0,
            cache: HashCache::default(),
        })
    }

    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Steps executed.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Where the machine is.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The next instruction's index.
    pub fn pc(&self) -> u32 {
        self.pc
    }

    /// The output written so far.
    pub fn output(&self) -> &[u8] {
        self.output.bytes()
    }

    /// The memory's bytes.
    pub fn memory_bytes(&self) -> &[u8] {
        self.memory.bytes()
    }

    /// The input.
    pub fn input(&self) -> &[u8] {
        &self.input
    }

    /// Where the instruction at `pc` came from (for trap reports).
    pub fn site(&self, pc: u32) -> Site {
        self.program.site(pc)
    }

    /// The final state once halted (`exit code u32 LE || output`) or trapped (empty).
    pub fn final_state(&self) -> Option<Vec<u8>> {
        match self.status {
            Status::Running => None,
            Status::Halted { exit_code } => {
                let mut state = exit_code.to_le_bytes().to_vec();
                state.extend_from_slice(self.output.bytes());
                Some(state)
            }
            Status::Trapped { .. } => Some(Vec::new()),
        }
    }

    /// The state hash `H`.
    pub fn hash(&mut self) -> B256 {
        let core = self.core();
        let io = self.io_hash();
        machine_hash(core.hash(), io)
    }

    /// `H` computed without any cache: the reference [`Machine::hash`] must equal.
    pub fn hash_from_scratch(&self) -> B256 {
        let mut scratch = self.clone();
        scratch.cache = HashCache::default();
        let mut output = Output::default();
        output.extend(self.output.bytes());
        let core = scratch.core_with(self.memory.root_from_scratch());
        let io = io::io_hash(
            io::input_root(&self.input),
            self.input.len() as u32,
            &mut output,
        );
        machine_hash(core.hash(), io)
    }

    /// The core as it is now.
    pub fn core(&mut self) -> Core {
        let memory_root = self.memory.root();
        self.core_with(memory_root)
    }

    fn core_with(&mut self, memory_root: B256) -> Core {
        let value_stack = self.stack_chain();
        let frame_stack = self.frame_chain();
        let locals_root = match self.frames.last() {
            Some(f) => self.frame_locals_root(f),
            None => tree::zero(0),
        };
        let p = &self.program.0;
        Core {
            value_stack,
            frame_stack,
            locals_root,
            globals_root: values_root(&self.globals, p.globals_depth),
            memory_root,
            module_root: p.module_root,
            pc: self.pc,
            pages: self.memory.pages(),
            frame_depth: self.frames.len() as u32,
        }
    }

    fn frame_locals_root(&self, f: &Frame) -> B256 {
        let base = f.locals_base as usize;
        values_root(
            &self.locals[base..base + f.locals_len as usize],
            f.depth as u32,
        )
    }

    fn stack_chain(&mut self) -> B256 {
        let cache = &mut self.cache;
        let same = cache
            .stack_values
            .iter()
            .zip(&self.stack)
            .take_while(|(a, b)| a == b)
            .count();
        cache.stack_values.truncate(same);
        cache.stack_chain.truncate(same);
        let mut chain = cache.stack_chain.last().copied().unwrap_or(B256::ZERO);
        for &v in &self.stack[same..] {
            chain = push_value(&chain, v);
            cache.stack_values.push(v);
            cache.stack_chain.push(chain);
        }
        chain
    }

    fn frame_chain(&mut self) -> B256 {
        let same = self
            .cache
            .frame_chain
            .iter()
            .zip(&self.frames)
            .take_while(|((serial, _), f)| *serial == f.serial)
            .count();
        self.cache.frame_chain.truncate(same);
        let mut chain = self
            .cache
            .frame_chain
            .last()
            .map(|(_, c)| *c)
            .unwrap_or(B256::ZERO);
        for k in same..self.frames.len() {
            // Frame k's record holds its caller's locals: the stub's (zero) for the first.
            let caller_root = match k {
                0 => tree::zero(0),
                _ => self.frame_locals_root(&self.frames[k - 1]),
            };
            let f = self.frames[k];
            chain = push_frame(&chain, f.return_pc, &caller_root);
            self.cache.frame_chain.push((f.serial, chain));
        }
        chain
    }

    /// The value stack, bottom first.
    pub(crate) fn stack_values(&self) -> &[u64] {
        &self.stack
    }

    /// The value stack's chain over its bottom `len` values (the zero hash for none). The
    /// cache holds every prefix's chain once [`Machine::core`] has run.
    pub(crate) fn stack_chain_below(&mut self, len: usize) -> B256 {
        self.stack_chain();
        match len {
            0 => B256::ZERO,
            n => self.cache.stack_chain[n - 1],
        }
    }

    /// The running frame's locals and their tree's depth (none and 0 outside a call).
    pub(crate) fn frame_locals(&self) -> (&[u64], u32) {
        match self.frames.last() {
            Some(f) => {
                let base = f.locals_base as usize;
                (
                    &self.locals[base..base + f.locals_len as usize],
                    f.depth as u32,
                )
            }
            None => (&[], 0),
        }
    }

    /// The mutable globals and their tree's depth.
    pub(crate) fn globals_values(&self) -> (&[u64], u32) {
        (&self.globals, self.program.0.globals_depth)
    }

    /// The running frame's record in the frame chain: the chain below it, its return pc and
    /// its caller's locals root (`None` outside a call).
    pub(crate) fn top_frame_record(&mut self) -> Option<(B256, u32, B256)> {
        let top = self.frames.len().checked_sub(1)?;
        self.frame_chain();
        let rest = match top {
            0 => B256::ZERO,
            k => self.cache.frame_chain[k - 1].1,
        };
        let caller_root = match top {
            0 => tree::zero(0),
            k => self.frame_locals_root(&self.frames[k - 1]),
        };
        Some((rest, self.frames[top].return_pc, caller_root))
    }

    /// The input's root and length.
    pub(crate) fn input_commitment(&self) -> (B256, u32) {
        (self.input_root, self.input.len() as u32)
    }

    /// The I/O hash's preimage as it is now.
    pub(crate) fn io_preimage(&mut self) -> [u8; io::IO_PREIMAGE_BYTES] {
        io::io_preimage(self.input_root, self.input.len() as u32, &mut self.output)
    }

    /// The memory (for proofs: its leaves and paths).
    pub(crate) fn memory_mut(&mut self) -> &mut Memory {
        &mut self.memory
    }

    /// The I/O hash as it is now.
    pub(crate) fn io_hash(&mut self) -> B256 {
        io::io_hash(self.input_root, self.input.len() as u32, &mut self.output)
    }

    /// A snapshot of the whole state (memory pages shared with the previous snapshot).
    pub fn snapshot(&mut self) -> Snapshot {
        Snapshot {
            pc: self.pc,
            stack: self.stack.clone(),
            locals: self.locals.clone(),
            frames: self.frames.clone(),
            globals: self.globals.clone(),
            memory: self.memory.snapshot(),
            output: self.output.bytes().to_vec(),
            status: self.status,
            steps: self.steps,
        }
    }

    /// Returns to a snapshot of this machine (same program and input).
    pub fn restore(&mut self, s: &Snapshot) {
        self.pc = s.pc;
        self.stack.clone_from(&s.stack);
        self.locals.clone_from(&s.locals);
        self.frames.clone_from(&s.frames);
        self.globals.clone_from(&s.globals);
        self.memory.restore(&s.memory);
        // The output only grows: keep what the snapshot shares, for its running hash.
        if !s.output.starts_with(self.output.bytes()) {
            self.output = Output::default();
        }
        let have = self.output.bytes().len();
        self.output.extend(&s.output[have..]);
        self.status = s.status;
        self.steps = s.steps;
    }

    /// Calls an exported function as an embedder would, after the entry stub has run (for
    /// harnesses such as the WebAssembly spec tests): pushes `args`, enters the function with
    /// a return address past the end of the code, and runs until it returns there (its
    /// results), traps, or `max_steps` pass (`Err(None)`).
    pub fn invoke(
        &mut self,
        func: &Callee,
        args: &[u64],
        max_steps: u64,
    ) -> Result<Vec<u64>, Option<Trap>> {
        const RETURNED: u32 = u32::MAX;
        // A trap unwinds every call; memory and globals stay as they are.
        self.stack.clear();
        self.locals.clear();
        self.frames.clear();
        self.status = Status::Running;
        self.stack.extend_from_slice(args);
        let base = self.locals.len();
        let split = self.stack.len() - func.params as usize;
        self.locals.extend_from_slice(&self.stack[split..]);
        self.stack.truncate(split);
        self.locals.resize(base + func.locals as usize, 0);
        self.frames.push(Frame {
            return_pc: RETURNED,
            locals_base: base as u32,
            locals_len: func.locals,
            depth: func.depth,
            serial: self.next_serial,
        });
        self.next_serial += 1;
        self.pc = func.entry;
        self.run(max_steps);
        match self.status {
            Status::Trapped { pc: RETURNED, .. } if self.frames.is_empty() => {
                self.status = Status::Running;
                Ok(std::mem::take(&mut self.stack))
            }
            Status::Trapped { trap, .. } => Err(Some(trap)),
            Status::Halted { .. } | Status::Running => Err(None),
        }
    }

    /// The value of an exported global.
    pub fn global(&self, export: &Export) -> Option<u64> {
        match export {
            Export::MutableGlobal(i) => self.globals.get(*i as usize).copied(),
            Export::ConstGlobal(v) => Some(*v),
            Export::Func(_) => None,
        }
    }

    /// Runs until halted, trapped or `max` more steps are done; returns the steps done.
    pub fn run(&mut self, max: u64) -> u64 {
        if self.status != Status::Running || max == 0 {
            return 0;
        }
        let program = self.program.0.clone();
        // The interpreter's copy of the code, with superinstructions (see `fuse.rs`).
        let code: &[Inst] = &program.exec;
        let table = &program.table;
        let Machine {
            pc: machine_pc,
            stack,
            locals,
            frames,
            globals,
            memory,
            input,
            output,
            status,
            next_serial,
            ..
        } = self;
        let mut pc = *machine_pc as usize;
        let mut budget = max;
        let mut base = frames.last().map_or(0, |f| f.locals_base as usize);

        macro_rules! pop {
            () => {
                stack.pop().expect("validated code never underflows")
            };
        }
        macro_rules! top {
            () => {
                stack.last_mut().expect("validated code never underflows")
            };
        }
        macro_rules! trap {
            ($trap:expr) => {{
                *status = Status::Trapped {
                    trap: $trap,
                    pc: pc as u32,
                };
                break;
            }};
        }
        macro_rules! bin32 {
            ($f:expr) => {{
                let b = pop!() as u32;
                let a = top!();
                *a = ($f)(*a as u32, b) as u32 as u64;
                pc += 1;
            }};
        }
        macro_rules! bin64 {
            ($f:expr) => {{
                let b = pop!();
                let a = top!();
                *a = ($f)(*a, b) as u64;
                pc += 1;
            }};
        }
        macro_rules! un {
            ($f:expr) => {{
                let a = top!();
                *a = ($f)(*a);
                pc += 1;
            }};
        }
        macro_rules! load {
            ($offset:expr, $n:literal, $conv:expr) => {{
                let ea = (pop!() as u32 as u64) + $offset as u64;
                match memory.read::<$n>(ea) {
                    Some(bytes) => {
                        stack.push(($conv)(bytes));
                        pc += 1;
                    }
                    None => trap!(Trap::MemoryOutOfBounds),
                }
            }};
        }
        macro_rules! store {
            ($offset:expr, $bytes:expr) => {{
                let v = pop!();
                let ea = (pop!() as u32 as u64) + $offset as u64;
                if !memory.write(ea, &($bytes)(v)) {
                    trap!(Trap::MemoryOutOfBounds);
                }
                pc += 1;
            }};
        }
        // A superinstruction: the whole sequence if the budget covers it, else its first
        // instruction alone (a `local.get` or a `const`), exactly as the plain code would go.
        macro_rules! fused {
            (C, $inst:ident, $f:expr) => {{
                if budget >= 1 {
                    budget -= 1;
                    let t = top!();
                    *t = ($f)(*t as u32, $inst.b as u32) as u64;
                    pc += 2;
                } else {
                    stack.push($inst.b);
                    pc += 1;
                }
            }};
            (L, $inst:ident, $f:expr) => {{
                let x = locals[base + $inst.a as usize];
                if budget >= 1 {
                    budget -= 1;
                    let t = top!();
                    *t = ($f)(*t as u32, x as u32) as u64;
                    pc += 2;
                } else {
                    stack.push(x);
                    pc += 1;
                }
            }};
            (Lc, $inst:ident, $f:expr) => {{
                let x = locals[base + $inst.a as usize];
                if budget >= 2 {
                    budget -= 2;
                    stack.push(($f)(x as u32, $inst.b as u32) as u64);
                    pc += 3;
                } else {
                    stack.push(x);
                    pc += 1;
                }
            }};
            (Ll, $inst:ident, $f:expr) => {{
                let x = locals[base + $inst.a as usize];
                if budget >= 2 {
                    budget -= 2;
                    let y = locals[base + $inst.b as usize];
                    stack.push(($f)(x as u32, y as u32) as u64);
                    pc += 3;
                } else {
                    stack.push(x);
                    pc += 1;
                }
            }};
        }
        /// Keeps the top `keep` values and drops the `drop` below them.
        fn unwind(stack: &mut Vec<u64>, keep: usize, drop: usize) {
            if drop > 0 {
                let len = stack.len();
                stack.copy_within(len - keep..len, len - keep - drop);
                stack.truncate(len - drop);
            }
        }

        while budget > 0 {
            let Some(&inst) = code.get(pc) else {
                trap!(Trap::Unreachable);
            };
            budget -= 1;
            match inst.op {
                Op::Trap => trap!(Trap::Unreachable),
                Op::Const => {
                    stack.push(inst.b);
                    pc += 1;
                }
                Op::Drop => {
                    pop!();
                    pc += 1;
                }
                Op::Select => {
                    let c = pop!() as u32;
                    let v2 = pop!();
                    if c == 0 {
                        *top!() = v2;
                    }
                    pc += 1;
                }
                Op::LocalGet => {
                    stack.push(locals[base + inst.a as usize]);
                    pc += 1;
                }
                Op::LocalSet => {
                    locals[base + inst.a as usize] = pop!();
                    pc += 1;
                }
                Op::LocalTee => {
                    locals[base + inst.a as usize] = *top!();
                    pc += 1;
                }
                Op::GlobalGet => {
                    stack.push(globals[inst.a as usize]);
                    pc += 1;
                }
                Op::GlobalSet => {
                    globals[inst.a as usize] = pop!();
                    pc += 1;
                }
                Op::Br => {
                    unwind(stack, inst.aux as usize, inst.b as usize);
                    pc = inst.a as usize;
                }
                Op::BrIf => {
                    if pop!() as u32 != 0 {
                        unwind(stack, inst.aux as usize, inst.b as usize);
                        pc = inst.a as usize;
                    } else {
                        pc += 1;
                    }
                }
                Op::JumpIfZero => {
                    pc = if pop!() as u32 == 0 {
                        inst.a as usize
                    } else {
                        pc + 1
                    };
                }
                Op::BrTable => {
                    let i = pop!() as u32 as u64;
                    pc = inst.a as usize + i.min(inst.b) as usize;
                }
                Op::Call | Op::CallIndirect => {
                    let (entry, depth, n_locals) = if inst.op == Op::Call {
                        (inst.a, (inst.b & 0xff) as u8, (inst.b >> 8) as u32)
                    } else {
                        let index = pop!() as u32;
                        match table.get(index as usize) {
                            None => trap!(Trap::TableOutOfBounds),
                            Some(None) => trap!(Trap::NullFunction),
                            Some(Some(c)) if c.type_id != inst.a => {
                                trap!(Trap::SignatureMismatch)
                            }
                            Some(Some(c)) => (c.entry, c.depth, c.locals),
                        }
                    };
                    if frames.len() >= MAX_FRAMES as usize {
                        trap!(Trap::CallStackExhausted);
                    }
                    let params = inst.aux as usize;
                    base = locals.len();
                    let split = stack.len() - params;
                    locals.extend_from_slice(&stack[split..]);
                    stack.truncate(split);
                    locals.resize(base + n_locals as usize, 0);
                    frames.push(Frame {
                        return_pc: pc as u32 + 1,
                        locals_base: base as u32,
                        locals_len: n_locals,
                        depth,
                        serial: *next_serial,
                    });
                    *next_serial += 1;
                    pc = entry as usize;
                }
                Op::Return => {
                    unwind(stack, inst.aux as usize, inst.b as usize);
                    let Some(frame) = frames.pop() else {
                        trap!(Trap::Unreachable);
                    };
                    locals.truncate(frame.locals_base as usize);
                    base = frames.last().map_or(0, |f| f.locals_base as usize);
                    pc = frame.return_pc as usize;
                }
                Op::Halt => {
                    let exit_code = pop!() as u32;
                    *status = Status::Halted { exit_code };
                    pc += 1;
                    break;
                }

                Op::I32Load => load!(inst.a, 4, |b| u32::from_le_bytes(b) as u64),
                Op::I64Load => load!(inst.a, 8, u64::from_le_bytes),
                Op::I32Load8S => load!(inst.a, 1, |b: [u8; 1]| b[0] as i8 as i32 as u32 as u64),
                Op::I32Load8U => load!(inst.a, 1, |b: [u8; 1]| b[0] as u64),
                Op::I32Load16S => {
                    load!(inst.a, 2, |b| i16::from_le_bytes(b) as i32 as u32 as u64)
                }
                Op::I32Load16U => load!(inst.a, 2, |b| u16::from_le_bytes(b) as u64),
                Op::I64Load8S => load!(inst.a, 1, |b: [u8; 1]| b[0] as i8 as i64 as u64),
                Op::I64Load8U => load!(inst.a, 1, |b: [u8; 1]| b[0] as u64),
                Op::I64Load16S => load!(inst.a, 2, |b| i16::from_le_bytes(b) as i64 as u64),
                Op::I64Load16U => load!(inst.a, 2, |b| u16::from_le_bytes(b) as u64),
                Op::I64Load32S => load!(inst.a, 4, |b| i32::from_le_bytes(b) as i64 as u64),
                Op::I64Load32U => load!(inst.a, 4, |b| u32::from_le_bytes(b) as u64),
                Op::I32Store => store!(inst.a, |v: u64| (v as u32).to_le_bytes()),
                Op::I64Store => store!(inst.a, |v: u64| v.to_le_bytes()),
                Op::I32Store8 | Op::I64Store8 => store!(inst.a, |v: u64| [v as u8]),
                Op::I32Store16 | Op::I64Store16 => {
                    store!(inst.a, |v: u64| (v as u16).to_le_bytes())
                }
                Op::I64Store32 => store!(inst.a, |v: u64| (v as u32).to_le_bytes()),
                Op::MemorySize => {
                    stack.push(memory.pages() as u64);
                    pc += 1;
                }
                Op::MemoryGrow => {
                    let delta = pop!() as u32;
                    let result = memory.grow(delta, inst.b as u32).unwrap_or(u32::MAX);
                    stack.push(result as u64);
                    pc += 1;
                }
                Op::MemoryCopy | Op::MemoryFill | Op::InputRead | Op::Output => {
                    match restartable(inst.op, stack, memory, input, output, budget) {
                        Err(trap) => trap!(trap),
                        // All of it: the remaining budget, and the next instruction.
                        Ok(Some(left)) => {
                            budget = left;
                            pc += 1;
                        }
                        // As many chunks as the budget allowed: the rest is for later.
                        Ok(None) => budget = 0,
                    }
                }
                Op::InputLen => {
                    stack.push(input.len() as u64);
                    pc += 1;
                }
                Op::Log => {
                    pop!();
                    pop!();
                    pc += 1;
                }

                Op::I32Eqz => un!(|a: u64| (a as u32 == 0) as u64),
                Op::I32Eq => bin32!(|a: u32, b: u32| a == b),
                Op::I32Ne => bin32!(|a: u32, b: u32| a != b),
                Op::I32LtS => bin32!(|a: u32, b: u32| (a as i32) < (b as i32)),
                Op::I32LtU => bin32!(|a: u32, b: u32| a < b),
                Op::I32GtS => bin32!(|a: u32, b: u32| (a as i32) > (b as i32)),
                Op::I32GtU => bin32!(|a: u32, b: u32| a > b),
                Op::I32LeS => bin32!(|a: u32, b: u32| (a as i32) <= (b as i32)),
                Op::I32LeU => bin32!(|a: u32, b: u32| a <= b),
                Op::I32GeS => bin32!(|a: u32, b: u32| (a as i32) >= (b as i32)),
                Op::I32GeU => bin32!(|a: u32, b: u32| a >= b),
                Op::I32Clz => un!(|a: u64| (a as u32).leading_zeros() as u64),
                Op::I32Ctz => un!(|a: u64| (a as u32).trailing_zeros() as u64),
                Op::I32Popcnt => un!(|a: u64| (a as u32).count_ones() as u64),
                Op::I32Add => bin32!(u32::wrapping_add),
                Op::I32Sub => bin32!(u32::wrapping_sub),
                Op::I32Mul => bin32!(u32::wrapping_mul),
                Op::I32DivS | Op::I32DivU | Op::I32RemS | Op::I32RemU => {
                    let b = pop!() as u32;
                    let a = top!();
                    let x = *a as u32;
                    if b == 0 {
                        trap!(Trap::DivideByZero);
                    }
                    *a = match inst.op {
                        Op::I32DivS => {
                            if x as i32 == i32::MIN && b as i32 == -1 {
                                trap!(Trap::IntegerOverflow);
                            }
                            (x as i32 / b as i32) as u32
                        }
                        Op::I32DivU => x / b,
                        Op::I32RemS => (x as i32).wrapping_rem(b as i32) as u32,
                        _ => x % b,
                    } as u64;
                    pc += 1;
                }
                Op::I32And => bin32!(|a: u32, b: u32| a & b),
                Op::I32Or => bin32!(|a: u32, b: u32| a | b),
                Op::I32Xor => bin32!(|a: u32, b: u32| a ^ b),
                Op::I32Shl => bin32!(|a: u32, b: u32| a.wrapping_shl(b)),
                Op::I32ShrS => bin32!(|a: u32, b: u32| (a as i32).wrapping_shr(b) as u32),
                Op::I32ShrU => bin32!(|a: u32, b: u32| a.wrapping_shr(b)),
                Op::I32Rotl => bin32!(|a: u32, b: u32| a.rotate_left(b % 32)),
                Op::I32Rotr => bin32!(|a: u32, b: u32| a.rotate_right(b % 32)),
                Op::I32WrapI64 => un!(|a: u64| a as u32 as u64),
                Op::I32Extend8S => un!(|a: u64| a as u8 as i8 as i32 as u32 as u64),
                Op::I32Extend16S => un!(|a: u64| a as u16 as i16 as i32 as u32 as u64),

                Op::I64Eqz => un!(|a: u64| (a == 0) as u64),
                Op::I64Eq => bin64!(|a: u64, b: u64| a == b),
                Op::I64Ne => bin64!(|a: u64, b: u64| a != b),
                Op::I64LtS => bin64!(|a: u64, b: u64| (a as i64) < (b as i64)),
                Op::I64LtU => bin64!(|a: u64, b: u64| a < b),
                Op::I64GtS => bin64!(|a: u64, b: u64| (a as i64) > (b as i64)),
                Op::I64GtU => bin64!(|a: u64, b: u64| a > b),
                Op::I64LeS => bin64!(|a: u64, b: u64| (a as i64) <= (b as i64)),
                Op::I64LeU => bin64!(|a: u64, b: u64| a <= b),
                Op::I64GeS => bin64!(|a: u64, b: u64| (a as i64) >= (b as i64)),
                Op::I64GeU => bin64!(|a: u64, b: u64| a >= b),
                Op::I64Clz => un!(|a: u64| a.leading_zeros() as u64),
                Op::I64Ctz => un!(|a: u64| a.trailing_zeros() as u64),
                Op::I64Popcnt => un!(|a: u64| a.count_ones() as u64),
                Op::I64Add => bin64!(u64::wrapping_add),
                Op::I64Sub => bin64!(u64::wrapping_sub),
                Op::I64Mul => bin64!(u64::wrapping_mul),
                Op::I64DivS | Op::I64DivU | Op::I64RemS | Op::I64RemU => {
                    let b = pop!();
                    let a = top!();
                    let x = *a;
                    if b == 0 {
                        trap!(Trap::DivideByZero);
                    }
                    *a = match inst.op {
                        Op::I64DivS => {
                            if x as i64 == i64::MIN && b as i64 == -1 {
                                trap!(Trap::IntegerOverflow);
                            }
                            (x as i64 / b as i64) as u64
                        }
                        Op::I64DivU => x / b,
                        Op::I64RemS => (x as i64).wrapping_rem(b as i64) as u64,
                        _ => x % b,
                    };
                    pc += 1;
                }
                Op::I64And => bin64!(|a: u64, b: u64| a & b),
                Op::I64Or => bin64!(|a: u64, b: u64| a | b),
                Op::I64Xor => bin64!(|a: u64, b: u64| a ^ b),
                Op::I64Shl => bin64!(|a: u64, b: u64| a.wrapping_shl(b as u32)),
                Op::I64ShrS => bin64!(|a: u64, b: u64| (a as i64).wrapping_shr(b as u32) as u64),
                Op::I64ShrU => bin64!(|a: u64, b: u64| a.wrapping_shr(b as u32)),
                Op::I64Rotl => bin64!(|a: u64, b: u64| a.rotate_left((b % 64) as u32)),
                Op::I64Rotr => bin64!(|a: u64, b: u64| a.rotate_right((b % 64) as u32)),
                Op::I64ExtendI32S => un!(|a: u64| a as u32 as i32 as i64 as u64),
                Op::I64ExtendI32U => un!(|a: u64| a as u32 as u64),
                Op::I64Extend8S => un!(|a: u64| a as u8 as i8 as i64 as u64),
                Op::I64Extend16S => un!(|a: u64| a as u16 as i16 as i64 as u64),
                Op::I64Extend32S => un!(|a: u64| a as u32 as i32 as i64 as u64),

                Op::CAdd => fused!(C, inst, u32::wrapping_add),
                Op::CSub => fused!(C, inst, u32::wrapping_sub),
                Op::CMul => fused!(C, inst, u32::wrapping_mul),
                Op::CAnd => fused!(C, inst, |a: u32, b: u32| a & b),
                Op::COr => fused!(C, inst, |a: u32, b: u32| a | b),
                Op::CXor => fused!(C, inst, |a: u32, b: u32| a ^ b),
                Op::CShl => fused!(C, inst, |a: u32, b: u32| a.wrapping_shl(b)),
                Op::CShrS => fused!(C, inst, |a: u32, b: u32| (a as i32).wrapping_shr(b) as u32),
                Op::CShrU => fused!(C, inst, |a: u32, b: u32| a.wrapping_shr(b)),
                Op::CRotl => fused!(C, inst, |a: u32, b: u32| a.rotate_left(b % 32)),
                Op::CRotr => fused!(C, inst, |a: u32, b: u32| a.rotate_right(b % 32)),
                Op::LAdd => fused!(L, inst, u32::wrapping_add),
                Op::LSub => fused!(L, inst, u32::wrapping_sub),
                Op::LMul => fused!(L, inst, u32::wrapping_mul),
                Op::LAnd => fused!(L, inst, |a: u32, b: u32| a & b),
                Op::LOr => fused!(L, inst, |a: u32, b: u32| a | b),
                Op::LXor => fused!(L, inst, |a: u32, b: u32| a ^ b),
                Op::LShl => fused!(L, inst, |a: u32, b: u32| a.wrapping_shl(b)),
                Op::LShrS => fused!(L, inst, |a: u32, b: u32| (a as i32).wrapping_shr(b) as u32),
                Op::LShrU => fused!(L, inst, |a: u32, b: u32| a.wrapping_shr(b)),
                Op::LRotl => fused!(L, inst, |a: u32, b: u32| a.rotate_left(b % 32)),
                Op::LRotr => fused!(L, inst, |a: u32, b: u32| a.rotate_right(b % 32)),
                Op::LcAdd => fused!(Lc, inst, u32::wrapping_add),
                Op::LcSub => fused!(Lc, inst, u32::wrapping_sub),
                Op::LcMul => fused!(Lc, inst, u32::wrapping_mul),
                Op::LcAnd => fused!(Lc, inst, |a: u32, b: u32| a & b),
                Op::LcOr => fused!(Lc, inst, |a: u32, b: u32| a | b),
                Op::LcXor => fused!(Lc, inst, |a: u32, b: u32| a ^ b),
                Op::LcShl => fused!(Lc, inst, |a: u32, b: u32| a.wrapping_shl(b)),
                Op::LcShrS => fused!(Lc, inst, |a: u32, b: u32| (a as i32).wrapping_shr(b) as u32),
                Op::LcShrU => fused!(Lc, inst, |a: u32, b: u32| a.wrapping_shr(b)),
                Op::LcRotl => fused!(Lc, inst, |a: u32, b: u32| a.rotate_left(b % 32)),
                Op::LcRotr => fused!(Lc, inst, |a: u32, b: u32| a.rotate_right(b % 32)),
                Op::LlAdd => fused!(Ll, inst, u32::wrapping_add),
                Op::LlSub => fused!(Ll, inst, u32::wrapping_sub),
                Op::LlMul => fused!(Ll, inst, u32::wrapping_mul),
                Op::LlAnd => fused!(Ll, inst, |a: u32, b: u32| a & b),
                Op::LlOr => fused!(Ll, inst, |a: u32, b: u32| a | b),
                Op::LlXor => fused!(Ll, inst, |a: u32, b: u32| a ^ b),
                Op::LlShl => fused!(Ll, inst, |a: u32, b: u32| a.wrapping_shl(b)),
                Op::LlShrS => fused!(Ll, inst, |a: u32, b: u32| (a as i32).wrapping_shr(b) as u32),
                Op::LlShrU => fused!(Ll, inst, |a: u32, b: u32| a.wrapping_shr(b)),
                Op::LlRotl => fused!(Ll, inst, |a: u32, b: u32| a.rotate_left(b % 32)),
                Op::LlRotr => fused!(Ll, inst, |a: u32, b: u32| a.rotate_right(b % 32)),
            }
        }
        let done = max - budget;
        *machine_pc = pc as u32;
        self.steps += done;
        done
    }
}

fn io_trap(fault: IoFault) -> Trap {
    match fault {
        IoFault::Memory => Trap::MemoryOutOfBounds,
        IoFault::Input => Trap::InputOutOfBounds,
        IoFault::OutputFull => Trap::OutputTooLarge,
    }
}

/// A restartable instruction at the step whose budget is `budget` more steps: checks its
/// bounds (a restart checks what is left, which lies inside the first range), then runs it to
/// the end if the budget covers its chunks (`Some(budget left)`), else as many chunks as it
/// covers (`None`).
#[inline(never)]
fn restartable(
    op: Op,
    stack: &mut Vec<u64>,
    memory: &mut Memory,
    input: &[u8],
    output: &mut Output,
    budget: u64,
) -> Result<Option<u64>, Trap> {
    let arg = |k: usize| stack[stack.len() - k] as u32 as u64;
    let mem_len = memory.len();
    let steps = match op {
        Op::MemoryCopy => {
            let (dst, src, n) = (arg(3), arg(2), arg(1));
            if !memory.contains(dst, n) || !memory.contains(src, n) {
                return Err(Trap::MemoryOutOfBounds);
            }
            io::steps_two(dst, src, n)
        }
        Op::MemoryFill => {
            let (dst, n) = (arg(3), arg(1));
            if !memory.contains(dst, n) {
                return Err(Trap::MemoryOutOfBounds);
            }
            io::steps_one(dst, n)
        }
        Op::InputRead => {
            let (dst, offset, n) = (arg(3), arg(2), arg(1));
            io::check_input_read(mem_len, input.len() as u64, dst, offset, n).map_err(io_trap)?;
            io::steps_two(dst, offset, n)
        }
        _ => {
            let (src, n) = (arg(2), arg(1));
            let written = output.bytes().len() as u64;
            io::check_output(mem_len, written, src, n).map_err(io_trap)?;
            io::steps_two(src, written, n)
        }
    };
    if steps - 1 <= budget {
        bulk_whole(op, stack, memory, input, output);
        Ok(Some(budget - (steps - 1)))
    } else {
        bulk_chunks(op, stack, memory, input, output, budget + 1);
        Ok(None)
    }
}

/// A restartable instruction run to the end in one go (bounds already checked).
fn bulk_whole(
    op: Op,
    stack: &mut Vec<u64>,
    memory: &mut Memory,
    input: &[u8],
    output: &mut Output,
) {
    let len = stack.len();
    let arg = |k: usize| stack[len - k] as u32 as u64;
    match op {
        Op::MemoryCopy => memory.copy_within(arg(3), arg(2), arg(1)),
        Op::MemoryFill => memory.fill(arg(3), arg(2) as u8, arg(1)),
        Op::InputRead => {
            let (dst, off, n) = (arg(3), arg(2) as usize, arg(1) as usize);
            memory.write(dst, &input[off..off + n]);
        }
        _ => {
            let (src, n) = (arg(2) as usize, arg(1) as usize);
            output.extend(&memory.bytes()[src..src + n]);
            stack.truncate(len - 2);
            return;
        }
    }
    stack.truncate(len - 3);
}

/// Exactly `chunks` chunks of a restartable instruction that needs more; its operands are
/// rewritten in place, as the machine leaves them between steps.
fn bulk_chunks(
    op: Op,
    stack: &mut [u64],
    memory: &mut Memory,
    input: &[u8],
    output: &mut Output,
    chunks: u64,
) {
    let len = stack.len();
    for _ in 0..chunks {
        match op {
            Op::MemoryCopy => {
                let (dst, src, n) = (stack[len - 3], stack[len - 2], stack[len - 1]);
                let (to, from, c) = io::copy_chunk(dst, src, n);
                memory.copy_within(to, from, c);
                // A backward chunk is cut from the end: only `n` changes.
                if dst <= src {
                    stack[len - 3] = dst + c;
                    stack[len - 2] = src + c;
                }
                stack[len - 1] = n - c;
            }
            Op::MemoryFill => {
                let (dst, value, n) = (stack[len - 3], stack[len - 2], stack[len - 1]);
                let c = io::chunk(n, &[dst]);
                memory.fill(dst, value as u8, c);
                stack[len - 3] = dst + c;
                stack[len - 1] = n - c;
            }
            Op::InputRead => {
                let (dst, off, n) = (stack[len - 3], stack[len - 2], stack[len - 1]);
                let c = io::chunk(n, &[dst, off]);
                memory.write(dst, &input[off as usize..(off + c) as usize]);
                stack[len - 3] = dst + c;
                stack[len - 2] = off + c;
                stack[len - 1] = n - c;
            }
            _ => {
                let (src, n) = (stack[len - 2], stack[len - 1]);
                let c = io::chunk(n, &[src, output.bytes().len() as u64]);
                output.extend(&memory.bytes()[src as usize..(src + c) as usize]);
                stack[len - 2] = src + c;
                stack[len - 1] = n - c;
            }
        }
    }
}

//! The `ecm.*` primitives as host functions, for the engines that run the original code
//! (wasmtime, wasmi). The bounds checks and step counts are the machine's own (`io.rs`), so
//! every engine traps where the machine traps and fuel covers the machine's steps.

use crate::io::{self, IoFault};
use std::{fmt, sync::Arc};

/// The most stderr an engine keeps for display.
pub const LOG_CAP: usize = 64 << 10;

/// Why a host function stops the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `ecm.exit(code)`: halted.
    Exit(u32),
    /// A primitive's bounds check failed: the machine traps here too.
    Fault(IoFault),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Exit(code) => write!(f, "exit({code})"),
            Stop::Fault(IoFault::Memory) => f.write_str("out of bounds memory access"),
            Stop::Fault(IoFault::Input) => f.write_str("input read past the end of the input"),
            Stop::Fault(IoFault::OutputFull) => f.write_str("output larger than a result may be"),
        }
    }
}

impl std::error::Error for Stop {}

/// A run's input, output and stderr.
#[derive(Debug, Default)]
pub struct Host {
    /// The request input (stdin).
    pub input: Arc<[u8]>,
    /// What the program wrote to stdout.
    pub output: Vec<u8>,
    /// What it wrote to stderr, up to [`LOG_CAP`] bytes.
    pub log: Vec<u8>,
}

impl Host {
    /// A host serving `input`.
    pub fn new(input: &[u8]) -> Self {
        Self {
            input: input.into(),
            ..Self::default()
        }
    }

    /// `ecm.input_len`.
    pub fn input_len(&self) -> u32 {
        self.input.len() as u32
    }

    /// `ecm.input_read(dst, offset, len)` into `memory`; returns the machine's steps for it.
    pub fn input_read(
        &self,
        memory: &mut [u8],
        dst: u32,
        offset: u32,
        len: u32,
    ) -> Result<u64, Stop> {
        let (dst, offset, len) = (dst as u64, offset as u64, len as u64);
        io::check_input_read(
            memory.len() as u64,
            self.input.len() as u64,
            dst,
            offset,
            len,
        )
        .map_err(Stop::Fault)?;
        memory[dst as usize..(dst + len) as usize]
            .copy_from_slice(&self.input[offset as usize..(offset + len) as usize]);
        Ok(io::steps_two(dst, offset, len))
    }

    /// `ecm.output(src, len)` from `memory`; returns the machine's steps for it.
    pub fn output(&mut self, memory: &[u8], src: u32, len: u32) -> Result<u64, Stop> {
        let (src, len) = (src as u64, len as u64);
        let written = self.output.len() as u64;
        io::check_output(memory.len() as u64, written, src, len).map_err(Stop::Fault)?;
        self.output
            .extend_from_slice(&memory[src as usize..(src + len) as usize]);
        Ok(io::steps_two(src, written, len))
    }

    /// `ecm.log(src, len)`: kept for display; a bad range is ignored, as the machine ignores
    /// the operands.
    pub fn log(&mut self, memory: &[u8], src: u32, len: u32) {
        let (src, len) = (src as usize, len as usize);
        if let Some(bytes) = memory.get(src..src.saturating_add(len)) {
            let room = LOG_CAP.saturating_sub(self.log.len());
            self.log.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
}

/// How an engine's run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineEnd {
    /// Halted with an exit code; the output is the host's.
    Halted(u32),
    /// Trapped (the engine's message).
    Trapped(String),
    /// Out of fuel: the program needs more steps than it was given.
    OutOfFuel,
    /// The engine's own stack overflowed: only the machine can say what happens.
    StackOverflow,
}

/// An engine's run of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineRun {
    /// How it ended.
    pub end: EngineEnd,
    /// What it wrote to stdout.
    pub output: Vec<u8>,
    /// What it wrote to stderr.
    pub log: Vec<u8>,
    /// Fuel burned, the entry stub's steps included: at least the machine's steps when the
    /// program halts (`None` for an engine without fuel).
    pub fuel: Option<u64>,
}

impl EngineRun {
    /// The final state as the machine would have it, if the run halted or trapped:
    /// `exit code (u32 LE) || output`, or empty.
    pub fn final_state(&self) -> Option<Vec<u8>> {
        match &self.end {
            EngineEnd::Halted(code) => {
                let mut state = code.to_le_bytes().to_vec();
                state.extend_from_slice(&self.output);
                Some(state)
            }
            EngineEnd::Trapped(_) => Some(Vec::new()),
            EngineEnd::OutOfFuel | EngineEnd::StackOverflow => None,
        }
    }
}

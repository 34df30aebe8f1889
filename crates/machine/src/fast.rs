//! The fast path: wasmtime runs the program's engine module (linked, floats made
//! `unreachable`) with a fuel table under which fuel is at least the machine's step count.
//!
//! Fuel against steps, operator by operator (machine steps in §2.3 of the design):
//!
//! | WASM | machine | fuel |
//! |---|---|---|
//! | `block`, `loop`, `nop`, `end` of a block | nothing | 0 |
//! | `call`, `call_indirect` | `CALL` now, `RETURN` at the callee's end | 2 |
//! | `return`, a function's `end` | (the `RETURN` its call paid for) | 0 |
//! | `br_table` | `BR_TABLE`, then a `BR` | 2 |
//! | `else` | the then-branch's closing `BR` | 1 |
//! | `drop`, `unreachable` | `DROP`, `TRAP` | 1 (wasmtime's default is 0) |
//! | `memory.copy`, `memory.fill` of n bytes | one step per chunk (cut at each leaf touched) | 1 + n |
//! | `call` to a primitive | `INPUT_READ`/`OUTPUT` chunks, or 1 | 2 + the chunks, charged by the host function |
//! | everything else | one instruction | 1 |
//!
//! The entry stub (`CALL`s and `RETURN`s into `start` and the entry, `CONST 0`, `HALT`) runs
//! outside any engine; [`crate::Program::stub_steps`] adds it. So a program that halts
//! after `N` machine steps burns fuel `F >= N` (a property test holds every example and
//! generated module to it), and a host may claim `F` steps: final states are sticky.
//!
//! wasmtime's stack (512 KiB) overflows before the machine's 65,536 frames; a host never
//! answers from an overflow, it asks the machine.

use crate::{
    error::Error,
    host::{EngineEnd, EngineRun, Host, Stop},
    limits::{MAX_PAGES, MAX_TABLE_ENTRIES, PAGE_BYTES},
    link::MEMORY_EXPORT,
    program::Program,
};
use std::fmt;
use wasmtime::{
    Caller, Config, Engine, Linker, Module, OperatorCost, OptLevel, ResourceLimiter, Store, Trap,
};

/// wasmtime's stack for guest code.
pub const STACK_BYTES: usize = 512 << 10;

/// The fuel cost table: each operator costs at least the machine steps it lowers to.
pub fn operator_cost() -> OperatorCost {
    let mut cost = OperatorCost::new();
    cost.Call = 2;
    cost.CallIndirect = 2;
    cost.BrTable = 2;
    cost.Else = 1;
    cost.Drop = 1;
    cost.Unreachable = 1;
    cost
}

/// A wasmtime engine configured for the machine's programs.
#[derive(Clone)]
pub struct FastEngine {
    engine: Engine,
}

impl fmt::Debug for FastEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastEngine").finish_non_exhaustive()
    }
}

impl FastEngine {
    /// An engine with the fuel table and the stack cap.
    pub fn new() -> Result<Self, Error> {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .operator_cost(operator_cost())
            .cranelift_opt_level(OptLevel::Speed)
            .max_wasm_stack(STACK_BYTES);
        let engine = Engine::new(&config).map_err(|e| Error::Wasmtime(format!("{e:#}")))?;
        Ok(Self { engine })
    }

    /// Compiles a program's engine module.
    pub fn compile(&self, program: &Program) -> Result<FastModule, Error> {
        let module = Module::new(&self.engine, program.engine_wasm())
            .map_err(|e| Error::Wasmtime(format!("{e:#}")))?;
        Ok(FastModule {
            engine: self.engine.clone(),
            module,
            entry: program.entry_name(),
            stub_steps: program.stub_steps(),
        })
    }
}

/// A compiled program, ready to run on inputs.
#[derive(Clone)]
pub struct FastModule {
    engine: Engine,
    module: Module,
    entry: &'static str,
    stub_steps: u64,
}

impl fmt::Debug for FastModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastModule")
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

struct State {
    host: Host,
}

impl ResourceLimiter for State {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // As the machine's `memory.grow`: past the cap it returns -1, it does not trap.
        Ok(desired <= MAX_PAGES as usize * PAGE_BYTES)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ENTRIES as usize)
    }
}

fn memory(caller: &mut Caller<'_, State>) -> wasmtime::Result<wasmtime::Memory> {
    match caller.get_export(MEMORY_EXPORT) {
        Some(wasmtime::Extern::Memory(memory)) => Ok(memory),
        _ => Err(wasmtime::Error::msg(
            "the program calls an ecm primitive but has no memory",
        )),
    }
}

fn charge(caller: &mut Caller<'_, State>, steps: u64) -> wasmtime::Result<()> {
    let fuel = caller.get_fuel()?;
    if fuel < steps {
        caller.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }
    caller.set_fuel(fuel - steps)
}

fn linker(engine: &Engine) -> wasmtime::Result<Linker<State>> {
    let mut linker = Linker::new(engine);
    linker.func_wrap("ecm", "input_len", |caller: Caller<'_, State>| {
        caller.data().host.input_len() as i32
    })?;
    linker.func_wrap(
        "ecm",
        "input_read",
        |mut caller: Caller<'_, State>, dst: i32, offset: i32, len: i32| {
            let memory = memory(&mut caller)?;
            let (bytes, state) = memory.data_and_store_mut(&mut caller);
            let steps = state
                .host
                .input_read(bytes, dst as u32, offset as u32, len as u32)?;
            charge(&mut caller, steps)
        },
    )?;
    linker.func_wrap(
        "ecm",
        "output",
        |mut caller: Caller<'_, State>, src: i32, len: i32| {
            let memory = memory(&mut caller)?;
            let (bytes, state) = memory.data_and_store_mut(&mut caller);
            let steps = state.host.output(bytes, src as u32, len as u32)?;
            charge(&mut caller, steps)
        },
    )?;
    linker.func_wrap(
        "ecm",
        "log",
        |mut caller: Caller<'_, State>, src: i32, len: i32| {
            let memory = memory(&mut caller)?;
            let (bytes, state) = memory.data_and_store_mut(&mut caller);
            state.host.log(bytes, src as u32, len as u32);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ecm",
        "exit",
        |_: Caller<'_, State>, code: i32| -> wasmtime::Result<()> {
            Err(Stop::Exit(code as u32).into())
        },
    )?;
    Ok(linker)
}

impl FastModule {
    /// Runs the program on `input` with `fuel` to burn (the stub's steps included).
    pub fn run(&self, input: &[u8], fuel: u64) -> Result<EngineRun, Error> {
        let wasmtime_error = |e: wasmtime::Error| Error::Wasmtime(format!("{e:#}"));
        Program::check_input(input)?;
        let mut store = Store::new(
            &self.engine,
            State {
                host: Host::new(input),
            },
        );
        store.limiter(|state| state);
        let budget = fuel.saturating_sub(self.stub_steps);
        store.set_fuel(budget).map_err(wasmtime_error)?;
        let linker = linker(&self.engine).map_err(wasmtime_error)?;
        let result = linker
            .instantiate(&mut store, &self.module)
            .and_then(|instance| {
                let entry = instance.get_typed_func::<(), ()>(&mut store, self.entry)?;
                entry.call(&mut store, ())
            });
        let end = match result {
            Ok(()) => EngineEnd::Halted(0),
            Err(e) => classify(&e),
        };
        let burned = budget - store.get_fuel().map_err(wasmtime_error)?;
        let State { host } = store.into_data();
        Ok(EngineRun {
            end,
            output: host.output,
            log: host.log,
            fuel: Some(burned + self.stub_steps),
        })
    }
}

fn classify(error: &wasmtime::Error) -> EngineEnd {
    if let Some(stop) = error.downcast_ref::<Stop>() {
        return match stop {
            Stop::Exit(code) => EngineEnd::Halted(*code),
            Stop::Fault(_) => EngineEnd::Trapped(stop.to_string()),
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => EngineEnd::OutOfFuel,
        Some(Trap::StackOverflow) => EngineEnd::StackOverflow,
        Some(trap) => EngineEnd::Trapped(trap.to_string()),
        None => EngineEnd::Trapped(format!("{error:#}")),
    }
}

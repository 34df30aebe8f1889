//! The reference engine: wasmi, an interpreter written independently of this crate, runs the
//! same engine module with the same host functions. Where it and the machine disagree, one
//! of them has a bug; the differential tests and `ecm bench machine` use it.

use crate::{
    error::Error,
    host::{EngineEnd, EngineRun, Host, Stop},
    limits::{MAX_FRAMES, MAX_PAGES, PAGE_BYTES},
    link::MEMORY_EXPORT,
    program::Program,
};
use wasmi::{Caller, Config, Engine, Linker, Module, Store, StoreLimits, StoreLimitsBuilder};

impl wasmi::errors::HostError for Stop {}

struct State {
    host: Host,
    limits: StoreLimits,
}

/// wasmi with the machine's memory cap.
#[derive(Debug)]
pub struct ReferenceModule {
    engine: Engine,
    module: Module,
    entry: &'static str,
}

fn memory(caller: &Caller<'_, State>) -> Result<wasmi::Memory, wasmi::Error> {
    caller
        .get_export(MEMORY_EXPORT)
        .and_then(|e| e.into_memory())
        .ok_or_else(|| wasmi::Error::new("the program calls an ecm primitive but has no memory"))
}

fn linker(engine: &Engine) -> Result<Linker<State>, wasmi::Error> {
    let mut linker = Linker::new(engine);
    linker.func_wrap("ecm", "input_len", |caller: Caller<'_, State>| {
        caller.data().host.input_len() as i32
    })?;
    linker.func_wrap(
        "ecm",
        "input_read",
        |mut caller: Caller<'_, State>, dst: i32, offset: i32, len: i32| {
            let memory = memory(&caller)?;
            let (bytes, state) = memory.data_and_store_mut(&mut caller);
            state
                .host
                .input_read(bytes, dst as u32, offset as u32, len as u32)
                .map(|_| ())
                .map_err(wasmi::Error::host)
        },
    )?;
    linker.func_wrap(
        "ecm",
        "output",
        |mut caller: Caller<'_, State>, src: i32, len: i32| {
            let memory = memory(&caller)?;
            let (bytes, state) = memory.data_and_store_mut(&mut caller);
            state
                .host
                .output(bytes, src as u32, len as u32)
                .map(|_| ())
                .map_err(wasmi::Error::host)
        },
    )?;
    linker.func_wrap(
        "ecm",
        "log",
        |mut caller: Caller<'_, State>, src: i32, len: i32| -> Result<(), wasmi::Error> {
            let memory = memory(&caller)?;
            let (bytes, state) = memory.data_and_store_mut(&mut caller);
            state.host.log(bytes, src as u32, len as u32);
            Ok(())
        },
    )?;
    linker.func_wrap(
        "ecm",
        "exit",
        |_: Caller<'_, State>, code: i32| -> Result<(), wasmi::Error> {
            Err(wasmi::Error::host(Stop::Exit(code as u32)))
        },
    )?;
    Ok(linker)
}

impl ReferenceModule {
    /// Compiles a program's engine module with wasmi.
    pub fn new(program: &Program) -> Result<Self, Error> {
        // As deep as the machine's frames go (wasmi's default is 1,024 calls).
        let mut config = Config::default();
        config.set_max_recursion_depth(MAX_FRAMES as usize);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, program.engine_wasm())
            .map_err(|e| Error::Wasmtime(format!("wasmi: {e}")))?;
        Ok(Self {
            engine,
            module,
            entry: program.entry_name(),
        })
    }

    /// Runs the program on `input`.
    pub fn run(&self, input: &[u8]) -> Result<EngineRun, Error> {
        Program::check_input(input)?;
        let mut store = Store::new(
            &self.engine,
            State {
                host: Host::new(input),
                limits: StoreLimitsBuilder::new()
                    .memory_size(MAX_PAGES as usize * PAGE_BYTES)
                    .build(),
            },
        );
        store.limiter(|state| &mut state.limits);
        let linker = linker(&self.engine).map_err(|e| Error::Wasmtime(format!("wasmi: {e}")))?;
        let result = linker
            .instantiate_and_start(&mut store, &self.module)
            .and_then(|instance| {
                instance
                    .get_typed_func::<(), ()>(&store, self.entry)?
                    .call(&mut store, ())
            });
        let end = match result {
            Ok(()) => EngineEnd::Halted(0),
            Err(e) => classify(&e),
        };
        let State { host, .. } = store.into_data();
        Ok(EngineRun {
            end,
            output: host.output,
            log: host.log,
            fuel: None,
        })
    }
}

fn classify(error: &wasmi::Error) -> EngineEnd {
    if let Some(stop) = error.downcast_ref::<Stop>() {
        return match stop {
            Stop::Exit(code) => EngineEnd::Halted(*code),
            Stop::Fault(_) => EngineEnd::Trapped(stop.to_string()),
        };
    }
    match error.as_trap_code() {
        Some(wasmi::TrapCode::StackOverflow) => EngineEnd::StackOverflow,
        Some(wasmi::TrapCode::OutOfFuel) => EngineEnd::OutOfFuel,
        _ => EngineEnd::Trapped(error.to_string()),
    }
}

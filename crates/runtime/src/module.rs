//! Loading, validating and running WASM programs with wasmtime.

use crate::{
    Error, Limits, Result,
    trace::{RunOutput, Stepper},
};
use alloy_primitives::{B256, keccak256};
use std::fmt;
use wasmtime::{
    Config, Engine, ExternType, Instance, Linker, Memory, Module, OptLevel, ResourceLimiter, Store,
    Trap, TypedFunc, ValType,
};

/// The version of the guest ABI this runtime speaks.
pub const ABI_VERSION: i32 = 1;

/// Size of the header `ecm_step` and `ecm_run` return: ptr, len, final, reserved (u32 each),
/// then steps done (u64), little-endian.
const OUTPUT_HEADER_BYTES: usize = 24;

/// The first batch size tried before the fuel use of a program is known.
const FIRST_BATCH: u64 = 64;

/// A wasmtime engine configured for deterministic, bounded execution.
#[derive(Clone)]
pub struct Runtime {
    engine: Engine,
    limits: Limits,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// An engine with fuel metering, NaN canonicalisation, no relaxed SIMD (whose results vary by
    /// CPU), no threads, no 64-bit or multiple memories, and the stack cap of `limits`.
    pub fn new(limits: Limits) -> Result<Self> {
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .cranelift_opt_level(OptLevel::Speed)
            .wasm_relaxed_simd(false)
            .wasm_memory64(false)
            .wasm_multi_memory(false)
            .max_wasm_stack(limits.stack_bytes);
        let engine = Engine::new(&config).map_err(|e| Error::Wasmtime(e.to_string()))?;
        Ok(Self { engine, limits })
    }

    /// The limits programs run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles `bytes` and checks that it is an ecm program: it implements the guest ABI and
    /// imports nothing.
    pub fn load(&self, bytes: &[u8]) -> Result<WasmProgram> {
        let module =
            Module::new(&self.engine, bytes).map_err(|e| Error::NotWasm(format!("{e:#}")))?;
        if let Some(import) = module.imports().next() {
            return Err(Error::UnexpectedImport {
                module: import.module().into(),
                name: import.name().into(),
            });
        }
        check_memory_export(&module)?;
        check_func_export(&module, "ecm_abi_version", &[], "() -> i32")?;
        check_func_export(&module, "ecm_alloc", &[ValType::I32], "(i32) -> i32")?;
        check_func_export(
            &module,
            "ecm_step",
            &[ValType::I64, ValType::I32, ValType::I32],
            "(i64, i32, i32) -> i32",
        )?;
        check_func_export(
            &module,
            "ecm_run",
            &[ValType::I64, ValType::I64, ValType::I32, ValType::I32],
            "(i64, i64, i32, i32) -> i32",
        )?;
        Ok(WasmProgram {
            runtime: self.clone(),
            module,
            hash: keccak256(bytes),
        })
    }
}

fn check_memory_export(module: &Module) -> Result<()> {
    match module.get_export("memory") {
        None => Err(Error::MissingExport { name: "memory" }),
        Some(ExternType::Memory(_)) => Ok(()),
        Some(_) => Err(Error::ExportType {
            name: "memory",
            expected: "a linear memory",
        }),
    }
}

fn check_func_export(
    module: &Module,
    name: &'static str,
    params: &[ValType],
    expected: &'static str,
) -> Result<()> {
    let Some(export) = module.get_export(name) else {
        return Err(Error::MissingExport { name });
    };
    let ExternType::Func(func) = export else {
        return Err(Error::ExportType { name, expected });
    };
    let params_ok = func.params().len() == params.len()
        && func.params().zip(params).all(|(a, b)| ValType::eq(&a, b));
    let results: Vec<ValType> = func.results().collect();
    let results_ok = results.len() == 1 && ValType::eq(&results[0], &ValType::I32);
    if params_ok && results_ok {
        Ok(())
    } else {
        Err(Error::ExportType { name, expected })
    }
}

/// A compiled, validated program, identified by the keccak256 of its module bytes.
#[derive(Clone)]
pub struct WasmProgram {
    runtime: Runtime,
    module: Module,
    hash: B256,
}

impl fmt::Debug for WasmProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmProgram")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

impl WasmProgram {
    /// keccak256 of the module bytes: the `wasmHash` the Factory records.
    pub fn hash(&self) -> B256 {
        self.hash
    }

    /// A fresh instance, with its own memory, ready to run steps.
    pub fn instantiate(&self) -> Result<WasmInstance> {
        let limits = self.runtime.limits.clone();
        let mut store = Store::new(
            &self.runtime.engine,
            Guard {
                memory_limit: limits.memory_bytes,
            },
        );
        store.limiter(|guard| guard);
        store
            .set_fuel(limits.fuel_per_call)
            .map_err(|e| Error::Wasmtime(e.to_string()))?;
        let linker: Linker<Guard> = Linker::new(&self.runtime.engine);
        let instance = linker
            .instantiate(&mut store, &self.module)
            .map_err(|e| classify(e, 0, &limits))?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or(Error::MissingExport { name: "memory" })?;
        let version: TypedFunc<(), i32> = typed(&instance, &mut store, "ecm_abi_version")?;
        let found = version
            .call(&mut store, ())
            .map_err(|e| classify(e, 0, &limits))?;
        if found != ABI_VERSION {
            return Err(Error::AbiVersion {
                found,
                expected: ABI_VERSION,
            });
        }
        Ok(WasmInstance {
            alloc: typed(&instance, &mut store, "ecm_alloc")?,
            step: typed(&instance, &mut store, "ecm_step")?,
            run: typed(&instance, &mut store, "ecm_run")?,
            memory,
            store,
            limits,
            fuel_per_step_seen: 0,
        })
    }
}

fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &Instance,
    store: &mut Store<Guard>,
    name: &'static str,
) -> Result<TypedFunc<P, R>> {
    instance
        .get_typed_func(store, name)
        .map_err(|_| Error::MissingExport { name })
}

/// The store's resource limiter: refuses memory growth past the cap by trapping with
/// [`MemoryLimitHit`], so that the error can be told apart from other traps.
struct Guard {
    memory_limit: usize,
}

#[derive(Debug)]
struct MemoryLimitHit {
    desired: usize,
    limit: usize,
}

impl fmt::Display for MemoryLimitHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "memory limit: {} > {}", self.desired, self.limit)
    }
}

impl std::error::Error for MemoryLimitHit {}

impl ResourceLimiter for Guard {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            return Err(wasmtime::Error::new(MemoryLimitHit {
                desired,
                limit: self.memory_limit,
            }));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Turns a wasmtime error from a call into the typed error it stands for.
fn classify(error: wasmtime::Error, step: u64, limits: &Limits) -> Error {
    if let Some(hit) = error.downcast_ref::<MemoryLimitHit>() {
        return Error::MemoryLimit {
            desired: hit.desired,
            limit: hit.limit,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Error::FuelExhausted {
            step,
            fuel: limits.fuel_per_step,
        },
        Some(trap) => Error::Trap {
            step,
            message: trap.to_string(),
        },
        None => Error::Trap {
            step,
            message: format!("{error:#}"),
        },
    }
}

/// One running instance of a program. Each call gets a bounded amount of fuel; batches are sized
/// from the fuel the program has been seen to use, so a long run is many short calls.
pub struct WasmInstance {
    store: Store<Guard>,
    memory: Memory,
    alloc: TypedFunc<i32, i32>,
    step: TypedFunc<(i64, i32, i32), i32>,
    run: TypedFunc<(i64, i64, i32, i32), i32>,
    limits: Limits,
    /// The most fuel a single step has been seen to burn, for sizing batches.
    fuel_per_step_seen: u64,
}

impl fmt::Debug for WasmInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmInstance")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl WasmInstance {
    /// One step through the single-step entry `ecm_step`: `(s_i, f_i)` from `s_{i-1}`.
    pub fn step(&mut self, i: u64, state: &[u8]) -> Result<RunOutput> {
        let ptr = self.write_input(state, i)?;
        self.refuel(self.limits.fuel_per_step)?;
        let out = self
            .step
            .call(&mut self.store, (i as i64, ptr, state.len() as i32));
        let header = out.map_err(|e| classify(e, i, &self.limits))?;
        self.read_output(header, 1, i)
    }

    /// Up to `n` steps from step `first` through the batched entry `ecm_run`, in one call, with
    /// `fuel` to spend. Stops early at a final state.
    fn run_batch(
        &mut self,
        first: u64,
        n: u64,
        state: &[u8],
        fuel: u64,
    ) -> Result<(RunOutput, u64)> {
        let ptr = self.write_input(state, first)?;
        self.refuel(fuel)?;
        let call = self.run.call(
            &mut self.store,
            (first as i64, n as i64, ptr, state.len() as i32),
        );
        let header = call.map_err(|e| classify(e, first, &self.limits))?;
        let burned = fuel
            - self
                .store
                .get_fuel()
                .map_err(|e| Error::Wasmtime(e.to_string()))?;
        Ok((self.read_output(header, n, first)?, burned))
    }

    fn refuel(&mut self, fuel: u64) -> Result<()> {
        self.store
            .set_fuel(fuel)
            .map_err(|e| Error::Wasmtime(e.to_string()))
    }

    fn write_input(&mut self, state: &[u8], step: u64) -> Result<i32> {
        if state.len() > self.limits.max_state_bytes {
            return Err(Error::StateTooLarge {
                len: state.len(),
                max: self.limits.max_state_bytes,
            });
        }
        self.refuel(self.limits.fuel_per_step)?;
        let ptr = self
            .alloc
            .call(&mut self.store, state.len() as i32)
            .map_err(|e| classify(e, step, &self.limits))?;
        self.memory
            .write(&mut self.store, ptr as u32 as usize, state)
            .map_err(|_| {
                Error::AbiViolation(format!("ecm_alloc returned {ptr:#x}, outside memory"))
            })?;
        Ok(ptr)
    }

    fn read_output(&mut self, header_ptr: i32, asked: u64, first: u64) -> Result<RunOutput> {
        let mut header = [0u8; OUTPUT_HEADER_BYTES];
        self.memory
            .read(&self.store, header_ptr as u32 as usize, &mut header)
            .map_err(|_| {
                Error::AbiViolation(format!(
                    "output header at {header_ptr:#x} is outside memory"
                ))
            })?;
        let word = |k: usize| u32::from_le_bytes(header[4 * k..4 * k + 4].try_into().unwrap());
        let (state_ptr, state_len, final_flag) = (word(0) as usize, word(1) as usize, word(2));
        let steps = u64::from_le_bytes(header[16..24].try_into().unwrap());
        if state_len > self.limits.max_state_bytes {
            return Err(Error::StateTooLarge {
                len: state_len,
                max: self.limits.max_state_bytes,
            });
        }
        if final_flag > 1 || steps == 0 || steps > asked || (steps < asked && final_flag == 0) {
            return Err(Error::AbiViolation(format!(
                "ecm_run from step {first} asked for {asked} steps, got {steps} steps with final flag {final_flag}"
            )));
        }
        let mut state = vec![0u8; state_len];
        self.memory
            .read(&self.store, state_ptr, &mut state)
            .map_err(|_| {
                Error::AbiViolation(format!(
                    "state at {state_ptr:#x}+{state_len} is outside memory"
                ))
            })?;
        Ok(RunOutput {
            state,
            final_: final_flag == 1,
            steps,
        })
    }
}

impl Stepper for WasmInstance {
    fn run(&mut self, first: u64, n: u64, state: &[u8]) -> Result<RunOutput> {
        let mut current = RunOutput {
            state: state.to_vec(),
            final_: false,
            steps: 0,
        };
        let mut batch = FIRST_BATCH;
        while current.steps < n && !current.final_ {
            let want = batch.min(n - current.steps);
            // A batch gets fuel for its steps, within the per-call cap; a single step always gets
            // its full per-step fuel, so the outcome never depends on how steps were batched.
            let fuel = self
                .limits
                .fuel_per_step
                .saturating_mul(want)
                .min(self.limits.fuel_per_call)
                .max(self.limits.fuel_per_step);
            match self.run_batch(first + current.steps, want, &current.state, fuel) {
                Ok((out, burned)) => {
                    self.fuel_per_step_seen =
                        self.fuel_per_step_seen.max(burned.div_ceil(out.steps));
                    current = RunOutput {
                        state: out.state,
                        final_: out.final_,
                        steps: current.steps + out.steps,
                    };
                    let per_step = self.fuel_per_step_seen.max(1);
                    batch = (self.limits.fuel_per_call / 2 / per_step).clamp(1, 1 << 24);
                }
                // Out of fuel in a batch: retry smaller from the same point, down to one step,
                // which is then the step at fault.
                Err(Error::FuelExhausted { .. }) if want > 1 => batch = want / 2,
                Err(e) => return Err(e),
            }
        }
        Ok(current)
    }
}

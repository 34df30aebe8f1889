//! Steps per second of each example program: native Rust, WASM through the batched entry, WASM
//! one step per call.

use crate::Result;
use ecm_runtime::{Limits, NativeStepper, Runtime, Stepper};
use serde::Serialize;
use std::time::{Duration, Instant};

/// One program's speeds, in steps per second.
#[derive(Clone, Debug, Serialize)]
pub struct RuntimeRow {
    /// The program.
    pub program: &'static str,
    /// The native reference.
    pub native: f64,
    /// WASM, many steps per call (`ecm_run`).
    pub wasm_batched: f64,
    /// WASM, one step per call (`ecm_step`).
    pub wasm_single: f64,
    /// `wasm_batched / native`.
    pub batched_ratio: f64,
    /// `wasm_single / native`.
    pub single_ratio: f64,
}

/// An input whose trace is long (or restarts cheaply once final).
fn long_input(name: &str) -> Vec<u8> {
    match name {
        "counter" => u64::MAX.to_le_bytes().to_vec(),
        "fibonacci" => vec![0xff; 32],
        "keccak-chain" => {
            let mut input = u64::MAX.to_le_bytes().to_vec();
            input.extend_from_slice(&[7; 32]);
            input
        }
        "build-byte-array" => vec![0; 8192],
        _ => (0..8192u32).map(|k| (k % 251) as u8).collect(),
    }
}

/// Runs `chunk`-step runs from the input (restarting when final) until `budget` has passed;
/// returns steps per second.
fn measure(budget: Duration, mut run: impl FnMut() -> Result<u64>) -> Result<f64> {
    let started = Instant::now();
    let mut steps = 0u64;
    while started.elapsed() < budget {
        steps += run()?;
    }
    Ok(steps as f64 / started.elapsed().as_secs_f64())
}

/// Measures every example program for about `budget` per mode.
pub fn run(budget: Duration) -> Result<Vec<RuntimeRow>> {
    let runtime = Runtime::new(Limits::default())?;
    let mut rows = Vec::new();
    for spec in ecm_programs::all() {
        let input = long_input(spec.name);
        let chunk = 4096;
        let mut native = NativeStepper(spec.native);
        let native_speed = measure(budget, || Ok(native.run(1, chunk, &input)?.steps))?;
        let mut instance = runtime.load(spec.wasm)?.instantiate()?;
        let batched = measure(budget, || Ok(instance.run(1, chunk, &input)?.steps))?;
        let single = measure(budget, || {
            let mut state = input.clone();
            let mut steps = 0;
            for i in 1..=256u64 {
                let out = instance.step(i, &state)?;
                steps += 1;
                if out.final_ {
                    break;
                }
                state = out.state;
            }
            Ok(steps)
        })?;
        rows.push(RuntimeRow {
            program: spec.name,
            native: native_speed,
            wasm_batched: batched,
            wasm_single: single,
            batched_ratio: batched / native_speed,
            single_ratio: single / native_speed,
        });
    }
    Ok(rows)
}

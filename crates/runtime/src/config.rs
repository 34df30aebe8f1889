//! Resource limits of the runtime.

use ecm_primitives::MAX_STATE_BYTES;

/// Bounds on what a program may use. The defaults suit the example programs with a wide margin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (roughly, WASM instructions) one step may burn before it is stopped.
    pub fuel_per_step: u64,
    /// Fuel one call into the guest may burn; batches are sized to stay under it, so that no
    /// call runs for long whatever the program does.
    pub fuel_per_call: u64,
    /// Largest linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Largest WASM stack, in bytes.
    pub stack_bytes: usize,
    /// Largest state a step may return (the protocol's `MAX_STATE_BYTES`).
    pub max_state_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            fuel_per_step: 50_000_000,
            fuel_per_call: 500_000_000,
            memory_bytes: 64 << 20,
            stack_bytes: 512 << 10,
            max_state_bytes: MAX_STATE_BYTES,
        }
    }
}

//! Guest SDK for ecm programs.
//!
//! A program author writes one function, the step of the trace,
//!
//! ```ignore
//! fn step(i: u64, state: &mut Vec<u8>) -> bool   // rewrites s_{i-1} into s_i, returns f_i
//! ```
//!
//! and exports it with [`export_program!`], which generates the guest ABI the ecm runtime calls
//! (documented in `docs/guest-abi.md`):
//!
//! | export            | signature                                         |
//! |-------------------|---------------------------------------------------|
//! | `memory`          | the module's linear memory                        |
//! | `ecm_abi_version` | `() -> i32`, returns [`ABI_VERSION`]              |
//! | `ecm_alloc`       | `(len: i32) -> i32`, a buffer for the input state |
//! | `ecm_step`        | `(i: i64, ptr: i32, len: i32) -> i32`             |
//! | `ecm_run`         | `(first: i64, n: i64, ptr: i32, len: i32) -> i32` |
//!
//! `ecm_step` and `ecm_run` return a pointer to an [`Output`] header: where the resulting state
//! is, its length, the final flag and the number of steps done. `ecm_run` stops early at a
//! final state. Buffers are reused between calls, so an instance's memory stays bounded.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;
use core::cell::UnsafeCell;

/// The version of the guest ABI this SDK implements.
pub const ABI_VERSION: i32 = 1;

/// The header `ecm_step` and `ecm_run` return a pointer to (24 bytes, little-endian).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Output {
    /// Where the resulting state starts in linear memory.
    pub state_ptr: u32,
    /// Its length in bytes.
    pub state_len: u32,
    /// 1 if the state is final, else 0.
    pub final_flag: u32,
    /// Always zero (alignment).
    pub reserved: u32,
    /// The number of steps done by the call.
    pub steps_done: u64,
}

/// The guest's buffers: the input the host writes, the state being stepped, the output header.
/// A module is single-threaded; the cell is only touched from the exported entry points.
pub struct Buffers {
    inner: UnsafeCell<(Vec<u8>, Vec<u8>, Output)>,
}

// SAFETY: wasm32 modules run on one thread, and the runtime never calls into an instance
// concurrently.
unsafe impl Sync for Buffers {}

impl Buffers {
    /// Empty buffers.
    pub const fn new() -> Self {
        Self {
            inner: UnsafeCell::new((
                Vec::new(),
                Vec::new(),
                Output {
                    state_ptr: 0,
                    state_len: 0,
                    final_flag: 0,
                    reserved: 0,
                    steps_done: 0,
                },
            )),
        }
    }

    /// `ecm_alloc`: makes the input buffer `len` bytes long and returns where it starts.
    ///
    /// # Safety
    /// Must not be called while another entry point of the same instance runs.
    pub unsafe fn alloc(&self, len: u32) -> *mut u8 {
        let (input, _, _) = unsafe { &mut *self.inner.get() };
        input.clear();
        input.resize(len as usize, 0);
        input.as_mut_ptr()
    }

    /// `ecm_run`: runs up to `n` steps from step `first` on the state at `ptr..ptr + len` (the
    /// input buffer), stopping at a final state.
    ///
    /// # Safety
    /// `ptr..ptr + len` must be the buffer `alloc` returned (or lie inside linear memory).
    pub unsafe fn run(
        &self,
        step: fn(u64, &mut Vec<u8>) -> bool,
        first: u64,
        n: u64,
        ptr: *const u8,
        len: u32,
    ) -> *const Output {
        let (_, state, output) = unsafe { &mut *self.inner.get() };
        state.clear();
        state.extend_from_slice(unsafe { core::slice::from_raw_parts(ptr, len as usize) });
        let mut done = 0u64;
        let mut final_flag = false;
        while done < n {
            final_flag = step(first + done, state);
            done += 1;
            if final_flag {
                break;
            }
        }
        *output = Output {
            state_ptr: state.as_ptr() as u32,
            state_len: state.len() as u32,
            final_flag: final_flag as u32,
            reserved: 0,
            steps_done: done,
        };
        output as *const Output
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}

/// Exports a step function `fn(u64, &mut Vec<u8>) -> bool` with the ecm guest ABI.
#[macro_export]
macro_rules! export_program {
    ($step:path) => {
        static ECM_BUFFERS: $crate::Buffers = $crate::Buffers::new();

        /// The guest ABI version.
        #[unsafe(no_mangle)]
        pub extern "C" fn ecm_abi_version() -> i32 {
            $crate::ABI_VERSION
        }

        /// A buffer of `len` bytes for the input state.
        #[unsafe(no_mangle)]
        pub extern "C" fn ecm_alloc(len: i32) -> i32 {
            unsafe { ECM_BUFFERS.alloc(len as u32) as i32 }
        }

        /// One step: `s_i` from `s_{i-1}`.
        #[unsafe(no_mangle)]
        pub extern "C" fn ecm_step(i: i64, ptr: i32, len: i32) -> i32 {
            unsafe { ECM_BUFFERS.run($step, i as u64, 1, ptr as *const u8, len as u32) as i32 }
        }

        /// Up to `n` steps from step `first`, stopping at a final state.
        #[unsafe(no_mangle)]
        pub extern "C" fn ecm_run(first: i64, n: i64, ptr: i32, len: i32) -> i32 {
            unsafe {
                ECM_BUFFERS.run($step, first as u64, n as u64, ptr as *const u8, len as u32) as i32
            }
        }
    };
}

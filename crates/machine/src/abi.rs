//! The machine's host ABI: the `ecm.*` primitives a program (or the WASI shim) imports.
//!
//! | import | type | machine instruction |
//! |---|---|---|
//! | `ecm.input_len` | `() -> i32` | `INPUT_LEN` |
//! | `ecm.input_read` | `(dst: i32, offset: i32, len: i32) -> ()` | `INPUT_READ` (restartable) |
//! | `ecm.output` | `(src: i32, len: i32) -> ()` | `OUTPUT` (restartable) |
//! | `ecm.log` | `(src: i32, len: i32) -> ()` | `LOG` (stderr: shown, not part of the result) |
//! | `ecm.exit` | `(code: i32) -> ()` | `HALT` (does not return) |
//!
//! A program exports `ecm_main: () -> ()` to use them directly (`no_std` programs), or
//! `_start` as any WASI command does, whose WASI imports the shim serves over them.

use crate::inst::Op;
use wasmparser::{FuncType, ValType};

/// The module name of the primitives.
pub const MODULE: &str = "ecm";
/// The module name of WASI preview 1, served by the shim.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";
/// The entry point of a WASI command.
pub const WASI_ENTRY: &str = "_start";
/// The entry point of a program that uses the primitives directly.
pub const ECM_ENTRY: &str = "ecm_main";

/// One primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Primitive {
    /// Its import name in module `ecm`.
    pub name: &'static str,
    /// Number of i32 parameters.
    pub params: usize,
    /// Number of i32 results (0 or 1).
    pub results: usize,
    /// The instruction a call to it lowers to.
    pub op: Op,
}

/// Every primitive.
pub const PRIMITIVES: [Primitive; 5] = [
    Primitive {
        name: "input_len",
        params: 0,
        results: 1,
        op: Op::InputLen,
    },
    Primitive {
        name: "input_read",
        params: 3,
        results: 0,
        op: Op::InputRead,
    },
    Primitive {
        name: "output",
        params: 2,
        results: 0,
        op: Op::Output,
    },
    Primitive {
        name: "log",
        params: 2,
        results: 0,
        op: Op::Log,
    },
    Primitive {
        name: "exit",
        params: 1,
        results: 0,
        op: Op::Halt,
    },
];

impl Primitive {
    /// The primitive imported as `ecm.<name>`.
    pub fn by_name(name: &str) -> Option<&'static Primitive> {
        PRIMITIVES.iter().find(|p| p.name == name)
    }

    /// Its WebAssembly type.
    pub fn func_type(&self) -> FuncType {
        FuncType::new(
            vec![ValType::I32; self.params],
            vec![ValType::I32; self.results],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_types_match_the_table() {
        for p in &PRIMITIVES {
            assert_eq!(Primitive::by_name(p.name), Some(p));
        }
        assert_eq!(
            Primitive::by_name("input_read")
                .unwrap()
                .func_type()
                .to_string(),
            FuncType::new([ValType::I32; 3], []).to_string()
        );
        assert!(Primitive::by_name("fd_write").is_none());
    }
}

//! The example programs for the machine: stock `wasm32-wasip1` commands (`programs/wasi/*`),
//! an ordinary `fn main()` each that reads stdin and writes stdout. No Solidity, no step
//! function: the machine runs the module as it is.

/// One WASI example program.
#[derive(Clone, Copy, Debug)]
pub struct WasiProgram {
    /// Its name (the binary's name).
    pub name: &'static str,
    /// What it computes.
    pub description: &'static str,
    /// The module, as `cargo build --release --target wasm32-wasip1` builds it.
    pub wasm: &'static [u8],
    /// Inputs that exercise it.
    pub samples: &'static [&'static str],
}

/// Every WASI example program.
pub fn wasi_programs() -> &'static [WasiProgram] {
    &WASI_PROGRAMS
}

/// The WASI example program with this name.
pub fn wasi_program(name: &str) -> Option<&'static WasiProgram> {
    WASI_PROGRAMS.iter().find(|p| p.name == name)
}

static WASI_PROGRAMS: [WasiProgram; 3] = [
    WasiProgram {
        name: "sha256sum",
        description: "the SHA-256 of stdin, printed as `sha256sum -` prints it",
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/wasi_sha256sum.wasm")),
        samples: &["", "abc", "The quick brown fox jumps over the lazy dog\n"],
    },
    WasiProgram {
        name: "wordfreq",
        description: "the ten most frequent words of stdin (uses a HashMap, so WASI random_get)",
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/wasi_wordfreq.wasm")),
        samples: &["", "to be or not to be\n", "a a a b b c d e f g h i j k l"],
    },
    WasiProgram {
        name: "workloads",
        description: "benchmark workloads: `sha256 N`, `blur W H`, `mix N`",
        wasm: include_bytes!(concat!(env!("OUT_DIR"), "/wasi_workloads.wasm")),
        samples: &["sha256 1000", "blur 16 16", "mix 300", "nonsense"],
    },
];

/// A machine program's module, by the hash it is registered with: a built-in example with that
/// hash, else the file the deployment records for it (`ecm program deploy`) if the file still
/// has that hash. `None` if neither; agents also look in their `--module-dir`.
pub fn machine_module(entry: &ecm_primitives::ProgramEntry) -> Option<Vec<u8>> {
    use alloy_primitives::keccak256;
    if let Some(example) = WASI_PROGRAMS
        .iter()
        .find(|p| keccak256(p.wasm) == entry.wasm_hash)
    {
        return Some(example.wasm.to_vec());
    }
    let bytes = std::fs::read(entry.module.as_ref()?).ok()?;
    (keccak256(&bytes) == entry.wasm_hash).then_some(bytes)
}

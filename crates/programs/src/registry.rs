//! The table of example programs.

use crate::{Error, Result, inputs};
use alloy_primitives::{B256, Bytes, keccak256};
use ecm_example_programs as examples;

/// One example program in all its forms.
#[derive(Clone, Copy)]
pub struct ProgramSpec {
    /// Its name, as used on the command line and in deployment files.
    pub name: &'static str,
    /// One line on what it computes.
    pub description: &'static str,
    /// What its typed input looks like.
    pub input_help: &'static str,
    /// The WASM module hosts run.
    pub wasm: &'static [u8],
    /// The step function in plain Rust (the reference implementation).
    pub native: fn(u64, &mut Vec<u8>) -> bool,
    /// The gas each on-chain step is given (measured in the Foundry tests, with a margin).
    pub max_step_gas: u32,
    /// The creation bytecode of its Execution contract.
    pub creation_bytecode: &'static Bytes,
    /// The runtime bytecode of its Execution contract.
    pub runtime_bytecode: &'static Bytes,
    typed_input: fn(&str) -> Result<Vec<u8>, String>,
    show_result: fn(&[u8]) -> String,
    /// Typed inputs whose traces cover the program's behaviour (edge cases and a few hundred
    /// steps), for conformance checks.
    samples: &'static [&'static str],
}

impl std::fmt::Debug for ProgramSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramSpec")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ProgramSpec {
    /// keccak256 of the WASM module: the `wasmHash` registered in the Factory.
    pub fn wasm_hash(&self) -> B256 {
        keccak256(self.wasm)
    }

    /// Parses an input given as text: `0x`-prefixed raw hex, or the program's typed form
    /// (see [`ProgramSpec::input_help`]).
    pub fn parse_input(&self, text: &str) -> Result<Vec<u8>> {
        inputs::parse(self.name, self.input_help, text, self.typed_input)
    }

    /// Representative inputs, for checking the WASM module against the Execution contract.
    pub fn samples(&self) -> Vec<Vec<u8>> {
        self.samples
            .iter()
            .map(|text| self.parse_input(text).expect("the samples parse"))
            .collect()
    }

    /// A result in the program's own terms (a number for Fibonacci, hex for hashes).
    pub fn show_result(&self, result: &[u8]) -> String {
        (self.show_result)(result)
    }
}

mod modules {
    pub(super) const FIBONACCI: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fibonacci.wasm"));
    pub(super) const BUILD_BYTE_ARRAY: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/build_byte_array.wasm"));
    pub(super) const COUNTER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/counter.wasm"));
    pub(super) const KECCAK_CHAIN: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/keccak_chain.wasm"));
    pub(super) const BLAKE2B: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/blake2b.wasm"));
}

static PROGRAMS: [ProgramSpec; 5] = [
    ProgramSpec {
        name: "fibonacci",
        description: "ECM's Fibonacci: F(n) modulo 2^256 in n + 1 steps, F(0) = F(1) = 1",
        input_help: "n as a decimal number, e.g. 10",
        wasm: modules::FIBONACCI,
        native: examples::fibonacci::step,
        max_step_gas: 50_000,
        creation_bytecode: &ecm_bindings::Fibonacci::BYTECODE,
        runtime_bytecode: &ecm_bindings::Fibonacci::DEPLOYED_BYTECODE,
        typed_input: inputs::fibonacci,
        show_result: inputs::show_le_decimal,
        samples: &["0", "1", "2", "10", "60", "299"],
    },
    ProgramSpec {
        name: "build-byte-array",
        description: "ECM's toy: [1, 2, ..., L] for an input of L bytes, one byte per step",
        input_help: "the length L as a decimal number, e.g. 5",
        wasm: modules::BUILD_BYTE_ARRAY,
        native: examples::build_byte_array::step,
        max_step_gas: 200_000,
        creation_bytecode: &ecm_bindings::BuildByteArray::BYTECODE,
        runtime_bytecode: &ecm_bindings::BuildByteArray::DEPLOYED_BYTECODE,
        typed_input: inputs::build_byte_array,
        show_result: inputs::show_hex,
        samples: &["0", "1", "5", "300"],
    },
    ProgramSpec {
        name: "counter",
        description: "counts to n, the cheapest step: for disputes over very long traces",
        input_help: "n as a decimal number, e.g. 1000000",
        wasm: modules::COUNTER,
        native: examples::counter::step,
        max_step_gas: 20_000,
        creation_bytecode: &ecm_bindings::Counter::BYTECODE,
        runtime_bytecode: &ecm_bindings::Counter::DEPLOYED_BYTECODE,
        typed_input: inputs::counter,
        show_result: inputs::show_counter,
        samples: &["0", "1", "50", "300"],
    },
    ProgramSpec {
        name: "keccak-chain",
        description: "a hash chain h_i = keccak256(h_{i-1}), the sequential benchmark workload",
        input_help: "n, or n:0x<32-byte seed> (seed zero by default), e.g. 1000",
        wasm: modules::KECCAK_CHAIN,
        native: examples::keccak_chain::step,
        max_step_gas: 30_000,
        creation_bytecode: &ecm_bindings::KeccakChain::BYTECODE,
        runtime_bytecode: &ecm_bindings::KeccakChain::DEPLOYED_BYTECODE,
        typed_input: inputs::keccak_chain,
        show_result: inputs::show_hex,
        samples: &["0", "1", "50", "300"],
    },
    ProgramSpec {
        name: "blake2b",
        description: "BLAKE2b-512 of a document, one 128-byte block per step",
        input_help: "the document as text, e.g. hello",
        wasm: modules::BLAKE2B,
        native: examples::blake2b::step,
        max_step_gas: 300_000,
        creation_bytecode: &ecm_bindings::Blake2b::BYTECODE,
        runtime_bytecode: &ecm_bindings::Blake2b::DEPLOYED_BYTECODE,
        typed_input: inputs::text,
        show_result: inputs::show_hex,
        samples: &[
            "",
            "abc",
            "0x00",
            "a rather longer document, of more than one block of one hundred and twenty-eight bytes, so that the chaining value is carried from step to step",
        ],
    },
];

/// Every example program.
pub fn all() -> &'static [ProgramSpec] {
    &PROGRAMS
}

/// The example program called `name`.
pub fn by_name(name: &str) -> Result<&'static ProgramSpec> {
    PROGRAMS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| Error::UnknownProgram {
            name: name.into(),
            known: PROGRAMS
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The example program whose module hashes to `hash`.
pub fn by_wasm_hash(hash: B256) -> Option<&'static ProgramSpec> {
    PROGRAMS.iter().find(|p| p.wasm_hash() == hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_hex_inputs() {
        let fib = by_name("fibonacci").unwrap();
        assert_eq!(fib.parse_input("10").unwrap(), vec![10]);
        assert_eq!(fib.parse_input("0").unwrap(), Vec::<u8>::new());
        assert_eq!(fib.parse_input("0x0a00").unwrap(), vec![10, 0]);
        assert_eq!(fib.show_result(&[0x59]), "89");
        let chain = by_name("keccak-chain").unwrap();
        assert_eq!(chain.parse_input("3").unwrap().len(), 40);
        let seeded = chain
            .parse_input(&format!("3:0x{}", "11".repeat(32)))
            .unwrap();
        assert_eq!(&seeded[8..], &[0x11; 32]);
        assert_eq!(
            by_name("counter")
                .unwrap()
                .show_result(&[5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]),
            "counted 5 of 5"
        );
    }

    #[test]
    fn bad_inputs_say_what_is_expected() {
        let err = by_name("fibonacci")
            .unwrap()
            .parse_input("ten")
            .unwrap_err()
            .to_string();
        assert!(err.contains("decimal") && err.contains("e.g. 10"), "{err}");
        let err = by_name("fibonacci")
            .unwrap()
            .parse_input("0xzz")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bad hex"), "{err}");
        let err = by_name("blake2b")
            .unwrap()
            .parse_input(&"a".repeat(9000))
            .unwrap_err();
        assert!(matches!(err, Error::InputTooLarge { len: 9000, .. }));
        let err = by_name("fib").unwrap_err().to_string();
        assert!(
            err.contains("fibonacci") && err.contains("counter"),
            "{err}"
        );
    }

    proptest::proptest! {
        /// No text makes an input parser panic, and whatever parses fits the protocol.
        #[test]
        fn input_parsers_never_panic(text in ".{0,64}", hex_digits in "(0x)?[0-9a-fA-F]{0,80}") {
            for spec in all() {
                for candidate in [&text, &hex_digits] {
                    if let Ok(bytes) = spec.parse_input(candidate) {
                        proptest::prop_assert!(bytes.len() <= ecm_primitives::MAX_STATE_BYTES);
                    }
                }
            }
        }
    }

    #[test]
    fn samples_parse() {
        for spec in all() {
            assert!(spec.samples().len() >= 3, "{}", spec.name);
        }
    }

    #[test]
    fn modules_are_embedded_and_distinct() {
        let hashes: std::collections::HashSet<_> = all().iter().map(|p| p.wasm_hash()).collect();
        assert_eq!(hashes.len(), all().len());
        for p in all() {
            assert_eq!(&p.wasm[..4], b"\0asm", "{}", p.name);
            assert!(!p.runtime_bytecode.is_empty());
            assert_eq!(by_wasm_hash(p.wasm_hash()).unwrap().name, p.name);
        }
    }
}

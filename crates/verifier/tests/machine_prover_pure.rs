//! The machine prover cannot change behaviour after an answer: its runtime code holds no
//! instruction that reads or writes storage, reads the environment (block, transaction, gas,
//! other accounts) or calls out. With the Factory fixing the prover at deployment and program
//! ids binding it (`contracts/Factory.sol`), a machine program's step is a function of the
//! state hash and the proof alone: the audit's trap attack (a registered `Execution` armed
//! after an honest answer) has nothing to arm (`docs/security.md`).

use ecm_bindings::MachineProver;

/// Opcodes whose result depends on something besides the call's input, or that act outside
/// the call.
const FORBIDDEN: &[(u8, &str)] = &[
    (0x30, "ADDRESS"),
    (0x31, "BALANCE"),
    (0x32, "ORIGIN"),
    (0x33, "CALLER"),
    (0x3a, "GASPRICE"),
    (0x3b, "EXTCODESIZE"),
    (0x3c, "EXTCODECOPY"),
    (0x3f, "EXTCODEHASH"),
    (0x40, "BLOCKHASH"),
    (0x41, "COINBASE"),
    (0x42, "TIMESTAMP"),
    (0x43, "NUMBER"),
    (0x44, "PREVRANDAO"),
    (0x45, "GASLIMIT"),
    (0x46, "CHAINID"),
    (0x47, "SELFBALANCE"),
    (0x48, "BASEFEE"),
    (0x49, "BLOBHASH"),
    (0x4a, "BLOBBASEFEE"),
    (0x54, "SLOAD"),
    (0x55, "SSTORE"),
    (0x5a, "GAS"),
    (0x5c, "TLOAD"),
    (0x5d, "TSTORE"),
    (0xf0, "CREATE"),
    (0xf1, "CALL"),
    (0xf2, "CALLCODE"),
    (0xf4, "DELEGATECALL"),
    (0xf5, "CREATE2"),
    (0xfa, "STATICCALL"),
    (0xff, "SELFDESTRUCT"),
];

/// Every opcode of `code` with its offset, skipping PUSH immediates. The contracts are built
/// without a CBOR metadata trailer (`foundry.toml`: `cbor_metadata = false`), so every byte
/// of the runtime code is code or a PUSH immediate.
fn opcodes(code: &[u8]) -> Vec<(usize, u8)> {
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < code.len() {
        let op = code[pc];
        out.push((pc, op));
        pc += 1;
        if (0x60..=0x7f).contains(&op) {
            pc += usize::from(op - 0x5f);
        }
    }
    out
}

#[test]
fn the_prover_reads_nothing_but_its_input_and_calls_nothing() {
    let ops = opcodes(&MachineProver::DEPLOYED_BYTECODE);
    assert!(ops.len() > 1_000, "the scan sees the prover's code");
    let found: Vec<String> = ops
        .iter()
        .filter_map(|&(pc, op)| {
            FORBIDDEN
                .iter()
                .find(|(f, _)| *f == op)
                .map(|(_, name)| format!("{name} at {pc}"))
        })
        .collect();
    assert!(
        found.is_empty(),
        "impure opcodes in MachineProver: {found:?}"
    );
}

#[test]
fn the_scan_finds_what_it_forbids() {
    // A contract that reads storage and calls out, as an armed Execution would: the same scan
    // flags both, and skips a PUSH immediate that happens to hold a forbidden byte.
    // PUSH1 0x54, SLOAD, PUSH1 0 (x5), GAS, CALL, STOP.
    let code = [
        0x60, 0x54, 0x54, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x5a, 0xf1, 0x00,
    ];
    let names: Vec<u8> = opcodes(&code)
        .into_iter()
        .map(|(_, op)| op)
        .filter(|op| FORBIDDEN.iter().any(|(f, _)| f == op))
        .collect();
    assert_eq!(names, vec![0x54, 0x5a, 0xf1]);
}

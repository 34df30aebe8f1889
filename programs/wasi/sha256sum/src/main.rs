//! `sha256sum`: reads stdin to the end and prints its SHA-256 as `sha256sum -` does.
//! An ordinary `fn main()`, built with `cargo build --release --target wasm32-wasip1`.

use sha2::{Digest, Sha256};
use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .expect("reading stdin");
    let digest = Sha256::digest(&input);
    let mut out = std::io::stdout().lock();
    for byte in digest {
        write!(out, "{byte:02x}").expect("writing stdout");
    }
    writeln!(out, "  -").expect("writing stdout");
}

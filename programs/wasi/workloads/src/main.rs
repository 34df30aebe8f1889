//! Benchmark workloads, chosen by the input (the same probes the machine's design measured):
//!
//! - `sha256 N`: SHA-256 over N bytes generated from a fixed seed (xorshift64);
//! - `blur W H`: a 3x3 box blur over a W x H greyscale image generated the same way;
//! - `mix N`: N operations mixing a `BTreeMap`, `core::fmt` and calls through `dyn Fn`.
//!
//! Each prints one line: the workload and a digest of its result. Unknown input exits 2.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Read, Write};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn sha256(n: usize) -> String {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut hasher = Sha256::new();
    let mut block = [0u8; 4096];
    let mut left = n;
    while left > 0 {
        let take = left.min(block.len());
        for chunk in block[..take].chunks_mut(8) {
            let word = rng.next().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        hasher.update(&block[..take]);
        left -= take;
    }
    hex(&hasher.finalize())
}

fn blur(w: usize, h: usize) -> String {
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    let image: Vec<u8> = (0..w * h).map(|_| rng.next() as u8).collect();
    let mut out = vec![0u8; w * h];
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let mut sum = 0u32;
            for dy in 0..3 {
                for dx in 0..3 {
                    sum += image[(y + dy - 1) * w + x + dx - 1] as u32;
                }
            }
            out[y * w + x] = (sum / 9) as u8;
        }
    }
    hex(&Sha256::digest(&out))
}

fn mix(n: usize) -> String {
    let ops: [&dyn Fn(u64) -> u64; 3] = [&|x| x.rotate_left(7) ^ 0x5555, &|x| x * 31 + 7, &|x| {
        x / 3 + x % 1000
    }];
    let mut map = BTreeMap::new();
    let mut rng = XorShift(42);
    let mut text = String::new();
    for i in 0..n {
        let r = rng.next();
        let key = r % 4096;
        let value = ops[i % 3](r);
        *map.entry(key).or_insert(0u64) ^= value;
        if i % 64 == 0 {
            text.clear();
            use std::fmt::Write as _;
            write!(text, "{key}:{value:x}").unwrap();
            map.insert(text.len() as u64, value);
        }
    }
    let mut hasher = Sha256::new();
    for (k, v) in &map {
        hasher.update(k.to_le_bytes());
        hasher.update(v.to_le_bytes());
    }
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .expect("reading stdin");
    let words: Vec<&str> = input.split_whitespace().collect();
    let number = |i: usize| words.get(i).and_then(|w| w.parse::<usize>().ok());
    let result = match (words.first().copied(), number(1), number(2)) {
        (Some("sha256"), Some(n), None) => sha256(n),
        (Some("blur"), Some(w), Some(h)) => blur(w, h),
        (Some("mix"), Some(n), None) => mix(n),
        _ => {
            eprintln!("usage: sha256 N | blur W H | mix N");
            std::process::exit(2);
        }
    };
    writeln!(std::io::stdout(), "{} {result}", words.join(" ")).expect("writing stdout");
}

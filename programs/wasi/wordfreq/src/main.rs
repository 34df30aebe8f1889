//! `wordfreq`: the ten most frequent whitespace-separated words of stdin, with their counts,
//! most frequent first (ties in byte order). Invalid UTF-8 is replaced, not refused.
//!
//! It uses a `HashMap`, whose `RandomState` asks WASI's `random_get` for its keys: on the
//! machine those bytes are fixed, so the program is deterministic (and its output does not
//! depend on them, since the words are sorted).

use std::collections::HashMap;
use std::io::{Read, Write};

fn main() {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .expect("reading stdin");
    let text = String::from_utf8_lossy(&bytes);
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_default() += 1;
    }
    let mut ranked: Vec<(&str, u32)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut out = std::io::stdout().lock();
    for (word, count) in ranked.iter().take(10) {
        writeln!(out, "{count:>6} {word}").expect("writing stdout");
    }
}

//! Builds the server's list of common passwords from a ranked list, one
//! password a line, most common first (how to get the list:
//! `backend/src/security/blocklist/README.md`):
//!
//! ```text
//! cargo run -p backend --example build_blocklist -- top-100000.txt \
//!     backend/src/security/blocklist/common-passwords-100k.bin
//! ```
//!
//! It reads the first 100,000 lines, writes the sorted fingerprints and prints
//! their count, size and SHA-256 (for the README and the integrity test), then
//! times a lookup of every source entry against the new artefact's contents.

use anyhow::Context;
use backend::security::blocklist;
use sha2::{Digest, Sha256};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        anyhow::bail!("usage: build_blocklist <ranked-list.txt> <artefact.bin>");
    };
    let bytes = std::fs::read(input).with_context(|| format!("cannot read {input}"))?;
    // Bytes that are not UTF-8 (the current source has none) become U+FFFD,
    // so such a line matches nothing anyone types.
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().take(blocklist::SOURCE_ENTRIES).collect();
    if lines.len() < blocklist::SOURCE_ENTRIES {
        anyhow::bail!(
            "{input} has {} lines, fewer than {}",
            lines.len(),
            blocklist::SOURCE_ENTRIES
        );
    }
    let artefact = blocklist::build(lines.iter().copied());
    std::fs::write(output, &artefact).with_context(|| format!("cannot write {output}"))?;
    println!("source lines:  {}", lines.len());
    println!("fingerprints:  {}", artefact.len() / 4);
    println!("bytes:         {}", artefact.len());
    println!("sha256:        {}", hex::encode(Sha256::digest(&artefact)));

    // Timing against the compiled-in artefact, which equals the new one once
    // the example is rebuilt after the update.
    let start = Instant::now();
    let found = lines.iter().filter(|l| blocklist::contains(l)).count();
    let per_lookup = start.elapsed() / u32::try_from(lines.len()).unwrap_or(u32::MAX);
    println!(
        "compiled-in artefact: {found} of {} source lines found, {per_lookup:?} per password (three forms)",
        lines.len()
    );
    Ok(())
}

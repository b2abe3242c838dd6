//! How much encoding slows without the BPE word cache (`bpe_cache`): the same tokenizer.json,
//! loaded as the `tokenizers` library loads it (cache of 10,000 words) and with the cache dropped
//! as Tunesmith loads it, encodes the same sentences, alternating, several rounds; prints rows/s
//! and checks that both give the same ids.
//!
//! ```text
//! cargo run --release -p tunesmith-vocab --features tokenizers --example bpe_speed -- TOKENIZER_JSON TEXT_FILE [ROUNDS]
//! ```
//!
//! TEXT_FILE: one text per line (a TSV's last column is taken, so SST-2's train.tsv works as is).

use std::time::Instant;

use tokenizers::Tokenizer;
use tunesmith_vocab::bpe_cache::drop_bpe_cache;

/// The tokenizers library's error type, which every other error here converts into.
type E = tokenizers::Error;

fn main() -> Result<(), E> {
    let args: Vec<String> = std::env::args().collect();
    let [_, tokenizer_json, text_file, rest @ ..] = args.as_slice() else {
        return Err("usage: bpe_speed TOKENIZER_JSON TEXT_FILE [ROUNDS]".into());
    };
    let rounds: usize = rest.first().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let text = std::fs::read_to_string(text_file)?;
    let rows: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.rsplit('\t').next().unwrap_or(l))
        .collect();

    // One read of the file: both tokenizers, and the model section the cache-free one is rebuilt from.
    let source = std::fs::read_to_string(tokenizer_json)?;
    let json: serde_json::Value = serde_json::from_str(&source)?;
    let cached: Tokenizer = source.parse()?;
    let mut uncached = cached.clone();
    drop_bpe_cache(&mut uncached, &json["model"])?;

    let encode_all = |t: &Tokenizer| -> Result<(f64, usize), E> {
        let start = Instant::now();
        let mut ids = 0usize;
        for r in &rows {
            ids += t.encode(*r, false)?.get_ids().len();
        }
        Ok((start.elapsed().as_secs_f64(), ids))
    };
    for (a, b) in rows.iter().take(2_000).map(|r| {
        (
            cached.encode(*r, false).map(|e| e.get_ids().to_vec()),
            uncached.encode(*r, false).map(|e| e.get_ids().to_vec()),
        )
    }) {
        assert_eq!(a?, b?, "the cache changed the ids");
    }
    println!(
        "{} rows of {text_file}; {rounds} rounds, alternating",
        rows.len()
    );
    println!("| round | with the cache: rows/s | without: rows/s | slower by |");
    println!("| ---: | ---: | ---: | ---: |");
    for round in 1..=rounds {
        let (with_s, ids_a) = encode_all(&cached)?;
        let (without_s, ids_b) = encode_all(&uncached)?;
        assert_eq!(ids_a, ids_b);
        let n = rows.len() as f64;
        println!(
            "| {round} | {:.0} | {:.0} | {:.2}x |",
            n / with_s,
            n / without_s,
            without_s / with_s
        );
    }
    Ok(())
}

//! Benchmark: `tunesmith data inspect` on a real file (by default the shared SST-2 training set),
//! printing the time, rows/s and MB/s of the full streaming inspection (read, roles, doctor, split).
//!
//! Run: `cargo run --release -p tunesmith-data --example data_inspect -- [FILE] [--big]`.
//! `--big` also writes a ~1 GB CSV (1,000,000 rows) under /tmp, inspects it, reports peak memory
//! (VmHWM) and deletes it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use tunesmith_data::{inspect, InspectOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let big = args.iter().any(|a| a == "--big");
    let file = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/data/sst2/train.tsv"
            ))
        });
    println!("| file | rows | usable | duplicates | near dup. | conflicts | MB | seconds | rows/s | MB/s |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    if file.exists() {
        run(&file);
    } else {
        eprintln!("skipping {}: not found", file.display());
    }
    if big {
        let path = std::env::temp_dir().join("tunesmith-bench-1gb.csv");
        if let Err(e) = write_big(&path) {
            eprintln!("could not write {}: {e}", path.display());
            return;
        }
        run(&path);
        let _ = std::fs::remove_file(&path);
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM")) {
                println!(
                    "\npeak resident memory: {}",
                    line.trim_start_matches("VmHWM:").trim()
                );
            }
        }
    }
}

fn run(file: &PathBuf) {
    let start = Instant::now();
    let mut last = Instant::now();
    let report = inspect(file, &InspectOptions::default(), None, &mut |p| {
        if last.elapsed().as_secs_f64() > 2.0 {
            eprintln!(
                "  {:.0} % ({} rows)",
                100.0 * p.bytes_read as f64 / p.total_bytes.max(1) as f64,
                p.rows
            );
            last = Instant::now();
        }
    });
    let secs = start.elapsed().as_secs_f64();
    match report {
        Ok(r) => {
            let mb = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
            println!(
                "| {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.0} | {:.1} |",
                file.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
                r.rows,
                r.usable_rows,
                r.duplicates,
                r.near_duplicates,
                r.conflicts,
                mb,
                secs,
                r.rows as f64 / secs,
                mb / secs
            );
            eprintln!(
                "labels: {:?}; split {}/{}/{}",
                r.label_counts, r.split.train, r.split.validation, r.split.test
            );
            for f in r.errors.iter().chain(&r.warnings) {
                eprintln!(
                    "  {}: {} (fix: {})",
                    f.code,
                    f.message,
                    f.fix.as_deref().unwrap_or("-")
                );
            }
        }
        Err(e) => eprintln!("error: {e}"),
    }
}

/// Writes 1,000,000 rows of about 1 KB each (text, label); every 50th row repeats an earlier one.
fn write_big(path: &PathBuf) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "text,label")?;
    let words = [
        "film",
        "plot",
        "actor",
        "scene",
        "music",
        "story",
        "boring",
        "brilliant",
        "slow",
        "funny",
        "dark",
        "warm",
    ];
    let mut line = String::with_capacity(1100);
    for i in 0..1_000_000u64 {
        line.clear();
        line.push('"');
        let seed = if i % 50 == 0 { i / 50 } else { i };
        let mut y = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        while line.len() < 1000 {
            y ^= y << 13;
            y ^= y >> 7;
            y ^= y << 17;
            line.push_str(words[(y % words.len() as u64) as usize]);
            line.push(' ');
        }
        line.push_str(&format!(
            "{seed}\",{}",
            if y % 3 == 0 { "neg" } else { "pos" }
        ));
        writeln!(w, "{line}")?;
    }
    w.flush()
}

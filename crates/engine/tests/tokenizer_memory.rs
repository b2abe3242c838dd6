//! A tokenizer loaded, used and dropped gives back all its memory.
//!
//! tokenizers 0.23 keeps BPE word caches in a thread-local map that outlives the tokenizer; the
//! engine builds every BPE without that cache (`tunesmith_vocab::bpe_cache`). This binary counts
//! the live heap bytes with its own allocator: a hundred more loads of the tiny Llama's BPE
//! tokenizer, each encoding a sentence, must leave the heap where it was.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use tunesmith_engine::export::{write_gguf, DecoderWeights, GgufType};
use tunesmith_engine::gguf::GgufFile;
use tunesmith_engine::tokenizer::{GgufTokenizer, TextTokenizer};

/// The system allocator, counting the bytes it holds.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Sentences of different words, so that a cache would gain entries with every load.
fn sentence(i: usize) -> String {
    format!(
        "Question {i}: does the clinic open at {} on day {}? Answer{i} word{i}",
        i % 24,
        i * 7
    )
}

/// The live heap bytes gained over `rounds` more calls of `round`, after a warm-up of the same
/// number (one-off allocations: lazily built statics, the test harness's buffers).
fn growth(rounds: usize, mut round: impl FnMut(usize)) -> isize {
    for i in 0..rounds {
        round(i);
    }
    let before = LIVE.load(Ordering::Relaxed);
    for i in rounds..2 * rounds {
        round(i);
    }
    LIVE.load(Ordering::Relaxed) - before
}

/// Holds the other tests off: the count is the whole process's.
fn alone() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn tiny_llama() -> std::path::PathBuf {
    tunesmith_testkit::paths::fixtures_dir().join("tiny-llama")
}

#[test]
fn a_tokenizer_json_loaded_used_and_dropped_a_hundred_times_leaves_the_heap_as_it_was() {
    let _alone = alone();
    let file = tiny_llama().join("tokenizer.json");
    let gained = growth(100, |i| {
        let t = TextTokenizer::from_file(&file).unwrap();
        let ids = t.encode(&sentence(i), true).unwrap();
        assert!(!ids.is_empty());
    });
    // With the library's cache, each load left its sentence's words behind: 428,873 bytes in all.
    assert!(gained < 4096, "{gained} bytes still held after 100 loads");
}

#[test]
fn a_gguf_tokenizer_loaded_used_and_dropped_a_hundred_times_leaves_the_heap_as_it_was() {
    let _alone = alone();
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("tiny.gguf");
    let weights = DecoderWeights::load_base(&tiny_llama()).unwrap();
    write_gguf(&gguf, &weights, GgufType::F16, "tiny").unwrap();
    let file = GgufFile::open(&gguf).unwrap();
    let gained = growth(100, |i| {
        let t = GgufTokenizer::from_gguf(&file).unwrap();
        let ids = t.encode(&sentence(i)).unwrap();
        assert!(!ids.is_empty());
    });
    assert!(gained < 4096, "{gained} bytes still held after 100 loads");
}

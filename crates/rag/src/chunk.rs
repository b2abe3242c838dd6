//! Chunking: a document's blocks become passages of at most `chunk_tokens` tokens, neighbouring
//! passages sharing up to `overlap_tokens` tokens of whole sentences.
//!
//! Promises: a chunk never exceeds the budget (counted unit by unit with the given [`TokenCounter`]);
//! chunks break at sentence ends and prefer paragraph ends, and only cut inside a sentence that alone
//! is over the budget; the overlap is made of whole sentences; every sentence of the document is in
//! some chunk, in order; blocks that must stay apart (spreadsheet rows) never share a chunk.

use serde::{Deserialize, Serialize};

use crate::document::{Block, Document};
use crate::error::{RagError, Result};
use crate::location::{Location, LocationKind};
use crate::sentences::sentences;
use crate::tokenizer::TokenCounter;

/// How documents are cut into passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ChunkConfig {
    /// The most tokens in one passage.
    pub chunk_tokens: usize,
    /// How many tokens of whole sentences a passage repeats from the one before it.
    pub overlap_tokens: usize,
}

impl Default for ChunkConfig {
    /// 128 tokens with 32 of overlap: sentence encoders such as all-MiniLM-L6-v2 were trained on inputs
    /// of up to 128 tokens, and a passage of a few sentences is what a citation should point at.
    fn default() -> Self {
        ChunkConfig {
            chunk_tokens: 128,
            overlap_tokens: 32,
        }
    }
}

impl ChunkConfig {
    /// Checks the numbers make sense.
    pub fn validate(&self) -> Result<()> {
        if self.chunk_tokens < 8 {
            return Err(RagError::Settings(format!(
                "a chunk of {} tokens is too small to hold a sentence; use at least 8 (the default is {})",
                self.chunk_tokens,
                ChunkConfig::default().chunk_tokens
            )));
        }
        if self.overlap_tokens >= self.chunk_tokens {
            return Err(RagError::Settings(format!(
                "the overlap ({} tokens) must be smaller than the chunk size ({} tokens); a quarter of it is typical",
                self.overlap_tokens, self.chunk_tokens
            )));
        }
        Ok(())
    }
}

/// One passage, ready to embed and store.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// The passage's text, taken from the document as written.
    pub text: String,
    /// Where it comes from.
    pub location: Location,
    /// Its token count (the sum over its sentences).
    pub tokens: usize,
}

/// A piece that chunking keeps whole: a sentence, or part of an over-long one.
struct Unit<'a> {
    block: usize,
    /// Byte range in the block's text.
    start: usize,
    end: usize,
    text: &'a str,
    tokens: usize,
    location: Location,
}

/// Cuts `document` into chunks. `config` must be valid (see [`ChunkConfig::validate`]).
pub fn chunk_document(
    document: &Document,
    config: &ChunkConfig,
    counter: &dyn TokenCounter,
) -> Vec<Chunk> {
    let budget = config.chunk_tokens.max(1);
    let mut units = Vec::new();
    for (b, block) in document.blocks.iter().enumerate() {
        block_units(b, block, budget, counter, &mut units);
    }
    pack(document, &units, config)
}

fn block_units<'a>(
    b: usize,
    block: &'a Block,
    budget: usize,
    counter: &dyn TokenCounter,
    out: &mut Vec<Unit<'a>>,
) {
    let base = block.text.as_ptr() as usize;
    for sentence in sentences(&block.text) {
        let start = sentence.as_ptr() as usize - base;
        let tokens = counter.count(sentence);
        if tokens == 0 {
            continue;
        }
        if tokens <= budget {
            out.push(unit(b, block, start, start + sentence.len(), tokens));
        } else {
            split_long(b, block, start, sentence, budget, counter, out);
        }
    }
}

fn unit<'a>(b: usize, block: &'a Block, start: usize, end: usize, tokens: usize) -> Unit<'a> {
    let location = if block.location.kind == LocationKind::Line {
        // A text file's block keeps its line breaks, so a sentence's lines are countable.
        let first = block.location.start + block.text[..start].matches('\n').count() as u32;
        let last = first + block.text[start..end].matches('\n').count() as u32;
        Location::range(LocationKind::Line, first, last)
    } else {
        block.location
    };
    Unit {
        block: b,
        start,
        end,
        text: &block.text[start..end],
        tokens,
        location,
    }
}

/// Cuts a sentence over the budget at word boundaries (and a word over the budget at characters).
fn split_long<'a>(
    b: usize,
    block: &'a Block,
    offset: usize,
    sentence: &'a str,
    budget: usize,
    counter: &dyn TokenCounter,
    out: &mut Vec<Unit<'a>>,
) {
    let mut piece: Option<(usize, usize, usize)> = None; // start, end, tokens
    for (ws, we) in word_spans(sentence) {
        let word = &sentence[ws..we];
        let t = counter.count(word);
        if t > budget {
            if let Some((s, e, tk)) = piece.take() {
                out.push(unit(b, block, offset + s, offset + e, tk));
            }
            split_word(b, block, offset + ws, word, budget, counter, out);
            continue;
        }
        piece = match piece {
            Some((s, e, tk)) if tk + t > budget => {
                out.push(unit(b, block, offset + s, offset + e, tk));
                Some((ws, we, t))
            }
            Some((s, _, tk)) => Some((s, we, tk + t)),
            None => Some((ws, we, t)),
        };
    }
    if let Some((s, e, tk)) = piece {
        out.push(unit(b, block, offset + s, offset + e, tk));
    }
}

fn split_word<'a>(
    b: usize,
    block: &'a Block,
    offset: usize,
    word: &'a str,
    budget: usize,
    counter: &dyn TokenCounter,
    out: &mut Vec<Unit<'a>>,
) {
    let mut rest = 0;
    while rest < word.len() {
        let remaining = &word[rest..];
        // Shrink a character window until it fits; a token is at least one character.
        let mut take = remaining.chars().count().min(budget * 4).max(1);
        loop {
            let end = remaining
                .char_indices()
                .nth(take)
                .map_or(remaining.len(), |(i, _)| i);
            let t = counter.count(&remaining[..end]);
            if t <= budget || take == 1 {
                if t > 0 {
                    out.push(unit(
                        b,
                        block,
                        offset + rest,
                        offset + rest + end,
                        t.min(budget),
                    ));
                }
                rest += end;
                break;
            }
            take = (take * budget / t.max(1)).clamp(1, take - 1);
        }
    }
}

fn word_spans(s: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                spans.push((st, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        spans.push((st, s.len()));
    }
    spans
}

fn pack(document: &Document, units: &[Unit<'_>], config: &ChunkConfig) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut tokens = 0usize;
    for (i, u) in units.iter().enumerate() {
        let crosses =
            !document.merge_blocks && current.first().is_some_and(|&f| units[f].block != u.block);
        if !current.is_empty() && (tokens + u.tokens > config.chunk_tokens || crosses) {
            chunks.push(emit(document, units, &current, tokens));
            // Carry whole trailing sentences into the next chunk, up to the overlap budget.
            let mut carry: Vec<usize> = Vec::new();
            let mut carried = 0;
            if !crosses {
                for &j in current.iter().rev() {
                    if carried + units[j].tokens > config.overlap_tokens
                        || carry.len() + 1 >= current.len()
                    {
                        break;
                    }
                    carried += units[j].tokens;
                    carry.push(j);
                }
            }
            carry.reverse();
            while !carry.is_empty() && carried + u.tokens > config.chunk_tokens {
                carried -= units[carry.remove(0)].tokens;
            }
            current = carry;
            tokens = carried;
        }
        current.push(i);
        tokens += u.tokens;
    }
    if !current.is_empty() {
        chunks.push(emit(document, units, &current, tokens));
    }
    chunks
}

fn emit(document: &Document, units: &[Unit<'_>], members: &[usize], tokens: usize) -> Chunk {
    let mut text = String::new();
    let mut location = units[members[0]].location;
    let mut run_start = members[0];
    for (k, &m) in members.iter().enumerate() {
        location = location.cover(units[m].location);
        let next_same_run = members
            .get(k + 1)
            .is_some_and(|&n| units[n].block == units[m].block && n == m + 1);
        if !next_same_run {
            // Within a block, take the text as written between the run's first and last sentence.
            let block = &document.blocks[units[m].block];
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&block.text[units[run_start].start..units[m].end]);
            if let Some(&n) = members.get(k + 1) {
                run_start = n;
            }
        }
    }
    debug_assert!(members.iter().all(|&m| !units[m].text.is_empty()));
    Chunk {
        text,
        location,
        tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::WhitespaceTokenizer;
    use proptest::prelude::*;

    fn doc(paragraphs: &[&str], merge: bool) -> Document {
        Document {
            blocks: paragraphs
                .iter()
                .enumerate()
                .map(|(i, p)| Block {
                    text: p.to_string(),
                    location: Location::single(LocationKind::Paragraph, i as u32 + 1),
                })
                .collect(),
            merge_blocks: merge,
            warnings: vec![],
        }
    }

    fn cfg(chunk: usize, overlap: usize) -> ChunkConfig {
        ChunkConfig {
            chunk_tokens: chunk,
            overlap_tokens: overlap,
        }
    }

    #[test]
    fn short_paragraphs_share_a_chunk_and_keep_their_break() {
        let d = doc(&["One two three.", "Four five."], true);
        let c = chunk_document(&d, &cfg(10, 2), &WhitespaceTokenizer);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].text, "One two three.\n\nFour five.");
        assert_eq!(c[0].location.to_string(), "paragraphs 1-2");
    }

    #[test]
    fn overlap_repeats_whole_trailing_sentences() {
        let d = doc(&["Aa bb cc. Dd ee ff. Gg hh ii. Jj kk ll."], true);
        let c = chunk_document(&d, &cfg(9, 3), &WhitespaceTokenizer);
        let texts: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["Aa bb cc. Dd ee ff. Gg hh ii.", "Gg hh ii. Jj kk ll."]
        );
    }

    #[test]
    fn rows_that_must_stay_apart_never_share_a_chunk() {
        let d = doc(&["Row one.", "Row two."], false);
        let c = chunk_document(&d, &cfg(50, 10), &WhitespaceTokenizer);
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].text, "Row two.");
    }

    #[test]
    fn a_sentence_over_the_budget_is_cut_at_words_and_a_giant_word_at_characters() {
        let long = (0..25)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let d = doc(&[&long], true);
        let c = chunk_document(&d, &cfg(10, 0), &WhitespaceTokenizer);
        assert_eq!(c.len(), 3);
        assert!(c.iter().all(|c| c.tokens <= 10));
        struct Chars;
        impl TokenCounter for Chars {
            fn id(&self) -> String {
                "chars".into()
            }
            fn count(&self, t: &str) -> usize {
                t.chars().filter(|c| !c.is_whitespace()).count()
            }
        }
        let d = doc(&["abcdefghijklmnopqrstuvwxyz"], true);
        let c = chunk_document(&d, &cfg(8, 0), &Chars);
        assert_eq!(
            c.iter().map(|c| c.text.as_str()).collect::<String>(),
            "abcdefghijklmnopqrstuvwxyz"
        );
        assert!(c.iter().all(|c| c.tokens <= 8));
    }

    #[test]
    fn line_locations_narrow_to_the_sentences_in_the_chunk() {
        let d = Document {
            blocks: vec![Block {
                text: "First sentence here.\nSecond one is\non two lines. Third.".into(),
                location: Location::range(LocationKind::Line, 10, 12),
            }],
            merge_blocks: true,
            warnings: vec![],
        };
        let c = chunk_document(&d, &cfg(8, 0), &WhitespaceTokenizer);
        assert_eq!(c[0].location.to_string(), "line 10");
        assert_eq!(c[1].location.to_string(), "lines 11-12");
    }

    #[test]
    fn bad_settings_are_explained() {
        assert!(cfg(4, 0)
            .validate()
            .unwrap_err()
            .to_string()
            .contains("at least 8"));
        assert!(cfg(16, 16)
            .validate()
            .unwrap_err()
            .to_string()
            .contains("smaller"));
        assert!(ChunkConfig::default().validate().is_ok());
    }

    const WORDS: &[&str] = &[
        "apple", "river", "stone", "quiet", "market", "seven", "window", "garden", "paper",
        "clock", "yellow", "ocean",
    ];

    fn arb_paragraph() -> impl Strategy<Value = String> {
        prop::collection::vec(
            (
                prop::collection::vec(
                    prop::sample::select(WORDS.to_vec()).prop_map(String::from),
                    1..30,
                ),
                prop::sample::select(vec![".", "!", "?"]),
            ),
            1..6,
        )
        .prop_map(|sents| {
            sents
                .into_iter()
                .map(|(words, end)| {
                    let mut s = words.join(" ");
                    s[..1].make_ascii_uppercase();
                    s + end
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    proptest! {
        #[test]
        fn chunks_fit_the_budget_cover_every_word_in_order_and_overlap_at_most_the_setting(
            paragraphs in prop::collection::vec(arb_paragraph(), 1..6),
            chunk in 8usize..60,
            overlap_frac in 0usize..50,
            merge in any::<bool>(),
        ) {
            let overlap = chunk * overlap_frac / 100;
            // Number every word so that a repeated word can never pass for overlap.
            let mut n = 0;
            let paragraphs: Vec<String> = paragraphs
                .iter()
                .map(|p| p.split(' ').map(|w| {
                    n += 1;
                    let stem = w.trim_end_matches(['.', '!', '?']);
                    format!("{stem}{n}{}", &w[stem.len()..])
                }).collect::<Vec<_>>().join(" "))
                .collect();
            let refs: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
            let d = doc(&refs, merge);
            let chunks = chunk_document(&d, &cfg(chunk, overlap), &WhitespaceTokenizer);
            let mut expected: Vec<&str> = Vec::new();
            for p in &refs { expected.extend(p.split_whitespace()); }
            // Every chunk fits; its stated count is true.
            for c in &chunks {
                prop_assert!(c.tokens <= chunk, "{} > {chunk}", c.tokens);
                prop_assert_eq!(c.tokens, c.text.split_whitespace().count());
            }
            // Removing each chunk's overlap with the previous one gives back the document's words.
            let mut rebuilt: Vec<&str> = Vec::new();
            for c in &chunks {
                let words: Vec<&str> = c.text.split_whitespace().collect();
                let mut shared = 0;
                for k in (0..=words.len().min(rebuilt.len())).rev() {
                    if rebuilt[rebuilt.len() - k..] == words[..k] { shared = k; break; }
                }
                prop_assert!(shared <= overlap, "shared {shared} > overlap {overlap}");
                rebuilt.extend(&words[shared..]);
            }
            prop_assert_eq!(rebuilt, expected);
            // Without merging, no chunk spans two paragraphs.
            if !merge {
                for c in &chunks { prop_assert_eq!(c.location.start, c.location.end); }
            }
        }

        #[test]
        fn chunks_start_at_sentence_starts_when_no_sentence_exceeds_the_budget(
            paragraphs in prop::collection::vec(arb_paragraph(), 1..4),
        ) {
            let refs: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
            let d = doc(&refs, true);
            let chunks = chunk_document(&d, &cfg(40, 10), &WhitespaceTokenizer);
            for c in &chunks {
                prop_assert!(c.text.starts_with(|ch: char| ch.is_ascii_uppercase()), "{}", c.text);
                prop_assert!(c.text.ends_with(['.', '!', '?']), "{}", c.text);
            }
        }
    }
}

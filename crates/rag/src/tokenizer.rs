//! Counting tokens, so chunks fit the embedding model's input.
//!
//! Chunking only needs counts. The real counter is the embedding model's own tokenizer (implemented
//! where the model is loaded, in the application crate); [`WhitespaceTokenizer`] counts words and
//! serves tests and keyword-only indexes, where no model is involved.

/// Counts the tokens a model would see for a piece of text (without special tokens).
pub trait TokenCounter: Send + Sync {
    /// A stable name for this way of counting; an index records it, and re-chunks everything when it
    /// changes.
    fn id(&self) -> String;
    /// The number of tokens in `text`.
    fn count(&self, text: &str) -> usize;
}

/// Counts white-space separated words: a model-free stand-in that roughly tracks subword counts
/// (about 1.3 subword tokens per English word).
#[derive(Debug, Clone, Copy, Default)]
pub struct WhitespaceTokenizer;

impl TokenCounter for WhitespaceTokenizer {
    fn id(&self) -> String {
        "whitespace".to_string()
    }

    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_counts_words() {
        assert_eq!(WhitespaceTokenizer.count("  two\twords\n"), 2);
        assert_eq!(WhitespaceTokenizer.count(""), 0);
    }
}

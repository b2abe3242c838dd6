//! Evaluation metrics: classification (accuracy, P/R/F1, confusion, worst examples), generation
//! (loss, perplexity) and answer text (exact match, token F1, ROUGE-L, BLEU).

pub mod baseline;
pub mod classification;
pub mod facts;
pub mod generation;
pub mod text;

pub use classification::{classification_report, ClassScores, ClassificationReport, WorstExample};
pub use facts::{check as check_facts, key_facts, FactCheck, FactKind, FactRecall, KeyFact};
pub use generation::{GenerationReport, LossAccumulator};
pub use text::{corpus_bleu, exact_match, rouge_l, sentence_bleu, token_f1, RougeL};

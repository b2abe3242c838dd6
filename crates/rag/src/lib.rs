//! Tunesmith's retrieval-augmented generation: documents become chunks, chunks become embeddings in a
//! SQLite index, and questions retrieve passages with their source so answers can cite them.
//!
//! The flow: [`Index::ingest`] reads files ([`formats`]), cuts them into passages ([`chunk`]),
//! embeds them with any [`Embedder`] and stores them ([`index`]), reporting every file's fate in an
//! [`IngestReport`]; [`Index::search`] ranks passages semantically, by keywords, or both fused
//! ([`fusion`]); [`prompt`] numbers them for a model to cite. This crate knows nothing of candle: the
//! application plugs in its sentence encoder through [`Embedder`] and its tokenizer through
//! [`TokenCounter`].
#![deny(missing_docs)]

pub mod chunk;
pub mod decode;
pub mod document;
pub mod embed;
pub mod error;
pub mod formats;
pub mod fusion;
pub mod hashed_embedder;
pub mod index;
pub mod ingest;
pub mod location;
pub mod paragraphs;
pub mod prompt;
pub mod report;
pub mod search;
pub mod sentence_config;
pub mod sentences;
pub mod tokenizer;

pub use chunk::{Chunk, ChunkConfig};
pub use embed::Embedder;
pub use error::{RagError, Result};
pub use formats::Format;
pub use index::{Index, IndexInfo, IndexSettings};
pub use ingest::{IngestOptions, IngestProgress};
pub use location::{Location, LocationKind};
pub use prompt::{citation, cited_prompt};
pub use report::{FileReport, FileStatus, IngestReport, Problem};
pub use search::{Passage, SearchMode, SearchOptions};
pub use sentence_config::{Pooling, SentenceConfig};
pub use tokenizer::{TokenCounter, WhitespaceTokenizer};

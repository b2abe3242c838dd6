//! Retrieval over the user's documents: `tunesmith rag index` and `rag query`, and the passages the
//! chat and compare views put in front of a model.
//!
//! Each index is its own SQLite file, `<home>/rag/<name>.sqlite3`. Indexing embeds passages with a
//! sentence encoder run by the engine (default: all-MiniLM-L6-v2), honouring the model folder's
//! sentence-transformers recipe (`modules.json`: pooling and normalisation) and cutting passages by
//! the model's own tokenizer; `--embed-model none` builds a keyword-only (BM25) index that needs no
//! model. A query loads the model its index was built with, so questions and passages are always
//! embedded alike.

use std::path::PathBuf;

use serde::Serialize;
use tunesmith_rag::{
    ChunkConfig, Embedder, Index, IngestOptions, RagError, SearchOptions, WhitespaceTokenizer,
};

pub use tunesmith_rag::{
    cited_prompt, FileStatus, IndexInfo, IngestProgress, IngestReport, Passage, Problem, SearchMode,
};

/// The sentence encoder indexes and queries embed with (see [`crate::session`]).
pub use crate::session::SentenceEncoder;

use crate::home::Home;
use crate::Result;

/// Passages a `rag query` returns when no number is asked for.
pub const DEFAULT_QUERY_TOP_K: usize = 5;

/// The embedding model used when none is named.
pub const DEFAULT_EMBED_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The `--embed-model` value that builds a keyword-only index.
pub const NO_EMBED_MODEL: &str = "none";

/// What to index.
#[derive(Debug, Clone)]
pub struct IndexRequest {
    /// The index's name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Files and folders.
    pub paths: Vec<PathBuf>,
    /// A hub id, a model folder, or [`NO_EMBED_MODEL`]; `None` for the default.
    pub embed_model: Option<String>,
    /// Passage size in tokens; `None` for the default.
    pub chunk_tokens: Option<usize>,
    /// Overlap in tokens; `None` for the default.
    pub overlap_tokens: Option<usize>,
    /// Largest file indexed, in bytes; `None` for the default.
    pub max_file_bytes: Option<u64>,
    /// Whether a hub model missing from the cache may be downloaded.
    pub allow_download: bool,
}

/// The passages a question retrieved, best first.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct QueryResult {
    /// The passages.
    pub passages: Vec<Passage>,
}

/// The folder holding the indexes.
pub fn indexes_dir(home: &Home) -> PathBuf {
    home.root().join("rag")
}

/// The file of the index called `name`, after checking the name is safe as a file name.
pub fn index_path(home: &Home, name: &str) -> Result<PathBuf> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        return Err(RagError::Settings(format!(
            "`{name}` cannot name an index: use 1 to 64 letters, digits, '-', '_' or '.', not starting with '.'"
        ))
        .into());
    }
    Ok(indexes_dir(home).join(format!("{name}.sqlite3")))
}

/// Indexes (or brings up to date) the index `request.name`, calling `progress` as it goes.
pub fn index(
    home: &Home,
    request: &IndexRequest,
    progress: &mut dyn FnMut(IngestProgress),
) -> Result<IngestReport> {
    let path = index_path(home, &request.name)?;
    let defaults = IngestOptions::default();
    let chunk_tokens = request.chunk_tokens.unwrap_or(defaults.chunk.chunk_tokens);
    let overlap_tokens = request.overlap_tokens.unwrap_or_else(|| {
        (chunk_tokens * defaults.chunk.overlap_tokens / defaults.chunk.chunk_tokens)
            .min(chunk_tokens / 2)
    });
    let options = IngestOptions {
        chunk: ChunkConfig {
            chunk_tokens,
            overlap_tokens,
        },
        max_file_bytes: request.max_file_bytes.unwrap_or(defaults.max_file_bytes),
    };
    options.chunk.validate()?;
    let spec = request
        .embed_model
        .clone()
        .unwrap_or_else(|| DEFAULT_EMBED_MODEL.to_string());
    let existed = path.exists();
    let mut index = Index::open(&path)?;
    let result = ingest_into(&mut index, request, &spec, &options, progress);
    if result.is_err() && !existed {
        // A new index whose first build failed (a full disk, an unreadable path) is removed, not
        // left behind empty; an existing one keeps its last complete state (each file is one
        // transaction).
        drop(index);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

fn ingest_into(
    index: &mut Index,
    request: &IndexRequest,
    spec: &str,
    options: &IngestOptions,
    progress: &mut dyn FnMut(IngestProgress),
) -> Result<IngestReport> {
    if spec == NO_EMBED_MODEL {
        return Ok(index.ingest(
            &request.paths,
            None,
            &WhitespaceTokenizer,
            options,
            progress,
        )?);
    }
    let encoder = SentenceEncoder::load(spec, request.allow_download)?;
    let max_tokens = encoder.max_tokens();
    if options.chunk.chunk_tokens > max_tokens {
        return Err(RagError::Settings(format!(
            "passages of {} tokens are longer than {} reads ({max_tokens} tokens); use --chunk-tokens {max_tokens} or less",
            options.chunk.chunk_tokens,
            encoder.model_id(),
        ))
        .into());
    }
    Ok(index.ingest(&request.paths, Some(&encoder), &encoder, options, progress)?)
}

/// The `top_k` passages of index `name` that best answer `question`, best first.
pub fn query(
    home: &Home,
    name: &str,
    question: &str,
    top_k: usize,
    mode: SearchMode,
) -> Result<QueryResult> {
    let index = Index::open_existing(&index_path(home, name)?)?;
    let model = index.settings()?.and_then(|s| s.embed_model);
    let encoder = match (&model, mode) {
        (Some(spec), SearchMode::Hybrid | SearchMode::Semantic) => {
            Some(SentenceEncoder::load(spec, false)?)
        }
        _ => None,
    };
    let passages = index.search(
        question,
        encoder.as_ref().map(|e| e as &dyn Embedder),
        &SearchOptions { top_k, mode },
    )?;
    Ok(QueryResult { passages })
}

/// A summary of index `name`.
pub fn info(home: &Home, name: &str) -> Result<IndexInfo> {
    Ok(Index::open_existing(&index_path(home, name)?)?.info()?)
}

/// An index in the home folder: its name and summary.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IndexEntry {
    /// The name queries use.
    pub name: String,
    /// Its file, settings and counts.
    #[serde(flatten)]
    pub info: IndexInfo,
}

/// Every index in the home folder, by name. A file that is not a readable index is left out rather
/// than hiding the others; an absent folder means no indexes yet.
pub fn list(home: &Home) -> Result<Vec<IndexEntry>> {
    let dir = indexes_dir(home);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(RagError::Settings(format!(
                "the index folder {} cannot be read: {e}",
                dir.display()
            ))
            .into())
        }
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            Some(
                e.file_name()
                    .to_str()?
                    .strip_suffix(".sqlite3")?
                    .to_string(),
            )
        })
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .filter_map(|name| info(home, &name).ok().map(|info| IndexEntry { name, info }))
        .collect())
}

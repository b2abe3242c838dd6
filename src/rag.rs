//! Retrieval over the user's documents: `tunesmith rag index` and `rag query`, and the passages the
//! chat and compare views put in front of a model.
//!
//! Each index is its own SQLite file, `<home>/rag/<name>.sqlite3`. Indexing embeds passages with a
//! sentence encoder run by the engine (default: all-MiniLM-L6-v2), honouring the model folder's
//! sentence-transformers recipe (`modules.json`: pooling and normalisation) and cutting passages by
//! the model's own tokenizer; `--embed-model none` builds a keyword-only (BM25) index that needs no
//! model. A query loads the model its index was built with, so questions and passages are always
//! embedded alike.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde::Serialize;
use tunesmith_engine::models::bert::{BertConfig, BertModel};
use tunesmith_engine::models::checkpoint::Checkpoint;
use tunesmith_engine::nn::params::Backbone;
use tunesmith_hub::locate::Located;
use tunesmith_rag::sentence_config::pool;
use tunesmith_rag::{
    ChunkConfig, Embedder, Index, IngestOptions, RagError, SearchOptions, SentenceConfig,
    TokenCounter, WhitespaceTokenizer,
};

pub use tunesmith_rag::{
    cited_prompt, FileStatus, IndexInfo, IngestProgress, IngestReport, Passage, Problem, SearchMode,
};

use crate::home::Home;
use crate::Result;

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
    if options.chunk.chunk_tokens > encoder.max_tokens {
        return Err(RagError::Settings(format!(
            "passages of {} tokens are longer than {} reads ({} tokens); use --chunk-tokens {} or less",
            options.chunk.chunk_tokens, encoder.id, encoder.max_tokens, encoder.max_tokens
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

/// A sentence encoder: a BERT-family checkpoint run by the engine, pooled as its folder's
/// sentence-transformers recipe says, on the CPU (embedding a few thousand passages is fast there,
/// and it leaves an accelerator to training).
pub struct SentenceEncoder {
    id: String,
    model: BertModel,
    tokenizer: tokenizers::Tokenizer,
    recipe: SentenceConfig,
    max_tokens: usize,
    dimension: usize,
    device: Device,
}

impl SentenceEncoder {
    /// Loads the model named by `spec`: a model folder, or a hub id from the HF cache (downloaded when
    /// missing if `allow_download`).
    pub fn load(spec: &str, allow_download: bool) -> Result<SentenceEncoder> {
        let dir = match crate::models::resolve(spec, "main", allow_download, &mut |_| {})? {
            Located::Folder(dir) => dir,
            Located::Gguf(file) => {
                return Err(RagError::Settings(format!(
                    "{} is a GGUF file; an embedding model is a folder with config.json, model.safetensors and tokenizer.json (for example {DEFAULT_EMBED_MODEL})",
                    file.display()
                ))
                .into())
            }
        };
        // A folder is recorded by its absolute path so that queries from any directory find it.
        let id = if Path::new(spec).exists() {
            std::fs::canonicalize(spec)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| spec.to_string())
        } else {
            spec.to_string()
        };
        SentenceEncoder::from_dir(&dir, id)
    }

    /// Loads the encoder in `dir`, to be recorded in indexes as `id`.
    pub fn from_dir(dir: &Path, id: String) -> Result<SentenceEncoder> {
        let recipe = SentenceConfig::read(dir)?;
        let cfg = BertConfig::from_file(&dir.join("config.json"))?;
        let device = Device::Cpu;
        let checkpoint = Checkpoint::open(dir)?;
        let params = checkpoint.params(
            DType::F32,
            &device,
            candle_nn::VarMap::new(),
            Backbone::Frozen,
        )?;
        let model = BertModel::load(&params, &cfg)?;
        let tokenizer_file = dir.join("tokenizer.json");
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_file).map_err(|e| RagError::Input {
            path: tokenizer_file.clone(),
            reason: format!("the tokenizer cannot be loaded ({e}); an embedding model folder needs tokenizer.json"),
        })?;
        // sentence-transformers' tokenizer.json often pads and truncates to a fixed length (all-MiniLM:
        // 128). Counting tokens for chunking must see the text alone, and batches are padded and
        // truncated here, to the recipe's max_seq_length, with a matching attention mask.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| RagError::Input {
                path: tokenizer_file.clone(),
                reason: format!("its truncation settings cannot be cleared ({e})"),
            })?;
        let max_tokens = recipe
            .max_seq_length
            .unwrap_or(512)
            .min(cfg.max_position_embeddings);
        Ok(SentenceEncoder {
            id,
            model,
            tokenizer,
            recipe,
            max_tokens,
            dimension: cfg.hidden_size,
            device,
        })
    }

    fn encode_batch(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, String> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| e.to_string())?;
        // Truncate to what the model reads (keeping the closing [SEP]) and pad to the longest.
        let rows: Vec<Vec<u32>> = encodings
            .iter()
            .map(|e| {
                let ids = e.get_ids();
                if ids.len() <= self.max_tokens {
                    ids.to_vec()
                } else {
                    let mut v = ids[..self.max_tokens - 1].to_vec();
                    v.push(*ids.last().unwrap_or(&0));
                    v
                }
            })
            .collect();
        let len = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(rows.len() * len);
        let mut mask = Vec::with_capacity(rows.len() * len);
        for r in &rows {
            let pad = len - r.len();
            ids.extend(r.iter().copied().chain(std::iter::repeat_n(0, pad)));
            mask.extend(std::iter::repeat_n(1u32, r.len()).chain(std::iter::repeat_n(0, pad)));
        }
        let b = rows.len();
        let ids_t = Tensor::from_vec(ids, (b, len), &self.device).map_err(|e| e.to_string())?;
        let mask_t =
            Tensor::from_vec(mask.clone(), (b, len), &self.device).map_err(|e| e.to_string())?;
        let hidden = self
            .model
            .forward_t(&ids_t, &mask_t, None, false)
            .map_err(|e| e.to_string())?;
        let hidden: Vec<f32> = hidden
            .flatten_all()
            .and_then(|h| h.to_vec1())
            .map_err(|e| e.to_string())?;
        let per_row = len * self.dimension;
        Ok((0..b)
            .map(|i| {
                pool(
                    &hidden[i * per_row..(i + 1) * per_row],
                    &mask[i * len..(i + 1) * len],
                    self.dimension,
                    &self.recipe,
                )
            })
            .collect())
    }

    /// The longest input the model reads, in tokens.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }
}

impl Embedder for SentenceEncoder {
    fn model_id(&self) -> String {
        self.id.clone()
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn batch_size(&self) -> usize {
        16
    }

    fn embed(&self, texts: &[&str]) -> tunesmith_rag::Result<Vec<Vec<f32>>> {
        self.encode_batch(texts)
            .map_err(|message| RagError::Embedding {
                model: self.id.clone(),
                message,
            })
    }
}

impl TokenCounter for SentenceEncoder {
    fn id(&self) -> String {
        format!("tokenizer of {}", self.id)
    }

    fn count(&self, text: &str) -> usize {
        // Without special tokens: chunking budgets the text itself. A text the tokenizer rejects
        // falls back to a word count rather than failing the whole index.
        self.tokenizer
            .encode(text, false)
            .map(|e| e.len())
            .unwrap_or_else(|_| text.split_whitespace().count())
    }
}

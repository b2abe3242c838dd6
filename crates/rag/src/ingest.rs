//! Indexing: files and folders in, an up-to-date index and an [`IngestReport`] out.
//!
//! Incremental: a file whose content hash is unchanged is not read again; a changed one is replaced;
//! one no longer among the inputs is dropped (the index holds exactly the given paths' documents).
//! When the settings that shaped the passages change (model, tokenizer, chunk size), everything is
//! redone. Each document is written in its own transaction once its passages are embedded, so a
//! killed run keeps every document it finished, and the next run picks up the rest.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rusqlite::params;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chunk::{chunk_document, Chunk, ChunkConfig};
use crate::embed::{embed_batched, to_blob, Embedder};
use crate::error::{RagError, Result};
use crate::formats::Format;
use crate::index::{Index, IndexSettings, StoredDocument};
use crate::report::{FileReport, FileStatus, IngestReport, Problem};
use crate::tokenizer::TokenCounter;

/// How files are indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct IngestOptions {
    /// How documents are cut into passages.
    pub chunk: ChunkConfig,
    /// Files larger than this are skipped and reported.
    pub max_file_bytes: u64,
}

/// The default size limit: 32 MiB, several thousand pages of text. Larger files are usually exports
/// or logs that would take hours to embed on a CPU; the limit can be raised.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            chunk: ChunkConfig::default(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }
}

/// Where an indexing run is, for progress bars.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum IngestProgress {
    /// The inputs were listed.
    Found {
        /// How many files.
        files: usize,
    },
    /// A file is being read (`done` files read before it).
    Reading {
        /// Files read so far.
        done: usize,
        /// All files.
        total: usize,
        /// The file.
        source: String,
    },
    /// Passages are being embedded.
    Embedding {
        /// Passages embedded so far.
        done: usize,
        /// All passages to embed.
        total: usize,
    },
}

/// A file read and cut into passages, waiting for its vectors.
struct Pending {
    report: usize,
    source: String,
    format: Format,
    sha256: String,
    bytes: u64,
    chunks: Vec<Chunk>,
    warnings: Vec<String>,
    replaces: Option<i64>,
}

impl Index {
    /// Brings the index up to date with `inputs` (files and folders, searched recursively; hidden
    /// entries skipped). `embedder` is `None` for a keyword-only index.
    pub fn ingest(
        &mut self,
        inputs: &[PathBuf],
        embedder: Option<&dyn Embedder>,
        counter: &dyn TokenCounter,
        options: &IngestOptions,
        progress: &mut dyn FnMut(IngestProgress),
    ) -> Result<IngestReport> {
        options.chunk.validate()?;
        let mut report = IngestReport::default();
        let found = collect_files(inputs)?;
        progress(IngestProgress::Found { files: found.len() });

        let wanted = IndexSettings {
            embed_model: embedder.map(|e| e.model_id()),
            dimension: embedder.map_or(0, |e| e.dimension()),
            tokenizer: counter.id(),
            chunk_tokens: options.chunk.chunk_tokens,
            overlap_tokens: options.chunk.overlap_tokens,
        };
        match self.settings()? {
            Some(old) if old != wanted => {
                report.rebuilt = Some(describe_change(&old, &wanted));
                self.reset(&wanted)?;
            }
            Some(_) => {}
            None => self.reset(&wanted)?,
        }

        let stored: HashMap<String, StoredDocument> = self
            .documents()?
            .into_iter()
            .map(|d| (d.source.clone(), d))
            .collect();
        let current: HashSet<&str> = found.iter().map(|f| f.source()).collect();
        let mut gone: Vec<&StoredDocument> = stored
            .values()
            .filter(|d| !current.contains(d.source.as_str()))
            .collect();
        gone.sort_by(|a, b| a.source.cmp(&b.source));
        for d in gone {
            self.delete_document(d.id)?;
            report.removed.push(d.source.clone());
        }

        let total = found.len();
        let mut pending = Vec::new();
        for (i, item) in found.iter().enumerate() {
            progress(IngestProgress::Reading {
                done: i,
                total,
                source: item.source().to_string(),
            });
            let source = item.source().to_string();
            let existing = stored.get(&source);
            let outcome = match item {
                Found::Problem { problem, .. } => Err(problem.clone()),
                Found::File { path, .. } => load(path, options, existing, counter),
            };
            match outcome {
                Ok(Loaded::Unchanged) => {
                    let d = existing.ok_or_else(|| {
                        RagError::Mismatch("internal: unchanged file without a record".into())
                    })?;
                    report.files.push(FileReport {
                        source,
                        status: FileStatus::Unchanged,
                        chunks: self.chunk_count(d.id)?,
                        problem: None,
                        message: None,
                        warnings: d.warnings.clone(),
                    });
                }
                Ok(Loaded::New {
                    format,
                    sha256,
                    bytes,
                    chunks,
                    warnings,
                }) => {
                    report.files.push(FileReport {
                        source: source.clone(),
                        status: if existing.is_some() {
                            FileStatus::Updated
                        } else {
                            FileStatus::Added
                        },
                        chunks: chunks.len(),
                        problem: None,
                        message: None,
                        warnings: warnings.clone(),
                    });
                    pending.push(Pending {
                        report: report.files.len() - 1,
                        source,
                        format,
                        sha256,
                        bytes,
                        chunks,
                        warnings,
                        replaces: existing.map(|d| d.id),
                    });
                }
                Err(problem) => {
                    // A file that was indexed but now cannot be read must not keep answering with
                    // its old passages.
                    if let Some(d) = existing {
                        self.delete_document(d.id)?;
                    }
                    report.files.push(FileReport {
                        source,
                        status: FileStatus::Skipped,
                        chunks: 0,
                        message: Some(problem.to_string()),
                        problem: Some(problem),
                        warnings: vec![],
                    });
                }
            }
        }

        self.write_pending(pending, embedder, &mut report, progress)?;
        let info = self.info()?;
        report.documents = info.documents;
        report.chunks = info.chunks;
        Ok(report)
    }

    /// Embeds the pending files' passages in batches that may span files, and writes each file as
    /// soon as all of its passages have vectors.
    fn write_pending(
        &mut self,
        pending: Vec<Pending>,
        embedder: Option<&dyn Embedder>,
        report: &mut IngestReport,
        progress: &mut dyn FnMut(IngestProgress),
    ) -> Result<()> {
        let total: usize = pending.iter().map(|p| p.chunks.len()).sum();
        let batch = embedder.map_or(usize::MAX, |e| e.batch_size().max(1));
        let mut done = 0;
        let mut group: Vec<Pending> = Vec::new();
        let mut group_chunks = 0;
        let mut iter = pending.into_iter().peekable();
        while let Some(p) = iter.next() {
            group_chunks += p.chunks.len();
            group.push(p);
            if group_chunks < batch && iter.peek().is_some() {
                continue;
            }
            let vectors = match embedder {
                Some(e) => {
                    let texts: Vec<&str> = group
                        .iter()
                        .flat_map(|p| p.chunks.iter().map(|c| c.text.as_str()))
                        .collect();
                    let base = done;
                    let v = embed_batched(e, &texts, &mut |d, _| {
                        progress(IngestProgress::Embedding {
                            done: base + d,
                            total,
                        })
                    })?;
                    v.into_iter().map(Some).collect()
                }
                None => vec![None; group_chunks],
            };
            done += group_chunks;
            let mut vectors = vectors.into_iter();
            for p in group.drain(..) {
                let vs: Vec<Option<Vec<f32>>> = vectors.by_ref().take(p.chunks.len()).collect();
                self.write_document(&p, &vs)?;
                report.files[p.report].chunks = p.chunks.len();
            }
            group_chunks = 0;
        }
        Ok(())
    }

    fn write_document(&mut self, p: &Pending, vectors: &[Option<Vec<f32>>]) -> Result<()> {
        let path = self.path.clone();
        let err = |e| RagError::Database {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(err)?;
        if let Some(id) = p.replaces {
            tx.execute("DELETE FROM chunks WHERE document_id = ?1", [id])
                .map_err(err)?;
            tx.execute("DELETE FROM documents WHERE id = ?1", [id])
                .map_err(err)?;
        }
        tx.execute(
            "INSERT INTO documents(source, format, sha256, bytes, warnings) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                p.source,
                serde_json::to_string(&p.format).unwrap_or_default().trim_matches('"'),
                p.sha256,
                p.bytes as i64,
                serde_json::to_string(&p.warnings).unwrap_or_else(|_| "[]".into())
            ],
        )
        .map_err(err)?;
        let doc_id = tx.last_insert_rowid();
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO chunks(document_id, ordinal, location_kind, location_start, location_end, tokens, text, vector)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(err)?;
            for (i, (c, v)) in p.chunks.iter().zip(vectors).enumerate() {
                stmt.execute(params![
                    doc_id,
                    i as i64,
                    c.location.kind.as_str(),
                    c.location.start,
                    c.location.end,
                    c.tokens as i64,
                    c.text,
                    v.as_deref().map(to_blob)
                ])
                .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    fn delete_document(&mut self, id: i64) -> Result<()> {
        let path = self.path.clone();
        let err = |e| RagError::Database {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute("DELETE FROM chunks WHERE document_id = ?1", [id])
            .map_err(err)?;
        tx.execute("DELETE FROM documents WHERE id = ?1", [id])
            .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Empties the index and records new settings, in one transaction.
    fn reset(&mut self, s: &IndexSettings) -> Result<()> {
        let path = self.path.clone();
        let err = |e| RagError::Database {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute("DELETE FROM chunks", []).map_err(err)?;
        tx.execute("DELETE FROM documents", []).map_err(err)?;
        let entries = [
            ("embed_model", s.embed_model.clone().unwrap_or_default()),
            ("dimension", s.dimension.to_string()),
            ("tokenizer", s.tokenizer.clone()),
            ("chunk_tokens", s.chunk_tokens.to_string()),
            ("overlap_tokens", s.overlap_tokens.to_string()),
        ];
        for (k, v) in entries {
            tx.execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![k, v],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}

fn describe_change(old: &IndexSettings, new: &IndexSettings) -> String {
    let model = |m: &Option<String>| {
        m.clone()
            .unwrap_or_else(|| "none (keyword only)".to_string())
    };
    let mut parts = Vec::new();
    if old.embed_model != new.embed_model || old.dimension != new.dimension {
        parts.push(format!(
            "embedding model {} -> {}",
            model(&old.embed_model),
            model(&new.embed_model)
        ));
    }
    if old.tokenizer != new.tokenizer {
        parts.push(format!("tokenizer {} -> {}", old.tokenizer, new.tokenizer));
    }
    if old.chunk_tokens != new.chunk_tokens || old.overlap_tokens != new.overlap_tokens {
        parts.push(format!(
            "chunks {}/{} -> {}/{} tokens (size/overlap)",
            old.chunk_tokens, old.overlap_tokens, new.chunk_tokens, new.overlap_tokens
        ));
    }
    format!(
        "the settings changed ({}), so every document was indexed again",
        parts.join(", ")
    )
}

enum Loaded {
    Unchanged,
    New {
        format: Format,
        sha256: String,
        bytes: u64,
        chunks: Vec<Chunk>,
        warnings: Vec<String>,
    },
}

fn load(
    path: &Path,
    options: &IngestOptions,
    existing: Option<&StoredDocument>,
    counter: &dyn TokenCounter,
) -> std::result::Result<Loaded, Problem> {
    let Some(format) = Format::from_path(path) else {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(Problem::Unsupported { extension });
    };
    let size = std::fs::metadata(path)
        .map_err(|e| Problem::Unreadable {
            reason: e.to_string(),
        })?
        .len();
    if size > options.max_file_bytes {
        return Err(Problem::TooLarge {
            bytes: size,
            limit: options.max_file_bytes,
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Problem::Unreadable {
        reason: e.to_string(),
    })?;
    if bytes.len() as u64 > options.max_file_bytes {
        return Err(Problem::TooLarge {
            bytes: bytes.len() as u64,
            limit: options.max_file_bytes,
        });
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Problem::Empty);
    }
    let sha256 = hex(&Sha256::digest(&bytes));
    if existing.is_some_and(|d| d.sha256 == sha256) {
        return Ok(Loaded::Unchanged);
    }
    let document = format.read(&bytes)?;
    let chunks = chunk_document(&document, &options.chunk, counter);
    if chunks.is_empty() {
        return Err(Problem::Empty);
    }
    Ok(Loaded::New {
        format,
        sha256,
        bytes: bytes.len() as u64,
        chunks,
        warnings: document.warnings,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file to index, or an entry that could not even be listed.
enum Found {
    File { path: PathBuf, source: String },
    Problem { source: String, problem: Problem },
}

impl Found {
    fn source(&self) -> &str {
        match self {
            Found::File { source, .. } | Found::Problem { source, .. } => source,
        }
    }
}

/// Lists the files under `inputs`: a path that does not exist is an error (a typo must not empty
/// the index); an unreadable folder met while walking is reported, not fatal.
fn collect_files(inputs: &[PathBuf]) -> Result<Vec<Found>> {
    if inputs.is_empty() {
        return Err(RagError::Settings(
            "give at least one file or folder to index".to_string(),
        ));
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|e| RagError::Input {
            path: input.clone(),
            reason: e.to_string(),
        })?;
        let canonical = std::fs::canonicalize(input).map_err(|e| RagError::Input {
            path: input.clone(),
            reason: e.to_string(),
        })?;
        if meta.is_dir() {
            walk(&canonical, &mut out, &mut seen);
        } else if seen.insert(canonical.clone()) {
            out.push(Found::File {
                source: canonical.display().to_string(),
                path: canonical,
            });
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Found>, seen: &mut HashSet<PathBuf>) {
    if !seen.insert(dir.to_path_buf()) {
        return; // a symlink loop or a folder given twice
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.push(Found::Problem {
                source: dir.display().to_string(),
                problem: Problem::Unreadable {
                    reason: format!("the folder cannot be listed: {e}"),
                },
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    paths.sort();
    for p in paths {
        let canonical = std::fs::canonicalize(&p).unwrap_or(p.clone());
        if canonical.is_dir() {
            walk(&canonical, out, seen);
        } else if seen.insert(canonical.clone()) {
            out.push(Found::File {
                source: canonical.display().to_string(),
                path: canonical,
            });
        }
    }
}

//! Export: a generation run's fine-tuned model in the forms other tools load.
//!
//! - `adapter`: the PEFT adapter (LoRA and QLoRA runs), which PEFT applies to the base
//!   (`PeftModel.from_pretrained(base, folder)`).
//! - `merged`: the base with the fine-tuning folded in, as a transformers folder (`config.json`,
//!   `model.safetensors`, tokenizer files): `AutoModelForCausalLM.from_pretrained(folder)`.
//! - `gguf`: the merged model as one `.gguf` file (F16 or Q8_0) for llama.cpp, LM Studio and
//!   Ollama, with an Ollama `Modelfile` beside it.
//!
//! Every export is one new folder, written under a temporary name beside the destination and
//! renamed into place only when complete: a failure (a full disk, a damaged checkpoint) leaves
//! nothing half-written, and an existing folder is never overwritten. The finished export is
//! recorded in the run's history (artefact kind `export`).
//!
//! - `classifier` (classification runs): a sentence-transformers folder whose pooling and head are
//!   the run's own, so Python gets the same probabilities (see [`crate::export_classifier`]);
//!   transformers' `*ForSequenceClassification` classes cannot state a mean-pooled head.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tunesmith_engine::export::peft_export::export_adapter;
use tunesmith_engine::export::{modelfile, write_gguf, write_hf_folder, DecoderWeights, GgufType};
use tunesmith_store::ArtefactKind;

use crate::home::Home;
use crate::run::{find_run, FoundRun, TrainPlan};
use crate::{Error, Result};
use tunesmith_engine::train::Method;

/// What to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// The PEFT adapter (LoRA and QLoRA runs).
    Adapter,
    /// The base with the fine-tuning folded in, as a transformers folder.
    Merged,
    /// The merged model as one GGUF file, with an Ollama Modelfile.
    Gguf,
    /// A classification run as a sentence-transformers folder with its pooling and head.
    Classifier,
}

impl ExportFormat {
    /// The name used in folder names and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Adapter => "adapter",
            ExportFormat::Merged => "merged",
            ExportFormat::Gguf => "gguf",
            ExportFormat::Classifier => "classifier",
        }
    }
}

/// How a GGUF export stores its matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum GgufPrecision {
    /// 16-bit floats: the model as trained (about 2 bytes per weight).
    #[default]
    F16,
    /// llama.cpp's 8-bit blocks: half the size, nearly no loss.
    Q8_0,
}

/// An export to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct ExportRequest {
    /// The run (id, id prefix, random suffix or unique name).
    pub run: String,
    /// What to write.
    pub format: ExportFormat,
    /// The new folder to create (it must not exist).
    #[specta(optional)]
    #[serde(default)]
    pub out: Option<PathBuf>,
    /// Without `out`: the folder to create the export in, as `<run name>-<format>` (with `-2`,
    /// `-3` ... when taken); without either, `<home>/exports`.
    #[specta(optional)]
    #[serde(default)]
    pub into: Option<PathBuf>,
    /// Storage of a GGUF export's matrices.
    #[serde(default)]
    pub gguf: GgufPrecision,
}

/// One file an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ExportedFile {
    /// Its name inside the export folder.
    pub name: String,
    /// Its size.
    pub bytes: u64,
}

/// What an export wrote, and how to use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct ExportSummary {
    /// The run exported.
    pub run_id: String,
    /// What was written.
    pub format: ExportFormat,
    /// The new folder.
    pub folder: PathBuf,
    /// Its files.
    pub files: Vec<ExportedFile>,
    /// One or two plain sentences: what to do with it.
    pub how_to_use: String,
}

fn refuse(msg: String) -> Error {
    Error::Export(msg)
}

/// The formats run `run` can be exported as, given its task and method.
pub fn formats_for(run: &FoundRun) -> Vec<ExportFormat> {
    let plan = TrainPlan::of_run(run);
    if plan.task() != crate::data::Task::Generate {
        return vec![ExportFormat::Classifier];
    }
    match plan.method() {
        Method::Lora | Method::Qlora => {
            vec![
                ExportFormat::Adapter,
                ExportFormat::Merged,
                ExportFormat::Gguf,
            ]
        }
        _ => vec![ExportFormat::Merged, ExportFormat::Gguf],
    }
}

/// Exports run `req.run` as `req.format` into a new folder and records it in the run's history.
pub fn export(home: &Home, req: &ExportRequest) -> Result<ExportSummary> {
    let run = find_run(home, &req.run)?;
    let classifier = TrainPlan::of_run(&run).task() != crate::data::Task::Generate;
    if classifier != (req.format == ExportFormat::Classifier) {
        return Err(refuse(if classifier {
            format!(
                "run {} is a classification run: export it with --format classifier (a sentence-transformers folder that gives the same predictions)",
                run.id
            )
        } else {
            format!(
                "run {} is a generation run: export it as `adapter`, `merged` or `gguf`",
                run.id
            )
        }));
    }
    if !formats_for(&run).contains(&req.format) {
        return Err(refuse(format!(
            "run {} is a full fine-tune, which has no adapter: export it as `merged` or `gguf`",
            run.id
        )));
    }
    let name = run_name(home, &run)?;
    let out = match &req.out {
        Some(out) => {
            if out.exists() {
                return Err(refuse(format!(
                    "{} already exists; Tunesmith never overwrites a folder: choose a new name or delete it first",
                    out.display()
                )));
            }
            // The history keeps full paths: a relative one would later read as inside the run's folder.
            std::path::absolute(out).unwrap_or_else(|_| out.clone())
        }
        None => {
            let parent = req
                .into
                .clone()
                .unwrap_or_else(|| crate::run::exports_dir(home));
            free_folder(&parent, &format!("{name}-{}", req.format.as_str()))
        }
    };
    let how_to_use = write_atomically(&out, |dir| write_export(home, &run, req, &name, dir))?;
    let store = crate::runs::open_store(home)?;
    store.record_artefact(&run.id, ArtefactKind::Export, &out, None)?;
    Ok(ExportSummary {
        run_id: run.id,
        format: req.format,
        files: list_files(&out)?,
        folder: out,
        how_to_use,
    })
}

/// Creates folder `out` whole or not at all: `write` fills a hidden temporary folder beside it,
/// which is renamed to `out` only when `write` succeeded (and removed when it failed).
fn write_atomically<T>(out: &Path, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| {
        refuse(format!(
            "cannot create the folder {}: {e}",
            parent.display()
        ))
    })?;
    let leaf = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| refuse(format!("{} is not a folder name", out.display())))?;
    let partial = parent.join(format!(".{leaf}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir(&partial).map_err(|e| {
        refuse(format!(
            "cannot create a folder in {}: {e} (is it writable?)",
            parent.display()
        ))
    })?;
    let value = match write(&partial) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out).map_err(|e| {
        let _ = std::fs::remove_dir_all(&partial);
        refuse(format!(
            "cannot move the finished export to {}: {e}",
            out.display()
        ))
    })?;
    Ok(value)
}

/// The merged weights of full fine-tuning run `run` as a model folder chat can load (`merged/` in
/// the run's folder), written from its best (else last) checkpoint the first time it is asked for
/// and recorded in the run's history as its merged weights.
pub fn merged_of_full_run(home: &Home, run: &str) -> Result<PathBuf> {
    let run = find_run(home, run)?;
    let out = run.folder.merged();
    if !out.is_dir() {
        let req = ExportRequest {
            run: run.id.clone(),
            format: ExportFormat::Merged,
            out: None,
            into: None,
            gguf: GgufPrecision::default(),
        };
        let name = run_name(home, &run)?;
        write_atomically(&out, |dir| write_export(home, &run, &req, &name, dir))?;
    }
    let store = crate::runs::open_store(home)?;
    store.record_artefact(&run.id, ArtefactKind::Merged, &out, None)?;
    Ok(out)
}

/// Writes the export's files into `dir`; answers how to use them.
fn write_export(
    home: &Home,
    run: &FoundRun,
    req: &ExportRequest,
    name: &str,
    dir: &Path,
) -> Result<String> {
    if req.format == ExportFormat::Classifier {
        return crate::export_classifier::write_classifier(run, dir);
    }
    let plan = TrainPlan::of_run(run);
    if req.format == ExportFormat::Adapter {
        let adapter = run.adapter_dir(home)?;
        return Ok(export_adapter(
            &adapter,
            dir,
            &run.id,
            plan.method().in_words(),
            plan.model(),
        )?);
    }
    let mut weights = DecoderWeights::load_base(plan.model())?;
    match plan.method() {
        Method::Lora | Method::Qlora => weights.merge_adapter_dir(&run.adapter_dir(home)?)?,
        _ => weights.replace_from_checkpoint(&run.folder.weights_file(&run.id)?)?,
    }
    match req.format {
        ExportFormat::Merged => {
            write_hf_folder(dir, &weights, weights.stored_dtype)?;
            Ok(format!(
                "A transformers model folder ({}): AutoModelForCausalLM.from_pretrained(folder), or import it \
                 into Tunesmith as a local model.",
                weights.stored_precision()
            ))
        }
        _ => {
            let (ty, suffix) = match req.gguf {
                GgufPrecision::F16 => (GgufType::F16, "f16"),
                GgufPrecision::Q8_0 => (GgufType::Q8_0, "q8_0"),
            };
            let file = format!("{name}.{suffix}.gguf");
            write_gguf(&dir.join(&file), &weights, ty, name)?;
            let about = format!(
                "Made by Tunesmith from run {} ({} of {})",
                run.id,
                plan.method().in_words(),
                plan.model().display()
            );
            let text = modelfile::for_model(&weights, &file, &about)?;
            write_file(&dir.join("Modelfile"), &text)?;
            Ok(format!(
                "One GGUF file for llama.cpp or LM Studio; for Ollama run `ollama create {name} -f Modelfile` in \
                 this folder."
            ))
        }
    }
}

/// The run's readable name, made safe for a file name.
fn run_name(home: &Home, run: &FoundRun) -> Result<String> {
    let store = crate::runs::open_for_reading(home)?;
    let name = store.resolve_run(&run.id)?.name;
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let safe = safe.trim_matches(|c| c == '-' || c == '.').to_string();
    Ok(if safe.is_empty() {
        run.id.clone()
    } else {
        safe
    })
}

/// `parent/stem`, or `parent/stem-2`, `-3` ... : the first that does not exist.
fn free_folder(parent: &Path, stem: &str) -> PathBuf {
    let first = parent.join(stem);
    if !first.exists() {
        return first;
    }
    (2..)
        .map(|i| parent.join(format!("{stem}-{i}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| {
        refuse(format!(
            "cannot write {}: {e} (is the disk full?)",
            path.display()
        ))
    })
}

fn list_files(dir: &Path) -> Result<Vec<ExportedFile>> {
    let mut files: Vec<ExportedFile> = std::fs::read_dir(dir)
        .map_err(|e| refuse(format!("cannot list {}: {e}", dir.display())))?
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            meta.is_file().then(|| ExportedFile {
                name: e.file_name().to_string_lossy().into_owned(),
                bytes: meta.len(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

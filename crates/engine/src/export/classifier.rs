//! A classification run as a sentence-transformers folder, so the Python ecosystem gets the same
//! predictions (`tunesmith export --run RUN --format classifier` above the engine).
//!
//! Tunesmith's classifier is an encoder, a pooling, and a head; which pooling and head depends on
//! the checkpoint (see [`SequenceClassifier::load`](crate::models::bert::SequenceClassifier::load)):
//! a checkpoint's own head reads its pooled \[CLS\] (BERT's pooler `tanh(dense(h[CLS]))`,
//! DistilBERT's `pre_classifier` + ReLU, RoBERTa's `classifier.dense` + tanh), a fresh head on a
//! sentence encoder reads the MEAN of the token vectors (padding left out). transformers'
//! `*ForSequenceClassification` classes compute only the first kind, so the export is one layout
//! that states every kind exactly: a sentence-transformers folder.
//!
//! - the root: the encoder (`config.json`, `model.safetensors` with any LoRA update folded into its
//!   weights, the tokenizer files) as sentence-transformers' `Transformer` module, truncating at the
//!   run's maximum length;
//! - `1_Pooling`: CLS or mean pooling, as the run's head read it;
//! - `2_Dense`, `3_Dense`: the head as `Dense` layers (the pooler or pre-classifier with its
//!   activation, then the output layer with none), so `SentenceTransformer(folder).encode(texts)`
//!   returns the logits; a softmax over them gives the probabilities, labels in `labels.json`.
//!
//! What cannot be exported (a base without safetensors, weights without a head, a head whose
//! outputs are not the labels) is [`EngineError::Invalid`] with the reason; the caller writes into
//! a fresh folder and moves it into place. `tests/reference/classifier_export_check.py` loads the
//! folder with sentence-transformers and compares its probabilities with `tunesmith predict`'s.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::models::bert::{BertConfig, Naming};
use crate::train::checkpoint::load_tensors;
use crate::{EngineError, Result};

/// The tokenizer files copied beside the encoder (whichever the model has).
const TOKENIZER_FILES: &[&str] = &[
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
];

/// The head a run trained, and the pooling it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadKind {
    /// One linear layer over mean-pooled token vectors (a new head on a sentence encoder).
    MeanLinear,
    /// One linear layer over the \[CLS\] vector.
    ClsLinear,
    /// BERT's pooler (`tanh(dense(h[CLS]))`) then a linear layer.
    Pooler,
    /// DistilBERT: `pre_classifier` + ReLU, then `classifier`.
    Distil,
    /// RoBERTa: `classifier.dense` + tanh, then `classifier.out_proj`.
    Roberta,
}

/// A classification run's weights and what the export says about them.
#[derive(Debug, Clone)]
pub struct ClassifierRun<'a> {
    /// The run's id (in `labels.json`, the README and messages).
    pub id: &'a str,
    /// The base model folder it trained on.
    pub model: &'a Path,
    /// Its trained weights: a training checkpoint (`w.<name>` entries).
    pub weights: &'a Path,
    /// Its labels, in the head's output order.
    pub labels: &'a [String],
    /// The longest input in tokens, as trained.
    pub max_len: usize,
    /// The LoRA update's scale (`alpha / r`, or rsLoRA's), for folding its factors in.
    pub lora_scale: f64,
}

fn engine(e: candle_core::Error) -> EngineError {
    EngineError::from(e)
}

fn export_error(msg: String) -> EngineError {
    EngineError::Invalid(msg)
}

/// The model folder's weights by their checkpoint names (every shard), as f32 on the CPU.
fn base_tensors(model: &Path) -> Result<HashMap<String, Tensor>> {
    let index = model.join("model.safetensors.index.json");
    let files: Vec<std::path::PathBuf> = if index.is_file() {
        let text = std::fs::read_to_string(&index)
            .map_err(|e| export_error(format!("cannot read {}: {e}", index.display())))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| export_error(format!("{} is not valid JSON: {e}", index.display())))?;
        let mut shards: Vec<String> = v["weight_map"]
            .as_object()
            .map(|m| {
                m.values()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        shards.sort();
        shards.dedup();
        shards.into_iter().map(|s| model.join(s)).collect()
    } else {
        vec![model.join("model.safetensors")]
    };
    let mut out = HashMap::new();
    for f in files {
        if !f.is_file() {
            return Err(export_error(format!(
                "{} is missing: the classifier export reads the base model's safetensors weights",
                f.display()
            )));
        }
        for (k, t) in candle_core::safetensors::load(&f, &Device::Cpu).map_err(engine)? {
            out.insert(k, t.to_dtype(DType::F32).map_err(engine)?);
        }
    }
    Ok(out)
}

/// Writes `run`'s classifier into the existing folder `dir` as a sentence-transformers folder;
/// answers how to use it.
pub fn write_classifier(run: &ClassifierRun, dir: &Path) -> Result<String> {
    let model = run.model.to_path_buf();
    let cfg = BertConfig::from_file(&model.join("config.json"))?;
    let naming = cfg.naming().map_err(export_error)?;
    let labels = run.labels;
    let max_len = run.max_len;

    let mut tensors = base_tensors(&model)?;
    let prefix = tensors
        .keys()
        .find_map(|k| k.strip_suffix("embeddings.word_embeddings.weight"))
        .map(String::from)
        .ok_or_else(|| {
            export_error(format!(
                "{} has no word embeddings; it is not an encoder Tunesmith trained",
                model.display()
            ))
        })?;
    let base_had_classifier = tensors.contains_key("classifier.weight");

    // The run's trained tensors (`w.<name>`): LoRA factors are folded into their base weights,
    // everything else (a full fine-tune's weights, the head) replaces or joins the base's.
    let (trained, _) = load_tensors(run.weights, &Device::Cpu)?;
    let trained: HashMap<String, Tensor> = trained
        .into_iter()
        .map(|(k, t)| {
            let name = k.strip_prefix("w.").unwrap_or(&k).to_string();
            t.to_dtype(DType::F32).map(|t| (name, t)).map_err(engine)
        })
        .collect::<Result<_>>()?;
    let scale = run.lora_scale;
    for (name, t) in &trained {
        if let Some(stem) = name.strip_suffix(".lora_A.weight") {
            let b = trained
                .get(&format!("{stem}.lora_B.weight"))
                .ok_or_else(|| {
                    export_error(format!(
                        "the run's weights have {name} but no matching lora_B"
                    ))
                })?;
            let target = format!("{stem}.weight");
            let w = tensors.get(&target).ok_or_else(|| {
                export_error(format!(
                    "the base model has no `{target}` for the run's LoRA update"
                ))
            })?;
            let merged =
                (w + (b.matmul(t).map_err(engine)? * scale).map_err(engine)?).map_err(engine)?;
            tensors.insert(target, merged);
        } else if !name.ends_with(".lora_B.weight") {
            tensors.insert(name.clone(), t.clone());
        }
    }

    let head = if trained.contains_key("classifier.out_proj.weight") {
        HeadKind::Roberta
    } else if trained.contains_key("pre_classifier.weight") {
        HeadKind::Distil
    } else if !trained.contains_key("classifier.weight") {
        return Err(export_error(format!(
            "run {}'s weights hold no classification head; re-run it",
            run.id
        )));
    } else if base_had_classifier {
        if tensors.contains_key(&format!("{prefix}pooler.dense.weight"))
            && naming != Naming::DistilBert
        {
            HeadKind::Pooler
        } else {
            HeadKind::ClsLinear
        }
    } else {
        HeadKind::MeanLinear
    };

    // The encoder module: every tensor under the encoder's prefix, named as the bare model class
    // (AutoModel) loads it.
    let encoder: HashMap<String, Tensor> = tensors
        .iter()
        .filter(|(k, _)| !k.contains(".lora_"))
        .filter_map(|(k, t)| {
            let bare = if prefix.is_empty() {
                Some(k.as_str())
            } else {
                k.strip_prefix(&prefix)
            }?;
            let head_name = bare.starts_with("classifier.") || bare.starts_with("pre_classifier.");
            (!head_name).then(|| (bare.to_string(), t.contiguous()))
        })
        .map(|(k, t)| t.map(|t| (k, t)).map_err(engine))
        .collect::<Result<_>>()?;
    save(&encoder, &dir.join("model.safetensors"))?;
    copy(&model.join("config.json"), &dir.join("config.json"))?;
    for f in TOKENIZER_FILES {
        let src = model.join(f);
        if src.is_file() {
            copy(&src, &dir.join(f))?;
        }
    }
    write_json(
        &dir.join("sentence_bert_config.json"),
        &serde_json::json!({ "max_seq_length": max_len, "do_lower_case": false }),
    )?;

    let h = cfg.hidden_size;
    let mean = head == HeadKind::MeanLinear;
    std::fs::create_dir_all(dir.join("1_Pooling")).map_err(|e| io(dir, e))?;
    write_json(
        &dir.join("1_Pooling/config.json"),
        &serde_json::json!({
            "word_embedding_dimension": h,
            "pooling_mode_cls_token": !mean,
            "pooling_mode_mean_tokens": mean,
            "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false,
            "pooling_mode_weightedmean_tokens": false,
            "pooling_mode_lasttoken": false,
            "include_prompt": true,
        }),
    )?;
    let get = |name: &str| -> Result<Tensor> {
        tensors
            .get(name)
            .cloned()
            .ok_or_else(|| export_error(format!("the classifier has no `{name}`")))
    };
    const TANH: &str = "torch.nn.modules.activation.Tanh";
    const RELU: &str = "torch.nn.modules.activation.ReLU";
    const IDENTITY: &str = "torch.nn.modules.linear.Identity";
    let layers: Vec<(String, &str)> = match head {
        HeadKind::MeanLinear | HeadKind::ClsLinear => vec![("classifier".into(), IDENTITY)],
        HeadKind::Pooler => vec![
            (format!("{prefix}pooler.dense"), TANH),
            ("classifier".into(), IDENTITY),
        ],
        HeadKind::Distil => vec![
            ("pre_classifier".into(), RELU),
            ("classifier".into(), IDENTITY),
        ],
        HeadKind::Roberta => vec![
            ("classifier.dense".into(), TANH),
            ("classifier.out_proj".into(), IDENTITY),
        ],
    };
    let mut modules = vec![
        serde_json::json!({"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}),
        serde_json::json!({"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}),
    ];
    for (i, (name, activation)) in layers.iter().enumerate() {
        let idx = i + 2;
        let folder = format!("{idx}_Dense");
        let w = get(&format!("{name}.weight"))?;
        let b = get(&format!("{name}.bias"))?;
        let (out_f, in_f) = w.dims2().map_err(engine)?;
        std::fs::create_dir_all(dir.join(&folder)).map_err(|e| io(dir, e))?;
        write_json(
            &dir.join(&folder).join("config.json"),
            &serde_json::json!({
                "in_features": in_f,
                "out_features": out_f,
                "bias": true,
                "activation_function": activation,
            }),
        )?;
        save(
            &HashMap::from([
                ("linear.weight".to_string(), w.contiguous().map_err(engine)?),
                ("linear.bias".to_string(), b.contiguous().map_err(engine)?),
            ]),
            &dir.join(&folder).join("model.safetensors"),
        )?;
        modules.push(serde_json::json!({"idx": idx, "name": idx.to_string(), "path": folder, "type": "sentence_transformers.models.Dense"}));
    }
    if labels.len() != get(&format!("{}.weight", layers[layers.len() - 1].0))?.dims()[0] {
        return Err(export_error(format!(
            "run {}'s head has a different number of outputs than its {} labels; re-run it",
            run.id,
            labels.len()
        )));
    }
    write_json(
        &dir.join("modules.json"),
        &serde_json::Value::Array(modules),
    )?;
    let pooling = match head {
        HeadKind::MeanLinear => "the mean of the token vectors (padding left out)",
        HeadKind::Pooler => "BERT's pooler over the [CLS] vector",
        _ => "the [CLS] (first) token's vector",
    };
    write_json(
        &dir.join("labels.json"),
        &serde_json::json!({
            "labels": labels,
            "pooling": pooling,
            "output": "logits: apply a softmax for the probabilities of `labels`, in this order",
            "run_id": run.id,
        }),
    )?;
    let how = format!(
        "A sentence-transformers folder whose output is the classifier's logits over {pooling}: \
         probs = softmax(SentenceTransformer(folder).encode(texts)), labels in labels.json ({}).",
        labels.join(", ")
    );
    std::fs::write(
        dir.join("README.md"),
        format!(
            "# Tunesmith classifier (run {})\n\n{how}\n\n```python\nimport json, numpy as np\nfrom sentence_transformers import SentenceTransformer\nmodel = SentenceTransformer(\"PATH\")\nlabels = json.load(open(\"PATH/labels.json\"))[\"labels\"]\nlogits = model.encode([\"some text\"])\nprobs = np.exp(logits - logits.max(1, keepdims=True)); probs /= probs.sum(1, keepdims=True)\nprint(labels[int(probs[0].argmax())])\n```\n",
            run.id
        ),
    )
    .map_err(|e| io(dir, e))?;
    Ok(how)
}

fn save(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    candle_core::safetensors::save(tensors, path)
        .map_err(|e| export_error(format!("cannot write {}: {e}", path.display())))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| {
        export_error(format!(
            "cannot copy {} to {}: {e}",
            from.display(),
            to.display()
        ))
    })
}

fn write_json(path: &Path, v: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v)
        .map_err(|e| export_error(format!("cannot write {}: {e}", path.display())))?;
    std::fs::write(path, text).map_err(|e| io(path, e))
}

fn io(path: &Path, e: std::io::Error) -> EngineError {
    export_error(format!("cannot write in {}: {e}", path.display()))
}

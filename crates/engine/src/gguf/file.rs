//! Opening a GGUF file and reading its metadata and tensors, with errors that name the file and the
//! tensor (a truncated download, a tensor the architecture needs but the file lacks, a metadata key
//! of the wrong type).

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};

use crate::{EngineError, Result};

/// An open GGUF file: its parsed header and a reader for tensor data.
pub struct GgufFile {
    path: PathBuf,
    content: Content,
    reader: BufReader<File>,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl GgufFile {
    /// Opens `path` and parses its header (metadata and tensor table); tensor data is read on demand.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| EngineError::Checkpoint {
            path: path.to_path_buf(),
            reason: format!("cannot open the GGUF file: {e}"),
        })?;
        let mut reader = BufReader::new(file);
        let content =
            super::header::read_header(&mut reader).map_err(|e| EngineError::Checkpoint {
                path: path.to_path_buf(),
                reason: format!(
                    "not a readable GGUF file: {e}; it may be truncated or another format: download it again"
                ),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            content,
            reader,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// All metadata.
    pub fn metadata(&self) -> &HashMap<String, Value> {
        &self.content.metadata
    }

    /// The names of all tensors in the file.
    pub fn tensor_names(&self) -> impl Iterator<Item = &str> {
        self.content.tensor_infos.keys().map(String::as_str)
    }

    /// Whether the file has tensor `name`.
    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    fn bad(&self, reason: String) -> EngineError {
        EngineError::Checkpoint {
            path: self.path.clone(),
            reason,
        }
    }

    fn value(&self, key: &str) -> Result<&Value> {
        self.content.metadata.get(key).ok_or_else(|| {
            self.bad(format!(
                "metadata key `{key}` is missing; the file is incomplete or not a model"
            ))
        })
    }

    /// A string metadata value.
    pub fn string(&self, key: &str) -> Result<String> {
        self.value(key)?
            .to_string()
            .cloned()
            .map_err(|e| self.bad(format!("metadata `{key}`: {e}")))
    }

    /// An unsigned integer metadata value (any integer width).
    pub fn uint(&self, key: &str) -> Result<u64> {
        let v = self.value(key)?;
        let n = match v {
            Value::U8(x) => Some(*x as u64),
            Value::U16(x) => Some(*x as u64),
            Value::U32(x) => Some(*x as u64),
            Value::U64(x) => Some(*x),
            Value::I8(x) if *x >= 0 => Some(*x as u64),
            Value::I16(x) if *x >= 0 => Some(*x as u64),
            Value::I32(x) if *x >= 0 => Some(*x as u64),
            Value::I64(x) if *x >= 0 => Some(*x as u64),
            _ => None,
        };
        n.ok_or_else(|| {
            self.bad(format!(
                "metadata `{key}` is not a non-negative integer: {v:?}"
            ))
        })
    }

    /// A float metadata value.
    pub fn float(&self, key: &str) -> Result<f64> {
        match self.value(key)? {
            Value::F32(x) => Ok(*x as f64),
            Value::F64(x) => Ok(*x),
            other => Err(self.bad(format!("metadata `{key}` is not a number: {other:?}"))),
        }
    }

    /// A boolean metadata value.
    pub fn boolean(&self, key: &str) -> Result<bool> {
        self.value(key)?
            .to_bool()
            .map_err(|e| self.bad(format!("metadata `{key}`: {e}")))
    }

    /// A list of strings (e.g. `tokenizer.ggml.tokens`).
    pub fn strings(&self, key: &str) -> Result<Vec<String>> {
        let list = self
            .value(key)?
            .to_vec()
            .map_err(|e| self.bad(format!("metadata `{key}`: {e}")))?;
        list.iter()
            .map(|v| {
                v.to_string()
                    .cloned()
                    .map_err(|e| self.bad(format!("metadata `{key}`: {e}")))
            })
            .collect()
    }

    /// A list of integers (e.g. `tokenizer.ggml.token_type`).
    pub fn ints(&self, key: &str) -> Result<Vec<i64>> {
        let list = self
            .value(key)?
            .to_vec()
            .map_err(|e| self.bad(format!("metadata `{key}`: {e}")))?;
        list.iter()
            .map(|v| match v {
                Value::I32(x) => Ok(*x as i64),
                Value::U32(x) => Ok(*x as i64),
                Value::I64(x) => Ok(*x),
                Value::U8(x) => Ok(*x as i64),
                Value::I8(x) => Ok(*x as i64),
                other => Err(self.bad(format!("metadata `{key}` holds a non-integer {other:?}"))),
            })
            .collect()
    }

    /// Tensor `name` as stored (quantised), on `device`.
    pub fn qtensor(&mut self, name: &str, device: &Device) -> Result<QTensor> {
        let info =
            self.content
                .tensor_infos
                .get(name)
                .ok_or_else(|| EngineError::MissingTensor {
                    file: self.path.display().to_string(),
                    tensor: name.to_string(),
                })?;
        info.read(&mut self.reader, self.content.tensor_data_offset, device).map_err(|e| {
            EngineError::Checkpoint {
                path: self.path.clone(),
                reason: format!("cannot read tensor `{name}`: {e} (the file may be truncated: download it again)"),
            }
        })
    }

    /// Tensor `name` dequantised to f32, on `device`.
    pub fn dequantized(&mut self, name: &str, device: &Device) -> Result<Tensor> {
        let q = self.qtensor(name, device)?;
        Ok(q.dequantize(device)?)
    }
}

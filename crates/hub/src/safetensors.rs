//! Reading a safetensors file's header without loading its weights: the tensor names, dtypes and
//! shapes, checked against the file's length so a truncated download or copy is caught here, with
//! a message, rather than as a crash deep in the engine.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::search::dtype_bytes;
use crate::{HubError, Result};

/// Headers above this size are refused (the format's own limit is 100 MB).
const MAX_HEADER: u64 = 100 * 1024 * 1024;

/// One tensor's entry in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// Its dtype name (`F32`, `BF16`...).
    pub dtype: String,
    /// Its shape.
    pub shape: Vec<u64>,
}

impl TensorEntry {
    /// Number of elements.
    pub fn numel(&self) -> u64 {
        // Shapes come from the file: a damaged one must not overflow.
        self.shape.iter().fold(1u64, |a, d| a.saturating_mul(*d))
    }
}

/// What a safetensors header says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SafetensorsHeader {
    /// Tensors by name.
    pub tensors: BTreeMap<String, TensorEntry>,
}

impl SafetensorsHeader {
    /// Total parameters.
    pub fn parameters(&self) -> u64 {
        self.tensors
            .values()
            .fold(0u64, |a, t| a.saturating_add(t.numel()))
    }

    /// Bytes of the weights as stored.
    pub fn weight_bytes(&self) -> u64 {
        self.tensors
            .values()
            .map(|t| t.numel().saturating_mul(dtype_bytes(&t.dtype).unwrap_or(4)))
            .fold(0u64, u64::saturating_add)
    }

    /// Reads the header of the file at `path` and checks that the file holds every byte it names.
    pub fn read(path: &Path) -> Result<Self> {
        let bad = |reason: String| HubError::invalid(path, reason);
        let mut f = std::fs::File::open(path).map_err(|e| HubError::io(path, e))?;
        let file_len = f.metadata().map_err(|e| HubError::io(path, e))?.len();
        let mut len_bytes = [0u8; 8];
        f.read_exact(&mut len_bytes).map_err(|_| {
            bad(format!("the safetensors file is only {file_len} bytes, too short for a header; it is truncated, download or copy it again"))
        })?;
        let header_len = u64::from_le_bytes(len_bytes);
        if header_len > MAX_HEADER || header_len.saturating_add(8) > file_len {
            return Err(bad(format!(
                "the safetensors header claims {header_len} bytes but the file has {file_len}; the file is truncated or not safetensors, download or copy it again"
            )));
        }
        let mut header = vec![0u8; header_len as usize];
        f.read_exact(&mut header)
            .map_err(|e| HubError::io(path, e))?;
        let data_len = file_len - 8 - header_len;
        Self::parse(&header, Some(data_len)).map_err(bad)
    }

    /// Parses the JSON header (the bytes after the 8-byte length). With `data_len`, every tensor
    /// must end inside the data (a truncated file is refused).
    pub fn parse(header: &[u8], data_len: Option<u64>) -> std::result::Result<Self, String> {
        let bad = |reason: String| reason;
        let value: serde_json::Value = serde_json::from_slice(header)
            .map_err(|e| bad(format!("the safetensors header is not valid JSON ({e}); the file is damaged, download it again")))?;
        let map = value
            .as_object()
            .ok_or_else(|| bad("the safetensors header is not a JSON object".into()))?;
        let mut tensors = BTreeMap::new();
        for (name, entry) in map {
            if name == "__metadata__" {
                continue;
            }
            let dtype = entry
                .get("dtype")
                .and_then(|d| d.as_str())
                .ok_or_else(|| bad(format!("tensor `{name}` has no dtype")))?;
            let shape: Vec<u64> = entry
                .get("shape")
                .and_then(|s| s.as_array())
                .map(|a| a.iter().filter_map(|d| d.as_u64()).collect())
                .ok_or_else(|| bad(format!("tensor `{name}` has no shape")))?;
            let end = entry
                .get("data_offsets")
                .and_then(|o| o.as_array())
                .and_then(|o| o.get(1))
                .and_then(|e| e.as_u64())
                .ok_or_else(|| bad(format!("tensor `{name}` has no data offsets")))?;
            if let Some(data_len) = data_len.filter(|d| end > *d) {
                return Err(bad(format!(
                    "tensor `{name}` ends at byte {end} of the data but the file holds {data_len}; the file is truncated, download or copy it again"
                )));
            }
            tensors.insert(
                name.clone(),
                TensorEntry {
                    dtype: dtype.to_string(),
                    shape,
                },
            );
        }
        Ok(SafetensorsHeader { tensors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, header: &str, data: usize) {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend(std::iter::repeat_n(0u8, data));
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_whole_file_counts_its_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        write(
            &p,
            r#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"__metadata__":{}}"#,
            24,
        );
        let h = SafetensorsHeader::read(&p).unwrap();
        assert_eq!(h.parameters(), 6);
        assert_eq!(h.weight_bytes(), 24);
    }

    #[test]
    fn a_truncated_file_is_named_as_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.safetensors");
        write(
            &p,
            r#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#,
            10,
        );
        let err = SafetensorsHeader::read(&p).unwrap_err().to_string();
        assert!(
            err.contains("truncated") && err.contains("m.safetensors"),
            "{err}"
        );
        std::fs::write(&p, [1u8, 0, 0]).unwrap();
        assert!(SafetensorsHeader::read(&p)
            .unwrap_err()
            .to_string()
            .contains("truncated"));
    }
}

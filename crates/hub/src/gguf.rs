//! Reading a GGUF file's header and metadata (no tensor data): the architecture, sizes, context
//! length, whether a tokenizer is embedded, and every tensor's type and shape, checked against the
//! file's length so a truncated file is named as such.
//!
//! Layout (GGUF v2/v3, little-endian): magic `GGUF`, version u32, tensor count u64, metadata count
//! u64, the metadata key/values, the tensor infos, then the data aligned to `general.alignment`.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::{HubError, Result};

/// Strings longer than this are refused (a damaged length would otherwise allocate gigabytes).
const MAX_STRING: u64 = 64 * 1024 * 1024;

/// A metadata value Tunesmith keeps (arrays are kept as their length only).
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    /// Any integer type.
    Int(i128),
    /// f32 or f64.
    Float(f64),
    /// A bool.
    Bool(bool),
    /// A string.
    Str(String),
    /// An array, by length.
    Array(u64),
}

/// One tensor's info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufTensor {
    /// Its shape (GGUF order: innermost first).
    pub shape: Vec<u64>,
    /// The ggml type id.
    pub ggml_type: u32,
}

/// A GGUF file's header.
#[derive(Debug, Clone, PartialEq)]
pub struct GgufHeader {
    /// The format version.
    pub version: u32,
    /// Metadata by key.
    pub metadata: BTreeMap<String, MetaValue>,
    /// Tensors by name.
    pub tensors: BTreeMap<String, GgufTensor>,
}

impl GgufHeader {
    /// `general.architecture` (e.g. `llama`).
    pub fn architecture(&self) -> Option<&str> {
        self.str("general.architecture")
    }

    /// A string metadata value.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.metadata.get(key) {
            Some(MetaValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// An integer metadata value.
    pub fn int(&self, key: &str) -> Option<u64> {
        match self.metadata.get(key) {
            Some(MetaValue::Int(i)) => u64::try_from(*i).ok(),
            _ => None,
        }
    }

    /// An architecture-scoped integer (`<arch>.<key>`).
    pub fn arch_int(&self, key: &str) -> Option<u64> {
        self.int(&format!("{}.{key}", self.architecture()?))
    }

    /// Whether a tokenizer vocabulary is embedded.
    pub fn has_tokenizer(&self) -> bool {
        matches!(self.metadata.get("tokenizer.ggml.tokens"), Some(MetaValue::Array(n)) if *n > 0)
    }

    /// Total parameters.
    pub fn parameters(&self) -> u64 {
        self.tensors
            .values()
            .map(|t| t.shape.iter().fold(1u64, |a, d| a.saturating_mul(*d)))
            .fold(0u64, u64::saturating_add)
    }

    /// Reads the header of the file at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| HubError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| HubError::io(path, e))?.len();
        let mut r = Reader {
            inner: BufReader::new(file),
            pos: 0,
            len: file_len,
        };
        let truncated = |e: std::io::Error| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                HubError::invalid(path, "the GGUF file ends inside its header; it is truncated, download or copy it again")
            } else {
                HubError::invalid(path, format!("the GGUF header cannot be read: {e}"))
            }
        };
        let magic = r.bytes::<4>().map_err(truncated)?;
        if &magic != b"GGUF" {
            return Err(HubError::invalid(
                path,
                "this is not a GGUF file (it does not start with `GGUF`)",
            ));
        }
        let version = r.u32().map_err(truncated)?;
        if !(2..=3).contains(&version) {
            return Err(HubError::invalid(
                path,
                format!("GGUF version {version} is not supported (2 and 3 are); convert it again with a recent llama.cpp"),
            ));
        }
        let n_tensors = r.u64().map_err(truncated)?;
        let n_kv = r.u64().map_err(truncated)?;
        if n_tensors > 1_000_000 || n_kv > 1_000_000 {
            return Err(HubError::invalid(
                path,
                "the GGUF header's counts are implausible; the file is damaged",
            ));
        }
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = r.string().map_err(truncated)?;
            let ty = r.u32().map_err(truncated)?;
            let value = r.value(ty, 0).map_err(truncated)?;
            metadata.insert(key, value);
        }
        let mut tensors = BTreeMap::new();
        let mut data_end = 0u64;
        for _ in 0..n_tensors {
            let name = r.string().map_err(truncated)?;
            let n_dims = r.u32().map_err(truncated)?;
            if n_dims > 8 {
                return Err(HubError::invalid(
                    path,
                    format!("tensor `{name}` has {n_dims} dimensions; the file is damaged"),
                ));
            }
            let shape = (0..n_dims)
                .map(|_| r.u64())
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(truncated)?;
            let ggml_type = r.u32().map_err(truncated)?;
            let offset = r.u64().map_err(truncated)?;
            let numel = shape.iter().fold(1u64, |a, d| a.saturating_mul(*d));
            if let Some(size) = tensor_bytes(ggml_type, numel) {
                data_end = data_end.max(offset.saturating_add(size));
            }
            tensors.insert(name, GgufTensor { shape, ggml_type });
        }
        let alignment = match metadata.get("general.alignment") {
            Some(MetaValue::Int(a)) if (1..=65_536).contains(a) => *a as u64,
            Some(MetaValue::Int(a)) => {
                return Err(HubError::invalid(
                    path,
                    format!("the GGUF header's `general.alignment` is {a}; the file is damaged"),
                ))
            }
            _ => 32,
        };
        let needed = r
            .pos
            .div_ceil(alignment)
            .saturating_mul(alignment)
            .saturating_add(data_end);
        if needed > file_len {
            return Err(HubError::invalid(
                path,
                format!(
                    "the GGUF tensors need {needed} bytes but the file has {file_len}; it is truncated, download or copy it again"
                ),
            ));
        }
        Ok(GgufHeader {
            version,
            metadata,
            tensors,
        })
    }
}

/// Bytes of `n` elements of ggml type `ty`, for the types whose block layout is known.
fn tensor_bytes(ty: u32, n: u64) -> Option<u64> {
    // (bytes per block, elements per block)
    let (bytes, block) = match ty {
        0 => (4, 1),
        1 | 30 => (2, 1),
        2 => (18, 32),
        3 => (20, 32),
        6 => (22, 32),
        7 => (24, 32),
        8 => (34, 32),
        9 => (36, 32),
        10 => (84, 256),
        11 => (110, 256),
        12 => (144, 256),
        13 => (176, 256),
        14 => (210, 256),
        15 => (292, 256),
        24 => (1, 1),
        25 => (2, 1),
        26 => (4, 1),
        27 | 28 => (8, 1),
        _ => return None,
    };
    Some(n.div_ceil(block).saturating_mul(bytes))
}

/// Arrays nest at most this deep (GGUF files use one level; deeper is damage, and unbounded
/// recursion would overflow the stack).
const MAX_DEPTH: u32 = 4;

struct Reader<R> {
    inner: R,
    pos: u64,
    /// The file's length: no length read from the file may claim more than what is left.
    len: u64,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> std::io::Result<[u8; N]> {
        let mut b = [0u8; N];
        self.inner.read_exact(&mut b)?;
        self.pos += N as u64;
        Ok(b)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes::<4>()?))
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes::<8>()?))
    }
    fn string(&mut self) -> std::io::Result<String> {
        let len = self.u64()?;
        if len > MAX_STRING || len > self.len.saturating_sub(self.pos) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a string of {len} bytes"),
            ));
        }
        let mut b = vec![0u8; len as usize];
        self.inner.read_exact(&mut b)?;
        self.pos += len;
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
    fn value(&mut self, ty: u32, depth: u32) -> std::io::Result<MetaValue> {
        Ok(match ty {
            0 => MetaValue::Int(self.bytes::<1>()?[0] as i128),
            1 => MetaValue::Int(self.bytes::<1>()?[0] as i8 as i128),
            2 => MetaValue::Int(u16::from_le_bytes(self.bytes::<2>()?) as i128),
            3 => MetaValue::Int(i16::from_le_bytes(self.bytes::<2>()?) as i128),
            4 => MetaValue::Int(self.u32()? as i128),
            5 => MetaValue::Int(i32::from_le_bytes(self.bytes::<4>()?) as i128),
            6 => MetaValue::Float(f32::from_le_bytes(self.bytes::<4>()?) as f64),
            7 => MetaValue::Bool(self.bytes::<1>()?[0] != 0),
            8 => MetaValue::Str(self.string()?),
            9 => {
                let elem = self.u32()?;
                let n = self.u64()?;
                if depth >= MAX_DEPTH {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("arrays nested deeper than {MAX_DEPTH}"),
                    ));
                }
                // Every element takes at least one byte.
                if n > 100_000_000 || n > self.len.saturating_sub(self.pos) {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("an array of {n} items"),
                    ));
                }
                for _ in 0..n {
                    self.value(elem, depth + 1)?;
                }
                MetaValue::Array(n)
            }
            10 => MetaValue::Int(self.u64()? as i128),
            11 => MetaValue::Int(i64::from_le_bytes(self.bytes::<8>()?) as i128),
            12 => MetaValue::Float(f64::from_le_bytes(self.bytes::<8>()?)),
            other => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("unknown metadata type {other}"),
                ))
            }
        })
    }
}

/// Writes a minimal GGUF v3 file (tests and fixtures): string/u32 metadata, a token array, and F32
/// tensors of the given shapes filled with zeros.
pub fn write_minimal(
    path: &Path,
    metadata: &[(&str, MetaValue)],
    tokens: &[&str],
    tensors: &[(&str, Vec<u64>)],
) -> Result<()> {
    fn s(out: &mut Vec<u8>, v: &str) {
        out.extend((v.len() as u64).to_le_bytes());
        out.extend(v.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64 + u64::from(!tokens.is_empty())).to_le_bytes());
    for (k, v) in metadata {
        s(&mut out, k);
        match v {
            MetaValue::Str(x) => {
                out.extend(8u32.to_le_bytes());
                s(&mut out, x);
            }
            MetaValue::Int(i) => {
                out.extend(4u32.to_le_bytes());
                out.extend((*i as u32).to_le_bytes());
            }
            MetaValue::Float(f) => {
                out.extend(6u32.to_le_bytes());
                out.extend((*f as f32).to_le_bytes());
            }
            MetaValue::Bool(b) => {
                out.extend(7u32.to_le_bytes());
                out.push(u8::from(*b));
            }
            MetaValue::Array(_) => {
                return Err(HubError::invalid(
                    path,
                    "write_minimal writes only the token array",
                ));
            }
        }
    }
    if !tokens.is_empty() {
        s(&mut out, "tokenizer.ggml.tokens");
        out.extend(9u32.to_le_bytes());
        out.extend(8u32.to_le_bytes());
        out.extend((tokens.len() as u64).to_le_bytes());
        for t in tokens {
            s(&mut out, t);
        }
    }
    let mut offset = 0u64;
    for (name, shape) in tensors {
        s(&mut out, name);
        out.extend((shape.len() as u32).to_le_bytes());
        for d in shape {
            out.extend(d.to_le_bytes());
        }
        out.extend(0u32.to_le_bytes());
        out.extend(offset.to_le_bytes());
        offset += (shape.iter().product::<u64>() * 4).div_ceil(32) * 32;
    }
    let pad = (32 - out.len() % 32) % 32;
    out.extend(std::iter::repeat_n(0u8, pad));
    out.extend(std::iter::repeat_n(0u8, offset as usize));
    std::fs::write(path, out).map_err(|e| HubError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(path: &Path) {
        write_minimal(
            path,
            &[
                ("general.architecture", MetaValue::Str("llama".into())),
                ("llama.context_length", MetaValue::Int(2048)),
                ("llama.embedding_length", MetaValue::Int(8)),
            ],
            &["<s>", "a", "b"],
            &[
                ("token_embd.weight", vec![8, 3]),
                ("output_norm.weight", vec![8]),
            ],
        )
        .unwrap();
    }

    #[test]
    fn a_written_gguf_reads_back_with_its_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        tiny(&p);
        let h = GgufHeader::read(&p).unwrap();
        assert_eq!(h.architecture(), Some("llama"));
        assert_eq!(h.arch_int("context_length"), Some(2048));
        assert!(h.has_tokenizer());
        assert_eq!(h.parameters(), 32);
    }

    #[test]
    fn a_truncated_gguf_is_named_as_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        tiny(&p);
        let bytes = std::fs::read(&p).unwrap();
        for cut in [10, 60, bytes.len() - 4] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let err = GgufHeader::read(&p).unwrap_err().to_string();
            assert!(err.contains("truncated"), "cut at {cut}: {err}");
        }
    }

    #[test]
    fn a_file_that_is_not_gguf_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.gguf");
        std::fs::write(&p, b"PK\x03\x04 something else").unwrap();
        assert!(GgufHeader::read(&p)
            .unwrap_err()
            .to_string()
            .contains("not a GGUF"));
    }
}

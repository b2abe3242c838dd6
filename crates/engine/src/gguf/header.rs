//! A bounded reader of a GGUF file's header (metadata and tensor table), producing candle's
//! [`Content`] so tensors are then read by candle.
//!
//! candle's own `Content::read` trusts some of what the file says: a `general.alignment` of 0
//! divides by zero, and a tensor whose dimensions multiply past `usize` overflows when it is read;
//! both panic. This reader refuses a damaged or hostile file with a sentence instead:
//! - every length read from the file (strings, arrays, counts, dimensions) is capped, both by a
//!   fixed limit and by the bytes left in the file, before anything is allocated;
//! - nesting, dimensions and the alignment are checked (a power of two, 1 to 65,536 bytes), and
//!   an empty tensor is refused (candle would read it through a misaligned pointer: an abort);
//! - every tensor's byte range is computed with checked arithmetic and must lie inside the file,
//!   so a truncated download is named as such when opened, not half-way through a load.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

use candle_core::quantized::gguf_file::{Content, TensorInfo, Value, VersionedMagic};
use candle_core::quantized::GgmlDType;

/// Longest string accepted (a chat template or a token is far shorter).
pub const MAX_STRING: u64 = 16 * 1024 * 1024;
/// Most elements in one metadata array (large vocabularies have about 260,000 tokens).
pub const MAX_ARRAY: u64 = 16 * 1024 * 1024;
/// Most metadata entries and tensors.
pub const MAX_ENTRIES: u64 = 1024 * 1024;
/// Most values in all metadata together (bounds the memory of the parsed metadata).
pub const MAX_VALUES: u64 = 64 * 1024 * 1024;
/// Dimensions of a tensor (ggml's limit).
pub const MAX_DIMS: u32 = 4;
/// Deepest nesting of arrays.
const MAX_DEPTH: usize = 2;

struct Reader<'a, R: Read + Seek> {
    r: &'a mut R,
    pos: u64,
    len: u64,
    v1: bool,
    values: u64,
}

impl<R: Read + Seek> Reader<'_, R> {
    fn left(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        if self.left() < N as u64 {
            return Err(format!(
                "the file ends inside the header (reading {what} at byte {}): it is truncated",
                self.pos
            ));
        }
        let mut b = [0u8; N];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("cannot read {what} at byte {}: {e}", self.pos))?;
        self.pos += N as u64;
        Ok(b)
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.bytes(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.bytes(what)?))
    }

    /// A length: u32 in GGUF v1, u64 since.
    fn length(&mut self, what: &str) -> Result<u64, String> {
        if self.v1 {
            Ok(u64::from(self.u32(what)?))
        } else {
            self.u64(what)
        }
    }

    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = self.length(what)?;
        if n > MAX_STRING || n > self.left() {
            return Err(format!(
                "{what} claims {n} bytes at byte {}, {} (the file is damaged or truncated)",
                self.pos,
                if n > MAX_STRING {
                    format!("more than the {MAX_STRING} allowed")
                } else {
                    format!("but only {} are left", self.left())
                }
            ));
        }
        let mut v = vec![0u8; n as usize];
        self.r
            .read_exact(&mut v)
            .map_err(|e| format!("cannot read {what} at byte {}: {e}", self.pos))?;
        self.pos += n;
        // Strings should not be NUL-terminated, but some writers do it.
        while v.last() == Some(&0) {
            v.pop();
        }
        Ok(String::from_utf8_lossy(&v).into_owned())
    }

    fn count_value(&mut self, key: &str) -> Result<(), String> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(format!(
                "the metadata holds more than {MAX_VALUES} values (at `{key}`); the file is damaged"
            ));
        }
        Ok(())
    }

    fn value(&mut self, ty: u32, key: &str, depth: usize) -> Result<Value, String> {
        self.count_value(key)?;
        let what = &format!("the value of `{key}`");
        Ok(match ty {
            0 => Value::U8(self.bytes::<1>(what)?[0]),
            1 => Value::I8(self.bytes::<1>(what)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.bytes(what)?)),
            3 => Value::I16(i16::from_le_bytes(self.bytes(what)?)),
            4 => Value::U32(self.u32(what)?),
            5 => Value::I32(self.u32(what)? as i32),
            6 => Value::F32(f32::from_le_bytes(self.bytes(what)?)),
            7 => match self.bytes::<1>(what)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(format!("`{key}` is a boolean of value {b} (not 0 or 1)")),
            },
            8 => Value::String(self.string(what)?),
            9 => {
                if depth >= MAX_DEPTH {
                    return Err(format!("`{key}` nests arrays deeper than {MAX_DEPTH}"));
                }
                let elem = self.u32(what)?;
                let n = self.length(what)?;
                let min = match elem {
                    0 | 1 | 7 => 1,
                    2 | 3 => 2,
                    4..=6 => 4,
                    10..=12 => 8,
                    8 => {
                        if self.v1 {
                            4
                        } else {
                            8
                        }
                    }
                    9 => 12,
                    t => return Err(format!("`{key}` is an array of unknown type {t}")),
                };
                if n > MAX_ARRAY || n.saturating_mul(min) > self.left() {
                    return Err(format!(
                        "`{key}` claims {n} elements, more than {} (the file is damaged or truncated)",
                        if n > MAX_ARRAY {
                            format!("the {MAX_ARRAY} allowed")
                        } else {
                            format!("the {} bytes left can hold", self.left())
                        }
                    ));
                }
                let mut out = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    out.push(self.value(elem, key, depth + 1)?);
                }
                Value::Array(out)
            }
            10 => Value::U64(self.u64(what)?),
            11 => Value::I64(self.u64(what)? as i64),
            12 => Value::F64(f64::from_le_bytes(self.bytes(what)?)),
            t => return Err(format!("`{key}` has unknown value type {t}")),
        })
    }
}

fn dtype(t: u32) -> Option<GgmlDType> {
    Some(match t {
        0 => GgmlDType::F32,
        1 => GgmlDType::F16,
        2 => GgmlDType::Q4_0,
        3 => GgmlDType::Q4_1,
        6 => GgmlDType::Q5_0,
        7 => GgmlDType::Q5_1,
        8 => GgmlDType::Q8_0,
        9 => GgmlDType::Q8_1,
        10 => GgmlDType::Q2K,
        11 => GgmlDType::Q3K,
        12 => GgmlDType::Q4K,
        13 => GgmlDType::Q5K,
        14 => GgmlDType::Q6K,
        15 => GgmlDType::Q8K,
        30 => GgmlDType::BF16,
        _ => return None,
    })
}

/// Reads the header of the GGUF file in `r` (positioned at its start); the error says what is
/// wrong in words (the caller adds the file's name).
pub fn read_header<R: Read + Seek>(r: &mut R) -> Result<Content, String> {
    let len = r
        .seek(SeekFrom::End(0))
        .and_then(|n| r.seek(SeekFrom::Start(0)).map(|_| n))
        .map_err(|e| format!("cannot read the file: {e}"))?;
    let mut rd = Reader {
        r,
        pos: 0,
        len,
        v1: false,
        values: 0,
    };
    let magic = rd.bytes::<4>("the magic number")?;
    if &magic != b"GGUF" {
        return Err(format!(
            "it does not start with `GGUF` (found {:?}): it is not a GGUF file",
            String::from_utf8_lossy(&magic)
        ));
    }
    let version = rd.u32("the version")?;
    let magic = match version {
        1 => VersionedMagic::GgufV1,
        2 => VersionedMagic::GgufV2,
        3 => VersionedMagic::GgufV3,
        v => {
            return Err(format!(
                "it is GGUF version {v}; versions 1 to 3 are supported"
            ))
        }
    };
    rd.v1 = version == 1;
    let n_tensors = rd.length("the tensor count")?;
    let n_kv = rd.length("the metadata count")?;
    if n_tensors > MAX_ENTRIES || n_kv > MAX_ENTRIES {
        return Err(format!(
            "it claims {n_tensors} tensors and {n_kv} metadata entries, more than the {MAX_ENTRIES} allowed: the header is damaged"
        ));
    }
    // Each entry takes at least a length and a type (or dims, dtype and offset) on disk.
    let min_bytes = n_kv
        .saturating_mul(13)
        .saturating_add(n_tensors.saturating_mul(24));
    if min_bytes > rd.left() {
        return Err(format!(
            "it claims {n_tensors} tensors and {n_kv} metadata entries, which cannot fit in its {len} bytes: it is truncated or damaged"
        ));
    }
    let mut metadata = HashMap::new();
    for _ in 0..n_kv {
        let key = rd.string("a metadata key")?;
        let ty = rd.u32("a metadata type")?;
        let v = rd.value(ty, &key, 0)?;
        metadata.insert(key, v);
    }
    let mut infos = Vec::with_capacity(n_tensors as usize);
    for _ in 0..n_tensors {
        let name = rd.string("a tensor name")?;
        let n_dims = rd.u32("a tensor's dimension count")?;
        if n_dims > MAX_DIMS {
            return Err(format!(
                "tensor `{name}` claims {n_dims} dimensions; at most {MAX_DIMS} exist"
            ));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            let d = rd.length("a tensor dimension")?;
            dims.push(
                usize::try_from(d)
                    .map_err(|_| format!("tensor `{name}` has a dimension of {d}"))?,
            );
        }
        dims.reverse();
        let t = rd.u32("a tensor type")?;
        let ty = dtype(t)
            .ok_or_else(|| format!("tensor `{name}` has type {t}, which Tunesmith cannot read"))?;
        let offset = rd.u64("a tensor offset")?;
        infos.push((name, dims, ty, offset));
    }
    let alignment = match metadata.get("general.alignment") {
        None => 32,
        Some(Value::U32(a)) => u64::from(*a),
        Some(Value::U64(a)) => *a,
        Some(Value::I32(a)) if *a > 0 => *a as u64,
        Some(other) => {
            return Err(format!(
                "`general.alignment` is {other:?}, not an unsigned 32-bit number"
            ))
        }
    };
    if alignment == 0 || !alignment.is_power_of_two() || alignment > 65_536 {
        return Err(format!(
            "`general.alignment` is {alignment}; it must be a power of two up to 65536"
        ));
    }
    let data_start = rd
        .pos
        .checked_next_multiple_of(alignment)
        .ok_or("the header is damaged (its end overflows)")?;
    let mut tensor_infos = HashMap::new();
    for (name, dims, ty, offset) in infos {
        let elems = dims
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .ok_or_else(|| {
                format!("tensor `{name}` claims dimensions {dims:?}, too many elements")
            })?;
        // No real model has an empty tensor, and candle reads one through a misaligned pointer.
        if elems == 0 {
            return Err(format!(
                "tensor `{name}` has no elements (dimensions {dims:?}): the file is damaged"
            ));
        }
        if elems % ty.block_size() != 0 {
            return Err(format!(
                "tensor `{name}` has {elems} elements, not a whole number of {ty:?} blocks of {}",
                ty.block_size()
            ));
        }
        let bytes = (elems / ty.block_size())
            .checked_mul(ty.type_size())
            .ok_or_else(|| format!("tensor `{name}` claims dimensions {dims:?}, too many bytes"))?;
        let end = data_start
            .checked_add(offset)
            .and_then(|s| s.checked_add(bytes as u64));
        match end {
            Some(end) if end <= len => {}
            _ => {
                return Err(format!(
                    "tensor `{name}` ({bytes} bytes at offset {offset}) lies past the end of the file ({len} bytes): it is truncated, download it again"
                ))
            }
        }
        if tensor_infos
            .insert(
                name.clone(),
                TensorInfo {
                    ggml_dtype: ty,
                    shape: candle_core::Shape::from(dims),
                    offset,
                },
            )
            .is_some()
        {
            return Err(format!("tensor `{name}` appears twice"));
        }
    }
    Ok(Content {
        magic,
        metadata,
        tensor_infos,
        tensor_data_offset: data_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A GGUF v3 file with the given metadata bytes (already encoded) and one F32 tensor.
    fn file(kv: &[(&str, u32, Vec<u8>)], dims: &[u64], data: usize) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend((kv.len() as u64).to_le_bytes());
        for (k, t, v) in kv {
            b.extend((k.len() as u64).to_le_bytes());
            b.extend(k.as_bytes());
            b.extend(t.to_le_bytes());
            b.extend(v);
        }
        b.extend(1u64.to_le_bytes());
        b.push(b'w');
        b.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            b.extend(d.to_le_bytes());
        }
        b.extend(0u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        while b.len() % 32 != 0 {
            b.push(0);
        }
        b.extend(vec![0u8; data]);
        b
    }

    fn read(b: Vec<u8>) -> Result<Content, String> {
        read_header(&mut Cursor::new(b))
    }

    #[test]
    fn a_well_formed_file_is_read() {
        let c = read(file(
            &[(
                "general.name",
                8,
                [5u64.to_le_bytes().to_vec(), b"tiny!".to_vec()].concat(),
            )],
            &[2, 3],
            24,
        ))
        .unwrap();
        assert!(matches!(c.metadata.get("general.name"), Some(Value::String(s)) if s == "tiny!"));
        assert_eq!(c.tensor_infos["w"].shape.dims(), &[3, 2]);
    }

    #[test]
    fn an_alignment_of_zero_is_refused_instead_of_dividing_by_zero() {
        let e = read(file(
            &[("general.alignment", 4, 0u32.to_le_bytes().to_vec())],
            &[2],
            8,
        ))
        .unwrap_err();
        assert!(e.contains("general.alignment"), "{e}");
    }

    #[test]
    fn dimensions_that_overflow_are_refused_instead_of_panicking() {
        let e = read(file(&[], &[u64::MAX / 2, 4], 8)).unwrap_err();
        assert!(e.contains("too many"), "{e}");
    }

    #[test]
    fn an_empty_tensor_is_refused() {
        let e = read(file(&[], &[0, 4], 8)).unwrap_err();
        assert!(e.contains("no elements"), "{e}");
    }

    #[test]
    fn a_truncated_tensor_is_named_when_the_file_is_opened() {
        let e = read(file(&[], &[4, 4], 10)).unwrap_err();
        assert!(e.contains("tensor `w`") && e.contains("truncated"), "{e}");
    }

    #[test]
    fn a_huge_string_length_is_refused_before_allocating() {
        let mut b = file(&[], &[1], 4);
        // The tensor name's length (after magic, version and the two counts).
        b[24..32].copy_from_slice(&(u64::MAX - 3).to_le_bytes());
        let e = read(b).unwrap_err();
        assert!(e.contains("claims"), "{e}");
    }

    #[test]
    fn a_huge_array_length_is_refused_before_allocating() {
        let mut v = 4u32.to_le_bytes().to_vec();
        v.extend((1u64 << 60).to_le_bytes());
        let e = read(file(&[("tokenizer.ggml.token_type", 9, v)], &[1], 4)).unwrap_err();
        assert!(e.contains("elements"), "{e}");
    }

    #[test]
    fn every_truncation_of_a_good_file_is_an_error_never_a_panic() {
        let good = file(
            &[(
                "general.name",
                8,
                [3u64.to_le_bytes().to_vec(), b"abc".to_vec()].concat(),
            )],
            &[4],
            16,
        );
        for n in 0..good.len() {
            assert!(
                read(good[..n].to_vec()).is_err(),
                "a file cut at {n} bytes was accepted"
            );
        }
    }
}

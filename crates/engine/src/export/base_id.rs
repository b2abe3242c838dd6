//! The hub id of the base model a run was trained on, for the `base_model_name_or_path` a PEFT
//! user's `AutoPeftModelForCausalLM.from_pretrained(adapter)` downloads.
//!
//! Tunesmith trains on a local path (a hub cache snapshot, a folder, a `.gguf` file), which PEFT
//! cannot resolve on another machine. The id is found, most certain first:
//! 1. the path lies in a Hugging Face cache (`.../models--<owner>--<name>/snapshots/<commit>/...`);
//! 2. a folder's `config.json` names it in `_name_or_path` (what transformers writes);
//! 3. a GGUF names its source: `general.source.huggingface.repository`, or a
//!    `general.source.repo_url` / `general.source.url` on huggingface.co;
//! 4. a GGUF's `general.organization` with the file's name less its quantisation suffix
//!    (`HuggingFaceTB` + `SmolLM2-135M-Instruct.Q4_1.gguf`), the way GGUF repositories name files;
//! 5. a GGUF's single `general.base_model.0.*` when the file is not itself a fine-tune (with a
//!    `general.finetune`, the base model is its parent, a different set of weights).
//!
//! Every answer says how it was found, so the export's README can tell the user how sure it is.

use std::path::Path;

use serde::Serialize;

use crate::gguf::GgufFile;

/// A base model's hub id and how it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseId {
    /// `owner/name`.
    pub id: String,
    /// Where it came from, in words.
    pub found_in: String,
    /// Whether it was read rather than inferred (rules 1 to 3 above).
    pub certain: bool,
}

/// Whether `s` has the form of a hub model id (`owner/name`, no path syntax).
pub fn looks_like_hub_id(s: &str) -> bool {
    let mut parts = s.split('/');
    let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 96
            && !p.starts_with(['.', '-'])
            && !p.ends_with(['.', '-'])
            && !p.contains("..")
            && !p.contains("--")
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    ok(owner) && ok(name)
}

/// The hub id in a Hugging Face cache path, if `path` is inside one.
pub fn id_from_cache_path(path: &Path) -> Option<String> {
    let comps: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    comps.iter().enumerate().rev().find_map(|(i, c)| {
        let rest = c.strip_prefix("models--")?;
        // A snapshot folder follows: `models--o--n/snapshots/<commit>`.
        if comps.get(i + 1).map(String::as_str) != Some("snapshots") {
            return None;
        }
        let (owner, name) = rest.split_once("--")?;
        let id = format!("{owner}/{name}");
        looks_like_hub_id(&id).then_some(id)
    })
}

/// A hub id from a `https://huggingface.co/<owner>/<name>[/...]` address.
fn id_from_url(url: &str) -> Option<String> {
    let rest = url
        .trim()
        .strip_prefix("https://huggingface.co/")
        .or_else(|| url.trim().strip_prefix("http://huggingface.co/"))?;
    let mut parts = rest.split('/');
    let id = format!("{}/{}", parts.next()?, parts.next()?);
    looks_like_hub_id(&id).then_some(id)
}

/// The base model's hub id for a run trained on `model` (a folder or a `.gguf` file), if known.
pub fn base_hub_id(model: &Path) -> Option<BaseId> {
    if let Some(id) = id_from_cache_path(model) {
        return Some(BaseId {
            id,
            found_in: "the Hugging Face cache folder the base was loaded from".into(),
            certain: true,
        });
    }
    if model.is_dir() {
        let text = std::fs::read_to_string(model.join("config.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        let id = v.get("_name_or_path")?.as_str()?;
        return looks_like_hub_id(id).then(|| BaseId {
            id: id.to_string(),
            found_in: "`_name_or_path` in the base's config.json".into(),
            certain: true,
        });
    }
    let file = GgufFile::open(model).ok()?;
    from_gguf(&file, model)
}

fn from_gguf(file: &GgufFile, path: &Path) -> Option<BaseId> {
    let s = |k: &str| file.string(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(id) = s("general.source.huggingface.repository").filter(|i| looks_like_hub_id(i)) {
        return Some(BaseId {
            id,
            found_in: "the GGUF's `general.source.huggingface.repository`".into(),
            certain: true,
        });
    }
    for key in ["general.source.repo_url", "general.source.url"] {
        if let Some(id) = s(key).and_then(|u| id_from_url(&u)) {
            return Some(BaseId {
                id,
                found_in: format!("the GGUF's `{key}`"),
                certain: true,
            });
        }
    }
    if let (Some(org), Some(stem)) = (
        s("general.organization"),
        path.file_name().map(|n| n.to_string_lossy().into_owned()),
    ) {
        let name = model_name_of_gguf_file(&stem);
        let id = format!("{}/{name}", org.trim());
        if looks_like_hub_id(&id) {
            return Some(BaseId {
                id,
                found_in: "the GGUF's `general.organization` and the file's name (inferred: check it is the model the file was converted from)".into(),
                certain: false,
            });
        }
    }
    let count = file.uint("general.base_model.count").ok();
    if count == Some(1) && s("general.finetune").is_none() {
        let id = s("general.base_model.0.repo_url")
            .and_then(|u| id_from_url(&u))
            .or_else(|| {
                let id = format!(
                    "{}/{}",
                    s("general.base_model.0.organization")?,
                    s("general.base_model.0.name")?
                );
                looks_like_hub_id(&id).then_some(id)
            })?;
        return Some(BaseId {
            id,
            found_in: "the GGUF's `general.base_model.0` (inferred: the model it derives from)"
                .into(),
            certain: false,
        });
    }
    None
}

/// `SmolLM2-135M-Instruct.Q4_1.gguf` -> `SmolLM2-135M-Instruct`; `Model-7B-Q4_K_M.gguf` ->
/// `Model-7B`: the name less the extension and a trailing quantisation label.
pub fn model_name_of_gguf_file(file: &str) -> String {
    let stem = file
        .strip_suffix(".gguf")
        .or_else(|| file.strip_suffix(".GGUF"))
        .unwrap_or(file);
    let is_quant = |s: &str| {
        let u = s.to_ascii_uppercase();
        u.starts_with("Q") && u[1..].starts_with(|c: char| c.is_ascii_digit())
            || u.starts_with("IQ")
            || matches!(u.as_str(), "F16" | "F32" | "BF16" | "FP16" | "FP32")
    };
    for sep in ['.', '-'] {
        if let Some((head, tail)) = stem.rsplit_once(sep) {
            // "Q4_K_M" contains '_': take the whole tail after the separator.
            if is_quant(tail) && !head.is_empty() {
                return head.to_string();
            }
        }
    }
    stem.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hub_cache_snapshot_names_its_repository() {
        let p = Path::new("/home/u/.cache/huggingface/hub/models--HuggingFaceTB--SmolLM2-135M-Instruct/snapshots/a91318be21aeaf0879874faa161dcb40c68847e9");
        assert_eq!(
            id_from_cache_path(p).as_deref(),
            Some("HuggingFaceTB/SmolLM2-135M-Instruct")
        );
        assert_eq!(
            id_from_cache_path(&p.join("model.gguf")).as_deref(),
            Some("HuggingFaceTB/SmolLM2-135M-Instruct")
        );
        assert_eq!(id_from_cache_path(Path::new("/data/models--x")), None);
    }

    #[test]
    fn only_owner_slash_name_is_taken_for_a_hub_id() {
        assert!(looks_like_hub_id("sentence-transformers/all-MiniLM-L6-v2"));
        for bad in [
            "/abs/path",
            "a/b/c",
            "model",
            "../x",
            "a/",
            "o/m.gguf/",
            "a b/c",
            "a/.x",
        ] {
            assert!(!looks_like_hub_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_gguf_file_name_loses_its_quantisation_label() {
        assert_eq!(
            model_name_of_gguf_file("SmolLM2-135M-Instruct.Q4_1.gguf"),
            "SmolLM2-135M-Instruct"
        );
        assert_eq!(
            model_name_of_gguf_file("Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"),
            "Qwen2.5-0.5B-Instruct"
        );
        assert_eq!(model_name_of_gguf_file("tiny.f16.gguf"), "tiny");
        assert_eq!(model_name_of_gguf_file("Model-7B.gguf"), "Model-7B");
    }

    #[test]
    fn a_huggingface_address_gives_its_repository() {
        assert_eq!(
            id_from_url("https://huggingface.co/HuggingFaceTB/SmolLM2-135M").as_deref(),
            Some("HuggingFaceTB/SmolLM2-135M")
        );
        assert_eq!(id_from_url("https://example.com/a/b"), None);
    }

    #[test]
    fn a_folder_names_its_base_through_name_or_path_and_a_local_path_is_not_taken() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("config.json"),
            r#"{"_name_or_path":"o/base"}"#,
        )
        .unwrap();
        assert_eq!(base_hub_id(d.path()).unwrap().id, "o/base");
        std::fs::write(
            d.path().join("config.json"),
            r#"{"_name_or_path":"/tmp/x"}"#,
        )
        .unwrap();
        assert_eq!(base_hub_id(d.path()), None);
    }
}

//! The hub's model JSON as it really arrives, read leniently: one shape for the model list
//! (`GET /api/models`) and the model info (`GET /api/models/<id>[/revision/<rev>]`).
//!
//! The field list follows the hub's public API and its typed clients (huggingface_hub's
//! `ModelInfo`, huggingface.js's `ApiModelInfo`): `_id`, `id`, the legacy `modelId`, `author`,
//! `sha`, `createdAt`, `lastModified`, `private`, `disabled`, `gated` (`false`, `"auto"`,
//! `"manual"`), `pipeline_tag`, `library_name`, `tags`, `downloads`, `likes`, `cardData`,
//! `config`, `safetensors`, `siblings` (with `lfs`), and more we do not use.
//!
//! Promises:
//! - unknown fields are ignored, and both `id` and `modelId` may be present (the hub sends both);
//! - a known field of an unexpected type (a `null`, a string where a number was documented, a
//!   list where a string was) is read as absent rather than refusing the whole answer, because a
//!   search result missing its like count is still useful and the hub's fields drift;
//! - only the model id is required: an answer without `id` or `modelId` is refused.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// Reads a field as `T`, or as `None` when it is `null` or of another type.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// Reads a list, keeping the elements of type `T` and dropping the others (`null` is an empty list).
fn lenient_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        _ => Vec::new(),
    })
}

/// Reads a count: a non-negative integer, or a float the hub sometimes sends for scores.
fn lenient_count<'de, D>(d: D) -> Result<Option<u64>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| *f >= 0.0 && f.is_finite())
                .map(|f| f as u64)
        }),
        _ => None,
    })
}

/// Whether and how a repository is gated: `false`, or the approval mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gating {
    /// Anyone can download it.
    #[default]
    Open,
    /// Access is granted automatically once the licence is accepted (`"auto"`).
    Auto,
    /// The owners approve each request by hand (`"manual"`).
    Manual,
    /// Gated, in a form not documented (`true`, or another string).
    Other,
}

impl Gating {
    fn from_value(v: &serde_json::Value) -> Gating {
        match v {
            serde_json::Value::Bool(false) | serde_json::Value::Null => Gating::Open,
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("auto") => Gating::Auto,
            serde_json::Value::String(s) if s.eq_ignore_ascii_case("manual") => Gating::Manual,
            serde_json::Value::String(s) if s.is_empty() || s.eq_ignore_ascii_case("false") => {
                Gating::Open
            }
            _ => Gating::Other,
        }
    }

    /// Whether a token and an accepted licence are needed.
    pub fn is_gated(self) -> bool {
        self != Gating::Open
    }

    /// The hub's word for it (`false` reads as `None`).
    pub fn mode(self) -> Option<&'static str> {
        match self {
            Gating::Open => None,
            Gating::Auto => Some("auto"),
            Gating::Manual => Some("manual"),
            Gating::Other => Some("gated"),
        }
    }
}

fn gating<'de, D>(d: D) -> Result<Gating, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Gating::from_value(&serde_json::Value::deserialize(d)?))
}

/// One model as the hub describes it (list entry or full info).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiModel {
    /// The database id (`_id`), 24 hex digits; not the repository id.
    #[serde(rename = "_id", default, deserialize_with = "lenient")]
    pub object_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    /// The legacy name of `id`, still sent beside it.
    #[serde(rename = "modelId", default, deserialize_with = "lenient")]
    model_id: Option<String>,
    /// The owner.
    #[serde(default, deserialize_with = "lenient")]
    pub author: Option<String>,
    /// The commit the answer describes.
    #[serde(default, deserialize_with = "lenient")]
    pub sha: Option<String>,
    /// When the repository was created (ISO 8601).
    #[serde(rename = "createdAt", default, deserialize_with = "lenient")]
    pub created_at: Option<String>,
    /// When it last changed (ISO 8601).
    #[serde(rename = "lastModified", default, deserialize_with = "lenient")]
    pub last_modified: Option<String>,
    /// Whether it is private.
    #[serde(default, deserialize_with = "lenient")]
    pub private: Option<bool>,
    /// Whether the hub has disabled it (its files cannot be downloaded).
    #[serde(default, deserialize_with = "lenient")]
    pub disabled: Option<bool>,
    /// Gating.
    #[serde(default, deserialize_with = "gating")]
    pub gated: Gating,
    /// The task tag.
    #[serde(default, deserialize_with = "lenient")]
    pub pipeline_tag: Option<String>,
    /// The library its card names (`transformers`, `sentence-transformers`, `gguf`, ...).
    #[serde(default, deserialize_with = "lenient")]
    pub library_name: Option<String>,
    /// Tags (`license:mit`, `gguf`, `safetensors`, ...).
    #[serde(default, deserialize_with = "lenient_list")]
    pub tags: Vec<String>,
    /// Downloads in the last 30 days.
    #[serde(default, deserialize_with = "lenient_count")]
    pub downloads: Option<u64>,
    /// Likes.
    #[serde(default, deserialize_with = "lenient_count")]
    pub likes: Option<u64>,
    /// The model card's metadata (free-form).
    #[serde(rename = "cardData", default, deserialize_with = "lenient")]
    pub card_data: Option<serde_json::Value>,
    /// The part of `config.json` the hub repeats.
    #[serde(default, deserialize_with = "lenient")]
    pub config: Option<ApiConfig>,
    /// Parameter counts per dtype.
    #[serde(default, deserialize_with = "lenient")]
    pub safetensors: Option<ApiSafetensors>,
    /// The files.
    #[serde(default, deserialize_with = "lenient_list")]
    pub siblings: Vec<ApiSibling>,
}

impl ApiModel {
    /// The repository id (`id`, else the legacy `modelId`); `None` when neither was sent.
    pub fn repo_id(&self) -> Option<&str> {
        self.id
            .as_deref()
            .or(self.model_id.as_deref())
            .filter(|s| !s.trim().is_empty())
    }

    /// The licence: the card's `license` (a string, or the first of a list), else a
    /// `license:` tag.
    pub fn license(&self) -> Option<String> {
        let from_card = self
            .card_data
            .as_ref()
            .and_then(|c| c.get("license"))
            .and_then(|l| match l {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Array(a) => a.iter().find_map(|x| x.as_str().map(String::from)),
                _ => None,
            });
        from_card.or_else(|| {
            self.tags
                .iter()
                .find_map(|t| t.strip_prefix("license:").map(str::to_string))
        })
    }

    /// The base model the card names (`base_model`, a string or a list), if any.
    pub fn base_model(&self) -> Option<String> {
        self.card_data
            .as_ref()
            .and_then(|c| c.get("base_model"))
            .and_then(|b| match b {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Array(a) => a.iter().find_map(|x| x.as_str().map(String::from)),
                _ => None,
            })
    }
}

/// The hub's excerpt of `config.json`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiConfig {
    /// `architectures`.
    #[serde(default, deserialize_with = "lenient_list")]
    pub architectures: Vec<String>,
    /// `model_type`.
    #[serde(default, deserialize_with = "lenient")]
    pub model_type: Option<String>,
}

/// Parameter counts from the safetensors headers.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ApiSafetensors {
    /// Parameters per dtype name.
    #[serde(default, deserialize_with = "lenient_counts")]
    pub parameters: BTreeMap<String, u64>,
    /// All parameters.
    #[serde(default, deserialize_with = "lenient_count")]
    pub total: Option<u64>,
}

fn lenient_counts<'de, D>(d: D) -> Result<BTreeMap<String, u64>, D::Error>
where
    D: Deserializer<'de>,
{
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Object(m) => m
            .into_iter()
            .filter_map(|(k, v)| v.as_u64().map(|n| (k, n)))
            .collect(),
        _ => BTreeMap::new(),
    })
}

impl ApiSafetensors {
    /// All parameters: `total`, else the sum over dtypes (saturating: a hostile answer cannot
    /// overflow it).
    pub fn parameters(&self) -> u64 {
        self.total.unwrap_or_else(|| {
            self.parameters
                .values()
                .fold(0u64, |a, n| a.saturating_add(*n))
        })
    }
}

/// One file of a repository.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiSibling {
    /// Its path in the repository.
    pub rfilename: String,
    /// Its size in bytes (sent with `?blobs=true`).
    #[serde(default, deserialize_with = "lenient_count")]
    pub size: Option<u64>,
    /// The git blob id.
    #[serde(rename = "blobId", default, deserialize_with = "lenient")]
    pub blob_id: Option<String>,
    /// LFS metadata of a large file.
    #[serde(default, deserialize_with = "lenient")]
    pub lfs: Option<ApiLfs>,
}

/// LFS metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiLfs {
    /// The sha256 of the bytes.
    pub sha256: String,
    /// The size in bytes.
    #[serde(default, deserialize_with = "lenient_count")]
    pub size: Option<u64>,
    /// The size of the pointer file in git.
    #[serde(rename = "pointerSize", default, deserialize_with = "lenient_count")]
    pub pointer_size: Option<u64>,
}

/// Reads the model list's JSON. Entries without an id are dropped (they cannot be shown or
/// pulled); anything but a list is an error naming what came instead.
pub fn parse_model_list(body: &[u8]) -> Result<Vec<ApiModel>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    match v {
        serde_json::Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|i| serde_json::from_value::<ApiModel>(i).ok())
            .filter(|m| m.repo_id().is_some())
            .collect()),
        other => Err(format!(
            "expected a list of models, got {}",
            kind_of(&other)
        )),
    }
}

/// Reads one model's JSON; it must carry an id.
pub fn parse_model(body: &[u8]) -> Result<ApiModel, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    if !v.is_object() {
        return Err(format!("expected a model object, got {}", kind_of(&v)));
    }
    let m: ApiModel = serde_json::from_value(v).map_err(|e| e.to_string())?;
    if m.repo_id().is_none() {
        return Err("the model has neither `id` nor `modelId`".into());
    }
    Ok(m)
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The hub's error answer: `{"error": "..."}` in the body, or the `X-Error-Message` header.
pub fn error_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let e = v.get("error")?;
    match e {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o
            .get("message")
            .and_then(|m| m.as_str())
            .map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list entry as the hub sends it without `expand` (captured shape, values made up).
    const LIST_ENTRY: &str = r#"{"_id":"621ffdc136468d709f17a4f1","id":"sentence-transformers/all-MiniLM-L6-v2",
        "likes":4200,"trendingScore":37,"private":false,"downloads":98000000,
        "tags":["sentence-transformers","pytorch","safetensors","bert","feature-extraction","license:apache-2.0"],
        "pipeline_tag":"sentence-similarity","library_name":"sentence-transformers",
        "createdAt":"2022-03-02T23:29:05.000Z","modelId":"sentence-transformers/all-MiniLM-L6-v2"}"#;

    #[test]
    fn a_list_entry_with_both_id_and_the_legacy_model_id_is_read() {
        let m = parse_model(LIST_ENTRY.as_bytes()).unwrap();
        assert_eq!(m.repo_id(), Some("sentence-transformers/all-MiniLM-L6-v2"));
        assert_eq!(m.object_id.as_deref(), Some("621ffdc136468d709f17a4f1"));
        assert_eq!(m.downloads, Some(98_000_000));
        assert_eq!(m.likes, Some(4200));
        assert_eq!(m.library_name.as_deref(), Some("sentence-transformers"));
        assert_eq!(m.created_at.as_deref(), Some("2022-03-02T23:29:05.000Z"));
        assert_eq!(m.private, Some(false));
        assert_eq!(m.license().as_deref(), Some("apache-2.0"));
    }

    #[test]
    fn an_entry_with_only_the_legacy_model_id_is_read() {
        let m = parse_model(br#"{"modelId":"o/legacy","downloads":3}"#).unwrap();
        assert_eq!(m.repo_id(), Some("o/legacy"));
    }

    #[test]
    fn an_entry_with_no_id_at_all_is_refused_with_the_reason() {
        let e = parse_model(br#"{"_id":"621ffdc136468d709f17a4f1","downloads":3}"#).unwrap_err();
        assert!(e.contains("neither `id` nor `modelId`"), "{e}");
    }

    #[test]
    fn gated_is_read_as_false_auto_manual_and_undocumented_true() {
        let g = |v: &str| {
            parse_model(format!(r#"{{"id":"o/m","gated":{v}}}"#).as_bytes())
                .unwrap()
                .gated
        };
        assert_eq!(g("false"), Gating::Open);
        assert_eq!(g(r#""auto""#), Gating::Auto);
        assert_eq!(g(r#""manual""#), Gating::Manual);
        assert_eq!(g("true"), Gating::Other);
        assert_eq!(g("null"), Gating::Open);
        assert!(g(r#""manual""#).is_gated() && !g("false").is_gated());
        assert_eq!(parse_model(br#"{"id":"o/m"}"#).unwrap().gated, Gating::Open);
    }

    #[test]
    fn a_full_model_info_reads_config_safetensors_card_and_siblings_with_lfs() {
        let body = r#"{"_id":"66e1a1f4b0c1d2e3f4a5b6c7","id":"HuggingFaceTB/SmolLM2-135M-Instruct",
          "modelId":"HuggingFaceTB/SmolLM2-135M-Instruct","author":"HuggingFaceTB",
          "sha":"a91318be21aeaf0879874faa161dcb40c68847e9","lastModified":"2025-02-06T10:34:21.000Z",
          "createdAt":"2024-10-31T13:41:35.000Z","private":false,"disabled":false,"gated":false,
          "pipeline_tag":"text-generation","library_name":"transformers","mask_token":null,
          "tags":["transformers","safetensors","llama","text-generation","conversational","en","license:apache-2.0"],
          "downloads":512345,"likes":200,"trendingScore":5,"usedStorage":3000000000,
          "widgetData":[{"text":"Hi"}],"model-index":null,"spaces":["a/b"],
          "cardData":{"library_name":"transformers","license":"apache-2.0","language":["en"],
                      "base_model":["HuggingFaceTB/SmolLM2-135M"],"pipeline_tag":"text-generation"},
          "config":{"architectures":["LlamaForCausalLM"],"model_type":"llama",
                    "tokenizer_config":{"bos_token":"<|im_start|>","chat_template":"..."}},
          "transformersInfo":{"auto_model":"AutoModelForCausalLM","pipeline_tag":"text-generation","processor":"AutoTokenizer"},
          "safetensors":{"parameters":{"BF16":134515008},"total":134515008},
          "siblings":[{"rfilename":".gitattributes","size":1519,"blobId":"a6344aac8c09253b3b630fb776ae94478aa0275b"},
                      {"rfilename":"model.safetensors","size":269060552,"blobId":"1b2c3d",
                       "lfs":{"sha256":"5af571cbf074e6d21a03528d2330792e532ca608f24ac70a143f6b369968ab8c","size":269060552,"pointerSize":135}}],
          "securityRepoStatus":{"scansDone":true},"xetEnabled":true,"inference":"warm"}"#;
        let m = parse_model(body.as_bytes()).unwrap();
        assert_eq!(m.author.as_deref(), Some("HuggingFaceTB"));
        assert_eq!(
            m.sha.as_deref(),
            Some("a91318be21aeaf0879874faa161dcb40c68847e9")
        );
        assert_eq!(m.disabled, Some(false));
        let c = m.config.as_ref().unwrap();
        assert_eq!(c.architectures, ["LlamaForCausalLM"]);
        assert_eq!(c.model_type.as_deref(), Some("llama"));
        assert_eq!(m.safetensors.as_ref().unwrap().parameters(), 134_515_008);
        assert_eq!(
            m.base_model().as_deref(),
            Some("HuggingFaceTB/SmolLM2-135M")
        );
        assert_eq!(m.siblings.len(), 2);
        let lfs = m.siblings[1].lfs.as_ref().unwrap();
        assert_eq!(lfs.size, Some(269_060_552));
        assert_eq!(lfs.pointer_size, Some(135));
        assert!(m.siblings[0].lfs.is_none());
    }

    #[test]
    fn fields_of_an_unexpected_type_read_as_absent_instead_of_refusing_the_answer() {
        let m = parse_model(
            br#"{"id":"o/m","downloads":"many","likes":12.0,"pipeline_tag":7,"tags":["a",3,null,"b"],
                 "config":null,"safetensors":{"parameters":{"F32":"x","F16":10}},"cardData":"text",
                 "siblings":[{"rfilename":"a.json"},{"nofilename":true}],"private":"no","lastModified":null}"#,
        )
        .unwrap();
        assert_eq!(m.downloads, None);
        assert_eq!(m.likes, Some(12));
        assert_eq!(m.pipeline_tag, None);
        assert_eq!(m.tags, ["a", "b"]);
        assert!(m.config.is_none());
        assert_eq!(m.safetensors.as_ref().unwrap().parameters(), 10);
        assert_eq!(m.siblings.len(), 1);
        assert_eq!(m.private, None);
        assert_eq!(m.license(), None);
    }

    #[test]
    fn a_list_keeps_the_entries_it_can_read_and_refuses_what_is_not_a_list() {
        let l =
            parse_model_list(br#"[{"id":"a/b","modelId":"a/b"},{"_id":"x"},7,{"modelId":"c/d"}]"#)
                .unwrap();
        let ids: Vec<_> = l.iter().filter_map(|m| m.repo_id()).collect();
        assert_eq!(ids, ["a/b", "c/d"]);
        let e = parse_model_list(br#"{"error":"Invalid credentials"}"#).unwrap_err();
        assert!(e.contains("an object"), "{e}");
        assert!(parse_model_list(b"<html>")
            .unwrap_err()
            .contains("not JSON"));
    }

    #[test]
    fn the_hubs_error_body_gives_its_message() {
        assert_eq!(
            error_message(r#"{"error":"Repository not found"}"#).as_deref(),
            Some("Repository not found")
        );
        assert_eq!(error_message("<html>"), None);
    }
}

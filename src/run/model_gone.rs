//! A run whose model is no longer on disk (its folder deleted or moved, the hub cache cleaned):
//! the run's history, page and files stay usable, and an action that needs the model (evaluate,
//! predict, re-run, resume, chat with the run) says which model is gone and how to get it back,
//! instead of "config.json cannot be read".

use std::path::Path;

use crate::{Error, Result};

/// Refuses an action on run `run_id` when the model it was trained on, `model`, is gone.
pub(crate) fn require_model(run_id: &str, model: &Path) -> Result<()> {
    if model.exists() {
        return Ok(());
    }
    let back = match hub_id(model) {
        Some(id) => format!(
            "download it again (`tunesmith models pull {id}`, or Download on the Models screen)"
        ),
        None => format!("put the model back at {}", model.display()),
    };
    Err(Error::invalid(format!(
        "run {run_id} was trained on the model {}, which is no longer there (deleted or moved); {back}, then try again. \
         The run's history, page and exported files are unaffected.",
        model.display()
    )))
}

/// The hub id of a model in the Hugging Face cache (`.../models--org--name/snapshots/...`).
fn hub_id(model: &Path) -> Option<String> {
    model.components().find_map(|c| {
        let part = c.as_os_str().to_str()?;
        let rest = part.strip_prefix("models--")?;
        Some(rest.replacen("--", "/", 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_gone_from_the_hub_cache_is_pulled_again_and_a_folder_is_put_back() {
        let cached = Path::new("/no/hub/models--HuggingFaceTB--SmolLM2-135M/snapshots/abc");
        let e = require_model("run-1", cached).unwrap_err().to_string();
        assert!(
            e.contains("tunesmith models pull HuggingFaceTB/SmolLM2-135M"),
            "{e}"
        );
        let folder = Path::new("/no/such/minilm");
        let e = require_model("run-1", folder).unwrap_err().to_string();
        assert!(
            e.contains("no longer there") && e.contains("put the model back at /no/such/minilm"),
            "{e}"
        );
        assert!(require_model("run-1", Path::new("/")).is_ok());
    }
}

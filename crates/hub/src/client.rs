//! The connection to the hub: its address (`HF_ENDPOINT`, so tests and mirrors can point it
//! elsewhere), the token, offline mode (`HF_HUB_OFFLINE`), and the mapping of HTTP answers to
//! errors a user can act on (401/403 -> a token is needed, 404 -> not found).

use std::time::Duration;

use crate::token::{find_token, Token};
use crate::{HubError, Result};

/// The public hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// How Tunesmith talks to the hub.
#[derive(Debug, Clone)]
pub struct HubClient {
    endpoint: String,
    token: Option<Token>,
    offline: bool,
    http: reqwest::blocking::Client,
}

impl HubClient {
    /// A client configured from the environment: `HF_ENDPOINT`, the token (see [`crate::token`]),
    /// and `HF_HUB_OFFLINE`.
    pub fn from_env() -> Result<Self> {
        let endpoint = std::env::var("HF_ENDPOINT")
            .ok()
            .filter(|s| !s.trim().is_empty());
        let offline = std::env::var("HF_HUB_OFFLINE")
            .map(|v| {
                matches!(
                    v.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes" | "on"
                )
            })
            .unwrap_or(false);
        Self::new(
            endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT),
            find_token().map(|(t, _)| t),
            offline,
        )
    }

    /// A client for `endpoint` with an optional token.
    pub fn new(endpoint: &str, token: Option<Token>, offline: bool) -> Result<Self> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        let http = reqwest::blocking::Client::builder()
            .user_agent(concat!("tunesmith/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            // The blocking client's default 30 s limit covers the whole body: a large file would be
            // cut off. Transfers are unlimited; connecting is not.
            .timeout(None)
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .map_err(|e| HubError::Network {
                endpoint: endpoint.clone(),
                reason: e.to_string(),
            })?;
        Ok(HubClient {
            endpoint,
            token,
            offline,
            http,
        })
    }

    /// The hub's base address.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether offline mode is on.
    pub fn offline(&self) -> bool {
        self.offline
    }

    /// Whether a token will be sent.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Replaces the token.
    pub fn with_token(mut self, token: Option<Token>) -> Self {
        self.token = token;
        self
    }

    /// A GET request to `url` with the token attached (reqwest drops it on cross-host redirects,
    /// so it never reaches the LFS storage).
    pub(crate) fn get(&self, url: &str) -> reqwest::blocking::RequestBuilder {
        let req = self.http.get(url);
        match &self.token {
            Some(t) => req.bearer_auth(t.secret()),
            None => req,
        }
    }

    /// Sends `req`, turning transport failures and error statuses into [`HubError`]s about `repo`.
    pub(crate) fn send(
        &self,
        req: reqwest::blocking::RequestBuilder,
        repo: &str,
        what: &str,
    ) -> Result<reqwest::blocking::Response> {
        let resp = req.send().map_err(|e| self.network_error(&e))?;
        check_status(resp, repo, what)
    }

    pub(crate) fn network_error(&self, e: &reqwest::Error) -> HubError {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            reason.push_str(": ");
            reason.push_str(&s.to_string());
            source = s.source();
        }
        HubError::Network {
            endpoint: self.endpoint.clone(),
            reason,
        }
    }
}

/// Maps an HTTP error status to a [`HubError`]; passes successes through.
pub(crate) fn check_status(
    resp: reqwest::blocking::Response,
    repo: &str,
    what: &str,
) -> Result<reqwest::blocking::Response> {
    let status = resp.status();
    if status.is_success() || status == reqwest::StatusCode::PARTIAL_CONTENT {
        return Ok(resp);
    }
    let url = resp.url().to_string();
    let code = status.as_u16();
    let error_code = resp
        .headers()
        .get("x-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: String = resp.text().unwrap_or_default().chars().take(300).collect();
    Err(match (code, error_code.as_deref()) {
        // The hub answers 401 for a repository that does not exist too (so as not to reveal private
        // ones); its error code tells the two apart.
        (_, Some("RepoNotFound" | "RevisionNotFound" | "EntryNotFound")) | (404, _) => {
            HubError::NotFound {
                what: what.to_string(),
                url,
            }
        }
        (401 | 403, _) | (_, Some("GatedRepo")) => HubError::TokenRequired {
            repo: repo.to_string(),
        },
        _ => HubError::Http {
            status: code,
            url,
            body,
        },
    })
}

//! The connection to the hub: its address (`HF_ENDPOINT`, so tests and mirrors can point it
//! elsewhere), the token, offline mode (`HF_HUB_OFFLINE`), and the mapping of HTTP answers to
//! errors a user can act on (401/403 -> a token is needed, 404 -> not found, 429 -> retried after
//! the hub's `Retry-After`, within [`crate::rate_limit`]'s bounds), and a size cap on every JSON
//! answer read into memory.

use std::io::Read;
use std::time::{Duration, SystemTime};

use crate::rate_limit::{default_wait, parse_retry_after, MAX_RETRIES, MAX_WAIT};
use crate::token::Token;
use crate::token_source::find_token;
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
    /// A 429 is sent again after the wait the hub names (bounded, see [`crate::rate_limit`]).
    pub(crate) fn send(
        &self,
        req: reqwest::blocking::RequestBuilder,
        repo: &str,
        what: &str,
    ) -> Result<reqwest::blocking::Response> {
        let mut req = req;
        let mut retries = 0;
        loop {
            let again = req.try_clone();
            let resp = req.send().map_err(|e| self.network_error(&e))?;
            if resp.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
                if let (Some(next), Some(wait)) = (again, rate_limit_wait(&resp, retries)) {
                    std::thread::sleep(wait);
                    retries += 1;
                    req = next;
                    continue;
                }
            }
            return check_status(resp, repo, what);
        }
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

/// The largest JSON answer read into memory (a model list of 100 full entries is about 1 MB).
pub(crate) const MAX_JSON_BYTES: u64 = 32 * 1024 * 1024;

/// Reads a response's body, refusing one larger than `limit` bytes instead of holding it all.
pub(crate) fn read_body(
    resp: reqwest::blocking::Response,
    url: &str,
    limit: u64,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    resp.take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| HubError::BadResponse {
            url: url.to_string(),
            reason: format!("the answer was cut off ({e})"),
        })?;
    if out.len() as u64 > limit {
        return Err(HubError::BadResponse {
            url: url.to_string(),
            reason: format!("the answer is larger than {} MB", limit / (1024 * 1024)),
        });
    }
    Ok(out)
}

/// The hub's `Retry-After`, if it sent one Tunesmith can read.
fn retry_after(resp: &reqwest::blocking::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// How long to wait before sending a request the hub answered 429 again; `None` when the retries
/// are spent or the hub asks for longer than [`MAX_WAIT`] (then the user is told the time).
pub(crate) fn rate_limit_wait(
    resp: &reqwest::blocking::Response,
    retries_done: u32,
) -> Option<Duration> {
    if retries_done >= MAX_RETRIES {
        return None;
    }
    let wait = retry_after(resp).unwrap_or_else(|| default_wait(retries_done));
    (wait <= MAX_WAIT).then_some(wait)
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
    let header_message = resp
        .headers()
        .get("x-error-message")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let wait = retry_after(&resp);
    // The body of an error is short; read at most 64 KB of it whatever the server sends.
    let raw = read_body(resp, &url, 64 * 1024).unwrap_or_default();
    let raw = String::from_utf8_lossy(&raw);
    let body: String = crate::wire::error_message(&raw)
        .or(header_message)
        .unwrap_or_else(|| raw.to_string())
        .chars()
        .take(300)
        .collect();
    Err(match (code, error_code.as_deref()) {
        (_, Some("DisabledRepo")) => HubError::Disabled {
            repo: repo.to_string(),
        },
        (429, _) => HubError::RateLimited {
            url,
            retry_after_s: wait.map(|w| w.as_secs()),
        },
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

//! A loopback mock of the hub, for tests (behind the `mock` feature, never in the shipped binary's
//! normal path): a tiny HTTP/1.1 server on `127.0.0.1:0` serving the hub's search, file-list and
//! file endpoints from fixture folders, with the hub's behaviours that matter to a client: LFS files
//! redirected to a storage address, Range requests answered with 206, 401 for a gated repository
//! without a token (403 with a wrong one), 404 for what does not exist, 403 for a disabled one, and,
//! on request, a connection dropped half-way through a file, a file served corrupted once, a 429
//! with `Retry-After`, or any error status with the hub's error body.
//!
//! Its JSON is shaped like the real hub's (the field lists of huggingface_hub's `ModelInfo` and
//! huggingface.js's `ApiModelInfo`): `_id`, `id` and the legacy `modelId` together, `author`,
//! `sha`, `createdAt`, `lastModified`, `private`, `disabled`, `gated` as `false`/`"auto"`/
//! `"manual"`, `pipeline_tag`, `library_name`, `tags`, `downloads`, `likes`, `trendingScore`,
//! `cardData`, `config`, `transformersInfo`, `safetensors`, `siblings` with `lfs`, `spaces`,
//! `widgetData`, `usedStorage`. Errors carry `X-Error-Code`, `X-Error-Message` and the body
//! `{"error": "..."}`.
//!
//! It stops when dropped, and by itself after a minute without requests, so a failed test never
//! leaves it running.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::Digest;

/// One fixture repository. Its folder's files are the repository's files, except `mock.json`,
/// which may hold `{"gated": true | "auto" | "manual", "pipeline_tag": "...", "downloads": 10,
/// "likes": 3, "license": "...", "library_name": "...", "base_model": "...", "private": true,
/// "disabled": true, "tags": [...]}`.
#[derive(Debug, Clone)]
pub struct MockRepo {
    /// `owner/name`.
    pub id: String,
    /// The fixture folder.
    pub dir: PathBuf,
    /// Fields laid over the folder's `mock.json` (so one folder can serve as several repositories).
    pub meta: serde_json::Map<String, serde_json::Value>,
}

impl MockRepo {
    /// A repository `id` served from `dir`.
    pub fn new(id: &str, dir: impl Into<PathBuf>) -> Self {
        MockRepo {
            id: id.to_string(),
            dir: dir.into(),
            meta: serde_json::Map::new(),
        }
    }

    /// Sets one `mock.json` field (`gated`, `private`, `disabled`, `license`, ...).
    pub fn with(mut self, key: &str, value: serde_json::Value) -> Self {
        self.meta.insert(key.to_string(), value);
        self
    }
}

/// A request the mock received (for tests to check what the client asked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockRequest {
    /// The path with its query.
    pub path: String,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// Whether an `Authorization` header was sent.
    pub authorized: bool,
}

#[derive(Debug, Clone)]
struct File {
    name: String,
    bytes: Arc<Vec<u8>>,
    lfs: bool,
    sha256: String,
    blob_id: String,
}

#[derive(Debug, Clone)]
struct Repo {
    id: String,
    commit: String,
    files: Vec<File>,
    meta: serde_json::Value,
}

#[derive(Debug, Default)]
struct Faults {
    /// file name -> bytes to send before dropping the connection (once).
    drop_after: BTreeMap<String, u64>,
    /// file names to serve corrupted once.
    corrupt: Vec<String>,
    /// Error answers to give instead of the real one, each to the next request whose path
    /// contains its text.
    errors: Vec<InjectedError>,
}

#[derive(Debug, Clone)]
struct InjectedError {
    path_contains: String,
    status: u16,
    code: String,
    message: String,
    retry_after: Option<String>,
}

#[derive(Debug)]
struct Shared {
    repos: Vec<Repo>,
    token: Option<String>,
    faults: Mutex<Faults>,
    log: Mutex<Vec<MockRequest>>,
    last_request: Mutex<Instant>,
}

/// The running mock hub.
#[derive(Debug)]
pub struct MockHub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long the mock waits without a request before it stops by itself.
const IDLE_LIMIT: Duration = Duration::from_secs(60);

impl MockHub {
    /// Starts a mock hub serving `repos`; gated repositories accept `token`.
    pub fn start(repos: &[MockRepo], token: Option<&str>) -> std::io::Result<Self> {
        let repos = repos
            .iter()
            .map(load_repo)
            .collect::<std::io::Result<Vec<_>>>()?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            repos,
            token: token.map(str::to_string),
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(Vec::new()),
            last_request: Mutex::new(Instant::now()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || accept_loop(listener, s, st));
        Ok(MockHub {
            addr,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// The base address to put in `HF_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next download of `file` sends `bytes` bytes and then drops the connection.
    pub fn drop_connection_after(&self, file: &str, bytes: u64) {
        lock(&self.shared.faults)
            .drop_after
            .insert(file.to_string(), bytes);
    }

    /// The next download of `file` serves corrupted bytes (the right length, wrong content).
    pub fn corrupt_once(&self, file: &str) {
        lock(&self.shared.faults).corrupt.push(file.to_string());
    }

    /// The next `times` requests whose path contains `path_contains` are answered 429 Too Many
    /// Requests, with `Retry-After: retry_after` when given (seconds or an HTTP date).
    pub fn rate_limit(&self, path_contains: &str, times: usize, retry_after: Option<&str>) {
        let mut f = lock(&self.shared.faults);
        for _ in 0..times {
            f.errors.push(InjectedError {
                path_contains: path_contains.to_string(),
                status: 429,
                code: "RateLimited".into(),
                message: "You have exceeded our hourly quotas for action: resolve. We invite you to retry later.".into(),
                retry_after: retry_after.map(str::to_string),
            });
        }
    }

    /// The next request whose path contains `path_contains` is answered with `status`, the hub's
    /// error code `code` (`X-Error-Code`) and `message` (header and `{"error": ...}` body).
    pub fn fail_next(&self, path_contains: &str, status: u16, code: &str, message: &str) {
        lock(&self.shared.faults).errors.push(InjectedError {
            path_contains: path_contains.to_string(),
            status,
            code: code.to_string(),
            message: message.to_string(),
            retry_after: None,
        });
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<MockRequest> {
        lock(&self.shared.log).clone()
    }

    /// The commit the mock reports for `repo`.
    pub fn commit(&self, repo: &str) -> Option<String> {
        self.shared
            .repos
            .iter()
            .find(|r| r.id == repo)
            .map(|r| r.commit.clone())
    }

    /// The sha256 of `file` in `repo`.
    pub fn sha256(&self, repo: &str, file: &str) -> Option<String> {
        let r = self.shared.repos.iter().find(|r| r.id == repo)?;
        r.files
            .iter()
            .find(|f| f.name == file)
            .map(|f| f.sha256.clone())
    }
}

impl Drop for MockHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn load_repo(r: &MockRepo) -> std::io::Result<Repo> {
    let mut names = Vec::new();
    walk(&r.dir, &r.dir, &mut names)?;
    names.sort();
    let mut files = Vec::new();
    let mut meta = serde_json::json!({});
    let mut commit_hasher = sha1::Sha1::new();
    for name in names {
        let bytes = std::fs::read(r.dir.join(&name))?;
        if name == "mock.json" {
            meta = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
            continue;
        }
        let lfs = [".safetensors", ".gguf", ".bin"]
            .iter()
            .any(|ext| name.ends_with(ext));
        let sha256 = hex(&sha2::Sha256::digest(&bytes));
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {}\0", bytes.len()).as_bytes());
        h.update(&bytes);
        let blob_id = hex(&h.finalize());
        commit_hasher.update(name.as_bytes());
        commit_hasher.update(blob_id.as_bytes());
        files.push(File {
            name,
            bytes: Arc::new(bytes),
            lfs,
            sha256,
            blob_id,
        });
    }
    if let serde_json::Value::Object(m) = &mut meta {
        for (k, v) in &r.meta {
            m.insert(k.clone(), v.clone());
        }
    }
    Ok(Repo {
        id: r.id.clone(),
        commit: hex(&commit_hasher.finalize()),
        files,
        meta,
    })
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            walk(base, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        if lock(&shared.last_request).elapsed() > IDLE_LIMIT {
            return;
        }
        match listener.accept() {
            Ok((stream, _)) => {
                *lock(&shared.last_request) = Instant::now();
                let s = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &s);
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

struct Request {
    path: String,
    query: Vec<(String, String)>,
    headers: BTreeMap<String, String>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let (path, qs) = target.split_once('?').unwrap_or((&target, ""));
    let query = qs
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Ok(Request {
        path: decode(path),
        query,
        headers,
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hexpair = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hexpair.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Send only this many body bytes, then close (a dropped connection).
    cut_after: Option<u64>,
}

impl Response {
    fn json(status: u16, v: &serde_json::Value) -> Self {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: v.to_string().into_bytes(),
            cut_after: None,
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        let mut r = Response::json(status, &serde_json::json!({ "error": message }));
        r.headers.push(("X-Error-Code".into(), code.into()));
        r.headers.push(("X-Error-Message".into(), message.into()));
        r
    }
}

fn serve(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let req = read_request(&stream)?;
    let full = if req.query.is_empty() {
        req.path.clone()
    } else {
        format!(
            "{}?{}",
            req.path,
            req.query
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        )
    };
    lock(&shared.log).push(MockRequest {
        path: full,
        range: req.headers.get("range").cloned(),
        authorized: req.headers.contains_key("authorization"),
    });
    let injected = {
        let mut f = lock(&shared.faults);
        let i = f
            .errors
            .iter()
            .position(|e| req.path.contains(&e.path_contains));
        i.map(|i| f.errors.remove(i))
    };
    let resp = match injected {
        Some(e) => {
            let mut r = Response::error(e.status, &e.code, &e.message);
            if let Some(w) = e.retry_after {
                r.headers.push(("Retry-After".into(), w));
            }
            r
        }
        None => route(&req, shared),
    };
    let reason = match resp.status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        resp.status,
        reason,
        resp.body.len()
    );
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    match resp.cut_after {
        Some(n) => {
            let n = (n as usize).min(resp.body.len());
            stream.write_all(&resp.body[..n])?;
            stream.flush()?;
            // Closing both directions mid-body is what a dropped connection looks like to a client.
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        None => {
            stream.write_all(&resp.body)?;
            stream.flush()?;
        }
    }
    Ok(())
}

fn route(req: &Request, shared: &Shared) -> Response {
    let path = req.path.trim_start_matches('/');
    if path == "api/models" {
        return search(req, shared);
    }
    if let Some(rest) = path.strip_prefix("api/models/") {
        return repo_info(rest, req, shared);
    }
    if let Some(sha) = path.strip_prefix("lfs-store/") {
        let file = shared
            .repos
            .iter()
            .flat_map(|r| r.files.iter())
            .find(|f| f.sha256 == sha);
        return match file {
            Some(f) => serve_bytes(req, shared, f),
            None => Response::error(404, "EntryNotFound", "no such object"),
        };
    }
    // <owner>/<name>/resolve/<rev>/<file...>
    let parts: Vec<&str> = path.splitn(5, '/').collect();
    if parts.len() == 5 && parts[2] == "resolve" {
        let id = format!("{}/{}", parts[0], parts[1]);
        let Some(repo) = shared
            .repos
            .iter()
            .find(|r| r.id == id && visible(r, req, shared))
        else {
            return Response::error(401, "RepoNotFound", "Repository not found");
        };
        if parts[3] != "main" && parts[3] != repo.commit {
            return Response::error(404, "RevisionNotFound", "Invalid rev id");
        }
        if repo.meta.get("disabled").and_then(|d| d.as_bool()) == Some(true) {
            return Response::error(403, "DisabledRepo", "Access to this resource is disabled.");
        }
        if gated(repo) && !authorized(req, shared) {
            if req.headers.contains_key("authorization") {
                return Response::error(403, "GatedRepo", &format!("Access to model {} is restricted and you are not in the authorized list. Visit https://huggingface.co/{} to ask for access.", repo.id, repo.id));
            }
            return Response::error(401, "GatedRepo", "Access to this model is restricted. You must have access to it and be authenticated.");
        }
        let Some(file) = repo.files.iter().find(|f| f.name == parts[4]) else {
            return Response::error(404, "EntryNotFound", "Entry not found");
        };
        if file.lfs {
            return Response {
                status: 302,
                headers: vec![
                    ("Location".into(), format!("/lfs-store/{}", file.sha256)),
                    ("X-Repo-Commit".into(), repo.commit.clone()),
                    ("X-Linked-Etag".into(), format!("\"{}\"", file.sha256)),
                    ("X-Linked-Size".into(), file.bytes.len().to_string()),
                    ("ETag".into(), format!("\"{}\"", file.blob_id)),
                ],
                body: Vec::new(),
                cut_after: None,
            };
        }
        let mut r = serve_bytes(req, shared, file);
        r.headers
            .push(("ETag".into(), format!("\"{}\"", file.blob_id)));
        r.headers
            .push(("X-Repo-Commit".into(), repo.commit.clone()));
        return r;
    }
    Response::error(404, "NotFound", "not found")
}

fn gated(repo: &Repo) -> bool {
    !matches!(
        repo.meta.get("gated"),
        None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false))
    )
}

/// The hub's `gated` value: `false`, `"auto"` or `"manual"` (`true` in mock.json means manual).
fn gated_value(repo: &Repo) -> serde_json::Value {
    match repo.meta.get("gated") {
        Some(serde_json::Value::String(s)) => serde_json::json!(s),
        _ if gated(repo) => serde_json::json!("manual"),
        _ => serde_json::json!(false),
    }
}

/// A 24-hex database id, stable per repository (the hub's `_id` is a MongoDB ObjectId).
fn object_id(repo: &Repo) -> String {
    hex(&sha1::Sha1::digest(repo.id.as_bytes()))[..24].to_string()
}

/// The fields the hub sends for every model, in the list and in the info answer.
fn common_fields(r: &Repo) -> serde_json::Value {
    let meta = |k: &str| r.meta.get(k).cloned().unwrap_or(serde_json::Value::Null);
    let author = r.id.split('/').next().unwrap_or_default();
    let mut tags: Vec<serde_json::Value> = r
        .meta
        .get("tags")
        .and_then(|t| t.as_array())
        .cloned()
        .unwrap_or_default();
    if r.files.iter().any(|f| f.name.ends_with(".safetensors")) {
        tags.push(serde_json::json!("safetensors"));
    }
    if let Some(l) = r.meta.get("license").and_then(|l| l.as_str()) {
        tags.push(serde_json::json!(format!("license:{l}")));
    }
    let mut card =
        serde_json::json!({ "license": meta("license"), "library_name": meta("library_name") });
    if let Some(b) = r.meta.get("base_model") {
        card["base_model"] = b.clone();
    }
    serde_json::json!({
        "_id": object_id(r),
        "id": r.id,
        "modelId": r.id,
        "author": author,
        "sha": r.commit,
        "lastModified": "2026-01-01T00:00:00.000Z",
        "createdAt": "2024-03-02T23:29:05.000Z",
        "private": r.meta.get("private").and_then(|p| p.as_bool()).unwrap_or(false),
        "disabled": r.meta.get("disabled").and_then(|p| p.as_bool()).unwrap_or(false),
        "gated": gated_value(r),
        "pipeline_tag": meta("pipeline_tag"),
        "library_name": r.meta.get("library_name").cloned().unwrap_or(serde_json::json!("transformers")),
        "tags": tags,
        "downloads": r.meta.get("downloads").and_then(|d| d.as_u64()).unwrap_or(0),
        "likes": r.meta.get("likes").and_then(|d| d.as_u64()).unwrap_or(0),
        "trendingScore": 0,
        "cardData": card,
        "usedStorage": r.files.iter().map(|f| f.bytes.len() as u64).sum::<u64>(),
    })
}

/// The `config` excerpt and `safetensors` counts the hub derives from a repository's files.
fn derived_fields(r: &Repo, v: &mut serde_json::Value) {
    let config = r
        .files
        .iter()
        .find(|f| f.name == "config.json")
        .and_then(|f| serde_json::from_slice::<serde_json::Value>(&f.bytes).ok())
        .map(|c| serde_json::json!({ "architectures": c.get("architectures"), "model_type": c.get("model_type"), "tokenizer_config": {} }));
    let mut params: BTreeMap<String, u64> = BTreeMap::new();
    let mut any_safetensors = false;
    for f in r.files.iter().filter(|f| f.name.ends_with(".safetensors")) {
        any_safetensors = true;
        for (dtype, n) in safetensors_counts(&f.bytes) {
            *params.entry(dtype).or_default() += n;
        }
    }
    if let Some(c) = config {
        v["config"] = c;
        v["transformersInfo"] =
            serde_json::json!({ "auto_model": "AutoModel", "processor": "AutoTokenizer" });
    }
    if any_safetensors {
        v["safetensors"] =
            serde_json::json!({ "parameters": params, "total": params.values().sum::<u64>() });
    }
}

/// A private repository exists only for its token (the hub answers 401 RepoNotFound otherwise).
fn visible(repo: &Repo, req: &Request, shared: &Shared) -> bool {
    repo.meta.get("private").and_then(|p| p.as_bool()) != Some(true) || authorized(req, shared)
}

fn authorized(req: &Request, shared: &Shared) -> bool {
    match (&shared.token, req.headers.get("authorization")) {
        (Some(t), Some(h)) => h == &format!("Bearer {t}"),
        _ => false,
    }
}

fn serve_bytes(req: &Request, shared: &Shared, file: &File) -> Response {
    let mut body: Vec<u8> = file.bytes.as_ref().clone();
    let mut faults = lock(&shared.faults);
    if let Some(i) = faults.corrupt.iter().position(|c| c == &file.name) {
        faults.corrupt.remove(i);
        for b in body.iter_mut().step_by(7) {
            *b ^= 0x5a;
        }
    }
    let cut_after = faults.drop_after.remove(&file.name);
    drop(faults);
    let total = body.len() as u64;
    let mut status = 200;
    let mut headers = vec![("Accept-Ranges".to_string(), "bytes".to_string())];
    if let Some(range) = req.headers.get("range") {
        let spec = range.trim_start_matches("bytes=");
        let (start, end) = spec.split_once('-').unwrap_or((spec, ""));
        let start: u64 = start.parse().unwrap_or(0);
        let end: u64 = end
            .parse()
            .unwrap_or(total.saturating_sub(1))
            .min(total.saturating_sub(1));
        if start >= total {
            return Response {
                status: 416,
                headers: vec![("Content-Range".into(), format!("bytes */{total}"))],
                body: Vec::new(),
                cut_after: None,
            };
        }
        body = body[start as usize..=end as usize].to_vec();
        status = 206;
        headers.push((
            "Content-Range".into(),
            format!("bytes {start}-{end}/{total}"),
        ));
    }
    Response {
        status,
        headers,
        body,
        cut_after,
    }
}

fn repo_info(rest: &str, req: &Request, shared: &Shared) -> Response {
    // <owner>/<name>[/revision/<rev>]
    let parts: Vec<&str> = rest.splitn(4, '/').collect();
    if parts.len() < 2 {
        return Response::error(404, "NotFound", "not found");
    }
    let id = format!("{}/{}", parts[0], parts[1]);
    let Some(repo) = shared
        .repos
        .iter()
        .find(|r| r.id == id && visible(r, req, shared))
    else {
        return Response::error(401, "RepoNotFound", "Repository not found");
    };
    if parts.len() == 4 && parts[2] == "revision" && parts[3] != "main" && parts[3] != repo.commit {
        return Response::error(404, "RevisionNotFound", "Invalid rev id");
    }
    let siblings: Vec<serde_json::Value> = repo
        .files
        .iter()
        .map(|f| {
            let mut v = serde_json::json!({ "rfilename": f.name, "size": f.bytes.len(), "blobId": f.blob_id });
            if f.lfs {
                v["lfs"] = serde_json::json!({ "sha256": f.sha256, "size": f.bytes.len(), "pointerSize": 134 });
            }
            v
        })
        .collect();
    let mut v = common_fields(repo);
    derived_fields(repo, &mut v);
    v["siblings"] = serde_json::Value::Array(siblings);
    v["spaces"] = serde_json::json!([]);
    v["widgetData"] = serde_json::json!([{ "text": "Hello" }]);
    v["model-index"] = serde_json::Value::Null;
    v["mask_token"] = serde_json::Value::Null;
    v["inference"] = serde_json::json!("cold");
    v["securityRepoStatus"] = serde_json::json!({ "scansDone": true, "filesWithIssues": [] });
    Response::json(200, &v)
}

fn search(req: &Request, shared: &Shared) -> Response {
    let param = |k: &str| {
        req.query
            .iter()
            .find(|(q, _)| q == k)
            .map(|(_, v)| v.clone())
    };
    let needle = param("search").unwrap_or_default().to_ascii_lowercase();
    let filter = param("filter");
    let limit: usize = param("limit").and_then(|l| l.parse().ok()).unwrap_or(1000);
    let mut hits: Vec<&Repo> = shared
        .repos
        .iter()
        .filter(|r| r.id.to_ascii_lowercase().contains(&needle))
        .filter(|r| visible(r, req, shared))
        .filter(|r| match &filter {
            Some(f) => r.meta.get("pipeline_tag").and_then(|t| t.as_str()) == Some(f.as_str()),
            None => true,
        })
        .collect();
    let downloads = |r: &Repo| {
        r.meta
            .get("downloads")
            .and_then(|d| d.as_u64())
            .unwrap_or(0)
    };
    hits.sort_by_key(|r| std::cmp::Reverse(downloads(r)));
    hits.truncate(limit);
    let out: Vec<serde_json::Value> = hits.iter().map(|r| search_entry(r)).collect();
    Response::json(200, &serde_json::Value::Array(out))
}

/// A list entry: the hub's default fields (with `modelId` beside `id`), plus the derived
/// `config` and `safetensors` the client asks for with `expand`.
fn search_entry(r: &Repo) -> serde_json::Value {
    let mut v = common_fields(r);
    derived_fields(r, &mut v);
    v
}

/// Parameter counts per dtype from a safetensors file's header.
fn safetensors_counts(bytes: &[u8]) -> Vec<(String, u64)> {
    let Some(len) = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
    else {
        return Vec::new();
    };
    let Some(header) = bytes.get(8..8 + len as usize) else {
        return Vec::new();
    };
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(header)
    else {
        return Vec::new();
    };
    map.iter()
        .filter(|(k, _)| k.as_str() != "__metadata__")
        .filter_map(|(_, t)| {
            let dtype = t.get("dtype")?.as_str()?.to_string();
            let n = t
                .get("shape")?
                .as_array()?
                .iter()
                .map(|d| d.as_u64().unwrap_or(0))
                .product();
            Some((dtype, n))
        })
        .collect()
}

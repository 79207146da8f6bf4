//! Where a CI run comes from: a folder in the GitHub API's shapes, or the GitHub Actions
//! REST API through the guarded, address-pinned client of `http_request`.
//!
//! GitHub's JSON is read into private wire types here and nowhere else. Every GitHub
//! request is retried on a 5xx answer or a connection failure, at most
//! [`CI_FETCH_RETRIES`] times with a short backoff, within the call's time limit. The
//! token is sent only to the API origin (a redirect to another origin — the job logs'
//! blob storage — drops `Authorization`) and is replaced by `***` in every message.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rein_spec::Secret;
use rein_spec::spec::{CiLogSource, CiLogsSpec};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use super::clean::clean_log;
use crate::builtin::{CrossOriginHeaders, PreparedRequest, fetch_guarded};
use crate::{NetworkGuard, ToolError};

/// Retries of a GitHub request after a 5xx answer or a connection failure.
pub const CI_FETCH_RETRIES: usize = 3;
/// Wait before the first retry; doubled for each further retry.
const RETRY_BACKOFF_MS: u64 = 200;
/// Largest JSON answer read.
const MAX_JSON_BYTES: u64 = 8 * 1024 * 1024;
/// Largest log read; a longer one is cut (and says so).
const MAX_LOG_BYTES: u64 = 64 * 1024 * 1024;
/// Cleaned logs kept in memory, so a grep then a range of one job downloads it once.
const LOG_CACHE_ENTRIES: usize = 8;

/// `run.json`: GET /repos/{owner}/{repo}/actions/runs/{run_id}.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireRun {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) display_title: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) head_branch: Option<String>,
    pub(crate) head_sha: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) conclusion: Option<String>,
    pub(crate) run_attempt: Option<u64>,
    pub(crate) created_at: Option<String>,
    pub(crate) updated_at: Option<String>,
    pub(crate) html_url: Option<String>,
    pub(crate) repository: Option<WireRepository>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireRepository {
    pub(crate) full_name: Option<String>,
}

/// `jobs.json`: GET …/runs/{run_id}/jobs.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireJobs {
    pub(crate) total_count: Option<u64>,
    pub(crate) jobs: Vec<WireJob>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireJob {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) conclusion: Option<String>,
    pub(crate) started_at: Option<String>,
    pub(crate) completed_at: Option<String>,
    #[serde(default)]
    pub(crate) steps: Vec<WireStep>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireStep {
    pub(crate) name: Option<String>,
    pub(crate) conclusion: Option<String>,
}

/// A cleaned job log, and whether the download was cut.
#[derive(Debug)]
pub(crate) struct JobLog {
    pub(crate) lines: Vec<String>,
    pub(crate) cut_at_bytes: Option<u64>,
}

/// The configured source of one tool.
pub(crate) struct CiSource {
    /// The tool this source serves, for refusals.
    tool: String,
    kind: SourceKind,
    timeout: Duration,
    log_cache: Mutex<Vec<(u64, Arc<JobLog>)>>,
}

enum SourceKind {
    Folder(PathBuf),
    Github(GithubApi),
}

struct GithubApi {
    /// Without a trailing `/`.
    base_url: String,
    repo: String,
    /// `Debug` shows `***`; never in a URL, an action or a message.
    token: Option<Secret>,
}

impl std::fmt::Debug for CiSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            SourceKind::Folder(path) => f.debug_struct("CiSource").field("folder", path).finish(),
            SourceKind::Github(api) => f
                .debug_struct("CiSource")
                .field("base_url", &api.base_url)
                .field("repo", &api.repo)
                .field("token", &api.token.as_ref().map(|_| "***"))
                .finish(),
        }
    }
}

/// What a request is for, to word its errors.
#[derive(Debug, Clone, Copy)]
enum Subject {
    Run(u64),
    Jobs(u64),
    Log(u64),
}

impl CiSource {
    /// Checks `[tools.ci_logs]`: a folder that exists, or an http(s) `base_url` with a
    /// host and an `owner/repo`; a timeout above 0. `tool` names the tool in errors.
    pub(crate) fn new(tool: &str, spec: &CiLogsSpec) -> Result<CiSource, ToolError> {
        let declaration = |message: String| ToolError::InvalidDeclaration {
            tool: tool.to_owned(),
            message,
        };
        if spec.timeout.is_zero() {
            return Err(declaration(
                "[tools.ci_logs] timeout must be more than 0".to_owned(),
            ));
        }
        let kind = match &spec.source {
            CiLogSource::Folder { path } => {
                if !path.is_dir() {
                    return Err(declaration(format!(
                        "[tools.ci_logs] folder `{}` is not a folder (it should hold run.json, jobs.json and logs/)",
                        path.display()
                    )));
                }
                SourceKind::Folder(path.clone())
            }
            CiLogSource::Github {
                base_url,
                repo,
                token,
            } => {
                let base_url = base_url.trim_end_matches('/').to_owned();
                let url = Url::parse(&base_url).map_err(|error| {
                    declaration(format!(
                        "[tools.ci_logs] base_url `{base_url}` is not a URL: {error}"
                    ))
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(declaration(format!(
                        "[tools.ci_logs] base_url `{base_url}` must be an http:// or https:// URL with a host"
                    )));
                }
                let valid_part = |part: &str| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                };
                let parts: Vec<&str> = repo.split('/').collect();
                if parts.len() != 2 || !parts.iter().all(|part| valid_part(part)) {
                    return Err(declaration(format!(
                        "[tools.ci_logs] repo `{repo}` is not `owner/repo`"
                    )));
                }
                SourceKind::Github(GithubApi {
                    base_url,
                    repo: repo.clone(),
                    token: token.clone().filter(|token| !token.expose().is_empty()),
                })
            }
        };
        Ok(CiSource {
            tool: tool.to_owned(),
            kind,
            timeout: spec.timeout,
            log_cache: Mutex::new(Vec::new()),
        })
    }

    /// The URL a call fetches first (GitHub mode), for the policy; `None` for a folder.
    pub(crate) fn run_url(&self, run_id: &str) -> Option<String> {
        self.api()
            .map(|api| format!("{}/repos/{}/actions/runs/{run_id}", api.base_url, api.repo))
    }

    pub(crate) fn jobs_url(&self, run_id: &str) -> Option<String> {
        self.run_url(run_id)
            .map(|url| format!("{url}/jobs?per_page=100"))
    }

    pub(crate) fn log_url(&self, job_id: &str) -> Option<String> {
        self.api().map(|api| {
            format!(
                "{}/repos/{}/actions/jobs/{job_id}/logs",
                api.base_url, api.repo
            )
        })
    }

    fn api(&self) -> Option<&GithubApi> {
        match &self.kind {
            SourceKind::Github(api) => Some(api),
            SourceKind::Folder(_) => None,
        }
    }

    /// The repository the source names (`owner/repo`), when it knows one.
    pub(crate) fn repo(&self) -> Option<&str> {
        self.api().map(|api| api.repo.as_str())
    }

    pub(crate) async fn run(
        &self,
        run_id: u64,
        network: Option<&Arc<dyn NetworkGuard>>,
    ) -> Result<WireRun, ToolError> {
        match &self.kind {
            SourceKind::Folder(folder) => folder_run(folder, Some(run_id)).await,
            SourceKind::Github(api) => {
                let url = self.run_url(&run_id.to_string()).unwrap_or_default();
                let body = self.get(api, &url, Subject::Run(run_id), network).await?;
                parse_json(&body.bytes, &format!("run {run_id}"))
            }
        }
    }

    pub(crate) async fn jobs(
        &self,
        run_id: u64,
        network: Option<&Arc<dyn NetworkGuard>>,
    ) -> Result<WireJobs, ToolError> {
        match &self.kind {
            SourceKind::Folder(folder) => {
                folder_run(folder, Some(run_id)).await?;
                let path = folder.join("jobs.json");
                let bytes = read_file(&path).await?;
                parse_json(&bytes, &path.display().to_string())
            }
            SourceKind::Github(api) => {
                let url = self.jobs_url(&run_id.to_string()).unwrap_or_default();
                let body = self.get(api, &url, Subject::Jobs(run_id), network).await?;
                parse_json(&body.bytes, &format!("the jobs of run {run_id}"))
            }
        }
    }

    pub(crate) async fn log(
        &self,
        job_id: u64,
        network: Option<&Arc<dyn NetworkGuard>>,
    ) -> Result<Arc<JobLog>, ToolError> {
        if let Some(log) = self.cached(job_id) {
            return Ok(log);
        }
        let log = match &self.kind {
            SourceKind::Folder(folder) => {
                let path = folder.join("logs").join(format!("{job_id}.txt"));
                if !path.is_file() {
                    return Err(ToolError::InvalidInput {
                        message: missing_log_message(folder, job_id).await,
                    });
                }
                let bytes = read_file(&path).await?;
                JobLog {
                    lines: clean_log(&String::from_utf8_lossy(&bytes)),
                    cut_at_bytes: None,
                }
            }
            SourceKind::Github(api) => {
                let url = self.log_url(&job_id.to_string()).unwrap_or_default();
                let body = self.get(api, &url, Subject::Log(job_id), network).await?;
                JobLog {
                    lines: clean_log(&String::from_utf8_lossy(&body.bytes)),
                    cut_at_bytes: body.cut_at,
                }
            }
        };
        let log = Arc::new(log);
        if let Ok(mut cache) = self.log_cache.lock() {
            if cache.len() >= LOG_CACHE_ENTRIES {
                cache.remove(0);
            }
            cache.push((job_id, Arc::clone(&log)));
        }
        Ok(log)
    }

    fn cached(&self, job_id: u64) -> Option<Arc<JobLog>> {
        let cache = self.log_cache.lock().ok()?;
        cache
            .iter()
            .find(|(id, _)| *id == job_id)
            .map(|(_, log)| Arc::clone(log))
    }

    /// GET `url` with GitHub's headers, retried on 5xx and connection failures; a non-2xx
    /// final answer becomes an error worded for `subject`.
    async fn get(
        &self,
        api: &GithubApi,
        url: &str,
        subject: Subject,
        network: Option<&Arc<dyn NetworkGuard>>,
    ) -> Result<Body, ToolError> {
        let deadline = Instant::now() + self.timeout;
        let max_bytes = match subject {
            Subject::Log(_) => MAX_LOG_BYTES,
            Subject::Run(_) | Subject::Jobs(_) => MAX_JSON_BYTES,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(fail(format!(
                    "cannot fetch {}: no time left after {} attempt(s) within {} ms",
                    subject.describe(&api.repo),
                    attempt - 1,
                    self.timeout.as_millis()
                )));
            }
            let request = PreparedRequest {
                method: Method::GET,
                url_text: url.to_owned(),
                headers: api.headers()?,
                body: None,
                timeout: remaining,
                max_bytes,
                cross_origin: CrossOriginHeaders::Credentials,
            };
            let retries_left = attempt <= CI_FETCH_RETRIES;
            match fetch_guarded(&self.tool, request, network).await {
                Ok(fetched) if fetched.status.is_server_error() && retries_left => {}
                Ok(fetched) if fetched.status.is_success() => {
                    return Ok(Body {
                        bytes: fetched.body,
                        cut_at: fetched.cut_at,
                    });
                }
                Ok(fetched) => {
                    let message = status_message(
                        subject,
                        api,
                        fetched.status,
                        &fetched.headers,
                        &fetched.body,
                    );
                    let attempts = if attempt > 1 {
                        format!(" (after {attempt} attempts)")
                    } else {
                        String::new()
                    };
                    return Err(fail(api.redact(&format!("{message}{attempts}"))));
                }
                Err(ToolError::Io { .. }) if retries_left && Instant::now() < deadline => {}
                Err(error) => {
                    let hint = match (subject, &error) {
                        (Subject::Log(_), ToolError::InvalidInput { .. }) => {
                            "\nhint: GitHub answers the logs request with a redirect to its log storage (e.g. `*.blob.core.windows.net`, `*.actions.githubusercontent.com`); that host must be allowed by the network rules too"
                        }
                        _ => "",
                    };
                    let attempts = if attempt > 1 {
                        format!(" (after {attempt} attempts)")
                    } else {
                        String::new()
                    };
                    return Err(fail(api.redact(&format!(
                        "cannot fetch {}{attempts}: {error}{hint}",
                        subject.describe(&api.repo)
                    ))));
                }
            }
            let backoff_ms = RETRY_BACKOFF_MS << (attempt - 1).min(4);
            let backoff = Duration::from_millis(backoff_ms)
                .min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(backoff).await;
        }
    }
}

struct Body {
    bytes: Vec<u8>,
    cut_at: Option<u64>,
}

impl Subject {
    fn describe(self, repo: &str) -> String {
        match self {
            Subject::Run(id) => format!("run {id} of {repo}"),
            Subject::Jobs(id) => format!("the jobs of run {id} of {repo}"),
            Subject::Log(id) => format!("the log of job {id} of {repo}"),
        }
    }
}

impl GithubApi {
    fn headers(&self) -> Result<HeaderMap, ToolError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static("2022-11-28"),
        );
        headers.insert(
            reqwest::header::USER_AGENT,
            HeaderValue::from_static(concat!("rein/", env!("CARGO_PKG_VERSION"))),
        );
        if let Some(token) = &self.token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                .map_err(|_| {
                    fail("the GitHub token holds characters a header cannot carry (its value is a secret and not shown)".to_owned())
                })?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        Ok(headers)
    }

    /// `text` with the token and the query of every URL (the log storage's signed
    /// query) replaced by `***`.
    fn redact(&self, text: &str) -> String {
        let mut out = redact_url_queries(text);
        if let Some(token) = &self.token {
            out = out.replace(token.expose(), "***");
        }
        out
    }
}

fn fail(message: String) -> ToolError {
    ToolError::InvalidInput { message }
}

/// Replaces the query of every `http://` or `https://` URL in `text` with `***`.
fn redact_url_queries(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = [rest.find("http://"), rest.find("https://")]
        .into_iter()
        .flatten()
        .min()
    {
        out.push_str(&rest[..start]);
        let url_part = &rest[start..];
        let end = url_part
            .find(|c: char| c.is_whitespace() || matches!(c, '`' | '"' | '\'' | '>' | ')'))
            .unwrap_or(url_part.len());
        let url = &url_part[..end];
        match url.find('?') {
            Some(query_at) => {
                out.push_str(&url[..=query_at]);
                out.push_str("***");
            }
            None => out.push_str(url),
        }
        rest = &url_part[end..];
    }
    out.push_str(rest);
    out
}

/// The error for a final non-2xx answer: what it means and what to do.
fn status_message(
    subject: Subject,
    api: &GithubApi,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> String {
    let what = subject.describe(&api.repo);
    let said = github_message(body)
        .map(|message| format!(" (GitHub says: {message})"))
        .unwrap_or_default();
    let rate_limited = headers
        .get("x-ratelimit-remaining")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim() == "0");
    match status.as_u16() {
        401 => format!(
            "cannot fetch {what}: GitHub answered {status}{said}: the token is missing, invalid or expired\nhint: set the token of [tools.ci_logs] (e.g. `${{secret:GITHUB_TOKEN}}`) to a valid token"
        ),
        403 | 429 if rate_limited || status.as_u16() == 429 => format!(
            "cannot fetch {what}: GitHub answered {status}{said}: the API rate limit is reached\nhint: use a token (higher limit) or wait until the limit resets"
        ),
        403 => format!(
            "cannot fetch {what}: GitHub answered {status}{said}: the token may not read Actions data of {}\nhint: the token needs the permission `actions:read` (in a workflow: `permissions: actions: read`)",
            api.repo
        ),
        404 => match subject {
            Subject::Log(id) => format!(
                "cannot fetch {what}: GitHub answered {status}{said}: no job {id} in {}, or the token cannot see the repository\nhint: take job ids from list_jobs",
                api.repo
            ),
            Subject::Run(id) | Subject::Jobs(id) => format!(
                "cannot fetch {what}: GitHub answered {status}{said}: the repository {} or the run {id} does not exist, or the token cannot see it (private repositories answer 404 without access)",
                api.repo
            ),
        },
        410 => format!(
            "cannot fetch {what}: GitHub answered {status}{said}: the logs have expired or were deleted (GitHub keeps them 90 days by default)"
        ),
        _ => format!("cannot fetch {what}: GitHub answered {status}{said}"),
    }
}

/// The `message` of a GitHub error body, short and on one line.
fn github_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: Option<String>,
    }
    let message = serde_json::from_slice::<ErrorBody>(body).ok()?.message?;
    let message: String = message
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    (!message.is_empty()).then_some(message)
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ToolError> {
    serde_json::from_slice(bytes)
        .map_err(|error| fail(format!("{what} is not in the GitHub API's shape: {error}")))
}

async fn read_file(path: &Path) -> Result<Vec<u8>, ToolError> {
    let display = path.display().to_string();
    tokio::fs::read(path)
        .await
        .map_err(ToolError::io("read", &display))
}

/// `run.json` of a folder; with `run_id`, an error unless it is that run.
async fn folder_run(folder: &Path, run_id: Option<u64>) -> Result<WireRun, ToolError> {
    let path = folder.join("run.json");
    let bytes = read_file(&path).await?;
    let run: WireRun = parse_json(&bytes, &path.display().to_string())?;
    if let Some(run_id) = run_id
        && run.id != run_id
    {
        return Err(fail(format!(
            "run {run_id} is not in the log folder `{}`; it holds run {} only",
            folder.display(),
            run.id
        )));
    }
    Ok(run)
}

/// Why a job has no log in the folder, naming the jobs that have one.
async fn missing_log_message(folder: &Path, job_id: u64) -> String {
    let logs = folder.join("logs");
    let mut ids: Vec<u64> = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(&logs).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name();
            if let Some(id) = name
                .to_str()
                .and_then(|name| name.strip_suffix(".txt"))
                .and_then(|id| id.parse::<u64>().ok())
            {
                ids.push(id);
            }
        }
    }
    ids.sort_unstable();
    if ids.is_empty() {
        return format!(
            "no log for job {job_id}: `{}` holds no <job_id>.txt files",
            logs.display()
        );
    }
    let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
    format!(
        "no log for job {job_id} in `{}`; logs exist for jobs: {}\nhint: take job ids from list_jobs",
        logs.display(),
        ids.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_queries_are_hidden() {
        assert_eq!(
            redact_url_queries(
                "cannot fetch `http://127.0.0.1:9/logs/1.txt?sig=SECRET&se=1`: refused, see https://x.example/?a=1 and http://y/z"
            ),
            "cannot fetch `http://127.0.0.1:9/logs/1.txt?***`: refused, see https://x.example/?*** and http://y/z"
        );
    }

    #[test]
    fn github_messages_are_short_single_lines() {
        assert_eq!(
            github_message(br#"{"message": "Bad\n credentials", "documentation_url": "x"}"#),
            Some("Bad credentials".to_owned())
        );
        assert_eq!(github_message(b"<html>"), None);
    }
}

//! A fake GitHub Actions REST API for tests, serving a fixtures folder in the real API's
//! shapes, on 127.0.0.1 (port 0), on its own thread and tokio runtime.
//!
//! The fixtures folder holds `run.json` (what `GET /repos/{owner}/{repo}/actions/runs/{id}`
//! answers), `jobs.json` (`GET …/runs/{id}/jobs`: `{total_count, jobs: [...]}`) and
//! `logs/<job_id>.txt` (a raw job log). Files are read at each request, so a test may
//! change them while the server runs.
//!
//! Like the real API:
//! - `GET /repos/{owner}/{repo}/actions/runs/{run_id}` answers `run.json` when `run_id` is
//!   its `id` (and `owner/repo` its `repository.full_name`, when it has one), else 404;
//! - `GET …/actions/runs/{run_id}/jobs` answers `jobs.json` under the same condition;
//! - `GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs` answers `302 Found` with a
//!   `Location` on a **second listener** ([`FakeGithub::blob_url`], another port, so another
//!   origin — it stands for GitHub's blob storage) with a signed-looking query; the blob
//!   listener serves the log as `text/plain`;
//! - a request without a `User-Agent` gets 403, and with a token configured
//!   ([`FakeGithub::start_with_token`]) an API request without `Authorization: Bearer
//!   <token>` gets 401 `Bad credentials` (error bodies are GitHub's `{"message", …}`).
//!
//! The blob listener refuses (403) any request that carries an `Authorization` header and
//! records it ([`FakeGithub::blob_saw_authorization`]): a client must not send the API
//! token to the storage origin. Faults: [`FakeGithub::fail_next`] makes the next N
//! requests to a path answer 500 (or another status) before it succeeds. Every request to
//! either listener is recorded ([`FakeGithub::requests`]).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::error::TestkitError;
use crate::http::{self, AfterResponse, HttpRequest, ReadError};

/// Which listener a request reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GithubOrigin {
    /// The REST API ([`FakeGithub::url`]).
    Api,
    /// The log storage the logs endpoint redirects to ([`FakeGithub::blob_url`]).
    Blob,
}

/// One request the fake received, and the status it answered.
#[derive(Debug, Clone)]
pub struct GithubRequest {
    pub origin: GithubOrigin,
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// Header names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub status: u16,
}

impl GithubRequest {
    /// The first header with this name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug)]
struct FakeState {
    fixtures_dir: PathBuf,
    token: Option<String>,
    blob_url: String,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: Vec<GithubRequest>,
    /// Path → statuses still to answer before the real answer.
    faults: BTreeMap<String, Vec<u16>>,
    blob_saw_authorization: bool,
}

/// The fake API; dropping it stops both listeners and joins the thread.
pub struct FakeGithub {
    api_addr: SocketAddr,
    blob_addr: SocketAddr,
    state: Arc<FakeState>,
    shutdown_tx: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeGithub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGithub")
            .field("api_addr", &self.api_addr)
            .field("blob_addr", &self.blob_addr)
            .finish_non_exhaustive()
    }
}

impl FakeGithub {
    /// Serve `fixtures_dir` without requiring a token (a public repository).
    pub fn start(fixtures_dir: &Path) -> Result<FakeGithub, TestkitError> {
        Self::launch(fixtures_dir, None)
    }

    /// Serve `fixtures_dir`; API requests must carry `Authorization: Bearer <token>`.
    pub fn start_with_token(fixtures_dir: &Path, token: &str) -> Result<FakeGithub, TestkitError> {
        Self::launch(fixtures_dir, Some(token.to_owned()))
    }

    fn launch(fixtures_dir: &Path, token: Option<String>) -> Result<FakeGithub, TestkitError> {
        if !fixtures_dir.join("run.json").is_file() {
            return Err(TestkitError::GithubFixtures {
                path: fixtures_dir.to_path_buf(),
                message: "it has no run.json".to_owned(),
            });
        }
        let std_listener = |what: &'static str| {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            let listener = std::net::TcpListener::bind(addr)
                .map_err(|source| TestkitError::Bind { addr, source })?;
            listener
                .set_nonblocking(true)
                .map_err(|source| TestkitError::GithubListener { what, source })?;
            let local = listener
                .local_addr()
                .map_err(|source| TestkitError::LocalAddr { source })?;
            Ok::<_, TestkitError>((listener, local))
        };
        let (api_listener, api_addr) = std_listener("api")?;
        let (blob_listener, blob_addr) = std_listener("blob")?;
        let state = Arc::new(FakeState {
            fixtures_dir: fixtures_dir.to_path_buf(),
            token,
            blob_url: format!("http://{blob_addr}"),
            inner: Mutex::new(Inner::default()),
        });
        let thread_state = Arc::clone(&state);
        let ((), shutdown_tx, thread) = crate::server::spawn_server_thread(
            "rein-fake-github",
            move |ready, shutdown| async move {
                let listeners = TcpListener::from_std(api_listener)
                    .and_then(|api| TcpListener::from_std(blob_listener).map(|blob| (api, blob)));
                let (api, blob) = match listeners {
                    Ok(listeners) => listeners,
                    Err(source) => {
                        let _ = ready.send(Err(TestkitError::GithubListener {
                            what: "api and blob",
                            source,
                        }));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                accept_loop(api, blob, thread_state, shutdown).await;
            },
        )?;
        Ok(FakeGithub {
            api_addr,
            blob_addr,
            state,
            shutdown_tx: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// The API root, `http://127.0.0.1:PORT` (what `base_url` is set to).
    pub fn url(&self) -> String {
        format!("http://{}", self.api_addr)
    }

    /// The log storage root, `http://127.0.0.1:OTHER_PORT`.
    pub fn blob_url(&self) -> String {
        self.state.blob_url.clone()
    }

    /// Every request received so far by either listener, in order.
    pub fn requests(&self) -> Vec<GithubRequest> {
        self.state
            .inner
            .lock()
            .map(|inner| inner.requests.clone())
            .unwrap_or_default()
    }

    /// Whether any request to the blob listener carried an `Authorization` header.
    pub fn blob_saw_authorization(&self) -> bool {
        self.state
            .inner
            .lock()
            .map(|inner| inner.blob_saw_authorization)
            .unwrap_or(true)
    }

    /// The next `times` requests to `path` (no query; on either listener) answer 500
    /// before the path answers normally again.
    pub fn fail_next(&self, path: &str, times: usize) {
        self.fail_next_with(path, 500, times);
    }

    /// The next `times` requests to `path` answer `status` (with a GitHub error body).
    pub fn fail_next_with(&self, path: &str, status: u16, times: usize) {
        if let Ok(mut inner) = self.state.inner.lock() {
            inner
                .faults
                .entry(path.to_owned())
                .or_default()
                .extend(std::iter::repeat_n(status, times));
        }
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        if let Some(shutdown_tx) = self.shutdown_tx.take() {
            let _ = shutdown_tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    api: TcpListener,
    blob: TcpListener,
    state: Arc<FakeState>,
    mut shutdown_rx: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown_rx => break,
            accepted = api.accept() => if let Ok((stream, _)) = accepted {
                connections.spawn(serve_connection(stream, GithubOrigin::Api, Arc::clone(&state)));
            },
            accepted = blob.accept() => if let Ok((stream, _)) = accepted {
                connections.spawn(serve_connection(stream, GithubOrigin::Blob, Arc::clone(&state)));
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// One answer: status, headers, body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(status: u16, body: &[u8]) -> Answer {
        Answer {
            status,
            headers: vec![(
                "content-type".to_owned(),
                "application/json; charset=utf-8".to_owned(),
            )],
            body: body.to_vec(),
        }
    }

    fn error(status: u16, message: &str) -> Answer {
        let body = serde_json::json!({
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": status.to_string(),
        });
        Answer::json(status, body.to_string().as_bytes())
    }
}

async fn serve_connection(stream: TcpStream, origin: GithubOrigin, state: Arc<FakeState>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    loop {
        let request = match http::read_request(&mut reader).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(ReadError::Io) => return,
            Err(ReadError::Malformed(message)) => {
                let answer = Answer::error(400, &format!("malformed HTTP request: {message}"));
                let _ = http::write_body_response(
                    reader.get_mut(),
                    answer.status,
                    &answer.headers,
                    &answer.body,
                    false,
                    None,
                )
                .await;
                return;
            }
        };
        let answer = answer(&state, origin, &request).await;
        if let Ok(mut inner) = state.inner.lock() {
            inner.requests.push(GithubRequest {
                origin,
                method: request.method.clone(),
                path: request.path.clone(),
                headers: request.headers.clone(),
                status: answer.status,
            });
        }
        let written = http::write_body_response(
            reader.get_mut(),
            answer.status,
            &answer.headers,
            &answer.body,
            request.keep_alive,
            None,
        )
        .await;
        match written {
            Ok(AfterResponse::KeepOpen) => continue,
            Ok(AfterResponse::Close) | Err(_) => return,
        }
    }
}

async fn answer(state: &FakeState, origin: GithubOrigin, request: &HttpRequest) -> Answer {
    let fault = state.inner.lock().ok().and_then(|mut inner| {
        let statuses = inner.faults.get_mut(&request.path)?;
        (!statuses.is_empty()).then(|| statuses.remove(0))
    });
    if let Some(status) = fault {
        return Answer::error(status, "Server Error (injected by the fake)");
    }
    match origin {
        GithubOrigin::Api => answer_api(state, request).await,
        GithubOrigin::Blob => answer_blob(state, request).await,
    }
}

async fn answer_api(state: &FakeState, request: &HttpRequest) -> Answer {
    if request.header("user-agent").is_none_or(str::is_empty) {
        return Answer::error(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        );
    }
    if let Some(token) = &state.token {
        let given = request.header("authorization");
        if given.is_none() {
            return Answer::error(401, "Requires authentication");
        }
        let expected_bearer = format!("Bearer {token}");
        let expected_token = format!("token {token}");
        if given != Some(expected_bearer.as_str()) && given != Some(expected_token.as_str()) {
            return Answer::error(401, "Bad credentials");
        }
    }
    if request.method != "GET" {
        return Answer::error(404, "Not Found");
    }
    let parts: Vec<&str> = request.path.split('/').collect();
    let route = match parts.as_slice() {
        ["", "repos", owner, repo, "actions", "runs", run_id] => {
            Route::Run(format!("{owner}/{repo}"), run_id.to_string())
        }
        ["", "repos", owner, repo, "actions", "runs", run_id, "jobs"] => {
            Route::Jobs(format!("{owner}/{repo}"), run_id.to_string())
        }
        ["", "repos", owner, repo, "actions", "jobs", job_id, "logs"] => {
            Route::Logs(format!("{owner}/{repo}"), job_id.to_string())
        }
        _ => return Answer::error(404, "Not Found"),
    };
    let run_bytes = match tokio::fs::read(state.fixtures_dir.join("run.json")).await {
        Ok(bytes) => bytes,
        Err(error) => return Answer::error(500, &format!("fake: cannot read run.json: {error}")),
    };
    let run: serde_json::Value = serde_json::from_slice(&run_bytes).unwrap_or_default();
    let full_name = run
        .pointer("/repository/full_name")
        .and_then(serde_json::Value::as_str);
    let repo_matches = |repo: &str| full_name.is_none_or(|name| name.eq_ignore_ascii_case(repo));
    let run_matches = |run_id: &str| {
        run.get("id")
            .and_then(serde_json::Value::as_u64)
            .is_some_and(|id| id.to_string() == run_id)
    };
    match route {
        Route::Run(repo, run_id) if repo_matches(&repo) && run_matches(&run_id) => {
            Answer::json(200, &run_bytes)
        }
        Route::Jobs(repo, run_id) if repo_matches(&repo) && run_matches(&run_id) => {
            match tokio::fs::read(state.fixtures_dir.join("jobs.json")).await {
                Ok(bytes) => Answer::json(200, &bytes),
                Err(_) => Answer::error(404, "Not Found"),
            }
        }
        Route::Logs(repo, job_id) if repo_matches(&repo) && is_id(&job_id) => {
            if !log_path(state, &job_id).is_file() {
                return Answer::error(404, "Not Found");
            }
            Answer {
                status: 302,
                headers: vec![(
                    "location".to_owned(),
                    format!(
                        "{}/job-logs/{job_id}.txt?sv=2021-12-02&se=2099-01-01T00%3A00%3A00Z&sp=r&sig=FakeSignature",
                        state.blob_url
                    ),
                )],
                body: Vec::new(),
            }
        }
        _ => Answer::error(404, "Not Found"),
    }
}

enum Route {
    Run(String, String),
    Jobs(String, String),
    Logs(String, String),
}

fn is_id(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn log_path(state: &FakeState, job_id: &str) -> PathBuf {
    state
        .fixtures_dir
        .join("logs")
        .join(format!("{job_id}.txt"))
}

async fn answer_blob(state: &FakeState, request: &HttpRequest) -> Answer {
    if request.header("authorization").is_some() {
        if let Ok(mut inner) = state.inner.lock() {
            inner.blob_saw_authorization = true;
        }
        return Answer {
            status: 403,
            headers: vec![("content-type".to_owned(), "application/xml".to_owned())],
            body: b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>InvalidAuthenticationInfo</Code><Message>the fake blob storage refuses an Authorization header: the API token must not be sent here</Message></Error>".to_vec(),
        };
    }
    let job_id = request
        .path
        .strip_prefix("/job-logs/")
        .and_then(|rest| rest.strip_suffix(".txt"))
        .filter(|id| is_id(id));
    let Some(job_id) = job_id else {
        return Answer::error(404, "BlobNotFound");
    };
    match tokio::fs::read(log_path(state, job_id)).await {
        Ok(bytes) => Answer {
            status: 200,
            headers: vec![("content-type".to_owned(), "text/plain".to_owned())],
            body: bytes,
        },
        Err(_) => Answer::error(404, "BlobNotFound"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_run_json_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = FakeGithub::start(dir.path()).unwrap_err().to_string();
        assert!(error.contains("has no run.json"), "{error}");
    }

    #[tokio::test]
    async fn runs_jobs_and_redirected_logs_are_served_like_github() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("run.json"),
            r#"{"id": 7, "repository": {"full_name": "acme/app"}}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("jobs.json"),
            r#"{"total_count": 0, "jobs": []}"#,
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/11.txt"), "2024-05-01T00:00:00Z hi\n").unwrap();
        let fake = FakeGithub::start_with_token(dir.path(), "tok").unwrap();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let get = |path: &str, token: Option<&str>| {
            let mut builder = client
                .get(format!("{}{path}", fake.url()))
                .header("user-agent", "test");
            if let Some(token) = token {
                builder = builder.bearer_auth(token);
            }
            builder.send()
        };
        let run = get("/repos/acme/app/actions/runs/7", Some("tok"))
            .await
            .unwrap();
        assert_eq!(run.status(), 200);
        let missing = get("/repos/acme/app/actions/runs/8", Some("tok"))
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        let other_repo = get("/repos/acme/other/actions/runs/7", Some("tok"))
            .await
            .unwrap();
        assert_eq!(other_repo.status(), 404);
        let no_token = get("/repos/acme/app/actions/runs/7", None).await.unwrap();
        assert_eq!(no_token.status(), 401);
        let jobs = get("/repos/acme/app/actions/runs/7/jobs", Some("tok"))
            .await
            .unwrap();
        assert_eq!(
            jobs.text().await.unwrap(),
            r#"{"total_count": 0, "jobs": []}"#
        );

        let logs = get("/repos/acme/app/actions/jobs/11/logs", Some("tok"))
            .await
            .unwrap();
        assert_eq!(logs.status(), 302);
        let location = logs.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with(&format!("{}/job-logs/11.txt?", fake.blob_url())));
        let with_auth = client
            .get(&location)
            .bearer_auth("tok")
            .send()
            .await
            .unwrap();
        assert_eq!(with_auth.status(), 403);
        assert!(fake.blob_saw_authorization());
        let blob = client.get(&location).send().await.unwrap();
        assert_eq!(blob.text().await.unwrap(), "2024-05-01T00:00:00Z hi\n");

        fake.fail_next("/repos/acme/app/actions/runs/7", 2);
        for expected in [500, 500, 200] {
            let answer = get("/repos/acme/app/actions/runs/7", Some("tok"))
                .await
                .unwrap();
            assert_eq!(answer.status(), expected);
        }
        let origins: Vec<GithubOrigin> = fake.requests().iter().map(|r| r.origin).collect();
        assert_eq!(
            origins.iter().filter(|o| **o == GithubOrigin::Blob).count(),
            2
        );
        assert_eq!(fake.requests().len(), 11);
    }
}

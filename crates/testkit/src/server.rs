//! The mock LLM server: a tokio accept loop, one task per connection, keep-alive.
//!
//! [`MockLlm`] runs on the caller's tokio runtime; [`MockLlmThread`] runs the same server on
//! its own thread and runtime, for blocking tests (e.g. `assert_cmd` runs of the `rein`
//! binary) and stops when dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rein_model::script::Script;
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::error::TestkitError;
use crate::handler::{MockState, RecordedRequest, Reply};
use crate::http::{self, AfterResponse, ReadError};

/// A scripted mock LLM server on the current tokio runtime. Dropping it stops it (without
/// waiting); [`MockLlm::shutdown`] stops it and waits until every connection is closed.
///
/// ```no_run
/// # async fn demo() -> Result<(), rein_testkit::TestkitError> {
/// use rein_model::script::{Script, Turn};
/// let script = Script { turns: vec![Turn { text: "hi".into(), ..Turn::default() }] };
/// let mock = rein_testkit::MockLlm::start_loopback(script).await?;
/// let base_url = mock.openai_base_url(); // give this to the client under test
/// // … run the client …
/// assert_eq!(mock.requests().len(), 1);
/// mock.shutdown().await;
/// # Ok(()) }
/// ```
pub struct MockLlm {
    local_addr: SocketAddr,
    state: Arc<MockState>,
    shutdown_tx: Option<oneshot::Sender<()>>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MockLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockLlm")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl MockLlm {
    /// Bind `addr` (port 0 picks a free port) and serve `script`.
    pub async fn start(script: Script, addr: SocketAddr) -> Result<MockLlm, TestkitError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| TestkitError::Bind { addr, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| TestkitError::LocalAddr { source })?;
        let state = Arc::new(MockState::new(script));
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&state), shutdown_rx));
        Ok(MockLlm {
            local_addr,
            state,
            shutdown_tx: Some(shutdown_tx),
            accept_task,
        })
    }

    /// Serve `script` on `127.0.0.1`, on a free port.
    pub async fn start_loopback(script: Script) -> Result<MockLlm, TestkitError> {
        Self::start(script, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Load a script file ([`Script::load`]: JSON when it ends in `.json`, TOML otherwise)
    /// and serve it on `addr`.
    pub async fn start_from_file(path: &Path, addr: SocketAddr) -> Result<MockLlm, TestkitError> {
        let script = Script::load(path)?;
        Self::start(script, addr).await
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://IP:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The base URL an OpenAI client uses: `url() + "/v1"`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The base URL an Anthropic client uses: `url()` (it appends `/v1/messages`).
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// Every request received so far (except `/__mock/` ones), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// Stop accepting, close every connection, and wait until the server is gone.
    pub async fn shutdown(mut self) {
        if let Some(shutdown_tx) = self.shutdown_tx.take() {
            let _ = shutdown_tx.send(());
        }
        let _ = (&mut self.accept_task).await;
    }

    /// Serve until the task awaiting this is cancelled (e.g. by `tokio::select!` with a
    /// Ctrl-C future); the server stops when the future is dropped.
    pub async fn serve_forever(mut self) {
        let _ = (&mut self.accept_task).await;
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<MockState>,
    mut shutdown_rx: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown_rx => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&state)));
                }
                // Out of file descriptors or a connection reset before accept: try again.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, state: Arc<MockState>) {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream);
    loop {
        let request = match http::read_request(&mut reader).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(ReadError::Io) => return,
            Err(ReadError::Malformed(message)) => {
                let body = serde_json::json!({
                    "error": {
                        "message": format!("malformed HTTP request: {message}"),
                        "type": "invalid_request_error",
                    }
                });
                let headers = [("content-type".to_string(), "application/json".to_string())];
                let _ = http::write_body_response(
                    reader.get_mut(),
                    400,
                    &headers,
                    body.to_string().as_bytes(),
                    false,
                    None,
                )
                .await;
                return;
            }
        };
        let planned = state.handle(&request);
        if planned.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(planned.delay_ms)).await;
        }
        let writer = reader.get_mut();
        let written = match &planned.reply {
            Reply::Body {
                status,
                headers,
                body,
                cut_after_bytes,
            } => {
                http::write_body_response(
                    writer,
                    *status,
                    headers,
                    body,
                    request.keep_alive,
                    *cut_after_bytes,
                )
                .await
            }
            Reply::EventStream {
                headers,
                events,
                cut_after_bytes,
            } => {
                http::write_event_stream(
                    writer,
                    headers,
                    events,
                    request.keep_alive,
                    *cut_after_bytes,
                )
                .await
            }
        };
        match written {
            Ok(AfterResponse::KeepOpen) => continue,
            Ok(AfterResponse::Close) | Err(_) => return,
        }
    }
}

/// A [`MockLlm`] on its own thread with its own tokio runtime, for tests that block (the
/// server keeps answering while the test thread waits on a child process). Dropping it
/// stops the server and joins the thread.
pub struct MockLlmThread {
    local_addr: SocketAddr,
    state: Arc<MockState>,
    shutdown_tx: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for MockLlmThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockLlmThread")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl MockLlmThread {
    /// Start a server thread that binds `addr` and serves `script`; returns once it listens.
    pub fn start(script: Script, addr: SocketAddr) -> Result<MockLlmThread, TestkitError> {
        let ((local_addr, state), shutdown_tx, thread) =
            spawn_server_thread("rein-mock-llm", move |ready, shutdown| async move {
                match MockLlm::start(script, addr).await {
                    Ok(mock) => {
                        let _ = ready.send(Ok((mock.local_addr, Arc::clone(&mock.state))));
                        let _ = shutdown.await;
                        mock.shutdown().await;
                    }
                    Err(err) => {
                        let _ = ready.send(Err(err));
                    }
                }
            })?;
        Ok(MockLlmThread {
            local_addr,
            state,
            shutdown_tx: Some(shutdown_tx),
            thread: Some(thread),
        })
    }

    /// Serve `script` on `127.0.0.1`, on a free port.
    pub fn start_loopback(script: Script) -> Result<MockLlmThread, TestkitError> {
        Self::start(script, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://IP:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// `url() + "/v1"`.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// `url()`.
    pub fn anthropic_base_url(&self) -> String {
        self.url()
    }

    /// Every request received so far (except `/__mock/` ones), in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// Stop the server and join its thread (dropping does the same).
    pub fn shutdown(self) {}
}

impl Drop for MockLlmThread {
    fn drop(&mut self) {
        if let Some(shutdown_tx) = self.shutdown_tx.take() {
            let _ = shutdown_tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a server thread reports once it listens (or why it could not).
pub(crate) type Ready<T> = std::sync::mpsc::Sender<Result<T, TestkitError>>;

/// Run a server on its own thread with its own current-thread runtime, so blocking tests
/// can use it. `serve` reports through `ready` once it listens, then serves until the
/// shutdown signal; this returns what it reported, the shutdown sender and the thread.
pub(crate) fn spawn_server_thread<T, F, Fut>(
    name: &str,
    serve: F,
) -> Result<(T, oneshot::Sender<()>, std::thread::JoinHandle<()>), TestkitError>
where
    T: Send + 'static,
    F: FnOnce(Ready<T>, oneshot::Receiver<()>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(source) => {
                    let _ = ready_tx.send(Err(TestkitError::Runtime { source }));
                    return;
                }
            };
            runtime.block_on(serve(ready_tx, shutdown_rx));
        })
        .map_err(|source| TestkitError::Thread { source })?;
    let ready = ready_rx.recv().map_err(|_| TestkitError::ThreadEnded)??;
    Ok((ready, shutdown_tx, thread))
}

//! A tiny HTTP/1.1 server on 127.0.0.1:0 for the tests: it answers queued replies in order
//! and records every request (path, headers, JSON body) and how many connections it took.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON body with this status and extra headers.
    Json {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// An SSE body (status 200), closed after `cut_after_bytes` bytes when set.
    Sse {
        body: String,
        cut_after_bytes: Option<usize>,
    },
    /// Wait, then answer the inner reply.
    Delayed { delay_ms: u64, reply: Box<Reply> },
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Json {
            status,
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    pub fn sse(body: &str) -> Reply {
        Reply::Sse {
            body: body.to_string(),
            cut_after_bytes: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: serde_json::Value,
}

#[derive(Debug, Default)]
struct State {
    replies: VecDeque<Reply>,
    requests: Vec<Recorded>,
    n_connections: usize,
}

#[derive(Debug, Clone)]
pub struct TestServer {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl TestServer {
    pub async fn start(replies: Vec<Reply>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            replies: replies.into(),
            ..State::default()
        }));
        let accept_state = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accept_state.lock().unwrap().n_connections += 1;
                tokio::spawn(serve_connection(stream, accept_state.clone()));
            }
        });
        TestServer { url, state }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn n_connections(&self) -> usize {
        self.state.lock().unwrap().n_connections
    }
}

async fn serve_connection(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let Some(recorded) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        let reply = {
            let mut state = state.lock().unwrap();
            state.requests.push(recorded);
            state.replies.pop_front()
        };
        let reply = reply.unwrap_or_else(|| {
            Reply::json(
                500,
                serde_json::json!({"error": {"message": "test server: no reply queued"}}),
            )
        });
        if !write_reply(&mut stream, reply).await {
            return;
        }
    }
}

async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Recorded> {
    let header_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split_whitespace().nth(1)?.to_string();
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let content_length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let body_start = header_end + 4;
    while buffer.len() < body_start + content_length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = serde_json::from_slice(&buffer[body_start..body_start + content_length])
        .unwrap_or(serde_json::Value::Null);
    buffer.drain(..body_start + content_length);
    Some(Recorded {
        path,
        headers,
        body,
    })
}

/// Write a reply; `false` when the connection must be closed afterwards.
async fn write_reply(stream: &mut TcpStream, reply: Reply) -> bool {
    match reply {
        Reply::Delayed { delay_ms, reply } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            Box::pin(write_reply(stream, *reply)).await
        }
        Reply::Json {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let ok = stream.write_all(head.as_bytes()).await.is_ok()
                && stream.write_all(body.as_bytes()).await.is_ok();
            ok && stream.flush().await.is_ok()
        }
        Reply::Sse {
            body,
            cut_after_bytes,
        } => {
            // Close-delimited body: the end of the connection is the end of the stream.
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
            let bytes = body.as_bytes();
            let bytes = &bytes[..cut_after_bytes.unwrap_or(bytes.len()).min(bytes.len())];
            let _ = stream.write_all(head.as_bytes()).await;
            // In two writes, so the client sees the body arrive in pieces.
            let (first, second) = bytes.split_at(bytes.len() / 2);
            let _ = stream.write_all(first).await;
            let _ = stream.flush().await;
            let _ = stream.write_all(second).await;
            let _ = stream.shutdown().await;
            false
        }
    }
}

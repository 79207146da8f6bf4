//! A minimal HTTP/1.1 server side, by hand: read one request (request line, headers, a body
//! framed by `Content-Length` or chunked), write a response with a `Content-Length` body or a
//! chunked event stream, and cut either short to play a broken connection.
//!
//! Connections are kept alive unless the client asks for `Connection: close` (or speaks
//! HTTP/1.0), or the response was cut.

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest request line or header line accepted.
const MAX_LINE_BYTES: u64 = 64 * 1024;
/// Most header lines accepted.
const MAX_HEADERS: usize = 200;
/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct HttpRequest {
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// Header names in lowercase, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the connection may serve another request after this one.
    pub keep_alive: bool,
}

impl HttpRequest {
    /// The first header with this (lowercase) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The bytes are not an HTTP/1.x request; answer 400 and close.
    Malformed(String),
    /// The connection failed (reset, or closed in the middle of a body).
    Io,
}

impl From<std::io::Error> for ReadError {
    fn from(_: std::io::Error) -> Self {
        ReadError::Io
    }
}

/// Read one line (up to `\n`), without its line ending; `None` at a clean end of stream.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Option<String>, ReadError> {
    let mut line = Vec::new();
    let n_read = (&mut *reader)
        .take(MAX_LINE_BYTES)
        .read_until(b'\n', &mut line)
        .await?;
    if n_read == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(ReadError::Malformed(if n_read as u64 >= MAX_LINE_BYTES {
            format!("line longer than {MAX_LINE_BYTES} bytes")
        } else {
            "connection closed in the middle of a line".to_string()
        }));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| ReadError::Malformed("request line or header is not UTF-8".to_string()))
}

/// Read the next request of a connection; `Ok(None)` when the client closed it between
/// requests.
pub(crate) async fn read_request<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Result<Option<HttpRequest>, ReadError> {
    // Tolerate empty lines before a request line (RFC 9112 section 2.2).
    let request_line = loop {
        match read_line(reader).await? {
            None => return Ok(None),
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed(format!(
            "bad request line {request_line:?}"
        )));
    };
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(ReadError::Malformed(format!(
            "unsupported HTTP version {version:?}"
        )));
    }
    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(reader).await? else {
            return Err(ReadError::Malformed(
                "connection closed in the middle of the headers".to_string(),
            ));
        };
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(ReadError::Malformed(format!(
                "more than {MAX_HEADERS} headers"
            )));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Malformed(format!("bad header line {line:?}")));
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut request = HttpRequest {
        method: method.to_string(),
        path: target.split('?').next().unwrap_or(target).to_string(),
        headers,
        body: Vec::new(),
        keep_alive: version == "HTTP/1.1",
    };
    if let Some(connection) = request.header("connection") {
        let connection = connection.to_ascii_lowercase();
        if connection.contains("close") {
            request.keep_alive = false;
        } else if connection.contains("keep-alive") {
            request.keep_alive = true;
        }
    }
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    if chunked {
        request.body = read_chunked_body(reader).await?;
    } else if let Some(length) = request.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| ReadError::Malformed(format!("bad Content-Length {length:?}")))?;
        if length > MAX_BODY_BYTES {
            return Err(ReadError::Malformed(format!(
                "body of {length} bytes is larger than {MAX_BODY_BYTES}"
            )));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        request.body = body;
    }
    Ok(Some(request))
}

async fn read_chunked_body<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    loop {
        let Some(size_line) = read_line(reader).await? else {
            return Err(ReadError::Malformed(
                "connection closed in a chunked body".to_string(),
            ));
        };
        let size_text = size_line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Malformed(format!("bad chunk size {size_text:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                match read_line(reader).await? {
                    None => return Ok(body),
                    Some(line) if line.is_empty() => return Ok(body),
                    Some(_) => continue,
                }
            }
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(ReadError::Malformed(format!(
                "chunked body larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).await?;
        match read_line(reader).await? {
            Some(line) if line.is_empty() => {}
            _ => {
                return Err(ReadError::Malformed(
                    "chunk not followed by CRLF".to_string(),
                ));
            }
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        529 => "Overloaded",
        _ => "Status",
    }
}

fn head(status: u16, headers: &[(String, String)], keep_alive: bool) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status));
    for (name, value) in headers {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push_str("\r\n");
    }
    text.push_str(if keep_alive {
        "connection: keep-alive\r\n"
    } else {
        "connection: close\r\n"
    });
    text.push_str("\r\n");
    text.into_bytes()
}

/// What happened to the connection after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterResponse {
    KeepOpen,
    Close,
}

/// Write a response whose body has a `Content-Length`. With `cut_after_bytes`, announce the
/// whole length but send only that many bytes of the body, then close.
pub(crate) async fn write_body_response<W: AsyncWrite + Unpin>(
    writer: &mut W,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    keep_alive: bool,
    cut_after_bytes: Option<usize>,
) -> std::io::Result<AfterResponse> {
    let mut all_headers = headers.to_vec();
    all_headers.push(("content-length".to_string(), body.len().to_string()));
    let cut = cut_after_bytes.filter(|cut| *cut < body.len());
    let keep_alive = keep_alive && cut.is_none();
    writer
        .write_all(&head(status, &all_headers, keep_alive))
        .await?;
    match cut {
        Some(cut) => {
            writer.write_all(&body[..cut]).await?;
            writer.flush().await?;
            writer.shutdown().await?;
            Ok(AfterResponse::Close)
        }
        None => {
            writer.write_all(body).await?;
            writer.flush().await?;
            Ok(if keep_alive {
                AfterResponse::KeepOpen
            } else {
                AfterResponse::Close
            })
        }
    }
}

/// Write a `200` event stream with chunked framing, one or two chunks per event (each event
/// is split in two writes to exercise clients that must reassemble lines). With
/// `cut_after_bytes`, stop after that many bytes of the event-stream body, in the middle of
/// an announced chunk, and close the connection.
pub(crate) async fn write_event_stream<W: AsyncWrite + Unpin>(
    writer: &mut W,
    headers: &[(String, String)],
    events: &[Vec<u8>],
    keep_alive: bool,
    cut_after_bytes: Option<usize>,
) -> std::io::Result<AfterResponse> {
    let mut all_headers = headers.to_vec();
    all_headers.push(("transfer-encoding".to_string(), "chunked".to_string()));
    let keep_alive = keep_alive && cut_after_bytes.is_none();
    writer
        .write_all(&head(200, &all_headers, keep_alive))
        .await?;
    writer.flush().await?;
    let mut n_sent = 0usize;
    for event in events {
        if let Some(cut) = cut_after_bytes.filter(|cut| n_sent + event.len() > *cut) {
            let part = &event[..cut - n_sent];
            writer
                .write_all(format!("{:x}\r\n", event.len()).as_bytes())
                .await?;
            writer.write_all(part).await?;
            writer.flush().await?;
            writer.shutdown().await?;
            return Ok(AfterResponse::Close);
        }
        let split_at = event.len() / 2;
        for piece in [&event[..split_at], &event[split_at..]] {
            if piece.is_empty() {
                continue;
            }
            let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
            chunk.extend_from_slice(piece);
            chunk.extend_from_slice(b"\r\n");
            writer.write_all(&chunk).await?;
            writer.flush().await?;
        }
        n_sent += event.len();
    }
    writer.write_all(b"0\r\n\r\n").await?;
    writer.flush().await?;
    if keep_alive {
        Ok(AfterResponse::KeepOpen)
    } else {
        writer.shutdown().await?;
        Ok(AfterResponse::Close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(raw: &[u8]) -> Result<Option<HttpRequest>, ReadError> {
        let mut reader = tokio::io::BufReader::new(raw);
        read_request(&mut reader).await
    }

    #[tokio::test]
    async fn reads_content_length_body_and_lowercases_headers() {
        let raw = b"POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nX-Api-Key: k\r\nContent-Length: 4\r\n\r\nabcdEXTRA";
        let request = parse(raw).await.unwrap().unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/messages");
        assert_eq!(request.header("x-api-key"), Some("k"));
        assert_eq!(request.body, b"abcd");
        assert!(request.keep_alive);
    }

    #[tokio::test]
    async fn reads_chunked_body_and_connection_close() {
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        let request = parse(raw).await.unwrap().unwrap();
        assert_eq!(request.body, b"abcde");
        assert!(!request.keep_alive);
    }

    #[tokio::test]
    async fn rejects_garbage_and_reports_clean_eof() {
        assert!(matches!(
            parse(b"HELLO\r\n\r\n").await,
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(parse(b"").await, Ok(None)));
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n").await,
            Err(ReadError::Malformed(message)) if message.contains("Content-Length")
        ));
    }

    #[tokio::test]
    async fn event_stream_cut_sends_exactly_the_prefix() {
        let events = vec![b"data: 1\n\n".to_vec(), b"data: 22\n\n".to_vec()];
        let mut out = Vec::new();
        let after = write_event_stream(&mut out, &[], &events, true, Some(12))
            .await
            .unwrap();
        assert_eq!(after, AfterResponse::Close);
        let text = String::from_utf8(out).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        // first event in two chunks, then the announced second chunk cut after 3 bytes
        assert_eq!(body, "4\r\ndata\r\n5\r\n: 1\n\n\r\na\r\ndat");
        assert!(text.contains("connection: close"));
    }
}

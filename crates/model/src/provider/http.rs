//! HTTP plumbing shared by the providers: one `reqwest::Client` per model, error answers,
//! transport errors and reading an SSE body.

use futures_util::StreamExt;

use crate::retry::{AttemptError, ErrorHeaders};
use crate::sse::{SseEvent, SseParser};

/// The client of one model, built once so connections are reused.
pub(crate) fn build_client(
    connect_timeout: std::time::Duration,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .user_agent(concat!("rein/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| format!("cannot build the http client: {}", error_chain(&err)))
}

/// A reqwest error with its sources, e.g. `error sending request: connection refused`.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

pub(crate) fn transport_error(error: &reqwest::Error) -> AttemptError {
    AttemptError::Transport {
        message: error_chain(error),
    }
}

/// Turn a non-2xx answer into an [`AttemptError`], reading its body.
pub(crate) async fn error_from_response(response: reqwest::Response) -> AttemptError {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("retry-after");
    let should_retry = header("x-should-retry");
    let body = response.text().await.unwrap_or_default();
    let headers = ErrorHeaders {
        retry_after: retry_after.as_deref(),
        should_retry: should_retry.as_deref(),
    };
    AttemptError::from_http(status, &headers, &body)
}

/// Read an SSE body, handing each event to `on_event` until it returns `true` or the body
/// ends. A body that stops in the middle of an event is reported by the caller's assembler
/// as incomplete.
pub(crate) async fn read_sse(
    response: reqwest::Response,
    mut on_event: impl FnMut(SseEvent) -> Result<bool, AttemptError>,
) -> Result<(), AttemptError> {
    let mut parser = SseParser::default();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|err| AttemptError::Transport {
            message: format!("stream interrupted: {}", error_chain(&err)),
        })?;
        for event in parser.push(&chunk) {
            if on_event(event)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

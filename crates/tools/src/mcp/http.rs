//! The streamable HTTP transport of MCP clients, on the workspace's reqwest.
//!
//! rmcp ships this client for reqwest 0.13; rein uses reqwest 0.12 everywhere, so
//! [`HttpClient`] implements rmcp's `StreamableHttpClient` on it (one reqwest in the
//! build). POST carries each JSON-RPC message and answers with JSON or an SSE stream;
//! GET opens the server's own SSE stream; DELETE ends the session.
//!
//! **Limitation:** the network rules are applied to the URL's host (and to its address
//! when the URL names an IP) and to every request (port, method, path, query, body size);
//! addresses a host name resolves to are not checked one by one yet.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::common::http_header::{
    EVENT_STREAM_MIME_TYPE, HEADER_LAST_EVENT_ID, HEADER_SESSION_ID, JSON_MIME_TYPE,
};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
    StreamableHttpPostResponse,
};
use sse_stream::{Sse, SseStream};

use crate::NetworkGuard;

/// Bytes of an error response body quoted in an error.
const ERROR_BODY_QUOTE_BYTES: usize = 512;

type HttpResult<T> = Result<T, StreamableHttpError<reqwest::Error>>;

/// A reqwest 0.12 client speaking MCP's streamable HTTP; every request is put to the
/// network rules' request check (port, method, path, query, body size) before it is sent.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    guard: Arc<dyn NetworkGuard>,
}

impl HttpClient {
    /// `Err` when the network rules refuse this request.
    fn check(&self, method: &str, uri: &str, body_bytes: u64) -> HttpResult<()> {
        let refused = |reason: String| {
            StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
                "{method} {uri} refused by the network policy: {reason}"
            )))
        };
        let url = reqwest::Url::parse(uri).map_err(|error| refused(error.to_string()))?;
        let host = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .ok_or_else(|| refused("the url has no host".to_owned()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| refused("the url has no port".to_owned()))?;
        self.guard
            .check_request(&crate::OutboundRequest {
                method,
                host: &host,
                port,
                path: url.path(),
                query: url.query(),
                body_bytes,
            })
            .map_err(refused)
    }
}

/// The transport to `url` with `headers` on every request, after the network rules
/// allowed its host. `Err` is the message for [`crate::ToolError::McpStart`].
pub(crate) fn transport(
    url: &str,
    headers: &BTreeMap<String, String>,
    network: Option<&Arc<dyn NetworkGuard>>,
) -> Result<StreamableHttpClientTransport<HttpClient>, String> {
    let parsed = reqwest::Url::parse(url).map_err(|error| format!("invalid url: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported url scheme `{}`; use http or https",
            parsed.scheme()
        ));
    }
    let Some(host) = parsed.host_str() else {
        return Err("the url has no host".to_owned());
    };
    let Some(network) = network else {
        return Err("the run allows no network connections".to_owned());
    };
    network
        .check_host(host)
        .map_err(|reason| format!("the network policy refuses host `{host}`: {reason}"))?;
    let port = parsed.port_or_known_default().unwrap_or(0);
    network
        .check_request(&crate::OutboundRequest {
            method: "POST",
            host: host.trim_start_matches('[').trim_end_matches(']'),
            port,
            path: parsed.path(),
            query: parsed.query(),
            body_bytes: 0,
        })
        .map_err(|reason| format!("the network policy refuses {url}: {reason}"))?;
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare_host.parse::<std::net::IpAddr>() {
        network
            .check_address(host, ip)
            .map_err(|reason| format!("the network policy refuses {ip}: {reason}"))?;
    }
    let mut custom_headers = HashMap::new();
    for (name, value) in headers {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name `{name}`"))?;
        // The value may be a secret: never quoted.
        let header_value = HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header `{name}` is not a valid header value"))?;
        custom_headers.insert(header_name, header_value);
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_owned())
        .custom_headers(custom_headers);
    Ok(StreamableHttpClientTransport::with_client(
        HttpClient {
            client,
            guard: Arc::clone(network),
        },
        config,
    ))
}

fn with_headers(
    mut request: reqwest::RequestBuilder,
    session_id: Option<&str>,
    auth_header: Option<String>,
    custom_headers: HashMap<HeaderName, HeaderValue>,
) -> reqwest::RequestBuilder {
    if let Some(session_id) = session_id {
        request = request.header(HEADER_SESSION_ID, session_id);
    }
    if let Some(token) = auth_header {
        request = request.bearer_auth(token);
    }
    for (name, value) in custom_headers {
        request = request.header(name, value);
    }
    request
}

/// The error for a non-success status, quoting the start of the body.
async fn status_error(response: reqwest::Response) -> StreamableHttpError<reqwest::Error> {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let quoted: String = body.chars().take(ERROR_BODY_QUOTE_BYTES).collect();
    StreamableHttpError::UnexpectedServerResponse(Cow::Owned(format!(
        "HTTP {status}: {}",
        quoted.trim()
    )))
}

fn content_type(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.to_ascii_lowercase())
}

fn sse_stream(response: reqwest::Response) -> BoxStream<'static, Result<Sse, SseError>> {
    SseStream::from_bytes_stream(response.bytes_stream()).boxed()
}

impl StreamableHttpClient for HttpClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<StreamableHttpPostResponse> {
        let body = serde_json::to_vec(&message)?;
        self.check("POST", &uri, body.len() as u64)?;
        let request = self
            .client
            .post(uri.as_ref())
            .header(
                ACCEPT,
                format!("{JSON_MIME_TYPE}, {EVENT_STREAM_MIME_TYPE}"),
            )
            .header(CONTENT_TYPE, JSON_MIME_TYPE)
            .body(body);
        let request = with_headers(request, session_id.as_deref(), auth_header, custom_headers);
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        let status = response.status();
        if status == reqwest::StatusCode::ACCEPTED || status == reqwest::StatusCode::NO_CONTENT {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == reqwest::StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        if !status.is_success() {
            return Err(status_error(response).await);
        }
        let new_session_id = response
            .headers()
            .get(HEADER_SESSION_ID)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        match content_type(&response) {
            Some(kind) if kind.starts_with(EVENT_STREAM_MIME_TYPE) => Ok(
                StreamableHttpPostResponse::Sse(sse_stream(response), new_session_id),
            ),
            Some(kind) if kind.starts_with(JSON_MIME_TYPE) => {
                let body = response
                    .bytes()
                    .await
                    .map_err(StreamableHttpError::Client)?;
                let message: ServerJsonRpcMessage = serde_json::from_slice(&body)?;
                Ok(StreamableHttpPostResponse::Json(message, new_session_id))
            }
            _ if response.content_length() == Some(0) => Ok(StreamableHttpPostResponse::Accepted),
            other => Err(StreamableHttpError::UnexpectedContentType(other)),
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<()> {
        self.check("DELETE", &uri, 0)?;
        let request = with_headers(
            self.client.delete(uri.as_ref()),
            Some(&session_id),
            auth_header,
            custom_headers,
        );
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        if response.status() == reqwest::StatusCode::METHOD_NOT_ALLOWED
            || response.status().is_success()
        {
            return Ok(());
        }
        Err(status_error(response).await)
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<BoxStream<'static, Result<Sse, SseError>>> {
        self.check("GET", &uri, 0)?;
        let mut request = self.client.get(uri.as_ref()).header(
            ACCEPT,
            format!("{EVENT_STREAM_MIME_TYPE}, {JSON_MIME_TYPE}"),
        );
        if let Some(last_event_id) = last_event_id {
            request = request.header(HEADER_LAST_EVENT_ID, last_event_id);
        }
        let request = with_headers(request, session_id.as_deref(), auth_header, custom_headers);
        let response = request.send().await.map_err(StreamableHttpError::Client)?;
        if response.status() == reqwest::StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        match content_type(&response) {
            Some(kind) if kind.starts_with(EVENT_STREAM_MIME_TYPE) => Ok(sse_stream(response)),
            other => Err(StreamableHttpError::UnexpectedContentType(other)),
        }
    }
}

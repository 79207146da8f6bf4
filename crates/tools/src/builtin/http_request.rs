//! `http_request`: one HTTP(S) request, checked by the run's network rules at connection
//! time.
//!
//! The safety steps, for the URL and again for every redirect target:
//!
//! 1. only `http` and `https` URLs;
//! 2. no [`NetworkGuard`] in the context: refused;
//! 3. [`NetworkGuard::check_host`] on the host and [`NetworkGuard::check_request`] on the
//!    request (port, method, path, query, body size), before any lookup;
//! 4. the name is resolved once, here; [`NetworkGuard::check_address`] is asked for every
//!    address and the request is refused when **any** address is refused (a name whose
//!    answers mix public and private addresses is a DNS-rebinding trick, not a choice);
//!    an IP literal is checked the same way without a lookup;
//! 5. the connection is pinned to the checked addresses: a fresh client per hop whose
//!    resolver answers only the checked name with the checked addresses, no proxy,
//!    redirects off (they are followed here, at most [`HTTP_MAX_REDIRECTS`]).
//!
//! The response body is streamed and cut at `max_bytes`; it is never decompressed, so a
//! compression bomb stays the size it was sent at.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use super::{looks_binary, parse_arguments, string_arg};
use crate::{NetworkGuard, OutboundRequest, Tool, ToolAction, ToolContext, ToolError, ToolOutput};

const NAME: &str = "http_request";

/// Default cap on the response body kept (1 MiB).
pub const HTTP_DEFAULT_MAX_BYTES: u64 = 1024 * 1024;
/// Largest `max_bytes` a call may ask for (8 MiB).
pub const HTTP_MAX_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Redirects followed before the call fails.
pub const HTTP_MAX_REDIRECTS: usize = 5;

/// Response headers shown in the output, in this order.
const SHOWN_HEADERS: &[&str] = &["content-type", "content-length", "location"];
/// Request headers dropped when a redirect leaves the origin.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Sends one HTTP request to a host the run's network rules allow.
#[derive(Debug, Default)]
pub struct HttpRequestTool;

impl HttpRequestTool {
    pub fn new() -> HttpRequestTool {
        HttpRequestTool
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    method: Option<String>,
    url: String,
    headers: Option<BTreeMap<String, String>>,
    body: Option<String>,
    json: Option<serde_json::Value>,
    timeout_secs: Option<u64>,
    max_bytes: Option<u64>,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "method": {
                    "type": "string",
                    "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
                    "description": "HTTP method. Default: GET."
                },
                "url": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Absolute http:// or https:// URL. Its host must be allowed by the run's network rules."
                },
                "headers": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Request headers, name to value. `Host` cannot be set."
                },
                "body": {
                    "type": "string",
                    "description": "Request body, sent as is. Not together with `json`."
                },
                "json": {
                    "description": "Any JSON value, sent as the body with `content-type: application/json` (unless headers set a content-type). Not together with `body`."
                },
                "timeout_secs": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Give up after this many seconds (lookup, connect, redirects and body together). Capped by the run's step timeout, which is also the default."
                },
                "max_bytes": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": HTTP_MAX_MAX_BYTES,
                    "description": "Keep at most this many bytes of the response body; the rest is not read. Default: 1048576 (1 MiB)."
                }
            },
            "required": ["url"],
            "additionalProperties": false
        })
    })
}

#[async_trait::async_trait]
impl Tool for HttpRequestTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Send one HTTP or HTTPS request to a host the run's network rules allow and return the status line, the content-type, content-length and location headers, and the body as text. Redirects are followed (at most 5), each checked against the rules. Private, loopback, link-local and cloud metadata addresses are refused unless allowed explicitly."
    }

    fn input_schema(&self) -> &serde_json::Value {
        schema()
    }

    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        vec![ToolAction::Network(string_arg(args, "url", ""))]
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: Arguments = parse_arguments(NAME, arguments)?;
        let request = prepare(arguments, ctx.timeout)?;
        let fetched = fetch_guarded(NAME, request, ctx.network.as_ref()).await?;
        Ok(format_response(
            &fetched.hops,
            fetched.version,
            fetched.status,
            &fetched.headers,
            &fetched.body,
            fetched.cut_at,
        ))
    }
}

/// Which request headers are dropped when a redirect leaves the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CrossOriginHeaders {
    /// `authorization`, `proxy-authorization` and `cookie` (the model's own headers).
    Credentials,
    /// Every header but `content-type` (declared headers may all be secrets).
    All,
}

/// A request, checked and converted; also built by declared HTTP tools and `slack_post`.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) method: Method,
    pub(crate) url_text: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: u64,
    pub(crate) cross_origin: CrossOriginHeaders,
}

/// A final (non-redirect) response, its body read up to `max_bytes`.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// One line per redirect followed.
    pub(crate) hops: Vec<String>,
    pub(crate) version: reqwest::Version,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// `Some(max_bytes)` when the body was longer and cut there.
    pub(crate) cut_at: Option<u64>,
}

/// Sends `request` under the network rules (every step of the module doc), with its
/// timeout over the whole exchange. `tool` names the caller in the refusal without rules.
pub(crate) async fn fetch_guarded(
    tool: &str,
    request: Prepared,
    network: Option<&Arc<dyn NetworkGuard>>,
) -> Result<Fetched, ToolError> {
    let url = parse_url(&request.url_text)?;
    let Some(guard) = network else {
        return Err(refused(format!("no network rules: {tool} is not allowed")));
    };
    let timeout = request.timeout;
    let url_text = request.url_text.clone();
    match tokio::time::timeout(timeout, fetch(request, url, guard.as_ref())).await {
        Ok(result) => result,
        Err(_elapsed) => Err(ToolError::Io {
            action: "fetch",
            path: url_text,
            source: std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "timed out after {} (lookup, connect, redirects and body together); ask for a larger timeout_secs or a smaller response",
                    format_duration(timeout)
                ),
            ),
        }),
    }
}

fn invalid(message: String) -> ToolError {
    ToolError::InvalidInput { message }
}

/// A request the network rules (or the URL rules) refuse; the message says why.
fn refused(message: String) -> ToolError {
    ToolError::InvalidInput { message }
}

fn prepare(arguments: Arguments, ctx_timeout: Duration) -> Result<Prepared, ToolError> {
    let method_text = arguments.method.as_deref().unwrap_or("GET");
    let method = match method_text {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" => {
            Method::from_bytes(method_text.as_bytes())
                .map_err(|error| invalid(format!("method `{method_text}`: {error}")))?
        }
        other => {
            return Err(invalid(format!(
                "method `{other}` is not supported; use GET, POST, PUT, PATCH, DELETE or HEAD"
            )));
        }
    };
    if arguments.body.is_some() && arguments.json.is_some() {
        return Err(invalid("give either `body` or `json`, not both".to_owned()));
    }
    let mut headers = HeaderMap::new();
    for (name, value) in arguments.headers.unwrap_or_default() {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("`{name}` is not a valid header name")))?;
        if matches!(
            header_name.as_str(),
            "host" | "content-length" | "transfer-encoding" | "connection"
        ) {
            return Err(invalid(format!(
                "the `{name}` header is set by http_request and cannot be given; put the host in the url"
            )));
        }
        let header_value = HeaderValue::from_str(&value).map_err(|_| {
            invalid(format!(
                "the value of header `{name}` is not valid (line breaks and control characters are not allowed)"
            ))
        })?;
        headers.append(header_name, header_value);
    }
    let body = match (arguments.body, arguments.json) {
        (Some(body), None) => Some(body.into_bytes()),
        (None, Some(json)) => {
            if !headers.contains_key(reqwest::header::CONTENT_TYPE) {
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            Some(
                serde_json::to_vec(&json)
                    .map_err(|error| invalid(format!("cannot serialise `json`: {error}")))?,
            )
        }
        _ => None,
    };
    let timeout = match arguments.timeout_secs {
        Some(timeout_secs) => Duration::from_secs(timeout_secs).min(ctx_timeout),
        None => ctx_timeout,
    };
    let max_bytes = arguments.max_bytes.unwrap_or(HTTP_DEFAULT_MAX_BYTES);
    if max_bytes == 0 || max_bytes > HTTP_MAX_MAX_BYTES {
        return Err(invalid(format!(
            "max_bytes must be between 1 and {HTTP_MAX_MAX_BYTES}, not {max_bytes}"
        )));
    }
    Ok(Prepared {
        method,
        url_text: arguments.url,
        headers,
        body,
        timeout,
        max_bytes,
        cross_origin: CrossOriginHeaders::Credentials,
    })
}

/// The URL, when it is an absolute `http` or `https` URL with a host; otherwise why not.
fn check_url_text(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| {
        format!("`{text}` is not a valid URL ({error}); give an absolute http:// or https:// URL")
    })?;
    check_scheme(url)
}

fn check_scheme(url: Url) -> Result<Url, String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{url}` has the scheme `{}`; http_request fetches only http:// and https:// URLs",
            url.scheme()
        ));
    }
    if url.host().is_none() {
        return Err(format!("`{url}` has no host"));
    }
    Ok(url)
}

fn parse_url(text: &str) -> Result<Url, ToolError> {
    check_url_text(text).map_err(refused)
}

/// Where one hop may connect: the checked name (none for an IP literal) and the checked
/// addresses, with the URL's port.
#[derive(Debug, Clone)]
struct Target {
    name: Option<String>,
    addrs: Vec<SocketAddr>,
}

/// Runs the host, request and address checks for `url` (the request's method and body
/// size given); `refusal_prefix` says which hop it is.
async fn check_target(
    url: &Url,
    method: &Method,
    body_bytes: u64,
    guard: &dyn NetworkGuard,
    refusal_prefix: &str,
) -> Result<Target, ToolError> {
    let refuse = |reason: String| refused(format!("{refusal_prefix}{reason}"));
    let port = url
        .port_or_known_default()
        .ok_or_else(|| refuse(format!("`{url}` has no port")))?;
    let Some(host) = url.host_str() else {
        return Err(refuse(format!("`{url}` has no host")));
    };
    // The URL parser already turned every IPv4 spelling (`127.1`, `0x7f.0.0.1`,
    // `2130706433`) into dotted form and wraps IPv6 in brackets.
    let bare = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    let ip = bare.parse::<IpAddr>().ok();
    let name = match ip {
        Some(ip) => ip.to_string(),
        None => host.to_owned(),
    };
    guard
        .check_host(&name)
        .map_err(|reason| refuse(format!("host `{name}` is not allowed: {reason}")))?;
    guard
        .check_request(&OutboundRequest {
            method: method.as_str(),
            host: &name,
            port,
            path: url.path(),
            query: url.query(),
            body_bytes,
        })
        .map_err(|reason| {
            refuse(format!(
                "{} {url} is not allowed: {reason}",
                method.as_str()
            ))
        })?;
    if let Some(ip) = ip {
        guard
            .check_address(&name, ip)
            .map_err(|reason| refuse(format!("address {ip} is refused: {reason}")))?;
        return Ok(Target {
            name: None,
            addrs: vec![SocketAddr::new(ip, port)],
        });
    }
    let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
        .await
        .map_err(|source| ToolError::Io {
            action: "resolve",
            path: name.clone(),
            source,
        })?
        .collect();
    addrs.sort();
    addrs.dedup();
    if addrs.is_empty() {
        return Err(ToolError::Io {
            action: "resolve",
            path: name,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no address found"),
        });
    }
    for addr in &addrs {
        let ip = addr.ip();
        guard.check_address(&name, ip).map_err(|reason| {
            refuse(format!(
                "`{name}` resolved to {ip}, which is refused: {reason}"
            ))
        })?;
    }
    Ok(Target {
        name: Some(name),
        addrs,
    })
}

/// The only resolver a hop's client has: it answers the checked name with the checked
/// addresses and refuses every other name, so the connection goes where the rules said.
#[derive(Debug)]
struct PinnedResolver {
    target: Target,
}

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let result: Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> =
            match &self.target.name {
                Some(checked) if checked.eq_ignore_ascii_case(name.as_str()) => {
                    Ok(Box::new(self.target.addrs.clone().into_iter()))
                }
                _ => {
                    Err(format!("`{}` was not checked by the network rules", name.as_str()).into())
                }
            };
        Box::pin(std::future::ready(result))
    }
}

fn pinned_client(target: Target, timeout: Duration) -> Result<reqwest::Client, ToolError> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .no_zstd()
        .connect_timeout(timeout)
        .dns_resolver(Arc::new(PinnedResolver { target }))
        .build()
        .map_err(|error| ToolError::Internal {
            tool: NAME.to_owned(),
            message: format!("cannot build the HTTP client: {}", error_chain(&error)),
        })
}

/// An error and its sources on one line (reqwest's own message is only the outer layer).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

fn transport_error(url: &Url, error: &reqwest::Error) -> ToolError {
    let kind = if error.is_timeout() {
        std::io::ErrorKind::TimedOut
    } else {
        std::io::ErrorKind::Other
    };
    ToolError::Io {
        action: "fetch",
        path: url.to_string(),
        source: std::io::Error::new(kind, error_chain(error)),
    }
}

pub(crate) fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// Sends the request and follows redirects, checking every hop.
async fn fetch(
    request: Prepared,
    url: Url,
    guard: &dyn NetworkGuard,
) -> Result<Fetched, ToolError> {
    let Prepared {
        mut method,
        mut headers,
        mut body,
        timeout,
        max_bytes,
        cross_origin,
        ..
    } = request;
    let mut url = url;
    let mut hops: Vec<String> = Vec::new();
    let mut refusal_prefix = String::new();
    loop {
        let body_bytes = body.as_ref().map_or(0, |b| b.len() as u64);
        let target = check_target(&url, &method, body_bytes, guard, &refusal_prefix).await?;
        let client = pinned_client(target, timeout)?;
        let mut builder = client
            .request(method.clone(), url.clone())
            .headers(headers.clone());
        if let Some(body) = &body {
            builder = builder.body(body.clone());
        }
        let mut response = builder
            .send()
            .await
            .map_err(|error| transport_error(&url, &error))?;
        let status = response.status();
        let location = response.headers().get(reqwest::header::LOCATION).cloned();
        let follows = matches!(
            status,
            StatusCode::MOVED_PERMANENTLY
                | StatusCode::FOUND
                | StatusCode::SEE_OTHER
                | StatusCode::TEMPORARY_REDIRECT
                | StatusCode::PERMANENT_REDIRECT
        );
        if let (true, Some(location)) = (follows, location) {
            let location = location.to_str().map_err(|_| {
                invalid(format!(
                    "`{url}` answered {status} with a Location header that is not text"
                ))
            })?;
            let next = url.join(location).map_err(|error| {
                invalid(format!(
                    "`{url}` answered {status} with an invalid Location `{location}`: {error}"
                ))
            })?;
            if hops.len() == HTTP_MAX_REDIRECTS {
                return Err(invalid(format!(
                    "too many redirects: followed {HTTP_MAX_REDIRECTS}, then `{url}` redirected again to `{next}`"
                )));
            }
            let prefix = format!("redirect from `{url}` to `{next}` refused: ");
            let next = check_scheme(next).map_err(|reason| refused(format!("{prefix}{reason}")))?;
            if redirect_drops_body(status, &method) {
                if method != Method::HEAD {
                    method = Method::GET;
                }
                body = None;
                headers.remove(reqwest::header::CONTENT_TYPE);
            }
            if next.origin() != url.origin() {
                match cross_origin {
                    CrossOriginHeaders::Credentials => {
                        for name in CREDENTIAL_HEADERS {
                            headers.remove(*name);
                        }
                    }
                    CrossOriginHeaders::All => {
                        let content_type = headers.remove(reqwest::header::CONTENT_TYPE);
                        headers.clear();
                        if let Some(content_type) = content_type {
                            headers.insert(reqwest::header::CONTENT_TYPE, content_type);
                        }
                    }
                }
            }
            hops.push(format!("redirected: {status} `{url}` -> `{next}`"));
            refusal_prefix = prefix;
            url = next;
            continue;
        }
        let mut kept: Vec<u8> = Vec::new();
        let mut cut = false;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| transport_error(&url, &error))?
        {
            let room = usize::try_from(max_bytes)
                .unwrap_or(usize::MAX)
                .saturating_sub(kept.len());
            if chunk.len() > room {
                kept.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            kept.extend_from_slice(&chunk);
        }
        return Ok(Fetched {
            hops,
            version: response.version(),
            status,
            headers: response.headers().clone(),
            body: kept,
            cut_at: cut.then_some(max_bytes),
        });
    }
}

/// 303 always turns the request into a GET without a body; 301 and 302 do so for POST
/// (what browsers do); 307 and 308 keep the method and body.
fn redirect_drops_body(status: StatusCode, method: &Method) -> bool {
    match status {
        StatusCode::SEE_OTHER => true,
        StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND => *method == Method::POST,
        _ => false,
    }
}

pub(crate) fn format_response(
    hops: &[String],
    version: reqwest::Version,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    cut_at: Option<u64>,
) -> ToolOutput {
    let mut content = String::new();
    for hop in hops {
        content.push_str(hop);
        content.push('\n');
    }
    content.push_str(&format!("{version:?} {status}\n"));
    for name in SHOWN_HEADERS {
        for value in headers.get_all(*name) {
            content.push_str(&format!(
                "{name}: {}\n",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
    }
    content.push('\n');
    if body.is_empty() {
        content.push_str("(empty body)\n");
    } else if looks_binary(body) {
        content.push_str(&format!("(binary body: {} bytes, not shown)\n", body.len()));
    } else {
        // A cut may end inside a UTF-8 character: drop the partial character.
        let text = match std::str::from_utf8(body) {
            Ok(text) => text.to_owned(),
            Err(error) if error.error_len().is_none() => {
                String::from_utf8_lossy(&body[..error.valid_up_to()]).into_owned()
            }
            Err(_) => String::from_utf8_lossy(body).into_owned(),
        };
        content.push_str(&text);
        if !content.ends_with('\n') {
            content.push('\n');
        }
    }
    if let Some(max_bytes) = cut_at {
        content.push_str(&format!(
            "[body cut at {max_bytes} bytes (max_bytes); the rest was not read]\n"
        ));
    }
    ToolOutput {
        content,
        exit_code: None,
        is_error: status.is_client_error() || status.is_server_error(),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::dns::Resolve;

    use super::*;

    async fn resolve(resolver: &PinnedResolver, name: &str) -> Result<Vec<SocketAddr>, String> {
        let name: reqwest::dns::Name = name.parse().unwrap();
        resolver
            .resolve(name)
            .await
            .map(|addrs| addrs.collect())
            .map_err(|error| error.to_string())
    }

    #[tokio::test]
    async fn the_pinned_resolver_answers_only_the_checked_name() {
        let checked: SocketAddr = "93.184.216.34:443".parse().unwrap();
        let resolver = PinnedResolver {
            target: Target {
                name: Some("example.com".to_owned()),
                addrs: vec![checked],
            },
        };
        assert_eq!(resolve(&resolver, "example.com").await, Ok(vec![checked]));
        assert_eq!(resolve(&resolver, "EXAMPLE.com").await, Ok(vec![checked]));
        assert_eq!(
            resolve(&resolver, "evil.example").await,
            Err("`evil.example` was not checked by the network rules".to_owned())
        );
        let literal = PinnedResolver {
            target: Target {
                name: None,
                addrs: vec![checked],
            },
        };
        assert!(resolve(&literal, "example.com").await.is_err());
    }

    #[test]
    fn redirects_drop_the_body_like_browsers() {
        let cases = [
            (StatusCode::SEE_OTHER, Method::PUT, true),
            (StatusCode::FOUND, Method::POST, true),
            (StatusCode::MOVED_PERMANENTLY, Method::POST, true),
            (StatusCode::FOUND, Method::PUT, false),
            (StatusCode::TEMPORARY_REDIRECT, Method::POST, false),
            (StatusCode::PERMANENT_REDIRECT, Method::POST, false),
        ];
        for (status, method, drops) in cases {
            assert_eq!(
                redirect_drops_body(status, &method),
                drops,
                "{status} {method}"
            );
        }
    }

    fn check_format(body: &[u8], cut_at: Option<u64>, expected: expect_test::Expect) {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/plain"));
        headers.insert("set-cookie", HeaderValue::from_static("session=1"));
        let output = format_response(
            &["redirected: 301 Moved Permanently `http://a/` -> `http://b/`".to_owned()],
            reqwest::Version::HTTP_11,
            StatusCode::OK,
            &headers,
            body,
            cut_at,
        );
        expected.assert_eq(&output.content);
    }

    #[test]
    fn responses_are_formatted_with_selected_headers() {
        check_format(
            "héllo".as_bytes(),
            None,
            expect_test::expect![[r#"
                redirected: 301 Moved Permanently `http://a/` -> `http://b/`
                HTTP/1.1 200 OK
                content-type: text/plain

                héllo
            "#]],
        );
        // Cut inside `é`: the partial character is dropped, not shown as U+FFFD.
        check_format(
            &"héllo".as_bytes()[..2],
            Some(2),
            expect_test::expect![[r#"
                redirected: 301 Moved Permanently `http://a/` -> `http://b/`
                HTTP/1.1 200 OK
                content-type: text/plain

                h
                [body cut at 2 bytes (max_bytes); the rest was not read]
            "#]],
        );
        check_format(
            b"\x00\x01\x02",
            None,
            expect_test::expect![[r#"
                redirected: 301 Moved Permanently `http://a/` -> `http://b/`
                HTTP/1.1 200 OK
                content-type: text/plain

                (binary body: 3 bytes, not shown)
            "#]],
        );
    }
}

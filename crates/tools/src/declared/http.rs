//! `[[tools.http]]`: an HTTP endpoint as a tool, sent through the same guarded,
//! address-pinned client as `http_request` (see `crate::builtin::http_request`).
//!
//! - The URL template's scheme, host and port are fixed text: a placeholder may only come
//!   after the first `/`, `?` or `#` that follows the host. Values are percent-encoded
//!   (everything but `A-Z a-z 0-9 - . _ ~`), so a value cannot add a path segment, a
//!   query parameter or a fragment; a value that would make a `.` or `..` path segment is
//!   refused. The filled URL's host and port are checked again against the template's,
//!   and the network rules check the host and every address as for `http_request`.
//! - Headers are fixed (they may be secrets): never in the output, the actions, `Debug`
//!   or error messages; all of them are dropped if a redirect leaves the origin.
//! - The JSON body template is a JSON value: a string that is exactly `{{ field }}` takes
//!   the argument's JSON value (an object member whose field is absent is left out);
//!   other strings interpolate (strings as they are, other values as compact JSON).
//! - `extract` is a JSON Pointer (RFC 6901) applied to a JSON response; the part found is
//!   returned as JSON.

use std::fmt;
use std::time::Duration;

use rein_spec::spec::HttpToolSpec;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::template::{Template, check_fields, scalar_text, schema_properties};
use super::{check_name, check_object_schema, required_argument};
use crate::builtin::{
    CrossOriginHeaders, HTTP_MAX_MAX_BYTES, PreparedRequest, fetch_guarded, format_response,
};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

/// An HTTP endpoint declared in the agent file.
pub struct HttpTool {
    name: String,
    description: String,
    input_schema: serde_json::Value,
    method: Method,
    url: Template,
    /// Host (lowercase) and port of the template, which every filled URL must keep.
    host: String,
    port: u16,
    /// May hold secrets: never shown.
    headers: HeaderMap,
    body: Option<BodyNode>,
    max_bytes: u64,
    timeout: Duration,
    extract: Option<String>,
}

impl fmt::Debug for HttpTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTool")
            .field("name", &self.name)
            .field("method", &self.method)
            .field("url", &self.url.source)
            .field(
                "headers",
                &self
                    .headers
                    .keys()
                    .map(HeaderName::as_str)
                    .collect::<Vec<_>>(),
            )
            .field("max_bytes", &self.max_bytes)
            .field("extract", &self.extract)
            .finish()
    }
}

/// The body template, parsed once.
#[derive(Debug, Clone)]
enum BodyNode {
    /// Numbers, booleans, null: sent as written.
    Fixed(serde_json::Value),
    Text(Template),
    Array(Vec<BodyNode>),
    Object(Vec<(String, BodyNode)>),
}

impl HttpTool {
    /// Checks the declaration: name, object schema, method, a URL template with a fixed
    /// http(s) origin whose placeholders name schema properties, valid headers, a body
    /// template whose placeholders name schema properties, limits and the JSON Pointer.
    pub fn new(spec: &HttpToolSpec) -> Result<HttpTool, ToolError> {
        let name = spec.name.as_str();
        check_name(name)?;
        check_object_schema(name, &spec.input_schema)?;
        let declaration = |message: String| ToolError::InvalidDeclaration {
            tool: name.to_owned(),
            message,
        };
        let method = match spec.method.to_ascii_uppercase().as_str() {
            "GET" => Method::GET,
            "POST" => Method::POST,
            "PUT" => Method::PUT,
            "PATCH" => Method::PATCH,
            "DELETE" => Method::DELETE,
            "HEAD" => Method::HEAD,
            other => {
                return Err(declaration(format!(
                    "method `{other}` is not supported; use GET, POST, PUT, PATCH, DELETE or HEAD"
                )));
            }
        };
        let known = schema_properties(&spec.input_schema);
        let url = Template::parse(&spec.url).map_err(&declaration)?;
        check_fields(&url, &known, "url").map_err(&declaration)?;
        let (host, port) = fixed_origin(&url).map_err(&declaration)?;

        let mut headers = HeaderMap::new();
        for (header, value) in &spec.headers {
            let header_name = HeaderName::from_bytes(header.as_bytes())
                .map_err(|_| declaration(format!("`{header}` is not a valid header name")))?;
            if matches!(
                header_name.as_str(),
                "host" | "content-length" | "transfer-encoding" | "connection"
            ) {
                return Err(declaration(format!(
                    "the `{header}` header is set by rein and cannot be declared"
                )));
            }
            let mut header_value = HeaderValue::from_str(value).map_err(|_| {
                declaration(format!(
                    "the value of header `{header}` is not valid (line breaks and control characters are not allowed)"
                ))
            })?;
            header_value.set_sensitive(true);
            headers.append(header_name, header_value);
        }

        let body = match &spec.body {
            None => None,
            Some(_) if matches!(method, Method::GET | Method::HEAD) => {
                return Err(declaration(format!(
                    "a {method} request has no body; remove `body` or use POST, PUT or PATCH"
                )));
            }
            Some(body) => Some(parse_body(body, &known).map_err(&declaration)?),
        };
        if spec.max_bytes == 0 || spec.max_bytes > HTTP_MAX_MAX_BYTES {
            return Err(declaration(format!(
                "max_bytes must be between 1 and {HTTP_MAX_MAX_BYTES}, not {}",
                spec.max_bytes
            )));
        }
        if spec.timeout.is_zero() {
            return Err(declaration("timeout must be more than 0".to_owned()));
        }
        if let Some(pointer) = &spec.extract
            && !pointer.is_empty()
            && !pointer.starts_with('/')
        {
            return Err(declaration(format!(
                "extract `{pointer}` is not a JSON Pointer; it starts with `/` (e.g. `/items/0/name`), or is empty for the whole document"
            )));
        }
        Ok(HttpTool {
            name: spec.name.clone(),
            description: spec.description.clone(),
            input_schema: spec.input_schema.clone(),
            method,
            url,
            host,
            port,
            headers,
            body,
            max_bytes: spec.max_bytes,
            timeout: spec.timeout,
            extract: spec.extract.clone(),
        })
    }

    /// The URL this call would fetch, or why the arguments are refused.
    pub fn render_url(&self, args: &serde_json::Value) -> Result<String, ToolError> {
        let place = format!("the url `{}`", self.url.source);
        let text = self.url.render(|field| {
            let value = required_argument(args, field, &place)?;
            let text = scalar_text(value).ok_or_else(|| {
                refused(format!(
                    "`{field}` must be a string, a number or a boolean to fill {place}"
                ))
            })?;
            Ok::<String, ToolError>(percent_encode(&text))
        })?;
        check_dot_segments(&text)?;
        let parsed = reqwest::Url::parse(&text)
            .map_err(|error| refused(format!("the filled url `{text}` is not valid: {error}")))?;
        let same_origin = parsed.host_str().map(str::to_ascii_lowercase).as_deref()
            == Some(self.host.as_str())
            && parsed.port_or_known_default() == Some(self.port);
        if !same_origin {
            return Err(refused(format!(
                "the filled url `{text}` does not go to {}:{}, the host of the template",
                self.host, self.port
            )));
        }
        Ok(text)
    }

    /// The JSON body this call would send.
    fn render_body(&self, args: &serde_json::Value) -> Result<Option<Vec<u8>>, ToolError> {
        let Some(body) = &self.body else {
            return Ok(None);
        };
        let value = render_node(body, args)?.unwrap_or(serde_json::Value::Null);
        serde_json::to_vec(&value)
            .map(Some)
            .map_err(|error| refused(format!("cannot serialise the body: {error}")))
    }

    fn extract_part(&self, pointer: &str, body: &[u8]) -> Result<String, ToolError> {
        let document: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
            refused(format!(
                "the response is not JSON ({error}), so extract `{pointer}` cannot be applied"
            ))
        })?;
        let part = document.pointer(pointer).ok_or_else(|| {
            refused(format!(
                "the JSON response has no value at `{pointer}` (extract)"
            ))
        })?;
        serde_json::to_string_pretty(part)
            .map_err(|error| refused(format!("cannot serialise the extracted value: {error}")))
    }
}

fn refused(message: String) -> ToolError {
    ToolError::InvalidInput { message }
}

/// Checks that the URL template starts with a fixed `http(s)://host[:port]` followed by
/// `/`, `?`, `#` or nothing, and returns the host (lowercase) and port.
fn fixed_origin(url: &Template) -> Result<(String, u16), String> {
    let source = &url.source;
    let first_literal = match url.segments.first() {
        Some(super::template::Segment::Literal(text)) => text.as_str(),
        _ => "",
    };
    let lowercase = first_literal.to_ascii_lowercase();
    let Some(rest_start) = ["http://", "https://"]
        .iter()
        .find(|scheme| lowercase.starts_with(*scheme))
        .map(|scheme| scheme.len())
    else {
        return Err(format!(
            "url `{source}` must start with a fixed `http://` or `https://`"
        ));
    };
    let rest = &first_literal[rest_start..];
    let authority_end = rest.find(['/', '?', '#']);
    if authority_end.is_none() && !url.is_literal() {
        return Err(format!(
            "url `{source}` fills its host part from an argument; the scheme, host and port must be fixed, with placeholders only after the first `/`, `?` or `#`"
        ));
    }
    let origin_text = &first_literal[..rest_start + authority_end.unwrap_or(rest.len())];
    let origin = reqwest::Url::parse(origin_text)
        .map_err(|error| format!("url `{source}` has an invalid host part: {error}"))?;
    let host = origin
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| format!("url `{source}` has no host"))?
        .to_ascii_lowercase();
    let port = origin
        .port_or_known_default()
        .ok_or_else(|| format!("url `{source}` has no port"))?;
    if !origin.username().is_empty() || origin.password().is_some() {
        return Err(format!(
            "url `{source}` holds credentials; put them in `headers` (which are never shown)"
        ));
    }
    Ok((host, port))
}

/// Percent-encodes every byte but the unreserved characters of RFC 3986.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Refuses a filled URL whose path has a `.` or `..` segment (URL parsing would remove
/// it, and with it part of the path the template fixed).
fn check_dot_segments(url: &str) -> Result<(), ToolError> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.split(['?', '#']).next().unwrap_or_default();
    let dot_segment = path.split('/').skip(1).any(|segment| {
        let lowercase = segment.to_ascii_lowercase();
        matches!(
            lowercase.as_str(),
            "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."
        )
    });
    if dot_segment {
        return Err(refused(format!(
            "the filled url `{url}` has a `.` or `..` path segment; a value may not move the request to another path"
        )));
    }
    Ok(())
}

fn parse_body(value: &serde_json::Value, known: &[String]) -> Result<BodyNode, String> {
    Ok(match value {
        serde_json::Value::String(text) => {
            let template = Template::parse(text)?;
            check_fields(&template, known, "body string")?;
            BodyNode::Text(template)
        }
        serde_json::Value::Array(items) => BodyNode::Array(
            items
                .iter()
                .map(|item| parse_body(item, known))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(members) => BodyNode::Object(
            members
                .iter()
                .map(|(key, member)| Ok((key.clone(), parse_body(member, known)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => BodyNode::Fixed(other.clone()),
    })
}

/// `None` when the node is exactly `{{ field }}` and the field is absent.
fn render_node(
    node: &BodyNode,
    args: &serde_json::Value,
) -> Result<Option<serde_json::Value>, ToolError> {
    Ok(Some(match node {
        BodyNode::Fixed(value) => value.clone(),
        BodyNode::Text(template) => {
            if let Some(field) = template.whole_field() {
                return Ok(args.get(field).cloned());
            }
            let place = format!("the body string `{}`", template.source);
            serde_json::Value::String(template.render(|field| {
                let value = required_argument(args, field, &place)?;
                Ok::<String, ToolError>(scalar_text(value).unwrap_or_else(|| value.to_string()))
            })?)
        }
        BodyNode::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|item| Ok(render_node(item, args)?.unwrap_or(serde_json::Value::Null)))
                .collect::<Result<_, ToolError>>()?,
        ),
        BodyNode::Object(members) => {
            let mut object = serde_json::Map::new();
            for (key, member) in members {
                if let Some(value) = render_node(member, args)? {
                    object.insert(key.clone(), value);
                }
            }
            serde_json::Value::Object(object)
        }
    }))
}

#[async_trait::async_trait]
impl Tool for HttpTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn input_schema(&self) -> &serde_json::Value {
        &self.input_schema
    }

    /// The filled URL (the template when the arguments are refused; the call then fails
    /// before any connection).
    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        let url = self
            .render_url(args)
            .unwrap_or_else(|_| self.url.source.clone());
        vec![ToolAction::Network(url)]
    }

    async fn call(
        &self,
        args: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let url_text = self.render_url(&args)?;
        let body = self.render_body(&args)?;
        let mut headers = self.headers.clone();
        if body.is_some() && !headers.contains_key(reqwest::header::CONTENT_TYPE) {
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let request = PreparedRequest {
            method: self.method.clone(),
            url_text,
            headers,
            body,
            timeout: self.timeout.min(ctx.timeout),
            max_bytes: self.max_bytes,
            cross_origin: CrossOriginHeaders::All,
        };
        let fetched = fetch_guarded(&self.name, request, ctx.network.as_ref()).await?;
        let failed = fetched.status.is_client_error() || fetched.status.is_server_error();
        let Some(pointer) = self.extract.as_deref().filter(|_| !failed) else {
            return Ok(format_response(
                &fetched.hops,
                fetched.version,
                fetched.status,
                &fetched.headers,
                &fetched.body,
                fetched.cut_at,
            ));
        };
        if let Some(max_bytes) = fetched.cut_at {
            return Err(refused(format!(
                "the response is longer than max_bytes ({max_bytes}), so extract `{pointer}` cannot be applied\nhint: the tool's max_bytes must be raised in the agent file"
            )));
        }
        let part = self.extract_part(pointer, &fetched.body)?;
        let mut content = String::new();
        for hop in &fetched.hops {
            content.push_str(hop);
            content.push('\n');
        }
        content.push_str(&format!("{:?} {}\n\n", fetched.version, fetched.status));
        content.push_str(&part);
        content.push('\n');
        Ok(ToolOutput::text(content))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use serde_json::json;

    fn spec(url: &str, body: Option<serde_json::Value>) -> HttpToolSpec {
        HttpToolSpec {
            name: "api".to_owned(),
            description: "d".to_owned(),
            input_schema: json!({
                "type": "object",
                "properties": {"id": {}, "q": {}, "tags": {}, "note": {}}
            }),
            method: "POST".to_owned(),
            url: url.to_owned(),
            headers: BTreeMap::from([("authorization".to_owned(), "Bearer s3cret".to_owned())]),
            body,
            max_bytes: 1000,
            timeout: Duration::from_secs(5),
            extract: None,
        }
    }

    fn url(template: &str, args: serde_json::Value) -> String {
        let tool = HttpTool::new(&spec(template, None)).unwrap();
        match tool.render_url(&args) {
            Ok(url) => url,
            Err(error) => format!("refused: {error}"),
        }
    }

    #[test]
    fn url_values_are_encoded_and_cannot_move_the_request() {
        assert_eq!(
            url(
                "https://api.example.com/items/{{ id }}?q={{ q }}",
                json!({"id": "a/b c", "q": "x&y=1#z"})
            ),
            "https://api.example.com/items/a%2Fb%20c?q=x%26y%3D1%23z"
        );
        assert_eq!(
            url(
                "https://api.example.com/items/{{ id }}/x",
                json!({"id": ".."})
            ),
            "refused: the filled url `https://api.example.com/items/../x` has a `.` or `..` path segment; a value may not move the request to another path"
        );
        assert_eq!(
            url("https://api.example.com/n/{{ id }}", json!({"id": 7})),
            "https://api.example.com/n/7"
        );
    }

    #[test]
    fn the_host_part_must_be_fixed() {
        let error = |template: &str| {
            HttpTool::new(&spec(template, None))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("https://{{ id }}.example.com/"),
            "tool `api` is declared wrong: url `https://{{ id }}.example.com/` fills its host part from an argument; the scheme, host and port must be fixed, with placeholders only after the first `/`, `?` or `#`"
        );
        assert!(error("https://api.example.com{{ id }}").contains("fills its host part"));
        assert!(error("{{ id }}").contains("must start with a fixed"));
        assert!(error("ftp://x/{{ id }}").contains("must start with a fixed"));
        assert!(error("https://u:p@x/").contains("holds credentials"));
    }

    #[test]
    fn debug_hides_header_values() {
        let tool = HttpTool::new(&spec("https://x.example/", None)).unwrap();
        let debug = format!("{tool:?}");
        assert!(debug.contains("authorization"), "{debug}");
        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn body_templates_take_json_values_or_interpolate() {
        let tool = HttpTool::new(&spec(
            "https://x.example/",
            Some(json!({"id": "{{ id }}", "tags": "{{ tags }}", "title": "Issue {{ id }}: {{ tags }}", "note": "{{ note }}", "n": 1})),
        ))
        .unwrap();
        let body = tool
            .render_body(&json!({"id": 5, "tags": ["a", "b"]}))
            .unwrap()
            .unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"id":5,"n":1,"tags":["a","b"],"title":"Issue 5: [\"a\",\"b\"]"}"#
        );
    }
}

//! What the mock answers, without IO: route a parsed request, check it like the real API
//! would, pick the scripted turn, apply the turn's faults, build the reply and record the
//! request.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rein_model::script::{Fault, Script, ScriptUsage, Turn};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::HttpRequest;
use crate::{ApiFormat, anthropic, default_tool_call_id, estimate_tokens, openai};

/// One request the mock received, as a test sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// 1 for the first request the server received, then 2, 3, …
    pub seq: u64,
    pub method: String,
    /// Path without the query string, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Header names in lowercase. Values are kept verbatim (API keys included).
    pub headers: BTreeMap<String, String>,
    /// The body as JSON; `Value::Null` when it was empty or not JSON.
    pub body: Value,
    /// The body as text (lossy UTF-8).
    pub body_text: String,
    /// The wire format of the endpoint, `None` for other paths.
    pub format: Option<ApiFormat>,
    /// Whether the body asked for a streamed answer.
    pub stream: bool,
    /// The script turn the request was mapped to; `None` when it was refused before that
    /// or the script was exhausted.
    pub turn: Option<usize>,
    /// HTTP status of the answer.
    pub status: u16,
    /// The error message sent back, for refusals and injected status faults.
    pub error: Option<String>,
    /// The fault served to this request, if any.
    pub fault: Option<Fault>,
}

impl RecordedRequest {
    /// A header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A refusal: an HTTP error status and a message for the provider's error body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejection {
    pub status: u16,
    pub message: String,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

impl Rejection {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Rejection {
            status: 400,
            message: message.into(),
            param: None,
            code: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
}

/// What the connection layer has to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// A response with a `Content-Length` body, cut after that many body bytes if asked.
    Body {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        cut_after_bytes: Option<usize>,
    },
    /// A `200` event stream, one entry per event, cut after that many body bytes if asked.
    EventStream {
        headers: Vec<(String, String)>,
        events: Vec<Vec<u8>>,
        cut_after_bytes: Option<usize>,
    },
}

/// A reply and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Planned {
    pub delay_ms: u64,
    pub reply: Reply,
}

/// One tool call of an answer, ready for a wire format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AnswerToolCall {
    pub id: String,
    pub name: String,
    /// Arguments exactly as the model sends them (may be malformed JSON).
    pub arguments_text: String,
}

/// The scripted answer to one request, provider-neutral.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    /// Response id (`chatcmpl-…` / `msg_…`).
    pub id: String,
    /// The model the request named.
    pub model: String,
    pub created_at_secs: u64,
    pub text: String,
    pub tool_calls: Vec<AnswerToolCall>,
    pub usage: ScriptUsage,
}

/// Split text the way a model streams it: short word-ish pieces of at most 6 characters,
/// spaces kept with the word before them.
pub(crate) fn text_pieces(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut piece = String::new();
    let mut n_chars = 0usize;
    let mut previous_was_space = false;
    for character in text.chars() {
        let starts_word = previous_was_space && !character.is_whitespace();
        if !piece.is_empty() && (n_chars == 6 || starts_word) {
            pieces.push(std::mem::take(&mut piece));
            n_chars = 0;
        }
        piece.push(character);
        n_chars += 1;
        previous_was_space = character.is_whitespace();
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// Split tool call arguments in fragments of at most 7 characters (never inside a
/// character), so a client must concatenate several deltas.
pub(crate) fn argument_pieces(arguments: &str) -> Vec<String> {
    let characters: Vec<char> = arguments.chars().collect();
    characters
        .chunks(7)
        .map(|chunk| chunk.iter().collect())
        .collect()
}

/// A JSON type name for error messages.
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Cut a text for an error message.
pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let head: String = text.chars().take(max_chars).collect();
        format!("{head}…")
    }
}

struct Inner {
    n_requests: u64,
    /// Requests that reached each turn (fault counters).
    n_hits_by_turn: Vec<u32>,
    recorded: Vec<RecordedRequest>,
}

/// The server's shared state: the script, fault counters and the request log.
pub(crate) struct MockState {
    script: Script,
    inner: Mutex<Inner>,
}

impl MockState {
    pub fn new(script: Script) -> Self {
        let n_turns = script.turns.len();
        MockState {
            script,
            inner: Mutex::new(Inner {
                n_requests: 0,
                n_hits_by_turn: vec![0; n_turns],
                recorded: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every API request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().recorded.clone()
    }

    /// Answer one request (and record it unless it is a `/__mock/` request).
    pub fn handle(&self, request: &HttpRequest) -> Planned {
        let format = match request.path.as_str() {
            "/v1/chat/completions" | "/chat/completions" => Some(ApiFormat::OpenAi),
            "/v1/messages" => Some(ApiFormat::Anthropic),
            _ => None,
        };
        if request.path == "/__mock/requests" {
            return self.handle_mock_requests(request);
        }
        let seq = {
            let mut inner = self.lock();
            inner.n_requests += 1;
            inner.n_requests
        };
        let body_text = String::from_utf8_lossy(&request.body).into_owned();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut record = RecordedRequest {
            seq,
            method: request.method.clone(),
            path: request.path.clone(),
            headers: request.headers.iter().cloned().collect(),
            stream: body.get("stream") == Some(&Value::Bool(true)),
            body,
            body_text,
            format,
            turn: None,
            status: 200,
            error: None,
            fault: None,
        };
        let planned = match format {
            None => {
                let (status, message) = (
                    404,
                    format!(
                        "unknown path {} {}: the mock serves POST /v1/chat/completions, POST /v1/messages and GET /__mock/requests",
                        request.method, request.path
                    ),
                );
                record.status = status;
                record.error = Some(message.clone());
                let error_format = if request.header("x-api-key").is_some()
                    || request.header("anthropic-version").is_some()
                {
                    ApiFormat::Anthropic
                } else {
                    ApiFormat::OpenAi
                };
                rejection_reply(
                    error_format,
                    &Rejection {
                        status,
                        message,
                        param: None,
                        code: None,
                    },
                    None,
                )
            }
            Some(format) if request.method != "POST" => {
                let rejection = Rejection {
                    status: 405,
                    message: format!(
                        "method {} not allowed on {}: use POST",
                        request.method, request.path
                    ),
                    param: None,
                    code: None,
                };
                record.status = 405;
                record.error = Some(rejection.message.clone());
                rejection_reply(format, &rejection, None)
            }
            Some(format) => self.handle_api(format, request, &mut record),
        };
        self.lock().recorded.push(record);
        planned
    }

    fn handle_mock_requests(&self, request: &HttpRequest) -> Planned {
        let (status, body) = if request.method == "GET" {
            let recorded = self.requests();
            (
                200,
                serde_json::to_vec(&recorded).unwrap_or_else(|_| b"[]".to_vec()),
            )
        } else {
            (
                405,
                serde_json::to_vec(&serde_json::json!({
                    "error": { "message": "use GET /__mock/requests", "type": "invalid_request_error" }
                }))
                .unwrap_or_default(),
            )
        };
        Planned {
            delay_ms: 0,
            reply: Reply::Body {
                status,
                headers: vec![("content-type".to_string(), "application/json".to_string())],
                body,
                cut_after_bytes: None,
            },
        }
    }

    fn handle_api(
        &self,
        format: ApiFormat,
        request: &HttpRequest,
        record: &mut RecordedRequest,
    ) -> Planned {
        match self.answer_api(format, request, record) {
            Ok(planned) => planned,
            Err(rejection) => {
                record.status = rejection.status;
                record.error = Some(rejection.message.clone());
                rejection_reply(format, &rejection, None)
            }
        }
    }

    fn answer_api(
        &self,
        format: ApiFormat,
        request: &HttpRequest,
        record: &mut RecordedRequest,
    ) -> Result<Planned, Rejection> {
        match format {
            ApiFormat::OpenAi => openai::check_headers(request)?,
            ApiFormat::Anthropic => anthropic::check_headers(request)?,
        }
        let body: Value = serde_json::from_slice(&request.body).map_err(|err| {
            Rejection::bad_request(format!(
                "the request body is not valid JSON: {err} (the API expects a JSON object)"
            ))
        })?;
        if !body.is_object() {
            return Err(Rejection::bad_request(format!(
                "the request body must be a JSON object, got {}",
                json_type_name(&body)
            )));
        }
        match format {
            ApiFormat::OpenAi => openai::validate(&body)?,
            ApiFormat::Anthropic => anthropic::validate(&body)?,
        }
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let n_assistant_messages = messages
            .iter()
            .filter(|message| message.get("role").and_then(Value::as_str) == Some("assistant"))
            .count();
        let Some(turn) = self.script.turn(n_assistant_messages) else {
            return Err(Rejection::bad_request(format!(
                "mock script exhausted: request has {n_assistant_messages} assistant messages, script has {} turns",
                self.script.turns.len()
            )));
        };
        let turn_idx = n_assistant_messages;
        record.turn = Some(turn_idx);
        if let Some(expected) = turn
            .expect
            .as_ref()
            .and_then(|expect| expect.last_message_contains.as_ref())
        {
            let last_text = match format {
                ApiFormat::OpenAi => openai::last_message_text(&messages),
                ApiFormat::Anthropic => anthropic::last_message_text(&messages),
            };
            if !last_text.contains(expected.as_str()) {
                return Err(Rejection::bad_request(format!(
                    "mock script expectation failed at turn {turn_idx}: expected the last message to contain {expected:?}, got {:?}",
                    shorten(&last_text, 500)
                )));
            }
        }
        let fault = self.next_fault(turn_idx, turn);
        record.fault = fault.clone();
        let delay_ms = fault.as_ref().and_then(|fault| fault.delay_ms).unwrap_or(0);
        if let Some(status) = fault.as_ref().and_then(|fault| fault.status) {
            let message = fault
                .as_ref()
                .and_then(|fault| fault.message.clone())
                .unwrap_or_else(|| default_fault_message(status).to_string());
            let rejection = Rejection {
                status,
                message,
                param: None,
                code: (format == ApiFormat::OpenAi && status == 429)
                    .then_some("rate_limit_exceeded"),
            };
            record.status = status;
            record.error = Some(rejection.message.clone());
            let mut planned = rejection_reply(
                format,
                &rejection,
                fault.as_ref().and_then(|fault| fault.retry_after),
            );
            planned.delay_ms = delay_ms;
            return Ok(planned);
        }
        let cut_after_bytes = fault
            .as_ref()
            .and_then(|fault| fault.cut_stream_after_bytes);
        let answer = self.answer(format, turn_idx, turn, &body, record.seq);
        let stream = record.stream;
        let reply = match (format, stream) {
            (ApiFormat::OpenAi, false) => {
                json_reply(200, &openai::completion(&answer), cut_after_bytes)
            }
            (ApiFormat::Anthropic, false) => {
                json_reply(200, &anthropic::message(&answer), cut_after_bytes)
            }
            (ApiFormat::OpenAi, true) => {
                let include_usage = body
                    .pointer("/stream_options/include_usage")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                Reply::EventStream {
                    headers: event_stream_headers(),
                    events: openai::stream_events(&answer, include_usage),
                    cut_after_bytes,
                }
            }
            (ApiFormat::Anthropic, true) => Reply::EventStream {
                headers: event_stream_headers(),
                events: anthropic::stream_events(&answer),
                cut_after_bytes,
            },
        };
        Ok(Planned { delay_ms, reply })
    }

    /// The fault for the next request reaching `turn_idx`, counting this one.
    fn next_fault(&self, turn_idx: usize, turn: &Turn) -> Option<Fault> {
        let hit_idx = {
            let mut inner = self.lock();
            let counter = inner.n_hits_by_turn.get_mut(turn_idx)?;
            let hit_idx = *counter;
            *counter = counter.saturating_add(1);
            hit_idx
        };
        let mut first_hit_of_fault = 0u32;
        for fault in &turn.faults {
            let end = first_hit_of_fault.saturating_add(fault.times);
            if hit_idx < end {
                return Some(fault.clone());
            }
            first_hit_of_fault = end;
        }
        None
    }

    fn answer(
        &self,
        format: ApiFormat,
        turn_idx: usize,
        turn: &Turn,
        body: &Value,
        seq: u64,
    ) -> Answer {
        let tool_calls: Vec<AnswerToolCall> = turn
            .tool_calls
            .iter()
            .enumerate()
            .map(|(call_idx, call)| AnswerToolCall {
                id: call
                    .id
                    .clone()
                    .unwrap_or_else(|| default_tool_call_id(format, turn_idx, call_idx)),
                name: call.name.clone(),
                arguments_text: call.arguments_text(),
            })
            .collect();
        let usage = turn.usage.unwrap_or_else(|| {
            let mut input_text = String::new();
            for key in ["system", "messages", "tools"] {
                if let Some(value) = body.get(key) {
                    input_text.push_str(&value.to_string());
                }
            }
            let mut output_text = turn.text.clone();
            for call in &tool_calls {
                output_text.push_str(&call.name);
                output_text.push_str(&call.arguments_text);
            }
            ScriptUsage {
                input_tokens: estimate_tokens(&input_text),
                output_tokens: estimate_tokens(&output_text),
                cache_read_tokens: 0,
                cache_write_tokens: 0,
            }
        });
        let created_at_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or(0);
        Answer {
            id: match format {
                ApiFormat::OpenAi => format!("chatcmpl-mock{seq}"),
                ApiFormat::Anthropic => format!("msg_mock{seq}"),
            },
            model: body
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            created_at_secs,
            text: turn.text.clone(),
            tool_calls,
            usage,
        }
    }
}

fn default_fault_message(status: u16) -> &'static str {
    match status {
        429 => "Rate limit reached for requests. Please try again later.",
        500 => "The server had an error while processing your request.",
        502 => "Bad gateway.",
        503 => "The service is temporarily unavailable, please try again later.",
        504 => "Gateway timeout.",
        529 => "Overloaded",
        _ => "injected error",
    }
}

fn event_stream_headers() -> Vec<(String, String)> {
    vec![
        (
            "content-type".to_string(),
            "text/event-stream; charset=utf-8".to_string(),
        ),
        ("cache-control".to_string(), "no-cache".to_string()),
    ]
}

fn json_reply(status: u16, body: &Value, cut_after_bytes: Option<usize>) -> Reply {
    Reply::Body {
        status,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        body: body.to_string().into_bytes(),
        cut_after_bytes,
    }
}

/// An error answer in the format's error shape.
fn rejection_reply(
    format: ApiFormat,
    rejection: &Rejection,
    retry_after_secs: Option<u64>,
) -> Planned {
    let body = match format {
        ApiFormat::OpenAi => openai::error_body(rejection),
        ApiFormat::Anthropic => anthropic::error_body(rejection),
    };
    let mut reply = json_reply(rejection.status, &body, None);
    if let (Reply::Body { headers, .. }, Some(seconds)) = (&mut reply, retry_after_secs) {
        headers.push(("retry-after".to_string(), seconds.to_string()));
    }
    Planned { delay_ms: 0, reply }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_pieces_are_short_and_rejoin() {
        let text = "Hello wonderful world, ça va?";
        let pieces = text_pieces(text);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.len() > 4);
        assert!(pieces.iter().all(|piece| piece.chars().count() <= 6));
        assert_eq!(pieces[0], "Hello ");
        assert!(text_pieces("").is_empty());
    }

    #[test]
    fn argument_pieces_split_on_characters() {
        let arguments = r#"{"path":"é/ü.txt"}"#;
        let pieces = argument_pieces(arguments);
        assert_eq!(pieces.concat(), arguments);
        assert!(pieces.len() >= 3);
    }

    #[test]
    fn faults_are_served_in_order_then_the_turn_plays() {
        let script = Script::parse(
            r#"
            [[turns]]
            text = "ok"
            faults = [{ status = 500, times = 2 }, { status = 429 }]
            "#,
            false,
        )
        .unwrap();
        let state = MockState::new(script);
        let turn = state.script.turns[0].clone();
        let statuses: Vec<Option<u16>> = (0..5)
            .map(|_| state.next_fault(0, &turn).and_then(|fault| fault.status))
            .collect();
        assert_eq!(statuses, vec![Some(500), Some(500), Some(429), None, None]);
    }
}

//! Anthropic Messages JSON, and its hand-written conversion to and from rein's types.
//! Private to the provider.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::retry::{AttemptError, is_context_length_error};
use crate::{EventSink, FinishReason, Message, ModelEvent, Request, Response, ToolCall, Usage};

// ------------------------------------------------------------------------------ request

#[derive(Debug, Serialize)]
pub(super) struct MessagesRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: Vec<WireMessage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    stream: bool,
}

#[derive(Debug, PartialEq, Serialize)]
struct WireMessage {
    role: &'static str,
    content: Vec<ContentBlock>,
}

#[derive(Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ContentBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

#[derive(Debug, Serialize)]
struct WireTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
}

/// The `input` object of a tool_use block from the arguments text the model produced.
/// Empty arguments are `{}`; arguments that are not a JSON object (the model sent broken
/// JSON) are also sent as `{}`, since the API only takes objects.
fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(value @ Value::Object(_)) => value,
        _ => Value::Object(serde_json::Map::new()),
    }
}

/// Append blocks to the conversation, merging consecutive messages of one role (the API
/// wants user and assistant turns to alternate; tool results of one turn go in ONE user
/// message, and a following user text joins them after the results).
fn push_blocks(messages: &mut Vec<WireMessage>, role: &'static str, blocks: Vec<ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.extend(blocks),
        _ => messages.push(WireMessage {
            role,
            content: blocks,
        }),
    }
}

/// A text block, or nothing for text the API would refuse (empty or only whitespace).
fn text_block(text: &str) -> Option<ContentBlock> {
    (!text.trim().is_empty()).then(|| ContentBlock::Text {
        text: text.to_string(),
    })
}

/// Build the request body.
pub(super) fn messages_request<'a>(
    model: &'a str,
    request: &'a Request,
    temperature: Option<f32>,
    stream: bool,
) -> MessagesRequest<'a> {
    let mut messages: Vec<WireMessage> = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        match message {
            Message::User { content } => push_blocks(
                &mut messages,
                "user",
                text_block(content).into_iter().collect(),
            ),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks: Vec<ContentBlock> = text_block(content).into_iter().collect();
                blocks.extend(tool_calls.iter().map(|call| ContentBlock::ToolUse {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    input: tool_input(&call.arguments),
                }));
                push_blocks(&mut messages, "assistant", blocks);
            }
            Message::Tool {
                tool_call_id,
                content,
                is_error,
                ..
            } => push_blocks(
                &mut messages,
                "user",
                vec![ContentBlock::ToolResult {
                    tool_use_id: tool_call_id.clone(),
                    content: (!content.is_empty()).then(|| content.clone()),
                    is_error: *is_error,
                }],
            ),
        }
    }
    MessagesRequest {
        model,
        max_tokens: request.max_output_tokens,
        system: (!request.system.trim().is_empty()).then_some(request.system.as_str()),
        messages,
        tools: request
            .tools
            .iter()
            .map(|tool| WireTool {
                name: &tool.name,
                description: &tool.description,
                input_schema: &tool.input_schema,
            })
            .collect(),
        temperature,
        stream,
    }
}

// ------------------------------------------------------------------------------ response

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Later numbers (message_delta) replace earlier ones (message_start) field by field.
    fn merge(&mut self, later: &WireUsage) {
        self.input_tokens = later.input_tokens.or(self.input_tokens);
        self.output_tokens = later.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = later
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = later
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }

    /// rein's `input_tokens` counts ALL input: Anthropic's uncached input plus cache reads
    /// and cache writes.
    fn to_usage(self) -> Usage {
        let cache_read_tokens = self.cache_read_input_tokens.unwrap_or(0);
        let cache_write_tokens = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0) + cache_read_tokens + cache_write_tokens,
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_read_tokens,
            cache_write_tokens,
        }
    }
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

fn finish_reason(stop_reason: Option<&str>) -> FinishReason {
    match stop_reason {
        Some("end_turn" | "stop_sequence") => FinishReason::Stop,
        Some("tool_use") => FinishReason::ToolCalls,
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("refusal") => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

fn input_text(input: Option<&Value>) -> String {
    match input {
        Some(value @ Value::Object(map)) if !map.is_empty() => value.to_string(),
        _ => "{}".to_string(),
    }
}

fn str_field<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get(key).and_then(Value::as_str)
}

/// Parse a non-streaming answer.
pub(super) fn parse_message(body: &[u8], requested_model: &str) -> Result<Response, AttemptError> {
    let message: WireResponse =
        serde_json::from_slice(body).map_err(|err| AttemptError::Invalid {
            message: format!("message is not valid: {err}"),
        })?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in &message.content {
        match str_field(block, "type") {
            Some("text") => text.push_str(str_field(block, "text").unwrap_or_default()),
            Some("tool_use") => tool_calls.push(ToolCall {
                id: str_field(block, "id").unwrap_or_default().to_string(),
                name: str_field(block, "name").unwrap_or_default().to_string(),
                arguments: input_text(block.get("input")),
            }),
            _ => {}
        }
    }
    Ok(Response {
        text,
        tool_calls,
        finish_reason: finish_reason(message.stop_reason.as_deref()),
        usage: message.usage.to_usage(),
        cost_usd: None,
        model: message.model.unwrap_or_else(|| requested_model.to_string()),
        attempts: 0,
    })
}

// ------------------------------------------------------------------------------ streaming

#[derive(Debug)]
enum PartialBlock {
    Text,
    ToolUse {
        id: String,
        name: String,
        json: String,
        initial_input: Option<Value>,
    },
    Other,
}

/// Builds one [`Response`] from the events of a stream.
#[derive(Debug, Default)]
pub(super) struct StreamAssembler {
    model: Option<String>,
    text: String,
    blocks: Vec<(u64, PartialBlock)>,
    stop_reason: Option<String>,
    usage: WireUsage,
    stopped: bool,
}

impl StreamAssembler {
    /// Take one SSE event (`event:` name and `data:` payload). Returns `true` at
    /// `message_stop`.
    pub fn on_event(
        &mut self,
        event_name: &str,
        data: &str,
        events: EventSink<'_>,
    ) -> Result<bool, AttemptError> {
        if data.trim().is_empty() {
            return Ok(false);
        }
        let payload: Value = serde_json::from_str(data).map_err(|err| AttemptError::Invalid {
            message: format!("stream event `{event_name}` is not valid json: {err}"),
        })?;
        let kind = str_field(&payload, "type").unwrap_or(event_name);
        match kind {
            "message_start" => {
                let message = payload.get("message");
                if let Some(model) = message.and_then(|m| str_field(m, "model")) {
                    self.model = Some(model.to_string());
                }
                if let Some(usage) = message.and_then(|m| m.get("usage")) {
                    self.usage.merge(&parse_usage(usage)?);
                }
            }
            "content_block_start" => {
                let index = index_of(&payload)?;
                let block = payload.get("content_block");
                let partial = match block.and_then(|b| str_field(b, "type")) {
                    Some("text") => {
                        let initial = block.and_then(|b| str_field(b, "text")).unwrap_or_default();
                        self.push_text(initial, events);
                        PartialBlock::Text
                    }
                    Some("tool_use") => {
                        let name = block
                            .and_then(|b| str_field(b, "name"))
                            .unwrap_or_default()
                            .to_string();
                        events(ModelEvent::ToolCallStarted { name: name.clone() });
                        PartialBlock::ToolUse {
                            id: block
                                .and_then(|b| str_field(b, "id"))
                                .unwrap_or_default()
                                .to_string(),
                            name,
                            json: String::new(),
                            initial_input: block.and_then(|b| b.get("input")).cloned(),
                        }
                    }
                    _ => PartialBlock::Other,
                };
                self.blocks.push((index, partial));
            }
            "content_block_delta" => {
                let index = index_of(&payload)?;
                let delta = payload.get("delta");
                match delta.and_then(|d| str_field(d, "type")) {
                    Some("text_delta") => {
                        let text = delta.and_then(|d| str_field(d, "text")).unwrap_or_default();
                        self.push_text(text, events);
                    }
                    Some("input_json_delta") => {
                        let piece = delta
                            .and_then(|d| str_field(d, "partial_json"))
                            .unwrap_or_default();
                        match self.blocks.iter_mut().rev().find(|(i, _)| *i == index) {
                            Some((_, PartialBlock::ToolUse { json, .. })) => json.push_str(piece),
                            _ => {
                                return Err(AttemptError::Invalid {
                                    message: format!(
                                        "input_json_delta for block {index}, which is not a tool_use block"
                                    ),
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = payload
                    .get("delta")
                    .and_then(|d| str_field(d, "stop_reason"))
                {
                    self.stop_reason = Some(reason.to_string());
                }
                if let Some(usage) = payload.get("usage") {
                    self.usage.merge(&parse_usage(usage)?);
                }
            }
            "message_stop" => {
                self.stopped = true;
                return Ok(true);
            }
            "error" => return Err(stream_error(payload.get("error").unwrap_or(&payload))),
            // ping, content_block_stop and event types added later
            _ => {}
        }
        Ok(false)
    }

    fn push_text(&mut self, text: &str, events: EventSink<'_>) {
        if !text.is_empty() {
            self.text.push_str(text);
            events(ModelEvent::TextDelta(text.to_string()));
        }
    }

    /// The response, once the stream ended; without `message_stop` it was cut short.
    pub fn finish(self, requested_model: &str) -> Result<Response, AttemptError> {
        if !self.stopped {
            return Err(AttemptError::Transport {
                message: "stream ended before message_stop".to_string(),
            });
        }
        let tool_calls = self
            .blocks
            .into_iter()
            .filter_map(|(_, block)| match block {
                PartialBlock::ToolUse {
                    id,
                    name,
                    json,
                    initial_input,
                } => Some(ToolCall {
                    id,
                    name,
                    arguments: if json.trim().is_empty() {
                        input_text(initial_input.as_ref())
                    } else {
                        json
                    },
                }),
                PartialBlock::Text | PartialBlock::Other => None,
            })
            .collect();
        Ok(Response {
            text: self.text,
            tool_calls,
            finish_reason: finish_reason(self.stop_reason.as_deref()),
            usage: self.usage.to_usage(),
            cost_usd: None,
            model: self.model.unwrap_or_else(|| requested_model.to_string()),
            attempts: 0,
        })
    }
}

fn index_of(payload: &Value) -> Result<u64, AttemptError> {
    payload
        .get("index")
        .and_then(Value::as_u64)
        .ok_or_else(|| AttemptError::Invalid {
            message: format!(
                "stream event without an index: {}",
                payload.to_string().chars().take(200).collect::<String>()
            ),
        })
}

fn parse_usage(value: &Value) -> Result<WireUsage, AttemptError> {
    WireUsage::deserialize(value).map_err(|err| AttemptError::Invalid {
        message: format!("usage is not valid: {err}"),
    })
}

/// An `error` event inside the stream, classified like the HTTP status it stands for.
fn stream_error(error: &Value) -> AttemptError {
    let kind = str_field(error, "type").unwrap_or("api_error");
    let message = str_field(error, "message").unwrap_or(kind).to_string();
    let status = match kind {
        "overloaded_error" => 529,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        _ => 500,
    };
    AttemptError::Status {
        status,
        context_length: is_context_length_error(None, &message),
        message: format!("error inside the stream ({kind}): {message}"),
        retry_after: None,
        should_retry: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolSpec;
    use crate::sse::SseParser;
    use serde_json::json;

    #[test]
    fn request_body_has_the_anthropic_shape() {
        let request = Request {
            system: "be brief".into(),
            messages: vec![
                Message::User {
                    content: "list files".into(),
                },
                Message::Assistant {
                    content: "Looking.".into(),
                    tool_calls: vec![
                        ToolCall {
                            id: "toolu_a".into(),
                            name: "ls".into(),
                            arguments: String::new(),
                        },
                        ToolCall {
                            id: "toolu_b".into(),
                            name: "cat".into(),
                            arguments: r#"{"path":"x"}"#.into(),
                        },
                    ],
                },
                Message::Tool {
                    tool_call_id: "toolu_a".into(),
                    name: "ls".into(),
                    content: "x".into(),
                    is_error: false,
                },
                Message::Tool {
                    tool_call_id: "toolu_b".into(),
                    name: "cat".into(),
                    content: "boom".into(),
                    is_error: true,
                },
                Message::User {
                    content: "go on".into(),
                },
                Message::Assistant {
                    content: " ".into(),
                    tool_calls: vec![ToolCall {
                        id: "toolu_c".into(),
                        name: "ls".into(),
                        arguments: "{not json".into(),
                    }],
                },
                Message::Tool {
                    tool_call_id: "toolu_c".into(),
                    name: "ls".into(),
                    content: String::new(),
                    is_error: false,
                },
            ],
            tools: vec![ToolSpec {
                name: "ls".into(),
                description: "list".into(),
                input_schema: json!({"type": "object"}),
            }],
            max_output_tokens: 256,
            temperature: None,
        };
        let body = serde_json::to_value(messages_request(
            "claude-sonnet-4-5",
            &request,
            Some(0.0),
            true,
        ))
        .unwrap();
        assert_eq!(
            body,
            json!({
                "model": "claude-sonnet-4-5",
                "max_tokens": 256,
                "system": "be brief",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "list files"}]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "Looking."},
                        {"type": "tool_use", "id": "toolu_a", "name": "ls", "input": {}},
                        {"type": "tool_use", "id": "toolu_b", "name": "cat", "input": {"path": "x"}}
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_a", "content": "x"},
                        {"type": "tool_result", "tool_use_id": "toolu_b", "content": "boom", "is_error": true},
                        {"type": "text", "text": "go on"}
                    ]},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_c", "name": "ls", "input": {}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_c"}]}
                ],
                "tools": [{"name": "ls", "description": "list", "input_schema": {"type": "object"}}],
                "temperature": 0.0,
                "stream": true
            })
        );
    }

    #[test]
    fn non_streaming_answer_counts_all_input_tokens() {
        let body = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": [
                {"type": "text", "text": "I will look."},
                {"type": "tool_use", "id": "toolu_1", "name": "ls", "input": {"path": "."}},
                {"type": "tool_use", "id": "toolu_2", "name": "pwd", "input": {}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 30, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 1000}
        });
        let response = parse_message(body.to_string().as_bytes(), "claude-sonnet-4-5").unwrap();
        assert_eq!(response.text, "I will look.");
        assert_eq!(
            response.tool_calls,
            vec![
                ToolCall {
                    id: "toolu_1".into(),
                    name: "ls".into(),
                    arguments: r#"{"path":"."}"#.into()
                },
                ToolCall {
                    id: "toolu_2".into(),
                    name: "pwd".into(),
                    arguments: "{}".into()
                },
            ]
        );
        assert_eq!(response.finish_reason, FinishReason::ToolCalls);
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 1210,
                output_tokens: 30,
                cache_read_tokens: 1000,
                cache_write_tokens: 200
            }
        );
    }

    fn play(sse: &str, piece_len: usize) -> (Result<Response, AttemptError>, Vec<ModelEvent>) {
        let mut parser = SseParser::default();
        let mut assembler = StreamAssembler::default();
        let mut seen = Vec::new();
        let mut sink = |event: ModelEvent| seen.push(event);
        'outer: for piece in sse.as_bytes().chunks(piece_len) {
            for event in parser.push(piece) {
                match assembler.on_event(&event.event, &event.data, &mut sink) {
                    Ok(true) => break 'outer,
                    Ok(false) => {}
                    Err(error) => return (Err(error), seen),
                }
            }
        }
        (assembler.finish("requested"), seen)
    }

    const STREAM: &str = concat!(
        "event: message_start\n",
        "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-haiku-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":100}}}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking \"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"é.\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_a\",\"name\":\"cat\",\"input\":{}}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"path\\\":\"}}\n\n",
        "event: content_block_delta\n",
        "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"a\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\n",
        "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_b\",\"name\":\"pwd\",\"input\":{}}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: message_delta\n",
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    #[test]
    fn streamed_blocks_are_assembled_whatever_the_chunking() {
        for piece_len in [1, 7, 64, STREAM.len()] {
            let (response, events) = play(STREAM, piece_len);
            let response = response.unwrap();
            assert_eq!(response.text, "Checking é.");
            assert_eq!(
                response.tool_calls,
                vec![
                    ToolCall {
                        id: "toolu_a".into(),
                        name: "cat".into(),
                        arguments: r#"{"path":"a"}"#.into()
                    },
                    ToolCall {
                        id: "toolu_b".into(),
                        name: "pwd".into(),
                        arguments: "{}".into()
                    },
                ]
            );
            assert_eq!(response.finish_reason, FinishReason::ToolCalls);
            assert_eq!(
                response.usage,
                Usage {
                    input_tokens: 130,
                    output_tokens: 42,
                    cache_read_tokens: 100,
                    cache_write_tokens: 5
                }
            );
            assert_eq!(response.model, "claude-haiku-4-5");
            assert_eq!(
                events,
                vec![
                    ModelEvent::TextDelta("Checking ".into()),
                    ModelEvent::TextDelta("é.".into()),
                    ModelEvent::ToolCallStarted { name: "cat".into() },
                    ModelEvent::ToolCallStarted { name: "pwd".into() },
                ]
            );
        }
    }

    #[test]
    fn a_stream_without_message_stop_is_a_transport_error() {
        let cut = &STREAM[..STREAM.find("event: message_stop").unwrap()];
        let (response, _) = play(cut, 9);
        assert!(
            matches!(response, Err(AttemptError::Transport { .. })),
            "{response:?}"
        );
    }

    #[test]
    fn an_overloaded_error_event_is_retryable_like_a_529() {
        let sse = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        let (response, _) = play(sse, 3);
        assert!(
            matches!(
                response,
                Err(AttemptError::Status {
                    status: 529,
                    context_length: false,
                    ..
                })
            ),
            "{response:?}"
        );
    }
}

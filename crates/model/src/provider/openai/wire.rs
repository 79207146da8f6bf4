//! OpenAI Chat Completions JSON, and its hand-written conversion to and from rein's types.
//! Private to the provider.

use serde::{Deserialize, Serialize};

use crate::retry::{AttemptError, is_context_length_error};
use crate::{EventSink, FinishReason, Message, ModelEvent, Request, Response, ToolCall, Usage};

// ------------------------------------------------------------------------------ request

#[derive(Debug, Serialize)]
pub(super) struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Debug, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
enum WireMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: &'a str,
    },
    Assistant {
        /// `null` when the message only holds tool calls.
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireToolCall<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

#[derive(Debug, Serialize)]
struct WireToolCall<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunctionCall<'a>,
}

#[derive(Debug, Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Debug, Serialize)]
struct WireTool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: WireFunction<'a>,
}

#[derive(Debug, Serialize)]
struct WireFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a serde_json::Value,
}

/// How the output limit is named: `max_completion_tokens` (api.openai.com) or the older
/// `max_tokens` most compatible servers know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MaxTokensField {
    MaxCompletionTokens,
    MaxTokens,
}

/// Build the request body.
pub(super) fn chat_request<'a>(
    model: &'a str,
    request: &'a Request,
    max_tokens_field: MaxTokensField,
    temperature: Option<f32>,
    stream: bool,
) -> ChatRequest<'a> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if !request.system.is_empty() {
        messages.push(WireMessage::System {
            content: &request.system,
        });
    }
    for message in &request.messages {
        messages.push(match message {
            Message::User { content } => WireMessage::User { content },
            Message::Assistant {
                content,
                tool_calls,
            } => WireMessage::Assistant {
                content: if content.is_empty() && !tool_calls.is_empty() {
                    None
                } else {
                    Some(content)
                },
                tool_calls: tool_calls
                    .iter()
                    .map(|call| WireToolCall {
                        id: &call.id,
                        kind: "function",
                        function: WireFunctionCall {
                            name: &call.name,
                            arguments: &call.arguments,
                        },
                    })
                    .collect(),
            },
            Message::Tool {
                tool_call_id,
                content,
                ..
            } => WireMessage::Tool {
                tool_call_id,
                content,
            },
        });
    }
    let tools = request
        .tools
        .iter()
        .map(|tool| WireTool {
            kind: "function",
            function: WireFunction {
                name: &tool.name,
                description: &tool.description,
                parameters: &tool.input_schema,
            },
        })
        .collect();
    let max_output_tokens = Some(request.max_output_tokens);
    ChatRequest {
        model,
        messages,
        tools,
        max_completion_tokens: max_output_tokens
            .filter(|_| max_tokens_field == MaxTokensField::MaxCompletionTokens),
        max_tokens: max_output_tokens.filter(|_| max_tokens_field == MaxTokensField::MaxTokens),
        temperature,
        stream,
        stream_options: stream.then_some(StreamOptions {
            include_usage: true,
        }),
    }
}

// ------------------------------------------------------------------------------ response

#[derive(Debug, Deserialize)]
struct ChatCompletion {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ResponseToolCall>>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ResponseToolCall {
    #[serde(default)]
    id: Option<String>,
    function: ResponseFunction,
}

#[derive(Debug, Deserialize)]
struct ResponseFunction {
    name: String,
    /// A JSON string on the OpenAI wire; some compatible servers send an object.
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Debug, Default, Deserialize)]
struct PromptTokensDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl WireUsage {
    fn to_usage(&self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens.unwrap_or(0),
            output_tokens: self.completion_tokens.unwrap_or(0),
            cache_read_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write_tokens: 0,
        }
    }
}

fn finish_reason(reason: Option<&str>, has_tool_calls: bool) -> FinishReason {
    match reason {
        // Some compatible servers (Ollama) say `stop` after tool calls.
        Some("stop") | None if has_tool_calls => FinishReason::ToolCalls,
        Some("stop") => FinishReason::Stop,
        Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
        Some("length") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

fn arguments_text(arguments: Option<serde_json::Value>) -> String {
    match arguments {
        Some(serde_json::Value::String(text)) => text,
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// Parse a non-streaming answer.
pub(super) fn parse_completion(
    body: &[u8],
    requested_model: &str,
) -> Result<Response, AttemptError> {
    let completion: ChatCompletion =
        serde_json::from_slice(body).map_err(|err| AttemptError::Invalid {
            message: format!("chat completion is not valid: {err}"),
        })?;
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err(AttemptError::Invalid {
            message: "chat completion has no choices".to_string(),
        });
    };
    let tool_calls: Vec<ToolCall> = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, call)| ToolCall {
            id: call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("call_{index}")),
            name: call.function.name,
            arguments: arguments_text(call.function.arguments),
        })
        .collect();
    let text = choice
        .message
        .content
        .or(choice.message.refusal)
        .unwrap_or_default();
    Ok(Response {
        finish_reason: finish_reason(choice.finish_reason.as_deref(), !tool_calls.is_empty()),
        text,
        tool_calls,
        usage: completion.usage.unwrap_or_default().to_usage(),
        cost_usd: None,
        model: completion
            .model
            .unwrap_or_else(|| requested_model.to_string()),
        attempts: 0,
    })
}

// ------------------------------------------------------------------------------ streaming

#[derive(Debug, Deserialize)]
struct ChatChunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<DeltaToolCall>>,
}

#[derive(Debug, Deserialize)]
struct DeltaToolCall {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<DeltaFunction>,
}

#[derive(Debug, Deserialize)]
struct DeltaFunction {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

#[derive(Debug, Default)]
struct PartialToolCall {
    index: usize,
    id: String,
    name: String,
    arguments: String,
}

/// Builds one [`Response`] from the `data:` payloads of a stream.
#[derive(Debug, Default)]
pub(super) struct StreamAssembler {
    model: Option<String>,
    text: String,
    tool_calls: Vec<PartialToolCall>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    done: bool,
}

impl StreamAssembler {
    /// Take one `data:` payload. Returns `true` once `[DONE]` arrived.
    pub fn on_data(&mut self, data: &str, events: EventSink<'_>) -> Result<bool, AttemptError> {
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(true);
        }
        if data.is_empty() {
            return Ok(false);
        }
        let chunk: ChatChunk = serde_json::from_str(data).map_err(|err| AttemptError::Invalid {
            message: format!("stream chunk is not valid: {err}: {}", shorten(data)),
        })?;
        if let Some(error) = chunk.error {
            return Err(stream_error(&error));
        }
        if chunk.model.is_some() {
            self.model = chunk.model;
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage.to_usage());
        }
        for choice in chunk.choices {
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
            let Some(delta) = choice.delta else { continue };
            for piece in [delta.content, delta.refusal].into_iter().flatten() {
                if !piece.is_empty() {
                    self.text.push_str(&piece);
                    events(ModelEvent::TextDelta(piece));
                }
            }
            for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                self.on_tool_call_delta(position, call, events);
            }
        }
        Ok(false)
    }

    fn on_tool_call_delta(&mut self, position: usize, call: DeltaToolCall, events: EventSink<'_>) {
        let id = call.id.filter(|id| !id.is_empty());
        // `index` is the key; servers that omit it send each call whole, with an id.
        let slot = match call.index {
            Some(index) => self
                .tool_calls
                .iter()
                .position(|partial| partial.index == index),
            None => match &id {
                Some(id) => self.tool_calls.iter().position(|partial| &partial.id == id),
                None => self.tool_calls.len().checked_sub(1),
            },
        };
        let slot = match slot {
            Some(slot) => slot,
            None => {
                let index = call.index.unwrap_or(self.tool_calls.len() + position);
                self.tool_calls.push(PartialToolCall {
                    index,
                    ..PartialToolCall::default()
                });
                self.tool_calls.len() - 1
            }
        };
        let partial = &mut self.tool_calls[slot];
        if let Some(id) = id {
            partial.id = id;
        }
        if let Some(function) = call.function {
            if let Some(name) = function.name.filter(|name| !name.is_empty()) {
                if partial.name.is_empty() {
                    events(ModelEvent::ToolCallStarted { name: name.clone() });
                }
                partial.name.push_str(&name);
            }
            partial
                .arguments
                .push_str(&arguments_text(function.arguments));
        }
    }

    /// The response, once the stream ended. A stream that ended without `[DONE]` or a
    /// finish reason was cut short.
    pub fn finish(self, requested_model: &str) -> Result<Response, AttemptError> {
        if !self.done && self.finish_reason.is_none() {
            return Err(AttemptError::Transport {
                message:
                    "stream ended before the response was complete (no finish_reason, no [DONE])"
                        .to_string(),
            });
        }
        let mut partials = self.tool_calls;
        partials.sort_by_key(|partial| partial.index);
        let tool_calls: Vec<ToolCall> = partials
            .into_iter()
            .enumerate()
            .map(|(position, partial)| ToolCall {
                id: if partial.id.is_empty() {
                    format!("call_{position}")
                } else {
                    partial.id
                },
                name: partial.name,
                arguments: partial.arguments,
            })
            .collect();
        Ok(Response {
            finish_reason: finish_reason(self.finish_reason.as_deref(), !tool_calls.is_empty()),
            text: self.text,
            tool_calls,
            usage: self.usage.unwrap_or_default(),
            cost_usd: None,
            model: self.model.unwrap_or_else(|| requested_model.to_string()),
            attempts: 0,
        })
    }
}

/// An `{"error": …}` payload inside a stream: retried like a 500 unless it is a
/// context-length error.
fn stream_error(error: &serde_json::Value) -> AttemptError {
    let message = error
        .get("message")
        .and_then(|m| m.as_str())
        .map_or_else(|| error.to_string(), str::to_string);
    let code = error.get("code").and_then(|c| c.as_str());
    let context_length = is_context_length_error(code, &message);
    AttemptError::Status {
        status: if context_length { 400 } else { 500 },
        message: format!("error inside the stream: {message}"),
        retry_after: None,
        context_length,
        should_retry: None,
    }
}

fn shorten(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ToolSpec;
    use crate::sse::SseParser;
    use serde_json::json;

    fn request() -> Request {
        Request {
            system: "be brief".into(),
            messages: vec![
                Message::User {
                    content: "list files".into(),
                },
                Message::Assistant {
                    content: String::new(),
                    tool_calls: vec![
                        ToolCall {
                            id: "call_a".into(),
                            name: "ls".into(),
                            arguments: "{}".into(),
                        },
                        ToolCall {
                            id: "call_b".into(),
                            name: "cat".into(),
                            arguments: r#"{"path":"x"}"#.into(),
                        },
                    ],
                },
                Message::Tool {
                    tool_call_id: "call_a".into(),
                    name: "ls".into(),
                    content: "x".into(),
                    is_error: false,
                },
                Message::Tool {
                    tool_call_id: "call_b".into(),
                    name: "cat".into(),
                    content: "boom".into(),
                    is_error: true,
                },
                Message::Assistant {
                    content: "done".into(),
                    tool_calls: vec![],
                },
                Message::User {
                    content: "thanks".into(),
                },
            ],
            tools: vec![ToolSpec {
                name: "ls".into(),
                description: "list".into(),
                input_schema: json!({"type": "object", "properties": {}}),
            }],
            max_output_tokens: 100,
            temperature: Some(0.5),
        }
    }

    #[test]
    fn request_body_has_the_openai_shape() {
        let request = request();
        let body = serde_json::to_value(chat_request(
            "gpt-4.1",
            &request,
            MaxTokensField::MaxCompletionTokens,
            Some(0.5),
            true,
        ))
        .unwrap();
        assert_eq!(
            body,
            json!({
                "model": "gpt-4.1",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "list files"},
                    {"role": "assistant", "content": null, "tool_calls": [
                        {"id": "call_a", "type": "function", "function": {"name": "ls", "arguments": "{}"}},
                        {"id": "call_b", "type": "function", "function": {"name": "cat", "arguments": "{\"path\":\"x\"}"}}
                    ]},
                    {"role": "tool", "tool_call_id": "call_a", "content": "x"},
                    {"role": "tool", "tool_call_id": "call_b", "content": "boom"},
                    {"role": "assistant", "content": "done"},
                    {"role": "user", "content": "thanks"}
                ],
                "tools": [{"type": "function", "function": {"name": "ls", "description": "list", "parameters": {"type": "object", "properties": {}}}}],
                "max_completion_tokens": 100,
                "temperature": 0.5,
                "stream": true,
                "stream_options": {"include_usage": true}
            })
        );
        let local = serde_json::to_value(chat_request(
            "llama3",
            &request,
            MaxTokensField::MaxTokens,
            None,
            false,
        ))
        .unwrap();
        assert_eq!(local["max_tokens"], 100);
        assert!(local.get("max_completion_tokens").is_none());
        assert!(local.get("stream_options").is_none());
        assert!(local.get("temperature").is_none());
        assert_eq!(local["stream"], false);
    }

    #[test]
    fn non_streaming_answer_with_tool_calls_and_cached_usage() {
        let body = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4.1-2025-04-14",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "ls", "arguments": "{\"path\":\".\"}"}}
            ]}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 7, "total_tokens": 127, "prompt_tokens_details": {"cached_tokens": 100}}
        });
        let response = parse_completion(body.to_string().as_bytes(), "gpt-4.1").unwrap();
        assert_eq!(response.text, "");
        assert_eq!(response.finish_reason, FinishReason::ToolCalls);
        assert_eq!(
            response.tool_calls,
            vec![ToolCall {
                id: "call_1".into(),
                name: "ls".into(),
                arguments: r#"{"path":"."}"#.into()
            }]
        );
        assert_eq!(
            response.usage,
            Usage {
                input_tokens: 120,
                output_tokens: 7,
                cache_read_tokens: 100,
                cache_write_tokens: 0
            }
        );
        assert_eq!(response.model, "gpt-4.1-2025-04-14");
    }

    #[test]
    fn a_completion_without_choices_is_invalid() {
        let error = parse_completion(br#"{"choices": []}"#, "m").unwrap_err();
        assert!(matches!(error, AttemptError::Invalid { .. }), "{error:?}");
        assert!(matches!(
            parse_completion(b"not json", "m"),
            Err(AttemptError::Invalid { .. })
        ));
    }

    fn play(sse: &str, piece_len: usize) -> (Result<Response, AttemptError>, Vec<ModelEvent>) {
        let mut parser = SseParser::default();
        let mut assembler = StreamAssembler::default();
        let mut seen = Vec::new();
        let mut sink = |event: ModelEvent| seen.push(event);
        'outer: for piece in sse.as_bytes().chunks(piece_len) {
            for event in parser.push(piece) {
                match assembler.on_data(&event.data, &mut sink) {
                    Ok(true) => break 'outer,
                    Ok(false) => {}
                    Err(error) => return (Err(error), seen),
                }
            }
        }
        (assembler.finish("requested"), seen)
    }

    const TWO_TOOL_CALLS: &str = concat!(
        "data: {\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me \"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"look.\"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"ls\",\"arguments\":\"\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"cat\",\"arguments\":\"{\\\"pa\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"th\\\":\\\"é\\\"}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":20,\"prompt_tokens_details\":{\"cached_tokens\":10}}}\n\n",
        "data: [DONE]\n\n",
    );

    #[test]
    fn streamed_tool_calls_are_assembled_by_index_whatever_the_chunking() {
        for piece_len in [1, 3, 17, TWO_TOOL_CALLS.len()] {
            let (response, events) = play(TWO_TOOL_CALLS, piece_len);
            let response = response.unwrap();
            assert_eq!(response.text, "Let me look.");
            assert_eq!(
                response.tool_calls,
                vec![
                    ToolCall {
                        id: "call_a".into(),
                        name: "ls".into(),
                        arguments: "{}".into()
                    },
                    ToolCall {
                        id: "call_b".into(),
                        name: "cat".into(),
                        arguments: r#"{"path":"é"}"#.into()
                    },
                ]
            );
            assert_eq!(response.finish_reason, FinishReason::ToolCalls);
            assert_eq!(
                response.usage,
                Usage {
                    input_tokens: 50,
                    output_tokens: 20,
                    cache_read_tokens: 10,
                    cache_write_tokens: 0
                }
            );
            assert_eq!(response.model, "gpt-4.1");
            assert_eq!(
                events,
                vec![
                    ModelEvent::TextDelta("Let me ".into()),
                    ModelEvent::TextDelta("look.".into()),
                    ModelEvent::ToolCallStarted { name: "ls".into() },
                    ModelEvent::ToolCallStarted { name: "cat".into() },
                ]
            );
        }
    }

    #[test]
    fn a_stream_cut_before_the_finish_is_a_transport_error() {
        let cut = &TWO_TOOL_CALLS[..TWO_TOOL_CALLS.find("finish_reason\":\"tool_calls").unwrap()];
        let (response, _) = play(cut, 5);
        assert!(
            matches!(response, Err(AttemptError::Transport { .. })),
            "{response:?}"
        );
    }

    #[test]
    fn an_error_inside_the_stream_is_reported() {
        let sse = "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n";
        let (response, _) = play(sse, 4);
        assert!(
            matches!(
                response,
                Err(AttemptError::Status {
                    status: 500,
                    context_length: false,
                    ..
                })
            ),
            "{response:?}"
        );
    }
}

//! OpenAI Chat Completions on the wire: the checks the real API makes on a request, and the
//! answer as a `chat.completion` object or as `chat.completion.chunk` server-sent events
//! ending in `data: [DONE]`.

use serde_json::{Value, json};

use crate::handler::{Answer, Rejection, argument_pieces, json_type_name, text_pieces};
use crate::http::HttpRequest;

const ROLES: [&str; 6] = [
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

/// `Authorization: Bearer <key>` must be present (401 otherwise, as the real API answers).
pub(crate) fn check_headers(request: &HttpRequest) -> Result<(), Rejection> {
    let has_key = request
        .header("authorization")
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|key| !key.trim().is_empty());
    if has_key {
        Ok(())
    } else {
        Err(Rejection {
            status: 401,
            message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).".to_string(),
            param: None,
            code: None,
        })
    }
}

fn missing(param: &str) -> Rejection {
    Rejection::bad_request(format!("Missing required parameter: '{param}'."))
        .with_param(param)
        .with_code("missing_required_parameter")
}

fn invalid_type(param: &str, expected: &str, got: &Value) -> Rejection {
    Rejection::bad_request(format!(
        "Invalid type for '{param}': expected {expected}, but got {} instead.",
        json_type_name(got)
    ))
    .with_param(param)
    .with_code("invalid_type")
}

fn empty_array(param: &str) -> Rejection {
    Rejection::bad_request(format!(
        "Invalid '{param}': empty array. Expected an array with minimum length 1, but got an empty array instead."
    ))
    .with_param(param)
    .with_code("empty_array")
}

fn is_valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '_' || character == '-'
        })
}

/// Check a request body (a JSON object) the way the real API does.
pub(crate) fn validate(body: &Value) -> Result<(), Rejection> {
    match body.get("model") {
        Some(Value::String(model)) if !model.is_empty() => {}
        Some(other) if !other.is_null() && !other.is_string() => {
            return Err(invalid_type("model", "a string", other));
        }
        _ => {
            return Err(
                Rejection::bad_request("you must provide a model parameter").with_param("model")
            );
        }
    }
    if let Some(stream) = body.get("stream").filter(|value| !value.is_null()) {
        if !stream.is_boolean() {
            return Err(invalid_type("stream", "a boolean", stream));
        }
    }
    let streaming = body.get("stream") == Some(&Value::Bool(true));
    if body
        .get("stream_options")
        .is_some_and(|value| !value.is_null())
        && !streaming
    {
        return Err(Rejection::bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
        )
        .with_param("stream_options")
        .with_code("invalid_value"));
    }
    validate_tools(body)?;
    let messages = match body.get("messages") {
        None | Some(Value::Null) => return Err(missing("messages")),
        Some(Value::Array(messages)) => messages,
        Some(other) => return Err(invalid_type("messages", "an array of objects", other)),
    };
    if messages.is_empty() {
        return Err(empty_array("messages"));
    }
    for (message_idx, message) in messages.iter().enumerate() {
        validate_message(message_idx, message)?;
    }
    validate_tool_pairing(messages)
}

fn validate_tools(body: &Value) -> Result<(), Rejection> {
    let tools = match body.get("tools") {
        None | Some(Value::Null) => None,
        Some(Value::Array(tools)) if tools.is_empty() => return Err(empty_array("tools")),
        Some(Value::Array(tools)) => Some(tools),
        Some(other) => return Err(invalid_type("tools", "an array", other)),
    };
    if body
        .get("tool_choice")
        .is_some_and(|value| !value.is_null())
        && tools.is_none()
    {
        return Err(Rejection::bad_request(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
        )
        .with_param("tool_choice")
        .with_code("invalid_value"));
    }
    for (tool_idx, tool) in tools.into_iter().flatten().enumerate() {
        let param = format!("tools[{tool_idx}]");
        if !tool.is_object() {
            return Err(invalid_type(&param, "an object", tool));
        }
        match tool.get("type").and_then(Value::as_str) {
            None => {
                let hint = if tool.get("input_schema").is_some() {
                    " (this looks like an Anthropic tool; OpenAI tools are {\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}})"
                } else {
                    ""
                };
                let mut rejection = missing(&format!("{param}.type"));
                rejection.message.push_str(hint);
                return Err(rejection);
            }
            Some("function") => {}
            Some(other) => {
                return Err(Rejection::bad_request(format!(
                    "Invalid value: '{other}'. Supported values are: 'function' (the mock serves function tools only). ({param}.type)"
                ))
                .with_param(format!("{param}.type"))
                .with_code("invalid_value"));
            }
        }
        let Some(function) = tool.get("function").filter(|value| value.is_object()) else {
            return Err(missing(&format!("{param}.function")));
        };
        let name = match function.get("name") {
            Some(Value::String(name)) => name,
            Some(other) => {
                return Err(invalid_type(
                    &format!("{param}.function.name"),
                    "a string",
                    other,
                ));
            }
            None => return Err(missing(&format!("{param}.function.name"))),
        };
        if !is_valid_function_name(name) {
            return Err(Rejection::bad_request(format!(
                "Invalid '{param}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$', got {name:?}."
            ))
            .with_param(format!("{param}.function.name"))
            .with_code("invalid_value"));
        }
        if let Some(parameters) = function.get("parameters") {
            let schema_type = parameters.get("type").and_then(Value::as_str);
            if !parameters.is_object() || schema_type != Some("object") {
                return Err(Rejection::bad_request(format!(
                    "Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{}\"'.",
                    schema_type.unwrap_or("None")
                ))
                .with_param(format!("{param}.function.parameters"))
                .with_code("invalid_function_parameters"));
            }
        }
    }
    Ok(())
}

fn validate_message(message_idx: usize, message: &Value) -> Result<(), Rejection> {
    let param = format!("messages[{message_idx}]");
    if !message.is_object() {
        return Err(invalid_type(&param, "an object", message));
    }
    let role = match message.get("role") {
        Some(Value::String(role)) => role.as_str(),
        Some(other) => return Err(invalid_type(&format!("{param}.role"), "a string", other)),
        None => return Err(missing(&format!("{param}.role"))),
    };
    if !ROLES.contains(&role) {
        return Err(Rejection::bad_request(format!(
            "Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function', and 'developer'. ({param}.role)"
        ))
        .with_param(format!("{param}.role"))
        .with_code("invalid_value"));
    }
    let content = message.get("content").filter(|value| !value.is_null());
    if let Some(content) = content.filter(|content| !content.is_string() && !content.is_array()) {
        return Err(invalid_type(
            &format!("{param}.content"),
            "a string or an array of content parts",
            content,
        ));
    }
    match role {
        "assistant" => {
            let tool_calls = match message.get("tool_calls") {
                None | Some(Value::Null) => None,
                Some(Value::Array(calls)) if calls.is_empty() => {
                    return Err(empty_array(&format!("{param}.tool_calls")));
                }
                Some(Value::Array(calls)) => Some(calls),
                Some(other) => {
                    return Err(invalid_type(
                        &format!("{param}.tool_calls"),
                        "an array",
                        other,
                    ));
                }
            };
            if content.is_none() && tool_calls.is_none() {
                return Err(Rejection::bad_request(format!(
                    "Invalid value for '{param}.content': an assistant message needs 'content' or 'tool_calls', got neither."
                ))
                .with_param(format!("{param}.content"))
                .with_code("invalid_value"));
            }
            for (call_idx, call) in tool_calls.into_iter().flatten().enumerate() {
                let call_param = format!("{param}.tool_calls[{call_idx}]");
                match call.get("id") {
                    Some(Value::String(id)) if !id.is_empty() => {}
                    Some(other) if !other.is_null() => {
                        return Err(invalid_type(&format!("{call_param}.id"), "a string", other));
                    }
                    _ => return Err(missing(&format!("{call_param}.id"))),
                }
                match call.get("type").and_then(Value::as_str) {
                    Some("function") => {}
                    Some(other) => {
                        return Err(Rejection::bad_request(format!(
                            "Invalid value: '{other}'. Supported values are: 'function'. ({call_param}.type)"
                        ))
                        .with_param(format!("{call_param}.type")));
                    }
                    None => return Err(missing(&format!("{call_param}.type"))),
                }
                let Some(function) = call.get("function").filter(|value| value.is_object()) else {
                    return Err(missing(&format!("{call_param}.function")));
                };
                match function.get("name") {
                    Some(Value::String(_)) => {}
                    Some(other) => {
                        return Err(invalid_type(
                            &format!("{call_param}.function.name"),
                            "a string",
                            other,
                        ));
                    }
                    None => return Err(missing(&format!("{call_param}.function.name"))),
                }
                match function.get("arguments") {
                    Some(Value::String(_)) => {}
                    Some(other) => {
                        return Err(invalid_type(
                            &format!("{call_param}.function.arguments"),
                            "a string",
                            other,
                        ));
                    }
                    None => return Err(missing(&format!("{call_param}.function.arguments"))),
                }
            }
        }
        "tool" => {
            match message.get("tool_call_id") {
                Some(Value::String(_)) => {}
                Some(other) if !other.is_null() => {
                    return Err(invalid_type(
                        &format!("{param}.tool_call_id"),
                        "a string",
                        other,
                    ));
                }
                _ => return Err(missing(&format!("{param}.tool_call_id"))),
            }
            if content.is_none() {
                return Err(missing(&format!("{param}.content")));
            }
        }
        _ => {
            if content.is_none() {
                return Err(missing(&format!("{param}.content")));
            }
        }
    }
    Ok(())
}

/// Tool messages must directly follow the assistant message whose tool calls they answer,
/// answer each of its ids exactly once, and answer every one of them.
fn validate_tool_pairing(messages: &[Value]) -> Result<(), Rejection> {
    // (index of the assistant message, its tool call ids, ids answered so far)
    let mut pending: Option<(usize, Vec<String>, Vec<String>)> = None;
    for (message_idx, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if role == "tool" {
            let id = message
                .get("tool_call_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some((assistant_idx, ids, answered)) = pending.as_mut() else {
                return Err(Rejection::bad_request(format!(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'. (messages[{message_idx}].tool_call_id = {id:?})"
                ))
                .with_param(format!("messages[{message_idx}].role")));
            };
            if !ids.iter().any(|known| known == id) {
                return Err(Rejection::bad_request(format!(
                    "Invalid parameter: tool_call_id {id:?} of messages[{message_idx}] does not answer any tool call of the preceding assistant message messages[{assistant_idx}] (its tool call ids: {ids:?})."
                ))
                .with_param(format!("messages[{message_idx}].tool_call_id")));
            }
            if answered.iter().any(|done| done == id) {
                return Err(Rejection::bad_request(format!(
                    "Invalid parameter: tool_call_id {id:?} is answered twice (messages[{message_idx}])."
                ))
                .with_param(format!("messages[{message_idx}].tool_call_id")));
            }
            answered.push(id.to_string());
            continue;
        }
        if let Some((assistant_idx, ids, answered)) = pending.take() {
            check_all_answered(assistant_idx, &ids, &answered)?;
        }
        if role == "assistant" {
            let ids: Vec<String> = message
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|call| call.get("id").and_then(Value::as_str).map(str::to_string))
                .collect();
            for (idx, id) in ids.iter().enumerate() {
                if ids[..idx].contains(id) {
                    return Err(Rejection::bad_request(format!(
                        "Duplicate tool call id {id:?} in messages[{message_idx}].tool_calls."
                    ))
                    .with_param(format!("messages[{message_idx}].tool_calls")));
                }
            }
            if !ids.is_empty() {
                pending = Some((message_idx, ids, Vec::new()));
            }
        }
    }
    if let Some((assistant_idx, ids, answered)) = pending {
        check_all_answered(assistant_idx, &ids, &answered)?;
    }
    Ok(())
}

fn check_all_answered(
    assistant_idx: usize,
    ids: &[String],
    answered: &[String],
) -> Result<(), Rejection> {
    let left: Vec<&str> = ids
        .iter()
        .filter(|id| !answered.contains(id))
        .map(String::as_str)
        .collect();
    if left.is_empty() {
        Ok(())
    } else {
        Err(Rejection::bad_request(format!(
            "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {} (messages[{assistant_idx}])",
            left.join(", ")
        ))
        .with_param(format!("messages[{assistant_idx}]")))
    }
}

/// Text of a message's `content`: a string, or the `text` of its parts joined by newlines.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Text of the last message (user text or tool result content).
pub(crate) fn last_message_text(messages: &[Value]) -> String {
    content_text(messages.last().and_then(|message| message.get("content")))
}

fn usage_json(answer: &Answer) -> Value {
    let usage = answer.usage;
    json!({
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": { "cached_tokens": usage.cache_read_tokens, "audio_tokens": 0 },
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

fn finish_reason(answer: &Answer) -> &'static str {
    if answer.tool_calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

/// A non-streaming `chat.completion` object.
pub(crate) fn completion(answer: &Answer) -> Value {
    let content = if !answer.text.is_empty() {
        Value::String(answer.text.clone())
    } else if answer.tool_calls.is_empty() {
        Value::String(String::new())
    } else {
        Value::Null
    };
    let mut message = json!({
        "role": "assistant",
        "content": content,
        "refusal": null,
        "annotations": [],
    });
    if !answer.tool_calls.is_empty() {
        message["tool_calls"] = answer
            .tool_calls
            .iter()
            .map(|call| {
                json!({
                    "id": call.id,
                    "type": "function",
                    "function": { "name": call.name, "arguments": call.arguments_text },
                })
            })
            .collect();
    }
    json!({
        "id": answer.id,
        "object": "chat.completion",
        "created": answer.created_at_secs,
        "model": answer.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason(answer),
        }],
        "usage": usage_json(answer),
        "service_tier": "default",
        "system_fingerprint": "fp_rein_mock",
    })
}

/// `chat.completion.chunk` events, each `data: {…}\n\n`, then `data: [DONE]\n\n`. With
/// `include_usage`, every chunk carries `"usage": null` and a last chunk with no choices
/// carries the usage, as the real API does.
pub(crate) fn stream_events(answer: &Answer, include_usage: bool) -> Vec<Vec<u8>> {
    let chunk = |choices: Value, usage: Option<Value>| -> Vec<u8> {
        let mut object = json!({
            "id": answer.id,
            "object": "chat.completion.chunk",
            "created": answer.created_at_secs,
            "model": answer.model,
            "service_tier": "default",
            "system_fingerprint": "fp_rein_mock",
            "choices": choices,
        });
        if include_usage {
            object["usage"] = usage.unwrap_or(Value::Null);
        }
        format!("data: {object}\n\n").into_bytes()
    };
    let delta_chunk = |delta: Value| -> Vec<u8> {
        chunk(
            json!([{ "index": 0, "delta": delta, "logprobs": null, "finish_reason": null }]),
            None,
        )
    };
    let mut events = Vec::new();
    let mut role_sent = false;
    if !answer.text.is_empty() || answer.tool_calls.is_empty() {
        events.push(delta_chunk(
            json!({ "role": "assistant", "content": "", "refusal": null }),
        ));
        role_sent = true;
        for piece in text_pieces(&answer.text) {
            events.push(delta_chunk(json!({ "content": piece })));
        }
    }
    for (call_idx, call) in answer.tool_calls.iter().enumerate() {
        let start = json!([{
            "index": call_idx,
            "id": call.id,
            "type": "function",
            "function": { "name": call.name, "arguments": "" },
        }]);
        if role_sent {
            events.push(delta_chunk(json!({ "tool_calls": start })));
        } else {
            events.push(delta_chunk(json!({
                "role": "assistant",
                "content": null,
                "refusal": null,
                "tool_calls": start,
            })));
            role_sent = true;
        }
        for piece in argument_pieces(&call.arguments_text) {
            events.push(delta_chunk(json!({
                "tool_calls": [{ "index": call_idx, "function": { "arguments": piece } }]
            })));
        }
    }
    events.push(chunk(
        json!([{ "index": 0, "delta": {}, "logprobs": null, "finish_reason": finish_reason(answer) }]),
        None,
    ));
    if include_usage {
        events.push(chunk(json!([]), Some(usage_json(answer))));
    }
    events.push(b"data: [DONE]\n\n".to_vec());
    events
}

/// `{"error": {"message", "type", "param", "code"}}`.
pub(crate) fn error_body(rejection: &Rejection) -> Value {
    let error_type = match rejection.status {
        429 => "requests",
        status if status >= 500 => "server_error",
        _ => "invalid_request_error",
    };
    let code = match (rejection.code, rejection.status) {
        (Some(code), _) => Value::String(code.to_string()),
        (None, 401) => Value::String("invalid_api_key".to_string()),
        (None, _) => Value::Null,
    };
    json!({
        "error": {
            "message": rejection.message,
            "type": error_type,
            "param": rejection.param,
            "code": code,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: Value) -> String {
        match validate(&body) {
            Ok(()) => "ok".to_string(),
            Err(rejection) => format!("{}: {}", rejection.status, rejection.message),
        }
    }

    fn assistant_with_calls(ids: &[&str]) -> Value {
        let calls: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "type": "function", "function": {"name": "f", "arguments": "{}"}}))
            .collect();
        json!({"role": "assistant", "content": null, "tool_calls": calls})
    }

    #[test]
    fn required_fields() {
        assert!(
            check(json!({"messages": [{"role": "user", "content": "hi"}]}))
                .contains("you must provide a model parameter")
        );
        assert!(check(json!({"model": "m"})).contains("Missing required parameter: 'messages'"));
        assert!(check(json!({"model": "m", "messages": []})).contains("empty array"));
        assert_eq!(
            check(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})),
            "ok"
        );
        assert!(
            check(json!({"model": "m", "messages": [{"role": "robot", "content": "hi"}]}))
                .contains("'robot'")
        );
        assert!(
            check(json!({"model": "m", "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}]}))
                .contains("stream_options")
        );
    }

    #[test]
    fn tool_pairing_by_id() {
        let user = json!({"role": "user", "content": "go"});
        let tool = |id: &str| json!({"role": "tool", "tool_call_id": id, "content": "r"});
        let good = json!({"model": "m", "messages": [user, assistant_with_calls(&["a", "b"]), tool("b"), tool("a")]});
        assert_eq!(check(good), "ok");
        let unknown =
            json!({"model": "m", "messages": [user, assistant_with_calls(&["a"]), tool("zzz")]});
        assert!(check(unknown).contains("\"zzz\" of messages[2] does not answer"));
        let unanswered = json!({"model": "m", "messages": [user, assistant_with_calls(&["a", "b"]), tool("a"), {"role": "user", "content": "?"}]});
        assert!(check(unanswered).contains("did not have response messages: b"));
        let orphan = json!({"model": "m", "messages": [user, tool("a")]});
        assert!(check(orphan).contains("must be a response to a preceeding message"));
        let twice = json!({"model": "m", "messages": [user, assistant_with_calls(&["a"]), tool("a"), tool("a")]});
        assert!(check(twice).contains("answered twice"));
        let late = json!({"model": "m", "messages": [user, assistant_with_calls(&["a"]), {"role": "user", "content": "x"}, tool("a")]});
        assert!(check(late).contains("did not have response messages: a"));
    }

    #[test]
    fn arguments_must_be_a_string() {
        let body = json!({"model": "m", "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]},
            {"role": "tool", "tool_call_id": "a", "content": "r"}
        ]});
        assert!(check(body).contains("Invalid type for 'messages[1].tool_calls[0].function.arguments': expected a string, but got an object"));
    }

    #[test]
    fn tools_in_anthropic_shape_are_refused() {
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "go"}],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}]});
        let message = check(body);
        assert!(
            message.contains("Missing required parameter: 'tools[0].type'"),
            "{message}"
        );
        assert!(
            message.contains("looks like an Anthropic tool"),
            "{message}"
        );
        let bad_schema = json!({"model": "m", "messages": [{"role": "user", "content": "go"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]});
        assert!(check(bad_schema).contains("schema must be a JSON Schema of 'type: \"object\"'"));
        let no_tools = json!({"model": "m", "messages": [{"role": "user", "content": "go"}], "tool_choice": "auto"});
        assert!(check(no_tools).contains("tool_choice"));
    }

    #[test]
    fn last_message_text_reads_strings_and_parts() {
        let messages = vec![
            json!({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}),
        ];
        assert_eq!(last_message_text(&messages), "a\nb");
        let messages =
            vec![json!({"role": "tool", "tool_call_id": "x", "content": "wrote 2 bytes"})];
        assert_eq!(last_message_text(&messages), "wrote 2 bytes");
    }
}

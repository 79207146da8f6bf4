//! Anthropic Messages on the wire: the checks the real API makes on a request, and the
//! answer as a `message` object or as the `message_start` … `message_stop` event stream.

use serde_json::{Value, json};

use crate::handler::{Answer, Rejection, argument_pieces, json_type_name, text_pieces};
use crate::http::HttpRequest;

/// `x-api-key` and `anthropic-version` must be present.
pub(crate) fn check_headers(request: &HttpRequest) -> Result<(), Rejection> {
    if request
        .header("x-api-key")
        .is_none_or(|key| key.trim().is_empty())
    {
        return Err(Rejection {
            status: 401,
            message: "x-api-key header is required".to_string(),
            param: None,
            code: None,
        });
    }
    if request
        .header("anthropic-version")
        .is_none_or(|version| version.trim().is_empty())
    {
        return Err(Rejection::bad_request(
            "anthropic-version: header is required",
        ));
    }
    Ok(())
}

fn field_required(param: &str) -> Rejection {
    Rejection::bad_request(format!("{param}: Field required")).with_param(param)
}

fn wrong_type(param: &str, expected: &str, got: &Value) -> Rejection {
    Rejection::bad_request(format!(
        "{param}: Input should be {expected}, got {}",
        json_type_name(got)
    ))
    .with_param(param)
}

fn is_valid_tool_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '_' || character == '-'
        })
}

/// A server tool type such as `web_search_20250305` (name, then a date).
fn is_server_tool_type(tool_type: &str) -> bool {
    match tool_type.rsplit_once('_') {
        Some((name, date)) => {
            !name.is_empty() && date.len() == 8 && date.chars().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

/// Check a request body (a JSON object) the way the real API does.
pub(crate) fn validate(body: &Value) -> Result<(), Rejection> {
    match body.get("model") {
        None | Some(Value::Null) => return Err(field_required("model")),
        Some(Value::String(model)) if !model.is_empty() => {}
        Some(other) => return Err(wrong_type("model", "a non-empty string", other)),
    }
    match body.get("max_tokens") {
        None | Some(Value::Null) => return Err(field_required("max_tokens")),
        Some(value) => match value.as_u64() {
            Some(n) if n >= 1 => {}
            _ => {
                return Err(wrong_type("max_tokens", "an integer of at least 1", value)
                    .with_param("max_tokens"));
            }
        },
    }
    let messages = match body.get("messages") {
        None | Some(Value::Null) => return Err(field_required("messages")),
        Some(Value::Array(messages)) => messages,
        Some(other) => return Err(wrong_type("messages", "a valid list", other)),
    };
    if messages.is_empty() {
        return Err(
            Rejection::bad_request("messages: at least one message is required")
                .with_param("messages"),
        );
    }
    if let Some(stream) = body.get("stream").filter(|value| !value.is_null()) {
        if !stream.is_boolean() {
            return Err(wrong_type("stream", "a valid boolean", stream));
        }
    }
    validate_system(body)?;
    validate_tools(body)?;
    for (message_idx, message) in messages.iter().enumerate() {
        validate_message(message_idx, message, message_idx + 1 == messages.len())?;
    }
    validate_tool_pairing(messages)
}

fn validate_system(body: &Value) -> Result<(), Rejection> {
    match body.get("system") {
        None | Some(Value::Null) | Some(Value::String(_)) => Ok(()),
        Some(Value::Array(blocks)) => {
            for (block_idx, block) in blocks.iter().enumerate() {
                if block.get("type").and_then(Value::as_str) != Some("text") {
                    return Err(Rejection::bad_request(format!(
                        "system.{block_idx}.type: Input should be 'text'"
                    ))
                    .with_param(format!("system.{block_idx}.type")));
                }
                if !block.get("text").is_some_and(Value::is_string) {
                    return Err(field_required(&format!("system.{block_idx}.text")));
                }
            }
            Ok(())
        }
        Some(other) => Err(wrong_type(
            "system",
            "a valid string or a list of text blocks",
            other,
        )),
    }
}

fn validate_tools(body: &Value) -> Result<(), Rejection> {
    let tools = match body.get("tools") {
        None | Some(Value::Null) => None,
        Some(Value::Array(tools)) => Some(tools),
        Some(other) => return Err(wrong_type("tools", "a valid list", other)),
    };
    if let Some(tool_choice) = body.get("tool_choice").filter(|value| !value.is_null()) {
        let is_none_choice = tool_choice.get("type").and_then(Value::as_str) == Some("none");
        if tools.is_none_or(|tools| tools.is_empty()) && !is_none_choice {
            return Err(Rejection::bad_request(
                "tool_choice may only be specified while providing tools.",
            )
            .with_param("tool_choice"));
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for (tool_idx, tool) in tools.into_iter().flatten().enumerate() {
        let param = format!("tools.{tool_idx}");
        if !tool.is_object() {
            return Err(wrong_type(&param, "a valid dictionary", tool));
        }
        match tool.get("type").and_then(Value::as_str) {
            None | Some("custom") => {}
            Some(tool_type) if is_server_tool_type(tool_type) => continue,
            Some(tool_type) => {
                let hint = if tool.get("function").is_some() {
                    " (this looks like an OpenAI tool; Anthropic tools are {\"name\", \"description\", \"input_schema\"})"
                } else {
                    ""
                };
                return Err(Rejection::bad_request(format!(
                    "{param}.type: Input tag '{tool_type}' does not match any of the expected tags: 'custom' or a server tool type{hint}"
                ))
                .with_param(format!("{param}.type")));
            }
        }
        let name = match tool.get("name") {
            Some(Value::String(name)) => name,
            Some(other) => {
                return Err(wrong_type(
                    &format!("{param}.name"),
                    "a valid string",
                    other,
                ));
            }
            None => return Err(field_required(&format!("{param}.name"))),
        };
        if !is_valid_tool_name(name) {
            return Err(Rejection::bad_request(format!(
                "{param}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$', got {name:?}"
            ))
            .with_param(format!("{param}.name")));
        }
        let schema = match tool.get("input_schema") {
            Some(schema @ Value::Object(_)) => schema,
            Some(other) => {
                return Err(wrong_type(
                    &format!("{param}.input_schema"),
                    "a valid dictionary",
                    other,
                ));
            }
            None => return Err(field_required(&format!("{param}.input_schema"))),
        };
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(Rejection::bad_request(format!(
                "{param}.input_schema.type: Input should be 'object'"
            ))
            .with_param(format!("{param}.input_schema.type")));
        }
        if names.contains(&name.as_str()) {
            return Err(Rejection::bad_request(format!(
                "tools: Tool names must be unique ({name:?} is declared twice)."
            ))
            .with_param("tools"));
        }
        names.push(name);
    }
    Ok(())
}

fn validate_message(message_idx: usize, message: &Value, is_last: bool) -> Result<(), Rejection> {
    let param = format!("messages.{message_idx}");
    if !message.is_object() {
        return Err(wrong_type(&param, "a valid dictionary", message));
    }
    let role = match message.get("role") {
        Some(Value::String(role)) => role.as_str(),
        Some(other) => {
            return Err(wrong_type(
                &format!("{param}.role"),
                "a valid string",
                other,
            ));
        }
        None => return Err(field_required(&format!("{param}.role"))),
    };
    match role {
        "user" | "assistant" => {}
        "system" => {
            return Err(Rejection::bad_request(format!(
                "{param}.role: Unexpected role \"system\". The Messages API takes the system prompt in the top-level `system` parameter, not as a message"
            ))
            .with_param(format!("{param}.role")));
        }
        other => {
            return Err(Rejection::bad_request(format!(
                "{param}.role: Input should be 'user' or 'assistant', got {other:?}"
            ))
            .with_param(format!("{param}.role")));
        }
    }
    let content = match message.get("content") {
        None | Some(Value::Null) => return Err(field_required(&format!("{param}.content"))),
        Some(content) => content,
    };
    let empty_error = || {
        Rejection::bad_request(format!(
            "{param}: all messages must have non-empty content except for the optional final assistant message"
        ))
        .with_param(param.clone())
    };
    match content {
        Value::String(text) => {
            if text.is_empty() && !(is_last && role == "assistant") {
                return Err(empty_error());
            }
        }
        Value::Array(blocks) => {
            if blocks.is_empty() && !(is_last && role == "assistant") {
                return Err(empty_error());
            }
            for (block_idx, block) in blocks.iter().enumerate() {
                validate_block(&format!("{param}.content.{block_idx}"), role, block)?;
            }
        }
        other => {
            return Err(wrong_type(
                &format!("{param}.content"),
                "a valid string or a list of content blocks",
                other,
            ));
        }
    }
    Ok(())
}

fn validate_block(param: &str, role: &str, block: &Value) -> Result<(), Rejection> {
    if !block.is_object() {
        return Err(wrong_type(param, "a valid dictionary", block));
    }
    let Some(block_type) = block.get("type").and_then(Value::as_str) else {
        return Err(field_required(&format!("{param}.type")));
    };
    match block_type {
        "text" => match block.get("text") {
            Some(Value::String(text)) if !text.is_empty() => Ok(()),
            Some(Value::String(_)) => Err(Rejection::bad_request(format!(
                "{param}: text content blocks must be non-empty"
            ))
            .with_param(param)),
            Some(other) => Err(wrong_type(
                &format!("{param}.text"),
                "a valid string",
                other,
            )),
            None => Err(field_required(&format!("{param}.text"))),
        },
        "tool_use" => {
            if role != "assistant" {
                return Err(Rejection::bad_request(format!(
                    "{param}: `tool_use` blocks can only appear in `assistant` messages"
                ))
                .with_param(param));
            }
            for key in ["id", "name"] {
                match block.get(key) {
                    Some(Value::String(value)) if !value.is_empty() => {}
                    Some(other) if !other.is_null() => {
                        return Err(wrong_type(
                            &format!("{param}.{key}"),
                            "a valid string",
                            other,
                        ));
                    }
                    _ => return Err(field_required(&format!("{param}.{key}"))),
                }
            }
            match block.get("input") {
                Some(Value::Object(_)) => Ok(()),
                Some(other) => Err(wrong_type(
                    &format!("{param}.input"),
                    "a valid dictionary",
                    other,
                )),
                None => Err(field_required(&format!("{param}.input"))),
            }
        }
        "tool_result" => {
            if role != "user" {
                return Err(Rejection::bad_request(format!(
                    "{param}: `tool_result` blocks can only appear in `user` messages"
                ))
                .with_param(param));
            }
            match block.get("tool_use_id") {
                Some(Value::String(id)) if !id.is_empty() => {}
                Some(other) if !other.is_null() => {
                    return Err(wrong_type(
                        &format!("{param}.tool_use_id"),
                        "a valid string",
                        other,
                    ));
                }
                _ => return Err(field_required(&format!("{param}.tool_use_id"))),
            }
            match block.get("content") {
                None | Some(Value::Null) | Some(Value::String(_)) | Some(Value::Array(_)) => {}
                Some(other) => {
                    return Err(wrong_type(
                        &format!("{param}.content"),
                        "a valid string or a list of content blocks",
                        other,
                    ));
                }
            }
            match block.get("is_error") {
                None | Some(Value::Null) | Some(Value::Bool(_)) => Ok(()),
                Some(other) => Err(wrong_type(
                    &format!("{param}.is_error"),
                    "a valid boolean",
                    other,
                )),
            }
        }
        _ => Ok(()),
    }
}

fn blocks(message: &Value) -> &[Value] {
    message
        .get("content")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn block_type(block: &Value) -> &str {
    block
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Each assistant message with `tool_use` blocks must be followed by a user message that
/// starts with one `tool_result` per id, and a `tool_result` must answer a `tool_use` of the
/// message right before it.
fn validate_tool_pairing(messages: &[Value]) -> Result<(), Rejection> {
    for (message_idx, message) in messages.iter().enumerate() {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if role == "assistant" {
            let ids: Vec<&str> = blocks(message)
                .iter()
                .filter(|block| block_type(block) == "tool_use")
                .filter_map(|block| block.get("id").and_then(Value::as_str))
                .collect();
            for (idx, id) in ids.iter().enumerate() {
                if ids[..idx].contains(id) {
                    return Err(Rejection::bad_request(format!(
                        "messages.{message_idx}: `tool_use` ids must be unique ({id:?} appears twice)"
                    ))
                    .with_param(format!("messages.{message_idx}")));
                }
            }
            if ids.is_empty() {
                continue;
            }
            let next = messages.get(message_idx + 1);
            let next_is_user = next
                .and_then(|next| next.get("role"))
                .and_then(Value::as_str)
                == Some("user");
            let answered: Vec<&str> = if next_is_user {
                next.map(blocks)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|block| block_type(block) == "tool_result")
                    .filter_map(|block| block.get("tool_use_id").and_then(Value::as_str))
                    .collect()
            } else {
                Vec::new()
            };
            let missing: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| !answered.contains(id))
                .collect();
            if !missing.is_empty() {
                let unknown: Vec<&str> = answered
                    .iter()
                    .copied()
                    .filter(|id| !ids.contains(id))
                    .collect();
                let unknown_note = if unknown.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (the `tool_result` blocks there answer unknown ids: {})",
                        unknown.join(", ")
                    )
                };
                return Err(Rejection::bad_request(format!(
                    "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.{unknown_note}",
                    message_idx + 1,
                    missing.join(", ")
                ))
                .with_param(format!("messages.{}", message_idx + 1)));
            }
        } else {
            let previous_ids: Vec<&str> = message_idx
                .checked_sub(1)
                .and_then(|previous_idx| messages.get(previous_idx))
                .filter(|previous| {
                    previous.get("role").and_then(Value::as_str) == Some("assistant")
                })
                .map(blocks)
                .unwrap_or_default()
                .iter()
                .filter(|block| block_type(block) == "tool_use")
                .filter_map(|block| block.get("id").and_then(Value::as_str))
                .collect();
            let mut in_leading_results = true;
            let mut answered: Vec<&str> = Vec::new();
            for (block_idx, block) in blocks(message).iter().enumerate() {
                if block_type(block) != "tool_result" {
                    in_leading_results = false;
                    continue;
                }
                let param = format!("messages.{message_idx}.content.{block_idx}");
                let id = block
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !previous_ids.contains(&id) {
                    return Err(Rejection::bad_request(format!(
                        "{param}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                    ))
                    .with_param(param));
                }
                if !in_leading_results {
                    return Err(Rejection::bad_request(format!(
                        "{param}: `tool_result` blocks must come first in the user message that follows the `tool_use` (before any other content)"
                    ))
                    .with_param(param));
                }
                if answered.contains(&id) {
                    return Err(Rejection::bad_request(format!(
                        "{param}: more than one `tool_result` block for `tool_use_id` {id}"
                    ))
                    .with_param(param));
                }
                answered.push(id);
            }
        }
    }
    Ok(())
}

/// Text of a `content`: a string, or its text blocks and tool results joined by newlines.
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|block| match block_type(block) {
                "text" => block
                    .get("text")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                "tool_result" => Some(content_text(block.get("content"))),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Text of the last message (user text or tool result content).
pub(crate) fn last_message_text(messages: &[Value]) -> String {
    content_text(messages.last().and_then(|message| message.get("content")))
}

/// Input tokens not read from nor written to the cache (rein counts them all together).
fn uncached_input_tokens(answer: &Answer) -> u64 {
    let usage = answer.usage;
    usage
        .input_tokens
        .saturating_sub(usage.cache_read_tokens)
        .saturating_sub(usage.cache_write_tokens)
}

fn usage_json(answer: &Answer, output_tokens: u64) -> Value {
    json!({
        "input_tokens": uncached_input_tokens(answer),
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": answer.usage.cache_write_tokens,
        "cache_read_input_tokens": answer.usage.cache_read_tokens,
        "service_tier": "standard",
    })
}

fn stop_reason(answer: &Answer) -> &'static str {
    if answer.tool_calls.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

/// On the non-streaming wire `input` is always an object: arguments that do not parse as a
/// JSON object become `{}`.
fn tool_input(arguments_text: &str) -> Value {
    match serde_json::from_str::<Value>(arguments_text) {
        Ok(value @ Value::Object(_)) => value,
        _ => json!({}),
    }
}

/// A non-streaming `message` object.
pub(crate) fn message(answer: &Answer) -> Value {
    let mut content = Vec::new();
    if !answer.text.is_empty() {
        content.push(json!({ "type": "text", "text": answer.text }));
    }
    for call in &answer.tool_calls {
        content.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.name,
            "input": tool_input(&call.arguments_text),
        }));
    }
    json!({
        "id": answer.id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": content,
        "stop_reason": stop_reason(answer),
        "stop_sequence": null,
        "usage": usage_json(answer, answer.usage.output_tokens),
    })
}

fn event(name: &str, data: &Value) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

/// The event stream: `message_start`, per block `content_block_start` /
/// `content_block_delta` (`text_delta`, `input_json_delta`) / `content_block_stop`, a `ping`,
/// then `message_delta` (stop reason, usage) and `message_stop`.
pub(crate) fn stream_events(answer: &Answer) -> Vec<Vec<u8>> {
    let mut events = vec![event(
        "message_start",
        &json!({
            "type": "message_start",
            "message": {
                "id": answer.id,
                "type": "message",
                "role": "assistant",
                "model": answer.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": usage_json(answer, 1),
            }
        }),
    )];
    let mut block_idx = 0usize;
    let mut pinged = false;
    let mut ping = |events: &mut Vec<Vec<u8>>| {
        if !pinged {
            events.push(event("ping", &json!({ "type": "ping" })));
            pinged = true;
        }
    };
    if !answer.text.is_empty() {
        events.push(event(
            "content_block_start",
            &json!({
                "type": "content_block_start",
                "index": block_idx,
                "content_block": { "type": "text", "text": "" },
            }),
        ));
        ping(&mut events);
        for piece in text_pieces(&answer.text) {
            events.push(event(
                "content_block_delta",
                &json!({
                    "type": "content_block_delta",
                    "index": block_idx,
                    "delta": { "type": "text_delta", "text": piece },
                }),
            ));
        }
        events.push(event(
            "content_block_stop",
            &json!({ "type": "content_block_stop", "index": block_idx }),
        ));
        block_idx += 1;
    }
    for call in &answer.tool_calls {
        events.push(event(
            "content_block_start",
            &json!({
                "type": "content_block_start",
                "index": block_idx,
                "content_block": { "type": "tool_use", "id": call.id, "name": call.name, "input": {} },
            }),
        ));
        ping(&mut events);
        let mut pieces = vec![String::new()];
        pieces.extend(argument_pieces(&call.arguments_text));
        for piece in pieces {
            events.push(event(
                "content_block_delta",
                &json!({
                    "type": "content_block_delta",
                    "index": block_idx,
                    "delta": { "type": "input_json_delta", "partial_json": piece },
                }),
            ));
        }
        events.push(event(
            "content_block_stop",
            &json!({ "type": "content_block_stop", "index": block_idx }),
        ));
        block_idx += 1;
    }
    ping(&mut events);
    events.push(event(
        "message_delta",
        &json!({
            "type": "message_delta",
            "delta": { "stop_reason": stop_reason(answer), "stop_sequence": null },
            "usage": {
                "input_tokens": uncached_input_tokens(answer),
                "output_tokens": answer.usage.output_tokens,
                "cache_creation_input_tokens": answer.usage.cache_write_tokens,
                "cache_read_input_tokens": answer.usage.cache_read_tokens,
            },
        }),
    ));
    events.push(event("message_stop", &json!({ "type": "message_stop" })));
    events
}

/// `{"type": "error", "error": {"type", "message"}}`.
pub(crate) fn error_body(rejection: &Rejection) -> Value {
    let error_type = match rejection.status {
        400 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        409 => "conflict_error",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        status if status >= 500 => "api_error",
        _ => "invalid_request_error",
    };
    json!({
        "type": "error",
        "error": { "type": error_type, "message": rejection.message },
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

    fn request(messages: Value) -> Value {
        json!({"model": "claude", "max_tokens": 100, "messages": messages})
    }

    fn tool_use(id: &str) -> Value {
        json!({"type": "tool_use", "id": id, "name": "f", "input": {}})
    }

    fn tool_result(id: &str) -> Value {
        json!({"type": "tool_result", "tool_use_id": id, "content": "r"})
    }

    #[test]
    fn required_fields() {
        assert!(
            check(json!({"model": "c", "messages": [{"role": "user", "content": "hi"}]}))
                .contains("max_tokens: Field required")
        );
        assert!(
            check(json!({"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
                .contains("model: Field required")
        );
        assert!(check(request(json!([]))).contains("at least one message"));
        assert_eq!(
            check(request(json!([{"role": "user", "content": "hi"}]))),
            "ok"
        );
        assert!(
            check(request(
                json!([{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi"}])
            ))
            .contains("messages.0.role: Unexpected role \"system\"")
        );
        assert!(
            check(request(json!([{"role": "user", "content": ""}]))).contains("non-empty content")
        );
    }

    #[test]
    fn tool_pairing_by_id() {
        let user = json!({"role": "user", "content": "go"});
        let assistant = json!({"role": "assistant", "content": [tool_use("a"), tool_use("b")]});
        let good = request(
            json!([user, assistant, {"role": "user", "content": [tool_result("b"), tool_result("a"), {"type": "text", "text": "more"}]}]),
        );
        assert_eq!(check(good), "ok");
        let unknown = request(
            json!([user, assistant, {"role": "user", "content": [tool_result("a"), tool_result("b"), tool_result("zz")]}]),
        );
        assert!(
            check(unknown).contains("unexpected `tool_use_id` found in `tool_result` blocks: zz")
        );
        let missing =
            request(json!([user, assistant, {"role": "user", "content": [tool_result("a")]}]));
        assert!(check(missing).contains("without `tool_result` blocks immediately after: b"));
        let not_first = request(
            json!([user, assistant, {"role": "user", "content": [tool_result("a"), {"type": "text", "text": "x"}, tool_result("b")]}]),
        );
        let message = check(not_first);
        assert!(
            message.contains("without `tool_result` blocks immediately after: b"),
            "{message}"
        );
        let orphan = request(json!([{"role": "user", "content": [tool_result("a")]}]));
        assert!(check(orphan).contains("unexpected `tool_use_id`"));
        let no_next = request(json!([user, assistant]));
        assert!(check(no_next).contains("immediately after: a, b"));
    }

    #[test]
    fn tools_must_have_the_anthropic_shape() {
        let mut body = request(json!([{"role": "user", "content": "go"}]));
        body["tools"] = json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);
        let message = check(body.clone());
        assert!(message.contains("looks like an OpenAI tool"), "{message}");
        body["tools"] = json!([{"name": "f"}]);
        assert!(check(body.clone()).contains("tools.0.input_schema: Field required"));
        body["tools"] = json!([{"name": "f", "input_schema": {"type": "object"}}, {"name": "f", "input_schema": {"type": "object"}}]);
        assert!(check(body.clone()).contains("unique"));
        body["tools"] = json!([{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "web_search"}]);
        assert_eq!(check(body), "ok");
    }

    #[test]
    fn tool_use_input_must_be_an_object() {
        let body = request(json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": "{\"x\":1}"}]},
            {"role": "user", "content": [tool_result("a")]}
        ]));
        assert!(check(body).contains(
            "messages.1.content.0.input: Input should be a valid dictionary, got a string"
        ));
    }

    #[test]
    fn last_message_text_reads_tool_results() {
        let messages = vec![json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": "wrote 2 bytes"}]},
            {"type": "text", "text": "and more"}
        ]})];
        assert_eq!(last_message_text(&messages), "wrote 2 bytes\nand more");
    }
}

//! Anthropic Messages over real loopback HTTP.

use rein_model::{FinishReason, ModelEvent, ToolCall, Usage};
use rein_spec::spec::Provider;
use serde_json::json;

use crate::server::{Reply, TestServer};
use crate::{TEST_API_KEY, complete, fast_model, request, spec};

pub const STREAM_TOOL_USE: &str = concat!(
    "event: message_start\n",
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":1,\"cache_creation_input_tokens\":1000,\"cache_read_input_tokens\":2000}}}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: ping\ndata: {\"type\":\"ping\"}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me read a.txt.\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: content_block_start\n",
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"read_file\",\"input\":{}}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"path\\\": \"}}\n\n",
    "event: content_block_delta\n",
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"a.txt\\\"}\"}}\n\n",
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
    "event: message_delta\n",
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":40}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
);

pub fn message_body(text: &str) -> serde_json::Value {
    json!({
        "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 300, "output_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
    })
}

#[tokio::test]
async fn streaming_assembles_text_tool_use_and_cache_usage() {
    let server = TestServer::start(vec![Reply::sse(STREAM_TOOL_USE)]).await;
    let model = fast_model(&spec(
        Provider::Anthropic,
        "claude-sonnet-4-5",
        &server.url,
        true,
    ));
    let (response, events) = complete(model.as_ref(), &request()).await;
    let response = response.unwrap();

    assert_eq!(response.text, "Let me read a.txt.");
    assert_eq!(
        response.tool_calls,
        vec![ToolCall {
            id: "toolu_01".into(),
            name: "read_file".into(),
            arguments: r#"{"path": "a.txt"}"#.into()
        }]
    );
    assert_eq!(response.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 3020,
            output_tokens: 40,
            cache_read_tokens: 2000,
            cache_write_tokens: 1000
        }
    );
    // claude-sonnet-4-5: 20 × 3 + 2000 × 0.30 + 1000 × 3 × 1.25 + 40 × 15, per million
    let cost = response.cost_usd.unwrap();
    assert!(
        (cost - (20.0 * 3.0 + 2000.0 * 0.30 + 1000.0 * 3.75 + 40.0 * 15.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!(
        events,
        vec![
            ModelEvent::TextDelta("Let me read a.txt.".into()),
            ModelEvent::ToolCallStarted {
                name: "read_file".into()
            }
        ]
    );

    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.headers["x-api-key"], TEST_API_KEY);
    assert_eq!(sent.headers["anthropic-version"], "2023-06-01");
    assert!(!sent.headers.contains_key("authorization"));
    assert_eq!(sent.body["system"], "You are terse.");
    assert_eq!(sent.body["max_tokens"], 512);
    assert_eq!(sent.body["stream"], true);
    assert_eq!(
        sent.body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "What is in the folder?"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "list_dir", "input": {"path": "."}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt\nb.txt"}]}
        ])
    );
    assert_eq!(
        sent.body["tools"][0],
        json!({"name": "list_dir", "description": "List a folder", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}})
    );
}

#[tokio::test]
async fn non_streaming_answers_with_text() {
    let server = TestServer::start(vec![Reply::json(
        200,
        message_body("Two files: a.txt and b.txt."),
    )])
    .await;
    let model = fast_model(&spec(
        Provider::Anthropic,
        "claude-haiku-4-5",
        &server.url,
        false,
    ));
    let (response, events) = complete(model.as_ref(), &request()).await;
    let response = response.unwrap();
    assert_eq!(response.text, "Two files: a.txt and b.txt.");
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 300,
            output_tokens: 12,
            ..Usage::default()
        }
    );
    assert_eq!(response.attempts, 1);
    assert!(events.is_empty());
    assert_eq!(server.requests()[0].body["stream"], false);
}

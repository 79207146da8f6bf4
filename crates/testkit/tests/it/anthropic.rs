//! Anthropic Messages: JSON and streamed answers, usage, tool_use ids, strictness.

use serde_json::{Value, json};

use crate::support::{post_anthropic, sse_events, start, status_and_json};

const TOOL_THEN_TEXT: &str = r#"
[[turns]]
text = "Let me write it."
tool_calls = [{ name = "write_file", id = "toolu_scripted", arguments = { path = "hello.txt", content = "hi there, world" } }]
usage = { input_tokens = 1000, output_tokens = 20, cache_read_tokens = 600, cache_write_tokens = 100 }

[[turns]]
expect = { last_message_contains = "wrote" }
text = "Done."
"#;

fn first_request(stream: bool) -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 1024,
        "stream": stream,
        "system": "be brief",
        "messages": [{"role": "user", "content": "write hello.txt"}],
        "tools": [{"name": "write_file", "description": "write a file",
                   "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]
    })
}

fn second_request(answered_id: &str) -> Value {
    let mut body = first_request(false);
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": [
        {"type": "text", "text": "Let me write it."},
        {"type": "tool_use", "id": "toolu_scripted", "name": "write_file", "input": {"path": "hello.txt"}}
    ]}));
    messages.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": answered_id, "content": "wrote 15 bytes"}
    ]}));
    body
}

#[tokio::test]
async fn non_streaming_message_with_tool_use_and_cache_usage() {
    let mock = start(TOOL_THEN_TEXT).await;
    let (status, body) = status_and_json(post_anthropic(&mock, &first_request(false)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-test");
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(
        body["content"][0],
        json!({"type": "text", "text": "Let me write it."})
    );
    assert_eq!(body["content"][1]["type"], "tool_use");
    assert_eq!(body["content"][1]["id"], "toolu_scripted");
    assert_eq!(
        body["content"][1]["input"],
        json!({"path": "hello.txt", "content": "hi there, world"})
    );
    // rein counts all input tokens together; Anthropic reports the uncached part apart
    let usage = &body["usage"];
    assert_eq!(usage["input_tokens"], 300);
    assert_eq!(usage["cache_read_input_tokens"], 600);
    assert_eq!(usage["cache_creation_input_tokens"], 100);
    assert_eq!(usage["output_tokens"], 20);
}

#[tokio::test]
async fn streaming_events_have_the_real_sequence_and_fragments() {
    let mock = start(TOOL_THEN_TEXT).await;
    let response = post_anthropic(&mock, &first_request(true)).await;
    assert_eq!(response.status().as_u16(), 200);
    let events = sse_events(&response.text().await.unwrap());
    for (name, data) in &events {
        assert_eq!(data["type"], name.as_str());
    }
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names[0], "message_start");
    assert_eq!(
        &names[names.len() - 2..],
        &["message_delta", "message_stop"]
    );
    assert_eq!(
        names
            .iter()
            .filter(|name| **name == "content_block_start")
            .count(),
        2
    );
    assert_eq!(
        names
            .iter()
            .filter(|name| **name == "content_block_stop")
            .count(),
        2
    );

    let start = &events[0].1["message"];
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["usage"]["input_tokens"], 300);
    assert_eq!(start["usage"]["cache_read_input_tokens"], 600);

    let deltas = |kind: &str, field: &str, index: u64| -> Vec<String> {
        events
            .iter()
            .filter(|(name, data)| {
                name == "content_block_delta"
                    && data["index"] == index
                    && data["delta"]["type"] == kind
            })
            .map(|(_, data)| data["delta"][field].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(deltas("text_delta", "text", 0).concat(), "Let me write it.");
    let tool_start = events
        .iter()
        .find(|(name, data)| name == "content_block_start" && data["index"] == 1)
        .unwrap();
    assert_eq!(
        tool_start.1["content_block"],
        json!({"type": "tool_use", "id": "toolu_scripted", "name": "write_file", "input": {}})
    );
    let fragments = deltas("input_json_delta", "partial_json", 1);
    assert!(fragments.len() > 3, "{fragments:?}");
    let input: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(input["content"], "hi there, world");

    let message_delta = &events[events.len() - 2].1;
    assert_eq!(message_delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(message_delta["usage"]["output_tokens"], 20);
}

#[tokio::test]
async fn tool_result_round_trip_checks_ids() {
    let mock = start(TOOL_THEN_TEXT).await;
    let (status, body) =
        status_and_json(post_anthropic(&mock, &second_request("toolu_scripted")).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["content"], json!([{"type": "text", "text": "Done."}]));
    assert_eq!(body["stop_reason"], "end_turn");

    let (status, body) =
        status_and_json(post_anthropic(&mock, &second_request("toolu_other")).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("toolu_other"), "{message}");

    // the tool result in a later message instead of right after the tool_use
    let mut late = second_request("toolu_scripted");
    let messages = late["messages"].as_array_mut().unwrap();
    let result = messages.pop().unwrap();
    messages.push(json!({"role": "user", "content": "first this"}));
    messages.push(json!({"role": "assistant", "content": "ok"}));
    messages.push(result);
    let (status, body) = status_and_json(post_anthropic(&mock, &late).await).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("without `tool_result` blocks immediately after: toolu_scripted")
    );
}

#[tokio::test]
async fn strict_checks_refuse_what_the_real_api_refuses() {
    let mock = start("[[turns]]\ntext = \"x\"\n").await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/messages", mock.anthropic_base_url());
    let body =
        json!({"model": "c", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});

    let no_key = client
        .post(&url)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, answer) = status_and_json(no_key).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"]["type"], "authentication_error");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-api-key")
    );

    let no_version = client
        .post(&url)
        .header("x-api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, answer) = status_and_json(no_version).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("anthropic-version")
    );

    let cases = [
        (
            json!({"model": "c", "messages": [{"role": "user", "content": "hi"}]}),
            "max_tokens: Field required",
        ),
        (
            json!({"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
            "model: Field required",
        ),
        (
            json!({"model": "c", "max_tokens": 10, "messages": []}),
            "at least one message is required",
        ),
        (
            json!({"model": "c", "max_tokens": 10, "messages": [{"role": "system", "content": "rules"}, {"role": "user", "content": "hi"}]}),
            "messages.0.role: Unexpected role \"system\"",
        ),
        (
            json!({"model": "c", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}],
                   "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}),
            "looks like an OpenAI tool",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = status_and_json(post_anthropic(&mock, &body).await).await;
        assert_eq!(status, 400, "{body}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{message} should contain {expected}"
        );
    }
    assert_eq!(
        status_and_json(post_anthropic(&mock, &body).await).await.0,
        200
    );
}

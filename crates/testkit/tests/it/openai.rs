//! OpenAI Chat Completions: JSON and streamed answers, tool call ids, strictness.

use rein_testkit::estimate_tokens;
use serde_json::{Value, json};

use crate::support::{post_openai, sse_data, start, status_and_json};

const TOOL_THEN_TEXT: &str = r#"
[[turns]]
tool_calls = [{ name = "write_file", arguments = { path = "hello.txt", content = "hi there, world" } }]

[[turns]]
expect = { last_message_contains = "wrote" }
text = "Done."
"#;

fn first_request(stream: bool) -> Value {
    json!({
        "model": "gpt-test",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "write hello.txt"}
        ],
        "tools": [{"type": "function", "function": {
            "name": "write_file",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}
        }}]
    })
}

fn second_request(tool_call_id: &str, answered_id: &str) -> Value {
    let mut body = first_request(false);
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(
        json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": tool_call_id, "type": "function",
            "function": {"name": "write_file", "arguments": "{\"path\":\"hello.txt\"}"}
        }]}),
    );
    messages
        .push(json!({"role": "tool", "tool_call_id": answered_id, "content": "wrote 15 bytes"}));
    body
}

#[tokio::test]
async fn non_streaming_text_answer_with_estimated_usage() {
    let mock = start("[[turns]]\ntext = \"Hello there, friend.\"\n").await;
    let (status, body) = status_and_json(
        post_openai(
            &mock,
            &json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-test");
    let choice = &body["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Hello there, friend.");
    assert_eq!(choice["finish_reason"], "stop");
    assert!(choice["message"].get("tool_calls").is_none());
    let usage = &body["usage"];
    assert_eq!(
        usage["completion_tokens"],
        estimate_tokens("Hello there, friend.")
    );
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
    mock.shutdown().await;
}

#[tokio::test]
async fn non_streaming_tool_call_has_default_id_and_string_arguments() {
    let mock = start(TOOL_THEN_TEXT).await;
    let (status, body) = status_and_json(post_openai(&mock, &first_request(false)).await).await;
    assert_eq!(status, 200, "{body}");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], Value::Null);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    let call = &message["tool_calls"][0];
    assert_eq!(call["id"], "call_mock_0_0");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "write_file");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        arguments,
        json!({"path": "hello.txt", "content": "hi there, world"})
    );
}

#[tokio::test]
async fn streaming_tool_call_arrives_in_fragments_with_usage_chunk_and_done() {
    let mock = start(TOOL_THEN_TEXT).await;
    let mut body = first_request(true);
    body["stream_options"] = json!({"include_usage": true});
    let response = post_openai(&mock, &body).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = response.text().await.unwrap();
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["object"] == "chat.completion.chunk")
    );
    let first_delta = &chunks[0]["choices"][0]["delta"];
    assert_eq!(first_delta["role"], "assistant");
    assert_eq!(first_delta["tool_calls"][0]["id"], "call_mock_0_0");
    assert_eq!(first_delta["tool_calls"][0]["index"], 0);
    assert_eq!(
        first_delta["tool_calls"][0]["function"]["name"],
        "write_file"
    );
    let fragments: Vec<&str> = chunks
        .iter()
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
        })
        .filter(|fragment| !fragment.is_empty())
        .collect();
    assert!(
        fragments.len() > 3,
        "arguments split over several deltas: {fragments:?}"
    );
    let arguments: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(arguments["content"], "hi there, world");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(finish["usage"], Value::Null);
    let usage_chunk = chunks.last().unwrap();
    assert_eq!(usage_chunk["choices"], json!([]));
    assert!(usage_chunk["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(usage_chunk["usage"]["completion_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn streaming_text_without_include_usage_has_no_usage_field() {
    let mock = start("[[turns]]\ntext = \"one two three four five six seven\"\n").await;
    let body =
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "count"}]});
    let text = post_openai(&mock, &body).await.text().await.unwrap();
    let data = sse_data(&text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|data| serde_json::from_str(data).unwrap())
        .collect();
    assert!(chunks.iter().all(|chunk| chunk.get("usage").is_none()));
    let content: String = chunks
        .iter()
        .filter_map(|chunk| chunk["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(content, "one two three four five six seven");
    assert!(chunks.len() > 5);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn tool_result_round_trip_checks_ids() {
    let mock = start(TOOL_THEN_TEXT).await;
    let (status, body) = status_and_json(
        post_openai(&mock, &second_request("call_mock_0_0", "call_mock_0_0")).await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "Done.");

    let (status, body) =
        status_and_json(post_openai(&mock, &second_request("call_mock_0_0", "call_wrong")).await)
            .await;
    assert_eq!(status, 400);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("\"call_wrong\""), "{message}");
    assert!(message.contains("call_mock_0_0"), "{message}");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    // an assistant tool call left unanswered
    let mut unanswered = second_request("call_mock_0_0", "call_mock_0_0");
    let messages = unanswered["messages"].as_array_mut().unwrap();
    messages.pop();
    messages.push(json!({"role": "user", "content": "wrote it?"}));
    let (status, body) = status_and_json(post_openai(&mock, &unanswered).await).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not have response messages: call_mock_0_0")
    );

    let turns: Vec<Option<usize>> = mock.requests().iter().map(|request| request.turn).collect();
    assert_eq!(turns, vec![Some(1), None, None]);
}

#[tokio::test]
async fn strict_checks_refuse_what_the_real_api_refuses() {
    let mock = start("[[turns]]\ntext = \"x\"\n").await;
    let no_auth = reqwest::Client::new()
        .post(format!("{}/chat/completions", mock.openai_base_url()))
        .json(&json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(no_auth).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Authorization")
    );

    let cases = [
        (
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            "you must provide a model parameter",
        ),
        (
            json!({"model": "m", "messages": []}),
            "Invalid 'messages': empty array",
        ),
        (
            json!({"model": "m"}),
            "Missing required parameter: 'messages'",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [{"name": "f", "input_schema": {"type": "object"}}]}),
            "'tools[0].type'",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = status_and_json(post_openai(&mock, &body).await).await;
        assert_eq!(status, 400, "{body}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{message} should contain {expected}"
        );
    }
    let not_json = reqwest::Client::new()
        .post(format!("{}/chat/completions", mock.openai_base_url()))
        .bearer_auth("k")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_json(not_json).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(mock.requests().iter().all(|request| request.turn.is_none()));
}

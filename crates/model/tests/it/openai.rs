//! OpenAI-compatible Chat Completions over real loopback HTTP.

use rein_model::{FinishReason, ModelEvent, ToolCall, Usage};
use rein_spec::spec::Provider;
use serde_json::json;

use crate::server::{Reply, TestServer};
use crate::{TEST_API_KEY, complete, fast_model, request, spec};

pub const STREAM_TWO_CALLS: &str = concat!(
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4.1-mini-2025-04-14\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Reading \"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"both.\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"path\\\":\\\"a.txt\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"path\\\":\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"\\\"b.txt\\\"}\"}}]},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":50,\"total_tokens\":1050,\"prompt_tokens_details\":{\"cached_tokens\":800}}}\n\n",
    "data: [DONE]\n\n",
);

pub fn completion_body(text: &str) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4.1-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
    })
}

#[tokio::test]
async fn streaming_assembles_two_tool_calls_and_usage() {
    let server = TestServer::start(vec![Reply::sse(STREAM_TWO_CALLS)]).await;
    let model = fast_model(&spec(
        Provider::Openai,
        "gpt-4.1-mini",
        &format!("{}/v1", server.url),
        true,
    ));
    let (response, events) = complete(model.as_ref(), &request()).await;
    let response = response.unwrap();

    assert_eq!(response.text, "Reading both.");
    assert_eq!(
        response.tool_calls,
        vec![
            ToolCall {
                id: "call_a".into(),
                name: "read_file".into(),
                arguments: r#"{"path":"a.txt"}"#.into()
            },
            ToolCall {
                id: "call_b".into(),
                name: "read_file".into(),
                arguments: r#"{"path":"b.txt"}"#.into()
            },
        ]
    );
    assert_eq!(response.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        response.usage,
        Usage {
            input_tokens: 1000,
            output_tokens: 50,
            cache_read_tokens: 800,
            cache_write_tokens: 0
        }
    );
    assert_eq!(response.attempts, 1);
    assert_eq!(response.model, "gpt-4.1-mini-2025-04-14");
    // gpt-4.1-mini: 200 uncached × 0.40 + 800 cached × 0.10 + 50 × 1.60, per million
    let cost = response.cost_usd.unwrap();
    assert!(
        (cost - (200.0 * 0.40 + 800.0 * 0.10 + 50.0 * 1.60) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_eq!(events[0], ModelEvent::TextDelta("Reading ".into()));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, ModelEvent::ToolCallStarted { .. }))
            .count(),
        2
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.headers["authorization"],
        format!("Bearer {TEST_API_KEY}")
    );
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["stream_options"], json!({"include_usage": true}));
    // not api.openai.com: the widely known `max_tokens`
    assert_eq!(sent.body["max_tokens"], 512);
    assert!(sent.body.get("max_completion_tokens").is_none());
    assert_eq!(sent.body["temperature"], 0.0);
    assert_eq!(
        sent.body["messages"][0],
        json!({"role": "system", "content": "You are terse."})
    );
    assert_eq!(
        sent.body["messages"][2],
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "list_dir", "arguments": "{\"path\":\".\"}"}}]})
    );
    assert_eq!(
        sent.body["messages"][3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "a.txt\nb.txt"})
    );
    assert_eq!(sent.body["tools"][0]["type"], "function");
    assert_eq!(sent.body["tools"][0]["function"]["name"], "list_dir");
}

#[tokio::test]
async fn non_streaming_answers_and_reuses_the_connection() {
    let server = TestServer::start(vec![
        Reply::json(200, completion_body("There are two files.")),
        Reply::json(200, completion_body("Still two.")),
    ])
    .await;
    let model = fast_model(&spec(
        Provider::Openai,
        "gpt-4.1-mini",
        &format!("{}/v1/", server.url),
        false,
    ));
    let (first, events) = complete(model.as_ref(), &request()).await;
    let first = first.unwrap();
    assert_eq!(first.text, "There are two files.");
    assert_eq!(first.finish_reason, FinishReason::Stop);
    assert!(first.tool_calls.is_empty());
    assert_eq!(
        first.usage,
        Usage {
            input_tokens: 100,
            output_tokens: 10,
            ..Usage::default()
        }
    );
    assert!(events.is_empty(), "{events:?}");
    let (second, _) = complete(model.as_ref(), &request()).await;
    assert_eq!(second.unwrap().text, "Still two.");

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].body["stream"], false);
    assert!(requests[0].body.get("stream_options").is_none());
    assert_eq!(
        server.n_connections(),
        1,
        "one client per model: the connection is kept alive"
    );
}

#[tokio::test]
async fn a_local_server_needs_no_key_and_gets_no_authorization_header() {
    let server = TestServer::start(vec![Reply::json(200, completion_body("hi"))]).await;
    let mut spec = spec(
        Provider::Openai,
        "llama3.2",
        &format!("{}/v1", server.url),
        false,
    );
    spec.api_key = None;
    let model = fast_model(&spec);
    let (response, _) = complete(model.as_ref(), &request()).await;
    let response = response.unwrap();
    assert_eq!(response.text, "hi");
    assert_eq!(response.cost_usd, None, "llama3.2 has no known price");
    assert!(!server.requests()[0].headers.contains_key("authorization"));
}

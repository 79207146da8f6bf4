//! Helpers shared by the integration tests.

use rein_model::script::Script;
use rein_testkit::MockLlm;
use serde_json::Value;

pub fn script(toml: &str) -> Script {
    Script::parse(toml, false).expect("test script parses")
}

pub async fn start(toml: &str) -> MockLlm {
    MockLlm::start_loopback(script(toml))
        .await
        .expect("mock starts")
}

pub async fn post_openai(mock: &MockLlm, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/chat/completions", mock.openai_base_url()))
        .bearer_auth("sk-test-key")
        .json(body)
        .send()
        .await
        .expect("request sent")
}

pub async fn post_anthropic(mock: &MockLlm, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/messages", mock.anthropic_base_url()))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("request sent")
}

/// Status and JSON body of a response.
pub async fn status_and_json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.expect("JSON body");
    (status, body)
}

/// The `data:` payloads of an event stream, in order.
pub fn sse_data(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            event
                .lines()
                .filter_map(|line| line.strip_prefix("data: "))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// `(event name, data)` of each event of an Anthropic stream.
pub fn sse_events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            let name = event
                .lines()
                .find_map(|line| line.strip_prefix("event: "))
                .expect("event line")
                .to_string();
            let data = event
                .lines()
                .find_map(|line| line.strip_prefix("data: "))
                .expect("data line");
            (name, serde_json::from_str(data).expect("data is JSON"))
        })
        .collect()
}

/// Read a response body chunk by chunk until it ends or fails; returns the bytes read and
/// whether it failed.
pub async fn collect_until_error(mut response: reqwest::Response) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => return (received, false),
            Err(_) => return (received, true),
        }
    }
}

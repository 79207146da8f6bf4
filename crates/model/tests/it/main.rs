//! Integration tests of rein-model against a tiny in-test HTTP server on 127.0.0.1:0.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod anthropic;
mod build;
mod openai;
mod retries;
mod server;

use std::time::Duration;

use rein_model::{
    BuildOptions, Message, Model, ModelEvent, Request, ToolCall, ToolSpec, build_model_with_options,
};
use rein_spec::spec::{ModelSpec, Provider, Secret};

pub const TEST_API_KEY: &str = "sk-test-0123456789";

pub fn spec(provider: Provider, name: &str, base_url: &str, stream: bool) -> ModelSpec {
    ModelSpec {
        provider,
        name: name.to_string(),
        base_url: base_url.to_string(),
        api_key: Some(Secret::new(TEST_API_KEY)),
        temperature: Some(0.0),
        max_output_tokens: 512,
        stream,
        script: None,
        max_attempts: 3,
        request_timeout: Duration::from_secs(20),
        pricing: None,
        pricing_source: rein_spec::spec::PricingSource::Spec,
    }
}

/// Fast retries for tests: backoff of about a millisecond.
pub fn fast_model(spec: &ModelSpec) -> std::sync::Arc<dyn Model> {
    let options = BuildOptions {
        retry_base_delay_ms: 1,
        retry_max_delay_ms: 5,
        ..BuildOptions::default()
    };
    build_model_with_options(spec, options).unwrap()
}

/// A request in the middle of a tool-call conversation.
pub fn request() -> Request {
    Request {
        system: "You are terse.".to_string(),
        messages: vec![
            Message::User {
                content: "What is in the folder?".to_string(),
            },
            Message::Assistant {
                content: String::new(),
                tool_calls: vec![ToolCall {
                    id: "call_1".into(),
                    name: "list_dir".into(),
                    arguments: r#"{"path":"."}"#.into(),
                }],
            },
            Message::Tool {
                tool_call_id: "call_1".into(),
                name: "list_dir".into(),
                content: "a.txt\nb.txt".into(),
                is_error: false,
            },
        ],
        tools: vec![ToolSpec {
            name: "list_dir".to_string(),
            description: "List a folder".to_string(),
            input_schema: serde_json::json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
        }],
        max_output_tokens: 512,
        temperature: None,
    }
}

/// Run one completion, collecting the events.
pub async fn complete(
    model: &dyn Model,
    request: &Request,
) -> (
    Result<rein_model::Response, rein_model::ModelError>,
    Vec<ModelEvent>,
) {
    let mut events = Vec::new();
    let result = model
        .complete(request, &mut |event| events.push(event))
        .await;
    (result, events)
}

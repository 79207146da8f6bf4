//! Runs a 2-turn tool-call conversation against a real (or strictly mocked) endpoint, for
//! each HTTP provider, streaming and not: turn 1 asks for tool calls, turn 2 answers the
//! tool results with text.
//!
//! ```sh
//! cargo run -p rein-model --example two_turn_conversation -- http://127.0.0.1:PORT [API_KEY]
//! ```
//! The OpenAI base_url is `URL/v1`, the Anthropic one `URL`. Used to check rein's wire
//! formats against `/work/shared/strict-llm` (see `examples/strict-llm-script.json`).
#![allow(clippy::print_stdout)]

use std::time::Duration;

use rein_model::{Message, Request, ToolSpec, build_model};
use rein_spec::spec::{ModelSpec, Provider, Secret};

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read_file".to_string(),
            description: "Read a text file of the workspace".to_string(),
            input_schema: serde_json::json!({
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"]
            }),
        },
        ToolSpec {
            name: "list_dir".to_string(),
            description: "List a folder of the workspace".to_string(),
            input_schema: serde_json::json!({"type": "object", "properties": {"path": {"type": "string"}}}),
        },
    ]
}

fn fake_tool_output(name: &str) -> (String, bool) {
    match name {
        "read_file" => ("hello from a.txt".to_string(), false),
        "list_dir" => ("a.txt\nb.txt".to_string(), false),
        other => (format!("unknown tool {other}"), true),
    }
}

async fn converse(
    provider: Provider,
    name: &str,
    base_url: String,
    api_key: &str,
    stream: bool,
) -> Result<(), String> {
    let spec = ModelSpec {
        provider,
        name: name.to_string(),
        base_url,
        api_key: Some(Secret::new(api_key)),
        temperature: Some(0.0),
        max_output_tokens: 1024,
        stream,
        script: None,
        max_attempts: 3,
        request_timeout: Duration::from_secs(30),
        pricing: None,
        pricing_source: rein_spec::spec::PricingSource::Spec,
    };
    let model = build_model(&spec).map_err(|err| err.to_string())?;
    let mut request = Request {
        system: "You are a terse assistant. Use the tools.".to_string(),
        messages: vec![Message::User {
            content: "What does a.txt say?".to_string(),
        }],
        tools: tools(),
        max_output_tokens: 1024,
        temperature: None,
    };
    let mut n_text_deltas = 0usize;
    let mut n_retries = 0usize;
    for turn in 1..=2 {
        let response = model
            .complete(&request, &mut |event| match event {
                rein_model::ModelEvent::TextDelta(_) => n_text_deltas += 1,
                rein_model::ModelEvent::AttemptFailed { .. } => n_retries += 1,
                rein_model::ModelEvent::ToolCallStarted { .. } => {}
            })
            .await
            .map_err(|err| format!("turn {turn}: {err}"))?;
        println!(
            "  turn {turn}: finish={:?} text={:?} tool_calls={:?} usage={:?} cost_usd={:?} attempts={}",
            response.finish_reason,
            response.text,
            response
                .tool_calls
                .iter()
                .map(|c| format!("{}({})", c.name, c.arguments))
                .collect::<Vec<_>>(),
            response.usage,
            response.cost_usd,
            response.attempts,
        );
        if response.tool_calls.is_empty() {
            break;
        }
        let tool_calls = response.tool_calls.clone();
        request.messages.push(Message::Assistant {
            content: response.text,
            tool_calls: response.tool_calls,
        });
        for call in tool_calls {
            let (content, is_error) = fake_tool_output(&call.name);
            request.messages.push(Message::Tool {
                tool_call_id: call.id,
                name: call.name,
                content,
                is_error,
            });
        }
    }
    println!("  text deltas: {n_text_deltas}, retried attempts: {n_retries}");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or("usage: two_turn_conversation URL [API_KEY]")?;
    let url = url.trim_end_matches('/').to_string();
    let api_key = args.next().unwrap_or_else(|| "sk-rein-example".to_string());
    let mut failures = Vec::new();
    for (provider, name, base_url) in [
        (Provider::Openai, "gpt-4.1-mini", format!("{url}/v1")),
        (Provider::Anthropic, "claude-sonnet-4-5", url.clone()),
    ] {
        for stream in [true, false] {
            println!("{provider:?} {name} stream={stream}");
            if let Err(error) = converse(provider, name, base_url.clone(), &api_key, stream).await {
                println!("  FAILED: {error}");
                failures.push(format!("{provider:?} stream={stream}: {error}"));
            }
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

//! Retries, backoff and error reporting of the HTTP providers.

use std::time::Duration;

use rein_model::{ModelError, ModelEvent};
use rein_spec::spec::Provider;
use serde_json::json;

use crate::anthropic::{STREAM_TOOL_USE, message_body};
use crate::openai::{STREAM_TWO_CALLS, completion_body};
use crate::server::{Reply, TestServer};
use crate::{TEST_API_KEY, complete, fast_model, request, spec};

fn failures(events: &[ModelEvent]) -> Vec<(u32, Option<u16>, u64)> {
    events
        .iter()
        .filter_map(|event| match event {
            ModelEvent::AttemptFailed {
                attempt,
                status,
                retry_in_ms,
                ..
            } => Some((*attempt, *status, *retry_in_ms)),
            _ => None,
        })
        .collect()
}

fn openai_error(message: &str, code: Option<&str>) -> serde_json::Value {
    json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}})
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_recovered() {
    let server = TestServer::start(vec![
        Reply::Json {
            status: 429,
            headers: vec![("retry-after".into(), "1".into())],
            body: openai_error("Rate limit reached", Some("rate_limit_exceeded")).to_string(),
        },
        Reply::json(200, completion_body("ok")),
    ])
    .await;
    let model = fast_model(&spec(Provider::Openai, "gpt-4.1", &server.url, false));
    let (response, events) = complete(model.as_ref(), &request()).await;
    let response = response.unwrap();
    assert_eq!(response.text, "ok");
    assert_eq!(response.attempts, 2);
    assert_eq!(
        failures(&events),
        vec![(1, Some(429), 1000)],
        "Retry-After: 1 means 1000 ms, not the 1 ms backoff"
    );
    let ModelEvent::AttemptFailed { error, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert!(error.contains("Rate limit reached"), "{error}");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn an_anthropic_529_with_an_http_date_retry_after_is_retried() {
    let server = TestServer::start(vec![
        Reply::Json {
            status: 529,
            headers: vec![("retry-after".into(), "Sun, 06 Nov 1994 08:49:37 GMT".into())],
            body: json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}).to_string(),
        },
        Reply::json(200, message_body("ok")),
    ])
    .await;
    let model = fast_model(&spec(
        Provider::Anthropic,
        "claude-haiku-4-5",
        &server.url,
        false,
    ));
    let (response, events) = complete(model.as_ref(), &request()).await;
    assert_eq!(response.unwrap().attempts, 2);
    assert_eq!(
        failures(&events),
        vec![(1, Some(529), 0)],
        "a date in the past means retry now"
    );
}

#[tokio::test]
async fn repeated_500s_fail_after_max_attempts() {
    let server_error = || {
        Reply::json(
            500,
            json!({"error": {"message": "server exploded", "type": "server_error"}}),
        )
    };
    let server = TestServer::start(vec![
        server_error(),
        server_error(),
        server_error(),
        Reply::json(200, completion_body("too late")),
    ])
    .await;
    let model = fast_model(&spec(Provider::Openai, "gpt-4.1", &server.url, true));
    let (response, events) = complete(model.as_ref(), &request()).await;
    let error = response.unwrap_err();
    assert!(
        matches!(
            error,
            ModelError::Http {
                status: 500,
                attempts: 3,
                retried: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.status(), Some(500));
    assert!(error.retried());
    assert_eq!(error.provider_message(), Some("server exploded"));
    assert_eq!(
        error.to_string(),
        "openai request failed: http 500 after 3 attempt(s) (retried): server exploded"
    );
    assert_eq!(
        failures(&events)
            .iter()
            .map(|f| (f.0, f.1))
            .collect::<Vec<_>>(),
        vec![(1, Some(500)), (2, Some(500))]
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_401_is_not_retried_and_never_shows_the_key() {
    let message = format!(
        "Incorrect API key provided: {TEST_API_KEY}. You can find your API key at https://platform.openai.com/account/api-keys."
    );
    let server = TestServer::start(vec![Reply::json(
        401,
        openai_error(&message, Some("invalid_api_key")),
    )])
    .await;
    let model = fast_model(&spec(Provider::Openai, "gpt-4.1", &server.url, false));
    let (response, events) = complete(model.as_ref(), &request()).await;
    let error = response.unwrap_err();
    let text = error.to_string();
    assert!(!text.contains(TEST_API_KEY), "{text}");
    assert!(!format!("{error:?}").contains(TEST_API_KEY));
    assert!(text.starts_with("openai request failed: http 401 after 1 attempt(s) (not retried): Incorrect API key provided: ***."), "{text}");
    assert!(
        text.contains("hint: check the api key: is the OPENAI_API_KEY environment variable set"),
        "{text}"
    );
    assert!(!error.retried());
    assert!(events.is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_404_hints_at_the_model_name_and_base_url() {
    let server = TestServer::start(vec![Reply::json(
        404,
        json!({"type": "error", "error": {"type": "not_found_error", "message": "model: claude-nope"}}),
    )])
    .await;
    let model = fast_model(&spec(Provider::Anthropic, "claude-nope", &server.url, true));
    let (response, _) = complete(model.as_ref(), &request()).await;
    let text = response.unwrap_err().to_string();
    assert!(
        text.contains("http 404") && text.contains("model: claude-nope"),
        "{text}"
    );
    assert!(
        text.contains("hint: check the model name and base_url"),
        "{text}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn context_length_errors_are_distinct_and_not_retried() {
    let openai = TestServer::start(vec![Reply::json(
        400,
        openai_error("This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens.", Some("context_length_exceeded")),
    )])
    .await;
    let anthropic = TestServer::start(vec![Reply::json(
        400,
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > 200000 maximum"}}),
    )])
    .await;
    let openai_model = fast_model(&spec(Provider::Openai, "gpt-4.1", &openai.url, true));
    let anthropic_model = fast_model(&spec(
        Provider::Anthropic,
        "claude-sonnet-4-5",
        &anthropic.url,
        false,
    ));
    for (model, server) in [(openai_model, &openai), (anthropic_model, &anthropic)] {
        let (response, events) = complete(model.as_ref(), &request()).await;
        let error = response.unwrap_err();
        assert!(error.is_context_length(), "{error:?}");
        assert!(matches!(
            error,
            ModelError::ContextLength {
                status: 400,
                attempts: 1,
                ..
            }
        ));
        assert!(
            error
                .to_string()
                .contains("context length exceeded (http 400, not retried)"),
            "{error}"
        );
        assert!(events.is_empty());
        assert_eq!(server.requests().len(), 1);
    }
}

#[tokio::test]
async fn a_stream_cut_midway_is_retried_for_both_providers() {
    let openai = TestServer::start(vec![
        Reply::Sse {
            body: STREAM_TWO_CALLS.to_string(),
            cut_after_bytes: Some(STREAM_TWO_CALLS.len() / 2),
        },
        Reply::sse(STREAM_TWO_CALLS),
    ])
    .await;
    let anthropic = TestServer::start(vec![
        Reply::Sse {
            body: STREAM_TOOL_USE.to_string(),
            cut_after_bytes: Some(STREAM_TOOL_USE.len() - 40),
        },
        Reply::sse(STREAM_TOOL_USE),
    ])
    .await;
    let openai_model = fast_model(&spec(
        Provider::Openai,
        "gpt-4.1",
        &format!("{}/v1", openai.url),
        true,
    ));
    let anthropic_model = fast_model(&spec(
        Provider::Anthropic,
        "claude-sonnet-4-5",
        &anthropic.url,
        true,
    ));
    for (model, server, n_calls) in [(openai_model, &openai, 2), (anthropic_model, &anthropic, 1)] {
        let (response, events) = complete(model.as_ref(), &request()).await;
        let response = response.unwrap();
        assert_eq!(response.attempts, 2);
        assert_eq!(response.tool_calls.len(), n_calls);
        let failed = failures(&events);
        assert_eq!(
            failed.iter().map(|f| (f.0, f.1)).collect::<Vec<_>>(),
            vec![(1, None)]
        );
        let ModelEvent::AttemptFailed { error, .. } = events
            .iter()
            .find(|e| matches!(e, ModelEvent::AttemptFailed { .. }))
            .unwrap()
        else {
            unreachable!()
        };
        assert!(error.contains("stream ended before"), "{error}");
        assert_eq!(server.requests().len(), 2);
    }
}

#[tokio::test]
async fn an_attempt_that_times_out_is_retried() {
    let server = TestServer::start(vec![
        Reply::Delayed {
            delay_ms: 5_000,
            reply: Box::new(Reply::json(200, completion_body("slow"))),
        },
        Reply::json(200, completion_body("fast")),
    ])
    .await;
    let mut spec = spec(Provider::Openai, "gpt-4.1", &server.url, false);
    spec.request_timeout = Duration::from_millis(300);
    let model = fast_model(&spec);
    let (response, events) = complete(model.as_ref(), &request()).await;
    let response = response.unwrap();
    assert_eq!(response.text, "fast");
    assert_eq!(response.attempts, 2);
    let ModelEvent::AttemptFailed {
        error,
        status: None,
        ..
    } = &events[0]
    else {
        panic!("{events:?}")
    };
    assert!(error.contains("timed out after 300ms"), "{error}");
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut spec = spec(Provider::Anthropic, "claude-haiku-4-5", &url, true);
    spec.max_attempts = 2;
    let model = fast_model(&spec);
    let (response, events) = complete(model.as_ref(), &request()).await;
    let error = response.unwrap_err();
    assert!(
        matches!(
            error,
            ModelError::Transport {
                attempts: 2,
                retried: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("anthropic request failed after 2 attempt(s) (retried): "),
        "{error}"
    );
    assert_eq!(failures(&events).len(), 1);
    assert!(!error.to_string().contains(TEST_API_KEY));
}

/// Issue 10 (8c): the server's `x-should-retry` wins over the status's default: a 500 it
/// says not to retry is not retried, a 400 it says to retry is.
#[tokio::test]
async fn x_should_retry_overrides_the_status_default() {
    let server = TestServer::start(vec![Reply::Json {
        status: 500,
        headers: vec![("x-should-retry".into(), "false".into())],
        body: openai_error("internal error, do not retry", None).to_string(),
    }])
    .await;
    let model = fast_model(&spec(Provider::Openai, "gpt-4.1", &server.url, false));
    let (response, events) = complete(model.as_ref(), &request()).await;
    assert!(response.is_err(), "{response:?}");
    assert_eq!(failures(&events), vec![]);
    assert_eq!(server.requests().len(), 1);

    let server = TestServer::start(vec![
        Reply::Json {
            status: 400,
            headers: vec![("x-should-retry".into(), "true".into())],
            body: openai_error("try again", None).to_string(),
        },
        Reply::json(200, completion_body("ok")),
    ])
    .await;
    let model = fast_model(&spec(Provider::Openai, "gpt-4.1", &server.url, false));
    let (response, events) = complete(model.as_ref(), &request()).await;
    assert_eq!(response.unwrap().text, "ok");
    assert_eq!(failures(&events).len(), 1);
    assert_eq!(server.requests().len(), 2);
}

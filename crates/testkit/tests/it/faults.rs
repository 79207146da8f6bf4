//! Injected faults: status with Retry-After, cut streams, delays.

use serde_json::json;

use crate::support::{collect_until_error, post_anthropic, post_openai, start, status_and_json};

#[tokio::test]
async fn status_faults_are_served_in_order_then_the_turn_replays() {
    let mock = start(
        r#"
        [[turns]]
        text = "finally"
        faults = [{ status = 429, retry_after = 7, times = 2 }, { status = 500, message = "boom" }]
        "#,
    )
    .await;
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    for _ in 0..2 {
        let response = post_openai(&mock, &body).await;
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(response.headers()["retry-after"], "7");
        let (_, answer) = status_and_json(response).await;
        assert_eq!(answer["error"]["type"], "requests");
        assert_eq!(answer["error"]["code"], "rate_limit_exceeded");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Rate limit")
        );
    }
    let response = post_openai(&mock, &body).await;
    assert!(response.headers().get("retry-after").is_none());
    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 500);
    assert_eq!(answer["error"]["message"], "boom");
    assert_eq!(answer["error"]["type"], "server_error");
    let (status, answer) = status_and_json(post_openai(&mock, &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(answer["choices"][0]["message"]["content"], "finally");

    let statuses: Vec<u16> = mock
        .requests()
        .iter()
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, vec![429, 429, 500, 200]);
    let recorded = mock.requests();
    assert_eq!(
        recorded[0]
            .fault
            .as_ref()
            .and_then(|fault| fault.retry_after),
        Some(7)
    );
    assert_eq!(recorded[3].fault, None);
    assert!(recorded.iter().all(|request| request.turn == Some(0)));
}

#[tokio::test]
async fn anthropic_status_fault_uses_the_anthropic_error_shape() {
    let mock = start(
        r#"
        [[turns]]
        text = "ok"
        faults = [{ status = 529, retry_after = 2 }]
        "#,
    )
    .await;
    let body =
        json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
    let response = post_anthropic(&mock, &body).await;
    assert_eq!(response.headers()["retry-after"], "2");
    let (status, answer) = status_and_json(response).await;
    assert_eq!(status, 529);
    assert_eq!(answer["type"], "error");
    assert_eq!(answer["error"]["type"], "overloaded_error");
    assert_eq!(
        status_and_json(post_anthropic(&mock, &body).await).await.0,
        200
    );
}

#[tokio::test]
async fn cut_stream_is_truncated_after_exactly_the_given_bytes() {
    let mock = start(
        r#"
        [[turns]]
        text = "a long enough answer to be cut somewhere in the middle of the stream"
        faults = [{ cut_stream_after_bytes = 150 }]
        "#,
    )
    .await;
    let body =
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let cut = post_openai(&mock, &body).await;
    assert_eq!(cut.status().as_u16(), 200);
    let (cut_bytes, failed) = collect_until_error(cut).await;
    assert!(failed, "a cut stream must end with a transport error");
    assert!(cut_bytes.len() <= 150, "{} bytes", cut_bytes.len());

    // the next request of the same turn gets the whole stream: the cut part is its prefix
    let whole = post_openai(&mock, &body).await;
    let (whole_bytes, failed) = collect_until_error(whole).await;
    assert!(!failed);
    assert!(whole_bytes.len() > 150);
    assert!(whole_bytes.starts_with(&cut_bytes));
    assert!(
        String::from_utf8(whole_bytes)
            .unwrap()
            .ends_with("data: [DONE]\n\n")
    );
    assert!(!String::from_utf8_lossy(&cut_bytes).contains("[DONE]"));
}

#[tokio::test]
async fn cut_non_streaming_body_fails_to_parse_on_the_client() {
    let mock = start(
        r#"
        [[turns]]
        text = "hello"
        faults = [{ cut_stream_after_bytes = 10 }]
        "#,
    )
    .await;
    let body =
        json!({"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]});
    let response = post_anthropic(&mock, &body).await;
    assert!(response.json::<serde_json::Value>().await.is_err());
    assert_eq!(
        status_and_json(post_anthropic(&mock, &body).await).await.0,
        200
    );
}

#[tokio::test]
async fn delay_fault_still_answers_and_is_recorded() {
    let mock = start(
        r#"
        [[turns]]
        text = "late"
        faults = [{ delay_ms = 30 }]
        "#,
    )
    .await;
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let (status, answer) = status_and_json(post_openai(&mock, &body).await).await;
    assert_eq!(status, 200);
    assert_eq!(answer["choices"][0]["message"]["content"], "late");
    assert_eq!(
        mock.requests()[0]
            .fault
            .as_ref()
            .and_then(|fault| fault.delay_ms),
        Some(30)
    );
}

#[tokio::test]
async fn malformed_arguments_and_unknown_tools_are_just_content() {
    let mock = start(
        r#"
        [[turns]]
        tool_calls = [{ name = "no_such_tool", raw_arguments = "{\"path\": \"x" }]
        "#,
    )
    .await;
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let (status, answer) = status_and_json(post_openai(&mock, &body).await).await;
    assert_eq!(status, 200);
    let call = &answer["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "no_such_tool");
    assert_eq!(call["function"]["arguments"], "{\"path\": \"x");
}

//! Turn selection, expectations, exhaustion, request recording, and the server thread.

use std::io::{Read, Write};

use rein_testkit::{MockLlmThread, RecordedRequest};
use serde_json::json;

use crate::support::{post_anthropic, post_openai, script, start, status_and_json};

#[tokio::test]
async fn expect_mismatch_names_expected_and_got() {
    let mock = start(
        r#"
        [[turns]]
        expect = { last_message_contains = "deploy succeeded" }
        text = "great"
        "#,
    )
    .await;
    let body =
        json!({"model": "m", "messages": [{"role": "user", "content": "deploy failed: exit 2"}]});
    let (status, answer) = status_and_json(post_openai(&mock, &body).await).await;
    assert_eq!(status, 400);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("turn 0"), "{message}");
    assert!(message.contains("\"deploy succeeded\""), "{message}");
    assert!(message.contains("\"deploy failed: exit 2\""), "{message}");
    let recorded = mock.requests();
    assert_eq!(recorded[0].status, 400);
    assert_eq!(recorded[0].error.as_deref(), Some(message));
}

#[tokio::test]
async fn exhausted_script_is_a_400_with_counts() {
    let mock = start("[[turns]]\ntext = \"only one\"\n").await;
    let body = json!({"model": "c", "max_tokens": 5, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "only one"},
        {"role": "user", "content": "and now?"}
    ]});
    let (status, answer) = status_and_json(post_anthropic(&mock, &body).await).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"]["message"],
        "mock script exhausted: request has 1 assistant messages, script has 1 turns"
    );
}

#[tokio::test]
async fn turns_follow_the_number_of_assistant_messages_so_retries_replay() {
    let mock = start("[[turns]]\ntext = \"first\"\n[[turns]]\ntext = \"second\"\n").await;
    let turn_one = json!({"model": "m", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "first"},
        {"role": "user", "content": "more"}
    ]});
    for _ in 0..2 {
        let (status, answer) = status_and_json(post_openai(&mock, &turn_one).await).await;
        assert_eq!(status, 200);
        assert_eq!(answer["choices"][0]["message"]["content"], "second");
    }
    let turn_zero = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let (_, answer) = status_and_json(post_openai(&mock, &turn_zero).await).await;
    assert_eq!(answer["choices"][0]["message"]["content"], "first");
    let turns: Vec<Option<usize>> = mock.requests().iter().map(|request| request.turn).collect();
    assert_eq!(turns, vec![Some(1), Some(1), Some(0)]);
}

#[tokio::test]
async fn requests_are_recorded_and_served_on_mock_requests() {
    let mock = start("[[turns]]\ntext = \"hi\"\n").await;
    let body = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "secret-free prompt"}]});
    let response = post_openai(&mock, &body).await;
    assert_eq!(response.status().as_u16(), 200);
    let _ = response.text().await.unwrap();
    let missing = reqwest::Client::new()
        .post(format!("{}/v1/nothing", mock.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);

    let recorded = mock.requests();
    assert_eq!(recorded.len(), 2);
    let first = &recorded[0];
    assert_eq!(first.seq, 1);
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(first.header("Authorization"), Some("Bearer sk-test-key"));
    assert_eq!(first.body, body);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&first.body_text).unwrap(),
        body
    );
    assert_eq!(first.format, Some(rein_testkit::ApiFormat::OpenAi));
    assert!(first.stream);
    assert_eq!(first.turn, Some(0));
    assert_eq!(first.status, 200);
    assert_eq!(recorded[1].status, 404);
    assert_eq!(recorded[1].format, None);

    let served: Vec<RecordedRequest> = reqwest::get(format!("{}/__mock/requests", mock.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, recorded);
    assert_eq!(
        mock.requests().len(),
        2,
        "/__mock/ requests are not recorded"
    );
}

/// Send raw bytes, read until the server closes the connection.
fn raw_exchange(url: &str, request: &str) -> String {
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn server_thread_serves_keep_alive_and_connection_close_from_blocking_code() {
    let mock = MockLlmThread::start_loopback(script("[[turns]]\ntext = \"pong\"\n")).unwrap();
    let body = r#"{"model":"m","messages":[{"role":"user","content":"ping"}]}"#;
    let one = |connection: &str| {
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n{body}",
            body.len()
        )
    };
    // two requests on one connection: the first keeps it alive, the second closes it
    let answer = raw_exchange(
        &mock.url(),
        &format!("{}{}", one("keep-alive"), one("close")),
    );
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    assert_eq!(
        answer.matches("\"content\":\"pong\"").count(),
        2,
        "{answer}"
    );
    assert!(answer.contains("connection: close"));
    assert_eq!(mock.requests().len(), 2);

    let garbage = raw_exchange(&mock.url(), "NOT HTTP\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    assert!(garbage.contains("malformed HTTP request"));
    let url = mock.url();
    mock.shutdown();
    assert!(std::net::TcpStream::connect(url.trim_start_matches("http://")).is_err());
}

#[tokio::test]
async fn start_from_file_reports_a_bad_script() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[turns]]\ntxt = \"typo\"\n").unwrap();
    let err = rein_testkit::MockLlm::start_from_file(&path, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("bad.toml"), "{message}");
    assert!(message.contains("txt"), "{message}");
}

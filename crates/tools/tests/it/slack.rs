//! `slack_post`: a webhook receiver on 127.0.0.1 port 0 asserts the exact payload; a
//! Slack error reply reaches the model; the webhook's secret path appears in no output,
//! action or error (guard refusal, connection refused).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rein_spec::spec::SlackPostSpec;
use rein_spec::{Secret, ToolsSpec};
use rein_tools::{NetworkGuard, OutcomeKind, ToolAction, ToolOutcome, Toolbox};
use serde_json::json;

use crate::context;
use crate::declared::{AddressGuard, response, serve};

const SECRET_PATH: &str = "/services/T0001/B0002/SeCrEtWebhookToken";

fn toolbox(webhook: &str) -> Toolbox {
    let spec = ToolsSpec {
        builtin: vec!["slack_post".to_owned()],
        command: Vec::new(),
        http: Vec::new(),
        mcp: Vec::new(),
        sql_query: None,
        slack_post: Some(SlackPostSpec {
            webhook_url: Secret::new(webhook),
            timeout: Duration::from_secs(20),
        }),
        ci_logs: None,
    };
    Toolbox::new(
        rein_tools::declared::tools_from_spec(&spec).unwrap(),
        64 * 1024,
    )
    .unwrap()
}

async fn post(
    webhook: &str,
    guard: Option<Arc<AddressGuard>>,
    args: serde_json::Value,
) -> ToolOutcome {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path());
    ctx.network = guard.map(|guard| guard as Arc<dyn NetworkGuard>);
    toolbox(webhook)
        .invoke("slack_post", &args.to_string(), &ctx)
        .await
}

fn webhook(addr: SocketAddr) -> String {
    format!("http://{addr}{SECRET_PATH}")
}

#[tokio::test]
async fn the_receiver_gets_the_exact_block_kit_payload() {
    let (addr, mut received) = serve(|_| response("200 OK", "text/plain", b"ok")).await;
    let args = json!({
        "text": "Build failed on main",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Build failed"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*main* is red: `cargo test`"}},
            {"type": "divider"}
        ]
    });
    let outcome = post(
        &webhook(addr),
        Some(AddressGuard::new(&["127.0.0.1"])),
        args.clone(),
    )
    .await;
    assert_eq!(outcome.kind, OutcomeKind::Ok);
    assert!(!outcome.is_error);
    assert_eq!(outcome.content, "posted to Slack: ok\n");
    let request = received.recv().await.unwrap();
    assert_eq!(
        request.request_line(),
        format!("POST {SECRET_PATH} HTTP/1.1")
    );
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/json")
    );
    let payload: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(payload, args);
    assert_eq!(
        String::from_utf8(request.body).unwrap(),
        r#"{"blocks":[{"text":{"text":"Build failed","type":"plain_text"},"type":"header"},{"text":{"text":"*main* is red: `cargo test`","type":"mrkdwn"},"type":"section"},{"type":"divider"}],"text":"Build failed on main"}"#
    );

    // Text only: no `blocks` key at all.
    let outcome = post(
        &webhook(addr),
        Some(AddressGuard::new(&["127.0.0.1"])),
        json!({"text": "hi"}),
    )
    .await;
    assert_eq!(outcome.content, "posted to Slack: ok\n");
    let request = received.recv().await.unwrap();
    assert_eq!(String::from_utf8(request.body).unwrap(), r#"{"text":"hi"}"#);
}

#[tokio::test]
async fn a_slack_error_reply_surfaces() {
    let (addr, _received) =
        serve(|_| response("400 Bad Request", "text/plain", b"invalid_blocks")).await;
    let outcome = post(
        &webhook(addr),
        Some(AddressGuard::new(&["127.0.0.1"])),
        json!({"text": "x", "blocks": [{"type": "nonsense"}]}),
    )
    .await;
    assert_eq!(outcome.kind, OutcomeKind::Ok);
    assert!(outcome.is_error);
    assert_eq!(
        outcome.content,
        "Slack did not accept the message: 400 Bad Request invalid_blocks\n"
    );
}

#[tokio::test]
async fn blocks_without_a_type_are_refused_before_sending() {
    let (addr, mut received) = serve(|_| response("200 OK", "text/plain", b"ok")).await;
    let outcome = post(
        &webhook(addr),
        Some(AddressGuard::new(&["127.0.0.1"])),
        json!({"text": "x", "blocks": [{"text": "no type"}]}),
    )
    .await;
    assert_eq!(outcome.kind, OutcomeKind::InvalidArguments);
    assert!(received.try_recv().is_err());
}

#[tokio::test]
async fn the_webhook_secret_is_in_no_action_output_or_error() {
    let (addr, mut received) = serve(|_| response("200 OK", "text/plain", b"ok")).await;
    let url = webhook(addr);
    let prepared_actions = toolbox(&url)
        .prepare("slack_post", &json!({"text": "x"}).to_string())
        .unwrap()
        .actions;
    assert_eq!(
        prepared_actions,
        vec![ToolAction::Network(format!("http://{addr}/***"))]
    );

    let no_rules = post(&url, None, json!({"text": "x"})).await;
    assert_eq!(
        no_rules.content,
        "cannot post to Slack (http://127.0.0.1:PORT/***): no network rules: slack_post is not allowed"
            .replace("PORT", &addr.port().to_string())
    );
    let refused = post(&url, Some(AddressGuard::new(&[])), json!({"text": "x"})).await;
    assert!(refused.is_error);
    assert!(
        refused.content.contains("is not listed [test guard]"),
        "{}",
        refused.content
    );
    assert!(received.try_recv().is_err(), "nothing reached the receiver");

    // A port nobody listens on: the connection error names the URL, redacted.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let unreachable = post(
        &webhook(closed),
        Some(AddressGuard::new(&["127.0.0.1"])),
        json!({"text": "x"}),
    )
    .await;
    assert!(unreachable.is_error);
    assert!(
        unreachable.content.starts_with("cannot post to Slack"),
        "{}",
        unreachable.content
    );
    for outcome in [&no_rules, &refused, &unreachable] {
        assert!(!outcome.content.contains("SeCrEt"), "{}", outcome.content);
        assert!(!outcome.content.contains("T0001"), "{}", outcome.content);
    }
}

#[test]
fn slack_post_needs_its_table_and_hides_a_bad_url() {
    let spec = ToolsSpec {
        builtin: vec!["slack_post".to_owned()],
        command: Vec::new(),
        http: Vec::new(),
        mcp: Vec::new(),
        sql_query: None,
        slack_post: None,
        ci_logs: None,
    };
    let error = rein_tools::declared::tools_from_spec(&spec)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("builtin tool `slack_post` needs a `[tools.slack_post]` table"),
        "{error}"
    );
    let spec = ToolsSpec {
        slack_post: Some(SlackPostSpec {
            webhook_url: Secret::new("hooks.slack.com/services/SeCrEt"),
            timeout: Duration::from_secs(1),
        }),
        ..spec
    };
    let error = rein_tools::declared::tools_from_spec(&spec)
        .err()
        .unwrap()
        .to_string();
    assert!(!error.contains("SeCrEt"), "{error}");
}

/// An empty webhook URL disables posting: nothing is sent, the model sees the message that
/// would have been posted, and the policy is asked about no network action.
#[tokio::test]
async fn an_empty_webhook_disables_posting_and_says_so() {
    let tools = rein_tools::declared::tools_from_spec(&ToolsSpec {
        builtin: vec!["slack_post".to_owned()],
        command: Vec::new(),
        http: Vec::new(),
        mcp: Vec::new(),
        sql_query: None,
        slack_post: Some(SlackPostSpec {
            webhook_url: Secret::new(""),
            timeout: Duration::from_secs(5),
        }),
        ci_logs: None,
    })
    .unwrap();
    let toolbox = Toolbox::new(tools, 64 * 1024).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ctx = context(dir.path());
    let prepared = toolbox
        .prepare("slack_post", r#"{"text": "build failed"}"#)
        .unwrap();
    assert!(prepared.actions.is_empty());
    let outcome = toolbox.run(prepared, &ctx).await;
    assert!(!outcome.is_error, "{outcome:?}");
    assert!(
        outcome.content.contains("posting is disabled"),
        "{}",
        outcome.content
    );
    assert!(
        outcome.content.contains("build failed"),
        "{}",
        outcome.content
    );
}

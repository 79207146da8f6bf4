//! `shell`: output, exit codes, environment, timeouts.

use std::time::Duration;

use expect_test::expect;
use rein_tools::OutcomeKind;
use serde_json::json;

use crate::{all_builtins, call, context};

#[tokio::test]
async fn shell_runs_in_the_workspace_with_the_context_env() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    crate::write(&ws.join("marker.txt"), "here\n");
    let mut ctx = context(ws);
    ctx.env
        .insert("REIN_GREETING".to_owned(), "hello".to_owned());
    let outcome = all_builtins()
        .invoke(
            "shell",
            &json!({"command": "cat marker.txt; echo \"$REIN_GREETING\"; echo \"home=${HOME:-unset}\"; echo oops >&2"}).to_string(),
            &ctx,
        )
        .await;
    expect![[r#"
        Ok exit=0
        exit code: 0
        --- stdout ---
        here
        hello
        home=unset
        --- stderr ---
        oops
    "#]]
    .assert_eq(&crate::render(&outcome));
}

#[tokio::test]
async fn non_zero_exit_is_an_error_result() {
    let dir = tempfile::tempdir().unwrap();
    expect![[r#"
        Ok error exit=3
        exit code: 3
        (no output)
    "#]]
    .assert_eq(&call(dir.path(), "shell", json!({"command": "exit 3"})).await);
}

#[tokio::test]
async fn timeout_kills_the_command_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path();
    let outcome = all_builtins()
        .invoke(
            "shell",
            &json!({"command": "sleep 100 & echo $! > sleep.pid; echo waiting; wait", "timeout_secs": 1})
                .to_string(),
            &context(ws),
        )
        .await;
    assert_eq!(outcome.kind, OutcomeKind::Ok);
    expect![[r#"
        Ok error
        timed out after 1s: the command and every process it started were killed
        --- stdout ---
        waiting
    "#]]
    .assert_eq(&crate::render(&outcome));
    let pid: u32 = std::fs::read_to_string(ws.join("sleep.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(process_ends(pid), "sleep {pid} survived the timeout");
}

#[tokio::test]
async fn context_timeout_caps_the_requested_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path());
    ctx.timeout = Duration::from_millis(300);
    let outcome = all_builtins()
        .invoke(
            "shell",
            &json!({"command": "sleep 100", "timeout_secs": 1000}).to_string(),
            &ctx,
        )
        .await;
    expect![[r#"
        Ok error
        timed out after 300ms: the command and every process it started were killed
        (no output)
    "#]]
    .assert_eq(&crate::render(&outcome));
}

#[tokio::test]
async fn shell_argument_errors() {
    let dir = tempfile::tempdir().unwrap();
    expect![[r#"
        InvalidArguments error
        invalid arguments for tool `shell`:
        - `/timeout_secs`: 0 is less than the minimum of 1
        hint: fix the arguments to match the tool's input schema and call it again"#]]
    .assert_eq(
        &call(
            dir.path(),
            "shell",
            json!({"command": "true", "timeout_secs": 0}),
        )
        .await,
    );
    let mut ctx = context(dir.path());
    ctx.env.clear();
    ctx.env.insert("PATH".to_owned(), "/nonexistent".to_owned());
    let outcome = all_builtins()
        .invoke("shell", &json!({"command": "true"}).to_string(), &ctx)
        .await;
    assert_eq!(outcome.kind, OutcomeKind::ToolFailed);
    assert!(
        outcome
            .content
            .starts_with("cannot run the command: program `bash` not found"),
        "{}",
        outcome.content
    );
}

/// Whether the process is gone, allowing it a moment to die (SIGKILL is asynchronous).
/// Polls for up to 10 s so a survivor fails the test instead of hanging it.
fn process_ends(pid: u32) -> bool {
    for _ in 0..1000 {
        let running = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.trim_start().chars().next())
            })
            .is_some_and(|state| state != 'Z' && state != 'X');
        if !running {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

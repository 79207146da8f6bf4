//! MCP servers as tool sources: a round trip with `@modelcontextprotocol/server-filesystem`
//! from npm (installed by `npm ci` at the repo root), fault cases against testkit's fault
//! server (crash mid-call, no answer, exit at start, bad command), and rein's tools served
//! over MCP to rmcp's client through an in-process pipe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rein_spec::spec::{McpOnFailure, McpServerSpec, McpTransport};
use rein_testkit::mcp::{FaultMcpServer, FaultMode};
use rein_tools::mcp::serve::{ToolCaller, ToolboxCaller};
use rein_tools::mcp::{McpContext, McpLauncher, McpSource, connect};
use rein_tools::{OutcomeKind, ToolError, Toolbox};
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;

use crate::{context, write};

/// `node_modules/.bin/<name>` at the repo root; fails the test (never skips it) when the
/// npm packages are not installed.
fn npm_bin(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = root.join("node_modules/.bin").join(name);
    assert!(
        bin.exists(),
        "{} is missing: the MCP tests run real MCP servers from npm\nhint: run `npm ci` at the repo root (needs node and npm)",
        bin.display()
    );
    bin
}

/// A context starting servers on the host in `workspace`, with the test's PATH (to find
/// `node`).
fn mcp_context(workspace: &Path) -> McpContext {
    McpContext {
        workspace: workspace.to_path_buf(),
        env: BTreeMap::from([(
            "PATH".to_owned(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned()),
        )]),
        launcher: McpLauncher::Host,
        network: None,
    }
}

fn stdio_spec(name: &str, command: Vec<String>) -> McpServerSpec {
    McpServerSpec {
        name: name.to_owned(),
        transport: McpTransport::Stdio {
            command,
            env: BTreeMap::new(),
        },
        allow_tools: None,
        deny_tools: Vec::new(),
        timeout: Duration::from_secs(30),
        on_failure: McpOnFailure::Continue,
    }
}

fn filesystem_spec(dir: &Path) -> McpServerSpec {
    stdio_spec(
        "fs",
        vec![
            npm_bin("mcp-server-filesystem").display().to_string(),
            dir.display().to_string(),
        ],
    )
}

fn names(source: &McpSource) -> Vec<String> {
    source
        .tools()
        .iter()
        .map(|tool| tool.name().to_owned())
        .collect()
}

async fn fault_server(dir: &Path, mode: FaultMode) -> Result<McpSource, ToolError> {
    let server = FaultMcpServer::write(dir).unwrap();
    let mut spec = stdio_spec("t", server.argv(mode));
    spec.timeout = Duration::from_secs(2);
    connect(&spec, &mcp_context(dir)).await
}

#[tokio::test]
async fn filesystem_server_from_npm_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    write(&root.join("notes.txt"), "hello from rein\n");
    let source = connect(&filesystem_spec(&root), &mcp_context(&root))
        .await
        .unwrap();
    assert!(source.is_alive());
    assert_eq!(source.server_name(), "fs");
    let tool_names = names(&source);
    assert!(
        tool_names.contains(&"fs__read_text_file".to_owned())
            && tool_names.contains(&"fs__list_directory".to_owned()),
        "{tool_names:?}"
    );
    assert!(tool_names.iter().all(|name| name.starts_with("fs__")));
    let read_tool = source
        .tools()
        .into_iter()
        .find(|tool| tool.name() == "fs__read_text_file")
        .unwrap();
    assert!(!read_tool.description().is_empty());
    assert_eq!(read_tool.input_schema()["type"], "object");

    // Called through a toolbox, like the loop does: the schema the server gave is used.
    let toolbox = Toolbox::new(source.tools(), 64 * 1024).unwrap();
    let ctx = context(&root);
    let path = root.join("notes.txt").display().to_string();
    let outcome = toolbox
        .invoke(
            "fs__read_text_file",
            &serde_json::json!({ "path": path }).to_string(),
            &ctx,
        )
        .await;
    assert_eq!(outcome.kind, OutcomeKind::Ok);
    assert!(!outcome.is_error, "{}", outcome.content);
    assert_eq!(outcome.content.trim_end(), "hello from rein");

    // The server refuses a path outside its folder: an error result, not a Rust error.
    let outcome = toolbox
        .invoke(
            "fs__read_text_file",
            &serde_json::json!({ "path": "/etc/hostname" }).to_string(),
            &ctx,
        )
        .await;
    assert_eq!(outcome.kind, OutcomeKind::Ok);
    assert!(outcome.is_error, "{}", outcome.content);
    assert!(
        outcome.content.to_lowercase().contains("access denied"),
        "{}",
        outcome.content
    );

    // Arguments the server's schema refuses never reach it.
    let outcome = toolbox.invoke("fs__read_text_file", "{}", &ctx).await;
    assert_eq!(outcome.kind, OutcomeKind::InvalidArguments);
}

#[tokio::test]
async fn filesystem_server_allow_and_deny_lists_filter_its_tools() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let mut spec = filesystem_spec(&root);
    spec.allow_tools = Some(vec![
        "read_text_file".to_owned(),
        "list_directory".to_owned(),
    ]);
    spec.deny_tools = vec!["list_directory".to_owned()];
    let source = connect(&spec, &mcp_context(&root)).await.unwrap();
    assert_eq!(names(&source), vec!["fs__read_text_file"]);

    let mut spec = filesystem_spec(&root);
    spec.deny_tools = vec!["write_file".to_owned(), "edit_file".to_owned()];
    let source = connect(&spec, &mcp_context(&root)).await.unwrap();
    let tool_names = names(&source);
    assert!(!tool_names.contains(&"fs__write_file".to_owned()));
    assert!(!tool_names.contains(&"fs__edit_file".to_owned()));
    assert!(tool_names.contains(&"fs__read_text_file".to_owned()));

    // A declared empty allow list keeps no tool (no list keeps them all).
    let mut spec = filesystem_spec(&root);
    spec.allow_tools = Some(Vec::new());
    let source = connect(&spec, &mcp_context(&root)).await.unwrap();
    assert_eq!(names(&source), Vec::<String>::new());

    let mut spec = filesystem_spec(&root);
    spec.allow_tools = Some(vec!["read_text_fil".to_owned()]);
    let error = connect(&spec, &mcp_context(&root)).await.unwrap_err();
    assert!(matches!(error, ToolError::McpUnknownTool { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with("MCP server `fs` has no tool `read_text_fil` (named in allow_tools)")
            && message.contains("read_text_file"),
        "{message}"
    );
}

#[tokio::test]
async fn fault_server_results_errors_images_and_renamed_tools() {
    let dir = tempfile::tempdir().unwrap();
    let source = fault_server(dir.path(), FaultMode::Serve).await.unwrap();
    assert_eq!(
        names(&source),
        vec![
            "t__echo",
            "t__fail",
            "t__picture",
            "t__crash",
            "t__hang",
            "t__dotted_name"
        ]
    );
    let toolbox = Toolbox::new(source.tools(), 64 * 1024).unwrap();
    let ctx = context(dir.path());
    let outcome = toolbox.invoke("t__echo", r#"{"text": "hi"}"#, &ctx).await;
    assert_eq!(
        (outcome.is_error, outcome.content.as_str()),
        (false, "echo: hi")
    );
    let outcome = toolbox.invoke("t__fail", "{}", &ctx).await;
    assert_eq!(
        (outcome.kind, outcome.is_error, outcome.content.as_str()),
        (OutcomeKind::Ok, true, "the thing failed")
    );
    let outcome = toolbox.invoke("t__picture", "{}", &ctx).await;
    assert_eq!(
        outcome.content,
        "a picture:\n[image content (image/png, 12 bytes of base64) not shown]"
    );
    // Called by its original name on the server.
    let outcome = toolbox.invoke("t__dotted_name", "{}", &ctx).await;
    assert_eq!(outcome.content, "dotted");
}

#[tokio::test]
async fn server_that_crashes_mid_call_is_reported_as_gone() {
    let dir = tempfile::tempdir().unwrap();
    let source = fault_server(dir.path(), FaultMode::Serve).await.unwrap();
    let tools = source.tools();
    let crash = tools.iter().find(|tool| tool.name() == "t__crash").unwrap();
    let ctx = context(dir.path());
    let error = crash.call(serde_json::json!({}), &ctx).await.unwrap_err();
    assert!(matches!(error, ToolError::McpServerGone { .. }), "{error}");
    expect_test::expect![[r#"
        MCP server `t` is no longer running: the process exited with code 3
        stderr (last lines):
        panic: crashing on purpose in the middle of a call"#]]
    .assert_eq(&error.to_string());
    assert!(!source.is_alive());
    assert!(
        source
            .failure()
            .await
            .unwrap()
            .contains("exited with code 3")
    );

    // Every later call says the same, without hanging.
    let echo = tools.iter().find(|tool| tool.name() == "t__echo").unwrap();
    let error = echo
        .call(serde_json::json!({"text": "again"}), &ctx)
        .await
        .unwrap_err();
    assert!(matches!(error, ToolError::McpServerGone { .. }), "{error}");
}

#[tokio::test]
async fn call_that_never_answers_times_out_and_the_server_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let source = fault_server(dir.path(), FaultMode::Serve).await.unwrap();
    let tools = source.tools();
    let ctx = context(dir.path());
    let hang = tools.iter().find(|tool| tool.name() == "t__hang").unwrap();
    let error = hang.call(serde_json::json!({}), &ctx).await.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("MCP server `t` did not answer the call of `hang` within 2000 ms"),
        "{error}"
    );
    assert!(source.is_alive());
    let echo = tools.iter().find(|tool| tool.name() == "t__echo").unwrap();
    let output = echo
        .call(serde_json::json!({"text": "still here"}), &ctx)
        .await
        .unwrap();
    assert_eq!(output.content, "echo: still here");
}

#[tokio::test]
async fn server_that_never_answers_the_handshake_fails_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let error = fault_server(dir.path(), FaultMode::Silent)
        .await
        .unwrap_err();
    assert!(matches!(error, ToolError::McpStart { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with("MCP server `t` (command `node ")
            && message.ends_with(
                "silent`) failed to start: it did not answer the MCP handshake and list its tools within 2000 ms"
            ),
        "{message}"
    );
}

#[tokio::test]
async fn server_that_exits_at_start_fails_with_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let error = fault_server(dir.path(), FaultMode::ExitAtStart)
        .await
        .unwrap_err();
    assert!(matches!(error, ToolError::McpStart { .. }), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with("MCP server `t` (command `node ")
            && message.contains("exit-at-start`) failed to start: the MCP handshake failed")
            && message.contains("the process exited with code 2")
            && message.ends_with(
                "stderr (last lines):\nfatal: cannot open config file /etc/rein-test-mcp.toml"
            ),
        "{message}"
    );
}

#[tokio::test]
async fn server_with_a_bad_command_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let spec = stdio_spec(
        "broken",
        vec!["rein-no-such-mcp-server".to_owned(), "--stdio".to_owned()],
    );
    let error = connect(&spec, &mcp_context(dir.path())).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(
            "MCP server `broken` (command `rein-no-such-mcp-server --stdio`) failed to start: program `rein-no-such-mcp-server` not found"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn http_server_needs_the_network_rules_to_allow_it() {
    let dir = tempfile::tempdir().unwrap();
    let spec = McpServerSpec {
        transport: McpTransport::Http {
            url: "http://127.0.0.1:9/mcp".to_owned(),
            headers: BTreeMap::new(),
        },
        ..stdio_spec("remote", Vec::new())
    };
    let error = connect(&spec, &mcp_context(dir.path())).await.unwrap_err();
    expect_test::expect![[r#"MCP server `remote` (url `http://127.0.0.1:9/mcp`) failed to start: the run allows no network connections"#]]
        .assert_eq(&error.to_string());
}

#[tokio::test]
async fn rein_tools_served_over_mcp_to_an_rmcp_client() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.txt"), "alpha\n");
    let toolbox =
        Toolbox::builtins(&["read_file".to_owned(), "list_dir".to_owned()], 64 * 1024).unwrap();
    let caller: Arc<dyn ToolCaller> = Arc::new(ToolboxCaller {
        toolbox,
        context: context(dir.path()),
    });
    let (client_side, server_side) = tokio::io::duplex(64 * 1024);
    let (server_read, server_write) = tokio::io::split(server_side);
    let server = tokio::spawn(rein_tools::mcp::serve::serve(
        caller,
        server_read,
        server_write,
    ));

    let (client_read, client_write) = tokio::io::split(client_side);
    let client = ().serve((client_read, client_write)).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    let listed: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    assert_eq!(listed, vec!["read_file", "list_dir"]);
    assert!(tools[0].input_schema.contains_key("properties"));
    assert!(
        !tools[0]
            .description
            .as_deref()
            .unwrap_or_default()
            .is_empty()
    );

    let arguments = serde_json::json!({ "path": "a.txt" });
    let result = client
        .call_tool(
            CallToolRequestParams::new("read_file")
                .with_arguments(arguments.as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false));
    let text = serde_json::to_value(&result.content).unwrap();
    assert!(
        text[0]["text"].as_str().unwrap().contains("alpha"),
        "{text}"
    );

    // Broken calls are error results the client sees, as the model would.
    let result = client
        .call_tool(CallToolRequestParams::new("read_file"))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));
    let text = serde_json::to_value(&result.content).unwrap();
    assert!(
        text[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("invalid arguments for tool `read_file`"),
        "{text}"
    );
    let result = client
        .call_tool(CallToolRequestParams::new("rm_rf"))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(true));

    // The client going away ends the server cleanly.
    client.cancel().await.unwrap();
    let served = tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .unwrap()
        .unwrap();
    assert!(served.is_ok(), "{served:?}");
}

//! MCP end to end: a real npm MCP server as a tool source in a run, a server that dies
//! mid-run, `rein tools`, and `rein mcp-serve` driven by a JSON-RPC client.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use serde_json::json;

use crate::harness::{Fixture, finished, of_kind, output, std_rein};

/// The npm filesystem MCP server installed by `npm ci` at the repository root.
fn filesystem_server() -> PathBuf {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../node_modules/.bin/mcp-server-filesystem"
    ));
    assert!(
        path.exists(),
        "{} is missing\nhint: run `npm ci` at the repository root (scripts/test.sh does)",
        path.display()
    );
    path
}

fn fs_server_toml(extra: &str) -> String {
    format!(
        "[loop]\nmax_steps = 10\n\n[tools]\nbuiltin = [\"shell\"]\n\n[[tools.mcp]]\nname = \"fs\"\ncommand = [\"{}\", \".\"]\nallow_tools = [\"read_text_file\", \"list_directory\"]\n{extra}",
        filesystem_server().display()
    )
}

#[test]
fn a_run_uses_the_tools_of_a_real_npm_mcp_server() {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "fs__read_text_file", "arguments": {"path": "notes.txt"}}]},
        {"expect": {"last_message_contains": "TODO: write notes"},
         "tool_calls": [{"name": "fs__write_file", "arguments": {"path": "x", "content": "y"}}]},
        {"expect": {"last_message_contains": "unknown tool"}, "text": "Read it."}
    ]});
    let fixture = Fixture::new("openai", true, script, &fs_server_toml(""));
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let results = of_kind(&events, "tool_result");
    assert_eq!(results[0]["data"]["outcome"], "ok");
    assert_eq!(
        results[1]["data"]["outcome"], "unknown_tool",
        "write_file was not allowed"
    );
    let tools = fixture.requests()[0].body["tools"].clone();
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shell", "fs__read_text_file", "fs__list_directory"]);
}

/// `allow_tools = []` exposes no tool of the server (it used to expose all of them); the
/// server is not even started. The builtin tools still work.
#[test]
fn an_empty_allow_tools_list_exposes_no_tool() {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "fs__write_file", "arguments": {"path": "notes.txt", "content": "pwned"}}]},
        {"expect": {"last_message_contains": "unknown tool"},
         "tool_calls": [{"name": "shell", "arguments": {"command": "cat notes.txt"}}]},
        {"expect": {"last_message_contains": "TODO: write notes"}, "text": "done"}
    ]});
    // A program that does not exist: with `on_failure = "stop"` (the default) the run would
    // stop if rein tried to start it.
    let extra = "[loop]\nmax_steps = 10\n\n[tools]\nbuiltin = [\"shell\"]\n\n[[tools.mcp]]\nname = \"fs\"\ncommand = [\"/nonexistent/mcp-server-filesystem\", \".\"]\nallow_tools = []\n";
    let fixture = Fixture::new("openai", true, script, extra);
    let original = std::fs::read(fixture.path().join("project/notes.txt")).unwrap();

    let check = output(fixture.command(&["check", "agent.toml"]).output().unwrap());
    assert!(
        check
            .stdout
            .contains("# allow_tools is empty: the server exposes no tool"),
        "{check:?}"
    );

    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let outcomes: Vec<&str> = of_kind(&events, "tool_result")
        .iter()
        .map(|r| r["data"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["unknown_tool", "ok"]);
    let tools = fixture.requests()[0].body["tools"].clone();
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shell"]);
    assert!(!fixture.run_dir().join("changes.diff").exists());
    assert_eq!(
        std::fs::read(fixture.path().join("project/notes.txt")).unwrap(),
        original
    );
}

fn crash_fixture(on_failure: &str) -> Fixture {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "faulty__crash", "arguments": {}}]},
        {"expect": {"last_message_contains": "no longer running"}, "text": "The server died."}
    ]});
    let dir = tempfile::tempdir().unwrap();
    let server = rein_testkit::mcp::FaultMcpServer::write(dir.path()).unwrap();
    let argv: Vec<String> = server
        .argv(rein_testkit::mcp::FaultMode::Serve)
        .iter()
        .map(|a| format!("{a:?}"))
        .collect();
    let extra = format!(
        "[loop]\nmax_steps = 5\n\n[[tools.mcp]]\nname = \"faulty\"\ncommand = [{}]\non_failure = \"{on_failure}\"\n",
        argv.join(", ")
    );
    let fixture = Fixture::new("openai", true, script, &extra);
    // Keep the script next to the fixture for the run's life.
    std::fs::copy(
        dir.path().join("rein-test-mcp.js"),
        fixture.path().join("rein-test-mcp.js"),
    )
    .unwrap();
    let agent = std::fs::read_to_string(fixture.agent()).unwrap().replace(
        &dir.path().join("rein-test-mcp.js").display().to_string(),
        &fixture
            .path()
            .join("rein-test-mcp.js")
            .display()
            .to_string(),
    );
    std::fs::write(fixture.agent(), agent).unwrap();
    fixture
}

#[test]
fn an_mcp_server_dying_mid_run_stops_or_is_left_out_as_configured() {
    let fixture = crash_fixture("stop");
    let out = fixture.run(&[]);
    assert_eq!(out.code, 16, "{out:?}");
    let events = fixture.events();
    assert_eq!(finished(&events)["stop_reason"], "escalated");
    assert!(
        finished(&events)["message"]
            .as_str()
            .unwrap()
            .contains("crashing on purpose"),
        "{out:?}"
    );

    let fixture = crash_fixture("continue");
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let errors = of_kind(&events, "error");
    assert!(
        errors.iter().any(|e| e["data"]["source"] == "mcp"),
        "{errors:?}"
    );
}

#[test]
fn rein_tools_lists_builtin_declared_and_mcp_tools_with_their_policy() {
    let extra = fs_server_toml(
        "\n[[tools.command]]\nname = \"count_lines\"\ndescription = \"Count lines\"\nargv = [\"wc\", \"-l\", \"{{ path }}\"]\ninput_schema = { type = \"object\", properties = { path = { type = \"string\" } } }\n",
    );
    let fixture = Fixture::new("openai", true, json!({"turns": []}), &extra);
    let out = output(
        fixture
            .command(&["tools", "agent.toml", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let tools: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    let listed: Vec<(String, String)> = tools
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("shell".to_owned(), "builtin".to_owned()),
            ("count_lines".to_owned(), "command".to_owned()),
            ("fs__read_text_file".to_owned(), "mcp:fs".to_owned()),
            ("fs__list_directory".to_owned(), "mcp:fs".to_owned()),
        ]
    );
    assert!(
        tools[0]["policy"][0]
            .as_str()
            .unwrap()
            .starts_with("commands:")
    );
    assert_eq!(
        tools[1]["input_schema"]["properties"]["path"]["type"],
        "string"
    );
    assert!(
        fixture.requests().is_empty(),
        "listing tools calls no model"
    );
}

/// `rein mcp-serve`: an MCP client (newline-delimited JSON-RPC on stdio) lists the agent's
/// tools and calls them; the policy refuses what it must, and the session is traced.
#[test]
fn mcp_serve_serves_the_agent_tools_under_its_policy() {
    let extra =
        "[tools]\nbuiltin = [\"read_file\", \"shell\"]\n\n[policy.commands]\ndeny = [\"rm\"]\n";
    let fixture = Fixture::new("openai", true, json!({"turns": []}), extra);
    let mut cmd = std_rein();
    cmd.current_dir(fixture.path())
        .args(["mcp-serve", "agent.toml"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = move |request: serde_json::Value, answered: bool| -> serde_json::Value {
        writeln!(stdin, "{request}").unwrap();
        stdin.flush().unwrap();
        if !answered {
            return serde_json::Value::Null;
        }
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"))
    };
    let init = ask(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}),
        true,
    );
    assert!(init["result"]["serverInfo"].is_object(), "{init}");
    // A notification has no answer.
    ask(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        false,
    );
    let listed = ask(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        true,
    );
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["read_file", "shell"]);
    let read = ask(
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "read_file", "arguments": {"path": "notes.txt"}}}),
        true,
    );
    assert_eq!(read["result"]["isError"], false, "{read}");
    assert!(
        read["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("TODO: write notes")
    );
    let denied = ask(
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "shell", "arguments": {"command": "rm notes.txt"}}}),
        true,
    );
    assert_eq!(denied["result"]["isError"], true, "{denied}");
    assert!(
        denied["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("denied by policy"),
        "{denied}"
    );
    drop(ask);
    let out = output(child.wait_with_output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    assert_eq!(of_kind(&events, "tool_call").len(), 2);
    assert_eq!(finished(&events)["tool_calls"], 2);
    assert!(
        of_kind(&events, "policy_decision")
            .iter()
            .any(|d| d["data"]["decision"] == "deny")
    );
}

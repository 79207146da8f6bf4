//! Declared tools, MCP servers, tool configuration and `[output]`.

use std::path::Path;

use expect_test::expect;
use rein_spec::parse_agent;
use rein_spec::spec::{DashValues, McpOnFailure, McpTransport};

use crate::{MINIMAL, check, check_with, opts};

const TOOLS: &str = r#"
[tools]
builtin = ["slack_post", "sql_query"]

[tools.sql_query]
database = "ci.db"

[tools.slack_post]
webhook_url = "${secret:SLACK_WEBHOOK_URL}"

[[tools.command]]
name = "failed_jobs"
description = "List the jobs of a GitHub Actions run"
argv = ["gh", "run", "view", "{{ run_id }}", "--json", "jobs"]
input_schema = { type = "object", required = ["run_id"], properties = { run_id = { type = "string", pattern = "^[0-9]+$" } } }
timeout = "30s"

[[tools.http]]
name = "fetch_run"
description = "A workflow run"
url = "https://api.github.com/repos/{{ repo }}/actions/runs/{{ run_id }}"
headers = { Authorization = "Bearer ${secret:GITHUB_TOKEN}" }
input_schema = { type = "object", properties = { repo = { type = "string" }, run_id = { type = "string" } } }
extract = "/conclusion"

[[tools.mcp]]
name = "fs"
command = ["npx", "@modelcontextprotocol/server-filesystem", "."]
allow_tools = ["read_text_file"]
on_failure = "continue"
"#;

#[test]
fn declared_tools_resolve_and_secrets_stay_hidden() {
    let env = [
        (
            "SLACK_WEBHOOK_URL",
            "https://hooks.example/services/T000/B000/XXXX",
        ),
        ("GITHUB_TOKEN", "ghp_canary"),
    ];
    let text = format!("{MINIMAL}{TOOLS}");
    let spec = parse_agent(&text, Path::new(crate::SOURCE), &opts(&env, &[])).unwrap();
    let tools = &spec.tools;
    assert_eq!(tools.command[0].argv[3], "{{ run_id }}");
    assert_eq!(tools.command[0].dash_values, DashValues::Refuse);
    assert_eq!(tools.http[0].headers["Authorization"], "Bearer ghp_canary");
    assert_eq!(tools.http[0].method, "GET");
    assert!(
        matches!(&tools.mcp[0].transport, McpTransport::Stdio { command, .. } if command[0] == "npx")
    );
    assert_eq!(tools.mcp[0].on_failure, McpOnFailure::Continue);
    assert_eq!(tools.sql_query.as_ref().unwrap().max_rows, 200);
    let secrets: Vec<&str> = spec.secrets.iter().map(|s| s.expose()).collect();
    assert!(
        secrets.contains(&"ghp_canary")
            && secrets.contains(&"https://hooks.example/services/T000/B000/XXXX")
    );
    let shown = spec.to_display_toml();
    assert!(
        !shown.contains("ghp_canary") && !shown.contains("XXXX"),
        "{shown}"
    );
    // What check shows loads back to the same tools.
    let again = parse_agent(
        &shown.replace("***", "x"),
        Path::new(crate::SOURCE),
        &opts(&env, &[]),
    )
    .unwrap();
    assert_eq!(
        again.tools.command[0].input_schema,
        tools.command[0].input_schema
    );
    assert_eq!(again.tools.http[0].url, tools.http[0].url);
}

#[test]
fn bad_tool_declarations() {
    let env = opts(&[("SLACK_WEBHOOK_URL", "https://hooks.example/x")], &[]);
    check(
        &format!(
            "{MINIMAL}\n[[tools.command]]\nname = \"x\"\ndescription = \"d\"\nargv = [\"echo\", \"{{{{ nope }}}}\"]\n"
        ),
        expect![[r#"
            error: /agents/ci/agent.toml:13:17: invalid `tools.command.argv`: `{{ nope }}` is not a property of the tool's input_schema
            hint: add it to `input_schema.properties`"#]],
    );
    check(
        &format!(
            "{MINIMAL}\n[[tools.command]]\nname = \"shell\"\ndescription = \"d\"\nargv = [\"echo\"]\n"
        ),
        expect![[r#"
            error: /agents/ci/agent.toml:11:8: invalid `tools.command.name`: a tool named `shell` exists already
            hint: tool names must be unique, builtins included"#]],
    );
    check(
        &format!("{MINIMAL}\n[[tools.command]]\nname = \"x\"\ndescription = \"d\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:10:1: missing `tools.command.argv`
            hint: e.g. `argv = ["gh", "run", "view", "{{ run_id }}"]`"#]],
    );
    check(
        &format!(
            "{MINIMAL}\n[[tools.http]]\nname = \"x\"\ndescription = \"d\"\nurl = \"ftp://x\"\n"
        ),
        expect![
            "error: /agents/ci/agent.toml:13:7: invalid `tools.http.url`: must start with http:// or https://"
        ],
    );
    check(
        &format!(
            "{MINIMAL}\n[[tools.mcp]]\nname = \"fs\"\ncommand = [\"a\"]\nurl = \"http://x\"\n"
        ),
        expect![[r#"
            error: /agents/ci/agent.toml:10:1: invalid `tools.mcp.command`: give exactly one of `command` (stdio) or `url` (streamable HTTP)
            hint: e.g. `command = ["npx", "@modelcontextprotocol/server-filesystem", "."]`"#]],
    );
    check(
        &format!("{MINIMAL}\n[tools]\nbuiltin = [\"sql_query\"]\n"),
        expect![
            "error: /agents/ci/agent.toml:11:11: invalid `tools.builtin`: the `sql_query` builtin needs [tools.sql_query] with `database`"
        ],
    );
    check_with(
        &format!("{MINIMAL}\n[tools.slack_post]\nwebhok_url = \"${{secret:SLACK_WEBHOOK_URL}}\"\n"),
        &env,
        expect![[r#"
            error: /agents/ci/agent.toml:11:1: unknown key `webhok_url` in [tools.slack_post]
            hint: did you mean `webhook_url`?"#]],
    );
    check(
        &format!("{MINIMAL}\n[output]\nschema = \"missing.schema.json\"\n"),
        expect![
            "error: /agents/ci/agent.toml:11:10: invalid `output.schema`: cannot read /agents/ci/missing.schema.json: No such file or directory (os error 2)"
        ],
    );
}

#[test]
fn ci_logs_sources() {
    let env = [("GITHUB_TOKEN", "ghp_ci_canary")];
    let text = format!(
        "{MINIMAL}\n[tools]\nbuiltin = [\"list_jobs\"]\n\n[tools.ci_logs]\nsource = \"github\"\nrepo = \"acme/widgets\"\ntoken = \"${{env:GITHUB_TOKEN:-}}\"\n"
    );
    let spec = parse_agent(&text, Path::new(crate::SOURCE), &opts(&env, &[])).unwrap();
    assert!(
        spec.secrets.iter().any(|s| s.expose() == "ghp_ci_canary"),
        "a token is a secret however written"
    );
    assert!(!spec.to_display_toml().contains("ghp_ci_canary"));
    check(
        &format!("{MINIMAL}\n[tools]\nbuiltin = [\"read_job_log\"]\n"),
        expect![
            "error: /agents/ci/agent.toml:11:11: invalid `tools.builtin`: the `read_job_log` builtin needs [tools.ci_logs]"
        ],
    );
    check(
        &format!("{MINIMAL}\n[tools.ci_logs]\nsource = \"github\"\nrepo = \"acme\"\n"),
        expect![
            "error: /agents/ci/agent.toml:12:8: invalid `tools.ci_logs.repo`: `acme` is not `owner/repo`"
        ],
    );
    check(
        &format!("{MINIMAL}\n[tools.ci_logs]\nsource = \"gitlab\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:10: invalid `tools.ci_logs.source`: unknown source `gitlab`
            hint: use "folder" or "github""#]],
    );
}

#[test]
fn an_empty_allow_list_is_kept_apart_from_no_list() {
    let load = |extra: &str| {
        let text = format!("{MINIMAL}{extra}");
        parse_agent(&text, Path::new(crate::SOURCE), &opts(&[], &[])).unwrap()
    };
    let empty = load(
        "[policy.commands]\nallow = []\n\n[[tools.mcp]]\nname = \"fs\"\ncommand = [\"x\"]\nallow_tools = []\n",
    );
    assert_eq!(empty.policy.commands.allow, Some(Vec::new()));
    assert_eq!(empty.tools.mcp[0].allow_tools, Some(Vec::new()));
    let shown = empty.to_display_toml();
    assert!(
        shown.contains("allow = []\n# commands: allow list is empty: every command is denied"),
        "{shown}"
    );
    assert!(
        shown.contains("allow_tools = []\n# allow_tools is empty: the server exposes no tool"),
        "{shown}"
    );

    let absent = load("[[tools.mcp]]\nname = \"fs\"\ncommand = [\"x\"]\n");
    assert_eq!(absent.policy.commands.allow, None);
    assert_eq!(absent.tools.mcp[0].allow_tools, None);
}

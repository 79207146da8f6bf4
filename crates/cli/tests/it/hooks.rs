//! Lifecycle hooks in a real run: a hook that denies, one that rewrites a tool's output,
//! and hooks that crash or answer garbage (which deny: hooks fail closed).

use serde_json::json;

use crate::harness::{Fixture, finished, of_kind};

const GUARD_HOOK: &str = r#"#!/bin/bash
# Denies shell commands that mention "deploy"; allows the rest.
payload=$(cat)
if grep -q deploy <<<"$payload"; then
  echo '{"decision": "deny", "reason": "deploys need a change ticket"}'
else
  echo '{"decision": "allow"}'
fi
"#;

const REDACT_HOOK: &str = r#"#!/bin/bash
# Replaces the output of read_file with a redacted note.
cat >/dev/null
echo '{"decision": "allow", "output": "[redacted by the org hook]"}'
"#;

fn write_hook(fixture: &Fixture, name: &str, body: &str) {
    let path = fixture.path().join(name);
    std::fs::write(&path, body).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).unwrap();
}

#[test]
fn hooks_deny_rewrite_and_fail_closed() {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": "echo deploy to prod"}}]},
        {"expect": {"last_message_contains": "change ticket"},
         "tool_calls": [{"name": "read_file", "arguments": {"path": "notes.txt"}}]},
        {"expect": {"last_message_contains": "redacted by the org hook"},
         "tool_calls": [{"name": "write_file", "arguments": {"path": "x.txt", "content": "x"}}]},
        {"expect": {"last_message_contains": "withheld by a hook"}, "text": "done"}
    ]});
    let extra = r#"
[tools]
builtin = ["shell", "read_file", "write_file"]

[[hooks]]
event = "before_tool"
match = "shell"
command = ["./guard.sh"]
run_in = "host"

[[hooks]]
event = "after_tool"
match = "read_file"
command = ["./redact.sh"]
run_in = "host"

[[hooks]]
event = "after_tool"
match = "write_*"
command = ["./garbage.sh"]
run_in = "host"
"#;
    let fixture = Fixture::new("openai", true, script, extra);
    write_hook(&fixture, "guard.sh", GUARD_HOOK);
    write_hook(&fixture, "redact.sh", REDACT_HOOK);
    write_hook(
        &fixture,
        "garbage.sh",
        "#!/bin/bash\ncat >/dev/null\necho 'sure, go ahead'\n",
    );
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let results = of_kind(&events, "tool_result");
    assert_eq!(results[0]["data"]["outcome"], "denied");
    assert_eq!(results[1]["data"]["output"], "[redacted by the org hook]");
    assert_eq!(results[2]["data"]["is_error"], true);
    let hook_calls = of_kind(&events, "hook_call");
    assert_eq!(hook_calls.len(), 3, "{hook_calls:#?}");
    assert_eq!(hook_calls[0]["data"]["decision"], "deny");
    assert_eq!(
        hook_calls[2]["data"]["decision"], "deny",
        "garbage fails closed"
    );
    assert_eq!(finished(&events)["stop_reason"], "completed");
}

#[test]
fn a_crashing_run_start_hook_stops_the_run_unless_on_error_allows() {
    let script = json!({"turns": [{"text": "done"}]});
    let hook =
        "\n[[hooks]]\nevent = \"run_start\"\ncommand = [\"./crash.sh\"]\nrun_in = \"host\"\n";
    let fixture = Fixture::new("openai", true, script.clone(), hook);
    write_hook(&fixture, "crash.sh", "#!/bin/bash\necho boom >&2\nexit 3\n");
    let out = fixture.run(&[]);
    assert_eq!(out.code, 15, "{out:?}");
    assert!(
        fixture.requests().is_empty(),
        "no model call after a denied start"
    );

    let allowing = format!("{hook}on_error = \"allow\"\n");
    let fixture = Fixture::new("openai", true, script, &allowing);
    write_hook(&fixture, "crash.sh", "#!/bin/bash\nexit 3\n");
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(of_kind(&fixture.events(), "hook_call").len(), 1);
}

/// A before_model hook sees the messages added since the last call, as the trace does.
#[test]
fn a_before_model_hook_receives_the_new_messages() {
    let script = json!({"turns": [{"text": "done"}]});
    let hook =
        "\n[[hooks]]\nevent = \"before_model\"\ncommand = [\"./record.sh\"]\nrun_in = \"host\"\n";
    let fixture = Fixture::new("openai", true, script, hook);
    write_hook(
        &fixture,
        "record.sh",
        "#!/bin/bash\ncat > seen.json\necho '{\"decision\": \"allow\"}'\n",
    );
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let seen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture.path().join("seen.json")).unwrap())
            .unwrap();
    assert_eq!(seen["event"], "before_model");
    assert_eq!(
        seen["new_messages"][0]["content"], "Update notes.txt.",
        "{seen}"
    );
}

/// The `no-push` hook of docs/hooks.md, taken from the docs as it is written there, on
/// the parsed commands rein gives hooks (`tool.commands`): every spelling of `git push`
/// is denied by the hook, `git status` runs. A first hook records what hooks receive.
#[test]
fn the_documented_no_push_hook_denies_every_spelling_of_git_push() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/hooks.md"))
        .unwrap();
    let after = docs
        .split("`hooks/no-push.sh` (executable")
        .nth(1)
        .expect("docs/hooks.md has the no-push example");
    let script = after
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the example is a ```sh block");

    let pushes = [
        "git push",
        "git -C . push origin main",
        "git --no-pager push",
        "\"git\" push",
        "git\tpush",
        "git \\\npush",
        "sh -c 'git push'",
        "timeout 60 sh -c \"LANG=C git -C . push\"",
        "/usr/bin/git --no-pager -C . push",
    ];
    let mut turns: Vec<serde_json::Value> = pushes
        .iter()
        .enumerate()
        .map(|(i, command)| {
            let mut turn =
                json!({"tool_calls": [{"name": "shell", "arguments": {"command": command}}]});
            if i > 0 {
                turn["expect"] = json!({"last_message_contains": "agents do not push"});
            }
            turn
        })
        .collect();
    turns.push(
        json!({"expect": {"last_message_contains": "agents do not push"}, "tool_calls": [
        {"name": "shell", "arguments": {"command": "git status; echo status-ran"}}]}),
    );
    turns.push(json!({"expect": {"last_message_contains": "status-ran"}, "text": "done"}));
    let extra = r#"
[tools]
builtin = ["shell"]

[loop]
max_steps = 20

[[hooks]]
event = "before_tool"
match = "shell"
command = ["sh", "-c", "cat >> payloads.jsonl; echo >> payloads.jsonl; echo '{\"decision\": \"allow\"}'"]
run_in = "host"

[[hooks]]
event = "before_tool"
match = "shell"
command = ["./hooks/no-push.sh"]
run_in = "host"
timeout = "5s"
"#;
    let fixture = Fixture::new("openai", true, json!({"turns": turns}), extra);
    std::fs::create_dir(fixture.path().join("hooks")).unwrap();
    write_hook(&fixture, "hooks/no-push.sh", &format!("{script}\n"));
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let outcomes: Vec<&str> = of_kind(&events, "tool_result")
        .iter()
        .map(|r| r["data"]["outcome"].as_str().unwrap())
        .collect();
    let mut expected = vec!["denied"; pushes.len()];
    expected.push("ok");
    assert_eq!(outcomes, expected);
    // Each push is refused by the no-push hook (the policy allowed them all).
    let decisions: Vec<(String, String)> = of_kind(&events, "hook_call")
        .iter()
        .filter(|call| call["data"]["index"] == 1)
        .map(|call| {
            (
                call["data"]["decision"].as_str().unwrap().to_owned(),
                call["data"]["error"].to_string(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String)> =
        vec![("deny".to_owned(), "null".to_owned()); pushes.len()];
    expected.push(("allow".to_owned(), "null".to_owned()));
    assert_eq!(decisions, expected);

    // What hooks received for the `timeout … sh -c …` line: the documented shape.
    let payloads = std::fs::read_to_string(fixture.path().join("payloads.jsonl")).unwrap();
    let timeout_line: serde_json::Value = payloads
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|payload| {
            payload["tool"]["arguments"]["command"]
                .as_str()
                .is_some_and(|command| command.starts_with("timeout"))
        })
        .unwrap();
    assert_eq!(
        timeout_line["tool"]["commands"],
        json!([
            {"argv": ["timeout", "60", "sh", "-c", "LANG=C git -C . push"], "unknown": [], "via": null, "assignments": [], "appended": false},
            {"argv": ["sh", "-c", "LANG=C git -C . push"], "unknown": [], "via": "timeout", "assignments": [], "appended": false},
            {"argv": ["git", "-C", ".", "push"], "unknown": [], "via": "sh", "assignments": ["LANG=C"], "appended": false}
        ])
    );
}

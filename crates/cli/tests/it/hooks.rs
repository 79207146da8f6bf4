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

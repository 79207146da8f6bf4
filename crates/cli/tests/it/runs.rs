//! Whole runs of `rein run` against the mock LLM, one scenario each.

use serde_json::json;

use crate::harness::{API_KEY, Fixture, finished, of_kind};

const TOOLS: &str = r#"
[loop]
max_steps = 10
step_timeout = "20s"

[tools]
builtin = ["list_dir", "read_file", "edit_file", "write_file", "shell"]
"#;

/// Three tool calls that look, read and edit, then a final answer.
fn edit_script() -> serde_json::Value {
    json!({"turns": [
        {"text": "Looking.", "tool_calls": [{"name": "list_dir", "arguments": {"path": "."}}]},
        {"expect": {"last_message_contains": "notes.txt"},
         "tool_calls": [{"name": "read_file", "arguments": {"path": "notes.txt"}}]},
        {"expect": {"last_message_contains": "TODO: write notes"},
         "tool_calls": [{"name": "edit_file", "arguments": {
             "path": "notes.txt", "old_string": "TODO: write notes", "new_string": "Notes written by rein"}}]},
        {"text": "I updated notes.txt."}
    ]})
}

fn assert_edit_run(fixture: &Fixture, stream: bool) {
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("completed"), "{out:?}");
    assert!(out.stdout.contains("I updated notes.txt."), "{out:?}");
    assert!(
        out.stderr.contains("warning: sandbox = \"host\""),
        "every host run warns: {out:?}"
    );

    let events = fixture.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|kind| *kind != "policy_decision")
        .collect();
    // Each tool call's actions were put to the policy and allowed, before it ran.
    let decisions: Vec<(String, String, String)> = of_kind(&events, "policy_decision")
        .iter()
        .map(|e| {
            let d = &e["data"];
            (
                d["action"].as_str().unwrap().to_owned(),
                d["target"].as_str().unwrap().to_owned(),
                d["decision"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> =
        [("read", "."), ("read", "notes.txt"), ("write", "notes.txt")]
            .iter()
            .map(|(a, t)| ((*a).to_owned(), (*t).to_owned(), "allow".to_owned()))
            .collect();
    assert_eq!(decisions, expected);
    assert_eq!(
        kinds,
        [
            "run_started",
            "model_request",
            "model_response",
            "tool_call",
            "tool_result",
            "model_request",
            "model_response",
            "tool_call",
            "tool_result",
            "model_request",
            "model_response",
            "tool_call",
            "tool_result",
            "model_request",
            "model_response",
            "run_finished"
        ]
    );
    for (idx, event) in events.iter().enumerate() {
        assert_eq!(event["seq"], idx as u64);
    }
    let first_decision = events.iter().position(|e| e["kind"] == "policy_decision");
    let first_result = events.iter().position(|e| e["kind"] == "tool_result");
    assert!(first_decision < first_result, "decided before it ran");
    let results = of_kind(&events, "tool_result");
    assert!(
        results.iter().all(|r| r["data"]["outcome"] == "ok"),
        "{results:?}"
    );
    let done = finished(&events);
    assert_eq!(done["stop_reason"], "completed");
    assert_eq!(done["steps"], 4);
    assert_eq!(done["tool_calls"], 3);
    assert_eq!(done["workspace_changes"]["files_changed"], 1);
    assert!(done["usage"]["input_tokens"].as_u64().unwrap() > 0);

    let diff = std::fs::read_to_string(fixture.run_dir().join("changes.diff")).unwrap();
    assert!(
        diff.contains("-TODO: write notes") && diff.contains("+Notes written by rein"),
        "{diff}"
    );
    // The original project is untouched: the workspace is a copy.
    let original = std::fs::read_to_string(fixture.path().join("project/notes.txt")).unwrap();
    assert_eq!(original, "TODO: write notes\n");

    let requests = fixture.requests();
    assert_eq!(requests.len(), 4, "{requests:#?}");
    for request in &requests {
        assert_eq!(request.status, 200, "{request:#?}");
        assert_eq!(request.stream, stream);
    }
}

#[test]
fn openai_streaming_run_edits_a_file() {
    let fixture = Fixture::new("openai", true, edit_script(), TOOLS);
    assert_edit_run(&fixture, true);
    let first = &fixture.requests()[0];
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(first.body["stream_options"]["include_usage"], true);
    assert_eq!(first.body["tools"].as_array().unwrap().len(), 5);
}

#[test]
fn openai_non_streaming_run_edits_a_file() {
    let fixture = Fixture::new("openai", false, edit_script(), TOOLS);
    assert_edit_run(&fixture, false);
}

#[test]
fn anthropic_streaming_run_edits_a_file() {
    let fixture = Fixture::new("anthropic", true, edit_script(), TOOLS);
    assert_edit_run(&fixture, true);
    let last = fixture.requests().pop().unwrap();
    assert_eq!(last.path, "/v1/messages");
    assert_eq!(last.header("x-api-key"), Some(API_KEY));
}

#[test]
fn anthropic_non_streaming_run_edits_a_file() {
    let fixture = Fixture::new("anthropic", false, edit_script(), TOOLS);
    assert_edit_run(&fixture, false);
}

#[test]
fn a_429_with_retry_after_is_waited_out_and_recovered() {
    let script = json!({"turns": [
        {"text": "Nothing to do.", "faults": [{"status": 429, "retry_after": 1, "message": "slow down"}]}
    ]});
    let fixture = Fixture::new("openai", true, script, TOOLS);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let failed = of_kind(&events, "model_attempt_failed");
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert_eq!(failed[0]["data"]["status"], 429);
    assert!(
        failed[0]["data"]["retry_in_ms"].as_u64().unwrap() >= 1000,
        "{failed:?}"
    );
    assert_eq!(of_kind(&events, "model_response")[0]["data"]["attempts"], 2);
    assert_eq!(fixture.requests().len(), 2);
}

#[test]
fn repeated_500s_end_the_run_as_model_error() {
    let script = json!({"turns": [
        {"text": "never", "faults": [{"status": 500, "times": 10, "message": "upstream exploded"}]}
    ]});
    let fixture = Fixture::new("anthropic", false, script, TOOLS);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 18, "{out:?}");
    assert!(out.stdout.contains("model_error"), "{out:?}");
    assert!(out.stdout.contains("500"), "{out:?}");
    assert!(out.stdout.contains("upstream exploded"), "{out:?}");
    let events = fixture.events();
    assert_eq!(finished(&events)["stop_reason"], "model_error");
    assert_eq!(
        of_kind(&events, "model_attempt_failed").len(),
        3,
        "{events:#?}"
    );
    assert_eq!(of_kind(&events, "error").len(), 1);
    assert_eq!(fixture.requests().len(), 3, "max_attempts = 3");
}

#[test]
fn a_401_is_not_retried_and_says_so() {
    let script = json!({"turns": [
        {"text": "never", "faults": [{"status": 401, "times": 5, "message": "invalid x-api-key"}]}
    ]});
    let fixture = Fixture::new("anthropic", true, script, TOOLS);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 18, "{out:?}");
    assert!(out.stdout.contains("401"), "{out:?}");
    assert_eq!(fixture.requests().len(), 1);
}

#[test]
fn malformed_tool_arguments_go_back_to_the_model_and_the_run_goes_on() {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "read_file", "raw_arguments": "{\"path\": \"notes.txt\""}]},
        {"expect": {"last_message_contains": "invalid arguments"},
         "tool_calls": [{"name": "no_such_tool", "arguments": {}}]},
        {"expect": {"last_message_contains": "read_file"}, "text": "Recovered."}
    ]});
    let fixture = Fixture::new("openai", true, script, TOOLS);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let results = of_kind(&events, "tool_result");
    assert_eq!(results[0]["data"]["outcome"], "invalid_arguments");
    assert_eq!(results[0]["data"]["is_error"], true);
    assert_eq!(results[1]["data"]["outcome"], "unknown_tool");
}

#[test]
fn an_sse_stream_cut_midway_is_retried() {
    let script = json!({"turns": [
        {"text": "A long enough answer that the stream has several chunks to cut.",
         "faults": [{"cut_stream_after_bytes": 60}]}
    ]});
    for provider in ["openai", "anthropic"] {
        let fixture = Fixture::new(provider, true, script.clone(), TOOLS);
        let out = fixture.run(&[]);
        assert_eq!(out.code, 0, "{provider}: {out:?}");
        let events = fixture.events();
        assert_eq!(
            of_kind(&events, "model_attempt_failed").len(),
            1,
            "{provider}"
        );
        assert_eq!(of_kind(&events, "model_response")[0]["data"]["attempts"], 2);
        assert!(out.stdout.contains("several chunks to cut"), "{out:?}");
    }
}

#[test]
fn max_steps_ends_the_run() {
    let turn = |n: u32| json!({"tool_calls": [{"name": "shell", "arguments": {"command": format!("echo {n}")}}]});
    let script = json!({"turns": [turn(0), turn(1), turn(2), turn(3)]});
    let extra = TOOLS.replace("max_steps = 10", "max_steps = 2");
    let fixture = Fixture::new("openai", false, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 11, "{out:?}");
    let events = fixture.events();
    assert_eq!(finished(&events)["stop_reason"], "max_steps");
    assert_eq!(finished(&events)["steps"], 2);
    assert_eq!(fixture.requests().len(), 2);
}

#[test]
fn verify_failing_twice_then_passing_ends_verified() {
    let script = json!({"turns": [
        {"text": "Done, I think."},
        {"expect": {"last_message_contains": "failed with exit code 1"}, "text": "Done now."},
        {"expect": {"last_message_contains": "attempt 2 of 3"},
         "tool_calls": [{"name": "write_file", "arguments": {"path": "done.txt", "content": "ok\n"}}]},
        {"text": "Created done.txt."}
    ]});
    let extra = format!(
        "{TOOLS}\n",
    )
    .replace(
        "step_timeout = \"20s\"",
        "step_timeout = \"20s\"\nverify = { command = [\"test\", \"-f\", \"done.txt\"], max_attempts = 3 }",
    );
    let fixture = Fixture::new("openai", true, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("verified"), "{out:?}");
    let events = fixture.events();
    let verifies = of_kind(&events, "verify_result");
    let passed: Vec<bool> = verifies
        .iter()
        .map(|v| v["data"]["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(passed, [false, false, true]);
    assert_eq!(finished(&events)["stop_reason"], "verified");
}

#[test]
fn verify_never_passing_ends_verify_failed() {
    let script = json!({"turns": [{"text": "Done."}, {"text": "Really done."}]});
    let extra = TOOLS.replace(
        "step_timeout = \"20s\"",
        "step_timeout = \"20s\"\nverify = { command = [\"test\", \"-f\", \"done.txt\"], max_attempts = 2 }",
    );
    let fixture = Fixture::new("anthropic", true, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 10, "{out:?}");
    let events = fixture.events();
    assert_eq!(finished(&events)["stop_reason"], "verify_failed");
    assert_eq!(of_kind(&events, "verify_result").len(), 2);
}

pub fn processes_with_arg(arg: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            if args.contains(&arg.as_bytes()) {
                found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
            }
        }
    }
    found
}

#[test]
fn a_step_timeout_kills_the_command_and_leaves_no_process() {
    // A unique argument so the test finds exactly its own processes.
    let marker = format!("{}.{}", 100, std::process::id());
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": format!("sleep {marker} & sleep {marker}")}}]},
        {"expect": {"last_message_contains": "timed out"}, "text": "The command timed out."}
    ]});
    let extra = TOOLS.replace("step_timeout = \"20s\"", "step_timeout = \"1s\"");
    let fixture = Fixture::new("openai", true, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let result = &of_kind(&events, "tool_result")[0]["data"];
    assert_eq!(result["is_error"], true, "{result}");
    assert_eq!(processes_with_arg(&marker), Vec::<String>::new());
}

#[test]
fn a_secret_appears_nowhere_in_the_trace_stdout_or_model_requests() {
    let secret = "canary-secret-value-Zq81x";
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": "echo token=$CANARY"}}]},
        {"expect": {"last_message_contains": "token=***"}, "text": "The token is hidden."}
    ]});
    let extra = format!("[environment.env]\nCANARY = \"${{secret:CANARY_SECRET}}\"\n{TOOLS}");
    // The secret goes into the command environment on purpose: the tool prints it, and the
    // harness must redact it before the model, the trace or stdout see it.
    let fixture = Fixture::new("openai", true, script, &extra).env("CANARY_SECRET", secret);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !out.stdout.contains(secret) && !out.stderr.contains(secret),
        "{out:?}"
    );
    for entry in std::fs::read_dir(fixture.run_dir()).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        assert!(
            !text.contains(secret),
            "{} leaks the secret",
            entry.path().display()
        );
        assert!(
            !text.contains(API_KEY),
            "{} leaks the API key",
            entry.path().display()
        );
    }
    for request in fixture.requests() {
        assert!(
            !request.body_text.contains(secret),
            "request {} leaks the secret",
            request.seq
        );
    }
    let json_out = fixture.run(&["--json"]);
    assert!(!json_out.stdout.contains(secret) && !json_out.stdout.contains(API_KEY));
}

#[test]
fn the_same_tool_call_repeated_is_warned_then_stuck() {
    let same = json!({"tool_calls": [{"name": "read_file", "arguments": {"path": "notes.txt"}}]});
    let script = json!({"turns": [same.clone(), same.clone(), same.clone(), same]});
    let fixture = Fixture::new("openai", true, script, TOOLS);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 12, "{out:?}");
    let events = fixture.events();
    assert_eq!(finished(&events)["stop_reason"], "stuck");
    assert_eq!(of_kind(&events, "loop_warning").len(), 1);
    assert_eq!(fixture.requests().len(), 3, "stuck_after defaults to 3");
    let last_request = fixture.requests().pop().unwrap();
    assert!(
        last_request.body_text.contains("same arguments"),
        "the model saw the warning"
    );
}

#[test]
fn json_mode_writes_only_events_to_stdout() {
    let fixture = Fixture::new("openai", true, edit_script(), TOOLS);
    let out = fixture.run(&["--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let schema = crate::harness::trace_schema();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 19, "16 events and 3 policy decisions: {out:?}");
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(schema.is_valid(&event), "{line}");
    }
    assert!(out.stderr.contains("trace: "), "{out:?}");
}

#[test]
fn sigterm_cancels_the_run_and_kills_its_command() {
    let marker = format!("{}.{}", 200, std::process::id());
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": format!("sleep {marker}")}}]},
        {"text": "unreachable"}
    ]});
    let fixture = Fixture::new("openai", true, script, TOOLS);
    let agent = fixture.agent();
    let mut cmd = fixture.spawn_command(&["run", agent.to_str().unwrap()]);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the command runs, then send SIGTERM.
    let mut waited = 0;
    while processes_with_arg(&marker).is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(20));
        waited += 1;
        assert!(waited < 1500, "the command never started");
    }
    let pid = child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let out = crate::harness::output(child.wait_with_output().unwrap());
    assert_eq!(out.code, 130, "{out:?}");
    let events = fixture.events();
    assert_eq!(finished(&events)["stop_reason"], "cancelled");
    assert_eq!(processes_with_arg(&marker), Vec::<String>::new());
}

/// A run in each isolating backend: the shell tool works in the workspace, an attempt to
/// write outside fails, the host is untouched, and nothing the commands started survives.
#[test]
fn sandboxed_runs_work_in_the_workspace_and_nowhere_else() {
    for sandbox in ["linux", "bwrap"] {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim.txt");
        std::fs::write(&victim, "untouched\n").unwrap();
        let marker = format!("{}.{}", 300, std::process::id());
        let script = json!({"turns": [
            {"tool_calls": [{"name": "shell", "arguments": {"command": format!(
                // The write goes through perl so the command policy cannot see the path:
                // this test is about the sandbox holding on its own.
                "echo sandboxed > made.txt; (setsid sleep {marker} &); perl -e 'open(my $f, \">\", \"{}\") or die \"cannot write: $!\\n\"; print $f \"pwned\"'; echo exit code $?",
                victim.display()
            )}}]},
            {"expect": {"last_message_contains": "exit code"}, "text": "Done."}
        ]});
        let fixture = Fixture::sandboxed(sandbox, "openai", true, script, TOOLS);
        let out = fixture.run(&[]);
        assert_eq!(out.code, 0, "{sandbox}: {out:?}");
        assert!(
            !out.stderr.contains("without isolation"),
            "{sandbox}: {out:?}"
        );
        let events = fixture.events();
        assert_eq!(
            of_kind(&events, "run_started")[0]["data"]["sandbox"],
            sandbox
        );
        let result = &of_kind(&events, "tool_result")[0]["data"];
        let output = result["output"].as_str().unwrap();
        assert_eq!(result["outcome"], "ok", "{sandbox}: {output}");
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "untouched\n",
            "{sandbox}"
        );
        assert!(
            output.contains("Read-only file system")
                || output.contains("No such file or directory")
                || output.contains("Permission denied"),
            "{sandbox}: {output}"
        );
        let diff = std::fs::read_to_string(fixture.run_dir().join("changes.diff")).unwrap();
        assert!(diff.contains("+sandboxed"), "{sandbox}: {diff}");
        assert_eq!(
            processes_with_arg(&marker),
            Vec::<String>::new(),
            "{sandbox}"
        );
    }
}

/// `kill -9` of rein mid-run: the run log stays readable (at most the event being written
/// is lost), and in the linux sandbox nothing the run started outlives it.
#[test]
fn kill_9_leaves_a_readable_trace_and_no_sandboxed_process() {
    let marker = format!("{}.{}", 400, std::process::id());
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": format!("sleep {marker}")}}]},
        {"text": "unreachable"}
    ]});
    let fixture = Fixture::sandboxed("linux", "openai", true, script, TOOLS);
    let agent = fixture.agent();
    let mut cmd = fixture.spawn_command(&["run", agent.to_str().unwrap()]);
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut waited = 0;
    while processes_with_arg(&marker).is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(20));
        waited += 1;
        assert!(waited < 1500, "the command never started");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The kernel tears the sandbox down once its supervisor (PID 1) is gone.
    let mut waited = 0;
    while !processes_with_arg(&marker).is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(20));
        waited += 1;
        assert!(
            waited < 1500,
            "a sandboxed process outlived rein: {:?}",
            processes_with_arg(&marker)
        );
    }
    let out = crate::harness::output(
        fixture
            .command(&["trace", "show", "last"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("tool    shell"), "{out:?}");
    assert!(out.stdout.contains("no run_finished event"), "{out:?}");
}

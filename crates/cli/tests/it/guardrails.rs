//! Guardrails end to end: budgets that are never exceeded, command and path rules, rate
//! limits and approvals, each decision traced.

use serde_json::json;

use crate::harness::{Fixture, finished, of_kind, output};

const SHELL: &str = r#"
[loop]
max_steps = 30
step_timeout = "20s"
stuck_after = 50

[tools]
builtin = ["read_file", "write_file", "shell"]
"#;

fn shell_turn(command: &str) -> serde_json::Value {
    json!({"tool_calls": [{"name": "shell", "arguments": {"command": command}}]})
}

/// Random usages through the mock server: the spend reported in `run_finished` never
/// passes `max_cost_usd`, whatever the cap and the usage (within the reserved worst case).
#[test]
fn reported_spend_never_passes_the_cost_cap() {
    let mut exhausted = 0;
    let mut completed = 0;
    for seed in 0..16u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let cap = 0.0005 + rng.f64() * 0.03;
        let mut turns: Vec<serde_json::Value> = (0..12)
            .map(|i| {
                let mut turn = shell_turn(&format!("echo step {i}"));
                turn["usage"] = json!({
                    "input_tokens": rng.u64(1..=400),
                    "output_tokens": rng.u64(1..=512),
                });
                turn
            })
            .collect();
        turns.push(json!({"text": "done", "usage": {"input_tokens": 10, "output_tokens": rng.u64(1..=512)}}));
        let extra = format!(
            "{SHELL}\n[limits]\nmax_cost_usd = {cap}\n\n[model.pricing]\ninput_per_mtok = 1.0\noutput_per_mtok = 4.0\n"
        );
        let fixture = Fixture::new("openai", seed % 2 == 0, json!({"turns": turns}), &extra);
        let out = fixture.run(&[]);
        let events = fixture.events();
        let done = finished(&events);
        let spent = done["cost_usd"].as_f64().unwrap();
        assert!(
            spent <= cap,
            "seed {seed}: spent {spent} > cap {cap}\n{out:?}"
        );
        match done["stop_reason"].as_str().unwrap() {
            "budget_exhausted" => {
                exhausted += 1;
                assert_eq!(out.code, 13, "{out:?}");
                let denied = of_kind(&events, "policy_decision");
                let last = denied.last().unwrap();
                assert_eq!(last["data"]["action"], "model_call");
                assert_eq!(last["data"]["rule"], "max_cost_usd");
            }
            "completed" => completed += 1,
            other => panic!("seed {seed}: unexpected stop {other}\n{out:?}"),
        }
    }
    assert!(
        exhausted > 0 && completed > 0,
        "exhausted {exhausted}, completed {completed}"
    );
}

#[test]
fn the_stricter_of_file_and_flag_wins() {
    let script = json!({"turns": [shell_turn("echo hi"), {"text": "done"}]});
    let extra = format!("{SHELL}\n[limits]\nmax_cost_usd = 1.0\n");
    let fixture = Fixture::new("openai", true, script.clone(), &extra);
    let out = fixture.run(&["--max-cost", "0.0001"]);
    assert_eq!(out.code, 13, "{out:?}");
    assert!(
        fixture.requests().is_empty(),
        "no call was made: its worst case did not fit"
    );
    assert!(out.stdout.contains("max_cost_usd"), "{out:?}");

    // A looser flag does not loosen the file.
    let extra = format!("{SHELL}\n[limits]\nmax_cost_usd = 0.0001\n");
    let fixture = Fixture::new("openai", true, script, &extra);
    let out = fixture.run(&["--max-cost", "5"]);
    assert_eq!(out.code, 13, "{out:?}");

    let out = fixture.run(&["--max-cost", "-1"]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn max_tool_calls_and_max_tokens_end_the_run_as_budget_exhausted() {
    let script = json!({"turns": [shell_turn("echo 1"), shell_turn("echo 2"), shell_turn("echo 3"), {"text": "done"}]});
    let fixture = Fixture::new("openai", true, script.clone(), SHELL);
    let out = fixture.run(&["--max-tool-calls", "2"]);
    assert_eq!(out.code, 13, "{out:?}");
    let events = fixture.events();
    assert_eq!(
        finished(&events)["tool_calls"],
        3,
        "the third was asked for and refused"
    );
    assert_eq!(of_kind(&events, "tool_result").len(), 2);

    let fixture = Fixture::new("openai", true, script, SHELL);
    let out = fixture.run(&["--max-tokens", "100"]);
    assert_eq!(out.code, 13, "{out:?}");
    assert!(fixture.requests().is_empty(), "{out:?}");
}

#[test]
fn denied_commands_go_back_to_the_model_and_nothing_runs() {
    let script = json!({"turns": [
        shell_turn("rm notes.txt"),
        {"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
            {"name": "shell", "arguments": {"command": "git -c core.pager='sh -c id' status"}}]},
        {"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
            {"name": "shell", "arguments": {"command": "ls; $(echo rm) notes.txt"}}]},
        {"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
            {"name": "shell", "arguments": {"command": "cat notes.txt"}}]},
        {"expect": {"last_message_contains": "TODO"}, "text": "Gave up on deleting."}
    ]});
    let extra = format!("{SHELL}\n[policy.commands]\ndeny = [\"rm\"]\n");
    let fixture = Fixture::new("anthropic", true, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let results = of_kind(&events, "tool_result");
    let outcomes: Vec<&str> = results
        .iter()
        .map(|r| r["data"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["denied", "denied", "denied", "ok"]);
    let rules: Vec<String> = of_kind(&events, "policy_decision")
        .iter()
        .filter(|d| d["data"]["decision"] == "deny")
        .map(|d| d["data"]["rule"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rules.len(), 3, "{rules:?}");
    assert!(rules[0].contains("policy.commands.deny[0]"), "{rules:?}");
    // The file was never deleted: the diff is empty.
    assert!(!fixture.run_dir().join("changes.diff").exists());
}

#[test]
fn path_rules_hold_through_symlinks() {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "read_file", "arguments": {"path": ".env"}}]},
        {"expect": {"last_message_contains": "denied by policy"},
         "tool_calls": [{"name": "read_file", "arguments": {"path": "innocent.txt"}}]},
        {"expect": {"last_message_contains": "denied by policy"},
         "tool_calls": [{"name": "write_file", "arguments": {"path": "src/main.rs", "content": "x"}}]},
        {"expect": {"last_message_contains": "denied by policy"}, "text": "done"}
    ]});
    let extra = format!("{SHELL}\n[policy.paths]\nwrite = [\"docs/**\"]\n");
    let fixture = Fixture::new("openai", true, script, &extra);
    std::fs::write(
        fixture.path().join("project/.env"),
        "API_TOKEN=canary-path-secret\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(".env", fixture.path().join("project/innocent.txt")).unwrap();
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let outcomes: Vec<&str> = of_kind(&events, "tool_result")
        .iter()
        .map(|r| r["data"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["denied", "denied", "denied"]);
    let trace = std::fs::read_to_string(fixture.run_dir().join("trace.jsonl")).unwrap();
    assert!(!trace.contains("canary-path-secret"));
    for request in fixture.requests() {
        assert!(!request.body_text.contains("canary-path-secret"));
    }
}

#[test]
fn a_tool_rate_limit_waits_then_denies() {
    let script = json!({"turns": [shell_turn("echo 1"), shell_turn("echo 2"), {"text": "done"}]});
    let extra = format!(
        "{SHELL}\n[[policy.rate_limit]]\ntool = \"shell\"\nper_minute = 1\nmax_wait = \"50ms\"\n"
    );
    let fixture = Fixture::new("openai", true, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let results = of_kind(&events, "tool_result");
    assert_eq!(results[0]["data"]["outcome"], "ok");
    assert_eq!(results[1]["data"]["outcome"], "denied");
    assert!(
        results[1]["data"]["output"]
            .as_str()
            .unwrap()
            .contains("rate limit")
    );
    let limited = of_kind(&events, "policy_decision");
    assert!(limited.iter().any(
        |d| d["data"]["action"] == "rate_limit" && d["data"]["rule"] == "policy.rate_limit[0]"
    ));
}

fn ask_fixture() -> Fixture {
    let script = json!({"turns": [
        shell_turn("touch approved.txt"),
        {"text": "done"}
    ]});
    let extra = format!("{SHELL}\n[policy.commands]\nask = [\"touch\"]\n");
    Fixture::new("openai", true, script, &extra)
}

fn approval_of(fixture: &Fixture) -> (String, String, String) {
    let events = fixture.events();
    let approvals = of_kind(&events, "approval");
    assert_eq!(approvals.len(), 1, "{events:#?}");
    let d = &approvals[0]["data"];
    let outcome = of_kind(&events, "tool_result")[0]["data"]["outcome"]
        .as_str()
        .unwrap()
        .to_owned();
    (
        d["answer"].as_str().unwrap().to_owned(),
        d["source"].as_str().unwrap().to_owned(),
        outcome,
    )
}

#[test]
fn ask_follows_the_approve_flag_without_a_terminal() {
    let fixture = ask_fixture();
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        approval_of(&fixture),
        ("deny".into(), "flag".into(), "denied".into()),
        "never is the default"
    );

    let fixture = ask_fixture();
    let out = fixture.run(&["--approve", "always"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        approval_of(&fixture),
        ("once".into(), "flag".into(), "ok".into())
    );

    let fixture = ask_fixture();
    let out = fixture.run(&["--approve", "sometimes"]);
    assert_eq!(out.code, 2, "{out:?}");
}

/// The prompt in a real pseudo-terminal (util-linux `script` gives the run one), answered
/// by typing.
#[test]
fn ask_prompts_in_a_terminal() {
    for (typed, answer, outcome) in [("y\n", "once", "ok"), ("n\n", "deny", "denied")] {
        let fixture = ask_fixture();
        let line = format!(
            "{} run {}",
            env!("CARGO_BIN_EXE_rein"),
            fixture.agent().display()
        );
        let env_from = fixture.spawn_command(&[]);
        let mut script = crate::harness::script_command(&line);
        for (key, value) in env_from.get_envs() {
            match value {
                Some(value) => script.env(key, value),
                None => script.env_remove(key),
            };
        }
        script.current_dir(fixture.path());
        let mut child = script
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Typed ahead: the terminal holds the line until rein reads it at its prompt.
        // stdin stays open until the run ends, as a terminal would.
        let mut stdin = child.stdin.take().unwrap();
        {
            use std::io::Write;
            stdin.write_all(typed.as_bytes()).unwrap();
            stdin.flush().unwrap();
        }
        let out = output(child.wait_with_output().unwrap());
        drop(stdin);
        assert!(
            out.stdout
                .contains("approval needed: command `touch approved.txt`"),
            "{out:?}"
        );
        assert_eq!(
            approval_of(&fixture),
            (answer.into(), "terminal".into(), outcome.into()),
            "{out:?}"
        );
    }
}

/// A one-page HTTP server on the host's loopback, in a thread: answers `hello from the
/// host` to every request and counts them.
fn host_page_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "hello from the host";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, hits)
}

/// http_request under the network rules: a host not listed is refused, a listed name that
/// resolves to loopback is refused by its address, the cloud metadata address is refused,
/// and an address listed exactly is reached.
#[test]
fn http_request_respects_the_network_rules() {
    let (port, hits) = host_page_server();
    let fetch =
        |url: String| json!({"tool_calls": [{"name": "http_request", "arguments": {"url": url}}]});
    let outputs = |fixture: &Fixture| -> Vec<(bool, String)> {
        of_kind(&fixture.events(), "tool_result")
            .iter()
            .map(|r| {
                (
                    r["data"]["is_error"].as_bool().unwrap(),
                    r["data"]["output"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let tools = "[loop]\nmax_steps = 10\n\n[tools]\nbuiltin = [\"http_request\"]\n";

    let script = json!({"turns": [
        fetch(format!("http://example.invalid:{port}/")),
        fetch(format!("http://localhost:{port}/")),
        fetch("http://169.254.169.254/latest/meta-data/".to_owned()),
        {"text": "done"}
    ]});
    let extra = format!("{tools}\n[policy.network]\nallow_hosts = [\"localhost:{port}\"]\n");
    let fixture = Fixture::new("openai", true, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let refused = outputs(&fixture);
    assert!(refused.iter().all(|(is_error, _)| *is_error), "{refused:?}");
    assert!(
        refused[0].1.contains("not in policy.network.allow_hosts"),
        "{refused:?}"
    );
    assert!(
        refused[1].1.contains("127.0.0.1") || refused[1].1.contains("::1"),
        "{refused:?}"
    );
    assert!(refused[2].1.contains("metadata"), "{refused:?}");
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing reached the host"
    );

    let script = json!({"turns": [
        fetch(format!("http://127.0.0.1:{port}/")),
        {"expect": {"last_message_contains": "hello from the host"}, "text": "done"}
    ]});
    // An address without a port admits 80 and 443 only; the test server's port is named.
    let extra = format!("{tools}\n[policy.network]\nallow_hosts = [\"127.0.0.1:{port}\"]\n");
    let fixture = Fixture::new("openai", true, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the listed address was reached"
    );
}

#[test]
fn a_provider_rate_limit_ends_the_run_as_denied() {
    let script = json!({"turns": [shell_turn("echo 1"), {"text": "done"}]});
    let extra = format!(
        "{SHELL}\n[[policy.rate_limit]]\nprovider = \"openai\"\nper_minute = 1\nmax_wait = \"20ms\"\n"
    );
    let fixture = Fixture::new("openai", true, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 15, "{out:?}");
    let events = fixture.events();
    assert_eq!(finished(&events)["stop_reason"], "denied");
    assert_eq!(fixture.requests().len(), 1, "the second call never left");
    let decision = of_kind(&events, "policy_decision")
        .into_iter()
        .find(|d| d["data"]["action"] == "rate_limit")
        .unwrap();
    assert_eq!(decision["data"]["rule"], "policy.rate_limit[0]");
}

/// `token_estimate = "upper_bound"` reserves one token per byte: a request whose
/// conservative estimate fits the budget is refused before it is sent.
#[test]
fn the_upper_bound_estimate_is_a_hard_line() {
    let task = "a".repeat(30_000);
    let script =
        json!({"turns": [{"text": "done", "usage": {"input_tokens": 9000, "output_tokens": 10}}]});
    let base = format!("{SHELL}\n[limits]\nmax_total_tokens = 20000\n");
    let conservative = Fixture::new("openai", true, script.clone(), &base);
    std::fs::write(
        conservative.agent(),
        std::fs::read_to_string(conservative.agent())
            .unwrap()
            .replace("Update notes.txt.", &task),
    )
    .unwrap();
    let out = conservative.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");

    let strict = Fixture::new(
        "openai",
        true,
        script,
        &base.replace(
            "max_total_tokens = 20000",
            "max_total_tokens = 20000\ntoken_estimate = \"upper_bound\"",
        ),
    );
    std::fs::write(
        strict.agent(),
        std::fs::read_to_string(strict.agent())
            .unwrap()
            .replace("Update notes.txt.", &task),
    )
    .unwrap();
    let out = strict.run(&[]);
    assert_eq!(out.code, 13, "{out:?}");
    assert!(strict.requests().is_empty(), "refused before it was sent");
}

/// `allow = []` is an allow list with nothing in it: every command is denied (it used to
/// allow every command, as if there were no list). The file tools still work.
#[test]
fn an_empty_command_allow_list_denies_every_command() {
    let script = json!({"turns": [
        shell_turn("rm notes.txt"),
        {"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
            {"name": "shell", "arguments": {"command": "echo pwned > notes.txt"}}]},
        {"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
            {"name": "shell", "arguments": {"command": "true"}}]},
        {"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
            {"name": "read_file", "arguments": {"path": "notes.txt"}}]},
        {"expect": {"last_message_contains": "TODO: write notes"}, "text": "done"}
    ]});
    let extra = format!("{SHELL}\n[policy.commands]\nallow = []\n");
    let fixture = Fixture::new("openai", true, script, &extra);
    let original = std::fs::read(fixture.path().join("project/notes.txt")).unwrap();

    let check = output(fixture.command(&["check", "agent.toml"]).output().unwrap());
    assert_eq!(check.code, 0, "{check:?}");
    assert!(
        check
            .stdout
            .contains("# commands: allow list is empty: every command is denied"),
        "{check:?}"
    );

    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let outcomes: Vec<&str> = of_kind(&events, "tool_result")
        .iter()
        .map(|r| r["data"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["denied", "denied", "denied", "ok"]);
    let rules: Vec<&str> = of_kind(&events, "policy_decision")
        .iter()
        .filter(|d| d["data"]["decision"] == "deny")
        .map(|d| d["data"]["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["default: not in allow list"; 3], "{rules:?}");
    // Nothing ran: no change in the workspace, the project file byte-identical.
    assert!(!fixture.run_dir().join("changes.diff").exists());
    assert_eq!(
        std::fs::read(fixture.path().join("project/notes.txt")).unwrap(),
        original
    );
}

/// `allow = ["sed -n", …]` does not cover sed's code-running and file-writing forms: the
/// `e` command and flag run nothing, `w`/`W` write nothing the path rules refuse (the hook
/// stays byte-identical), and `sed -n 1p f` still works.
#[test]
fn an_allowed_sed_prefix_does_not_cover_its_e_and_w_forms() {
    const HOOK: &str = "#!/bin/sh\necho original-hook\n";
    let attempts = [
        "sed -n '1e touch pwned' f",
        "sed -n 's/touch/touch/e' f",
        "sed -n '1w .git/hooks/pre-commit' f",
        "sed -n '1W x' f",
        "sed -n -e p -e '1e touch pwned' f",
        "sed -n -f script.sed f",
    ];
    let mut turns: Vec<serde_json::Value> = Vec::new();
    for (i, command) in attempts.iter().enumerate() {
        let mut turn = shell_turn(command);
        if i > 0 {
            turn["expect"] = json!({"last_message_contains": "denied by policy"});
        }
        turns.push(turn);
    }
    turns.push(json!({"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
        {"name": "shell", "arguments": {"command": "sed -n 1p f; sed -n p .git/hooks/pre-commit; test -e pwned || echo no-pwned; test -e x || echo no-x"}}]}));
    turns.push(json!({"expect": {"last_message_contains": "no-pwned"}, "text": "done"}));
    let extra = format!(
        "{SHELL}\n[policy.commands]\nallow = [\"sed -n\", \"test\", \"echo\"]\n\n[policy.paths]\nwrite = [\"src/**\"]\n"
    );
    let fixture = Fixture::new("openai", true, json!({"turns": turns}), &extra);
    let project = fixture.path().join("project");
    std::fs::write(project.join("f"), "touch pwned\nline two\n").unwrap();
    std::fs::write(project.join("script.sed"), "1e touch pwned\n").unwrap();
    std::fs::create_dir_all(project.join(".git/hooks")).unwrap();
    std::fs::write(project.join(".git/hooks/pre-commit"), HOOK).unwrap();

    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let results = of_kind(&events, "tool_result");
    let outcomes: Vec<&str> = results
        .iter()
        .map(|r| r["data"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "denied", "denied", "denied", "denied", "denied", "denied", "ok"
        ]
    );
    let rules: Vec<&str> = of_kind(&events, "policy_decision")
        .iter()
        .filter(|d| d["data"]["decision"] == "deny")
        .map(|d| d["data"]["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "builtin.commands.sed",
            "builtin.commands.sed",
            "builtin.paths.deny_write[2] \".git/hooks\"",
            "default: not in policy.paths.write",
            "builtin.commands.sed",
            "builtin.commands.sed",
        ]
    );
    // The allowed neighbour ran, in the same workspace: the hook is byte-identical and
    // nothing was created.
    let last = results[6]["data"]["output"].as_str().unwrap();
    assert_eq!(
        last,
        format!("exit code: 0\n--- stdout ---\ntouch pwned\n{HOOK}no-pwned\nno-x\n"),
        "{last:?}"
    );
    assert!(!fixture.run_dir().join("changes.diff").exists());
}

/// `[policy.commands] allow_env`, as docs/policy.md documents it: the names a command line
/// may set (`NAME=value cmd`, `env NAME=value cmd`, `export NAME=value`), replacing the
/// default list. It used to be refused as an unknown key.
#[test]
fn allow_env_names_the_variables_a_command_line_may_set() {
    let script = json!({"turns": [
        shell_turn("MY_FLAG=on env | grep MY_FLAG"),
        {"expect": {"last_message_contains": "MY_FLAG=on"}, "tool_calls": [
            {"name": "shell", "arguments": {"command": "LANG=C echo default-list-replaced"}}]},
        {"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
            {"name": "shell", "arguments": {"command": "env PATH=. echo x"}}]},
        {"expect": {"last_message_contains": "denied by policy"}, "tool_calls": [
            {"name": "shell", "arguments": {"command": "export GIT_PAGER=sh; echo x"}}]},
        {"expect": {"last_message_contains": "denied by policy"}, "text": "done"}
    ]});
    let extra = format!("{SHELL}\n[policy.commands]\nallow_env = [\"MY_*\"]\n");
    let fixture = Fixture::new("openai", true, script, &extra);
    let check = output(fixture.command(&["check", "agent.toml"]).output().unwrap());
    assert_eq!(check.code, 0, "{check:?}");
    assert!(check.stdout.contains("allow_env = [\"MY_*\"]"), "{check:?}");
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let outcomes: Vec<&str> = of_kind(&events, "tool_result")
        .iter()
        .map(|r| r["data"]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["ok", "denied", "denied", "denied"]);
    let rules: Vec<&str> = of_kind(&events, "policy_decision")
        .iter()
        .filter(|d| d["data"]["decision"] == "deny")
        .map(|d| d["data"]["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["policy.commands.allow_env"; 3]);
}

//! The flagship example, end to end: `examples/ci-triage` run by the real binary in both
//! log-source modes (the fixture folder, and the GitHub Actions API served by a local fake
//! from the same fixtures), posting to a local Slack receiver.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::harness::{output, trace_schema};

const RUN_ID: &str = "9876543210";

fn example_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ci-triage"
    ))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".rein" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A Slack incoming-webhook receiver on 127.0.0.1: records each POST body, answers `ok`.
fn slack_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T000/B000/SECRETPATH",
        listener.local_addr().unwrap()
    );
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            // Read the head, then as many body bytes as content-length says.
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data);
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let length = text[..head_end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if data.len() >= head_end + 4 + length {
                        seen.lock().unwrap().push(
                            String::from_utf8_lossy(&data[head_end + 4..head_end + 4 + length])
                                .into_owned(),
                        );
                        break;
                    }
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (url, bodies)
}

struct Triage {
    dir: tempfile::TempDir,
}

impl Triage {
    /// A copy of the example whose network rules also admit the local fakes' address (any
    /// port: they listen on random ones).
    fn new() -> Triage {
        let dir = tempfile::tempdir().unwrap();
        copy_dir(&example_dir(), dir.path());
        let agent = dir.path().join("agent.toml");
        let text = std::fs::read_to_string(&agent).unwrap().replace(
            "allow_hosts = [\"api.github.com\",",
            "allow_hosts = [\"127.0.0.1:*\", \"api.github.com\",",
        );
        assert!(
            text.contains("\"127.0.0.1:*\""),
            "the example's allow_hosts line changed"
        );
        std::fs::write(&agent, text).unwrap();
        Triage { dir }
    }

    fn run(&self, envs: &[(&str, String)]) -> crate::harness::Output {
        self.run_with(&[], envs)
    }

    /// `rein run . --var … ` plus `args`, with `envs`.
    fn run_with(&self, args: &[&str], envs: &[(&str, String)]) -> crate::harness::Output {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"));
        cmd.current_dir(self.dir.path())
            .args([
                "run",
                ".",
                "--var",
                &format!("run_id={RUN_ID}"),
                "--var",
                "repo=acme/widgets",
            ])
            .args(args)
            .env_remove("OPENAI_BASE_URL")
            .env_remove("OPENAI_API_KEY")
            .env_remove("CI_LOGS_SOURCE")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITHUB_API_URL")
            .env_remove("SLACK_WEBHOOK_URL")
            .timeout(std::time::Duration::from_secs(120));
        for (key, value) in envs {
            cmd.env(key, value);
        }
        output(cmd.output().unwrap())
    }

    fn events(&self) -> Vec<Value> {
        let runs = self.dir.path().join(".rein/runs");
        let run = std::fs::read_dir(&runs)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let schema = trace_schema();
        std::fs::read_to_string(run.join("trace.jsonl"))
            .unwrap()
            .lines()
            .map(|line| {
                let event: Value = serde_json::from_str(line).unwrap();
                assert!(schema.is_valid(&event), "{line}");
                event
            })
            .collect()
    }

    fn output_json(&self) -> Value {
        let runs = self.dir.path().join(".rein/runs");
        let run = std::fs::read_dir(&runs)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        serde_json::from_str(&std::fs::read_to_string(run.join("output.json")).unwrap()).unwrap()
    }
}

fn assert_triaged(triage: &Triage, slack: &Arc<Mutex<Vec<String>>>) {
    let events = triage.events();
    let calls: Vec<&str> = events
        .iter()
        .filter(|e| e["kind"] == "tool_call")
        .map(|e| e["data"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        calls,
        [
            "get_run",
            "list_jobs",
            "read_job_log",
            "read_job_log",
            "read_job_log",
            "read_job_log",
            "slack_post"
        ]
    );
    let results: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "tool_result")
        .collect();
    assert_eq!(
        results[2]["data"]["is_error"], true,
        "the bad regex went back to the model"
    );
    assert!(
        results[3]["data"]["output"]
            .as_str()
            .unwrap()
            .contains("E0308")
    );
    assert!(
        !results[3]["data"]["output"]
            .as_str()
            .unwrap()
            .contains("\u{1b}["),
        "ANSI codes are stripped"
    );
    let finished = &events.last().unwrap()["data"];
    assert_eq!(finished["stop_reason"], "completed");
    assert!(finished["cost_usd"].as_f64().unwrap() <= 0.50);

    let output = triage.output_json();
    assert_eq!(output["failing_job"], "build (ubuntu-latest)");
    assert_eq!(output["category"], "compile_error");
    assert_eq!(output, finished["output"]);

    let posted = slack.lock().unwrap().clone();
    assert_eq!(posted.len(), 1, "{posted:?}");
    let payload: Value = serde_json::from_str(&posted[0]).unwrap();
    assert!(
        payload["text"]
            .as_str()
            .unwrap()
            .contains("build (ubuntu-latest)"),
        "{payload}"
    );
    let blocks = payload["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    assert!(blocks.iter().all(|b| b["type"].is_string()));
    // The webhook URL is a secret: not in the trace.
    let trace = serde_json::to_string(&events).unwrap();
    assert!(!trace.contains("SECRETPATH"));
}

#[test]
fn ci_triage_from_the_log_folder() {
    let triage = Triage::new();
    let (webhook, slack) = slack_receiver();
    let out = triage.run(&[("SLACK_WEBHOOK_URL", webhook)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("\"failing_job\": \"build (ubuntu-latest)\""),
        "{out:?}"
    );
    assert_triaged(&triage, &slack);
}

#[test]
fn ci_triage_from_the_github_api() {
    let triage = Triage::new();
    let fixtures = triage.dir.path().join("fixtures/run-4242");
    let github =
        rein_testkit::github::FakeGithub::start_with_token(&fixtures, "ghs_canarytoken").unwrap();
    let (webhook, slack) = slack_receiver();
    let out = triage.run(&[
        ("SLACK_WEBHOOK_URL", webhook),
        ("CI_LOGS_SOURCE", "github".to_owned()),
        ("GITHUB_API_URL", github.url()),
        ("GITHUB_REPOSITORY", "acme/widgets".to_owned()),
        ("GITHUB_TOKEN", "ghs_canarytoken".to_owned()),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_triaged(&triage, &slack);
    let requests = github.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.ends_with(&format!("/actions/runs/{RUN_ID}"))),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.path.contains("/jobs")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.path.contains("/logs")),
        "{requests:?}"
    );
    assert!(
        !github.blob_saw_authorization(),
        "the token never went to the log storage"
    );
    let trace = serde_json::to_string(&triage.events()).unwrap();
    assert!(!trace.contains("ghs_canarytoken"));
}

#[test]
fn ci_triage_offline_as_shipped_says_posting_is_disabled() {
    let triage = Triage::new();
    let out = triage.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = triage.events();
    let slack = events
        .iter()
        .find(|e| e["kind"] == "tool_result" && e["data"]["name"] == "slack_post")
        .unwrap();
    assert!(
        slack["data"]["output"]
            .as_str()
            .unwrap()
            .contains("posting is disabled")
    );
}

/// The example's scripted turns, served by the mock LLM as an OpenAI-compatible local
/// server (a llama.cpp or Ollama stand-in), and the environment that points rein at it.
fn local_model(triage: &Triage) -> (rein_testkit::MockLlmThread, Vec<(&'static str, String)>) {
    let script = rein_model::script::Script::load(&triage.dir.path().join("script.toml")).unwrap();
    let mock = rein_testkit::MockLlmThread::start_loopback(script).unwrap();
    let envs = vec![
        ("OPENAI_BASE_URL", mock.openai_base_url()),
        ("OPENAI_API_KEY", "sk-local-any".to_owned()),
    ];
    (mock, envs)
}

fn started(events: &[Value]) -> &Value {
    assert_eq!(events[0]["kind"], "run_started", "{}", events[0]);
    &events[0]["data"]
}

#[test]
fn ci_triage_on_a_local_model_with_price_free_runs_under_its_cap() {
    let triage = Triage::new();
    let (mock, mut envs) = local_model(&triage);
    let (webhook, slack) = slack_receiver();
    envs.push(("SLACK_WEBHOOK_URL", webhook));
    let out = triage.run_with(
        &["--model", "openai:qwen2.5-coder", "--price", "free"],
        &envs,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let header = out.stdout.lines().next().unwrap_or_default();
    assert!(
        header.contains("model openai:qwen2.5-coder")
            && header.ends_with("priced by --price: free"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("no known price"), "{out:?}");
    assert_triaged(&triage, &slack);
    let events = triage.events();
    assert_eq!(started(&events)["pricing"], "priced by --price: free");
    assert_eq!(started(&events)["model"], "openai:qwen2.5-coder");
    let responses: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "model_response")
        .collect();
    assert_eq!(responses.len(), 8);
    assert!(responses.iter().all(|r| r["data"]["cost_usd"] == 0.0));
    assert_eq!(events.last().unwrap()["data"]["cost_usd"], 0.0);
    // Every request went to the local server, under the new model's name.
    let requests = mock.requests();
    assert_eq!(requests.len(), 8);
    assert!(
        requests.iter().all(|r| r.body["model"] == "qwen2.5-coder"),
        "{:?}",
        requests
            .iter()
            .map(|r| &r.body["model"])
            .collect::<Vec<_>>()
    );
}

#[test]
fn ci_triage_on_a_local_model_without_a_price_is_refused_and_says_how_to_price_it() {
    let triage = Triage::new();
    let (mock, envs) = local_model(&triage);
    let out = triage.run_with(&["--model", "openai:qwen2.5-coder"], &envs);
    assert_eq!(out.code, 13, "budget_exhausted: {out:?}");
    assert!(
        out.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with(", unpriced"),
        "{out:?}"
    );
    assert!(
        out.stderr
            .contains("warning: model openai:qwen2.5-coder has no known price")
            && out.stderr.contains("`--price free`"),
        "{out:?}"
    );
    assert!(mock.requests().is_empty(), "no call was sent");
}

#[test]
fn set_model_pricing_after_model_is_honoured_and_costs_the_run() {
    let triage = Triage::new();
    let (_mock, envs) = local_model(&triage);
    let out = triage.run_with(
        &[
            "--model",
            "openai:qwen2.5-coder",
            "--set",
            "model.pricing.input_per_mtok=0.15",
            "--set",
            "model.pricing.output_per_mtok=0.60",
        ],
        &envs,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .next()
            .unwrap_or_default()
            .ends_with("priced by [model.pricing]: $0.15/$0.60 per Mtok"),
        "{out:?}"
    );
    let events = triage.events();
    assert_eq!(
        started(&events)["pricing"],
        "priced by [model.pricing]: $0.15/$0.60 per Mtok"
    );
    let mut expected = 0.0;
    for response in events.iter().filter(|e| e["kind"] == "model_response") {
        let usage = &response["data"]["usage"];
        let cost = (usage["input_tokens"].as_f64().unwrap() * 0.15
            + usage["output_tokens"].as_f64().unwrap() * 0.60)
            / 1e6;
        let recorded = response["data"]["cost_usd"].as_f64().unwrap();
        assert!((recorded - cost).abs() < 1e-12, "{recorded} vs {cost}");
        expected += cost;
    }
    let total = events.last().unwrap()["data"]["cost_usd"].as_f64().unwrap();
    assert!(expected > 0.0);
    // run_finished sums in nano-dollars, each call rounded up.
    assert!((total - expected).abs() < 1e-8, "{total} vs {expected}");
}

#[test]
fn half_a_set_price_after_model_is_refused_rather_than_mixed_with_the_files() {
    let triage = Triage::new();
    let (mock, envs) = local_model(&triage);
    let out = triage.run_with(
        &[
            "--model",
            "openai:qwen2.5-coder",
            "--set",
            "model.pricing.input_per_mtok=0.15",
        ],
        &envs,
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("missing `model.pricing.output_per_mtok`")
            && out.stderr.contains("--model replaced the model"),
        "{out:?}"
    );
    assert!(mock.requests().is_empty());
}

#[test]
fn check_shows_how_the_model_is_priced_and_refuses_bad_prices() {
    let triage = Triage::new();
    let check = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"));
        cmd.current_dir(triage.dir.path())
            .args([
                "check",
                ".",
                "--var",
                &format!("run_id={RUN_ID}"),
                "--var",
                "repo=acme/widgets",
            ])
            .args(args)
            .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
            .env_remove("OPENAI_API_KEY");
        output(cmd.output().unwrap())
    };
    let cases: [(&[&str], &str); 5] = [
        (
            &[],
            "# model scripted:ci-triage, priced by [model.pricing]: $0.40/$1.60 per Mtok",
        ),
        (
            &["--model", "openai:gpt-4.1-mini"],
            "# model openai:gpt-4.1-mini, priced by the bundled table (prices as of 2026-",
        ),
        (
            &["--model", "openai:qwen2.5-coder"],
            "# model openai:qwen2.5-coder, unpriced\n# warning: model openai:qwen2.5-coder has no known price",
        ),
        (
            &["--model", "openai:qwen2.5-coder", "--price", "free"],
            "# model openai:qwen2.5-coder, priced by --price: free\n",
        ),
        (
            &["--model", "openai:qwen2.5-coder", "--price", "0.15/0.6"],
            "# model openai:qwen2.5-coder, priced by --price: $0.15/$0.60 per Mtok\n",
        ),
    ];
    for (args, expected) in cases {
        let out = check(args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(out.stdout.contains(expected), "{args:?}: {out:?}");
    }
    for (bad, message) in [
        ("-1/2", "the input price `-1` is negative"),
        ("NaN/0", "the input price `NaN` is not a number"),
        ("0.15", "expected `free` or two prices `IN/OUT`"),
        ("0.1/x", "the output price `x` is not a number"),
    ] {
        let out = check(&["--price", bad]);
        assert_eq!(out.code, 2, "{bad}: {out:?}");
        assert!(
            out.stderr
                .contains(&format!("error: invalid price `{bad}`: {message}\nhint: write `--price free`, or `--price IN/OUT`")),
            "{bad}: {out:?}"
        );
    }
}

#[test]
fn price_flag_on_config_show_doctor_and_tools() {
    let triage = Triage::new();
    let (_mock, envs) = local_model(&triage);
    let command = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"));
        cmd.current_dir(triage.dir.path())
            .args(args)
            .args([
                ".",
                "--var",
                &format!("run_id={RUN_ID}"),
                "--var",
                "repo=acme/widgets",
                "--model",
                "openai:qwen2.5-coder",
            ])
            .timeout(std::time::Duration::from_secs(120));
        for (key, value) in &envs {
            cmd.env(key, value);
        }
        cmd
    };
    let out = output(
        command(&["config", "show"])
            .args(["--price", "0.1/0.2"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("# --price 0.1/0.2")
            && out.stdout.ends_with(
                "# model openai:qwen2.5-coder, priced by --price: $0.10/$0.20 per Mtok\n"
            ),
        "{out:?}"
    );
    let out = output(
        command(&["doctor"])
            .args(["--price", "free"])
            .output()
            .unwrap(),
    );
    assert!(
        out.stdout
            .contains("✓ model price: priced by --price: free"),
        "{out:?}"
    );
    let out = output(command(&["doctor"]).output().unwrap());
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stdout.contains(
            "✗ model price: unpriced, and the cost cap (max_cost_usd = 0.5) refuses its first call"
        ) && out.stdout.contains("fix: run with `--price free`"),
        "{out:?}"
    );
    let out = output(
        command(&["tools"])
            .args(["--price", "free"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let out = output(
        command(&["tools"])
            .args(["--price", "-1/0"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 2, "{out:?}");
}

/// `rein ARGS .` in a copy of the example, without `--var`.
fn without_vars(triage: &Triage, args: &[&str]) -> crate::harness::Output {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"));
    cmd.current_dir(triage.dir.path())
        .args(args)
        .env_remove("OPENAI_BASE_URL")
        .env_remove("OPENAI_API_KEY")
        .timeout(std::time::Duration::from_secs(120));
    output(cmd.output().unwrap())
}

const UNSET_NOTE: &str =
    "note: unset template variables: repo, run_id (rein run needs --var repo=… --var run_id=…)\n";
const UNSET_TASK: &str = "Find why run {{ run_id }} of {{ repo }} failed.";

#[test]
fn check_without_vars_shows_the_templates_and_names_them() {
    let triage = Triage::new();
    let out = without_vars(&triage, &["check", "."]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("ok: "), "{out:?}");
    assert!(out.stdout.contains(UNSET_TASK), "{out:?}");
    assert!(
        out.stdout
            .contains("You are a CI failure analyst for the repository {{ repo }}."),
        "{out:?}"
    );
    assert_eq!(out.stderr, UNSET_NOTE, "{out:?}");

    // One variable given: the note names the other only, and the given one is filled.
    let out = without_vars(&triage, &["check", ".", "--var", "repo=acme/widgets"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("Find why run {{ run_id }} of acme/widgets failed."),
        "{out:?}"
    );
    assert_eq!(
        out.stderr,
        "note: unset template variables: run_id (rein run needs --var run_id=…)\n"
    );

    // Every variable given: no note.
    let out = without_vars(
        &triage,
        &["check", ".", "--var", "repo=a/b", "--var", "run_id=1"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "", "{out:?}");
}

#[test]
fn config_show_without_vars_shows_the_templates_and_names_them() {
    let triage = Triage::new();
    let out = without_vars(&triage, &["config", "show", "."]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(UNSET_TASK), "{out:?}");
    assert_eq!(out.stderr, UNSET_NOTE, "{out:?}");
}

#[test]
fn tools_without_vars_lists_the_tools_and_names_the_variables() {
    let triage = Triage::new();
    let out = without_vars(&triage, &["tools", "."]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("4 tool(s) for agent `ci-triage`"),
        "{out:?}"
    );
    assert_eq!(out.stderr, UNSET_NOTE, "{out:?}");
    // `--json` keeps stdout pure JSON; the note is on stderr.
    let out = without_vars(&triage, &["tools", ".", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let tools: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(tools.as_array().unwrap().len(), 4);
    assert_eq!(out.stderr, UNSET_NOTE, "{out:?}");
}

#[test]
fn doctor_without_vars_checks_the_file_and_names_the_variables() {
    let triage = Triage::new();
    let out = without_vars(&triage, &["doctor", "."]);
    assert!(
        out.stdout.contains("agent ci-triage (")
            && out
                .stdout
                .contains("✓ model price: priced by [model.pricing]: $0.40/$1.60 per Mtok"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("template variable"), "{out:?}");
    assert!(out.stderr.contains(UNSET_NOTE), "{out:?}");
}

#[test]
fn run_without_vars_still_fails_before_starting() {
    let triage = Triage::new();
    let out = without_vars(&triage, &["run", "."]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: ./agent.toml:37:10: template variable `repo` is not set\nhint: pass `--var repo=VALUE`\n"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    assert!(
        !triage.dir.path().join(".rein").exists(),
        "no run was started"
    );
}

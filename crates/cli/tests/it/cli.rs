//! The commands other than a full run: check, trace show, mock-llm, version, errors.

use std::io::{BufRead, BufReader};
use std::path::Path;

use serde_json::json;

use crate::harness::{API_KEY, Fixture, output};

fn repo_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn rein() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"));
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

#[test]
fn version_and_help() {
    let out = output(rein().arg("--version").output().unwrap());
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout.trim(),
        format!("rein {}", env!("CARGO_PKG_VERSION"))
    );
    for command in ["run", "check", "trace", "mock-llm"] {
        let out = output(rein().args([command, "--help"]).output().unwrap());
        assert_eq!(out.code, 0, "{command}: {out:?}");
        assert!(out.stdout.contains("Usage: rein"), "{command}: {out:?}");
    }
    let out = output(rein().arg("frobnicate").output().unwrap());
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn check_prints_the_resolved_spec_with_secrets_hidden() {
    let fixture = Fixture::new("openai", true, json!({"turns": []}), "");
    let out = output(fixture.command(&["check", "agent.toml"]).output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.starts_with("ok: "), "{out:?}");
    assert!(
        out.stdout.contains("***"),
        "the API key is shown as ***: {out:?}"
    );
    assert!(!out.stdout.contains(API_KEY), "{out:?}");
    assert!(out.stdout.contains("gpt-4.1-mini"), "{out:?}");
    // check runs nothing: the mock saw no request and no run folder exists.
    assert!(fixture.requests().is_empty());
    assert!(!fixture.path().join(".rein").exists());
}

/// Issue 10 item 6: `rein check` shows the ports each allow_hosts entry admits and each
/// request rule; a rule for a host allow_hosts does not admit is refused.
#[test]
fn check_prints_ports_and_request_rules() {
    let extra = "[policy.network]\nallow_hosts = [\"hooks.slack.com\", \"127.0.0.1:8080\"]\n\n[[policy.network.rule]]\nhost = \"hooks.slack.com\"\nmethods = [\"POST\"]\npath_prefixes = [\"/services/\"]\nmax_query_bytes = 0\n";
    let fixture = Fixture::new("openai", true, json!({"turns": []}), extra);
    let out = output(fixture.command(&["check", "agent.toml"]).output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    for line in [
        "#   policy.network.allow_hosts[0] \"hooks.slack.com\": ports 80 and 443",
        "#   policy.network.allow_hosts[1] \"127.0.0.1:8080\": port 8080",
        "#   policy.network.rule[0]: host \"hooks.slack.com\", methods [\"POST\"], path_prefixes [\"/services/\"], max_query_bytes 0",
    ] {
        assert!(out.stdout.contains(line), "{line}\n{out:?}");
    }
    let bad = extra.replace("host = \"hooks.slack.com\"", "host = \"evil.com\"");
    let fixture = Fixture::new("openai", true, json!({"turns": []}), &bad);
    let out = output(fixture.command(&["check", "agent.toml"]).output().unwrap());
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(
            "policy.network.rule[0]: host `evil.com` is not admitted by policy.network.allow_hosts"
        ),
        "{out:?}"
    );
}

#[test]
fn an_invalid_agent_file_is_reported_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.toml");
    std::fs::write(
        &path,
        "name = \"bad\"\n\n[model]\nprovider = \"scripted\"\nname = \"x\"\nscript = \"s.toml\"\n\n[prompt]\ntask = \"t\"\n\n[loop]\nmax_stesp = 3\n",
    )
    .unwrap();
    for command in ["check", "run"] {
        let out = output(
            rein()
                .current_dir(dir.path())
                .args([command, "agent.toml"])
                .output()
                .unwrap(),
        );
        assert_eq!(out.code, 2, "{command}: {out:?}");
        assert!(out.stderr.contains("agent.toml:12:1"), "{command}: {out:?}");
        assert!(out.stderr.contains("max_stesp"), "{out:?}");
        assert!(out.stderr.contains("max_steps"), "did you mean: {out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    assert!(!dir.path().join(".rein").exists(), "no run was started");
}

#[test]
fn a_missing_template_variable_is_an_error_for_run_and_a_note_for_check() {
    let out = output(
        rein()
            .current_dir(repo_root())
            .args(["run", "examples/hello"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("template variable `who` is not set"),
        "{out:?}"
    );
    let out = output(
        rein()
            .current_dir(repo_root())
            .args(["check", "examples/hello"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("note: unset template variables: who (rein run needs --var who=…)"),
        "{out:?}"
    );
}

#[test]
fn the_hello_example_runs_offline_and_trace_show_reads_it() {
    let trace_dir = tempfile::tempdir().unwrap();
    let example = repo_root().join("examples/hello");
    let copy = trace_dir.path().join("hello");
    std::fs::create_dir_all(copy.join("project")).unwrap();
    for file in ["agent.toml", "script.toml", "project/greeting.txt"] {
        std::fs::copy(example.join(file), copy.join(file)).unwrap();
    }
    let out = output(
        rein()
            .current_dir(trace_dir.path())
            .args(["run", "hello", "--var", "who=rein"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("verified"), "{out:?}");
    assert!(
        !out.stderr.contains("without isolation"),
        "the example is sandboxed: {out:?}"
    );
    assert!(out.stdout.contains("sandbox linux"), "{out:?}");
    // The original example is untouched.
    let original = std::fs::read_to_string(copy.join("project/greeting.txt")).unwrap();
    assert!(original.contains("Hello, world!"));

    let out = output(
        rein()
            .current_dir(&copy)
            .args(["trace", "show", "last"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    for needle in [
        "agent hello",
        "tool    list_dir",
        "result  edit_file ok",
        "verify",
        "finished: verified (exit code 0)",
        "1 files changed",
    ] {
        assert!(
            out.stdout.contains(needle),
            "missing `{needle}`:\n{}",
            out.stdout
        );
    }
    let out = output(
        rein()
            .current_dir(&copy)
            .args(["trace", "show", "nope"])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn mock_llm_prints_its_url_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.json");
    std::fs::write(&script, r#"{"turns": [{"text": "hi"}]}"#).unwrap();
    let mut cmd = crate::harness::std_rein();
    cmd.args(["mock-llm", "--script", script.to_str().unwrap()]);
    let mut child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut first_line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first_line)
        .unwrap();
    let url = first_line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    // A real agent run against it.
    let agent_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        agent_dir.path().join("agent.toml"),
        "name = \"m\"\n[model]\nprovider = \"openai\"\nname = \"gpt-4.1-mini\"\n[prompt]\ntask = \"say hi\"\n",
    )
    .unwrap();
    let out = output(
        rein()
            .current_dir(agent_dir.path())
            .env("OPENAI_BASE_URL", format!("{url}/v1"))
            .env("OPENAI_API_KEY", "sk-local")
            .args(["run", "agent.toml"])
            .output()
            .unwrap(),
    );
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("hi"), "{out:?}");
}

#[test]
fn a_missing_api_key_stops_before_the_run_with_a_hint() {
    let fixture = Fixture::new("anthropic", true, json!({"turns": []}), "");
    let out = output(
        fixture
            .command(&["run", "agent.toml"])
            .env_remove("ANTHROPIC_API_KEY")
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("ANTHROPIC_API_KEY"), "{out:?}");
    assert!(out.stderr.contains("hint:"), "{out:?}");
}

//! Layered configuration through the binary: provenance in `rein config show`, profiles,
//! and a locked organisation policy that a lower layer or a flag cannot loosen.

use serde_json::json;

use crate::harness::{Fixture, output};

fn with_system_policy(fixture: &Fixture, text: &str) -> std::path::PathBuf {
    let path = fixture.path().join("org-policy.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_show_names_the_layer_of_each_setting() {
    let fixture = Fixture::new("openai", true, json!({"turns": [{"text": "hi"}]}), "");
    std::fs::create_dir_all(fixture.path().join(".rein")).unwrap();
    std::fs::write(
        fixture.path().join(".rein/config.toml"),
        "[loop]\nmax_steps = 7\n\n[profile.ci.limits]\nmax_cost_usd = 0.25\n",
    )
    .unwrap();
    let out = output(
        fixture
            .command(&[
                "config",
                "show",
                "agent.toml",
                "--profile",
                "ci",
                "--set",
                "loop.stuck_after=5",
            ])
            .env("REIN_SYSTEM_CONFIG", "/nonexistent-is-an-error")
            .output()
            .unwrap(),
    );
    assert_eq!(
        out.code, 2,
        "a named system file that is missing is an error: {out:?}"
    );
    let out = output(
        fixture
            .command(&[
                "config",
                "show",
                "agent.toml",
                "--profile",
                "ci",
                "--set",
                "loop.stuck_after=5",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let line = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("max_steps").contains("7") && line("max_steps").contains(".rein/config.toml"),
        "{}",
        out.stdout
    );
    assert!(
        line("max_cost_usd").contains("0.25") && line("max_cost_usd").contains("ci"),
        "{}",
        out.stdout
    );
    assert!(
        line("stuck_after").contains("5") && line("stuck_after").contains("--set"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_locked_policy_cannot_be_loosened_by_a_lower_layer_or_a_set() {
    let fixture = Fixture::new(
        "openai",
        true,
        json!({"turns": [{"text": "hi"}]}),
        "[limits]\nmax_cost_usd = 5.0\n",
    );
    let policy = with_system_policy(
        &fixture,
        "[locked]\nmax_cost_usd = 1.0\nsandbox_not = [\"host\"]\ndeny_commands = [\"git push\"]\n",
    );
    let run = |args: &[&str]| {
        output(
            fixture
                .command(args)
                .env("REIN_POLICY_FILE", policy.display().to_string())
                .output()
                .unwrap(),
        )
    };
    let out = run(&["run", "agent.toml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("org-policy.toml") && out.stderr.contains("max_cost_usd"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("agent.toml"),
        "names both places: {out:?}"
    );

    // Tightening is fine; the host sandbox is locked out.
    std::fs::write(
        fixture.agent(),
        std::fs::read_to_string(fixture.agent())
            .unwrap()
            .replace("max_cost_usd = 5.0", "max_cost_usd = 0.5"),
    )
    .unwrap();
    let out = run(&["run", "agent.toml"]);
    assert_eq!(out.code, 2, "sandbox = \"host\" is locked out: {out:?}");
    assert!(out.stderr.contains("host"), "{out:?}");
    let out = run(&[
        "run",
        "agent.toml",
        "--set",
        "environment.sandbox=\"linux\"",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = run(&[
        "run",
        "agent.toml",
        "--set",
        "environment.sandbox=\"linux\"",
        "--set",
        "limits.max_cost_usd=3",
    ]);
    assert_eq!(out.code, 2, "a --set cannot loosen it either: {out:?}");
}

/// Issue 11 (5): `--hermetic` and `REIN_HERMETIC=1` count only the system layer, the policy
/// file, the agent file and flags: the user's and the project's config files are not read
/// (here they cap the run at one step), and the run says it was hermetic.
#[test]
fn a_hermetic_run_reads_no_user_or_project_config() {
    let read = json!({"tool_calls": [{"name": "shell", "arguments": {"command": "true"}}]});
    let script = json!({"turns": [read.clone(), read, {"text": "done"}]});
    let tools = "[tools]\nbuiltin = [\"shell\"]\n";
    let fixture = Fixture::new("openai", false, script, tools);
    let user = fixture.path().join("xdg");
    std::fs::create_dir_all(user.join("rein")).unwrap();
    std::fs::write(user.join("rein/config.toml"), "[loop]\nmax_steps = 1\n").unwrap();
    std::fs::create_dir_all(fixture.path().join(".rein")).unwrap();
    std::fs::write(
        fixture.path().join(".rein/config.toml"),
        "[loop]\nmax_steps = 1\n",
    )
    .unwrap();
    let run = |args: &[&str], hermetic_env: bool| {
        let mut all = vec!["run", "agent.toml"];
        all.extend_from_slice(args);
        let mut command = fixture.command(&all);
        command
            .env("XDG_CONFIG_HOME", &user)
            .env_remove("REIN_HERMETIC");
        if hermetic_env {
            command.env("REIN_HERMETIC", "1");
        }
        output(command.output().unwrap())
    };
    let layered = run(&[], false);
    assert!(layered.stdout.contains("ended: max_steps"), "{layered:?}");
    for (args, env) in [(&["--hermetic"][..], false), (&[][..], true)] {
        let before = fixture.requests().len();
        let out = run(args, env);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            out.stdout
                .contains(", hermetic (no user or project config)"),
            "{out:?}"
        );
        assert!(out.stdout.contains("ended: completed"), "{out:?}");
        assert_eq!(fixture.requests().len() - before, 3);
    }
    let runs = fixture.path().join(".rein/runs");
    let mut ids: Vec<_> = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    ids.sort();
    let trace = std::fs::read_to_string(ids.last().unwrap().join("trace.jsonl")).unwrap();
    let started: serde_json::Value = serde_json::from_str(trace.lines().next().unwrap()).unwrap();
    assert_eq!(started["data"]["hermetic"], true, "{started}");
}

//! Red-team follow-up of issue 10: git runs programs a repository's config names
//! (`core.fsmonitor`, hooks, …), and an agent can write such a config where no protected
//! path is: a `.git` *file* pointing at a folder it wrote, or a nested repository whose git
//! dir is not called `.git`. Every command of a run carries git config overrides through
//! its environment, so none of those programs runs — and git itself still works.

use serde_json::{Value, json};

use crate::harness::{Fixture, finished, of_kind};

/// The evil config: `core.fsmonitor` (run by `git status`) creates a marker in the
/// worktree's parent (the workspace) and one at `outside` (a host path: only the `host`
/// backend could reach it).
fn evil_config(outside: &str) -> String {
    format!(
        "[core]\n\trepositoryformatversion = 0\n\tfsmonitor = \"touch ../FSMONITOR_RAN {outside}; false\"\n\tpager = \"touch ../PAGER_RAN\"\n[commit]\n\tgpgSign = true\n[gpg]\n\tprogram = \"touch ../GPG_RAN; false\"\n"
    )
}

fn write(path: &str, content: &str) -> Value {
    json!({"name": "write_file", "arguments": {"path": path, "content": content}})
}

fn shell(command: &str) -> Value {
    json!({"name": "shell", "arguments": {"command": command}})
}

fn script(outside: &str) -> Value {
    json!({"turns": [
        // A `.git` file pointing at a git dir the agent writes: no `.git/config` or
        // `.git/hooks` path is written.
        {"tool_calls": [
            write("sub/.git", "gitdir: ../evil\n"),
            write("sub/notes.txt", "hello\n"),
            write("evil/HEAD", "ref: refs/heads/main\n"),
            write("evil/config", &evil_config(outside)),
            write("evil/objects/info/keep", ""),
            write("evil/refs/heads/keep", ""),
            write("evil/hooks/pre-commit", "#!/bin/sh\ntouch ../HOOK_RAN\n"),
        ]},
        {"tool_calls": [shell("chmod +x evil/hooks/pre-commit")]},
        {"tool_calls": [shell("git -C sub status")]},
        {"expect": {"last_message_contains": "On branch main"},
         "tool_calls": [shell("git -C sub add notes.txt")]},
        {"tool_calls": [shell("git -C sub commit -q -m one")]},
        {"tool_calls": [shell("git -C sub log --format=%s")]},
        // A nested repository made by git works as usual.
        {"expect": {"last_message_contains": "one"},
         "tool_calls": [shell("git init -q sub2"), write("sub2/a.txt", "two\n")]},
        {"tool_calls": [shell("git -C sub2 add a.txt")]},
        {"tool_calls": [shell("git -C sub2 commit -q -m two")]},
        {"tool_calls": [shell("git -C sub2 log --format=%s")]},
        {"expect": {"last_message_contains": "two"},
         "tool_calls": [shell("ls")]},
        {"text": "Done."}
    ]})
}

fn agent(verify: bool) -> String {
    let mut text = String::from(
        "[environment.env]\nGIT_AUTHOR_NAME = \"rein\"\nGIT_AUTHOR_EMAIL = \"rein@example.invalid\"\nGIT_COMMITTER_NAME = \"rein\"\nGIT_COMMITTER_EMAIL = \"rein@example.invalid\"\n\n[loop]\nmax_steps = 15\nstep_timeout = \"30s\"\n",
    );
    if verify {
        // The verify command runs `git status` in the planted repository too.
        text.push_str("verify = { command = [\"git\", \"-C\", \"sub\", \"status\"] }\n");
    }
    text.push_str("\n[tools]\nbuiltin = [\"write_file\", \"shell\"]\n");
    text
}

fn outputs(events: &[Value]) -> Vec<(String, bool)> {
    of_kind(events, "tool_result")
        .iter()
        .map(|e| {
            (
                e["data"]["output"].as_str().unwrap_or_default().to_owned(),
                e["data"]["is_error"].as_bool().unwrap_or(true),
            )
        })
        .collect()
}

fn check(sandbox: &str) {
    let outside_dir = tempfile::tempdir().unwrap();
    let outside = outside_dir.path().join("OUTSIDE_RAN");
    let fixture = Fixture::sandboxed(
        sandbox,
        "openai",
        false,
        script(&outside.display().to_string()),
        &agent(true),
    );
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let results = outputs(&events);
    assert!(
        results.iter().all(|(_, is_error)| !is_error),
        "every command worked: {results:#?}"
    );
    // The neighbour actions work: status prints, the commits are made.
    assert_eq!(results.len(), 18, "{results:#?}");
    assert!(results[8].0.contains("On branch main"), "{results:#?}");
    assert!(results[11].0.contains("one"), "{results:#?}");
    assert!(results[16].0.contains("two"), "{results:#?}");
    // No program the planted config names ran: no marker in the workspace, none outside.
    let listing = &results[17].0;
    for marker in ["FSMONITOR_RAN", "HOOK_RAN", "PAGER_RAN", "GPG_RAN"] {
        assert!(!listing.contains(marker), "{marker}: {listing}");
    }
    assert!(
        listing.contains("sub2") && listing.contains("evil"),
        "{listing}"
    );
    assert!(
        !outside.exists(),
        "core.fsmonitor ran outside the workspace"
    );
    let diff = std::fs::read_to_string(fixture.run_dir().join("changes.diff")).unwrap();
    let created: Vec<&str> = diff
        .lines()
        .filter(|l| l.starts_with("diff --git") && l.ends_with("_RAN"))
        .collect();
    assert!(created.is_empty(), "{created:?}");
    assert!(diff.contains("+++ b/sub2/a.txt"), "the diff is there");
    // verify ran `git -C sub status` as well, and passed.
    assert_eq!(finished(&events)["stop_reason"], "verified");
    let verify = of_kind(&events, "verify_result");
    assert!(
        verify[0]["data"]["output"]
            .as_str()
            .unwrap_or_default()
            .contains("On branch main"),
        "{verify:?}"
    );
}

#[test]
fn planted_git_config_runs_nothing_on_host() {
    check("host");
}

#[test]
fn planted_git_config_runs_nothing_in_the_linux_sandbox() {
    check("linux");
}

/// `[environment.git_config]` is the way back: a repository's own hooks run when the user
/// points `core.hooksPath` at them.
#[test]
fn git_config_in_the_spec_replaces_reins_value() {
    let script = json!({"turns": [
        {"tool_calls": [shell("git init -q r")]},
        {"tool_calls": [
            write("hooks/pre-commit", "#!/bin/sh\ntouch ../HOOK_RAN\n"),
            write("r/a.txt", "one\n"),
        ]},
        {"tool_calls": [shell("chmod +x hooks/pre-commit")]},
        {"tool_calls": [shell("git -C r add a.txt")]},
        {"tool_calls": [shell("git -C r commit -q -m one")]},
        {"tool_calls": [shell("ls")]},
        {"text": "Done."}
    ]});
    let extra = agent(false).replacen(
        "\n[loop]",
        "\n[environment.git_config]\ncore.hooksPath = \"../hooks\"\n\n[loop]",
        1,
    );
    let fixture = Fixture::new("openai", false, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let results = outputs(&events);
    assert!(results.iter().all(|(_, e)| !e), "{results:#?}");
    assert!(
        results.last().unwrap().0.contains("HOOK_RAN"),
        "{results:#?}"
    );
}

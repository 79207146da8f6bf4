//! Protected and hidden paths through the real binary (issue 10, item 3): in the `linux`
//! sandbox a hard link to `.git/config` fails (so `write_file` on the link cannot reach
//! it), a planted `core.fsmonitor` never runs under a later `git status`, and a shell
//! command reads what `[policy.paths] read` hides as empty — while ordinary writes work.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::{Fixture, of_kind};

const CONFIG: &str = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n";
const EVIL: &str = "[core]\n\tfsmonitor = \"touch PWNED; false\"\n";

const TOOLS: &str = r#"
[loop]
max_steps = 20
step_timeout = "20s"
stuck_after = 50

[tools]
builtin = ["read_file", "write_file", "shell"]

[policy.paths]
read = ["*.txt", "cfg", "evil", ".git/**"]
"#;

#[allow(clippy::disallowed_methods)] // the test stands for the user preparing a repository
fn git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn shell(command: &str) -> serde_json::Value {
    json!({"tool_calls": [{"name": "shell", "arguments": {"command": command}}]})
}

fn kept_workspace(text: &str) -> PathBuf {
    let line = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("workspace kept: "))
        .unwrap_or_else(|| panic!("no kept workspace in {text}"));
    PathBuf::from(line.trim())
}

#[test]
fn a_hard_link_and_a_planted_fsmonitor_cannot_reach_git_config_in_the_linux_sandbox() {
    let script = json!({"turns": [
        shell("ln .git/config cfg"),
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "cfg", "content": EVIL}}]},
        shell("cp evil .git/config; git status --short; echo status-ran"),
        shell("cat private/notes.txt; grep -r NOTES-SECRET . ; echo read-ran"),
        shell("echo neighbour > ok.txt"),
        {"text": "done"}
    ]});
    let fixture = Fixture::sandboxed("linux", "openai", true, script, TOOLS);
    let project = fixture.path().join("project");
    git(&project, &["init", "-q", "."]);
    std::fs::write(project.join(".git/config"), CONFIG).unwrap();
    std::fs::write(project.join("evil"), EVIL).unwrap();
    std::fs::create_dir(project.join("private")).unwrap();
    std::fs::write(project.join("private/notes.txt"), "NOTES-SECRET-71e2\n").unwrap();

    let out = fixture.run(&["--keep-workspace"]);
    assert_eq!(out.code, 0, "{out:?}");
    let workspace = kept_workspace(&format!("{}{}", out.stdout, out.stderr));
    let events = fixture.events();
    let results: Vec<String> = of_kind(&events, "tool_result")
        .iter()
        .map(|result| result["data"].to_string())
        .collect();
    assert_eq!(results.len(), 5, "{results:#?}");
    // The link failed: links never cross the read-only mount of .git/config.
    assert!(
        results[0].contains("Invalid cross-device link"),
        "{}",
        results[0]
    );
    // write_file made a plain file of its own; .git/config is byte-identical.
    assert_eq!(
        std::fs::read_to_string(workspace.join("cfg")).unwrap(),
        EVIL
    );
    assert_eq!(
        std::fs::read_to_string(workspace.join(".git/config")).unwrap(),
        CONFIG
    );
    assert!(results[2].contains("status-ran"), "{}", results[2]);
    assert!(!workspace.join("PWNED").exists(), "core.fsmonitor ran");
    // The hidden file reads as empty through the shell too.
    assert!(results[3].contains("read-ran"), "{}", results[3]);
    assert!(!results[3].contains("NOTES-SECRET-71e2"), "{}", results[3]);
    let trace = std::fs::read_to_string(fixture.run_dir().join("trace.jsonl")).unwrap();
    assert!(!trace.contains("NOTES-SECRET-71e2"));
    // The allowed neighbour action worked.
    assert_eq!(
        std::fs::read_to_string(workspace.join("ok.txt")).unwrap(),
        "neighbour\n"
    );
    std::fs::remove_dir_all(&workspace).unwrap();
}

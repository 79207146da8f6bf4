//! Workspace folders a killed run leaves in the temp dir (issue 10, item 8b): the next run
//! removes them, and `rein doctor --clean` removes a stale one and keeps a live one.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::{Fixture, output};

const TOOLS: &str = r#"
[loop]
max_steps = 10
step_timeout = "30s"

[tools]
builtin = ["shell"]
"#;

/// The `rein-ws-*` entries (folders and markers) in `dir`.
fn workspace_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("rein-ws-"))
        })
        .collect();
    entries.sort();
    entries
}

fn sleeping(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| {
            cmdline
                .split(|byte| *byte == 0)
                .any(|arg| arg == marker.as_bytes())
        })
    })
}

fn wait_until(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..1500 {
        if condition() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("timed out waiting until {what}");
}

#[test]
fn the_next_run_removes_the_workspace_of_a_killed_run() {
    let marker = format!("{}.{}", 500, std::process::id());
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": format!("sleep {marker}")}}]},
        {"text": "unreachable"}
    ]});
    let temp = tempfile::tempdir().unwrap();
    let temp_dir = temp.path().to_str().unwrap().to_owned();
    let fixture =
        Fixture::sandboxed("linux", "openai", true, script, TOOLS).env("TMPDIR", &temp_dir);
    std::fs::write(fixture.path().join("project/.env"), "TOKEN=copied-secret\n").unwrap();
    let agent = fixture.agent();
    let mut child = fixture
        .spawn_command(&["run", agent.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the command runs", || sleeping(&marker));
    let left = workspace_entries(temp.path());
    // The workspace, its pristine copy, and a marker beside each.
    assert_eq!(left.len(), 4, "{left:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("the sandbox is gone", || !sleeping(&marker));
    assert_eq!(
        workspace_entries(temp.path()),
        left,
        "the killed run's folders stay"
    );

    // Any next run cleans up (another agent here: a fresh mock LLM, whose connection the
    // killed process did not leave half-open).
    let next = Fixture::sandboxed(
        "linux",
        "openai",
        true,
        json!({"turns": [{"text": "second run done"}]}),
        TOOLS,
    )
    .env("TMPDIR", &temp_dir);
    let out = next.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("second run done"), "{out:?}");
    // The killed run's folders went at the start; the second run's own at its end.
    assert_eq!(workspace_entries(temp.path()), Vec::<PathBuf>::new());
}

/// Field 22 of `/proc/<pid>/stat`.
fn start_time(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    rest.split_whitespace().nth(19).unwrap().to_owned()
}

fn marker_text(pid: u32, start: &str) -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    format!(
        "rein workspace owner\nboot {}\npid {pid}\nstart {start}\n",
        boot.trim()
    )
}

#[test]
fn doctor_clean_removes_a_stale_workspace_and_keeps_a_live_one() {
    let temp = tempfile::tempdir().unwrap();
    #[allow(clippy::disallowed_methods)] // the test stands for another rein process
    let mut live_owner = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let live_pid = live_owner.id();
    let stale = temp.path().join("rein-ws-stale1");
    let live = temp.path().join("rein-ws-live1");
    let unmarked = temp.path().join("rein-ws-unmarked1");
    for folder in [&stale, &live, &unmarked] {
        std::fs::create_dir(folder).unwrap();
        std::fs::write(folder.join(".env"), "TOKEN=x\n").unwrap();
    }
    // The same pid with another start time: the pid was reused, the owner is gone.
    std::fs::write(
        temp.path().join("rein-ws-stale1.owner"),
        marker_text(live_pid, "1"),
    )
    .unwrap();
    std::fs::write(
        temp.path().join("rein-ws-live1.owner"),
        marker_text(live_pid, &start_time(live_pid)),
    )
    .unwrap();
    let fixture = Fixture::new("openai", true, json!({"turns": []}), "")
        .env("TMPDIR", temp.path().to_str().unwrap());
    let out = output(fixture.command(&["doctor", "--clean"]).output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("removed {}\n", stale.display()),
        "{out:?}"
    );
    assert!(!stale.exists());
    assert!(live.join(".env").exists());
    assert!(unmarked.join(".env").exists());
    // Nothing is left to do.
    let again = output(fixture.command(&["doctor", "--clean"]).output().unwrap());
    assert!(
        again.stdout.starts_with("no stale workspace folder in "),
        "{again:?}"
    );
    // Once its owner is gone, the live one is stale too.
    live_owner.kill().unwrap();
    live_owner.wait().unwrap();
    let after = output(fixture.command(&["doctor", "--clean"]).output().unwrap());
    assert_eq!(
        after.stdout,
        format!("removed {}\n", live.display()),
        "{after:?}"
    );
}

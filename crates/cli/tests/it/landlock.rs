//! Issue 11 (1): the `landlock` backend where user namespaces are refused for real — the
//! test runs rein inside a user namespace whose `user.max_user_namespaces` is 0, as under
//! Ubuntu's AppArmor restriction, Docker's default seccomp profile or a locked-down pod.

use serde_json::json;

use crate::harness::{Fixture, Output, finished, of_kind, output};
use crate::runs::processes_with_arg;

const TOOLS: &str = "[loop]\nmax_steps = 6\nstep_timeout = \"20s\"\n\n[tools]\nbuiltin = [\"shell\", \"read_file\"]\n";

/// `rein ARGS` in a child user namespace that may create no further user namespace.
#[allow(clippy::disallowed_methods)]
fn rein_without_user_namespaces(fixture: &Fixture, args: &[&str]) -> Output {
    let mut command = std::process::Command::new("unshare");
    command
        .args([
            "--user",
            "--map-root-user",
            "sh",
            "-c",
            "echo 0 > /proc/sys/user/max_user_namespaces && unshare --user true 2>/dev/null && echo 'user namespaces still allowed' >&2 && exit 99; exec \"$@\"",
            "sh",
            env!("CARGO_BIN_EXE_rein"),
        ])
        .args(args)
        .current_dir(fixture.path())
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL");
    for (key, value) in &fixture.envs {
        command.env(key, value);
    }
    let out = output(command.output().expect("unshare runs"));
    assert_ne!(out.code, 99, "{out:?}");
    out
}

/// Where user namespaces are refused, `linux` fails and names `landlock`; `landlock` runs
/// the agent: commands write the workspace, cannot write outside it (the parser does not
/// read `cp` destinations, so the sandbox is what stops it), and a `setsid` daemon does not
/// outlive its call.
#[test]
fn landlock_runs_where_user_namespaces_are_refused() {
    let unique = format!("rein-landlock-{}-{}", std::process::id(), fastrand::u64(..));
    let outside = std::env::temp_dir().join(&unique);
    let daemon_arg = format!("3{}", fastrand::u32(100_000..999_999));
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": format!(
            "echo made > made.txt; cp notes.txt {}; setsid sleep {daemon_arg} & echo started",
            outside.display()
        )}}]},
        {"tool_calls": [{"name": "shell", "arguments": {"command": "cat made.txt"}}]},
        {"text": "Done."}
    ]});
    let linux = Fixture::sandboxed("linux", "openai", false, script.clone(), TOOLS);
    let refused = rein_without_user_namespaces(&linux, &["run", linux.agent().to_str().unwrap()]);
    assert_eq!(refused.code, 3, "{refused:?}");
    assert!(
        refused.stderr.contains("choose `sandbox = \"landlock\"`"),
        "{refused:?}"
    );

    let fixture = Fixture::sandboxed("landlock", "openai", false, script, TOOLS);
    let out = rein_without_user_namespaces(&fixture, &["run", fixture.agent().to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("sandbox landlock"), "{out:?}");
    let events = fixture.events();
    let results = of_kind(&events, "tool_result");
    let first = results[0]["data"]["output"].as_str().unwrap();
    assert!(first.contains("cp: cannot create regular file"), "{first}");
    assert!(first.contains("started"), "{first}");
    assert_eq!(
        results[1]["data"]["output"],
        "exit code: 0\n--- stdout ---\nmade\n"
    );
    assert!(!outside.exists(), "{} was written", outside.display());
    assert_eq!(processes_with_arg(&daemon_arg), Vec::<String>::new());
    assert_eq!(finished(&events)["workspace_changes"]["files_changed"], 1);
}

/// `rein doctor` where user namespaces are refused: `linux` fails with a fix that names
/// `landlock`, which works.
#[test]
fn doctor_names_landlock_where_user_namespaces_are_refused() {
    let fixture = Fixture::sandboxed("landlock", "openai", false, json!({"turns": []}), TOOLS);
    let out = rein_without_user_namespaces(&fixture, &["doctor"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("✗ linux: cannot run here"), "{out:?}");
    assert!(out.stdout.contains("✓ landlock: works"), "{out:?}");
    assert!(
        out.stdout
            .contains("user namespaces are refused here: where user namespaces are refused"),
        "{out:?}"
    );
}

/// Run as root, the landlock backend runs commands as `nobody` (Landlock does not cover
/// `chmod`/`chown`, and root owns most of the host): a root-owned file outside the
/// workspace cannot be chmod-ed, while files the file tools create stay writable to the
/// commands.
#[test]
fn as_root_landlock_commands_run_as_nobody_and_file_tools_files_stay_theirs() {
    let euid = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| {
            line.strip_prefix("Uid:")
                .map(|ids| ids.split_whitespace().nth(1).unwrap_or("").to_owned())
        })
        .unwrap();
    assert_eq!(
        euid, "0",
        "this test needs root (CI runs as root): it checks the switch to nobody"
    );
    let outside = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(outside.path(), "host file\n").unwrap();
    let mode = |path: &std::path::Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions())
    };
    let before = mode(outside.path());
    let script = json!({"turns": [
        {"tool_calls": [{"name": "write_file", "arguments": {"path": "dir/new.txt", "content": "one\n"}}]},
        {"tool_calls": [{"name": "shell", "arguments": {"command": format!(
            "id -u; echo two >> dir/new.txt; touch dir/more.txt; chmod 777 {}",
            outside.path().display()
        )}}]},
        {"text": "Done."}
    ]});
    let extra = TOOLS.replace(
        "\"shell\", \"read_file\"",
        "\"shell\", \"read_file\", \"write_file\"",
    );
    let fixture = Fixture::sandboxed("landlock", "openai", false, script, &extra);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let shell = of_kind(&events, "tool_result")[1]["data"]["output"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        shell.starts_with("exit code: 1\n--- stdout ---\n65534\n"),
        "{shell}"
    );
    assert!(shell.contains("Operation not permitted"), "{shell}");
    assert_eq!(mode(outside.path()), before);
    let diff = std::fs::read_to_string(fixture.run_dir().join("changes.diff")).unwrap();
    assert!(diff.contains("+one\n+two\n"), "{diff}");
    assert!(diff.contains("b/dir/more.txt"), "{diff}");
}

//! `rein doctor`: the checks on this machine, and with a backend made unavailable (`bwrap`
//! missing from PATH). This machine is expected to run both isolating backends; when it
//! cannot, these tests fail with doctor's own output, which says what is missing.

use std::path::Path;

use serde_json::json;

use crate::harness::{Fixture, Output, output};

fn rein() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"));
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

/// `rein doctor` plus `args`, run with `PATH` set to `path`.
fn doctor_with_path(fixture: &Fixture, args: &[&str], path: &Path) -> Output {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let mut cmd = fixture.command(&all);
    cmd.env("PATH", path);
    output(cmd.output().unwrap())
}

fn agent(sandbox: &str, agent_extra: &str) -> Fixture {
    Fixture::sandboxed(sandbox, "openai", false, json!({"turns": []}), agent_extra)
}

#[test]
fn doctor_on_this_machine_finds_every_backend_working() {
    let out = output(rein().arg("doctor").output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    for line in [
        "✓ user namespaces: allowed",
        "✓ AppArmor: ",
        "✓ Landlock: ABI ",
        "✓ seccomp: supported",
        "✓ linux: works (started a sandbox and ran `true` in it)",
        "✓ bwrap: works (",
        "✓ host: available",
        "ok: at least one isolating sandbox backend works here",
    ] {
        assert!(out.stdout.contains(line), "missing `{line}`: {out:?}");
    }
    assert!(!out.stdout.contains('✗'), "{out:?}");
}

#[test]
fn doctor_without_bwrap_on_path_says_how_to_install_it() {
    let fixture = agent("bwrap", "");
    let empty = tempfile::tempdir().unwrap();
    let out = doctor_with_path(&fixture, &[], empty.path());
    // The linux backend still works, so the host as a whole is usable.
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("✗ bwrap: the `bwrap` program (bubblewrap) is not on PATH\n    fix: apt-get install bubblewrap"),
        "{out:?}"
    );
    assert!(out.stdout.contains("✓ linux: works"), "{out:?}");
}

#[test]
fn an_agent_on_bwrap_without_bwrap_cannot_run_and_exits_3() {
    let fixture = agent("bwrap", "");
    let empty = tempfile::tempdir().unwrap();
    let out = doctor_with_path(&fixture, &["agent.toml"], empty.path());
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stdout.contains("✗ sandbox: bwrap cannot run here"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("cannot run here: sandbox bwrap (see the fixes above)"),
        "{out:?}"
    );
    // The rest of what the file needs is fine.
    let port = fixture
        .mock
        .openai_base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        out.stdout.contains(&format!(
            "✓ model openai:gpt-4.1-mini: 127.0.0.1:{port} reachable"
        )),
        "{out:?}"
    );
    assert!(out.stdout.contains("✓ trace folder "), "{out:?}");
    // Reachability is a TCP connect: no request reached the model, no token was spent.
    assert!(fixture.requests().is_empty());
}

#[test]
fn an_agent_whose_needs_are_met_exits_0_without_calling_the_model() {
    for sandbox in ["bwrap", "linux", "host"] {
        let fixture = agent(sandbox, "");
        let out = output(fixture.command(&["doctor", "agent.toml"]).output().unwrap());
        assert_eq!(out.code, 0, "{sandbox}: {out:?}");
        assert!(
            out.stdout.contains(&format!("✓ sandbox: {sandbox} works")),
            "{sandbox}: {out:?}"
        );
        assert!(out.stdout.contains("can run here\n"), "{sandbox}: {out:?}");
        assert!(fixture.requests().is_empty());
        assert!(
            !fixture.path().join(".rein").exists(),
            "doctor made the trace folder"
        );
    }
}

#[test]
fn an_unreachable_provider_and_an_unusable_trace_folder_exit_3() {
    // A port nobody listens on: bound, then released.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let fixture = agent("host", "[trace]\ndir = \"agent.toml/traces\"\n")
        .env("OPENAI_BASE_URL", &format!("http://127.0.0.1:{port}/v1"));
    let out = output(fixture.command(&["doctor", "agent.toml"]).output().unwrap());
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "✗ model openai:gpt-4.1-mini: cannot reach 127.0.0.1:{port}"
        )),
        "{out:?}"
    );
    assert!(out.stdout.contains("a parent is not a folder"), "{out:?}");
    assert!(
        out.stdout.contains("cannot run here: model, trace folder"),
        "{out:?}"
    );
}

/// `rein run` refuses to start when the chosen backend cannot work here, says what is
/// missing, and points to `rein doctor`; there is no fallback to less isolation.
#[test]
fn rein_run_refuses_a_backend_that_cannot_work_and_points_to_doctor() {
    let fixture = agent("bwrap", "");
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = fixture.command(&["run", "agent.toml"]);
    cmd.env("PATH", empty.path());
    let out = output(cmd.output().unwrap());
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("bwrap"), "{out:?}");
    assert!(out.stderr.contains("rein doctor"), "{out:?}");
    assert!(fixture.requests().is_empty(), "nothing ran");
    assert!(
        !fixture.path().join(".rein").exists(),
        "no run was recorded as started"
    );
}

#[test]
fn doctor_lists_the_config_layers_of_an_agent() {
    let fixture = agent("host", "");
    std::fs::create_dir_all(fixture.path().join(".rein")).unwrap();
    std::fs::write(
        fixture.path().join(".rein/config.toml"),
        "[loop]\nmax_steps = 4\n",
    )
    .unwrap();
    let out = output(fixture.command(&["doctor", "agent.toml"]).output().unwrap());
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("config layers (lowest first)"),
        "{out:?}"
    );
    assert!(out.stdout.contains(".rein/config.toml"), "{out:?}");
    assert!(out.stdout.contains("agent file"), "{out:?}");
}

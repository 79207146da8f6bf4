//! `HostSandbox::exec`: exit codes, environment, timeouts, leftovers, output caps, stdin.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use expect_test::expect;
use rein_sandbox::{ExecRequest, HostSandbox, Sandbox, SandboxError};

use crate::{process_ends, read_pid};

fn request(argv: &[&str], cwd: &Path) -> ExecRequest {
    ExecRequest {
        argv: argv.iter().map(|arg| (*arg).to_owned()).collect(),
        cwd: cwd.to_path_buf(),
        env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
        timeout: Duration::from_secs(30),
        stdin: None,
        max_output_bytes: 1024 * 1024,
    }
}

fn stdout_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn backend_is_called_host() {
    assert_eq!(HostSandbox.name(), "host");
}

#[tokio::test]
async fn exit_codes_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let ok = HostSandbox
        .exec(request(&["true"], dir.path()))
        .await
        .unwrap();
    assert_eq!(
        (ok.exit_code, ok.signal, ok.timed_out),
        (Some(0), None, false)
    );

    let three = HostSandbox
        .exec(request(&["sh", "-c", "exit 3"], dir.path()))
        .await
        .unwrap();
    assert_eq!((three.exit_code, three.signal), (Some(3), None));

    let signalled = HostSandbox
        .exec(request(&["sh", "-c", "kill -TERM $$"], dir.path()))
        .await
        .unwrap();
    assert_eq!(
        (signalled.exit_code, signalled.signal, signalled.timed_out),
        (None, Some(libc::SIGTERM), false)
    );
}

#[tokio::test]
async fn child_sees_exactly_the_request_environment() {
    // The test process has variables of its own (cargo sets this one); none may leak.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(&["env"], dir.path());
    req.env.insert("REIN_VISIBLE".to_owned(), "yes".to_owned());
    let output = HostSandbox.exec(req).await.unwrap();
    expect![[r#"
        PATH=/usr/bin:/bin
        REIN_VISIBLE=yes
    "#]]
    .assert_eq(&stdout_text(&output.stdout));
}

#[tokio::test]
async fn child_runs_in_the_requested_directory() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    let output = HostSandbox.exec(request(&["pwd"], &cwd)).await.unwrap();
    assert_eq!(stdout_text(&output.stdout), format!("{}\n", cwd.display()));
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(
        &[
            "sh",
            "-c",
            "echo $$ > main.pid; sleep 100 & echo $! > child.pid; echo started; wait",
        ],
        dir.path(),
    );
    req.timeout = Duration::from_secs(1);
    let output = HostSandbox.exec(req).await.unwrap();
    assert!(output.timed_out);
    assert_eq!(output.exit_code, None);
    assert_eq!(output.signal, Some(libc::SIGKILL));
    // Output written before the timeout is kept.
    assert_eq!(stdout_text(&output.stdout), "started\n");
    let main_pid = read_pid(&dir.path().join("main.pid"));
    let child_pid = read_pid(&dir.path().join("child.pid"));
    assert!(process_ends(main_pid), "shell {main_pid} survived");
    assert!(process_ends(child_pid), "sleep {child_pid} survived");
}

#[tokio::test]
async fn background_process_left_behind_is_killed_after_exit() {
    let dir = tempfile::tempdir().unwrap();
    // The background sleep keeps stdout open: exec must not wait for its EOF.
    let output = HostSandbox
        .exec(request(
            &["sh", "-c", "sleep 1000 & echo $! > bg.pid; echo done"],
            dir.path(),
        ))
        .await
        .unwrap();
    assert_eq!(output.exit_code, Some(0));
    assert!(!output.timed_out);
    assert_eq!(stdout_text(&output.stdout), "done\n");
    let background_pid = read_pid(&dir.path().join("bg.pid"));
    assert!(
        process_ends(background_pid),
        "background sleep {background_pid} survived the call"
    );
}

#[tokio::test]
async fn dropping_the_exec_future_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("bg.pid");
    let exec = HostSandbox.exec(request(
        &[
            "sh",
            "-c",
            "sleep 1000 & echo $! > bg.pid.tmp; mv bg.pid.tmp bg.pid; wait",
        ],
        dir.path(),
    ));
    let wait_for_pid_file = async {
        while !pid_file.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::select! {
        result = exec => panic!("exec finished on its own: {result:?}"),
        () = wait_for_pid_file => {}
    }
    // `exec` was dropped by select! above.
    let background_pid = read_pid(&pid_file);
    assert!(
        process_ends(background_pid),
        "sleep {background_pid} survived cancellation"
    );
}

#[tokio::test]
async fn output_over_the_cap_is_counted_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(
        &[
            "sh",
            "-c",
            "head -c 100000 /dev/zero | tr '\\0' a; head -c 5000 /dev/zero | tr '\\0' e >&2",
        ],
        dir.path(),
    );
    req.max_output_bytes = 1000;
    let output = HostSandbox.exec(req).await.unwrap();
    assert_eq!(output.exit_code, Some(0));
    assert_eq!(output.stdout, vec![b'a'; 1000]);
    assert_eq!(output.stdout_dropped, 99_000);
    assert_eq!(output.stderr, vec![b'e'; 1000]);
    assert_eq!(output.stderr_dropped, 4_000);
}

#[tokio::test]
async fn stdin_is_written_then_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(&["cat"], dir.path());
    req.stdin = Some(b"hello\n".to_vec());
    let output = HostSandbox.exec(req).await.unwrap();
    assert_eq!(stdout_text(&output.stdout), "hello\n");

    // More than a pipe buffer in both directions: writing and reading run concurrently.
    let big: Vec<u8> = (0..2_000_000u32).map(|n| b'a' + (n % 26) as u8).collect();
    let mut req = request(&["cat"], dir.path());
    req.stdin = Some(big.clone());
    req.max_output_bytes = 4_000_000;
    let output = HostSandbox.exec(req).await.unwrap();
    assert_eq!(output.stdout.len(), big.len());
    assert!(output.stdout == big);
}

#[tokio::test]
async fn without_stdin_the_child_reads_dev_null() {
    let dir = tempfile::tempdir().unwrap();
    let output = HostSandbox
        .exec(request(&["cat"], dir.path()))
        .await
        .unwrap();
    assert_eq!(output.exit_code, Some(0));
    assert!(output.stdout.is_empty());
}

#[tokio::test]
async fn child_that_ignores_stdin_does_not_break_exec() {
    let dir = tempfile::tempdir().unwrap();
    let mut req = request(&["true"], dir.path());
    req.stdin = Some(vec![b'x'; 1_000_000]);
    let output = HostSandbox.exec(req).await.unwrap();
    assert_eq!(output.exit_code, Some(0));
}

#[tokio::test]
async fn spawn_errors_name_the_program_or_directory() {
    let dir = tempfile::tempdir().unwrap();
    let error = HostSandbox
        .exec(request(&["rein-no-such-program"], dir.path()))
        .await
        .unwrap_err();
    assert!(matches!(error, SandboxError::ProgramNotFound { .. }));
    expect![[r#"
        program `rein-no-such-program` not found
        hint: the command runs with only the environment of the request; check that `rein-no-such-program` is installed and that PATH is set (or passed through) in the agent's [environment]"#]]
    .assert_eq(&error.to_string());

    let error = HostSandbox
        .exec(request(&["true"], Path::new("/nonexistent/rein")))
        .await
        .unwrap_err();
    expect!["working directory /nonexistent/rein of `true` does not exist or is not a directory"]
        .assert_eq(&error.to_string());

    let error = HostSandbox
        .exec(request(&[], dir.path()))
        .await
        .unwrap_err();
    expect!["cannot run an empty command: argv has no program"].assert_eq(&error.to_string());

    let script = dir.path().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let error = HostSandbox
        .exec(request(&[script.to_str().unwrap()], dir.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, SandboxError::Spawn { program, .. } if *program == script.to_str().unwrap()),
        "{error:?}"
    );
}

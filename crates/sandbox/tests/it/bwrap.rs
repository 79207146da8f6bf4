//! `BwrapSandbox`: the command runs, sees only the workspace, the request's environment and
//! the policy's limits, and leaves nothing behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rein_sandbox::{
    BwrapSandbox, ExecRequest, NetworkMode, ResourceLimits, Sandbox, SandboxError, SandboxPolicy,
    Workspace, default_read_only_paths,
};

use crate::{process_ends, read_pid};

pub fn policy(workspace: &Path) -> SandboxPolicy {
    SandboxPolicy {
        workspace: workspace.to_path_buf(),
        read_only_paths: default_read_only_paths(),
        overlays: Vec::new(),
        network: NetworkMode::None,
        limits: ResourceLimits {
            cpu_seconds: 2,
            memory_mb: 256,
            processes: 64,
            file_size_mb: 8,
        },
    }
}

fn request(script: &str, cwd: &Path) -> ExecRequest {
    ExecRequest {
        argv: vec!["bash".to_owned(), "-c".to_owned(), script.to_owned()],
        cwd: cwd.to_path_buf(),
        env: BTreeMap::from([
            ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
            ("GREETING".to_owned(), "hello".to_owned()),
        ]),
        timeout: Duration::from_secs(10),
        stdin: None,
        max_output_bytes: 64 * 1024,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn backend_is_called_bwrap_and_builds_the_documented_command_line() {
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(policy(workspace.root())).unwrap();
    assert_eq!(sandbox.name(), "bwrap");
    let line: Vec<String> = sandbox
        .command_line(&request("true", workspace.root()))
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let line = line.join(" ");
    assert!(
        line.starts_with(
            "--unshare-all --unshare-user --disable-userns --die-with-parent --new-session --cap-drop ALL "
        ),
        "{line}"
    );
    assert!(!line.contains("--share-net"), "{line}");
    let root = workspace.root().display();
    assert!(
        line.contains(&format!(
            "--bind {root} {root} --chdir {root} -- bash -c true"
        )),
        "{line}"
    );
    assert!(line.contains("--ro-bind /dev/null /etc/shadow"), "{line}");
}

#[test]
fn host_network_is_shared_only_when_asked() {
    let workspace = Workspace::tempdir().unwrap();
    let mut host_policy = policy(workspace.root());
    host_policy.network = NetworkMode::Host;
    let sandbox = BwrapSandbox::new(host_policy).unwrap();
    let line = sandbox.command_line(&request("true", workspace.root()));
    assert!(line.iter().any(|arg| arg == "--share-net"));
}

#[test]
fn a_missing_workspace_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = BwrapSandbox::new(policy(&dir.path().join("missing"))).unwrap_err();
    assert!(
        error.to_string().starts_with("cannot resolve workspace "),
        "{error}"
    );
}

#[tokio::test]
async fn commands_run_in_the_workspace_with_only_the_requested_environment() {
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(policy(workspace.root())).unwrap();
    let output = sandbox
        .exec(request(
            "pwd; env | sort | grep -v '^_=\\|^SHLVL=\\|^PWD=\\|^OLDPWD='; echo made > made.txt; touch /tmp/private && echo tmp-ok",
            workspace.root(),
        ))
        .await
        .unwrap();
    assert_eq!(
        text(&output.stdout),
        format!(
            "{}\nGREETING=hello\nPATH=/usr/bin:/bin\ntmp-ok\n",
            workspace.root().display()
        ),
        "stderr: {}",
        text(&output.stderr)
    );
    assert_eq!(output.exit_code, Some(0));
    assert_eq!(
        std::fs::read_to_string(workspace.root().join("made.txt")).unwrap(),
        "made\n"
    );
    // The private /tmp is not the host's.
    assert!(!Path::new("/tmp/private").exists());
}

#[tokio::test]
async fn exit_codes_signals_and_stdin_come_through() {
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(policy(workspace.root())).unwrap();
    let three = sandbox
        .exec(request("exit 3", workspace.root()))
        .await
        .unwrap();
    assert_eq!(three.exit_code, Some(3));
    let mut with_stdin = request("tr a-z A-Z", workspace.root());
    with_stdin.stdin = Some(b"shout\n".to_vec());
    let output = sandbox.exec(with_stdin).await.unwrap();
    assert_eq!(text(&output.stdout), "SHOUT\n");
}

#[tokio::test]
async fn a_missing_program_and_a_bad_cwd_are_clear_errors() {
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(policy(workspace.root())).unwrap();
    let mut missing = request("", workspace.root());
    missing.argv = vec!["no-such-program-rein".to_owned()];
    let error = sandbox.exec(missing).await.unwrap_err();
    assert!(
        matches!(error, SandboxError::ProgramNotFound { .. }),
        "{error}"
    );
    let outside = tempfile::tempdir().unwrap();
    let error = sandbox
        .exec(request("true", outside.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, SandboxError::WorkingDirectory { .. }),
        "{error}"
    );
    let mut empty = request("", workspace.root());
    empty.argv.clear();
    assert!(matches!(
        sandbox.exec(empty).await.unwrap_err(),
        SandboxError::EmptyArgv
    ));
}

#[tokio::test]
async fn a_timeout_kills_the_command_and_everything_it_started() {
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(policy(workspace.root())).unwrap();
    let mut slow = request(
        "setsid sleep 1000 & echo started; sleep 1000",
        workspace.root(),
    );
    slow.timeout = Duration::from_millis(1500);
    let output = sandbox.exec(slow).await.unwrap();
    assert!(output.timed_out);
    assert_eq!(output.exit_code, None);
    assert_eq!(text(&output.stdout), "started\n");
}

#[tokio::test]
async fn a_setsid_daemon_is_gone_after_the_call() {
    // The daemon's host pid is found through the workspace: it writes its namespace pid,
    // and we look for a `sleep 1001` whose cwd is the workspace.
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(policy(workspace.root())).unwrap();
    let output = sandbox
        .exec(request(
            "(setsid sleep 1001 & echo $! > daemon.pid) & wait; sleep 0.2; echo done",
            workspace.root(),
        ))
        .await
        .unwrap();
    assert_eq!(text(&output.stdout), "done\n", "{}", text(&output.stderr));
    let namespace_pid = read_pid(&workspace.root().join("daemon.pid"));
    assert!(namespace_pid > 1);
    for host_pid in processes_with_cmdline("sleep\x001001\x00") {
        assert!(
            process_ends(host_pid),
            "sleep 1001 (pid {host_pid}) survived"
        );
    }
}

/// Host pids whose `/proc/PID/cmdline` is exactly `cmdline`.
pub fn processes_with_cmdline(cmdline: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|bytes| bytes == cmdline.as_bytes())
        {
            pids.push(pid);
        }
    }
    pids
}

#[tokio::test]
async fn the_seccomp_filter_and_no_new_privs_are_active() {
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(policy(workspace.root())).unwrap();
    let output = sandbox
        .exec(request(
            "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status",
            workspace.root(),
        ))
        .await
        .unwrap();
    assert_eq!(
        text(&output.stdout),
        "CapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n"
    );
}

//! The `linux` backend for real: namespaces, mounts, Landlock, seccomp, limits and the
//! supervisor's clean-up after every call. The helper is this crate's
//! `rein-sandbox-helper` binary.
//!
//! [`linux_sandbox`] is the constructor other test modules (the escape catalogue) use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rein_sandbox::{
    ExecOutput, ExecRequest, HelperProgram, LinuxSandbox, NetworkMode, ResourceLimits, Sandbox,
    SandboxError, SandboxPolicy, default_read_only_paths,
};

use crate::{process_ends, read_pid};

/// The helper binary built with this crate's tests.
pub fn helper_program() -> HelperProgram {
    HelperProgram {
        path: PathBuf::from(env!("CARGO_BIN_EXE_rein-sandbox-helper")),
        args: Vec::new(),
    }
}

/// A `linux` sandbox for `policy`, started with the test helper binary.
pub async fn linux_sandbox(policy: &SandboxPolicy) -> LinuxSandbox {
    LinuxSandbox::start(policy, &helper_program())
        .await
        .unwrap_or_else(|error| panic!("cannot start the linux sandbox: {error}"))
}

pub async fn landlock_sandbox(policy: &SandboxPolicy) -> LinuxSandbox {
    LinuxSandbox::start_landlock(policy, &helper_program())
        .await
        .unwrap_or_else(|error| panic!("cannot start the landlock sandbox: {error}"))
}

fn policy(workspace: &Path) -> SandboxPolicy {
    SandboxPolicy {
        workspace: workspace.to_path_buf(),
        read_only_paths: default_read_only_paths(),
        overlays: Vec::new(),
        network: NetworkMode::None,
        limits: ResourceLimits {
            cpu_seconds: 5,
            memory_mb: 512,
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
        timeout: Duration::from_secs(30),
        stdin: None,
        max_output_bytes: 1024 * 1024,
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A workspace folder (canonical, as the sandbox sees it) and its sandbox.
struct Setup {
    _dir: tempfile::TempDir,
    workspace: PathBuf,
    sandbox: LinuxSandbox,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().canonicalize().unwrap();
    let sandbox = linux_sandbox(&policy(&workspace)).await;
    Setup {
        _dir: dir,
        workspace,
        sandbox,
    }
}

impl Setup {
    async fn run(&self, script: &str) -> ExecOutput {
        self.sandbox
            .exec(request(script, &self.workspace))
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn commands_see_the_workspace_read_write_and_usr_read_only() {
    let setup = setup().await;
    std::fs::write(setup.workspace.join("from-host.txt"), "host\n").unwrap();
    let output = setup
        .run(
            "cat from-host.txt && echo made > made.txt && pwd && \
             (touch /usr/rein-probe 2>/dev/null && echo usr-writable || echo usr-read-only) && \
             (touch /etc/rein-probe 2>/dev/null && echo etc-writable || echo etc-read-only) && \
             (touch /rein-probe 2>/dev/null && echo root-writable || echo root-read-only) && \
             echo tmp > /tmp/scratch && cat /tmp/scratch && echo shm > /dev/shm/x && \
             hostname && echo hi > /dev/null && \
             echo via-dev-stdout > /dev/stdout",
        )
        .await;
    assert_eq!(
        text(&output.stdout),
        format!(
            "host\n{}\nusr-read-only\netc-read-only\nroot-read-only\ntmp\nrein-sandbox\nvia-dev-stdout\n",
            setup.workspace.display()
        ),
        "stderr: {}",
        text(&output.stderr)
    );
    assert_eq!(output.exit_code, Some(0));
    assert_eq!(
        std::fs::read_to_string(setup.workspace.join("made.txt")).unwrap(),
        "made\n"
    );
    assert!(!Path::new("/usr/rein-probe").exists());
    setup.sandbox.teardown().await.unwrap();
}

#[tokio::test]
async fn the_sandbox_tmp_is_private() {
    let setup = setup().await;
    let marker = format!("rein-linux-tmp-{}", std::process::id());
    let output = setup
        .run(&format!("echo x > /tmp/{marker} && ls /tmp"))
        .await;
    assert_eq!(text(&output.stdout), format!("{marker}\n"));
    assert!(!Path::new("/tmp").join(&marker).exists());
}

#[tokio::test]
async fn only_the_request_environment_reaches_the_command() {
    let setup = setup().await;
    let output = setup.run("env | sort").await;
    let variables: Vec<String> = text(&output.stdout)
        .lines()
        .filter(|line| {
            !line.starts_with("PWD=") && !line.starts_with("SHLVL=") && !line.starts_with("_=")
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(variables, ["GREETING=hello", "PATH=/usr/bin:/bin"]);
    // Nor does the supervisor's own environment hold anything of the harness.
    let output = setup
        .run("cat /proc/1/environ 2>&1 | tr '\\0' '\\n'; echo end")
        .await;
    assert!(
        !text(&output.stdout).contains("CARGO"),
        "{}",
        text(&output.stdout)
    );
}

#[tokio::test]
async fn exit_codes_signals_stdin_and_output_caps() {
    let setup = setup().await;
    let three = setup.run("exit 3").await;
    assert_eq!(
        (three.exit_code, three.signal, three.timed_out),
        (Some(3), None, false)
    );
    let mut unbounded = request("exit 4", &setup.workspace);
    unbounded.timeout = Duration::MAX;
    let unbounded = setup.sandbox.exec(unbounded).await.unwrap();
    assert_eq!(unbounded.exit_code, Some(4));
    let killed = setup.run("kill -TERM $$").await;
    assert_eq!(
        (killed.exit_code, killed.signal),
        (None, Some(libc::SIGTERM))
    );

    let mut with_stdin = request("tr a-z A-Z", &setup.workspace);
    with_stdin.stdin = Some(b"piped input".to_vec());
    let upper = setup.sandbox.exec(with_stdin).await.unwrap();
    assert_eq!(text(&upper.stdout), "PIPED INPUT");

    let mut capped = request("head -c 100000 /dev/zero; echo err >&2", &setup.workspace);
    capped.max_output_bytes = 10;
    let capped = setup.sandbox.exec(capped).await.unwrap();
    assert_eq!((capped.stdout.len(), capped.stdout_dropped), (10, 99_990));
    assert_eq!(text(&capped.stderr), "err\n");
}

#[tokio::test]
async fn spawn_errors_are_typed() {
    let setup = setup().await;
    let mut missing = request("", &setup.workspace);
    missing.argv = vec!["no-such-program-rein".to_owned()];
    assert!(matches!(
        setup.sandbox.exec(missing).await,
        Err(SandboxError::ProgramNotFound { program }) if program == "no-such-program-rein"
    ));
    let mut bad_cwd = request("true", &setup.workspace);
    bad_cwd.cwd = setup.workspace.join("missing-folder");
    assert!(matches!(
        setup.sandbox.exec(bad_cwd).await,
        Err(SandboxError::WorkingDirectory { .. })
    ));
    let mut empty = request("", &setup.workspace);
    empty.argv.clear();
    assert!(matches!(
        setup.sandbox.exec(empty).await,
        Err(SandboxError::EmptyArgv)
    ));
    // The sandbox still works after errors.
    assert_eq!(setup.run("echo ok").await.stdout, b"ok\n");
}

#[tokio::test]
async fn background_processes_die_with_the_call() {
    let setup = setup().await;
    let output = setup
        .run("sleep 1000 & echo $! > bg.pid; echo started")
        .await;
    assert_eq!(text(&output.stdout), "started\n");
    // The pid is the one inside the namespace: check from inside that it is gone.
    let inner_pid = read_pid(&setup.workspace.join("bg.pid"));
    let after = setup
        .run(&format!(
            "for p in /proc/[0-9]*; do cat $p/comm; done; \
             test -e /proc/{inner_pid} && echo alive || echo gone"
        ))
        .await;
    // The supervisor and this very bash: nothing else lives in the namespace.
    assert_eq!(text(&after.stdout), "rein-sandbox-he\nbash\ngone\n");
}

#[tokio::test]
async fn setsid_double_fork_daemons_die_with_the_call() {
    let setup = setup().await;
    let output = setup
        .run("setsid sh -c 'sleep 1000 & echo $! > daemon.pid' > /dev/null 2>&1 < /dev/null; sleep 0.1; echo launched")
        .await;
    assert_eq!(text(&output.stdout), "launched\n");
    let inner_pid = read_pid(&setup.workspace.join("daemon.pid"));
    let after = setup
        .run(&format!(
            "test -e /proc/{inner_pid} && echo alive || echo gone; ls /proc | grep -c '^[0-9]'"
        ))
        .await;
    // Only the supervisor and this bash (and `ls`, `grep` of the pipeline).
    let stdout = text(&after.stdout);
    assert!(stdout.starts_with("gone\n"), "{stdout}");
    // No `sleep` of the sandbox is left on the host either.
    for pid in sleeping_in(&setup.workspace) {
        assert!(process_ends(pid), "sleep {pid} in the workspace survived");
    }
}

/// Host pids of `sleep` processes whose working directory is `folder`.
fn sleeping_in(folder: &Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "sleep")
                && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == folder)
        })
        .collect()
}

#[tokio::test]
async fn timeouts_kill_the_command_and_everything_it_started() {
    let setup = setup().await;
    let mut slow = request(
        "sleep 1000 & echo $! > bg.pid; sleep 1000",
        &setup.workspace,
    );
    slow.timeout = Duration::from_millis(300);
    let output = setup.sandbox.exec(slow).await.unwrap();
    assert!(output.timed_out);
    assert_eq!(
        (output.exit_code, output.signal),
        (None, Some(libc::SIGKILL))
    );
    let inner_pid = read_pid(&setup.workspace.join("bg.pid"));
    let after = setup
        .run(&format!(
            "test -e /proc/{inner_pid} && echo alive || echo gone"
        ))
        .await;
    assert_eq!(text(&after.stdout), "gone\n");
}

#[tokio::test]
async fn a_dropped_exec_future_ends_its_command() {
    let setup = setup().await;
    let sandbox = Arc::new(setup.sandbox);
    let pid_file = setup.workspace.join("pid");
    let call = sandbox.exec(request(
        "sleep 1000 & echo $! > bg.pid; echo $$ > pid.tmp && mv pid.tmp pid; exec sleep 1000",
        &setup.workspace,
    ));
    let started = async {
        while !pid_file.exists() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = call => panic!("the call ended by itself"),
        () = started => {}
    }
    // The call's future is dropped here, the command still running.
    let inner_pid = read_pid(&pid_file);
    let background_pid = read_pid(&setup.workspace.join("bg.pid"));
    // The next call gets its own reply, not the cancelled one's, and sees neither process.
    let next = sandbox
        .exec(request(
            &format!(
                "for pid in {inner_pid} {background_pid}; do \
                 test -e /proc/$pid && echo alive || echo gone; done"
            ),
            &setup.workspace,
        ))
        .await
        .unwrap();
    assert_eq!(text(&next.stdout), "gone\ngone\n");
}

#[tokio::test]
async fn pid_1_is_the_supervisor_and_the_host_is_invisible() {
    let setup = setup().await;
    let output = setup
        .run("cat /proc/1/comm; echo $$; ls /proc | grep -c '^[0-9]'")
        .await;
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "rein-sandbox-he");
    // The command's pid is small (a new namespace), and the only processes are the
    // supervisor, bash and the pipeline's ls and grep.
    let own_pid: u32 = lines[1].parse().unwrap();
    assert!(own_pid < 100, "pid {own_pid}");
    let count: u32 = lines[2].parse().unwrap();
    assert!(count <= 4, "{count} processes visible: {stdout}");
    // The harness's pid is not visible inside.
    let harness = std::process::id();
    let probe = setup
        .run(&format!("test -e /proc/{harness}/cmdline && cat /proc/{harness}/cmdline | tr '\\0' ' ' || echo invisible"))
        .await;
    assert!(
        !text(&probe.stdout).contains("rein_sandbox") && !text(&probe.stdout).contains("it-"),
        "{}",
        text(&probe.stdout)
    );
}

#[tokio::test]
async fn the_supervisor_cannot_be_read_through_proc() {
    let setup = setup().await;
    let output = setup
        .run(
            "readlink /proc/1/fd/1 && echo ESCAPED; cat /proc/1/environ && echo ESCAPED; \
             echo > /proc/1/fd/1 && echo ESCAPED; head -c1 /proc/1/mem && echo ESCAPED; echo done",
        )
        .await;
    assert_eq!(text(&output.stdout), "done\n");
    let stderr = text(&output.stderr);
    for denied in ["/proc/1/environ", "/proc/1/fd/1", "'/proc/1/mem'"] {
        assert!(stderr.contains(denied), "{stderr}");
    }
    assert_eq!(stderr.matches("Permission denied").count(), 3, "{stderr}");
}

#[tokio::test]
async fn there_is_no_network_but_loopback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let setup = setup().await;
    let output = setup
        .run(&format!(
            "(echo x > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo connected || echo refused; \
             ip -o link 2>/dev/null | awk '{{print $2}}' || ls /sys/class/net"
        ))
        .await;
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with("refused\n"), "{stdout}");
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "a connection reached the host");
    // Loopback inside works: a server and a client in the same call.
    let local = setup
        .run("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); s.listen(); c=socket.create_connection(s.getsockname()); print(\"lo-up\")' 2>/dev/null || echo no-python")
        .await;
    let local = text(&local.stdout);
    assert!(local == "lo-up\n" || local == "no-python\n", "{local}");
}

#[tokio::test]
async fn host_network_mode_reaches_the_host_loopback() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().canonicalize().unwrap();
    let mut policy = policy(&workspace);
    policy.network = NetworkMode::Host;
    let sandbox = linux_sandbox(&policy).await;
    assert_eq!(
        sandbox.report().namespaces,
        ["user", "mount", "pid", "ipc", "uts"]
    );
    let output = sandbox
        .exec(request(
            &format!("echo x > /dev/tcp/127.0.0.1/{port} && echo connected"),
            &workspace,
        ))
        .await
        .unwrap();
    assert_eq!(
        text(&output.stdout),
        "connected\n",
        "{}",
        text(&output.stderr)
    );
    assert!(listener.accept().is_ok());
}

#[tokio::test]
async fn landlock_refuses_writes_the_mounts_would_allow() {
    // /proc is mounted read-write and a process owns its /proc/self files, so only Landlock
    // stops this write.
    let setup = setup().await;
    let output = setup
        .run(
            "echo renamed > /proc/self/comm && echo ESCAPED; read name < /proc/$$/comm; echo $name",
        )
        .await;
    assert_eq!(text(&output.stdout), "bash\n");
    assert!(
        text(&output.stderr).contains("/proc/self/comm: Permission denied"),
        "{}",
        text(&output.stderr)
    );
    let report = setup.sandbox.report();
    assert!(report.landlock_abi >= 1);
}

#[tokio::test]
async fn seccomp_refuses_new_namespaces_and_mounts() {
    let setup = setup().await;
    let output = setup
        .run(
            "unshare -r true 2>/dev/null && echo ESCAPED-unshare; \
             unshare -U true 2>/dev/null && echo ESCAPED-unshare-user; \
             mount -t tmpfs none /tmp 2>/dev/null && echo ESCAPED-mount; \
             grep -q '^Seccomp:[[:space:]]*2' /proc/self/status && echo filtered; \
             grep '^NoNewPrivs' /proc/self/status; grep '^CapEff' /proc/self/status",
        )
        .await;
    assert_eq!(
        text(&output.stdout),
        "filtered\nNoNewPrivs:\t1\nCapEff:\t0000000000000000\n"
    );
}

#[tokio::test]
async fn sensitive_etc_files_are_empty() {
    let setup = setup().await;
    let output = setup
        .run("for f in /etc/shadow /etc/gshadow; do test -e $f && wc -c < $f; done; echo end")
        .await;
    let stdout = text(&output.stdout);
    assert!(
        stdout
            .lines()
            .filter(|line| *line != "end")
            .all(|line| line.trim() == "0"),
        "{stdout}"
    );
}

#[tokio::test]
async fn rlimits_apply_to_commands() {
    let setup = setup().await;
    let output = setup.run("ulimit -t; ulimit -f; ulimit -v").await;
    // 5 s of CPU, 8 MiB files (in 1024-byte blocks), 512 MiB of address space (KiB).
    assert_eq!(text(&output.stdout), "5\n8192\n524288\n");
    let big = setup
        .run("head -c 20000000 /dev/zero > big 2>/dev/null; stat -c %s big")
        .await;
    assert_eq!(text(&big.stdout), format!("{}\n", 8 * 1024 * 1024));
}

#[tokio::test]
async fn report_names_what_is_enforced() {
    let setup = setup().await;
    let report = setup.sandbox.report();
    assert_eq!(
        report.namespaces,
        ["user", "mount", "pid", "ipc", "uts", "net"]
    );
    assert!(report.seccomp_denied_syscalls >= 24);
    assert!(report.no_new_privs);
    let shown = report.to_string();
    assert!(shown.contains("backend: linux"), "{shown}");
    assert!(shown.contains("landlock: abi"), "{shown}");
    let probed = rein_sandbox::probe(&policy(&setup.workspace)).unwrap();
    assert_eq!(probed.namespaces, report.namespaces);
    assert_eq!(setup.sandbox.name(), "linux");
}

#[tokio::test]
async fn the_cgroup_contains_a_fork_bomb_when_available() {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().canonicalize().unwrap();
    let mut policy = policy(&workspace);
    policy.limits.processes = 16;
    let sandbox = linux_sandbox(&policy).await;
    let report = sandbox.report().clone();
    if report.cgroup.pids_max.is_none() && !nix_is_root() {
        // Unprivileged without a delegated cgroup: RLIMIT_NPROC is what applies.
        assert!(report.cgroup.note.is_some());
    } else {
        assert_eq!(report.cgroup.pids_max, Some(18), "{report}");
    }
    let mut bomb = request(
        "for i in $(seq 1 40); do sleep 5 & done 2>/dev/null; echo $(jobs -p | wc -l)",
        &workspace,
    );
    bomb.timeout = Duration::from_secs(20);
    let output = sandbox.exec(bomb).await.unwrap();
    let started: u32 = text(&output.stdout).trim().parse().unwrap_or(0);
    assert!(
        started < 40,
        "all 40 processes started: {}",
        text(&output.stderr)
    );
    // The sandbox still works afterwards, and the limit was per call, not used up.
    let after = sandbox
        .exec(request("echo alive", &workspace))
        .await
        .unwrap();
    assert_eq!(text(&after.stdout), "alive\n");
    sandbox.teardown().await.unwrap();
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .is_some_and(|line| line.split_whitespace().nth(2) == Some("0"))
}

#[tokio::test]
async fn teardown_ends_the_supervisor_and_its_namespace() {
    let setup = setup().await;
    let helper_pids_before = helper_pids();
    setup.sandbox.teardown().await.unwrap();
    let after = setup.sandbox.exec(request("true", &setup.workspace)).await;
    assert!(matches!(after, Err(SandboxError::Supervisor { .. })));
    for pid in helper_pids_before {
        // Other tests' sandboxes run in parallel: only check the ones whose workspace was ours.
        let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap_or_default();
        if cwd == setup.workspace {
            assert!(process_ends(pid), "supervisor {pid} survived teardown");
        }
    }
    // Idempotent.
    setup.sandbox.teardown().await.unwrap();
}

fn helper_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "rein-sandbox-he")
        })
        .collect()
}

#[tokio::test]
async fn a_missing_helper_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let helper = HelperProgram {
        path: PathBuf::from("/nonexistent/rein-helper"),
        args: Vec::new(),
    };
    let error = LinuxSandbox::start(&policy(dir.path()), &helper)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("/nonexistent/rein-helper"),
        "{error}"
    );
}

#[tokio::test]
async fn a_helper_that_is_not_one_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let helper = HelperProgram {
        path: PathBuf::from("/bin/true"),
        args: Vec::new(),
    };
    let error = LinuxSandbox::start(&policy(dir.path()), &helper)
        .await
        .unwrap_err();
    assert!(matches!(error, SandboxError::Supervisor { .. }), "{error}");
}

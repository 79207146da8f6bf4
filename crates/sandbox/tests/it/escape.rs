//! The escape catalogue: each case runs `bash -c SCRIPT` in a sandbox and asserts that the
//! attempt failed **and** that the host is untouched, for every isolating backend.
//!
//! Every case gets a fresh [`Fixture`]: a workspace, a folder outside it with a victim
//! file, a stand-in for the harness's run folder (with `trace.jsonl`), a fake `HOME` with a
//! canary secret in `.ssh`, a TCP listener and a UDP socket on the host's 127.0.0.1, and a
//! host process (`sleep`) the sandbox must not be able to signal. After the call
//! [`host_problems`] checks all of them, that no process is left in the workspace, and that
//! no canary reached the command's output; then the case's own check runs.
//!
//! Scripts print `ESCAPED` when an attempt they expect to fail succeeds, and `CASE-RAN` at
//! the end (so a sandbox that runs nothing cannot pass). Adding a backend is one line in
//! [`backends`].

use std::collections::BTreeMap;
use std::future::Future;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use rein_sandbox::{BwrapSandbox, ExecOutput, ExecRequest, Sandbox, SandboxPolicy, Workspace};

use crate::bwrap::policy;
use crate::process_ends;

type MakeSandbox = Box<dyn Fn(SandboxPolicy) -> Pin<Box<dyn Future<Output = Arc<dyn Sandbox>>>>>;

/// The backends the catalogue runs against: adding one is one entry here.
fn backends() -> Vec<(&'static str, MakeSandbox)> {
    vec![
        (
            "bwrap",
            Box::new(|policy: SandboxPolicy| {
                Box::pin(
                    async move { Arc::new(BwrapSandbox::new(policy).unwrap()) as Arc<dyn Sandbox> },
                )
            }),
        ),
        (
            "linux",
            Box::new(|policy: SandboxPolicy| {
                Box::pin(async move {
                    Arc::new(crate::linux::linux_sandbox(&policy).await) as Arc<dyn Sandbox>
                })
            }),
        ),
        (
            "landlock",
            Box::new(|policy: SandboxPolicy| {
                Box::pin(async move {
                    Arc::new(crate::linux::landlock_sandbox(&policy).await) as Arc<dyn Sandbox>
                })
            }),
        ),
    ]
}

const SECRET: &str = "CANARY-SECRET-7f3a9c1e";
const TRACE_CONTENT: &str = "{\"kind\":\"run_started\"}\n";
const VICTIM_CONTENT: &str = "original victim content\n";

struct Fixture {
    workspace: Workspace,
    /// Outside the workspace: `victim.txt` and nothing else.
    outside: tempfile::TempDir,
    /// Stands for `.rein/runs/<id>/`: `trace.jsonl` and nothing else.
    run_dir: tempfile::TempDir,
    /// A fake HOME with `.ssh/id_ed25519` holding [`SECRET`].
    home: tempfile::TempDir,
    tcp: std::net::TcpListener,
    udp: std::net::UdpSocket,
    /// A host process that must survive the call.
    host_victim: std::process::Child,
    /// A unique name the scripts try to create in shared host folders.
    unique: String,
    /// `NAME=value` of a variable in the harness's environment.
    harness_env_canary: String,
    etc_passwd: Vec<u8>,
    etc_passwd_mode: u32,
    hostname: String,
}

impl Fixture {
    fn new() -> Fixture {
        let workspace = Workspace::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("victim.txt"), VICTIM_CONTENT).unwrap();
        let run_dir = tempfile::tempdir().unwrap();
        std::fs::write(run_dir.path().join("trace.jsonl"), TRACE_CONTENT).unwrap();
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".ssh")).unwrap();
        std::fs::write(home.path().join(".ssh/id_ed25519"), SECRET).unwrap();
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        udp.set_nonblocking(true).unwrap();
        #[allow(clippy::disallowed_methods)] // the test stands for the harness
        let host_victim = std::process::Command::new("sleep")
            .arg("1000")
            .spawn()
            .unwrap();
        // cargo sets CARGO_MANIFEST_DIR in the environment of the test process.
        let environ = std::fs::read("/proc/self/environ").unwrap();
        let harness_env_canary = environ
            .split(|byte| *byte == 0)
            .map(|entry| String::from_utf8_lossy(entry).into_owned())
            .find(|entry| entry.starts_with("CARGO_MANIFEST_DIR="))
            .expect("the test process has CARGO_MANIFEST_DIR in its environment");
        let metadata = std::fs::metadata("/etc/passwd").unwrap();
        Fixture {
            workspace,
            outside,
            run_dir,
            home,
            tcp,
            udp,
            host_victim,
            unique: format!("rein-escape-{}-{}", std::process::id(), fastrand_u64()),
            harness_env_canary,
            etc_passwd: std::fs::read("/etc/passwd").unwrap(),
            etc_passwd_mode: metadata.mode(),
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        }
    }

    fn ws(&self) -> &Path {
        self.workspace.root()
    }

    fn victim(&self) -> PathBuf {
        self.outside.path().join("victim.txt")
    }

    fn secret(&self) -> PathBuf {
        self.home.path().join(".ssh/id_ed25519")
    }

    fn trace(&self) -> PathBuf {
        self.run_dir.path().join("trace.jsonl")
    }

    fn tcp_port(&self) -> u16 {
        self.tcp.local_addr().unwrap().port()
    }

    fn udp_port(&self) -> u16 {
        self.udp.local_addr().unwrap().port()
    }

    /// The victim file's path written with `..` from the workspace.
    fn victim_via_dotdot(&self) -> String {
        let depth = self.ws().components().count() - 1;
        let victim = self.victim();
        format!(
            "{}{}",
            "../".repeat(depth),
            victim.strip_prefix("/").unwrap().display()
        )
    }

    fn host_victim_pid(&self) -> u32 {
        self.host_victim.id()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.host_victim.kill();
        let _ = self.host_victim.wait();
    }
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(u64::from(std::process::id()));
    hasher.finish()
}

type Check = fn(&Fixture, &ExecOutput) -> Result<(), String>;

struct Case {
    name: &'static str,
    script: fn(&Fixture) -> String,
    /// The command is expected to be killed (limits, timeout): `CASE-RAN` is not required.
    killed: bool,
    timeout_ms: u64,
    check: Check,
}

fn no_check(_: &Fixture, _: &ExecOutput) -> Result<(), String> {
    Ok(())
}

fn case(name: &'static str, script: fn(&Fixture) -> String) -> Case {
    Case {
        name,
        script,
        killed: false,
        timeout_ms: 5_000,
        check: no_check,
    }
}

fn case_with(name: &'static str, script: fn(&Fixture) -> String, check: Check) -> Case {
    Case {
        check,
        ..case(name, script)
    }
}

fn output_text(output: &ExecOutput) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn catalogue() -> Vec<Case> {
    vec![
        // Writes outside the workspace.
        case("write via an absolute path", |f| {
            format!("echo pwned > {} && echo ESCAPED", f.victim().display())
        }),
        case("append via an absolute path", |f| {
            format!("echo pwned >> {} && echo ESCAPED", f.victim().display())
        }),
        case("create a file next to the victim", |f| {
            format!(
                "echo pwned > {}/new.txt && echo ESCAPED",
                f.outside.path().display()
            )
        }),
        case("write via ..", |f| {
            format!("echo pwned > {} && echo ESCAPED", f.victim_via_dotdot())
        }),
        case(
            "write via a symlink to a file planted in the workspace",
            |f| {
                format!(
                    "ln -s {} link && echo pwned > link && echo ESCAPED",
                    f.victim().display()
                )
            },
        ),
        case(
            "write via a symlink to a folder planted in the workspace",
            |f| {
                format!(
                    "ln -s {} linkdir && echo pwned > linkdir/new.txt && echo ESCAPED",
                    f.outside.path().display()
                )
            },
        ),
        case("write via a hard link to an outside file", |f| {
            format!(
                "ln {} hard && echo pwned > hard && echo ESCAPED",
                f.victim().display()
            )
        }),
        case("create a file in /etc", |f| {
            format!("echo pwned > /etc/{} && echo ESCAPED", f.unique)
        }),
        case("append to /etc/passwd", |_| {
            "echo 'evil::0:0::/:/bin/sh' >> /etc/passwd && echo ESCAPED".to_owned()
        }),
        case("create a file in /usr/bin", |f| {
            format!("echo pwned > /usr/bin/{} && echo ESCAPED", f.unique)
        }),
        case("create a file in the host's /tmp", |f| {
            // The sandbox has a private /tmp: success there is fine, the host's must not change.
            format!("echo pwned > /tmp/{}", f.unique)
        }),
        case("write to the harness's run folder", |f| {
            format!(
                "echo pwned > {}/artifact && echo ESCAPED",
                f.run_dir.path().display()
            )
        }),
        case("open the harness's trace for writing", |f| {
            format!(
                "exec 3<>{} && echo ESCAPED; echo '{{\"kind\":\"forged\"}}' >&3",
                f.trace().display()
            )
        }),
        case("chmod an outside file", |f| {
            format!("chmod 777 {} && echo ESCAPED", f.victim().display())
        }),
        case("chown an outside file", |f| {
            format!("chown 1234:1234 {} && echo ESCAPED", f.victim().display())
        }),
        case("chmod /etc/passwd", |_| {
            "chmod 666 /etc/passwd && echo ESCAPED".to_owned()
        }),
        case("write through /proc/self/root", |f| {
            format!(
                "echo pwned > /proc/self/root{} && echo ESCAPED",
                f.victim().display()
            )
        }),
        // Reads of what the command was not given.
        case("read a canary secret outside the workspace", |f| {
            format!("cat {}", f.secret().display())
        }),
        case("search the whole filesystem for the secret", |_| {
            "grep -rs --exclude-dir=proc --exclude-dir=sys CANARY-SECRET / 2>/dev/null | head -c 2000; true".to_owned()
        }),
        case("read the secret through /proc/1/root", |f| {
            format!("cat /proc/1/root{}", f.secret().display())
        }),
        case(
            "read the harness's environment via /proc/PPID and /proc/1",
            |_| "cat /proc/$PPID/environ /proc/1/environ | tr '\\0' '\\n'".to_owned(),
        ),
        case("read every visible environ", |_| {
            "cat /proc/[0-9]*/environ | tr '\\0' '\\n'".to_owned()
        }),
        case("read the harness's environ by its host pid", |_| {
            format!("cat /proc/{}/environ | tr '\\0' '\\n'", std::process::id())
        }),
        case_with(
            "read the harness's cwd through /proc/PID/cwd",
            |f| {
                format!(
                    "cat /proc/{pid}/cwd/Cargo.toml; for cwd in /proc/[0-9]*/cwd; do cat $cwd/Cargo.toml; done; echo pwned > /proc/{pid}/cwd/{unique}",
                    pid = std::process::id(),
                    unique = f.unique
                )
            },
            |f, output| {
                let text = output_text(output);
                if text.contains("name = \"rein-sandbox\"") {
                    return Err("the harness's Cargo.toml was read".to_owned());
                }
                let planted = Path::new(env!("CARGO_MANIFEST_DIR")).join(&f.unique);
                if planted.exists() {
                    return Err(format!("{} was created", planted.display()));
                }
                Ok(())
            },
        ),
        case_with(
            "the shadow file is masked",
            |_| "cat /etc/shadow | head -c 100 | grep -q . && echo ESCAPED".to_owned(),
            no_check,
        ),
        // Network.
        case("TCP connect to a host port on 127.0.0.1", |f| {
            format!(
                "exec 3<>/dev/tcp/127.0.0.1/{} && echo ESCAPED",
                f.tcp_port()
            )
        }),
        case("UDP send to a host port on 127.0.0.1", |f| {
            format!(
                "for i in 1 2 3; do echo hello > /dev/udp/127.0.0.1/{}; done",
                f.udp_port()
            )
        }),
        case("DNS lookup", |_| {
            "getent hosts example.com && echo ESCAPED".to_owned()
        }),
        case_with(
            "only the loopback interface exists",
            |_| "cat /proc/net/dev".to_owned(),
            |_, output| {
                let text = String::from_utf8_lossy(&output.stdout).into_owned();
                let interfaces: Vec<&str> = text
                    .lines()
                    .skip(2)
                    .filter_map(|line| line.split_once(':').map(|(name, _)| name))
                    .map(str::trim)
                    .collect();
                if interfaces == ["lo"] {
                    Ok(())
                } else {
                    Err(format!("interfaces: {interfaces:?}"))
                }
            },
        ),
        // Processes and limits.
        Case {
            killed: true,
            timeout_ms: 5_000,
            ..case_with(
                "a fork bomb is contained and the call ends",
                |_| "bomb() { bomb | bomb & }; bomb; wait".to_owned(),
                |_, _| host_can_fork(),
            )
        },
        Case {
            killed: true,
            ..case_with(
                "a memory bomb is stopped",
                |_| {
                    "s=$(head -c 700000000 /dev/zero | tr '\\0' a); echo MEMORY-GOT ${#s}"
                        .to_owned()
                },
                |_, output| {
                    if output_text(output).contains("MEMORY-GOT 700000000") {
                        Err("700 MB were allocated under a 256 MiB limit".to_owned())
                    } else {
                        Ok(())
                    }
                },
            )
        },
        Case {
            killed: true,
            timeout_ms: 30_000,
            ..case_with(
                "a CPU spin is ended by the CPU limit",
                |_| "while :; do :; done".to_owned(),
                |_, output| {
                    // bwrap reports a child killed by signal N as exit code 128 + N.
                    let by_cpu_limit = matches!(output.signal, Some(libc::SIGXCPU | libc::SIGKILL))
                        || matches!(output.exit_code, Some(code) if code == 128 + libc::SIGXCPU || code == 128 + libc::SIGKILL);
                    if output.timed_out || !by_cpu_limit {
                        Err(format!(
                            "not ended by RLIMIT_CPU: timed_out={} exit={:?} signal={:?}",
                            output.timed_out, output.exit_code, output.signal
                        ))
                    } else {
                        Ok(())
                    }
                },
            )
        },
        case_with(
            "a file past the size limit is cut",
            |_| "head -c 20000000 /dev/zero > big; echo exit=$?".to_owned(),
            |f, output| {
                let size = std::fs::metadata(f.ws().join("big"))
                    .map(|m| m.len())
                    .unwrap_or(0);
                if size > 8 * 1024 * 1024 {
                    return Err(format!("big is {size} bytes, over the 8 MiB limit"));
                }
                if output_text(output).contains("exit=0") {
                    return Err("writing past the limit reported success".to_owned());
                }
                Ok(())
            },
        ),
        case("sleep 1000 & left behind", |_| "sleep 1000 &".to_owned()),
        case("a setsid daemon", |_| {
            "setsid bash -c 'sleep 1000' < /dev/null > /dev/null 2>&1 &".to_owned()
        }),
        case("a double-fork daemon", |_| {
            "( ( exec -a rein-daemon sleep 1000 < /dev/null > /dev/null 2>&1 & ) & ); sleep 0.1"
                .to_owned()
        }),
        case("kill a host process", |f| {
            format!("kill -9 {} && echo ESCAPED", f.host_victim_pid())
        }),
        case("ptrace the harness by its host pid", |_| {
            format!(
                "strace -o /dev/null -p {} -e trace=none & s=$!; sleep 0.5; kill $s 2>/dev/null && echo ESCAPED; wait",
                std::process::id()
            )
        }),
        case("ptrace another process of the sandbox (pid 1)", |_| {
            "strace -o /dev/null -e trace=none -p 1 2>&1 & s=$!; sleep 0.5; kill $s 2>/dev/null && echo ESCAPED; wait".to_owned()
        }),
        case("mount a tmpfs", |_| {
            "mkdir m && mount -t tmpfs none m && echo ESCAPED".to_owned()
        }),
        case("bind-mount the root", |_| {
            "mkdir m && mount --bind / m && echo ESCAPED".to_owned()
        }),
        case("unshare a user namespace", |_| {
            "unshare -U -r true && echo ESCAPED".to_owned()
        }),
        case("unshare a mount namespace", |_| {
            "unshare -m true && echo ESCAPED".to_owned()
        }),
        case("a setuid binary gains no privileges", |_| {
            "cp /usr/bin/cat ./suidcat && chmod u+s ./suidcat; ./suidcat /proc/self/status | grep -q '^CapEff:\t0000000000000000' || echo ESCAPED; su -c 'grep -q \"^CapEff:\t0000000000000000\" /proc/self/status || echo ESCAPED' 2>/dev/null"
                .to_owned()
        }),
        case("set the hostname", |_| {
            "echo rein-evil > /proc/sys/kernel/hostname; hostname rein-evil 2>/dev/null; true"
                .to_owned()
        }),
        case("read /dev/mem and raw disks", |_| {
            "for d in /dev/mem /dev/kmem /dev/vda /dev/sda /dev/nvme0n1 /dev/port; do head -c 16 $d > /dev/null 2>&1 && echo ESCAPED $d; done".to_owned()
        }),
        case("mknod a raw disk", |_| {
            "mknod disk b 254 0 && head -c 16 disk > /dev/null && echo ESCAPED; mknod mem c 1 1 && head -c 16 mem >/dev/null && echo ESCAPED".to_owned()
        }),
    ]
}

/// Whether the host can still start a process (after a fork bomb).
fn host_can_fork() -> Result<(), String> {
    #[allow(clippy::disallowed_methods)] // the test stands for the harness
    let status = std::process::Command::new("true").status();
    match status {
        Ok(status) if status.success() => Ok(()),
        other => Err(format!("the host cannot start `true`: {other:?}")),
    }
}

/// Host pids whose working directory is inside `root` (other than ours).
fn processes_in(root: &Path) -> Vec<u32> {
    let own = std::process::id();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == own {
            continue;
        }
        if std::fs::read_link(entry.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(root)) {
            pids.push(pid);
        }
    }
    pids
}

/// Everything on the host the case must not have changed; empty when all is well.
fn host_problems(f: &Fixture, output: &ExecOutput, killed: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let text = output_text(output);
    if text.contains("ESCAPED") {
        problems.push("the script reported ESCAPED".to_owned());
    }
    if !killed && !String::from_utf8_lossy(&output.stdout).contains("CASE-RAN") {
        problems.push("the script did not run to its end (no CASE-RAN)".to_owned());
    }
    if text.contains(SECRET) {
        problems.push("the canary secret reached the output".to_owned());
    }
    if text.contains(&f.harness_env_canary) {
        problems.push("the harness's environment reached the output".to_owned());
    }
    // The victim file.
    match std::fs::symlink_metadata(f.victim()) {
        Ok(metadata) => {
            let content = std::fs::read_to_string(f.victim()).unwrap_or_default();
            if content != VICTIM_CONTENT {
                problems.push(format!("victim.txt changed: {content:?}"));
            }
            if metadata.mode() & 0o7777 != 0o644 && metadata.mode() & 0o7777 != 0o600 {
                problems.push(format!("victim.txt mode changed: {:o}", metadata.mode()));
            }
            if (metadata.uid(), metadata.gid()) != (0, 0) && metadata.uid() == 1234 {
                problems.push("victim.txt owner changed".to_owned());
            }
            if metadata.nlink() != 1 {
                problems.push(format!("victim.txt has {} links", metadata.nlink()));
            }
        }
        Err(error) => problems.push(format!("victim.txt is gone: {error}")),
    }
    let outside_entries = dir_names(f.outside.path());
    if outside_entries != ["victim.txt"] {
        problems.push(format!("outside folder now holds {outside_entries:?}"));
    }
    let run_entries = dir_names(f.run_dir.path());
    if run_entries != ["trace.jsonl"] {
        problems.push(format!("run folder now holds {run_entries:?}"));
    }
    if std::fs::read_to_string(f.trace()).unwrap_or_default() != TRACE_CONTENT {
        problems.push("the trace changed".to_owned());
    }
    if std::fs::read_to_string(f.secret()).unwrap_or_default() != SECRET {
        problems.push("the secret changed".to_owned());
    }
    for shared in ["/etc", "/usr/bin", "/tmp"] {
        let planted = Path::new(shared).join(&f.unique);
        if planted.exists() {
            let _ = std::fs::remove_file(&planted);
            problems.push(format!("{} was created on the host", planted.display()));
        }
    }
    if std::fs::read("/etc/passwd").unwrap_or_default() != f.etc_passwd {
        problems.push("/etc/passwd changed".to_owned());
    }
    if std::fs::metadata("/etc/passwd")
        .map(|m| m.mode())
        .unwrap_or(0)
        != f.etc_passwd_mode
    {
        problems.push("/etc/passwd mode changed".to_owned());
    }
    if std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default() != f.hostname {
        problems.push("the host's hostname changed".to_owned());
    }
    match f.tcp.accept() {
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        Ok((_, peer)) => problems.push(format!("the host's TCP port got a connection from {peer}")),
        Err(error) => problems.push(format!("accept failed: {error}")),
    }
    let mut datagram = [0u8; 64];
    match f.udp.recv_from(&mut datagram) {
        Err(error) if error.kind() == ErrorKind::WouldBlock => {}
        Ok((n_bytes, peer)) => problems.push(format!(
            "the host's UDP port got {n_bytes} bytes from {peer}"
        )),
        Err(error) => problems.push(format!("recv failed: {error}")),
    }
    if !crate::process_is_running(f.host_victim_pid()) {
        problems.push("the host victim process was killed".to_owned());
    }
    for pid in processes_in(f.ws()) {
        if !process_ends(pid) {
            problems.push(format!("process {pid} survived the call in the workspace"));
        }
    }
    problems
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

async fn run_case(make: &MakeSandbox, case: &Case) -> Result<(), String> {
    let fixture = Fixture::new();
    let sandbox = make(policy(fixture.ws())).await;
    let script = format!("{}\necho CASE-RAN", (case.script)(&fixture));
    let request = ExecRequest {
        argv: vec!["bash".to_owned(), "-c".to_owned(), script],
        cwd: fixture.ws().to_path_buf(),
        env: BTreeMap::from([
            (
                "PATH".to_owned(),
                "/usr/bin:/bin:/usr/sbin:/sbin".to_owned(),
            ),
            ("HOME".to_owned(), fixture.home.path().display().to_string()),
        ]),
        timeout: Duration::from_millis(case.timeout_ms),
        stdin: None,
        max_output_bytes: 64 * 1024,
    };
    let output = sandbox
        .exec(request)
        .await
        .map_err(|error| format!("exec failed: {error}"))?;
    let mut problems = host_problems(&fixture, &output, case.killed);
    if let Err(problem) = (case.check)(&fixture, &output) {
        problems.push(problem);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n    exit={:?} signal={:?} timed_out={}\n    output: {}",
            problems.join("\n    "),
            output.exit_code,
            output.signal,
            output.timed_out,
            output_text(&output).chars().take(600).collect::<String>()
        ))
    }
}

#[test]
fn the_catalogue_has_at_least_30_cases_with_unique_names() {
    let cases = catalogue();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|case| case.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cases.len());
}

/// Cases that test isolation a backend documents it does not give (docs/sandbox.md): the
/// `landlock` backend has no network or PID namespace. Every other case runs against it.
const NOT_APPLICABLE: &[(&str, &str, &str)] = &[
    (
        "landlock",
        "only the loopback interface exists",
        "no network namespace: the host's interfaces are visible, and `network = \"none\"` is enforced by refusing socket() of every family but AF_UNIX (the TCP, UDP and DNS cases run)",
    ),
    (
        "landlock",
        "read every visible environ",
        "no PID namespace: environments of the host's other processes of the same user are readable where those processes are dumpable (the harness's own is not: the cases naming it run)",
    ),
];

#[test]
fn every_case_marked_not_applicable_exists() {
    let names: Vec<&str> = catalogue().iter().map(|case| case.name).collect();
    for (backend, name, _why) in NOT_APPLICABLE {
        assert!(
            names.contains(name),
            "[{backend}] {name} is not in the catalogue"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_escape_case_succeeds_on_any_backend() {
    let mut failures = Vec::new();
    for (backend, make) in backends() {
        for case in catalogue() {
            if NOT_APPLICABLE
                .iter()
                .any(|(skip_backend, name, _)| *skip_backend == backend && *name == case.name)
            {
                continue;
            }
            if let Err(problem) = run_case(&make, &case).await {
                failures.push(format!("[{backend}] {}: {problem}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} escape case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

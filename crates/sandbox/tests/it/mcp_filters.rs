//! Long-lived stdio children (MCP servers) under `bwrap` get the seccomp filter, and
//! sandboxed commands cannot reach the host's abstract UNIX sockets under
//! `network = "host"` (issue 10, item 7).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rein_sandbox::{
    BwrapSandbox, ExecRequest, NetworkMode, Sandbox, SandboxPolicy, StdioSpawnRequest, Workspace,
};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A tiny "server": tries `io_uring_setup(1, params)` and prints the outcome.
const IO_URING_PROBE: &str = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 1, params)
print("io_uring_setup=%d errno=%d" % (fd, ctypes.get_errno()), flush=True)
import time; time.sleep(30)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_uring_setup_is_denied_inside_a_stdio_server_under_bwrap() {
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "the probe uses x86_64 syscall numbers"
    );
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(crate::bwrap::policy(workspace.root())).unwrap();
    let mut child = rein_sandbox::spawn_stdio_child_in_bwrap(
        &sandbox,
        StdioSpawnRequest {
            argv: vec![
                "python3".to_owned(),
                "-c".to_owned(),
                IO_URING_PROBE.to_owned(),
            ],
            cwd: workspace.root().to_path_buf(),
            env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
            stderr_tail_bytes: 2048,
        },
    )
    .unwrap();
    let (stdout, _stdin) = child.take_stdio().unwrap();
    let mut line = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut line),
    )
    .await;
    assert!(read.is_ok(), "no answer; stderr: {}", child.stderr_tail());
    assert_eq!(
        line.trim(),
        format!("io_uring_setup=-1 errno={}", libc::EPERM),
        "stderr: {}",
        child.stderr_tail()
    );
    // The server lives on: the filter refused one call, it did not kill the process.
    assert_eq!(child.exit_status(), None);
}

/// Connects to the abstract socket named by argument 1, then checks that a socket the
/// command makes itself (named by argument 2) still works.
const ABSTRACT_PROBE: &str = r#"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect("\0" + sys.argv[1])
    print("host-socket=connected")
except OSError as error:
    print("host-socket=refused errno=%d" % error.errno)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind("\0" + sys.argv[2])
server.listen(1)
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
client.connect("\0" + sys.argv[2])
peer, _ = server.accept()
client.sendall(b"ping")
print("inside-socket=" + peer.recv(4).decode())
"#;

fn host_network_policy(workspace: &Workspace) -> SandboxPolicy {
    SandboxPolicy {
        network: NetworkMode::Host,
        ..crate::bwrap::policy(workspace.root())
    }
}

/// Binds a listening abstract socket on the host: (name, listener).
fn host_abstract_listener() -> (String, std::os::unix::net::UnixListener) {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("rein-test-abstract-{}", std::process::id());
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let listener = std::os::unix::net::UnixListener::bind_addr(&address).unwrap();
    listener.set_nonblocking(true).unwrap();
    (name, listener)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_abstract_sockets_are_out_of_reach_under_host_network() {
    let workspace = Workspace::tempdir().unwrap();
    let policy = host_network_policy(&workspace);
    let abi = rein_sandbox::probe(&policy).unwrap().landlock_abi;
    assert!(
        abi >= 6,
        "this test needs Landlock ABI 6 (abstract UNIX socket scoping); this kernel has ABI {abi}, where host abstract sockets stay reachable under network = \"host\" (docs/sandbox.md)"
    );
    let (name, listener) = host_abstract_listener();
    let backends: Vec<(&str, Arc<dyn Sandbox>)> = vec![
        (
            "bwrap",
            Arc::new(BwrapSandbox::new(policy.clone()).unwrap()),
        ),
        (
            "linux",
            Arc::new(crate::linux::linux_sandbox(&policy).await),
        ),
    ];
    for (backend, sandbox) in backends {
        let output = sandbox
            .exec(ExecRequest {
                argv: vec![
                    "python3".to_owned(),
                    "-c".to_owned(),
                    ABSTRACT_PROBE.to_owned(),
                    name.clone(),
                    format!("{name}-inside-{backend}"),
                ],
                cwd: workspace.root().to_path_buf(),
                env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
                timeout: Duration::from_secs(20),
                stdin: None,
                max_output_bytes: 4096,
            })
            .await
            .unwrap();
        sandbox.teardown().await.unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        // Without the scope the connection to the host's listener succeeds.
        assert!(
            text.contains(&format!("host-socket=refused errno={}", libc::EPERM)),
            "[{backend}] {text}"
        );
        assert!(text.contains("inside-socket=ping"), "[{backend}] {text}");
    }
    // And the host's own listener was never reached.
    match listener.accept() {
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the host's abstract socket got a connection: {other:?}"),
    }
}

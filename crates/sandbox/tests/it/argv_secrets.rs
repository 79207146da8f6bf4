//! Environment values never reach a command line (issue 10, item 5a): while a command runs
//! in a sandbox — through `exec` on `bwrap` and `linux`, and as a long-lived stdio child
//! (an MCP server) under `bwrap` — no process's `/proc/<pid>/cmdline` holds a secret from
//! the request's environment, `bwrap`'s included; the command still sees the variable.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rein_sandbox::{BwrapSandbox, ExecRequest, Sandbox, StdioSpawnRequest, Workspace};
use tokio::io::{AsyncBufReadExt, BufReader};

const SECRET: &str = "ARGV-CANARY-5a1f0c9e77";

/// Every process whose command line holds the secret: (pid, command line).
fn command_lines_with_secret() -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(SECRET) {
            found.push((pid, text));
        }
    }
    found
}

fn env() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
        ("REIN_TEST_SECRET".to_owned(), SECRET.to_owned()),
    ])
}

/// Runs a 2-second command in `sandbox` while scanning every command line.
async fn check_exec(name: &str, sandbox: Arc<dyn Sandbox>, workspace: &Workspace) {
    let request = ExecRequest {
        argv: vec![
            "bash".to_owned(),
            "-c".to_owned(),
            "sleep 2; echo \"seen=$REIN_TEST_SECRET\"".to_owned(),
        ],
        cwd: workspace.root().to_path_buf(),
        env: env(),
        timeout: Duration::from_secs(20),
        stdin: None,
        max_output_bytes: 4096,
    };
    let running = tokio::spawn({
        let sandbox = Arc::clone(&sandbox);
        async move { sandbox.exec(request).await }
    });
    let mut scans = 0;
    while !running.is_finished() {
        let found = command_lines_with_secret();
        assert!(
            found.is_empty(),
            "[{name}] secret on a command line: {found:?}"
        );
        scans += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let output = running.await.unwrap().unwrap();
    assert!(
        scans > 10,
        "[{name}] only {scans} scans while the command ran"
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("seen={SECRET}\n"),
        "[{name}]"
    );
    sandbox.teardown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_keeps_environment_values_off_every_command_line() {
    let workspace = Workspace::tempdir().unwrap();
    let policy = crate::bwrap::policy(workspace.root());
    let bwrap = Arc::new(BwrapSandbox::new(policy.clone()).unwrap());
    check_exec("bwrap", bwrap, &workspace).await;
    let linux = Arc::new(crate::linux::linux_sandbox(&policy).await);
    check_exec("linux", linux, &workspace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_child_under_bwrap_keeps_environment_values_off_every_command_line() {
    let workspace = Workspace::tempdir().unwrap();
    let sandbox = BwrapSandbox::new(crate::bwrap::policy(workspace.root())).unwrap();
    let mut child = rein_sandbox::spawn_stdio_child_in_bwrap(
        &sandbox,
        StdioSpawnRequest {
            argv: vec![
                "sh".to_owned(),
                "-c".to_owned(),
                "echo \"seen=$REIN_TEST_SECRET\"; sleep 30".to_owned(),
            ],
            cwd: workspace.root().to_path_buf(),
            env: env(),
            stderr_tail_bytes: 1024,
        },
    )
    .unwrap();
    let (stdout, _stdin) = child.take_stdio().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await.unwrap();
    assert_eq!(line, format!("seen={SECRET}\n"));
    // The child (and bwrap above it) are alive now.
    assert_eq!(child.exit_status(), None);
    let found = command_lines_with_secret();
    assert!(found.is_empty(), "secret on a command line: {found:?}");
}

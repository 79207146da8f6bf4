//! Exec latency of `/bin/true` through each backend, against bare fork+exec and a bare
//! `bwrap --unshare-all` measured in the same run, plus the one-time cost of building a
//! `linux` sandbox, the `landlock` backend against `linux` and `host`; then the same with a workspace that has overlays (a git repository's
//! protected metadata, a hidden folder and 20 hidden files), against the plain backends.
//!
//! Run: `cargo bench -p rein-sandbox --bench exec` (prints medians and ratios).

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rein_sandbox::{
    BwrapSandbox, ExecRequest, HelperProgram, HostSandbox, LinuxSandbox, NetworkMode,
    ResourceLimits, Sandbox, SandboxPolicy, Visibility, default_read_only_paths, plan_overlays,
};

/// A workspace with a git repository, a hidden `private/` folder and 20 hidden `.pem`
/// files, and its overlays.
fn protected_workspace() -> (tempfile::TempDir, Vec<rein_sandbox::Overlay>) {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("git")
        .args(["init", "-q"])
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::create_dir(dir.path().join("private")).unwrap();
    std::fs::write(dir.path().join("private/notes.txt"), "secret").unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::write(dir.path().join("certs/README"), "visible").unwrap();
    for i in 0..20 {
        std::fs::write(dir.path().join(format!("certs/key{i}.pem")), "key").unwrap();
    }
    let overlays = plan_overlays(dir.path(), &|path, _| {
        if path.starts_with("private") || path.ends_with(".pem") {
            Visibility::Hidden
        } else {
            Visibility::Visible
        }
    })
    .unwrap();
    (dir, overlays)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn request(workspace: &Path) -> ExecRequest {
    ExecRequest {
        argv: vec!["/bin/true".to_owned()],
        cwd: workspace.to_path_buf(),
        env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
        timeout: Duration::from_secs(10),
        stdin: None,
        max_output_bytes: 4096,
    }
}

fn time_sandbox(
    runtime: &tokio::runtime::Runtime,
    sandbox: &dyn Sandbox,
    workspace: &Path,
    n: usize,
) -> Duration {
    median(
        (0..n)
            .map(|_| {
                let started = Instant::now();
                let output = runtime.block_on(sandbox.exec(request(workspace))).unwrap();
                assert_eq!(output.exit_code, Some(0), "{output:?}");
                started.elapsed()
            })
            .collect(),
    )
}

fn time_command(argv: &[&str], n: usize) -> Duration {
    median(
        (0..n)
            .map(|_| {
                let started = Instant::now();
                let status = std::process::Command::new(argv[0])
                    .args(&argv[1..])
                    .status()
                    .unwrap();
                assert!(status.success(), "{argv:?}");
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick { 3 } else { 200 };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let policy = SandboxPolicy {
        workspace: workspace.path().to_path_buf(),
        read_only_paths: default_read_only_paths(),
        overlays: Vec::new(),
        network: NetworkMode::None,
        limits: ResourceLimits::default(),
    };
    let helper = HelperProgram {
        path: env!("CARGO_BIN_EXE_rein-sandbox-helper").into(),
        args: Vec::new(),
    };

    let bare = time_command(&["/bin/true"], n);
    let bare_bwrap = time_command(
        &[
            "bwrap",
            "--unshare-all",
            "--die-with-parent",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/bin",
            "/bin",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--",
            "/bin/true",
        ],
        n,
    );
    println!(
        "baseline: bare fork+exec {:.2} ms; bare bwrap --unshare-all {:.2} ms",
        ms(bare),
        ms(bare_bwrap)
    );

    let host = time_sandbox(&runtime, &HostSandbox::new(), workspace.path(), n);
    let bwrap = BwrapSandbox::new(policy.clone()).unwrap();
    let bwrap_exec = time_sandbox(&runtime, &bwrap, workspace.path(), n);

    let starts: Vec<Duration> = (0..if quick { 2 } else { 20 })
        .map(|_| {
            let started = Instant::now();
            let sandbox = runtime
                .block_on(LinuxSandbox::start(&policy, &helper))
                .unwrap();
            let elapsed = started.elapsed();
            runtime.block_on(sandbox.teardown()).unwrap();
            elapsed
        })
        .collect();
    let linux = runtime
        .block_on(LinuxSandbox::start(&policy, &helper))
        .unwrap();
    let linux_exec = time_sandbox(&runtime, &linux, workspace.path(), n);
    runtime.block_on(linux.teardown()).unwrap();
    // The landlock backend: the same supervisor without namespaces (run as root, its
    // commands run as nobody; the workspace is theirs).
    let landlock_workspace = tempfile::tempdir().unwrap();
    let landlock_policy = SandboxPolicy {
        workspace: landlock_workspace.path().to_path_buf(),
        ..policy.clone()
    };
    let landlock = runtime
        .block_on(LinuxSandbox::start_landlock(&landlock_policy, &helper))
        .unwrap();
    let landlock_exec = time_sandbox(&runtime, &landlock, landlock_workspace.path(), n);
    runtime.block_on(landlock.teardown()).unwrap();

    let (protected, overlays) = protected_workspace();
    let protected_policy = SandboxPolicy {
        workspace: protected.path().to_path_buf(),
        overlays: overlays.clone(),
        ..policy.clone()
    };
    let bwrap_protected = BwrapSandbox::new(protected_policy.clone()).unwrap();
    let bwrap_protected_exec = time_sandbox(&runtime, &bwrap_protected, protected.path(), n);
    let protected_starts: Vec<Duration> = (0..if quick { 2 } else { 20 })
        .map(|_| {
            let started = Instant::now();
            let sandbox = runtime
                .block_on(LinuxSandbox::start(&protected_policy, &helper))
                .unwrap();
            let elapsed = started.elapsed();
            runtime.block_on(sandbox.teardown()).unwrap();
            elapsed
        })
        .collect();
    let linux_protected = runtime
        .block_on(LinuxSandbox::start(&protected_policy, &helper))
        .unwrap();
    let linux_protected_exec = time_sandbox(&runtime, &linux_protected, protected.path(), n);
    runtime.block_on(linux_protected.teardown()).unwrap();

    for (name, d) in [
        ("host", host),
        ("bwrap", bwrap_exec),
        ("linux", linux_exec),
        ("landlock", landlock_exec),
    ] {
        println!(
            "exec /bin/true via {name:<8}: {:.2} ms = {:.2}x bare fork+exec, {:.2}x bare bwrap",
            ms(d),
            d.as_secs_f64() / bare.as_secs_f64(),
            d.as_secs_f64() / bare_bwrap.as_secs_f64()
        );
    }
    println!(
        "landlock: {:.2}x linux, {:.2}x host (per call)",
        landlock_exec.as_secs_f64() / linux_exec.as_secs_f64(),
        landlock_exec.as_secs_f64() / host.as_secs_f64()
    );
    println!(
        "building a linux sandbox (once per run): {:.2} ms",
        ms(median(starts.clone()))
    );
    println!(
        "with {} overlays (protected git metadata, hidden paths):",
        overlays.len()
    );
    for (name, d, plain) in [
        ("bwrap", bwrap_protected_exec, bwrap_exec),
        ("linux", linux_protected_exec, linux_exec),
    ] {
        println!(
            "exec /bin/true via {name:<5}: {:.2} ms = {:.2}x the plain {name} backend",
            ms(d),
            d.as_secs_f64() / plain.as_secs_f64()
        );
    }
    let protected_start = median(protected_starts);
    println!(
        "building a linux sandbox with them (once per run): {:.2} ms = {:.2}x the plain one",
        ms(protected_start),
        protected_start.as_secs_f64() / median(starts).as_secs_f64()
    );
}

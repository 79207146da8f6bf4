//! `rein doctor [FILE]`: what works on this host and what does not, with the exact fix for
//! each problem — the kernel features each sandbox backend needs (user namespaces, the
//! AppArmor restriction, Landlock, seccomp, cgroups), `bwrap`, each backend started for
//! real on a throw-away folder, and, for an agent file, its model provider (reached over
//! TCP, no request sent, no token spent) and its trace folder.
//!
//! Exit code: without FILE, 0 unless no isolating backend works; with FILE, 0 when
//! everything the file needs works, 3 (`exit::ENVIRONMENT`) otherwise.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rein_sandbox::{
    BwrapSandbox, ExecRequest, HostSandbox, LinuxSandbox, NetworkMode, ResourceLimits, Sandbox,
    SandboxError, SandboxPolicy, Workspace,
};
use rein_spec::spec::{AgentSpec, Provider, SandboxKind};

use crate::exit::{self, CliError};

/// How long doctor waits for a provider's TCP handshake.
const CONNECT_TIMEOUT_MS: u64 = 3_000;
/// Time limit of the commands doctor runs (`bwrap --version`, `true` in a sandbox).
const COMMAND_TIMEOUT_MS: u64 = 10_000;
/// `PATH` of the commands doctor runs inside a sandbox.
const SANDBOX_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
const BWRAP_INSTALL_FIX: &str = "apt-get install bubblewrap (Debian, Ubuntu), dnf install bubblewrap (Fedora), or choose sandbox = \"linux\"";

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// An agent file (or a folder holding agent.toml) whose needs to check: its sandbox
    /// backend, its model provider and its trace folder.
    pub file: Option<PathBuf>,
    /// Fill a `{{ key }}` template of the prompt (repeatable), as for `rein run`.
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub layers: crate::config_cmd::LayerArgs,
    #[command(flatten)]
    pub model: crate::config_cmd::ModelArgs,
    /// Only remove workspace folders left in the temp dir by killed runs (whose owner
    /// process is gone), print what was removed, and exit.
    #[arg(long)]
    pub clean: bool,
}

/// `rein doctor --clean`: removes stale workspace folders and says which.
fn clean() -> Result<i32, CliError> {
    let cleanup = rein_sandbox::remove_stale_workspaces();
    let mut out = String::new();
    for folder in &cleanup.removed {
        out.push_str(&format!("removed {}\n", folder.display()));
    }
    for (folder, reason) in &cleanup.failed {
        out.push_str(&format!("cannot remove {}: {reason}\n", folder.display()));
    }
    if cleanup.removed.is_empty() && cleanup.failed.is_empty() {
        out.push_str(&format!(
            "no stale workspace folder in {}\n",
            std::env::temp_dir().display()
        ));
    }
    crate::out(&out)?;
    Ok(if cleanup.failed.is_empty() {
        exit::SUCCESS
    } else {
        exit::ENVIRONMENT
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// Works.
    Ok,
    /// Does not work.
    Fail,
    /// Not available, but nothing depends on it alone (rein works without, with less).
    Warn,
}

/// One checked item: a status line, optional detail lines, and the fix when it is not ok.
#[derive(Debug)]
struct Check {
    status: Status,
    text: String,
    details: Vec<String>,
    fix: Option<String>,
}

impl Check {
    fn ok(text: impl Into<String>) -> Check {
        Check {
            status: Status::Ok,
            text: text.into(),
            details: Vec::new(),
            fix: None,
        }
    }
    fn fail(text: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Fail,
            text: text.into(),
            details: Vec::new(),
            fix: Some(fix.into()),
        }
    }
    fn warn(text: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            status: Status::Warn,
            text: text.into(),
            details: Vec::new(),
            fix: Some(fix.into()),
        }
    }
    fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
    fn render(&self, out: &mut String) {
        let mark = match self.status {
            Status::Ok => "✓",
            Status::Fail => "✗",
            Status::Warn => "!",
        };
        out.push_str(&format!("  {mark} {}\n", self.text));
        for detail in &self.details {
            out.push_str(&format!("      {detail}\n"));
        }
        if let Some(fix) = &self.fix {
            out.push_str(&format!("    fix: {fix}\n"));
        }
    }
}

fn render_section(out: &mut String, title: &str, checks: &[Check]) {
    out.push_str(title);
    out.push('\n');
    for check in checks {
        check.render(out);
    }
}

pub fn doctor(args: DoctorArgs) -> Result<i32, CliError> {
    if args.clean {
        return clean();
    }
    let layered = match &args.file {
        Some(file) => Some(crate::config_cmd::load_layered_spec(
            file,
            &args.vars,
            &args.model,
            &args.layers,
            crate::config_cmd::Vars::MayBeUnset,
        )?),
        None => None,
    };
    if let Some(layered) = &layered {
        crate::config_cmd::note_unset_vars(&layered.spec);
    }
    let config_checks: Vec<Check> = match &layered {
        Some(layered) => {
            let mut checks: Vec<Check> = layered
                .layers
                .iter()
                .map(|path| Check::ok(format!("layer {}", path.display())))
                .collect();
            checks.push(Check::ok(format!(
                "agent file {}",
                layered.spec.source.display()
            )));
            if layered.layers.is_empty() {
                checks.insert(
                    0,
                    Check::ok("no system, user or project config file (none is needed)"),
                );
            }
            if let Some(project) = &layered.project {
                let text = format!(
                    "project config {}: {}",
                    project.config.display(),
                    project.status.as_str()
                );
                checks.push(match project.status {
                    rein_spec::trust::TrustStatus::Trusted => Check::ok(text),
                    _ => Check::warn(
                        format!("{text}; only its settings that tighten apply"),
                        format!("after reviewing it, `rein trust {}`", project.dir.display()),
                    ),
                });
            }
            if let Some(profile) = &layered.profile {
                checks.push(Check::ok(format!("profile {profile}")));
            }
            for lock in &layered.locks {
                checks.push(Check::ok(format!("locked policy {}", lock.file.display())));
            }
            checks
        }
        None => Vec::new(),
    };
    let spec = layered.map(|layered| layered.spec);
    let stand_in = Workspace::tempdir().map_err(|err| {
        CliError::new(
            exit::ENVIRONMENT,
            format!("cannot create a temporary folder: {err}"),
        )
    })?;
    let policy = match &spec {
        Some(spec) => rein_agent::sandbox_policy(spec, stand_in.root()),
        None => SandboxPolicy {
            workspace: stand_in.root().to_path_buf(),
            read_only_paths: rein_sandbox::default_read_only_paths(),
            overlays: Vec::new(),
            network: NetworkMode::None,
            limits: ResourceLimits::default(),
        },
    };
    let runtime = crate::runtime()?;
    let probed = rein_sandbox::probe(&policy);

    let mut out = String::new();
    let host_checks = vec![
        check_user_namespaces(),
        check_apparmor(),
        check_landlock(&probed),
        check_seccomp(),
        check_cgroups(),
    ];
    render_section(&mut out, "host", &host_checks);
    if !config_checks.is_empty() {
        render_section(&mut out, "config layers (lowest first)", &config_checks);
    }

    let linux = runtime.block_on(check_supervised_backend(&policy, &probed, "linux"));
    let bwrap = runtime.block_on(check_bwrap_backend(&policy));
    let probed_landlock = rein_sandbox::probe_landlock(&policy);
    let mut landlock = runtime.block_on(check_supervised_backend(
        &policy,
        &probed_landlock,
        "landlock",
    ));
    let host =
        Check::ok("host: available (no isolation; only when chosen with sandbox = \"host\")");
    let (linux_works, bwrap_works, landlock_works) =
        (linux.is_ok(), bwrap.is_ok(), landlock.is_ok());
    if landlock_works && !linux_works && !bwrap_works {
        landlock.details.push(format!(
            "user namespaces are refused here: {}",
            rein_sandbox::LANDLOCK_ALTERNATIVE
        ));
    }
    render_section(
        &mut out,
        "sandbox backends",
        &[linux, bwrap, landlock, host],
    );

    let code = match &spec {
        None => {
            if linux_works || bwrap_works || landlock_works {
                out.push_str("ok: at least one isolating sandbox backend works here\n");
                exit::SUCCESS
            } else {
                out.push_str("✗ no isolating sandbox backend works here: apply a fix above\n");
                exit::ENVIRONMENT
            }
        }
        Some(spec) => {
            let backend = spec.environment.sandbox;
            let backend_works = match backend {
                SandboxKind::Linux => linux_works,
                SandboxKind::Bwrap => bwrap_works,
                SandboxKind::Landlock => landlock_works,
                SandboxKind::Host => true,
            };
            let model = runtime.block_on(check_model(spec));
            let pricing = check_pricing(spec);
            let trace = check_trace_dir(&spec.trace.dir);
            let mut problems = Vec::new();
            if !backend_works {
                problems.push(format!("sandbox {}", backend.as_str()));
            }
            if !model.is_ok() {
                problems.push("model".to_owned());
            }
            if !pricing.is_ok() {
                problems.push("model price".to_owned());
            }
            if !trace.is_ok() {
                problems.push("trace folder".to_owned());
            }
            let backend_line = if backend_works {
                Check::ok(format!("sandbox: {} works", backend.as_str()))
            } else {
                Check::fail(
                    format!("sandbox: {} cannot run here", backend.as_str()),
                    "apply the fix under the backend above, or choose another sandbox in [environment]",
                )
            };
            render_section(
                &mut out,
                &format!("agent {} ({})", spec.name, spec.source.display()),
                &[backend_line, model, pricing, trace],
            );
            if problems.is_empty() {
                out.push_str(&format!("ok: {} can run here\n", spec.source.display()));
                exit::SUCCESS
            } else {
                out.push_str(&format!(
                    "✗ {} cannot run here: {} (see the fixes above)\n",
                    spec.source.display(),
                    problems.join(", ")
                ));
                exit::ENVIRONMENT
            }
        }
    };
    crate::out(&out)?;
    Ok(code)
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_owned())
}

/// Whether rein runs as root (from `/proc/self/status`, no system call needed).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn check_user_namespaces() -> Check {
    let max = read_trimmed("/proc/sys/user/max_user_namespaces");
    if max.as_deref() == Some("0") {
        return Check::fail(
            "user namespaces: disabled (user.max_user_namespaces = 0)",
            "sudo sysctl -w user.max_user_namespaces=15000 (and add it to /etc/sysctl.d/ to keep it)",
        );
    }
    let unprivileged = read_trimmed("/proc/sys/kernel/unprivileged_userns_clone");
    if unprivileged.as_deref() == Some("0") && !is_root() {
        return Check::fail(
            "user namespaces: unprivileged ones are disabled (kernel.unprivileged_userns_clone = 0)",
            "sudo sysctl -w kernel.unprivileged_userns_clone=1 (and add it to /etc/sysctl.d/ to keep it)",
        );
    }
    let detail = match (&max, &unprivileged) {
        (Some(max), Some(value)) => {
            format!("user.max_user_namespaces = {max}, kernel.unprivileged_userns_clone = {value}")
        }
        (Some(max), None) => format!("user.max_user_namespaces = {max}"),
        (None, _) => "no limit set in /proc/sys/user/max_user_namespaces".to_owned(),
    };
    Check::ok(format!("user namespaces: allowed ({detail})"))
}

fn check_apparmor() -> Check {
    match read_trimmed("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() {
        Some("1") if !is_root() => Check::fail(
            "AppArmor: restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1)",
            "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or add an AppArmor profile for the rein binary that grants `userns`",
        ),
        Some("1") => Check::ok(
            "AppArmor: restricts unprivileged user namespaces, which does not apply to root",
        ),
        Some(value) => Check::ok(format!(
            "AppArmor: no restriction on user namespaces (kernel.apparmor_restrict_unprivileged_userns = {value})"
        )),
        None => Check::ok("AppArmor: no restriction on user namespaces (setting not present)"),
    }
}

fn check_landlock(probed: &Result<rein_sandbox::IsolationReport, SandboxError>) -> Check {
    match probed {
        Ok(report) if report.landlock_fully_enforced => {
            Check::ok(format!("Landlock: ABI {}", report.landlock_abi))
        }
        Ok(report) => Check::warn(
            format!(
                "Landlock: ABI {} (older than 6: enforced in part — no scoping of signals and abstract sockets)",
                report.landlock_abi
            ),
            "upgrade to Linux 6.12 or later for Landlock ABI 6",
        ),
        Err(SandboxError::BackendUnavailable { problem, hint, .. })
            if problem.contains("Landlock") =>
        {
            Check::fail(format!("Landlock: {problem}"), hint.clone())
        }
        Err(_) => Check::warn(
            "Landlock: not checked (the linux backend's probe stopped at an earlier problem)",
            "fix the problems above, then run rein doctor again",
        ),
    }
}

fn check_seccomp() -> Check {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    match status
        .lines()
        .find_map(|line| line.strip_prefix("Seccomp:"))
        .map(str::trim)
    {
        Some(mode) => Check::ok(format!("seccomp: supported (this process: mode {mode})")),
        None => Check::fail(
            "seccomp: not supported by this kernel (no Seccomp field in /proc/self/status)",
            "use a kernel built with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER",
        ),
    }
}

/// Our own cgroup path for a v1 `controller`, or for v2 with `None`.
fn own_cgroup(controller: Option<&str>) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let matches = match controller {
            None => controllers.is_empty(),
            Some(name) => controllers.split(',').any(|c| c == name),
        };
        matches.then(|| path.trim_start_matches('/').to_owned())
    })
}

/// Whether a child cgroup can be made (and removed) in `folder`.
fn can_make_child_cgroup(folder: &Path) -> Result<(), String> {
    let probe = folder.join(format!("rein-doctor-{}", std::process::id()));
    std::fs::create_dir(&probe)
        .map_err(|err| format!("cannot create a cgroup in {}: {err}", folder.display()))?;
    let _removed = std::fs::remove_dir(&probe);
    Ok(())
}

fn check_cgroups() -> Check {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let mounted = |point: &str, kind: &str| {
        mounts.lines().any(|line| {
            let mut fields = line.split_whitespace();
            fields.nth(1) == Some(point) && fields.next() == Some(kind)
        })
    };
    let delegate_fix = "run rein in a cgroup it may write, e.g. `systemd-run --user --scope -p Delegate=yes rein …`; without one, only per-process rlimits apply";
    if mounted("/sys/fs/cgroup", "cgroup2") {
        let own = own_cgroup(None).unwrap_or_default();
        let folder = if own.is_empty() {
            PathBuf::from("/sys/fs/cgroup")
        } else {
            Path::new("/sys/fs/cgroup").join(&own)
        };
        let controllers =
            std::fs::read_to_string(folder.join("cgroup.controllers")).unwrap_or_default();
        let missing: Vec<&str> = ["memory", "pids"]
            .into_iter()
            .filter(|name| !controllers.split_whitespace().any(|c| c == *name))
            .collect();
        if !missing.is_empty() {
            return Check::warn(
                format!(
                    "cgroup v2: controllers {} not delegated to {}",
                    missing.join(", "),
                    folder.display()
                ),
                delegate_fix,
            );
        }
        return match can_make_child_cgroup(&folder) {
            Ok(()) => Check::ok(format!(
                "cgroup v2: delegated (memory, pids) at {}",
                folder.display()
            )),
            Err(problem) => Check::warn(format!("cgroup v2: {problem}"), delegate_fix),
        };
    }
    let pids_root = Path::new("/sys/fs/cgroup/pids");
    if mounted("/sys/fs/cgroup/pids", "cgroup") {
        let own = own_cgroup(Some("pids")).unwrap_or_default();
        let folder = if own.is_empty() {
            pids_root.to_path_buf()
        } else {
            pids_root.join(own)
        };
        return match can_make_child_cgroup(&folder) {
            Ok(()) => Check::ok(format!("cgroup v1: pids writable at {}", folder.display())),
            Err(problem) if is_root() => Check::fail(
                format!(
                    "cgroup v1: {problem}; as root nothing else limits the number of processes"
                ),
                "mount a writable pids cgroup at /sys/fs/cgroup/pids, or run rein as an unprivileged user",
            ),
            Err(problem) => Check::warn(format!("cgroup v1: {problem}"), delegate_fix),
        };
    }
    if is_root() {
        Check::fail(
            "cgroups: no cgroup v2 mount and no v1 pids hierarchy; as root nothing else limits the number of processes",
            "mount cgroup2 at /sys/fs/cgroup (or a v1 pids hierarchy), or run rein as an unprivileged user",
        )
    } else {
        Check::warn(
            "cgroups: no cgroup v2 mount and no v1 pids hierarchy",
            delegate_fix,
        )
    }
}

fn true_request(workspace: &Path) -> ExecRequest {
    ExecRequest {
        argv: vec!["true".to_owned()],
        cwd: workspace.to_path_buf(),
        env: [("PATH".to_owned(), SANDBOX_PATH.to_owned())].into(),
        timeout: Duration::from_millis(COMMAND_TIMEOUT_MS),
        stdin: None,
        max_output_bytes: 64 * 1024,
    }
}

/// `Ok` when `true` ran and exited 0; the problem otherwise.
async fn run_true(sandbox: &dyn Sandbox, workspace: &Path) -> Result<(), String> {
    let output = sandbox
        .exec(true_request(workspace))
        .await
        .map_err(|err| first_line(&err.to_string()))?;
    if output.exit_code == Some(0) {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    let how = match (output.timed_out, output.exit_code) {
        (true, _) => "timed out".to_owned(),
        (false, Some(code)) => format!("exited with code {code}"),
        (false, None) => "was killed by a signal".to_owned(),
    };
    Err(if stderr.is_empty() {
        format!("`true` {how}")
    } else {
        format!("`true` {how}: {}", first_line(&stderr))
    })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Splits a `BackendUnavailable` into its problem and fix.
fn problem_and_fix(err: &SandboxError) -> (String, String) {
    match err {
        SandboxError::BackendUnavailable { problem, hint, .. } => (problem.clone(), hint.clone()),
        other => (
            first_line(&other.to_string()),
            "see the message; rein never falls back to less isolation".to_owned(),
        ),
    }
}

/// The `linux` or `landlock` backend (one supervisor, with or without namespaces), started
/// for real with `true` run in it.
async fn check_supervised_backend(
    policy: &SandboxPolicy,
    probed: &Result<rein_sandbox::IsolationReport, SandboxError>,
    name: &str,
) -> Check {
    let report = match probed {
        Ok(report) => report,
        Err(err) => {
            let (problem, fix) = problem_and_fix(err);
            return Check::fail(format!("{name}: cannot run here: {problem}"), fix);
        }
    };
    let Some(helper) = crate::run::sandbox_helper() else {
        return Check::fail(
            format!("{name}: cannot find the rein binary to start the sandbox helper"),
            "run rein from its installed path",
        );
    };
    let started = if name == "landlock" {
        LinuxSandbox::start_landlock(policy, &helper).await
    } else {
        LinuxSandbox::start(policy, &helper).await
    };
    let sandbox = match started {
        Ok(sandbox) => sandbox,
        Err(err) => {
            let (problem, fix) = problem_and_fix(&err);
            return Check::fail(format!("{name}: the sandbox did not start: {problem}"), fix);
        }
    };
    let ran = run_true(&sandbox, &policy.workspace).await;
    let _ = sandbox.teardown().await;
    match ran {
        Ok(()) => {
            let mut check = Check::ok(format!(
                "{name}: works (started a sandbox and ran `true` in it)"
            ));
            check.details = report.to_string().lines().map(str::to_owned).collect();
            check
        }
        Err(problem) => Check::fail(
            format!("{name}: started, but a command failed in it: {problem}"),
            format!(
                "run `rein run` with sandbox = \"{name}\" to see the whole error, and report it"
            ),
        ),
    }
}

/// The first executable `program` on `PATH`.
fn find_on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

async fn check_bwrap_backend(policy: &SandboxPolicy) -> Check {
    let Some(path) = find_on_path("bwrap") else {
        return Check::fail(
            "bwrap: the `bwrap` program (bubblewrap) is not on PATH",
            BWRAP_INSTALL_FIX,
        );
    };
    let version = HostSandbox::new()
        .exec(ExecRequest {
            argv: vec![path.display().to_string(), "--version".to_owned()],
            cwd: policy.workspace.clone(),
            env: [("PATH".to_owned(), SANDBOX_PATH.to_owned())].into(),
            timeout: Duration::from_millis(COMMAND_TIMEOUT_MS),
            stdin: None,
            max_output_bytes: 4096,
        })
        .await
        .ok()
        .filter(|output| output.exit_code == Some(0))
        .map(|output| first_line(String::from_utf8_lossy(&output.stdout).trim()))
        .unwrap_or_else(|| "version unknown".to_owned());
    let sandbox: Arc<dyn Sandbox> = match BwrapSandbox::new(policy.clone()) {
        Ok(sandbox) => Arc::new(sandbox),
        Err(err) => {
            let (problem, fix) = problem_and_fix(&err);
            return Check::fail(
                format!(
                    "bwrap: {} ({version}) cannot run here: {problem}",
                    path.display()
                ),
                fix,
            );
        }
    };
    match run_true(sandbox.as_ref(), &policy.workspace).await {
        Ok(()) => Check::ok(format!(
            "bwrap: works ({}, {version}; ran `true` in a sandbox)",
            path.display()
        )),
        Err(problem) => Check::fail(
            format!(
                "bwrap: {} ({version}) is present but failed: {problem}",
                path.display()
            ),
            "bwrap needs unprivileged user namespaces: apply the user-namespace and AppArmor fixes above (or install bwrap setuid root)",
        ),
    }
}

/// `host:port` of an `http(s)://` URL.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None => default_port,
        };
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None if !authority.is_empty() => Some((authority.to_owned(), default_port)),
        None => None,
    }
}

async fn connect(host: &str, port: u16) -> Result<SocketAddr, String> {
    let limit = Duration::from_millis(CONNECT_TIMEOUT_MS);
    match tokio::time::timeout(limit, tokio::net::TcpStream::connect((host, port))).await {
        Err(_) => Err(format!(
            "no answer within {}",
            humantime::format_duration(limit)
        )),
        Ok(Err(err)) => Err(err.to_string()),
        Ok(Ok(stream)) => stream.peer_addr().map_err(|err| err.to_string()),
    }
}

async fn check_model(spec: &AgentSpec) -> Check {
    let model = &spec.model;
    let label = format!(
        "model {}:{}",
        match model.provider {
            Provider::Openai => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Scripted => "scripted",
        },
        model.name
    );
    if model.provider == Provider::Scripted {
        let Some(script) = &model.script else {
            return Check::fail(
                format!("{label}: no script file"),
                "set [model] script = \"PATH\"",
            );
        };
        return match std::fs::read(script) {
            Ok(_) => Check::ok(format!("{label}: script {} readable", script.display())),
            Err(err) => Check::fail(
                format!(
                    "{label}: cannot read the script {}: {err}",
                    script.display()
                ),
                "fix [model] script, or create the file",
            ),
        };
    }
    if let Err(err) = rein_model::build_model(model) {
        let text = err.to_string();
        let mut lines = text.lines();
        let problem = lines.next().unwrap_or_default().to_owned();
        let fix = lines
            .find_map(|line| line.strip_prefix("hint: "))
            .unwrap_or("fix [model] in the agent file")
            .to_owned();
        return Check::fail(format!("{label}: {problem}"), fix);
    }
    let Some((host, port)) = host_and_port(&model.base_url) else {
        return Check::fail(
            format!(
                "{label}: base_url `{}` is not an http(s) URL",
                model.base_url
            ),
            "set [model] base_url to e.g. https://api.openai.com/v1",
        );
    };
    match connect(&host, port).await {
        Ok(address) => Check::ok(format!(
            "{label}: {host}:{port} reachable ({address}; TCP only, no request sent)"
        )),
        Err(problem) => Check::fail(
            format!(
                "{label}: cannot reach {host}:{port} ({}): {problem}",
                model.base_url
            ),
            "check the network, a proxy or firewall, and [model] base_url (or the provider's *_BASE_URL variable)",
        ),
    }
}

/// How the model is priced; an unpriced model under a cost cap fails (its first call
/// would be refused).
fn check_pricing(spec: &AgentSpec) -> Check {
    let text = format!(
        "model price: {}",
        rein_model::pricing::describe(&spec.model)
    );
    match (
        crate::run::unpriced_warning(spec, None),
        spec.limits.max_cost_usd,
    ) {
        (Some(_), Some(cap)) => Check::fail(
            format!("{text}, and the cost cap (max_cost_usd = {cap}) refuses its first call"),
            "run with `--price free` (a local model) or `--price IN/OUT`, or set [model.pricing]",
        ),
        _ => Check::ok(text),
    }
}

/// The trace folder exists and takes a file, or can be created.
fn check_trace_dir(dir: &Path) -> Check {
    let fix = "create the folder and make it writable, or set [trace] dir to a writable folder";
    if dir.is_dir() {
        let probe = dir.join(format!(".rein-doctor-{}", std::process::id()));
        return match std::fs::write(&probe, b"") {
            Ok(()) => {
                let _removed = std::fs::remove_file(&probe);
                Check::ok(format!("trace folder {}: writable", dir.display()))
            }
            Err(err) => Check::fail(
                format!("trace folder {}: not writable: {err}", dir.display()),
                fix,
            ),
        };
    }
    if dir.exists() {
        return Check::fail(
            format!("trace folder {}: exists but is not a folder", dir.display()),
            fix,
        );
    }
    // The nearest existing ancestor must take a new folder.
    let mut ancestor = dir.parent();
    while let Some(folder) = ancestor {
        if folder.exists() {
            break;
        }
        ancestor = folder.parent();
    }
    let Some(existing) = ancestor.filter(|folder| folder.is_dir()) else {
        return Check::fail(
            format!(
                "trace folder {}: cannot be created (a parent is not a folder)",
                dir.display()
            ),
            fix,
        );
    };
    let probe = existing.join(format!(".rein-doctor-{}", std::process::id()));
    match std::fs::create_dir(&probe) {
        Ok(()) => {
            let _removed = std::fs::remove_dir(&probe);
            Check::ok(format!(
                "trace folder {}: does not exist yet, can be created",
                dir.display()
            ))
        }
        Err(err) => Check::fail(
            format!(
                "trace folder {}: cannot be created in {}: {err}",
                dir.display(),
                existing.display()
            ),
            fix,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_of_base_urls() {
        assert_eq!(
            host_and_port("https://api.openai.com/v1"),
            Some(("api.openai.com".to_owned(), 443))
        );
        assert_eq!(
            host_and_port("http://127.0.0.1:4000/v1"),
            Some(("127.0.0.1".to_owned(), 4000))
        );
        assert_eq!(
            host_and_port("http://[::1]:8080"),
            Some(("::1".to_owned(), 8080))
        );
        assert_eq!(
            host_and_port("http://user:pw@localhost"),
            Some(("localhost".to_owned(), 80))
        );
        assert_eq!(host_and_port("ftp://x"), None);
        assert_eq!(host_and_port("localhost:80"), None);
        assert_eq!(host_and_port("http://host:notaport/"), None);
    }

    #[test]
    fn trace_dir_under_a_file_cannot_be_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let check = check_trace_dir(&file.join("traces"));
        assert_eq!(check.status, Status::Fail, "{check:?}");
        assert!(check.text.contains("a parent is not a folder"), "{check:?}");
        let check = check_trace_dir(&file);
        assert!(check.text.contains("not a folder"), "{check:?}");
        let check = check_trace_dir(&dir.path().join("new/traces"));
        assert_eq!(check.status, Status::Ok, "{check:?}");
        assert!(!dir.path().join("new").exists());
        let check = check_trace_dir(dir.path());
        assert_eq!(check.status, Status::Ok, "{check:?}");
    }
}

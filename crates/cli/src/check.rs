//! `rein check`: validate an agent file, print the resolved spec (secrets as `***`) and the
//! isolation a run would get on this host — without running anything.

use std::path::PathBuf;

use rein_spec::spec::{AgentSpec, SandboxKind};

use crate::exit::{self, CliError};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The agent file (or a folder holding agent.toml).
    pub file: PathBuf,
    /// Fill a `{{ key }}` template of the prompt (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    #[command(flatten)]
    pub layers: crate::config_cmd::LayerArgs,
    #[command(flatten)]
    pub model: crate::config_cmd::ModelArgs,
}

pub fn check(args: CheckArgs) -> Result<i32, CliError> {
    let spec = crate::run::load_spec(
        &args.file,
        &args.vars,
        &args.model,
        &args.layers,
        crate::config_cmd::Vars::MayBeUnset,
    )?;
    let mut text = format!(
        "ok: {} is a valid agent `{}`\n",
        spec.source.display(),
        spec.name
    );
    text.push_str(&format!("# model {}\n", crate::run::model_header(&spec)));
    if let Some(warning) = crate::run::unpriced_warning(&spec, None) {
        text.push_str(&format!("# warning: {warning}\n"));
    }
    text.push_str(&spec.to_display_toml());
    let policy = rein_policy::Policy::new(&rein_agent::policy_config(
        &spec,
        &rein_policy::Limits::default(),
    ))
    .map_err(|err| CliError::new(exit::INVALID_INPUT, format!("invalid policy: {err}")))?;
    text.push_str("\n# effective policy\n");
    for line in policy.to_string().lines() {
        text.push_str("# ");
        text.push_str(line);
        text.push('\n');
    }
    text.push_str("\n# isolation on this host\n");
    let isolation = isolation(&spec);
    match &isolation {
        Ok(report) => {
            for line in report.lines() {
                text.push_str("# ");
                text.push_str(line);
                text.push('\n');
            }
        }
        Err(_) => text.push_str(&format!(
            "# sandbox {}: cannot run here\n",
            spec.environment.sandbox.as_str()
        )),
    }
    crate::out(&text)?;
    match isolation {
        Ok(_) => Ok(exit::SUCCESS),
        Err(err) => Err(err),
    }
}

/// What the chosen backend would enforce here, probed without running a command (an empty
/// temporary folder stands in for the workspace).
fn isolation(spec: &AgentSpec) -> Result<String, CliError> {
    let unavailable =
        |err: rein_sandbox::SandboxError| CliError::new(exit::ENVIRONMENT, err.to_string());
    match spec.environment.sandbox {
        SandboxKind::Host => {
            Ok("sandbox host: no isolation; commands run as you, on this machine".to_owned())
        }
        kind => {
            let stand_in = tempfile_dir()?;
            let policy = rein_agent::sandbox_policy(spec, stand_in.root());
            match kind {
                SandboxKind::Linux => {
                    let report = rein_sandbox::probe(&policy).map_err(unavailable)?;
                    Ok(format!("sandbox linux:\n{report}"))
                }
                SandboxKind::Landlock => {
                    let report = rein_sandbox::probe_landlock(&policy).map_err(unavailable)?;
                    Ok(format!("sandbox landlock:\n{report}"))
                }
                _ => {
                    let bwrap =
                        rein_sandbox::BwrapSandbox::new(policy.clone()).map_err(unavailable)?;
                    let limits = policy.limits;
                    Ok(format!(
                        "sandbox bwrap: {} (namespaces user, mount, pid, ipc, uts{}, cgroup; seccomp; no new privileges)\nrlimits: cpu {} s, address space {} MiB, file size {} MiB, processes {}",
                        bwrap.bwrap_path().display(),
                        if policy.network == rein_sandbox::NetworkMode::None {
                            ", net"
                        } else {
                            ""
                        },
                        limits.cpu_seconds,
                        limits.memory_mb,
                        limits.file_size_mb,
                        limits.processes
                    ))
                }
            }
        }
    }
}

fn tempfile_dir() -> Result<rein_sandbox::Workspace, CliError> {
    rein_sandbox::Workspace::tempdir().map_err(|err| {
        CliError::new(
            exit::ENVIRONMENT,
            format!("cannot create a temporary folder: {err}"),
        )
    })
}

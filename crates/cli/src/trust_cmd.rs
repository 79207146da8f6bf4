//! `rein trust`: record that a project config file (`.rein/config.toml`) is trusted, list
//! the trusted files, revoke one. The store and the rules are `rein_spec::trust`; an
//! untrusted project layer may only tighten (docs/config.md, "Trust").

use std::path::{Path, PathBuf};

use rein_spec::trust::{self, TrustStatus, TrustStore};

use crate::exit::{self, CliError};

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// The project folder: its `.rein/config.toml` (looked for from here upwards) is
    /// trusted with its current bytes [default: the current folder].
    #[arg(value_name = "DIR", conflicts_with_all = ["list", "revoke"])]
    pub dir: Option<PathBuf>,
    /// List the trusted files and whether each is still the same.
    #[arg(long, conflicts_with = "revoke")]
    pub list: bool,
    /// Forget the project config of DIR (looked for from DIR upwards).
    #[arg(long, value_name = "DIR")]
    pub revoke: Option<PathBuf>,
}

pub fn trust(args: TrustArgs) -> Result<i32, CliError> {
    let env = rein_spec::LoadOptions::from_process_env().env;
    if args.list {
        return list(&env);
    }
    if let Some(dir) = &args.revoke {
        return revoke(dir, &env);
    }
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    let (project, mut store) = trust::project_trust(&dir, &env)?;
    let was = project.status;
    store.trust(&project.canonical, &project.sha256);
    store.save()?;
    let verb = match was {
        TrustStatus::Trusted => "already trusted",
        TrustStatus::Changed => "trusted again (it changed since it was trusted)",
        TrustStatus::Untrusted => "trusted",
    };
    crate::out(&format!(
        "{verb}: {} (sha256 {})\nrecorded in {}\n",
        project.canonical.display(),
        project.sha256,
        store_path(&store)
    ))?;
    Ok(exit::SUCCESS)
}

fn store_path(store: &TrustStore) -> String {
    store
        .path
        .as_ref()
        .map_or_else(String::new, |p| p.display().to_string())
}

fn list(env: &std::collections::BTreeMap<String, String>) -> Result<i32, CliError> {
    let store = TrustStore::load(env)?;
    let mut out = String::new();
    if store.entries.is_empty() {
        out.push_str("no trusted project config files\n");
    }
    for entry in &store.entries {
        let state = match trust::read_config(&entry.path, trust::Owner::CurrentUser) {
            Ok(Some(text)) if trust::sha256_hex(text.as_bytes()) == entry.sha256 => {
                "trusted".to_owned()
            }
            Ok(Some(_)) => "changed since trusted (untrusted)".to_owned(),
            Ok(None) => "missing".to_owned(),
            Err(err) => format!(
                "unreadable: {}",
                err.to_string().lines().next().unwrap_or("")
            ),
        };
        out.push_str(&format!(
            "{}  {}  {state}\n",
            entry.path.display(),
            &entry.sha256[..entry.sha256.len().min(12)]
        ));
    }
    crate::out(&out)?;
    Ok(exit::SUCCESS)
}

fn revoke(dir: &Path, env: &std::collections::BTreeMap<String, String>) -> Result<i32, CliError> {
    let mut store = TrustStore::load(env)?;
    // The file as a run would find it; if it is gone, the path it had.
    let candidates: Vec<PathBuf> = match trust::find_project_config(dir) {
        Some(config) => vec![std::fs::canonicalize(&config).unwrap_or(config)],
        None => std::path::absolute(dir.join(rein_spec::layers::PROJECT_CONFIG_PATH))
            .into_iter()
            .collect(),
    };
    let revoked: Vec<&PathBuf> = candidates.iter().filter(|p| store.revoke(p)).collect();
    match revoked.first() {
        Some(path) => {
            let text = format!("revoked: {}\n", path.display());
            store.save()?;
            crate::out(&text)?;
            Ok(exit::SUCCESS)
        }
        None => Err(CliError::new(
            exit::INVALID_INPUT,
            format!(
                "no trusted project config for {}",
                candidates
                    .first()
                    .map_or_else(|| dir.display().to_string(), |p| p.display().to_string())
            ),
        )
        .with_hint("`rein trust --list` shows the trusted files")),
    }
}

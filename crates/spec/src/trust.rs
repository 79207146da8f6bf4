//! Trust of project config layers, and which config files rein agrees to read.
//!
//! A project layer (`.rein/config.toml`, found from the agent file's folder upwards) comes
//! with whatever repository or shared folder the agent sits in, so it is untrusted until
//! the user runs `rein trust DIR`. The trust store is `trusted.toml` beside the user config
//! file (`$XDG_CONFIG_HOME/rein/trusted.toml`, else `$HOME/.config/rein/trusted.toml`): one
//! entry per trusted file, its canonical path and the SHA-256 of its bytes. A file whose
//! bytes changed is untrusted again. What an untrusted layer may still set is decided in
//! `layers` (it may only tighten); this module only answers "is this file trusted".
//!
//! Every config file is opened once and checked on the open file ([`read_config`]): a file
//! owned by another user (root is accepted for the system layer and the policy file) or
//! writable by its group or by others is never read, like git's `safe.directory`.
//!
//! **Invariant:** the trust store is only written by [`TrustStore::save`], atomically (a
//! temporary file renamed over it), mode 0600 in a folder created 0700.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::error::SpecError;

/// The trust store's file name, beside the user config file.
pub const TRUST_FILE_NAME: &str = "trusted.toml";

/// Who may own a config file besides the current user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Only the current user (user and project layers, the trust store).
    CurrentUser,
    /// The current user or root (the system file and `REIN_POLICY_FILE`).
    CurrentUserOrRoot,
}

/// `$XDG_CONFIG_HOME/rein`, else `$HOME/.config/rein` (empty values ignored).
pub fn user_config_dir(env: &BTreeMap<String, String>) -> Option<PathBuf> {
    let var = |name: &str| env.get(name).filter(|v| !v.is_empty());
    match (var("XDG_CONFIG_HOME"), var("HOME")) {
        (Some(xdg), _) => Some(PathBuf::from(xdg).join("rein")),
        (None, Some(home)) => Some(PathBuf::from(home).join(".config/rein")),
        (None, None) => None,
    }
}

/// The SHA-256 of `bytes`, as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.iter() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The effective user id of this process.
fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Read a config file, refusing one another user owns or others may write. `Ok(None)` when
/// it does not exist.
pub fn read_config(path: &Path, owner: Owner) -> Result<Option<String>, SpecError> {
    let read_error = |source: std::io::Error| SpecError::ReadConfig {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(read_error(err)),
    };
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(read_error(std::io::Error::other("not a regular file")));
    }
    check_safe(path, &meta, owner)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(read_error)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| read_error(std::io::Error::other("the file is not UTF-8")))
}

/// The safe.directory rule on an open file's metadata.
fn check_safe(path: &Path, meta: &std::fs::Metadata, owner: Owner) -> Result<(), SpecError> {
    let me = current_uid();
    let uid = meta.uid();
    let root_ok = owner == Owner::CurrentUserOrRoot && uid == 0;
    if uid != me && !root_ok {
        return Err(SpecError::UnsafeConfig {
            path: path.to_path_buf(),
            reason: format!("it is owned by another user (uid {uid}; you are uid {me})"),
            hint: "a config file is only read when you own it: copy the settings you want into a file of your own, or remove it".to_owned(),
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(SpecError::UnsafeConfig {
            path: path.to_path_buf(),
            reason: format!("it is writable by its group or by others (mode {mode:04o})"),
            hint: format!("chmod go-w {}", path.display()),
        });
    }
    Ok(())
}

/// The first `.rein/config.toml` from `folder` upwards.
pub fn find_project_config(folder: &Path) -> Option<PathBuf> {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let start = std::path::absolute(folder).ok()?;
    start
        .ancestors()
        .map(|dir| dir.join(crate::layers::PROJECT_CONFIG_PATH))
        .find(|candidate| candidate.is_file())
}

/// The folder a project config belongs to: the parent of its `.rein` folder.
pub fn project_dir(config: &Path) -> PathBuf {
    config
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Whether a project config file is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustStatus {
    /// `rein trust` recorded this file with these bytes.
    Trusted,
    /// Never trusted (or revoked).
    Untrusted,
    /// Trusted once, but its bytes changed since.
    Changed,
}

impl TrustStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TrustStatus::Trusted => "trusted",
            TrustStatus::Untrusted => "untrusted",
            TrustStatus::Changed => "untrusted (changed since it was trusted)",
        }
    }
}

/// The project layer of a load and its trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectTrust {
    /// The config file as found.
    pub config: PathBuf,
    /// Its canonical path (the trust store's key).
    pub canonical: PathBuf,
    /// The folder to pass to `rein trust`.
    pub dir: PathBuf,
    pub sha256: String,
    pub status: TrustStatus,
}

/// One trusted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustEntry {
    /// Canonical path of the project config file.
    pub path: PathBuf,
    /// SHA-256 of its bytes when it was trusted.
    pub sha256: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreFile {
    #[serde(default)]
    trusted: Vec<TrustEntry>,
}

/// The trust store: `trusted.toml` beside the user config file.
#[derive(Debug, Clone)]
pub struct TrustStore {
    /// `None` when neither `XDG_CONFIG_HOME` nor `HOME` is set: nothing is trusted and
    /// nothing can be.
    pub path: Option<PathBuf>,
    pub entries: Vec<TrustEntry>,
}

impl TrustStore {
    /// Read the store named by `env`; a missing file is an empty store.
    pub fn load(env: &BTreeMap<String, String>) -> Result<TrustStore, SpecError> {
        let path = user_config_dir(env).map(|dir| dir.join(TRUST_FILE_NAME));
        let Some(file) = &path else {
            return Ok(TrustStore {
                path,
                entries: Vec::new(),
            });
        };
        let entries = match read_config(file, Owner::CurrentUser)? {
            None => Vec::new(),
            Some(text) => {
                let store: StoreFile =
                    toml::from_str(&text).map_err(|err| SpecError::TrustStore {
                        path: file.clone(),
                        message: err.message().trim_end_matches('.').to_owned(),
                    })?;
                store.trusted
            }
        };
        Ok(TrustStore { path, entries })
    }

    /// The trust of the file at `canonical` whose bytes hash to `sha256`.
    pub fn status(&self, canonical: &Path, sha256: &str) -> TrustStatus {
        match self.entries.iter().find(|e| e.path == canonical) {
            Some(entry) if entry.sha256 == sha256 => TrustStatus::Trusted,
            Some(_) => TrustStatus::Changed,
            None => TrustStatus::Untrusted,
        }
    }

    /// Record `canonical` with `sha256` (replacing an older hash).
    pub fn trust(&mut self, canonical: &Path, sha256: &str) {
        self.entries.retain(|e| e.path != canonical);
        self.entries.push(TrustEntry {
            path: canonical.to_path_buf(),
            sha256: sha256.to_owned(),
        });
        self.entries.sort_by(|a, b| a.path.cmp(&b.path));
    }

    /// Forget `path`; whether it was there.
    pub fn revoke(&mut self, path: &Path) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.path != path);
        self.entries.len() != before
    }

    /// Write the store atomically, 0600 in a 0700 folder.
    pub fn save(&self) -> Result<(), SpecError> {
        let Some(path) = &self.path else {
            return Err(SpecError::TrustStore {
                path: PathBuf::from(TRUST_FILE_NAME),
                message: "neither XDG_CONFIG_HOME nor HOME is set, so there is no user config folder to record trust in".to_owned(),
            });
        };
        let io_error = |err: std::io::Error| SpecError::TrustStore {
            path: path.clone(),
            message: err.to_string(),
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error)?;
        let text = toml::to_string(&StoreFile {
            trusted: self.entries.clone(),
        })
        .map_err(|err| SpecError::TrustStore {
            path: path.clone(),
            message: err.to_string(),
        })?;
        let text = format!(
            "# Project config files trusted with `rein trust` (path and SHA-256 of its bytes).\n# A file whose bytes changed is untrusted again. Edit with `rein trust --revoke DIR`.\n\n{text}"
        );
        let tmp = dir.join(format!(".{TRUST_FILE_NAME}.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            std::io::Write::write_all(&mut file, text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|err| {
            let _ = std::fs::remove_file(&tmp);
            io_error(err)
        })
    }
}

/// The project config for `dir` (looked for from `dir` upwards), read with the same checks
/// as a run, and its trust.
pub fn project_trust(
    dir: &Path,
    env: &BTreeMap<String, String>,
) -> Result<(ProjectTrust, TrustStore), SpecError> {
    let config = find_project_config(dir).ok_or_else(|| SpecError::NoProjectConfig {
        dir: dir.to_path_buf(),
    })?;
    let text =
        read_config(&config, Owner::CurrentUser)?.ok_or_else(|| SpecError::NoProjectConfig {
            dir: dir.to_path_buf(),
        })?;
    let store = TrustStore::load(env)?;
    let trust = assess(&config, &text, &store)?;
    Ok((trust, store))
}

/// The trust of a project config file already read.
pub(crate) fn assess(
    config: &Path,
    text: &str,
    store: &TrustStore,
) -> Result<ProjectTrust, SpecError> {
    let canonical = std::fs::canonicalize(config).map_err(|source| SpecError::ReadConfig {
        path: config.to_path_buf(),
        source,
    })?;
    let sha256 = sha256_hex(text.as_bytes());
    let status = store.status(&canonical, &sha256);
    Ok(ProjectTrust {
        config: config.to_path_buf(),
        dir: project_dir(&canonical),
        canonical,
        sha256,
        status,
    })
}

//! Workspaces left behind by a run that was killed (`kill -9`, a crash, a power cut before
//! the temp dir is cleared): every folder rein makes in the temp dir (`rein-ws-*`, the
//! workspace and its pristine copy) gets a marker file beside it, `<folder>.owner`
//! (`0600`), naming its owner: the boot, the process id and the process's start time (field
//! 22 of `/proc/<pid>/stat`, so a reused pid is told apart). The marker goes with the
//! folder when the workspace is dropped, and at once when it is kept.
//!
//! [`remove_stale_workspaces`] removes the folders whose owner is gone — another boot, no
//! such process, or a process with another start time — with their markers. It only looks
//! at rein's own prefix directly in the temp dir, and never removes a folder whose owner
//! is alive, a folder without a valid marker, or anything not owned by the calling user.

use std::fs;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The prefix of every folder rein makes in the temp dir for a workspace.
pub const WORKSPACE_PREFIX: &str = "rein-ws-";

const MARKER_SUFFIX: &str = ".owner";

/// Who made a workspace folder.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    boot_id: String,
    pid: u32,
    start_time: u64,
}

impl Owner {
    fn current() -> Option<Owner> {
        let pid = std::process::id();
        Some(Owner {
            boot_id: boot_id()?,
            pid,
            start_time: start_time(pid)?,
        })
    }

    fn to_text(&self) -> String {
        format!(
            "rein workspace owner\nboot {}\npid {}\nstart {}\n",
            self.boot_id, self.pid, self.start_time
        )
    }

    fn parse(text: &str) -> Option<Owner> {
        let mut lines = text.lines();
        if lines.next()? != "rein workspace owner" {
            return None;
        }
        let boot_id = lines.next()?.strip_prefix("boot ")?.to_owned();
        let pid = lines.next()?.strip_prefix("pid ")?.parse().ok()?;
        let start_time = lines.next()?.strip_prefix("start ")?.parse().ok()?;
        Some(Owner {
            boot_id,
            pid,
            start_time,
        })
    }

    /// Whether the process that wrote the marker still runs.
    fn is_alive(&self) -> bool {
        if boot_id().as_deref() != Some(self.boot_id.as_str()) {
            return false;
        }
        start_time(self.pid) == Some(self.start_time)
    }
}

fn boot_id() -> Option<String> {
    fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|text| text.trim().to_owned())
}

/// Field 22 of `/proc/<pid>/stat`: the start time in clock ticks since boot.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is parenthesised and may hold spaces.
    let (_, rest) = stat.rsplit_once(')')?;
    // `rest` starts at field 3 (the state).
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The marker file of a workspace folder.
pub(crate) fn marker_path(folder: &Path) -> PathBuf {
    let mut name = folder.as_os_str().to_os_string();
    name.push(MARKER_SUFFIX);
    PathBuf::from(name)
}

/// Writes the owner marker of `folder` (best effort: a folder without one is never
/// removed by the cleaner, only left behind).
pub(crate) fn write_marker(folder: &Path) {
    let Some(owner) = Owner::current() else {
        return;
    };
    let path = marker_path(folder);
    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, owner.to_text().as_bytes()));
    if written.is_err() {
        let _ = fs::remove_file(&path);
    }
}

/// Removes the owner marker of `folder`, if any.
pub(crate) fn remove_marker(folder: &Path) {
    let _ = fs::remove_file(marker_path(folder));
}

/// What [`remove_stale_workspaces`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaleCleanup {
    /// Folders removed (with their markers).
    pub removed: Vec<PathBuf>,
    /// Folders whose owner is gone but that could not be removed, with the reason.
    pub failed: Vec<(PathBuf, String)>,
}

/// Removes the workspace folders in the temp dir whose owner is gone (see the module doc).
pub fn remove_stale_workspaces() -> StaleCleanup {
    remove_stale_workspaces_in(&std::env::temp_dir())
}

/// [`remove_stale_workspaces`] in `dir` instead of the temp dir.
pub fn remove_stale_workspaces_in(dir: &Path) -> StaleCleanup {
    let mut cleanup = StaleCleanup::default();
    let Ok(entries) = fs::read_dir(dir) else {
        return cleanup;
    };
    let uid = nix::unistd::geteuid().as_raw();
    let mut markers: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| {
                    name.starts_with(WORKSPACE_PREFIX) && name.ends_with(MARKER_SUFFIX)
                })
        })
        .collect();
    markers.sort();
    for marker in markers {
        let Some(folder) = marker
            .to_str()
            .and_then(|text| text.strip_suffix(MARKER_SUFFIX))
            .map(PathBuf::from)
        else {
            continue;
        };
        let owned_by_us =
            |path: &Path| fs::symlink_metadata(path).is_ok_and(|metadata| metadata.uid() == uid);
        let Ok(marker_metadata) = fs::symlink_metadata(&marker) else {
            continue;
        };
        if !marker_metadata.is_file() || !owned_by_us(&marker) {
            continue;
        }
        let Some(owner) = fs::read_to_string(&marker)
            .ok()
            .and_then(|text| Owner::parse(&text))
        else {
            continue; // Not a marker rein wrote: never act on it.
        };
        if owner.is_alive() {
            continue;
        }
        match fs::symlink_metadata(&folder) {
            Ok(metadata) if metadata.is_dir() && metadata.uid() == uid => {
                match fs::remove_dir_all(&folder) {
                    Ok(()) => {
                        let _ = fs::remove_file(&marker);
                        cleanup.removed.push(folder);
                    }
                    Err(error) => cleanup.failed.push((folder, error.to_string())),
                }
            }
            // The folder is gone already: only the marker is left.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let _ = fs::remove_file(&marker);
            }
            // Not a folder of ours (a symlink, another user's): left alone.
            _ => {}
        }
    }
    cleanup
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_the_current_process_is_alive() {
        let owner = Owner::current().unwrap();
        assert_eq!(Owner::parse(&owner.to_text()), Some(owner.clone()));
        assert!(owner.is_alive());
        let reused = Owner {
            start_time: owner.start_time + 1,
            ..owner.clone()
        };
        assert!(!reused.is_alive());
        let other_boot = Owner {
            boot_id: "another-boot".to_owned(),
            ..owner
        };
        assert!(!other_boot.is_alive());
        assert_eq!(Owner::parse("pid 1\n"), None);
    }

    fn folder_with_marker(dir: &Path, name: &str, marker: Option<&str>) -> PathBuf {
        let folder = dir.join(name);
        fs::create_dir(&folder).unwrap();
        fs::write(folder.join(".env"), "TOKEN=x\n").unwrap();
        if let Some(marker) = marker {
            fs::write(marker_path(&folder), marker).unwrap();
        }
        folder
    }

    #[test]
    fn removes_only_folders_whose_owner_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let owner = Owner::current().unwrap();
        let dead = Owner {
            start_time: owner.start_time + 1,
            ..owner.clone()
        };
        let stale = folder_with_marker(dir.path(), "rein-ws-stale", Some(&dead.to_text()));
        let stale_pristine =
            folder_with_marker(dir.path(), "rein-ws-pristine-x", Some(&dead.to_text()));
        let live = folder_with_marker(dir.path(), "rein-ws-live", Some(&owner.to_text()));
        let unmarked = folder_with_marker(dir.path(), "rein-ws-unmarked", None);
        let garbled = folder_with_marker(dir.path(), "rein-ws-garbled", Some("pid 1\n"));
        let foreign = folder_with_marker(dir.path(), "other-stale", Some(&dead.to_text()));
        let cleanup = remove_stale_workspaces_in(dir.path());
        assert_eq!(cleanup.removed, vec![stale_pristine.clone(), stale.clone()]);
        assert!(cleanup.failed.is_empty());
        assert!(!stale.exists() && !marker_path(&stale).exists());
        assert!(!stale_pristine.exists());
        for kept in [&live, &unmarked, &garbled, &foreign] {
            assert!(kept.join(".env").exists(), "{}", kept.display());
        }
        assert!(marker_path(&live).exists());
        // Nothing more to do the second time.
        assert_eq!(
            remove_stale_workspaces_in(dir.path()),
            StaleCleanup::default()
        );
    }
}

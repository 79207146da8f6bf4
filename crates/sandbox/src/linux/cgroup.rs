//! The sandbox's own cgroup with memory and pids limits, where the host allows it:
//! cgroup v2 when `/sys/fs/cgroup` is a cgroup2 mount and the controllers can be used in
//! our cgroup's subtree; otherwise cgroup v1 `pids` and `memory` hierarchies mounted under
//! `/sys/fs/cgroup/<controller>` when writable (typical for root on older hosts and CI).
//!
//! Best effort by design: rlimits always apply; the cgroup adds a limit for the sandbox as
//! a whole (all its processes together) and is what stops a fork bomb when rein runs as
//! root (uid 0 is exempt from `RLIMIT_NPROC`). [`CgroupReport`] says what is active.
//! Limits: `pids.max = processes + 2` (the helper and the supervisor count too),
//! `memory.max` (v2) or `memory.limit_in_bytes` (v1) `= memory_mb` MiB, and no swap (v2).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ResourceLimits;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const MIB: u64 = 1024 * 1024;

/// Which cgroup interface holds the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// The cgroup limits in force for a sandbox (or, from `probe`, that would be).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CgroupReport {
    /// `None`: no cgroup limit (see `note`); rlimits still apply.
    pub version: Option<CgroupVersion>,
    pub memory_max_bytes: Option<u64>,
    pub pids_max: Option<u64>,
    /// Why a limit is missing, when one is.
    pub note: Option<String>,
}

/// The cgroup folders made for one sandbox; removed by [`Cgroup::remove`].
#[derive(Debug, Default)]
pub(crate) struct Cgroup {
    folders: Vec<PathBuf>,
    pub(crate) report: CgroupReport,
}

/// Our cgroup path for a v1 controller (or, with `""`, the v2 path) from /proc/self/cgroup.
fn own_cgroup_path(controller: &str) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.splitn(3, ':');
        let (_id, controllers, path) = (fields.next()?, fields.next()?, fields.next()?);
        let matches = if controller.is_empty() {
            controllers.is_empty()
        } else {
            controllers.split(',').any(|name| name == controller)
        };
        matches.then(|| path.to_owned())
    })
}

// `f_type` is `i64` here but narrower on some architectures: keep the conversion.
#[allow(unsafe_code, clippy::useless_conversion)]
fn is_cgroup2_mount(path: &Path) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `statfs` is plain old data, valid when zeroed.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is NUL-terminated and `stat` a valid out-pointer; both outlive the
    // call.
    let result = unsafe { libc::statfs(c_path.as_ptr(), &mut stat) };
    result == 0 && i64::from(stat.f_type) == CGROUP2_SUPER_MAGIC
}

fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "rein-sandbox-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn write(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

fn joined(base: &Path, cgroup_path: &str) -> PathBuf {
    base.join(cgroup_path.trim_start_matches('/'))
}

impl Cgroup {
    /// Makes the sandbox's cgroup with `limits`, or reports why none could be made.
    pub(crate) fn create(limits: &ResourceLimits) -> Cgroup {
        Cgroup::create_under(Path::new(CGROUP_ROOT), limits)
    }

    fn create_under(root: &Path, limits: &ResourceLimits) -> Cgroup {
        let pids_max = limits.processes.saturating_add(2);
        let memory_max = limits.memory_mb.saturating_mul(MIB);
        if is_cgroup2_mount(root) {
            return Cgroup::create_v2(root, pids_max, memory_max);
        }
        let mut cgroup = Cgroup::default();
        let mut notes = Vec::new();
        for (controller, file, value) in [
            ("pids", "pids.max", pids_max),
            ("memory", "memory.limit_in_bytes", memory_max),
        ] {
            let Some(own) = own_cgroup_path(controller) else {
                notes.push(format!("no cgroup v1 `{controller}` controller"));
                continue;
            };
            let folder = joined(&root.join(controller), &own).join(unique_name());
            let made = std::fs::create_dir(&folder)
                .map_err(|error| format!("cannot create {}: {error}", folder.display()))
                .and_then(|()| {
                    cgroup.folders.push(folder.clone());
                    write(&folder.join(file), &value.to_string())
                });
            match made {
                Ok(()) => {
                    cgroup.report.version = Some(CgroupVersion::V1);
                    if controller == "pids" {
                        cgroup.report.pids_max = Some(value);
                    } else {
                        cgroup.report.memory_max_bytes = Some(value);
                    }
                }
                Err(note) => notes.push(note),
            }
        }
        if !notes.is_empty() {
            cgroup.report.note = Some(notes.join("; "));
        }
        cgroup
    }

    fn create_v2(root: &Path, pids_max: u64, memory_max: u64) -> Cgroup {
        let mut cgroup = Cgroup::default();
        let Some(own) = own_cgroup_path("") else {
            cgroup.report.note = Some("no cgroup v2 entry in /proc/self/cgroup".to_owned());
            return cgroup;
        };
        let parent = joined(root, &own);
        let subtree = parent.join("cgroup.subtree_control");
        let enabled = |name: &str| {
            std::fs::read_to_string(&subtree)
                .is_ok_and(|text| text.split_whitespace().any(|word| word == name))
        };
        if !(enabled("pids") && enabled("memory")) {
            // Only possible when our cgroup has no processes of its own (or is the root).
            let _may_fail = std::fs::write(&subtree, "+pids +memory");
        }
        let folder = parent.join(unique_name());
        if let Err(error) = std::fs::create_dir(&folder) {
            cgroup.report.note = Some(format!(
                "cgroup v2 is not delegated to this user: cannot create {}: {error}",
                folder.display()
            ));
            return cgroup;
        }
        cgroup.folders.push(folder.clone());
        cgroup.report.version = Some(CgroupVersion::V2);
        let mut notes = Vec::new();
        match write(&folder.join("pids.max"), &pids_max.to_string()) {
            Ok(()) => cgroup.report.pids_max = Some(pids_max),
            Err(note) => notes.push(note),
        }
        match write(&folder.join("memory.max"), &memory_max.to_string()) {
            Ok(()) => {
                cgroup.report.memory_max_bytes = Some(memory_max);
                let _no_swap_if_supported = std::fs::write(folder.join("memory.swap.max"), "0");
            }
            Err(note) => notes.push(note),
        }
        if !notes.is_empty() {
            cgroup.report.note = Some(notes.join("; "));
        }
        cgroup
    }

    /// Moves a process (the helper, before it forks anything) into every folder made.
    pub(crate) fn add_process(&self, pid: u32) -> Result<(), String> {
        for folder in &self.folders {
            write(&folder.join("cgroup.procs"), &pid.to_string())?;
        }
        Ok(())
    }

    /// Removes the folders; a folder whose processes are still dying is retried for up to
    /// about a second (the caller ended them; `SIGKILL` is delivered asynchronously).
    pub(crate) fn remove(&mut self) {
        for folder in std::mem::take(&mut self.folders) {
            for _attempt in 0..200 {
                match std::fs::remove_dir(&folder) {
                    Err(error) if error.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    _ => break,
                }
            }
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

/// What [`Cgroup::create`] would achieve, without creating anything (for `probe`).
pub(crate) fn probe(limits: &ResourceLimits) -> CgroupReport {
    let root = Path::new(CGROUP_ROOT);
    let writable = |path: &Path| {
        std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).is_ok_and(|c_path| {
            nix::unistd::access(c_path.as_c_str(), nix::unistd::AccessFlags::W_OK).is_ok()
        })
    };
    let mut report = CgroupReport::default();
    if is_cgroup2_mount(root) {
        match own_cgroup_path("") {
            Some(own) if writable(&joined(root, &own)) => {
                report.version = Some(CgroupVersion::V2);
                report.pids_max = Some(limits.processes.saturating_add(2));
                report.memory_max_bytes = Some(limits.memory_mb.saturating_mul(MIB));
            }
            _ => report.note = Some("cgroup v2 is not delegated to this user".to_owned()),
        }
        return report;
    }
    for controller in ["pids", "memory"] {
        let usable = own_cgroup_path(controller)
            .is_some_and(|own| writable(&joined(&root.join(controller), &own)));
        if !usable {
            continue;
        }
        report.version = Some(CgroupVersion::V1);
        if controller == "pids" {
            report.pids_max = Some(limits.processes.saturating_add(2));
        } else {
            report.memory_max_bytes = Some(limits.memory_mb.saturating_mul(MIB));
        }
    }
    if report.version.is_none() {
        report.note = Some("no writable cgroup (v2 delegated, or v1 pids/memory)".to_owned());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_without_cgroups_reports_why() {
        let dir = tempfile::tempdir().unwrap();
        let cgroup = Cgroup::create_under(dir.path(), &ResourceLimits::default());
        assert_eq!(cgroup.report.version, None);
        assert!(cgroup.report.note.is_some());
        assert!(cgroup.folders.is_empty());
    }

    #[test]
    fn cgroup_paths_join_below_the_controller_root() {
        assert_eq!(
            joined(Path::new("/sys/fs/cgroup/pids"), "/a/b"),
            PathBuf::from("/sys/fs/cgroup/pids/a/b")
        );
        assert_eq!(
            joined(Path::new("/sys/fs/cgroup/pids"), "/"),
            PathBuf::from("/sys/fs/cgroup/pids/")
        );
    }
}

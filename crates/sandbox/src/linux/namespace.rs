//! Helper side of the `linux` backend: entering the namespaces and building the sandbox's
//! root file system. Runs single-threaded, in the helper process, before any command.
//!
//! The root is a fresh tmpfs (mounted on `/tmp`, then made the root with `pivot_root`, so
//! the host's `/tmp` stays reachable under the old root while the tree is built):
//! - each existing `read_only_paths` entry bound read-only (recursively, `nosuid`,
//!   `nodev`), or recreated as a symlink when it is one (`/bin -> usr/bin`);
//! - a fresh `/proc` of the new PID namespace (`nosuid`, `nodev`, `noexec`);
//! - `/dev`: a read-only tmpfs with `null`, `zero`, `full`, `random`, `urandom`, `tty`
//!   bound from the host, the `fd`, `stdin`, `stdout`, `stderr` symlinks and a private
//!   tmpfs `shm` (POSIX shared memory);
//! - a private tmpfs `/tmp` (mode 1777);
//! - the workspace bound read-write at its own absolute path (`nosuid`, `nodev`), then the
//!   policy's overlays on top of it, parents first (see `crate::overlay`): protected git
//!   files and folders bound read-only, git folders pinned (bound onto themselves), hidden
//!   folders under an empty read-only tmpfs and hidden files under an empty read-only file;
//! - sensitive files of `/etc` (`shadow`, `gshadow`, `sudoers`, ssh host keys…) hidden
//!   under empty read-only files or folders;
//! - the old root detached, and the root tmpfs itself remounted read-only.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

use crate::Overlay;
use crate::linux::protocol::SupervisorConfig;

/// Device files bound from the host into the sandbox's `/dev`.
pub(crate) const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Files and folders of `/etc` hidden from commands.
const MASKED_ETC: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/security/opasswd",
    "/etc/ssl/private",
    "/etc/ssh/ssh_host_rsa_key",
    "/etc/ssh/ssh_host_ecdsa_key",
    "/etc/ssh/ssh_host_ed25519_key",
    "/etc/ssh/ssh_host_dsa_key",
];

/// Where the old root is while the new one is built.
const OLD_ROOT: &str = "/oldroot";

/// A failed set-up step: what rein was doing, the error, and the fix when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetupError {
    pub(crate) step: String,
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl SetupError {
    pub(crate) fn new(step: impl Into<String>, message: impl ToString) -> SetupError {
        SetupError {
            step: step.into(),
            message: message.to_string(),
            hint: String::new(),
        }
    }

    fn with_hint(mut self, hint: &str) -> SetupError {
        self.hint = hint.to_owned();
        self
    }
}

/// The hint for a host that refuses user namespaces.
pub(crate) const USERNS_HINT: &str = "allow unprivileged user namespaces: `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (Ubuntu 23.10+), `sysctl -w kernel.unprivileged_userns_clone=1` (Debian), or `sysctl -w user.max_user_namespaces=15000`; inside a container, run it with a seccomp profile that allows `unshare`; or choose `sandbox = \"bwrap\"` if bubblewrap is installed setuid";

/// Enters a new user namespace mapping the caller's uid and gid to themselves, then new
/// mount, PID, IPC, UTS and (unless `keep_network`) network namespaces. The PID namespace
/// applies to the next child (see `fork` in the supervisor).
pub(crate) fn enter_namespaces(keep_network: bool) -> Result<(), SetupError> {
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    unshare(CloneFlags::CLONE_NEWUSER).map_err(|errno| {
        SetupError::new("create a user namespace", errno).with_hint(USERNS_HINT)
    })?;
    // `setgroups` must be denied before an unprivileged process may write its gid_map.
    match std::fs::write("/proc/self/setgroups", "deny") {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(SetupError::new("write /proc/self/setgroups", error)),
    }
    std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))
        .map_err(|error| SetupError::new("write /proc/self/uid_map", error))?;
    std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))
        .map_err(|error| SetupError::new("write /proc/self/gid_map", error))?;
    let mut flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS;
    if !keep_network {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    unshare(flags).map_err(|errno| {
        SetupError::new("create mount, pid, ipc, uts and network namespaces", errno)
            .with_hint(USERNS_HINT)
    })
}

fn step_error(step: &str, path: &Path, error: impl ToString) -> SetupError {
    SetupError::new(format!("{step} {}", path.display()), error)
}

fn under_old_root(path: &Path) -> PathBuf {
    Path::new(OLD_ROOT).join(path.strip_prefix("/").unwrap_or(path))
}

fn create_dir_all(path: &Path) -> Result<(), SetupError> {
    match std::fs::create_dir_all(path) {
        Ok(()) => Ok(()),
        // Beneath a read-only bind the folder exists already when the host has it.
        Err(_) if path.is_dir() => Ok(()),
        Err(error) => Err(step_error("create folder", path, error)),
    }
}

fn create_parent(path: &Path) -> Result<(), SetupError> {
    match path.parent() {
        Some(parent) => create_dir_all(parent),
        None => Ok(()),
    }
}

fn create_file(path: &Path) -> Result<(), SetupError> {
    create_parent(path)?;
    if path.exists() {
        return Ok(());
    }
    std::fs::File::create(path)
        .map(drop)
        .map_err(|error| step_error("create mount point", path, error))
}

/// `struct mount_attr` of `mount_setattr(2)`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

/// Sets mount attributes on `path` and every mount beneath it (Linux 5.12+, older than any
/// kernel with Landlock). Only adds flags, so locked flags of the source are kept.
#[allow(unsafe_code)]
fn set_mount_attributes(path: &Path, attributes: u64) -> Result<(), SetupError> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|error| step_error("set mount attributes of", path, error))?;
    let attr = MountAttr {
        attr_set: attributes,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `c_path` is a valid NUL-terminated string and `attr` a properly laid out
    // `struct mount_attr`; both outlive the call, and the kernel only reads them.
    let result = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            libc::AT_RECURSIVE as libc::c_uint,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if result < 0 {
        return Err(step_error(
            "set mount attributes of",
            path,
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

fn bind(source: &Path, target: &Path) -> Result<(), SetupError> {
    mount(
        Some(source),
        target,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|errno| {
        SetupError::new(
            format!("bind {} to {}", source.display(), target.display()),
            errno,
        )
    })
}

fn bind_read_only(source: &Path, target: &Path) -> Result<(), SetupError> {
    bind(source, target)?;
    set_mount_attributes(
        target,
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
    )
}

fn mount_tmpfs(target: &Path, flags: MsFlags, options: &str) -> Result<(), SetupError> {
    mount(Some("tmpfs"), target, Some("tmpfs"), flags, Some(options))
        .map_err(|errno| step_error("mount a tmpfs on", target, errno))
}

/// Binds (or recreates as a symlink) one read-only path; missing paths are skipped.
fn add_read_only_path(path: &Path) -> Result<(), SetupError> {
    let source = under_old_root(path);
    let Ok(metadata) = std::fs::symlink_metadata(&source) else {
        return Ok(());
    };
    if metadata.file_type().is_symlink() {
        let target =
            std::fs::read_link(&source).map_err(|error| step_error("read symlink", path, error))?;
        create_parent(path)?;
        if std::fs::symlink_metadata(path).is_ok() {
            return Ok(());
        }
        return std::os::unix::fs::symlink(&target, path)
            .map_err(|error| step_error("create symlink", path, error));
    }
    if metadata.is_dir() {
        create_dir_all(path)?;
    } else {
        create_file(path)?;
    }
    bind_read_only(&source, path)
}

fn build_dev() -> Result<(), SetupError> {
    let dev = Path::new("/dev");
    create_dir_all(dev)?;
    mount_tmpfs(
        dev,
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        "mode=0755,size=64k",
    )?;
    for device in DEVICES {
        let source = Path::new(OLD_ROOT).join("dev").join(device);
        if !source.exists() {
            continue;
        }
        let target = dev.join(device);
        create_file(&target)?;
        bind(&source, &target)?;
    }
    for (link, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        let link = dev.join(link);
        std::os::unix::fs::symlink(target, &link)
            .map_err(|error| step_error("create symlink", &link, error))?;
    }
    let shm = dev.join("shm");
    create_dir_all(&shm)?;
    mount_tmpfs(
        &shm,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        "mode=1777",
    )?;
    mount(
        None::<&str>,
        dev,
        None::<&str>,
        MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|errno| step_error("remount read-only", dev, errno))
}

fn mask_etc() -> Result<(), SetupError> {
    let empty_file = Path::new("/.rein-empty");
    std::fs::File::create(empty_file).map_err(|error| step_error("create", empty_file, error))?;
    for masked in MASKED_ETC {
        let masked = Path::new(masked);
        let Ok(metadata) = std::fs::symlink_metadata(masked) else {
            continue;
        };
        if metadata.is_dir() {
            mount_tmpfs(
                masked,
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                "mode=0755,size=4k",
            )?;
        } else if metadata.is_file() {
            bind_read_only(empty_file, masked)?;
        }
    }
    // The binds keep the inode alive; the name goes.
    std::fs::remove_file(empty_file).map_err(|error| step_error("remove", empty_file, error))
}

/// Mounts the overlays, in order. Each target must still be the canonical path the plan
/// named (no symlink appeared on the way since the plan was made).
fn apply_overlays(overlays: &[Overlay]) -> Result<(), SetupError> {
    if overlays.is_empty() {
        return Ok(());
    }
    let empty_file = Path::new("/.rein-empty-overlay");
    std::fs::File::create(empty_file).map_err(|error| step_error("create", empty_file, error))?;
    for overlay in overlays {
        let target = overlay.path();
        let source = under_old_root(target);
        let Ok(metadata) = std::fs::symlink_metadata(&source) else {
            continue; // Gone since the plan: nothing to protect or hide.
        };
        if std::fs::canonicalize(&source).ok().as_deref() != Some(source.as_path()) {
            return Err(step_error(
                "protect",
                target,
                "a symlink appeared on its path while the sandbox started",
            ));
        }
        if metadata.is_dir() {
            create_dir_all(target)?;
        } else {
            create_file(target)?;
        }
        match overlay {
            Overlay::ReadOnly(_) => bind_read_only(&source, target)?,
            Overlay::Pinned(_) => {
                bind(&source, target)?;
                set_mount_attributes(target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)?;
            }
            Overlay::HiddenFolder(_) => mount_tmpfs(
                target,
                MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                "mode=0755,size=4k",
            )?,
            Overlay::HiddenFile(_) => bind_read_only(empty_file, target)?,
        }
    }
    std::fs::remove_file(empty_file).map_err(|error| step_error("remove", empty_file, error))
}

/// Builds the sandbox's root file system and makes it the root (see the module doc). Must
/// run in the new mount namespace, as PID 1 of the new PID namespace (for `/proc`).
pub(crate) fn build_root(config: &SupervisorConfig) -> Result<(), SetupError> {
    let root = Path::new("/");
    mount(
        None::<&str>,
        root,
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|errno| SetupError::new("make the mounts private", errno))?;
    let base = Path::new("/tmp");
    mount_tmpfs(
        base,
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        "mode=0755,size=1m",
    )?;
    nix::unistd::chdir(base).map_err(|errno| step_error("enter", base, errno))?;
    create_dir_all(Path::new("/tmp/oldroot"))?;
    nix::unistd::pivot_root(".", "oldroot")
        .map_err(|errno| SetupError::new("pivot_root to the new root", errno))?;
    nix::unistd::chdir(root).map_err(|errno| step_error("enter", root, errno))?;

    let mut read_only_paths: Vec<&PathBuf> = config
        .read_only_paths
        .iter()
        .filter(|path| path.is_absolute())
        .collect();
    read_only_paths.sort_by_key(|path| path.components().count());
    for path in read_only_paths {
        add_read_only_path(path)?;
    }

    let proc_dir = Path::new("/proc");
    create_dir_all(proc_dir)?;
    mount(
        Some("proc"),
        proc_dir,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|errno| step_error("mount", proc_dir, errno))?;

    build_dev()?;

    let tmp = Path::new("/tmp");
    create_dir_all(tmp)?;
    mount_tmpfs(tmp, MsFlags::MS_NOSUID | MsFlags::MS_NODEV, "mode=1777")?;

    let workspace = &config.workspace;
    create_dir_all(workspace)?;
    bind(&under_old_root(workspace), workspace)?;
    set_mount_attributes(workspace, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)?;

    apply_overlays(&config.overlays)?;

    if Path::new("/etc").is_dir() {
        mask_etc()?;
    }

    umount2(OLD_ROOT, MntFlags::MNT_DETACH)
        .map_err(|errno| SetupError::new("detach the old root", errno))?;
    std::fs::remove_dir(OLD_ROOT)
        .map_err(|error| SetupError::new("remove the old root's mount point", error))?;
    mount(
        None::<&str>,
        root,
        None::<&str>,
        MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .map_err(|errno| SetupError::new("remount the root read-only", errno))?;
    // The supervisor lives as long as the run: it waits in `/`, not in the workspace, so it
    // never pins the workspace; each command changes to its own directory.
    nix::unistd::chdir("/").map_err(|errno| step_error("enter", Path::new("/"), errno))
}

/// Brings the loopback interface of the (new, empty) network namespace up.
#[allow(unsafe_code)]
pub(crate) fn loopback_up() -> Result<(), SetupError> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: `socket` takes plain integers; a non-negative result is a new descriptor that
    // only we own, so wrapping it in `OwnedFd` (closed on drop) is sound.
    let socket = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(SetupError::new(
                "open a socket to configure lo",
                std::io::Error::last_os_error(),
            ));
        }
        OwnedFd::from_raw_fd(fd)
    };
    // SAFETY: `ifreq` is plain old data, valid when zeroed.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = *byte as libc::c_char;
    }
    // SAFETY: `request` is a valid `ifreq` naming "lo" that outlives both calls;
    // SIOCGIFFLAGS fills `ifru_flags` and SIOCSIFFLAGS reads it. `ifru_flags` is the union
    // member those requests use, so reading and writing it is sound.
    unsafe {
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &mut request) < 0 {
            return Err(SetupError::new(
                "read the flags of lo",
                std::io::Error::last_os_error(),
            ));
        }
        request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &request) < 0 {
            return Err(SetupError::new(
                "bring lo up",
                std::io::Error::last_os_error(),
            ));
        }
    }
    Ok(())
}

/// `struct __user_cap_header_struct` and `__user_cap_data_struct` of `capset(2)`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Drops every capability the supervisor holds in its user namespace, for itself and for
/// what it executes: clears the bounding and ambient sets, then the effective, permitted
/// and inheritable sets. Marks the process non-dumpable, so commands (same uid) cannot open
/// its `/proc/1/fd`, `/proc/1/mem` or `/proc/1/environ`.
#[allow(unsafe_code)]
pub(crate) fn drop_capabilities() -> Result<(), SetupError> {
    for capability in 0..64 {
        // SAFETY: PR_CAPBSET_DROP takes an integer; EINVAL past the last capability is
        // expected and ignored.
        unsafe {
            libc::prctl(libc::PR_CAPBSET_DROP, capability, 0, 0, 0);
        }
    }
    // SAFETY: plain integer arguments; clears the ambient set.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        );
    }
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: `header` and `data` are the layout capset expects for version 3 (a header and
    // two data structs); they outlive the call and are only read.
    let result = unsafe { libc::syscall(libc::SYS_capset, &header, data.as_ptr()) };
    if result < 0 {
        return Err(SetupError::new(
            "drop capabilities",
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: plain integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } < 0 {
        return Err(SetupError::new(
            "mark the supervisor non-dumpable",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

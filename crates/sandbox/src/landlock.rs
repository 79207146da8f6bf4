//! The Landlock ruleset of the `linux` backend (defence in depth under the read-only
//! mounts): everything may be read and executed, but files may be created, written,
//! removed or renamed only beneath the workspace, `/tmp` and `/dev/shm` (both private
//! tmpfs); the few device files a command
//! needs (`/dev/null`, `/dev/zero`…) may be written. With Landlock ABI 6 or later the
//! sandbox also cannot reach abstract UNIX sockets or signal processes outside it.
//!
//! The `landlock` backend uses the same ruleset with reads limited to the system folders,
//! the workspace, its temporary folder and `/proc` ([`restrict_self_to`]).
//!
//! Compatibility is best effort across ABI versions (an older kernel enforces what it
//! knows), but a kernel with no Landlock at all is an error: the backend refuses to start.
//!
//! The `bwrap` backend has no file-system ruleset (its mounts do that work) but gets the
//! ABI 6 scopes too ([`scope_ruleset`]), applied to the `bwrap` process before it execs.

use std::path::Path;

use ::landlock::{
    ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

/// The ABI whose file-system rights rein asks for (tested on this version).
const FS_ABI: ABI = ABI::V5;
/// The ABI whose scopes rein asks for.
const SCOPE_ABI: ABI = ABI::V6;

/// What [`restrict_self_to`] achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LandlockOutcome {
    /// The kernel's Landlock ABI version.
    pub(crate) kernel_abi: u32,
    /// Every right rein asked for is enforced (false: an older ABI enforces a subset).
    pub(crate) fully_enforced: bool,
}

/// The kernel's Landlock ABI version; `None` when Landlock is not built in or not enabled
/// at boot (`lsm=` without `landlock`).
#[allow(unsafe_code)]
pub(crate) fn kernel_abi() -> Option<u32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag,
    // landlock_create_ruleset only returns the ABI version (or -1 with errno); it reads and
    // writes no memory of ours and creates no file descriptor.
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(version).ok().filter(|version| *version > 0)
}

/// `struct landlock_ruleset_attr` (ABI 6 layout).
#[repr(C)]
struct RulesetAttr6 {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

const LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1;
const LANDLOCK_SCOPE_SIGNAL: u64 = 2;

/// A ruleset handling no file-system or network access, only the ABI 6 scopes: no
/// connecting to abstract UNIX sockets and no signalling processes outside the domain.
/// `None` when the kernel's Landlock is older than ABI 6 (or absent). For the `bwrap`
/// backend, whose child restricts itself with [`restrict_self_with`] before exec.
#[allow(unsafe_code)]
pub(crate) fn scope_ruleset() -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    if kernel_abi()? < 6 {
        return None;
    }
    let attr = RulesetAttr6 {
        handled_access_fs: 0,
        handled_access_net: 0,
        scoped: LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL,
    };
    // SAFETY: `attr` is a valid `struct landlock_ruleset_attr` of the given size that
    // outlives the call; the kernel only reads it. A non-negative result is a new
    // close-on-exec descriptor that only we own.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &attr as *const RulesetAttr6,
            std::mem::size_of::<RulesetAttr6>(),
            0u32,
        )
    };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: see above: `fd` is open and owned by nobody else.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Sets `no_new_privs` and restricts the calling process with the ruleset `fd`. Only two
/// system calls: safe between `fork` and `exec`.
#[allow(unsafe_code)]
pub(crate) fn restrict_self_with(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: plain integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` is an open Landlock ruleset descriptor; flags 0.
    if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, fd, 0u32) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Restricts the calling thread (and what it will fork) to reading (and executing) beneath
/// `readable`, and writing beneath `writable` folders and to the `devices` files: `linux`
/// passes `/` (its mount namespace already hides the rest), the `landlock` backend its
/// system folders and `/proc`. Folders of `readable` that do not exist are
/// skipped.
pub(crate) fn restrict_self_to(
    readable: &[&Path],
    writable: &[&Path],
    devices: &[&Path],
) -> Result<LandlockOutcome, String> {
    let Some(kernel_abi) = kernel_abi() else {
        return Err("the kernel has no Landlock (not built in, or not enabled at boot)".into());
    };
    let read = AccessFs::from_read(FS_ABI);
    let all = AccessFs::from_all(FS_ABI);
    let device_access: BitFlags<AccessFs> =
        AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev;

    let path_fd = |path: &Path| {
        PathFd::new(path).map_err(|error| format!("cannot open {}: {error}", path.display()))
    };
    let mut ruleset = Ruleset::default()
        .handle_access(all)
        .map_err(|error| error.to_string())?;
    // Scopes exist from ABI 6 on; older kernels simply do not get them.
    ruleset = ruleset
        .set_compatibility(CompatLevel::BestEffort)
        .scope(Scope::from_all(SCOPE_ABI))
        .map_err(|error| error.to_string())?;
    let mut created = ruleset.create().map_err(|error| error.to_string())?;
    for folder in readable {
        if !folder.exists() {
            continue;
        }
        created = created
            .add_rule(PathBeneath::new(path_fd(folder)?, read))
            .map_err(|error| error.to_string())?;
    }
    for folder in writable {
        created = created
            .add_rule(PathBeneath::new(path_fd(folder)?, all))
            .map_err(|error| error.to_string())?;
    }
    for device in devices {
        if !device.exists() {
            continue;
        }
        created = created
            .add_rule(PathBeneath::new(path_fd(device)?, device_access))
            .map_err(|error| error.to_string())?;
    }
    let status = created.restrict_self().map_err(|error| error.to_string())?;
    match status.ruleset {
        RulesetStatus::NotEnforced => Err(format!(
            "the kernel reports Landlock ABI {kernel_abi} but enforced none of the ruleset"
        )),
        RulesetStatus::FullyEnforced => Ok(LandlockOutcome {
            kernel_abi,
            fully_enforced: true,
        }),
        RulesetStatus::PartiallyEnforced => Ok(LandlockOutcome {
            kernel_abi,
            fully_enforced: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_abi_is_positive_or_absent() {
        // On the CI machine Landlock is enabled; on any machine the answer is well-formed.
        if let Some(abi) = kernel_abi() {
            assert!(abi >= 1);
        }
    }
}

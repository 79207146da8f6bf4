//! The Landlock ruleset of the `linux` backend (defence in depth under the read-only
//! mounts): everything may be read and executed, but files may be created, written,
//! removed or renamed only beneath the workspace, `/tmp` and `/dev/shm` (both private
//! tmpfs); the few device files a command
//! needs (`/dev/null`, `/dev/zero`…) may be written. With Landlock ABI 6 or later the
//! sandbox also cannot reach abstract UNIX sockets or signal processes outside it.
//!
//! Compatibility is best effort across ABI versions (an older kernel enforces what it
//! knows), but a kernel with no Landlock at all is an error: the backend refuses to start.

use std::path::Path;

use ::landlock::{
    ABI, Access, AccessFs, BitFlags, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

/// The ABI whose file-system rights rein asks for (tested on this version).
const FS_ABI: ABI = ABI::V5;
/// The ABI whose scopes rein asks for.
const SCOPE_ABI: ABI = ABI::V6;

/// What `restrict_self` achieved.
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

/// Restricts the calling thread (and what it will fork) to writing beneath `writable`
/// folders and to the `devices` files. Sets `no_new_privs`.
pub(crate) fn restrict_self(
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
    created = created
        .add_rule(PathBeneath::new(path_fd(Path::new("/"))?, read))
        .map_err(|error| error.to_string())?;
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

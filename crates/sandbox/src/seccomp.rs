//! The seccomp filter of the `linux` backend, installed on the supervisor after set-up so
//! every command inherits it.
//!
//! It refuses (with `EPERM`) the syscalls a sandboxed command has no business making:
//! debugging other processes (`ptrace`, `process_vm_*`, `pidfd_getfd`), changing the mount
//! table or the namespaces (`mount`, the new mount API, `unshare`, `setns`, `clone` with a
//! namespace flag), kernel keyrings, BPF, perf, kexec, modules, swap, reboot, accounting,
//! `userfaultfd`, file handles, io_uring (which bypasses seccomp for what it submits), clock
//! setting, and `ioctl(TIOCSTI/TIOCLINUX)` (typing into a terminal). `clone3` gets `ENOSYS`:
//! its flags live in memory a filter cannot read, and libc falls back to `clone` on
//! `ENOSYS`. Everything else is allowed; a call from another architecture (e.g. 32-bit
//! `int 0x80`) fails the filter's architecture check.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Syscalls refused unconditionally, by name (for the report and tests) and number.
pub(crate) const DENIED_SYSCALLS: &[(&str, libc::c_long)] = &[
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("pidfd_getfd", libc::SYS_pidfd_getfd),
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("chroot", libc::SYS_chroot),
    ("fsopen", libc::SYS_fsopen),
    ("fsconfig", libc::SYS_fsconfig),
    ("fsmount", libc::SYS_fsmount),
    ("fspick", libc::SYS_fspick),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("mount_setattr", libc::SYS_mount_setattr),
    ("unshare", libc::SYS_unshare),
    ("setns", libc::SYS_setns),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("kexec_load", libc::SYS_kexec_load),
    ("kexec_file_load", libc::SYS_kexec_file_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("reboot", libc::SYS_reboot),
    ("acct", libc::SYS_acct),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    ("quotactl", libc::SYS_quotactl),
    ("syslog", libc::SYS_syslog),
    ("fanotify_init", libc::SYS_fanotify_init),
    ("io_uring_setup", libc::SYS_io_uring_setup),
    ("io_uring_enter", libc::SYS_io_uring_enter),
    ("io_uring_register", libc::SYS_io_uring_register),
    ("settimeofday", libc::SYS_settimeofday),
    ("clock_settime", libc::SYS_clock_settime),
    ("clock_adjtime", libc::SYS_clock_adjtime),
    ("adjtimex", libc::SYS_adjtimex),
    ("vhangup", libc::SYS_vhangup),
    #[cfg(target_arch = "x86_64")]
    ("iopl", libc::SYS_iopl),
    #[cfg(target_arch = "x86_64")]
    ("ioperm", libc::SYS_ioperm),
    #[cfg(target_arch = "x86_64")]
    ("uselib", libc::SYS_uselib),
];

/// `clone` flags that create namespaces; a `clone` with any of them is refused.
const NAMESPACE_CLONE_FLAGS: &[libc::c_int] = &[
    libc::CLONE_NEWNS,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
    0x80, // CLONE_NEWTIME
];

/// `ioctl` requests refused: pushing input into a terminal.
const DENIED_IOCTLS: &[libc::c_ulong] = &[libc::TIOCSTI, libc::TIOCLINUX];

fn target_arch() -> Result<TargetArch, String> {
    TargetArch::try_from(std::env::consts::ARCH)
        .map_err(|error| format!("no seccomp support for this architecture: {error}"))
}

fn condition(
    index: u8,
    length: SeccompCmpArgLen,
    operator: SeccompCmpOp,
    value: u64,
) -> Result<SeccompCondition, String> {
    SeccompCondition::new(index, length, operator, value).map_err(|error| error.to_string())
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, String> {
    SeccompRule::new(conditions).map_err(|error| error.to_string())
}

/// The `EPERM` filter and the `ENOSYS` filter for `clone3`.
pub(crate) fn build_filters() -> Result<[BpfProgram; 2], String> {
    let arch = target_arch()?;
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED_SYSCALLS
        .iter()
        .map(|(_, number)| (*number, Vec::new()))
        .collect();
    let mut clone_rules = Vec::new();
    for flag in NAMESPACE_CLONE_FLAGS {
        // The flags are the first argument of `clone` on x86_64 and aarch64.
        let flag = u64::from(flag.unsigned_abs());
        clone_rules.push(rule(vec![condition(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(flag),
            flag,
        )?])?);
    }
    rules.insert(libc::SYS_clone, clone_rules);
    let mut ioctl_rules = Vec::new();
    for request in DENIED_IOCTLS {
        ioctl_rules.push(rule(vec![condition(
            1,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Eq,
            *request,
        )?])?);
    }
    rules.insert(libc::SYS_ioctl, ioctl_rules);
    let deny = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM.unsigned_abs()),
        arch,
    )
    .map_err(|error| error.to_string())?;
    let clone3 = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS.unsigned_abs()),
        arch,
    )
    .map_err(|error| error.to_string())?;
    Ok([
        BpfProgram::try_from(deny).map_err(|error| error.to_string())?,
        BpfProgram::try_from(clone3).map_err(|error| error.to_string())?,
    ])
}

/// Installs the filters on the calling thread (which must have `no_new_privs` set). Returns
/// how many syscalls are refused outright.
pub(crate) fn apply() -> Result<usize, String> {
    for filter in build_filters()? {
        seccompiler::apply_filter(&filter).map_err(|error| error.to_string())?;
    }
    Ok(DENIED_SYSCALLS.len())
}

/// A filter refusing `socket()` of every family but `AF_UNIX` (internet, packet, netlink…):
/// the `landlock` backend's `network = "none"`, which has no network namespace.
fn network_socket_filter() -> Result<BpfProgram, String> {
    let arch = target_arch()?;
    let not_unix = rule(vec![condition(
        0,
        SeccompCmpArgLen::Dword,
        SeccompCmpOp::Ne,
        libc::AF_UNIX.unsigned_abs().into(),
    )?])?;
    let filter = SeccompFilter::new(
        BTreeMap::from([(libc::SYS_socket, vec![not_unix])]),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EACCES.unsigned_abs()),
        arch,
    )
    .map_err(|error| error.to_string())?;
    BpfProgram::try_from(filter).map_err(|error| error.to_string())
}

/// [`apply`], plus the network socket filter when `deny_network_sockets`.
pub(crate) fn apply_with(deny_network_sockets: bool) -> Result<usize, String> {
    let denied = apply()?;
    if deny_network_sockets {
        seccompiler::apply_filter(&network_socket_filter()?).map_err(|error| error.to_string())?;
    }
    Ok(denied)
}

/// Whether the running kernel supports seccomp filters (`PR_GET_SECCOMP` answers).
#[allow(unsafe_code)]
pub(crate) fn kernel_supports_seccomp() -> bool {
    // SAFETY: PR_GET_SECCOMP takes no pointer arguments and only reads the calling thread's
    // seccomp mode; it fails with EINVAL when the kernel has no seccomp.
    let mode = unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) };
    mode >= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_compile_for_this_architecture() {
        let [deny, clone3] = build_filters().unwrap();
        assert!(deny.len() > DENIED_SYSCALLS.len());
        assert!(!clone3.is_empty());
    }

    #[test]
    fn the_issue_list_is_denied() {
        let names: Vec<&str> = DENIED_SYSCALLS.iter().map(|(name, _)| *name).collect();
        for required in [
            "ptrace",
            "mount",
            "umount2",
            "pivot_root",
            "unshare",
            "setns",
            "keyctl",
            "add_key",
            "request_key",
            "bpf",
            "perf_event_open",
            "kexec_load",
            "kexec_file_load",
            "init_module",
            "finit_module",
            "delete_module",
            "swapon",
            "swapoff",
            "reboot",
            "acct",
            "userfaultfd",
            "open_by_handle_at",
            "process_vm_readv",
            "process_vm_writev",
        ] {
            assert!(names.contains(&required), "{required} is not denied");
        }
    }
}

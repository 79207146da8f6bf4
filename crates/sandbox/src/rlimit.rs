//! Resource limits (rlimits) of a sandboxed command, set by the `linux` supervisor in the
//! forked child just before `execve`: CPU time, address space, file size, number of
//! processes, and no core dumps.
//!
//! A limit is never raised above the hard limit the supervisor already has (it has no
//! capabilities left to do so): the lower of the two applies.
//!
//! **Note:** the kernel does not apply `RLIMIT_NPROC` to uid 0 of the initial user
//! namespace, so when rein runs as root only the pids cgroup (see `linux::cgroup`)
//! contains a fork bomb.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

use crate::ResourceLimits;

const MIB: u64 = 1024 * 1024;

/// One limit: resource, soft and hard value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    pub(crate) resource: Resource,
    pub(crate) soft: u64,
    pub(crate) hard: u64,
}

/// The rlimits that implement `limits`. CPU time: the soft limit sends `SIGXCPU`, the hard
/// limit one second later `SIGKILL` (for a process that ignores `SIGXCPU`).
pub(crate) fn limits_for(limits: &ResourceLimits) -> [Limit; 5] {
    let same = |resource, value: u64| Limit {
        resource,
        soft: value,
        hard: value,
    };
    [
        Limit {
            resource: Resource::RLIMIT_CPU,
            soft: limits.cpu_seconds,
            hard: limits.cpu_seconds.saturating_add(1),
        },
        same(Resource::RLIMIT_AS, limits.memory_mb.saturating_mul(MIB)),
        same(
            Resource::RLIMIT_FSIZE,
            limits.file_size_mb.saturating_mul(MIB),
        ),
        same(Resource::RLIMIT_NPROC, limits.processes),
        same(Resource::RLIMIT_CORE, 0),
    ]
}

/// Applies `limits` to the calling process (the child between `fork` and `execve`).
pub(crate) fn apply(limits: &[Limit]) -> nix::Result<()> {
    for limit in limits {
        let (_current_soft, current_hard) = getrlimit(limit.resource)?;
        let hard = limit.hard.min(current_hard);
        let soft = limit.soft.min(hard);
        setrlimit(limit.resource, soft, hard)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_converted_to_bytes_and_seconds() {
        let limits = limits_for(&ResourceLimits {
            cpu_seconds: 10,
            memory_mb: 512,
            processes: 64,
            file_size_mb: 8,
        });
        let by_resource = |resource| {
            limits
                .iter()
                .find(|limit| limit.resource == resource)
                .map(|limit| (limit.soft, limit.hard))
        };
        assert_eq!(by_resource(Resource::RLIMIT_CPU), Some((10, 11)));
        assert_eq!(
            by_resource(Resource::RLIMIT_AS),
            Some((512 * MIB, 512 * MIB))
        );
        assert_eq!(
            by_resource(Resource::RLIMIT_FSIZE),
            Some((8 * MIB, 8 * MIB))
        );
        assert_eq!(by_resource(Resource::RLIMIT_NPROC), Some((64, 64)));
        assert_eq!(by_resource(Resource::RLIMIT_CORE), Some((0, 0)));
    }

    #[test]
    fn huge_limits_saturate_instead_of_overflowing() {
        let limits = limits_for(&ResourceLimits {
            cpu_seconds: u64::MAX,
            memory_mb: u64::MAX,
            processes: 1,
            file_size_mb: u64::MAX,
        });
        assert!(limits.iter().all(|limit| limit.soft <= limit.hard));
        assert_eq!(limits[1].soft, u64::MAX);
    }
}

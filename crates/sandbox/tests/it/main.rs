//! Integration tests of rein-sandbox: the host backend and workspaces.

// Helpers outside `#[test]` functions panic on purpose: a broken fixture fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod argv_secrets;
mod bwrap;
mod escape;
mod exec;
mod linux;
mod mcp_filters;
mod protect;
mod workspace;
mod worktree;

use std::path::Path;

/// Whether a process with this pid is running (a zombie counts as gone: it runs nothing and
/// only waits for its parent to reap it).
pub fn process_is_running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state is the first field after the parenthesised command name.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z') | Some('X') | None)
}

/// Whether the process is gone, allowing it a moment to die: `SIGKILL` is delivered
/// asynchronously. Polls for up to 10 s (a bound so a survivor fails the test instead of
/// hanging it; it is not a timing assertion).
pub fn process_ends(pid: u32) -> bool {
    for _ in 0..1000 {
        if !process_is_running(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// Reads a pid a test command wrote to a file.
pub fn read_pid(path: &Path) -> u32 {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read pid file {}: {error}", path.display()));
    text.trim()
        .parse()
        .unwrap_or_else(|error| panic!("bad pid {text:?} in {}: {error}", path.display()))
}

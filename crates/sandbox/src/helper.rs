//! The helper mode of the `linux` backend: the process that enters the namespaces and
//! becomes the sandbox's supervisor (see `linux::supervisor`).
//!
//! The `rein` binary calls [`run_helper_if_requested`] first thing in `main`, before any
//! thread or async runtime exists (entering a user namespace and forking need a
//! single-threaded process); `rein-sandbox-helper` (this crate's test helper binary) calls
//! [`run_helper`] directly.

use crate::HELPER_ARG;

/// When the first argument is [`HELPER_ARG`], runs the helper mode and returns its exit
/// code (the caller exits with it); otherwise returns `None` at once.
pub fn run_helper_if_requested() -> Option<i32> {
    let first = std::env::args_os().nth(1)?;
    (first == HELPER_ARG).then(run_helper)
}

/// Runs the helper mode: reads the configuration on stdin, builds the sandbox, serves
/// requests until stdin closes. Returns the exit code. Must be called while the process
/// is single-threaded.
pub fn run_helper() -> i32 {
    crate::linux::supervisor::helper_main()
}

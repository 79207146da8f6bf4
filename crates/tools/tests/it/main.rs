//! Integration tests of rein-tools: the toolbox's handling of bad calls, each builtin's
//! happy and error paths, path escapes, and the shell tool through the host sandbox.

// Helpers outside `#[test]` functions panic on purpose: a broken fixture fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ci_logs;
mod declared;
mod files;
mod http;
mod mcp;
mod race;
mod shell;
mod slack;
mod sql;
mod toolbox;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rein_sandbox::HostSandbox;
use rein_tools::{ToolContext, ToolOutcome, Toolbox};

/// A context whose workspace is `workspace`, running commands on the host.
pub fn context(workspace: &Path) -> ToolContext {
    ToolContext {
        workspace: workspace.to_path_buf(),
        sandbox: Arc::new(HostSandbox),
        env: BTreeMap::from([("PATH".to_owned(), "/usr/bin:/bin".to_owned())]),
        timeout: Duration::from_secs(30),
        network: None,
    }
}

/// Every builtin, with a 64 KiB output limit.
pub fn all_builtins() -> Toolbox {
    let names: Vec<String> = rein_tools::builtin::BUILTIN_NAMES
        .iter()
        .map(|name| (*name).to_owned())
        .collect();
    Toolbox::builtins(&names, 64 * 1024).unwrap()
}

/// An outcome as one snapshot-friendly string.
pub fn render(outcome: &ToolOutcome) -> String {
    let mut flags = format!("{:?}", outcome.kind);
    if outcome.is_error {
        flags.push_str(" error");
    }
    if let Some(exit_code) = outcome.exit_code {
        flags.push_str(&format!(" exit={exit_code}"));
    }
    if outcome.truncated_bytes > 0 {
        flags.push_str(&format!(" truncated={}", outcome.truncated_bytes));
    }
    format!("{flags}\n{}", outcome.content)
}

/// Calls a builtin in `workspace` and renders the outcome.
pub async fn call(workspace: &Path, tool: &str, arguments: serde_json::Value) -> String {
    let outcome = all_builtins()
        .invoke(tool, &arguments.to_string(), &context(workspace))
        .await;
    render(&outcome)
}

pub fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

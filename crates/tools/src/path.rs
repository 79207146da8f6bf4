//! Path safety for file tools: every path a tool touches resolves inside the workspace.
//!
//! [`resolve_in_workspace`] refuses
//! - absolute paths (the model must use paths relative to the workspace root),
//! - `..` that climbs above the workspace root (checked lexically, and the lexically
//!   normalised path is the one opened, so `a/link/..` means `a`),
//! - symlinks that lead outside the workspace, or nowhere: every existing component is
//!   inspected, a symlink is canonicalised and its target must stay under the canonical
//!   workspace root; a dangling symlink is refused because writing through it would create
//!   its target wherever it points.
//!
//! The returned path has every symlink already replaced by its target, and files are
//! opened with `O_NOFOLLOW` ([`open_read`], [`open_write`]), so a symlink swapped in as the
//! last component after the check is not followed.
//!
//! **Limitation:** checking and opening are separate steps: a process running concurrently
//! in the workspace could swap a *directory* component for a symlink in between (TOCTOU).
//! The fix is `openat2(RESOLVE_BENEATH)` on one directory fd, tracked as a later issue; the
//! `linux` sandbox backend (Landlock) also enforces the boundary in the kernel.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use crate::ToolError;

/// A path checked to be inside the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    /// Absolute path to open, symlinks resolved, inside the canonical workspace root.
    pub absolute: PathBuf,
    /// The requested path, normalised (`.` and `..` removed), relative to the workspace
    /// root, `/`-separated; `.` for the root itself. Shown to the model.
    pub display: String,
}

/// Resolves `requested` (relative to `workspace`) to a path inside the workspace, or says
/// why it is refused. The path need not exist; its existing part is checked.
pub fn resolve_in_workspace(workspace: &Path, requested: &str) -> Result<ResolvedPath, ToolError> {
    let requested_path = Path::new(requested);
    if requested_path.is_absolute() {
        return Err(ToolError::AbsolutePath {
            path: requested.to_owned(),
        });
    }
    let mut normalized: Vec<&std::ffi::OsStr> = Vec::new();
    for component in requested_path.components() {
        match component {
            Component::Normal(part) => normalized.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if normalized.pop().is_none() {
                    return Err(ToolError::PathEscapesWorkspace {
                        path: requested.to_owned(),
                    });
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ToolError::AbsolutePath {
                    path: requested.to_owned(),
                });
            }
        }
    }
    let display = if normalized.is_empty() {
        ".".to_owned()
    } else {
        normalized
            .iter()
            .map(|part| part.to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    };

    let root = fs::canonicalize(workspace).map_err(|source| ToolError::Io {
        action: "resolve the workspace root",
        path: workspace.display().to_string(),
        source,
    })?;
    let mut current = root.clone();
    for (index, part) in normalized.iter().enumerate() {
        let candidate = current.join(part);
        let metadata = match fs::symlink_metadata(&candidate) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                // The rest does not exist yet (a file to create): nothing more to resolve.
                let mut absolute = candidate;
                absolute.extend(&normalized[index + 1..]);
                return Ok(ResolvedPath { absolute, display });
            }
            Err(source) => {
                return Err(ToolError::Io {
                    action: "inspect",
                    path: prefix_display(&normalized[..=index]),
                    source,
                });
            }
        };
        if !metadata.file_type().is_symlink() {
            current = candidate;
            continue;
        }
        let symlink = prefix_display(&normalized[..=index]);
        match fs::canonicalize(&candidate) {
            Ok(target) if target.starts_with(&root) => current = target,
            Ok(_) => {
                return Err(ToolError::UnsafeSymlink {
                    path: display,
                    symlink,
                    problem: "points outside the workspace",
                });
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return Err(ToolError::UnsafeSymlink {
                    path: display,
                    symlink,
                    problem: "points to nothing (its target does not exist)",
                });
            }
            Err(source) => {
                return Err(ToolError::Io {
                    action: "resolve the symlink",
                    path: symlink,
                    source,
                });
            }
        }
    }
    Ok(ResolvedPath {
        absolute: current,
        display,
    })
}

fn prefix_display(parts: &[&std::ffi::OsStr]) -> String {
    parts
        .iter()
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Opens an existing file for reading without following a symlink in the last component.
pub fn open_read(path: &ResolvedPath) -> Result<fs::File, ToolError> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path.absolute)
        .map_err(ToolError::io("open", &path.display))
}

/// Opens a file for writing (created when missing, truncated when present) without
/// following a symlink in the last component.
pub fn open_write(path: &ResolvedPath) -> Result<fs::File, ToolError> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path.absolute)
        .map_err(ToolError::io("open for writing", &path.display))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(workspace: &Path, requested: &str, expected: Expect) {
        let root = fs::canonicalize(workspace).unwrap();
        let actual = match resolve_in_workspace(workspace, requested) {
            Ok(resolved) => format!(
                "ok {} -> {}",
                resolved.display,
                resolved
                    .absolute
                    .strip_prefix(&root)
                    .map(|relative| format!("<ws>/{}", relative.display()))
                    .unwrap_or_else(|_| resolved.absolute.display().to_string())
            ),
            Err(error) => format!("error: {error}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn opening_never_follows_a_symlink_in_the_last_component() {
        // As if a symlink had been swapped in after the path was resolved.
        let workspace = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("target.txt");
        fs::write(&target, "outside\n").unwrap();
        let link = workspace.path().join("swapped");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let resolved = ResolvedPath {
            absolute: link,
            display: "swapped".to_owned(),
        };
        let read_error = open_read(&resolved).unwrap_err();
        assert!(
            read_error
                .to_string()
                .starts_with("cannot open `swapped`: "),
            "{read_error}"
        );
        let write_error = open_write(&resolved).unwrap_err();
        assert!(
            write_error
                .to_string()
                .starts_with("cannot open for writing `swapped`: "),
            "{write_error}"
        );
        assert_eq!(fs::read_to_string(&target).unwrap(), "outside\n");
    }

    #[test]
    fn resolves_and_refuses_paths() {
        let workspace = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let ws = workspace.path();
        fs::create_dir_all(ws.join("src/inner")).unwrap();
        fs::write(ws.join("src/lib.rs"), "").unwrap();
        fs::write(outside.path().join("secret.txt"), "").unwrap();
        std::os::unix::fs::symlink("src", ws.join("src-link")).unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.join("out-dir")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), ws.join("out-file")).unwrap();
        std::os::unix::fs::symlink("../../..", ws.join("src/up")).unwrap();
        std::os::unix::fs::symlink("missing-target", ws.join("dangling")).unwrap();

        check(
            ws,
            "src/lib.rs",
            expect!["ok src/lib.rs -> <ws>/src/lib.rs"],
        );
        check(
            ws,
            "./src//inner/../lib.rs",
            expect!["ok src/lib.rs -> <ws>/src/lib.rs"],
        );
        check(ws, "", expect!["ok . -> <ws>/"]);
        check(ws, ".", expect!["ok . -> <ws>/"]);
        check(
            ws,
            "new/dir/file.txt",
            expect!["ok new/dir/file.txt -> <ws>/new/dir/file.txt"],
        );
        check(
            ws,
            "src-link/lib.rs",
            expect!["ok src-link/lib.rs -> <ws>/src/lib.rs"],
        );
        check(
            ws,
            "/etc/passwd",
            expect![
                "error: path `/etc/passwd` is absolute; use a path relative to the workspace root"
            ],
        );
        check(
            ws,
            "../x",
            expect![
                "error: path `../x` leaves the workspace; use a path inside the workspace root"
            ],
        );
        check(
            ws,
            "src/../../x",
            expect![
                "error: path `src/../../x` leaves the workspace; use a path inside the workspace root"
            ],
        );
        check(
            ws,
            "out-dir/secret.txt",
            expect![
                "error: path `out-dir/secret.txt` goes through the symlink `out-dir`, which points outside the workspace"
            ],
        );
        check(
            ws,
            "out-dir/new.txt",
            expect![
                "error: path `out-dir/new.txt` goes through the symlink `out-dir`, which points outside the workspace"
            ],
        );
        check(
            ws,
            "out-file",
            expect![
                "error: path `out-file` goes through the symlink `out-file`, which points outside the workspace"
            ],
        );
        check(
            ws,
            "src/up/etc",
            expect![
                "error: path `src/up/etc` goes through the symlink `src/up`, which points outside the workspace"
            ],
        );
        check(
            ws,
            "dangling",
            expect![
                "error: path `dangling` goes through the symlink `dangling`, which points to nothing (its target does not exist)"
            ],
        );
    }
}

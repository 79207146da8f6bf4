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
//! Opening is capability-style: [`open_read`], [`open_write`] and [`open_dir`] open the
//! workspace root as a directory fd and resolve the *relative* path from it with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`, so the kernel refuses any `..`,
//! absolute symlink or `/proc` magic link that would leave the workspace — also when a
//! component is swapped for a symlink between [`resolve_in_workspace`] and the open (a
//! race). Files are created by opening the parent folder beneath the root (creating
//! missing folders one `mkdirat` at a time) and then `openat(O_CREAT | O_NOFOLLOW)` of the
//! last component. [`resolve_in_workspace`] still runs first so that refusals carry a clear
//! message; the open is what enforces the boundary.

use std::fs;
use std::io::ErrorKind;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};

use crate::ToolError;

/// A path checked to be inside the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    /// Absolute path, symlinks resolved, inside the canonical workspace root. For messages
    /// and metadata only: opening goes through [`ResolvedPath::root`] and
    /// [`ResolvedPath::relative`].
    pub absolute: PathBuf,
    /// Canonical workspace root.
    pub root: PathBuf,
    /// The normalised requested path relative to `root` (empty for the root itself); the
    /// kernel resolves it beneath `root`.
    pub relative: PathBuf,
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
    let relative: PathBuf = normalized.iter().collect();
    let mut current = root.clone();
    for (index, part) in normalized.iter().enumerate() {
        let candidate = current.join(part);
        let metadata = match fs::symlink_metadata(&candidate) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                // The rest does not exist yet (a file to create): nothing more to resolve.
                let mut absolute = candidate;
                absolute.extend(&normalized[index + 1..]);
                return Ok(ResolvedPath {
                    absolute,
                    root,
                    relative,
                    display,
                });
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
        root,
        relative,
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

/// How the kernel resolves every path a tool opens: never above the directory fd, never
/// through a `/proc` magic link.
fn beneath() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS
}

/// Maps an open error: `EXDEV` (the kernel saw the path leave the root) and `ELOOP` from
/// a refused magic link are escapes; the rest is I/O.
fn open_error(
    action: &'static str,
    path: &ResolvedPath,
) -> impl FnOnce(rustix::io::Errno) -> ToolError {
    let display = path.display.clone();
    move |errno| {
        if errno == rustix::io::Errno::XDEV {
            ToolError::PathEscapesWorkspace { path: display }
        } else {
            ToolError::io(action, &display)(std::io::Error::from(errno))
        }
    }
}

/// The workspace root as a directory fd.
fn open_root(path: &ResolvedPath) -> Result<OwnedFd, ToolError> {
    rustix::fs::open(
        &path.root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| ToolError::Io {
        action: "open the workspace root",
        path: path.root.display().to_string(),
        source: std::io::Error::from(errno),
    })
}

/// `relative` as an openat2 argument: `.` for the root itself.
fn relative_or_dot(relative: &Path) -> &Path {
    if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    }
}

/// Opens an existing file for reading, resolved beneath the workspace root, without
/// following a symlink in the last component. Opened non-blocking so a FIFO cannot hang
/// the call (check the type with `metadata()` on the returned file).
pub fn open_read(path: &ResolvedPath) -> Result<fs::File, ToolError> {
    let root = open_root(path)?;
    let fd = rustix::fs::openat2(
        &root,
        relative_or_dot(&path.relative),
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
        beneath(),
    )
    .map_err(open_error("open", path))?;
    Ok(fs::File::from(fd))
}

/// Opens a folder for listing, resolved beneath the workspace root.
pub fn open_dir(path: &ResolvedPath) -> Result<OwnedFd, ToolError> {
    let root = open_root(path)?;
    rustix::fs::openat2(
        &root,
        relative_or_dot(&path.relative),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        beneath(),
    )
    .map_err(open_error("open", path))
}

/// Opens a file for writing (created when missing, truncated when present). Missing
/// parent folders are created when `create_parents`; every folder is opened beneath the
/// workspace root and the file itself with `O_NOFOLLOW` relative to its parent's fd.
pub fn open_write_with(path: &ResolvedPath, create_parents: bool) -> Result<fs::File, ToolError> {
    let root = open_root(path)?;
    let Some(file_name) = path.relative.file_name() else {
        return Err(ToolError::InvalidInput {
            message: format!("`{}` is a directory; give the path of a file", path.display),
        });
    };
    let mut parent = root;
    if let Some(parent_relative) = path.relative.parent() {
        for component in parent_relative.components() {
            let name = component.as_os_str();
            if create_parents {
                match rustix::fs::mkdirat(&parent, name, Mode::from_raw_mode(0o755)) {
                    Ok(()) => give_to_folder_owner(&parent, name),
                    Err(rustix::io::Errno::EXIST) => {}
                    Err(errno) => {
                        return Err(ToolError::Io {
                            action: "create the parent folders of",
                            path: path.display.clone(),
                            source: std::io::Error::from(errno),
                        });
                    }
                }
            }
            // One component at a time, beneath the previous folder: a symlink here may
            // only lead to somewhere below it.
            parent = rustix::fs::openat2(
                &parent,
                name,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                beneath(),
            )
            .map_err(open_error("open the parent folder of", path))?;
        }
    }
    // The parent fd is beneath the root; openat of one plain name with O_NOFOLLOW cannot
    // leave it. Non-blocking, so a FIFO cannot hang the call (it fails with ENXIO when no
    // one reads it); no O_TRUNC, so nothing is cut before the checks below.
    let is_new = matches!(
        rustix::fs::statat(&parent, file_name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW),
        Err(rustix::io::Errno::NOENT)
    );
    let fd = rustix::fs::openat(
        &parent,
        file_name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o644),
    )
    .map_err(|errno| {
        if errno == rustix::io::Errno::NXIO {
            not_a_regular_file(path)
        } else {
            open_error("open for writing", path)(errno)
        }
    })?;
    let stat = rustix::fs::fstat(&fd).map_err(open_error("inspect", path))?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(not_a_regular_file(path));
    }
    // A second name of the same file (`ln .git/config cfg`) would let a write land on a
    // file the rules protect, under a name they allow.
    if stat.st_nlink > 1 {
        return Err(ToolError::InvalidInput {
            message: format!(
                "`{}` has {} hard links: writing it would change another file too; remove it first",
                path.display, stat.st_nlink
            ),
        });
    }
    if is_new {
        give_to_folder_owner(&parent, file_name);
    }
    let file = fs::File::from(fd);
    file.set_len(0)
        .map_err(ToolError::io("truncate", &path.display))?;
    Ok(file)
}

/// Gives an entry rein just created the owner of the folder it is in. Under the `landlock`
/// backend run as root, commands run as `nobody` in a workspace `nobody` owns: a file a
/// tool made as root would be read-only to them. Where rein may not change owners (it is
/// not root) or the owners already match, nothing happens.
fn give_to_folder_owner(parent: &OwnedFd, name: &std::ffi::OsStr) {
    let Ok(folder) = rustix::fs::fstat(parent) else {
        return;
    };
    let Ok(entry) = rustix::fs::statat(parent, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) else {
        return;
    };
    if (entry.st_uid, entry.st_gid) == (folder.st_uid, folder.st_gid) {
        return;
    }
    let _not_permitted_is_fine = rustix::fs::chownat(
        parent,
        name,
        Some(rustix::fs::Uid::from_raw(folder.st_uid)),
        Some(rustix::fs::Gid::from_raw(folder.st_gid)),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    );
}

fn not_a_regular_file(path: &ResolvedPath) -> ToolError {
    ToolError::InvalidInput {
        message: format!(
            "`{}` is not a regular file (a FIFO, socket or device); file tools only write regular files",
            path.display
        ),
    }
}

/// [`open_write_with`] without creating parent folders.
pub fn open_write(path: &ResolvedPath) -> Result<fs::File, ToolError> {
    open_write_with(path, false)
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
            root: fs::canonicalize(workspace.path()).unwrap(),
            relative: PathBuf::from("swapped"),
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

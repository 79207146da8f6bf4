//! Workspaces: the one folder a run may change.
//!
//! A [`Workspace`] is a fresh temporary folder, either empty ([`Workspace::tempdir`]), a
//! copy of a project folder ([`Workspace::copy_of`], [`Workspace::copy_of_with`] to skip
//! gitignored files) or a detached git worktree ([`Workspace::worktree`], removed with
//! `git worktree remove --force` and pruned). It is removed when dropped unless
//! [`Workspace::keep`] was called.
//!
//! At creation a *pristine* copy of the initial content is taken (in a second temporary
//! folder, always removed on drop), so [`Workspace::diff`] can say what the run changed: a
//! unified diff (git style, `a/` and `b/` prefixes) of every added, modified and deleted file
//! plus a summary (module `diff`: read through file descriptors, following no symlink).
//!
//! The workspace folder and its pristine copy are created `0700` (owner only), so no other
//! local user can read the copied files whatever their own modes. Each gets an owner
//! marker beside it (see `crate::stale`), so a folder left by a killed run can be removed
//! by the next one.
//!
//! Copies keep file modes and recreate symlinks as symlinks (never followed). Directories
//! keep their mode plus owner `rwx` (so rein can always fill and remove them). Sockets,
//! FIFOs and device files are skipped. A top-level `.rein` folder (rein's own run data) is
//! neither copied nor diffed. Empty directories do not appear in a diff (as in git).
//!
//! All functions here do blocking file-system work; call them from `spawn_blocking` when on
//! an async runtime.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::SandboxError;
use crate::diff::diff_trees;
pub use crate::diff::{ChangeStatus, DiffSummary, FileChange, MAX_DIFF_FILE_BYTES, WorkspaceDiff};

/// Name of rein's own folder at the top of a project; never copied into a workspace.
pub const REIN_DIR_NAME: &str = ".rein";

/// How a workspace was made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkspaceKind {
    /// A fresh, empty temporary folder.
    Tempdir,
    /// A temporary copy of `source`.
    Copy { source: PathBuf },
    /// A detached git worktree of `repo` at `rev` (`commit` is what `rev` resolved to).
    Worktree {
        repo: PathBuf,
        rev: String,
        commit: String,
    },
}

/// How [`Workspace::copy_of_with`] copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CopyOptions {
    /// Skip what `.gitignore` files (and `.git/info/exclude`) of the source ignore.
    pub honour_gitignore: bool,
}

/// The folder a run works in, with a snapshot of its initial content.
#[derive(Debug)]
pub struct Workspace {
    kind: WorkspaceKind,
    /// Canonical path of the workspace folder.
    root: PathBuf,
    /// Owns `root`; `None` once [`Workspace::keep`] was called.
    root_dir: Option<tempfile::TempDir>,
    /// The initial content, for [`Workspace::diff`]; always removed on drop.
    pristine_dir: tempfile::TempDir,
}

impl Drop for Workspace {
    fn drop(&mut self) {
        // The folders go right after (their `TempDir`s); the owner markers first.
        if let Some(root_dir) = &self.root_dir {
            crate::stale::remove_marker(root_dir.path());
        }
        crate::stale::remove_marker(self.pristine_dir.path());
        if let (WorkspaceKind::Worktree { repo, .. }, false) = (&self.kind, self.is_kept()) {
            let root = self.root.to_string_lossy().into_owned();
            // Best effort: a failure leaves a stale worktree entry that `git worktree prune`
            // clears once the folder is gone (the TempDir removes it right after).
            let _removed = run_git(repo, &["worktree", "remove", "--force", &root]);
            let _pruned = run_git(repo, &["worktree", "prune"]);
        }
    }
}

impl Workspace {
    /// A fresh, empty temporary folder.
    pub fn tempdir() -> Result<Workspace, SandboxError> {
        let (root_dir, root) = make_temp_dir("rein-ws-")?;
        let (pristine_dir, _) = make_temp_dir("rein-ws-pristine-")?;
        Ok(Workspace {
            kind: WorkspaceKind::Tempdir,
            root,
            root_dir: Some(root_dir),
            pristine_dir,
        })
    }

    /// A temporary copy of the folder `source` (everything but a top-level `.rein`).
    pub fn copy_of(source: &Path) -> Result<Workspace, SandboxError> {
        Workspace::copy_of_with(source, CopyOptions::default())
    }

    /// A temporary copy of the folder `source`, optionally without what its `.gitignore`
    /// files ignore (the `.git` folder itself is copied).
    pub fn copy_of_with(source: &Path, options: CopyOptions) -> Result<Workspace, SandboxError> {
        let source_metadata = fs::metadata(source).map_err(SandboxError::io(
            "read workspace source",
            source.to_path_buf(),
        ))?;
        if !source_metadata.is_dir() {
            return Err(SandboxError::SourceNotDirectory {
                path: source.to_path_buf(),
            });
        }
        let source = fs::canonicalize(source).map_err(SandboxError::io(
            "resolve workspace source",
            source.to_path_buf(),
        ))?;
        let (root_dir, root) = make_temp_dir("rein-ws-")?;
        if options.honour_gitignore {
            copy_tree_honouring_gitignore(&source, &root)?;
        } else {
            copy_tree(&source, &root)?;
        }
        // Before the pristine copy, so the placeholders never show in the diff.
        crate::overlay::create_git_placeholders(&root)?;
        let (pristine_dir, pristine) = make_temp_dir("rein-ws-pristine-")?;
        // From our copy, not from `source`, which may change meanwhile.
        copy_tree(&root, &pristine)?;
        Ok(Workspace {
            kind: WorkspaceKind::Copy { source },
            root,
            root_dir: Some(root_dir),
            pristine_dir,
        })
    }

    /// A detached git worktree of the repository `repo` at `rev` (a commit, branch or
    /// tag), in a temporary folder; removed with `git worktree remove --force` and pruned
    /// on drop unless kept. Fails clearly when `repo` is not a git repository or `rev` is
    /// not a commit in it.
    pub fn worktree(repo: &Path, rev: &str) -> Result<Workspace, SandboxError> {
        let repo = fs::canonicalize(repo)
            .map_err(SandboxError::io("resolve repository", repo.to_path_buf()))?;
        let action = "make a worktree workspace";
        run_git(&repo, &["rev-parse", "--git-dir"]).map_err(|error| match error {
            SandboxError::Git { args, .. } => SandboxError::Git {
                action,
                args,
                message: format!("{} is not a git repository", repo.display()),
            },
            other => other,
        })?;
        if rev.starts_with('-') {
            return Err(SandboxError::Git {
                action,
                args: format!("rev-parse {rev}"),
                message: format!("`{rev}` is not a revision"),
            });
        }
        let commit = run_git(
            &repo,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .map_err(|error| match error {
            SandboxError::Git { args, .. } => SandboxError::Git {
                action,
                args,
                message: format!("revision `{rev}` is not a commit in {}", repo.display()),
            },
            other => other,
        })?
        .trim()
        .to_owned();
        let (root_dir, root) = make_temp_dir("rein-ws-")?;
        let root_text = root.to_string_lossy().into_owned();
        run_git(&repo, &["worktree", "add", "--detach", &root_text, &commit])?;
        let (pristine_dir, pristine) = make_temp_dir("rein-ws-pristine-")?;
        let workspace = Workspace {
            kind: WorkspaceKind::Worktree {
                repo,
                rev: rev.to_owned(),
                commit,
            },
            root,
            root_dir: Some(root_dir),
            pristine_dir,
        };
        // From now on, dropping `workspace` removes the worktree if copying fails.
        copy_tree(&workspace.root, &pristine)?;
        Ok(workspace)
    }

    /// Canonical path of the workspace folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How this workspace was made.
    pub fn kind(&self) -> &WorkspaceKind {
        &self.kind
    }

    /// Do not remove the workspace folder on drop (to inspect it after the run). The
    /// pristine snapshot is still removed.
    pub fn keep(&mut self) {
        if let Some(root_dir) = self.root_dir.take() {
            // A kept workspace is the user's now: no cleaner may remove it.
            crate::stale::remove_marker(root_dir.path());
            let _kept_path = root_dir.keep();
        }
    }

    /// Whether [`Workspace::keep`] was called.
    pub fn is_kept(&self) -> bool {
        self.root_dir.is_none()
    }

    /// What changed in the workspace since it was created.
    pub fn diff(&self) -> Result<WorkspaceDiff, SandboxError> {
        diff_trees(self.pristine_dir.path(), &self.root)
    }
}

fn make_temp_dir(prefix: &str) -> Result<(tempfile::TempDir, PathBuf), SandboxError> {
    // Owner only: a copy holds the user's files (a `.env` among them).
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir()
        .map_err(SandboxError::io(
            "create temporary folder in",
            std::env::temp_dir(),
        ))?;
    crate::stale::write_marker(dir.path());
    let canonical = fs::canonicalize(dir.path())
        .map_err(SandboxError::io("resolve temporary folder", dir.path()))?;
    Ok((dir, canonical))
}

/// Runs `git -C repo ARGS` with a clean environment (only `PATH`, `HOME`, `LC_ALL=C`, no
/// prompts); returns stdout, or [`SandboxError::Git`] with git's stderr.
fn run_git(repo: &Path, args: &[&str]) -> Result<String, SandboxError> {
    let mut environment: Vec<(&str, std::ffi::OsString)> = vec![
        ("LC_ALL", "C".into()),
        ("GIT_TERMINAL_PROMPT", "0".into()),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
    ];
    for name in ["PATH", "HOME"] {
        if let Some(value) = std::env::var_os(name) {
            environment.push((name, value));
        }
    }
    #[allow(clippy::disallowed_methods)] // rein-sandbox is the one crate that spawns
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env_clear()
        .envs(environment)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| SandboxError::Spawn {
            program: "git".to_owned(),
            source,
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(SandboxError::Git {
            action: "prepare the workspace",
            args: args.join(" "),
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// Copies `source` into the existing folder `destination`, skipping what `.gitignore`
/// files, `.git/info/exclude` (and a top-level `.rein`) exclude.
fn copy_tree_honouring_gitignore(source: &Path, destination: &Path) -> Result<(), SandboxError> {
    let walker = ignore::WalkBuilder::new(source)
        .hidden(false)
        .ignore(false)
        .parents(false)
        .git_global(false)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .follow_links(false)
        .build();
    let mut directories: Vec<(PathBuf, u32)> = Vec::new();
    for entry in walker {
        let entry = entry.map_err(|error| SandboxError::Io {
            action: "walk",
            path: source.to_path_buf(),
            source: std::io::Error::other(error.to_string()),
        })?;
        let from = entry.path();
        let Ok(relative) = from.strip_prefix(source) else {
            continue;
        };
        if relative.as_os_str().is_empty() {
            continue;
        }
        if relative.starts_with(REIN_DIR_NAME) {
            continue;
        }
        let to = destination.join(relative);
        let metadata = fs::symlink_metadata(from).map_err(SandboxError::io("inspect", from))?;
        let file_type = metadata.file_type();
        if file_type.is_symlink() {
            let target = fs::read_link(from).map_err(SandboxError::io("read symlink", from))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(SandboxError::io("create symlink", &to))?;
        } else if file_type.is_dir() {
            fs::create_dir(&to).map_err(SandboxError::io("create folder", &to))?;
            directories.push((to, metadata.permissions().mode() | 0o700));
        } else if file_type.is_file() {
            fs::copy(from, &to).map_err(SandboxError::io("copy file", from))?;
        }
    }
    for (directory, mode) in directories.into_iter().rev() {
        fs::set_permissions(&directory, fs::Permissions::from_mode(mode))
            .map_err(SandboxError::io("set permissions of", &directory))?;
    }
    Ok(())
}

/// Copies the content of `source` into the existing folder `destination`.
fn copy_tree(source: &Path, destination: &Path) -> Result<(), SandboxError> {
    copy_dir_content(source, destination, true)
}

fn copy_dir_content(
    source: &Path,
    destination: &Path,
    is_top_level: bool,
) -> Result<(), SandboxError> {
    let entries = fs::read_dir(source).map_err(SandboxError::io("read folder", source))?;
    for entry in entries {
        let entry = entry.map_err(SandboxError::io("read folder", source))?;
        let name = entry.file_name();
        if is_top_level && name == REIN_DIR_NAME {
            continue;
        }
        let from = entry.path();
        let to = destination.join(&name);
        let metadata = fs::symlink_metadata(&from).map_err(SandboxError::io("inspect", &from))?;
        let file_type = metadata.file_type();
        if file_type.is_symlink() {
            let target = fs::read_link(&from).map_err(SandboxError::io("read symlink", &from))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(SandboxError::io("create symlink", &to))?;
        } else if file_type.is_dir() {
            fs::create_dir(&to).map_err(SandboxError::io("create folder", &to))?;
            copy_dir_content(&from, &to, false)?;
            let mode = metadata.permissions().mode() | 0o700;
            fs::set_permissions(&to, fs::Permissions::from_mode(mode))
                .map_err(SandboxError::io("set permissions of", &to))?;
        } else if file_type.is_file() {
            // `fs::copy` also copies the permission bits.
            fs::copy(&from, &to).map_err(SandboxError::io("copy file", &from))?;
        }
        // Sockets, FIFOs and devices are not workspace content: skipped.
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn workspace_and_pristine_folders_are_owner_only() {
        let source = tempfile::tempdir().unwrap();
        fs::set_permissions(source.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(source.path().join(".env"), "TOKEN=x\n").unwrap();
        for workspace in [
            Workspace::tempdir().unwrap(),
            Workspace::copy_of(source.path()).unwrap(),
            Workspace::copy_of_with(
                source.path(),
                CopyOptions {
                    honour_gitignore: true,
                },
            )
            .unwrap(),
        ] {
            assert_eq!(mode_of(workspace.root()), 0o700, "{:?}", workspace.kind());
            assert_eq!(
                mode_of(workspace.pristine_dir.path()),
                0o700,
                "{:?}",
                workspace.kind()
            );
        }
    }
}

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
//! plus a summary. Line diffs use the `similar` crate (Myers, with a time bound); binary
//! files (a NUL byte in the first 8000 bytes, or not UTF-8) are noted, not diffed, and files
//! over [`MAX_DIFF_FILE_BYTES`] are noted as too large.
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::SandboxError;

/// Name of rein's own folder at the top of a project; never copied into a workspace.
pub const REIN_DIR_NAME: &str = ".rein";

/// Files larger than this are reported as changed but not line-diffed.
pub const MAX_DIFF_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Bytes inspected for a NUL byte when deciding whether a file is binary (as git does).
const BINARY_SNIFF_BYTES: usize = 8000;

/// Upper bound on the time spent diffing one file; past it the diff is still correct but
/// may be less minimal.
const DIFF_TIMEOUT_PER_FILE: Duration = Duration::from_secs(2);

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

/// What changed in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkspaceDiff {
    /// Changed files, sorted by path.
    pub files: Vec<FileChange>,
    /// Unified diff of all changes, git style (`diff --git a/… b/…`, `--- a/…`, `+++ b/…`).
    pub unified: String,
    pub summary: DiffSummary,
}

impl WorkspaceDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// One changed file (or symlink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the workspace root, `/`-separated.
    pub path: String,
    pub status: ChangeStatus,
    /// Binary or too large: noted in the diff, lines not counted.
    pub binary: bool,
    pub insertions: u64,
    pub deletions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeStatus {
    Added,
    Modified,
    Deleted,
}

/// Totals over a [`WorkspaceDiff`], shown like `git diff --stat`'s last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiffSummary {
    pub files_changed: usize,
    pub insertions: u64,
    pub deletions: u64,
}

impl fmt::Display for DiffSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        write!(
            f,
            "{} file{} changed, {} insertion{}(+), {} deletion{}(-)",
            self.files_changed,
            plural(self.files_changed as u64),
            self.insertions,
            plural(self.insertions),
            self.deletions,
            plural(self.deletions),
        )
    }
}

/// A file or symlink of a tree, as far as a diff cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TreeNode {
    File { executable: bool, size: u64 },
    Symlink { target: String },
}

impl TreeNode {
    /// git's notation for the node's type and mode.
    fn git_mode(&self) -> &'static str {
        match self {
            TreeNode::File {
                executable: true, ..
            } => "100755",
            TreeNode::File { .. } => "100644",
            TreeNode::Symlink { .. } => "120000",
        }
    }
}

/// Every file and symlink under `root`, by `/`-separated relative path.
fn collect_tree(root: &Path) -> Result<BTreeMap<String, TreeNode>, SandboxError> {
    let mut nodes = BTreeMap::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(SandboxError::io("read folder", &dir))?;
        for entry in entries {
            let entry = entry.map_err(SandboxError::io("read folder", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if prefix.is_empty() && name == REIN_DIR_NAME {
                continue;
            }
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = entry.path();
            let metadata =
                fs::symlink_metadata(&path).map_err(SandboxError::io("inspect", &path))?;
            let file_type = metadata.file_type();
            if file_type.is_symlink() {
                let target =
                    fs::read_link(&path).map_err(SandboxError::io("read symlink", &path))?;
                let target = target.to_string_lossy().into_owned();
                nodes.insert(relative, TreeNode::Symlink { target });
            } else if file_type.is_dir() {
                pending.push((path, relative));
            } else if file_type.is_file() {
                let executable = metadata.permissions().mode() & 0o111 != 0;
                let size = metadata.len();
                nodes.insert(relative, TreeNode::File { executable, size });
            }
        }
    }
    Ok(nodes)
}

/// Content of a node for diffing.
enum NodeContent {
    Text(String),
    Binary,
    TooLarge(u64),
}

fn read_node_content(
    root: &Path,
    relative: &str,
    node: &TreeNode,
) -> Result<NodeContent, SandboxError> {
    match node {
        TreeNode::Symlink { target } => Ok(NodeContent::Text(target.clone())),
        TreeNode::File { size, .. } if *size > MAX_DIFF_FILE_BYTES => {
            Ok(NodeContent::TooLarge(*size))
        }
        TreeNode::File { .. } => {
            let path = root.join(relative);
            let bytes = fs::read(&path).map_err(SandboxError::io("read file", &path))?;
            if bytes.iter().take(BINARY_SNIFF_BYTES).any(|byte| *byte == 0) {
                return Ok(NodeContent::Binary);
            }
            match String::from_utf8(bytes) {
                Ok(text) => Ok(NodeContent::Text(text)),
                Err(_) => Ok(NodeContent::Binary),
            }
        }
    }
}

/// Whether two files have the same bytes, read in chunks.
fn file_contents_equal(left: &Path, right: &Path) -> Result<bool, SandboxError> {
    let mut left_file = fs::File::open(left).map_err(SandboxError::io("open file", left))?;
    let mut right_file = fs::File::open(right).map_err(SandboxError::io("open file", right))?;
    let mut left_chunk = vec![0u8; 64 * 1024];
    let mut right_chunk = vec![0u8; 64 * 1024];
    loop {
        let n_left = read_full(&mut left_file, &mut left_chunk)
            .map_err(SandboxError::io("read file", left))?;
        let n_right = read_full(&mut right_file, &mut right_chunk)
            .map_err(SandboxError::io("read file", right))?;
        if n_left != n_right || left_chunk[..n_left] != right_chunk[..n_right] {
            return Ok(false);
        }
        if n_left == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buffer` is full or EOF; returns the number of bytes read.
fn read_full(file: &mut fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut n_filled = 0;
    while n_filled < buffer.len() {
        match file.read(&mut buffer[n_filled..]) {
            Ok(0) => break,
            Ok(n_read) => n_filled += n_read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(n_filled)
}

fn nodes_equal(
    old_root: &Path,
    new_root: &Path,
    relative: &str,
    old: &TreeNode,
    new: &TreeNode,
) -> Result<bool, SandboxError> {
    match (old, new) {
        (TreeNode::Symlink { target: old_target }, TreeNode::Symlink { target: new_target }) => {
            Ok(old_target == new_target)
        }
        (
            TreeNode::File {
                executable: old_executable,
                size: old_size,
            },
            TreeNode::File {
                executable: new_executable,
                size: new_size,
            },
        ) => {
            if old_executable != new_executable || old_size != new_size {
                return Ok(false);
            }
            file_contents_equal(&old_root.join(relative), &new_root.join(relative))
        }
        _ => Ok(false),
    }
}

/// Compares the tree `old_root` (before) with `new_root` (after).
fn diff_trees(old_root: &Path, new_root: &Path) -> Result<WorkspaceDiff, SandboxError> {
    let old_nodes = collect_tree(old_root)?;
    let new_nodes = collect_tree(new_root)?;
    let all_paths: BTreeSet<&String> = old_nodes.keys().chain(new_nodes.keys()).collect();

    let mut diff = WorkspaceDiff::default();
    for relative in all_paths {
        let old = old_nodes.get(relative);
        let new = new_nodes.get(relative);
        let (status, old_content, new_content) = match (old, new) {
            (None, None) => continue,
            (None, Some(new)) => (
                ChangeStatus::Added,
                NodeContent::Text(String::new()),
                read_node_content(new_root, relative, new)?,
            ),
            (Some(old), None) => (
                ChangeStatus::Deleted,
                read_node_content(old_root, relative, old)?,
                NodeContent::Text(String::new()),
            ),
            (Some(old), Some(new)) => {
                if nodes_equal(old_root, new_root, relative, old, new)? {
                    continue;
                }
                (
                    ChangeStatus::Modified,
                    read_node_content(old_root, relative, old)?,
                    read_node_content(new_root, relative, new)?,
                )
            }
        };
        let change = render_file_change(
            &mut diff.unified,
            relative,
            status,
            old,
            new,
            &old_content,
            &new_content,
        );
        diff.summary.files_changed += 1;
        diff.summary.insertions += change.insertions;
        diff.summary.deletions += change.deletions;
        diff.files.push(change);
    }
    Ok(diff)
}

/// Appends the unified diff of one file to `out` and returns its counts.
fn render_file_change(
    out: &mut String,
    relative: &str,
    status: ChangeStatus,
    old: Option<&TreeNode>,
    new: Option<&TreeNode>,
    old_content: &NodeContent,
    new_content: &NodeContent,
) -> FileChange {
    use std::fmt::Write as _;

    let old_label = match status {
        ChangeStatus::Added => "/dev/null".to_owned(),
        _ => format!("a/{relative}"),
    };
    let new_label = match status {
        ChangeStatus::Deleted => "/dev/null".to_owned(),
        _ => format!("b/{relative}"),
    };
    let _ = writeln!(out, "diff --git a/{relative} b/{relative}");
    match (status, old, new) {
        (ChangeStatus::Added, _, Some(new)) => {
            let _ = writeln!(out, "new file mode {}", new.git_mode());
        }
        (ChangeStatus::Deleted, Some(old), _) => {
            let _ = writeln!(out, "deleted file mode {}", old.git_mode());
        }
        (ChangeStatus::Modified, Some(old), Some(new)) if old.git_mode() != new.git_mode() => {
            let _ = writeln!(out, "old mode {}", old.git_mode());
            let _ = writeln!(out, "new mode {}", new.git_mode());
        }
        _ => {}
    }

    let mut change = FileChange {
        path: relative.to_owned(),
        status,
        binary: false,
        insertions: 0,
        deletions: 0,
    };
    match (old_content, new_content) {
        (NodeContent::Text(old_text), NodeContent::Text(new_text)) => {
            let text_diff = similar::TextDiff::configure()
                .timeout(DIFF_TIMEOUT_PER_FILE)
                .diff_lines(old_text.as_str(), new_text.as_str());
            for line_change in text_diff.iter_all_changes() {
                match line_change.tag() {
                    similar::ChangeTag::Insert => change.insertions += 1,
                    similar::ChangeTag::Delete => change.deletions += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
            let unified = text_diff
                .unified_diff()
                .context_radius(3)
                .header(&old_label, &new_label)
                .to_string();
            out.push_str(&unified);
        }
        (NodeContent::TooLarge(_), _) | (_, NodeContent::TooLarge(_)) => {
            change.binary = true;
            let size_of = |content: &NodeContent| match content {
                NodeContent::TooLarge(size) => format!("{size} bytes"),
                NodeContent::Text(text) => format!("{} bytes", text.len()),
                NodeContent::Binary => "binary".to_owned(),
            };
            let _ = writeln!(
                out,
                "Files {old_label} ({}) and {new_label} ({}) differ; too large to diff (limit {MAX_DIFF_FILE_BYTES} bytes)",
                size_of(old_content),
                size_of(new_content),
            );
        }
        _ => {
            change.binary = true;
            let _ = writeln!(out, "Binary files {old_label} and {new_label} differ");
        }
    }
    change
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    #[test]
    fn summary_display_uses_singular_and_plural() {
        let one = DiffSummary {
            files_changed: 1,
            insertions: 1,
            deletions: 0,
        };
        let many = DiffSummary {
            files_changed: 3,
            insertions: 10,
            deletions: 2,
        };
        expect!["1 file changed, 1 insertion(+), 0 deletions(-)"].assert_eq(&one.to_string());
        expect!["3 files changed, 10 insertions(+), 2 deletions(-)"].assert_eq(&many.to_string());
    }

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

//! What a run changed: the tree diff between a workspace and its pristine copy.
//!
//! The workspace is hostile ground: a command or an MCP server of the run may have left
//! symlinks anywhere in it, and (should one still run) may swap a folder for a symlink
//! between two reads. So the walk and every read go through file descriptors, one path
//! component at a time, each opened with `O_NOFOLLOW` (folders with `O_DIRECTORY`): a
//! symlink is read as a symlink (its target text) and never followed, so no read leaves the
//! tree whatever changes under it. Files are opened with `O_NONBLOCK` and must be regular
//! (`fstat`), so a FIFO cannot hang the diff. A file that cannot be read is named in the
//! diff; it never drops the rest.
//!
//! Names are bytes: a file whose name is not UTF-8 (or holds control characters, quotes or
//! backslashes) is shown quoted with C escapes, as git does (`"a/bad\377name"`), and the
//! rest of the diff is unaffected.
//!
//! Line diffs use the `similar` crate (Myers, with a time bound); binary files (a NUL byte
//! in the first 8000 bytes, or not UTF-8) are noted, not diffed, and files over
//! [`MAX_DIFF_FILE_BYTES`] are noted as too large. Sockets, FIFOs and devices are not
//! content; empty folders do not appear (as in git).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use crate::SandboxError;
use crate::workspace::REIN_DIR_NAME;

/// Files larger than this are reported as changed but not line-diffed.
pub const MAX_DIFF_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Bytes inspected for a NUL byte when deciding whether a file is binary (as git does).
const BINARY_SNIFF_BYTES: usize = 8000;

/// Upper bound on the time spent diffing one file; past it the diff is still correct but
/// may be less minimal.
const DIFF_TIMEOUT_PER_FILE: Duration = Duration::from_secs(2);

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
    /// Path relative to the workspace root, `/`-separated; quoted with C escapes when the
    /// name is not plain UTF-8 (see the module docs).
    pub path: String,
    pub status: ChangeStatus,
    /// Binary, too large or unreadable: noted in the diff, lines not counted.
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

/// A relative path as its components (raw bytes), in tree order.
type RelPath = Vec<OsString>;

/// A file or symlink of a tree, as far as a diff cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TreeNode {
    File { executable: bool, size: u64 },
    Symlink { target: Vec<u8> },
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

/// A folder opened for reading beneath which nothing is followed.
struct Tree {
    root: OwnedFd,
    path: PathBuf,
}

fn io_error(action: &'static str, path: &Path, err: rustix::io::Errno) -> SandboxError {
    SandboxError::Io {
        action,
        path: path.to_path_buf(),
        source: std::io::Error::from(err),
    }
}

impl Tree {
    fn open(path: &Path) -> Result<Tree, SandboxError> {
        let root = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| io_error("open folder", path, err))?;
        Ok(Tree {
            root,
            path: path.to_path_buf(),
        })
    }

    fn display(&self, relative: &[OsString]) -> PathBuf {
        relative
            .iter()
            .fold(self.path.clone(), |path, c| path.join(c))
    }

    /// Every file and symlink, by relative path.
    fn collect(&self) -> Result<BTreeMap<RelPath, TreeNode>, SandboxError> {
        let mut nodes = BTreeMap::new();
        let first =
            rustix::io::dup(&self.root).map_err(|err| io_error("open folder", &self.path, err))?;
        let mut pending: Vec<(OwnedFd, RelPath)> = vec![(first, Vec::new())];
        while let Some((dir_fd, prefix)) = pending.pop() {
            let dir_path = self.display(&prefix);
            let entries = rustix::fs::Dir::read_from(&dir_fd)
                .map_err(|err| io_error("read folder", &dir_path, err))?;
            for entry in entries {
                let entry = entry.map_err(|err| io_error("read folder", &dir_path, err))?;
                let name_bytes = entry.file_name().to_bytes();
                if name_bytes == b"." || name_bytes == b".." {
                    continue;
                }
                let name = OsStr::from_bytes(name_bytes).to_os_string();
                if prefix.is_empty() && name == REIN_DIR_NAME {
                    continue;
                }
                let mut relative = prefix.clone();
                relative.push(name);
                let entry_path = self.display(&relative);
                let stat =
                    rustix::fs::statat(&dir_fd, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|err| io_error("inspect", &entry_path, err))?;
                match FileType::from_raw_mode(stat.st_mode) {
                    FileType::Symlink => {
                        let target = rustix::fs::readlinkat(&dir_fd, entry.file_name(), Vec::new())
                            .map_err(|err| io_error("read symlink", &entry_path, err))?;
                        nodes.insert(
                            relative,
                            TreeNode::Symlink {
                                target: target.into_bytes(),
                            },
                        );
                    }
                    FileType::Directory => {
                        let child = rustix::fs::openat(
                            &dir_fd,
                            entry.file_name(),
                            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                            Mode::empty(),
                        )
                        .map_err(|err| io_error("open folder", &entry_path, err))?;
                        pending.push((child, relative));
                    }
                    FileType::RegularFile => {
                        let executable = stat.st_mode & 0o111 != 0;
                        let size = u64::try_from(stat.st_size).unwrap_or(0);
                        nodes.insert(relative, TreeNode::File { executable, size });
                    }
                    // Sockets, FIFOs and devices are not workspace content.
                    _ => {}
                }
            }
        }
        Ok(nodes)
    }

    /// Opens a regular file beneath the root, one component at a time, following no
    /// symlink and never blocking on a FIFO.
    fn open_file(&self, relative: &[OsString]) -> std::io::Result<fs::File> {
        let Some((last, folders)) = relative.split_last() else {
            return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
        };
        let mut dir: OwnedFd = rustix::io::dup(&self.root)?;
        for folder in folders {
            dir = rustix::fs::openat(
                &dir,
                folder.as_os_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
        }
        let fd = rustix::fs::openat(
            &dir,
            last.as_os_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let stat = rustix::fs::fstat(fd.as_fd())?;
        if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
            return Err(std::io::Error::other("not a regular file any more"));
        }
        Ok(fs::File::from(fd))
    }

    /// The content of a node for diffing; a file that cannot be read is
    /// [`NodeContent::Unreadable`], never an error of the whole diff.
    fn content(&self, relative: &[OsString], node: &TreeNode) -> NodeContent {
        match node {
            TreeNode::Symlink { target } => match String::from_utf8(target.clone()) {
                Ok(text) => NodeContent::Text(text),
                Err(_) => NodeContent::Binary,
            },
            TreeNode::File { size, .. } if *size > MAX_DIFF_FILE_BYTES => {
                NodeContent::TooLarge(*size)
            }
            TreeNode::File { .. } => {
                let mut bytes = Vec::new();
                let read = self
                    .open_file(relative)
                    .and_then(|file| file.take(MAX_DIFF_FILE_BYTES + 1).read_to_end(&mut bytes));
                if let Err(err) = read {
                    return NodeContent::Unreadable(err.to_string());
                }
                if bytes.iter().take(BINARY_SNIFF_BYTES).any(|byte| *byte == 0) {
                    return NodeContent::Binary;
                }
                match String::from_utf8(bytes) {
                    Ok(text) => NodeContent::Text(text),
                    Err(_) => NodeContent::Binary,
                }
            }
        }
    }
}

/// Content of a node for diffing.
enum NodeContent {
    Text(String),
    Binary,
    TooLarge(u64),
    Unreadable(String),
}

/// Whether two files have the same bytes, read in chunks; `None` when either cannot be
/// read.
fn file_contents_equal(old: &Tree, new: &Tree, relative: &[OsString]) -> Option<bool> {
    let mut left_file = old.open_file(relative).ok()?;
    let mut right_file = new.open_file(relative).ok()?;
    let mut left_chunk = vec![0u8; 64 * 1024];
    let mut right_chunk = vec![0u8; 64 * 1024];
    loop {
        let n_left = read_full(&mut left_file, &mut left_chunk).ok()?;
        let n_right = read_full(&mut right_file, &mut right_chunk).ok()?;
        if n_left != n_right || left_chunk[..n_left] != right_chunk[..n_right] {
            return Some(false);
        }
        if n_left == 0 {
            return Some(true);
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

fn nodes_equal(old: &Tree, new: &Tree, relative: &[OsString], a: &TreeNode, b: &TreeNode) -> bool {
    match (a, b) {
        (TreeNode::Symlink { target: old_target }, TreeNode::Symlink { target: new_target }) => {
            old_target == new_target
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
            old_executable == new_executable
                && old_size == new_size
                // Unreadable on either side: shown as a change, with the reason.
                && file_contents_equal(old, new, relative).unwrap_or(false)
        }
        _ => false,
    }
}

/// Compares the tree `old_root` (before) with `new_root` (after).
pub(crate) fn diff_trees(old_root: &Path, new_root: &Path) -> Result<WorkspaceDiff, SandboxError> {
    let old_tree = Tree::open(old_root)?;
    let new_tree = Tree::open(new_root)?;
    let old_nodes = old_tree.collect()?;
    let new_nodes = new_tree.collect()?;
    let all_paths: BTreeSet<&RelPath> = old_nodes.keys().chain(new_nodes.keys()).collect();

    let mut diff = WorkspaceDiff::default();
    for relative in all_paths {
        let old = old_nodes.get(relative);
        let new = new_nodes.get(relative);
        let (status, old_content, new_content) = match (old, new) {
            (None, None) => continue,
            (None, Some(new)) => (
                ChangeStatus::Added,
                NodeContent::Text(String::new()),
                new_tree.content(relative, new),
            ),
            (Some(old), None) => (
                ChangeStatus::Deleted,
                old_tree.content(relative, old),
                NodeContent::Text(String::new()),
            ),
            (Some(old), Some(new)) => {
                if nodes_equal(&old_tree, &new_tree, relative, old, new) {
                    continue;
                }
                (
                    ChangeStatus::Modified,
                    old_tree.content(relative, old),
                    new_tree.content(relative, new),
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

/// `prefix` + the relative path, `/`-separated; quoted with C escapes (as git does) when a
/// name is not plain UTF-8 or holds control characters, `"` or `\`.
fn label(prefix: &str, relative: &[OsString]) -> String {
    let joined: Vec<u8> = relative
        .iter()
        .map(|c| c.clone().into_vec())
        .collect::<Vec<_>>()
        .join(&b'/');
    let mut bytes = prefix.as_bytes().to_vec();
    bytes.extend_from_slice(&joined);
    match std::str::from_utf8(&bytes) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() || c == '"' || c == '\\') =>
        {
            text.to_owned()
        }
        _ => quote_c(&bytes),
    }
}

/// `"…"` with C escapes: `\t`, `\n`, `\"`, `\\`, and octal `\NNN` for other control
/// characters and bytes that are not UTF-8.
fn quote_c(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            match ch {
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buffer = [0u8; 4];
                    for byte in c.encode_utf8(&mut buffer).bytes() {
                        let _ = write!(out, "\\{byte:03o}");
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\{byte:03o}");
        }
    }
    out.push('"');
    out
}

/// Appends the unified diff of one file to `out` and returns its counts.
fn render_file_change(
    out: &mut String,
    relative: &[OsString],
    status: ChangeStatus,
    old: Option<&TreeNode>,
    new: Option<&TreeNode>,
    old_content: &NodeContent,
    new_content: &NodeContent,
) -> FileChange {
    use std::fmt::Write as _;

    let old_label = match status {
        ChangeStatus::Added => "/dev/null".to_owned(),
        _ => label("a/", relative),
    };
    let new_label = match status {
        ChangeStatus::Deleted => "/dev/null".to_owned(),
        _ => label("b/", relative),
    };
    let _ = writeln!(
        out,
        "diff --git {} {}",
        label("a/", relative),
        label("b/", relative)
    );
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
        path: label("", relative),
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
        (NodeContent::Unreadable(why), _) | (_, NodeContent::Unreadable(why)) => {
            change.binary = true;
            let _ = writeln!(
                out,
                "Files {old_label} and {new_label} differ; could not be read: {why}"
            );
        }
        (NodeContent::TooLarge(_), _) | (_, NodeContent::TooLarge(_)) => {
            change.binary = true;
            let size_of = |content: &NodeContent| match content {
                NodeContent::TooLarge(size) => format!("{size} bytes"),
                NodeContent::Text(text) => format!("{} bytes", text.len()),
                NodeContent::Binary | NodeContent::Unreadable(_) => "binary".to_owned(),
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

    #[test]
    fn labels_quote_what_is_not_plain_utf8() {
        let path = |parts: &[&[u8]]| -> RelPath {
            parts
                .iter()
                .map(|p| OsString::from_vec(p.to_vec()))
                .collect()
        };
        expect!["a/src/main.rs"].assert_eq(&label("a/", &path(&[b"src", b"main.rs"])));
        expect!["b/café ✓.txt"].assert_eq(&label("b/", &path(&["café ✓.txt".as_bytes()])));
        expect![[r#""a/bad\377name""#]].assert_eq(&label("a/", &path(&[b"bad\xffname"])));
        expect![[r#""a/new\nline\t\"q\"\\""#]]
            .assert_eq(&label("a/", &path(&[b"new\nline\t\"q\"\\"])));
        expect![[r#""esc\033""#]].assert_eq(&label("", &path(&[b"esc\x1b"])));
    }
}

//! The workspace as sandboxed commands see it: mounts the `linux` and `bwrap` backends put
//! on top of the read-write workspace when a sandbox starts, so that what the path rules
//! protect is protected by the kernel and not only by the command parser.
//!
//! [`plan_overlays`] walks the workspace once (never following symlinks, never descending
//! into a `.git` folder) and returns, sorted parents first:
//!
//! - **git metadata**, for every git folder it finds (a `.git` folder at any depth, and the
//!   folder a `.git` *file* names — a worktree's or a submodule's gitdir — with its common
//!   folder): the folder itself [`Overlay::Pinned`] (bound onto itself read-write, so it
//!   cannot be renamed away and rebuilt, and nothing can be hard-linked or renamed into or
//!   out of it), and its `config`, `config.worktree`, `hooks` and `commondir`
//!   [`Overlay::ReadOnly`]. A `.git` file is read-only too. A gitdir outside the workspace
//!   (a worktree workspace's) is bound read-only as a whole with its common folder, so git
//!   can read it and nothing can change it. A hard link to a protected file fails with
//!   `EXDEV` (links never cross mounts), and so does a rename onto it (`EBUSY`).
//! - **not-yet-existing protected entries** of a git folder inside the workspace are made
//!   impossible to create: a placeholder is created on the host first (an empty `hooks`
//!   folder, an empty `config`, and a `commondir` holding `.`, which git reads as "this
//!   folder", exactly as when it is absent) and then bound read-only.
//!   [`create_git_placeholders`] does the same when a workspace is made, before its pristine
//!   copy, so the placeholders never show in the run's diff.
//! - **hidden paths**: what the caller's visibility function says the read rules and `deny`
//!   exclude, as an empty read-only folder ([`Overlay::HiddenFolder`]) or an empty
//!   read-only file ([`Overlay::HiddenFile`]). A folder is hidden whole when nothing beneath
//!   it is visible; otherwise its hidden entries are hidden one by one.
//!
//! The plan is made at sandbox start: files created later by commands are not hidden, and
//! a repository created by the run (`git init`, or a `.git` folder or file a command makes)
//! is not protected — it is the run's own; the command parser still refuses writes to
//! `**/.git/config` and `**/.git/hooks/**`.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::SandboxError;

/// Most overlays one sandbox mounts; a plan with more is refused (name a folder in
/// `[policy.paths] deny` instead of many files).
pub const MAX_OVERLAYS: usize = 4096;

/// Entries of a git folder that decide what git runs.
const PROTECTED_GIT_ENTRIES: &[&str] = &["config", "config.worktree", "hooks", "commondir"];

/// One mount on top of the workspace (or of a git folder it uses).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Overlay {
    /// An existing file or folder bound onto itself read-only: readable, but it cannot be
    /// written, removed, renamed, replaced or hard-linked.
    ReadOnly(PathBuf),
    /// An existing folder bound onto itself read-write: its content stays writable, but
    /// the folder cannot be removed, renamed or replaced.
    Pinned(PathBuf),
    /// An existing folder shown as an empty read-only folder.
    HiddenFolder(PathBuf),
    /// An existing file shown as an empty read-only file.
    HiddenFile(PathBuf),
}

impl Overlay {
    /// The path the overlay is mounted at.
    pub fn path(&self) -> &Path {
        match self {
            Overlay::ReadOnly(path)
            | Overlay::Pinned(path)
            | Overlay::HiddenFolder(path)
            | Overlay::HiddenFile(path) => path,
        }
    }

    /// Mount order: parents before children.
    fn order_key(&self) -> (usize, &Path) {
        (self.path().components().count(), self.path())
    }
}

/// How the read rules treat one workspace path (the answer of the visibility function of
/// [`plan_overlays`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Commands see it.
    Visible,
    /// Hidden; for a folder, something beneath it may still be visible.
    Hidden,
    /// Hidden with everything beneath it (a `deny` rule matched the folder).
    HiddenTree,
}

/// What a visibility function is asked: a path relative to the workspace (`/`-separated,
/// no leading `./`) and whether it is a folder.
pub type VisibilityFn<'a> = &'a dyn Fn(&str, bool) -> Visibility;

/// The overlays for `workspace` (see the module doc), sorted parents first. Creates the
/// missing placeholders of the workspace's git folders. Fails when a protected git entry
/// inside the workspace is a symlink (rein cannot stop a command from replacing it), or
/// when the plan exceeds [`MAX_OVERLAYS`].
pub fn plan_overlays(
    workspace: &Path,
    visibility: VisibilityFn<'_>,
) -> Result<Vec<Overlay>, SandboxError> {
    let root = fs::canonicalize(workspace).map_err(SandboxError::io("resolve", workspace))?;
    let mut planner = Planner {
        root: root.clone(),
        visibility,
        overlays: Vec::new(),
        git_dirs: Vec::new(),
        git_files: Vec::new(),
    };
    planner.walk(&root, "")?;
    let git_dirs = std::mem::take(&mut planner.git_dirs);
    let git_files = std::mem::take(&mut planner.git_files);
    let mut protected: BTreeSet<PathBuf> = BTreeSet::new();
    for git_dir in git_dirs {
        planner.protect_git_dir(&git_dir, &mut protected)?;
    }
    for git_file in git_files {
        planner.protect_git_file(&git_file, &mut protected)?;
    }
    let mut overlays = planner.overlays;
    overlays.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    overlays.dedup();
    if overlays.len() > MAX_OVERLAYS {
        return Err(SandboxError::TooManyOverlays {
            count: overlays.len(),
            max: MAX_OVERLAYS,
        });
    }
    Ok(overlays)
}

/// Creates the placeholders of the git folders in `workspace` (see the module doc), so a
/// later [`plan_overlays`] finds them existing. Called when a workspace is made.
pub fn create_git_placeholders(workspace: &Path) -> Result<(), SandboxError> {
    plan_overlays(workspace, &|_, _| Visibility::Visible).map(drop)
}

struct Planner<'a> {
    root: PathBuf,
    visibility: VisibilityFn<'a>,
    overlays: Vec<Overlay>,
    /// `.git` folders found (absolute).
    git_dirs: Vec<PathBuf>,
    /// `.git` files found (absolute).
    git_files: Vec<PathBuf>,
}

/// What lies beneath a folder, for deciding whether it can be hidden whole.
#[derive(Debug, Default, Clone, Copy)]
struct Beneath {
    visible: bool,
    hidden: bool,
}

fn symlink_error(path: &Path) -> SandboxError {
    SandboxError::UnprotectableGitEntry {
        path: path.to_path_buf(),
    }
}

impl Planner<'_> {
    fn walk(&mut self, dir: &Path, relative: &str) -> Result<Beneath, SandboxError> {
        let mut beneath = Beneath::default();
        let mut entries: Vec<_> = fs::read_dir(dir)
            .map_err(SandboxError::io("read folder", dir))?
            .collect::<Result<_, _>>()
            .map_err(SandboxError::io("read folder", dir))?;
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                // Names that are not UTF-8 cannot match a rule; they stay visible.
                beneath.visible = true;
                continue;
            };
            let path = entry.path();
            let child = if relative.is_empty() {
                name.to_owned()
            } else {
                format!("{relative}/{name}")
            };
            let file_type = entry
                .file_type()
                .map_err(SandboxError::io("inspect", &path))?;
            let visibility = (self.visibility)(&child, file_type.is_dir());
            if file_type.is_symlink() {
                // A mount would follow it; what it points to is judged by its own path.
                if visibility == Visibility::Visible {
                    if name == ".git" {
                        return Err(symlink_error(&path));
                    }
                    beneath.visible = true;
                } else {
                    beneath.hidden = true;
                }
            } else if file_type.is_dir() {
                match visibility {
                    Visibility::HiddenTree => {
                        self.overlays.push(Overlay::HiddenFolder(path));
                        beneath.hidden = true;
                    }
                    Visibility::Visible if name == ".git" => {
                        self.git_dirs.push(path);
                        beneath.visible = true;
                    }
                    Visibility::Visible => {
                        self.walk(&path, &child)?;
                        beneath.visible = true;
                    }
                    Visibility::Hidden => {
                        let overlays_before = self.overlays.len();
                        let git_dirs_before = self.git_dirs.len();
                        let git_files_before = self.git_files.len();
                        let inner = if name == ".git" {
                            // Not descended into: it is visible when what git reads first
                            // is (a read list of `.git/**` need not match `.git` itself).
                            let probe = |entry: &str| {
                                (self.visibility)(&format!("{child}/{entry}"), false)
                                    == Visibility::Visible
                            };
                            Beneath {
                                visible: probe("HEAD") || probe("config"),
                                hidden: true,
                            }
                        } else {
                            self.walk(&path, &child)?
                        };
                        if inner.visible && name == ".git" {
                            self.git_dirs.push(path);
                            beneath.visible = true;
                        } else if inner.visible {
                            beneath.visible = true;
                        } else if inner.hidden {
                            self.overlays.truncate(overlays_before);
                            self.git_dirs.truncate(git_dirs_before);
                            self.git_files.truncate(git_files_before);
                            self.overlays.push(Overlay::HiddenFolder(path));
                            beneath.hidden = true;
                        }
                    }
                }
            } else if file_type.is_file() {
                if visibility == Visibility::Visible {
                    if name == ".git" {
                        self.git_files.push(path);
                    }
                    beneath.visible = true;
                } else {
                    self.overlays.push(Overlay::HiddenFile(path));
                    beneath.hidden = true;
                }
            } else if visibility == Visibility::Visible {
                // Sockets, FIFOs, devices: no content to hide.
                beneath.visible = true;
            }
        }
        Ok(beneath)
    }

    fn inside(&self, path: &Path) -> bool {
        path.starts_with(&self.root)
    }

    /// Pins a git folder inside the workspace, makes its protected entries read-only
    /// (creating the missing ones first), and follows its `commondir`.
    fn protect_git_dir(
        &mut self,
        git_dir: &Path,
        protected: &mut BTreeSet<PathBuf>,
    ) -> Result<(), SandboxError> {
        if !protected.insert(git_dir.to_path_buf()) {
            return Ok(());
        }
        if !self.inside(git_dir) {
            self.overlays.push(Overlay::ReadOnly(git_dir.to_path_buf()));
            return Ok(());
        }
        self.overlays.push(Overlay::Pinned(git_dir.to_path_buf()));
        create_placeholders(git_dir)?;
        for entry in PROTECTED_GIT_ENTRIES {
            let path = git_dir.join(entry);
            match fs::symlink_metadata(&path) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    return Err(symlink_error(&path));
                }
                Ok(_) => self.overlays.push(Overlay::ReadOnly(path)),
                Err(_) => {}
            }
        }
        if let Some(common) = common_dir(git_dir)
            && common != git_dir
        {
            self.protect_common_dir(&common, protected)?;
        }
        Ok(())
    }

    /// The common folder of a linked worktree's gitdir.
    fn protect_common_dir(
        &mut self,
        common: &Path,
        protected: &mut BTreeSet<PathBuf>,
    ) -> Result<(), SandboxError> {
        if self.inside(common) {
            return self.protect_git_dir(common, protected);
        }
        if protected.insert(common.to_path_buf()) {
            self.overlays.push(Overlay::ReadOnly(common.to_path_buf()));
        }
        Ok(())
    }

    /// A `.git` file: read-only itself; the folder it names protected (read-only as a
    /// whole when outside the workspace).
    fn protect_git_file(
        &mut self,
        git_file: &Path,
        protected: &mut BTreeSet<PathBuf>,
    ) -> Result<(), SandboxError> {
        self.overlays
            .push(Overlay::ReadOnly(git_file.to_path_buf()));
        let Some(git_dir) = gitdir_of_file(git_file) else {
            return Ok(());
        };
        if self.inside(&git_dir) {
            return self.protect_git_dir(&git_dir, protected);
        }
        let common = common_dir(&git_dir);
        match common {
            Some(common) if git_dir.starts_with(&common) => {
                self.protect_common_dir(&common, protected)
            }
            Some(common) => {
                self.protect_common_dir(&common, protected)?;
                self.protect_git_dir(&git_dir, protected)
            }
            None => self.protect_git_dir(&git_dir, protected),
        }
    }
}

/// The folder a `.git` file (`gitdir: PATH`) names, resolved and canonical; `None` when the
/// file does not say or the folder does not exist.
fn gitdir_of_file(git_file: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(git_file).ok()?;
    let target = text.lines().next()?.strip_prefix("gitdir:")?.trim();
    let target = Path::new(target);
    let target = if target.is_absolute() {
        target.to_path_buf()
    } else {
        git_file.parent()?.join(target)
    };
    let target = fs::canonicalize(target).ok()?;
    target.is_dir().then_some(target)
}

/// The common folder named by `git_dir/commondir` (resolved and canonical), if any.
fn common_dir(git_dir: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(git_dir.join("commondir")).ok()?;
    let target = Path::new(text.trim_end_matches(['\n', '\r']));
    let target = if target.is_absolute() {
        target.to_path_buf()
    } else {
        git_dir.join(target)
    };
    let target = fs::canonicalize(target).ok()?;
    target.is_dir().then_some(target)
}

/// Creates the missing `hooks`, `config` and `commondir` of a git folder (never following a
/// symlink: an existing entry of any kind is left alone).
fn create_placeholders(git_dir: &Path) -> Result<(), SandboxError> {
    let hooks = git_dir.join("hooks");
    if fs::symlink_metadata(&hooks).is_err() {
        match fs::DirBuilder::new().mode(0o700).create(&hooks) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(SandboxError::io("create", hooks)(error)),
        }
    }
    for (name, content) in [("config", &b""[..]), ("commondir", &b".\n"[..])] {
        let path = git_dir.join(name);
        if fs::symlink_metadata(&path).is_ok() {
            continue;
        }
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut file) => file
                .write_all(content)
                .map_err(SandboxError::io("write", &path))?,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(SandboxError::io("create", path)(error)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(root: &Path, overlays: &[Overlay]) -> Vec<String> {
        overlays
            .iter()
            .map(|overlay| {
                let kind = match overlay {
                    Overlay::ReadOnly(_) => "ro",
                    Overlay::Pinned(_) => "pin",
                    Overlay::HiddenFolder(_) => "hide-dir",
                    Overlay::HiddenFile(_) => "hide-file",
                };
                let path = overlay.path();
                let shown = path
                    .strip_prefix(root)
                    .map(|relative| relative.display().to_string())
                    .unwrap_or_else(|_| format!("OUT:{}", path.display()));
                format!("{kind} {shown}")
            })
            .collect()
    }

    fn hide_private_and_pem(path: &str, _is_dir: bool) -> Visibility {
        if path == "deny" {
            Visibility::HiddenTree
        } else if path.starts_with("private") || path.ends_with(".pem") {
            Visibility::Hidden
        } else {
            Visibility::Visible
        }
    }

    #[test]
    fn hides_whole_folders_when_nothing_beneath_is_visible() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        for file in [
            "private/notes.txt",
            "private/deep/more.txt",
            "src/key.pem",
            "src/main.rs",
            "deny/a/b.txt",
        ] {
            let path = root.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "x").unwrap();
        }
        fs::create_dir(root.join("private-empty")).unwrap();
        let overlays = plan_overlays(&root, &hide_private_and_pem).unwrap();
        assert_eq!(
            names(&root, &overlays),
            ["hide-dir deny", "hide-dir private", "hide-file src/key.pem"]
        );
    }

    #[test]
    fn protects_git_folders_and_creates_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join(".git/objects")).unwrap();
        fs::write(root.join(".git/config"), "[core]\n").unwrap();
        fs::create_dir_all(root.join("vendor/lib/.git")).unwrap();
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("sub/.git"), "gitdir: ../vendor/lib/.git\n").unwrap();
        let overlays = plan_overlays(&root, &|_, _| Visibility::Visible).unwrap();
        assert_eq!(
            names(&root, &overlays),
            [
                "pin .git",
                "ro .git/commondir",
                "ro .git/config",
                "ro .git/hooks",
                "ro sub/.git",
                "pin vendor/lib/.git",
                "ro vendor/lib/.git/commondir",
                "ro vendor/lib/.git/config",
                "ro vendor/lib/.git/hooks",
            ]
        );
        assert_eq!(fs::read(root.join(".git/commondir")).unwrap(), b".\n");
        assert_eq!(fs::read(root.join("vendor/lib/.git/config")).unwrap(), b"");
        assert!(root.join(".git/hooks").is_dir());
        // rein's own placeholders are owner-only.
        let mode = |path: &str| {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(root.join(path)).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode(".git/commondir"), 0o600);
        assert_eq!(mode("vendor/lib/.git/hooks"), 0o700);
        // A second plan finds the placeholders and changes nothing.
        let again = plan_overlays(&root, &|_, _| Visibility::Visible).unwrap();
        assert_eq!(again, overlays);
    }

    #[test]
    fn a_symlinked_git_entry_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::create_dir_all(root.join("scripts/hooks")).unwrap();
        std::os::unix::fs::symlink("../scripts/hooks", root.join(".git/hooks")).unwrap();
        let error = plan_overlays(&root, &|_, _| Visibility::Visible).unwrap_err();
        assert!(
            matches!(&error, SandboxError::UnprotectableGitEntry { path } if path.ends_with(".git/hooks")),
            "{error}"
        );
    }

    #[test]
    fn a_hidden_git_folder_is_hidden_not_protected() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::create_dir_all(root.join(".git/hooks")).unwrap();
        let overlays = plan_overlays(&root, &|path, _| {
            if path.starts_with(".git") {
                Visibility::Hidden
            } else {
                Visibility::Visible
            }
        })
        .unwrap();
        assert_eq!(names(&root, &overlays), ["hide-dir .git"]);
        assert!(!root.join(".git/commondir").exists());
        // A read list that names what is beneath `.git` keeps it visible (and protected).
        let overlays = plan_overlays(&root, &|path, _| {
            if path == ".git" {
                Visibility::Hidden
            } else {
                Visibility::Visible
            }
        })
        .unwrap();
        assert_eq!(names(&root, &overlays)[0], "pin .git");
    }
}

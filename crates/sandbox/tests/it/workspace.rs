//! Workspaces: creation, copies, removal, and the diff of what a run changed.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use expect_test::expect;
use rein_sandbox::{ChangeStatus, SandboxError, Workspace, WorkspaceKind};

fn write(path: &Path, content: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, content).unwrap();
}

fn mode_of(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn tempdir_is_empty_and_removed_on_drop() {
    let workspace = Workspace::tempdir().unwrap();
    let root = workspace.root().to_path_buf();
    assert_eq!(workspace.kind(), &WorkspaceKind::Tempdir);
    assert!(root.is_dir());
    assert_eq!(fs::read_dir(&root).unwrap().count(), 0);
    assert!(workspace.diff().unwrap().is_empty());
    drop(workspace);
    assert!(!root.exists());
}

#[test]
fn kept_workspace_survives_drop() {
    let mut workspace = Workspace::tempdir().unwrap();
    let root = workspace.root().to_path_buf();
    workspace.keep();
    assert!(workspace.is_kept());
    drop(workspace);
    assert!(root.is_dir());
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn copy_keeps_modes_and_symlinks_and_skips_rein_folder() {
    let source = tempfile::tempdir().unwrap();
    let src = source.path();
    write(&src.join("README.md"), "hello\n");
    write(&src.join("src/lib.rs"), "fn main() {}\n");
    write(&src.join("run.sh"), "#!/bin/sh\necho hi\n");
    fs::set_permissions(src.join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    write(&src.join("secret.txt"), "x\n");
    fs::set_permissions(src.join("secret.txt"), fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("src/lib.rs", src.join("link.rs")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.join("outside")).unwrap();
    write(&src.join(".rein/runs/1/trace.jsonl"), "{}\n");
    write(
        &src.join("nested/.rein/kept.txt"),
        "only the top-level .rein is skipped\n",
    );
    write(&src.join(".git/HEAD"), "ref: refs/heads/main\n");

    let workspace = Workspace::copy_of(src).unwrap();
    let root = workspace.root();
    assert_eq!(
        workspace.kind(),
        &WorkspaceKind::Copy {
            source: src.canonicalize().unwrap()
        }
    );
    assert_eq!(
        fs::read_to_string(root.join("src/lib.rs")).unwrap(),
        "fn main() {}\n"
    );
    assert_eq!(mode_of(&root.join("run.sh")), 0o755);
    assert_eq!(mode_of(&root.join("secret.txt")), 0o600);
    assert_eq!(
        fs::read_link(root.join("link.rs")).unwrap(),
        Path::new("src/lib.rs")
    );
    assert_eq!(
        fs::read_link(root.join("outside")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert!(!root.join(".rein").exists());
    assert!(root.join("nested/.rein/kept.txt").is_file());
    assert!(root.join(".git/HEAD").is_file());
    // The source is untouched and nothing changed yet.
    assert!(src.join(".rein/runs/1/trace.jsonl").is_file());
    assert!(workspace.diff().unwrap().is_empty());
}

#[test]
fn copy_of_a_missing_or_non_folder_source_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.txt");
    write(&file, "x");
    let error = Workspace::copy_of(&file).unwrap_err();
    assert!(matches!(error, SandboxError::SourceNotDirectory { .. }));
    assert_eq!(
        error.to_string(),
        format!(
            "cannot copy workspace from {}: not a directory",
            file.display()
        )
    );

    let missing = dir.path().join("missing");
    let error = Workspace::copy_of(&missing).unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "cannot read workspace source {}: ",
            missing.display()
        )),
        "{error}"
    );
}

#[test]
fn diff_reports_added_modified_and_deleted_files() {
    let source = tempfile::tempdir().unwrap();
    let src = source.path();
    write(&src.join("keep.txt"), "unchanged\n");
    write(
        &src.join("edit.txt"),
        "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\n",
    );
    write(&src.join("gone/old.txt"), "bye\n");
    write(&src.join("script.sh"), "echo\n");
    std::os::unix::fs::symlink("keep.txt", src.join("link")).unwrap();
    let workspace = Workspace::copy_of(src).unwrap();
    let root = workspace.root();

    write(
        &root.join("edit.txt"),
        "one\nTWO\nthree\nfour\nfive\nsix\nseven\neight\nnine\n",
    );
    fs::remove_dir_all(root.join("gone")).unwrap();
    write(&root.join("new/added.txt"), "fresh\nlines");
    fs::write(root.join("image.bin"), [0u8, 1, 2, 3, 0]).unwrap();
    fs::set_permissions(root.join("script.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_file(root.join("link")).unwrap();
    std::os::unix::fs::symlink("edit.txt", root.join("link")).unwrap();
    fs::create_dir(root.join("empty-dir")).unwrap();
    write(&root.join(".rein/ignored.txt"), "rein's own data\n");

    let diff = workspace.diff().unwrap();
    expect![[r#"
        diff --git a/edit.txt b/edit.txt
        --- a/edit.txt
        +++ b/edit.txt
        @@ -1,8 +1,9 @@
         one
        -two
        +TWO
         three
         four
         five
         six
         seven
         eight
        +nine
        diff --git a/gone/old.txt b/gone/old.txt
        deleted file mode 100644
        --- a/gone/old.txt
        +++ /dev/null
        @@ -1 +0,0 @@
        -bye
        diff --git a/image.bin b/image.bin
        new file mode 100644
        Binary files /dev/null and b/image.bin differ
        diff --git a/link b/link
        --- a/link
        +++ b/link
        @@ -1 +1 @@
        -keep.txt
        \ No newline at end of file
        +edit.txt
        \ No newline at end of file
        diff --git a/new/added.txt b/new/added.txt
        new file mode 100644
        --- /dev/null
        +++ b/new/added.txt
        @@ -0,0 +1,2 @@
        +fresh
        +lines
        \ No newline at end of file
        diff --git a/script.sh b/script.sh
        old mode 100644
        new mode 100755
    "#]]
    .assert_eq(&diff.unified);
    expect!["6 files changed, 5 insertions(+), 3 deletions(-)"]
        .assert_eq(&diff.summary.to_string());
    let statuses: Vec<(&str, ChangeStatus, bool)> = diff
        .files
        .iter()
        .map(|file| (file.path.as_str(), file.status, file.binary))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("edit.txt", ChangeStatus::Modified, false),
            ("gone/old.txt", ChangeStatus::Deleted, false),
            ("image.bin", ChangeStatus::Added, true),
            ("link", ChangeStatus::Modified, false),
            ("new/added.txt", ChangeStatus::Added, false),
            ("script.sh", ChangeStatus::Modified, false),
        ]
    );
}

#[test]
fn diff_of_a_tempdir_shows_every_file_as_added() {
    let workspace = Workspace::tempdir().unwrap();
    write(&workspace.root().join("a.txt"), "a\n");
    let diff = workspace.diff().unwrap();
    expect![[r#"
        diff --git a/a.txt b/a.txt
        new file mode 100644
        --- /dev/null
        +++ b/a.txt
        @@ -0,0 +1 @@
        +a
    "#]]
    .assert_eq(&diff.unified);
    // Writing back the same bytes is no change.
    fs::remove_file(workspace.root().join("a.txt")).unwrap();
    assert!(workspace.diff().unwrap().is_empty());
}

/// Issue 10 (9b): one file with a name that is not UTF-8 is named (quoted, escaped) and the
/// rest of the workspace is diffed as usual.
#[test]
fn a_non_utf8_name_is_named_and_the_rest_diffed() {
    use std::os::unix::ffi::OsStrExt;
    let workspace = Workspace::tempdir().unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"bad\xffname.txt");
    fs::write(workspace.root().join(bad), "odd\n").unwrap();
    write(&workspace.root().join("good.txt"), "fine\n");
    let diff = workspace.diff().unwrap();
    expect![[r#"
        diff --git "a/bad\377name.txt" "b/bad\377name.txt"
        new file mode 100644
        --- /dev/null
        +++ "b/bad\377name.txt"
        @@ -0,0 +1 @@
        +odd
        diff --git a/good.txt b/good.txt
        new file mode 100644
        --- /dev/null
        +++ b/good.txt
        @@ -0,0 +1 @@
        +fine
    "#]]
    .assert_eq(&diff.unified);
    assert_eq!(diff.summary.files_changed, 2);
}

/// Issue 10 (9a): a folder swapped for a symlink to a host folder while the diff runs (what
/// a live server of the run could do) never gets the host folder's content into the diff;
/// FIFOs never hang it. The swap races the diff on purpose; the old path-based reads leaked
/// in a few percent of the rounds.
#[test]
fn a_folder_swapped_for_a_symlink_during_the_diff_never_leaks_host_files() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let host = tempfile::tempdir().unwrap();
    let canary = "HOST-ONLY-CANARY-c0ffee";
    for idx in 0..20 {
        write(
            &host.path().join(format!("f{idx}.txt")),
            &format!("{canary}\n"),
        );
    }
    let source = tempfile::tempdir().unwrap();
    for idx in 0..20 {
        write(&source.path().join(format!("d/f{idx}.txt")), "workspace\n");
    }
    let workspace = Workspace::copy_of(source.path()).unwrap();
    let root = workspace.root().to_path_buf();
    // Changed files, so the diff reads them.
    for idx in 0..20 {
        write(&root.join(format!("d/f{idx}.txt")), "changed\n");
    }
    nix::unistd::mkfifo(&root.join("pipe"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = Arc::clone(&stop);
        let root = root.clone();
        let host = host.path().to_path_buf();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = fs::rename(root.join("d"), root.join("d.real"));
                let _ = std::os::unix::fs::symlink(&host, root.join("d"));
                std::thread::yield_now();
                let _ = fs::remove_file(root.join("d"));
                let _ = fs::rename(root.join("d.real"), root.join("d"));
                std::thread::yield_now();
            }
        })
    };
    for _round in 0..300 {
        // A round may fail to list a folder that vanished mid-walk; it never reads outside.
        if let Ok(diff) = workspace.diff() {
            assert!(!diff.unified.contains(canary), "{}", diff.unified);
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    // With nothing racing, the diff is whole again: the 20 changes, and no FIFO.
    let _ = fs::remove_file(root.join("d"));
    if root.join("d.real").exists() {
        fs::rename(root.join("d.real"), root.join("d")).unwrap();
    }
    let diff = workspace.diff().unwrap();
    assert_eq!(diff.summary.files_changed, 20, "{}", diff.unified);
}

//! `Workspace::worktree` (a detached git worktree) and `Workspace::copy_of_with`
//! (honouring .gitignore).

use std::path::Path;

use rein_sandbox::{CopyOptions, SandboxError, Workspace, WorkspaceKind};

fn git(repo: &Path, args: &[&str]) -> String {
    #[allow(clippy::disallowed_methods)] // the test prepares a repository
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(output.status.success(), "git {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// A repository with two commits: `v1` has `a.txt = one`, HEAD has `a.txt = two`.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("a.txt"), "one\n").unwrap();
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", "one"]);
    git(repo, &["tag", "v1"]);
    std::fs::write(repo.join("a.txt"), "two\n").unwrap();
    git(repo, &["commit", "-q", "-am", "two"]);
    dir
}

fn worktree_count(repo: &Path) -> usize {
    git(repo, &["worktree", "list", "--porcelain"])
        .lines()
        .filter(|line| line.starts_with("worktree "))
        .count()
}

#[test]
fn a_worktree_is_checked_out_at_the_rev_diffed_and_removed_on_drop() {
    let repo = repo();
    let workspace = Workspace::worktree(repo.path(), "v1").unwrap();
    // Owner only, like every workspace folder.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(workspace.root()).unwrap().permissions(),
    );
    assert_eq!(mode & 0o7777, 0o700);
    let root = workspace.root().to_path_buf();
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "one\n"
    );
    assert!(matches!(
        workspace.kind(),
        WorkspaceKind::Worktree { rev, commit, .. } if rev == "v1" && commit.len() == 40
    ));
    // Detached: the repository's branch did not move.
    assert_eq!(worktree_count(repo.path()), 2);
    std::fs::write(root.join("a.txt"), "changed\n").unwrap();
    std::fs::write(root.join("b.txt"), "new\n").unwrap();
    let diff = workspace.diff().unwrap();
    let paths: Vec<&str> = diff.files.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(paths, ["a.txt", "b.txt"]);
    assert!(
        diff.unified.contains("-one\n+changed\n"),
        "{}",
        diff.unified
    );
    drop(workspace);
    assert!(!root.exists());
    assert_eq!(worktree_count(repo.path()), 1);
    // The main checkout is untouched.
    assert_eq!(
        std::fs::read_to_string(repo.path().join("a.txt")).unwrap(),
        "two\n"
    );
}

#[test]
fn a_kept_worktree_stays() {
    let repo = repo();
    let mut workspace = Workspace::worktree(repo.path(), "HEAD").unwrap();
    workspace.keep();
    let root = workspace.root().to_path_buf();
    drop(workspace);
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "two\n"
    );
    assert_eq!(worktree_count(repo.path()), 2);
    git(
        repo.path(),
        &["worktree", "remove", "--force", &root.to_string_lossy()],
    );
}

#[test]
fn not_a_repository_and_a_bad_rev_are_clear_errors() {
    let plain = tempfile::tempdir().unwrap();
    let error = Workspace::worktree(plain.path(), "HEAD").unwrap_err();
    assert!(matches!(error, SandboxError::Git { .. }), "{error}");
    assert!(
        error.to_string().contains("is not a git repository"),
        "{error}"
    );

    let repo = repo();
    for rev in ["no-such-branch", "--help"] {
        let error = Workspace::worktree(repo.path(), rev).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot make a worktree workspace: git rev-parse"),
            "{error}"
        );
        assert!(error.to_string().contains(rev), "{error}");
    }
    assert_eq!(worktree_count(repo.path()), 1);

    let error = Workspace::worktree(&plain.path().join("missing"), "HEAD").unwrap_err();
    assert!(
        error.to_string().starts_with("cannot resolve repository "),
        "{error}"
    );
}

#[test]
fn copy_of_with_honours_gitignore() {
    let source = tempfile::tempdir().unwrap();
    let root = source.path();
    std::fs::write(root.join(".gitignore"), "target/\n*.log\n").unwrap();
    std::fs::create_dir_all(root.join("target/debug")).unwrap();
    std::fs::write(root.join("target/debug/out"), "built").unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("src/lib.rs"), "// lib").unwrap();
    std::fs::write(root.join("src/debug.log"), "noise").unwrap();
    std::fs::create_dir_all(root.join(".rein/runs")).unwrap();
    std::fs::write(root.join(".rein/runs/x"), "run data").unwrap();
    std::os::unix::fs::symlink("src/lib.rs", root.join("link")).unwrap();

    let honoured = Workspace::copy_of_with(
        root,
        CopyOptions {
            honour_gitignore: true,
        },
    )
    .unwrap();
    let ws = honoured.root();
    assert!(ws.join("src/lib.rs").is_file());
    assert!(ws.join(".gitignore").is_file());
    assert_eq!(
        std::fs::read_link(ws.join("link")).unwrap(),
        Path::new("src/lib.rs")
    );
    assert!(!ws.join("target").exists());
    assert!(!ws.join("src/debug.log").exists());
    assert!(!ws.join(".rein").exists());
    assert!(honoured.diff().unwrap().is_empty());

    let everything = Workspace::copy_of_with(root, CopyOptions::default()).unwrap();
    assert!(everything.root().join("target/debug/out").is_file());
    assert!(everything.root().join("src/debug.log").is_file());
    assert!(!everything.root().join(".rein").exists());
}

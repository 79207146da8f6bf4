//! Protected and hidden workspace paths, enforced by the `linux` and `bwrap` backends
//! themselves (issue 10, item 3): every writer form a command parser might miss fails on
//! `.git/config` and `.git/hooks`, which stay byte-identical; a hard link to them fails; a
//! later `git status` runs no planted `core.fsmonitor`; what the read rules hide reads as
//! empty; and ordinary work — writing a workspace file, `git add` and `git commit` — still
//! succeeds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rein_sandbox::{
    BwrapSandbox, ExecOutput, ExecRequest, Overlay, Sandbox, SandboxPolicy, Visibility, Workspace,
    plan_overlays,
};

const CONFIG: &str = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n";
const HOOK: &str = "#!/bin/sh\nexit 0\n";
const EVIL_CONFIG: &str = "[core]\n\tfsmonitor = \"touch PWNED; false\"\n\thooksPath = evilhooks\n";
const NOTES: &str = "PRIVATE-NOTES-4b1d\n";
const DOTENV: &str = "API_TOKEN=DOTENV-SECRET-93ac\n";

#[allow(clippy::disallowed_methods)] // the test stands for the user preparing a repository
fn host_git(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?} failed");
}

/// A workspace holding a git repository with one commit, a known `.git/config`, a
/// `pre-commit` hook (unless `with_hooks` is false: then `.git/hooks` does not exist), a
/// private folder and a `.env`.
fn repository(with_hooks: bool) -> Workspace {
    let workspace = Workspace::tempdir().unwrap();
    let root = workspace.root();
    host_git(root, &["init", "-q", "."]);
    std::fs::write(root.join("README.md"), "hello\n").unwrap();
    host_git(root, &["add", "README.md"]);
    host_git(
        root,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "first",
        ],
    );
    std::fs::write(root.join(".git/config"), CONFIG).unwrap();
    std::fs::remove_dir_all(root.join(".git/hooks")).unwrap();
    if with_hooks {
        std::fs::create_dir(root.join(".git/hooks")).unwrap();
        std::fs::write(root.join(".git/hooks/pre-commit"), HOOK).unwrap();
    }
    std::fs::create_dir(root.join("private")).unwrap();
    std::fs::write(root.join("private/notes.txt"), NOTES).unwrap();
    std::fs::write(root.join(".env"), DOTENV).unwrap();
    std::fs::write(root.join("evil"), EVIL_CONFIG).unwrap();
    workspace
}

/// As `[policy.paths] read` without `private/**` and the built-in `.env` deny would say.
fn visibility(path: &str, _is_dir: bool) -> Visibility {
    if path == "private" || path.starts_with("private/") {
        Visibility::Hidden
    } else if path == ".env" || path.ends_with("/.env") {
        Visibility::HiddenTree
    } else {
        Visibility::Visible
    }
}

fn policy(workspace: &Path) -> SandboxPolicy {
    SandboxPolicy {
        overlays: plan_overlays(workspace, &visibility).unwrap(),
        ..crate::bwrap::policy(workspace)
    }
}

/// Every file beneath `.git/hooks` with its content; `None` when the folder is absent.
fn hooks_of(root: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    let hooks = root.join(".git/hooks");
    let entries = std::fs::read_dir(&hooks).ok()?;
    let mut files = BTreeMap::new();
    for entry in entries.flatten() {
        let content = std::fs::read(entry.path()).unwrap_or_else(|_| b"<unreadable>".to_vec());
        files.insert(entry.file_name().to_string_lossy().into_owned(), content);
    }
    Some(files)
}

type MakeSandbox = fn(SandboxPolicy) -> std::pin::Pin<Box<dyn Future<Output = Arc<dyn Sandbox>>>>;

fn backends() -> Vec<(&'static str, MakeSandbox)> {
    vec![
        ("bwrap", |policy| {
            Box::pin(
                async move { Arc::new(BwrapSandbox::new(policy).unwrap()) as Arc<dyn Sandbox> },
            )
        }),
        ("linux", |policy| {
            Box::pin(async move {
                Arc::new(crate::linux::linux_sandbox(&policy).await) as Arc<dyn Sandbox>
            })
        }),
    ]
}

async fn run(sandbox: &dyn Sandbox, cwd: &Path, script: &str) -> ExecOutput {
    sandbox
        .exec(ExecRequest {
            argv: vec!["bash".to_owned(), "-c".to_owned(), script.to_owned()],
            cwd: cwd.to_path_buf(),
            env: BTreeMap::from([
                ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
                ("HOME".to_owned(), "/tmp".to_owned()),
                ("GIT_CONFIG_NOSYSTEM".to_owned(), "1".to_owned()),
            ]),
            timeout: Duration::from_secs(20),
            stdin: None,
            max_output_bytes: 64 * 1024,
        })
        .await
        .unwrap()
}

fn output_text(output: &ExecOutput) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The writer forms of issue 10 (and the ways around single-file protection).
const WRITERS: &[(&str, &str)] = &[
    ("cp", "cp evil .git/config"),
    ("tee", "tee .git/config < evil"),
    ("tee -a", "tee -a .git/config < evil"),
    ("shell redirect", "cat evil >> .git/config"),
    ("mv", "mv evil .git/config"),
    ("ln -s onto config", "ln -sf \"$PWD/evil\" .git/config"),
    (
        "ln -s into hooks",
        "ln -s \"$PWD/evil\" .git/hooks/post-checkout",
    ),
    ("dd of=", "dd if=evil of=.git/config"),
    ("sort -o", "sort -o .git/config evil"),
    ("touch a hook", "touch .git/hooks/post-commit"),
    ("cp a hook", "cp evil .git/hooks/pre-commit"),
    ("rm the hooks", "rm -rf .git/hooks"),
    (
        "git log --output=",
        "git log --output=.git/config --format=%s",
    ),
    (
        "git init with a template",
        "mkdir -p tpl/hooks && cp evil tpl/config && cp evil tpl/hooks/pre-commit && cp evil tpl/hooks/post-checkout && git init -q --template=tpl .",
    ),
    (
        "git config",
        "git config core.fsmonitor 'touch PWNED; false'",
    ),
    ("hard link", "ln .git/config cfg && cat evil > cfg"),
    (
        "hard link to a hook",
        "ln .git/hooks/pre-commit hk && cat evil > hk",
    ),
    (
        "rename .git away and rebuild it",
        "mv .git old-git && cp -a old-git .git && cp evil .git/config",
    ),
    (
        "plant a commondir",
        "mkdir -p alt/objects alt/refs && cp evil alt/config && echo ../alt > .git/commondir",
    ),
    (
        "replace hooks with a folder",
        "mv .git/hooks .git/hooks-old; mkdir -p .git/hooks && cp evil .git/hooks/pre-commit",
    ),
];

async fn check_writers(with_hooks: bool) {
    let mut failures = Vec::new();
    for (backend, make) in backends() {
        for (name, script) in WRITERS {
            let workspace = repository(with_hooks);
            let root = workspace.root().to_path_buf();
            let policy = policy(&root);
            let hooks_before = hooks_of(&root);
            let sandbox = make(policy).await;
            let script = format!(
                "{script}\ngit status --short > /dev/null 2>&1; echo neighbour > ok.txt; echo CASE-RAN"
            );
            let output = run(sandbox.as_ref(), &root, &script).await;
            let text = output_text(&output);
            let mut problems = Vec::new();
            if !text.contains("CASE-RAN") {
                problems.push("the script did not run to its end".to_owned());
            }
            let config = std::fs::read_to_string(root.join(".git/config")).unwrap_or_default();
            if config != CONFIG {
                problems.push(format!(".git/config changed: {config:?}"));
            }
            if hooks_of(&root) != hooks_before {
                problems.push(format!(
                    ".git/hooks changed: {:?} -> {:?}",
                    hooks_before,
                    hooks_of(&root)
                ));
            }
            if !with_hooks && hooks_of(&root).is_some_and(|files| !files.is_empty()) {
                problems.push("a file appeared in .git/hooks".to_owned());
            }
            if std::fs::read(root.join(".git/commondir")).unwrap_or_default() != b".\n" {
                problems.push(".git/commondir changed".to_owned());
            }
            if root.join("PWNED").exists() {
                problems.push("git ran the planted core.fsmonitor".to_owned());
            }
            if std::fs::read_to_string(root.join("ok.txt")).unwrap_or_default() != "neighbour\n" {
                problems.push("writing a normal workspace file failed".to_owned());
            }
            // The sandbox goes before the workspace: a `linux` supervisor must not pin it.
            sandbox.teardown().await.unwrap();
            if !problems.is_empty() {
                failures.push(format!(
                    "[{backend}] {name}: {}\n    output: {}",
                    problems.join("; "),
                    text.chars().take(400).collect::<String>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_cannot_change_git_config_or_hooks() {
    check_writers(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_git_hooks_cannot_be_created() {
    check_writers(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_still_commits_inside_the_sandbox() {
    for (backend, make) in backends() {
        let workspace = repository(true);
        let root = workspace.root().to_path_buf();
        let sandbox = make(policy(&root)).await;
        let output = run(
            sandbox.as_ref(),
            &root,
            "set -e; echo change >> README.md; git add README.md; git -c user.name=t -c user.email=t@example.com -c core.hooksPath=/dev/null commit -q -m second; git log --format=%s | head -1; git status --short",
        )
        .await;
        sandbox.teardown().await.unwrap();
        let text = output_text(&output);
        assert_eq!(output.exit_code, Some(0), "[{backend}] {text}");
        assert!(text.starts_with("second\n"), "[{backend}] {text}");
        assert_eq!(
            std::fs::read_to_string(root.join(".git/config")).unwrap(),
            CONFIG
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_paths_read_as_empty_to_commands() {
    for (backend, make) in backends() {
        let workspace = repository(true);
        let root = workspace.root().to_path_buf();
        let overlays = policy(&root).overlays;
        assert!(
            overlays.contains(&Overlay::HiddenFolder(root.join("private")))
                && overlays.contains(&Overlay::HiddenFile(root.join(".env"))),
            "{overlays:?}"
        );
        let sandbox = make(policy(&root)).await;
        let output = run(
            sandbox.as_ref(),
            &root,
            "cat private/notes.txt; head private/notes.txt; cat .env; grep -r . . --exclude-dir=.git; ls -A private; echo x > private/new.txt && echo WROTE-HIDDEN; echo x >> .env && echo WROTE-ENV; echo README=$(cat README.md)",
        )
        .await;
        sandbox.teardown().await.unwrap();
        let text = output_text(&output);
        assert!(!text.contains("PRIVATE-NOTES"), "[{backend}] {text}");
        assert!(!text.contains("DOTENV-SECRET"), "[{backend}] {text}");
        assert!(!text.contains("WROTE-"), "[{backend}] {text}");
        // The visible neighbour is read.
        assert!(text.contains("README=hello\n"), "[{backend}] {text}");
        assert_eq!(
            std::fs::read_to_string(root.join("private/notes.txt")).unwrap(),
            NOTES
        );
        assert_eq!(std::fs::read_to_string(root.join(".env")).unwrap(), DOTENV);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worktree_gitdir_is_readable_and_read_only() {
    for (backend, make) in backends() {
        let repo = repository(true);
        let workspace = Workspace::worktree(repo.root(), "HEAD").unwrap();
        let root = workspace.root().to_path_buf();
        let sandbox = make(policy(&root)).await;
        let git_file = std::fs::read_to_string(root.join(".git")).unwrap();
        let output = run(
            sandbox.as_ref(),
            &root,
            &format!(
                "git status --short && echo STATUS-OK; cp evil {gitdir}/config; cp evil {common}/config; echo 'gitdir: alt' > .git; echo CASE-RAN",
                gitdir = git_file.trim().trim_start_matches("gitdir: "),
                common = repo.root().join(".git").display(),
            ),
        )
        .await;
        sandbox.teardown().await.unwrap();
        let text = output_text(&output);
        assert!(text.contains("STATUS-OK"), "[{backend}] {text}");
        assert!(text.contains("CASE-RAN"), "[{backend}] {text}");
        assert_eq!(
            std::fs::read_to_string(root.join(".git")).unwrap(),
            git_file
        );
        assert_eq!(
            std::fs::read_to_string(repo.root().join(".git/config")).unwrap(),
            CONFIG
        );
        let gitdir = PathBuf::from(git_file.trim().trim_start_matches("gitdir: "));
        assert!(!gitdir.join("config").exists(), "[{backend}]");
    }
}

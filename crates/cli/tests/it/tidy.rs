//! Tidy checks: docs match the code, every module says what it is.

use std::path::{Path, PathBuf};

use rein_agent::StopReason;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn every_exit_code_of_a_stop_reason_is_documented() {
    let cli_md = std::fs::read_to_string(repo_root().join("docs/cli.md")).unwrap();
    let table = cli_md
        .split("<!-- exit-codes")
        .nth(1)
        .expect("docs/cli.md has the exit-code table");
    for reason in StopReason::ALL {
        if reason.is_success() {
            continue;
        }
        let row = format!("| {} | {} |", reason.exit_code(), reason.as_str());
        assert!(table.contains(&row), "docs/cli.md lacks `{row}`");
    }
    for row in ["| 0 |", "| 1 |", "| 2 |", "| 3 |"] {
        assert!(table.contains(row), "docs/cli.md lacks {row}");
    }
    for reason in StopReason::ALL {
        assert!(
            cli_md.contains(&format!("| `{}` |", reason.as_str())),
            "docs/cli.md does not describe stop reason {reason}"
        );
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_source_module_starts_with_a_doc_comment() {
    let mut files = Vec::new();
    rust_files(&repo_root().join("crates"), &mut files);
    let missing: Vec<String> = files
        .iter()
        .filter(|path| path.components().any(|c| c.as_os_str() == "src"))
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a //! doc: {missing:#?}"
    );
}

#[test]
fn the_low_crates_stay_free_of_async_and_processes() {
    // DESIGN.md: rein-spec and rein-policy do not depend on tokio or the sandbox.
    for krate in ["spec", "policy"] {
        let manifest =
            std::fs::read_to_string(repo_root().join("crates").join(krate).join("Cargo.toml"))
                .unwrap();
        for forbidden in ["tokio", "rein-sandbox", "reqwest"] {
            assert!(
                !manifest.contains(forbidden),
                "crates/{krate} must not depend on {forbidden}"
            );
        }
    }
}

#[test]
fn every_command_has_a_section_in_docs_cli_md() {
    let help = crate::harness::output(
        assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"))
            .arg("--help")
            .output()
            .unwrap(),
    );
    let cli_md = std::fs::read_to_string(repo_root().join("docs/cli.md")).unwrap();
    let commands: Vec<&str> = help
        .stdout
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    assert!(commands.len() >= 8, "{commands:?}");
    for command in commands {
        let heading = match command {
            "trace" => "## `rein trace show`".to_owned(),
            "config" => "## `rein config show`".to_owned(),
            other => format!("## `rein {other}`"),
        };
        assert!(cli_md.contains(&heading), "docs/cli.md has no `{heading}`");
    }
}

#[test]
fn cargo_run_at_the_root_means_the_rein_binary() {
    // The README's main command is `cargo run --release -- run …` at the repository root;
    // with more than one binary in the workspace, that needs default-members.
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("default-members = [\"crates/cli\"]"),
        "root Cargo.toml lacks default-members"
    );
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(readme.contains("cargo run --release -- run examples/ci-triage"));
}

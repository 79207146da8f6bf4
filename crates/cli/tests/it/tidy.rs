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

/// Every ```toml block of docs/*.md, with where it starts.
fn toml_blocks() -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("docs"))
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.file_name().unwrap().to_string_lossy().into_owned();
        let mut lines = text.lines().enumerate();
        while let Some((number, line)) = lines.next() {
            if line.trim() != "```toml" {
                continue;
            }
            let body: Vec<&str> = lines
                .by_ref()
                .map(|(_, line)| line)
                .take_while(|line| line.trim() != "```")
                .collect();
            blocks.push((format!("docs/{name}:{}", number + 1), uncomment_keys(&body)));
        }
    }
    blocks
}

/// The block with keys shown as comments (`# allow_env = [...]   # replaces …`) written
/// out, a `[...]` placeholder as an empty list: they are documented keys too.
fn uncomment_keys(lines: &[&str]) -> String {
    let mut out = Vec::new();
    for line in lines {
        out.push(line.to_string());
        let Some(rest) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        let Some((key, value)) = rest.trim().split_once(" = ") else {
            continue;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let value = value.split("  #").next().unwrap_or_default().trim();
        let candidate = format!("{key} = {}", value.replace("[...]", "[]"));
        if toml::from_str::<toml::Table>(&candidate).is_ok() {
            out.push(candidate);
        }
    }
    out.join("\n")
}

/// Every key the key tables of docs/agent-format.md name, as a one-key fragment:
/// `(where, "[section]\nkey = 1")`. A `| key | … |` table belongs to the last `[section]`
/// written in backquotes above it; a `| table | keys |` row names its section and keys.
fn documented_keys() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_root().join("docs/agent-format.md")).unwrap();
    let backquoted = |line: &str| -> Vec<String> {
        line.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let is_key =
        |word: &str| !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let fragment = |section: &str, key: &str| {
        if section.is_empty() {
            format!("{key} = 1\n")
        } else {
            format!("{section}\n{key} = 1\n")
        }
    };
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let mut in_key_table = false;
    let mut in_table_table = false;
    for (number, line) in text.lines().enumerate() {
        let place = format!("docs/agent-format.md:{}", number + 1);
        if line.starts_with("## ") {
            section = None;
        }
        if line.starts_with("### Top level") {
            section = Some(String::new());
        }
        if !line.starts_with('|') {
            in_key_table = false;
            in_table_table = false;
            if let Some(last) = backquoted(line)
                .into_iter()
                .rev()
                .find(|word| word.starts_with('['))
            {
                section = Some(last);
            }
            continue;
        }
        if line.starts_with("| key |") {
            in_key_table = true;
            continue;
        }
        if line.starts_with("| table | keys |") {
            in_table_table = true;
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").collect();
        if in_key_table && let Some(section) = &section {
            if let Some(key) = backquoted(cells[0]).first().filter(|key| is_key(key)) {
                out.push((place, fragment(section, key)));
            }
        } else if in_table_table && cells.len() >= 2 {
            let Some(table) = backquoted(cells[0]).into_iter().next() else {
                continue;
            };
            // Keys are the backquoted words of the list itself: outside parentheses, after
            // the start, `, `, ` / ` or ` or ` (not `… addresses `http_request` may reach`).
            let mut depth = 0usize;
            let outside: String = cells[1]
                .chars()
                .filter(|c| {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth = depth.saturating_sub(1);
                            return false;
                        }
                        _ => {}
                    }
                    depth == 0
                })
                .collect();
            let parts: Vec<&str> = outside.split('`').collect();
            for pair in (1..parts.len()).step_by(2) {
                let before = parts[pair - 1].trim_end();
                let listed = pair == 1
                    || before.ends_with(',')
                    || before.ends_with('/')
                    || before.ends_with(" or");
                if listed && is_key(parts[pair]) {
                    out.push((place.clone(), fragment(&table, parts[pair])));
                }
            }
        }
    }
    out
}

/// `extra` merged over `base`, tables deeply.
fn merge(base: &mut toml::Table, extra: toml::Table) {
    for (key, value) in extra {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(more)) => merge(inner, more),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Every TOML key the docs show exists: each ```toml block of docs/*.md (keys shown as
/// comments too) and each key of the key tables of docs/agent-format.md is loaded — a
/// model script as a script, a config file as the system config layer, an agent file as
/// it is, a fragment inside a minimal agent — and `rein check` never says "unknown key".
#[test]
fn every_toml_block_in_the_docs_loads_without_an_unknown_key() {
    const MINIMAL: &str = "name = \"docs-check\"\n[model]\nprovider = \"openai\"\nname = \"gpt-4.1-mini\"\n[prompt]\ntask = \"Check.\"\n[environment]\nsandbox = \"host\"\n";
    let mut blocks = toml_blocks();
    assert!(blocks.len() >= 25, "found {} toml blocks", blocks.len());
    let keys = documented_keys();
    assert!(keys.len() >= 60, "found {} documented keys", keys.len());
    blocks.extend(keys);
    let mut failures = Vec::new();
    for (place, body) in &blocks {
        let dir = tempfile::tempdir().unwrap();
        let table: toml::Table = match toml::from_str(body) {
            Ok(table) => table,
            Err(err) => {
                failures.push(format!("{place}: not valid TOML: {err}"));
                continue;
            }
        };
        if table.contains_key("turns") {
            if let Err(err) = rein_model::script::Script::parse(body, false) {
                failures.push(format!("{place}: not a valid model script: {err}"));
            }
            continue;
        }
        let mut minimal: toml::Table = toml::from_str(MINIMAL).unwrap();
        let is_config = body
            .lines()
            .next()
            .is_some_and(|line| line.starts_with('#') && line.contains("config.toml"))
            || table.contains_key("locked")
            || table.contains_key("profile");
        let mut args = vec!["check".to_owned(), "agent.toml".to_owned()];
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"));
        if is_config {
            std::fs::write(dir.path().join("system.toml"), body).unwrap();
            cmd.env("REIN_SYSTEM_CONFIG", dir.path().join("system.toml"));
            if let Some(toml::Value::Table(profiles)) = table.get("profile")
                && let Some(name) = profiles.keys().next()
            {
                args.extend(["--profile".to_owned(), name.clone()]);
            }
        } else if table.contains_key("name") && table.contains_key("model") {
            minimal = table;
        } else {
            merge(&mut minimal, table);
        }
        std::fs::write(
            dir.path().join("agent.toml"),
            toml::to_string(&minimal).unwrap(),
        )
        .unwrap();
        let out = cmd
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("REIN_POLICY_FILE")
            .env("OPENAI_API_KEY", "sk-docs")
            .env("ANTHROPIC_API_KEY", "sk-docs")
            .env(
                "SLACK_WEBHOOK_URL",
                "https://hooks.slack.com/services/T0/B0/X",
            )
            .env("GITHUB_TOKEN", "ghp-docs")
            .env("GH_TOKEN", "ghp-docs")
            .args(&args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("unknown key") || stderr.contains("unknown field") {
            failures.push(format!("{place}: {}", stderr.trim()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

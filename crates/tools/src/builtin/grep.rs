//! `grep`: search file contents with a regular expression, ripgrep style.
//!
//! Built on `ignore` (walks the tree respecting `.gitignore`, `.ignore` and `.git/info/exclude`,
//! skipping hidden files and folders, never following symlinks) and `grep-searcher` (binary
//! files skipped). Output lines are `path:line:text`, paths relative to the workspace root.

use std::sync::OnceLock;

use grep_regex::RegexMatcherBuilder;
use grep_searcher::{BinaryDetection, SearcherBuilder, sinks};
use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;
use serde::Deserialize;

use super::{parse_arguments, run_blocking, string_arg};
use crate::path::resolve_in_workspace;
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

const NAME: &str = "grep";

/// At most this many matching lines are reported.
pub const MAX_GREP_MATCHES: usize = 200;

/// A matching line longer than this many chars is cut (with `…`).
pub const MAX_GREP_LINE_CHARS: usize = 300;

/// Searches the workspace with a regular expression.
#[derive(Debug, Default)]
pub struct GrepTool;

impl GrepTool {
    pub fn new() -> GrepTool {
        GrepTool
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    pattern: String,
    path: Option<String>,
    glob: Option<String>,
    ignore_case: Option<bool>,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "pattern": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Regular expression (Rust regex syntax, like ripgrep) searched line by line."
                },
                "path": {
                    "type": "string",
                    "description": "File or folder to search, relative to the workspace root. Default: the workspace root."
                },
                "glob": {
                    "type": "string",
                    "description": "Only search files whose path matches this glob, e.g. `*.rs` or `src/**/*.toml`. A leading `!` excludes instead."
                },
                "ignore_case": {
                    "type": "boolean",
                    "description": "Match without regard to case. Default: false."
                }
            },
            "required": ["pattern"],
            "additionalProperties": false
        })
    })
}

#[async_trait::async_trait]
impl Tool for GrepTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Search file contents with a regular expression. Respects .gitignore, skips hidden and binary files. Returns `path:line:text` lines, at most 200 matches."
    }

    fn input_schema(&self) -> &serde_json::Value {
        schema()
    }

    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        vec![ToolAction::Read(string_arg(args, "path", "."))]
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: Arguments = parse_arguments(NAME, arguments)?;
        let workspace = ctx.workspace.clone();
        run_blocking(NAME, move || search(&workspace, &arguments)).await
    }
}

fn search(workspace: &std::path::Path, arguments: &Arguments) -> Result<ToolOutput, ToolError> {
    let root = resolve_in_workspace(workspace, ".")?.absolute;
    let start = resolve_in_workspace(workspace, arguments.path.as_deref().unwrap_or("."))?;
    if !start.absolute.exists() {
        return Err(ToolError::NotFound {
            path: start.display,
        });
    }
    let matcher = RegexMatcherBuilder::new()
        .case_insensitive(arguments.ignore_case.unwrap_or(false))
        .build(&arguments.pattern)
        .map_err(|error| ToolError::InvalidPattern {
            what: "regular expression",
            pattern: arguments.pattern.clone(),
            message: error.to_string(),
        })?;

    let mut walk = WalkBuilder::new(&start.absolute);
    walk.require_git(false)
        // The user's global git excludes would make results depend on the machine.
        .git_global(false)
        .follow_links(false)
        .sort_by_file_name(|left, right| left.cmp(right));
    if let Some(glob) = &arguments.glob {
        let invalid_glob = |error: ignore::Error| ToolError::InvalidPattern {
            what: "glob",
            pattern: glob.clone(),
            message: error.to_string(),
        };
        let mut overrides = OverrideBuilder::new(&root);
        overrides.add(glob).map_err(invalid_glob)?;
        walk.overrides(overrides.build().map_err(invalid_glob)?);
    }

    let mut searcher = SearcherBuilder::new()
        .line_number(true)
        .binary_detection(BinaryDetection::quit(b'\x00'))
        .build();
    let mut out = String::new();
    let mut n_matches: usize = 0;
    let mut n_unreadable: usize = 0;
    for entry in walk.build() {
        let Ok(entry) = entry else {
            n_unreadable += 1;
            continue;
        };
        if !entry
            .file_type()
            .is_some_and(|file_type| file_type.is_file())
        {
            continue;
        }
        let shown_path = entry
            .path()
            .strip_prefix(&root)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        let result = searcher.search_path(
            &matcher,
            entry.path(),
            sinks::Lossy(|line_number, line| {
                n_matches += 1;
                if n_matches > MAX_GREP_MATCHES {
                    return Ok(false);
                }
                let line = line.trim_end_matches(['\n', '\r']);
                let line = if line.chars().count() > MAX_GREP_LINE_CHARS {
                    let cut: String = line.chars().take(MAX_GREP_LINE_CHARS).collect();
                    format!("{cut}…")
                } else {
                    line.to_owned()
                };
                out.push_str(&format!("{shown_path}:{line_number}:{line}\n"));
                Ok(true)
            }),
        );
        if result.is_err() {
            n_unreadable += 1;
        }
        if n_matches > MAX_GREP_MATCHES {
            break;
        }
    }
    if n_matches > MAX_GREP_MATCHES {
        out.push_str(&format!(
            "[stopped after {MAX_GREP_MATCHES} matches; narrow the pattern, path or glob]\n"
        ));
    } else if n_matches == 0 {
        out.push_str("no matches\n");
    }
    if n_unreadable > 0 {
        out.push_str(&format!("[{n_unreadable} file(s) could not be read]\n"));
    }
    Ok(ToolOutput::text(out))
}

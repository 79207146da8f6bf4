//! `[[tools.command]]`: a program run with an argv template, through the run's sandbox.
//!
//! Each argv element is a template. The rules that keep a value from changing what runs:
//!
//! - the program (`argv[0]`) is literal: no placeholder;
//! - a value fills its placeholder inside its element and never splits it: there is no
//!   shell, so spaces, `;`, `$(…)`, backticks, quotes and globs are plain bytes;
//! - the one exception is an element that is exactly `{{ field }}` with an array value:
//!   each item becomes one argument of its own (items follow the same rules; an empty
//!   array gives no argument). An array anywhere else, and any object, is refused;
//! - with `dash_values = "refuse"` (the default) a value starting with `-` is refused,
//!   since the program could read it as an option; with `"allow"` it is passed as data
//!   (the template should then put it after `--` or inside an `--opt=` element);
//! - line breaks and NUL in a value are refused, and so is a value longer than
//!   [`COMMAND_MAX_VALUE_BYTES`];
//! - an absent (or `null`) field that the argv uses is refused: elements never disappear,
//!   so the position of every argument is the one written in the template.
//!
//! The working directory is resolved inside the workspace at each call (symlinks
//! included); the environment is the run's plus the tool's `env`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path};
use std::time::Duration;

use rein_sandbox::ExecRequest;
use rein_spec::spec::{CommandToolSpec, DashValues};

use super::template::{Template, check_fields, scalar_text, schema_properties};
use super::{check_name, check_object_schema, required_argument};
use crate::builtin::{SHELL_MAX_OUTPUT_BYTES, format_exec_output};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput, truncate_middle};

/// Longest value (in bytes) one placeholder may receive.
pub const COMMAND_MAX_VALUE_BYTES: usize = 16 * 1024;

/// A command declared in the agent file.
pub struct CommandTool {
    name: String,
    description: String,
    input_schema: serde_json::Value,
    argv: Vec<Template>,
    timeout: Duration,
    output_limit: usize,
    working_dir: String,
    /// May hold secrets: never shown (not in `Debug`, not in actions).
    env: BTreeMap<String, String>,
    dash_values: DashValues,
}

impl fmt::Debug for CommandTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandTool")
            .field("name", &self.name)
            .field(
                "argv",
                &self
                    .argv
                    .iter()
                    .map(|template| template.source.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("working_dir", &self.working_dir)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("dash_values", &self.dash_values)
            .finish()
    }
}

impl CommandTool {
    /// Checks the declaration: name, object schema, a literal program, templates that
    /// parse and name schema properties, a working directory that stays in the workspace,
    /// a non-zero timeout and output limit, valid environment names.
    pub fn new(spec: &CommandToolSpec) -> Result<CommandTool, ToolError> {
        let name = spec.name.as_str();
        check_name(name)?;
        check_object_schema(name, &spec.input_schema)?;
        let declaration = |message: String| ToolError::InvalidDeclaration {
            tool: name.to_owned(),
            message,
        };
        let Some(program) = spec.argv.first() else {
            return Err(declaration(
                "argv is empty; give the program and its arguments, e.g. [\"gh\", \"run\", \"view\", \"{{ run_id }}\"]".to_owned(),
            ));
        };
        if program.contains("{{") || program.is_empty() {
            return Err(declaration(format!(
                "the program `{program}` (argv[0]) must be a fixed, non-empty name; only later elements may hold `{{{{ field }}}}`"
            )));
        }
        let known = schema_properties(&spec.input_schema);
        let mut argv = Vec::with_capacity(spec.argv.len());
        for element in &spec.argv {
            let template = Template::parse(element).map_err(&declaration)?;
            check_fields(&template, &known, "argv element").map_err(&declaration)?;
            argv.push(template);
        }
        check_working_dir(&spec.working_dir).map_err(&declaration)?;
        if spec.timeout.is_zero() {
            return Err(declaration("timeout must be more than 0".to_owned()));
        }
        if spec.output_limit == 0 {
            return Err(declaration("output_limit must be more than 0".to_owned()));
        }
        for key in spec.env.keys() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(declaration(format!(
                    "env name `{key}` is not valid (empty, or contains `=` or NUL)"
                )));
            }
        }
        Ok(CommandTool {
            name: spec.name.clone(),
            description: spec.description.clone(),
            input_schema: spec.input_schema.clone(),
            argv,
            timeout: spec.timeout,
            output_limit: spec.output_limit,
            working_dir: spec.working_dir.clone(),
            env: spec.env.clone(),
            dash_values: spec.dash_values,
        })
    }

    /// The argv this call would run, or why the arguments are refused.
    pub fn render_argv(&self, args: &serde_json::Value) -> Result<Vec<String>, ToolError> {
        let mut argv = Vec::with_capacity(self.argv.len());
        for (index, template) in self.argv.iter().enumerate() {
            let place = format!("argv element {index} `{}`", template.source);
            if let Some(field) = template.whole_field() {
                let value = required_argument(args, field, &place)?;
                if let serde_json::Value::Array(items) = value {
                    for item in items {
                        let text = scalar_text(item).ok_or_else(|| {
                            refused(format!(
                                "the items of `{field}` must be strings, numbers or booleans; each becomes one argument"
                            ))
                        })?;
                        self.check_value(field, &text)?;
                        argv.push(text);
                    }
                    continue;
                }
            }
            let element = template.render(|field| {
                let value = required_argument(args, field, &place)?;
                let text = scalar_text(value).ok_or_else(|| {
                    refused(match value {
                        serde_json::Value::Array(_) => format!(
                            "`{field}` is an array, but {place} has other text around it; only an element that is exactly `{{{{ {field} }}}}` takes an array (one argument per item)"
                        ),
                        _ => format!(
                            "`{field}` must be a string, a number or a boolean to fill {place}"
                        ),
                    })
                })?;
                self.check_value(field, &text)?;
                Ok::<String, ToolError>(text)
            })?;
            argv.push(element);
        }
        Ok(argv)
    }

    /// Refuses a value that could change the command line's shape.
    fn check_value(&self, field: &str, text: &str) -> Result<(), ToolError> {
        if text.len() > COMMAND_MAX_VALUE_BYTES {
            return Err(refused(format!(
                "the value of `{field}` is {} bytes; a command argument value may have at most {COMMAND_MAX_VALUE_BYTES}",
                text.len()
            )));
        }
        if text.contains('\0') {
            return Err(refused(format!(
                "the value of `{field}` contains a NUL byte, which a command argument cannot hold"
            )));
        }
        if text.contains(['\n', '\r']) {
            return Err(refused(format!(
                "the value of `{field}` contains a line break; command argument values must be one line"
            )));
        }
        if self.dash_values == DashValues::Refuse && text.starts_with('-') {
            return Err(refused(format!(
                "the value `{}` of `{field}` starts with `-`, so the program could read it as an option; tool `{}` refuses such values\nhint: pass a value that does not start with `-`",
                shorten(text),
                self.name
            )));
        }
        Ok(())
    }
}

fn refused(message: String) -> ToolError {
    ToolError::InvalidInput { message }
}

/// At most 80 characters of a value, for messages.
fn shorten(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(80).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// A working directory is relative and never climbs above the workspace (checked again,
/// symlinks included, at each call).
fn check_working_dir(working_dir: &str) -> Result<(), String> {
    let path = Path::new(working_dir);
    if working_dir.is_empty() {
        return Err("working_dir is empty; use `.` for the workspace root".to_owned());
    }
    if path.is_absolute() {
        return Err(format!(
            "working_dir `{working_dir}` is absolute; use a path relative to the workspace root"
        ));
    }
    let mut depth: usize = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth = depth.checked_sub(1).ok_or_else(|| {
                    format!(
                        "working_dir `{working_dir}` leaves the workspace; use a path inside the workspace root"
                    )
                })?;
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("working_dir `{working_dir}` is absolute"));
            }
        }
    }
    Ok(())
}

/// One word as a POSIX shell would read it back: bare when it has only safe characters,
/// otherwise in single quotes.
pub(crate) fn shell_quote(word: &str, is_program: bool) -> String {
    let safe = !word.is_empty()
        && word.chars().all(|char| {
            char.is_ascii_alphanumeric()
                || matches!(
                    char,
                    '_' | '@' | '%' | '+' | ':' | ',' | '.' | '/' | '-' | '='
                )
        })
        && !(is_program && word.contains('='));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The argv as one shell-quoted line, for the command policy and the trace.
pub(crate) fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .enumerate()
        .map(|(index, word)| shell_quote(word, index == 0))
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait::async_trait]
impl Tool for CommandTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn input_schema(&self) -> &serde_json::Value {
        &self.input_schema
    }

    /// The command line the call would run; when the arguments are refused, the template
    /// itself (the call then fails without running anything).
    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        let argv = self.render_argv(args).unwrap_or_else(|_| {
            self.argv
                .iter()
                .map(|template| template.source.clone())
                .collect()
        });
        vec![ToolAction::Command(shell_join(&argv))]
    }

    async fn call(
        &self,
        args: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let argv = self.render_argv(&args)?;
        let cwd = crate::path::resolve_in_workspace(&ctx.workspace, &self.working_dir)?;
        match std::fs::metadata(&cwd.absolute) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => {
                return Err(ToolError::InvalidDeclaration {
                    tool: self.name.clone(),
                    message: format!("working_dir `{}` is not a folder", cwd.display),
                });
            }
            Err(error) => return Err(ToolError::io("use as working_dir", &cwd.display)(error)),
        }
        let mut env = ctx.env.clone();
        env.extend(
            self.env
                .iter()
                .map(|(key, value)| (key.clone(), value.clone())),
        );
        let timeout = self.timeout.min(ctx.timeout);
        let request = ExecRequest {
            argv,
            cwd: cwd.absolute,
            env,
            timeout,
            stdin: None,
            max_output_bytes: SHELL_MAX_OUTPUT_BYTES,
        };
        let output = ctx.sandbox.exec(request).await?;
        let mut formatted = format_exec_output(&output, timeout);
        let (content, _) = truncate_middle(&formatted.content, self.output_limit);
        formatted.content = content;
        Ok(formatted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(argv: &[&str], dash_values: DashValues) -> CommandToolSpec {
        CommandToolSpec {
            name: "t".to_owned(),
            description: "d".to_owned(),
            input_schema: json!({
                "type": "object",
                "properties": {"a": {}, "b": {}, "list": {}}
            }),
            argv: argv.iter().map(|word| (*word).to_owned()).collect(),
            timeout: Duration::from_secs(5),
            output_limit: 1000,
            working_dir: ".".to_owned(),
            env: BTreeMap::new(),
            dash_values,
        }
    }

    fn check(argv: &[&str], dash_values: DashValues, args: serde_json::Value) -> String {
        let tool = CommandTool::new(&spec(argv, dash_values)).unwrap();
        match tool.render_argv(&args) {
            Ok(argv) => format!("{argv:?}"),
            Err(error) => format!("refused: {error}"),
        }
    }

    #[test]
    fn values_stay_in_their_element() {
        assert_eq!(
            check(
                &["git", "log", "{{ a }}"],
                DashValues::Refuse,
                json!({"a": "x y; rm -rf /"})
            ),
            r#"["git", "log", "x y; rm -rf /"]"#
        );
        assert_eq!(
            check(
                &["git", "--n={{ a }}", "{{ b }}"],
                DashValues::Refuse,
                json!({"a": 5, "b": true})
            ),
            r#"["git", "--n=5", "true"]"#
        );
        assert_eq!(
            check(
                &["ls", "--", "{{ list }}"],
                DashValues::Refuse,
                json!({"list": ["a b", 1]})
            ),
            r#"["ls", "--", "a b", "1"]"#
        );
        assert_eq!(
            check(
                &["ls", "x{{ list }}"],
                DashValues::Refuse,
                json!({"list": ["a"]})
            ),
            "refused: `list` is an array, but argv element 1 `x{{ list }}` has other text around it; only an element that is exactly `{{ list }}` takes an array (one argument per item)"
        );
        assert_eq!(
            check(
                &["ls", "{{ a }}"],
                DashValues::Refuse,
                json!({"a": {"k": 1}})
            ),
            "refused: `a` must be a string, a number or a boolean to fill argv element 1 `{{ a }}`"
        );
        assert_eq!(
            check(&["ls", "{{ a }}"], DashValues::Refuse, json!({})),
            "refused: argument `a` is missing; argv element 1 `{{ a }}` needs it\nhint: call the tool again with `a` set"
        );
    }

    #[test]
    fn dashes_are_refused_or_passed_as_declared() {
        assert_eq!(
            check(
                &["ls", "{{ list }}"],
                DashValues::Refuse,
                json!({"list": ["ok", "-la"]})
            ),
            "refused: the value `-la` of `list` starts with `-`, so the program could read it as an option; tool `t` refuses such values\nhint: pass a value that does not start with `-`"
        );
        assert_eq!(
            check(
                &["ls", "--", "{{ a }}"],
                DashValues::Allow,
                json!({"a": "-la"})
            ),
            r#"["ls", "--", "-la"]"#
        );
        assert!(
            check(&["ls", "{{ a }}"], DashValues::Allow, json!({"a": "a\nb"}))
                .starts_with("refused: ")
        );
    }

    #[test]
    fn declarations_are_checked() {
        let error = |argv: &[&str], working_dir: &str| {
            let mut spec = spec(argv, DashValues::Refuse);
            spec.working_dir = working_dir.to_owned();
            CommandTool::new(&spec).unwrap_err().to_string()
        };
        assert_eq!(
            error(&["{{ a }}"], "."),
            "tool `t` is declared wrong: the program `{{ a }}` (argv[0]) must be a fixed, non-empty name; only later elements may hold `{{ field }}`"
        );
        assert_eq!(
            error(&["ls", "{{ c }}"], "."),
            "tool `t` is declared wrong: argv element `{{ c }}` uses `{{ c }}`, which is not a property of the input schema (the input schema's properties are: a, b, list)"
        );
        assert_eq!(
            error(&["ls"], "sub/../../x"),
            "tool `t` is declared wrong: working_dir `sub/../../x` leaves the workspace; use a path inside the workspace root"
        );
        assert_eq!(
            error(&["ls"], "/tmp"),
            "tool `t` is declared wrong: working_dir `/tmp` is absolute; use a path relative to the workspace root"
        );
        assert!(error(&[], ".").contains("argv is empty"));
    }

    #[test]
    fn command_lines_are_quoted_for_the_policy() {
        let argv: Vec<String> = [
            "gh", "run", "view", "12", "a b", "it's", "$(id)", "", "--x=1",
        ]
        .iter()
        .map(|word| (*word).to_owned())
        .collect();
        assert_eq!(
            shell_join(&argv),
            r#"gh run view 12 'a b' 'it'\''s' '$(id)' '' --x=1"#
        );
        assert_eq!(shell_quote("A=b", true), "'A=b'");
    }
}

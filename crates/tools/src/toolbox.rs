//! The toolbox of a run: the tools the model may call, their compiled schemas, and
//! [`Toolbox::invoke`], which turns any call — valid or not — into a [`ToolOutcome`].

use std::fmt;
use std::sync::Arc;

use crate::{Tool, ToolAction, ToolContext, ToolError, truncate_middle};

/// At most this many schema violations are listed in one error message.
const MAX_LISTED_VIOLATIONS: usize = 10;

/// Name, description and input schema of one tool, as sent to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

/// How a tool call went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeKind {
    /// The tool ran. The result may still be an error for the model (`is_error`): a command
    /// that exited non-zero or timed out.
    Ok,
    /// The tool returned a [`ToolError`] (file not found, path outside the workspace…).
    ToolFailed,
    /// The arguments were not JSON or did not match the tool's schema; the tool did not run.
    InvalidArguments,
    /// No tool has this name; nothing ran.
    UnknownTool,
    /// The guardrails refused the call; nothing ran.
    Denied,
}

impl OutcomeKind {
    /// The name used in the trace (`tool_result.outcome`).
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Ok => "ok",
            OutcomeKind::ToolFailed => "tool_failed",
            OutcomeKind::InvalidArguments => "invalid_arguments",
            OutcomeKind::UnknownTool => "unknown_tool",
            OutcomeKind::Denied => "denied",
        }
    }
}

/// A call whose tool exists and whose arguments passed the schema, not run yet: the loop
/// asks the policy about [`PreparedCall::actions`] before it runs it.
pub struct PreparedCall<'a> {
    tool: &'a Arc<dyn Tool>,
    arguments: serde_json::Value,
    /// What the call would do.
    pub actions: Vec<ToolAction>,
}

impl fmt::Debug for PreparedCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedCall")
            .field("tool", &self.tool.name())
            .field("arguments", &self.arguments)
            .field("actions", &self.actions)
            .finish()
    }
}

/// The result of one tool call, as the model will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutcome {
    /// Text sent to the model, truncated to the toolbox's output limit.
    pub content: String,
    pub is_error: bool,
    /// Exit code of the command, for tools that run one.
    pub exit_code: Option<i32>,
    pub kind: OutcomeKind,
    /// Bytes cut from the middle of `content` (0 when it fit).
    pub truncated_bytes: u64,
}

struct RegisteredTool {
    tool: Arc<dyn Tool>,
    /// Compiled once, when the toolbox is built.
    validator: jsonschema::Validator,
}

/// The tools of a run.
pub struct Toolbox {
    /// In the order given, which is the order sent to the model.
    tools: Vec<RegisteredTool>,
    output_limit_bytes: usize,
}

impl fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Toolbox")
            .field("tools", &self.names())
            .field("output_limit_bytes", &self.output_limit_bytes)
            .finish()
    }
}

impl Toolbox {
    /// A toolbox of these tools. Fails when two tools share a name or a schema is not a
    /// valid JSON Schema.
    pub fn new(tools: Vec<Arc<dyn Tool>>, output_limit_bytes: usize) -> Result<Toolbox, ToolError> {
        let mut registered: Vec<RegisteredTool> = Vec::with_capacity(tools.len());
        for tool in tools {
            if registered
                .iter()
                .any(|existing| existing.tool.name() == tool.name())
            {
                return Err(ToolError::DuplicateTool {
                    name: tool.name().to_owned(),
                });
            }
            let validator = jsonschema::validator_for(tool.input_schema()).map_err(|error| {
                ToolError::InvalidSchema {
                    tool: tool.name().to_owned(),
                    message: error.to_string(),
                }
            })?;
            registered.push(RegisteredTool { tool, validator });
        }
        Ok(Toolbox {
            tools: registered,
            output_limit_bytes,
        })
    }

    /// A toolbox of the named builtin tools (see [`crate::builtin::BUILTIN_NAMES`]).
    pub fn builtins(names: &[String], output_limit_bytes: usize) -> Result<Toolbox, ToolError> {
        let tools = names
            .iter()
            .map(|name| {
                crate::builtin::builtin(name).ok_or_else(|| ToolError::UnknownBuiltin {
                    name: name.clone(),
                    available: crate::builtin::BUILTIN_NAMES.join(", "),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Toolbox::new(tools, output_limit_bytes)
    }

    /// Names of the tools, in order.
    pub fn names(&self) -> Vec<&str> {
        self.tools.iter().map(|entry| entry.tool.name()).collect()
    }

    /// The tool with this name.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.find(name).map(|entry| &entry.tool)
    }

    /// Bytes of a tool result kept for the model.
    pub fn output_limit_bytes(&self) -> usize {
        self.output_limit_bytes
    }

    /// What the model is told about each tool, in order.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools
            .iter()
            .map(|entry| ToolSpec {
                name: entry.tool.name().to_owned(),
                description: entry.tool.description().to_owned(),
                input_schema: entry.tool.input_schema().clone(),
            })
            .collect()
    }

    fn find(&self, name: &str) -> Option<&RegisteredTool> {
        self.tools.iter().find(|entry| entry.tool.name() == name)
    }

    /// Calls the tool `name` with the model's raw JSON arguments. Never fails: unknown
    /// tools, malformed JSON, schema violations and tool errors become an outcome with
    /// `is_error = true` whose content tells the model what was wrong. Empty arguments
    /// (`""`) count as `{}`.
    pub async fn invoke(&self, name: &str, raw_arguments: &str, ctx: &ToolContext) -> ToolOutcome {
        match self.prepare(name, raw_arguments) {
            Ok(call) => self.run(call, ctx).await,
            Err(outcome) => outcome,
        }
    }

    /// Find the tool and check the arguments; broken input comes back as the outcome the
    /// model will see.
    pub fn prepare(
        &self,
        name: &str,
        raw_arguments: &str,
    ) -> Result<PreparedCall<'_>, ToolOutcome> {
        let Some(entry) = self.find(name) else {
            return Err(
                self.error_outcome(OutcomeKind::UnknownTool, self.unknown_tool_message(name))
            );
        };
        let arguments = if raw_arguments.trim().is_empty() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            match serde_json::from_str::<serde_json::Value>(raw_arguments) {
                Ok(arguments) => arguments,
                Err(error) => {
                    return Err(self.error_outcome(
                        OutcomeKind::InvalidArguments,
                        format!(
                            "invalid arguments for tool `{name}`: malformed JSON: {error}\nhint: arguments must be one JSON object matching the tool's input schema"
                        ),
                    ));
                }
            }
        };
        if let Some(message) = schema_violations(name, &entry.validator, &arguments) {
            return Err(self.error_outcome(OutcomeKind::InvalidArguments, message));
        }
        let actions = entry.tool.actions(&arguments);
        Ok(PreparedCall {
            tool: &entry.tool,
            arguments,
            actions,
        })
    }

    /// Run a prepared call; the output is truncated to the toolbox's limit.
    pub async fn run(&self, call: PreparedCall<'_>, ctx: &ToolContext) -> ToolOutcome {
        match call.tool.call(call.arguments, ctx).await {
            Ok(output) => {
                let (content, truncated_bytes) =
                    truncate_middle(&output.content, self.output_limit_bytes);
                ToolOutcome {
                    content,
                    is_error: output.is_error,
                    exit_code: output.exit_code,
                    kind: OutcomeKind::Ok,
                    truncated_bytes,
                }
            }
            Err(error) => self.error_outcome(OutcomeKind::ToolFailed, error.to_string()),
        }
    }

    /// The outcome of a call the guardrails refused: the model sees the reason.
    pub fn denied(&self, message: String) -> ToolOutcome {
        self.error_outcome(OutcomeKind::Denied, message)
    }

    fn error_outcome(&self, kind: OutcomeKind, message: String) -> ToolOutcome {
        let (content, truncated_bytes) = truncate_middle(&message, self.output_limit_bytes);
        ToolOutcome {
            content,
            is_error: true,
            exit_code: None,
            kind,
            truncated_bytes,
        }
    }

    fn unknown_tool_message(&self, name: &str) -> String {
        let names = self.names();
        let closest = names
            .iter()
            .map(|candidate| (strsim::jaro_winkler(name, candidate), *candidate))
            .filter(|(similarity, _)| *similarity >= 0.8)
            .max_by(|left, right| left.0.total_cmp(&right.0));
        let mut message = format!("unknown tool `{name}`");
        if let Some((_, candidate)) = closest {
            message.push_str(&format!("; did you mean `{candidate}`?"));
        }
        if names.is_empty() {
            message.push_str("\nno tools are available in this run");
        } else {
            message.push_str(&format!("\navailable tools: {}", names.join(", ")));
        }
        message
    }
}

/// `None` when `arguments` match the schema, otherwise a message listing each violation
/// with the JSON pointer of the offending field.
fn schema_violations(
    tool: &str,
    validator: &jsonschema::Validator,
    arguments: &serde_json::Value,
) -> Option<String> {
    let violations: Vec<String> = validator
        .iter_errors(arguments)
        .map(|error| {
            let location = error.instance_path().as_str();
            let location = if location.is_empty() {
                "arguments".to_owned()
            } else {
                format!("`{location}`")
            };
            format!("- {location}: {error}")
        })
        .collect();
    if violations.is_empty() {
        return None;
    }
    let mut message = format!("invalid arguments for tool `{tool}`:\n");
    for violation in violations.iter().take(MAX_LISTED_VIOLATIONS) {
        message.push_str(violation);
        message.push('\n');
    }
    if violations.len() > MAX_LISTED_VIOLATIONS {
        message.push_str(&format!(
            "- … and {} more\n",
            violations.len() - MAX_LISTED_VIOLATIONS
        ));
    }
    message.push_str("hint: fix the arguments to match the tool's input schema and call it again");
    Some(message)
}

//! Tools declared in the agent file: `[[tools.command]]` ([`CommandTool`]) and
//! `[[tools.http]]` ([`HttpTool`]), and [`tools_from_spec`], which builds every builtin
//! and declared tool of a `[tools]` table in one list for a [`crate::Toolbox`].
//!
//! A declared tool is checked once, when it is built: its templates parse, every
//! `{{ field }}` names a property of its input schema, its working directory or URL host
//! are fixed. A call then only fills values in; a value never changes the shape of what
//! runs (an extra argument, an option, another host, another path segment).
//!
//! **Boundary:** command tools run through the run's sandbox, HTTP tools through the same
//! guarded, address-pinned client as `http_request`; neither does its own IO otherwise.

mod command;
mod http;
pub(crate) mod template;

use std::sync::Arc;

use rein_spec::ToolsSpec;

use crate::{Tool, ToolError};

pub use command::{COMMAND_MAX_VALUE_BYTES, CommandTool};
pub use http::HttpTool;

/// Every tool of a `[tools]` table except MCP servers, in this order: the builtins as
/// listed in `builtin` (with `[tools.sql_query]` / `[tools.slack_post]` for those two),
/// then `[[tools.command]]`, then `[[tools.http]]`. The caller adds MCP tools and builds
/// the [`crate::Toolbox`], which checks names are unique and schemas compile.
pub fn tools_from_spec(spec: &ToolsSpec) -> Result<Vec<Arc<dyn Tool>>, ToolError> {
    let mut tools: Vec<Arc<dyn Tool>> = Vec::new();
    for name in &spec.builtin {
        tools.push(crate::builtin::builtin_with(name, spec)?);
    }
    for command in &spec.command {
        tools.push(Arc::new(CommandTool::new(command)?));
    }
    for http in &spec.http {
        tools.push(Arc::new(HttpTool::new(http)?));
    }
    Ok(tools)
}

/// Checks a declared tool's name: 1 to 64 of `[A-Za-z0-9_-]` (what model APIs accept).
pub(crate) fn check_name(name: &str) -> Result<(), ToolError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|char| char.is_ascii_alphanumeric() || char == '_' || char == '-');
    if valid {
        Ok(())
    } else {
        Err(ToolError::InvalidDeclaration {
            tool: name.to_owned(),
            message: "a tool name is 1 to 64 letters, digits, `_` or `-`".to_owned(),
        })
    }
}

/// Checks that the input schema is an object schema (what tool arguments are).
pub(crate) fn check_object_schema(name: &str, schema: &serde_json::Value) -> Result<(), ToolError> {
    let is_object = schema.as_object().is_some_and(|map| {
        map.get("type")
            .is_none_or(|kind| kind == &serde_json::Value::String("object".to_owned()))
    });
    if is_object {
        Ok(())
    } else {
        Err(ToolError::InvalidDeclaration {
            tool: name.to_owned(),
            message: "input_schema must be a JSON Schema object with `\"type\": \"object\"` (tool arguments are an object)".to_owned(),
        })
    }
}

/// An argument the call must have: absent and `null` are refused with a message naming
/// where it is needed.
pub(crate) fn required_argument<'a>(
    args: &'a serde_json::Value,
    field: &str,
    place: &str,
) -> Result<&'a serde_json::Value, ToolError> {
    match args.get(field) {
        Some(serde_json::Value::Null) | None => Err(ToolError::InvalidInput {
            message: format!(
                "argument `{field}` is missing; {place} needs it\nhint: call the tool again with `{field}` set"
            ),
        }),
        Some(value) => Ok(value),
    }
}

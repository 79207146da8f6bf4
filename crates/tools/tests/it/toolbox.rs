//! `Toolbox`: construction errors, bad calls become outcomes, truncation.

use std::sync::Arc;

use expect_test::{Expect, expect};
use rein_tools::{OutcomeKind, Tool, ToolContext, ToolError, ToolOutput, Toolbox};

use crate::{all_builtins, context, render};

/// A tool that returns its `text` argument, or fails with it when `fail` is true.
struct Echo {
    schema: serde_json::Value,
}

impl Echo {
    fn new() -> Echo {
        Echo {
            schema: serde_json::json!({
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "count": {"type": "integer", "minimum": 1},
                    "fail": {"type": "boolean"}
                },
                "required": ["text"],
                "additionalProperties": false
            }),
        }
    }
}

#[async_trait::async_trait]
impl Tool for Echo {
    fn name(&self) -> &str {
        "echo"
    }
    fn description(&self) -> &str {
        "Echo the text."
    }
    fn input_schema(&self) -> &serde_json::Value {
        &self.schema
    }
    async fn call(
        &self,
        args: serde_json::Value,
        _ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let text = args["text"].as_str().unwrap_or_default().to_owned();
        if args["fail"] == serde_json::Value::Bool(true) {
            return Err(ToolError::InvalidInput { message: text });
        }
        Ok(ToolOutput::text(text))
    }
}

fn echo_box(limit: usize) -> Toolbox {
    Toolbox::new(vec![Arc::new(Echo::new())], limit).unwrap()
}

async fn check(raw_arguments: &str, expected: Expect) {
    let workspace = tempfile::tempdir().unwrap();
    let outcome = echo_box(1000)
        .invoke("echo", raw_arguments, &context(workspace.path()))
        .await;
    expected.assert_eq(&render(&outcome));
}

#[tokio::test]
async fn valid_arguments_reach_the_tool() {
    check(
        r#"{"text": "hi"}"#,
        expect![[r#"
        Ok
        hi"#]],
    )
    .await;
}

#[tokio::test]
async fn malformed_json_is_invalid_arguments() {
    check(r#"{"text": "hi""#, expect![[r#"
        InvalidArguments error
        invalid arguments for tool `echo`: malformed JSON: EOF while parsing an object at line 1 column 13
        hint: arguments must be one JSON object matching the tool's input schema"#]])
    .await;
    check(
        "not json",
        expect![[r#"
        InvalidArguments error
        invalid arguments for tool `echo`: malformed JSON: expected ident at line 1 column 2
        hint: arguments must be one JSON object matching the tool's input schema"#]],
    )
    .await;
}

#[tokio::test]
async fn schema_violations_name_the_field_and_the_problem() {
    check(
        r#"{"text": 5}"#,
        expect![[r#"
        InvalidArguments error
        invalid arguments for tool `echo`:
        - `/text`: 5 is not of type "string"
        hint: fix the arguments to match the tool's input schema and call it again"#]],
    )
    .await;
    check(
        r#"{"text": "x", "count": 0, "colour": "red"}"#,
        expect![[r#"
        InvalidArguments error
        invalid arguments for tool `echo`:
        - `/count`: 0 is less than the minimum of 1
        - arguments: Additional properties are not allowed ('colour' was unexpected)
        hint: fix the arguments to match the tool's input schema and call it again"#]],
    )
    .await;
    check(
        "{}",
        expect![[r#"
        InvalidArguments error
        invalid arguments for tool `echo`:
        - arguments: "text" is a required property
        hint: fix the arguments to match the tool's input schema and call it again"#]],
    )
    .await;
    check(
        "[1, 2]",
        expect![[r#"
        InvalidArguments error
        invalid arguments for tool `echo`:
        - arguments: [1,2] is not of type "object"
        hint: fix the arguments to match the tool's input schema and call it again"#]],
    )
    .await;
    // Empty arguments count as `{}`.
    check(
        "",
        expect![[r#"
        InvalidArguments error
        invalid arguments for tool `echo`:
        - arguments: "text" is a required property
        hint: fix the arguments to match the tool's input schema and call it again"#]],
    )
    .await;
}

#[tokio::test]
async fn tool_errors_become_tool_failed() {
    check(
        r#"{"text": "it broke", "fail": true}"#,
        expect![[r#"
        ToolFailed error
        it broke"#]],
    )
    .await;
}

#[tokio::test]
async fn unknown_tool_lists_the_available_ones() {
    let workspace = tempfile::tempdir().unwrap();
    let ctx = context(workspace.path());
    let toolbox = all_builtins();
    let outcome = toolbox.invoke("reed_file", "{}", &ctx).await;
    assert_eq!(outcome.kind, OutcomeKind::UnknownTool);
    expect![[r#"
        UnknownTool error
        unknown tool `reed_file`; did you mean `read_file`?
        available tools: read_file, write_file, edit_file, list_dir, grep, shell, http_request"#]]
    .assert_eq(&render(&outcome));
    let outcome = toolbox.invoke("deploy", "{}", &ctx).await;
    expect![[r#"
        UnknownTool error
        unknown tool `deploy`
        available tools: read_file, write_file, edit_file, list_dir, grep, shell, http_request"#]]
    .assert_eq(&render(&outcome));
}

#[tokio::test]
async fn long_output_is_truncated_in_the_middle() {
    let workspace = tempfile::tempdir().unwrap();
    let text: String = (1..=100).map(|n| format!("line {n:03}\n")).collect();
    let arguments = serde_json::json!({ "text": text }).to_string();
    let outcome = echo_box(120)
        .invoke("echo", &arguments, &context(workspace.path()))
        .await;
    assert!(outcome.content.len() <= 120);
    expect![[r#"
        Ok truncated=810
        line 001
        line 002
        line 003
        line 004
        line 005
        [… 810 bytes cut …]
        line 096
        line 097
        line 098
        line 099
        line 100
    "#]]
    .assert_eq(&render(&outcome));
}

#[test]
fn unknown_builtin_and_duplicates_are_refused() {
    let error =
        Toolbox::builtins(&["read_file".to_owned(), "slack_post".to_owned()], 1000).unwrap_err();
    expect![[r#"
        unknown builtin tool `slack_post`
        hint: builtin tools are: read_file, write_file, edit_file, list_dir, grep, shell, http_request"#]]
    .assert_eq(&error.to_string());

    let error = Toolbox::builtins(&["grep".to_owned(), "grep".to_owned()], 1000).unwrap_err();
    expect!["tool `grep` is declared more than once"].assert_eq(&error.to_string());
}

#[test]
fn invalid_schema_is_refused_at_construction() {
    let mut echo = Echo::new();
    echo.schema = serde_json::json!({"type": "no-such-type"});
    let error = Toolbox::new(vec![Arc::new(echo)], 1000).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("input schema of tool `echo` is not a valid JSON Schema: "),
        "{error}"
    );
}

#[test]
fn specs_describe_every_builtin_with_a_strict_schema() {
    let specs = all_builtins().specs();
    let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "read_file",
            "write_file",
            "edit_file",
            "list_dir",
            "grep",
            "shell",
            "http_request"
        ]
    );
    for spec in &specs {
        assert!(!spec.description.is_empty());
        assert_eq!(spec.input_schema["type"], "object", "{}", spec.name);
        assert_eq!(
            spec.input_schema["additionalProperties"], false,
            "{}",
            spec.name
        );
        let properties = spec.input_schema["properties"].as_object().unwrap();
        for (property, property_schema) in properties {
            assert!(
                property_schema["description"].is_string(),
                "{}.{property} has no description",
                spec.name
            );
        }
    }
}

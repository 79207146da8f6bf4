//! Integration tests of `rein-spec`: error messages and resolved specs as snapshots.

mod errors;
mod layers;
mod resolved;
mod secrets;
mod tools;

use std::collections::BTreeMap;
use std::path::Path;

use rein_spec::{LoadOptions, parse_agent};

/// Where test agent files claim to live (never read: `parse_agent` takes the text).
pub const SOURCE: &str = "/agents/ci/agent.toml";

/// A minimal valid agent; tests append to it or replace parts.
pub const MINIMAL: &str = r#"name = "ci-triage"

[model]
provider = "openai"
name = "gpt-4.1-mini"

[prompt]
task = "Find why the build failed."
"#;

pub fn opts(env: &[(&str, &str)], vars: &[(&str, &str)]) -> LoadOptions {
    let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    LoadOptions {
        vars: map(vars),
        env: map(env),
        ..LoadOptions::default()
    }
}

/// The error message, or the resolved spec as display TOML.
pub fn render(text: &str, source: &Path, opts: &LoadOptions) -> String {
    match parse_agent(text, source, opts) {
        Ok(spec) => spec.to_display_toml(),
        Err(error) => format!("error: {error}"),
    }
}

pub fn check(text: &str, expect: expect_test::Expect) {
    expect.assert_eq(&render(text, Path::new(SOURCE), &opts(&[], &[])));
}

pub fn check_with(text: &str, opts: &LoadOptions, expect: expect_test::Expect) {
    expect.assert_eq(&render(text, Path::new(SOURCE), opts));
}

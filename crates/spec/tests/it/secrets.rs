//! Secrets are collected in `AgentSpec::secrets` and never shown.

use std::path::Path;

use expect_test::expect;
use rein_spec::parse_agent;

use crate::{MINIMAL, SOURCE, check_with, opts};

#[test]
fn secret_from_file_is_read_trimmed_and_hidden() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/openai.key"), "sk-from-file-XYZ\n").unwrap();
    let text = MINIMAL.replace(
        "name = \"gpt-4.1-mini\"",
        "name = \"gpt-4.1-mini\"\napi_key = \"${secret:file:keys/openai.key}\"",
    ) + "\n[environment]\nenv = { AUTH = \"Bearer ${secret:file:keys/openai.key}\", TOKEN = \"${secret:TOKEN}\" }\n";
    let source = dir.path().join("agent.toml");
    let spec = parse_agent(&text, &source, &opts(&[("TOKEN", "tok\"en\n2")], &[])).unwrap();

    assert_eq!(
        spec.model.api_key.as_ref().unwrap().expose(),
        "sk-from-file-XYZ"
    );
    assert_eq!(spec.environment.env["AUTH"], "Bearer sk-from-file-XYZ");
    let secrets: Vec<&str> = spec.secrets.iter().map(|s| s.expose()).collect();
    assert_eq!(secrets, ["sk-from-file-XYZ", "tok\"en\n2"]);

    let shown = spec.to_display_toml();
    let debug = format!("{spec:?}");
    let pretty = format!("{spec:#?}");
    for output in [&shown, &debug, &pretty] {
        assert!(!output.contains("sk-from-file"), "{output}");
        assert!(
            !output.contains("tok\"en") && !output.contains("tok\\\"en"),
            "{output}"
        );
    }
    assert!(shown.contains("AUTH = \"Bearer ***\""), "{shown}");
    assert!(shown.contains("TOKEN = \"***\""), "{shown}");
    assert!(debug.contains("\"Bearer ***\""), "{debug}");
}

#[test]
fn env_default_api_key_is_a_secret() {
    let spec = parse_agent(
        MINIMAL,
        Path::new(SOURCE),
        &opts(&[("OPENAI_API_KEY", "sk-env-default-1")], &[]),
    )
    .unwrap();
    assert_eq!(spec.secrets.len(), 1);
    assert_eq!(spec.secrets[0].expose(), "sk-env-default-1");
    assert!(!spec.to_display_toml().contains("sk-env-default-1"));
    assert!(!format!("{spec:?}").contains("sk-env-default-1"));
}

#[test]
fn secrets_are_refused_in_prompts() {
    check_with(
        &MINIMAL.replace("failed.\"", "failed. Use ${secret:TOKEN}.\""),
        &opts(&[("TOKEN", "t0k")], &[]),
        expect![[r#"
            error: /agents/ci/agent.toml:8:40: invalid `prompt.task`: `${secret:…}` cannot be used in a prompt: the prompt is sent to the model
            hint: give secrets to commands through [environment] env instead"#]],
    );
}

#[test]
fn error_messages_do_not_show_secrets() {
    check_with(
        &MINIMAL.replace(
            "name = \"gpt-4.1-mini\"",
            "name = \"gpt-4.1-mini\"\nbase_url = \"${secret:URL_TOKEN}\"",
        ),
        &opts(&[("URL_TOKEN", "not-a-url-secret")], &[]),
        expect![[r#"
            error: /agents/ci/agent.toml:6:12: invalid `model.base_url`: `***` is not an http(s) url
            hint: write the API root, e.g. "https://api.openai.com/v1""#]],
    );
}

#[test]
fn template_values_are_not_interpolated() {
    // A --var value cannot pull the environment or a secret into the prompt.
    let spec = parse_agent(
        &MINIMAL.replace("failed.\"", "failed in {{ repo }}.\""),
        Path::new(SOURCE),
        &opts(&[("TOKEN", "t0k")], &[("repo", "${secret:TOKEN}")]),
    )
    .unwrap();
    assert_eq!(
        spec.prompt.task,
        "Find why the build failed in ${secret:TOKEN}."
    );
    assert!(spec.secrets.is_empty());
}

//! `build_model`: which specs need a key, and the scripted provider built from a file.

use rein_model::{FinishReason, ModelError, build_model};
use rein_spec::spec::Provider;

use crate::{complete, request, spec};

#[test]
fn anthropic_and_api_openai_com_need_a_key() {
    let mut anthropic = spec(
        Provider::Anthropic,
        "claude-sonnet-4-5",
        "https://api.anthropic.com",
        true,
    );
    anthropic.api_key = None;
    let error = build_model(&anthropic).unwrap_err();
    assert!(
        matches!(error, ModelError::MissingApiKey { .. }),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("hint: set the ANTHROPIC_API_KEY environment variable"),
        "{error}"
    );

    let mut openai = spec(
        Provider::Openai,
        "gpt-4.1",
        "https://api.openai.com/v1",
        true,
    );
    openai.api_key = None;
    let error = build_model(&openai).unwrap_err();
    assert_eq!(
        error.to_string(),
        "openai model `gpt-4.1` has no api key\nhint: set the OPENAI_API_KEY environment variable and reference it as `api_key = \"${secret:OPENAI_API_KEY}\"` in [model]"
    );

    let mut ollama = spec(
        Provider::Openai,
        "llama3.2",
        "http://localhost:11434/v1",
        true,
    );
    ollama.api_key = None;
    assert_eq!(build_model(&ollama).unwrap().id(), "openai:llama3.2");
}

#[test]
fn a_bad_base_url_is_a_clear_error() {
    let error =
        build_model(&spec(Provider::Openai, "gpt-4.1", "localhost:11434", true)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("base_url `localhost:11434` must start with http:// or https://"),
        "{error}"
    );
    let error = build_model(&spec(Provider::Openai, "gpt-4.1", "not a url", true)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("base_url `not a url` is not a url"),
        "{error}"
    );
}

#[tokio::test]
async fn a_scripted_model_plays_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("turns.toml");
    std::fs::write(
        &path,
        "[[turns]]\nexpect = { last_message_contains = \"a.txt\" }\ntext = \"Two files.\"\n",
    )
    .unwrap();
    let mut spec = spec(Provider::Scripted, "demo", "", false);
    spec.script = Some(path);
    let model = build_model(&spec).unwrap();
    assert_eq!(model.id(), "scripted:demo");
    // the test request holds one assistant message: turn 1, which this script lacks
    let (response, _) = complete(model.as_ref(), &request()).await;
    assert!(
        response
            .unwrap_err()
            .to_string()
            .contains("no turn left: the script has 1 turn(s)")
    );
    let mut first = request();
    first
        .messages
        .retain(|m| !matches!(m, rein_model::Message::Assistant { .. }));
    let (response, _) = complete(model.as_ref(), &first).await;
    let response = response.unwrap();
    assert_eq!(response.text, "Two files.");
    assert_eq!(response.finish_reason, FinishReason::Stop);
    assert_eq!(response.cost_usd, Some(0.0));

    spec.script = Some(dir.path().join("missing.toml"));
    let error = build_model(&spec).unwrap_err();
    assert!(error.to_string().contains("cannot read script"), "{error}");
}

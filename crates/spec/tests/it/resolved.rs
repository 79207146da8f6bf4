//! Resolved specs: defaults, interpolation, templates, provider defaults, overrides.

use std::path::Path;
use std::time::Duration;

use expect_test::expect;
use rein_spec::{LoadOptions, Provider, WorkspaceSpec, load_agent, parse_agent};

use crate::{MINIMAL, SOURCE, check, check_with, opts};

/// The complete example of docs/agent-format.md (kept in sync by `docs_example_loads`).
const FULL: &str = r#"
name = "ci-triage"
description = "Explain why a CI run failed"

[model]
provider = "openai"
name = "gpt-4.1-mini"
base_url = "${env:OPENAI_BASE_URL:-https://api.openai.com/v1}"
api_key = "${secret:OPENAI_API_KEY}"
temperature = 0.2
max_output_tokens = 2048
stream = true
max_attempts = 3
request_timeout = "90s"

[model.pricing]
input_per_mtok = 0.40
output_per_mtok = 1.60
cached_input_per_mtok = 0.10

[prompt]
system = "You are a CI failure analyst working on {{ repo }}."
task = "Find why run {{ run_id }} of {{ repo }} failed. Cost: $${not interpolated}."

[environment]
workspace = "copy:../repo"
sandbox = "host"
env = { LANG = "C.UTF-8", GITHUB_TOKEN = "${secret:GITHUB_TOKEN}" }
env_passthrough = ["PATH", "HOME"]

[loop]
max_steps = 40
step_timeout = "1m"
stuck_after = 4
tool_output_limit = 32768
verify = { command = ["cargo", "test", "--", "${env:TEST_FILTER:-}"], max_attempts = 2, timeout = "10m" }

[limits]
max_wall_time = "15m"

[tools]
builtin = ["read_file", "list_dir", "grep", "shell"]

[trace]
dir = ".rein"
"#;

fn full_opts() -> LoadOptions {
    opts(
        &[
            ("OPENAI_API_KEY", "sk-test-123"),
            ("GITHUB_TOKEN", "ghp_abc"),
        ],
        &[("repo", "rein"), ("run_id", "42")],
    )
}

#[test]
fn full_example() {
    check_with(
        FULL,
        &full_opts(),
        expect![[r##"
            # resolved from /agents/ci/agent.toml (secrets shown as ***)
            name = "ci-triage"
            description = "Explain why a CI run failed"

            [model]
            provider = "openai"
            name = "gpt-4.1-mini"
            base_url = "https://api.openai.com/v1"
            api_key = "***"
            temperature = 0.2
            max_output_tokens = 2048
            stream = true
            max_attempts = 3
            request_timeout = "1m 30s"

            [model.pricing]
            input_per_mtok = 0.4
            output_per_mtok = 1.6
            cached_input_per_mtok = 0.1

            [prompt]
            system = "You are a CI failure analyst working on rein."
            task = "Find why run 42 of rein failed. Cost: $${not interpolated}."

            [environment]
            workspace = "copy:/agents/ci/../repo"
            respect_gitignore = false
            sandbox = "host"
            network = "none"
            system_paths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt"]
            limits = { cpu_seconds = 60, memory_mb = 2048, processes = 256, file_size_mb = 256 }
            env = { GITHUB_TOKEN = "***", LANG = "C.UTF-8" }
            env_passthrough = ["PATH", "HOME"]

            [loop]
            max_steps = 40
            step_timeout = "1m"
            stuck_after = 4
            tool_output_limit = 32768
            verify = { command = ["cargo", "test", "--", ""], max_attempts = 2, timeout = "10m" }

            [limits]
            max_wall_time = "15m"
            token_estimate = "conservative"

            [policy.commands]
            # allow: no list: every command not denied is allowed
            deny = []
            ask = []
            # deny_options: the defaults
            # allow_env: the defaults

            [policy.paths]
            # read: the default
            # write: the default
            deny = []

            [policy.network]
            allow_hosts = []

            [tools]
            builtin = ["read_file", "list_dir", "grep", "shell"]

            [trace]
            dir = "/agents/ci/.rein"
        "##]],
    );
}

#[test]
fn full_example_values() {
    let spec = parse_agent(FULL, Path::new(SOURCE), &full_opts()).unwrap();
    assert_eq!(spec.model.api_key.as_ref().unwrap().expose(), "sk-test-123");
    assert_eq!(spec.model.temperature, Some(0.2));
    assert_eq!(spec.model.request_timeout, Duration::from_secs(90));
    assert_eq!(spec.environment.env["GITHUB_TOKEN"], "ghp_abc");
    assert_eq!(
        spec.environment.workspace,
        WorkspaceSpec::Copy("/agents/ci/../repo".into())
    );
    assert_eq!(spec.base_dir, Path::new("/agents/ci"));
    let secrets: Vec<&str> = spec.secrets.iter().map(|s| s.expose()).collect();
    assert_eq!(secrets, ["sk-test-123", "ghp_abc"]);
}

#[test]
fn defaults() {
    check(
        MINIMAL,
        expect![[r##"
            # resolved from /agents/ci/agent.toml (secrets shown as ***)
            name = "ci-triage"
            description = ""

            [model]
            provider = "openai"
            name = "gpt-4.1-mini"
            base_url = "https://api.openai.com/v1"
            # api_key: not set
            max_output_tokens = 4096
            stream = true
            max_attempts = 4
            request_timeout = "2m"

            [prompt]
            system = ""
            task = "Find why the build failed."

            [environment]
            workspace = "tempdir"
            respect_gitignore = false
            sandbox = "linux"
            network = "none"
            system_paths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt"]
            limits = { cpu_seconds = 60, memory_mb = 2048, processes = 256, file_size_mb = 256 }
            env = {}
            env_passthrough = []

            [loop]
            max_steps = 30
            step_timeout = "2m"
            stuck_after = 3
            tool_output_limit = 16384

            [limits]
            # max_wall_time: none
            token_estimate = "conservative"

            [policy.commands]
            # allow: no list: every command not denied is allowed
            deny = []
            ask = []
            # deny_options: the defaults
            # allow_env: the defaults

            [policy.paths]
            # read: the default
            # write: the default
            deny = []

            [policy.network]
            allow_hosts = []

            [tools]
            builtin = []

            [trace]
            dir = "/agents/ci/.rein"
        "##]],
    );
}

#[test]
fn provider_defaults_come_from_the_environment() {
    let anthropic = MINIMAL
        .replace("\"openai\"", "\"anthropic\"")
        .replace("gpt-4.1-mini", "claude-sonnet-4-5");
    let env = [
        ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9000/"),
        ("ANTHROPIC_API_KEY", "sk-ant-1"),
        ("OPENAI_API_KEY", "sk-oa-1"),
    ];
    let spec = parse_agent(&anthropic, Path::new(SOURCE), &opts(&env, &[])).unwrap();
    assert_eq!(spec.model.provider, Provider::Anthropic);
    assert_eq!(spec.model.base_url, "http://127.0.0.1:9000");
    assert_eq!(spec.model.api_key.as_ref().unwrap().expose(), "sk-ant-1");
    assert_eq!(spec.secrets.len(), 1);
    assert_eq!(spec.secrets[0].expose(), "sk-ant-1");

    let spec = parse_agent(&anthropic, Path::new(SOURCE), &opts(&[], &[])).unwrap();
    assert_eq!(spec.model.base_url, "https://api.anthropic.com");
    assert!(
        spec.model.api_key.is_none(),
        "a missing key is not a load error"
    );
    assert!(spec.secrets.is_empty());
}

#[test]
fn model_override_takes_the_new_provider_defaults() {
    let text = MINIMAL.replace(
        "name = \"gpt-4.1-mini\"",
        "name = \"gpt-4.1-mini\"\nbase_url = \"http://localhost:11434/v1\"\napi_key = \"${secret:MY_KEY}\"\n[model.pricing]\ninput_per_mtok = 1\noutput_per_mtok = 2",
    );
    let env = [("ANTHROPIC_API_KEY", "sk-ant-2")];

    // Another provider: the file's base_url, api_key (its secret is not even needed) and
    // pricing are dropped.
    let mut o = opts(&env, &[]);
    o.model_override = Some("anthropic:claude-sonnet-4-5".to_owned());
    let spec = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    assert_eq!(spec.model.provider, Provider::Anthropic);
    assert_eq!(spec.model.name, "claude-sonnet-4-5");
    assert_eq!(spec.model.base_url, "https://api.anthropic.com");
    assert_eq!(spec.model.api_key.as_ref().unwrap().expose(), "sk-ant-2");
    assert!(spec.model.pricing.is_none());

    // Same provider, another model: base_url and key stay, pricing goes.
    let mut o = opts(&[("MY_KEY", "local-key")], &[]);
    o.model_override = Some("openai:qwen3:8b".to_owned());
    let spec = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    assert_eq!(spec.model.name, "qwen3:8b");
    assert_eq!(spec.model.base_url, "http://localhost:11434/v1");
    assert_eq!(spec.model.api_key.as_ref().unwrap().expose(), "local-key");
    assert!(spec.model.pricing.is_none());

    // Same provider and model: nothing changes.
    o.model_override = Some("openai:gpt-4.1-mini".to_owned());
    let spec = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    assert_eq!(spec.model.pricing.unwrap().output_per_mtok, 2.0);
}

#[test]
fn scripted_model() {
    let text = MINIMAL
        .replace("\"openai\"", "\"scripted\"")
        .replace("name = \"gpt-4.1-mini\"", "script = \"turns/demo.toml\"");
    let spec = parse_agent(
        &text,
        Path::new(SOURCE),
        &opts(&[("OPENAI_API_KEY", "k")], &[]),
    )
    .unwrap();
    assert_eq!(spec.model.provider, Provider::Scripted);
    assert_eq!(spec.model.name, "scripted");
    assert_eq!(
        spec.model.script.as_deref(),
        Some(Path::new("/agents/ci/turns/demo.toml"))
    );
    assert!(spec.model.api_key.is_none());
    assert!(spec.secrets.is_empty());

    check(
        &MINIMAL.replace(
            "name = \"gpt-4.1-mini\"",
            "name = \"m\"\nscript = \"t.toml\"",
        ),
        expect![[r#"
            error: /agents/ci/agent.toml:6:10: invalid `model.script`: `script` is only used by the scripted provider
            hint: remove it, or set `provider = "scripted"`"#]],
    );
}

#[test]
fn display_toml_loads_back_to_the_same_spec() {
    let o = opts(&[], &[("repo", "rein"), ("run_id", "7")]);
    let text = FULL
        .replace("api_key = \"${secret:OPENAI_API_KEY}\"\n", "")
        .replace(", GITHUB_TOKEN = \"${secret:GITHUB_TOKEN}\"", "")
        .replace(
            r#"system = "You are a CI failure analyst working on {{ repo }}.""#,
            r#"system = 'You are a CI failure analyst on {{ repo }}: templates look like {{ "{{" }} x }}.'"#,
        );
    let first = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    let shown = first.to_display_toml();
    assert!(
        shown.contains(r#"templates look like {{ "{{" }} x }}."#),
        "{shown}"
    );
    assert!(shown.contains("Cost: $${not interpolated}."), "{shown}");
    let second = parse_agent(&shown, Path::new(SOURCE), &o).unwrap();
    assert_eq!(
        second.prompt.system,
        "You are a CI failure analyst on rein: templates look like {{ x }}."
    );
    assert_eq!(second.to_display_toml(), shown);
    assert_eq!(format!("{second:?}"), format!("{first:?}"));
}

#[test]
fn load_agent_reads_a_folder_or_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("agent.toml"), MINIMAL).unwrap();
    let from_dir = load_agent(dir.path(), &opts(&[], &[])).unwrap();
    assert_eq!(from_dir.source, dir.path().join("agent.toml"));
    assert_eq!(from_dir.base_dir, dir.path());
    assert_eq!(from_dir.trace.dir, dir.path().join(".rein"));
    let from_file = load_agent(&dir.path().join("agent.toml"), &opts(&[], &[])).unwrap();
    assert_eq!(from_file.name, "ci-triage");
}

#[test]
fn docs_example_loads() {
    // The complete example in docs/agent-format.md must stay valid.
    let docs = include_str!("../../../../docs/agent-format.md");
    let start = docs
        .find("```toml\n# agent.toml")
        .expect("docs example start")
        + "```toml\n".len();
    let end = start + docs[start..].find("```").expect("docs example end");
    let o = opts(
        &[("OPENAI_API_KEY", "sk-docs"), ("GITHUB_TOKEN", "ghp_docs")],
        &[("repo", "rein"), ("run_id", "42")],
    );
    let spec = parse_agent(&docs[start..end], Path::new(SOURCE), &o).unwrap();
    assert_eq!(spec.name, "ci-triage");
}

#[test]
fn price_flag_and_set_prices_survive_the_model_override() {
    let text = MINIMAL.replace(
        "name = \"gpt-4.1-mini\"",
        "name = \"gpt-4.1-mini\"\n[model.pricing]\ninput_per_mtok = 1\noutput_per_mtok = 2\ncached_input_per_mtok = 0.5",
    );
    let env = [("OPENAI_API_KEY", "k")];

    // `--price` wins over the file's prices, with or without `--model`.
    let mut o = opts(&env, &[]);
    o.price = Some(rein_spec::parse_price("0.15/0.60").unwrap());
    let spec = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    let pricing = spec.model.pricing.unwrap();
    assert_eq!(
        (pricing.input_per_mtok, pricing.output_per_mtok),
        (0.15, 0.6)
    );
    assert_eq!(pricing.cached_input_per_mtok, None);
    assert_eq!(spec.model.pricing_source, rein_spec::PricingSource::Flag);
    o.model_override = Some("openai:qwen2.5-coder".to_owned());
    let spec = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    assert_eq!(spec.model.pricing.unwrap().input_per_mtok, 0.15);

    // Prices `--set` gave are kept after `--model`; the file's others are dropped.
    let mut o = opts(&env, &[]);
    o.model_override = Some("openai:qwen2.5-coder".to_owned());
    o.pricing_set_keys = ["input_per_mtok", "output_per_mtok"]
        .map(str::to_owned)
        .into();
    let spec = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    let pricing = spec.model.pricing.unwrap();
    assert_eq!(
        (pricing.input_per_mtok, pricing.output_per_mtok),
        (1.0, 2.0)
    );
    assert_eq!(
        pricing.cached_input_per_mtok, None,
        "the file's cached price is dropped"
    );
    assert_eq!(spec.model.pricing_source, rein_spec::PricingSource::Spec);

    // Half a price for the new model is an error, not a mix with the old model's.
    o.pricing_set_keys = ["input_per_mtok"].map(str::to_owned).into();
    let err = parse_agent(&text, Path::new(SOURCE), &o)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing `model.pricing.output_per_mtok`")
            && err.contains("hint: --model replaced the model, so the file's prices are dropped"),
        "{err}"
    );
}

#[test]
fn unset_templates_can_stay_as_written_and_show_as_templates() {
    let text = MINIMAL.replace(
        "task = \"Find why the build failed.\"",
        "system = \"For {{ repo }}.\"\ntask = 'Find why run {{run_id}} of {{ repo }} failed; {{ \"{{\" }} x }} is literal.'",
    );
    let env = [("OPENAI_API_KEY", "k")];

    // `rein run`: an error, as before.
    let err = parse_agent(&text, Path::new(SOURCE), &opts(&env, &[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("template variable `repo` is not set"), "{err}");

    // The other commands: kept as written, named once each, in order.
    let mut o = opts(&env, &[("repo", "acme/widgets")]);
    o.keep_unset_vars = true;
    let spec = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    assert_eq!(spec.unset_vars, ["run_id"]);
    assert_eq!(
        spec.prompt.task,
        "Find why run {{run_id}} of acme/widgets failed; {{ x }} is literal."
    );
    let mut o = opts(&env, &[]);
    o.keep_unset_vars = true;
    let spec = parse_agent(&text, Path::new(SOURCE), &o).unwrap();
    assert_eq!(spec.unset_vars, ["repo", "run_id"]);

    // Shown, the unset ones are templates again and the literal stays escaped: the shown
    // file, loaded with the variables, is the file loaded with them.
    let shown = spec.to_display_toml();
    assert!(
        shown.contains(
            r#"task = 'Find why run {{run_id}} of {{ repo }} failed; {{ "{{" }} x }} is literal.'"#
        ),
        "{shown}"
    );
    let vars = [("repo", "r"), ("run_id", "7")];
    let again = parse_agent(&shown, Path::new(SOURCE), &opts(&env, &vars)).unwrap();
    let direct = parse_agent(&text, Path::new(SOURCE), &opts(&env, &vars)).unwrap();
    assert_eq!(again.prompt.task, direct.prompt.task);
    assert_eq!(again.prompt.system, "For r.");
}

#[test]
fn environment_git_config_keys_flatten_and_bad_keys_are_errors() {
    let env = [("OPENAI_API_KEY", "sk-test-123"), ("HOOKS", ".githooks")];
    let text = format!(
        "{MINIMAL}\n[environment]\ngit_config = {{ \"core.hooksPath\" = \"${{env:HOOKS}}\", commit = {{ gpgSign = true }} }}\n"
    );
    let spec = parse_agent(&text, Path::new(SOURCE), &opts(&env, &[])).unwrap();
    assert_eq!(
        spec.environment.git_config,
        [
            ("core.hooksPath".to_owned(), ".githooks".to_owned()),
            ("commit.gpgSign".to_owned(), "true".to_owned())
        ]
    );
    let shown = spec.to_display_toml();
    assert!(
        shown.contains(
            r#"git_config = { "core.hooksPath" = ".githooks", "commit.gpgSign" = "true" }"#
        ),
        "{shown}"
    );
    for (bad, message) in [
        (
            "git_config = { hooksPath = \"x\" }",
            "`hooksPath` is not a git config key",
        ),
        (
            "git_config = { \"core.\" = \"x\" }",
            "`core.` is not a git config key",
        ),
        (
            "git_config = { \"core.hooksPath\" = 1 }",
            "must be a string or a boolean",
        ),
    ] {
        let text = format!("{MINIMAL}\n[environment]\n{bad}\n");
        let err = parse_agent(&text, Path::new(SOURCE), &opts(&env, &[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{bad}: {err}");
    }
}

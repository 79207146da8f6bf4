//! Every kind of bad input gives one clear message naming `path:line:column`.

use expect_test::expect;

use crate::{MINIMAL, check, check_with, opts};

#[test]
fn toml_syntax_error() {
    check(
        "name = \"x\"\n[model]\nprovider = openai\n",
        expect![[r#"
            error: /agents/ci/agent.toml:3:12: invalid toml: string values must be quoted, expected literal string"#]],
    );
    check(
        "name = \"x\"\nname = \"y\"\n",
        expect![[r#"error: /agents/ci/agent.toml:2:1: invalid toml: duplicate key"#]],
    );
}

#[test]
fn unknown_key_with_did_you_mean() {
    check(
        &MINIMAL.replace("name = \"gpt-4.1-mini\"", "nmae = \"gpt-4.1-mini\""),
        expect![[r#"
            error: /agents/ci/agent.toml:5:1: unknown key `nmae` in [model]
            hint: did you mean `name`?"#]],
    );
    check(
        &format!("{MINIMAL}\n[loop]\nmax_step = 10\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:1: unknown key `max_step` in [loop]
            hint: did you mean `max_steps`?"#]],
    );
    check(
        &MINIMAL.replace("[model]", "[modle]"),
        expect![[r#"
            error: /agents/ci/agent.toml:3:2: unknown key `modle` in the top-level table
            hint: did you mean `model`?"#]],
    );
    check(
        &format!("{MINIMAL}\n[loop]\nverify = {{ command = [\"make\"], retries = 2 }}\n"),
        expect!["error: /agents/ci/agent.toml:11:32: unknown key `retries` in [loop.verify]"],
    );
}

#[test]
fn keys_once_planned_now_resolve_and_their_bad_values_are_errors() {
    check(
        &format!("{MINIMAL}\n[policy.commands]\nallow = [\"ls\"]\n"),
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
            allow = ["ls"]
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
    check(
        &format!("{MINIMAL}\n[environment]\nnetwork = \"wifi\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:11: invalid `environment.network`: unknown network `wifi`
            hint: use "none" (the default) or "host""#]],
    );
    check(
        &format!("{MINIMAL}\n[environment.limits]\nmemory_mb = 0\n"),
        expect![
            "error: /agents/ci/agent.toml:11:13: invalid `environment.limits.memory_mb`: must be greater than zero, found 0"
        ],
    );
    check(
        &format!("{MINIMAL}\n[environment.limits]\nmemroy_mb = 1\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:1: unknown key `memroy_mb` in [environment.limits]
            hint: did you mean `memory_mb`?"#]],
    );
}

#[test]
fn wrong_type() {
    check(
        &format!("{MINIMAL}\n[loop]\nmax_steps = \"30\"\n"),
        expect![[
            r#"error: /agents/ci/agent.toml:11:13: `loop.max_steps` must be an integer, found string"#
        ]],
    );
    check(
        &format!("{MINIMAL}\n[tools]\nbuiltin = [\"shell\", 3]\n"),
        expect![[
            r#"error: /agents/ci/agent.toml:11:21: `tools.builtin` must be an array of strings, found integer"#
        ]],
    );
    check(
        "name = \"a\"\nprompt = \"do it\"\n",
        expect![[r#"error: /agents/ci/agent.toml:2:10: `prompt` must be a table, found string"#]],
    );
    check(
        &format!("{MINIMAL}\n[environment]\nenv = {{ LANG = 1 }}\n"),
        expect![[
            r#"error: /agents/ci/agent.toml:11:16: `environment.env.LANG` must be a string, found integer"#
        ]],
    );
}

#[test]
fn bad_duration() {
    check(
        &format!("{MINIMAL}\n[loop]\nstep_timeout = \"10 parsecs\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:16: invalid `loop.step_timeout`: `10 parsecs` is not a duration: unknown time unit "parsecs", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)
            hint: write a duration like "30s", "5m" or "1h 30m""#]],
    );
    check(
        &format!("{MINIMAL}\n[limits]\nmax_wall_time = \"0s\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:17: invalid `limits.max_wall_time`: must be longer than zero
            hint: write a duration like "30s", "5m" or "1h 30m""#]],
    );
}

#[test]
fn bad_provider() {
    check(
        &MINIMAL.replace("\"openai\"", "\"opnai\""),
        expect![[r#"
            error: /agents/ci/agent.toml:4:12: invalid `model.provider`: unknown provider `opnai`
            hint: did you mean `openai`? providers: openai, anthropic, scripted"#]],
    );
    check(
        &MINIMAL.replace("\"openai\"", "\"replay\""),
        expect![[r#"
            error: /agents/ci/agent.toml:4:12: invalid `model.provider`: provider `replay` is not available yet
            hint: the `replay` provider is not available yet"#]],
    );
    check(
        &MINIMAL.replace("\"openai\"", "\"scripted\""),
        expect![[r#"
            error: /agents/ci/agent.toml:3:1: missing `model.script`
            hint: a scripted model reads its turns from a file: add `script = "turns.toml"`"#]],
    );
}

#[test]
fn bad_values() {
    check(
        &MINIMAL.replace("name = \"ci-triage\"", "name = \"CI Triage\""),
        expect![[r#"
            error: /agents/ci/agent.toml:1:8: invalid `name`: `CI Triage` is not a valid agent name
            hint: use lowercase letters, digits, `-` and `_`"#]],
    );
    check(
        &MINIMAL.replace(
            "name = \"gpt-4.1-mini\"",
            "name = \"gpt-4.1-mini\"\ntemperature = 3",
        ),
        expect![[
            r#"error: /agents/ci/agent.toml:6:15: invalid `model.temperature`: must be between 0 and 2, found 3"#
        ]],
    );
    check(
        &MINIMAL.replace(
            "name = \"gpt-4.1-mini\"",
            "name = \"gpt-4.1-mini\"\nmax_output_tokens = 0",
        ),
        expect![[
            r#"error: /agents/ci/agent.toml:6:21: invalid `model.max_output_tokens`: must be greater than zero, found 0"#
        ]],
    );
    check(
        &format!("{MINIMAL}\n[loop]\nstuck_after = 1\n"),
        expect![[
            r#"error: /agents/ci/agent.toml:11:15: invalid `loop.stuck_after`: must be at least 2, found 1"#
        ]],
    );
    check(
        &format!("{MINIMAL}\n[environment]\nsandbox = \"docker\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:11: invalid `environment.sandbox`: sandbox `docker` is not available yet
            hint: use "linux" (no daemon needed) or "bwrap""#]],
    );
    check(
        &format!("{MINIMAL}\n[environment]\nsandbox = \"linx\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:11: invalid `environment.sandbox`: unknown sandbox `linx`
            hint: did you mean `linux`? sandboxes: linux, bwrap, host"#]],
    );
    check(
        &format!("{MINIMAL}\n[environment]\nworkspace = \"worktree:repo\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:13: invalid `environment.workspace`: `worktree:repo` needs a repository and a revision
            hint: write `worktree:REPO@REV`, e.g. `worktree:.@HEAD`"#]],
    );
    check(
        &format!("{MINIMAL}\n[environment]\nsystem_paths = [\"usr\"]\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:17: invalid `environment.system_paths`: `usr` is not an absolute path
            hint: system paths are folders of the host, e.g. "/usr""#]],
    );
    check(
        &format!("{MINIMAL}\n[environment]\nworkspace = \"scratch\"\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:13: invalid `environment.workspace`: unknown workspace `scratch`
            hint: use "tempdir", "copy:PATH" or "worktree:REPO@REV""#]],
    );
    check(
        &format!("{MINIMAL}\n[loop]\nverify = {{ command = [] }}\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:22: invalid `loop.verify.command`: the command is empty
            hint: e.g. `command = ["cargo", "test"]`"#]],
    );
    check(
        &MINIMAL.replace(
            "name = \"gpt-4.1-mini\"",
            "name = \"gpt-4.1-mini\"\nbase_url = \"api.openai.com\"",
        ),
        expect![[r#"
            error: /agents/ci/agent.toml:6:12: invalid `model.base_url`: `api.openai.com` is not an http(s) url
            hint: write the API root, e.g. "https://api.openai.com/v1""#]],
    );
}

#[test]
fn missing_keys() {
    check(
        "[model]\nprovider = \"openai\"\nname = \"m\"\n",
        expect![[r#"
            error: /agents/ci/agent.toml:1:1: missing `name`
            hint: add `name = "my-agent"` at the top of the file"#]],
    );
    check(
        "name = \"a\"\n[model]\nprovider = \"openai\"\nname = \"m\"\n[prompt]\nsystem = \"s\"\n",
        expect![[r#"
            error: /agents/ci/agent.toml:5:1: missing `prompt.task`
            hint: say what the agent must do: `task = "…"`"#]],
    );
    check(
        "name = \"a\"\n[model]\nname = \"m\"\n",
        expect![[r#"
            error: /agents/ci/agent.toml:2:1: missing `model.provider`
            hint: add `provider = "openai"` (or anthropic, scripted)"#]],
    );
}

#[test]
fn unknown_builtin_tool() {
    check(
        &format!("{MINIMAL}\n[tools]\nbuiltin = [\"read_file\", \"list_dirs\"]\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:25: unknown builtin tool `list_dirs`
            hint: did you mean `list_dir`?"#]],
    );
    check(
        &format!("{MINIMAL}\n[tools]\nbuiltin = [\"teleport\"]\n"),
        expect![[r#"error: /agents/ci/agent.toml:11:12: unknown builtin tool `teleport`"#]],
    );
}

#[test]
fn missing_template_variable() {
    let text = MINIMAL.replace(
        "task = \"Find why the build failed.\"",
        "task = \"Find why run {{ run_id }} of {{ repo }} failed.\"",
    );
    check_with(
        &text,
        &opts(&[], &[("repo", "rein")]),
        expect![[r#"
            error: /agents/ci/agent.toml:8:22: template variable `run_id` is not set
            hint: pass `--var run_id=VALUE`"#]],
    );
    check_with(
        &text,
        &opts(&[], &[("run_idd", "1"), ("repo", "rein")]),
        expect![[r#"
            error: /agents/ci/agent.toml:8:22: template variable `run_id` is not set
            hint: did you mean `run_idd`? otherwise pass `--var run_id=VALUE`"#]],
    );
    check(
        &MINIMAL.replace("failed.\"", "failed {{ }}.\""),
        expect!["error: /agents/ci/agent.toml:8:35: invalid template: `{{ }}` names no variable"],
    );
}

#[test]
fn missing_environment_variable() {
    check(
        &MINIMAL.replace(
            "name = \"gpt-4.1-mini\"",
            "name = \"gpt-4.1-mini\"\nbase_url = \"http://${env:LLM_HOST}/v1\"",
        ),
        expect![[r#"
            error: /agents/ci/agent.toml:6:20: environment variable `LLM_HOST` is not set
            hint: set it, or give a default: `${env:LLM_HOST:-DEFAULT}`"#]],
    );
    check(
        &MINIMAL.replace(
            "name = \"gpt-4.1-mini\"",
            "name = \"gpt-4.1-mini\"\napi_key = \"${secret:MY_KEY}\"",
        ),
        expect![[r#"
            error: /agents/ci/agent.toml:6:12: secret `MY_KEY` is not set
            hint: `${secret:MY_KEY}` reads the environment variable `MY_KEY`; set it, or use `${secret:file:PATH}`"#]],
    );
    check(
        &MINIMAL.replace("name = \"ci-triage\"", "name = \"${env:NAME\""),
        expect![[r#"
            error: /agents/ci/agent.toml:1:9: invalid interpolation: `${` is not closed
            hint: close it with `}`, or write `$${` for a literal `${`"#]],
    );
}

#[test]
fn missing_secret_file() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("agent.toml");
    let text = MINIMAL.replace(
        "name = \"gpt-4.1-mini\"",
        "name = \"gpt-4.1-mini\"\napi_key = \"${secret:file:missing.key}\"",
    );
    let got = crate::render(&text, &source, &opts(&[], &[]));
    let got = got.replace(&dir.path().display().to_string(), "[DIR]");
    expect![[r#"error: [DIR]/agent.toml:6:12: cannot read secret file [DIR]/missing.key: No such file or directory (os error 2)"#]]
        .assert_eq(&got);
}

#[test]
fn bad_model_override() {
    let mut o = opts(&[], &[]);
    o.model_override = Some("gpt-4.1".to_owned());
    check_with(
        MINIMAL,
        &o,
        expect![[r#"
            error: invalid model override `gpt-4.1`: expected `provider:name`
            hint: write `provider:name`, e.g. `openai:gpt-4.1-mini` or `anthropic:claude-sonnet-4-5`"#]],
    );
}

#[test]
fn read_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = rein_spec::load_agent(dir.path(), &opts(&[], &[])).unwrap_err();
    let message = err
        .to_string()
        .replace(&dir.path().display().to_string(), "[DIR]");
    expect![[r#"cannot read agent file [DIR]/agent.toml: No such file or directory (os error 2)"#]]
        .assert_eq(&message);
    assert!(err.location().is_none());
}

#[test]
fn bad_budgets_and_policy_rules() {
    check(
        &format!("{MINIMAL}\n[limits]\nmax_cost_usd = 0\n"),
        expect![
            "error: /agents/ci/agent.toml:11:16: invalid `limits.max_cost_usd`: must be greater than zero, found 0"
        ],
    );
    check(
        &format!("{MINIMAL}\n[limits]\nmax_total_tokens = -5\n"),
        expect![
            "error: /agents/ci/agent.toml:11:20: invalid `limits.max_total_tokens`: must be greater than zero, found -5"
        ],
    );
    check(
        &format!("{MINIMAL}\n[policy.commands]\nallow = [\"ls\", \"\"]\n"),
        expect![
            "error: /agents/ci/agent.toml:11:16: invalid `policy.commands.allow`: an empty pattern matches nothing"
        ],
    );
    check(
        &format!("{MINIMAL}\n[policy.comands]\nallow = [\"ls\"]\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:10:9: unknown key `comands` in [policy]
            hint: did you mean `commands`?"#]],
    );
    check(
        &format!(
            "{MINIMAL}\n[[policy.rate_limit]]\ntool = \"shell\"\nprovider = \"openai\"\nper_minute = 3\n"
        ),
        expect![[r#"
            error: /agents/ci/agent.toml:10:1: invalid `policy.rate_limit`: give exactly one of `tool` or `provider`
            hint: e.g. `tool = "http_request"` or `provider = "openai"`"#]],
    );
    check(
        &format!("{MINIMAL}\n[[policy.rate_limit]]\ntool = \"shell\"\n"),
        expect![
            "error: /agents/ci/agent.toml:10:1: invalid `policy.rate_limit`: a rate limit needs `per_minute` or `tokens_per_minute`"
        ],
    );
    check(
        &format!("{MINIMAL}\n[[policy.rate_limit]]\nprovider = \"opnai\"\nper_minute = 3\n"),
        expect![[r#"
            error: /agents/ci/agent.toml:11:12: invalid `policy.rate_limit.provider`: unknown provider `opnai`
            hint: providers: openai, anthropic, scripted"#]],
    );
    check(
        &format!("{MINIMAL}\n[policy]\nrate_limit = {{ tool = \"x\" }}\n"),
        expect![
            "error: /agents/ci/agent.toml:11:14: `policy.rate_limit` must be an array of tables ([[…]]), found table"
        ],
    );
}

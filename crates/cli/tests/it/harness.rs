//! Test fixtures: a project folder with an agent file, a mock LLM, and the `rein` binary.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rein_model::script::Script;
use rein_testkit::{MockLlmThread, RecordedRequest};
use serde_json::Value;

pub const API_KEY: &str = "sk-test-key-do-not-leak-7Hq2";

/// A temporary folder holding `agent.toml`, a `project/` to copy into the workspace, and
/// the `.rein` trace folder; plus a mock LLM playing a script.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub mock: MockLlmThread,
    pub envs: Vec<(String, String)>,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Fixture {
    /// `provider` is `openai` or `anthropic`; `agent_extra` is appended to the agent file
    /// (the `[loop]`, `[tools]`… sections the test needs).
    pub fn new(provider: &'static str, stream: bool, script: Value, agent_extra: &str) -> Fixture {
        Fixture::sandboxed("host", provider, stream, script, agent_extra)
    }

    /// The same with another sandbox backend (`linux`, `bwrap`).
    pub fn sandboxed(
        sandbox: &str,
        provider: &'static str,
        stream: bool,
        script: Value,
        agent_extra: &str,
    ) -> Fixture {
        let script: Script = serde_json::from_value(script).expect("valid script");
        let mock = MockLlmThread::start_loopback(script).expect("mock starts");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("project")).unwrap();
        std::fs::write(dir.path().join("project/notes.txt"), "TODO: write notes\n").unwrap();
        let agent = format!(
            r#"name = "e2e"
description = "end-to-end test agent"

[model]
provider = "{provider}"
name = "gpt-4.1-mini"
stream = {stream}
max_attempts = 3
max_output_tokens = 512

[prompt]
system = "You are a test agent."
task = "Update notes.txt."

[environment]
workspace = "copy:project"
sandbox = "{sandbox}"

{agent_extra}
"#
        );
        std::fs::write(dir.path().join("agent.toml"), agent).unwrap();
        let (url_var, key_var, base) = match provider {
            "openai" => ("OPENAI_BASE_URL", "OPENAI_API_KEY", mock.openai_base_url()),
            _ => (
                "ANTHROPIC_BASE_URL",
                "ANTHROPIC_API_KEY",
                mock.anthropic_base_url(),
            ),
        };
        Fixture {
            dir,
            mock,
            envs: vec![
                (url_var.to_owned(), base),
                (key_var.to_owned(), API_KEY.to_owned()),
            ],
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn agent(&self) -> PathBuf {
        self.dir.path().join("agent.toml")
    }

    pub fn env(mut self, key: &str, value: &str) -> Fixture {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_rein"));
        cmd.current_dir(self.dir.path())
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("ANTHROPIC_BASE_URL")
            .args(args)
            .timeout(Duration::from_secs(120));
        for (key, value) in &self.envs {
            cmd.env(key, value);
        }
        cmd
    }

    /// The same as [`Fixture::command`], as a std `Command` to spawn in the background.
    pub fn spawn_command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std_rein();
        cmd.current_dir(self.dir.path())
            .env_remove("OPENAI_API_KEY")
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("ANTHROPIC_BASE_URL")
            .args(args);
        for (key, value) in &self.envs {
            cmd.env(key, value);
        }
        cmd
    }

    /// `rein run agent.toml` plus `args`.
    pub fn run(&self, args: &[&str]) -> Output {
        let agent = self.agent();
        let mut all = vec!["run", agent.to_str().unwrap()];
        all.extend_from_slice(args);
        output(self.command(&all).output().expect("rein runs"))
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.mock.requests()
    }

    /// The only run folder under `.rein/runs`.
    pub fn run_dir(&self) -> PathBuf {
        let runs = self.dir.path().join(".rein/runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
            .unwrap_or_else(|err| panic!("{}: {err}", runs.display()))
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(dirs.len(), 1, "expected one run, found {dirs:?}");
        dirs.pop().unwrap()
    }

    /// The events of the run, as JSON values, validated against the published schema.
    pub fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.run_dir().join("trace.jsonl")).unwrap();
        let schema = trace_schema();
        text.lines()
            .map(|line| {
                let event: Value = serde_json::from_str(line).expect("each line is JSON");
                if let Err(err) = schema.validate(&event) {
                    panic!("event does not match docs/trace-event.schema.json: {err}\n{line}");
                }
                event
            })
            .collect()
    }
}

pub fn trace_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/trace-event.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

pub fn output(out: std::process::Output) -> Output {
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Events of one kind.
pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// The `run_finished` data.
pub fn finished(events: &[Value]) -> &Value {
    let last = events.last().expect("events");
    assert_eq!(last["kind"], "run_finished", "last event: {last}");
    &last["data"]
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The `rein` binary as a std `Command`, for tests that must spawn it and act meanwhile.
#[allow(clippy::disallowed_methods)]
pub fn std_rein() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_rein"))
}

/// `script -qec LINE /dev/null`: runs `LINE` in a new pseudo-terminal, forwarding stdin.
#[allow(clippy::disallowed_methods)]
pub fn script_command(line: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", line, "/dev/null"]);
    cmd
}

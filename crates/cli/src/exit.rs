//! Exit codes of `rein`, the one place they are defined (documented in `docs/cli.md`; the
//! tidy test checks the two agree).

/// Success: the run completed or verified; the command did what was asked.
pub const SUCCESS: i32 = 0;
/// An unexpected internal error (a bug in rein).
pub const INTERNAL: i32 = 1;
/// Invalid input: bad flags, an invalid agent file, a missing template variable.
pub const INVALID_INPUT: i32 = 2;
/// The run could not start or could not be recorded: workspace, model set-up (e.g. a
/// missing API key), trace folder.
pub const ENVIRONMENT: i32 = 3;

/// An error the CLI reports: one message, an optional hint, an exit code.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub hint: Option<String>,
    pub code: i32,
}

impl CliError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            code,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<rein_spec::SpecError> for CliError {
    fn from(err: rein_spec::SpecError) -> Self {
        CliError::new(INVALID_INPUT, err.to_string())
    }
}

impl From<rein_agent::AgentError> for CliError {
    fn from(err: rein_agent::AgentError) -> Self {
        let code = match err {
            rein_agent::AgentError::Policy(_) => INVALID_INPUT,
            _ => ENVIRONMENT,
        };
        CliError::new(code, err.to_string())
    }
}

impl From<rein_trace::TraceError> for CliError {
    fn from(err: rein_trace::TraceError) -> Self {
        CliError::new(ENVIRONMENT, err.to_string())
    }
}

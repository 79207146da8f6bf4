//! The one error type of rein-model.
//!
//! Every variant says which provider failed, whether the call was retried, the HTTP status
//! when there was one, and the provider's own message. **Invariant:** no variant ever holds
//! an API key: provider messages are redacted before they are stored here.

/// Why a model call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A provider that needs an API key has none.
    #[error(
        "{provider} model `{model}` has no api key\nhint: set the {env_var} environment variable and reference it as `api_key = \"${{secret:{env_var}}}\"` in [model]"
    )]
    MissingApiKey {
        provider: String,
        model: String,
        env_var: String,
    },

    /// The spec cannot be turned into a model (bad base_url, missing script, …).
    #[error("invalid {provider} model `{model}`: {message}")]
    InvalidSpec {
        provider: String,
        model: String,
        message: String,
    },

    /// The provider answered with an HTTP error status.
    #[error("{provider} request failed: http {status} after {attempts} attempt(s){retried}: {message}{hint}",
        retried = retried_note(*.retried),
        hint = hint_line(.hint.as_deref()))]
    Http {
        provider: String,
        status: u16,
        /// The provider's error message (redacted).
        message: String,
        attempts: u32,
        /// Whether the call was retried before giving up.
        retried: bool,
        hint: Option<String>,
    },

    /// The request does not fit the model's context window; never retried.
    #[error(
        "{provider} request failed: context length exceeded (http {status}, not retried): {message}\nhint: shorten the conversation or the tool outputs, or use a model with a larger context window"
    )]
    ContextLength {
        provider: String,
        status: u16,
        message: String,
        attempts: u32,
    },

    /// No usable answer arrived: connection refused or reset, timeout, stream cut short.
    #[error("{provider} request failed after {attempts} attempt(s){retried}: {message}",
        retried = retried_note(*.retried))]
    Transport {
        provider: String,
        message: String,
        attempts: u32,
        retried: bool,
    },

    /// The provider answered 2xx with something that is not its wire format.
    #[error("{provider} sent an invalid response: {message}")]
    InvalidResponse {
        provider: String,
        message: String,
        attempts: u32,
    },

    /// The scripted model cannot play the request (no script, no turn left, expectation failed).
    #[error("scripted model: {message}")]
    Script { message: String },
}

fn retried_note(retried: bool) -> &'static str {
    if retried {
        " (retried)"
    } else {
        " (not retried)"
    }
}

fn hint_line(hint: Option<&str>) -> String {
    match hint {
        Some(hint) => format!("\nhint: {hint}"),
        None => String::new(),
    }
}

impl ModelError {
    /// The HTTP status of the last failed attempt, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            ModelError::Http { status, .. } | ModelError::ContextLength { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// Whether the call was attempted more than once before failing.
    pub fn retried(&self) -> bool {
        match self {
            ModelError::Http { retried, .. } | ModelError::Transport { retried, .. } => *retried,
            _ => false,
        }
    }

    /// How many attempts were made (0 when none was sent).
    pub fn attempts(&self) -> u32 {
        match self {
            ModelError::Http { attempts, .. }
            | ModelError::ContextLength { attempts, .. }
            | ModelError::Transport { attempts, .. }
            | ModelError::InvalidResponse { attempts, .. } => *attempts,
            _ => 0,
        }
    }

    /// The provider's own message (or what went wrong on the way).
    pub fn provider_message(&self) -> Option<&str> {
        match self {
            ModelError::Http { message, .. }
            | ModelError::ContextLength { message, .. }
            | ModelError::Transport { message, .. }
            | ModelError::InvalidResponse { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether the request was too long for the model's context window.
    pub fn is_context_length(&self) -> bool {
        matches!(self, ModelError::ContextLength { .. })
    }
}

//! [`SpecError`]: everything that can be wrong with an agent file, its variables or its
//! environment, each with the place it comes from.
//!
//! Errors that come from the file carry a [`Location`] (`path:line:column`, 1-based, column
//! counted in characters). A fix, when there is an obvious one, is a separate `hint:` line
//! of the message. Messages never contain a secret value.

use std::fmt;
use std::path::PathBuf;

/// A place in an agent file: `path:line:column`, 1-based, the column counted in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
    }
}

/// The error type of `rein-spec`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The agent file could not be read.
    #[error("cannot read agent file {}: {source}", path.display())]
    ReadAgent {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is not valid TOML.
    #[error("{location}: invalid toml: {message}")]
    Syntax { location: Location, message: String },

    /// A key rein does not know; `suggestion` is a known key that is close.
    #[error(
        "{location}: unknown key `{key}` in {}{}",
        table_name(table),
        did_you_mean(suggestion)
    )]
    UnknownKey {
        location: Location,
        /// Dotted name of the table (`model`, `loop.verify`); empty for the top level.
        table: String,
        key: String,
        suggestion: Option<String>,
    },

    /// A value of the wrong TOML type.
    #[error("{location}: `{key}` must be {expected}, found {found}")]
    WrongType {
        location: Location,
        /// Dotted key (`loop.max_steps`).
        key: String,
        expected: String,
        found: String,
    },

    /// A required key is absent.
    #[error("{location}: missing `{key}`{}", hint_line(hint))]
    MissingKey {
        location: Location,
        key: String,
        hint: Option<String>,
    },

    /// A value of the right type that is not acceptable (out of range, bad duration, …).
    #[error("{location}: invalid `{key}`: {message}{}", hint_line(hint))]
    InvalidValue {
        location: Location,
        key: String,
        message: String,
        hint: Option<String>,
    },

    /// A builtin tool name that does not exist.
    #[error(
        "{location}: unknown builtin tool `{name}`{}",
        did_you_mean(suggestion)
    )]
    UnknownBuiltinTool {
        location: Location,
        name: String,
        suggestion: Option<String>,
    },

    /// `${env:NAME}` without a default, and `NAME` is not set.
    #[error(
        "{location}: environment variable `{name}` is not set\nhint: set it, or give a default: `${{env:{name}:-DEFAULT}}`"
    )]
    MissingEnv { location: Location, name: String },

    /// `${secret:NAME}` and `NAME` is not set (or is empty) in the environment.
    #[error(
        "{location}: secret `{name}` is not set\nhint: `${{secret:{name}}}` reads the environment variable `{name}`; set it, or use `${{secret:file:PATH}}`"
    )]
    MissingSecret { location: Location, name: String },

    /// `${secret:file:PATH}` could not be read, or is empty.
    #[error("{location}: cannot read secret file {}: {source}", file.display())]
    SecretFile {
        location: Location,
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A malformed `${…}` interpolation.
    #[error("{location}: invalid interpolation: {message}{}", hint_line(hint))]
    BadInterpolation {
        location: Location,
        message: String,
        hint: Option<String>,
    },

    /// `{{ name }}` in a prompt, and no `--var name=…` was given.
    #[error(
        "{location}: template variable `{name}` is not set{}",
        var_hint(name, suggestion)
    )]
    MissingVar {
        location: Location,
        name: String,
        /// A given variable with a close name.
        suggestion: Option<String>,
    },

    /// A malformed `{{ … }}` template.
    #[error("{location}: invalid template: {message}")]
    BadTemplate { location: Location, message: String },

    /// A `--var` argument that is not `key=value`.
    #[error("invalid variable `{input}`: {message}\nhint: write `--var key=value`")]
    BadVar { input: String, message: String },

    /// A `--model` override that is not `provider:name`.
    #[error("invalid model override `{input}`: {message}{}", hint_line(hint))]
    BadModelOverride {
        input: String,
        message: String,
        hint: Option<String>,
    },

    /// A `--price` argument that is not `free` or `IN/OUT` with two prices ≥ 0.
    #[error("invalid price `{input}`: {message}\nhint: {hint}")]
    BadPrice {
        input: String,
        message: String,
        hint: String,
    },

    /// A config layer (system, user, project or policy file) could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    ReadConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A `--set key=value` argument that is not well formed.
    #[error(
        "invalid `--set {input}`: {message}\nhint: write `--set table.key=VALUE`, e.g. `--set limits.max_cost_usd=0.5`"
    )]
    BadSet { input: String, message: String },

    /// A value given with `--set` that the agent format refuses (`message` names the key).
    #[error("--set {input}: {message}")]
    InSet { input: String, message: String },

    /// `--profile NAME` (or `REIN_PROFILE`) names a profile no config layer defines.
    #[error("unknown profile `{name}`{}\nhint: {}", if *from_env { " (from REIN_PROFILE)" } else { "" }, known_profiles(known))]
    UnknownProfile {
        name: String,
        /// Profiles the config layers define, sorted.
        known: Vec<String>,
        from_env: bool,
    },

    /// A layer or a `--set` loosens a setting the organisation policy locks.
    #[error(
        "the {policy} locks {rule}; {place} sets {value}\nhint: locked settings can only be made stricter: {hint}"
    )]
    Locked {
        /// The policy and where the rule is (`system policy /etc/rein/config.toml:3:16`).
        policy: String,
        /// The rule (`limits.max_cost_usd ≤ 1.0`).
        rule: String,
        /// The layer that loosens it (`/repo/.rein/config.toml:2:16`, `--set k=v`).
        place: String,
        value: String,
        hint: String,
    },

    /// A config file rein refuses to read (like git's `safe.directory`): another user owns
    /// it, or its group or others may write it.
    #[error("refusing to read config file {}: {reason}\nhint: {hint}", path.display())]
    UnsafeConfig {
        path: PathBuf,
        reason: String,
        hint: String,
    },

    /// An untrusted project config sets something that widens what the other layers allow.
    #[error(
        "{location}: `{key}` {reason}, and the project config is {}: an untrusted project layer may only tighten{}\nhint: review {} and trust it with `rein trust {}`",
        if *changed { "untrusted (it changed since it was trusted)" } else { "not trusted" },
        more_settings(*others),
        location.path.display(),
        dir.display()
    )]
    Untrusted {
        location: Location,
        /// Dotted key (`model.base_url`).
        key: String,
        /// What it would widen (`would send the API key to another endpoint`).
        reason: String,
        /// How many other widening settings the file has.
        others: usize,
        /// The folder to pass to `rein trust`.
        dir: PathBuf,
        /// Trusted once, with other bytes.
        changed: bool,
    },

    /// A layer's allow list names what the same list of an earlier layer does not admit.
    #[error(
        "{place} widens `{key}`: {entry} is not within the list set at {upper}; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)\nhint: remove {entry}, or widen the list at {upper}"
    )]
    Widened {
        key: String,
        entry: String,
        /// Where the wider list is (`/repo/agent.toml:7:10`, `--set k=v`).
        place: String,
        /// Where the list it must stay within is.
        upper: String,
    },

    /// The trust store (`trusted.toml`) cannot be read or written.
    #[error("trust store {}: {message}", path.display())]
    TrustStore { path: PathBuf, message: String },

    /// `rein trust DIR` and no `.rein/config.toml` in `DIR` or above.
    #[error("no project config (.rein/config.toml) in {} or any folder above it", dir.display())]
    NoProjectConfig { dir: PathBuf },
}

/// `Some(location)` for the variants that carry one, `None` for the others: one list for
/// [`SpecError::location`] and [`SpecError::location_mut`].
macro_rules! with_location {
    ($error:expr, $location:ident => $found:expr) => {
        match $error {
            SpecError::Syntax { $location, .. }
            | SpecError::UnknownKey { $location, .. }
            | SpecError::WrongType { $location, .. }
            | SpecError::MissingKey { $location, .. }
            | SpecError::InvalidValue { $location, .. }
            | SpecError::UnknownBuiltinTool { $location, .. }
            | SpecError::MissingEnv { $location, .. }
            | SpecError::MissingSecret { $location, .. }
            | SpecError::SecretFile { $location, .. }
            | SpecError::BadInterpolation { $location, .. }
            | SpecError::MissingVar { $location, .. }
            | SpecError::BadTemplate { $location, .. }
            | SpecError::Untrusted { $location, .. } => Some($found),
            SpecError::ReadAgent { .. }
            | SpecError::BadVar { .. }
            | SpecError::BadModelOverride { .. }
            | SpecError::BadPrice { .. }
            | SpecError::ReadConfig { .. }
            | SpecError::BadSet { .. }
            | SpecError::InSet { .. }
            | SpecError::UnknownProfile { .. }
            | SpecError::Locked { .. }
            | SpecError::UnsafeConfig { .. }
            | SpecError::Widened { .. }
            | SpecError::TrustStore { .. }
            | SpecError::NoProjectConfig { .. } => None,
        }
    };
}

impl SpecError {
    /// Where in the agent file the error is, when it comes from the file.
    pub fn location(&self) -> Option<&Location> {
        with_location!(self, location => location)
    }

    /// The location, to point it elsewhere (config layers map a merged document's places
    /// back to the files they came from).
    pub(crate) fn location_mut(&mut self) -> Option<&mut Location> {
        with_location!(self, location => location)
    }
}

fn more_settings(others: usize) -> String {
    match others {
        0 => String::new(),
        1 => " (1 more setting of the file widens too)".to_owned(),
        n => format!(" ({n} more settings of the file widen too)"),
    }
}

fn known_profiles(known: &[String]) -> String {
    if known.is_empty() {
        "no config layer defines a profile; add `[profile.NAME]` to a config file".to_owned()
    } else {
        format!("profiles: {}", known.join(", "))
    }
}

fn table_name(table: &str) -> String {
    if table.is_empty() {
        "the top-level table".to_owned()
    } else {
        format!("[{table}]")
    }
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("\nhint: did you mean `{s}`?"),
        None => String::new(),
    }
}

fn hint_line(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!("\nhint: {h}"),
        None => String::new(),
    }
}

fn var_hint(name: &str, suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("\nhint: did you mean `{s}`? otherwise pass `--var {name}=VALUE`"),
        None => format!("\nhint: pass `--var {name}=VALUE`"),
    }
}

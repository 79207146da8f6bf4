//! The crate's one error type: a policy that cannot be built, naming the rule at fault.

/// A policy could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A path rule is not a valid glob.
    #[error("{rule}: invalid glob `{pattern}`: {source}")]
    BadGlob {
        rule: String,
        pattern: String,
        #[source]
        source: globset::Error,
    },
    /// A command rule (allow, deny, ask or deny_options) is malformed.
    #[error("{rule}: invalid command pattern `{pattern}`: {reason}")]
    BadCommandPattern {
        rule: String,
        pattern: String,
        reason: String,
    },
    /// An entry of `allow_env` is not a variable name or `PREFIX*`.
    #[error("{rule}: invalid environment variable name `{name}`")]
    BadEnvName { rule: String, name: String },
    /// An entry of `allow_hosts` is not a host name, `*.domain` or an IP address.
    #[error("{rule}: invalid host pattern `{pattern}`: {reason}")]
    BadHostPattern {
        rule: String,
        pattern: String,
        reason: String,
    },
    /// A `[[policy.network.rule]]` is malformed or names a host `allow_hosts` does not admit.
    #[error("{rule}: {reason}")]
    BadNetworkRule { rule: String, reason: String },
    /// A budget limit is out of range (e.g. a negative or non-finite cost).
    #[error("limits.{which}: {reason}")]
    BadLimit { which: &'static str, reason: String },
}

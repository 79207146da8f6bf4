//! Errors of rein-testkit: what can go wrong while starting the mock LLM server or the
//! fake GitHub API.

use std::net::SocketAddr;

/// Errors of the mock LLM server. Problems with the *requests* it receives are not errors:
/// they are answered with an HTTP error in the provider's format and recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestkitError {
    #[error("mock llm: cannot bind to {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("mock llm: cannot read the bound address of the listener: {source}")]
    LocalAddr { source: std::io::Error },
    #[error("mock llm: cannot load the script: {source}")]
    Script {
        #[from]
        source: rein_model::script::ScriptError,
    },
    #[error("mock llm: cannot build a tokio runtime for the server thread: {source}")]
    Runtime { source: std::io::Error },
    #[error("mock llm: cannot start the server thread: {source}")]
    Thread { source: std::io::Error },
    #[error("mock llm: the server thread ended before it reported its address")]
    ThreadEnded,
    /// The fixtures folder of [`crate::github::FakeGithub`] cannot be served.
    #[error("fake github: cannot serve `{path}`: {message}")]
    GithubFixtures {
        path: std::path::PathBuf,
        message: String,
    },
    /// A listener of [`crate::github::FakeGithub`] could not be set up.
    #[error("fake github: cannot set up the {what} listener: {source}")]
    GithubListener {
        what: &'static str,
        source: std::io::Error,
    },
}

//! rein-testkit: the scripted mock LLM server shared by rein's tests, and the `rein mock-llm`
//! command behind it.
//!
//! [`MockLlm`] is an HTTP/1.1 server on loopback that speaks the OpenAI Chat Completions
//! (`POST /v1/chat/completions`) and Anthropic Messages (`POST /v1/messages`) wire formats,
//! streaming (server-sent events, the real event shapes) and non-streaming. It plays a
//! [`Script`](rein_model::script::Script): turn `k` answers a request whose `messages` hold
//! `k` assistant messages, so a retried request replays the same turn.
//!
//! It is strict like the real APIs: a request the real API would refuse (no API key, no
//! `model`, no `max_tokens` for Anthropic, empty `messages`, tool results that do not answer
//! the previous assistant message's tool calls by id, a `system` message inside Anthropic
//! `messages`, tools not declared in the format's shape, …) gets an HTTP error in the
//! provider's error format, naming what is wrong. Every request is recorded
//! ([`MockLlm::requests`], `GET /__mock/requests`) so a test can assert what was sent.
//!
//! Faults of a turn ([`Fault`](rein_model::script::Fault)) are served, in order, to the first
//! requests that reach the turn: an HTTP status with `Retry-After`, a delay, or a response
//! cut after N bytes of its body (the connection is then closed mid-body).
//!
//! Usage numbers follow rein's convention: a script's `input_tokens` counts every input
//! token, cached or not. OpenAI reports it as `prompt_tokens` (with `cached_tokens` =
//! `cache_read_tokens`); Anthropic reports `input_tokens` = input − cache read − cache write,
//! plus `cache_read_input_tokens` and `cache_creation_input_tokens`. Without a scripted
//! `usage` the numbers are estimated with [`estimate_tokens`].
//!
//! [`github::FakeGithub`] is a fake GitHub Actions REST API (runs, jobs, job logs with the
//! redirect to blob storage on another origin) serving a fixtures folder, for the CI log
//! tools.
//!
//! Tool call ids the script does not give are deterministic (see [`default_tool_call_id`]),
//! so a replayed turn answers with the same ids.

mod anthropic;
mod error;
pub mod github;
mod handler;
mod http;
pub mod mcp;
mod openai;
mod server;

pub use error::TestkitError;
pub use handler::RecordedRequest;
pub use server::{MockLlm, MockLlmThread};

/// Which wire format a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ApiFormat {
    /// OpenAI Chat Completions.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic Messages.
    #[serde(rename = "anthropic")]
    Anthropic,
}

/// Rough token count of a text: about 4 bytes a token, rounded up.
pub fn estimate_tokens(text: &str) -> u64 {
    text.len().div_ceil(4) as u64
}

/// The id the mock gives to tool call `call_idx` of turn `turn_idx` when the script does not
/// set one: `call_mock_<turn>_<call>` (OpenAI), `toolu_mock_<turn>_<call>` (Anthropic).
pub fn default_tool_call_id(format: ApiFormat, turn_idx: usize, call_idx: usize) -> String {
    match format {
        ApiFormat::OpenAi => format!("call_mock_{turn_idx}_{call_idx}"),
        ApiFormat::Anthropic => format!("toolu_mock_{turn_idx}_{call_idx}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_tokens_is_about_four_bytes_a_token() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abc"), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens(&"x".repeat(400)), 100);
    }

    #[test]
    fn default_ids_differ_by_format_turn_and_call() {
        assert_eq!(
            default_tool_call_id(ApiFormat::OpenAi, 2, 1),
            "call_mock_2_1"
        );
        assert_eq!(
            default_tool_call_id(ApiFormat::Anthropic, 0, 3),
            "toolu_mock_0_3"
        );
    }
}

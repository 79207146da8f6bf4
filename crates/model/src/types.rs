//! Provider-neutral conversation types: what the rest of rein sees of a model.
//!
//! Wire formats of each provider stay inside `provider::<name>::wire` and are converted by
//! hand to and from these types.

use serde::{Deserialize, Serialize};

/// One message of a conversation, provider-neutral.
///
/// The system prompt is not a message: it travels in [`Request::system`], because the
/// Anthropic API takes it apart from the messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    /// The user (or the harness speaking for the user: the task, a verify failure).
    User { content: String },
    /// The model's turn: text and the tool calls it asked for, in order.
    Assistant {
        content: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, answering [`ToolCall::id`].
    Tool {
        tool_call_id: String,
        /// Name of the tool that was called (Anthropic does not need it, OpenAI-compatible
        /// servers such as Ollama use it).
        name: String,
        content: String,
        #[serde(default)]
        is_error: bool,
    },
}

/// A tool call as the model made it. `arguments` is the raw JSON text the model produced,
/// kept verbatim: it may be malformed, and that is data for the loop, not an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

/// A tool the model may call: name, description and the JSON Schema of its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
}

/// Everything a provider needs for one completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub system: String,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolSpec>,
    pub max_output_tokens: u32,
    pub temperature: Option<f32>,
}

/// Token usage of one response as the provider reported it.
///
/// `input_tokens` counts every input token, cached or not; `cache_read_tokens` and
/// `cache_write_tokens` say how many of them were read from or written to a prompt cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_tokens: u64,
    #[serde(default)]
    pub cache_write_tokens: u64,
}

impl Usage {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

/// Why the model stopped producing output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model finished its turn (OpenAI `stop`, Anthropic `end_turn`/`stop_sequence`).
    Stop,
    /// The model asked for tool calls.
    ToolCalls,
    /// The output hit `max_output_tokens`.
    Length,
    /// A content filter stopped the output.
    ContentFilter,
    /// Anything else the provider said.
    Other,
}

/// One complete model response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: FinishReason,
    pub usage: Usage,
    /// Cost in US dollars of this response, from the price table; `None` when the model
    /// has no known price.
    pub cost_usd: Option<f64>,
    /// The model name the provider reported (or the requested one).
    pub model: String,
    /// How many HTTP attempts it took (1 when the first one succeeded).
    pub attempts: u32,
}

/// What a provider reports while a completion is under way.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelEvent {
    /// A piece of the text answer, as streamed.
    TextDelta(String),
    /// The model started a tool call with this name.
    ToolCallStarted { name: String },
    /// An attempt failed and will be retried after `retry_in_ms`.
    AttemptFailed {
        attempt: u32,
        /// HTTP status, when there was a response.
        status: Option<u16>,
        error: String,
        retry_in_ms: u64,
    },
}

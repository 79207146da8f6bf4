//! rein-model: LLM providers behind one trait.
//!
//! [`Model::complete`] sends one [`Request`] and returns one [`Response`], reporting
//! progress (streamed text, retries) through a callback. Providers: OpenAI-compatible Chat
//! Completions, Anthropic Messages, and `scripted` (turns from a file). [`build_model`] turns
//! a resolved [`rein_spec::spec::ModelSpec`] into a model; every response carries its usage,
//! its cost from [`pricing`] and the number of HTTP attempts it took.
//!
//! **Boundary:** the JSON of each provider lives in `provider::<name>::wire`, private; the
//! rest of rein only sees [`Message`], [`ToolCall`], [`Usage`].
//!
//! **Invariant:** an API key is only ever sent as an HTTP header; it never appears in a
//! [`ModelError`] or a [`ModelEvent`].

mod error;
pub mod pricing;
mod provider;
mod retry;
pub mod script;
mod sse;
mod types;

use std::sync::Arc;

use rein_spec::spec::{ModelSpec, Provider};

pub use error::ModelError;
pub use pricing::{Pricing, cost_usd, price_for, prices_as_of};
pub use retry::RetryPolicy;
pub use types::{FinishReason, Message, ModelEvent, Request, Response, ToolCall, ToolSpec, Usage};

/// A sink for [`ModelEvent`]s while a completion runs.
pub type EventSink<'a> = &'a mut (dyn FnMut(ModelEvent) + Send);

/// One LLM behind one interface.
#[async_trait::async_trait]
pub trait Model: Send + Sync + std::fmt::Debug {
    /// `provider:name`, e.g. `openai:gpt-4.1-mini`.
    fn id(&self) -> String;
    /// Run one completion, retrying what may be retried.
    async fn complete(
        &self,
        request: &Request,
        events: EventSink<'_>,
    ) -> Result<Response, ModelError>;
}

/// Knobs of [`build_model_with_options`] that are not in the spec (tests shorten the
/// backoff with them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// First backoff ceiling of the retries (default 500 ms).
    pub retry_base_delay_ms: u64,
    /// Ceiling of any computed backoff (default 30 s).
    pub retry_max_delay_ms: u64,
    /// Ceiling of a server's `Retry-After` (default 60 s).
    pub retry_after_cap_ms: u64,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self {
            retry_base_delay_ms: RetryPolicy::DEFAULT_BASE_DELAY_MS,
            retry_max_delay_ms: RetryPolicy::DEFAULT_MAX_DELAY_MS,
            retry_after_cap_ms: RetryPolicy::DEFAULT_RETRY_AFTER_CAP_MS,
        }
    }
}

/// The model a spec describes, with default retry timings.
pub fn build_model(spec: &ModelSpec) -> Result<Arc<dyn Model>, ModelError> {
    build_model_with_options(spec, BuildOptions::default())
}

/// The model a spec describes.
///
/// An `anthropic` model needs an API key, and so does an `openai` model whose base_url is
/// `api.openai.com`; local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) do not.
pub fn build_model_with_options(
    spec: &ModelSpec,
    options: BuildOptions,
) -> Result<Arc<dyn Model>, ModelError> {
    let retry = RetryPolicy {
        max_attempts: spec.max_attempts.max(1),
        base_delay_ms: options.retry_base_delay_ms,
        max_delay_ms: options.retry_max_delay_ms,
        retry_after_cap_ms: options.retry_after_cap_ms,
        request_timeout: spec.request_timeout,
    };
    match spec.provider {
        Provider::Scripted => Ok(Arc::new(provider::scripted::ScriptedModel::from_spec(
            spec,
        )?)),
        Provider::Openai => {
            let config = provider::HttpModelConfig::new(spec, retry)?;
            if config.api_key.is_none() && config.host().as_deref() == Some("api.openai.com") {
                return Err(missing_key(spec, provider::openai::API_KEY_ENV_VAR));
            }
            Ok(Arc::new(provider::openai::OpenAiModel::new(config)))
        }
        Provider::Anthropic => {
            let config = provider::HttpModelConfig::new(spec, retry)?;
            if config.api_key.is_none() {
                return Err(missing_key(spec, provider::anthropic::API_KEY_ENV_VAR));
            }
            Ok(Arc::new(provider::anthropic::AnthropicModel::new(config)))
        }
    }
}

fn missing_key(spec: &ModelSpec, env_var: &str) -> ModelError {
    ModelError::MissingApiKey {
        provider: provider::provider_name(spec.provider).to_string(),
        model: spec.name.clone(),
        env_var: env_var.to_string(),
    }
}

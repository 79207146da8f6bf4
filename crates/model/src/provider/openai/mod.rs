//! OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM, llama.cpp server, OpenRouter…):
//! `POST {base_url}/chat/completions` with function calling, streaming (SSE) or not.

mod wire;

use crate::provider::HttpModelConfig;
use crate::provider::http::{error_from_response, read_sse, transport_error};
use crate::retry::{AttemptError, HttpAttempt, complete_with_retries};
use crate::{EventSink, Model, ModelError, Request, Response};

use wire::{MaxTokensField, StreamAssembler};

/// The environment variable named in hints about a missing or rejected key.
pub(crate) const API_KEY_ENV_VAR: &str = "OPENAI_API_KEY";

/// A Chat Completions model.
#[derive(Debug)]
pub(crate) struct OpenAiModel {
    config: HttpModelConfig,
    url: String,
    max_tokens_field: MaxTokensField,
}

impl OpenAiModel {
    pub fn new(config: HttpModelConfig) -> Self {
        let url = format!("{}/chat/completions", config.base_url);
        // api.openai.com wants `max_completion_tokens` (reasoning models refuse `max_tokens`);
        // most compatible servers only know `max_tokens`.
        let max_tokens_field = if config.host().as_deref() == Some("api.openai.com") {
            MaxTokensField::MaxCompletionTokens
        } else {
            MaxTokensField::MaxTokens
        };
        Self {
            config,
            url,
            max_tokens_field,
        }
    }
}

#[async_trait::async_trait]
impl Model for OpenAiModel {
    fn id(&self) -> String {
        format!("openai:{}", self.config.name)
    }

    async fn complete(
        &self,
        request: &Request,
        events: EventSink<'_>,
    ) -> Result<Response, ModelError> {
        let response = complete_with_retries(self, &self.config.retry, request, events).await?;
        Ok(self.config.with_cost(response))
    }
}

#[async_trait::async_trait]
impl HttpAttempt for OpenAiModel {
    fn provider_name(&self) -> &'static str {
        "openai"
    }

    fn api_key_env_var(&self) -> &'static str {
        API_KEY_ENV_VAR
    }

    fn api_key(&self) -> Option<&str> {
        self.config.api_key.as_ref().map(|key| key.expose())
    }

    async fn attempt(
        &self,
        request: &Request,
        events: EventSink<'_>,
    ) -> Result<Response, AttemptError> {
        let stream = self.config.stream;
        let temperature = request.temperature.or(self.config.temperature);
        let body = wire::chat_request(
            &self.config.name,
            request,
            self.max_tokens_field,
            temperature,
            stream,
        );
        let mut http_request = self.config.client.post(&self.url).json(&body);
        if let Some(key) = self.api_key() {
            http_request = http_request.bearer_auth(key);
        }
        if stream {
            http_request = http_request.header(reqwest::header::ACCEPT, "text/event-stream");
        }
        let response = http_request
            .send()
            .await
            .map_err(|err| transport_error(&err))?;
        if !response.status().is_success() {
            return Err(error_from_response(response).await);
        }
        if !stream {
            let bytes = response
                .bytes()
                .await
                .map_err(|err| transport_error(&err))?;
            return wire::parse_completion(&bytes, &self.config.name);
        }
        let mut assembler = StreamAssembler::default();
        read_sse(response, |event| {
            assembler.on_data(&event.data, &mut *events)
        })
        .await?;
        assembler.finish(&self.config.name)
    }
}

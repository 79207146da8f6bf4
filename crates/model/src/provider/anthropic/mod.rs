//! Anthropic Messages: `POST {base_url}/v1/messages` with tool_use / tool_result blocks,
//! streaming (SSE) or not.

mod wire;

use crate::provider::HttpModelConfig;
use crate::provider::http::{error_from_response, read_sse, transport_error};
use crate::retry::{AttemptError, HttpAttempt, complete_with_retries};
use crate::{EventSink, Model, ModelError, Request, Response};

use wire::StreamAssembler;

/// The environment variable named in hints about a missing or rejected key.
pub(crate) const API_KEY_ENV_VAR: &str = "ANTHROPIC_API_KEY";

const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A Messages API model.
#[derive(Debug)]
pub(crate) struct AnthropicModel {
    config: HttpModelConfig,
    url: String,
}

impl AnthropicModel {
    pub fn new(config: HttpModelConfig) -> Self {
        let url = format!("{}/v1/messages", config.base_url);
        Self { config, url }
    }
}

#[async_trait::async_trait]
impl Model for AnthropicModel {
    fn id(&self) -> String {
        format!("anthropic:{}", self.config.name)
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
impl HttpAttempt for AnthropicModel {
    fn provider_name(&self) -> &'static str {
        "anthropic"
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
        let body = wire::messages_request(&self.config.name, request, temperature, stream);
        let mut http_request = self
            .config
            .client
            .post(&self.url)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&body);
        if let Some(key) = self.api_key() {
            let mut value =
                reqwest::header::HeaderValue::from_str(key).map_err(|_| AttemptError::Invalid {
                    message: "the api key contains characters not allowed in an http header"
                        .to_string(),
                })?;
            value.set_sensitive(true);
            http_request = http_request.header("x-api-key", value);
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
            return wire::parse_message(&bytes, &self.config.name);
        }
        let mut assembler = StreamAssembler::default();
        read_sse(response, |event| {
            assembler.on_event(&event.event, &event.data, &mut *events)
        })
        .await?;
        assembler.finish(&self.config.name)
    }
}

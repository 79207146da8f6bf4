//! The providers. Each HTTP provider keeps its JSON in `<name>/wire.rs` and shares the
//! client, error and SSE plumbing of [`http`] and the retries of [`crate::retry`].

pub(crate) mod anthropic;
pub(crate) mod http;
pub(crate) mod openai;
pub(crate) mod scripted;

use rein_spec::spec::{ModelSpec, Provider, Secret};

use crate::pricing::{Pricing, cost_usd, price_for};
use crate::retry::RetryPolicy;
use crate::{ModelError, Response};

/// What both HTTP providers take from a spec.
#[derive(Debug)]
pub(crate) struct HttpModelConfig {
    pub provider: Provider,
    pub name: String,
    /// `base_url` without a trailing `/`.
    pub base_url: String,
    pub api_key: Option<Secret>,
    pub temperature: Option<f32>,
    pub stream: bool,
    pub retry: RetryPolicy,
    pub pricing: Option<Pricing>,
    pub client: reqwest::Client,
}

impl HttpModelConfig {
    pub fn new(spec: &ModelSpec, retry: RetryPolicy) -> Result<Self, ModelError> {
        let invalid = |message: String| ModelError::InvalidSpec {
            provider: provider_name(spec.provider).to_string(),
            model: spec.name.clone(),
            message,
        };
        let base_url = spec.base_url.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|err| invalid(format!("base_url `{base_url}` is not a url: {err}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "base_url `{base_url}` must start with http:// or https://"
            )));
        }
        if let Some(key) = &spec.api_key
            && reqwest::header::HeaderValue::from_str(key.expose()).is_err()
        {
            return Err(invalid(
                "the api key contains characters not allowed in an http header (a newline?)"
                    .to_string(),
            ));
        }
        let client = http::build_client(retry.request_timeout).map_err(invalid)?;
        Ok(Self {
            provider: spec.provider,
            name: spec.name.clone(),
            base_url,
            api_key: spec.api_key.clone().filter(|key| !key.expose().is_empty()),
            temperature: spec.temperature,
            stream: spec.stream,
            retry,
            pricing: price_for(spec),
            client,
        })
    }

    /// The host of `base_url`, e.g. `api.openai.com`.
    pub fn host(&self) -> Option<String> {
        reqwest::Url::parse(&self.base_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_string))
    }

    pub fn with_cost(&self, mut response: Response) -> Response {
        response.cost_usd = self
            .pricing
            .map(|pricing| cost_usd(&pricing, self.provider, &response.usage));
        response
    }
}

pub(crate) fn provider_name(provider: Provider) -> &'static str {
    match provider {
        Provider::Openai => "openai",
        Provider::Anthropic => "anthropic",
        Provider::Scripted => "scripted",
    }
}

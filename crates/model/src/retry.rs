//! Retries shared by the HTTP providers: what is retried, how long to wait, and how a final
//! failure becomes a [`ModelError`].
//!
//! Retried: HTTP 408, 409, 429, 5xx (Anthropic's 529 included), connection errors, attempt
//! timeouts and streams cut short. Waits use exponential backoff with full jitter, or the
//! server's `Retry-After` (seconds or an HTTP date, capped). A server's `x-should-retry: true`
//! or `false` overrides the status's default. Not retried: every other status
//! and context-length errors. Each failed attempt that will be retried is reported as
//! [`ModelEvent::AttemptFailed`]; text streamed by a failed attempt is void.

use std::time::{Duration, SystemTime};

use crate::{EventSink, ModelError, ModelEvent, Request, Response};

/// How a provider retries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per call, at least 1.
    pub max_attempts: u32,
    /// First backoff ceiling; attempt `n` waits a random time in `[0, base * 2^(n-1)]`.
    pub base_delay_ms: u64,
    /// Ceiling of any computed backoff.
    pub max_delay_ms: u64,
    /// Ceiling of a server's `Retry-After`.
    pub retry_after_cap_ms: u64,
    /// Time limit of one attempt, streaming included.
    pub request_timeout: Duration,
}

impl RetryPolicy {
    pub const DEFAULT_BASE_DELAY_MS: u64 = 500;
    pub const DEFAULT_MAX_DELAY_MS: u64 = 30_000;
    pub const DEFAULT_RETRY_AFTER_CAP_MS: u64 = 60_000;

    /// The backoff before attempt `failed_attempt + 1`, with full jitter.
    pub fn backoff_ms(&self, failed_attempt: u32) -> u64 {
        let exponent = failed_attempt.saturating_sub(1).min(32);
        let ceiling = self
            .base_delay_ms
            .saturating_mul(1u64 << exponent)
            .min(self.max_delay_ms);
        fastrand::u64(0..=ceiling)
    }
}

/// How one attempt failed, before it is classified.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttemptError {
    /// The server answered with an error status (or an error event inside a stream).
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
        context_length: bool,
        /// The server's `x-should-retry: true|false`, which overrides the status's default.
        should_retry: Option<bool>,
    },
    /// Nothing usable came back: connection error, timeout, stream cut short.
    Transport { message: String },
    /// A 2xx answer that is not the provider's wire format.
    Invalid { message: String },
}

impl AttemptError {
    /// Build from an HTTP error answer: `body` in the OpenAI (`{"error":{"message","code"}}`)
    /// or Anthropic (`{"type":"error","error":{"type","message"}}`) shape, or anything else.
    pub fn from_http(status: u16, headers: &ErrorHeaders<'_>, body: &str) -> AttemptError {
        let (message, code) = error_message_of_body(body);
        let context_length = is_context_length_error(code.as_deref(), &message);
        let retry_after = headers
            .retry_after
            .and_then(|value| parse_retry_after(value, SystemTime::now()));
        AttemptError::Status {
            status,
            message,
            retry_after,
            context_length,
            should_retry: headers.should_retry.and_then(parse_should_retry),
        }
    }

    /// Whether another attempt may succeed. The server's `x-should-retry` wins over the
    /// status's default (as in the official SDKs).
    fn is_retryable(&self) -> bool {
        match self {
            AttemptError::Status {
                should_retry: Some(should_retry),
                ..
            } => *should_retry,
            AttemptError::Status {
                status,
                context_length,
                ..
            } => !context_length && is_retryable_status(*status),
            AttemptError::Transport { .. } => true,
            AttemptError::Invalid { .. } => false,
        }
    }
}

/// The headers of an error answer that steer retries.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ErrorHeaders<'a> {
    pub retry_after: Option<&'a str>,
    pub should_retry: Option<&'a str>,
}

/// `x-should-retry`: `true` or `false` (any case, spaces around); anything else is ignored.
fn parse_should_retry(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The message (and code or type) of a provider error body; the body itself, shortened,
/// when it is not JSON.
pub(crate) fn error_message_of_body(body: &str) -> (String, Option<String>) {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
        let error = value.get("error").unwrap_or(&value);
        let message = match error {
            serde_json::Value::String(text) => Some(text.clone()),
            _ => error
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string),
        };
        let code = error
            .get("code")
            .and_then(|c| c.as_str())
            .or_else(|| error.get("type").and_then(|t| t.as_str()))
            .map(str::to_string);
        if let Some(message) = message {
            return (message, code);
        }
    }
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return ("(empty body)".to_string(), None);
    }
    (shorten(trimmed, 500), None)
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max_chars).collect();
    short.push('…');
    short
}

/// Whether a provider error says the prompt does not fit the context window.
pub(crate) fn is_context_length_error(code: Option<&str>, message: &str) -> bool {
    if code == Some("context_length_exceeded") {
        return true;
    }
    let message = message.to_ascii_lowercase();
    [
        "context_length_exceeded",
        "maximum context length",
        "prompt is too long",
        "context length exceeded",
        "exceeds the context window",
        "input is too long for the model",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// `Retry-After`: delay seconds or an HTTP date (IMF-fixdate), relative to `now`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        if seconds.is_finite() && seconds >= 0.0 {
            return Some(Duration::from_secs_f64(seconds.min(86_400.0)));
        }
        return None;
    }
    let at = parse_http_date(value)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Parse an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`.
fn parse_http_date(value: &str) -> Option<SystemTime> {
    let (_, rest) = value.split_once(", ")?;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|name| name == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let mut clock = time.split(':').map(|part| part.parse::<u64>().ok());
    let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
    if year < 1970 || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_index = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// One HTTP provider: sends one attempt.
#[async_trait::async_trait]
pub(crate) trait HttpAttempt: Send + Sync {
    /// `openai` or `anthropic`, for messages.
    fn provider_name(&self) -> &'static str;
    /// The environment variable a 401 hint names.
    fn api_key_env_var(&self) -> &'static str;
    /// The API key, to redact it from every message.
    fn api_key(&self) -> Option<&str>;
    /// Send the request once; the returned response has `attempts` and `cost_usd` unset.
    async fn attempt(
        &self,
        request: &Request,
        events: EventSink<'_>,
    ) -> Result<Response, AttemptError>;
}

/// Run `provider.attempt` until it succeeds, fails for good, or attempts run out.
pub(crate) async fn complete_with_retries(
    provider: &dyn HttpAttempt,
    policy: &RetryPolicy,
    request: &Request,
    events: EventSink<'_>,
) -> Result<Response, ModelError> {
    let max_attempts = policy.max_attempts.max(1);
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let outcome = match tokio::time::timeout(
            policy.request_timeout,
            provider.attempt(request, &mut *events),
        )
        .await
        {
            Ok(outcome) => outcome,
            Err(_) => Err(AttemptError::Transport {
                message: format!(
                    "attempt timed out after {}",
                    humanize(policy.request_timeout)
                ),
            }),
        };
        let error = match outcome {
            Ok(mut response) => {
                response.attempts = attempt;
                return Ok(response);
            }
            Err(error) => redact(error, provider.api_key()),
        };
        if !error.is_retryable() || attempt >= max_attempts {
            return Err(final_error(provider, error, attempt));
        }
        let retry_in_ms = match &error {
            AttemptError::Status {
                retry_after: Some(after),
                ..
            } => (after.as_millis() as u64).min(policy.retry_after_cap_ms),
            _ => policy.backoff_ms(attempt),
        };
        let (status, message) = match &error {
            AttemptError::Status {
                status, message, ..
            } => (Some(*status), format!("http {status}: {message}")),
            AttemptError::Transport { message } | AttemptError::Invalid { message } => {
                (None, message.clone())
            }
        };
        events(ModelEvent::AttemptFailed {
            attempt,
            status,
            error: message,
            retry_in_ms,
        });
        tokio::time::sleep(Duration::from_millis(retry_in_ms)).await;
    }
}

fn humanize(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

fn redact(error: AttemptError, api_key: Option<&str>) -> AttemptError {
    let Some(key) = api_key.filter(|key| key.len() >= 4) else {
        return error;
    };
    let clean = |message: String| message.replace(key, "***");
    match error {
        AttemptError::Status {
            status,
            message,
            retry_after,
            context_length,
            should_retry,
        } => AttemptError::Status {
            status,
            message: clean(message),
            retry_after,
            context_length,
            should_retry,
        },
        AttemptError::Transport { message } => AttemptError::Transport {
            message: clean(message),
        },
        AttemptError::Invalid { message } => AttemptError::Invalid {
            message: clean(message),
        },
    }
}

fn final_error(provider: &dyn HttpAttempt, error: AttemptError, attempts: u32) -> ModelError {
    let provider_name = provider.provider_name().to_string();
    let retried = attempts > 1;
    match error {
        AttemptError::Status {
            status,
            message,
            context_length: true,
            ..
        } => ModelError::ContextLength {
            provider: provider_name,
            status,
            message,
            attempts,
        },
        AttemptError::Status {
            status, message, ..
        } => {
            let hint = match status {
                401 => Some(format!(
                    "check the api key: is the {} environment variable set to a valid key?",
                    provider.api_key_env_var()
                )),
                403 => Some(
                    "the api key is valid but not allowed to use this model or endpoint"
                        .to_string(),
                ),
                404 => Some("check the model name and base_url in [model]".to_string()),
                429 => Some(
                    "rate limited: raise max_attempts in [model] or lower the request rate"
                        .to_string(),
                ),
                _ => None,
            };
            ModelError::Http {
                provider: provider_name,
                status,
                message,
                attempts,
                retried,
                hint,
            }
        }
        AttemptError::Transport { message } => ModelError::Transport {
            provider: provider_name,
            message,
            attempts,
            retried,
        },
        AttemptError::Invalid { message } => ModelError::InvalidResponse {
            provider: provider_name,
            message,
            attempts,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:00 GMT", SystemTime::UNIX_EPOCH),
            Some(Duration::from_secs(1_767_225_600))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay_ms: 500,
            max_delay_ms: 30_000,
            retry_after_cap_ms: 60_000,
            request_timeout: Duration::from_secs(1),
        };
        for _ in 0..200 {
            assert!(policy.backoff_ms(1) <= 500);
            assert!(policy.backoff_ms(3) <= 2_000);
            assert!(policy.backoff_ms(40) <= 30_000);
        }
    }

    #[test]
    fn error_bodies_of_both_providers_give_their_message() {
        let openai = r#"{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","param":null,"code":"context_length_exceeded"}}"#;
        let anthropic =
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert_eq!(
            error_message_of_body(openai),
            (
                "This model's maximum context length is 8192 tokens".to_string(),
                Some("context_length_exceeded".to_string())
            )
        );
        assert_eq!(
            error_message_of_body(anthropic),
            (
                "Overloaded".to_string(),
                Some("overloaded_error".to_string())
            )
        );
        assert_eq!(
            error_message_of_body("<html>bad gateway</html>").0,
            "<html>bad gateway</html>"
        );
        assert_eq!(error_message_of_body("").0, "(empty body)");
    }

    #[test]
    fn context_length_errors_are_recognized_and_not_retried() {
        let anthropic = AttemptError::from_http(
            400,
            &ErrorHeaders::default(),
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
        );
        assert!(matches!(
            anthropic,
            AttemptError::Status {
                context_length: true,
                ..
            }
        ));
        assert!(!anthropic.is_retryable());
        let plain = AttemptError::from_http(
            400,
            &ErrorHeaders::default(),
            r#"{"error":{"message":"bad tool schema"}}"#,
        );
        assert!(matches!(
            plain,
            AttemptError::Status {
                context_length: false,
                ..
            }
        ));
        assert!(!plain.is_retryable());
        for status in [408, 409, 429, 500, 502, 503, 529] {
            assert!(
                AttemptError::from_http(status, &ErrorHeaders::default(), "").is_retryable(),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 422] {
            assert!(
                !AttemptError::from_http(status, &ErrorHeaders::default(), "").is_retryable(),
                "{status}"
            );
        }
    }

    #[test]
    fn the_api_key_is_redacted() {
        let error = redact(
            AttemptError::Status {
                status: 401,
                message: "Incorrect API key provided: sk-secret-123".into(),
                retry_after: None,
                context_length: false,
                should_retry: None,
            },
            Some("sk-secret-123"),
        );
        assert_eq!(
            error,
            AttemptError::Status {
                status: 401,
                message: "Incorrect API key provided: ***".into(),
                retry_after: None,
                context_length: false,
                should_retry: None,
            }
        );
    }

    /// Issue 10 (8c): `x-should-retry` overrides the status's default both ways.
    #[test]
    fn x_should_retry_overrides_the_status() {
        let with = |status: u16, value: &str| {
            let headers = ErrorHeaders {
                retry_after: None,
                should_retry: Some(value),
            };
            AttemptError::from_http(status, &headers, "").is_retryable()
        };
        assert!(!with(500, "false"));
        assert!(!with(429, " FALSE "));
        assert!(with(400, "true"));
        assert!(with(409, "True"));
        // Anything else leaves the default.
        assert!(with(503, "maybe"));
        assert!(!with(400, "1"));
        // A context-length error the server says to retry is retried (the server knows).
        let headers = ErrorHeaders {
            retry_after: None,
            should_retry: Some("true"),
        };
        assert!(
            AttemptError::from_http(
                400,
                &headers,
                r#"{"error":{"message":"maximum context length","code":"context_length_exceeded"}}"#
            )
            .is_retryable()
        );
    }
}

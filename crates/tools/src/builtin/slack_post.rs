//! `slack_post`: post one message to the Slack incoming webhook of `[tools.slack_post]`.
//!
//! The webhook URL is a secret (whoever has it can post): it is sent only as the request
//! target. The policy sees `ToolAction::Network("https://HOST/***")` — the host, so the
//! network rules can decide, with the path (the secret part) replaced by `***`; outputs
//! and error messages never contain the path or the query either (they are replaced by
//! `***` in any message from the HTTP layer). The request goes through the same guarded,
//! address-pinned client as `http_request`.
//!
//! The payload is Slack's: `{"text": …, "blocks": [...]}` (Block Kit; `text` is the
//! notification fallback). Blocks are checked to be objects with a string `type`, at most
//! [`SLACK_MAX_BLOCKS`]; Slack checks the rest and its error (`invalid_blocks`…) is
//! returned to the model.

use std::sync::OnceLock;
use std::time::Duration;

use rein_spec::Secret;
use rein_spec::spec::SlackPostSpec;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, Url};
use serde::Deserialize;

use super::parse_arguments;
use super::{CrossOriginHeaders, PreparedRequest, fetch_guarded};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

const NAME: &str = "slack_post";

/// Most blocks Slack accepts in one message.
pub const SLACK_MAX_BLOCKS: usize = 50;

/// Bytes of Slack's reply kept (it is `ok` or a short error code).
const SLACK_MAX_REPLY_BYTES: u64 = 16 * 1024;

/// Posts a message to a Slack incoming webhook.
pub struct SlackPostTool {
    /// `Debug` shows `***`.
    webhook_url: Secret,
    /// `scheme://host[:port]/***`: what the policy and messages show.
    redacted: String,
    /// Texts replaced by `***` in every message: the URL as written and as normalised,
    /// its path and its query.
    secret_parts: Vec<String>,
    timeout: Duration,
    /// An empty `webhook_url`: posting is disabled, and a call shows what it would post.
    disabled: bool,
}

impl std::fmt::Debug for SlackPostTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackPostTool")
            .field("webhook_url", &self.redacted)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SlackPostTool {
    /// Checks `[tools.slack_post]`: an absolute http(s) webhook URL with a host, and a
    /// timeout above 0. Messages never contain the URL.
    pub fn new(spec: &SlackPostSpec) -> Result<SlackPostTool, ToolError> {
        let declaration = |message: &str| ToolError::InvalidDeclaration {
            tool: NAME.to_owned(),
            message: message.to_owned(),
        };
        let text = spec.webhook_url.expose();
        if text.is_empty() {
            return Ok(SlackPostTool {
                webhook_url: spec.webhook_url.clone(),
                redacted: "slack (posting disabled)".to_owned(),
                secret_parts: Vec::new(),
                timeout: spec.timeout,
                disabled: true,
            });
        }
        let url = Url::parse(text).map_err(|_| {
            declaration("webhook_url is not a valid URL (its value is a secret and not shown)")
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(declaration(
                "webhook_url must be an https:// URL (its value is a secret and not shown)",
            ));
        }
        let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
            return Err(declaration("webhook_url has no host"));
        };
        if spec.timeout.is_zero() {
            return Err(declaration("timeout must be more than 0"));
        }
        let port = url
            .port()
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        let redacted = format!("{}://{host}{port}/***", url.scheme());
        let mut secret_parts = vec![text.to_owned(), url.to_string()];
        if url.path().len() > 1 {
            secret_parts.push(url.path().to_owned());
        }
        if let Some(query) = url.query().filter(|query| !query.is_empty()) {
            secret_parts.push(query.to_owned());
        }
        // Longest first, so a part inside another is not replaced before it.
        secret_parts.sort_by_key(|part| std::cmp::Reverse(part.len()));
        Ok(SlackPostTool {
            webhook_url: spec.webhook_url.clone(),
            redacted,
            secret_parts,
            timeout: spec.timeout,
            disabled: false,
        })
    }

    /// `text` with every secret part of the webhook URL replaced by `***`.
    fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for part in &self.secret_parts {
            out = out.replace(part.as_str(), "***");
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    text: String,
    blocks: Option<Vec<serde_json::Value>>,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "text": {
                    "type": "string",
                    "minLength": 1,
                    "description": "The message (Slack mrkdwn). With `blocks`, it is the fallback shown in notifications."
                },
                "blocks": {
                    "type": "array",
                    "maxItems": SLACK_MAX_BLOCKS,
                    "items": {
                        "type": "object",
                        "properties": {"type": {"type": "string", "minLength": 1}},
                        "required": ["type"]
                    },
                    "description": "Block Kit blocks, e.g. [{\"type\": \"section\", \"text\": {\"type\": \"mrkdwn\", \"text\": \"*done*\"}}]."
                }
            },
            "required": ["text"],
            "additionalProperties": false
        })
    })
}

/// Checks the blocks Slack would otherwise reject with a vague error.
fn check_blocks(blocks: &[serde_json::Value]) -> Result<(), ToolError> {
    if blocks.len() > SLACK_MAX_BLOCKS {
        return Err(ToolError::InvalidInput {
            message: format!(
                "`blocks` has {} blocks; Slack accepts at most {SLACK_MAX_BLOCKS}",
                blocks.len()
            ),
        });
    }
    for (index, block) in blocks.iter().enumerate() {
        let has_type = block
            .as_object()
            .and_then(|object| object.get("type"))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|kind| !kind.is_empty());
        if !has_type {
            return Err(ToolError::InvalidInput {
                message: format!(
                    "blocks[{index}] must be an object with a string `type` (Block Kit: section, header, divider, context…)"
                ),
            });
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl Tool for SlackPostTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Post a message to the team's Slack channel (an incoming webhook). Give `text`, and optionally Block Kit `blocks`. Returns Slack's answer: `ok` or its error."
    }

    fn input_schema(&self) -> &serde_json::Value {
        schema()
    }

    fn actions(&self, _args: &serde_json::Value) -> Vec<ToolAction> {
        if self.disabled {
            return Vec::new();
        }
        vec![ToolAction::Network(self.redacted.clone())]
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: Arguments = parse_arguments(NAME, arguments)?;
        let mut payload = serde_json::Map::new();
        payload.insert("text".to_owned(), serde_json::Value::String(arguments.text));
        if let Some(blocks) = arguments.blocks {
            check_blocks(&blocks)?;
            payload.insert("blocks".to_owned(), serde_json::Value::Array(blocks));
        }
        if self.disabled {
            let shown = serde_json::to_string_pretty(&payload).unwrap_or_default();
            return Ok(ToolOutput::text(format!(
                "Slack posting is disabled: [tools.slack_post] webhook_url is empty (set it, e.g. from SLACK_WEBHOOK_URL). Nothing was sent; this is the message that would have been posted:\n{shown}"
            )));
        }
        let body = serde_json::to_vec(&payload).map_err(|error| ToolError::InvalidInput {
            message: format!("cannot serialise the message: {error}"),
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let request = PreparedRequest {
            method: Method::POST,
            url_text: self.webhook_url.expose().to_owned(),
            headers,
            body: Some(body),
            timeout: self.timeout.min(ctx.timeout),
            max_bytes: SLACK_MAX_REPLY_BYTES,
            cross_origin: CrossOriginHeaders::All,
        };
        let fetched = fetch_guarded(NAME, request, ctx.network.as_ref())
            .await
            .map_err(|error| ToolError::InvalidInput {
                message: format!(
                    "cannot post to Slack ({}): {}",
                    self.redacted,
                    self.redact(&error.to_string())
                ),
            })?;
        let reply = String::from_utf8_lossy(&fetched.body);
        let reply = self.redact(reply.trim());
        if fetched.status.is_success() && reply == "ok" {
            return Ok(ToolOutput::text("posted to Slack: ok\n"));
        }
        let shown = if reply.is_empty() {
            "(empty reply)".to_owned()
        } else {
            reply
        };
        Ok(ToolOutput {
            content: format!(
                "Slack did not accept the message: {} {shown}\n",
                fetched.status
            ),
            exit_code: None,
            is_error: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(url: &str) -> Result<SlackPostTool, ToolError> {
        SlackPostTool::new(&SlackPostSpec {
            webhook_url: Secret::new(url),
            timeout: Duration::from_secs(5),
        })
    }

    #[test]
    fn the_webhook_path_never_shows() {
        let tool = tool("https://hooks.slack.com/services/T1/B2/SECRETX").unwrap();
        assert_eq!(
            tool.actions(&serde_json::json!({})),
            vec![ToolAction::Network(
                "https://hooks.slack.com/***".to_owned()
            )]
        );
        assert!(!format!("{tool:?}").contains("SECRETX"));
        assert_eq!(
            tool.redact("cannot fetch `https://hooks.slack.com/services/T1/B2/SECRETX`: x /services/T1/B2/SECRETX"),
            "cannot fetch `***`: x ***"
        );
    }

    #[test]
    fn bad_webhook_urls_are_refused_without_showing_them() {
        let error = tool("not a url SECRETX").unwrap_err().to_string();
        assert!(!error.contains("SECRETX"), "{error}");
        assert!(error.contains("webhook_url is not a valid URL"), "{error}");
        assert!(tool("ftp://x/SECRETX").is_err());
    }

    #[test]
    fn blocks_need_a_type() {
        assert!(check_blocks(&[serde_json::json!({"type": "divider"})]).is_ok());
        assert_eq!(
            check_blocks(&[
                serde_json::json!({"type": "divider"}),
                serde_json::json!({"text": "x"})
            ])
            .unwrap_err()
            .to_string(),
            "blocks[1] must be an object with a string `type` (Block Kit: section, header, divider, context…)"
        );
        assert!(check_blocks(&[serde_json::json!("section")]).is_err());
    }
}

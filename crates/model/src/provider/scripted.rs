//! The `scripted` provider: plays a [`Script`] in-process, deterministically.
//!
//! Turn `k` answers a request holding `k` assistant messages. A turn's `expect` is checked;
//! usage is the turn's or estimated (about 4 bytes a token); tool call ids are
//! `call_<turn>_<i>` unless the script gives one. HTTP faults are ignored except `delay_ms`,
//! which is served to the attempts the fault list says.

use std::sync::Mutex;
use std::time::Duration;

use rein_spec::spec::{ModelSpec, Provider};

use crate::pricing::{Pricing, cost_usd, price_for};
use crate::script::{Script, Turn};
use crate::{
    EventSink, FinishReason, Message, Model, ModelError, ModelEvent, Request, Response, ToolCall,
    Usage,
};

/// A model that plays a script.
#[derive(Debug)]
pub(crate) struct ScriptedModel {
    name: String,
    script: Script,
    pricing: Option<Pricing>,
    /// Requests served so far per turn, to pick the fault of each attempt.
    served_by_turn: Mutex<Vec<u32>>,
}

impl ScriptedModel {
    pub fn from_spec(spec: &ModelSpec) -> Result<Self, ModelError> {
        let Some(path) = &spec.script else {
            return Err(ModelError::InvalidSpec {
                provider: "scripted".to_string(),
                model: spec.name.clone(),
                message: "no script\nhint: set `script = \"turns.toml\"` in [model]".to_string(),
            });
        };
        let script = Script::load(path).map_err(|err| ModelError::Script {
            message: err.to_string(),
        })?;
        Ok(Self::new(&spec.name, script, price_for(spec)))
    }

    pub fn new(name: &str, script: Script, pricing: Option<Pricing>) -> Self {
        let n_turns = script.turns.len();
        Self {
            name: name.to_string(),
            script,
            pricing,
            served_by_turn: Mutex::new(vec![0; n_turns]),
        }
    }

    /// The delay the fault list of turn `turn_idx` gives to this attempt, if any.
    fn fault_delay_ms(&self, turn_idx: usize, turn: &Turn) -> Option<u64> {
        let attempt_idx = {
            let mut served = self
                .served_by_turn
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let slot = served.get_mut(turn_idx)?;
            let attempt_idx = *slot;
            *slot += 1;
            attempt_idx
        };
        let mut remaining = attempt_idx;
        for fault in &turn.faults {
            if remaining < fault.times {
                return fault.delay_ms;
            }
            remaining -= fault.times;
        }
        None
    }
}

fn last_message_text(request: &Request) -> &str {
    match request.messages.last() {
        Some(
            Message::User { content }
            | Message::Assistant { content, .. }
            | Message::Tool { content, .. },
        ) => content,
        None => "",
    }
}

fn estimate_tokens(n_bytes: usize) -> u64 {
    (n_bytes as u64).div_ceil(4).max(1)
}

fn estimated_usage(request: &Request, text: &str, tool_calls: &[ToolCall]) -> Usage {
    let messages_bytes = serde_json::to_string(&request.messages).map_or(0, |json| json.len());
    let tools_bytes = serde_json::to_string(&request.tools).map_or(0, |json| json.len());
    let output_bytes = text.len()
        + tool_calls
            .iter()
            .map(|call| call.name.len() + call.arguments.len())
            .sum::<usize>();
    Usage {
        input_tokens: estimate_tokens(request.system.len() + messages_bytes + tools_bytes),
        output_tokens: estimate_tokens(output_bytes),
        cache_read_tokens: 0,
        cache_write_tokens: 0,
    }
}

#[async_trait::async_trait]
impl Model for ScriptedModel {
    fn id(&self) -> String {
        format!("scripted:{}", self.name)
    }

    async fn complete(
        &self,
        request: &Request,
        events: EventSink<'_>,
    ) -> Result<Response, ModelError> {
        let turn_idx = request
            .messages
            .iter()
            .filter(|message| matches!(message, Message::Assistant { .. }))
            .count();
        let Some(turn) = self.script.turn(turn_idx) else {
            return Err(ModelError::Script {
                message: format!(
                    "no turn left: the script has {} turn(s) and the request already holds {turn_idx} assistant message(s)\nhint: add a [[turns]] entry or lower [loop] max_steps",
                    self.script.turns.len()
                ),
            });
        };
        if let Some(expected) = turn
            .expect
            .as_ref()
            .and_then(|expect| expect.last_message_contains.as_deref())
        {
            let last = last_message_text(request);
            if !last.contains(expected) {
                return Err(ModelError::Script {
                    message: format!(
                        "turn {turn_idx} expects the last message to contain {expected:?}, but it is {:?}",
                        last.chars().take(200).collect::<String>()
                    ),
                });
            }
        }
        if let Some(delay_ms) = self.fault_delay_ms(turn_idx, turn) {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
        let tool_calls: Vec<ToolCall> = turn
            .tool_calls
            .iter()
            .enumerate()
            .map(|(call_idx, call)| ToolCall {
                id: call
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("call_{turn_idx}_{call_idx}")),
                name: call.name.clone(),
                arguments: call.arguments_text(),
            })
            .collect();
        if !turn.text.is_empty() {
            events(ModelEvent::TextDelta(turn.text.clone()));
        }
        for call in &tool_calls {
            events(ModelEvent::ToolCallStarted {
                name: call.name.clone(),
            });
        }
        let usage = match turn.usage {
            Some(usage) => Usage {
                input_tokens: usage.input_tokens,
                output_tokens: usage.output_tokens,
                cache_read_tokens: usage.cache_read_tokens,
                cache_write_tokens: usage.cache_write_tokens,
            },
            None => estimated_usage(request, &turn.text, &tool_calls),
        };
        Ok(Response {
            text: turn.text.clone(),
            finish_reason: if tool_calls.is_empty() {
                FinishReason::Stop
            } else {
                FinishReason::ToolCalls
            },
            tool_calls,
            usage,
            cost_usd: Some(self.pricing.map_or(0.0, |pricing| {
                cost_usd(&pricing, Provider::Scripted, &usage)
            })),
            model: self.name.clone(),
            attempts: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script() -> Script {
        Script::parse(
            r#"
[[turns]]
text = "Listing."
tool_calls = [{ name = "ls", arguments = { path = "." } }, { name = "cat", raw_arguments = "{bad", id = "mine" }]
usage = { input_tokens = 1000, output_tokens = 100 }

[[turns]]
expect = { last_message_contains = "hello.txt" }
text = "Done."
"#,
            false,
        )
        .unwrap()
    }

    fn request(messages: Vec<Message>) -> Request {
        Request {
            system: "sys".into(),
            messages,
            tools: vec![],
            max_output_tokens: 100,
            temperature: None,
        }
    }

    #[tokio::test]
    async fn turns_are_played_by_the_number_of_assistant_messages() {
        let pricing = Pricing {
            input_per_mtok: 1.0,
            output_per_mtok: 10.0,
            cached_input_per_mtok: None,
        };
        let model = ScriptedModel::new("demo", script(), Some(pricing));
        let mut events = Vec::new();
        let first = model
            .complete(
                &request(vec![Message::User {
                    content: "go".into(),
                }]),
                &mut |event| events.push(event),
            )
            .await
            .unwrap();
        assert_eq!(first.text, "Listing.");
        assert_eq!(
            first.tool_calls,
            vec![
                ToolCall {
                    id: "call_0_0".into(),
                    name: "ls".into(),
                    arguments: r#"{"path":"."}"#.into()
                },
                ToolCall {
                    id: "mine".into(),
                    name: "cat".into(),
                    arguments: "{bad".into()
                },
            ]
        );
        assert_eq!(first.finish_reason, FinishReason::ToolCalls);
        assert_eq!(
            first.usage,
            Usage {
                input_tokens: 1000,
                output_tokens: 100,
                ..Usage::default()
            }
        );
        assert_eq!(first.cost_usd, Some(0.002));
        assert_eq!(events[0], ModelEvent::TextDelta("Listing.".into()));

        let history = vec![
            Message::User {
                content: "go".into(),
            },
            Message::Assistant {
                content: first.text.clone(),
                tool_calls: first.tool_calls.clone(),
            },
            Message::Tool {
                tool_call_id: "call_0_0".into(),
                name: "ls".into(),
                content: "hello.txt".into(),
                is_error: false,
            },
        ];
        let second = model
            .complete(&request(history.clone()), &mut |_| {})
            .await
            .unwrap();
        assert_eq!(second.text, "Done.");
        assert_eq!(second.finish_reason, FinishReason::Stop);
        assert!(
            second.usage.input_tokens > 10,
            "estimated: {:?}",
            second.usage
        );

        let mut too_long = history;
        too_long.push(Message::Assistant {
            content: "Done.".into(),
            tool_calls: vec![],
        });
        let error = model
            .complete(&request(too_long), &mut |_| {})
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no turn left: the script has 2 turn(s)"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_failed_expectation_is_a_clear_error_and_unpriced_scripts_are_free() {
        let model = ScriptedModel::new("demo", script(), None);
        let history = vec![
            Message::User {
                content: "go".into(),
            },
            Message::Assistant {
                content: String::new(),
                tool_calls: vec![],
            },
            Message::Tool {
                tool_call_id: "x".into(),
                name: "ls".into(),
                content: "nothing".into(),
                is_error: false,
            },
        ];
        let error = model
            .complete(&request(history), &mut |_| {})
            .await
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expects the last message to contain \"hello.txt\""),
            "{error}"
        );
        let first = model
            .complete(
                &request(vec![Message::User {
                    content: "go".into(),
                }]),
                &mut |_| {},
            )
            .await
            .unwrap();
        assert_eq!(first.cost_usd, Some(0.0));
    }

    #[test]
    fn delay_faults_are_served_to_the_attempts_they_name() {
        let script = Script::parse(
            "[[turns]]\ntext = \"hi\"\nfaults = [{ times = 2, delay_ms = 7 }, { status = 500 }, { delay_ms = 9 }]\n",
            false,
        )
        .unwrap();
        let model = ScriptedModel::new("demo", script.clone(), None);
        let turn = &script.turns[0];
        let delays: Vec<Option<u64>> = (0..5).map(|_| model.fault_delay_ms(0, turn)).collect();
        assert_eq!(delays, vec![Some(7), Some(7), None, Some(9), None]);
        assert_eq!(model.fault_delay_ms(3, turn), None, "no such turn");
    }
}

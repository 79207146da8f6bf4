//! Structured final output (`[output] schema`): the model's final answer must be one JSON
//! value valid against the schema. A wrong answer is sent back with what is wrong, up to
//! `max_attempts` times; then the run ends as `invalid_output`.

use crate::AgentError;

/// The schema of a run's output, compiled once.
pub struct OutputCheck {
    validator: jsonschema::Validator,
    schema_text: String,
    pub max_attempts: u32,
}

impl OutputCheck {
    pub fn new(spec: &rein_spec::spec::OutputSpec) -> Result<OutputCheck, AgentError> {
        let validator = jsonschema::validator_for(&spec.schema).map_err(|err| {
            AgentError::OutputSchema(format!("{}: {err}", spec.schema_path.display()))
        })?;
        Ok(OutputCheck {
            validator,
            schema_text: serde_json::to_string_pretty(&spec.schema).unwrap_or_default(),
            max_attempts: spec.max_attempts,
        })
    }

    /// The value of `answer`, or every problem with it.
    pub fn check(&self, answer: &str) -> Result<serde_json::Value, Vec<String>> {
        let text = json_text(answer);
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|err| vec![format!("the answer is not JSON: {err}")])?;
        let problems: Vec<String> = self
            .validator
            .iter_errors(&value)
            .take(10)
            .map(|error| {
                let at = error.instance_path().to_string();
                let at = if at.is_empty() { "/".to_owned() } else { at };
                format!("at `{at}`: {error}")
            })
            .collect();
        if problems.is_empty() {
            Ok(value)
        } else {
            Err(problems)
        }
    }

    /// What the model is told after a wrong answer.
    pub fn retry_message(&self, problems: &[String], attempt: u32) -> String {
        format!(
            "Your final answer must be one JSON value valid against this JSON Schema, and nothing else. It was not (attempt {attempt} of {}):\n- {}\nThe schema:\n{}\nAnswer again with only the JSON.",
            self.max_attempts,
            problems.join("\n- "),
            self.schema_text
        )
    }
}

/// The JSON in an answer: the whole answer, or the content of its one ```json fence.
fn json_text(answer: &str) -> &str {
    let trimmed = answer.trim();
    if let Some(start) = trimmed.find("```") {
        let after = &trimmed[start + 3..];
        let body_start = after.find('\n').map_or(0, |i| i + 1);
        let body = &after[body_start..];
        if let Some(end) = body.find("```") {
            return body[..end].trim();
        }
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check() -> OutputCheck {
        let spec = rein_spec::spec::OutputSpec {
            schema_path: "t.schema.json".into(),
            schema: serde_json::json!({
                "type": "object",
                "required": ["job", "confidence"],
                "properties": {"job": {"type": "string"}, "confidence": {"type": "number", "maximum": 1}},
                "additionalProperties": false
            }),
            max_attempts: 2,
        };
        OutputCheck::new(&spec).unwrap()
    }

    #[test]
    fn valid_answers_with_or_without_a_fence() {
        let c = check();
        assert!(c.check(r#"{"job": "build", "confidence": 0.5}"#).is_ok());
        assert!(
            c.check("Here:\n```json\n{\"job\": \"x\", \"confidence\": 1}\n```\n")
                .is_ok()
        );
    }

    #[test]
    fn problems_name_where_and_what() {
        let c = check();
        let problems = c
            .check(r#"{"job": 3, "confidence": 2, "extra": true}"#)
            .unwrap_err();
        let text = problems.join("\n");
        assert!(text.contains("at `/job`"), "{text}");
        assert!(text.contains("at `/confidence`"), "{text}");
        assert!(text.contains("extra"), "{text}");
        assert_eq!(c.check("not json").unwrap_err().len(), 1);
        assert!(c.retry_message(&problems, 1).contains("attempt 1 of 2"));
    }
}

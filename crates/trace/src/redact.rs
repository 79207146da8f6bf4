//! Secret redaction: every occurrence of a secret value in any string of an event becomes
//! `***`.

/// Replaces secret values in event data.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    secrets: Vec<String>,
    /// Each secret as it appears inside a JSON string (quotes, backslashes and control
    /// characters escaped), for the fast check on serialized events.
    json_forms: Vec<String>,
}

/// What a secret becomes.
pub const REDACTED: &str = "***";

impl Redactor {
    /// A redactor for these values; empty values are ignored.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|s| !s.is_empty())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let json_forms = secrets
            .iter()
            .map(|secret| {
                let quoted = serde_json::Value::String(secret.clone()).to_string();
                quoted[1..quoted.len() - 1].to_owned()
            })
            .collect();
        Self {
            secrets,
            json_forms,
        }
    }

    /// Whether serialized JSON text may hold a secret (inside a string or a key). A `false`
    /// is certain; a `true` means [`Redactor::redact_value`] has work to do.
    pub fn may_occur_in_json(&self, json_text: &str) -> bool {
        self.json_forms
            .iter()
            .zip(&self.secrets)
            .any(|(escaped, raw)| {
                json_text.contains(escaped.as_str()) || json_text.contains(raw.as_str())
            })
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret replaced.
    pub fn redact_str(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// Redact every string value of a JSON value in place (object keys are left alone).
    pub fn redact_value(&self, value: &mut serde_json::Value) {
        if self.secrets.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(s)
                if self
                    .secrets
                    .iter()
                    .any(|secret| s.contains(secret.as_str())) =>
            {
                *s = self.redact_str(s);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            // Keys are names (fields, variables, headers), never secrets: only values are
            // redacted, so the shape of an event never changes.
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_value(v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_strings_and_nested_values() {
        let redactor = Redactor::new(["sk-123", "sk-123456", ""]);
        let mut value = json!({
            "a": "key sk-123456 and sk-123",
            "list": [1, "x sk-123", {"deep": "sk-123"}],
            "n": 5,
        });
        redactor.redact_value(&mut value);
        assert_eq!(
            value,
            json!({"a": "key *** and ***", "list": [1, "x ***", {"deep": "***"}], "n": 5})
        );
    }

    #[test]
    fn the_fast_check_sees_secrets_in_their_json_escaped_form() {
        let redactor = Redactor::new(["a\"b\\c", "plain"]);
        let text = serde_json::json!({"k": "x a\"b\\c y"}).to_string();
        assert!(redactor.may_occur_in_json(&text), "{text}");
        assert!(redactor.may_occur_in_json(r#"{"plain":1}"#));
        assert!(!redactor.may_occur_in_json(r#"{"k":"nothing here"}"#));
    }

    #[test]
    fn empty_redactor_is_a_no_op() {
        let redactor = Redactor::new(Vec::<String>::new());
        assert!(redactor.is_empty());
        assert_eq!(redactor.redact_str("abc"), "abc");
    }
}

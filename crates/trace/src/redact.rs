//! Secret redaction: every occurrence of a secret value in any string of an event becomes
//! `***`.

/// Replaces secret values in event data.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is replaced whole.
    secrets: Vec<String>,
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
        Self { secrets }
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

    /// Redact every string (and object key) of a JSON value in place.
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
            serde_json::Value::Object(map) => {
                let needs_key_change = map.keys().any(|k| {
                    self.secrets
                        .iter()
                        .any(|secret| k.contains(secret.as_str()))
                });
                if needs_key_change {
                    let old = std::mem::take(map);
                    for (key, mut v) in old {
                        self.redact_value(&mut v);
                        map.insert(self.redact_str(&key), v);
                    }
                } else {
                    map.values_mut().for_each(|v| self.redact_value(v));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_strings_keys_and_nested_values() {
        let redactor = Redactor::new(["sk-123", "sk-123456", ""]);
        let mut value = json!({
            "a": "key sk-123456 and sk-123",
            "sk-123": [1, "x sk-123"],
            "n": 5,
        });
        redactor.redact_value(&mut value);
        assert_eq!(
            value,
            json!({"a": "key *** and ***", "***": [1, "x ***"], "n": 5})
        );
    }

    #[test]
    fn empty_redactor_is_a_no_op() {
        let redactor = Redactor::new(Vec::<String>::new());
        assert!(redactor.is_empty());
        assert_eq!(redactor.redact_str("abc"), "abc");
    }
}

//! `{{ field }}` templates of declared tools: parsed once when the tool is built, filled
//! at each call.
//!
//! Syntax: `{{`, optional spaces, a field name (`[A-Za-z0-9_]`, as in the input schema's
//! `properties`), optional spaces, `}}`. There is no escape: every `{{` opens a
//! placeholder, and one that is not closed or names nothing is an error when the tool is
//! built, not at call time. Filling never re-reads its output, so a value containing
//! `{{ other }}` stays that literal text.

/// One part of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Literal(String),
    Field(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    /// The text as written, for messages and for the policy when a call cannot be filled.
    pub(crate) source: String,
    pub(crate) segments: Vec<Segment>,
}

impl Template {
    /// Parses `text`; `Err` says what is wrong, without the tool's name.
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Literal(rest[..open].to_owned()));
            }
            let after_open = &rest[open + 2..];
            let Some(close) = after_open.find("}}") else {
                return Err(format!(
                    "template `{text}` has a `{{{{` that is not closed by `}}}}`"
                ));
            };
            let name = after_open[..close].trim_matches(' ');
            if name.is_empty()
                || !name
                    .chars()
                    .all(|char| char.is_ascii_alphanumeric() || char == '_')
            {
                return Err(format!(
                    "template `{text}` has the placeholder `{{{{{}}}}}`; a placeholder is `{{{{ field }}}}` with a field name of letters, digits and `_`",
                    &after_open[..close]
                ));
            }
            segments.push(Segment::Field(name.to_owned()));
            rest = &after_open[close + 2..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_owned()));
        }
        Ok(Template {
            source: text.to_owned(),
            segments,
        })
    }

    /// The field names used, in order (repeats included).
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Field(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// The field when the template is exactly one placeholder and nothing else.
    pub(crate) fn whole_field(&self) -> Option<&str> {
        match self.segments.as_slice() {
            [Segment::Field(name)] => Some(name),
            _ => None,
        }
    }

    /// Whether the template has no placeholder.
    pub(crate) fn is_literal(&self) -> bool {
        self.fields().next().is_none()
    }

    /// The text with each placeholder replaced by `fill(field)`.
    pub(crate) fn render<E>(
        &self,
        mut fill: impl FnMut(&str) -> Result<String, E>,
    ) -> Result<String, E> {
        let mut out = String::new();
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Field(name) => out.push_str(&fill(name)?),
            }
        }
        Ok(out)
    }
}

/// Checks that every field a template names is a property of the input schema.
pub(crate) fn check_fields(
    template: &Template,
    known: &[String],
    place: &str,
) -> Result<(), String> {
    for field in template.fields() {
        if !known.iter().any(|name| name == field) {
            let listed = if known.is_empty() {
                "the input schema has no properties".to_owned()
            } else {
                format!("the input schema's properties are: {}", known.join(", "))
            };
            return Err(format!(
                "{place} `{}` uses `{{{{ {field} }}}}`, which is not a property of the input schema ({listed})",
                template.source
            ));
        }
    }
    Ok(())
}

/// Names of the input schema's `properties`.
pub(crate) fn schema_properties(schema: &serde_json::Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// A scalar argument as text: strings as they are, numbers and booleans in JSON form.
/// `None` for null, arrays and objects.
pub(crate) fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_literals_and_placeholders() {
        let template = Template::parse("--run={{ run_id }}x{{n}}").unwrap();
        assert_eq!(
            template.segments,
            vec![
                Segment::Literal("--run=".to_owned()),
                Segment::Field("run_id".to_owned()),
                Segment::Literal("x".to_owned()),
                Segment::Field("n".to_owned()),
            ]
        );
        assert_eq!(template.whole_field(), None);
        assert_eq!(
            Template::parse("{{ id }}").unwrap().whole_field(),
            Some("id")
        );
        assert!(Template::parse("plain").unwrap().is_literal());
    }

    #[test]
    fn broken_placeholders_are_errors() {
        assert_eq!(
            Template::parse("a {{ b").unwrap_err(),
            "template `a {{ b` has a `{{` that is not closed by `}}`"
        );
        assert_eq!(
            Template::parse("{{ a b }}").unwrap_err(),
            "template `{{ a b }}` has the placeholder `{{ a b }}`; a placeholder is `{{ field }}` with a field name of letters, digits and `_`"
        );
        assert!(Template::parse("{{}}").is_err());
    }

    #[test]
    fn rendering_does_not_reread_values() {
        let template = Template::parse("<{{ a }}>").unwrap();
        let out: Result<String, ()> = template.render(|_| Ok("{{ a }}".to_owned()));
        assert_eq!(out, Ok("<{{ a }}>".to_owned()));
    }

    #[test]
    fn unknown_fields_are_named() {
        let template = Template::parse("{{ nope }}").unwrap();
        assert_eq!(
            check_fields(&template, &["id".to_owned()], "argv element").unwrap_err(),
            "argv element `{{ nope }}` uses `{{ nope }}`, which is not a property of the input schema (the input schema's properties are: id)"
        );
    }
}

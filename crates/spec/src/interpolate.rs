//! `${env:…}` / `${secret:…}` interpolation and `{{ var }}` templates in one string.
//!
//! One left-to-right pass over the string as written: substituted values are never scanned
//! again, so an environment variable or a `--var` value containing `${…}` or `{{…}}` stays
//! literal (a `--var` cannot pull a secret into a prompt).
//!
//! - `${env:NAME}`: the variable, an error when unset; `${env:NAME:-default}`: with a default.
//! - `${secret:NAME}`: the environment variable `NAME` as a secret; an error when unset or empty.
//! - `${secret:file:PATH}`: the content of a file (trailing newlines trimmed), relative to
//!   the agent file's folder; an error when it cannot be read or is empty.
//! - `$${` is a literal `${`.
//! - `{{ name }}` (prompts only): the `--var name=…` value; `{{ "text" }}` is `text`
//!   literally (a way to write `{{`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a string may use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site<'a> {
    /// `Some` where `{{ var }}` templates are filled (prompts); elsewhere `{{` is literal.
    pub vars: Option<&'a BTreeMap<String, String>>,
    /// `false` where a secret must not go (the prompt is sent to the model).
    pub secrets_allowed: bool,
    /// A `{{ name }}` with no value stays as written and is listed in
    /// [`Expanded::unset_vars`] instead of being an error (commands that do not run the
    /// agent).
    pub keep_unset_vars: bool,
}

/// The environment and folder interpolation reads from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sources<'a> {
    pub env: &'a BTreeMap<String, String>,
    pub base_dir: &'a Path,
}

#[derive(Debug)]
pub(crate) struct Expanded {
    pub value: String,
    /// Secret values substituted into `value`.
    pub secrets: Vec<String>,
    /// `{{ name }}` templates left as written ([`Site::keep_unset_vars`]), in order: the
    /// name, and where the template is in `value`.
    pub unset_vars: Vec<(String, std::ops::Range<usize>)>,
}

#[derive(Debug)]
pub(crate) struct ExpandError {
    /// Byte offset in the string of the `${` or `{{` that failed.
    pub offset: usize,
    pub kind: ExpandErrorKind,
}

#[derive(Debug)]
pub(crate) enum ExpandErrorKind {
    MissingEnv(String),
    MissingSecret(String),
    SecretFile {
        file: PathBuf,
        source: std::io::Error,
    },
    SecretNotAllowed,
    BadInterpolation {
        message: String,
        hint: Option<String>,
    },
    MissingVar {
        name: String,
        suggestion: Option<String>,
    },
    BadTemplate(String),
}

pub(crate) fn expand(
    text: &str,
    site: Site<'_>,
    sources: Sources<'_>,
) -> Result<Expanded, ExpandError> {
    let mut value = String::with_capacity(text.len());
    let mut secrets = Vec::new();
    let mut unset_vars = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if rest.starts_with("$${") {
            value.push_str("${");
            i += 3;
        } else if rest.starts_with("${") {
            let fail = |kind| ExpandError { offset: i, kind };
            let Some(close) = rest.find('}') else {
                return Err(fail(ExpandErrorKind::BadInterpolation {
                    message: "`${` is not closed".to_owned(),
                    hint: Some("close it with `}`, or write `$${` for a literal `${`".to_owned()),
                }));
            };
            let inner = &rest[2..close];
            let substituted = interpolate(inner, site, sources).map_err(fail)?;
            if let Some(secret) = substituted.1 {
                secrets.push(secret);
            }
            value.push_str(&substituted.0);
            i += close + 1;
        } else if let (Some(vars), true) = (site.vars, rest.starts_with("{{")) {
            let fail = |kind| ExpandError { offset: i, kind };
            let Some(close) = rest[2..].find("}}") else {
                return Err(fail(ExpandErrorKind::BadTemplate(
                    "`{{` is not closed by `}}`".to_owned(),
                )));
            };
            let inner = rest[2..2 + close].trim();
            match template(inner, vars) {
                Ok(filled) => value.push_str(&filled),
                Err(ExpandErrorKind::MissingVar { name, .. }) if site.keep_unset_vars => {
                    let start = value.len();
                    value.push_str(&rest[..2 + close + 2]);
                    unset_vars.push((name, start..value.len()));
                }
                Err(kind) => return Err(fail(kind)),
            }
            i += 2 + close + 2;
        } else {
            let Some(c) = rest.chars().next() else { break };
            value.push(c);
            i += c.len_utf8();
        }
    }
    Ok(Expanded {
        value,
        secrets,
        unset_vars,
    })
}

/// The value of `${inner}`, and the secret it is when it is one.
fn interpolate(
    inner: &str,
    site: Site<'_>,
    sources: Sources<'_>,
) -> Result<(String, Option<String>), ExpandErrorKind> {
    let bad = |message: String, hint: Option<&str>| ExpandErrorKind::BadInterpolation {
        message,
        hint: hint.map(str::to_owned),
    };
    let Some((kind, argument)) = inner.split_once(':') else {
        return Err(bad(
            format!("`${{{inner}}}` does not say where the value comes from"),
            Some(
                "write `${env:NAME}`, `${env:NAME:-default}`, `${secret:NAME}` or `${secret:file:PATH}`",
            ),
        ));
    };
    match kind {
        "env" => {
            let (name, default) = match argument.split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (argument, None),
            };
            check_name(name, inner)?;
            match (sources.env.get(name), default) {
                (Some(value), _) => Ok((value.clone(), None)),
                (None, Some(default)) => Ok((default.to_owned(), None)),
                (None, None) => Err(ExpandErrorKind::MissingEnv(name.to_owned())),
            }
        }
        "secret" => {
            if !site.secrets_allowed {
                return Err(ExpandErrorKind::SecretNotAllowed);
            }
            if let Some(path) = argument.strip_prefix("file:") {
                if path.is_empty() {
                    return Err(bad(
                        "`${secret:file:}` needs a path".to_owned(),
                        Some("write `${secret:file:PATH}`, PATH relative to the agent file"),
                    ));
                }
                let file = sources.base_dir.join(path);
                let content = std::fs::read_to_string(&file).map_err(|source| {
                    ExpandErrorKind::SecretFile {
                        file: file.clone(),
                        source,
                    }
                })?;
                let secret = content.trim_end_matches(['\n', '\r']).to_owned();
                if secret.is_empty() {
                    return Err(ExpandErrorKind::SecretFile {
                        file,
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "the file is empty",
                        ),
                    });
                }
                Ok((secret.clone(), Some(secret)))
            } else {
                check_name(argument, inner)?;
                match sources.env.get(argument) {
                    Some(value) if !value.is_empty() => Ok((value.clone(), Some(value.clone()))),
                    _ => Err(ExpandErrorKind::MissingSecret(argument.to_owned())),
                }
            }
        }
        other => Err(bad(
            format!("unknown source `{other}` in `${{{inner}}}`"),
            Some(
                match crate::raw::closest(other, ["env", "secret"]).as_deref() {
                    Some("secret") => {
                        "did you mean `secret`? write `${secret:NAME}` or `${secret:file:PATH}`"
                    }
                    _ => {
                        "write `${env:NAME}`, `${env:NAME:-default}`, `${secret:NAME}` or `${secret:file:PATH}`"
                    }
                },
            ),
        )),
    }
}

fn check_name(name: &str, inner: &str) -> Result<(), ExpandErrorKind> {
    if is_identifier(name) {
        Ok(())
    } else {
        Err(ExpandErrorKind::BadInterpolation {
            message: format!("`{name}` in `${{{inner}}}` is not a valid variable name"),
            hint: Some("names are letters, digits and `_`, not starting with a digit".to_owned()),
        })
    }
}

fn template(inner: &str, vars: &BTreeMap<String, String>) -> Result<String, ExpandErrorKind> {
    if inner.is_empty() {
        return Err(ExpandErrorKind::BadTemplate(
            "`{{ }}` names no variable".to_owned(),
        ));
    }
    if inner.len() >= 2 && inner.starts_with('"') && inner.ends_with('"') {
        return Ok(inner[1..inner.len() - 1].to_owned());
    }
    if !is_identifier(inner) {
        return Err(ExpandErrorKind::BadTemplate(format!(
            "`{{{{ {inner} }}}}` is not a variable name (letters, digits and `_`)"
        )));
    }
    match vars.get(inner) {
        Some(value) => Ok(value.clone()),
        None => Err(ExpandErrorKind::MissingVar {
            name: inner.to_owned(),
            suggestion: crate::raw::closest(inner, vars.keys().map(String::as_str)),
        }),
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, vars: Option<&BTreeMap<String, String>>) -> String {
        let env = BTreeMap::from([
            ("HOME".to_owned(), "/home/me".to_owned()),
            ("TOKEN".to_owned(), "s3cret".to_owned()),
            ("SNEAKY".to_owned(), "${secret:TOKEN}".to_owned()),
        ]);
        let site = Site {
            vars,
            secrets_allowed: vars.is_none(),
            keep_unset_vars: false,
        };
        let sources = Sources {
            env: &env,
            base_dir: Path::new("/nonexistent"),
        };
        match expand(text, site, sources) {
            Ok(e) => format!("{:?} secrets={:?}", e.value, e.secrets),
            Err(e) => format!("error at {}: {:?}", e.offset, e.kind),
        }
    }

    #[test]
    fn interpolation_cases() {
        let cases = [
            ("plain", r#""plain" secrets=[]"#),
            ("${env:HOME}/x", r#""/home/me/x" secrets=[]"#),
            ("${env:NOPE:-dflt}", r#""dflt" secrets=[]"#),
            ("${env:NOPE:-}", r#""" secrets=[]"#),
            ("${env:HOME:-dflt}", r#""/home/me" secrets=[]"#),
            (
                "Bearer ${secret:TOKEN}",
                r#""Bearer s3cret" secrets=["s3cret"]"#,
            ),
            ("$${env:HOME}", r#""${env:HOME}" secrets=[]"#),
            ("$$x and $y", r#""$$x and $y" secrets=[]"#),
            ("${env:SNEAKY}", r#""${secret:TOKEN}" secrets=[]"#),
            ("{{ x }}", r#""{{ x }}" secrets=[]"#),
            ("ab ${env:NOPE}", r#"error at 3: MissingEnv("NOPE")"#),
            ("${secret:NOPE}", r#"error at 0: MissingSecret("NOPE")"#),
            (
                "${env:HOME",
                r#"error at 0: BadInterpolation { message: "`${` is not closed", hint: Some("close it with `}`, or write `$${` for a literal `${`") }"#,
            ),
            (
                "${HOME}",
                r#"error at 0: BadInterpolation { message: "`${HOME}` does not say where the value comes from", hint: Some("write `${env:NAME}`, `${env:NAME:-default}`, `${secret:NAME}` or `${secret:file:PATH}`") }"#,
            ),
            (
                "${env:A-B}",
                r#"error at 0: BadInterpolation { message: "`A-B` in `${env:A-B}` is not a valid variable name", hint: Some("names are letters, digits and `_`, not starting with a digit") }"#,
            ),
            (
                "${secrte:X}",
                r#"error at 0: BadInterpolation { message: "unknown source `secrte` in `${secrte:X}`", hint: Some("did you mean `secret`? write `${secret:NAME}` or `${secret:file:PATH}`") }"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input, None), expected, "input: {input}");
        }
    }

    #[test]
    fn template_cases() {
        let vars = BTreeMap::from([
            ("repo".to_owned(), "rein".to_owned()),
            ("evil".to_owned(), "${env:HOME} {{ repo }}".to_owned()),
        ]);
        let cases = [
            ("fix {{ repo }}!", r#""fix rein!" secrets=[]"#),
            ("{{repo}}{{ repo }}", r#""reinrein" secrets=[]"#),
            ("{{ evil }}", r#""${env:HOME} {{ repo }}" secrets=[]"#),
            (r#"{{ "{{" }} x }}"#, r#""{{ x }}" secrets=[]"#),
            ("${env:HOME} {{ repo }}", r#""/home/me rein" secrets=[]"#),
            (
                "a {{ rpeo }}",
                r#"error at 2: MissingVar { name: "rpeo", suggestion: Some("repo") }"#,
            ),
            (
                "{{ }}",
                r#"error at 0: BadTemplate("`{{ }}` names no variable")"#,
            ),
            (
                "{{ a b }}",
                r#"error at 0: BadTemplate("`{{ a b }}` is not a variable name (letters, digits and `_`)")"#,
            ),
            (
                "{{ repo",
                r#"error at 0: BadTemplate("`{{` is not closed by `}}`")"#,
            ),
            ("${secret:TOKEN}", "error at 0: SecretNotAllowed"),
        ];
        for (input, expected) in cases {
            assert_eq!(run(input, Some(&vars)), expected, "input: {input}");
        }
    }

    #[test]
    fn unset_templates_stay_as_written_when_asked() {
        let vars = BTreeMap::from([("repo".to_owned(), "rein".to_owned())]);
        let env = BTreeMap::new();
        let site = Site {
            vars: Some(&vars),
            secrets_allowed: false,
            keep_unset_vars: true,
        };
        let sources = Sources {
            env: &env,
            base_dir: Path::new("/nonexistent"),
        };
        let expanded = expand(
            "run {{ run_id }} of {{ repo }}, {{run_id}} {{ other }} {{ \"{{\" }}",
            site,
            sources,
        )
        .unwrap();
        assert_eq!(
            expanded.value,
            "run {{ run_id }} of rein, {{run_id}} {{ other }} {{"
        );
        let names: Vec<&str> = expanded
            .unset_vars
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["run_id", "run_id", "other"]);
        let (_, range) = &expanded.unset_vars[1];
        assert_eq!(&expanded.value[range.clone()], "{{run_id}}");
        // A malformed template is still an error.
        assert!(expand("{{ a b }}", site, sources).is_err());
    }
}

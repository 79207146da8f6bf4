//! Path rules: `[policy.paths] read / write / deny`, globs relative to the workspace.
//!
//! A path is first normalised lexically (no IO): absolute paths, `..` components and NUL
//! bytes are refused, `.` components and repeated `/` dropped. Then:
//!
//! 1. a built-in or user `deny` glob matching the path or any of its parent folders → deny;
//! 2. for writes, a built-in write-deny glob (`.git/config`, `.git/hooks/**`) → deny;
//! 3. if a `read` (or `write`) list is given, the path must match one of its globs;
//! 4. otherwise allow.
//!
//! `*` does not cross `/`; `**` does. Symlinks are not visible here: the file tools must
//! open without following them out of the workspace, and Landlock enforces the same rules
//! on commands.

use std::fmt;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::{Decision, PolicyError};

/// Denied for reading and writing, whatever the configuration says.
pub const BUILTIN_DENY: &[&str] = &[".env", "**/.env", "*.pem", "**/*.pem", "id_*", "**/id_*"];

/// Denied for writing, whatever the configuration says.
pub const BUILTIN_DENY_WRITE: &[&str] = &[
    ".git/config",
    "**/.git/config",
    ".git/hooks",
    ".git/hooks/**",
    "**/.git/hooks",
    "**/.git/hooks/**",
];

/// `[policy.paths]` as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathRulesConfig {
    /// `None`: every path in the workspace may be read (deny rules still apply).
    pub read: Option<Vec<String>>,
    /// `None`: every path in the workspace may be written (deny rules still apply).
    pub write: Option<Vec<String>>,
    /// Added to [`BUILTIN_DENY`].
    pub deny: Vec<String>,
}

#[derive(Debug, Clone)]
struct RuleSet {
    /// Rule name and glob, by index in `set`.
    rules: Vec<(String, String)>,
    set: GlobSet,
}

impl RuleSet {
    fn build(rules: Vec<(String, String)>) -> Result<RuleSet, PolicyError> {
        let mut builder = GlobSetBuilder::new();
        for (rule, pattern) in &rules {
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|source| PolicyError::BadGlob {
                    rule: rule.clone(),
                    pattern: pattern.clone(),
                    source,
                })?;
            builder.add(glob);
        }
        let set = builder.build().map_err(|source| PolicyError::BadGlob {
            rule: "policy.paths".to_string(),
            pattern: String::new(),
            source,
        })?;
        Ok(RuleSet { rules, set })
    }

    /// The first rule (name, glob) matching `path`.
    fn first_match(&self, path: &str) -> Option<&(String, String)> {
        if !self.set.is_match(path) {
            return None;
        }
        self.set
            .matches(path)
            .into_iter()
            .min()
            .and_then(|index| self.rules.get(index))
    }

    /// The first rule matching `path` or one of its parent folders.
    fn first_match_with_parents(&self, path: &str) -> Option<&(String, String)> {
        let mut end = 0;
        let mut found = None;
        for (at, c) in path.char_indices() {
            if c == '/' {
                found = found.or_else(|| self.first_match(&path[..at]));
            }
            end = at + c.len_utf8();
        }
        found.or_else(|| self.first_match(&path[..end]))
    }
}

fn named(section: &str, list: &[impl AsRef<str>]) -> Vec<(String, String)> {
    list.iter()
        .enumerate()
        .map(|(i, pattern)| {
            let pattern = pattern.as_ref();
            (format!("{section}[{i}] \"{pattern}\""), pattern.to_string())
        })
        .collect()
}

/// Compiled path rules.
#[derive(Debug, Clone)]
pub struct PathPolicy {
    read: Option<RuleSet>,
    write: Option<RuleSet>,
    deny: RuleSet,
    deny_write: RuleSet,
}

/// Normalise a workspace-relative path lexically, or say why it is refused.
pub fn normalize_relative(path: &str) -> Result<String, String> {
    if path.contains('\0') {
        return Err("the path contains a NUL byte".to_string());
    }
    if path.starts_with('/') {
        return Err(format!(
            "`{path}` is absolute; paths are relative to the workspace"
        ));
    }
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(format!(
                    "`{path}` contains `..`, which could leave the workspace"
                ));
            }
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Ok(".".to_string());
    }
    Ok(parts.join("/"))
}

const OUTSIDE_RULE: &str = "default: path outside the workspace";

impl PathPolicy {
    pub fn new(config: &PathRulesConfig) -> Result<PathPolicy, PolicyError> {
        let mut deny = named("builtin.paths.deny", BUILTIN_DENY);
        deny.extend(named("policy.paths.deny", &config.deny));
        Ok(PathPolicy {
            read: config
                .read
                .as_ref()
                .map(|list| RuleSet::build(named("policy.paths.read", list)))
                .transpose()?,
            write: config
                .write
                .as_ref()
                .map(|list| RuleSet::build(named("policy.paths.write", list)))
                .transpose()?,
            deny: RuleSet::build(deny)?,
            deny_write: RuleSet::build(named("builtin.paths.deny_write", BUILTIN_DENY_WRITE))?,
        })
    }

    /// May a tool read `path` (relative to the workspace)?
    pub fn check_read(&self, path: &str) -> Decision {
        self.check(path, "read", self.read.as_ref(), false)
    }

    /// May a tool write `path` (relative to the workspace)?
    pub fn check_write(&self, path: &str) -> Decision {
        self.check(path, "write", self.write.as_ref(), true)
    }

    /// The deny rule (name) that matches `path` or a parent, after a lenient lexical
    /// clean-up (leading `/`, `.` and `..` dropped). Used to spot secrets named in command
    /// arguments.
    pub fn denied_name(&self, path: &str) -> Option<&str> {
        let cleaned: Vec<&str> = path
            .split('/')
            .filter(|part| !matches!(*part, "" | "." | ".."))
            .collect();
        if cleaned.is_empty() {
            return None;
        }
        self.deny
            .first_match_with_parents(&cleaned.join("/"))
            .map(|(rule, _)| rule.as_str())
    }

    fn check(&self, path: &str, action: &str, list: Option<&RuleSet>, write: bool) -> Decision {
        let normalized = match normalize_relative(path) {
            Ok(normalized) => normalized,
            Err(reason) => return Decision::deny(reason, OUTSIDE_RULE),
        };
        if let Some((rule, _)) = self.deny.first_match_with_parents(&normalized) {
            return Decision::deny(
                format!("`{normalized}` may not be read or written"),
                rule.clone(),
            );
        }
        if write && let Some((rule, _)) = self.deny_write.first_match_with_parents(&normalized) {
            return Decision::deny(format!("`{normalized}` may not be written"), rule.clone());
        }
        if let Some(list) = list
            && list.first_match(&normalized).is_none()
        {
            let reason = if list.rules.is_empty() {
                format!(
                    "`{normalized}` may not be {action_done}: policy.paths.{action} is empty, so every path is denied",
                    action_done = if write { "written" } else { "read" }
                )
            } else {
                format!("`{normalized}` is not in policy.paths.{action}")
            };
            return Decision::deny(reason, format!("default: not in policy.paths.{action}"));
        }
        Decision::Allow
    }
}

impl fmt::Display for PathPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[policy.paths]")?;
        for (name, doing, list) in [
            ("read", "reading", &self.read),
            ("write", "writing", &self.write),
        ] {
            match list {
                None => writeln!(f, "  {name}: anywhere in the workspace")?,
                Some(list) if list.rules.is_empty() => writeln!(
                    f,
                    "  {name} list is empty: every path is denied for {doing}"
                )?,
                Some(list) => {
                    for (rule, _) in &list.rules {
                        writeln!(f, "  {rule}")?;
                    }
                }
            }
        }
        for (rule, _) in self.deny.rules.iter().chain(&self.deny_write.rules) {
            writeln!(f, "  {rule}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(config: &PathRulesConfig, cases: &[(&str, &str)], expected: Expect) {
        let policy = PathPolicy::new(config).unwrap();
        let lines: Vec<String> = cases
            .iter()
            .map(|(action, path)| {
                let decision = match *action {
                    "read" => policy.check_read(path),
                    _ => policy.check_write(path),
                };
                format!("{action} {path:?}: {decision}")
            })
            .collect();
        expected.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn builtin_denies_hold_without_configuration() {
        check(
            &PathRulesConfig::default(),
            &[
                ("read", "src/main.rs"),
                ("read", ".env"),
                ("read", "app/.env"),
                ("read", "./app//.env"),
                ("read", "certs/server.pem"),
                ("read", "home/.ssh/id_ed25519"),
                ("read", ".env/inside"),
                ("write", ".git/config"),
                ("write", ".git/hooks/pre-commit"),
                ("read", ".git/config"),
                ("write", "sub/.git/hooks/post-checkout"),
                ("read", "/etc/passwd"),
                ("read", "../outside"),
                ("read", "src/../../outside"),
                ("read", ""),
            ],
            expect![[r#"
                read "src/main.rs": allow
                read ".env": deny: `.env` may not be read or written [builtin.paths.deny[0] ".env"]
                read "app/.env": deny: `app/.env` may not be read or written [builtin.paths.deny[1] "**/.env"]
                read "./app//.env": deny: `app/.env` may not be read or written [builtin.paths.deny[1] "**/.env"]
                read "certs/server.pem": deny: `certs/server.pem` may not be read or written [builtin.paths.deny[3] "**/*.pem"]
                read "home/.ssh/id_ed25519": deny: `home/.ssh/id_ed25519` may not be read or written [builtin.paths.deny[5] "**/id_*"]
                read ".env/inside": deny: `.env/inside` may not be read or written [builtin.paths.deny[0] ".env"]
                write ".git/config": deny: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
                write ".git/hooks/pre-commit": deny: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
                read ".git/config": allow
                write "sub/.git/hooks/post-checkout": deny: `sub/.git/hooks/post-checkout` may not be written [builtin.paths.deny_write[4] "**/.git/hooks"]
                read "/etc/passwd": deny: `/etc/passwd` is absolute; paths are relative to the workspace [default: path outside the workspace]
                read "../outside": deny: `../outside` contains `..`, which could leave the workspace [default: path outside the workspace]
                read "src/../../outside": deny: `src/../../outside` contains `..`, which could leave the workspace [default: path outside the workspace]
                read "": allow"#]],
        );
    }

    #[test]
    fn read_and_write_lists() {
        check(
            &PathRulesConfig {
                read: Some(vec!["**".to_string()]),
                write: Some(vec!["src/**".to_string(), "tests/**".to_string()]),
                deny: vec!["secrets/**".to_string()],
            },
            &[
                ("read", "README.md"),
                ("write", "README.md"),
                ("write", "src/lib.rs"),
                ("write", "src/deep/er/mod.rs"),
                ("read", "secrets/token"),
                ("write", "tests/it/main.rs"),
            ],
            expect![[r#"
                read "README.md": allow
                write "README.md": deny: `README.md` is not in policy.paths.write [default: not in policy.paths.write]
                write "src/lib.rs": allow
                write "src/deep/er/mod.rs": allow
                read "secrets/token": deny: `secrets/token` may not be read or written [policy.paths.deny[0] "secrets/**"]
                write "tests/it/main.rs": allow"#]],
        );
    }

    #[test]
    fn a_bad_glob_names_its_rule() {
        let error = PathPolicy::new(&PathRulesConfig {
            read: None,
            write: Some(vec!["src/**".to_string(), "a[".to_string()]),
            deny: Vec::new(),
        })
        .err()
        .map(|error| error.to_string());
        expect![[r#"
            Some(
                "policy.paths.write[1] \"a[\": invalid glob `a[`: error parsing glob 'a[': unclosed character class; missing ']'",
            )
        "#]].assert_debug_eq(&error);
    }
}

//! [`Policy`]: budgets, command, path and network rules together, built from plain config
//! structs (the caller maps `[limits]` and `[policy.*]` of agent.toml into them).

use std::fmt;
use std::net::IpAddr;

use crate::budget::{BudgetState, Limits};
use crate::command::parse::RedirectKind;
use crate::command::{CommandDecision, CommandPolicy, CommandRulesConfig};
use crate::network::{NetworkPolicy, NetworkRulesConfig};
use crate::path::{PathPolicy, PathRulesConfig};
use crate::{Decision, PolicyError};

/// Everything a policy is built from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyConfig {
    pub limits: Limits,
    pub commands: CommandRulesConfig,
    pub paths: PathRulesConfig,
    pub network: NetworkRulesConfig,
}

/// Redirect targets that are not files of the workspace and are always fine.
const DEVICES: &[&str] = &["/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin"];

/// A run's compiled policy.
#[derive(Debug, Clone)]
pub struct Policy {
    limits: Limits,
    commands: CommandPolicy,
    paths: PathPolicy,
    network: NetworkPolicy,
}

impl Policy {
    pub fn new(config: &PolicyConfig) -> Result<Policy, PolicyError> {
        config.limits.validate()?;
        Ok(Policy {
            limits: config.limits,
            commands: CommandPolicy::new(&config.commands)?,
            paths: PathPolicy::new(&config.paths)?,
            network: NetworkPolicy::new(&config.network)?,
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A fresh budget for a run under these limits.
    pub fn budget_state(&self) -> Result<BudgetState, PolicyError> {
        BudgetState::new(self.limits)
    }

    pub fn commands(&self) -> &CommandPolicy {
        &self.commands
    }

    pub fn paths(&self) -> &PathPolicy {
        &self.paths
    }

    pub fn network(&self) -> &NetworkPolicy {
        &self.network
    }

    /// The command rules, then path rules on its redirections (`> file` is a write,
    /// `< file` a read) and on arguments naming a denied path (`cat .env`).
    pub fn check_command(&self, command_line: &str) -> CommandDecision {
        let mut answer = self.commands.check(command_line);
        let mut decision = answer.decision.clone();
        for redirect in &answer.redirects {
            decision = decision.stricter(self.check_redirect(redirect, answer.changes_directory));
        }
        for command in &answer.commands {
            let program = command.argv.first().map_or("", |word| word.text.as_str());
            for file in &command.files {
                decision =
                    decision.stricter(self.check_file(program, file, answer.changes_directory));
            }
            // Unknown words too, as written: `~/.ssh/id_rsa`, `$HOME/.env`.
            for word in command.argv.iter().skip(1) {
                // `--file=.env` names `.env` too.
                let candidate = word.text.rsplit('=').next().unwrap_or(&word.text);
                if let Some(rule) = self.paths.denied_name(candidate) {
                    decision = decision.stricter(Decision::deny(
                        format!("argument `{}` names a denied path", word.text),
                        rule,
                    ));
                }
            }
        }
        answer.decision = decision;
        answer
    }

    fn check_redirect(
        &self,
        redirect: &crate::command::RedirectTarget,
        changes_directory: bool,
    ) -> Decision {
        if !redirect.known {
            return Decision::deny(
                format!(
                    "redirection target `{}` is only known at run time",
                    redirect.path
                ),
                "policy.paths: redirection",
            );
        }
        let path = redirect.path.as_str();
        if DEVICES.contains(&path)
            || path
                .strip_prefix("/dev/fd/")
                .is_some_and(|fd| !fd.is_empty() && fd.chars().all(|c| c.is_ascii_digit()))
        {
            return Decision::Allow;
        }
        if changes_directory && !path.starts_with('/') {
            return Decision::deny(
                format!(
                    "redirection to `{path}` after `cd`: the path is not relative to the workspace"
                ),
                "policy.paths: redirection",
            );
        }
        match redirect.kind {
            RedirectKind::Read => self.paths.check_read(path),
            RedirectKind::Write => self.paths.check_write(path),
            RedirectKind::ReadWrite => self
                .paths
                .check_read(path)
                .stricter(self.paths.check_write(path)),
            RedirectKind::DuplicateFd | RedirectKind::Text => Decision::Allow,
        }
    }

    /// A file a program opens because of its arguments (`sed 'w out'`, `sort -o out`).
    fn check_file(
        &self,
        program: &str,
        file: &crate::command::RedirectTarget,
        changes_directory: bool,
    ) -> Decision {
        let verb = if file.kind == RedirectKind::Read {
            "reads"
        } else {
            "writes"
        };
        if !file.known {
            return Decision::deny(
                format!(
                    "`{program}` {verb} `{}`, a path only known at run time",
                    file.path
                ),
                "policy.paths: command argument",
            );
        }
        if changes_directory && !file.path.starts_with('/') {
            return Decision::deny(
                format!(
                    "`{program}` {verb} `{}` after `cd`: the path is not relative to the workspace",
                    file.path
                ),
                "policy.paths: command argument",
            );
        }
        let decision = self.check_redirect(file, false);
        match decision {
            Decision::Deny { reason, rule } => Decision::deny(
                format!("`{program}` {verb} `{}`: {reason}", file.path),
                rule,
            ),
            other => other,
        }
    }

    pub fn check_read(&self, path: &str) -> Decision {
        self.paths.check_read(path)
    }

    pub fn check_write(&self, path: &str) -> Decision {
        self.paths.check_write(path)
    }

    pub fn check_host(&self, host: &str) -> Decision {
        self.network.check_host(host)
    }

    pub fn check_address(&self, host: &str, ip: IpAddr) -> Decision {
        self.network.check_address(host, ip)
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.limits)?;
        writeln!(f, "[policy.commands]")?;
        match self.commands.allow() {
            None => writeln!(f, "  allow: no list: anything not denied")?,
            Some([]) if self.commands.ask().is_empty() => writeln!(
                f,
                "  commands: allow list is empty: every command is denied"
            )?,
            Some([]) => writeln!(
                f,
                "  commands: allow list is empty: every command is denied, except what `ask` asks a human about"
            )?,
            Some(_) => {}
        }
        for (section, list) in [
            ("allow", self.commands.allow().unwrap_or_default()),
            ("deny", self.commands.deny()),
            ("ask", self.commands.ask()),
        ] {
            for (i, pattern) in list.iter().enumerate() {
                writeln!(f, "  {section}[{i}] \"{}\"", pattern.source())?;
            }
        }
        for (i, rule) in self.commands.deny_options().iter().enumerate() {
            writeln!(f, "  deny_options[{i}] \"{}\"", rule.source())?;
        }
        let env: Vec<&str> = self
            .commands
            .allow_env()
            .iter()
            .map(|name| name.source())
            .collect();
        if env.is_empty() {
            writeln!(
                f,
                "  allow_env list is empty: every environment assignment is denied"
            )?;
        } else {
            writeln!(f, "  allow_env = {}", env.join(" "))?;
        }
        write!(f, "{}", self.paths)?;
        write!(f, "{}", self.network)
    }
}

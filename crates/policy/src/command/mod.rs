//! Command rules: `[policy.commands] allow / deny / ask / deny_options / allow_env`.
//!
//! [`CommandPolicy::check`] parses a shell command line ([`parse`]), finds every program it
//! would run with wrappers unwrapped ([`analyze`]), and checks each one:
//!
//! 1. assignments (`FOO=1 cmd`, `env FOO=1 cmd`, `export FOO=1`) only to `allow_env` names;
//! 2. `deny` patterns (loose match; uncertain counts) → deny;
//! 3. `deny_options` rules (uncertain counts) → deny; then, built in, a known program's
//!    code-running forms (`sed 'e …'`, `awk` `system()`, `tar --to-command`, `git -c`…)
//!    → deny; the files it writes or reads by its arguments are reported for the path
//!    rules (`programs`);
//! 4. `ask` patterns (loose match; uncertain counts) → ask;
//! 5. with an `allow` list, an invocation no allow pattern matches for certain → deny.
//!
//! The line's decision is the strictest of its invocations' (deny beats ask beats allow).
//! A line that cannot be fully decomposed is denied as a whole.

pub mod analyze;
pub mod parse;
pub mod pattern;
mod programs;

use std::collections::HashMap;

use crate::Decision;
use crate::PolicyError;
use analyze::Invocation;
use parse::{RedirectKind, Word};
use pattern::{CommandPattern, EnvName, Match, OptionRule};

pub use pattern::{default_allow_env, default_deny_options};

/// The rule name of every refusal of the parser.
pub const PARSER_RULE: &str = "parser: cannot be proven safe";

/// The rule name (followed by `.PROGRAM`) when a program's arguments run code rein cannot
/// check or cannot be read (`sed 'e …'`, `awk -f`, `tar --to-command`…). Always on.
pub const BUILTIN_RULE: &str = "builtin.commands";

/// The rule name when an allow list exists and nothing in it matched.
pub const NOT_ALLOWED_RULE: &str = "default: not in allow list";

/// `[policy.commands]` as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRulesConfig {
    /// `None`: every command not denied is allowed. `Some` (even empty): whatever no
    /// pattern allows is denied, so an empty list denies every command.
    pub allow: Option<Vec<String>>,
    pub deny: Vec<String>,
    pub ask: Vec<String>,
    /// Defaults to [`default_deny_options`].
    pub deny_options: Vec<String>,
    /// Defaults to [`default_allow_env`].
    pub allow_env: Vec<String>,
}

impl Default for CommandRulesConfig {
    fn default() -> CommandRulesConfig {
        CommandRulesConfig {
            allow: None,
            deny: Vec::new(),
            ask: Vec::new(),
            deny_options: default_deny_options(),
            allow_env: default_allow_env(),
        }
    }
}

/// Compiled command rules.
#[derive(Debug, Clone)]
pub struct CommandPolicy {
    /// `None`: no allow list.
    allow: Option<Vec<CommandPattern>>,
    deny: Vec<CommandPattern>,
    ask: Vec<CommandPattern>,
    deny_options: Vec<OptionRule>,
    /// Indices into `deny_options` by program name; rules whose program has a `*` are in
    /// `options_for_any_program`.
    options_by_program: HashMap<String, Vec<usize>>,
    options_for_any_program: Vec<usize>,
    allow_env: Vec<EnvName>,
}

/// One program a command line would run, and what the rules say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecomposedCommand {
    /// Empty for a bare assignment.
    pub argv: Vec<Word>,
    /// `NAME=value` given to this command.
    pub assignments: Vec<String>,
    /// The wrapper that runs it (`sudo`, `xargs`, `sh`, `find`…).
    pub via: Option<String>,
    /// More arguments are appended at run time (`xargs CMD`, `find -exec CMD {} +`).
    pub appended_unknown: bool,
    pub decision: Decision,
    /// Files the program itself would write or read because of its arguments (`sed
    /// 'w out'`, `sort -o out`, `tee out`, `git log --output=out`…), for the path rules.
    pub files: Vec<RedirectTarget>,
}

/// A redirection's target, for path rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget {
    pub kind: RedirectKind,
    /// The path as written (after quote removal when `known`).
    pub path: String,
    /// False when the target is only known at run time (`> $F`, `> *.txt`, `> ~/x`).
    pub known: bool,
}

/// The answer for a whole command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandDecision {
    pub decision: Decision,
    /// Every program that would run, wrappers and what they run included. Empty when the
    /// line was refused by the parser.
    pub commands: Vec<DecomposedCommand>,
    /// Redirections to or from a file (not `2>&1`, here-strings or here-documents).
    pub redirects: Vec<RedirectTarget>,
    /// `cd`, `pushd` or `popd` appears in the line.
    pub changes_directory: bool,
}

impl DecomposedCommand {
    /// The argv as a command line would show it.
    pub fn display(&self) -> String {
        let mut parts = self.assignments.clone();
        parts.push(render_argv(&self.argv));
        parts.join(" ").trim().to_string()
    }
}

fn rule_name(section: &str, index: usize, source: &str) -> String {
    format!("policy.commands.{section}[{index}] \"{source}\"")
}

fn render_argv(argv: &[Word]) -> String {
    argv.iter().map(Word::display).collect::<Vec<_>>().join(" ")
}

impl CommandPolicy {
    pub fn new(config: &CommandRulesConfig) -> Result<CommandPolicy, PolicyError> {
        fn patterns(section: &str, list: &[String]) -> Result<Vec<CommandPattern>, PolicyError> {
            list.iter()
                .enumerate()
                .map(|(i, source)| {
                    CommandPattern::parse(&format!("policy.commands.{section}[{i}]"), source)
                })
                .collect()
        }
        let deny_options: Vec<OptionRule> = config
            .deny_options
            .iter()
            .enumerate()
            .map(|(i, source)| {
                OptionRule::parse(&format!("policy.commands.deny_options[{i}]"), source)
            })
            .collect::<Result<_, _>>()?;
        let mut options_by_program: HashMap<String, Vec<usize>> = HashMap::new();
        let mut options_for_any_program = Vec::new();
        for (i, rule) in deny_options.iter().enumerate() {
            if rule.program().contains('*') {
                options_for_any_program.push(i);
            } else {
                options_by_program
                    .entry(rule.program().to_string())
                    .or_default()
                    .push(i);
            }
        }
        Ok(CommandPolicy {
            allow: config
                .allow
                .as_deref()
                .map(|list| patterns("allow", list))
                .transpose()?,
            deny: patterns("deny", &config.deny)?,
            ask: patterns("ask", &config.ask)?,
            deny_options,
            options_by_program,
            options_for_any_program,
            allow_env: config
                .allow_env
                .iter()
                .enumerate()
                .map(|(i, source)| {
                    EnvName::parse(&format!("policy.commands.allow_env[{i}]"), source)
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// The allow list; `None` when there is none (every command not denied is allowed).
    /// An empty list denies every command.
    pub fn allow(&self) -> Option<&[CommandPattern]> {
        self.allow.as_deref()
    }

    pub fn deny(&self) -> &[CommandPattern] {
        &self.deny
    }

    pub fn ask(&self) -> &[CommandPattern] {
        &self.ask
    }

    pub fn deny_options(&self) -> &[OptionRule] {
        &self.deny_options
    }

    pub fn allow_env(&self) -> &[EnvName] {
        &self.allow_env
    }

    /// Decide about a whole shell command line.
    pub fn check(&self, command_line: &str) -> CommandDecision {
        let analysis = match analyze::analyze(command_line) {
            Ok(analysis) => analysis,
            Err(refusal) => {
                return CommandDecision {
                    decision: Decision::deny(
                        format!("cannot be proven safe: {refusal}"),
                        PARSER_RULE,
                    ),
                    commands: Vec::new(),
                    redirects: Vec::new(),
                    changes_directory: false,
                };
            }
        };
        let commands: Vec<DecomposedCommand> = analysis
            .invocations
            .iter()
            .map(|invocation| {
                let (decision, files) = self.check_invocation(invocation);
                DecomposedCommand {
                    argv: invocation.argv.clone(),
                    assignments: invocation
                        .assignments
                        .iter()
                        .map(|(name, value)| format!("{name}={}", value.display()))
                        .collect(),
                    via: invocation.via.clone(),
                    appended_unknown: invocation.appended_unknown,
                    decision,
                    files,
                }
            })
            .collect();
        let mut decision = if commands.is_empty() {
            Decision::deny("the command line runs nothing", PARSER_RULE)
        } else {
            Decision::Allow
        };
        for command in &commands {
            decision = decision.stricter(command.decision.clone());
        }
        let redirects = analysis
            .redirects
            .iter()
            .filter(|redirect| {
                matches!(
                    redirect.kind,
                    RedirectKind::Read | RedirectKind::Write | RedirectKind::ReadWrite
                )
            })
            .map(|redirect| RedirectTarget {
                kind: redirect.kind,
                path: redirect.target.text.clone(),
                known: redirect.target.known,
            })
            .collect();
        CommandDecision {
            decision,
            commands,
            redirects,
            changes_directory: analysis.changes_directory,
        }
    }

    /// The decision about one invocation, and the files it would open by its arguments.
    fn check_invocation(&self, invocation: &Invocation) -> (Decision, Vec<RedirectTarget>) {
        let mut files = Vec::new();
        let decision = self.decide_invocation(invocation, &mut files);
        (decision, files)
    }

    fn decide_invocation(
        &self,
        invocation: &Invocation,
        files: &mut Vec<RedirectTarget>,
    ) -> Decision {
        for (name, _) in &invocation.assignments {
            if !self.allow_env.iter().any(|allowed| allowed.matches(name)) {
                return Decision::deny(
                    format!(
                        "setting `{name}` can change what a program runs; it is not in policy.commands.allow_env"
                    ),
                    "policy.commands.allow_env",
                );
            }
        }
        let argv = &invocation.argv;
        let empty_allow_list = self.allow.as_ref().is_some_and(Vec::is_empty);
        if argv.is_empty() {
            if empty_allow_list {
                return Decision::deny(
                    "policy.commands.allow is empty, so every command line is denied",
                    NOT_ALLOWED_RULE,
                );
            }
            return Decision::Allow;
        }
        let shown = || render_argv(argv);
        let appended = invocation.appended_unknown;
        let uncertain_note = |matched: Match| {
            if matched == Match::Maybe {
                " (it may match: some arguments are only known at run time)"
            } else {
                ""
            }
        };
        for (i, pattern) in self.deny.iter().enumerate() {
            let matched = pattern.matches_loose(argv, appended);
            if matched != Match::No {
                return Decision::deny(
                    format!("`{}` is denied{}", shown(), uncertain_note(matched)),
                    rule_name("deny", i, pattern.source()),
                );
            }
        }
        let program = pattern::basename(&argv[0].text);
        let mut option_rules: Vec<usize> = self
            .options_by_program
            .get(program)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .chain(&self.options_for_any_program)
            .copied()
            .collect();
        option_rules.sort_unstable();
        for i in option_rules {
            let rule = &self.deny_options[i];
            let matched = rule.matches(argv, appended);
            if matched != Match::No {
                return Decision::deny(
                    format!(
                        "`{}` uses `{}`, which can run other commands or write outside the rules{}",
                        shown(),
                        rule.source(),
                        uncertain_note(matched)
                    ),
                    rule_name("deny_options", i, rule.source()),
                );
            }
        }
        // What the program does with its arguments: code it runs is refused whatever the
        // allow list says; files it writes or reads go to the path rules.
        match programs::effects(argv, appended) {
            Ok(effects) => *files = effects.opens,
            Err(reason) => {
                return Decision::deny(
                    format!("`{}`: {reason}", shown()),
                    format!("{BUILTIN_RULE}.{program}"),
                );
            }
        }
        for (i, pattern) in self.ask.iter().enumerate() {
            let matched = pattern.matches_loose(argv, appended);
            if matched != Match::No {
                return Decision::ask(
                    format!("`{}` needs approval{}", shown(), uncertain_note(matched)),
                    rule_name("ask", i, pattern.source()),
                );
            }
        }
        // `set` with the options analysis let through only changes shell options.
        let shell_options_only = argv.len() > 1 && argv[0].known && argv[0].text == "set";
        let Some(allow) = &self.allow else {
            return Decision::Allow;
        };
        if allow.is_empty() {
            return Decision::deny(
                format!(
                    "`{}` is not allowed: policy.commands.allow is empty, so every command is denied",
                    shown()
                ),
                NOT_ALLOWED_RULE,
            );
        }
        if shell_options_only {
            return Decision::Allow;
        }
        let mut uncertain = false;
        for pattern in allow {
            match pattern.matches_prefix(argv, appended) {
                Match::Yes => return Decision::Allow,
                Match::Maybe => uncertain = true,
                Match::No => {}
            }
        }
        Decision::deny(
            if uncertain {
                format!(
                    "`{}` is not in policy.commands.allow for certain: some arguments are only known at run time",
                    shown()
                )
            } else {
                format!("`{}` is not in policy.commands.allow", shown())
            },
            NOT_ALLOWED_RULE,
        )
    }
}

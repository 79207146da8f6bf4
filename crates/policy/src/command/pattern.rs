//! Command patterns (`allow`, `deny`, `ask`), option rules (`deny_options`) and
//! environment names (`allow_env`), and how they match an argv.
//!
//! A pattern is words separated by spaces: the program, then arguments. `*` as a whole word
//! matches any one word, or any rest when it is the last word; `*` inside a word matches
//! any characters. Allow patterns are strict argv prefixes; deny and ask patterns are
//! loose (see [`CommandPattern::matches_loose`]) so a reordering or an extra global option
//! does not slip past them. Words only known at run time make a match uncertain
//! ([`Match::Maybe`]): that counts as a match for deny and ask, and as no match for allow.

use crate::PolicyError;
use crate::command::parse::Word;

/// The outcome of matching a rule against an argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    Yes,
    No,
    /// A word only known at run time could make it match.
    Maybe,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Glob(String),
    AnyOne,
    AnyRest,
}

impl Token {
    fn parse(word: &str, last: bool) -> Token {
        if word == "*" {
            if last { Token::AnyRest } else { Token::AnyOne }
        } else if word.contains('*') {
            Token::Glob(word.to_string())
        } else {
            Token::Literal(word.to_string())
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Token::Literal(literal) => literal == text,
            Token::Glob(glob) => wildcard_match(glob, text),
            Token::AnyOne | Token::AnyRest => true,
        }
    }

    /// `-rf`: a cluster of short options, matched letter by letter.
    fn short_cluster(&self) -> Option<&str> {
        match self {
            Token::Literal(literal) => {
                let letters = literal.strip_prefix('-')?;
                (!letters.is_empty()
                    && !letters.starts_with('-')
                    && letters.chars().all(|c| c.is_ascii_alphabetic()))
                .then_some(letters)
            }
            _ => None,
        }
    }
}

/// `*` matches any characters (including none); everything else is literal.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == text;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, rest) = match parts.split_first() {
        Some(split) => split,
        None => return pattern == text,
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let (last, middle) = match rest.split_last() {
        Some(split) => split,
        None => return true,
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

/// The last path component of a program name: `/usr/bin/git` → `git`.
pub(crate) fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

const FORBIDDEN_IN_PATTERNS: &[char] = &[
    '\'', '"', '\\', '$', '`', ';', '&', '|', '<', '>', '(', ')', '\n',
];

fn split_pattern(rule: &str, source: &str) -> Result<Vec<String>, PolicyError> {
    let bad = |reason: String| PolicyError::BadCommandPattern {
        rule: rule.to_string(),
        pattern: source.to_string(),
        reason,
    };
    let words: Vec<String> = source.split_whitespace().map(str::to_string).collect();
    let Some(program) = words.first() else {
        return Err(bad("a pattern needs at least a program name".to_string()));
    };
    if program.starts_with('-') {
        return Err(bad(
            "a pattern starts with the program name, not an option".to_string()
        ));
    }
    Ok(words)
}

/// An `allow`, `deny` or `ask` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandPattern {
    source: String,
    program: Token,
    args: Vec<Token>,
}

impl CommandPattern {
    /// Parse `source`; `rule` names it in errors, e.g. `policy.commands.allow[2]`.
    pub fn parse(rule: &str, source: &str) -> Result<CommandPattern, PolicyError> {
        if let Some(c) = source.chars().find(|c| FORBIDDEN_IN_PATTERNS.contains(c)) {
            return Err(PolicyError::BadCommandPattern {
                rule: rule.to_string(),
                pattern: source.to_string(),
                reason: format!(
                    "`{}` is not allowed: a pattern is plain words separated by spaces",
                    c.escape_default()
                ),
            });
        }
        let words = split_pattern(rule, source)?;
        let count = words.len();
        let program = Token::parse(&words[0], false);
        let args = words[1..]
            .iter()
            .enumerate()
            .map(|(i, word)| Token::parse(word, i + 2 == count))
            .collect();
        Ok(CommandPattern {
            source: words.join(" "),
            program,
            args,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Strict: the program is exactly argv[0] and the words are a prefix of the argv.
    pub fn matches_prefix(&self, argv: &[Word], appended_unknown: bool) -> Match {
        let Some(program) = argv.first() else {
            return Match::No;
        };
        if !program.known || !self.program.matches(&program.text) {
            return Match::No;
        }
        for (i, token) in self.args.iter().enumerate() {
            if *token == Token::AnyRest {
                return Match::Yes;
            }
            let Some(word) = argv.get(i + 1) else {
                return if appended_unknown {
                    Match::Maybe
                } else {
                    Match::No
                };
            };
            if !word.known {
                return Match::Maybe;
            }
            if !token.matches(&word.text) {
                return Match::No;
            }
        }
        Match::Yes
    }

    /// Loose: the program matches argv[0] or its basename; the other words appear in the
    /// argv in order, not necessarily next to each other; a short-option cluster such as
    /// `-rf` matches when each letter is given in some short-option word (`-r -f`, `-fr`).
    pub fn matches_loose(&self, argv: &[Word], appended_unknown: bool) -> Match {
        let Some(program) = argv.first() else {
            return Match::No;
        };
        if !program.known
            || !(self.program.matches(&program.text)
                || self.program.matches(basename(&program.text)))
        {
            return Match::No;
        }
        let args = &argv[1..];
        let any_unknown = args.iter().any(|word| !word.known) || appended_unknown;
        let any_unknown_option =
            args.iter().any(|word| !word.known && word.may_be_option) || appended_unknown;
        let mut uncertain = false;
        let mut next = 0;
        for token in &self.args {
            if *token == Token::AnyRest {
                break;
            }
            if let Some(letters) = token.short_cluster() {
                let all_given = letters.chars().all(|letter| {
                    args.iter()
                        .any(|word| word.known && short_option_has(&word.text, letter))
                });
                if !all_given {
                    if any_unknown_option {
                        uncertain = true;
                    } else {
                        return Match::No;
                    }
                }
                continue;
            }
            if *token == Token::AnyOne {
                if next < args.len() {
                    next += 1;
                } else if appended_unknown {
                    uncertain = true;
                } else {
                    return Match::No;
                }
                continue;
            }
            match args[next.min(args.len())..]
                .iter()
                .position(|word| word.known && token.matches(&word.text))
            {
                Some(at) => next += at + 1,
                None if any_unknown => uncertain = true,
                None => return Match::No,
            }
        }
        if uncertain { Match::Maybe } else { Match::Yes }
    }
}

/// `-abc` contains the short option `letter` (not `--long`).
fn short_option_has(word: &str, letter: char) -> bool {
    word.strip_prefix('-')
        .is_some_and(|letters| !letters.starts_with('-') && letters.contains(letter))
}

/// What a `deny_options` entry looks for after the program (and its required words).
#[derive(Debug, Clone, PartialEq, Eq)]
enum OptionToken {
    /// The program (with its required words) is denied outright.
    Program,
    /// `-i`: in any cluster of short options (`-ni`, `-i.bak`).
    Short(char),
    /// `--in-place`: as `--in-place`, `--in-place=…`, or an abbreviation (`--in-pl`).
    Long(String),
    /// `-exec` (find-style single-dash long option): the exact word.
    SingleDashLong(String),
    /// `*system(*`: any argument matching the wildcard.
    ArgumentGlob(String),
}

/// A `deny_options` entry: `PROGRAM [WORD…] [OPTION]`.
///
/// `"git -c"`, `"sed --in-place"`, `"find -exec"`, `"git rebase --exec"` (the word
/// `rebase` must appear), `"awk *system(*"` (an argument containing `system(`), `"less"`
/// (the program itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionRule {
    source: String,
    program: String,
    required_words: Vec<String>,
    option: OptionToken,
}

impl OptionRule {
    pub fn parse(rule: &str, source: &str) -> Result<OptionRule, PolicyError> {
        if let Some(c) = source
            .chars()
            .find(|c| matches!(c, '\'' | '"' | '\\' | '$' | '`' | '\n'))
        {
            return Err(PolicyError::BadCommandPattern {
                rule: rule.to_string(),
                pattern: source.to_string(),
                reason: format!("`{}` is not allowed in an option rule", c.escape_default()),
            });
        }
        let mut words = split_pattern(rule, source)?;
        let program = words.remove(0);
        let option = match words.last() {
            Some(last) if last.starts_with("--") && last.len() > 2 => {
                OptionToken::Long(last[2..].split('=').next().unwrap_or_default().to_string())
            }
            Some(last) if last.starts_with('-') && last.chars().count() == 2 => {
                OptionToken::Short(last.chars().nth(1).unwrap_or('-'))
            }
            Some(last) if last.starts_with('-') && last.len() > 2 => {
                OptionToken::SingleDashLong(last.clone())
            }
            Some(last) if last.contains('*') => OptionToken::ArgumentGlob(last.clone()),
            _ => OptionToken::Program,
        };
        if option != OptionToken::Program {
            words.pop();
        }
        if option == OptionToken::Short('-') || option == OptionToken::Long(String::new()) {
            return Err(PolicyError::BadCommandPattern {
                rule: rule.to_string(),
                pattern: source.to_string(),
                reason: "`-` or `--` alone is not an option".to_string(),
            });
        }
        Ok(OptionRule {
            source: source.split_whitespace().collect::<Vec<_>>().join(" "),
            program,
            required_words: words,
            option,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The program this rule is about (compared with the basename of argv[0]).
    pub fn program(&self) -> &str {
        &self.program
    }

    pub fn matches(&self, argv: &[Word], appended_unknown: bool) -> Match {
        let Some(program) = argv.first() else {
            return Match::No;
        };
        if !program.known || !wildcard_match(&self.program, basename(&program.text)) {
            return Match::No;
        }
        let args = &argv[1..];
        let any_unknown = args.iter().any(|word| !word.known) || appended_unknown;
        let any_unknown_option =
            args.iter().any(|word| !word.known && word.may_be_option) || appended_unknown;
        let mut uncertain = false;
        for required in &self.required_words {
            if !args
                .iter()
                .any(|word| word.known && wildcard_match(required, &word.text))
            {
                if any_unknown {
                    uncertain = true;
                } else {
                    return Match::No;
                }
            }
        }
        let known_args = args
            .iter()
            .filter(|word| word.known)
            .map(|word| word.text.as_str());
        let (found, unknown_could) = match &self.option {
            OptionToken::Program => (true, false),
            OptionToken::Short(letter) => (
                known_args
                    .clone()
                    .any(|word| short_option_has(word, *letter)),
                any_unknown_option,
            ),
            OptionToken::Long(name) => (
                known_args.clone().any(|word| {
                    word.strip_prefix("--").is_some_and(|given| {
                        let given = given.split('=').next().unwrap_or_default();
                        !given.is_empty() && name.starts_with(given)
                    })
                }),
                any_unknown_option,
            ),
            OptionToken::SingleDashLong(option) => (
                known_args.clone().any(|word| word == option),
                any_unknown_option,
            ),
            OptionToken::ArgumentGlob(glob) => (
                known_args.clone().any(|word| wildcard_match(glob, word)),
                any_unknown,
            ),
        };
        if found {
            if uncertain { Match::Maybe } else { Match::Yes }
        } else if unknown_could {
            Match::Maybe
        } else {
            Match::No
        }
    }
}

/// The default `deny_options`: options and programs known to run other commands, load
/// code or write where they should not.
pub fn default_deny_options() -> Vec<String> {
    [
        // git: configuration on the command line can set core.pager, core.sshCommand,
        // core.fsmonitor, alias.* = !cmd …
        "git -c",
        "git --config-env",
        "git --exec-path",
        "git --upload-pack",
        "git --receive-pack",
        "git config",
        "git rebase --exec",
        "git rebase -x",
        "git bisect run",
        "git submodule foreach",
        // find: run, delete or write
        "find -exec",
        "find -execdir",
        "find -ok",
        "find -okdir",
        "find -delete",
        "find -fprint",
        "find -fprint0",
        "find -fprintf",
        "find -fls",
        // sed: in-place edits
        "sed -i",
        "sed --in-place",
        // awk: system(), pipes to commands, loading extensions
        "awk *system*",
        "awk *|*",
        "gawk *system*",
        "gawk *|*",
        "gawk --load",
        "gawk -l",
        "mawk *system*",
        "mawk *|*",
        "nawk *system*",
        "nawk *|*",
        // tar: commands on extraction or checkpoints
        "tar --to-command",
        "tar --checkpoint-action",
        "tar --use-compress-program",
        "tar -I",
        "tar --info-script",
        "tar --new-volume-script",
        "tar -F",
        "tar --rsh-command",
        "tar --rmt-command",
        // rsync: remote shell and remote program
        "rsync -e",
        "rsync --rsh",
        "rsync --rsync-path",
        // cargo: --config can set target.*.runner, a command
        "cargo --config",
        // pagers and editors run commands
        "less",
        "more",
        "most",
        "man",
        "vi",
        "vim",
        "nvim",
        "ex",
        "emacs",
    ]
    .iter()
    .map(|rule| rule.to_string())
    .collect()
}

/// The default `allow_env`: variables an agent may set for a command. Anything else
/// (`PATH`, `LD_PRELOAD`, `GIT_*`, `PAGER`, `HOME`, `BASH_ENV`, `RUSTFLAGS`…) can change
/// what an allowed program runs and is denied.
pub fn default_allow_env() -> Vec<String> {
    [
        "LANG",
        "LANGUAGE",
        "LC_*",
        "TZ",
        "TERM",
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "FORCE_COLOR",
        "COLUMNS",
        "LINES",
        "CI",
        "RUST_BACKTRACE",
        "RUST_LOG",
        "RUST_TEST_THREADS",
        "CARGO_TERM_COLOR",
        "CARGO_INCREMENTAL",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "DEBIAN_FRONTEND",
    ]
    .iter()
    .map(|name| name.to_string())
    .collect()
}

/// An `allow_env` entry: `NAME` or `PREFIX*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvName {
    source: String,
}

impl EnvName {
    pub fn parse(rule: &str, source: &str) -> Result<EnvName, PolicyError> {
        let name = source.strip_suffix('*').unwrap_or(source);
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(PolicyError::BadEnvName {
                rule: rule.to_string(),
                name: source.to_string(),
            });
        }
        Ok(EnvName {
            source: source.to_string(),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, name: &str) -> bool {
        wildcard_match(&self.source, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Word> {
        line.split_whitespace()
            .map(|word| {
                if let Some(unknown) = word.strip_prefix('?') {
                    Word::unknown(unknown, true)
                } else {
                    Word::known(word)
                }
            })
            .collect()
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*system(*", "BEGIN{system(\"id\")}"));
        assert!(wildcard_match("a*", "a"));
        assert!(wildcard_match("*.rs", "main.rs"));
        assert!(!wildcard_match("*.rs", "main.rsx"));
        assert!(!wildcard_match("a*b*c", "acb"));
        assert!(wildcard_match("a*b*c", "aXbYc"));
        assert!(!wildcard_match("ab*ab", "ab"));
    }

    #[test]
    fn prefix_and_loose_matching() {
        let git_status = CommandPattern::parse("allow[0]", "git status").unwrap();
        assert_eq!(
            git_status.matches_prefix(&words("git status -s"), false),
            Match::Yes
        );
        assert_eq!(
            git_status.matches_prefix(&words("git -C x status"), false),
            Match::No
        );
        assert_eq!(
            git_status.matches_prefix(&words("/usr/bin/git status"), false),
            Match::No
        );
        assert_eq!(
            git_status.matches_prefix(&words("git ?$X"), false),
            Match::Maybe
        );
        assert_eq!(git_status.matches_prefix(&words("git"), true), Match::Maybe);

        let git_push = CommandPattern::parse("deny[0]", "git push").unwrap();
        assert_eq!(
            git_push.matches_loose(&words("git -C x push origin"), false),
            Match::Yes
        );
        assert_eq!(
            git_push.matches_loose(&words("/usr/bin/git push"), false),
            Match::Yes
        );
        assert_eq!(
            git_push.matches_loose(&words("git status"), false),
            Match::No
        );
        assert_eq!(
            git_push.matches_loose(&words("git ?$X"), false),
            Match::Maybe
        );

        let rm_rf = CommandPattern::parse("deny[1]", "rm -rf *").unwrap();
        assert_eq!(rm_rf.matches_loose(&words("rm -r -f /"), false), Match::Yes);
        assert_eq!(rm_rf.matches_loose(&words("rm -fr /"), false), Match::Yes);
        assert_eq!(rm_rf.matches_loose(&words("rm -r x"), false), Match::No);
        assert_eq!(rm_rf.matches_loose(&words("rm -r x"), true), Match::Maybe);
    }

    #[test]
    fn option_rules() {
        let sed_i = OptionRule::parse("r", "sed -i").unwrap();
        assert_eq!(sed_i.matches(&words("sed -ni s/a/b/ f"), false), Match::Yes);
        assert_eq!(sed_i.matches(&words("sed -n p f"), false), Match::No);
        assert_eq!(sed_i.matches(&words("sed -n p ?$F"), false), Match::Maybe);
        let in_place = OptionRule::parse("r", "sed --in-place").unwrap();
        assert_eq!(
            in_place.matches(&words("sed --in-pl=.bak x"), false),
            Match::Yes
        );
        assert_eq!(in_place.matches(&words("sed -- x"), false), Match::No);
        let exec = OptionRule::parse("r", "find -exec").unwrap();
        assert_eq!(
            exec.matches(&words("/usr/bin/find . -exec rm"), false),
            Match::Yes
        );
        assert_eq!(exec.matches(&words("find . -executable"), false), Match::No);
        let rebase = OptionRule::parse("r", "git rebase -x").unwrap();
        assert_eq!(
            rebase.matches(&words("git rebase -x sh main"), false),
            Match::Yes
        );
        assert_eq!(
            rebase.matches(&words("git cherry-pick -x abc"), false),
            Match::No
        );
        let less = OptionRule::parse("r", "less").unwrap();
        assert_eq!(less.matches(&words("less README"), false), Match::Yes);
        let awk = OptionRule::parse("r", "awk *system*").unwrap();
        assert_eq!(
            awk.matches(&words("awk BEGIN{system(\"id\")}"), false),
            Match::Yes
        );
        assert_eq!(awk.matches(&words("awk {print}"), false), Match::No);
    }

    #[test]
    fn bad_patterns_name_the_rule() {
        let errors: Vec<String> = [
            CommandPattern::parse("policy.commands.allow[0]", "").map(|_| ()),
            CommandPattern::parse("policy.commands.allow[1]", "git status; rm").map(|_| ()),
            CommandPattern::parse("policy.commands.deny[0]", "-rf").map(|_| ()),
            OptionRule::parse("policy.commands.deny_options[0]", "git --").map(|_| ()),
            EnvName::parse("policy.commands.allow_env[0]", "A-B").map(|_| ()),
        ]
        .into_iter()
        .filter_map(|result| result.err().map(|error| error.to_string()))
        .collect();
        expect_test::expect![[r#"
            [
                "policy.commands.allow[0]: invalid command pattern ``: a pattern needs at least a program name",
                "policy.commands.allow[1]: invalid command pattern `git status; rm`: `;` is not allowed: a pattern is plain words separated by spaces",
                "policy.commands.deny[0]: invalid command pattern `-rf`: a pattern starts with the program name, not an option",
                "policy.commands.deny_options[0]: invalid command pattern `git --`: `-` or `--` alone is not an option",
                "policy.commands.allow_env[0]: invalid environment variable name `A-B`",
            ]
        "#]]
        .assert_debug_eq(&errors);
    }
}

//! From parsed simple commands to every program invocation: wrappers unwrapped.
//!
//! `sudo`, `doas`, `env`, `nice`, `ionice`, `timeout`, `nohup`, `setsid`, `stdbuf`,
//! `taskset`, `time`, `command`, `exec`, `builtin`, `busybox`, `xargs`, `sh -c` / `bash -c`
//! and `find -exec` run another command: both the wrapper and the command it runs are
//! reported, so each is checked. A wrapper option rein does not know, or a word it needs
//! that is only known at run time, is a refusal: the inner command could not be found.
//!
//! Shell builtins that run strings or change how later words are read (`eval`, `source`,
//! `alias`, `trap`, `declare`…) and programs that run commands in ways not decomposed here
//! (`su`, `watch`, `parallel`, `strace`, `zsh`…) are refused outright.

use crate::command::parse::{self, ParsedLine, Redirect, Refusal, SimpleCommand, Word, refuse};
use crate::command::pattern::basename;

/// One program that would run, with the environment assignments given to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Empty for a bare assignment (`FOO=1`).
    pub argv: Vec<Word>,
    pub assignments: Vec<(String, Word)>,
    /// More arguments come at run time (`xargs`, `find -exec … +`).
    pub appended_unknown: bool,
    /// The wrapper that runs this command, e.g. `sudo`.
    pub via: Option<String>,
}

/// Everything a command line would run and redirect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    pub invocations: Vec<Invocation>,
    pub redirects: Vec<Redirect>,
    /// `cd`, `pushd` or `popd` appears: relative redirect paths are not relative to the
    /// workspace any more.
    pub changes_directory: bool,
}

/// Parse and unwrap `source`.
pub fn analyze(source: &str) -> Result<Analysis, Refusal> {
    let line = parse::parse(source)?;
    let mut analysis = Analysis::default();
    add_line(line, 0, None, &mut analysis)?;
    Ok(analysis)
}

fn add_line(
    line: ParsedLine,
    depth: usize,
    via: Option<&str>,
    analysis: &mut Analysis,
) -> Result<(), Refusal> {
    analysis.redirects.extend(line.redirects);
    for SimpleCommand { assignments, words } in line.commands {
        add_invocation(
            Invocation {
                argv: words,
                assignments,
                appended_unknown: false,
                via: via.map(str::to_string),
            },
            depth,
            analysis,
        )?;
    }
    Ok(())
}

const REFUSED_BUILTINS: &[(&str, &str)] = &[
    ("eval", "runs a string as shell code"),
    ("source", "runs a file as shell code"),
    (".", "runs a file as shell code"),
    ("alias", "changes what later command names mean"),
    ("unalias", "changes what later command names mean"),
    ("trap", "runs a string as shell code later"),
    ("declare", "can set variables, attributes and functions"),
    ("typeset", "can set variables, attributes and functions"),
    ("local", "can set variables and attributes"),
    ("readonly", "can set variables and attributes"),
    (
        "let",
        "evaluates arithmetic, which can run code through array subscripts",
    ),
    ("enable", "loads or enables builtins"),
    ("fc", "runs commands from the history in an editor"),
    ("hash", "changes where later command names are found"),
    ("shopt", "changes how later words are parsed"),
    ("bind", "changes key bindings that can run commands"),
    ("complete", "registers commands to run"),
    ("coproc", "starts a coprocess, which is not parsed"),
];

const REFUSED_PROGRAMS: &[&str] = &[
    "su",
    "runuser",
    "chroot",
    "unshare",
    "nsenter",
    "setpriv",
    "capsh",
    "script",
    "watch",
    "parallel",
    "flock",
    "strace",
    "ltrace",
    "gdb",
    "valgrind",
    "systemd-run",
    "chrt",
    "prlimit",
    "expect",
    "zsh",
    "ksh",
    "mksh",
    "fish",
    "csh",
    "tcsh",
    "pwsh",
];

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash"];

/// How a wrapper's options are read before its command.
struct WrapperSpec {
    name: &'static str,
    flags: &'static [&'static str],
    with_argument: &'static [&'static str],
    /// Options whose argument must be attached (`-i{}`, `--replace=X`).
    optional_argument: &'static [&'static str],
    refused: &'static [&'static str],
    /// `-5` (nice's old form).
    numeric_flag: bool,
    /// `NAME=value` words before the command.
    assignments: bool,
    /// Operands before the command (timeout's duration, taskset's mask).
    operands: usize,
    /// Without a command the wrapper is an error or opens a shell.
    requires_command: bool,
}

const SPEC: WrapperSpec = WrapperSpec {
    name: "",
    flags: &[],
    with_argument: &[],
    optional_argument: &[],
    refused: &[],
    numeric_flag: false,
    assignments: false,
    operands: 0,
    requires_command: true,
};

const WRAPPERS: &[WrapperSpec] = &[
    WrapperSpec {
        name: "env",
        flags: &[
            "-",
            "-i",
            "-0",
            "-v",
            "--ignore-environment",
            "--null",
            "--debug",
        ],
        with_argument: &["-u", "-C", "--unset", "--chdir"],
        refused: &["-S", "--split-string", "-P"],
        assignments: true,
        requires_command: false,
        ..SPEC
    },
    WrapperSpec {
        name: "sudo",
        flags: &[
            "-A",
            "-b",
            "-E",
            "-H",
            "-k",
            "-n",
            "-P",
            "-S",
            "-B",
            "-N",
            "--askpass",
            "--background",
            "--preserve-env",
            "--set-home",
            "--reset-timestamp",
            "--non-interactive",
            "--preserve-groups",
            "--stdin",
            "--bell",
        ],
        with_argument: &[
            "-C",
            "-D",
            "-g",
            "-h",
            "-p",
            "-R",
            "-r",
            "-t",
            "-T",
            "-U",
            "-u",
            "--close-from",
            "--chdir",
            "--group",
            "--host",
            "--prompt",
            "--chroot",
            "--role",
            "--type",
            "--command-timeout",
            "--other-user",
            "--user",
        ],
        refused: &[
            "-s",
            "-i",
            "-e",
            "-l",
            "-v",
            "-K",
            "-V",
            "--shell",
            "--login",
            "--edit",
            "--list",
            "--validate",
            "--remove-timestamp",
            "--version",
            "--help",
        ],
        assignments: true,
        ..SPEC
    },
    WrapperSpec {
        name: "doas",
        flags: &["-n"],
        with_argument: &["-u"],
        refused: &["-s", "-C", "-L"],
        ..SPEC
    },
    WrapperSpec {
        name: "nice",
        with_argument: &["-n", "--adjustment"],
        numeric_flag: true,
        requires_command: false,
        ..SPEC
    },
    WrapperSpec {
        name: "ionice",
        flags: &["-t", "--ignore"],
        with_argument: &["-c", "-n", "--class", "--classdata"],
        refused: &["-p", "-P", "-u", "--pid", "--pgid", "--uid"],
        ..SPEC
    },
    WrapperSpec {
        name: "timeout",
        flags: &["-v", "--verbose", "--preserve-status", "--foreground"],
        with_argument: &["-s", "-k", "--signal", "--kill-after"],
        operands: 1,
        ..SPEC
    },
    WrapperSpec {
        name: "nohup",
        ..SPEC
    },
    WrapperSpec {
        name: "setsid",
        flags: &["-c", "-f", "-w", "--ctty", "--fork", "--wait"],
        ..SPEC
    },
    WrapperSpec {
        name: "stdbuf",
        with_argument: &["-i", "-o", "-e", "--input", "--output", "--error"],
        ..SPEC
    },
    WrapperSpec {
        name: "taskset",
        flags: &["-a", "-c", "--all-tasks", "--cpu-list"],
        refused: &["-p", "--pid"],
        operands: 1,
        ..SPEC
    },
    WrapperSpec {
        name: "time",
        flags: &[
            "-p",
            "-v",
            "-a",
            "-q",
            "--portability",
            "--verbose",
            "--append",
            "--quiet",
        ],
        with_argument: &["-f", "--format"],
        refused: &["-o", "--output"],
        requires_command: false,
        ..SPEC
    },
    WrapperSpec {
        name: "command",
        flags: &["-p", "-v", "-V"],
        requires_command: false,
        ..SPEC
    },
    WrapperSpec {
        name: "exec",
        flags: &["-c", "-l"],
        with_argument: &["-a"],
        requires_command: false,
        ..SPEC
    },
    WrapperSpec {
        name: "builtin",
        requires_command: false,
        ..SPEC
    },
    WrapperSpec {
        name: "busybox",
        ..SPEC
    },
    WrapperSpec {
        name: "toybox",
        ..SPEC
    },
    WrapperSpec {
        name: "xargs",
        flags: &[
            "-0",
            "-r",
            "-t",
            "-p",
            "-x",
            "-o",
            "--null",
            "--no-run-if-empty",
            "--verbose",
            "--interactive",
            "--exit",
            "--open-tty",
        ],
        with_argument: &[
            "-a",
            "-d",
            "-E",
            "-I",
            "-L",
            "-n",
            "-P",
            "-s",
            "--arg-file",
            "--delimiter",
            "--max-args",
            "--max-procs",
            "--max-chars",
            "--process-slot-var",
        ],
        optional_argument: &["-i", "-l", "-e", "--replace", "--max-lines", "--eof"],
        requires_command: false,
        ..SPEC
    },
];

fn refusal(reason: String) -> Refusal {
    Refusal { reason }
}

fn is_name(text: &str) -> bool {
    text.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `NAME=value` → (NAME, value).
fn split_assignment(word: &Word) -> Option<(String, Word)> {
    let (name, value) = word.text.split_once('=')?;
    if !is_name(name) {
        return None;
    }
    let value = if word.known {
        Word::known(value)
    } else {
        Word::unknown(value, false)
    };
    Some((name.to_string(), value))
}

/// What a wrapper's options tell about its command.
struct Unwrapped {
    /// Index of the command's first word in argv (== argv.len() when there is none).
    command_at: usize,
    assignments: Vec<(String, Word)>,
    /// xargs `-I`/`-i`/`--replace`: the replacement string.
    replace: Option<String>,
}

fn read_wrapper_options(spec: &WrapperSpec, argv: &[Word]) -> Result<Unwrapped, Refusal> {
    let name = spec.name;
    let mut index = 1;
    let mut assignments = Vec::new();
    let mut replace = None;
    let unknown_word = |word: &Word| {
        refusal(format!(
            "`{name}` has an argument only known at run time (`{}`), so the command it runs cannot be found",
            word.text
        ))
    };
    while let Some(word) = argv.get(index) {
        if !word.known {
            return Err(unknown_word(word));
        }
        let text = word.text.as_str();
        if text == "--" {
            index += 1;
            break;
        }
        if spec.flags.contains(&text) {
            index += 1;
            continue;
        }
        if spec.refused.contains(&text) {
            return Err(refusal(format!(
                "`{name} {text}` does not run a command rein can check"
            )));
        }
        if let Some(long) = text.strip_prefix("--") {
            let (option, value) = match long.split_once('=') {
                Some((option, value)) => (format!("--{option}"), Some(value)),
                None => (text.to_string(), None),
            };
            let option = option.as_str();
            if spec.refused.contains(&option) {
                return Err(refusal(format!(
                    "`{name} {option}` does not run a command rein can check"
                )));
            }
            if spec.flags.contains(&option) {
                index += 1;
            } else if spec.optional_argument.contains(&option) {
                if option == "--replace" {
                    replace = Some(value.unwrap_or("{}").to_string());
                }
                index += 1;
            } else if spec.with_argument.contains(&option) {
                index += if value.is_some() { 1 } else { 2 };
            } else {
                return Err(refusal(format!(
                    "`{name}` option `{option}` is not known to rein, so the command it runs cannot be found"
                )));
            }
            continue;
        }
        if let Some(cluster) = text.strip_prefix('-')
            && !cluster.is_empty()
        {
            if spec.numeric_flag && cluster.chars().all(|c| c.is_ascii_digit()) {
                index += 1;
                continue;
            }
            let mut consumed_next = false;
            for (at, letter) in cluster.char_indices() {
                let option = format!("-{letter}");
                let option = option.as_str();
                let rest = &cluster[at + letter.len_utf8()..];
                if spec.refused.contains(&option) {
                    return Err(refusal(format!(
                        "`{name} {option}` does not run a command rein can check"
                    )));
                }
                if spec.flags.contains(&option) {
                    continue;
                }
                if spec.optional_argument.contains(&option) {
                    if option == "-i" {
                        replace = Some(if rest.is_empty() { "{}" } else { rest }.to_string());
                    }
                    break;
                }
                if spec.with_argument.contains(&option) {
                    if option == "-I" {
                        let value = if rest.is_empty() {
                            argv.get(index + 1).map(|word| word.text.clone())
                        } else {
                            Some(rest.to_string())
                        };
                        replace = value;
                    }
                    if rest.is_empty() {
                        consumed_next = true;
                    }
                    break;
                }
                return Err(refusal(format!(
                    "`{name}` option `{option}` is not known to rein, so the command it runs cannot be found"
                )));
            }
            index += if consumed_next { 2 } else { 1 };
            if consumed_next && argv.get(index - 1).is_some_and(|word| !word.known) {
                return Err(unknown_word(&argv[index - 1]));
            }
            continue;
        }
        if spec.assignments
            && let Some(assignment) = split_assignment(word)
        {
            assignments.push(assignment);
            index += 1;
            continue;
        }
        break;
    }
    // Assignments may also follow `--` (env -- FOO=1 cmd).
    while spec.assignments
        && let Some(assignment) = argv.get(index).and_then(split_assignment)
    {
        assignments.push(assignment);
        index += 1;
    }
    for _ in 0..spec.operands {
        match argv.get(index) {
            Some(word) if word.known => index += 1,
            Some(word) => return Err(unknown_word(word)),
            None => {
                return Err(refusal(format!("`{name}` has no command to run")));
            }
        }
    }
    Ok(Unwrapped {
        command_at: index.min(argv.len()),
        assignments,
        replace,
    })
}

fn add_invocation(
    invocation: Invocation,
    depth: usize,
    analysis: &mut Analysis,
) -> Result<(), Refusal> {
    if depth > parse::MAX_DEPTH {
        return refuse(format!(
            "commands are nested more than {} levels deep",
            parse::MAX_DEPTH
        ));
    }
    let Some(program) = invocation.argv.first().cloned() else {
        analysis.invocations.push(invocation);
        return Ok(());
    };
    if !program.known {
        return refuse(format!(
            "the command name `{}` is only known at run time",
            program.text
        ));
    }
    if program.text.is_empty() {
        return refuse("the command name is empty");
    }
    let base = basename(&program.text).to_string();
    let argv = invocation.argv.clone();
    let appended_unknown = invocation.appended_unknown;
    let assignments = invocation.assignments.clone();
    analysis.invocations.push(invocation);

    if let Some((_, why)) = REFUSED_BUILTINS.iter().find(|(name, _)| *name == base) {
        return refuse(format!("`{base}` {why}, which cannot be checked"));
    }
    if REFUSED_PROGRAMS.contains(&base.as_str()) {
        return refuse(format!(
            "`{base}` runs commands in a way rein does not decompose"
        ));
    }
    match base.as_str() {
        "cd" | "pushd" | "popd" => analysis.changes_directory = true,
        "set" => check_set(&argv)?,
        "export" => {
            let mut exported = Vec::new();
            for word in &argv[1..] {
                if !word.known {
                    return refuse(format!(
                        "`export {}`: a name only known at run time",
                        word.text
                    ));
                }
                match word.text.as_str() {
                    "-n" | "-p" | "--" => {}
                    text if text.starts_with('-') => {
                        return refuse(format!("`export {text}` is not parsed"));
                    }
                    _ => {
                        if let Some(assignment) = split_assignment(word) {
                            exported.push(assignment);
                        } else if !is_name(&word.text) {
                            return refuse(format!("`export {}` is not parsed", word.text));
                        }
                    }
                }
            }
            if !exported.is_empty() {
                analysis.invocations.push(Invocation {
                    argv: Vec::new(),
                    assignments: exported,
                    appended_unknown: false,
                    via: Some("export".to_string()),
                });
            }
        }
        shell if SHELLS.contains(&shell) => {
            // Arguments appended at run time (xargs) land after the command string, as
            // `$0`, `$1`…: the string itself must be there already.
            let script = shell_command_string(shell, &argv)?;
            let mut line = ParsedLine::default();
            parse::parse_into(&script, depth + 1, &mut line)?;
            add_line(line, depth + 1, Some(shell), analysis)?;
        }
        "find" => add_find_commands(&argv, depth, analysis)?,
        _ => {
            if let Some(spec) = WRAPPERS.iter().find(|spec| spec.name == base) {
                let unwrapped = read_wrapper_options(spec, &argv)?;
                let mut inner: Vec<Word> = argv[unwrapped.command_at..].to_vec();
                let is_xargs = spec.name == "xargs";
                if inner.is_empty() {
                    if is_xargs {
                        inner.push(Word::known("echo"));
                    } else if spec.requires_command || appended_unknown {
                        return refuse(format!("`{base}` without a command rein can see"));
                    } else {
                        return Ok(());
                    }
                }
                if let Some(replace) = unwrapped.replace.filter(|r| !r.is_empty()) {
                    for word in &mut inner[1..] {
                        if word.text.contains(&replace) {
                            *word = Word::unknown(word.text.clone(), true);
                        }
                    }
                }
                let mut inner_assignments = assignments;
                inner_assignments.extend(unwrapped.assignments);
                add_invocation(
                    Invocation {
                        argv: inner,
                        assignments: inner_assignments,
                        appended_unknown: appended_unknown || is_xargs,
                        via: Some(base.clone()),
                    },
                    depth + 1,
                    analysis,
                )?;
            }
        }
    }
    Ok(())
}

/// `set` only with option letters and `-o` names that do not change how words are read.
fn check_set(argv: &[Word]) -> Result<(), Refusal> {
    const NAMES: &[&str] = &[
        "pipefail",
        "errexit",
        "nounset",
        "xtrace",
        "verbose",
        "noglob",
        "noclobber",
    ];
    for word in &argv[1..] {
        let ok = word.known
            && (NAMES.contains(&word.text.as_str())
                || (word.text.len() > 1
                    && word.text.starts_with(['-', '+'])
                    && word.text[1..].chars().all(|c| "euxvfCo".contains(c))));
        if !ok {
            return refuse(format!(
                "`set {}` is not parsed (only -e -u -x -v -f -C and -o pipefail/errexit/nounset/xtrace/verbose/noglob/noclobber)",
                word.text
            ));
        }
    }
    Ok(())
}

/// The string of `sh -c STRING`, or a refusal.
fn shell_command_string(shell: &str, argv: &[Word]) -> Result<String, Refusal> {
    const OPTION_NAMES: &[&str] = &[
        "pipefail", "errexit", "nounset", "xtrace", "verbose", "noglob", "posix",
    ];
    let mut index = 1;
    let mut has_c = false;
    while let Some(word) = argv.get(index) {
        if !word.known {
            return refuse(format!(
                "`{shell}` has an option only known at run time (`{}`)",
                word.text
            ));
        }
        let text = word.text.as_str();
        if text == "--" || text == "-" {
            index += 1;
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            if !matches!(long, "norc" | "noprofile" | "posix" | "noediting") {
                return refuse(format!("`{shell} {text}` is not parsed"));
            }
            index += 1;
            continue;
        }
        let Some(letters) = text.strip_prefix(['-', '+']).filter(|l| !l.is_empty()) else {
            break;
        };
        index += 1;
        for letter in letters.chars() {
            match letter {
                'c' => has_c = true,
                'e' | 'u' | 'x' | 'v' | 'f' | 'n' | 'C' => {}
                'o' => {
                    let name = argv.get(index);
                    if !name.is_some_and(|name| {
                        name.known && OPTION_NAMES.contains(&name.text.as_str())
                    }) {
                        return refuse(format!(
                            "`{shell} -o {}` is not parsed",
                            name.map_or("", |name| name.text.as_str())
                        ));
                    }
                    index += 1;
                }
                other => {
                    return refuse(format!(
                        "`{shell} -{other}` is not parsed (it can read startup files or change the syntax)"
                    ));
                }
            }
        }
    }
    if !has_c {
        return refuse(format!(
            "`{shell}` without -c runs a script file or standard input, whose commands cannot be checked"
        ));
    }
    match argv.get(index) {
        Some(word) if word.known => Ok(word.text.clone()),
        Some(word) => refuse(format!(
            "`{shell} -c {}`: the command string is only known at run time",
            word.text
        )),
        None => refuse(format!("`{shell} -c` has no command string")),
    }
}

/// The commands of `find … -exec CMD … ;` (also `-execdir`, `-ok`, `-okdir`, and `+`).
fn add_find_commands(argv: &[Word], depth: usize, analysis: &mut Analysis) -> Result<(), Refusal> {
    let mut index = 1;
    while let Some(word) = argv.get(index) {
        if !word.known && word.may_be_option {
            return refuse(format!(
                "`find` has an argument only known at run time (`{}`) that could be `-exec`",
                word.text
            ));
        }
        index += 1;
        if !(word.known && matches!(word.text.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir")) {
            continue;
        }
        let start = index;
        let end = argv[start..]
            .iter()
            .position(|word| word.known && (word.text == ";" || word.text == "+"))
            .map(|at| start + at);
        let Some(end) = end else {
            return refuse(format!(
                "`find {}` has no terminating `;` or `+`",
                word.text
            ));
        };
        if end == start {
            return refuse(format!("`find {}` has no command", word.text));
        }
        let inner: Vec<Word> = argv[start..end]
            .iter()
            .map(|word| {
                if word.known && word.text.contains("{}") {
                    Word::unknown(word.text.clone(), false)
                } else {
                    word.clone()
                }
            })
            .collect();
        let appended_unknown = argv[end].text == "+";
        add_invocation(
            Invocation {
                argv: inner,
                assignments: Vec::new(),
                appended_unknown,
                via: Some("find".to_string()),
            },
            depth + 1,
            analysis,
        )?;
        index = end + 1;
    }
    Ok(())
}

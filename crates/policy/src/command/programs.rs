//! What known programs do with their arguments: the files they write or read, and the forms
//! that run code.
//!
//! An allow pattern is an argv prefix, so `allow = ["sed -n"]` would otherwise cover
//! `sed -n '1e touch x' f` (sed runs `touch x`) and `sed -n '1w .git/hooks/pre-commit' f`
//! (sed writes a hook). [`effects`] reads the arguments of the programs rein knows — `sed`
//! scripts, `awk` programs, `find`, `git`, `tar`, `rsync`, `sort`, `sdiff`, `diff3`, `tee`,
//! `dd` — and answers with the files they would write or read (put to the path rules by
//! [`crate::Policy::check_command`]), or with a refusal for a form that runs code rein does
//! not decompose (sed's `e`, awk's `system()` and pipes, `tar --to-command`, `git -c`…) or
//! reads a program rein cannot see (`sed -f`, `awk -f`). Forms whose command rein does
//! decompose (`find -exec`, `xargs`) are checked as commands by [`super::analyze`].
//!
//! Any program's `--output=FILE` (and `--output-file=`, `--log-file=`, `--outfile=`) is a
//! write too.

use crate::command::RedirectTarget;
use crate::command::parse::{RedirectKind, Word};
use crate::command::pattern::basename;

/// Why a program's arguments are refused.
pub(crate) type Refused = String;

/// Files the program would open because of its arguments.
#[derive(Debug, Default)]
pub(crate) struct Files {
    pub opens: Vec<RedirectTarget>,
}

impl Files {
    fn write(&mut self, word: &Word) {
        self.push(RedirectKind::Write, &word.text, word.known);
    }

    fn write_text(&mut self, text: &str) {
        self.push(RedirectKind::Write, text, true);
    }

    /// A folder the program writes into: the folder itself, and when it is a `.git`
    /// folder its `config` too (so extracting or copying into `.git` is a write of its
    /// protected files).
    ///
    /// The tree is put to the path rules as `DIR/*`: the deny rules of `DIR` and the
    /// folders above it apply, and a `write` list must admit any file in it.
    fn write_tree(&mut self, word: &Word) {
        if !word.known {
            self.write(word);
            return;
        }
        let trimmed = word.text.trim_end_matches('/');
        if trimmed.is_empty() || trimmed == "." {
            self.write_text("*");
        } else {
            self.write_text(&format!("{trimmed}/*"));
        }
        if trimmed == ".git" || trimmed.ends_with("/.git") {
            self.write_text(&format!("{trimmed}/config"));
        }
    }

    fn read(&mut self, word: &Word) {
        self.push(RedirectKind::Read, &word.text, word.known);
    }

    fn read_text(&mut self, text: &str) {
        self.push(RedirectKind::Read, text, true);
    }

    fn push(&mut self, kind: RedirectKind, path: &str, known: bool) {
        self.opens.push(RedirectTarget {
            kind,
            path: path.to_string(),
            known,
        });
    }
}

/// The files `argv` would open, or why it is refused. `appended_unknown`: more arguments
/// come at run time (`xargs`, `find -exec … +`).
pub(crate) fn effects(argv: &[Word], appended_unknown: bool) -> Result<Files, Refused> {
    let mut files = Files::default();
    let Some(program) = argv.first().filter(|word| word.known) else {
        return Ok(files);
    };
    let name = basename(&program.text);
    let args = &argv[1..];
    if name != "git" {
        // git reads its own, relative to `-C`.
        generic_output_options(args, &mut files);
    }
    match name {
        "sed" | "gsed" => sed(args, appended_unknown, &mut files)?,
        "awk" | "gawk" | "mawk" | "nawk" | "busybox-awk" => {
            awk(name, args, appended_unknown, &mut files)?
        }
        "find" => find(args, &mut files)?,
        "git" => git(args, appended_unknown, &mut files)?,
        "tar" | "gtar" | "bsdtar" => tar(args, appended_unknown, &mut files)?,
        "rsync" => rsync(args, appended_unknown, &mut files)?,
        "sort" => sort(args, &mut files)?,
        "sdiff" | "diff3" => sdiff(name, args, &mut files)?,
        "tee" => tee(args, appended_unknown, &mut files)?,
        "dd" => dd(args, &mut files),
        _ => {}
    }
    Ok(files)
}

/// `--output=FILE` and its kin, whatever the program.
fn generic_output_options(args: &[Word], files: &mut Files) {
    const WRITING: &[&str] = &[
        "--output",
        "--output-file",
        "--outfile",
        "--out-file",
        "--log-file",
    ];
    for word in args {
        if !word.known && !word.may_be_option {
            continue;
        }
        if let Some((option, value)) = word.text.split_once('=')
            && WRITING.contains(&option)
        {
            files.push(RedirectKind::Write, value, word.known);
        }
    }
}

fn unknown(program: &str, word: &Word, what: &str) -> Refused {
    format!(
        "`{program}` has an argument only known at run time (`{}`), so {what} cannot be checked",
        word.text
    )
}

/// An option-letter cluster (`-ne`): each letter, and the rest of the word after it.
fn letters(cluster: &str) -> impl Iterator<Item = (char, &str)> {
    cluster
        .char_indices()
        .map(move |(at, letter)| (letter, &cluster[at + letter.len_utf8()..]))
}

// ---------------------------------------------------------------------------------------
// sed

/// GNU sed: options anywhere (getopt permutes), `-e`/`--expression` scripts, `-f` script
/// files (refused: not visible), `-i` (every input file is written), `--sandbox` (sed
/// itself refuses `e`, `r`, `w`).
fn sed(args: &[Word], appended_unknown: bool, files: &mut Files) -> Result<(), Refused> {
    let mut scripts: Vec<String> = Vec::new();
    let mut operands: Vec<&Word> = Vec::new();
    let mut in_place = false;
    let mut sandbox = false;
    let mut index = 0;
    let mut options_done = false;
    while let Some(word) = args.get(index) {
        index += 1;
        if !word.known {
            if word.may_be_option && !options_done {
                return Err(unknown("sed", word, "its options"));
            }
            operands.push(word);
            continue;
        }
        let text = word.text.as_str();
        if options_done || !text.starts_with('-') || text == "-" {
            operands.push(word);
            continue;
        }
        if text == "--" {
            options_done = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (option, value) = match long.split_once('=') {
                Some((option, value)) => (option, Some(value)),
                None => (long, None),
            };
            let is = |full: &str| !option.is_empty() && full.starts_with(option);
            let mut value_or_next = || -> Result<Word, Refused> {
                match value {
                    Some(value) => Ok(Word::known(value)),
                    None => {
                        let next = args
                            .get(index)
                            .cloned()
                            .ok_or_else(|| format!("`sed --{option}` has no argument"))?;
                        index += 1;
                        Ok(next)
                    }
                }
            };
            if is("expression") {
                let script = value_or_next()?;
                if !script.known {
                    return Err(unknown("sed", &script, "its script"));
                }
                scripts.push(script.text);
            } else if is("file") {
                return Err(
                    "`sed --file` reads its script from a file, which cannot be inspected"
                        .to_string(),
                );
            } else if is("in-place") {
                in_place = true;
            } else if is("sandbox") {
                sandbox = true;
            } else if is("line-length") {
                value_or_next()?;
            } else if ![
                "quiet",
                "silent",
                "regexp-extended",
                "separate",
                "null-data",
                "zero-terminated",
                "unbuffered",
                "posix",
                "debug",
                "follow-symlinks",
                "binary",
                "help",
                "version",
            ]
            .iter()
            .any(|full| is(full))
            {
                return Err(format!("`sed --{option}` is not known to rein"));
            }
            continue;
        }
        for (letter, rest) in letters(&text[1..]) {
            match letter {
                'n' | 'E' | 'r' | 's' | 'z' | 'u' | 'b' => {}
                'i' => {
                    in_place = true;
                    break; // the rest is the backup suffix
                }
                'e' | 'l' | 'f' => {
                    let value = if rest.is_empty() {
                        let next = args
                            .get(index)
                            .cloned()
                            .ok_or_else(|| format!("`sed -{letter}` has no argument"))?;
                        index += 1;
                        next
                    } else {
                        Word::known(rest)
                    };
                    match letter {
                        'f' => {
                            return Err(
                                "`sed -f` reads its script from a file, which cannot be inspected"
                                    .to_string(),
                            );
                        }
                        'e' if !value.known => return Err(unknown("sed", &value, "its script")),
                        'e' => scripts.push(value.text),
                        _ => {}
                    }
                    break;
                }
                other => return Err(format!("`sed -{other}` is not known to rein")),
            }
        }
    }
    if scripts.is_empty() {
        if operands.is_empty() {
            if appended_unknown {
                return Err("`sed` gets its script only at run time".to_string());
            }
            return Ok(());
        }
        let script = operands.remove(0);
        if !script.known {
            return Err(unknown("sed", script, "its script"));
        }
        scripts.push(script.text.clone());
    }
    if !sandbox {
        for script in &scripts {
            sed_script(script, files)?;
        }
    }
    if in_place {
        if appended_unknown {
            return Err(
                "`sed -i` edits files only known at run time (arguments are appended)".to_string(),
            );
        }
        for file in operands {
            files.write(file);
        }
    }
    Ok(())
}

/// Walk a sed script: every command, its file names (`r`, `R`, `w`, `W`, `s///w`), and the
/// commands that run a shell (`e`, `s///e`).
fn sed_script(script: &str, files: &mut Files) -> Result<(), Refused> {
    let chars: Vec<char> = script.chars().collect();
    let mut at = 0;
    let bad = |what: &str| format!("the sed script cannot be parsed: {what}");
    let skip_blanks = |at: &mut usize| {
        while chars.get(*at).is_some_and(|c| *c == ' ' || *c == '\t') {
            *at += 1;
        }
    };
    // The rest of the line (a file name or a label), from `at`.
    let rest_of_line = |at: &mut usize| -> String {
        let start = *at;
        while chars.get(*at).is_some_and(|c| *c != '\n') {
            *at += 1;
        }
        chars[start..*at].iter().collect()
    };
    // Text up to an unescaped `delimiter`; `\` escapes any character.
    let delimited = |at: &mut usize, delimiter: char| -> Result<(), Refused> {
        loop {
            match chars.get(*at) {
                None => return Err(bad("an unterminated `s`, `y` or address")),
                Some('\\') => *at += 2,
                Some(c) if *c == delimiter => {
                    *at += 1;
                    return Ok(());
                }
                Some(_) => *at += 1,
            }
        }
    };
    loop {
        // Separators between commands.
        while chars
            .get(at)
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | ';'))
        {
            at += 1;
        }
        let Some(&first) = chars.get(at) else {
            return Ok(());
        };
        if first == '#' {
            rest_of_line(&mut at);
            continue;
        }
        // Up to two addresses.
        for address in 0..2 {
            skip_blanks(&mut at);
            match chars.get(at) {
                Some(c) if c.is_ascii_digit() => {
                    while chars
                        .get(at)
                        .is_some_and(|c| c.is_ascii_digit() || *c == '~')
                    {
                        at += 1;
                    }
                }
                Some('$') => at += 1,
                Some('+' | '~') if address == 1 => {
                    at += 1;
                    while chars.get(at).is_some_and(char::is_ascii_digit) {
                        at += 1;
                    }
                }
                Some('/') => {
                    at += 1;
                    delimited(&mut at, '/')?;
                    while chars.get(at).is_some_and(|c| matches!(c, 'I' | 'M')) {
                        at += 1;
                    }
                }
                Some('\\') => {
                    let Some(&delimiter) = chars.get(at + 1) else {
                        return Err(bad("`\\` at the end"));
                    };
                    at += 2;
                    delimited(&mut at, delimiter)?;
                    while chars.get(at).is_some_and(|c| matches!(c, 'I' | 'M')) {
                        at += 1;
                    }
                }
                _ => {
                    if address == 1 {
                        return Err(bad("a `,` without a second address"));
                    }
                    break;
                }
            }
            skip_blanks(&mut at);
            if address == 0 && chars.get(at) == Some(&',') {
                at += 1;
                continue;
            }
            break;
        }
        skip_blanks(&mut at);
        while chars.get(at) == Some(&'!') {
            at += 1;
            skip_blanks(&mut at);
        }
        let Some(&command) = chars.get(at) else {
            return Err(bad("an address without a command"));
        };
        at += 1;
        match command {
            '{' => continue,
            '}' | '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'n' | 'N' | 'p' | 'P' | 'x' | 'z'
            | 'F' => {}
            'l' | 'q' | 'Q' | 'L' => {
                skip_blanks(&mut at);
                while chars.get(at).is_some_and(char::is_ascii_digit) {
                    at += 1;
                }
            }
            ':' | 'b' | 't' | 'T' | 'v' => {
                // A label ends at a newline or `;`.
                while chars.get(at).is_some_and(|c| *c != '\n' && *c != ';') {
                    at += 1;
                }
            }
            'a' | 'i' | 'c' => {
                // Text to the end of the line; `\` + newline continues it.
                skip_blanks(&mut at);
                if chars.get(at) == Some(&'\\') {
                    at += 1;
                    if chars.get(at) == Some(&'\n') {
                        at += 1;
                    }
                }
                loop {
                    match chars.get(at) {
                        None | Some('\n') => break,
                        Some('\\') => at += 2,
                        Some(_) => at += 1,
                    }
                }
            }
            'r' | 'R' | 'w' | 'W' => {
                skip_blanks(&mut at);
                let file = rest_of_line(&mut at);
                if file.is_empty() {
                    return Err(bad(&format!("`{command}` without a file name")));
                }
                if matches!(command, 'r' | 'R') {
                    files.read_text(&file);
                } else {
                    files.write_text(&file);
                }
            }
            'e' => {
                return Err(
                    "the sed command `e` runs a shell command, which cannot be checked".to_string(),
                );
            }
            's' | 'y' => {
                let Some(&delimiter) = chars.get(at) else {
                    return Err(bad(&format!("`{command}` without a delimiter")));
                };
                if delimiter == '\n' || delimiter == '\\' {
                    return Err(bad(&format!(
                        "`{command}` with a newline or `\\` delimiter"
                    )));
                }
                at += 1;
                delimited(&mut at, delimiter)?;
                delimited(&mut at, delimiter)?;
                if command == 's' {
                    loop {
                        match chars.get(at) {
                            Some('g' | 'p' | 'i' | 'I' | 'm' | 'M') => at += 1,
                            Some(c) if c.is_ascii_digit() => at += 1,
                            Some('e') => {
                                return Err("the `e` flag of the sed `s` command runs the result as a shell command, which cannot be checked".to_string());
                            }
                            Some('w') => {
                                at += 1;
                                skip_blanks(&mut at);
                                let file = rest_of_line(&mut at);
                                if file.is_empty() {
                                    return Err(bad("`s///w` without a file name"));
                                }
                                files.write_text(&file);
                                break;
                            }
                            _ => break,
                        }
                    }
                }
            }
            other => return Err(bad(&format!("unknown command `{other}`"))),
        }
        // After a command: blanks, then a separator, `}`, `#` or the end.
        skip_blanks(&mut at);
        match chars.get(at) {
            None | Some('\n' | ';' | '}' | '#') => {}
            Some(other) => return Err(bad(&format!("unexpected `{other}` after a command"))),
        }
    }
}

// ---------------------------------------------------------------------------------------
// awk

/// awk, gawk, mawk: `-f` program files and extensions are refused; the program text is
/// read for `system`, pipes, `@` (gawk's indirect calls and directives) and redirections.
fn awk(
    name: &str,
    args: &[Word],
    appended_unknown: bool,
    files: &mut Files,
) -> Result<(), Refused> {
    let mut programs: Vec<String> = Vec::new();
    let mut sandbox = false;
    let mut index = 0;
    let mut program_given = false;
    while let Some(word) = args.get(index) {
        if !word.known {
            if word.may_be_option {
                return Err(unknown(name, word, "its options"));
            }
            break;
        }
        let text = word.text.as_str();
        if text == "--" {
            index += 1;
            break;
        }
        if !text.starts_with('-') || text == "-" {
            break;
        }
        index += 1;
        if let Some(long) = text.strip_prefix("--") {
            let (option, value) = match long.split_once('=') {
                Some((option, value)) => (option, Some(value)),
                None => (long, None),
            };
            let mut value_or_next = || -> Result<Word, Refused> {
                match value {
                    Some(value) => Ok(Word::known(value)),
                    None => {
                        let next = args
                            .get(index)
                            .cloned()
                            .ok_or_else(|| format!("`{name} --{option}` has no argument"))?;
                        index += 1;
                        Ok(next)
                    }
                }
            };
            match option {
                "source" => {
                    let program = value_or_next()?;
                    if !program.known {
                        return Err(unknown(name, &program, "its program"));
                    }
                    programs.push(program.text);
                    program_given = true;
                }
                "field-separator" | "assign" => {
                    value_or_next()?;
                }
                "sandbox" => sandbox = true,
                "posix"
                | "traditional"
                | "re-interval"
                | "characters-as-bytes"
                | "copyright"
                | "version"
                | "help"
                | "usage"
                | "lint"
                | "optimize"
                | "no-optimize"
                | "bignum"
                | "use-lc-numeric"
                | "non-decimal-data"
                | "csv"
                | "gen-pot" => {}
                _ => {
                    return Err(format!(
                        "`{name} --{option}` is not allowed: it loads code or writes files, or is not known to rein"
                    ));
                }
            }
            continue;
        }
        for (letter, rest) in letters(&text[1..]) {
            match letter {
                'F' | 'v' => {
                    if rest.is_empty() {
                        index += 1;
                    }
                    break;
                }
                'e' => {
                    let program = if rest.is_empty() {
                        let next = args
                            .get(index)
                            .cloned()
                            .ok_or_else(|| format!("`{name} -e` has no argument"))?;
                        index += 1;
                        next
                    } else {
                        Word::known(rest)
                    };
                    if !program.known {
                        return Err(unknown(name, &program, "its program"));
                    }
                    programs.push(program.text);
                    program_given = true;
                    break;
                }
                'S' => sandbox = true,
                'b' | 'c' | 'C' | 'g' | 'h' | 'M' | 'N' | 'O' | 'P' | 'r' | 's' | 't' | 'V'
                | 'n' => {}
                'f' | 'E' => {
                    return Err(format!(
                        "`{name} -{letter}` reads the program from a file, which cannot be inspected"
                    ));
                }
                other => {
                    return Err(format!(
                        "`{name} -{other}` is not allowed: it loads code or writes files, or is not known to rein"
                    ));
                }
            }
        }
    }
    if !program_given {
        match args.get(index) {
            Some(word) if word.known => programs.push(word.text.clone()),
            Some(word) => return Err(unknown(name, word, "its program")),
            None if appended_unknown => {
                return Err(format!("`{name}` gets its program only at run time"));
            }
            None => return Ok(()),
        }
    }
    if !sandbox {
        for program in &programs {
            awk_program(name, program, files)?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum AwkToken {
    Str(String),
    Regex,
    Name(String),
    Number,
    /// An operator or punctuation, e.g. `>`, `>>`, `|`, `||`, `(`.
    Op(String),
    /// A newline or `;`: the end of a statement.
    End,
}

fn awk_tokens(name: &str, program: &str) -> Result<Vec<AwkToken>, Refused> {
    let chars: Vec<char> = program.chars().collect();
    let bad = |what: &str| format!("the {name} program cannot be parsed: {what}");
    let mut tokens: Vec<AwkToken> = Vec::new();
    let mut at = 0;
    while let Some(&c) = chars.get(at) {
        match c {
            ' ' | '\t' | '\r' => at += 1,
            '\\' if chars.get(at + 1) == Some(&'\n') => at += 2,
            '\n' | ';' => {
                tokens.push(AwkToken::End);
                at += 1;
            }
            '#' => {
                while chars.get(at).is_some_and(|c| *c != '\n') {
                    at += 1;
                }
            }
            '"' => {
                at += 1;
                let mut text = String::new();
                loop {
                    match chars.get(at) {
                        None | Some('\n') => return Err(bad("an unterminated string")),
                        Some('"') => {
                            at += 1;
                            break;
                        }
                        Some('\\') => {
                            match chars.get(at + 1) {
                                Some('n') => text.push('\n'),
                                Some('t') => text.push('\t'),
                                Some(&other) => text.push(other),
                                None => return Err(bad("an unterminated string")),
                            }
                            at += 2;
                        }
                        Some(&other) => {
                            text.push(other);
                            at += 1;
                        }
                    }
                }
                tokens.push(AwkToken::Str(text));
            }
            '/' => {
                // A regex where an operand may start; else division.
                let operand_before = matches!(
                    tokens.last(),
                    Some(AwkToken::Str(_) | AwkToken::Name(_) | AwkToken::Number | AwkToken::Regex)
                ) || matches!(tokens.last(), Some(AwkToken::Op(op)) if op == ")" || op == "]" || op == "$" || op == "++" || op == "--");
                if operand_before {
                    at += 1;
                    if chars.get(at) == Some(&'=') {
                        at += 1;
                    }
                    tokens.push(AwkToken::Op("/".to_string()));
                    continue;
                }
                at += 1;
                let mut in_bracket = false;
                loop {
                    match chars.get(at) {
                        None | Some('\n') => return Err(bad("an unterminated regular expression")),
                        Some('\\') => at += 2,
                        Some('[') => {
                            in_bracket = true;
                            at += 1;
                        }
                        Some(']') => {
                            in_bracket = false;
                            at += 1;
                        }
                        Some('/') if !in_bracket => {
                            at += 1;
                            break;
                        }
                        Some(_) => at += 1,
                    }
                }
                tokens.push(AwkToken::Regex);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = at;
                while chars
                    .get(at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    at += 1;
                }
                tokens.push(AwkToken::Name(chars[start..at].iter().collect()));
            }
            c if c.is_ascii_digit() || c == '.' => {
                while chars
                    .get(at)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.')
                {
                    at += 1;
                }
                tokens.push(AwkToken::Number);
            }
            _ => {
                const TWO: &[&str] = &[
                    ">>", "||", "|&", "&&", "==", "!=", "<=", ">=", "++", "--", "+=", "-=", "*=",
                    "/=", "%=", "^=", "**",
                ];
                let pair: String = chars[at..(at + 2).min(chars.len())].iter().collect();
                if TWO.contains(&pair.as_str()) {
                    tokens.push(AwkToken::Op(pair));
                    at += 2;
                } else {
                    tokens.push(AwkToken::Op(c.to_string()));
                    at += 1;
                }
            }
        }
    }
    Ok(tokens)
}

/// Refuse `system`, pipes and `@`; put `print > "file"` and `getline < "file"` to the
/// path rules (a target that is not a string literal is refused).
fn awk_program(name: &str, program: &str, files: &mut Files) -> Result<(), Refused> {
    let tokens = awk_tokens(name, program)?;
    // Paren depth where the current `print`/`printf` started, if in one.
    let mut print_depth: Option<usize> = None;
    let mut after_getline = false;
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        let target = |what: &str| -> Result<String, Refused> {
            let literal = match tokens.get(i + 1) {
                Some(AwkToken::Str(text)) => Some(text.clone()),
                _ => None,
            };
            let ends = matches!(tokens.get(i + 2), None | Some(AwkToken::End))
                || matches!(tokens.get(i + 2), Some(AwkToken::Op(op)) if op == "}" || op == ")");
            match literal {
                Some(text) if ends => Ok(text),
                _ => Err(format!(
                    "{name} {what} a file whose name is not a plain string, which cannot be checked"
                )),
            }
        };
        match token {
            AwkToken::Name(word) => match word.as_str() {
                "system" | "extension" => {
                    return Err(format!(
                        "the {name} program calls `{word}`, which runs code that cannot be checked"
                    ));
                }
                "print" | "printf" => print_depth = Some(depth),
                "getline" => after_getline = true,
                _ => {}
            },
            AwkToken::End => {
                print_depth = None;
                after_getline = false;
            }
            AwkToken::Op(op) => match op.as_str() {
                "(" | "[" => depth += 1,
                ")" | "]" => depth = depth.saturating_sub(1),
                "{" | "}" => {
                    print_depth = None;
                    after_getline = false;
                    depth = 0;
                }
                "|" | "|&" => {
                    return Err(format!(
                        "the {name} program uses a pipe (`{op}`), which runs a command that cannot be checked"
                    ));
                }
                "@" => {
                    return Err(format!(
                        "the {name} program uses `@` (an indirect call or a directive), which cannot be checked"
                    ));
                }
                ">" | ">>" if print_depth == Some(depth) => {
                    let file = target("writes")?;
                    files.write_text(&file);
                }
                "<" if after_getline => {
                    let file = target("reads")?;
                    files.read_text(&file);
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// find

/// `find`: the starting points; `-fprint*`/`-fls` files are writes, `-delete` writes the
/// trees it searches. (`-exec`, `-ok`… are decomposed as commands by `analyze`.)
fn find(args: &[Word], files: &mut Files) -> Result<(), Refused> {
    let mut index = 0;
    // Options before the starting points.
    while let Some(word) = args.get(index) {
        if word.known && matches!(word.text.as_str(), "-H" | "-L" | "-P") {
            index += 1;
        } else if word.known && (word.text == "-D") {
            index += 2;
        } else if word.known && word.text.starts_with("-O") {
            index += 1;
        } else {
            break;
        }
    }
    let mut roots: Vec<&Word> = Vec::new();
    while let Some(word) = args.get(index) {
        let expression = word.known
            && (word.text.starts_with('-') || matches!(word.text.as_str(), "(" | ")" | "!" | ","));
        if expression {
            break;
        }
        roots.push(word);
        index += 1;
    }
    let mut delete = false;
    while let Some(word) = args.get(index) {
        index += 1;
        if !word.known {
            continue;
        }
        match word.text.as_str() {
            "-fprint" | "-fprint0" | "-fls" | "-fprintf" => {
                let Some(file) = args.get(index) else {
                    return Err(format!("`find {}` has no file", word.text));
                };
                files.write(file);
                index += 1;
            }
            "-delete" => delete = true,
            _ => {}
        }
    }
    if delete {
        if roots.is_empty() {
            files.write_text(".");
        }
        for root in roots {
            files.write_tree(root);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// git

/// git: global options that run code or point git at another repository's configuration
/// are refused; `-C DIR` makes later paths relative to DIR; files written by `--output`,
/// `format-patch -o`, `archive -o`, `bundle create`, and the folder of `init`/`clone`/
/// `worktree add` are writes; subcommands that run commands (`rebase --exec`, `bisect run`,
/// `submodule foreach`, `filter-branch`, `difftool --extcmd`, `grep --open-files-in-pager`)
/// and configuration writes (`git config` with a value) are refused.
fn git(args: &[Word], appended_unknown: bool, files: &mut Files) -> Result<(), Refused> {
    let mut index = 0;
    let mut directory: Option<String> = None;
    let code = |what: &str| format!("`git {what}` can run commands, which cannot be checked");
    while let Some(word) = args.get(index) {
        if !word.known {
            if word.may_be_option {
                return Err(unknown("git", word, "its options"));
            }
            break;
        }
        let text = word.text.as_str();
        if !text.starts_with('-') {
            break;
        }
        index += 1;
        let (option, value) = match text.split_once('=') {
            Some((option, value)) if option.starts_with("--") => (option, Some(value)),
            _ => (text, None),
        };
        match option {
            "-C" => {
                let Some(dir) = args.get(index) else {
                    return Err("`git -C` has no folder".to_string());
                };
                if !dir.known {
                    return Err(unknown("git", dir, "the folder it works in"));
                }
                index += 1;
                directory = Some(match directory {
                    Some(outer) if !dir.text.starts_with('/') => format!("{outer}/{}", dir.text),
                    _ => dir.text.clone(),
                });
            }
            "-c" | "--config-env" | "--exec-path" | "--upload-pack" | "--receive-pack" => {
                return Err(code(option));
            }
            "--git-dir" | "--work-tree" => {
                return Err(format!(
                    "`git {option}` points git at another repository or work tree, whose configuration or hooks can run commands"
                ));
            }
            "--namespace" | "--super-prefix" | "--list-cmds" | "--attr-source" => {
                if value.is_none() {
                    index += 1;
                }
            }
            "-p"
            | "-P"
            | "--paginate"
            | "--no-pager"
            | "--bare"
            | "--no-replace-objects"
            | "--literal-pathspecs"
            | "--glob-pathspecs"
            | "--noglob-pathspecs"
            | "--icase-pathspecs"
            | "--no-optional-locks"
            | "--no-lazy-fetch"
            | "--no-advice"
            | "--version"
            | "--help"
            | "-v"
            | "-h"
            | "--html-path"
            | "--man-path"
            | "--info-path" => {}
            _ if text.starts_with("-c") => return Err(code("-c")),
            _ => return Err(format!("`git {option}` is not known to rein")),
        }
    }
    let at = |path: &str| -> String {
        match &directory {
            Some(dir) if !path.starts_with('/') => format!("{dir}/{path}"),
            _ => path.to_string(),
        }
    };
    let write = |files: &mut Files, word: &Word| {
        if word.known {
            files.write_text(&at(&word.text));
        } else {
            files.write(word);
        }
    };
    let write_tree = |files: &mut Files, word: &Word| {
        if word.known {
            files.write_tree(&Word::known(at(&word.text)));
        } else {
            files.write(word);
        }
    };
    let Some(subcommand) = args.get(index) else {
        if appended_unknown {
            return Err("`git` gets its subcommand only at run time".to_string());
        }
        return Ok(());
    };
    if !subcommand.known {
        return Err(unknown("git", subcommand, "its subcommand"));
    }
    let rest = &args[index + 1..];
    let sub = subcommand.text.as_str();
    let known_rest = || {
        rest.iter()
            .filter(|word| word.known)
            .map(|w| w.text.as_str())
    };
    // Options of subcommands that run a program or set configuration.
    let refused_options: &[&str] = match sub {
        "clone" => &[
            "--upload-pack",
            "--template",
            "--separate-git-dir",
            "--config",
        ],
        "init" => &["--template", "--separate-git-dir"],
        "fetch" | "pull" | "ls-remote" | "archive" => &["--upload-pack", "--exec"],
        "push" | "send-pack" => &["--receive-pack", "--exec"],
        "rebase" => &["--exec"],
        "difftool" => &["--extcmd"],
        "grep" => &["--open-files-in-pager"],
        _ => &[],
    };
    for word in known_rest() {
        let option = word.split('=').next().unwrap_or_default();
        if option.len() > 2
            && refused_options
                .iter()
                .any(|refused| refused.starts_with(option) && option.starts_with("--"))
        {
            return Err(code(&format!("{sub} {option}")));
        }
    }
    let short_option = |letter: char| {
        rest.iter().position(|word| {
            word.known
                && word.text.starts_with('-')
                && !word.text.starts_with("--")
                && word.text[1..].contains(letter)
        })
    };
    // `--output FILE` (separate argument), `--output-directory`, and `--output=` under -C.
    let mut i = 0;
    while let Some(word) = rest.get(i) {
        i += 1;
        if !word.known {
            continue;
        }
        match word.text.as_str() {
            "--output" => {
                if let Some(file) = rest.get(i) {
                    write(files, file);
                    i += 1;
                }
            }
            "--output-directory" => {
                if let Some(dir) = rest.get(i) {
                    write_tree(files, dir);
                    i += 1;
                }
            }
            text if text.starts_with("--output-directory=") => {
                write_tree(files, &Word::known(&text["--output-directory=".len()..]));
            }
            text if text.starts_with("--output=") => {
                write(files, &Word::known(&text["--output=".len()..]));
            }
            _ => {}
        }
    }
    match sub {
        "config" => {
            const READS: &[&str] = &[
                "--get",
                "--get-all",
                "--get-regexp",
                "--get-urlmatch",
                "--list",
                "-l",
                "get",
                "list",
            ];
            const READ_MODIFIERS: &[&str] = &[
                "--global",
                "--system",
                "--local",
                "--worktree",
                "--show-origin",
                "--show-scope",
                "--name-only",
                "--null",
                "-z",
                "--type",
                "--bool",
                "--int",
                "--bool-or-int",
                "--path",
                "--default",
                "--includes",
                "--no-includes",
                "--all",
            ];
            let mut operands = 0;
            let mut reading = false;
            for word in rest {
                if !word.known {
                    return Err(unknown("git", word, "what `git config` does"));
                }
                let option = word.text.split('=').next().unwrap_or_default();
                if READS.contains(&option) {
                    reading = true;
                } else if word.text.starts_with('-') {
                    if !READ_MODIFIERS.contains(&option) {
                        return Err(format!(
                            "`git config {option}` can change git's configuration, which can make git run commands later"
                        ));
                    }
                } else {
                    operands += 1;
                }
            }
            if !reading && operands > 1 {
                return Err(
                    "`git config` that sets a value can make git run commands later".to_string(),
                );
            }
        }
        "rebase" if short_option('x').is_some() => return Err(code("rebase -x")),
        "bisect" if known_rest().next() == Some("run") => return Err(code("bisect run")),
        "submodule" if known_rest().any(|word| word == "foreach") => {
            return Err(code("submodule foreach"));
        }
        "filter-branch" => return Err(code("filter-branch")),
        "difftool" if short_option('x').is_some() => return Err(code("difftool -x")),
        "grep" if short_option('O').is_some() => return Err(code("grep -O")),
        "clone" if short_option('u').is_some() => return Err(code("clone -u")),
        "clone" if short_option('c').is_some() => return Err(code("clone -c")),
        "archive" => {
            if let Some(at) = short_option('o')
                && let Some(file) = rest.get(at + 1)
            {
                write(files, file);
            }
        }
        "format-patch" => {
            if let Some(at) = short_option('o')
                && let Some(dir) = rest.get(at + 1)
            {
                write_tree(files, dir);
            }
        }
        "bundle" if known_rest().next() == Some("create") => {
            if let Some(file) = rest
                .iter()
                .skip(1)
                .find(|word| !(word.known && word.text.starts_with('-')))
            {
                write(files, file);
            }
        }
        "init" | "clone" | "worktree" => {
            // The folder of a new repository or worktree, when it is named (git writes
            // its own default configuration there).
            const WITH_VALUE: &[&str] = &[
                "--depth",
                "--branch",
                "-b",
                "--origin",
                "-o",
                "--reference",
                "--reference-if-able",
                "--jobs",
                "-j",
                "--filter",
                "--shallow-since",
                "--shallow-exclude",
                "--server-option",
                "--bundle-uri",
                "--object-format",
                "--ref-format",
                "--initial-branch",
                "--shared",
                "--reason",
                "-B",
            ];
            let mut operands: Vec<&Word> = Vec::new();
            let mut j = 0;
            while let Some(word) = rest.get(j) {
                j += 1;
                if word.known && word.text.starts_with('-') {
                    if WITH_VALUE.contains(&word.text.as_str()) {
                        j += 1;
                    }
                    continue;
                }
                operands.push(word);
            }
            let folder = match sub {
                "init" => operands.first(),
                "clone" => operands.get(1),
                _ if operands.first().is_some_and(|w| w.known && w.text == "add") => {
                    operands.get(1)
                }
                _ => None,
            };
            if let Some(folder) = folder {
                write_tree(files, folder);
            }
        }
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// tar

/// What a tar command line does, as its options say.
#[derive(Default)]
struct TarState {
    mode: Option<char>,
    archive: Option<Word>,
    directory: Option<Word>,
    absolute: bool,
    remove_files: bool,
}

impl TarState {
    fn letter(
        &mut self,
        letter: char,
        value: Option<Word>,
        files: &mut Files,
    ) -> Result<(), Refused> {
        match letter {
            'c' | 'r' | 'u' | 'A' | 'x' | 't' | 'd' => self.mode = Some(letter),
            'f' => self.archive = value,
            'C' => self.directory = value,
            'P' => self.absolute = true,
            'I' => return Err(tar_code("-I")),
            'F' => return Err(tar_code("-F")),
            'g' => {
                if let Some(file) = value {
                    files.write(&file);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn tar_code(what: &str) -> Refused {
    format!("`tar {what}` runs a program, which cannot be checked")
}

/// tar: options that run programs are refused; the archive of `-c`/`-r`/`-u` is written;
/// `-x` writes its members into `-C DIR` (and absolute names, `-P`, are refused).
fn tar(args: &[Word], appended_unknown: bool, files: &mut Files) -> Result<(), Refused> {
    const WITH_ARGUMENT: &str = "bCfFgHIKLNTVX";
    let mut state = TarState::default();
    let mut operands: Vec<&Word> = Vec::new();
    let mut index = 0;
    // Old style: the first word is letters without a dash (`tar xzf a.tar`).
    if let Some(first) = args.first()
        && first.known
        && !first.text.is_empty()
        && first.text.chars().all(|c| c.is_ascii_alphabetic())
    {
        index = 1;
        for letter in first.text.chars() {
            let value = if WITH_ARGUMENT.contains(letter) {
                let value = args.get(index).cloned();
                index += 1;
                value
            } else {
                None
            };
            state.letter(letter, value, files)?;
        }
    }
    let mut options_done = false;
    let mut to_stdout = false;
    while let Some(word) = args.get(index) {
        index += 1;
        if !word.known {
            if word.may_be_option && !options_done {
                return Err(unknown("tar", word, "its options"));
            }
            operands.push(word);
            continue;
        }
        let text = word.text.as_str();
        if options_done || !text.starts_with('-') || text == "-" {
            operands.push(word);
            continue;
        }
        if text == "--" {
            options_done = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (option, value) = match long.split_once('=') {
                Some((option, value)) => (option, Some(Word::known(value))),
                None => (long, None),
            };
            const TAKES_VALUE: &[&str] = &[
                "file",
                "directory",
                "listed-incremental",
                "index-file",
                "volno-file",
                "exclude-from",
                "files-from",
            ];
            let value = if value.is_none() && TAKES_VALUE.contains(&option) {
                let next = args.get(index).cloned();
                index += 1;
                next
            } else {
                value
            };
            match option {
                "to-command"
                | "use-compress-program"
                | "checkpoint-action"
                | "info-script"
                | "new-volume-script"
                | "rsh-command"
                | "rmt-command" => {
                    return Err(tar_code(&format!("--{option}")));
                }
                "create" => state.mode = Some('c'),
                "append" | "concatenate" | "catenate" => state.mode = Some('r'),
                "update" => state.mode = Some('u'),
                "delete" => state.mode = Some('D'),
                "extract" | "get" => state.mode = Some('x'),
                "file" => state.archive = value,
                "directory" => state.directory = value,
                "absolute-names" => state.absolute = true,
                "remove-files" => state.remove_files = true,
                "to-stdout" => to_stdout = true,
                "listed-incremental" | "index-file" | "volno-file" => {
                    if let Some(file) = value {
                        files.write(&file);
                    }
                }
                _ => {}
            }
            continue;
        }
        for (letter, rest) in letters(&text[1..]) {
            if letter == 'O' {
                to_stdout = true;
            }
            if WITH_ARGUMENT.contains(letter) {
                let value = if rest.is_empty() {
                    let next = args.get(index).cloned();
                    index += 1;
                    next
                } else {
                    Some(Word::known(rest))
                };
                state.letter(letter, value, files)?;
                break;
            }
            state.letter(letter, None, files)?;
        }
    }
    if matches!(state.mode, Some('c' | 'r' | 'u' | 'A' | 'D'))
        && let Some(file) = &state.archive
        && !(file.known && file.text == "-")
    {
        files.write(file);
    }
    if state.mode == Some('x') {
        if state.absolute {
            return Err("`tar -x --absolute-names` writes wherever the archive says".to_string());
        }
        if !to_stdout {
            let base = state.directory.clone().unwrap_or_else(|| Word::known("."));
            files.write_tree(&base);
            if appended_unknown {
                return Err("`tar -x` gets member names only at run time".to_string());
            }
            for member in &operands {
                if member.known && base.known && base.text != "." {
                    files.write_text(&format!(
                        "{}/{}",
                        base.text.trim_end_matches('/'),
                        member.text
                    ));
                } else {
                    files.write(member);
                }
            }
        }
    }
    if state.remove_files {
        for source in &operands {
            files.write(source);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// rsync

/// rsync: a remote shell or remote program is refused; the destination (last operand) is
/// written, and so are log, batch, backup and temporary files.
fn rsync(args: &[Word], appended_unknown: bool, files: &mut Files) -> Result<(), Refused> {
    const WITH_ARGUMENT_SHORT: &str = "eBfMT";
    const WITH_ARGUMENT_LONG: &[&str] = &[
        "exclude",
        "include",
        "filter",
        "exclude-from",
        "include-from",
        "files-from",
        "rsh",
        "rsync-path",
        "temp-dir",
        "backup-dir",
        "partial-dir",
        "log-file",
        "log-file-format",
        "write-batch",
        "only-write-batch",
        "read-batch",
        "compare-dest",
        "copy-dest",
        "link-dest",
        "suffix",
        "chmod",
        "chown",
        "usermap",
        "groupmap",
        "timeout",
        "contimeout",
        "port",
        "bwlimit",
        "max-size",
        "min-size",
        "max-delete",
        "modify-window",
        "block-size",
        "checksum-choice",
        "compress-choice",
        "compress-level",
        "skip-compress",
        "out-format",
        "password-file",
        "sockopts",
        "protocol",
        "iconv",
        "remote-option",
        "info",
        "debug",
        "stop-after",
        "stop-at",
        "address",
        "outbuf",
        "max-alloc",
        "checksum-seed",
    ];
    let code = |what: &str| format!("`rsync {what}` runs a program, which cannot be checked");
    let mut operands: Vec<&Word> = Vec::new();
    let mut remove_sources = false;
    let mut index = 0;
    let mut options_done = false;
    while let Some(word) = args.get(index) {
        index += 1;
        if !word.known {
            if word.may_be_option && !options_done {
                return Err(unknown("rsync", word, "its options"));
            }
            operands.push(word);
            continue;
        }
        let text = word.text.as_str();
        if options_done || !text.starts_with('-') || text == "-" {
            operands.push(word);
            continue;
        }
        if text == "--" {
            options_done = true;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (option, value) = match long.split_once('=') {
                Some((option, value)) => (option, Some(Word::known(value))),
                None => (long, None),
            };
            let value = if value.is_none() && WITH_ARGUMENT_LONG.contains(&option) {
                let next = args.get(index).cloned();
                index += 1;
                next
            } else {
                value
            };
            match option {
                "rsh" | "rsync-path" | "remote-option" => {
                    return Err(code(&format!("--{option}")));
                }
                "log-file" | "write-batch" | "only-write-batch" => {
                    if let Some(file) = value {
                        files.write(&file);
                    }
                }
                "backup-dir" | "partial-dir" | "temp-dir" => {
                    if let Some(dir) = value {
                        files.write_tree(&dir);
                    }
                }
                "remove-source-files" | "remove-sent-files" => remove_sources = true,
                _ => {}
            }
            continue;
        }
        for (letter, rest) in letters(&text[1..]) {
            if WITH_ARGUMENT_SHORT.contains(letter) {
                let value = if rest.is_empty() {
                    let next = args.get(index).cloned();
                    index += 1;
                    next
                } else {
                    Some(Word::known(rest))
                };
                match letter {
                    'e' | 'M' => return Err(code(&format!("-{letter}"))),
                    'T' => {
                        if let Some(dir) = value {
                            files.write_tree(&dir);
                        }
                    }
                    _ => {}
                }
                break;
            }
        }
    }
    if appended_unknown {
        return Err("`rsync` gets its destination only at run time".to_string());
    }
    if operands.len() >= 2 {
        if let Some(destination) = operands.pop()
            && !is_remote(destination)
        {
            files.write_tree(destination);
        }
        if remove_sources {
            for source in operands {
                if !is_remote(source) {
                    files.write(source);
                }
            }
        }
    }
    Ok(())
}

/// `host:path`, `user@host:path` or `rsync://…`.
fn is_remote(word: &Word) -> bool {
    word.known && {
        let text = word.text.as_str();
        text.starts_with("rsync://")
            || text
                .split_once(':')
                .is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'))
    }
}

// ---------------------------------------------------------------------------------------
// sort, sdiff/diff3, tee, dd

/// sort: `-o FILE` is a write, `--compress-program` runs a program, `-T DIR` writes there.
fn sort(args: &[Word], files: &mut Files) -> Result<(), Refused> {
    let mut index = 0;
    while let Some(word) = args.get(index) {
        index += 1;
        if !word.known {
            continue;
        }
        let text = word.text.as_str();
        if text == "--" {
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let option = long.split('=').next().unwrap_or_default();
            let value = long.split_once('=').map(|(_, value)| Word::known(value));
            let separate = || args.get(index).cloned();
            let is = |full: &str| !option.is_empty() && full.starts_with(option);
            if is("compress-program") {
                return Err(
                    "`sort --compress-program` runs a program, which cannot be checked".to_string(),
                );
            }
            if is("output") {
                // `--output=FILE` is seen by the generic pass.
                if value.is_none()
                    && let Some(file) = separate()
                {
                    files.write(&file);
                    index += 1;
                }
            } else if is("temporary-directory") {
                match value {
                    Some(dir) => files.write_tree(&dir),
                    None => {
                        if let Some(dir) = separate() {
                            files.write_tree(&dir);
                            index += 1;
                        }
                    }
                }
            } else if is("files0-from") {
                match value {
                    Some(file) => files.read(&file),
                    None => {
                        if let Some(file) = separate() {
                            files.read(&file);
                            index += 1;
                        }
                    }
                }
            } else if value.is_none()
                && [
                    "key",
                    "field-separator",
                    "buffer-size",
                    "parallel",
                    "batch-size",
                    "sort",
                    "random-source",
                ]
                .iter()
                .any(|full| is(full))
            {
                index += 1;
            }
            continue;
        }
        let Some(cluster) = text.strip_prefix('-').filter(|c| !c.is_empty()) else {
            continue;
        };
        for (letter, rest) in letters(cluster) {
            if "kotTS".contains(letter) {
                let value = if rest.is_empty() {
                    let next = args.get(index).cloned();
                    index += 1;
                    next
                } else {
                    Some(Word::known(rest))
                };
                if let Some(value) = value {
                    match letter {
                        'o' => files.write(&value),
                        'T' => files.write_tree(&value),
                        _ => {}
                    }
                }
                break;
            }
        }
    }
    Ok(())
}

/// sdiff and diff3: `--diff-program` runs a program; sdiff's `-o FILE` is a write.
fn sdiff(name: &str, args: &[Word], files: &mut Files) -> Result<(), Refused> {
    let mut index = 0;
    while let Some(word) = args.get(index) {
        index += 1;
        if !word.known {
            continue;
        }
        let text = word.text.as_str();
        if text.starts_with("--diff-program") || text.starts_with("--diff-prog") {
            return Err(format!(
                "`{name} --diff-program` runs a program, which cannot be checked"
            ));
        }
        if name == "sdiff" {
            if text == "--output" {
                if let Some(file) = args.get(index) {
                    files.write(file);
                    index += 1;
                }
            } else if let Some(cluster) = text.strip_prefix('-').filter(|c| !c.starts_with('-'))
                && let Some(at) = cluster.find('o')
            {
                let rest = &cluster[at + 1..];
                if rest.is_empty() {
                    if let Some(file) = args.get(index) {
                        files.write(file);
                        index += 1;
                    }
                } else {
                    files.write_text(rest);
                }
            }
        }
    }
    Ok(())
}

/// tee: every operand is written.
fn tee(args: &[Word], appended_unknown: bool, files: &mut Files) -> Result<(), Refused> {
    if appended_unknown {
        return Err("`tee` gets the files it writes only at run time".to_string());
    }
    let mut options_done = false;
    for word in args {
        if !options_done && word.known && word.text == "--" {
            options_done = true;
            continue;
        }
        if !options_done && word.known && word.text.starts_with('-') && word.text != "-" {
            continue;
        }
        if !options_done && !word.known && word.may_be_option {
            return Err(unknown("tee", word, "the files it writes"));
        }
        files.write(word);
    }
    Ok(())
}

/// dd: `of=FILE` is a write, `if=FILE` a read.
fn dd(args: &[Word], files: &mut Files) {
    for word in args {
        if let Some(file) = word.text.strip_prefix("of=") {
            files.push(RedirectKind::Write, file, word.known);
        } else if let Some(file) = word.text.strip_prefix("if=") {
            files.push(RedirectKind::Read, file, word.known);
        }
    }
}

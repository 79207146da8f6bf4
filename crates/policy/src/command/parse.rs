//! A shell command line → every simple command it would run, or a refusal.
//!
//! A hand-written lexer and recursive-descent parser for the part of POSIX sh / bash that
//! agents write: lists (`;`, `&`, `&&`, `||`, newlines), pipelines (`|`, `|&`), subshells
//! `( )`, groups `{ }`, quoting (`'…'`, `"…"`, `$'…'`, backslashes), command substitution
//! `$( )` and backticks, process substitution `<( )` / `>( )`, redirections (including
//! here-strings and here-documents), leading `NAME=value` assignments and comments.
//!
//! Every word becomes a [`Word`]: its value when the shell would not change it, or
//! "unknown" (a variable, a substitution's output, a glob, `~`) with whether it might turn
//! into an option or several words. Commands found inside substitutions are reported like
//! any other.
//!
//! **Invariant:** anything not fully understood is a [`Refusal`], never a guess:
//! arithmetic, `${…}` with operators, compound commands (`if`, `for`, `case`, `while`,
//! `[[ ]]`, functions), arrays, named file descriptors, unterminated quotes, and
//! here-documents whose body would be expanded.

use std::fmt;

/// Nesting limit for substitutions, subshells and `sh -c` strings.
pub(crate) const MAX_DEPTH: usize = 16;

/// A word of a command after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The value when `known`, else the word as written.
    pub text: String,
    /// The shell passes `text` unchanged.
    pub known: bool,
    /// Unknown and able to become an option (begins with `-`, or its first character is
    /// not a literal) or to split into several words.
    pub may_be_option: bool,
}

impl Word {
    pub(crate) fn known(text: impl Into<String>) -> Word {
        let text = text.into();
        let may_be_option = text.starts_with('-');
        Word {
            text,
            known: true,
            may_be_option,
        }
    }

    pub(crate) fn unknown(text: impl Into<String>, may_be_option: bool) -> Word {
        Word {
            text: text.into(),
            known: false,
            may_be_option,
        }
    }

    /// `text` as a command line would show it: known words quoted when needed, unknown
    /// words as written.
    pub fn display(&self) -> String {
        if !self.known {
            return self.text.clone();
        }
        let plain = !self.text.is_empty()
            && self
                .text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^{}".contains(c));
        if plain {
            self.text.clone()
        } else {
            format!("'{}'", self.text.replace('\'', "'\\''"))
        }
    }
}

/// What a redirection does with its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `<`
    Read,
    /// `>`, `>>`, `>|`, `&>`, `&>>`, `>&file`
    Write,
    /// `<>`
    ReadWrite,
    /// `n>&m`, `n<&m`, `>&-`: no file involved
    DuplicateFd,
    /// `<<<` or a here-document: text, no file
    Text,
}

/// One redirection: its operator kind and its target word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub kind: RedirectKind,
    pub target: Word,
}

/// A simple command: assignments, words and redirections.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimpleCommand {
    pub assignments: Vec<(String, Word)>,
    pub words: Vec<Word>,
}

/// Every simple command and redirection of a command line, in source order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedLine {
    pub commands: Vec<SimpleCommand>,
    pub redirects: Vec<Redirect>,
}

/// Why a command line cannot be proven safe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

pub(crate) fn refuse<T>(reason: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        reason: reason.into(),
    })
}

/// Parse `source` into every simple command it would run.
pub fn parse(source: &str) -> Result<ParsedLine, Refusal> {
    let mut out = ParsedLine::default();
    parse_into(source, 0, &mut out)?;
    Ok(out)
}

pub(crate) fn parse_into(source: &str, depth: usize, out: &mut ParsedLine) -> Result<(), Refusal> {
    if depth > MAX_DEPTH {
        return refuse(format!(
            "commands are nested more than {MAX_DEPTH} levels deep"
        ));
    }
    let mut parser = Parser {
        chars: source.chars().collect(),
        pos: 0,
        depth,
        out,
        pending_heredocs: Vec::new(),
    };
    parser.parse_list(Terminator::End)?;
    if !parser.pending_heredocs.is_empty() {
        return refuse("a here-document has no body (missing newline or delimiter)");
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Terminator {
    End,
    Paren,
    Brace,
}

struct Heredoc {
    delimiter: String,
    strip_tabs: bool,
    expands: bool,
}

/// What a word turned out to be while reading it.
#[derive(Default)]
struct WordBuilder {
    text: String,
    source: String,
    known: bool,
    /// Unquoted expansion: the value may split into several words.
    may_split: bool,
    /// The first character is a literal (not from an expansion or a glob character).
    first_is_literal: Option<bool>,
    /// The whole word is unquoted literal text (a reserved word candidate).
    all_unquoted_literal: bool,
    /// Unquoted shape: quoted characters replaced by `_`, to spot brace expansion.
    unquoted_shape: String,
    has_glob: bool,
    empty: bool,
}

impl WordBuilder {
    fn new() -> WordBuilder {
        WordBuilder {
            known: true,
            all_unquoted_literal: true,
            empty: true,
            ..WordBuilder::default()
        }
    }

    fn literal(&mut self, c: char, quoted: bool) {
        if self.first_is_literal.is_none() {
            self.first_is_literal = Some(true);
        }
        self.text.push(c);
        self.unquoted_shape.push(if quoted { '_' } else { c });
        if quoted {
            self.all_unquoted_literal = false;
        }
        self.empty = false;
    }

    fn expansion(&mut self, quoted: bool) {
        if self.first_is_literal.is_none() {
            self.first_is_literal = Some(false);
        }
        self.known = false;
        self.all_unquoted_literal = false;
        self.unquoted_shape.push('_');
        if !quoted {
            self.may_split = true;
        }
        self.empty = false;
    }

    fn quoted_empty(&mut self) {
        self.all_unquoted_literal = false;
        self.empty = false;
    }

    fn finish(self) -> Word {
        let brace_expansion = has_brace_expansion(&self.unquoted_shape);
        let known = self.known && !self.has_glob && !brace_expansion;
        if known {
            return Word::known(self.text);
        }
        let first_safe = self.first_is_literal == Some(true)
            && !self.text.starts_with('-')
            && !self.unquoted_shape.starts_with(['*', '?', '[', '{']);
        Word::unknown(
            self.source,
            self.may_split || brace_expansion || !first_safe,
        )
    }
}

/// `{a,b}` or `{1..3}` in the unquoted text.
fn has_brace_expansion(shape: &str) -> bool {
    let mut rest = shape;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(close) = after.find('}') {
            let inner = &after[..close];
            if inner.contains(',') || inner.contains("..") {
                return true;
            }
        }
        rest = after;
    }
    false
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Characters that end an unquoted word.
fn is_word_end(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')'
    )
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

const KEYWORDS_REFUSED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "select", "function", "coproc", "[[", "]]", "in",
];

struct Parser<'out> {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    out: &'out mut ParsedLine,
    pending_heredocs: Vec<Heredoc>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn starts_with(&self, text: &str) -> bool {
        text.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
    }

    /// Skip blanks and `\`-newline continuations.
    fn skip_blanks(&mut self) {
        loop {
            match self.peek() {
                Some(c) if is_blank(c) => self.pos += 1,
                Some('\\') if self.peek_at(1) == Some('\n') => self.pos += 2,
                _ => return,
            }
        }
    }

    fn skip_comment(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                return;
            }
            self.pos += 1;
        }
    }

    /// An unquoted reserved word `word` at the cursor, followed by a word end.
    fn at_reserved(&self, word: &str) -> bool {
        let len = word.chars().count();
        self.starts_with(word)
            && self
                .peek_at(len)
                .is_none_or(|c| is_word_end(c) || c == '\n')
    }

    fn parse_list(&mut self, terminator: Terminator) -> Result<(), Refusal> {
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else {
                return match terminator {
                    Terminator::End => Ok(()),
                    Terminator::Paren => refuse("unbalanced `(`: missing `)`"),
                    Terminator::Brace => refuse("unbalanced `{`: missing `}`"),
                };
            };
            match c {
                '#' => self.skip_comment(),
                '\n' => {
                    self.pos += 1;
                    self.read_heredoc_bodies()?;
                }
                ';' => {
                    if matches!(self.peek_at(1), Some(';' | '&')) {
                        return refuse("`;;` / `;&` belong to `case`, which is not parsed");
                    }
                    self.pos += 1;
                }
                '&' | '|' => {
                    if c == '&' && self.peek_at(1) == Some('>') {
                        // `&>file` with no command: a redirection only.
                        self.parse_command()?;
                    } else {
                        self.pos += 1;
                        if matches!(self.peek(), Some('&' | '|')) {
                            self.pos += 1;
                        }
                    }
                }
                ')' => {
                    if terminator == Terminator::Paren {
                        self.pos += 1;
                        return Ok(());
                    }
                    return refuse("unbalanced `)`");
                }
                '(' => {
                    if self.peek_at(1) == Some('(') {
                        return refuse("arithmetic `(( ))` is not parsed");
                    }
                    self.pos += 1;
                    self.nested(|parser| parser.parse_list(Terminator::Paren))?;
                    self.parse_trailing_redirects()?;
                }
                '}' if terminator == Terminator::Brace && self.at_reserved("}") => {
                    self.pos += 1;
                    return Ok(());
                }
                '}' if self.at_reserved("}") => return refuse("unbalanced `}`"),
                '{' if self.at_reserved("{") => {
                    self.pos += 1;
                    self.nested(|parser| parser.parse_list(Terminator::Brace))?;
                    self.parse_trailing_redirects()?;
                }
                '!' if self.at_reserved("!") => self.pos += 1,
                _ => self.parse_command()?,
            }
        }
    }

    fn nested(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<(), Refusal>,
    ) -> Result<(), Refusal> {
        if self.depth >= MAX_DEPTH {
            return refuse(format!(
                "commands are nested more than {MAX_DEPTH} levels deep"
            ));
        }
        self.depth += 1;
        let result = body(self);
        self.depth -= 1;
        result
    }

    fn parse_trailing_redirects(&mut self) -> Result<(), Refusal> {
        loop {
            self.skip_blanks();
            if !self.try_redirect()? {
                return match self.peek() {
                    None | Some(';' | '&' | '|' | ')' | '\n' | '#') => Ok(()),
                    Some('}') if self.at_reserved("}") => Ok(()),
                    Some(_) => {
                        refuse("a word after `)` or `}` is a syntax error or a function definition")
                    }
                };
            }
        }
    }

    /// A simple command: assignments, words and redirections.
    fn parse_command(&mut self) -> Result<(), Refusal> {
        let mut command = SimpleCommand::default();
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            if c == '\n' || c == ';' || c == ')' || c == '|' {
                break;
            }
            if c == '&' && self.peek_at(1) != Some('>') {
                break;
            }
            if c == '(' {
                return refuse(if command.words.is_empty() {
                    "`(` after an assignment is a syntax error or an array".to_string()
                } else {
                    format!(
                        "`{} (…)` is a function definition or a syntax error",
                        command.words[0].text
                    )
                });
            }
            if c == '#' {
                self.skip_comment();
                break;
            }
            if self.try_redirect()? {
                continue;
            }
            let at_command_position = command.words.is_empty();
            let start = self.pos;
            let builder = self.read_word()?;
            let raw: String = self.chars[start..self.pos].iter().collect();
            if at_command_position {
                if let Some((name, value)) = self.assignment(&builder, &raw)? {
                    command.assignments.push((name, value));
                    continue;
                }
                if builder.all_unquoted_literal
                    && command.assignments.is_empty()
                    && KEYWORDS_REFUSED.contains(&builder.text.as_str())
                {
                    return refuse(format!(
                        "shell keyword `{}`: compound commands are not parsed",
                        builder.text
                    ));
                }
            }
            command.words.push(builder.finish());
        }
        if !command.words.is_empty() || !command.assignments.is_empty() {
            self.out.commands.push(command);
        }
        Ok(())
    }

    /// `NAME=value` (or `NAME+=value`) at command position.
    fn assignment(
        &mut self,
        builder: &WordBuilder,
        raw: &str,
    ) -> Result<Option<(String, Word)>, Refusal> {
        let name_len = raw.chars().take_while(|&c| is_name_char(c)).count();
        if name_len == 0 || !raw.chars().next().is_some_and(is_name_start) {
            if raw.contains('[') && raw.contains("]=") {
                return refuse(format!("array assignment `{raw}` is not parsed"));
            }
            return Ok(None);
        }
        let rest = &raw[name_len..];
        let value_raw = if let Some(value) = rest.strip_prefix('=') {
            value
        } else if let Some(value) = rest.strip_prefix("+=") {
            value
        } else {
            if rest.starts_with('[') {
                return refuse(format!("array assignment `{raw}` is not parsed"));
            }
            return Ok(None);
        };
        if self.peek() == Some('(') && value_raw.is_empty() {
            return refuse(format!("array assignment `{raw}(…)` is not parsed"));
        }
        let name = raw[..name_len].to_string();
        // The value is the builder's text after `NAME=`; its expansions were already seen.
        let prefix = raw.len() - value_raw.len();
        let value = if builder.known && !builder.has_glob {
            Word::known(builder.text.get(prefix..).unwrap_or_default())
        } else {
            // Assignment values are not split or globbed.
            Word::unknown(value_raw, false)
        };
        Ok(Some((name, value)))
    }

    /// A redirection at the cursor, if there is one.
    fn try_redirect(&mut self) -> Result<bool, Refusal> {
        let start = self.pos;
        let mut offset = 0;
        while self.peek_at(offset).is_some_and(|c| c.is_ascii_digit()) {
            offset += 1;
        }
        if offset == 0 && self.peek() == Some('{') {
            // `{fd}>file`: a named file descriptor.
            let close = (1..64).find(|&i| self.peek_at(i) == Some('}'));
            if let Some(close) = close
                && matches!(self.peek_at(close + 1), Some('<' | '>'))
            {
                return refuse("named file descriptors `{fd}>` are not parsed");
            }
        }
        let op_start = offset;
        let c = self.peek_at(op_start);
        let next = self.peek_at(op_start + 1);
        let (kind, len) = match (c, next) {
            (Some('&'), Some('>')) if op_start == 0 => {
                if self.peek_at(2) == Some('>') {
                    (RedirectKind::Write, 3)
                } else {
                    (RedirectKind::Write, 2)
                }
            }
            (Some('<'), Some('(')) | (Some('>'), Some('(')) => return Ok(false),
            (Some('<'), Some('<')) => {
                if self.peek_at(op_start + 2) == Some('<') {
                    (RedirectKind::Text, 3)
                } else {
                    self.pos = start + op_start + 2;
                    let strip_tabs = if self.peek() == Some('-') {
                        self.pos += 1;
                        true
                    } else {
                        false
                    };
                    self.read_heredoc_delimiter(strip_tabs)?;
                    return Ok(true);
                }
            }
            (Some('<'), Some('>')) => (RedirectKind::ReadWrite, 2),
            (Some('<'), Some('&')) => (RedirectKind::DuplicateFd, 2),
            (Some('<'), _) => (RedirectKind::Read, 1),
            (Some('>'), Some('>')) => (RedirectKind::Write, 2),
            (Some('>'), Some('|')) => (RedirectKind::Write, 2),
            (Some('>'), Some('&')) => (RedirectKind::DuplicateFd, 2),
            (Some('>'), _) => (RedirectKind::Write, 1),
            _ => return Ok(false),
        };
        self.pos = start + op_start + len;
        self.skip_blanks();
        if self
            .peek()
            .is_none_or(|c| is_word_end(c) && c != '<' && c != '>')
            || self.peek().is_some_and(|c| c == '<' || c == '>') && self.peek_at(1) != Some('(')
        {
            return refuse("a redirection has no target");
        }
        let target = self.read_word()?.finish();
        let kind = if kind == RedirectKind::DuplicateFd {
            let is_fd = target.known
                && !target.text.is_empty()
                && (target.text == "-"
                    || target
                        .text
                        .trim_end_matches('-')
                        .chars()
                        .all(|c| c.is_ascii_digit()));
            if is_fd {
                RedirectKind::DuplicateFd
            } else if c == Some('>') {
                // `>&file` writes stdout and stderr to a file.
                RedirectKind::Write
            } else {
                return refuse(format!(
                    "`<&{}`: duplicating a file descriptor that is not a number",
                    target.text
                ));
            }
        } else {
            kind
        };
        self.out.redirects.push(Redirect { kind, target });
        Ok(true)
    }

    fn read_heredoc_delimiter(&mut self, strip_tabs: bool) -> Result<(), Refusal> {
        self.skip_blanks();
        let start = self.pos;
        if self.peek().is_none_or(is_word_end) {
            return refuse("a here-document has no delimiter");
        }
        let builder = self.read_word()?;
        let raw: String = self.chars[start..self.pos].iter().collect();
        if !builder.known && !raw.contains(['\'', '"', '\\']) {
            return refuse(format!(
                "here-document delimiter `{raw}` contains an expansion"
            ));
        }
        let expands = !raw.contains(['\'', '"', '\\']);
        self.pending_heredocs.push(Heredoc {
            delimiter: builder.text,
            strip_tabs,
            expands,
        });
        self.out.redirects.push(Redirect {
            kind: RedirectKind::Text,
            target: Word::known(format!("<<{raw}")),
        });
        Ok(())
    }

    /// After a newline: the bodies of here-documents started on the line just ended.
    fn read_heredoc_bodies(&mut self) -> Result<(), Refusal> {
        let heredocs = std::mem::take(&mut self.pending_heredocs);
        for heredoc in heredocs {
            let mut body = String::new();
            loop {
                if self.pos >= self.chars.len() {
                    return refuse(format!(
                        "here-document `{}` has no closing delimiter line",
                        heredoc.delimiter
                    ));
                }
                let line_end = self.chars[self.pos..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(self.chars.len(), |i| self.pos + i);
                let line: String = self.chars[self.pos..line_end].iter().collect();
                self.pos = (line_end + 1).min(self.chars.len());
                let compared = if heredoc.strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line.as_str()
                };
                if compared == heredoc.delimiter {
                    break;
                }
                body.push_str(&line);
                body.push('\n');
            }
            if heredoc.expands && body.contains(['$', '`', '\\']) {
                return refuse(format!(
                    "here-document `{}` has an unquoted delimiter and its body contains `$`, `` ` `` or `\\`: write <<'{}' to keep it literal",
                    heredoc.delimiter, heredoc.delimiter
                ));
            }
        }
        Ok(())
    }

    /// Read one word (the caller checked the cursor is not at a word end).
    fn read_word(&mut self) -> Result<WordBuilder, Refusal> {
        let start = self.pos;
        let mut word = WordBuilder::new();
        while let Some(c) = self.peek() {
            match c {
                '<' | '>' if self.peek_at(1) == Some('(') => {
                    self.pos += 2;
                    self.nested(|parser| parser.parse_list(Terminator::Paren))?;
                    // `/dev/fd/N`: not an option, one word.
                    if word.first_is_literal.is_none() {
                        word.first_is_literal = Some(true);
                    }
                    word.expansion(true);
                }
                c if is_word_end(c) => break,
                '\\' => match self.peek_at(1) {
                    Some('\n') => self.pos += 2,
                    Some(escaped) => {
                        word.literal(escaped, true);
                        self.pos += 2;
                    }
                    None => return refuse("a backslash ends the command"),
                },
                '\'' => {
                    self.pos += 1;
                    word.quoted_empty();
                    loop {
                        match self.peek() {
                            None => return refuse("unterminated single quote"),
                            Some('\'') => {
                                self.pos += 1;
                                break;
                            }
                            Some(quoted) => {
                                word.literal(quoted, true);
                                self.pos += 1;
                            }
                        }
                    }
                }
                '"' => {
                    self.pos += 1;
                    word.quoted_empty();
                    self.read_double_quoted(&mut word)?;
                }
                '$' => self.read_dollar(&mut word, false)?,
                '`' => {
                    self.read_backticks(false)?;
                    word.expansion(false);
                }
                '*' | '?' => {
                    word.has_glob = true;
                    word.literal(c, false);
                    self.pos += 1;
                }
                '[' => {
                    // A bracket expression only when a `]` follows in the word.
                    let closes = self.chars[self.pos + 1..]
                        .iter()
                        .take_while(|&&c| !is_word_end(c))
                        .any(|&c| c == ']');
                    if closes {
                        word.has_glob = true;
                    }
                    word.literal(c, false);
                    self.pos += 1;
                }
                '~' if self.pos == start => {
                    word.expansion(true);
                    word.first_is_literal = Some(true);
                    self.pos += 1;
                }
                _ => {
                    word.literal(c, false);
                    self.pos += 1;
                }
            }
        }
        word.source = self.chars[start..self.pos].iter().collect();
        if word.empty {
            // Only line continuations: nothing was read.
            return refuse("expected a word");
        }
        Ok(word)
    }

    fn read_double_quoted(&mut self, word: &mut WordBuilder) -> Result<(), Refusal> {
        loop {
            match self.peek() {
                None => return refuse("unterminated double quote"),
                Some('"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some('\\') => match self.peek_at(1) {
                    Some('\n') => self.pos += 2,
                    Some(escaped @ ('$' | '`' | '"' | '\\')) => {
                        word.literal(escaped, true);
                        self.pos += 2;
                    }
                    Some(_) => {
                        word.literal('\\', true);
                        self.pos += 1;
                    }
                    None => return refuse("unterminated double quote"),
                },
                Some('$') => self.read_dollar(word, true)?,
                Some('`') => {
                    self.read_backticks(true)?;
                    word.expansion(true);
                }
                Some(c) => {
                    word.literal(c, true);
                    self.pos += 1;
                }
            }
        }
    }

    /// `$…` at the cursor.
    fn read_dollar(&mut self, word: &mut WordBuilder, quoted: bool) -> Result<(), Refusal> {
        match self.peek_at(1) {
            Some('(') => {
                if self.peek_at(2) == Some('(') {
                    return refuse("arithmetic `$(( ))` is not parsed");
                }
                self.pos += 2;
                self.nested(|parser| parser.parse_list(Terminator::Paren))?;
                word.expansion(quoted);
            }
            Some('[') => return refuse("arithmetic `$[ ]` is not parsed"),
            Some('{') => {
                let close = self.chars[self.pos + 2..]
                    .iter()
                    .position(|&c| c == '}')
                    .map(|i| self.pos + 2 + i);
                let Some(close) = close else {
                    return refuse("unterminated `${`");
                };
                let inner: String = self.chars[self.pos + 2..close].iter().collect();
                let simple = (inner.chars().next().is_some_and(is_name_start)
                    && inner.chars().all(is_name_char))
                    || (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()))
                    || matches!(inner.as_str(), "@" | "*" | "#" | "?" | "-" | "$" | "!");
                if !simple {
                    return refuse(format!(
                        "parameter expansion `${{{inner}}}` is not parsed (only `${{NAME}}`)"
                    ));
                }
                self.pos = close + 1;
                word.expansion(quoted);
            }
            Some('\'') if !quoted => {
                self.pos += 2;
                word.quoted_empty();
                self.read_ansi_c(word)?;
            }
            Some('"') if !quoted => {
                // `$"…"`: a translated string, quoted like "…".
                self.pos += 2;
                word.quoted_empty();
                self.read_double_quoted(word)?;
            }
            Some(c) if is_name_start(c) => {
                self.pos += 1;
                while self.peek().is_some_and(is_name_char) {
                    self.pos += 1;
                }
                word.expansion(quoted);
            }
            Some(c) if c.is_ascii_digit() || "@*#?-$!".contains(c) => {
                self.pos += 2;
                word.expansion(quoted);
            }
            _ => {
                word.literal('$', quoted);
                self.pos += 1;
            }
        }
        Ok(())
    }

    /// `$'…'`: backslash escapes decoded as bash does.
    fn read_ansi_c(&mut self, word: &mut WordBuilder) -> Result<(), Refusal> {
        loop {
            let Some(c) = self.peek() else {
                return refuse("unterminated `$'`");
            };
            self.pos += 1;
            match c {
                '\'' => return Ok(()),
                '\\' => {
                    let Some(escaped) = self.peek() else {
                        return refuse("unterminated `$'`");
                    };
                    self.pos += 1;
                    let simple = match escaped {
                        'n' => Some('\n'),
                        't' => Some('\t'),
                        'r' => Some('\r'),
                        'a' => Some('\u{7}'),
                        'b' => Some('\u{8}'),
                        'e' | 'E' => Some('\u{1b}'),
                        'f' => Some('\u{c}'),
                        'v' => Some('\u{b}'),
                        '\\' => Some('\\'),
                        '\'' => Some('\''),
                        '"' => Some('"'),
                        '?' => Some('?'),
                        _ => None,
                    };
                    if let Some(decoded) = simple {
                        word.literal(decoded, true);
                        continue;
                    }
                    let (radix, max_digits) = match escaped {
                        'x' => (16, 2),
                        'u' => (16, 4),
                        'U' => (16, 8),
                        '0'..='7' => (8, 3),
                        'c' => return refuse("`$'\\c…'` control escapes are not parsed"),
                        other => {
                            word.literal('\\', true);
                            word.literal(other, true);
                            continue;
                        }
                    };
                    let mut digits = String::new();
                    if radix == 8 {
                        self.pos -= 1;
                    }
                    while digits.len() < max_digits
                        && self.peek().is_some_and(|d| d.is_digit(radix))
                    {
                        digits.extend(self.peek());
                        self.pos += 1;
                    }
                    let value = u32::from_str_radix(&digits, radix).ok();
                    let decoded = value.and_then(char::from_u32);
                    match decoded {
                        // Bytes above 0x7f from \x or octal are not characters of their own.
                        Some(decoded) if escaped == 'u' || escaped == 'U' || decoded.is_ascii() => {
                            if decoded == '\0' {
                                return refuse("`$'…'` with a NUL byte is not parsed");
                            }
                            word.literal(decoded, true);
                        }
                        _ => {
                            return refuse(format!(
                                "`$'…'` escape `\\{escaped}{digits}` is not parsed"
                            ));
                        }
                    }
                }
                other => word.literal(other, true),
            }
        }
    }

    /// `` `…` `` at the cursor: the inner text is parsed as a command line of its own.
    fn read_backticks(&mut self, in_double_quotes: bool) -> Result<(), Refusal> {
        self.pos += 1;
        let mut inner = String::new();
        loop {
            match self.peek() {
                None => return refuse("unterminated backquote"),
                Some('`') => {
                    self.pos += 1;
                    break;
                }
                Some('\\') => {
                    match self.peek_at(1) {
                        Some(c @ ('$' | '`' | '\\')) => inner.push(c),
                        Some('"') if in_double_quotes => inner.push('"'),
                        Some(c) => {
                            inner.push('\\');
                            inner.push(c);
                        }
                        None => return refuse("unterminated backquote"),
                    }
                    self.pos += 2;
                }
                Some(c) => {
                    inner.push(c);
                    self.pos += 1;
                }
            }
        }
        parse_into(&inner, self.depth + 1, self.out)
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(source: &str, expected: Expect) {
        let rendered = match parse(source) {
            Err(refusal) => format!("refused: {refusal}"),
            Ok(line) => {
                let mut lines = Vec::new();
                for command in &line.commands {
                    let mut parts: Vec<String> = command
                        .assignments
                        .iter()
                        .map(|(name, value)| format!("{name}={}", value.display()))
                        .collect();
                    parts.extend(command.words.iter().map(|word| {
                        if word.known {
                            word.display()
                        } else if word.may_be_option {
                            format!("?{}", word.text)
                        } else {
                            format!("~{}", word.text)
                        }
                    }));
                    lines.push(parts.join(" "));
                }
                for redirect in &line.redirects {
                    lines.push(format!("{:?} {}", redirect.kind, redirect.target.display()));
                }
                lines.join("\n")
            }
        };
        expected.assert_eq(&rendered);
    }

    #[test]
    fn lists_pipelines_and_groups() {
        check(
            "ls -l | grep x && echo ok || true; (cd a; make) & { b; c; }\nd",
            expect![[r#"
                ls -l
                grep x
                echo ok
                true
                cd a
                make
                b
                c
                d"#]],
        );
    }

    #[test]
    fn quotes_and_escapes() {
        check(
            r#""r""m" 'a b' \rm r\m $'\x72m\n' "a\"b" "$HOME" $HOME x$HOME ./*.rs *.rs"#,
            expect![[r#"rm 'a b' rm rm 'rm
' 'a"b' ?"$HOME" ?$HOME ?x$HOME ~./*.rs ?*.rs"#]],
        );
    }

    #[test]
    fn substitutions_are_commands_too() {
        check(
            "echo $(id) `whoami` \"$(date)\" <(ls) >(wc -l)",
            expect![[r#"
                id
                whoami
                date
                ls
                wc -l
                echo ?$(id) ?`whoami` ?"$(date)" ~<(ls) ~>(wc -l)"#]],
        );
    }

    #[test]
    fn redirections_are_reported() {
        check(
            "ls >out 2>&1 >>log <in 2>/dev/null &>all <<<'text' cat 3<>rw >&file",
            expect![[r#"
                ls cat
                Write out
                DuplicateFd 1
                Write log
                Read in
                Write /dev/null
                Write all
                Text text
                ReadWrite rw
                Write file"#]],
        );
    }

    #[test]
    fn assignments_and_keywords() {
        check("FOO=1 BAR=\"$x\" rm x", expect![[r#"FOO=1 BAR="$x" rm x"#]]);
        check("PATH=.", expect!["PATH=."]);
        check(
            "if true; then rm x; fi",
            expect!["refused: shell keyword `if`: compound commands are not parsed"],
        );
        check(
            "f() { rm x; }",
            expect!["refused: `f (…)` is a function definition or a syntax error"],
        );
        check(
            "a=(1 2)",
            expect!["refused: array assignment `a=(…)` is not parsed"],
        );
        check("echo if then", expect!["echo if then"]);
    }

    #[test]
    fn heredocs() {
        check(
            "cat > f <<'EOF'\n$(rm x) `id`\nEOF\nls",
            expect![[r#"
                cat
                ls
                Write f
                Text '<<'\''EOF'\'''"#]],
        );
        check(
            "cat <<EOF\nplain\nEOF",
            expect![[r#"
                cat
                Text '<<EOF'"#]],
        );
        check(
            "cat <<EOF\n$(rm x)\nEOF",
            expect![
                "refused: here-document `EOF` has an unquoted delimiter and its body contains `$`, `` ` `` or `\\`: write <<'EOF' to keep it literal"
            ],
        );
        check(
            "cat <<EOF",
            expect!["refused: a here-document has no body (missing newline or delimiter)"],
        );
    }

    #[test]
    fn what_is_refused() {
        check("echo 'x", expect!["refused: unterminated single quote"]);
        check("echo \"x", expect!["refused: unterminated double quote"]);
        check(
            "echo $((1+2))",
            expect!["refused: arithmetic `$(( ))` is not parsed"],
        );
        check(
            "echo ${x:-$(rm y)}",
            expect!["refused: parameter expansion `${x:-$(rm y)}` is not parsed (only `${NAME}`)"],
        );
        check("(ls", expect!["refused: unbalanced `(`: missing `)`"]);
        check("ls)", expect!["refused: unbalanced `)`"]);
        check("{ ls", expect!["refused: unbalanced `{`: missing `}`"]);
        check("echo x\\", expect!["refused: a backslash ends the command"]);
        check("ls >", expect!["refused: a redirection has no target"]);
        check(
            "exec {fd}>x",
            expect!["refused: named file descriptors `{fd}>` are not parsed"],
        );
        check(
            "case x in a) ;; esac",
            expect!["refused: shell keyword `case`: compound commands are not parsed"],
        );
        check(
            "[[ -f x ]]",
            expect!["refused: shell keyword `[[`: compound commands are not parsed"],
        );
    }

    #[test]
    fn brace_expansion_and_brackets() {
        check(
            "{rm,-rf,x} [ -f x ] echo {} a{1..3}",
            expect!["?{rm,-rf,x} '[' -f x ']' echo {} ?a{1..3}"],
        );
    }
}

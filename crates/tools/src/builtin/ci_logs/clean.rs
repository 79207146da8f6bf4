//! Cleaning a raw GitHub Actions job log into numbered lines, and the three views of
//! `read_job_log` (the tail, a line range, grep with context). Pure: no IO.
//!
//! A raw log line is `2024-05-01T12:00:00.1234567Z text`: the leading timestamp is
//! removed, ANSI escape sequences (colours, cursor moves, OSC titles) are stripped, a line
//! rewritten with carriage returns keeps what a terminal would show last,
//! `##[group]NAME` becomes `▶ NAME` and `##[endgroup]` lines are dropped. Other workflow
//! command markers (`##[error]`, `##[warning]`) stay visible. Line numbers count the
//! cleaned lines, from 1.

use grep_matcher::Matcher;
use grep_regex::RegexMatcher;

use crate::ToolError;

/// Lines shown when `read_job_log` is given neither a range nor `grep`: the end of the log.
pub const CI_LOG_TAIL_LINES: usize = 200;
/// Most lines one range shows.
pub const CI_LOG_MAX_RANGE_LINES: usize = 500;
/// Most matching lines `grep` shows (the rest are counted).
pub const CI_LOG_MAX_GREP_MATCHES: usize = 100;
/// Longest line kept, in characters; the rest is cut and counted.
pub const CI_LOG_MAX_LINE_CHARS: usize = 1000;

/// A raw job log as numbered, cleaned lines (index 0 is line 1).
pub fn clean_log(raw: &str) -> Vec<String> {
    let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    let mut lines = Vec::new();
    for raw_line in raw.lines() {
        let line = strip_timestamp(raw_line);
        let line = last_carriage_segment(line);
        let line = strip_ansi(line);
        if line.starts_with("##[endgroup]") {
            continue;
        }
        let line = match line.strip_prefix("##[group]") {
            Some(name) => format!("▶ {name}"),
            None => line,
        };
        lines.push(cut_line(line));
    }
    lines
}

/// `text` without a leading `YYYY-MM-DDTHH:MM:SS[.fraction]Z` and the space after it.
fn strip_timestamp(text: &str) -> &str {
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if bytes.len() < shape.len() + 1 {
        return text;
    }
    for (byte, expected) in bytes.iter().zip(shape) {
        let ok = match expected {
            b'd' => byte.is_ascii_digit(),
            other => byte == other,
        };
        if !ok {
            return text;
        }
    }
    let mut end = shape.len();
    if bytes.get(end) == Some(&b'.') {
        end += 1;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    if bytes.get(end) != Some(&b'Z') {
        return text;
    }
    end += 1;
    if bytes.get(end) == Some(&b' ') {
        end += 1;
    }
    // Every byte up to `end` is ASCII, so `end` is a character boundary.
    &text[end..]
}

/// What a terminal shows of a line rewritten with `\r` (progress bars): the last
/// non-empty segment.
fn last_carriage_segment(text: &str) -> &str {
    if !text.contains('\r') {
        return text;
    }
    text.rsplit('\r')
        .find(|segment| !segment.is_empty())
        .unwrap_or("")
}

/// `text` without ANSI escape sequences: CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or
/// `ESC ] … ESC \`) and two-character escapes.
pub(crate) fn strip_ansi(text: &str) -> String {
    if !text.contains('\u{1b}') && !text.contains('\u{9b}') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(char) = chars.next() {
        let csi = match char {
            '\u{9b}' => true,
            '\u{1b}' => match chars.peek() {
                Some('[') => {
                    chars.next();
                    true
                }
                Some(']') => {
                    chars.next();
                    while let Some(inner) = chars.next() {
                        if inner == '\u{7}' {
                            break;
                        }
                        if inner == '\u{1b}' {
                            if chars.peek() == Some(&'\\') {
                                chars.next();
                            }
                            break;
                        }
                    }
                    continue;
                }
                Some(_) => {
                    chars.next();
                    continue;
                }
                None => continue,
            },
            other => {
                out.push(other);
                false
            }
        };
        if csi {
            // Parameters and intermediates (0x20–0x3F), then one final byte (0x40–0x7E).
            while let Some(&inner) = chars.peek() {
                if ('\u{20}'..='\u{3f}').contains(&inner) {
                    chars.next();
                    continue;
                }
                if ('\u{40}'..='\u{7e}').contains(&inner) {
                    chars.next();
                }
                break;
            }
        }
    }
    out
}

fn cut_line(line: String) -> String {
    match line.char_indices().nth(CI_LOG_MAX_LINE_CHARS) {
        None => line,
        Some((cut_at, _)) => {
            let n_more = line[cut_at..].chars().count();
            format!("{}… [{n_more} more characters]", &line[..cut_at])
        }
    }
}

/// The lines of a job's log `read_job_log` shows, and how it says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogRequest {
    pub(crate) start_line: Option<usize>,
    pub(crate) end_line: Option<usize>,
    pub(crate) grep: Option<String>,
    pub(crate) context: usize,
}

fn number_width(n_lines: usize) -> usize {
    n_lines.to_string().len().max(4)
}

/// The view of `lines` asked for, with a header naming the job and what is shown.
pub(crate) fn render_log(
    job_id: u64,
    lines: &[String],
    request: &LogRequest,
) -> Result<String, ToolError> {
    let n_lines = lines.len();
    if n_lines == 0 {
        return Ok(format!("job {job_id}: the log is empty\n"));
    }
    let invalid = |message: String| ToolError::InvalidInput { message };
    if let Some(start) = request.start_line
        && start > n_lines
    {
        return Err(invalid(format!(
            "start_line {start} is past the end of the log of job {job_id}, which has {n_lines} lines"
        )));
    }
    if let (Some(start), Some(end)) = (request.start_line, request.end_line)
        && end < start
    {
        return Err(invalid(format!(
            "end_line {end} is before start_line {start}"
        )));
    }
    match &request.grep {
        Some(pattern) => render_grep(job_id, lines, request, pattern),
        None if request.start_line.is_none() && request.end_line.is_none() => {
            Ok(render_tail(job_id, lines))
        }
        None => Ok(render_range(job_id, lines, request)),
    }
}

fn push_numbered(out: &mut String, lines: &[String], first: usize, last: usize, mark: &str) {
    let width = number_width(lines.len());
    for number in first..=last {
        out.push_str(&format!("{number:>width$}{mark}\t{}\n", lines[number - 1]));
    }
}

fn render_tail(job_id: u64, lines: &[String]) -> String {
    let n_lines = lines.len();
    if n_lines <= CI_LOG_TAIL_LINES {
        let mut out = format!("job {job_id}: {n_lines} lines, showing all\n");
        push_numbered(&mut out, lines, 1, n_lines, "");
        return out;
    }
    let first = n_lines - CI_LOG_TAIL_LINES + 1;
    let mut out = format!(
        "job {job_id}: {n_lines} lines, showing the last {CI_LOG_TAIL_LINES} ({first}-{n_lines})\n\
         hint: pass start_line/end_line for another part, or grep (a regex, e.g. `error|FAILED|panicked`) to find lines\n"
    );
    push_numbered(&mut out, lines, first, n_lines, "");
    out
}

fn render_range(job_id: u64, lines: &[String], request: &LogRequest) -> String {
    let n_lines = lines.len();
    let (first, last) = match (request.start_line, request.end_line) {
        (Some(start), Some(end)) => (start, end.min(n_lines)),
        (Some(start), None) => (start, (start + CI_LOG_TAIL_LINES - 1).min(n_lines)),
        (None, Some(end)) => {
            let end = end.min(n_lines);
            (end.saturating_sub(CI_LOG_TAIL_LINES - 1).max(1), end)
        }
        (None, None) => (1, n_lines),
    };
    let capped_last = last.min(first + CI_LOG_MAX_RANGE_LINES - 1);
    let mut out = format!("job {job_id}: {n_lines} lines, showing {first}-{capped_last}");
    if capped_last < last {
        out.push_str(&format!(
            " (at most {CI_LOG_MAX_RANGE_LINES} lines a call; ask for start_line {} next)",
            capped_last + 1
        ));
    }
    out.push('\n');
    push_numbered(&mut out, lines, first, capped_last, "");
    out
}

fn render_grep(
    job_id: u64,
    lines: &[String],
    request: &LogRequest,
    pattern: &str,
) -> Result<String, ToolError> {
    let invalid_regex = |error: grep_regex::Error| {
        // The parser's message is a drawing over several lines; its last line says why.
        let text = error.to_string();
        let reason = text
            .lines()
            .rev()
            .find(|line| !line.trim().is_empty())
            .unwrap_or(&text);
        ToolError::InvalidPattern {
            what: "regular expression",
            pattern: pattern.to_owned(),
            message: reason.trim().trim_start_matches("error: ").to_owned(),
        }
    };
    let matcher = RegexMatcher::new(pattern).map_err(invalid_regex)?;
    let n_lines = lines.len();
    let first = request.start_line.unwrap_or(1);
    let last = request.end_line.unwrap_or(n_lines).min(n_lines);
    let mut matches: Vec<usize> = Vec::new();
    for number in first..=last {
        // A `RegexMatcher` never fails to match (its error type is `NoError`).
        let is_match = matcher
            .is_match(lines[number - 1].as_bytes())
            .unwrap_or(false);
        if is_match {
            matches.push(number);
        }
    }
    let scope = if first == 1 && last == n_lines {
        format!("{n_lines} lines")
    } else {
        format!("{n_lines} lines, searched {first}-{last}")
    };
    if matches.is_empty() {
        return Ok(format!(
            "job {job_id}: {scope}, no line matches `{pattern}`\n"
        ));
    }
    let n_matches = matches.len();
    let shown = &matches[..n_matches.min(CI_LOG_MAX_GREP_MATCHES)];
    let mut out = format!(
        "job {job_id}: {scope}, {n_matches} {} `{pattern}` (context {})\n",
        if n_matches == 1 {
            "line matches"
        } else {
            "lines match"
        },
        request.context
    );
    if n_matches > shown.len() {
        out.push_str(&format!(
            "showing the first {}; narrow the regex or pass start_line/end_line\n",
            shown.len()
        ));
    }
    let mut shown_lines: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    for &number in shown {
        let from = number.saturating_sub(request.context).max(first);
        let to = (number + request.context).min(last);
        shown_lines.extend(from..=to);
    }
    let width = number_width(n_lines);
    let mut previous: Option<usize> = None;
    for line_number in shown_lines {
        if previous.is_some_and(|previous| line_number > previous + 1) {
            out.push_str("--\n");
        }
        let mark = if matches.binary_search(&line_number).is_ok() {
            ":"
        } else {
            "-"
        };
        out.push_str(&format!(
            "{line_number:>width$}{mark}\t{}\n",
            lines[line_number - 1]
        ));
        previous = Some(line_number);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    #[test]
    fn lines_lose_timestamps_colours_and_group_markers() {
        let raw = "\u{feff}2024-05-01T12:00:00.1234567Z ##[group]Run cargo build\n\
                   2024-05-01T12:00:00.2000000Z \u{1b}[36;1mcargo build --locked\u{1b}[0m\n\
                   2024-05-01T12:00:01.0000000Z ##[endgroup]\n\
                   2024-05-01T12:00:02.0000000Z \u{1b}[1m\u{1b}[91merror[E0308]\u{1b}[0m: mismatched types\r\n\
                   2024-05-01T12:00:03Z ##[error]Process completed with exit code 101.\n\
                   no timestamp here\n\
                   2024-05-01T12:00:04.0Z Downloading 10%\rDownloading 100%\n\
                   \u{1b}]0;title\u{7}after osc\n";
        expect![[r###"
            [
                "▶ Run cargo build",
                "cargo build --locked",
                "error[E0308]: mismatched types",
                "##[error]Process completed with exit code 101.",
                "no timestamp here",
                "Downloading 100%",
                "after osc",
            ]
        "###]]
        .assert_debug_eq(&clean_log(raw));
    }

    #[test]
    fn long_lines_are_cut_and_counted() {
        let line = "x".repeat(CI_LOG_MAX_LINE_CHARS + 5);
        let cleaned = clean_log(&line);
        assert!(
            cleaned[0].ends_with("x… [5 more characters]"),
            "{cleaned:?}"
        );
        assert_eq!(
            cleaned[0].chars().count(),
            CI_LOG_MAX_LINE_CHARS + "… [5 more characters]".chars().count()
        );
    }

    fn numbered(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("line {i}")).collect()
    }

    fn check(lines: &[String], request: LogRequest, expected: Expect) {
        let rendered = match render_log(42, lines, &request) {
            Ok(text) => text,
            Err(error) => format!("error: {error}\n"),
        };
        expected.assert_eq(&rendered);
    }

    fn request(start: Option<usize>, end: Option<usize>, grep: Option<&str>) -> LogRequest {
        LogRequest {
            start_line: start,
            end_line: end,
            grep: grep.map(str::to_owned),
            context: 1,
        }
    }

    #[test]
    fn ranges_are_numbered_clamped_and_capped() {
        let lines = numbered(12);
        check(
            &lines,
            request(Some(3), Some(5), None),
            expect![[r#"
                job 42: 12 lines, showing 3-5
                   3	line 3
                   4	line 4
                   5	line 5
            "#]],
        );
        check(
            &lines,
            request(Some(11), Some(99), None),
            expect![[r#"
                job 42: 12 lines, showing 11-12
                  11	line 11
                  12	line 12
            "#]],
        );
        check(
            &lines,
            request(Some(13), None, None),
            expect![[r#"
                error: start_line 13 is past the end of the log of job 42, which has 12 lines
            "#]],
        );
        check(
            &lines,
            request(Some(5), Some(4), None),
            expect![[r#"
                error: end_line 4 is before start_line 5
            "#]],
        );
        let many = numbered(CI_LOG_MAX_RANGE_LINES + 10);
        let text = render_log(42, &many, &request(Some(1), Some(10_000), None)).unwrap();
        assert!(
            text.starts_with(
                "job 42: 510 lines, showing 1-500 (at most 500 lines a call; ask for start_line 501 next)\n"
            ),
            "{text}"
        );
        assert_eq!(text.lines().count(), 501);
    }

    #[test]
    fn without_range_or_grep_the_tail_is_shown() {
        let short = numbered(2);
        check(
            &short,
            request(None, None, None),
            expect![[r#"
                job 42: 2 lines, showing all
                   1	line 1
                   2	line 2
            "#]],
        );
        let long = numbered(1234);
        let text = render_log(42, &long, &request(None, None, None)).unwrap();
        let mut text_lines = text.lines();
        assert_eq!(
            text_lines.next(),
            Some("job 42: 1234 lines, showing the last 200 (1035-1234)")
        );
        assert!(text_lines.next().unwrap().starts_with("hint: "));
        assert_eq!(text_lines.next(), Some("1035\tline 1035"));
        assert_eq!(text_lines.last(), Some("1234\tline 1234"));
        assert_eq!(text.lines().count(), 202);
    }

    #[test]
    fn grep_shows_matches_with_context_and_separators() {
        let lines = numbered(30);
        check(
            &lines,
            request(None, None, Some("^line (2|3|4|20)$")),
            expect![[r#"
                job 42: 30 lines, 4 lines match `^line (2|3|4|20)$` (context 1)
                   1-	line 1
                   2:	line 2
                   3:	line 3
                   4:	line 4
                   5-	line 5
                --
                  19-	line 19
                  20:	line 20
                  21-	line 21
            "#]],
        );
        check(
            &lines,
            request(Some(10), Some(20), Some("line 1")),
            expect![[r#"
                job 42: 30 lines, searched 10-20, 10 lines match `line 1` (context 1)
                  10:	line 10
                  11:	line 11
                  12:	line 12
                  13:	line 13
                  14:	line 14
                  15:	line 15
                  16:	line 16
                  17:	line 17
                  18:	line 18
                  19:	line 19
                  20-	line 20
            "#]],
        );
        check(
            &lines,
            request(None, None, Some("nothing")),
            expect![[r#"
                job 42: 30 lines, no line matches `nothing`
            "#]],
        );
        check(
            &lines,
            request(None, None, Some("(")),
            expect![[r#"
                error: invalid regular expression `(`: unclosed group
            "#]],
        );
    }

    #[test]
    fn grep_shows_at_most_the_cap() {
        let lines = numbered(CI_LOG_MAX_GREP_MATCHES + 50);
        let text = render_log(42, &lines, &request(None, None, Some("line"))).unwrap();
        assert!(
            text.starts_with("job 42: 150 lines, 150 lines match `line` (context 1)\nshowing the first 100; narrow the regex or pass start_line/end_line\n"),
            "{text}"
        );
        // The 100th match's context line is the 101st match, marked as one.
        assert_eq!(text.lines().count(), 2 + CI_LOG_MAX_GREP_MATCHES + 1);
        assert!(text.ends_with(" 101:\tline 101\n"), "{text}");
    }
}

//! Output truncation: keep the head and the tail, say how much of the middle was cut.
//!
//! Tool outputs go into the model's context, so each is capped. The start of an output
//! (what a command did first) and its end (the error, the summary line) matter most; the
//! middle is replaced by a marker `[… N bytes cut …]`. Cuts fall on char boundaries and,
//! when a line break is near, on line boundaries.

/// Shortens `text` to at most `limit_bytes` bytes (or the marker's length, when
/// `limit_bytes` is smaller than the marker) by cutting its middle. Returns the text and
/// the number of bytes of `text` that were cut (0 when it fit).
pub fn truncate_middle(text: &str, limit_bytes: usize) -> (String, u64) {
    if text.len() <= limit_bytes {
        return (text.to_owned(), 0);
    }
    // Reserve room for the longest marker this text can need and the line breaks around it.
    let marker_room = marker(text.len() as u64).len() + 2;
    let budget = limit_bytes.saturating_sub(marker_room);
    let head_budget = budget / 2;
    let tail_budget = budget - head_budget;

    let head_end = head_end(text, head_budget);
    let tail_start = tail_start(text, tail_budget).max(head_end);
    let n_cut = (tail_start - head_end) as u64;
    let mut out = String::with_capacity(limit_bytes);
    out.push_str(&text[..head_end]);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&marker(n_cut));
    out.push('\n');
    out.push_str(&text[tail_start..]);
    (out, n_cut)
}

fn marker(n_cut: u64) -> String {
    format!("[… {n_cut} bytes cut …]")
}

/// End of the kept head: at most `budget` bytes, on a char boundary, moved back to just
/// after a line break when one is in the second half of the budget.
fn head_end(text: &str, budget: usize) -> usize {
    let mut end = budget.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    match text[..end].rfind('\n') {
        Some(newline) if newline + 1 >= end / 2 => newline + 1,
        _ => end,
    }
}

/// Start of the kept tail: at most `budget` bytes before the end, on a char boundary,
/// moved forward to just after a line break when one is in the first half of the tail.
fn tail_start(text: &str, budget: usize) -> usize {
    let mut start = text.len() - budget.min(text.len());
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let tail = &text[start..];
    match tail.find('\n') {
        Some(newline) if newline < tail.len() / 2 => start + newline + 1,
        _ => start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(text: &str, limit_bytes: usize, expected: Expect) {
        let (out, n_cut) = truncate_middle(text, limit_bytes);
        let marker_len = marker(text.len() as u64).len();
        assert!(
            out.len() <= limit_bytes.max(marker_len + 2),
            "{} bytes over limit {limit_bytes}",
            out.len()
        );
        if n_cut > 0 {
            // The kept head and tail are a prefix and a suffix of the text, and with the cut
            // they add up to the whole text.
            let (head, tail) = out.split_once(&format!("{}\n", marker(n_cut))).unwrap();
            let head = if text.starts_with(head) {
                head
            } else {
                head.strip_suffix('\n').unwrap()
            };
            assert!(text.starts_with(head) && text.ends_with(tail));
            assert_eq!(head.len() + tail.len() + n_cut as usize, text.len());
        }
        expected.assert_eq(&format!("cut={n_cut}\n{out}"));
    }

    #[test]
    fn short_text_is_unchanged() {
        check(
            "hello\nworld\n",
            100,
            expect![[r#"
            cut=0
            hello
            world
        "#]],
        );
        check(
            "",
            0,
            expect![[r#"
            cut=0
        "#]],
        );
    }

    #[test]
    fn keeps_head_and_tail_on_line_boundaries() {
        let text: String = (1..=40).map(|n| format!("line {n:02}\n")).collect();
        check(
            &text,
            100,
            expect![[r#"
                cut=256
                line 01
                line 02
                line 03
                line 04
                [… 256 bytes cut …]
                line 37
                line 38
                line 39
                line 40
            "#]],
        );
    }

    #[test]
    fn cuts_inside_a_long_line_when_no_break_is_near() {
        let text = "a".repeat(50) + &"b".repeat(50);
        check(
            &text,
            60,
            expect![[r#"
                cut=65
                aaaaaaaaaaaaaaaaa
                [… 65 bytes cut …]
                bbbbbbbbbbbbbbbbbb"#]],
        );
    }

    #[test]
    fn never_splits_a_char() {
        let text = "é".repeat(100);
        let (out, n_cut) = truncate_middle(&text, 50);
        assert!(n_cut > 0);
        // Valid UTF-8 by construction (`String`); the kept parts are whole chars.
        assert_eq!(out.matches('é').count() * 2 + n_cut as usize, text.len());
        check(
            &text,
            50,
            expect![[r#"
                cut=176
                éééééé
                [… 176 bytes cut …]
                éééééé"#]],
        );
    }

    #[test]
    fn limit_smaller_than_the_marker_keeps_only_the_marker() {
        check(
            &"x".repeat(1000),
            5,
            expect![[r#"
            cut=1000
            [… 1000 bytes cut …]
        "#]],
        );
    }
}

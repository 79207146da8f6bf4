//! Text from a model, a tool or a trace, made safe to print for a person: control
//! characters (ESC and the other C0 controls but newline and tab, DEL, the C1 controls) and
//! the Unicode bidirectional overrides are written as visible escapes (`\x1b`, `\u{202e}`),
//! so nothing a model or a command printed can move the cursor, clear the screen, set the
//! clipboard (OSC 52), retitle the window or reorder what the user reads.
//!
//! Human-readable output always goes through [`escape_controls`], whether stdout is a
//! terminal or a file (a file is read on a terminal later); `--json` output is left as
//! serde_json writes it (it escapes the C0 controls itself), byte-exact.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `ch` is written as an escape.
fn needs_escape(ch: char) -> bool {
    match ch {
        '\n' | '\t' => false,
        // C0, DEL, C1.
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        // Bidirectional embeddings, overrides and isolates.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        _ => false,
    }
}

/// `text` with every control character written as a visible escape.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        if !needs_escape(ch) {
            out.push(ch);
        } else if u32::from(ch) <= 0x7f {
            let _ = write!(out, "\\x{:02x}", u32::from(ch));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(ch));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_drives_a_terminal_and_keeps_text() {
        let hostile =
            "ok\n\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\x1b[H\ttab\r\u{9b}31m\u{202e}txt.exe";
        assert_eq!(
            escape_controls(hostile),
            "ok\n\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x1b[2J\\x1b[H\ttab\\x0d\\u{9b}31m\\u{202e}txt.exe"
        );
        assert!(matches!(
            escape_controls("plain — text ✓\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn an_approval_field_stays_on_one_line() {
        assert_eq!(
            crate::approve::one_line("rm -rf /\r\x1b[2Kls\nrule: safe"),
            "rm -rf /\\x0d\\x1b[2Kls\\nrule: safe"
        );
    }
}

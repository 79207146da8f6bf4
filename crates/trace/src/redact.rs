//! Secret redaction: every occurrence of a secret value in any string of an event becomes
//! `***` — the value as it is, and the encodings a command or a model can print it in
//! without effort:
//!
//! - base64, standard and URL-safe alphabets, at every byte alignment (the secret in the
//!   middle of a longer encoded stream), unwrapped or wrapped at 64 or 76 columns (what
//!   `openssl base64` and `base64` print);
//! - hex, lower and upper case;
//! - percent-encoding (only the reserved bytes encoded, or every byte), either case;
//! - JSON `\u` escapes of every character, either case, and JSON's own escaping;
//! - a secret cut by rein's own truncation: a prefix of 8 or more characters at the end of
//!   a text or just before a cut marker, and a suffix of 8 or more characters at the start
//!   of a text or just after a cut marker.
//!
//! Out of scope (`docs/trace-format.md` says so): reversed or split forms, other
//! encodings, a mixture of encodings, and values shorter than 8 characters cut at a cut.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// What a secret becomes.
pub const REDACTED: &str = "***";

/// The shortest part of a secret that is redacted where a cut split it.
pub const MIN_CUT_PART: usize = 8;

/// The columns at which base64 encoders wrap their lines (OpenSSL/PEM, GNU `base64`).
const BASE64_WRAP_COLUMNS: [usize; 2] = [64, 76];

const BASE64_STANDARD: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_URL_SAFE: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Replaces secret values in event data.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// The secrets as given, longest first.
    secrets: Vec<String>,
    /// Every form of every secret, for replacing in plain text.
    forms: Option<AhoCorasick>,
    /// Every form as it appears inside a JSON string, plus the first and last
    /// [`MIN_CUT_PART`] characters of each secret, for the fast check on serialized events.
    json_forms: Option<AhoCorasick>,
}

impl Redactor {
    /// A redactor for these values; empty values are ignored.
    pub fn new<I, S>(secrets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .map(Into::into)
            .filter(|s| !s.is_empty())
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        if secrets.is_empty() {
            return Self::default();
        }
        let mut forms: Vec<String> = Vec::new();
        for secret in &secrets {
            encoded_forms(secret, &mut forms);
        }
        forms.sort();
        forms.dedup();
        let mut json_forms: Vec<String> = forms.iter().map(|form| json_escaped(form)).collect();
        json_forms.extend(forms.iter().cloned());
        for secret in &secrets {
            for part in [
                first_chars(secret, MIN_CUT_PART),
                last_chars(secret, MIN_CUT_PART),
            ] {
                json_forms.push(json_escaped(part));
                json_forms.push(part.to_owned());
            }
        }
        json_forms.sort();
        json_forms.dedup();
        Self {
            secrets,
            forms: automaton(&forms),
            json_forms: automaton(&json_forms),
        }
    }

    /// Whether serialized JSON text may hold a secret (inside a string or a key). A `false`
    /// is certain; a `true` means [`Redactor::redact_value`] has work to do.
    pub fn may_occur_in_json(&self, json_text: &str) -> bool {
        self.json_forms
            .as_ref()
            .is_some_and(|automaton| automaton.is_match(json_text))
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// `text` with every secret, in every form, replaced.
    pub fn redact_str(&self, text: &str) -> String {
        let Some(forms) = &self.forms else {
            return text.to_owned();
        };
        let out = if forms.is_match(text) {
            forms.replace_all(text, &vec![REDACTED; forms.patterns_len()])
        } else {
            text.to_owned()
        };
        self.redact_cut_parts(out)
    }

    /// Redact every string value of a JSON value in place (object keys are left alone).
    pub fn redact_value(&self, value: &mut serde_json::Value) {
        if self.secrets.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(s) => {
                let redacted = self.redact_str(s);
                if redacted != *s {
                    *s = redacted;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            // Keys are names (fields, variables, headers), never secrets: only values are
            // redacted, so the shape of an event never changes.
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| self.redact_value(v)),
            _ => {}
        }
    }

    /// The parts of a secret that a cut left: a prefix of [`MIN_CUT_PART`]+ characters
    /// where the text ends or a cut marker starts, a suffix where the text starts or a cut
    /// marker ends.
    fn redact_cut_parts(&self, mut text: String) -> String {
        if !self
            .secrets
            .iter()
            .any(|secret| secret.chars().count() > MIN_CUT_PART)
        {
            return text;
        }
        // Ends of pieces: the end of the text and the start of each cut marker line.
        let mut piece_ends = vec![text.len()];
        let mut piece_starts = vec![0];
        for (start, end) in cut_markers(&text) {
            // The truncation puts the marker on a line of its own.
            let before = if text[..start].ends_with('\n') {
                start - 1
            } else {
                start
            };
            let after = if text[end..].starts_with('\n') {
                end + 1
            } else {
                end
            };
            piece_ends.push(before);
            piece_starts.push(after);
        }
        // Replace from the back so earlier offsets stay valid.
        let mut replacements: Vec<(usize, usize)> = Vec::new();
        for &end in &piece_ends {
            if let Some(len) = self.longest_prefix_ending_at(&text[..end]) {
                replacements.push((end - len, end));
            }
        }
        for &start in &piece_starts {
            if let Some(len) = self.longest_suffix_starting_at(&text[start..]) {
                replacements.push((start, start + len));
            }
        }
        replacements.sort_unstable();
        replacements.dedup();
        for (start, end) in replacements.into_iter().rev() {
            text.replace_range(start..end, REDACTED);
        }
        text
    }

    /// The byte length of the longest prefix (of [`MIN_CUT_PART`]+ chars, shorter than the
    /// whole secret) of a secret that `text` ends with.
    fn longest_prefix_ending_at(&self, text: &str) -> Option<usize> {
        self.secrets
            .iter()
            .filter_map(|secret| {
                secret
                    .char_indices()
                    .map(|(idx, _)| idx)
                    .skip(MIN_CUT_PART)
                    .filter(|&len| text.ends_with(&secret[..len]))
                    .max()
            })
            .max()
    }

    /// The byte length of the longest suffix (of [`MIN_CUT_PART`]+ chars, shorter than the
    /// whole secret) of a secret that `text` starts with.
    fn longest_suffix_starting_at(&self, text: &str) -> Option<usize> {
        self.secrets
            .iter()
            .filter_map(|secret| {
                secret
                    .char_indices()
                    .map(|(idx, _)| idx)
                    .skip(1)
                    .filter(|&idx| secret[idx..].chars().count() >= MIN_CUT_PART)
                    .find(|&idx| text.starts_with(&secret[idx..]))
                    .map(|idx| secret.len() - idx)
            })
            .max()
    }
}

fn automaton(patterns: &[String]) -> Option<AhoCorasick> {
    if patterns.is_empty() {
        return None;
    }
    // Building fails only past internal size limits, far beyond a few secrets' forms; then
    // the plain forms alone still make a (smaller) automaton.
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(patterns)
        .ok()
}

/// The spans of rein's truncation markers (`[… N bytes cut …]`) in `text`.
fn cut_markers(text: &str) -> Vec<(usize, usize)> {
    const OPEN: &str = "[… ";
    const CLOSE: &str = " bytes cut …]";
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(OPEN) {
        let start = from + found;
        let digits_start = start + OPEN.len();
        let n_digits = text[digits_start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let digits_end = digits_start + n_digits;
        if n_digits > 0 && text[digits_end..].starts_with(CLOSE) {
            let end = digits_end + CLOSE.len();
            spans.push((start, end));
            from = end;
        } else {
            from = digits_start;
        }
    }
    spans
}

fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((idx, _)) => &text[..idx],
        None => text,
    }
}

fn last_chars(text: &str, n: usize) -> &str {
    let n_chars = text.chars().count();
    match text.char_indices().nth(n_chars.saturating_sub(n)) {
        Some((idx, _)) => &text[idx..],
        None => text,
    }
}

/// How `text` looks inside a JSON string.
fn json_escaped(text: &str) -> String {
    let quoted = serde_json::Value::String(text.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// Push every form of `secret` that is redacted.
fn encoded_forms(secret: &str, forms: &mut Vec<String>) {
    let bytes = secret.as_bytes();
    forms.push(secret.to_owned());
    forms.push(json_escaped(secret));
    forms.push(hex(bytes, false));
    forms.push(hex(bytes, true));
    for upper in [false, true] {
        forms.push(percent_encoded(bytes, upper, false));
        forms.push(percent_encoded(bytes, upper, true));
        forms.push(unicode_escaped(secret, upper));
    }
    for alphabet in [BASE64_STANDARD, BASE64_URL_SAFE] {
        for alignment in 0..3 {
            let form = base64_inner(bytes, alignment, alphabet);
            if form.len() < MIN_CUT_PART {
                continue;
            }
            for columns in BASE64_WRAP_COLUMNS {
                if form.len() <= 1 {
                    continue;
                }
                // The line breaks fall every `columns` characters, wherever the form
                // starts on its line.
                for start_column in 0..columns {
                    let wrapped = wrap(&form, columns, start_column);
                    if wrapped != form {
                        forms.push(wrapped);
                    }
                }
            }
            forms.push(form);
        }
    }
}

fn hex(bytes: &[u8], upper: bool) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(digits[usize::from(byte >> 4)]));
        out.push(char::from(digits[usize::from(byte & 0xf)]));
    }
    out
}

/// Percent-encoding: the bytes outside RFC 3986's unreserved set, or every byte.
fn percent_encoded(bytes: &[u8], upper: bool, every_byte: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &byte in bytes {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~');
        if unreserved && !every_byte {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push_str(&hex(&[byte], upper));
        }
    }
    out
}

/// Every character as a JSON `\uXXXX` escape (UTF-16, surrogate pairs above the BMP).
fn unicode_escaped(text: &str, upper: bool) -> String {
    let mut out = String::with_capacity(text.len() * 6);
    for unit in text.encode_utf16() {
        out.push_str("\\u");
        out.push_str(&hex(&unit.to_be_bytes(), upper));
    }
    out
}

/// The base64 characters that depend only on `bytes` when they start `alignment` bytes
/// (0–2) into a 3-byte group of a longer stream.
fn base64_inner(bytes: &[u8], alignment: usize, alphabet: &[u8; 64]) -> String {
    let mut stream = vec![0u8; alignment];
    stream.extend_from_slice(bytes);
    let secret_bits = (alignment * 8)..((alignment + bytes.len()) * 8);
    let n_chars = (stream.len() * 8) / 6;
    let mut out = String::new();
    for idx in 0..n_chars {
        let bits = (idx * 6)..(idx * 6 + 6);
        if bits.start < secret_bits.start || bits.end > secret_bits.end {
            continue;
        }
        let mut value = 0usize;
        for bit in bits {
            let byte = stream[bit / 8];
            let set = (byte >> (7 - bit % 8)) & 1;
            value = (value << 1) | usize::from(set);
        }
        out.push(char::from(alphabet[value]));
    }
    out
}

/// `form` as it appears when its first character is at `start_column` of lines wrapped
/// every `columns` characters.
fn wrap(form: &str, columns: usize, start_column: usize) -> String {
    let mut out = String::with_capacity(form.len() + form.len() / columns + 1);
    let mut column = start_column;
    for (idx, ch) in form.chars().enumerate() {
        if column == columns {
            if idx > 0 {
                out.push('\n');
            }
            column = 0;
        }
        out.push(ch);
        column += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_strings_and_nested_values() {
        let redactor = Redactor::new(["sk-123", "sk-123456", ""]);
        let mut value = json!({
            "a": "key sk-123456 and sk-123",
            "list": [1, "x sk-123", {"deep": "sk-123"}],
            "n": 5,
        });
        redactor.redact_value(&mut value);
        assert_eq!(
            value,
            json!({"a": "key *** and ***", "list": [1, "x ***", {"deep": "***"}], "n": 5})
        );
    }

    #[test]
    fn the_fast_check_sees_secrets_in_their_json_escaped_form() {
        let redactor = Redactor::new(["a\"b\\c", "plain"]);
        let text = serde_json::json!({"k": "x a\"b\\c y"}).to_string();
        assert!(redactor.may_occur_in_json(&text), "{text}");
        assert!(redactor.may_occur_in_json(r#"{"plain":1}"#));
        assert!(!redactor.may_occur_in_json(r#"{"k":"nothing here"}"#));
    }

    #[test]
    fn empty_redactor_is_a_no_op() {
        let redactor = Redactor::new(Vec::<String>::new());
        assert!(redactor.is_empty());
        assert_eq!(redactor.redact_str("abc"), "abc");
        assert!(!redactor.may_occur_in_json("abc"));
    }

    /// A reference base64 encoder (padding included), for the tests only.
    fn b64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(alphabet[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    const SECRET: &str = "sk-live-Zq9?x/Y+w~7_abc.def%";

    #[test]
    fn base64_of_the_secret_at_every_alignment_and_in_both_alphabets() {
        let redactor = Redactor::new([SECRET]);
        for alphabet in [BASE64_STANDARD, BASE64_URL_SAFE] {
            for prefix in ["", "a", "ab", "abc", "key=", "TOKEN: x"] {
                for suffix in ["", "\n", "z", "zz", " tail"] {
                    let plain = format!("{prefix}{SECRET}{suffix}");
                    let encoded = b64(plain.as_bytes(), alphabet);
                    let out = redactor.redact_str(&encoded);
                    assert!(out.contains(REDACTED), "{plain:?} → {encoded} → {out}");
                    // What is left cannot be decoded back to the secret.
                    assert!(out.len() < encoded.len(), "{out}");
                }
            }
        }
    }

    #[test]
    fn wrapped_base64_of_a_long_secret() {
        let long = "ghp_".to_owned() + &"A1b2C3d4".repeat(12);
        let redactor = Redactor::new([long.as_str()]);
        for columns in BASE64_WRAP_COLUMNS {
            for prefix in ["", "x", "some text before the secret: "] {
                let encoded = b64(format!("{prefix}{long}").as_bytes(), BASE64_STANDARD);
                let wrapped: Vec<String> = encoded
                    .as_bytes()
                    .chunks(columns)
                    .map(|line| String::from_utf8_lossy(line).into_owned())
                    .collect();
                let text = wrapped.join("\n");
                let out = redactor.redact_str(&text);
                assert!(out.contains(REDACTED), "{columns}: {text}\n→ {out}");
            }
        }
    }

    #[test]
    fn hex_percent_and_unicode_escapes() {
        let redactor = Redactor::new([SECRET]);
        let forms = [
            hex(SECRET.as_bytes(), false),
            hex(SECRET.as_bytes(), true),
            percent_encoded(SECRET.as_bytes(), true, false),
            percent_encoded(SECRET.as_bytes(), false, false),
            percent_encoded(SECRET.as_bytes(), true, true),
            unicode_escaped(SECRET, false),
            unicode_escaped(SECRET, true),
        ];
        for form in forms {
            let text = format!("before {form} after");
            assert_eq!(redactor.redact_str(&text), "before *** after", "{form}");
            let json = json!({"k": text}).to_string();
            assert!(redactor.may_occur_in_json(&json), "{json}");
        }
        // The known forms of a real URL query.
        assert_eq!(
            redactor.redact_str("GET /?token=sk-live-Zq9%3Fx%2FY%2Bw~7_abc.def%25 HTTP/1.1"),
            "GET /?token=*** HTTP/1.1"
        );
    }

    #[test]
    fn a_secret_cut_by_truncation_is_redacted_on_both_sides_of_the_cut() {
        let redactor = Redactor::new([SECRET]);
        let text = "head sk-live-Zq9\n[… 1234 bytes cut …]\n_abc.def% tail";
        assert_eq!(
            redactor.redact_str(text),
            "head ***\n[… 1234 bytes cut …]\n*** tail"
        );
        // At the end of a capped output and at the start of a kept tail.
        assert_eq!(redactor.redact_str("out: sk-live-Zq9?x"), "out: ***");
        assert_eq!(redactor.redact_str("w~7_abc.def% rest"), "*** rest");
        // Under 8 characters is left alone.
        assert_eq!(redactor.redact_str("out: sk-live"), "out: sk-live");
        // The fast check sees a cut part too.
        assert!(redactor.may_occur_in_json(&json!({"k": "x sk-live-Z"}).to_string()));
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let redactor = Redactor::new([SECRET]);
        let text = "cargo test: 3 passed; 0 failed\nhex 0123abcd, base64 QUJD\n";
        assert_eq!(redactor.redact_str(text), text);
        assert!(!redactor.may_occur_in_json(&json!({"k": text}).to_string()));
    }
}

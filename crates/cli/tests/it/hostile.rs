//! Issue 10, red-team findings on what rein shows and keeps: encoded secrets, the modes of
//! the run folder, damaged traces, and text that would drive the user's terminal.

use std::os::unix::fs::PermissionsExt;

use serde_json::json;

use crate::harness::{API_KEY, Fixture, of_kind, output};

const SECRET: &str = "canary/Zq81x+s3cr3t=value?&";

/// Prints the secret (from `$CANARY`) in the encodings a command can make without effort.
const LEAK_SH: &str = r#"printf %s "$CANARY" | base64 -w0; echo
printf %s "x$CANARY" | base64 -w0; echo
printf %s "xy$CANARY" | base64 -w0 | tr '+/' '-_'; echo
printf %s "$CANARY" | od -An -tx1 | tr -d ' \n'; echo
python3 -c 'import os,urllib.parse;print(urllib.parse.quote(os.environ["CANARY"],safe=""))'
python3 -c 'import os;print("".join("\\u%04x" % ord(c) for c in os.environ["CANARY"]))'
"#;

fn tools(limit: u32) -> String {
    format!(
        "[environment.env]\nCANARY = \"${{secret:CANARY_SECRET}}\"\n\n[loop]\nmax_steps = 5\nstep_timeout = \"20s\"\ntool_output_limit = {limit}\n\n[tools]\nbuiltin = [\"shell\"]\n"
    )
}

/// What `sh -c script` prints with the secret in `$CANARY`, run here on the host: the
/// encoded forms the harness must not let through.
#[allow(clippy::disallowed_methods)]
fn host_output(script: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", script])
        .env("CANARY", SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Every file of the run folder, every request the model got, and stdout hold none of
/// `forms`.
fn assert_nowhere(fixture: &Fixture, stdout: &str, forms: &[&str]) {
    for form in forms {
        assert!(!stdout.contains(form), "stdout has {form}");
        for entry in std::fs::read_dir(fixture.run_dir()).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            assert!(
                !text.contains(form),
                "{} has {form}",
                entry.path().display()
            );
        }
        for request in fixture.requests() {
            assert!(
                !request.body_text.contains(form),
                "request {} has {form}",
                request.seq
            );
        }
    }
}

/// Issue 10 (5b): a secret printed base64 (both alphabets, several alignments), hex,
/// percent-encoded or `\u`-escaped reaches neither the model nor the trace; an ordinary
/// neighbour line of the same output still does.
#[test]
fn encoded_secrets_reach_neither_the_model_nor_the_trace() {
    let forms_text = host_output(LEAK_SH);
    let forms: Vec<&str> = forms_text.lines().collect();
    assert_eq!(forms.len(), 6, "{forms_text}");
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": "cat encoded.txt; echo neighbour-line-ok"}}]},
        {"expect": {"last_message_contains": "neighbour-line-ok"}, "text": "Nothing leaked."}
    ]});
    let fixture = Fixture::new("openai", false, script, &tools(16384)).env("CANARY_SECRET", SECRET);
    // The forms are made here (python3 -c is, rightly, not a command the default policy
    // lets the model run); what matters is that they pass through a tool's output.
    std::fs::write(fixture.path().join("project/encoded.txt"), &forms_text).unwrap();
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let result = &of_kind(&events, "tool_result")[0]["data"]["output"];
    let lines: Vec<&str> = result
        .as_str()
        .unwrap()
        .lines()
        .skip_while(|line| !line.starts_with("--- stdout"))
        .skip(1)
        .collect();
    // Each encoded line is redacted (an unaligned base64 keeps its first, mixed characters).
    assert_eq!(lines.len(), 7, "{result}");
    for line in &lines[..6] {
        assert!(
            line.contains("***") && line.len() <= 8,
            "{line:?} in {result}"
        );
    }
    assert_eq!(lines[6], "neighbour-line-ok");
    let mut all = forms.clone();
    all.extend([SECRET, API_KEY]);
    assert_nowhere(&fixture, &out.stdout, &all);
}

/// Issue 10 (5b): a secret that rein's own truncation cuts in two is redacted on both sides
/// of the cut.
#[test]
fn a_secret_cut_by_truncation_is_redacted() {
    // The shell tool's header (28 bytes) and 47 bytes, the secret, then enough to be cut:
    // the head (87 bytes) keeps the secret's first 12 characters, and with a second copy
    // near the end, the tail keeps its last 14.
    let command = "printf '%047d' 0; printf %s \"$CANARY\"; printf '%01000d' 0; printf %s \"$CANARY\"; printf '%073d' 0";
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": command}}]},
        {"text": "Done."}
    ]});
    let fixture = Fixture::new("openai", false, script, &tools(200)).env("CANARY_SECRET", SECRET);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let result = of_kind(&events, "tool_result")[0]["data"]["output"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(result.contains("bytes cut"), "{result}");
    // No 8 characters in a row of the secret are left anywhere.
    for start in 0..=SECRET.len() - 8 {
        let part = &SECRET[start..start + 8];
        assert!(!result.contains(part), "{part:?} left in {result}");
        assert_nowhere(&fixture, &out.stdout, &[part]);
    }
    let zeros = "0".repeat(47);
    assert!(result.contains(&format!("\n{zeros}***\n[… ")), "{result}");
    assert!(
        result.contains(&format!("…]\n***{}", "0".repeat(73))),
        "{result}"
    );
}

/// Issue 10 (5c): the run folder is 0700 and what rein writes there 0600, so another local
/// user reads neither the trace nor the diff; the run itself works as before.
#[test]
fn the_run_folder_and_its_files_are_private() {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": "echo changed > notes.txt"}}]},
        {"text": "Done."}
    ]});
    let fixture = Fixture::new("openai", false, script, &tools(16384)).env("CANARY_SECRET", SECRET);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let run_dir = fixture.run_dir();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&run_dir), 0o700);
    assert_eq!(mode(run_dir.parent().unwrap()), 0o700, "runs/");
    let mut files: Vec<(String, u32)> = std::fs::read_dir(&run_dir)
        .unwrap()
        .flatten()
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                mode(&entry.path()),
            )
        })
        .collect();
    files.sort();
    assert!(
        files.iter().any(|(name, _)| name == "changes.diff"),
        "{files:?}"
    );
    for (name, file_mode) in &files {
        assert_eq!(*file_mode, 0o600, "{name}");
    }
}

/// Issue 10 (8a): a trace with a corrupt line in the middle and a last line cut inside a
/// multi-byte character is shown: every readable event, and each bad line named with its
/// line number and byte offset.
#[test]
fn trace_show_reads_around_damage() {
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": "echo héllo"}}]},
        {"text": "Done with the naïve café."}
    ]});
    let fixture = Fixture::new("openai", false, script, &tools(16384)).env("CANARY_SECRET", SECRET);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let path = fixture.run_dir().join("trace.jsonl");
    let original = std::fs::read(&path).unwrap();
    let lines: Vec<&[u8]> = original.split_inclusive(|&b| b == b'\n').collect();
    // Corrupt line 3 in place, then cut a copy of the last line inside its `ï`.
    let bad_offset: usize = lines[..2].iter().map(|line| line.len()).sum();
    let mut damaged: Vec<u8> = Vec::new();
    for (idx, line) in lines.iter().enumerate() {
        if idx == 2 {
            damaged.extend_from_slice(b"{\"v\":1,\"seq\":2,garbage\xff}\n");
        } else {
            damaged.extend_from_slice(line);
        }
    }
    let answer_line = lines
        .iter()
        .find(|line| String::from_utf8_lossy(line).contains("naïve"))
        .unwrap();
    let cut_at = answer_line
        .windows(2)
        .position(|w| w == "ï".as_bytes())
        .unwrap()
        + 1;
    let cut_offset = damaged.len();
    damaged.extend_from_slice(&answer_line[..cut_at]);
    std::fs::write(&path, &damaged).unwrap();

    let run_dir = fixture.run_dir();
    let shown = output(
        fixture
            .command(&["trace", "show", run_dir.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    assert_eq!(shown.code, 0, "{shown:?}");
    let n_lines = lines.len();
    let expected_tail = format!(
        "(the last event was cut: the run was killed while writing it)\n(skipped line 3 (byte {bad_offset}): not UTF-8 at byte 22 of the line)\n"
    );
    assert!(shown.stdout.contains(&expected_tail), "{shown:?}");
    assert!(
        shown.stdout.contains(&format!(
            "(skipped line {} (byte {cut_offset}): cut (no newline at the end of the file): not UTF-8 at byte {} of the line)",
            n_lines + 1,
            cut_at - 1
        )),
        "{shown:?}"
    );
    // The events after the bad line are all there, up to the real end of the run.
    assert!(shown.stdout.contains("finished: completed"), "{shown:?}");
    assert!(
        shown.stdout.contains("result  shell ok exit 0"),
        "{shown:?}"
    );
    assert_eq!(
        shown.stderr.trim(),
        format!(
            "warning: 1 line(s) of {} are not trace events and were skipped",
            path.display()
        )
    );
}

/// Issue 10 (11): escape sequences printed by a tool or written by the model (OSC 52
/// clipboard write, clear screen, cursor moves, a C1 CSI, a bidi override) never reach the
/// terminal through `rein run` or `rein trace show`; the trace keeps them, and `--json`
/// output is byte-exact JSON.
#[test]
fn nothing_a_model_or_tool_prints_drives_the_terminal() {
    let hostile_answer =
        "Done.\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2J\u{1b}[H\u{9b}31m\u{202e}gnp.exe";
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": "printf 'out\\033[2J\\033]0;pwned\\007\\033[1A'"}}]},
        {"text": hostile_answer}
    ]});
    let fixture = Fixture::new("openai", false, script, &tools(16384)).env("CANARY_SECRET", SECRET);
    let is_clean = |text: &str| {
        !text.chars().any(|c| {
            (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c)
        })
    };
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(is_clean(&out.stdout) && is_clean(&out.stderr), "{out:?}");
    assert!(
        out.stdout.contains(
            "  Done.\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2J\\x1b[H\\u{9b}31m\\u{202e}gnp.exe\n"
        ),
        "{out:?}"
    );
    let shown = output(
        fixture
            .command(&["trace", "show", "last"])
            .output()
            .unwrap(),
    );
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(is_clean(&shown.stdout), "{shown:?}");
    assert!(
        shown
            .stdout
            .contains("out\\x1b[2J\\x1b]0;pwned\\x07\\x1b[1A"),
        "{shown:?}"
    );
    // The trace keeps the bytes, as JSON escapes.
    let events = fixture.events();
    let response = of_kind(&events, "model_response")
        .into_iter()
        .find(|event| event["data"]["text"] != "")
        .unwrap();
    assert_eq!(response["data"]["text"], hostile_answer);
    // --json: every line is JSON whose strings hold the exact text.
    let json_out = fixture.run(&["--json"]);
    assert_eq!(json_out.code, 0, "{json_out:?}");
    let texts: Vec<String> = json_out
        .stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|event| event["kind"] == "model_response")
        .filter_map(|event| event["data"]["text"].as_str().map(str::to_owned))
        .collect();
    assert!(texts.iter().any(|text| text == hostile_answer), "{texts:?}");
}

/// Issue 10 (9b): a file with a name that is not UTF-8 in the workspace no longer drops the
/// whole diff (`workspace_changes: null`): the other changes are diffed.
#[test]
fn a_non_utf8_file_name_does_not_drop_the_diff() {
    use std::os::unix::ffi::OsStrExt;
    let script = json!({"turns": [
        {"tool_calls": [{"name": "shell", "arguments": {"command": "echo fine > good.txt"}}]},
        {"text": "Done."}
    ]});
    let fixture = Fixture::new("openai", false, script, &tools(16384)).env("CANARY_SECRET", SECRET);
    let bad = std::ffi::OsStr::from_bytes(b"bad\xffname");
    std::fs::write(fixture.path().join("project").join(bad), "odd\n").unwrap();
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let changes = &crate::harness::finished(&events)["workspace_changes"];
    assert_eq!(changes["files_changed"], 1, "{changes}");
    let diff = std::fs::read_to_string(fixture.run_dir().join("changes.diff")).unwrap();
    assert_eq!(
        diff,
        "diff --git a/good.txt b/good.txt\nnew file mode 100644\n--- /dev/null\n+++ b/good.txt\n@@ -0,0 +1 @@\n+fine\n"
    );
}

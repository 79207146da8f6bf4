//! Integration tests of the run log: write, redact, read back, survive a cut last line.

use std::io::Write;

use rein_trace::{EventData, Redactor, TraceWriter, read_trace};

#[test]
fn events_are_numbered_redacted_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TraceWriter::create(dir.path(), "RUN1", Redactor::new(["hunter2"])).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen_in_listener = seen.clone();
    writer.add_listener(Box::new(move |event| {
        seen_in_listener
            .lock()
            .unwrap()
            .push(serde_json::to_string(event).unwrap());
    }));
    writer
        .emit(
            0,
            EventData::LoopWarning {
                message: "password hunter2 leaked".into(),
            },
        )
        .unwrap();
    writer
        .emit(
            1,
            EventData::Error {
                message: "x".into(),
                source: "hunter2".into(),
            },
        )
        .unwrap();
    writer.sync().unwrap();

    let text = std::fs::read_to_string(writer.path()).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|line| !line.contains("hunter2"))
    );

    let trace = read_trace(writer.run_dir()).unwrap();
    assert!(!trace.truncated_tail);
    assert_eq!(trace.events.len(), 2);
    assert_eq!(trace.events[0].seq, 0);
    assert_eq!(trace.events[1].seq, 1);
    assert_eq!(trace.events[1].step, 1);
    assert_eq!(trace.events[0].data.kind(), "loop_warning");
    assert_eq!(
        trace.events[0].data,
        EventData::LoopWarning {
            message: "password *** leaked".into()
        }
    );
}

#[test]
fn a_cut_last_line_is_skipped_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TraceWriter::create(dir.path(), "RUN2", Redactor::default()).unwrap();
    writer
        .emit(
            0,
            EventData::LoopWarning {
                message: "one".into(),
            },
        )
        .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(writer.path())
        .unwrap();
    file.write_all(br#"{"v":1,"seq":1,"ts":"#).unwrap();
    let trace = read_trace(writer.path()).unwrap();
    assert!(trace.truncated_tail);
    assert_eq!(trace.events.len(), 1);
}

/// Issue 10 (8a): a corrupt line in the middle is named with its line and byte offset, and
/// every readable event around it is still read.
#[test]
fn a_bad_line_in_the_middle_is_named_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TraceWriter::create(dir.path(), "RUNB", Redactor::default()).unwrap();
    let warning = |message: &str| EventData::LoopWarning {
        message: message.into(),
    };
    writer.emit(0, warning("one")).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(writer.path())
        .unwrap();
    let offset = std::fs::metadata(writer.path()).unwrap().len();
    file.write_all(b"garbage\n{}\n\xff\xfe\n").unwrap();
    writer.emit(0, warning("two")).unwrap();
    let trace = read_trace(writer.path()).unwrap();
    assert_eq!(trace.events.len(), 2);
    assert!(!trace.truncated_tail);
    let bad: Vec<String> = trace.bad_lines.iter().map(ToString::to_string).collect();
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(
        bad[0].starts_with(&format!("line 2 (byte {offset}): not an event")),
        "{bad:?}"
    );
    assert!(
        bad[1].starts_with(&format!("line 3 (byte {}): not an event", offset + 8)),
        "{bad:?}"
    );
    assert_eq!(
        bad[2],
        format!(
            "line 4 (byte {}): not UTF-8 at byte 0 of the line",
            offset + 11
        )
    );
}

/// Issue 10 (8a): a last line cut inside a multi-byte UTF-8 character (a kill mid-write of
/// an event with non-ASCII text) is the cut tail, not an unreadable file.
#[test]
fn a_last_line_cut_inside_a_multibyte_character_is_the_cut_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TraceWriter::create(dir.path(), "RUNU", Redactor::default()).unwrap();
    writer
        .emit(
            0,
            EventData::LoopWarning {
                message: "ok".into(),
            },
        )
        .unwrap();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(writer.path())
        .unwrap();
    let euro = "€".as_bytes();
    let mut cut = br#"{"v":1,"seq":1,"ts":"x","kind":"loop_warning","data":{"message":"#.to_vec();
    cut.extend_from_slice(&euro[..2]);
    file.write_all(&cut).unwrap();
    let trace = read_trace(writer.path()).unwrap();
    assert!(trace.truncated_tail);
    assert_eq!(trace.events.len(), 1);
    assert_eq!(trace.bad_lines.len(), 1);
    assert!(
        trace.bad_lines[0].message.starts_with("cut"),
        "{:?}",
        trace.bad_lines
    );
}

#[test]
fn a_run_folder_is_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let _first = TraceWriter::create(dir.path(), "SAME", Redactor::default()).unwrap();
    let err = TraceWriter::create(dir.path(), "SAME", Redactor::default()).unwrap_err();
    assert!(err.to_string().contains("cannot write trace"), "{err}");
}

#[test]
fn a_secret_that_is_also_a_field_name_or_kind_keeps_the_event_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = TraceWriter::create(
        dir.path(),
        "RUN3",
        Redactor::new(["run", "message", "sandbox"]),
    )
    .unwrap();
    writer
        .emit(
            0,
            EventData::LoopWarning {
                message: "the run failed in the sandbox".into(),
            },
        )
        .unwrap();
    let trace = read_trace(writer.path()).unwrap();
    assert_eq!(
        trace.events[0].data,
        EventData::LoopWarning {
            message: "the *** failed in the ***".into()
        }
    );
}

//! Schema-checked final output: accepted, rejected and retried, and given up on.

use serde_json::json;

use crate::harness::{Fixture, finished, of_kind};

const SCHEMA: &str = r#"{
  "type": "object",
  "required": ["failing_job", "confidence"],
  "properties": {
    "failing_job": {"type": "string"},
    "confidence": {"type": "number", "minimum": 0, "maximum": 1}
  },
  "additionalProperties": false
}"#;

fn fixture(turns: serde_json::Value, max_attempts: u32) -> Fixture {
    let extra =
        format!("[output]\nschema = \"triage.schema.json\"\nmax_attempts = {max_attempts}\n");
    let fixture = Fixture::new("openai", true, json!({"turns": turns}), &extra);
    std::fs::write(fixture.path().join("triage.schema.json"), SCHEMA).unwrap();
    fixture
}

#[test]
fn a_valid_answer_is_saved_as_output_json_and_shown() {
    let fixture = fixture(
        json!([{"text": "```json\n{\"failing_job\": \"build\", \"confidence\": 0.9}\n```"}]),
        2,
    );
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture.run_dir().join("output.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved, json!({"failing_job": "build", "confidence": 0.9}));
    assert!(out.stdout.contains("\"failing_job\": \"build\""), "{out:?}");
    let json_out = fixture.run(&["--json"]);
    let last: serde_json::Value =
        serde_json::from_str(json_out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["data"]["output"]["failing_job"], "build");
}

#[test]
fn a_wrong_answer_is_sent_back_with_what_is_wrong() {
    let fixture = fixture(
        json!([
            {"text": "The build job failed, I am fairly sure."},
            {"expect": {"last_message_contains": "not JSON"}, "text": "{\"failing_job\": 7, \"confidence\": 2}"},
            {"expect": {"last_message_contains": "/confidence"}, "text": "{\"failing_job\": \"build\", \"confidence\": 0.8}"}
        ]),
        3,
    );
    let out = fixture.run(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let events = fixture.events();
    let checks: Vec<bool> = of_kind(&events, "output_check")
        .iter()
        .map(|c| c["data"]["valid"].as_bool().unwrap())
        .collect();
    assert_eq!(checks, [false, false, true]);
    assert_eq!(finished(&events)["output"]["confidence"], 0.8);
}

#[test]
fn running_out_of_attempts_ends_as_invalid_output() {
    let fixture = fixture(json!([{"text": "no json"}, {"text": "{}"}]), 2);
    let out = fixture.run(&[]);
    assert_eq!(out.code, 17, "{out:?}");
    let events = fixture.events();
    assert_eq!(finished(&events)["stop_reason"], "invalid_output");
    assert!(!fixture.run_dir().join("output.json").exists());
}

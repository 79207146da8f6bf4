//! `sql_query`: reads with parameters, every kind of write refused with the database file
//! byte-for-byte unchanged and no file created, the row limit, one statement per call,
//! the time limit, paths outside the workspace and a missing `[tools.sql_query]`.

use std::path::Path;
use std::time::Duration;

use rein_spec::ToolsSpec;
use rein_spec::spec::SqlQuerySpec;
use rein_tools::{OutcomeKind, ToolError, Toolbox};
use serde_json::json;

use crate::{context, render};

fn tools_spec(database: &str, max_rows: usize, timeout: Duration) -> ToolsSpec {
    ToolsSpec {
        builtin: vec!["sql_query".to_owned()],
        command: Vec::new(),
        http: Vec::new(),
        mcp: Vec::new(),
        sql_query: Some(SqlQuerySpec {
            database: database.to_owned(),
            max_rows,
            timeout,
        }),
        slack_post: None,
        ci_logs: None,
    }
}

fn toolbox(spec: &ToolsSpec) -> Toolbox {
    Toolbox::new(
        rein_tools::declared::tools_from_spec(spec).unwrap(),
        64 * 1024,
    )
    .unwrap()
}

/// `data/app.db` with a `people` table of 5 rows.
fn make_database(workspace: &Path) {
    std::fs::create_dir(workspace.join("data")).unwrap();
    let connection = rusqlite::Connection::open(workspace.join("data/app.db")).unwrap();
    connection
        .execute_batch(
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, score REAL, photo BLOB);
             INSERT INTO people VALUES (1, 'ada', 9.5, x'0102'), (2, 'bob', NULL, NULL),
               (3, 'cy \"q\"', 7, NULL), (4, 'dee', 1, NULL), (5, 'eve', 0.25, NULL);
             CREATE INDEX people_name ON people (name);",
        )
        .unwrap();
}

async fn query(workspace: &Path, spec: &ToolsSpec, args: serde_json::Value) -> String {
    render(
        &toolbox(spec)
            .invoke("sql_query", &args.to_string(), &context(workspace))
            .await,
    )
}

/// Every file of the workspace with its bytes.
fn snapshot(workspace: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in walk(workspace) {
        let bytes = std::fs::read(&entry).unwrap();
        files.push((entry.display().to_string(), bytes));
    }
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn reads_return_json_lines_with_parameters() {
    let dir = tempfile::tempdir().unwrap();
    make_database(dir.path());
    let spec = tools_spec("data/app.db", 100, Duration::from_secs(10));
    assert_eq!(
        query(
            dir.path(),
            &spec,
            json!({"query": "SELECT id, name, score, photo FROM people WHERE id <= ? OR name = ?1 ORDER BY id", "params": [3]})
        )
        .await,
        "Ok\ncolumns: [\"id\",\"name\",\"score\",\"photo\"]\n[1,\"ada\",9.5,\"<blob: 2 bytes>\"]\n[2,\"bob\",null,null]\n[3,\"cy \\\"q\\\"\",7.0,null]\n3 rows\n"
    );
    assert_eq!(
        query(
            dir.path(),
            &spec,
            json!({"query": "PRAGMA table_info(people)"})
        )
        .await
        .lines()
        .next(),
        Some("Ok")
    );
    assert_eq!(
        query(dir.path(), &spec, json!({"query": "SELECT count(*) AS n FROM people WHERE name = ?", "params": ["x' OR 1=1 --"]})).await,
        "Ok\ncolumns: [\"n\"]\n[0]\n1 rows\n"
    );
    assert_eq!(
        query(
            dir.path(),
            &spec,
            json!({"query": "SELECT ?, ?", "params": [1]})
        )
        .await,
        "ToolFailed error\nthe query has 2 parameter(s) but 1 value(s) were given in `params`"
    );
}

#[tokio::test]
async fn every_write_attempt_is_refused_and_the_database_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    make_database(dir.path());
    let spec = tools_spec("data/app.db", 100, Duration::from_secs(10));
    let before = snapshot(dir.path());
    let attempts = [
        "INSERT INTO people (name) VALUES ('mallory')",
        "REPLACE INTO people (id, name) VALUES (1, 'mallory')",
        "UPDATE people SET name = 'mallory'",
        "DELETE FROM people",
        "CREATE TABLE t (x)",
        "CREATE TEMP TABLE t (x)",
        "CREATE INDEX i ON people (name)",
        "DROP TABLE people",
        "ALTER TABLE people ADD COLUMN x",
        "ATTACH DATABASE 'other.db' AS other",
        "ATTACH DATABASE '/etc/passwd' AS other",
        "PRAGMA user_version = 7",
        "PRAGMA query_only = OFF",
        "PRAGMA journal_mode = WAL",
        "VACUUM",
        "VACUUM INTO 'copy.db'",
        "BEGIN IMMEDIATE",
        "REINDEX",
        "REINDEX people_name",
        "ANALYZE",
        "WITH x AS (SELECT 1) INSERT INTO people (name) SELECT 'm' FROM x",
    ];
    for attempt in attempts {
        let outcome = toolbox(&spec)
            .invoke(
                "sql_query",
                &json!({"query": attempt}).to_string(),
                &context(dir.path()),
            )
            .await;
        assert_eq!(
            outcome.kind,
            OutcomeKind::ToolFailed,
            "{attempt}: {}",
            outcome.content
        );
        assert!(
            outcome
                .content
                .starts_with("sql_query is read-only: the statement would "),
            "{attempt}: {}",
            outcome.content
        );
    }
    assert_eq!(snapshot(dir.path()), before, "the workspace changed");
    // And the data is all there.
    assert_eq!(
        query(
            dir.path(),
            &spec,
            json!({"query": "SELECT count(*), max(name) FROM people"})
        )
        .await,
        "Ok\ncolumns: [\"count(*)\",\"max(name)\"]\n[5,\"eve\"]\n1 rows\n"
    );
}

#[tokio::test]
async fn write_refusals_say_what_was_refused() {
    let dir = tempfile::tempdir().unwrap();
    make_database(dir.path());
    let spec = tools_spec("data/app.db", 100, Duration::from_secs(10));
    assert_eq!(
        query(dir.path(), &spec, json!({"query": "DELETE FROM people"})).await,
        "ToolFailed error\nsql_query is read-only: the statement would DELETE from `people`\nhint: only statements that read run here (SELECT, WITH … SELECT, PRAGMA table_info(t))"
    );
    assert_eq!(
        query(dir.path(), &spec, json!({"query": "PRAGMA query_only = 0"})).await,
        "ToolFailed error\nsql_query is read-only: the statement would set PRAGMA query_only = 0\nhint: only statements that read run here (SELECT, WITH … SELECT, PRAGMA table_info(t))"
    );
}

#[tokio::test]
async fn rows_past_max_rows_are_counted_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    make_database(dir.path());
    let spec = tools_spec("data/app.db", 2, Duration::from_secs(10));
    assert_eq!(
        query(
            dir.path(),
            &spec,
            json!({"query": "SELECT id FROM people ORDER BY id"})
        )
        .await,
        "Ok\ncolumns: [\"id\"]\n[1]\n[2]\n2 rows shown; 3 more rows not shown (max_rows = 2)\n"
    );
}

#[tokio::test]
async fn one_statement_per_call() {
    let dir = tempfile::tempdir().unwrap();
    make_database(dir.path());
    let spec = tools_spec("data/app.db", 10, Duration::from_secs(10));
    assert_eq!(
        query(dir.path(), &spec, json!({"query": "SELECT 1; SELECT 2"})).await,
        "ToolFailed error\n`query` holds more than one SQL statement; sql_query runs exactly one per call"
    );
    let before = snapshot(dir.path());
    let smuggled = query(
        dir.path(),
        &spec,
        json!({"query": "SELECT 1; DELETE FROM people"}),
    )
    .await;
    assert!(smuggled.starts_with("ToolFailed error\n"), "{smuggled}");
    assert_eq!(snapshot(dir.path()), before);
    assert_eq!(
        query(dir.path(), &spec, json!({"query": "-- only a comment"})).await,
        "ToolFailed error\n`query` holds no SQL statement (only blanks or comments)"
    );
    assert_eq!(
        query(dir.path(), &spec, json!({"query": "SELEC 1"})).await,
        "ToolFailed error\nSQL error: near \"SELEC\": syntax error in SELEC 1 at offset 0"
    );
}

#[tokio::test]
async fn a_query_running_past_the_time_limit_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    make_database(dir.path());
    let spec = tools_spec("data/app.db", 10, Duration::from_millis(300));
    assert_eq!(
        query(
            dir.path(),
            &spec,
            json!({"query": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"})
        )
        .await,
        "ToolFailed error\nthe query ran longer than 300ms and was stopped\nhint: add a LIMIT or a narrower WHERE"
    );
}

#[tokio::test]
async fn the_database_must_be_a_file_inside_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    make_database(dir.path());
    let outside = tempfile::tempdir().unwrap();
    make_database(outside.path());
    std::os::unix::fs::symlink(
        outside.path().join("data/app.db"),
        dir.path().join("link.db"),
    )
    .unwrap();
    let cases = [
        (
            "missing.db",
            "ToolFailed error\n`missing.db` does not exist",
        ),
        (
            "../x.db",
            "ToolFailed error\npath `../x.db` leaves the workspace; use a path inside the workspace root",
        ),
        ("data", "ToolFailed error\ndatabase `data` is not a file"),
    ];
    for (database, expected) in cases {
        let spec = tools_spec(database, 10, Duration::from_secs(10));
        assert_eq!(
            query(dir.path(), &spec, json!({"query": "SELECT 1"})).await,
            expected
        );
    }
    let spec = tools_spec("link.db", 10, Duration::from_secs(10));
    let escaped = query(dir.path(), &spec, json!({"query": "SELECT 1"})).await;
    assert!(
        escaped.starts_with("ToolFailed error\npath `link.db` goes through the symlink `link.db`"),
        "{escaped}"
    );
    // No database file was created for the missing one.
    assert!(!dir.path().join("missing.db").exists());
}

#[test]
fn sql_query_needs_its_table() {
    let mut spec = tools_spec("x.db", 10, Duration::from_secs(1));
    spec.sql_query = None;
    let error = rein_tools::declared::tools_from_spec(&spec).err().unwrap();
    assert!(matches!(error, ToolError::MissingToolConfig { .. }));
    assert_eq!(
        error.to_string(),
        "builtin tool `sql_query` needs a `[tools.sql_query]` table\nhint: add `[tools.sql_query]` with `database` (a SQLite file in the workspace) to the agent file"
    );
    let mut spec = tools_spec("/abs.db", 10, Duration::from_secs(1));
    spec.builtin = vec!["sql_query".to_owned()];
    assert!(rein_tools::declared::tools_from_spec(&spec).is_err());
}

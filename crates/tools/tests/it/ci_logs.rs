//! `get_run`, `list_jobs`, `read_job_log` (issue 6): folder mode on a small fixture with
//! timestamps, ANSI colours and group markers; GitHub mode against the fake API of
//! rein-testkit — the logs redirect followed to another origin without the token, a 500
//! retried, 401/403/404/410 worded, the token in no output, action or error.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use expect_test::expect;
use rein_spec::spec::{CiLogSource, CiLogsSpec};
use rein_spec::{Secret, ToolsSpec};
use rein_testkit::github::{FakeGithub, GithubOrigin};
use rein_tools::{NetworkGuard, ToolAction, ToolOutcome, Toolbox};
use serde_json::json;

use crate::declared::AddressGuard;
use crate::{context, write};

const RUN_ID: &str = "9100000001";
const FAILED_JOB: &str = "27000000001";
const PASSED_JOB: &str = "27000000002";
const TOKEN: &str = "ghp_SeCrEtTokenValue0123456789";

/// A failed run with two jobs; the failed job's log has 600 noisy lines and a compile
/// error near the end.
fn write_fixture(dir: &Path) {
    write(
        &dir.join("run.json"),
        &json!({
            "id": 9100000001u64,
            "name": "CI",
            "display_title": "parse: accept empty sections",
            "event": "push",
            "head_branch": "main",
            "head_sha": "4f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
            "status": "completed",
            "conclusion": "failure",
            "run_attempt": 1,
            "created_at": "2024-05-01T12:00:00Z",
            "updated_at": "2024-05-01T12:09:41Z",
            "html_url": "https://github.com/acme/widgets/actions/runs/9100000001",
            "repository": {"full_name": "acme/widgets"}
        })
        .to_string(),
    );
    write(
        &dir.join("jobs.json"),
        &json!({
            "total_count": 2,
            "jobs": [
                {
                    "id": 27000000002u64, "run_id": 9100000001u64, "name": "fmt",
                    "status": "completed", "conclusion": "success",
                    "started_at": "2024-05-01T12:00:05Z", "completed_at": "2024-05-01T12:00:37Z",
                    "steps": [{"name": "Run cargo fmt --check", "status": "completed", "conclusion": "success", "number": 1}]
                },
                {
                    "id": 27000000001u64, "run_id": 9100000001u64, "name": "build (ubuntu-latest)",
                    "status": "completed", "conclusion": "failure",
                    "started_at": "2024-05-01T12:00:05Z", "completed_at": "2024-05-01T12:04:17.000-00:00",
                    "steps": [
                        {"name": "Checkout", "status": "completed", "conclusion": "success", "number": 1},
                        {"name": "Build", "status": "completed", "conclusion": "failure", "number": 2},
                        {"name": "Test", "status": "completed", "conclusion": "skipped", "number": 3}
                    ]
                }
            ]
        })
        .to_string(),
    );
    let mut log = String::from("\u{feff}");
    log.push_str("2024-05-01T12:00:05.1000000Z ##[group]Run cargo build --locked\n");
    log.push_str("2024-05-01T12:00:05.2000000Z \u{1b}[36;1mcargo build --locked\u{1b}[0m\n");
    log.push_str("2024-05-01T12:00:05.3000000Z ##[endgroup]\n");
    for index in 1..=590 {
        log.push_str(&format!(
            "2024-05-01T12:01:{:02}.0000000Z \u{1b}[1m\u{1b}[32m   Compiling\u{1b}[0m dep{index} v0.1.{index}\n",
            index % 60
        ));
    }
    log.push_str("2024-05-01T12:04:10.0000000Z \u{1b}[1m\u{1b}[91merror[E0308]\u{1b}[0m\u{1b}[1m: mismatched types\u{1b}[0m\n");
    log.push_str("2024-05-01T12:04:10.0000001Z   --> src/parse.rs:42:17\n");
    log.push_str("2024-05-01T12:04:10.0000002Z    |\n");
    log.push_str("2024-05-01T12:04:10.0000003Z 42 |     let n: u32 = section.len();\n");
    log.push_str("2024-05-01T12:04:10.0000004Z    |            ---   ^^^^^^^^^^^^^ expected `u32`, found `usize`\n");
    log.push_str("2024-05-01T12:04:11.0000000Z \u{1b}[1m\u{1b}[91merror\u{1b}[0m: could not compile `widgets` (lib) due to 1 previous error\n");
    log.push_str("2024-05-01T12:04:11.5000000Z ##[error]Process completed with exit code 101.\n");
    write(&dir.join("logs").join(format!("{FAILED_JOB}.txt")), &log);
    write(
        &dir.join("logs").join(format!("{PASSED_JOB}.txt")),
        "2024-05-01T12:00:06.0000000Z ##[group]Run cargo fmt --check\n\
         2024-05-01T12:00:06.1000000Z ##[endgroup]\n\
         2024-05-01T12:00:36.0000000Z Post job cleanup.\n",
    );
}

fn toolbox(source: CiLogSource) -> Toolbox {
    let spec = ToolsSpec {
        builtin: vec![
            "get_run".to_owned(),
            "list_jobs".to_owned(),
            "read_job_log".to_owned(),
        ],
        command: Vec::new(),
        http: Vec::new(),
        mcp: Vec::new(),
        sql_query: None,
        slack_post: None,
        ci_logs: Some(CiLogsSpec {
            source,
            timeout: Duration::from_secs(20),
        }),
    };
    Toolbox::new(
        rein_tools::declared::tools_from_spec(&spec).unwrap(),
        256 * 1024,
    )
    .unwrap()
}

fn github(fake: &FakeGithub, token: Option<&str>) -> CiLogSource {
    CiLogSource::Github {
        base_url: fake.url(),
        repo: "acme/widgets".to_owned(),
        token: token.map(Secret::new),
    }
}

async fn call(
    toolbox: &Toolbox,
    guard: Option<Arc<AddressGuard>>,
    tool: &str,
    args: serde_json::Value,
) -> ToolOutcome {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path());
    ctx.network = guard.map(|guard| guard as Arc<dyn NetworkGuard>);
    toolbox.invoke(tool, &args.to_string(), &ctx).await
}

fn loopback() -> Option<Arc<AddressGuard>> {
    Some(AddressGuard::new(&["127.0.0.1"]))
}

fn ok(outcome: &ToolOutcome) -> &str {
    assert!(!outcome.is_error, "{}", outcome.content);
    assert_eq!(outcome.truncated_bytes, 0);
    &outcome.content
}

fn failed(outcome: &ToolOutcome) -> &str {
    assert!(outcome.is_error, "{}", outcome.content);
    &outcome.content
}

#[tokio::test]
async fn folder_mode_summarises_the_run_and_lists_failed_jobs_first() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let tools = toolbox(CiLogSource::Folder {
        path: dir.path().to_path_buf(),
    });
    let run = call(&tools, None, "get_run", json!({"run_id": RUN_ID})).await;
    expect![[r#"
        run 9100000001 of acme/widgets
        workflow: CI
        title: parse: accept empty sections
        event: push
        branch: main
        commit: 4f2a9c1
        status: completed
        conclusion: failure
        attempt: 1
        created: 2024-05-01T12:00:00Z
        updated: 2024-05-01T12:09:41Z
        url: https://github.com/acme/widgets/actions/runs/9100000001
        next: list_jobs with run_id "9100000001" lists its jobs
    "#]]
    .assert_eq(ok(&run));
    let jobs = call(&tools, None, "list_jobs", json!({"run_id": RUN_ID})).await;
    expect![[r#"
        run 9100000001: 2 jobs, 1 failed
        FAILED job 27000000001 "build (ubuntu-latest)" completed/failure 4m12s, failed step: "Build"
        passed job 27000000002 "fmt" completed/success 32s
        next: read_job_log with a job_id shows the end of its log; add grep (a regex) or start_line/end_line for other parts
    "#]]
    .assert_eq(ok(&jobs));

    let wrong = call(&tools, None, "get_run", json!({"run_id": "123"})).await;
    assert_eq!(
        failed(&wrong),
        format!(
            "run 123 is not in the log folder `{}`; it holds run 9100000001 only",
            dir.path().display()
        )
    );
    let wrong = call(&tools, None, "list_jobs", json!({"run_id": "123"})).await;
    assert!(failed(&wrong).starts_with("run 123 is not in the log folder"));
    for spec in tools.specs() {
        assert_eq!(
            spec.input_schema["additionalProperties"], false,
            "{}",
            spec.name
        );
        for (property, schema) in spec.input_schema["properties"].as_object().unwrap() {
            assert!(
                schema["description"].is_string(),
                "{}.{property}",
                spec.name
            );
        }
    }
    // Folder mode reads configuration, not the workspace: no action for the policy.
    let prepared = tools
        .prepare("read_job_log", &json!({"job_id": FAILED_JOB}).to_string())
        .unwrap();
    assert_eq!(prepared.actions, Vec::<ToolAction>::new());
}

#[tokio::test]
async fn folder_mode_reads_the_tail_a_range_or_grep_of_a_cleaned_log() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let tools = toolbox(CiLogSource::Folder {
        path: dir.path().to_path_buf(),
    });
    // 1 group line + 1 command + 590 + 7 = 599 cleaned lines (the endgroup is dropped).
    let tail = call(&tools, None, "read_job_log", json!({"job_id": FAILED_JOB})).await;
    let tail = ok(&tail);
    let mut lines = tail.lines();
    assert_eq!(
        lines.next(),
        Some("job 27000000001: 599 lines, showing the last 200 (400-599)")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("hint: pass start_line/end_line")
    );
    assert_eq!(lines.next(), Some(" 400\t   Compiling dep398 v0.1.398"));
    assert_eq!(tail.lines().count(), 202);
    assert!(tail.ends_with(
        " 598\terror: could not compile `widgets` (lib) due to 1 previous error\n 599\t##[error]Process completed with exit code 101.\n"
    ), "{tail}");
    assert!(!tail.contains('\u{1b}'));
    assert!(!tail.contains("2024-05-01T"));

    let head = call(
        &tools,
        None,
        "read_job_log",
        json!({"job_id": FAILED_JOB, "start_line": 1, "end_line": 3}),
    )
    .await;
    expect![[r#"
        job 27000000001: 599 lines, showing 1-3
           1	▶ Run cargo build --locked
           2	cargo build --locked
           3	   Compiling dep1 v0.1.1
    "#]]
    .assert_eq(ok(&head));

    let grep = call(
        &tools,
        None,
        "read_job_log",
        json!({"job_id": FAILED_JOB, "grep": "^error", "context": 1}),
    )
    .await;
    expect![[r#"
        job 27000000001: 599 lines, 2 lines match `^error` (context 1)
         592-	   Compiling dep590 v0.1.590
         593:	error[E0308]: mismatched types
         594-	  --> src/parse.rs:42:17
        --
         597-	   |            ---   ^^^^^^^^^^^^^ expected `u32`, found `usize`
         598:	error: could not compile `widgets` (lib) due to 1 previous error
         599-	##[error]Process completed with exit code 101.
    "#]]
    .assert_eq(ok(&grep));

    let default_context = call(
        &tools,
        None,
        "read_job_log",
        json!({"job_id": FAILED_JOB, "grep": "(?i)E0308"}),
    )
    .await;
    assert_eq!(ok(&default_context).lines().count(), 1 + 5);

    let short = call(&tools, None, "read_job_log", json!({"job_id": PASSED_JOB})).await;
    expect![[r#"
        job 27000000002: 2 lines, showing all
           1	▶ Run cargo fmt --check
           2	Post job cleanup.
    "#]]
    .assert_eq(ok(&short));

    let missing = call(&tools, None, "read_job_log", json!({"job_id": "5"})).await;
    assert_eq!(
        failed(&missing),
        format!(
            "no log for job 5 in `{}`; logs exist for jobs: 27000000001, 27000000002\nhint: take job ids from list_jobs",
            dir.path().join("logs").display()
        )
    );
    let past = call(
        &tools,
        None,
        "read_job_log",
        json!({"job_id": FAILED_JOB, "start_line": 600}),
    )
    .await;
    assert_eq!(
        failed(&past),
        "start_line 600 is past the end of the log of job 27000000001, which has 599 lines"
    );
    let bad_regex = call(
        &tools,
        None,
        "read_job_log",
        json!({"job_id": FAILED_JOB, "grep": "error["}),
    )
    .await;
    assert!(
        failed(&bad_regex).starts_with("invalid regular expression `error[`: "),
        "{}",
        bad_regex.content
    );
    let not_digits = call(&tools, None, "read_job_log", json!({"job_id": "abc"})).await;
    assert!(
        failed(&not_digits).contains("/job_id"),
        "{}",
        not_digits.content
    );
}

#[test]
fn the_tools_need_the_ci_logs_table_and_a_usable_source() {
    let mut spec = ToolsSpec {
        builtin: vec!["read_job_log".to_owned()],
        command: Vec::new(),
        http: Vec::new(),
        mcp: Vec::new(),
        sql_query: None,
        slack_post: None,
        ci_logs: None,
    };
    let error = rein_tools::declared::tools_from_spec(&spec)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with("builtin tool `read_job_log` needs a `[tools.ci_logs]` table\nhint: add `[tools.ci_logs]` with `source"),
        "{error}"
    );
    spec.ci_logs = Some(CiLogsSpec {
        source: CiLogSource::Folder {
            path: "/no/such/folder".into(),
        },
        timeout: Duration::from_secs(1),
    });
    let error = rein_tools::declared::tools_from_spec(&spec)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        error,
        "tool `read_job_log` is declared wrong: [tools.ci_logs] folder `/no/such/folder` is not a folder (it should hold run.json, jobs.json and logs/)"
    );
    spec.ci_logs = Some(CiLogsSpec {
        source: CiLogSource::Github {
            base_url: "https://api.github.com".to_owned(),
            repo: "acme".to_owned(),
            token: Some(Secret::new(TOKEN)),
        },
        timeout: Duration::from_secs(1),
    });
    let error = rein_tools::declared::tools_from_spec(&spec)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        error,
        "tool `read_job_log` is declared wrong: [tools.ci_logs] repo `acme` is not `owner/repo`"
    );
}

#[tokio::test]
async fn github_mode_follows_the_log_redirect_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let fake = FakeGithub::start_with_token(dir.path(), TOKEN).unwrap();
    let tools = toolbox(github(&fake, Some(TOKEN)));

    let folder_tools = toolbox(CiLogSource::Folder {
        path: dir.path().to_path_buf(),
    });
    let mut outputs = Vec::new();
    for (tool, args) in [
        ("get_run", json!({"run_id": RUN_ID})),
        ("list_jobs", json!({"run_id": RUN_ID})),
        ("read_job_log", json!({"job_id": FAILED_JOB})),
        (
            "read_job_log",
            json!({"job_id": FAILED_JOB, "grep": "E0308"}),
        ),
    ] {
        let from_api = call(&tools, loopback(), tool, args.clone()).await;
        let from_folder = call(&folder_tools, None, tool, args).await;
        // Same data, same text, whichever the source.
        assert_eq!(ok(&from_api), ok(&from_folder));
        outputs.push(from_api.content);
    }

    let requests = fake.requests();
    let api: Vec<_> = requests
        .iter()
        .filter(|request| request.origin == GithubOrigin::Api)
        .collect();
    let blob: Vec<_> = requests
        .iter()
        .filter(|request| request.origin == GithubOrigin::Blob)
        .collect();
    let paths: Vec<(&str, u16)> = api
        .iter()
        .map(|request| (request.path.as_str(), request.status))
        .collect();
    // The second read of the same job's log is served from memory.
    assert_eq!(
        paths,
        [
            ("/repos/acme/widgets/actions/runs/9100000001", 200),
            ("/repos/acme/widgets/actions/runs/9100000001/jobs", 200),
            ("/repos/acme/widgets/actions/jobs/27000000001/logs", 302),
        ]
    );
    for request in &api {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(
            request.header("accept"),
            Some("application/vnd.github+json")
        );
        assert_eq!(request.header("x-github-api-version"), Some("2022-11-28"));
        assert!(request.header("user-agent").unwrap().starts_with("rein/"));
    }
    assert_eq!(blob.len(), 1);
    assert_eq!(blob[0].path, "/job-logs/27000000001.txt");
    assert_eq!(blob[0].status, 200);
    assert_eq!(blob[0].header("authorization"), None);
    assert!(!fake.blob_saw_authorization());

    // The policy sees the API URL, never the token.
    let prepared = tools
        .prepare("read_job_log", &json!({"job_id": FAILED_JOB}).to_string())
        .unwrap();
    assert_eq!(
        prepared.actions,
        [ToolAction::Network(format!(
            "{}/repos/acme/widgets/actions/jobs/27000000001/logs",
            fake.url()
        ))]
    );
    let prepared = tools
        .prepare("list_jobs", &json!({"run_id": RUN_ID}).to_string())
        .unwrap();
    assert_eq!(
        prepared.actions,
        [ToolAction::Network(format!(
            "{}/repos/acme/widgets/actions/runs/9100000001/jobs?per_page=100",
            fake.url()
        ))]
    );
    for output in &outputs {
        assert!(!output.contains(TOKEN), "{output}");
    }
}

#[tokio::test]
async fn github_mode_retries_server_errors_then_gives_up_with_the_count() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let fake = FakeGithub::start(dir.path()).unwrap();
    let tools = toolbox(github(&fake, None));
    let run_path = "/repos/acme/widgets/actions/runs/9100000001";

    fake.fail_next(run_path, 2);
    let run = call(&tools, loopback(), "get_run", json!({"run_id": RUN_ID})).await;
    assert!(ok(&run).starts_with("run 9100000001 of acme/widgets\n"));
    let statuses: Vec<u16> = fake
        .requests()
        .iter()
        .map(|request| request.status)
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    // No token configured: none sent.
    assert!(
        fake.requests()
            .iter()
            .all(|request| request.header("authorization").is_none())
    );

    // A failure of the blob download is retried too, through the redirect again.
    fake.fail_next("/job-logs/27000000001.txt", 1);
    let log = call(
        &tools,
        loopback(),
        "read_job_log",
        json!({"job_id": FAILED_JOB}),
    )
    .await;
    assert!(ok(&log).starts_with("job 27000000001: 599 lines"));

    fake.fail_next(&format!("{run_path}/jobs"), 4);
    let jobs = call(&tools, loopback(), "list_jobs", json!({"run_id": RUN_ID})).await;
    assert_eq!(
        failed(&jobs),
        "cannot fetch the jobs of run 9100000001 of acme/widgets: GitHub answered 500 Internal Server Error (GitHub says: Server Error (injected by the fake)) (after 4 attempts)"
    );
}

#[tokio::test]
async fn github_mode_words_401_403_404_and_410_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    write_fixture(dir.path());
    let fake = FakeGithub::start_with_token(dir.path(), TOKEN).unwrap();
    let mut messages = Vec::new();

    let wrong_token = "ghp_WrongToken";
    let bad = toolbox(github(&fake, Some(wrong_token)));
    let unauthorized = call(&bad, loopback(), "get_run", json!({"run_id": RUN_ID})).await;
    assert_eq!(
        failed(&unauthorized),
        "cannot fetch run 9100000001 of acme/widgets: GitHub answered 401 Unauthorized (GitHub says: Bad credentials): the token is missing, invalid or expired\nhint: set the token of [tools.ci_logs] (e.g. `${secret:GITHUB_TOKEN}`) to a valid token"
    );
    messages.push(unauthorized.content);

    let tools = toolbox(github(&fake, Some(TOKEN)));
    let not_found = call(&tools, loopback(), "get_run", json!({"run_id": "42"})).await;
    assert_eq!(
        failed(&not_found),
        "cannot fetch run 42 of acme/widgets: GitHub answered 404 Not Found (GitHub says: Not Found): the repository acme/widgets or the run 42 does not exist, or the token cannot see it (private repositories answer 404 without access)"
    );
    messages.push(not_found.content);

    let no_job = call(&tools, loopback(), "read_job_log", json!({"job_id": "42"})).await;
    assert!(
        failed(&no_job).starts_with("cannot fetch the log of job 42 of acme/widgets: GitHub answered 404 Not Found (GitHub says: Not Found): no job 42 in acme/widgets"),
        "{}",
        no_job.content
    );
    messages.push(no_job.content);

    let logs_path = format!("/repos/acme/widgets/actions/jobs/{FAILED_JOB}/logs");
    fake.fail_next_with(&logs_path, 410, 1);
    let gone = call(
        &tools,
        loopback(),
        "read_job_log",
        json!({"job_id": FAILED_JOB}),
    )
    .await;
    assert!(
        failed(&gone).contains("410 Gone (GitHub says: Server Error (injected by the fake)): the logs have expired or were deleted"),
        "{}",
        gone.content
    );
    messages.push(gone.content);

    fake.fail_next_with(
        &format!("/repos/acme/widgets/actions/runs/{RUN_ID}"),
        403,
        1,
    );
    let forbidden = call(&tools, loopback(), "get_run", json!({"run_id": RUN_ID})).await;
    assert!(
        failed(&forbidden).contains("the token may not read Actions data of acme/widgets\nhint: the token needs the permission `actions:read`"),
        "{}",
        forbidden.content
    );
    messages.push(forbidden.content);

    // Without network rules nothing is fetched.
    let no_rules = call(&tools, None, "get_run", json!({"run_id": RUN_ID})).await;
    assert!(
        failed(&no_rules).contains("no network rules"),
        "{}",
        no_rules.content
    );
    messages.push(no_rules.content);

    for message in &messages {
        assert!(!message.contains(TOKEN), "{message}");
        assert!(!message.contains(wrong_token), "{message}");
    }
}

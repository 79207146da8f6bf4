//! `get_run`, `list_jobs`, `read_job_log`: a CI run's summary, its jobs and their logs,
//! from the source of `[tools.ci_logs]` — a folder in the GitHub API's shapes or the
//! GitHub Actions REST API (see `source.rs`). The model chooses what to read: a log is
//! never shown whole; `read_job_log` gives the end, a line range, or grep with context
//! (see `clean.rs`).
//!
//! Actions for the policy: in GitHub mode, `ToolAction::Network` with the API URL of the
//! call (never the token). In folder mode none: the folder is configuration, like the
//! agent file, read on the host on purpose (it need not be inside the workspace).

mod clean;
mod source;

use std::sync::OnceLock;

use rein_spec::spec::CiLogsSpec;
use serde::Deserialize;

use self::clean::{LogRequest, render_log};
use self::source::{CiSource, WireJob, WireRun};
use super::{parse_arguments, string_arg};
use crate::{Tool, ToolAction, ToolContext, ToolError, ToolOutput};

pub use self::clean::{
    CI_LOG_MAX_GREP_MATCHES, CI_LOG_MAX_LINE_CHARS, CI_LOG_MAX_RANGE_LINES, CI_LOG_TAIL_LINES,
    clean_log,
};
pub use self::source::CI_FETCH_RETRIES;

/// Default lines of context around a `grep` match.
pub const CI_LOG_DEFAULT_CONTEXT: usize = 2;
/// Most lines of context a call may ask for.
pub const CI_LOG_MAX_CONTEXT: usize = 20;

/// Conclusions that count as a failed job (listed first by `list_jobs`).
const FAILED_CONCLUSIONS: &[&str] = &[
    "failure",
    "timed_out",
    "cancelled",
    "startup_failure",
    "action_required",
];

/// `get_run`: the summary of a CI run.
#[derive(Debug)]
pub struct GetRunTool {
    source: CiSource,
}

/// `list_jobs`: the jobs of a CI run, failed first, with their failed steps.
#[derive(Debug)]
pub struct ListJobsTool {
    source: CiSource,
}

/// `read_job_log`: a part of a job's cleaned log.
#[derive(Debug)]
pub struct ReadJobLogTool {
    source: CiSource,
}

impl GetRunTool {
    /// Checks `[tools.ci_logs]` (see [`ListJobsTool::new`]).
    pub fn new(spec: &CiLogsSpec) -> Result<GetRunTool, ToolError> {
        Ok(GetRunTool {
            source: CiSource::new("get_run", spec)?,
        })
    }
}

impl ListJobsTool {
    /// Checks `[tools.ci_logs]`: a folder that exists, or an http(s) `base_url` and an
    /// `owner/repo`; a timeout above 0.
    pub fn new(spec: &CiLogsSpec) -> Result<ListJobsTool, ToolError> {
        Ok(ListJobsTool {
            source: CiSource::new("list_jobs", spec)?,
        })
    }
}

impl ReadJobLogTool {
    /// Checks `[tools.ci_logs]` (see [`ListJobsTool::new`]).
    pub fn new(spec: &CiLogsSpec) -> Result<ReadJobLogTool, ToolError> {
        Ok(ReadJobLogTool {
            source: CiSource::new("read_job_log", spec)?,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunArguments {
    run_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogArguments {
    job_id: String,
    start_line: Option<usize>,
    end_line: Option<usize>,
    grep: Option<String>,
    context: Option<usize>,
}

fn run_schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "run_id": {
                    "type": "string",
                    "pattern": "^[0-9]{1,20}$",
                    "description": "The workflow run id, digits only (the number in `…/actions/runs/<run_id>`)."
                }
            },
            "required": ["run_id"],
            "additionalProperties": false
        })
    })
}

fn log_schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "job_id": {
                    "type": "string",
                    "pattern": "^[0-9]{1,20}$",
                    "description": "The job id from list_jobs, digits only."
                },
                "start_line": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "First line to show (1-based, as numbered in earlier output). Alone: 200 lines from here."
                },
                "end_line": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Last line to show. At most 500 lines are shown per call."
                },
                "grep": {
                    "type": "string",
                    "minLength": 1,
                    "description": "A regular expression (Rust syntax; `(?i)` for any case): show only matching lines, with `context` lines around them. With start_line/end_line, searches that part only."
                },
                "context": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": CI_LOG_MAX_CONTEXT,
                    "description": "Lines shown before and after each grep match. Default: 2."
                }
            },
            "required": ["job_id"],
            "additionalProperties": false
        })
    })
}

/// A digits-only id the schema already checked; still an error, not a panic, if not.
fn parse_id(what: &str, text: &str) -> Result<u64, ToolError> {
    text.parse::<u64>().map_err(|_| ToolError::InvalidInput {
        message: format!("{what} `{text}` is not a number; give the digits only"),
    })
}

fn network_action(url: Option<String>) -> Vec<ToolAction> {
    url.map(ToolAction::Network).into_iter().collect()
}

#[async_trait::async_trait]
impl Tool for GetRunTool {
    fn name(&self) -> &str {
        "get_run"
    }

    fn description(&self) -> &str {
        "Show a CI (GitHub Actions) workflow run: repository, workflow, event, branch, commit, status, conclusion, times and URL. Then use list_jobs to see its jobs."
    }

    fn input_schema(&self) -> &serde_json::Value {
        run_schema()
    }

    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        network_action(self.source.run_url(&string_arg(args, "run_id", "")))
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: RunArguments = parse_arguments("get_run", arguments)?;
        let run_id = parse_id("run_id", &arguments.run_id)?;
        let run = self.source.run(run_id, ctx.network.as_ref()).await?;
        Ok(ToolOutput::text(format_run(&run, self.source.repo())))
    }
}

#[async_trait::async_trait]
impl Tool for ListJobsTool {
    fn name(&self) -> &str {
        "list_jobs"
    }

    fn description(&self) -> &str {
        "List the jobs of a CI (GitHub Actions) run, failed jobs first: job id, name, status/conclusion, duration and the names of the steps that failed. Then use read_job_log with a job id."
    }

    fn input_schema(&self) -> &serde_json::Value {
        run_schema()
    }

    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        network_action(self.source.jobs_url(&string_arg(args, "run_id", "")))
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: RunArguments = parse_arguments("list_jobs", arguments)?;
        let run_id = parse_id("run_id", &arguments.run_id)?;
        let jobs = self.source.jobs(run_id, ctx.network.as_ref()).await?;
        Ok(ToolOutput::text(format_jobs(
            run_id,
            &jobs.jobs,
            jobs.total_count,
        )))
    }
}

#[async_trait::async_trait]
impl Tool for ReadJobLogTool {
    fn name(&self) -> &str {
        "read_job_log"
    }

    fn description(&self) -> &str {
        "Read a CI job's log, cleaned (timestamps and colour codes removed, lines numbered). Logs are long: without arguments you get the last 200 lines and the line count; pass `grep` (a regex) to find lines such as errors, with `context` lines around them, or `start_line`/`end_line` for a part."
    }

    fn input_schema(&self) -> &serde_json::Value {
        log_schema()
    }

    fn actions(&self, args: &serde_json::Value) -> Vec<ToolAction> {
        network_action(self.source.log_url(&string_arg(args, "job_id", "")))
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: LogArguments = parse_arguments("read_job_log", arguments)?;
        let job_id = parse_id("job_id", &arguments.job_id)?;
        let request = LogRequest {
            start_line: arguments.start_line,
            end_line: arguments.end_line,
            grep: arguments.grep,
            context: arguments
                .context
                .unwrap_or(CI_LOG_DEFAULT_CONTEXT)
                .min(CI_LOG_MAX_CONTEXT),
        };
        if request.start_line == Some(0) || request.end_line == Some(0) {
            return Err(ToolError::InvalidInput {
                message: "line numbers start at 1".to_owned(),
            });
        }
        let log = self.source.log(job_id, ctx.network.as_ref()).await?;
        let mut content = render_log(job_id, &log.lines, &request)?;
        if let Some(cut_at) = log.cut_at_bytes {
            content.push_str(&format!(
                "[the log was cut at {cut_at} bytes when downloaded; later lines are missing]\n"
            ));
        }
        Ok(ToolOutput::text(content))
    }
}

fn or_dash(value: Option<&str>) -> &str {
    value.filter(|value| !value.is_empty()).unwrap_or("-")
}

/// The `get_run` text: one `key: value` line each, `-` for what the API did not give.
fn format_run(run: &WireRun, configured_repo: Option<&str>) -> String {
    let repo = configured_repo
        .or_else(|| {
            run.repository
                .as_ref()
                .and_then(|repository| repository.full_name.as_deref())
        })
        .unwrap_or("-");
    let short_sha: String = or_dash(run.head_sha.as_deref()).chars().take(7).collect();
    let attempt = run
        .run_attempt
        .map_or_else(|| "-".to_owned(), |attempt| attempt.to_string());
    format!(
        "run {id} of {repo}\n\
         workflow: {workflow}\n\
         title: {title}\n\
         event: {event}\n\
         branch: {branch}\n\
         commit: {short_sha}\n\
         status: {status}\n\
         conclusion: {conclusion}\n\
         attempt: {attempt}\n\
         created: {created}\n\
         updated: {updated}\n\
         url: {url}\n\
         next: list_jobs with run_id \"{id}\" lists its jobs\n",
        id = run.id,
        workflow = or_dash(run.name.as_deref()),
        title = or_dash(run.display_title.as_deref()),
        event = or_dash(run.event.as_deref()),
        branch = or_dash(run.head_branch.as_deref()),
        status = or_dash(run.status.as_deref()),
        conclusion = or_dash(run.conclusion.as_deref()),
        created = or_dash(run.created_at.as_deref()),
        updated = or_dash(run.updated_at.as_deref()),
        url = or_dash(run.html_url.as_deref()),
    )
}

fn job_failed(job: &WireJob) -> bool {
    job.conclusion
        .as_deref()
        .is_some_and(|conclusion| FAILED_CONCLUSIONS.contains(&conclusion))
}

/// The `list_jobs` text: a header, one line per job (failed first, then in the API's
/// order), and a hint.
fn format_jobs(run_id: u64, jobs: &[WireJob], total_count: Option<u64>) -> String {
    let n_failed = jobs.iter().filter(|job| job_failed(job)).count();
    let mut out = format!("run {run_id}: {} jobs, {n_failed} failed\n", jobs.len());
    if let Some(total) = total_count
        && total > jobs.len() as u64
    {
        out.push_str(&format!(
            "(the run has {total} jobs; only the first {} are listed)\n",
            jobs.len()
        ));
    }
    let ordered = jobs
        .iter()
        .filter(|job| job_failed(job))
        .chain(jobs.iter().filter(|job| !job_failed(job)));
    for job in ordered {
        let label = match job.conclusion.as_deref() {
            Some("failure" | "startup_failure") => "FAILED".to_owned(),
            Some(conclusion) if FAILED_CONCLUSIONS.contains(&conclusion) => {
                conclusion.replace('_', " ").to_uppercase()
            }
            Some("success") => "passed".to_owned(),
            Some(other) => other.to_owned(),
            None => or_dash(job.status.as_deref()).to_owned(),
        };
        let state = match job.conclusion.as_deref() {
            Some(conclusion) => format!("{}/{conclusion}", or_dash(job.status.as_deref())),
            None => or_dash(job.status.as_deref()).to_owned(),
        };
        let duration = match (
            job.started_at.as_deref().and_then(parse_timestamp),
            job.completed_at.as_deref().and_then(parse_timestamp),
        ) {
            (Some(started), Some(completed)) if completed >= started => {
                format_duration_secs(completed - started)
            }
            _ => "-".to_owned(),
        };
        out.push_str(&format!(
            "{label} job {} \"{}\" {state} {duration}",
            job.id,
            or_dash(job.name.as_deref())
        ));
        let failed_steps: Vec<String> = job
            .steps
            .iter()
            .filter(|step| {
                step.conclusion
                    .as_deref()
                    .is_some_and(|conclusion| FAILED_CONCLUSIONS.contains(&conclusion))
            })
            .map(|step| format!("\"{}\"", or_dash(step.name.as_deref())))
            .collect();
        if !failed_steps.is_empty() {
            out.push_str(&format!(
                ", failed {}: {}",
                if failed_steps.len() == 1 {
                    "step"
                } else {
                    "steps"
                },
                failed_steps.join(", ")
            ));
        }
        out.push('\n');
    }
    if !jobs.is_empty() {
        out.push_str(
            "next: read_job_log with a job_id shows the end of its log; add grep (a regex) or start_line/end_line for other parts\n",
        );
    }
    out
}

/// `4m12s`, `32s`, `1h02m03s`.
fn format_duration_secs(secs: i64) -> String {
    let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if hours > 0 {
        format!("{hours}h{minutes:02}m{seconds:02}s")
    } else if minutes > 0 {
        format!("{minutes}m{seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

/// Seconds since 1970 of an RFC 3339 timestamp as GitHub writes them
/// (`2024-05-01T12:00:00Z`, `2024-05-01T05:00:00.000-07:00`); `None` otherwise.
fn parse_timestamp(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |from: usize, len: usize| -> Option<i64> {
        let part = text.get(from..from + len)?;
        part.bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0, 4)?, number(5, 2)?, number(8, 2)?);
    let (hour, minute, second) = (number(11, 2)?, number(14, 2)?, number(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    let mut at = 19;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
    }
    let offset_secs = match bytes.get(at)? {
        b'Z' | b'z' if at + 1 == bytes.len() => 0,
        sign @ (b'+' | b'-') if at + 6 == bytes.len() && bytes[at + 3] == b':' => {
            let secs = number(at + 1, 2)? * 3600 + number(at + 4, 2)? * 60;
            if *sign == b'+' { secs } else { -secs }
        }
        _ => return None,
    };
    // Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs)
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn timestamps_parse_with_fractions_and_offsets() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp("2024-05-01T12:00:00Z"), Some(1_714_564_800));
        assert_eq!(
            parse_timestamp("2024-05-01T05:00:00.000-07:00"),
            Some(1_714_564_800)
        );
        assert_eq!(
            parse_timestamp("2024-05-01T14:00:00.5+02:00"),
            Some(1_714_564_800)
        );
        assert_eq!(parse_timestamp("2024-05-01"), None);
        assert_eq!(parse_timestamp("2024-13-01T00:00:00Z"), None);
        assert_eq!(parse_timestamp("2024-05-01T12:00:00"), None);
    }

    #[test]
    fn durations_read_like_the_github_ui() {
        assert_eq!(format_duration_secs(32), "32s");
        assert_eq!(format_duration_secs(252), "4m12s");
        assert_eq!(format_duration_secs(3723), "1h02m03s");
    }

    fn job(id: u64, name: &str, conclusion: Option<&str>, steps: &[(&str, &str)]) -> WireJob {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "name": name,
            "status": if conclusion.is_some() { "completed" } else { "in_progress" },
            "conclusion": conclusion,
            "started_at": "2024-05-01T12:00:00Z",
            "completed_at": conclusion.map(|_| "2024-05-01T12:04:12Z"),
            "steps": steps.iter().map(|(name, conclusion)| serde_json::json!({
                "name": name, "status": "completed", "conclusion": conclusion, "number": 1
            })).collect::<Vec<_>>()
        }))
        .unwrap()
    }

    #[test]
    fn failed_jobs_come_first_with_their_failed_steps() {
        let jobs = [
            job(1, "fmt", Some("success"), &[("Run cargo fmt", "success")]),
            job(
                2,
                "build (linux)",
                Some("failure"),
                &[
                    ("Checkout", "success"),
                    ("Build", "failure"),
                    ("Test", "skipped"),
                ],
            ),
            job(3, "bench", None, &[]),
            job(4, "integration", Some("timed_out"), &[("Run", "cancelled")]),
        ];
        expect![[r#"
            run 7: 4 jobs, 2 failed
            FAILED job 2 "build (linux)" completed/failure 4m12s, failed step: "Build"
            TIMED OUT job 4 "integration" completed/timed_out 4m12s, failed step: "Run"
            passed job 1 "fmt" completed/success 4m12s
            in_progress job 3 "bench" in_progress -
            next: read_job_log with a job_id shows the end of its log; add grep (a regex) or start_line/end_line for other parts
        "#]]
        .assert_eq(&format_jobs(7, &jobs, Some(4)));
    }
}

//! `sql_query`: one read-only SQL statement against the SQLite database named in
//! `[tools.sql_query]`.
//!
//! Read-only, in layers:
//!
//! 1. the database path resolves inside the workspace ([`crate::path::resolve_in_workspace`],
//!    symlinks included) and must be an existing regular file, opened beneath the root;
//! 2. SQLite opens it with `SQLITE_OPEN_READ_ONLY` (never `CREATE`, no URI names), then
//!    `PRAGMA query_only = ON`, and a limit of 0 attached databases (no `ATTACH` of
//!    another file);
//! 3. an authorizer refuses, while the statement is compiled, every write (`INSERT`,
//!    `UPDATE`, `DELETE`, `CREATE`, `DROP`, `ALTER`, `REINDEX`, `ANALYZE`), transactions,
//!    `ATTACH`/`DETACH`, `load_extension()` and any `PRAGMA` that sets a value (only
//!    schema-reading pragmas such as `table_info(t)` take an argument);
//! 4. a statement SQLite does not call read-only (`VACUUM INTO`…) is refused before it
//!    runs.
//!
//! One statement per call (a second one is an error, not ignored). Rows past `max_rows`
//! are counted, not shown; a progress handler stops the statement at the time limit.
//! The work runs on tokio's blocking pool.
//!
//! Output is JSON lines: `columns: [...]`, then one JSON array per row, then a count line.
//! Text longer than [`SQL_MAX_CELL_CHARS`] characters is cut; blobs are shown as
//! `"<blob: N bytes>"`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rein_spec::spec::SqlQuerySpec;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use serde::Deserialize;

use super::{parse_arguments, run_blocking};
use crate::{Tool, ToolContext, ToolError, ToolOutput};

const NAME: &str = "sql_query";

/// Characters of one text cell shown; the rest is cut and counted.
pub const SQL_MAX_CELL_CHARS: usize = 1000;

/// Pragmas that only read the schema or the file: they may take an argument (a table
/// name); every other pragma runs only without a value.
const READING_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
];

/// Runs one read-only SQL statement on the configured SQLite database.
#[derive(Debug)]
pub struct SqlQueryTool {
    /// Relative to the workspace.
    database: String,
    max_rows: usize,
    timeout: Duration,
}

impl SqlQueryTool {
    /// Checks `[tools.sql_query]`: a relative database path, `max_rows` and `timeout`
    /// above 0.
    pub fn new(spec: &SqlQuerySpec) -> Result<SqlQueryTool, ToolError> {
        let declaration = |message: String| ToolError::InvalidDeclaration {
            tool: NAME.to_owned(),
            message,
        };
        if spec.database.is_empty() || std::path::Path::new(&spec.database).is_absolute() {
            return Err(declaration(format!(
                "database `{}` must be a path relative to the workspace root",
                spec.database
            )));
        }
        if spec.max_rows == 0 {
            return Err(declaration("max_rows must be more than 0".to_owned()));
        }
        if spec.timeout.is_zero() {
            return Err(declaration("timeout must be more than 0".to_owned()));
        }
        Ok(SqlQueryTool {
            database: spec.database.clone(),
            max_rows: spec.max_rows,
            timeout: spec.timeout,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Arguments {
    query: String,
    #[serde(default)]
    params: Vec<serde_json::Value>,
}

fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::json!({
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "minLength": 1,
                    "description": "One SQLite statement that reads: SELECT, WITH … SELECT, or a pragma that reads (PRAGMA table_info(t)). Use `?` or `?1` for parameters."
                },
                "params": {
                    "type": "array",
                    "items": {"type": ["string", "number", "boolean", "null"]},
                    "description": "Values of the `?` parameters, in order. Booleans are 1 and 0."
                }
            },
            "required": ["query"],
            "additionalProperties": false
        })
    })
}

#[async_trait::async_trait]
impl Tool for SqlQueryTool {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Run one read-only SQL statement (SQLite) on the project's database and return the rows as JSON lines: a `columns:` line, then one JSON array per row. Writes, schema changes, ATTACH and setting pragmas are refused. At most max_rows rows are shown; the rest are counted."
    }

    fn input_schema(&self) -> &serde_json::Value {
        schema()
    }

    async fn call(
        &self,
        arguments: serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let arguments: Arguments = parse_arguments(NAME, arguments)?;
        let workspace = ctx.workspace.clone();
        let database = self.database.clone();
        let max_rows = self.max_rows;
        let timeout = self.timeout.min(ctx.timeout);
        run_blocking(NAME, move || {
            let resolved = crate::path::resolve_in_workspace(&workspace, &database)?;
            let file = crate::path::open_read(&resolved)?;
            let metadata = file
                .metadata()
                .map_err(ToolError::io("inspect", &resolved.display))?;
            if !metadata.is_file() {
                return Err(ToolError::InvalidInput {
                    message: format!("database `{}` is not a file", resolved.display),
                });
            }
            let connection = open_read_only(&resolved.absolute, &resolved.display)?;
            let denial = Arc::new(Mutex::new(None));
            let mut connection = guard_connection(connection, &denial, timeout)?;
            let output = run_query(&mut connection, &arguments, max_rows, &denial, timeout);
            drop(file);
            output.map(ToolOutput::text)
        })
        .await
    }
}

fn sql_error(message: String) -> ToolError {
    ToolError::InvalidInput { message }
}

fn open_read_only(path: &std::path::Path, display: &str) -> Result<Connection, ToolError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags).map_err(|error| {
        sql_error(format!(
            "cannot open database `{display}` read-only: {error}"
        ))
    })?;
    connection
        .set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)
        .map_err(|error| sql_error(format!("cannot limit attached databases: {error}")))?;
    connection
        .pragma_update(None, "query_only", true)
        .map_err(|error| {
            sql_error(format!(
                "cannot open database `{display}`: PRAGMA query_only failed: {error}"
            ))
        })?;
    Ok(connection)
}

/// Installs the authorizer (which records why it refused) and the time limit.
fn guard_connection(
    mut connection: Connection,
    denial: &Arc<Mutex<Option<String>>>,
    timeout: Duration,
) -> Result<Connection, ToolError> {
    let record = Arc::clone(denial);
    connection
        .authorizer(Some(move |context: AuthContext<'_>| {
            match refusal(&context.action) {
                None => Authorization::Allow,
                Some(reason) => {
                    if let Ok(mut slot) = record.lock()
                        && slot.is_none()
                    {
                        *slot = Some(reason);
                    }
                    Authorization::Deny
                }
            }
        }))
        .map_err(|error| sql_error(format!("cannot install the SQL authorizer: {error}")))?;
    let deadline = Instant::now() + timeout;
    connection
        .progress_handler(1000, Some(move || Instant::now() >= deadline))
        .map_err(|error| sql_error(format!("cannot install the SQL time limit: {error}")))?;
    Ok(connection)
}

/// Why an action is refused, or `None` when a read-only query may do it.
fn refusal(action: &AuthAction<'_>) -> Option<String> {
    Some(match action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => return None,
        AuthAction::Function { function_name } => {
            if function_name.eq_ignore_ascii_case("load_extension") {
                "call load_extension()".to_owned()
            } else {
                return None;
            }
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            let reads = READING_PRAGMAS
                .iter()
                .any(|name| name.eq_ignore_ascii_case(pragma_name));
            match pragma_value {
                None => return None,
                Some(_) if reads => return None,
                Some(value) => format!("set PRAGMA {pragma_name} = {value}"),
            }
        }
        AuthAction::Insert { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::Delete { table_name }
            if is_schema_table(table_name) =>
        {
            "change the schema (CREATE, DROP)".to_owned()
        }
        AuthAction::Insert { table_name } => format!("INSERT into `{table_name}`"),
        AuthAction::Update { table_name, .. } => format!("UPDATE `{table_name}`"),
        AuthAction::Delete { table_name } => format!("DELETE from `{table_name}`"),
        AuthAction::Attach { .. } => "ATTACH another database".to_owned(),
        AuthAction::Detach { .. } => "DETACH a database".to_owned(),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
            "control a transaction".to_owned()
        }
        AuthAction::CreateIndex { .. }
        | AuthAction::CreateTable { .. }
        | AuthAction::CreateTempIndex { .. }
        | AuthAction::CreateTempTable { .. }
        | AuthAction::CreateTempTrigger { .. }
        | AuthAction::CreateTempView { .. }
        | AuthAction::CreateTrigger { .. }
        | AuthAction::CreateView { .. }
        | AuthAction::CreateVtable { .. } => "CREATE a schema object".to_owned(),
        AuthAction::DropIndex { .. }
        | AuthAction::DropTable { .. }
        | AuthAction::DropTempIndex { .. }
        | AuthAction::DropTempTable { .. }
        | AuthAction::DropTempTrigger { .. }
        | AuthAction::DropTempView { .. }
        | AuthAction::DropTrigger { .. }
        | AuthAction::DropView { .. }
        | AuthAction::DropVtable { .. } => "DROP a schema object".to_owned(),
        AuthAction::AlterTable { table_name, .. } => format!("ALTER TABLE `{table_name}`"),
        AuthAction::Reindex { .. } => "REINDEX".to_owned(),
        AuthAction::Analyze { .. } => "ANALYZE".to_owned(),
        _ => "do something sql_query does not allow".to_owned(),
    })
}

/// SQLite's schema tables, written by `CREATE` and `DROP`.
fn is_schema_table(table_name: &str) -> bool {
    [
        "sqlite_master",
        "sqlite_schema",
        "sqlite_temp_master",
        "sqlite_temp_schema",
    ]
    .iter()
    .any(|name| name.eq_ignore_ascii_case(table_name))
}

fn read_only_refusal(what: &str) -> ToolError {
    sql_error(format!(
        "sql_query is read-only: the statement would {what}\nhint: only statements that read run here (SELECT, WITH … SELECT, PRAGMA table_info(t))"
    ))
}

/// Maps a rusqlite error to what the model should read.
fn query_error(
    error: rusqlite::Error,
    denial: &Arc<Mutex<Option<String>>>,
    timeout: Duration,
) -> ToolError {
    if let Some(reason) = denial.lock().ok().and_then(|mut slot| slot.take()) {
        return read_only_refusal(&reason);
    }
    match &error {
        rusqlite::Error::MultipleStatement => sql_error(
            "`query` holds more than one SQL statement; sql_query runs exactly one per call"
                .to_owned(),
        ),
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::OperationInterrupted =>
        {
            sql_error(format!(
                "the query ran longer than {} and was stopped\nhint: add a LIMIT or a narrower WHERE",
                super::http_request::format_duration(timeout)
            ))
        }
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == ErrorCode::ReadOnly => {
            read_only_refusal("write to the database")
        }
        _ => sql_error(format!("SQL error: {error}")),
    }
}

fn run_query(
    connection: &mut Connection,
    arguments: &Arguments,
    max_rows: usize,
    denial: &Arc<Mutex<Option<String>>>,
    timeout: Duration,
) -> Result<String, ToolError> {
    if arguments.query.trim().is_empty() {
        return Err(sql_error("`query` holds no SQL statement".to_owned()));
    }
    let mut statement = connection
        .prepare(&arguments.query)
        .map_err(|error| match error {
            rusqlite::Error::Empty => {
                sql_error("`query` holds no SQL statement (only blanks or comments)".to_owned())
            }
            other => query_error(other, denial, timeout),
        })?;
    if !statement.readonly() {
        return Err(read_only_refusal("change a database file"));
    }
    let expected = statement.parameter_count();
    if expected != arguments.params.len() {
        return Err(sql_error(format!(
            "the query has {expected} parameter(s) but {} value(s) were given in `params`",
            arguments.params.len()
        )));
    }
    for (index, value) in arguments.params.iter().enumerate() {
        let value = sql_value(value).ok_or_else(|| {
            sql_error(format!(
                "params[{index}] is an array or an object; parameters are strings, numbers, booleans or null"
            ))
        })?;
        statement
            .raw_bind_parameter(index + 1, value)
            .map_err(|error| query_error(error, denial, timeout))?;
    }
    let columns: Vec<String> = statement
        .column_names()
        .map(|name| name.to_owned())
        .collect();
    let mut out = format!("columns: {}\n", serde_json::Value::from(columns.clone()));
    let mut rows = statement.raw_query();
    let mut n_shown: usize = 0;
    let mut n_more: u64 = 0;
    while let Some(row) = rows
        .next()
        .map_err(|error| query_error(error, denial, timeout))?
    {
        if n_shown == max_rows {
            n_more += 1;
            continue;
        }
        let mut cells = Vec::with_capacity(columns.len());
        for index in 0..columns.len() {
            let cell = row
                .get_ref(index)
                .map_err(|error| query_error(error, denial, timeout))?;
            cells.push(cell_json(cell));
        }
        out.push_str(&serde_json::Value::Array(cells).to_string());
        out.push('\n');
        n_shown += 1;
    }
    if n_more > 0 {
        out.push_str(&format!(
            "{n_shown} rows shown; {n_more} more rows not shown (max_rows = {max_rows})\n"
        ));
    } else {
        out.push_str(&format!("{n_shown} rows\n"));
    }
    Ok(out)
}

fn sql_value(value: &serde_json::Value) -> Option<rusqlite::types::Value> {
    use rusqlite::types::Value;
    Some(match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(flag) => Value::Integer(i64::from(*flag)),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(integer) => Value::Integer(integer),
            None => Value::Real(number.as_f64()?),
        },
        serde_json::Value::String(text) => Value::Text(text.clone()),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => return None,
    })
}

fn cell_json(cell: ValueRef<'_>) -> serde_json::Value {
    match cell {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(integer) => serde_json::Value::from(integer),
        ValueRef::Real(real) => serde_json::Number::from_f64(real)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        ValueRef::Text(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let n_chars = text.chars().count();
            if n_chars > SQL_MAX_CELL_CHARS {
                let head: String = text.chars().take(SQL_MAX_CELL_CHARS).collect();
                serde_json::Value::String(format!(
                    "{head}…[{} more characters cut]",
                    n_chars - SQL_MAX_CELL_CHARS
                ))
            } else {
                serde_json::Value::String(text.into_owned())
            }
        }
        ValueRef::Blob(bytes) => {
            serde_json::Value::String(format!("<blob: {} bytes>", bytes.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_setting_pragmas_are_refused_reads_allowed() {
        assert_eq!(refusal(&AuthAction::Select), None);
        assert_eq!(
            refusal(&AuthAction::Pragma {
                pragma_name: "table_info",
                pragma_value: Some("t")
            }),
            None
        );
        assert_eq!(
            refusal(&AuthAction::Pragma {
                pragma_name: "query_only",
                pragma_value: Some("0")
            }),
            Some("set PRAGMA query_only = 0".to_owned())
        );
        assert_eq!(
            refusal(&AuthAction::Insert { table_name: "t" }),
            Some("INSERT into `t`".to_owned())
        );
        assert_eq!(
            refusal(&AuthAction::Function {
                function_name: "load_extension"
            }),
            Some("call load_extension()".to_owned())
        );
    }

    #[test]
    fn cells_become_json() {
        assert_eq!(cell_json(ValueRef::Integer(3)), serde_json::json!(3));
        assert_eq!(cell_json(ValueRef::Real(f64::NAN)), serde_json::Value::Null);
        assert_eq!(
            cell_json(ValueRef::Blob(&[1, 2, 3])),
            serde_json::json!("<blob: 3 bytes>")
        );
        let long = "é".repeat(SQL_MAX_CELL_CHARS + 2);
        let shown = cell_json(ValueRef::Text(long.as_bytes()));
        assert!(
            shown
                .as_str()
                .unwrap()
                .ends_with("…[2 more characters cut]")
        );
    }
}

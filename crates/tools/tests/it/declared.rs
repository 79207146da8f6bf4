//! Declared tools: `[[tools.command]]` against argument injection (the argv the process
//! received is asserted: `printf '<%s>\n'` prints each argument on its own line), working
//! directories, env, limits; `[[tools.http]]` against a server on 127.0.0.1 port 0
//! (templating, encoding, secret headers, JSON Pointer extraction, size limit, the network
//! guard). Also the shared loopback server and guard used by `slack.rs`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rein_spec::spec::{CommandToolSpec, DashValues, HttpToolSpec};
use rein_tools::declared::{CommandTool, HttpTool};
use rein_tools::{NetworkGuard, OutcomeKind, Tool, ToolAction, ToolOutcome, Toolbox};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::{context, render};

// ---------------------------------------------------------------- shared test fixtures

/// Allows exactly the listed addresses (IP literals only); records every question.
#[derive(Debug, Default)]
pub struct AddressGuard {
    allowed: Vec<IpAddr>,
    pub asked: Mutex<Vec<String>>,
}

impl AddressGuard {
    pub fn new(allowed: &[&str]) -> Arc<AddressGuard> {
        Arc::new(AddressGuard {
            allowed: allowed.iter().map(|ip| ip.parse().unwrap()).collect(),
            asked: Mutex::new(Vec::new()),
        })
    }
}

impl NetworkGuard for AddressGuard {
    fn check_host(&self, host: &str) -> Result<(), String> {
        self.asked.lock().unwrap().push(format!("host {host}"));
        match host.parse::<IpAddr>() {
            Ok(ip) if self.allowed.contains(&ip) => Ok(()),
            _ => Err(format!("`{host}` is not listed [test guard]")),
        }
    }

    fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        self.asked
            .lock()
            .unwrap()
            .push(format!("address {host} {ip}"));
        if self.allowed.contains(&ip) {
            Ok(())
        } else {
            Err(format!("{ip} is not listed [test guard]"))
        }
    }

    fn check_request(&self, _request: &rein_tools::OutboundRequest<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// One request as the test server read it.
#[derive(Debug)]
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// A server on 127.0.0.1 port 0 answering each request with `respond(request)` (raw
/// bytes, then the connection is closed); each request goes to the returned receiver.
pub async fn serve(
    respond: impl Fn(&Received) -> Vec<u8> + Send + Sync + 'static,
) -> (SocketAddr, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (sender, receiver) = mpsc::unbounded_channel();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let respond = Arc::clone(&respond);
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(position) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                        break position;
                    }
                    let n_read = stream.read(&mut chunk).await.unwrap();
                    if n_read == 0 {
                        return;
                    }
                    buffer.extend_from_slice(&chunk[..n_read]);
                };
                let mut received = Received {
                    head: String::from_utf8(buffer[..head_end].to_vec()).unwrap(),
                    body: buffer[head_end + 4..].to_vec(),
                };
                let length: usize = received
                    .header("content-length")
                    .map(|value| value.parse().unwrap())
                    .unwrap_or(0);
                while received.body.len() < length {
                    let n_read = stream.read(&mut chunk).await.unwrap();
                    if n_read == 0 {
                        break;
                    }
                    received.body.extend_from_slice(&chunk[..n_read]);
                }
                let response = respond(&received);
                let _ = sender.send(received);
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, receiver)
}

/// A raw HTTP/1.1 response.
pub fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

// ---------------------------------------------------------------- command tools

const PRINT_ARGV: &[&str] = &["printf", "<%s>\\n"];

fn command_spec(extra_argv: &[&str], dash_values: DashValues) -> CommandToolSpec {
    CommandToolSpec {
        name: "print_args".to_owned(),
        description: "prints its arguments".to_owned(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "value": {"type": "string"},
                "number": {"type": "number"},
                "files": {"type": "array", "items": {"type": "string"}}
            },
            "additionalProperties": false
        }),
        argv: PRINT_ARGV
            .iter()
            .chain(extra_argv)
            .map(|word| (*word).to_owned())
            .collect(),
        timeout: Duration::from_secs(20),
        output_limit: 64 * 1024,
        working_dir: ".".to_owned(),
        env: BTreeMap::new(),
        dash_values,
    }
}

fn toolbox(tool: Arc<dyn Tool>) -> Toolbox {
    Toolbox::new(vec![tool], 256 * 1024).unwrap()
}

async fn run_command(spec: &CommandToolSpec, workspace: &Path, args: serde_json::Value) -> String {
    let tool = Arc::new(CommandTool::new(spec).unwrap());
    render(
        &toolbox(tool)
            .invoke(&spec.name, &args.to_string(), &context(workspace))
            .await,
    )
}

/// Each injection attempt, through the toolbox, with the argv `printf` received (or the
/// refusal): `["{{ value }}"]` and dash values refused.
#[tokio::test]
async fn injection_attempts_are_refused_or_arrive_as_one_inert_argument() {
    let dir = tempfile::tempdir().unwrap();
    let spec = command_spec(&["{{ value }}"], DashValues::Refuse);
    let cases: &[(&str, &str)] = &[
        (
            "--upload-pack=evil",
            "ToolFailed error\nthe value `--upload-pack=evil` of `value` starts with `-`, so the program could read it as an option; tool `print_args` refuses such values\nhint: pass a value that does not start with `-`",
        ),
        (
            "-rf",
            "ToolFailed error\nthe value `-rf` of `value` starts with `-`, so the program could read it as an option; tool `print_args` refuses such values\nhint: pass a value that does not start with `-`",
        ),
        (
            "; rm -rf /",
            "Ok exit=0\nexit code: 0\n--- stdout ---\n<; rm -rf />\n",
        ),
        (
            "$(id)",
            "Ok exit=0\nexit code: 0\n--- stdout ---\n<$(id)>\n",
        ),
        ("`id`", "Ok exit=0\nexit code: 0\n--- stdout ---\n<`id`>\n"),
        (
            "a b  'c' \"d\" * ~ && |",
            "Ok exit=0\nexit code: 0\n--- stdout ---\n<a b  'c' \"d\" * ~ && |>\n",
        ),
        (
            "{{ value }}",
            "Ok exit=0\nexit code: 0\n--- stdout ---\n<{{ value }}>\n",
        ),
        (
            "ok\n--upload-pack=evil",
            "ToolFailed error\nthe value of `value` contains a line break; command argument values must be one line",
        ),
        (
            "ok\r-x",
            "ToolFailed error\nthe value of `value` contains a line break; command argument values must be one line",
        ),
        (
            "nul\u{0}byte",
            "ToolFailed error\nthe value of `value` contains a NUL byte, which a command argument cannot hold",
        ),
    ];
    for (value, expected) in cases {
        let got = run_command(&spec, dir.path(), json!({"value": value})).await;
        assert_eq!(&got, expected, "value {value:?}");
    }
    // Nothing the values named was created or run in the workspace.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn very_long_values_are_refused_and_long_ones_pass_whole() {
    let dir = tempfile::tempdir().unwrap();
    let spec = command_spec(&["{{ value }}"], DashValues::Refuse);
    let too_long = "x".repeat(rein_tools::declared::COMMAND_MAX_VALUE_BYTES + 1);
    assert_eq!(
        run_command(&spec, dir.path(), json!({"value": too_long})).await,
        format!(
            "ToolFailed error\nthe value of `value` is {} bytes; a command argument value may have at most {}",
            rein_tools::declared::COMMAND_MAX_VALUE_BYTES + 1,
            rein_tools::declared::COMMAND_MAX_VALUE_BYTES
        )
    );
    let long = "y".repeat(rein_tools::declared::COMMAND_MAX_VALUE_BYTES);
    assert_eq!(
        run_command(&spec, dir.path(), json!({"value": long})).await,
        format!("Ok exit=0\nexit code: 0\n--- stdout ---\n<{long}>\n")
    );
}

#[tokio::test]
async fn dash_values_allowed_stay_one_argument_after_the_separator() {
    let dir = tempfile::tempdir().unwrap();
    let spec = command_spec(
        &["--", "{{ value }}", "--name={{ value }}"],
        DashValues::Allow,
    );
    assert_eq!(
        run_command(&spec, dir.path(), json!({"value": "--upload-pack=evil x"})).await,
        "Ok exit=0\nexit code: 0\n--- stdout ---\n<-->\n<--upload-pack=evil x>\n<--name=--upload-pack=evil x>\n"
    );
}

#[tokio::test]
async fn arrays_give_one_argument_per_item_only_as_a_whole_element() {
    let dir = tempfile::tempdir().unwrap();
    let spec = command_spec(&["{{ files }}", "n={{ number }}"], DashValues::Refuse);
    assert_eq!(
        run_command(
            &spec,
            dir.path(),
            json!({"files": ["a b", "$(id)", ""], "number": 2.5})
        )
        .await,
        "Ok exit=0\nexit code: 0\n--- stdout ---\n<a b>\n<$(id)>\n<>\n<n=2.5>\n"
    );
    assert_eq!(
        run_command(
            &spec,
            dir.path(),
            json!({"files": ["ok", "-rf"], "number": 1})
        )
        .await,
        "ToolFailed error\nthe value `-rf` of `files` starts with `-`, so the program could read it as an option; tool `print_args` refuses such values\nhint: pass a value that does not start with `-`"
    );
    assert_eq!(
        run_command(&spec, dir.path(), json!({"files": ["a"]})).await,
        "ToolFailed error\nargument `number` is missing; argv element 3 `n={{ number }}` needs it\nhint: call the tool again with `number` set"
    );
    // The schema is checked first: an object where a string array is declared.
    let schema_refusal =
        run_command(&spec, dir.path(), json!({"files": [{"a": 1}], "number": 1})).await;
    assert!(
        schema_refusal
            .starts_with("InvalidArguments error\ninvalid arguments for tool `print_args`"),
        "{schema_refusal}"
    );
}

#[tokio::test]
async fn the_policy_sees_the_exact_command_line_shell_quoted() {
    let spec = command_spec(&["{{ value }}"], DashValues::Refuse);
    let tool = Arc::new(CommandTool::new(&spec).unwrap());
    let toolbox = toolbox(tool);
    let call = toolbox
        .prepare("print_args", &json!({"value": "it's $(id); x"}).to_string())
        .unwrap();
    assert_eq!(
        call.actions,
        vec![ToolAction::Command(
            r#"printf '<%s>\n' 'it'\''s $(id); x'"#.to_owned()
        )]
    );
}

#[tokio::test]
async fn working_dir_env_and_output_limit_apply() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let mut spec = command_spec(&[], DashValues::Refuse);
    spec.argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        "pwd; printf '%s\\n' \"$GREETING\"".to_owned(),
    ];
    spec.working_dir = "sub".to_owned();
    spec.env = BTreeMap::from([("GREETING".to_owned(), "from the spec".to_owned())]);
    let canonical_sub = std::fs::canonicalize(dir.path().join("sub")).unwrap();
    assert_eq!(
        run_command(&spec, dir.path(), json!({})).await,
        format!(
            "Ok exit=0\nexit code: 0\n--- stdout ---\n{}\nfrom the spec\n",
            canonical_sub.display()
        )
    );

    let mut spec = command_spec(&[], DashValues::Refuse);
    spec.argv = vec!["seq".to_owned(), "1".to_owned(), "5000".to_owned()];
    spec.output_limit = 300;
    let output = run_command(&spec, dir.path(), json!({})).await;
    let content = output.split_once('\n').unwrap().1;
    assert!(content.len() <= 300, "{} bytes", content.len());
    assert!(content.contains("bytes cut"), "{content}");
    assert!(
        content.starts_with("exit code: 0\n--- stdout ---\n1\n2\n"),
        "{content}"
    );
    assert!(content.ends_with("4999\n5000\n"), "{content}");
}

#[tokio::test]
async fn working_dir_outside_the_workspace_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for working_dir in ["..", "a/../../b", "/tmp"] {
        let mut spec = command_spec(&[], DashValues::Refuse);
        spec.working_dir = working_dir.to_owned();
        let error = CommandTool::new(&spec).unwrap_err().to_string();
        assert!(
            error.starts_with("tool `print_args` is declared wrong: working_dir"),
            "{error}"
        );
    }
    // A symlink that leaves the workspace is caught at call time.
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
    let mut spec = command_spec(&["x"], DashValues::Refuse);
    spec.working_dir = "escape".to_owned();
    let got = run_command(&spec, dir.path(), json!({})).await;
    assert!(
        got.starts_with("ToolFailed error\npath `escape` goes through the symlink `escape`"),
        "{got}"
    );
}

#[tokio::test]
async fn the_timeout_is_the_smaller_of_the_tools_and_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = command_spec(&[], DashValues::Refuse);
    spec.argv = vec!["sleep".to_owned(), "30".to_owned()];
    spec.timeout = Duration::from_secs(1);
    assert_eq!(
        run_command(&spec, dir.path(), json!({})).await,
        "Ok error\ntimed out after 1s: the command and every process it started were killed\n(no output)\n"
    );
}

// ---------------------------------------------------------------- HTTP tools

fn http_spec(addr: SocketAddr, url_path: &str) -> HttpToolSpec {
    HttpToolSpec {
        name: "items_api".to_owned(),
        description: "an API".to_owned(),
        input_schema: json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "q": {"type": "string"},
                "labels": {"type": "array", "items": {"type": "string"}}
            },
            "required": ["id"]
        }),
        method: "POST".to_owned(),
        url: format!("http://{addr}{url_path}"),
        headers: BTreeMap::from([(
            "authorization".to_owned(),
            "Bearer SECRET-TOKEN-123".to_owned(),
        )]),
        body: Some(json!({"title": "Item {{ id }}", "labels": "{{ labels }}", "fixed": [1, true]})),
        max_bytes: 64 * 1024,
        timeout: Duration::from_secs(20),
        extract: None,
    }
}

async fn run_http(
    spec: &HttpToolSpec,
    guard: Option<Arc<AddressGuard>>,
    args: serde_json::Value,
) -> ToolOutcome {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path());
    ctx.network = guard.map(|guard| guard as Arc<dyn NetworkGuard>);
    let tool = Arc::new(HttpTool::new(spec).unwrap());
    toolbox(tool)
        .invoke(&spec.name, &args.to_string(), &ctx)
        .await
}

fn with_port(text: &str, addr: SocketAddr) -> String {
    text.replace(&addr.port().to_string(), "PORT")
}

#[tokio::test]
async fn http_tool_fills_encodes_sends_secret_headers_and_never_shows_them() {
    let (addr, mut received) =
        serve(|_| response("200 OK", "application/json", br#"{"ok":true}"#)).await;
    let spec = http_spec(addr, "/items/{{ id }}?q={{ q }}");
    let args = json!({"id": "a/b c?#", "q": "x&y=1", "labels": ["bug", "p1"]});
    let tool = HttpTool::new(&spec).unwrap();
    let actions = tool.actions(&args);
    assert_eq!(
        actions,
        vec![ToolAction::Network(format!(
            "http://{addr}/items/a%2Fb%20c%3F%23?q=x%26y%3D1"
        ))]
    );
    assert!(!format!("{tool:?}").contains("SECRET-TOKEN"));

    let outcome = run_http(&spec, Some(AddressGuard::new(&["127.0.0.1"])), args).await;
    assert_eq!(
        render(&outcome),
        "Ok\nHTTP/1.1 200 OK\ncontent-type: application/json\ncontent-length: 11\n\n{\"ok\":true}\n"
    );
    let request = received.recv().await.unwrap();
    assert_eq!(
        request.request_line(),
        "POST /items/a%2Fb%20c%3F%23?q=x%26y%3D1 HTTP/1.1"
    );
    assert_eq!(
        request.header("authorization").as_deref(),
        Some("Bearer SECRET-TOKEN-123")
    );
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        String::from_utf8(request.body).unwrap(),
        r#"{"fixed":[1,true],"labels":["bug","p1"],"title":"Item a/b c?#"}"#
    );
    assert!(!outcome.content.contains("SECRET-TOKEN"));
}

#[tokio::test]
async fn http_tool_extracts_a_json_pointer() {
    let (addr, _received) = serve(|_| {
        response(
            "200 OK",
            "application/json",
            br#"{"data":{"items":[{"name":"first","n":1},{"name":"second"}]}}"#,
        )
    })
    .await;
    let mut spec = http_spec(addr, "/items/{{ id }}");
    spec.extract = Some("/data/items/0".to_owned());
    let guard = AddressGuard::new(&["127.0.0.1"]);
    let outcome = run_http(&spec, Some(guard.clone()), json!({"id": "1"})).await;
    assert_eq!(
        render(&outcome),
        "Ok\nHTTP/1.1 200 OK\n\n{\n  \"n\": 1,\n  \"name\": \"first\"\n}\n"
    );
    spec.extract = Some("/data/missing".to_owned());
    let outcome = run_http(&spec, Some(guard), json!({"id": "1"})).await;
    assert_eq!(
        render(&outcome),
        "ToolFailed error\nthe JSON response has no value at `/data/missing` (extract)"
    );
}

#[tokio::test]
async fn http_tool_cuts_the_response_at_max_bytes() {
    let (addr, _received) = serve(|_| response("200 OK", "text/plain", &[b'z'; 5000])).await;
    let mut spec = http_spec(addr, "/{{ id }}");
    spec.max_bytes = 10;
    let guard = AddressGuard::new(&["127.0.0.1"]);
    let outcome = run_http(&spec, Some(guard.clone()), json!({"id": "1"})).await;
    assert_eq!(
        render(&outcome),
        "Ok\nHTTP/1.1 200 OK\ncontent-type: text/plain\ncontent-length: 5000\n\nzzzzzzzzzz\n[body cut at 10 bytes (max_bytes); the rest was not read]\n"
    );
    spec.extract = Some("/a".to_owned());
    let outcome = run_http(&spec, Some(guard), json!({"id": "1"})).await;
    assert_eq!(
        render(&outcome),
        "ToolFailed error\nthe response is longer than max_bytes (10), so extract `/a` cannot be applied\nhint: the tool's max_bytes must be raised in the agent file"
    );
}

#[tokio::test]
async fn http_tool_is_refused_by_the_guard_before_connecting() {
    let (addr, mut received) = serve(|_| response("200 OK", "text/plain", b"no")).await;
    let spec = http_spec(addr, "/items/{{ id }}");
    let refused = run_http(&spec, Some(AddressGuard::new(&[])), json!({"id": "1"})).await;
    assert_eq!(refused.kind, OutcomeKind::ToolFailed);
    assert_eq!(
        with_port(&refused.content, addr),
        "host `127.0.0.1` is not allowed: `127.0.0.1` is not listed [test guard]"
    );
    let no_rules = run_http(&spec, None, json!({"id": "1"})).await;
    assert_eq!(
        no_rules.content,
        "no network rules: items_api is not allowed"
    );
    let dot = run_http(
        &spec,
        Some(AddressGuard::new(&["127.0.0.1"])),
        json!({"id": ".."}),
    )
    .await;
    assert_eq!(
        with_port(&dot.content, addr),
        "the filled url `http://127.0.0.1:PORT/items/..` has a `.` or `..` path segment; a value may not move the request to another path"
    );
    assert!(received.try_recv().is_err(), "nothing reached the server");
}

#[tokio::test]
async fn http_tool_errors_from_the_server_are_shown_without_extraction() {
    let (addr, _received) = serve(|_| {
        response(
            "404 Not Found",
            "application/json",
            br#"{"error":"no item"}"#,
        )
    })
    .await;
    let mut spec = http_spec(addr, "/items/{{ id }}");
    spec.extract = Some("/data".to_owned());
    let outcome = run_http(
        &spec,
        Some(AddressGuard::new(&["127.0.0.1"])),
        json!({"id": "9"}),
    )
    .await;
    assert_eq!(
        render(&outcome),
        "Ok error\nHTTP/1.1 404 Not Found\ncontent-type: application/json\ncontent-length: 19\n\n{\"error\":\"no item\"}\n"
    );
}

/// Issue 10 item 6: a declared HTTP tool is held to the port and request rules like
/// `http_request` (the same guarded client): its POST to a host whose rule allows only GET
/// under `/items`, or to another port, never reaches the server.
#[tokio::test]
async fn http_tool_is_held_to_ports_and_request_rules() {
    let (addr, mut received) =
        serve(|_| response("200 OK", "application/json", br#"{"ok":true}"#)).await;
    let spec = http_spec(addr, "/items/{{ id }}");
    let run = |guard: Arc<crate::http::PolicyGuard>| {
        let spec = spec.clone();
        async move {
            let dir = tempfile::tempdir().unwrap();
            let mut ctx = context(dir.path());
            ctx.network = Some(guard as Arc<dyn NetworkGuard>);
            toolbox(Arc::new(HttpTool::new(&spec).unwrap()))
                .invoke(&spec.name, &json!({"id": "1"}).to_string(), &ctx)
                .await
        }
    };
    let rule = |methods: &[&str]| rein_policy::RequestRuleConfig {
        host: "127.0.0.1".to_owned(),
        methods: Some(methods.iter().map(|m| m.to_string()).collect()),
        path_prefixes: Some(vec!["/items".to_owned()]),
        ..rein_policy::RequestRuleConfig::default()
    };
    let port = format!("127.0.0.1:{}", addr.port());
    let other_port = format!("127.0.0.1:{}", addr.port().wrapping_add(1).max(1));
    let refused = run(crate::http::PolicyGuard::new(
        std::slice::from_ref(&port),
        vec![rule(&["GET"])],
    ))
    .await;
    assert!(
        refused.content.contains("POST is not allowed"),
        "{}",
        refused.content
    );
    let refused = run(crate::http::PolicyGuard::new(&[other_port], Vec::new())).await;
    assert!(
        refused.content.contains("is not allowed"),
        "{}",
        refused.content
    );
    assert!(
        received.try_recv().is_err(),
        "a refused request reached the server"
    );
    let ok = run(crate::http::PolicyGuard::new(
        &[port],
        vec![rule(&["POST"])],
    ))
    .await;
    assert!(ok.content.contains("{\"ok\":true}"), "{}", ok.content);
    assert!(
        received
            .recv()
            .await
            .unwrap()
            .head
            .starts_with("POST /items/1 ")
    );
}

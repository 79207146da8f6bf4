//! `http_request`: requests to tiny servers on 127.0.0.1 started by the test, the network
//! guard's checks (SSRF: loopback, metadata, a name resolving to loopback, redirects to
//! denied hosts and private addresses), size limits, schemes and bodies. No internet: every
//! refused target is refused before a connection is made.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use expect_test::expect;
use rein_tools::{NetworkGuard, OutcomeKind, ToolAction, ToolOutcome};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::{all_builtins, context, render};

/// A guard like the policy's: host names must be listed; an address must be public or
/// listed exactly. Records every question it was asked.
#[derive(Debug, Default)]
struct TestGuard {
    hosts: Vec<String>,
    addresses: Vec<IpAddr>,
    asked: Mutex<Vec<String>>,
}

impl TestGuard {
    fn new(hosts: &[&str], addresses: &[&str]) -> Arc<TestGuard> {
        Arc::new(TestGuard {
            hosts: hosts.iter().map(|host| (*host).to_owned()).collect(),
            addresses: addresses.iter().map(|ip| ip.parse().unwrap()).collect(),
            asked: Mutex::new(Vec::new()),
        })
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

fn class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) if ip.octets() == [169, 254, 169, 254] => Some("a cloud metadata address"),
        IpAddr::V4(ip) if ip.is_loopback() => Some("a loopback address"),
        IpAddr::V4(ip) if ip.is_private() => Some("a private address"),
        IpAddr::V4(ip) if ip.is_link_local() => Some("a link-local address"),
        IpAddr::V6(ip) if ip.is_loopback() => Some("a loopback address"),
        _ => None,
    }
}

impl NetworkGuard for TestGuard {
    fn check_host(&self, host: &str) -> Result<(), String> {
        self.asked.lock().unwrap().push(format!("host {host}"));
        if let Ok(ip) = host.parse::<IpAddr>() {
            if self.addresses.contains(&ip) {
                return Ok(());
            }
            return Err(match class(ip) {
                Some(class) => format!("{ip} is {class} [test: {class} refused]"),
                None => format!("{ip} is not listed [test: ip literals must be listed]"),
            });
        }
        if self.hosts.iter().any(|allowed| allowed == host) {
            Ok(())
        } else {
            Err(format!(
                "`{host}` is not in the allow list [test: allow_hosts]"
            ))
        }
    }

    fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        self.asked
            .lock()
            .unwrap()
            .push(format!("address {host} {ip}"));
        if self.addresses.contains(&ip) {
            return Ok(());
        }
        match class(ip) {
            Some(class) => Err(format!("{ip} is {class} [test: {class} refused]")),
            None => Ok(()),
        }
    }
    /// Ports, methods and paths are the policy's (tested with [`PolicyGuard`]).
    fn check_request(&self, _request: &rein_tools::OutboundRequest<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// One request as the test server read it.
#[derive(Debug)]
struct Received {
    head: String,
    body: Vec<u8>,
}

impl Received {
    fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

/// A server on 127.0.0.1 port 0 answering every connection with `respond(request)` (raw
/// bytes, the connection closed after); each request is sent to the returned receiver.
async fn serve(
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
                let head = String::from_utf8(buffer[..head_end].to_vec()).unwrap();
                let mut received = Received {
                    head,
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
                // The client may hang up once it has read enough (size limit).
                let _ = stream.write_all(&response).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, receiver)
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status}\r\nconnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

async fn request(guard: Option<Arc<TestGuard>>, arguments: serde_json::Value) -> ToolOutcome {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path());
    ctx.network = guard.map(|guard| guard as Arc<dyn NetworkGuard>);
    all_builtins()
        .invoke("http_request", &arguments.to_string(), &ctx)
        .await
}

/// The outcome with the server's random port replaced by `PORT`.
fn render_with_port(outcome: &ToolOutcome, addr: SocketAddr) -> String {
    render(outcome).replace(&addr.port().to_string(), "PORT")
}

#[tokio::test]
async fn get_succeeds_when_the_guard_lists_the_loopback_address() {
    let (addr, mut received) = serve(|_| {
        response(
            "200 OK",
            &[("content-type", "text/plain"), ("x-secret", "not shown")],
            b"hello\n",
        )
    })
    .await;
    let guard = TestGuard::new(&[], &["127.0.0.1"]);
    let outcome = request(
        Some(Arc::clone(&guard)),
        json!({"url": format!("http://{addr}/greeting?x=1"), "headers": {"x-trace": "abc"}}),
    )
    .await;
    expect![[r#"
        Ok
        HTTP/1.1 200 OK
        content-type: text/plain
        content-length: 6

        hello
    "#]]
    .assert_eq(&render_with_port(&outcome, addr));
    let seen = received.recv().await.unwrap();
    assert_eq!(seen.request_line(), "GET /greeting?x=1 HTTP/1.1");
    assert_eq!(seen.header("x-trace").as_deref(), Some("abc"));
    assert_eq!(seen.header("accept-encoding"), None);
    assert_eq!(
        guard.asked(),
        ["host 127.0.0.1", "address 127.0.0.1 127.0.0.1"]
    );
}

#[tokio::test]
async fn loopback_is_refused_when_the_guard_refuses_it_and_nothing_is_sent() {
    let (addr, mut received) = serve(|_| response("200 OK", &[], b"secret")).await;
    let outcome = request(
        Some(TestGuard::new(&[], &[])),
        json!({"url": format!("http://{addr}/admin")}),
    )
    .await;
    expect![[r#"
        ToolFailed error
        host `127.0.0.1` is not allowed: 127.0.0.1 is a loopback address [test: a loopback address refused]"#]]
    .assert_eq(&render(&outcome));
    assert!(received.try_recv().is_err(), "the server was reached");
}

#[tokio::test]
async fn loopback_spelled_oddly_is_still_loopback() {
    // `127.1` and `2130706433` are 127.0.0.1 to the URL parser; the guard sees the address.
    for url in ["http://127.1:9/", "http://2130706433:9/", "http://[::1]:9/"] {
        let guard = TestGuard::new(&[], &[]);
        let outcome = request(Some(Arc::clone(&guard)), json!({ "url": url })).await;
        assert_eq!(outcome.kind, OutcomeKind::ToolFailed, "{url}");
        assert!(
            outcome.content.contains("is a loopback address"),
            "{url}: {}",
            outcome.content
        );
        assert_eq!(guard.asked().len(), 1, "{url}: {:?}", guard.asked());
    }
}

#[tokio::test]
async fn cloud_metadata_is_refused_before_any_connection() {
    let guard = TestGuard::new(&["metadata.google.internal"], &[]);
    let outcome = request(
        Some(Arc::clone(&guard)),
        json!({"url": "http://169.254.169.254/latest/meta-data/iam/security-credentials/"}),
    )
    .await;
    expect![[r#"
        ToolFailed error
        host `169.254.169.254` is not allowed: 169.254.169.254 is a cloud metadata address [test: a cloud metadata address refused]"#]]
    .assert_eq(&render(&outcome));
    assert_eq!(guard.asked(), ["host 169.254.169.254"]);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_by_address() {
    let (addr, mut received) = serve(|_| response("200 OK", &[], b"secret")).await;
    let guard = TestGuard::new(&["localhost"], &[]);
    let outcome = request(
        Some(Arc::clone(&guard)),
        json!({"url": format!("http://localhost:{}/", addr.port())}),
    )
    .await;
    assert_eq!(outcome.kind, OutcomeKind::ToolFailed, "{}", outcome.content);
    assert!(
        outcome.content.starts_with("`localhost` resolved to ")
            && outcome.content.contains(", which is refused: ")
            && outcome.content.contains("is a loopback address"),
        "{}",
        outcome.content
    );
    let asked = guard.asked();
    assert_eq!(asked[0], "host localhost");
    assert!(
        asked[1].starts_with("address localhost "),
        "the resolved address was not checked: {asked:?}"
    );
    assert!(received.try_recv().is_err(), "the server was reached");
}

#[tokio::test]
async fn a_redirect_to_a_denied_host_is_refused() {
    let (addr, mut received) = serve(|_| {
        response(
            "302 Found",
            &[("location", "http://evil.example/steal")],
            b"",
        )
    })
    .await;
    let guard = TestGuard::new(&[], &["127.0.0.1"]);
    let outcome = request(
        Some(Arc::clone(&guard)),
        json!({"url": format!("http://{addr}/start")}),
    )
    .await;
    expect![[r#"
        ToolFailed error
        redirect from `http://127.0.0.1:PORT/start` to `http://evil.example/steal` refused: host `evil.example` is not allowed: `evil.example` is not in the allow list [test: allow_hosts]"#]]
    .assert_eq(&render_with_port(&outcome, addr));
    assert_eq!(
        received.recv().await.unwrap().request_line(),
        "GET /start HTTP/1.1"
    );
    assert_eq!(guard.asked().last().unwrap(), "host evil.example");
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused() {
    let (addr, _received) = serve(|received| {
        let location = if received.request_line().contains("/first") {
            "http://10.0.0.7/internal"
        } else {
            "http://169.254.169.254/latest/meta-data/"
        };
        response("307 Temporary Redirect", &[("location", location)], b"")
    })
    .await;
    let guard = TestGuard::new(&[], &["127.0.0.1"]);
    let private = request(
        Some(Arc::clone(&guard)),
        json!({"url": format!("http://{addr}/first")}),
    )
    .await;
    expect![[r#"
        ToolFailed error
        redirect from `http://127.0.0.1:PORT/first` to `http://10.0.0.7/internal` refused: host `10.0.0.7` is not allowed: 10.0.0.7 is a private address [test: a private address refused]"#]]
    .assert_eq(&render_with_port(&private, addr));
    let metadata = request(
        Some(Arc::clone(&guard)),
        json!({"url": format!("http://{addr}/second")}),
    )
    .await;
    expect![[r#"
        ToolFailed error
        redirect from `http://127.0.0.1:PORT/second` to `http://169.254.169.254/latest/meta-data/` refused: host `169.254.169.254` is not allowed: 169.254.169.254 is a cloud metadata address [test: a cloud metadata address refused]"#]]
    .assert_eq(&render_with_port(&metadata, addr));
}

#[tokio::test]
async fn allowed_redirects_are_followed_and_shown() {
    let (addr, mut received) = serve(|received| {
        if received.request_line().starts_with("POST /form ") {
            response("303 See Other", &[("location", "/done")], b"")
        } else {
            response("200 OK", &[("content-type", "text/plain")], b"done")
        }
    })
    .await;
    let outcome = request(
        Some(TestGuard::new(&[], &["127.0.0.1"])),
        json!({"method": "POST", "url": format!("http://{addr}/form"), "body": "a=1"}),
    )
    .await;
    expect![[r#"
        Ok
        redirected: 303 See Other `http://127.0.0.1:PORT/form` -> `http://127.0.0.1:PORT/done`
        HTTP/1.1 200 OK
        content-type: text/plain
        content-length: 4

        done
    "#]]
    .assert_eq(&render_with_port(&outcome, addr));
    let first = received.recv().await.unwrap();
    assert_eq!(first.body, b"a=1");
    let second = received.recv().await.unwrap();
    assert_eq!(second.request_line(), "GET /done HTTP/1.1");
    assert!(second.body.is_empty());
}

#[tokio::test]
async fn too_many_redirects_fail() {
    let (addr, mut received) =
        serve(|_| response("302 Found", &[("location", "/again")], b"")).await;
    let outcome = request(
        Some(TestGuard::new(&[], &["127.0.0.1"])),
        json!({"url": format!("http://{addr}/")}),
    )
    .await;
    expect![[r#"
        ToolFailed error
        too many redirects: followed 5, then `http://127.0.0.1:PORT/again` redirected again to `http://127.0.0.1:PORT/again`"#]]
    .assert_eq(&render_with_port(&outcome, addr));
    let mut n_requests = 0;
    while received.try_recv().is_ok() {
        n_requests += 1;
    }
    assert_eq!(n_requests, 6);
}

#[tokio::test]
async fn the_body_is_cut_at_max_bytes() {
    // No content-length: the body runs until the server closes, so only streaming stops it.
    let (addr, _received) = serve(|_| {
        let mut bytes =
            b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 200_000));
        bytes
    })
    .await;
    let outcome = request(
        Some(TestGuard::new(&[], &["127.0.0.1"])),
        json!({"url": format!("http://{addr}/big"), "max_bytes": 10}),
    )
    .await;
    expect![[r#"
        Ok
        HTTP/1.1 200 OK
        content-type: text/plain

        xxxxxxxxxx
        [body cut at 10 bytes (max_bytes); the rest was not read]
    "#]]
    .assert_eq(&render(&outcome));
}

#[tokio::test]
async fn binary_bodies_and_error_statuses_are_reported() {
    let (addr, _received) = serve(|received| {
        if received.request_line().contains("/image") {
            response(
                "200 OK",
                &[("content-type", "image/png")],
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            )
        } else {
            response(
                "404 Not Found",
                &[("content-type", "text/plain")],
                b"no such page",
            )
        }
    })
    .await;
    let guard = TestGuard::new(&[], &["127.0.0.1"]);
    let image = request(
        Some(Arc::clone(&guard)),
        json!({"url": format!("http://{addr}/image")}),
    )
    .await;
    expect![[r#"
        Ok
        HTTP/1.1 200 OK
        content-type: image/png
        content-length: 16

        (binary body: 16 bytes, not shown)
    "#]]
    .assert_eq(&render(&image));
    let missing = request(
        Some(Arc::clone(&guard)),
        json!({"url": format!("http://{addr}/missing"), "method": "HEAD"}),
    )
    .await;
    expect![[r#"
        Ok error
        HTTP/1.1 404 Not Found
        content-type: text/plain
        content-length: 12

        (empty body)
    "#]]
    .assert_eq(&render(&missing));
}

#[tokio::test]
async fn only_http_and_https_urls_are_fetched() {
    for (url, expected) in [
        (
            "file:///etc/passwd",
            "`file:///etc/passwd` has the scheme `file`; http_request fetches only http:// and https:// URLs",
        ),
        (
            "gopher://127.0.0.1:70/_GET",
            "`gopher://127.0.0.1:70/_GET` has the scheme `gopher`; http_request fetches only http:// and https:// URLs",
        ),
        (
            "/relative/path",
            "`/relative/path` is not a valid URL (relative URL without a base); give an absolute http:// or https:// URL",
        ),
    ] {
        let guard = TestGuard::new(&[], &["127.0.0.1"]);
        let outcome = request(Some(Arc::clone(&guard)), json!({ "url": url })).await;
        assert_eq!(outcome.kind, OutcomeKind::ToolFailed, "{url}");
        assert_eq!(outcome.content, expected);
        assert!(guard.asked().is_empty(), "{url}: {:?}", guard.asked());
    }
}

#[tokio::test]
async fn without_network_rules_nothing_is_fetched() {
    let (addr, mut received) = serve(|_| response("200 OK", &[], b"hi")).await;
    let outcome = request(None, json!({"url": format!("http://{addr}/")})).await;
    expect![[r#"
        ToolFailed error
        no network rules: http_request is not allowed"#]]
    .assert_eq(&render(&outcome));
    assert!(received.try_recv().is_err(), "the server was reached");
}

#[tokio::test]
async fn post_sends_the_json_payload() {
    let (addr, mut received) = serve(|received| {
        let payload: serde_json::Value = serde_json::from_slice(&received.body).unwrap();
        if received.request_line() == "POST /items HTTP/1.1"
            && received.header("content-type").as_deref() == Some("application/json")
            && payload == json!({"name": "widget", "tags": ["a", "b"], "count": 3})
        {
            response("201 Created", &[("location", "/items/7")], b"{\"id\":7}")
        } else {
            response("400 Bad Request", &[], b"unexpected request")
        }
    })
    .await;
    let outcome = request(
        Some(TestGuard::new(&[], &["127.0.0.1"])),
        json!({
            "method": "POST",
            "url": format!("http://{addr}/items"),
            "json": {"name": "widget", "tags": ["a", "b"], "count": 3},
        }),
    )
    .await;
    expect![[r#"
        Ok
        HTTP/1.1 201 Created
        content-length: 8
        location: /items/7

        {"id":7}
    "#]]
    .assert_eq(&render(&outcome));
    let seen = received.recv().await.unwrap();
    assert_eq!(
        seen.header("content-length"),
        Some(seen.body.len().to_string())
    );
    assert_eq!(
        String::from_utf8(seen.body).unwrap(),
        r#"{"count":3,"name":"widget","tags":["a","b"]}"#
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        drop(stream);
    });
    let outcome = request(
        Some(TestGuard::new(&[], &["127.0.0.1"])),
        json!({"url": format!("http://{addr}/slow"), "timeout_secs": 1}),
    )
    .await;
    hold.abort();
    expect![[r#"
        ToolFailed error
        cannot fetch `http://127.0.0.1:PORT/slow`: timed out after 1s (lookup, connect, redirects and body together); ask for a larger timeout_secs or a smaller response"#]]
    .assert_eq(&render_with_port(&outcome, addr));
}

#[tokio::test]
async fn bad_arguments_are_explained() {
    let guard = TestGuard::new(&[], &["127.0.0.1"]);
    for (arguments, expected) in [
        (
            json!({"url": "http://127.0.0.1:9/", "body": "x", "json": {}}),
            "give either `body` or `json`, not both",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "headers": {"Host": "internal"}}),
            "the `Host` header is set by http_request and cannot be given; put the host in the url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "headers": {"x-a": "1\r\nx-b: 2"}}),
            "the value of header `x-a` is not valid (line breaks and control characters are not allowed)",
        ),
    ] {
        let outcome = request(Some(Arc::clone(&guard)), arguments.clone()).await;
        assert_eq!(outcome.content, expected, "{arguments}");
    }
    assert!(guard.asked().is_empty());
}

#[test]
fn actions_name_the_url() {
    let tool = rein_tools::builtin::builtin("http_request").unwrap();
    assert_eq!(
        tool.actions(&json!({"url": "https://api.github.com/repos"})),
        [ToolAction::Network(
            "https://api.github.com/repos".to_owned()
        )]
    );
}

#[tokio::test]
async fn a_name_whose_addresses_are_listed_connects_to_the_checked_address() {
    let (addr, mut received) =
        serve(|_| response("200 OK", &[("content-type", "text/plain")], b"pinned")).await;
    // `localhost` may also resolve to ::1, where nothing listens: the connection falls back
    // to 127.0.0.1, one of the checked addresses.
    let guard = TestGuard::new(&["localhost"], &["127.0.0.1", "::1"]);
    let outcome = request(
        Some(Arc::clone(&guard)),
        json!({"url": format!("http://localhost:{}/p", addr.port())}),
    )
    .await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{}", outcome.content);
    assert!(
        outcome.content.ends_with("\npinned\n"),
        "{}",
        outcome.content
    );
    let seen = received.recv().await.unwrap();
    assert_eq!(seen.request_line(), "GET /p HTTP/1.1");
    assert_eq!(
        seen.header("host"),
        Some(format!("localhost:{}", addr.port()))
    );
    assert!(
        guard
            .asked()
            .contains(&"address localhost 127.0.0.1".to_owned()),
        "{:?}",
        guard.asked()
    );
}

#[tokio::test]
async fn credentials_are_not_sent_to_another_origin_on_redirect() {
    let (second, mut second_received) = serve(|_| response("200 OK", &[], b"second")).await;
    let location = format!("http://{second}/landing");
    let (first, mut first_received) =
        serve(move |_| response("307 Temporary Redirect", &[("location", &location)], b"")).await;
    let outcome = request(
        Some(TestGuard::new(&[], &["127.0.0.1"])),
        json!({
            "url": format!("http://{first}/start"),
            "headers": {"Authorization": "Bearer s3cret", "X-Keep": "yes"},
        }),
    )
    .await;
    assert_eq!(outcome.kind, OutcomeKind::Ok, "{}", outcome.content);
    let at_first = first_received.recv().await.unwrap();
    assert_eq!(
        at_first.header("authorization").as_deref(),
        Some("Bearer s3cret")
    );
    let at_second = second_received.recv().await.unwrap();
    assert_eq!(at_second.header("authorization"), None);
    assert_eq!(at_second.header("x-keep").as_deref(), Some("yes"));
}

// ------------------------------------------------ ports, methods, paths (issue 10 item 6)

/// The real network rules (rein-policy), as the loop gives them to tools.
#[derive(Debug)]
pub(crate) struct PolicyGuard(rein_policy::NetworkPolicy);

impl PolicyGuard {
    pub(crate) fn new(
        allow_hosts: &[String],
        rules: Vec<rein_policy::RequestRuleConfig>,
    ) -> Arc<PolicyGuard> {
        Arc::new(PolicyGuard(
            rein_policy::NetworkPolicy::new(&rein_policy::NetworkRulesConfig {
                allow_hosts: allow_hosts.to_vec(),
                rules,
            })
            .unwrap(),
        ))
    }
}

fn decided(decision: rein_policy::Decision) -> Result<(), String> {
    match decision {
        rein_policy::Decision::Allow => Ok(()),
        other => Err(other.to_string()),
    }
}

impl NetworkGuard for PolicyGuard {
    fn check_host(&self, host: &str) -> Result<(), String> {
        decided(self.0.check_host(host))
    }

    fn check_address(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        decided(self.0.check_address(host, ip))
    }

    fn check_request(&self, r: &rein_tools::OutboundRequest<'_>) -> Result<(), String> {
        decided(self.0.check_request(&rein_policy::HttpRequest {
            method: r.method,
            host: r.host,
            port: r.port,
            path: r.path,
            query: r.query,
            body_bytes: r.body_bytes,
        }))
    }
}

async fn request_under(guard: &Arc<PolicyGuard>, arguments: serde_json::Value) -> ToolOutcome {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = context(dir.path());
    ctx.network = Some(Arc::clone(guard) as Arc<dyn NetworkGuard>);
    all_builtins()
        .invoke("http_request", &arguments.to_string(), &ctx)
        .await
}

/// Issue 10 item 6: an allowed host is reachable on the ports its entry names only. Two
/// servers on 127.0.0.1: the one whose port is listed answers; the other is never sent a
/// request; without a port an entry admits 80 and 443 only.
#[tokio::test]
async fn issue10_a_port_allow_hosts_does_not_name_is_refused_before_connecting() {
    let (allowed, mut allowed_seen) = serve(|_| response("200 OK", &[], b"ok")).await;
    let (other, mut other_seen) = serve(|_| response("200 OK", &[], b"redis")).await;
    let guard = PolicyGuard::new(&[format!("127.0.0.1:{}", allowed.port())], Vec::new());

    let refused = request_under(&guard, json!({"url": format!("http://{other}/")})).await;
    assert_eq!(refused.kind, OutcomeKind::ToolFailed, "{}", refused.content);
    assert!(
        refused.content.contains(&format!(
            "port {} of `127.0.0.1` is not allowed",
            other.port()
        )),
        "{}",
        refused.content
    );
    let ok = request_under(&guard, json!({"url": format!("http://{allowed}/x")})).await;
    assert_eq!(ok.kind, OutcomeKind::Ok, "{}", ok.content);
    assert!(ok.content.ends_with("ok\n"), "{}", ok.content);
    assert_eq!(
        allowed_seen.recv().await.unwrap().request_line(),
        "GET /x HTTP/1.1"
    );
    // Without a port: 80 and 443 only.
    let web_only = PolicyGuard::new(&["127.0.0.1".to_owned()], Vec::new());
    let refused = request_under(&web_only, json!({"url": format!("http://{allowed}/")})).await;
    assert_eq!(refused.kind, OutcomeKind::ToolFailed, "{}", refused.content);
    assert!(
        refused.content.contains("admits ports 80 and 443"),
        "{}",
        refused.content
    );
    // A redirect to the other port is refused too.
    let (redirecting, _seen) = serve(move |_| {
        response(
            "302 Found",
            &[("location", &format!("http://{other}/"))],
            b"",
        )
    })
    .await;
    let both = PolicyGuard::new(&[format!("127.0.0.1:{}", redirecting.port())], Vec::new());
    let refused = request_under(&both, json!({"url": format!("http://{redirecting}/")})).await;
    assert_eq!(refused.kind, OutcomeKind::ToolFailed, "{}", refused.content);
    assert!(
        refused.content.starts_with("redirect from"),
        "{}",
        refused.content
    );
    assert!(
        other_seen.try_recv().is_err(),
        "the other port got a request"
    );
    assert!(allowed_seen.try_recv().is_err());
}

/// Issue 10 item 6: a rule allows `POST /services/…` with a small body and no query, and
/// nothing else: a GET, a query string, a body over the cap, a path beside or above the
/// prefix are refused and the server records nothing; the allowed POST goes through; a
/// redirect out of the prefix is refused at the hop.
#[tokio::test]
async fn issue10_request_rules_refuse_methods_queries_bodies_and_paths_before_sending() {
    let (addr, mut seen) = serve(|received: &Received| {
        if received
            .request_line()
            .starts_with("POST /services/redirect")
        {
            response("307 Temporary Redirect", &[("location", "/other")], b"")
        } else {
            response("200 OK", &[], b"posted")
        }
    })
    .await;
    let guard = PolicyGuard::new(
        &[format!("127.0.0.1:{}", addr.port())],
        vec![rein_policy::RequestRuleConfig {
            host: "127.0.0.1".to_owned(),
            methods: Some(vec!["POST".to_owned()]),
            path_prefixes: Some(vec!["/services/".to_owned()]),
            max_path_bytes: None,
            max_query_bytes: Some(0),
            max_body_bytes: Some(16),
        }],
    );
    let url = |path: &str| format!("http://{addr}{path}");
    let refusals = [
        (json!({"url": url("/services/T0/B0")}), "GET is not allowed"),
        (
            json!({"method": "POST", "url": url("/services/T0?leak=canary"), "body": "x"}),
            "a query string is not allowed",
        ),
        (
            json!({"method": "POST", "url": url("/services/T0"), "body": "canary canary canary"}),
            "the body has 20 bytes; at most 16",
        ),
        (
            json!({"method": "POST", "url": url("/servicesx/T0"), "body": "x"}),
            "not under an allowed prefix",
        ),
        (
            json!({"method": "POST", "url": url("/services/../admin"), "body": "x"}),
            "not under an allowed prefix",
        ),
        (
            json!({"method": "POST", "url": url("/services%2F..%2Fadmin"), "body": "x"}),
            "servers read differently",
        ),
    ];
    for (arguments, reason) in refusals {
        let outcome = request_under(&guard, arguments.clone()).await;
        assert_eq!(
            outcome.kind,
            OutcomeKind::ToolFailed,
            "{arguments}: {}",
            outcome.content
        );
        assert!(
            outcome.content.contains(reason)
                && outcome.content.contains("[policy.network.rule[0]]"),
            "{arguments}: {}",
            outcome.content
        );
    }
    assert!(
        seen.try_recv().is_err(),
        "a refused request reached the server"
    );

    let ok = request_under(
        &guard,
        json!({"method": "POST", "url": url("/services/T0/B0/x"), "body": "{\"text\":\"hi\"}"}),
    )
    .await;
    assert_eq!(ok.kind, OutcomeKind::Ok, "{}", ok.content);
    let received = seen.recv().await.unwrap();
    assert_eq!(received.request_line(), "POST /services/T0/B0/x HTTP/1.1");
    assert_eq!(received.body, b"{\"text\":\"hi\"}");

    let redirected = request_under(
        &guard,
        json!({"method": "POST", "url": url("/services/redirect"), "body": "x"}),
    )
    .await;
    assert_eq!(
        redirected.kind,
        OutcomeKind::ToolFailed,
        "{}",
        redirected.content
    );
    assert!(
        redirected.content.starts_with("redirect from")
            && redirected.content.contains("not under an allowed prefix"),
        "{}",
        redirected.content
    );
    assert_eq!(
        seen.recv().await.unwrap().request_line(),
        "POST /services/redirect HTTP/1.1"
    );
    assert!(seen.try_recv().is_err(), "the redirect target was reached");
}

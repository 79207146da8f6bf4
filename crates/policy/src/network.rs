//! Network rules: `[policy.network] allow_hosts` (hosts and ports), `[[policy.network.rule]]`
//! (methods, paths and sizes of the requests to a host), and which IP addresses may be
//! reached.
//!
//! [`NetworkPolicy::check_host`] answers for a host name before it is resolved: exact names
//! (`api.github.com`), wildcards (`*.example.com`: any subdomain, not the domain itself)
//! and IP literals, each with an optional port (`host:8443`, `host:*`, `[::1]:8080`; no port
//! is 80 and 443). [`NetworkPolicy::check_address`] answers for each address the name
//! resolved to (the caller then connects to that checked address only): an address that is
//! not public ([`classify_ip`]: loopback, private, link-local, cloud metadata, CGNAT,
//! multicast…) is refused unless that exact address is listed too. A host name never
//! admits a non-public address by itself, so a name that resolves (or is rebound) to
//! 127.0.0.1 or 169.254.169.254 cannot reach the inside. [`NetworkPolicy::check_request`]
//! answers for one request as it is about to be sent (every redirect hop too): the port,
//! then the rules of its host — a request must fit every rule for its host (method, path
//! under a prefix with a `/` boundary after normalisation, path, query and body sizes).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{Decision, PolicyError};

/// `[policy.network]` as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkRulesConfig {
    /// Empty: no host may be reached.
    pub allow_hosts: Vec<String>,
    /// `[[policy.network.rule]]`: what requests to a host may look like.
    pub rules: Vec<RequestRuleConfig>,
}

/// One `[[policy.network.rule]]`. `None` leaves that part of a request free.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestRuleConfig {
    /// A host pattern as in `allow_hosts`; with a port, the rule is for that port only.
    pub host: String,
    /// Methods allowed (`GET`, `POST`…).
    pub methods: Option<Vec<String>>,
    /// The path must be one of these or below one (`/services` covers `/services/x`, not
    /// `/servicesx`).
    pub path_prefixes: Option<Vec<String>>,
    pub max_path_bytes: Option<u64>,
    /// Bytes of the query string (after `?`); `0` allows none.
    pub max_query_bytes: Option<u64>,
    pub max_body_bytes: Option<u64>,
}

/// One request as it is about to be sent, for [`NetworkPolicy::check_request`].
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// A name or an IP literal (IPv6 with or without brackets).
    pub host: &'a str,
    pub port: u16,
    /// The path as it goes on the wire (percent-encoded).
    pub path: &'a str,
    /// The query string without `?`, as it goes on the wire.
    pub query: Option<&'a str>,
    pub body_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`, stored as `.example.com`.
    Wildcard(String),
    Address(IpAddr),
}

impl HostPattern {
    /// Whether the pattern names `host` (normalised; `ip` when it is an IP literal).
    fn matches(&self, host: &str, ip: Option<IpAddr>) -> bool {
        match (self, ip) {
            (HostPattern::Address(a), Some(ip)) => *a == ip,
            (HostPattern::Exact(name), None) => name == host,
            (HostPattern::Wildcard(suffix), None) => host.ends_with(suffix.as_str()),
            _ => false,
        }
    }

    /// Whether every host `other` names is named by `self`.
    fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Wildcard(suffix), HostPattern::Wildcard(inner)) => {
                inner == suffix || inner.ends_with(suffix.as_str())
            }
            (_, HostPattern::Wildcard(_)) => false,
            (pattern, HostPattern::Exact(name)) => pattern.matches(name, None),
            (pattern, HostPattern::Address(ip)) => pattern.matches("", Some(*ip)),
        }
    }
}

/// The ports an entry admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ports {
    /// No port written: 80 and 443.
    Web,
    /// `:*`.
    Any,
    One(u16),
}

impl Ports {
    fn admits(self, port: u16) -> bool {
        match self {
            Ports::Web => port == 80 || port == 443,
            Ports::Any => true,
            Ports::One(p) => p == port,
        }
    }

    fn describe(self) -> String {
        match self {
            Ports::Web => "ports 80 and 443".to_owned(),
            Ports::Any => "any port".to_owned(),
            Ports::One(p) => format!("port {p}"),
        }
    }
}

/// `host`, `host:PORT`, `host:*`, `[v6]`, `[v6]:PORT`, `v6` (a bare IPv6 address has no
/// port): the host part and the port part.
fn split_host_port(source: &str) -> Result<(String, Option<String>), String> {
    let source = source.trim();
    if let Some(rest) = source.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err("`[` without `]`".to_owned());
        };
        return match after {
            "" => Ok((host.to_owned(), None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host.to_owned(), Some(port.to_owned()))),
                None => Err(format!("`{after}` after `]`; write `[ADDRESS]:PORT`")),
            },
        };
    }
    match source.matches(':').count() {
        0 => Ok((source.to_owned(), None)),
        1 => {
            let (host, port) = source.split_once(':').unwrap_or((source, ""));
            Ok((host.to_owned(), Some(port.to_owned())))
        }
        _ => Ok((source.to_owned(), None)),
    }
}

fn parse_ports(port: Option<&str>) -> Result<Ports, String> {
    match port {
        None => Ok(Ports::Web),
        Some("*") => Ok(Ports::Any),
        Some(text) => match text.parse::<u16>() {
            Ok(p) if p > 0 && text.chars().all(|c| c.is_ascii_digit()) => Ok(Ports::One(p)),
            _ => Err(format!(
                "port `{text}` is not a number from 1 to 65535, or `*` for any port"
            )),
        },
    }
}

/// A host pattern and its ports, as written in `allow_hosts` or a rule's `host`.
fn parse_host_entry(source: &str) -> Result<(HostPattern, Ports, bool), String> {
    let (host, port) = split_host_port(source)?;
    let ports = parse_ports(port.as_deref())?;
    let host = normalize_host(&host);
    let pattern = if let Ok(ip) = host.parse::<IpAddr>() {
        HostPattern::Address(ip)
    } else if let Some(domain) = host.strip_prefix("*.") {
        valid_host_name(domain)?;
        HostPattern::Wildcard(format!(".{domain}"))
    } else {
        valid_host_name(&host)?;
        HostPattern::Exact(host)
    };
    Ok((pattern, ports, port.is_some()))
}

/// Methods a rule may name.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[derive(Debug, Clone)]
struct RequestRule {
    /// `policy.network.rule[0]`.
    rule: String,
    /// How it was written, for `rein check`.
    source: RequestRuleConfig,
    pattern: HostPattern,
    /// `None`: every port `allow_hosts` admits.
    ports: Option<Ports>,
    methods: Option<Vec<String>>,
    /// Normalised, without a trailing `/` (except `/` itself).
    path_prefixes: Option<Vec<String>>,
    max_path_bytes: Option<u64>,
    max_query_bytes: Option<u64>,
    max_body_bytes: Option<u64>,
}

impl RequestRule {
    fn applies(&self, host: &str, ip: Option<IpAddr>, port: u16) -> bool {
        self.pattern.matches(host, ip) && self.ports.is_none_or(|p| p.admits(port))
    }

    /// `Err(reason)` when `request` does not fit the rule.
    fn check(&self, request: &HttpRequest<'_>, host: &str) -> Result<(), String> {
        if let Some(methods) = &self.methods {
            let method = request.method.to_ascii_uppercase();
            if !methods.contains(&method) {
                return Err(format!(
                    "{method} is not allowed to `{host}` (methods: {})",
                    methods.join(", ")
                ));
            }
        }
        let path_bytes = request.path.len() as u64;
        if let Some(max) = self.max_path_bytes
            && path_bytes > max
        {
            return Err(format!(
                "the path has {path_bytes} bytes; at most {max} are allowed to `{host}`"
            ));
        }
        if let Some(prefixes) = &self.path_prefixes {
            let path = normalize_path(request.path)
                .map_err(|reason| format!("the path `{}` is refused: {reason}", request.path))?;
            if !prefixes.iter().any(|prefix| under_prefix(&path, prefix)) {
                return Err(format!(
                    "the path `{path}` is not under an allowed prefix of `{host}` ({})",
                    prefixes.join(", ")
                ));
            }
        }
        let query_bytes = request.query.map_or(0, |q| q.len() as u64);
        if let Some(max) = self.max_query_bytes
            && query_bytes > max
        {
            return Err(if max == 0 {
                format!("a query string is not allowed to `{host}`")
            } else {
                format!(
                    "the query string has {query_bytes} bytes; at most {max} are allowed to `{host}`"
                )
            });
        }
        if let Some(max) = self.max_body_bytes
            && request.body_bytes > max
        {
            return Err(format!(
                "the body has {} bytes; at most {max} are allowed to `{host}`",
                request.body_bytes
            ));
        }
        Ok(())
    }
}

/// `path` is `prefix` or below it (a `/` boundary).
fn under_prefix(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// A URL path as a server would most plausibly read it: each segment percent-decoded,
/// `.` dropped and `..` applied. Anything a server could read another way is refused: an
/// encoded `/`, `\`, `%` (double encoding), `;`, NUL or control character in a segment, an
/// encoded `.` or `..` segment, an empty segment (`//`), invalid percent-encoding or UTF-8,
/// and `..` above the root.
pub fn normalize_path(raw: &str) -> Result<String, String> {
    if raw.is_empty() || raw == "/" {
        return Ok("/".to_owned());
    }
    let Some(rest) = raw.strip_prefix('/') else {
        return Err("it does not start with `/`".to_owned());
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let mut out: Vec<String> = Vec::new();
    let trailing_slash = rest.ends_with('/');
    for (idx, segment) in segments.iter().enumerate() {
        let last = idx + 1 == segments.len();
        if segment.is_empty() {
            if last {
                continue;
            }
            return Err("an empty segment (`//`) is ambiguous".to_owned());
        }
        let bytes = segment.as_bytes();
        let mut decoded = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let value = bytes
                    .get(i + 1)
                    .and_then(|h| hex(*h))
                    .zip(bytes.get(i + 2).and_then(|l| hex(*l)))
                    .map(|(h, l)| h * 16 + l)
                    .ok_or_else(|| format!("`{segment}` has an invalid percent-encoding"))?;
                decoded.push(value);
                i += 3;
            } else {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
        let decoded = String::from_utf8(decoded)
            .map_err(|_| format!("`{segment}` does not decode to UTF-8"))?;
        if decoded.contains(['/', '\\', '%', ';', '\0']) || decoded.chars().any(char::is_control) {
            return Err(format!(
                "`{segment}` decodes to a `/`, `\\`, `%`, `;` or control character, which servers read differently"
            ));
        }
        let encoded = decoded != *segment;
        match decoded.as_str() {
            "." | ".." if encoded => {
                return Err(format!("`{segment}` is an encoded `{decoded}` segment"));
            }
            "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err("`..` goes above the root".to_owned());
                }
            }
            _ => out.push(decoded),
        }
    }
    let mut path = format!("/{}", out.join("/"));
    if trailing_slash && !out.is_empty() {
        path.push('/');
    }
    Ok(path)
}

/// Compiled network rules.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    allow_hosts: Vec<(String, HostPattern, Ports)>,
    rules: Vec<RequestRule>,
}

/// What kind of address an IP is; only [`IpClass::Public`] is reachable by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpClass {
    Public,
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10
    Private,
    /// 169.254/16, fe80::/10
    LinkLocal,
    /// 169.254.169.254, 169.254.170.2, 100.100.100.200, fd00:ec2::254
    CloudMetadata,
    /// 100.64/10
    SharedAddressSpace,
    /// 0.0.0.0, ::
    Unspecified,
    Multicast,
    /// 255.255.255.255
    Broadcast,
    /// 0/8, 192.0.0/24, 192.0.2/24, 198.18/15, 198.51.100/24, 203.0.113/24, 240/4,
    /// 100::/64, 2001:db8::/32
    Reserved,
}

impl IpClass {
    pub fn is_public(self) -> bool {
        self == IpClass::Public
    }

    pub fn describe(self) -> &'static str {
        match self {
            IpClass::Public => "a public address",
            IpClass::Loopback => "a loopback address",
            IpClass::Private => "a private address",
            IpClass::LinkLocal => "a link-local address",
            IpClass::CloudMetadata => "a cloud metadata address",
            IpClass::SharedAddressSpace => "a carrier-grade NAT address (100.64.0.0/10)",
            IpClass::Unspecified => "the unspecified address",
            IpClass::Multicast => "a multicast address",
            IpClass::Broadcast => "the broadcast address",
            IpClass::Reserved => "a reserved or documentation address",
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> IpClass {
    let [a, b, c, _] = ip.octets();
    if matches!(
        ip.octets(),
        [169, 254, 169, 254] | [169, 254, 170, 2] | [100, 100, 100, 200]
    ) {
        return IpClass::CloudMetadata;
    }
    if ip.is_unspecified() {
        return IpClass::Unspecified;
    }
    if ip.is_broadcast() {
        return IpClass::Broadcast;
    }
    if a == 127 {
        return IpClass::Loopback;
    }
    if a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168) {
        return IpClass::Private;
    }
    if a == 169 && b == 254 {
        return IpClass::LinkLocal;
    }
    if a == 100 && (64..128).contains(&b) {
        return IpClass::SharedAddressSpace;
    }
    if (224..240).contains(&a) {
        return IpClass::Multicast;
    }
    if a == 0
        || a >= 240
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        return IpClass::Reserved;
    }
    IpClass::Public
}

fn classify_v6(ip: Ipv6Addr) -> IpClass {
    let segments = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return IpClass::CloudMetadata;
    }
    if ip.is_unspecified() {
        return IpClass::Unspecified;
    }
    if ip.is_loopback() {
        return IpClass::Loopback;
    }
    // IPv4 embedded: mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96.
    let embedded = |ip: Ipv6Addr| {
        let octets = ip.octets();
        Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15])
    };
    if segments[..5] == [0, 0, 0, 0, 0] && (segments[5] == 0xffff || segments[5] == 0) {
        return classify_v4(embedded(ip));
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded(ip));
    }
    // 6to4 2002:AABB:CCDD::/48 embeds AA.BB.CC.DD.
    if segments[0] == 0x2002 {
        let [a, b] = segments[1].to_be_bytes();
        let [c, d] = segments[2].to_be_bytes();
        let inner = classify_v4(Ipv4Addr::new(a, b, c, d));
        if !inner.is_public() {
            return inner;
        }
    }
    if segments[0] & 0xfe00 == 0xfc00 || segments[0] & 0xffc0 == 0xfec0 {
        return IpClass::Private;
    }
    if segments[0] & 0xffc0 == 0xfe80 {
        return IpClass::LinkLocal;
    }
    if segments[0] & 0xff00 == 0xff00 {
        return IpClass::Multicast;
    }
    if segments[..4] == [0x100, 0, 0, 0] || (segments[0] == 0x2001 && segments[1] == 0xdb8) {
        return IpClass::Reserved;
    }
    IpClass::Public
}

/// Classify an address; IPv4 embedded in IPv6 (mapped, compatible, NAT64, 6to4) is
/// classified as the IPv4 address it carries.
pub fn classify_ip(ip: IpAddr) -> IpClass {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

/// Lower-case, without a trailing dot or IPv6 brackets.
fn normalize_host(host: &str) -> String {
    let host = host.trim_end_matches('.');
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    host.to_ascii_lowercase()
}

fn valid_host_name(host: &str) -> Result<(), String> {
    if host.is_empty() || host.len() > 253 {
        return Err("a host name has 1 to 253 characters".to_string());
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("a label between dots has 1 to 63 characters".to_string());
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!("`{label}` has characters a host name cannot have"));
        }
    }
    // `127.1`, `2130706433`, `0x7f.1`: resolvers read these as IPv4 addresses.
    let last = host.rsplit('.').next().unwrap_or(host);
    if last.chars().all(|c| c.is_ascii_digit()) || last.starts_with("0x") {
        return Err("a numeric address in a non-standard form".to_string());
    }
    Ok(())
}

const HOST_RULE: &str = "default: host not in policy.network.allow_hosts";
const PORT_RULE: &str = "default: port not in policy.network.allow_hosts";

impl NetworkPolicy {
    pub fn new(config: &NetworkRulesConfig) -> Result<NetworkPolicy, PolicyError> {
        let mut allow_hosts = Vec::new();
        for (i, source) in config.allow_hosts.iter().enumerate() {
            let rule = format!("policy.network.allow_hosts[{i}] \"{source}\"");
            let (pattern, ports, _) =
                parse_host_entry(source).map_err(|reason| PolicyError::BadHostPattern {
                    rule: format!("policy.network.allow_hosts[{i}]"),
                    pattern: source.clone(),
                    reason,
                })?;
            allow_hosts.push((rule, pattern, ports));
        }
        let mut rules = Vec::new();
        for (i, config) in config.rules.iter().enumerate() {
            let rule = format!("policy.network.rule[{i}]");
            let bad = |reason: String| PolicyError::BadNetworkRule {
                rule: rule.clone(),
                reason,
            };
            let (pattern, ports, port_written) = parse_host_entry(&config.host)
                .map_err(|reason| bad(format!("invalid host `{}`: {reason}", config.host)))?;
            if !allow_hosts
                .iter()
                .any(|(_, allowed, _)| allowed.covers(&pattern))
            {
                return Err(bad(format!(
                    "host `{}` is not admitted by policy.network.allow_hosts; a rule only narrows an allowed host",
                    config.host
                )));
            }
            let methods = match &config.methods {
                Some(methods) => {
                    let mut out = Vec::new();
                    for method in methods {
                        let upper = method.trim().to_ascii_uppercase();
                        if !METHODS.contains(&upper.as_str()) {
                            return Err(bad(format!(
                                "unknown method `{method}` (methods: {})",
                                METHODS.join(", ")
                            )));
                        }
                        out.push(upper);
                    }
                    Some(out)
                }
                None => None,
            };
            let path_prefixes = match &config.path_prefixes {
                Some(prefixes) => {
                    let mut out = Vec::new();
                    for prefix in prefixes {
                        let normalized = normalize_path(prefix)
                            .ok()
                            .filter(|_| prefix.starts_with('/'))
                            .ok_or_else(|| {
                                bad(format!(
                                    "path prefix `{prefix}` must start with `/` and be a plain path"
                                ))
                            })?;
                        let trimmed = match normalized.trim_end_matches('/') {
                            "" => "/".to_owned(),
                            t => t.to_owned(),
                        };
                        out.push(trimmed);
                    }
                    Some(out)
                }
                None => None,
            };
            rules.push(RequestRule {
                rule,
                source: config.clone(),
                pattern,
                ports: port_written.then_some(ports),
                methods,
                path_prefixes,
                max_path_bytes: config.max_path_bytes,
                max_query_bytes: config.max_query_bytes,
                max_body_bytes: config.max_body_bytes,
            });
        }
        Ok(NetworkPolicy { allow_hosts, rules })
    }

    /// May a request go to `host` (a name or an IP literal) on some port?
    pub fn check_host(&self, host: &str) -> Decision {
        let host = normalize_host(host);
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.check_ip(ip);
        }
        if let Err(reason) = valid_host_name(&host) {
            return Decision::deny(
                format!("`{host}` is not a valid host name: {reason}"),
                HOST_RULE,
            );
        }
        if self
            .allow_hosts
            .iter()
            .any(|(_, pattern, _)| pattern.matches(&host, None))
        {
            return Decision::Allow;
        }
        Decision::deny(
            format!("`{host}` is not in policy.network.allow_hosts"),
            HOST_RULE,
        )
    }

    /// May a request go to the IP literal `ip`? Listed exactly, or public and allowed by
    /// nothing else: IP literals must be listed.
    pub fn check_ip(&self, ip: IpAddr) -> Decision {
        if self.address_listed(ip) {
            return Decision::Allow;
        }
        let class = classify_ip(ip);
        if !class.is_public() {
            return Decision::deny(
                format!("{ip} is {}", class.describe()),
                format!("default: {} refused", class.describe()),
            );
        }
        Decision::deny(
            format!("{ip} is not in policy.network.allow_hosts"),
            HOST_RULE,
        )
    }

    fn address_listed(&self, ip: IpAddr) -> bool {
        self.allow_hosts
            .iter()
            .any(|(_, pattern, _)| *pattern == HostPattern::Address(ip))
    }

    /// May a request to `host` connect to `ip`, one of the addresses it resolved to?
    pub fn check_address(&self, host: &str, ip: IpAddr) -> Decision {
        let by_name = self.check_host(host);
        if !by_name.is_allow() {
            return by_name;
        }
        let normalized = normalize_host(host);
        if normalized.parse::<IpAddr>().is_ok() {
            return by_name;
        }
        let class = classify_ip(ip);
        if class.is_public() || self.address_listed(ip) {
            return Decision::Allow;
        }
        Decision::deny(
            format!(
                "`{normalized}` resolved to {ip}, {}; list the address itself in allow_hosts to allow it",
                class.describe()
            ),
            format!("default: {} refused", class.describe()),
        )
    }

    /// May this request be sent? The host (as [`NetworkPolicy::check_host`]), its port, then
    /// the rules of the host: the request must fit every rule that applies to it (rules
    /// only narrow, so layers can add them).
    pub fn check_request(&self, request: &HttpRequest<'_>) -> Decision {
        let by_host = self.check_host(request.host);
        if !by_host.is_allow() {
            return by_host;
        }
        let host = normalize_host(request.host);
        let ip = host.parse::<IpAddr>().ok();
        let entries: Vec<&(String, HostPattern, Ports)> = self
            .allow_hosts
            .iter()
            .filter(|(_, pattern, _)| pattern.matches(&host, ip))
            .collect();
        if !entries
            .iter()
            .any(|(_, _, ports)| ports.admits(request.port))
        {
            let admitted: Vec<String> = entries
                .iter()
                .map(|(rule, _, ports)| format!("{rule} admits {}", ports.describe()))
                .collect();
            return Decision::deny(
                format!(
                    "port {} of `{host}` is not allowed ({}); add `{}:{}` to allow_hosts to allow it",
                    request.port,
                    admitted.join("; "),
                    if ip.is_some_and(|ip| ip.is_ipv6()) {
                        format!("[{host}]")
                    } else {
                        host.clone()
                    },
                    request.port
                ),
                PORT_RULE,
            );
        }
        for rule in self
            .rules
            .iter()
            .filter(|r| r.applies(&host, ip, request.port))
        {
            if let Err(reason) = rule.check(request, &host) {
                return Decision::deny(reason, rule.rule.clone());
            }
        }
        Decision::Allow
    }
}

fn quoted(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", items.join(", "))
}

impl fmt::Display for NetworkPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[policy.network]")?;
        if self.allow_hosts.is_empty() {
            writeln!(f, "  allow_hosts: none (no host may be reached)")?;
        }
        for (rule, _, ports) in &self.allow_hosts {
            writeln!(f, "  {rule}: {}", ports.describe())?;
        }
        for rule in &self.rules {
            let c = &rule.source;
            let mut parts = vec![format!("host {:?}", c.host)];
            if let Some(m) = &rule.methods {
                parts.push(format!("methods {}", quoted(m)));
            }
            if let Some(p) = &c.path_prefixes {
                parts.push(format!("path_prefixes {}", quoted(p)));
            }
            for (name, value) in [
                ("max_path_bytes", c.max_path_bytes),
                ("max_query_bytes", c.max_query_bytes),
                ("max_body_bytes", c.max_body_bytes),
            ] {
                if let Some(v) = value {
                    parts.push(format!("{name} {v}"));
                }
            }
            writeln!(f, "  {}: {}", rule.rule, parts.join(", "))?;
        }
        if !self.rules.is_empty() {
            writeln!(
                f,
                "  a request must fit every rule for its host; hosts without rules: any request"
            )?;
        }
        writeln!(
            f,
            "  loopback, private, link-local, metadata, CGNAT, multicast and reserved addresses refused unless listed exactly"
        )
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check_classes(addresses: &[&str], expected: Expect) {
        let lines: Vec<String> = addresses
            .iter()
            .map(|text| {
                let ip: IpAddr = text.parse().unwrap();
                format!("{text}: {:?}", classify_ip(ip))
            })
            .collect();
        expected.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn addresses_are_classified() {
        check_classes(
            &[
                "8.8.8.8",
                "127.0.0.1",
                "127.255.0.9",
                "10.1.2.3",
                "172.16.0.1",
                "172.31.255.255",
                "172.32.0.1",
                "192.168.1.1",
                "169.254.169.254",
                "169.254.170.2",
                "169.254.1.1",
                "100.100.100.200",
                "100.64.0.1",
                "100.127.255.255",
                "100.128.0.1",
                "0.0.0.0",
                "255.255.255.255",
                "224.0.0.1",
                "0.1.2.3",
                "::1",
                "::",
                "fc00::1",
                "fd00:ec2::254",
                "fe80::1",
                "ff02::1",
                "::ffff:127.0.0.1",
                "::ffff:169.254.169.254",
                "::ffff:8.8.8.8",
                "::127.0.0.1",
                "64:ff9b::a9fe:a9fe",
                "2002:a9fe:a9fe::1",
                "2001:db8::1",
                "2606:4700::1111",
            ],
            expect![[r#"
                8.8.8.8: Public
                127.0.0.1: Loopback
                127.255.0.9: Loopback
                10.1.2.3: Private
                172.16.0.1: Private
                172.31.255.255: Private
                172.32.0.1: Public
                192.168.1.1: Private
                169.254.169.254: CloudMetadata
                169.254.170.2: CloudMetadata
                169.254.1.1: LinkLocal
                100.100.100.200: CloudMetadata
                100.64.0.1: SharedAddressSpace
                100.127.255.255: SharedAddressSpace
                100.128.0.1: Public
                0.0.0.0: Unspecified
                255.255.255.255: Broadcast
                224.0.0.1: Multicast
                0.1.2.3: Reserved
                ::1: Loopback
                ::: Unspecified
                fc00::1: Private
                fd00:ec2::254: CloudMetadata
                fe80::1: LinkLocal
                ff02::1: Multicast
                ::ffff:127.0.0.1: Loopback
                ::ffff:169.254.169.254: CloudMetadata
                ::ffff:8.8.8.8: Public
                ::127.0.0.1: Loopback
                64:ff9b::a9fe:a9fe: CloudMetadata
                2002:a9fe:a9fe::1: CloudMetadata
                2001:db8::1: Reserved
                2606:4700::1111: Public"#]],
        );
    }

    fn check_hosts(allow: &[&str], cases: &[(&str, Option<&str>)], expected: Expect) {
        let policy = NetworkPolicy::new(&NetworkRulesConfig {
            allow_hosts: allow.iter().map(|host| host.to_string()).collect(),
            ..NetworkRulesConfig::default()
        })
        .unwrap();
        let lines: Vec<String> = cases
            .iter()
            .map(|(host, ip)| match ip {
                None => format!("{host}: {}", policy.check_host(host)),
                Some(ip) => format!(
                    "{host} -> {ip}: {}",
                    policy.check_address(host, ip.parse().unwrap())
                ),
            })
            .collect();
        expected.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn hosts_and_resolved_addresses() {
        check_hosts(
            &[
                "api.github.com",
                "*.example.com",
                "internal.corp",
                "10.0.0.5",
            ],
            &[
                ("api.github.com", None),
                ("API.GitHub.com.", None),
                ("github.com", None),
                ("a.example.com", None),
                ("a.b.example.com", None),
                ("example.com", None),
                ("evilexample.com", None),
                ("127.0.0.1", None),
                ("169.254.169.254", None),
                ("[::1]", None),
                ("10.0.0.5", None),
                ("127.1", None),
                ("2130706433", None),
                ("user@host", None),
                ("api.github.com", Some("140.82.112.5")),
                ("api.github.com", Some("127.0.0.1")),
                ("a.example.com", Some("169.254.169.254")),
                ("internal.corp", Some("10.1.1.1")),
                ("internal.corp", Some("10.0.0.5")),
                ("a.example.com", Some("10.0.0.5")),
            ],
            expect![[r#"
                api.github.com: allow
                API.GitHub.com.: allow
                github.com: deny: `github.com` is not in policy.network.allow_hosts [default: host not in policy.network.allow_hosts]
                a.example.com: allow
                a.b.example.com: allow
                example.com: deny: `example.com` is not in policy.network.allow_hosts [default: host not in policy.network.allow_hosts]
                evilexample.com: deny: `evilexample.com` is not in policy.network.allow_hosts [default: host not in policy.network.allow_hosts]
                127.0.0.1: deny: 127.0.0.1 is a loopback address [default: a loopback address refused]
                169.254.169.254: deny: 169.254.169.254 is a cloud metadata address [default: a cloud metadata address refused]
                [::1]: deny: ::1 is a loopback address [default: a loopback address refused]
                10.0.0.5: allow
                127.1: deny: `127.1` is not a valid host name: a numeric address in a non-standard form [default: host not in policy.network.allow_hosts]
                2130706433: deny: `2130706433` is not a valid host name: a numeric address in a non-standard form [default: host not in policy.network.allow_hosts]
                user@host: deny: `user@host` is not a valid host name: `user@host` has characters a host name cannot have [default: host not in policy.network.allow_hosts]
                api.github.com -> 140.82.112.5: allow
                api.github.com -> 127.0.0.1: deny: `api.github.com` resolved to 127.0.0.1, a loopback address; list the address itself in allow_hosts to allow it [default: a loopback address refused]
                a.example.com -> 169.254.169.254: deny: `a.example.com` resolved to 169.254.169.254, a cloud metadata address; list the address itself in allow_hosts to allow it [default: a cloud metadata address refused]
                internal.corp -> 10.1.1.1: deny: `internal.corp` resolved to 10.1.1.1, a private address; list the address itself in allow_hosts to allow it [default: a private address refused]
                internal.corp -> 10.0.0.5: allow
                a.example.com -> 10.0.0.5: allow"#]],
        );
    }

    #[test]
    fn bad_host_patterns_name_the_rule() {
        let errors: Vec<String> = ["*.", "a b.com", "*.*.x.com", "127.1"]
            .iter()
            .filter_map(|pattern| {
                NetworkPolicy::new(&NetworkRulesConfig {
                    allow_hosts: vec![pattern.to_string()],
                    ..NetworkRulesConfig::default()
                })
                .err()
                .map(|error| error.to_string())
            })
            .collect();
        expect![[r#"
            [
                "policy.network.allow_hosts[0]: invalid host pattern `*.`: `*` has characters a host name cannot have",
                "policy.network.allow_hosts[0]: invalid host pattern `a b.com`: `a b` has characters a host name cannot have",
                "policy.network.allow_hosts[0]: invalid host pattern `*.*.x.com`: `*` has characters a host name cannot have",
                "policy.network.allow_hosts[0]: invalid host pattern `127.1`: a numeric address in a non-standard form",
            ]
        "#]].assert_debug_eq(&errors);
    }

    /// One request per line: `METHOD URL [BODY_BYTES]`, against the rules.
    fn check_requests(config: NetworkRulesConfig, requests: &[&str], expected: Expect) {
        let policy = NetworkPolicy::new(&config).unwrap();
        let lines: Vec<String> = requests
            .iter()
            .map(|line| {
                let mut words = line.split_whitespace();
                let method = words.next().unwrap();
                let url = words.next().unwrap();
                let body_bytes: u64 = words.next().map_or(0, |b| b.parse().unwrap());
                let (scheme, rest) = url.split_once("://").unwrap();
                let (authority, path_query) = match rest.find('/') {
                    Some(i) => (&rest[..i], &rest[i..]),
                    None => (rest, "/"),
                };
                let (path, query) = match path_query.split_once('?') {
                    Some((p, q)) => (p, Some(q)),
                    None => (path_query, None),
                };
                let default_port = if scheme == "https" { 443 } else { 80 };
                let (host, port) = match authority.rsplit_once(':') {
                    Some((h, p)) if !p.contains(']') => (h, p.parse().unwrap()),
                    _ => (authority, default_port),
                };
                let request = HttpRequest {
                    method,
                    host,
                    port,
                    path,
                    query,
                    body_bytes,
                };
                format!("{line}: {}", policy.check_request(&request))
            })
            .collect();
        expected.assert_eq(&lines.join("\n"));
    }

    /// Issue 10 item 6: an allowed host is reachable on 80 and 443 only unless a port is
    /// listed; `:*` is any port.
    #[test]
    fn allow_hosts_entries_name_ports() {
        check_requests(
            NetworkRulesConfig {
                allow_hosts: vec![
                    "api.github.com".into(),
                    "internal.corp:8443".into(),
                    "127.0.0.1:6000".into(),
                    "[::1]:8080".into(),
                    "*.example.com:*".into(),
                ],
                ..NetworkRulesConfig::default()
            },
            &[
                "GET https://api.github.com/x",
                "GET http://api.github.com/x",
                "GET http://api.github.com:6379/x",
                "GET http://api.github.com:25/x",
                "GET https://internal.corp:8443/",
                "GET https://internal.corp/",
                "GET http://127.0.0.1:6000/",
                "GET http://127.0.0.1:6001/",
                "GET http://[::1]:8080/",
                "GET http://[::1]:8081/",
                "GET http://a.example.com:1234/",
            ],
            expect![[r#"
                GET https://api.github.com/x: allow
                GET http://api.github.com/x: allow
                GET http://api.github.com:6379/x: deny: port 6379 of `api.github.com` is not allowed (policy.network.allow_hosts[0] "api.github.com" admits ports 80 and 443); add `api.github.com:6379` to allow_hosts to allow it [default: port not in policy.network.allow_hosts]
                GET http://api.github.com:25/x: deny: port 25 of `api.github.com` is not allowed (policy.network.allow_hosts[0] "api.github.com" admits ports 80 and 443); add `api.github.com:25` to allow_hosts to allow it [default: port not in policy.network.allow_hosts]
                GET https://internal.corp:8443/: allow
                GET https://internal.corp/: deny: port 443 of `internal.corp` is not allowed (policy.network.allow_hosts[1] "internal.corp:8443" admits port 8443); add `internal.corp:443` to allow_hosts to allow it [default: port not in policy.network.allow_hosts]
                GET http://127.0.0.1:6000/: allow
                GET http://127.0.0.1:6001/: deny: port 6001 of `127.0.0.1` is not allowed (policy.network.allow_hosts[2] "127.0.0.1:6000" admits port 6000); add `127.0.0.1:6001` to allow_hosts to allow it [default: port not in policy.network.allow_hosts]
                GET http://[::1]:8080/: allow
                GET http://[::1]:8081/: deny: port 8081 of `::1` is not allowed (policy.network.allow_hosts[3] "[::1]:8080" admits port 8080); add `[::1]:8081` to allow_hosts to allow it [default: port not in policy.network.allow_hosts]
                GET http://a.example.com:1234/: allow"#]],
        );
    }

    /// Per-host rules: methods, path prefixes with a `/` boundary after normalisation,
    /// size caps; a request to a host with rules must fit one.
    #[test]
    fn request_rules_name_methods_paths_and_sizes() {
        check_requests(
            NetworkRulesConfig {
                allow_hosts: vec!["hooks.slack.com".into(), "api.github.com".into()],
                rules: vec![RequestRuleConfig {
                    host: "hooks.slack.com".into(),
                    methods: Some(vec!["post".into()]),
                    path_prefixes: Some(vec!["/services/".into()]),
                    max_path_bytes: Some(64),
                    max_query_bytes: Some(0),
                    max_body_bytes: Some(100),
                }],
            },
            &[
                "POST https://hooks.slack.com/services/T0/B0/xyz 50",
                "POST https://hooks.slack.com/services 50",
                "GET https://hooks.slack.com/services/T0/B0/xyz",
                "POST https://hooks.slack.com/servicesx/T0 10",
                "POST https://hooks.slack.com/other/T0 10",
                "POST https://hooks.slack.com/services/T0?leak=secret 10",
                "POST https://hooks.slack.com/services/T0? 10",
                "POST https://hooks.slack.com/services/T0 101",
                "POST https://hooks.slack.com/services/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1",
                "POST https://hooks.slack.com/services/../admin 1",
                "POST https://hooks.slack.com/services/%2e%2e/admin 1",
                "POST https://hooks.slack.com/services%2Fx 1",
                "POST https://hooks.slack.com/services/a%252Fb 1",
                "POST https://hooks.slack.com/services//x 1",
                "POST https://hooks.slack.com/services/a;b 1",
                "POST https://hooks.slack.com/services/%zz 1",
                "POST https://hooks.slack.com/other/../services/T0 1",
                "POST https://hooks.slack.com/services/%54%30 1",
                "GET https://api.github.com/anything?q=1",
            ],
            expect![[r#"
                POST https://hooks.slack.com/services/T0/B0/xyz 50: allow
                POST https://hooks.slack.com/services 50: allow
                GET https://hooks.slack.com/services/T0/B0/xyz: deny: GET is not allowed to `hooks.slack.com` (methods: POST) [policy.network.rule[0]]
                POST https://hooks.slack.com/servicesx/T0 10: deny: the path `/servicesx/T0` is not under an allowed prefix of `hooks.slack.com` (/services) [policy.network.rule[0]]
                POST https://hooks.slack.com/other/T0 10: deny: the path `/other/T0` is not under an allowed prefix of `hooks.slack.com` (/services) [policy.network.rule[0]]
                POST https://hooks.slack.com/services/T0?leak=secret 10: deny: a query string is not allowed to `hooks.slack.com` [policy.network.rule[0]]
                POST https://hooks.slack.com/services/T0? 10: allow
                POST https://hooks.slack.com/services/T0 101: deny: the body has 101 bytes; at most 100 are allowed to `hooks.slack.com` [policy.network.rule[0]]
                POST https://hooks.slack.com/services/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 1: deny: the path has 78 bytes; at most 64 are allowed to `hooks.slack.com` [policy.network.rule[0]]
                POST https://hooks.slack.com/services/../admin 1: deny: the path `/admin` is not under an allowed prefix of `hooks.slack.com` (/services) [policy.network.rule[0]]
                POST https://hooks.slack.com/services/%2e%2e/admin 1: deny: the path `/services/%2e%2e/admin` is refused: `%2e%2e` is an encoded `..` segment [policy.network.rule[0]]
                POST https://hooks.slack.com/services%2Fx 1: deny: the path `/services%2Fx` is refused: `services%2Fx` decodes to a `/`, `\`, `%`, `;` or control character, which servers read differently [policy.network.rule[0]]
                POST https://hooks.slack.com/services/a%252Fb 1: deny: the path `/services/a%252Fb` is refused: `a%252Fb` decodes to a `/`, `\`, `%`, `;` or control character, which servers read differently [policy.network.rule[0]]
                POST https://hooks.slack.com/services//x 1: deny: the path `/services//x` is refused: an empty segment (`//`) is ambiguous [policy.network.rule[0]]
                POST https://hooks.slack.com/services/a;b 1: deny: the path `/services/a;b` is refused: `a;b` decodes to a `/`, `\`, `%`, `;` or control character, which servers read differently [policy.network.rule[0]]
                POST https://hooks.slack.com/services/%zz 1: deny: the path `/services/%zz` is refused: `%zz` has an invalid percent-encoding [policy.network.rule[0]]
                POST https://hooks.slack.com/other/../services/T0 1: allow
                POST https://hooks.slack.com/services/%54%30 1: allow
                GET https://api.github.com/anything?q=1: allow"#]],
        );
    }

    /// Every rule for a host applies (they only narrow, so layers can add them).
    #[test]
    fn every_rule_of_a_host_applies() {
        check_requests(
            NetworkRulesConfig {
                allow_hosts: vec!["api.example.com:*".into()],
                rules: vec![
                    RequestRuleConfig {
                        host: "api.example.com".into(),
                        methods: Some(vec!["POST".into()]),
                        ..RequestRuleConfig::default()
                    },
                    RequestRuleConfig {
                        host: "api.example.com:8443".into(),
                        max_body_bytes: Some(10),
                        ..RequestRuleConfig::default()
                    },
                ],
            },
            &[
                "POST https://api.example.com:8443/ 10",
                "POST https://api.example.com:8443/ 11",
                "POST https://api.example.com:9443/ 11",
                "GET https://api.example.com:8443/",
            ],
            expect![[r#"
                POST https://api.example.com:8443/ 10: allow
                POST https://api.example.com:8443/ 11: deny: the body has 11 bytes; at most 10 are allowed to `api.example.com` [policy.network.rule[1]]
                POST https://api.example.com:9443/ 11: allow
                GET https://api.example.com:8443/: deny: GET is not allowed to `api.example.com` (methods: POST) [policy.network.rule[0]]"#]],
        );
    }

    #[test]
    fn bad_rules_name_the_rule() {
        let errors: Vec<String> = [
            ("evil.com", None, None),
            ("hooks.slack.com:abc", None, None),
            ("hooks.slack.com", Some("FETCH"), None),
            ("hooks.slack.com", None, Some("services")),
            ("hooks.slack.com", None, Some("/a/%2e%2e")),
        ]
        .iter()
        .filter_map(|(host, method, prefix)| {
            NetworkPolicy::new(&NetworkRulesConfig {
                allow_hosts: vec!["hooks.slack.com".into()],
                rules: vec![RequestRuleConfig {
                    host: host.to_string(),
                    methods: method.map(|m| vec![m.to_string()]),
                    path_prefixes: prefix.map(|p| vec![p.to_string()]),
                    ..RequestRuleConfig::default()
                }],
            })
            .err()
            .map(|error| error.to_string())
        })
        .collect();
        expect![[r#"
            [
                "policy.network.rule[0]: host `evil.com` is not admitted by policy.network.allow_hosts; a rule only narrows an allowed host",
                "policy.network.rule[0]: invalid host `hooks.slack.com:abc`: port `abc` is not a number from 1 to 65535, or `*` for any port",
                "policy.network.rule[0]: unknown method `FETCH` (methods: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS)",
                "policy.network.rule[0]: path prefix `services` must start with `/` and be a plain path",
                "policy.network.rule[0]: path prefix `/a/%2e%2e` must start with `/` and be a plain path",
            ]
        "#]].assert_debug_eq(&errors);
    }
}

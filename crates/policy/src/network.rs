//! Network rules: `[policy.network] allow_hosts`, and which IP addresses may be reached.
//!
//! [`NetworkPolicy::check_host`] answers for a host name before it is resolved: exact names
//! (`api.github.com`), wildcards (`*.example.com`: any subdomain, not the domain itself)
//! and IP literals. [`NetworkPolicy::check_address`] answers for each address the name
//! resolved to (the caller then connects to that checked address only): an address that is
//! not public ([`classify_ip`]: loopback, private, link-local, cloud metadata, CGNAT,
//! multicast…) is refused unless that exact address is listed too. A host name never
//! admits a non-public address by itself, so a name that resolves (or is rebound) to
//! 127.0.0.1 or 169.254.169.254 cannot reach the inside.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{Decision, PolicyError};

/// `[policy.network]` as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkRulesConfig {
    /// Empty: no host may be reached.
    pub allow_hosts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`, stored as `.example.com`.
    Wildcard(String),
    Address(IpAddr),
}

/// Compiled network rules.
#[derive(Debug, Clone)]
pub struct NetworkPolicy {
    allow_hosts: Vec<(String, HostPattern)>,
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

impl NetworkPolicy {
    pub fn new(config: &NetworkRulesConfig) -> Result<NetworkPolicy, PolicyError> {
        let mut allow_hosts = Vec::new();
        for (i, source) in config.allow_hosts.iter().enumerate() {
            let rule = format!("policy.network.allow_hosts[{i}] \"{source}\"");
            let bad = |reason: String| PolicyError::BadHostPattern {
                rule: format!("policy.network.allow_hosts[{i}]"),
                pattern: source.clone(),
                reason,
            };
            let host = normalize_host(source);
            let pattern = if let Ok(ip) = host.parse::<IpAddr>() {
                HostPattern::Address(ip)
            } else if let Some(domain) = host.strip_prefix("*.") {
                valid_host_name(domain).map_err(bad)?;
                HostPattern::Wildcard(format!(".{domain}"))
            } else {
                valid_host_name(&host).map_err(bad)?;
                HostPattern::Exact(host)
            };
            allow_hosts.push((rule, pattern));
        }
        Ok(NetworkPolicy { allow_hosts })
    }

    /// May a request go to `host` (a name or an IP literal)?
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
        for (_, pattern) in &self.allow_hosts {
            let matched = match pattern {
                HostPattern::Exact(name) => *name == host,
                HostPattern::Wildcard(suffix) => host.ends_with(suffix.as_str()),
                HostPattern::Address(_) => false,
            };
            if matched {
                return Decision::Allow;
            }
        }
        Decision::deny(
            format!("`{host}` is not in policy.network.allow_hosts"),
            HOST_RULE,
        )
    }

    /// May a request go to the IP literal `ip`? Listed exactly, or public and allowed by
    /// nothing else: IP literals must be listed.
    pub fn check_ip(&self, ip: IpAddr) -> Decision {
        let listed = self
            .allow_hosts
            .iter()
            .any(|(_, pattern)| *pattern == HostPattern::Address(ip));
        if listed {
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
        if class.is_public() {
            return Decision::Allow;
        }
        let address_listed = self
            .allow_hosts
            .iter()
            .any(|(_, pattern)| *pattern == HostPattern::Address(ip));
        if address_listed {
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
}

impl fmt::Display for NetworkPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "[policy.network]")?;
        if self.allow_hosts.is_empty() {
            writeln!(f, "  allow_hosts: none (no host may be reached)")?;
        }
        for (rule, _) in &self.allow_hosts {
            writeln!(f, "  {rule}")?;
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
}

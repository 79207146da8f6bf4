//! Whether one allow-list entry admits no more than another: the comparisons behind
//! "allow lists narrow from one layer to the next" and "an untrusted project layer may
//! only tighten" (`layers`).
//!
//! Every answer is conservative: `true` only when everything the lower entry admits is
//! shown to be admitted by the upper one, under the matching rules of `rein-policy`
//! (command words, path globs, host patterns). When that cannot be shown, the entry widens.

use std::path::Path;

/// How entries of one allow list compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coverage {
    /// Names (builtin tools, environment variables, MCP tool names): the same name.
    Name,
    /// `policy.commands.allow`: argv-prefix patterns.
    Command,
    /// `policy.paths.read` / `write`: globs relative to the workspace.
    PathGlob,
    /// `policy.network.allow_hosts`.
    Host,
    /// `environment.system_paths`: absolute folders.
    Folder,
}

impl Coverage {
    /// Whether `upper` admits everything `lower` admits.
    pub(crate) fn covers(self, upper: &str, lower: &str) -> bool {
        match self {
            Coverage::Name => upper == lower,
            Coverage::Command => command_covers(upper, lower),
            Coverage::PathGlob => glob_covers(upper, lower),
            Coverage::Host => host_covers(upper, lower),
            Coverage::Folder => folder_covers(upper, lower),
        }
    }

    /// The first entry of `lower` no entry of `upper` covers.
    pub(crate) fn first_outside<'a>(
        self,
        upper: &[String],
        lower: &'a [String],
    ) -> Option<&'a String> {
        lower
            .iter()
            .find(|entry| !upper.iter().any(|u| self.covers(u, entry)))
    }
}

/// `*` matches any characters (including none); everything else is literal.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Command patterns: words; `*` alone is any one word (any rest when last), `*` inside a
/// word any characters. An allow pattern admits every argv it is a prefix of, so `upper`
/// covers `lower` when each of its words covers `lower`'s word at the same place.
fn command_covers(upper: &str, lower: &str) -> bool {
    let upper: Vec<&str> = upper.split_whitespace().collect();
    let lower: Vec<&str> = lower.split_whitespace().collect();
    for (idx, word) in upper.iter().enumerate() {
        let last = idx + 1 == upper.len();
        if *word == "*" && last {
            return true;
        }
        let Some(other) = lower.get(idx) else {
            // `lower` admits shorter argvs than `upper` does.
            return false;
        };
        let covered = if *word == "*" {
            true
        } else if *other == "*" {
            false
        } else if word.contains('*') {
            // A glob word covers a literal it matches, or the same glob.
            word == other || (!other.contains('*') && wildcard_match(word, other))
        } else {
            word == other
        };
        if !covered {
            return false;
        }
    }
    true
}

fn has_glob_syntax(text: &str) -> bool {
    text.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

/// Path globs (`*` does not cross `/`, `**` does): the same glob, `**` (everything), a
/// `DIR/**` above the other, or a literal path the glob matches.
fn glob_covers(upper: &str, lower: &str) -> bool {
    let norm = |s: &str| s.trim().trim_start_matches("./").to_owned();
    let (upper, lower) = (norm(upper), norm(lower));
    if upper == lower || upper == "**" {
        return true;
    }
    if let Some(dir) = upper.strip_suffix("/**")
        && !has_glob_syntax(dir)
        && lower.starts_with(&format!("{dir}/"))
    {
        return true;
    }
    if has_glob_syntax(&lower) {
        return false;
    }
    // A literal path against a glob of `*` (within one component) and `**` components.
    glob_matches(&upper, &lower)
}

fn glob_matches(glob: &str, path: &str) -> bool {
    let glob: Vec<&str> = glob.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    fn go(glob: &[&str], path: &[&str]) -> bool {
        match glob.split_first() {
            None => path.is_empty(),
            Some((&"**", rest)) => (0..=path.len()).any(|skip| go(rest, &path[skip..])),
            Some((part, rest)) => match path.split_first() {
                Some((name, path_rest)) => {
                    !part.contains(['?', '[', ']', '{', '}', '\\'])
                        && wildcard_match(part, name)
                        && go(rest, path_rest)
                }
                None => false,
            },
        }
    }
    go(&glob, &path)
}

/// Host patterns: an exact name, `*.domain` (any subdomain, not the domain), an IP
/// address; an optional `:PORT` or `:*` after the host (`[v6]:PORT` for IPv6).
fn host_covers(upper: &str, lower: &str) -> bool {
    let (upper_host, upper_port) = split_host_port(upper);
    let (lower_host, lower_port) = split_host_port(lower);
    let ports_covered = match (upper_port, lower_port) {
        (Port::Any, _) => true,
        (Port::Default, Port::Default) => true,
        (Port::Default, Port::Number(p)) => p == 80 || p == 443,
        (Port::Number(u), Port::Number(l)) => u == l,
        (Port::Number(_), _) | (Port::Default, Port::Any) => false,
    };
    ports_covered && host_name_covers(&upper_host, &lower_host)
}

fn host_name_covers(upper: &str, lower: &str) -> bool {
    let norm = |s: &str| s.trim().trim_end_matches('.').to_ascii_lowercase();
    let (upper, lower) = (norm(upper), norm(lower));
    if let (Ok(u), Ok(l)) = (
        upper.parse::<std::net::IpAddr>(),
        lower.parse::<std::net::IpAddr>(),
    ) {
        return u == l;
    }
    match (upper.strip_prefix("*."), lower.strip_prefix("*.")) {
        (None, None) => upper == lower,
        (Some(domain), None) => lower.ends_with(&format!(".{domain}")),
        (Some(domain), Some(other)) => other == domain || other.ends_with(&format!(".{domain}")),
        (None, Some(_)) => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    /// No port written: 80 and 443.
    Default,
    /// `:*`.
    Any,
    Number(u16),
}

/// The host of an `allow_hosts` entry, without its port or IPv6 brackets.
pub(crate) fn host_part(entry: &str) -> String {
    split_host_port(entry).0
}

/// `host`, `host:443`, `host:*`, `[::1]:8080`, `::1` (a bare IPv6 address has no port).
fn split_host_port(entry: &str) -> (String, Port) {
    let entry = entry.trim();
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            return (host.to_owned(), parse_port(after.strip_prefix(':')));
        }
        return (entry.to_owned(), Port::Default);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host.to_owned(), parse_port(Some(port))),
        _ => (entry.to_owned(), Port::Default),
    }
}

fn parse_port(port: Option<&str>) -> Port {
    match port {
        None => Port::Default,
        Some("*") => Port::Any,
        // A port that does not parse admits nothing a valid one would: it is refused by the
        // policy when the spec is resolved; here it covers only itself.
        Some(p) => p.parse().map_or(Port::Number(0), Port::Number),
    }
}

/// Folders: the same folder or one below it (compared by components).
fn folder_covers(upper: &str, lower: &str) -> bool {
    let (upper, lower) = (Path::new(upper.trim()), Path::new(lower.trim()));
    if lower
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return false;
    }
    lower.starts_with(upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_cases() {
        let cases = [
            (
                Coverage::Command,
                "cargo test",
                "cargo test --release",
                true,
            ),
            (Coverage::Command, "cargo test", "cargo test", true),
            (Coverage::Command, "cargo test", "cargo", false),
            (Coverage::Command, "cargo", "cargo build", true),
            (Coverage::Command, "cargo *", "cargo", true),
            (Coverage::Command, "git * status", "git -C status", true),
            (Coverage::Command, "git -C status", "git * status", false),
            (Coverage::Command, "ls", "bash", false),
            (Coverage::Command, "python*", "python3 x.py", true),
            (Coverage::Command, "python3", "python*", false),
            (Coverage::PathGlob, "**", "src/**", true),
            (Coverage::PathGlob, "src/**", "src/a/*.rs", true),
            (Coverage::PathGlob, "src/**", "srcx/a", false),
            (Coverage::PathGlob, "src/*.rs", "src/main.rs", true),
            (Coverage::PathGlob, "src/*.rs", "src/a/main.rs", false),
            (Coverage::PathGlob, "src/*.rs", "src/**", false),
            (Coverage::PathGlob, "**/*.md", "docs/a.md", true),
            (Coverage::Host, "api.github.com", "api.github.com", true),
            (Coverage::Host, "api.github.com", "API.github.com.", true),
            (Coverage::Host, "*.github.com", "api.github.com", true),
            (Coverage::Host, "*.github.com", "github.com", false),
            (Coverage::Host, "*.github.com", "*.x.github.com", true),
            (Coverage::Host, "api.github.com", "*.github.com", false),
            (Coverage::Host, "api.github.com", "api.github.com:443", true),
            (
                Coverage::Host,
                "api.github.com",
                "api.github.com:8443",
                false,
            ),
            (
                Coverage::Host,
                "api.github.com:*",
                "api.github.com:8443",
                true,
            ),
            (
                Coverage::Host,
                "api.github.com:8443",
                "api.github.com",
                false,
            ),
            (Coverage::Host, "api.github.com", "api.github.com:*", false),
            (Coverage::Host, "[::1]:8080", "0:0:0:0:0:0:0:1", false),
            (Coverage::Host, "[::1]:8080", "[0:0::1]:8080", true),
            (Coverage::Host, "10.0.0.5", "10.0.0.5", true),
            (Coverage::Folder, "/usr", "/usr/lib", true),
            (Coverage::Folder, "/usr", "/usrx", false),
            (Coverage::Folder, "/usr", "/usr/../home", false),
            (Coverage::Name, "shell", "shell", true),
            (Coverage::Name, "read_file", "shell", false),
        ];
        for (coverage, upper, lower, expected) in cases {
            assert_eq!(
                coverage.covers(upper, lower),
                expected,
                "{coverage:?}: {upper:?} covers {lower:?}"
            );
        }
    }
}

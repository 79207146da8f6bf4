//! Layered configuration: the system, user and project config files, the agent file, a
//! profile and `--set` flags merged into one agent spec, with where each value came from,
//! under the organisation's locked policy. Documented in `docs/config.md`.
//!
//! Layers, lowest first: system (`/etc/rein/config.toml`, or `$REIN_SYSTEM_CONFIG`), user
//! (`$XDG_CONFIG_HOME/rein/config.toml`, else `$HOME/.config/rein/config.toml`), project
//! (the first `.rein/config.toml` found from the agent file's folder upwards), the agent
//! file, the selected `[profile.NAME]` of every config file (in the same order), then each
//! `--set key=value`. Tables merge key by key, a higher layer's scalar or list replaces a
//! lower one's, except the lists of [`ACCUMULATED_LISTS`], which are the union of every
//! layer's.
//!
//! How: every layer is first checked on its own by the agent file's parser (so an error
//! names the config file, line and column), then the layers are merged as TOML values that
//! remember their layer and span, written back as one TOML document and resolved like an
//! agent file. An error in that document is pointed back at the layer the value came from.
//! Finally the `[locked]` rules of the system file and of `$REIN_POLICY_FILE` are checked
//! against the resolved spec.
//!
//! **Invariant:** the environment is [`LoadOptions::env`]; files read are the layers, the
//! agent file and the policy file. No value is ever taken from a layer that failed to parse.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::{Location, SpecError};
use crate::narrow::Coverage;
use crate::raw::{self, SourceText};
use crate::spec::{AgentSpec, NetworkSpec, SandboxKind};
use crate::trust::{self, Owner, ProjectTrust, TrustStatus, TrustStore};
use crate::{AGENT_FILE_NAME, LoadOptions};

/// The system config file, unless `REIN_SYSTEM_CONFIG` names another.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/rein/config.toml";
/// The project config file, looked for from the agent file's folder upwards.
pub const PROJECT_CONFIG_PATH: &str = ".rein/config.toml";
/// Names another system config file (for tests and unusual installs).
pub const ENV_SYSTEM_CONFIG: &str = "REIN_SYSTEM_CONFIG";
/// Names a policy file holding only `[locked]`, checked like the system file's.
pub const ENV_POLICY_FILE: &str = "REIN_POLICY_FILE";
/// Selects a profile when `--profile` is not given.
pub const ENV_PROFILE: &str = "REIN_PROFILE";

/// Lists that are the union of every layer's values instead of being replaced by the
/// highest layer's: a lower layer's denials cannot be removed by a higher one.
pub const ACCUMULATED_LISTS: &[&str] = &[
    // An organisation's hooks cannot be dropped by a lower layer; they run first.
    "hooks",
    "policy.commands.deny",
    "policy.commands.ask",
    "policy.paths.deny",
    // Every rule for a host applies, so a layer can add rules but not drop one.
    "policy.network.rule",
];

/// Allow lists, which narrow from one layer to the next: a layer that sets one may only
/// name what the list it replaces admits (see [`crate::narrow`]). `[[tools.mcp]]`
/// `allow_tools` narrows the same way per server name.
pub const ALLOW_LISTS: &[&str] = &[
    "tools.builtin",
    "policy.commands.allow",
    "policy.commands.allow_env",
    "policy.paths.read",
    "policy.paths.write",
    "policy.network.allow_hosts",
    "environment.env_passthrough",
    "environment.system_paths",
];

fn allow_list_coverage(dotted: &str) -> Option<Coverage> {
    Some(match dotted {
        "tools.builtin" | "policy.commands.allow_env" | "environment.env_passthrough" => {
            Coverage::Name
        }
        "policy.commands.allow" => Coverage::Command,
        "policy.paths.read" | "policy.paths.write" => Coverage::PathGlob,
        "policy.network.allow_hosts" => Coverage::Host,
        "environment.system_paths" => Coverage::Folder,
        _ => return None,
    })
}

/// Settings an untrusted project layer may set whatever the other layers say: they widen
/// nothing (a table here covers its keys).
const FREE_KEYS: &[&str] = &[
    "name",
    "description",
    "prompt",
    "model.name",
    "model.temperature",
    "model.stream",
];

/// How [`load_layered`] finds its layers besides the agent file.
#[derive(Debug, Clone, Default)]
pub struct LayerOptions {
    /// `--profile NAME`; `None` falls back to `REIN_PROFILE` from [`LoadOptions::env`].
    pub profile: Option<String>,
    /// `--set key=value` arguments, in order (a later one wins).
    pub sets: Vec<String>,
    /// Do not read the system file (nor its `[locked]`); the CLI never sets this.
    pub skip_system: bool,
    /// Do not read the user file.
    pub skip_user: bool,
    /// Hermetic (CI): no user file and no project file (nor the trust store) — only the
    /// system file, the policy file, the agent file and the flags count.
    pub hermetic: bool,
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerSource {
    System(PathBuf),
    User(PathBuf),
    Project(PathBuf),
    Agent(PathBuf),
    /// `[profile.NAME]` of a config file.
    Profile {
        name: String,
        file: PathBuf,
    },
    /// A `--set key=value` argument, as given.
    Set(String),
    /// Filled in or added by the `[locked]` table of this file.
    Locked(PathBuf),
}

impl fmt::Display for LayerSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerSource::System(p) => write!(f, "system {}", p.display()),
            LayerSource::User(p) => write!(f, "user {}", p.display()),
            LayerSource::Project(p) => write!(f, "project {}", p.display()),
            LayerSource::Agent(p) => write!(f, "agent {}", p.display()),
            LayerSource::Profile { name, file } => {
                write!(f, "profile {name} in {}", file.display())
            }
            LayerSource::Set(arg) => write!(f, "--set {arg}"),
            LayerSource::Locked(p) => write!(f, "locked by {}", p.display()),
        }
    }
}

/// A spec loaded through the layers.
#[derive(Debug, Clone)]
pub struct Layered {
    pub spec: AgentSpec,
    /// Dotted key (`limits.max_cost_usd`) → the layer its effective value came from. Lists
    /// are one key; items of accumulated lists also have `key[index]`. Keys absent here
    /// have their default value.
    pub provenance: BTreeMap<String, LayerSource>,
    /// Config files read, lowest first (the agent file and policy file not included).
    pub layers: Vec<PathBuf>,
    /// The selected profile, if any.
    pub profile: Option<String>,
    /// The `--set` arguments applied, in order.
    pub sets: Vec<String>,
    /// The locked policies that apply (system file, then `REIN_POLICY_FILE`).
    pub locks: Vec<LockedPolicy>,
    /// The project config file, if one was found, and whether it is trusted.
    pub project: Option<ProjectTrust>,
}

/// A `[locked]` table: settings no layer below may loosen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockedPolicy {
    /// The file holding it.
    pub file: PathBuf,
    /// Whether it came from `REIN_POLICY_FILE` (else the system file).
    pub from_policy_file: bool,
    /// Ceilings: the effective value must be at most this; unset, it becomes this.
    pub max_cost_usd: Option<f64>,
    pub max_total_tokens: Option<u64>,
    pub max_wall_time: Option<Duration>,
    pub max_steps: Option<u32>,
    /// Sandbox backends that may not be used.
    pub sandbox_not: Vec<SandboxKind>,
    /// `network = "none"`: commands may not get the host's network.
    pub network_none: bool,
    /// Always in `policy.commands.deny`.
    pub deny_commands: Vec<String>,
    /// Hosts no `policy.network.allow_hosts` entry may admit.
    pub deny_hosts: Vec<String>,
    /// Where each rule is written: key → `path:line:column`.
    pub locations: BTreeMap<String, Location>,
}

impl LockedPolicy {
    /// Each rule as `(setting, rule text)`, e.g. `("limits.max_cost_usd", "≤ 1.0")`.
    pub fn rules(&self) -> Vec<(String, String)> {
        let mut rules = Vec::new();
        if let Some(v) = self.max_cost_usd {
            rules.push(("limits.max_cost_usd".to_owned(), format!("≤ {}", float(v))));
        }
        if let Some(v) = self.max_total_tokens {
            rules.push(("limits.max_total_tokens".to_owned(), format!("≤ {v}")));
        }
        if let Some(v) = self.max_wall_time {
            rules.push((
                "limits.max_wall_time".to_owned(),
                format!("≤ {}", humantime::format_duration(v)),
            ));
        }
        if let Some(v) = self.max_steps {
            rules.push(("loop.max_steps".to_owned(), format!("≤ {v}")));
        }
        if !self.sandbox_not.is_empty() {
            let names: Vec<&str> = self.sandbox_not.iter().map(|s| s.as_str()).collect();
            rules.push((
                "environment.sandbox".to_owned(),
                format!("not {}", names.join(", ")),
            ));
        }
        if self.network_none {
            rules.push(("environment.network".to_owned(), "= none".to_owned()));
        }
        if !self.deny_commands.is_empty() {
            rules.push((
                "policy.commands.deny".to_owned(),
                format!("⊇ {}", quoted_list(&self.deny_commands)),
            ));
        }
        if !self.deny_hosts.is_empty() {
            rules.push((
                "policy.network.allow_hosts".to_owned(),
                format!("never admits {}", quoted_list(&self.deny_hosts)),
            ));
        }
        rules
    }

    /// `system policy /etc/rein/config.toml:3:1` for the rule written at `key`.
    fn describe(&self, key: &str) -> String {
        let place = match self.locations.get(key) {
            Some(location) => location.to_string(),
            None => self.file.display().to_string(),
        };
        if self.from_policy_file {
            format!("policy file {place} ({ENV_POLICY_FILE})")
        } else {
            format!("system policy {place}")
        }
    }
}

fn quoted_list(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(", "))
}

fn float(x: f64) -> String {
    toml::Value::Float(x).to_string()
}

/// Load an agent file through every layer. `agent_path` may be a folder holding
/// `agent.toml`.
pub fn load_layered(
    agent_path: &Path,
    opts: &LoadOptions,
    layered: &LayerOptions,
) -> Result<Layered, SpecError> {
    let agent_file: PathBuf = if agent_path.is_dir() {
        agent_path.join(AGENT_FILE_NAME)
    } else {
        agent_path.to_path_buf()
    };
    let agent_text =
        std::fs::read_to_string(&agent_file).map_err(|source| SpecError::ReadAgent {
            path: agent_file.clone(),
            source,
        })?;
    let config = ConfigStack::load(&agent_file, &agent_text, opts, layered)?;
    let mut loaded = config.resolve(opts)?;
    loaded.spec.hermetic = layered.hermetic;
    Ok(loaded)
}

/// One layer's text, for turning spans into locations.
#[derive(Debug, Clone)]
struct LayerText {
    source: LayerSource,
    /// What locations name: the file, or `--set` for flags.
    path: PathBuf,
    text: String,
}

/// A value and the layer (index into [`ConfigStack::layers`]) and span it came from.
#[derive(Debug, Clone)]
struct Origin {
    layer: usize,
    /// Byte span in the layer's text; `None` for flags and lock-added values.
    span: Option<Range<usize>>,
}

/// A table's entries, in the order first written.
type Entries = Vec<(String, Node)>;

#[derive(Debug, Clone)]
enum Node {
    Table(Entries, Origin),
    Array(Vec<Node>, Origin),
    /// A scalar as TOML text (`"a"`, `5`, `0.2`, `true`, a datetime).
    Scalar(String, Origin),
}

impl Node {
    fn origin(&self) -> &Origin {
        match self {
            Node::Table(_, o) | Node::Array(_, o) | Node::Scalar(_, o) => o,
        }
    }

    fn is_table_array(&self) -> bool {
        matches!(self, Node::Array(items, _)
            if !items.is_empty() && items.iter().all(|i| matches!(i, Node::Table(..))))
    }

    /// The value as TOML text, to compare list items.
    fn inline_text(&self) -> String {
        let mut r = Renderer::default();
        r.inline(self);
        r.out
    }

    fn get(&self, dotted: &str) -> Option<&Node> {
        let mut node = self;
        for part in dotted.split('.') {
            match node {
                Node::Table(entries, _) => {
                    node = entries.iter().find(|(k, _)| k == part).map(|(_, v)| v)?;
                }
                _ => return None,
            }
        }
        Some(node)
    }
}

fn from_de(value: &Spanned<DeValue<'_>>, layer: usize) -> Node {
    let origin = Origin {
        layer,
        span: Some(value.span()),
    };
    match value.get_ref() {
        DeValue::Table(table) => Node::Table(from_de_table(table, layer), origin),
        DeValue::Array(items) => {
            Node::Array(items.iter().map(|i| from_de(i, layer)).collect(), origin)
        }
        DeValue::String(s) => Node::Scalar(toml::Value::String(s.to_string()).to_string(), origin),
        DeValue::Integer(i) => Node::Scalar(i.to_string(), origin),
        DeValue::Float(f) => {
            let text = match f.as_str().parse::<f64>() {
                Ok(x) => float(x),
                Err(_) => f.as_str().to_owned(),
            };
            Node::Scalar(text, origin)
        }
        DeValue::Boolean(b) => Node::Scalar(b.to_string(), origin),
        DeValue::Datetime(d) => Node::Scalar(d.to_string(), origin),
    }
}

fn from_de_table(table: &DeTable<'_>, layer: usize) -> Entries {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
        .into_iter()
        .map(|(k, v)| (k.get_ref().to_string(), from_de(v, layer)))
        .collect()
}

/// An allow-list entry of a layer that the list it replaces does not admit.
#[derive(Debug, Clone)]
struct Narrowing {
    key: String,
    entry: String,
    /// The list replaced.
    upper: Origin,
    /// The entry (or the list) that widens it.
    lower: Origin,
}

/// The string a scalar node holds, if it is a string.
fn scalar_string(node: &Node) -> Option<String> {
    match node {
        Node::Scalar(text, _) => match DeValue::parse(text).ok()?.into_inner() {
            DeValue::String(s) => Some(s.into_owned()),
            _ => None,
        },
        _ => None,
    }
}

fn strings(items: &[Node]) -> Vec<String> {
    items.iter().filter_map(scalar_string).collect()
}

/// Check that `over` (a layer's list) stays within `base` (the list it replaces).
fn check_narrowing(
    key: &str,
    coverage: Coverage,
    base: &[Node],
    base_origin: &Origin,
    over: &[Node],
    out: &mut Vec<Narrowing>,
) {
    let upper = strings(base);
    for item in over {
        let Some(entry) = scalar_string(item) else {
            continue;
        };
        if !upper.iter().any(|u| coverage.covers(u, &entry)) {
            out.push(Narrowing {
                key: key.to_owned(),
                entry: format!("{entry:?}"),
                upper: base_origin.clone(),
                lower: item.origin().clone(),
            });
        }
    }
}

/// `[[tools.mcp]]` replaced by a layer: a server named like one of the list it replaces
/// keeps within that server's `allow_tools`.
fn check_mcp_narrowing(base: &[Node], over: &[Node], out: &mut Vec<Narrowing>) {
    for server in over {
        let Some(name) = server.get("name").and_then(scalar_string) else {
            continue;
        };
        let old = base
            .iter()
            .find(|s| s.get("name").and_then(scalar_string).as_deref() == Some(name.as_str()));
        let Some(Node::Array(old_allow, old_origin)) = old.and_then(|s| s.get("allow_tools"))
        else {
            continue;
        };
        let key = format!("tools.mcp.allow_tools (server {name:?})");
        match server.get("allow_tools") {
            Some(Node::Array(new_allow, _)) => {
                check_narrowing(&key, Coverage::Name, old_allow, old_origin, new_allow, out);
            }
            _ => out.push(Narrowing {
                key,
                entry: "every tool (no allow_tools)".to_owned(),
                upper: old_origin.clone(),
                lower: server.origin().clone(),
            }),
        }
    }
}

/// Merge `over` into `base` (both tables' entries); `path` is the dotted name of the table.
/// Allow lists that widen the list they replace are recorded in `narrowing`.
fn merge(base: &mut Entries, over: Entries, path: &str, narrowing: &mut Vec<Narrowing>) {
    for (key, value) in over {
        let dotted = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        let Some(slot) = base.iter_mut().find(|(k, _)| *k == key).map(|(_, v)| v) else {
            base.push((key, value));
            continue;
        };
        let coverage = allow_list_coverage(&dotted);
        match (slot, value) {
            (Node::Table(entries, origin), Node::Table(over_entries, over_origin)) => {
                merge(entries, over_entries, &dotted, narrowing);
                *origin = over_origin;
            }
            (Node::Array(items, origin), Node::Array(over_items, over_origin))
                if ACCUMULATED_LISTS.contains(&dotted.as_str()) =>
            {
                for item in over_items {
                    let text = item.inline_text();
                    if !items.iter().any(|i| i.inline_text() == text) {
                        items.push(item);
                    }
                }
                *origin = over_origin;
            }
            (Node::Array(items, origin), Node::Array(over_items, over_origin))
                if coverage.is_some() || dotted == "tools.mcp" =>
            {
                match coverage {
                    Some(coverage) => {
                        check_narrowing(&dotted, coverage, items, origin, &over_items, narrowing);
                    }
                    None => check_mcp_narrowing(items, &over_items, narrowing),
                }
                *items = over_items;
                *origin = over_origin;
            }
            (slot, value) => *slot = value,
        }
    }
}

/// Only the keys of [`FREE_KEYS`] (and the tables holding them).
fn keep_free(entries: &Entries, path: &str) -> Entries {
    let mut out = Vec::new();
    for (key, value) in entries {
        let dotted = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        if FREE_KEYS.contains(&dotted.as_str()) {
            out.push((key.clone(), value.clone()));
        } else if let Node::Table(inner, origin) = value
            && FREE_KEYS
                .iter()
                .any(|free| free.starts_with(&format!("{dotted}.")))
        {
            out.push((
                key.clone(),
                Node::Table(keep_free(inner, &dotted), origin.clone()),
            ));
        }
    }
    out
}

/// Whether a string uses `${…}` interpolation (`$${` is a literal `${`).
fn interpolates(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i..].starts_with(b"$${") {
            i += 3;
        } else if bytes[i..].starts_with(b"${") {
            return true;
        } else {
            i += 1;
        }
    }
    false
}

/// The first string under `entries` that interpolates, with its dotted key.
fn find_interpolation(entries: &Entries, path: &str) -> Option<(String, Origin)> {
    fn walk(node: &Node, key: &str) -> Option<(String, Origin)> {
        match node {
            Node::Table(entries, _) => find_interpolation(entries, key),
            Node::Array(items, _) => items.iter().find_map(|item| walk(item, key)),
            Node::Scalar(..) => scalar_string(node)
                .filter(|s| interpolates(s))
                .map(|_| (key.to_owned(), node.origin().clone())),
        }
    }
    entries.iter().find_map(|(key, value)| {
        let dotted = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        walk(value, &dotted)
    })
}

/// A TOML document written from merged nodes, with the span of every value in it.
#[derive(Default)]
struct Renderer {
    out: String,
    /// Span in `out` → origin; values, list items, lines and table headers.
    spans: Vec<(Range<usize>, Origin)>,
}

fn key_text(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        toml::Value::String(key.to_owned()).to_string()
    }
}

impl Renderer {
    fn document(root: &[(String, Node)]) -> Self {
        let mut r = Renderer {
            out: "# merged by rein from its config layers\n".to_owned(),
            spans: Vec::new(),
        };
        r.table_body(root, &[]);
        r
    }

    fn table_body(&mut self, entries: &[(String, Node)], path: &[String]) {
        for (key, value) in entries {
            if matches!(value, Node::Table(..)) || value.is_table_array() {
                continue;
            }
            let start = self.out.len();
            self.out.push_str(&key_text(key));
            self.out.push_str(" = ");
            self.inline(value);
            self.spans
                .push((start..self.out.len(), value.origin().clone()));
            self.out.push('\n');
        }
        for (key, value) in entries {
            let mut sub = path.to_vec();
            sub.push(key.clone());
            let header: Vec<String> = sub.iter().map(|k| key_text(k)).collect();
            match value {
                Node::Table(inner, origin) => {
                    self.out.push('\n');
                    let start = self.out.len();
                    let _ = write!(self.out, "[{}]", header.join("."));
                    self.spans.push((start..self.out.len(), origin.clone()));
                    self.out.push('\n');
                    self.table_body(inner, &sub);
                }
                Node::Array(items, _) if value.is_table_array() => {
                    for item in items {
                        let Node::Table(inner, origin) = item else {
                            continue;
                        };
                        self.out.push('\n');
                        let start = self.out.len();
                        let _ = write!(self.out, "[[{}]]", header.join("."));
                        self.spans.push((start..self.out.len(), origin.clone()));
                        self.out.push('\n');
                        self.table_body(inner, &sub);
                    }
                }
                _ => {}
            }
        }
    }

    fn inline(&mut self, node: &Node) {
        let start = self.out.len();
        match node {
            Node::Scalar(text, _) => self.out.push_str(text),
            Node::Array(items, _) if items.iter().all(|i| matches!(i, Node::Scalar(..))) => {
                if items.is_empty() {
                    self.out.push_str("[]");
                } else {
                    self.out.push_str("[\n");
                    for item in items {
                        self.out.push_str("    ");
                        self.inline(item);
                        self.out.push_str(",\n");
                    }
                    self.out.push(']');
                }
            }
            Node::Array(items, _) => {
                self.out.push('[');
                for (idx, item) in items.iter().enumerate() {
                    if idx > 0 {
                        self.out.push_str(", ");
                    }
                    self.inline(item);
                }
                self.out.push(']');
            }
            Node::Table(entries, _) => {
                self.out.push('{');
                for (idx, (key, value)) in entries.iter().enumerate() {
                    self.out.push_str(if idx > 0 { ", " } else { " " });
                    self.out.push_str(&key_text(key));
                    self.out.push_str(" = ");
                    self.inline(value);
                }
                self.out
                    .push_str(if entries.is_empty() { "}" } else { " }" });
            }
        }
        self.spans
            .push((start..self.out.len(), node.origin().clone()));
    }
}

/// One config file, checked.
struct ConfigFile {
    body: Entries,
    profiles: Vec<(String, Entries)>,
    /// The lock, and its `deny_commands` as a list node.
    locked: Option<(LockedPolicy, Option<Node>)>,
}

/// Every layer, loaded and checked, not merged yet.
struct ConfigStack {
    agent_file: PathBuf,
    agent_text: String,
    layers: Vec<LayerText>,
    /// Tables to merge in order, lowest first.
    stack: Vec<Entries>,
    /// Config files read.
    files: Vec<PathBuf>,
    profile: Option<String>,
    sets: Vec<String>,
    locks: Vec<LockedPolicy>,
    /// Whether anything besides the agent file takes part.
    only_agent: bool,
    /// The project config file and its trust.
    project: Option<ProjectTrust>,
    /// Layers (indices into `layers`) of an untrusted project file: its body and its
    /// selected profile.
    untrusted_layers: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    System,
    User,
    Project,
    Policy,
}

impl ConfigStack {
    fn load(
        agent_file: &Path,
        agent_text: &str,
        opts: &LoadOptions,
        layered: &LayerOptions,
    ) -> Result<Self, SpecError> {
        let env = |name: &str| opts.env.get(name).filter(|v| !v.is_empty()).cloned();
        let mut stack = ConfigStack {
            agent_file: agent_file.to_path_buf(),
            agent_text: agent_text.to_owned(),
            layers: Vec::new(),
            stack: Vec::new(),
            files: Vec::new(),
            profile: None,
            sets: layered.sets.clone(),
            locks: Vec::new(),
            only_agent: true,
            project: None,
            untrusted_layers: Vec::new(),
        };

        // Config files, lowest first; a missing default path is no layer, a missing path
        // named by a variable is an error (a policy that silently vanishes would fail open).
        let mut files: Vec<(FileKind, PathBuf, bool)> = Vec::new();
        if !layered.skip_system {
            match env(ENV_SYSTEM_CONFIG) {
                Some(path) => files.push((FileKind::System, PathBuf::from(path), true)),
                None => files.push((FileKind::System, PathBuf::from(SYSTEM_CONFIG_PATH), false)),
            }
        }
        if !layered.skip_user
            && !layered.hermetic
            && let Some(dir) = trust::user_config_dir(&opts.env)
        {
            files.push((FileKind::User, dir.join("config.toml"), false));
        }
        let agent_folder = agent_file.parent().unwrap_or(Path::new("."));
        if !layered.hermetic
            && let Some(project) = trust::find_project_config(agent_folder)
        {
            files.push((FileKind::Project, project, true));
        }
        if let Some(policy) = env(ENV_POLICY_FILE) {
            files.push((FileKind::Policy, PathBuf::from(policy), true));
        }

        let mut profiles: Vec<(usize, String, Entries)> = Vec::new();
        for (kind, path, required) in files {
            let owner = match kind {
                FileKind::System | FileKind::Policy => Owner::CurrentUserOrRoot,
                FileKind::User | FileKind::Project => Owner::CurrentUser,
            };
            let text = match trust::read_config(&path, owner)? {
                Some(text) => text,
                None if !required => continue,
                None => {
                    return Err(SpecError::ReadConfig {
                        path,
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    });
                }
            };
            let source = match kind {
                FileKind::System => LayerSource::System(path.clone()),
                FileKind::User => LayerSource::User(path.clone()),
                FileKind::Project => LayerSource::Project(path.clone()),
                FileKind::Policy => LayerSource::Locked(path.clone()),
            };
            let layer = stack.push_layer(source, &path, &text);
            let file = read_config_file(&path, &text, kind, layer)?;
            if kind == FileKind::Project {
                let store = TrustStore::load(&opts.env)?;
                let project = trust::assess(&path, &text, &store)?;
                if project.status != TrustStatus::Trusted {
                    stack.untrusted_layers.push(layer);
                }
                stack.project = Some(project);
            }
            if let Some((lock, deny_commands)) = file.locked {
                // The lock's commands come first in the accumulated deny list, attributed
                // to the lock.
                if let Some(deny) = deny_commands {
                    let lock_layer =
                        stack.push_layer(LayerSource::Locked(path.clone()), &path, &text);
                    let origin = Origin {
                        layer: lock_layer,
                        span: deny.origin().span.clone(),
                    };
                    let commands = Node::Table(
                        vec![("deny".to_owned(), relayer_node(deny, lock_layer))],
                        origin.clone(),
                    );
                    stack.stack.insert(
                        stack.locks.len(),
                        vec![(
                            "policy".to_owned(),
                            Node::Table(vec![("commands".to_owned(), commands)], origin),
                        )],
                    );
                }
                stack.locks.push(lock);
            }
            if kind != FileKind::Policy {
                stack.files.push(path.clone());
                stack.stack.push(file.body);
            }
            for (name, table) in file.profiles {
                profiles.push((layer, name, table));
            }
        }

        // The agent file.
        let agent_layer = stack.push_layer(
            LayerSource::Agent(agent_file.to_path_buf()),
            agent_file,
            agent_text,
        );
        raw::parse(agent_text, agent_file)?;
        let document = parse_toml(agent_text, agent_file)?;
        stack
            .stack
            .push(from_de_table(document.get_ref(), agent_layer));

        // The profile.
        let (selected, from_env) = match &layered.profile {
            Some(name) => (Some(name.clone()), false),
            None => (env(ENV_PROFILE), true),
        };
        if let Some(name) = selected {
            let mut found = false;
            for (layer, profile_name, table) in &profiles {
                if *profile_name == name {
                    let file = stack.layers[*layer].path.clone();
                    let text = stack.layers[*layer].text.clone();
                    let profile_layer = stack.push_layer(
                        LayerSource::Profile {
                            name: name.clone(),
                            file: file.clone(),
                        },
                        &file,
                        &text,
                    );
                    stack.stack.push(relayer(table.clone(), profile_layer));
                    if stack.untrusted_layers.contains(layer) {
                        stack.untrusted_layers.push(profile_layer);
                    }
                    found = true;
                }
            }
            if !found {
                let mut known: Vec<String> = profiles.iter().map(|(_, n, _)| n.clone()).collect();
                known.sort();
                known.dedup();
                return Err(SpecError::UnknownProfile {
                    name,
                    known,
                    from_env,
                });
            }
            stack.profile = Some(name);
        }

        // `--set` flags.
        for arg in &layered.sets {
            let layer = stack.push_layer(LayerSource::Set(arg.clone()), Path::new("--set"), arg);
            let table = parse_set(arg, layer)?;
            stack.stack.push(table);
        }

        stack.only_agent = stack.stack.len() == 1 && stack.locks.is_empty();
        Ok(stack)
    }

    fn push_layer(&mut self, source: LayerSource, path: &Path, text: &str) -> usize {
        self.layers.push(LayerText {
            source,
            path: path.to_path_buf(),
            text: text.to_owned(),
        });
        self.layers.len() - 1
    }

    fn resolve(self, opts: &LoadOptions) -> Result<Layered, SpecError> {
        let mut entries = Vec::new();
        let mut narrowing = Vec::new();
        for table in self.stack.clone() {
            merge(&mut entries, table, "", &mut narrowing);
        }
        if let Some(n) = narrowing.first() {
            return Err(SpecError::Widened {
                key: n.key.clone(),
                entry: n.entry.clone(),
                place: self.place(&n.lower),
                upper: self.place(&n.upper),
            });
        }
        if !self.untrusted_layers.is_empty() {
            self.check_untrusted_strings()?;
        }
        let mut spec = if self.only_agent {
            crate::parse_agent(&self.agent_text, &self.agent_file, opts)?
        } else {
            let rendered = Renderer::document(&entries);
            crate::parse_agent(&rendered.out, &self.agent_file, opts)
                .map_err(|err| self.map_error(err, &rendered))?
        };
        let root = Node::Table(
            entries,
            Origin {
                layer: 0,
                span: None,
            },
        );

        let mut provenance = BTreeMap::new();
        collect_provenance(&root, "", &self.layers, &mut provenance);
        for lock in &self.locks {
            self.apply_lock(lock, &root, &mut spec, &mut provenance)?;
        }
        if !self.untrusted_layers.is_empty() {
            self.check_untrusted(&spec, opts)?;
        }
        Ok(Layered {
            spec,
            provenance,
            layers: self.files,
            profile: self.profile,
            sets: self.sets,
            locks: self.locks,
            project: self.project,
        })
    }

    /// The layer a table of the stack belongs to.
    fn table_layer(table: &Entries) -> Option<usize> {
        table.first().map(|(_, node)| node.origin().layer)
    }

    fn untrusted_tables(&self) -> impl Iterator<Item = &Entries> {
        self.stack.iter().filter(|table| {
            Self::table_layer(table).is_some_and(|layer| self.untrusted_layers.contains(&layer))
        })
    }

    /// The error for a widening `key` of the untrusted project layer, pointed at where the
    /// layer writes it (or the closest table above it).
    fn untrusted_error(&self, key: &str, reason: String, others: usize) -> SpecError {
        let mut origin = None;
        let mut prefix = key;
        'search: loop {
            for table in self.untrusted_tables() {
                let root = Node::Table(
                    table.clone(),
                    Origin {
                        layer: 0,
                        span: None,
                    },
                );
                if let Some(node) = root.get(prefix) {
                    origin = Some(node.origin().clone());
                    break 'search;
                }
            }
            match prefix.rsplit_once('.') {
                Some((parent, _)) => prefix = parent,
                None => break,
            }
        }
        let (path, text, start) = match &origin {
            Some(origin) => {
                let layer = &self.layers[origin.layer];
                (
                    layer.path.clone(),
                    layer.text.clone(),
                    origin.span.as_ref().map_or(0, |s| s.start),
                )
            }
            None => match &self.project {
                Some(project) => (project.config.clone(), String::new(), 0),
                None => (self.agent_file.clone(), String::new(), 0),
            },
        };
        let location = SourceText {
            path: &path,
            text: &text,
        }
        .location(start);
        let (dir, changed) = match &self.project {
            Some(p) => (p.dir.clone(), p.status == TrustStatus::Changed),
            None => (PathBuf::from("."), false),
        };
        SpecError::Untrusted {
            location,
            key: key.to_owned(),
            reason,
            others,
            dir,
            changed,
        }
    }

    /// An untrusted layer reads nothing from the host: no `${env:…}` or `${secret:…}`.
    fn check_untrusted_strings(&self) -> Result<(), SpecError> {
        for table in self.untrusted_tables() {
            if let Some((key, _)) = find_interpolation(table, "") {
                return Err(self.untrusted_error(
                    &key,
                    "reads the host's environment or files (`${…}`)".to_owned(),
                    0,
                ));
            }
        }
        Ok(())
    }

    /// The untrusted project layer may only tighten: resolve the layers without it (its
    /// free keys kept, so the agent still loads) and compare.
    fn check_untrusted(&self, spec: &AgentSpec, opts: &LoadOptions) -> Result<(), SpecError> {
        let mut entries = Vec::new();
        let mut ignored = Vec::new();
        for table in &self.stack {
            let untrusted = Self::table_layer(table)
                .is_some_and(|layer| self.untrusted_layers.contains(&layer));
            let table = if untrusted {
                keep_free(table, "")
            } else {
                table.clone()
            };
            merge(&mut entries, table, "", &mut ignored);
        }
        let rendered = Renderer::document(&entries);
        let base = match crate::parse_agent(&rendered.out, &self.agent_file, opts) {
            Ok(base) => base,
            Err(err) => {
                let err = self.map_error(err, &rendered);
                return Err(self.untrusted_error(
                    "(the file)",
                    format!(
                        "holds settings the agent needs to load, and without them: {}",
                        err.to_string().lines().next().unwrap_or_default()
                    ),
                    0,
                ));
            }
        };
        let widenings = crate::tighten::widenings(spec, &base);
        match widenings.first() {
            Some((key, reason)) => {
                Err(self.untrusted_error(key, reason.clone(), widenings.len() - 1))
            }
            None => Ok(()),
        }
    }

    /// Point an error in the merged document at the layer its value came from.
    fn map_error(&self, mut err: SpecError, rendered: &Renderer) -> SpecError {
        let Some(location) = err.location().cloned() else {
            return err;
        };
        let offset = byte_offset(&rendered.out, location.line, location.column);
        // The innermost span holding the offset; offset 0 (a missing top-level key) is the
        // agent file's.
        let found = rendered
            .spans
            .iter()
            .filter(|(span, _)| span.start <= offset && offset < span.end.max(span.start + 1))
            .min_by_key(|(span, _)| span.end - span.start);
        let Some((span, origin)) = found.filter(|_| offset > 0) else {
            if let Some(loc) = err.location_mut() {
                *loc = SourceText {
                    path: &self.agent_file,
                    text: &self.agent_text,
                }
                .location(0);
            }
            return err;
        };
        let layer = &self.layers[origin.layer];
        match (&layer.source, &origin.span) {
            (_, Some(original)) => {
                let written = layer.text.get(original.clone()).unwrap_or("");
                let rendered_text = rendered.out.get(span.clone()).unwrap_or("");
                let new_offset = if written == rendered_text {
                    original.start + (offset - span.start)
                } else {
                    original.start
                };
                if let Some(loc) = err.location_mut() {
                    *loc = SourceText {
                        path: &layer.path,
                        text: &layer.text,
                    }
                    .location(new_offset);
                }
                err
            }
            (LayerSource::Set(arg), None) => SpecError::InSet {
                input: arg.clone(),
                message: without_location(&err),
            },
            (source, None) => SpecError::InSet {
                input: format!("({source})"),
                message: without_location(&err),
            },
        }
    }

    /// Where the value of `key` comes from, for lock errors.
    fn place_of(&self, root: &Node, key: &str) -> String {
        let Some(node) = root.get(key) else {
            return "the default".to_owned();
        };
        self.place(node.origin())
    }

    fn place(&self, origin: &Origin) -> String {
        let layer = &self.layers[origin.layer];
        let at = |span: &Option<Range<usize>>| match span {
            Some(span) => SourceText {
                path: &layer.path,
                text: &layer.text,
            }
            .location(span.start)
            .to_string(),
            None => layer.path.display().to_string(),
        };
        match &layer.source {
            LayerSource::Set(arg) => format!("--set {arg}"),
            LayerSource::Profile { name, .. } => {
                format!("profile `{name}` at {}", at(&origin.span))
            }
            _ => at(&origin.span),
        }
    }

    fn apply_lock(
        &self,
        lock: &LockedPolicy,
        root: &Node,
        spec: &mut AgentSpec,
        provenance: &mut BTreeMap<String, LayerSource>,
    ) -> Result<(), SpecError> {
        let locked_by = LayerSource::Locked(lock.file.clone());
        let violation = |key: &str, rule_key: &str, rule: String, value: String, hint: &str| {
            SpecError::Locked {
                policy: lock.describe(rule_key),
                rule,
                place: self.place_of(root, key),
                value,
                hint: hint.to_owned(),
            }
        };
        if let Some(ceiling) = lock.max_cost_usd {
            match spec.limits.max_cost_usd {
                Some(v) if v > ceiling => {
                    return Err(violation(
                        "limits.max_cost_usd",
                        "max_cost_usd",
                        format!("limits.max_cost_usd ≤ {}", float(ceiling)),
                        float(v),
                        &format!("set it to {} or less, or remove it", float(ceiling)),
                    ));
                }
                Some(_) => {}
                None => {
                    spec.limits.max_cost_usd = Some(ceiling);
                    provenance.insert("limits.max_cost_usd".to_owned(), locked_by.clone());
                }
            }
        }
        if let Some(ceiling) = lock.max_total_tokens {
            match spec.limits.max_total_tokens {
                Some(v) if v > ceiling => {
                    return Err(violation(
                        "limits.max_total_tokens",
                        "max_total_tokens",
                        format!("limits.max_total_tokens ≤ {ceiling}"),
                        v.to_string(),
                        &format!("set it to {ceiling} or less, or remove it"),
                    ));
                }
                Some(_) => {}
                None => {
                    spec.limits.max_total_tokens = Some(ceiling);
                    provenance.insert("limits.max_total_tokens".to_owned(), locked_by.clone());
                }
            }
        }
        if let Some(ceiling) = lock.max_wall_time {
            let text = humantime::format_duration(ceiling).to_string();
            match spec.limits.max_wall_time {
                Some(v) if v > ceiling => {
                    return Err(violation(
                        "limits.max_wall_time",
                        "max_wall_time",
                        format!("limits.max_wall_time ≤ {text}"),
                        humantime::format_duration(v).to_string(),
                        &format!("set it to {text} or less, or remove it"),
                    ));
                }
                Some(_) => {}
                None => {
                    spec.limits.max_wall_time = Some(ceiling);
                    provenance.insert("limits.max_wall_time".to_owned(), locked_by.clone());
                }
            }
        }
        if let Some(ceiling) = lock.max_steps
            && spec.loop_.max_steps > ceiling
        {
            if root.get("loop.max_steps").is_some() {
                return Err(violation(
                    "loop.max_steps",
                    "max_steps",
                    format!("loop.max_steps ≤ {ceiling}"),
                    spec.loop_.max_steps.to_string(),
                    &format!("set it to {ceiling} or less, or remove it"),
                ));
            }
            // The default is above the ceiling: the ceiling applies.
            spec.loop_.max_steps = ceiling;
            provenance.insert("loop.max_steps".to_owned(), locked_by.clone());
        }
        if lock.sandbox_not.contains(&spec.environment.sandbox) {
            let names: Vec<&str> = lock.sandbox_not.iter().map(|s| s.as_str()).collect();
            return Err(violation(
                "environment.sandbox",
                "sandbox_not",
                format!("environment.sandbox not {}", names.join(", ")),
                spec.environment.sandbox.as_str().to_owned(),
                "choose another sandbox backend in environment.sandbox",
            ));
        }
        if lock.network_none && spec.environment.network == NetworkSpec::Host {
            return Err(violation(
                "environment.network",
                "network",
                "environment.network = \"none\"".to_owned(),
                "host".to_owned(),
                "remove environment.network, or set it to \"none\"; give http_request hosts through policy.network.allow_hosts",
            ));
        }
        for (idx, allowed) in spec.policy.network.allow_hosts.iter().enumerate() {
            if let Some(denied) = lock.deny_hosts.iter().find(|d| hosts_overlap(allowed, d)) {
                let item = root
                    .get("policy.network.allow_hosts")
                    .and_then(|n| match n {
                        Node::Array(items, _) => items.get(idx),
                        _ => None,
                    });
                let place = match item {
                    Some(item) => self.place(item.origin()),
                    None => self.place_of(root, "policy.network.allow_hosts"),
                };
                return Err(SpecError::Locked {
                    policy: lock.describe("deny_hosts"),
                    rule: format!("policy.network.allow_hosts never admits {denied:?}"),
                    place,
                    value: format!("{allowed:?}"),
                    hint: format!("remove {allowed:?} from policy.network.allow_hosts"),
                });
            }
        }
        for command in &lock.deny_commands {
            if !spec.policy.commands.deny.contains(command) {
                // Unreachable when merged: the lock's commands are the first layer.
                spec.policy.commands.deny.insert(0, command.clone());
            }
        }
        Ok(())
    }
}

/// Whether an `allow_hosts` entry admits a host a `deny_hosts` entry names. Patterns are
/// exact names, `*.domain` (any subdomain, not the domain itself) and IP addresses.
fn hosts_overlap(allowed: &str, denied: &str) -> bool {
    // A port (`host:8443`, `[::1]:8080`) does not matter: the lock denies the host.
    let norm = |s: &str| {
        crate::narrow::host_part(s)
            .trim_end_matches('.')
            .to_ascii_lowercase()
    };
    let (allowed, denied) = (norm(allowed), norm(denied));
    match (allowed.strip_prefix('*'), denied.strip_prefix('*')) {
        (None, None) => match (
            allowed.parse::<std::net::IpAddr>(),
            denied.parse::<std::net::IpAddr>(),
        ) {
            (Ok(a), Ok(d)) => a == d,
            _ => allowed == denied,
        },
        (None, Some(suffix)) => allowed.ends_with(suffix),
        (Some(suffix), None) => denied.ends_with(suffix),
        (Some(a), Some(d)) => a.ends_with(d) || d.ends_with(a),
    }
}

/// Byte offset of a 1-based line and character column in `text`.
fn byte_offset(text: &str, line: u32, column: u32) -> usize {
    let mut offset = 0;
    for _ in 1..line {
        match text[offset..].find('\n') {
            Some(i) => offset += i + 1,
            None => return text.len(),
        }
    }
    let rest = &text[offset..];
    let skip = usize::try_from(column.saturating_sub(1)).unwrap_or(usize::MAX);
    offset + rest.char_indices().nth(skip).map_or(rest.len(), |(i, _)| i)
}

/// The error's message without its `path:line:column: ` prefix.
fn without_location(err: &SpecError) -> String {
    let text = err.to_string();
    match err.location() {
        Some(location) => text
            .strip_prefix(&format!("{location}: "))
            .unwrap_or(&text)
            .to_owned(),
        None => text,
    }
}

fn relayer(table: Entries, layer: usize) -> Entries {
    table
        .into_iter()
        .map(|(k, v)| (k, relayer_node(v, layer)))
        .collect()
}

/// The same node, attributed to another layer (same text, so spans stay valid).
fn relayer_node(node: Node, layer: usize) -> Node {
    match node {
        Node::Table(entries, o) => Node::Table(relayer(entries, layer), Origin { layer, ..o }),
        Node::Array(items, o) => Node::Array(
            items.into_iter().map(|i| relayer_node(i, layer)).collect(),
            Origin { layer, ..o },
        ),
        Node::Scalar(text, o) => Node::Scalar(text, Origin { layer, ..o }),
    }
}

fn collect_provenance(
    node: &Node,
    key: &str,
    layers: &[LayerText],
    out: &mut BTreeMap<String, LayerSource>,
) {
    match node {
        Node::Table(entries, _) => {
            for (k, v) in entries {
                let dotted = if key.is_empty() {
                    k.clone()
                } else {
                    format!("{key}.{k}")
                };
                collect_provenance(v, &dotted, layers, out);
            }
        }
        Node::Array(items, origin) => {
            if let Some(layer) = layers.get(origin.layer) {
                out.insert(key.to_owned(), layer.source.clone());
            }
            if ACCUMULATED_LISTS.contains(&key) {
                for (idx, item) in items.iter().enumerate() {
                    if let Some(layer) = layers.get(item.origin().layer) {
                        out.insert(format!("{key}[{idx}]"), layer.source.clone());
                    }
                }
            }
        }
        Node::Scalar(_, origin) => {
            if let Some(layer) = layers.get(origin.layer) {
                out.insert(key.to_owned(), layer.source.clone());
            }
        }
    }
}

fn parse_toml<'t>(text: &'t str, path: &Path) -> Result<Spanned<DeTable<'t>>, SpecError> {
    DeTable::parse(text).map_err(|error| SpecError::Syntax {
        location: SourceText { path, text }.location(error.span().map_or(0, |s| s.start)),
        message: error.message().trim_end_matches('.').to_owned(),
    })
}

/// Check a config file: the agent keys with the agent file's rules, `[profile.NAME]`
/// tables the same way, `[locked]` where it is allowed.
fn read_config_file(
    path: &Path,
    text: &str,
    kind: FileKind,
    layer: usize,
) -> Result<ConfigFile, SpecError> {
    let src = SourceText { path, text };
    let mut document = parse_toml(text, path)?.into_inner();
    let profile = document.remove("profile");
    let locked = document.remove("locked");

    if kind == FileKind::Policy
        && let Some((key, _)) = document.iter().min_by_key(|(k, _)| k.span().start)
    {
        return Err(SpecError::InvalidValue {
            location: src.location(key.span().start),
            key: key.get_ref().to_string(),
            message: format!("a policy file ({ENV_POLICY_FILE}) holds only a [locked] table"),
            hint: Some(format!(
                "put defaults in the system file ({SYSTEM_CONFIG_PATH}) instead"
            )),
        });
    }
    raw::parse_table(src, &document, "")?;
    let body = from_de_table(&document, layer);

    let mut profiles = Vec::new();
    if let Some(profile) = &profile {
        if kind == FileKind::Policy {
            return Err(SpecError::InvalidValue {
                location: src.location(profile.span().start),
                key: "profile".to_owned(),
                message: format!("a policy file ({ENV_POLICY_FILE}) holds only a [locked] table"),
                hint: None,
            });
        }
        let DeValue::Table(table) = profile.get_ref() else {
            return Err(wrong_type(src, "profile", "a table of profiles", profile));
        };
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (name, value) in entries {
            let key = format!("profile.{}", name.get_ref());
            let DeValue::Table(body) = value.get_ref() else {
                return Err(wrong_type(src, &key, "a table", value));
            };
            raw::parse_table(src, body, &key)?;
            profiles.push((name.get_ref().to_string(), from_de_table(body, layer)));
        }
    }

    let locked = match &locked {
        Some(value) => match kind {
            FileKind::System | FileKind::Policy => {
                let lock = read_locked(src, value, kind == FileKind::Policy)?;
                let deny = value
                    .get_ref()
                    .get("deny_commands")
                    .map(|v| from_de(v, layer));
                Some((lock, deny))
            }
            FileKind::User | FileKind::Project => {
                return Err(SpecError::InvalidValue {
                    location: src.location(value.span().start),
                    key: "locked".to_owned(),
                    message: format!(
                        "[locked] is only read from the system file ({SYSTEM_CONFIG_PATH}) or the file named by {ENV_POLICY_FILE}"
                    ),
                    hint: Some(
                        "move it there; a user or project file cannot lock settings".to_owned(),
                    ),
                });
            }
        },
        None => None,
    };
    Ok(ConfigFile {
        body,
        profiles,
        locked,
    })
}

fn wrong_type(
    src: SourceText<'_>,
    key: &str,
    expected: &str,
    value: &Spanned<DeValue<'_>>,
) -> SpecError {
    SpecError::WrongType {
        location: src.location(value.span().start),
        key: key.to_owned(),
        expected: expected.to_owned(),
        found: value.get_ref().type_str().to_owned(),
    }
}

const LOCKED_KEYS: &[&str] = &[
    "max_cost_usd",
    "max_total_tokens",
    "max_wall_time",
    "max_steps",
    "sandbox_not",
    "network",
    "deny_commands",
    "deny_hosts",
];

fn read_locked(
    src: SourceText<'_>,
    value: &Spanned<DeValue<'_>>,
    from_policy_file: bool,
) -> Result<LockedPolicy, SpecError> {
    let DeValue::Table(table) = value.get_ref() else {
        return Err(wrong_type(src, "locked", "a table", value));
    };
    let mut lock = LockedPolicy {
        file: src.path.to_path_buf(),
        from_policy_file,
        ..LockedPolicy::default()
    };
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    for (key, value) in entries {
        let name: &str = key.get_ref();
        let dotted = format!("locked.{name}");
        let at = src.location(value.span().start);
        let invalid = |message: String, hint: Option<&str>| SpecError::InvalidValue {
            location: at.clone(),
            key: dotted.clone(),
            message,
            hint: hint.map(str::to_owned),
        };
        let positive_int = |v: &Spanned<DeValue<'_>>| -> Result<u64, SpecError> {
            match v.get_ref() {
                DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) if n >= 1 => Ok(u64::try_from(n).unwrap_or(u64::MAX)),
                    _ => Err(invalid(
                        format!("must be a positive integer, found {}", i.as_str()),
                        None,
                    )),
                },
                _ => Err(wrong_type(src, &dotted, "an integer", v)),
            }
        };
        let strings = |v: &Spanned<DeValue<'_>>| -> Result<Vec<String>, SpecError> {
            let DeValue::Array(items) = v.get_ref() else {
                return Err(wrong_type(src, &dotted, "an array of strings", v));
            };
            let mut out = Vec::new();
            for item in items.iter() {
                match item.get_ref() {
                    DeValue::String(s) if !s.trim().is_empty() => out.push(s.to_string()),
                    DeValue::String(_) => {
                        return Err(invalid("an empty entry matches nothing".to_owned(), None));
                    }
                    _ => return Err(wrong_type(src, &dotted, "an array of strings", item)),
                }
            }
            Ok(out)
        };
        match name {
            "max_cost_usd" => {
                let v = match value.get_ref() {
                    DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
                    DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                        .ok()
                        .map(|n| n as f64),
                    _ => return Err(wrong_type(src, &dotted, "a number", value)),
                };
                match v {
                    Some(v) if v.is_finite() && v > 0.0 => lock.max_cost_usd = Some(v),
                    _ => {
                        return Err(invalid(
                            "must be a number greater than zero".to_owned(),
                            None,
                        ));
                    }
                }
            }
            "max_total_tokens" => lock.max_total_tokens = Some(positive_int(value)?),
            "max_steps" => {
                lock.max_steps = Some(u32::try_from(positive_int(value)?).unwrap_or(u32::MAX));
            }
            "max_wall_time" => {
                let DeValue::String(s) = value.get_ref() else {
                    return Err(wrong_type(src, &dotted, "a duration string", value));
                };
                match humantime::parse_duration(s.trim()) {
                    Ok(d) if !d.is_zero() => lock.max_wall_time = Some(d),
                    Ok(_) => return Err(invalid("must be longer than zero".to_owned(), None)),
                    Err(e) => {
                        return Err(invalid(
                            format!("`{s}` is not a duration: {e}"),
                            Some("write a duration like \"30s\", \"5m\" or \"1h 30m\""),
                        ));
                    }
                }
            }
            "sandbox_not" => {
                for backend in strings(value)? {
                    let kind = match backend.as_str() {
                        "linux" => SandboxKind::Linux,
                        "bwrap" => SandboxKind::Bwrap,
                        "host" => SandboxKind::Host,
                        "landlock" => SandboxKind::Landlock,
                        other => {
                            return Err(invalid(
                                format!("unknown sandbox `{other}`"),
                                Some("sandboxes: linux, bwrap, landlock, host"),
                            ));
                        }
                    };
                    if !lock.sandbox_not.contains(&kind) {
                        lock.sandbox_not.push(kind);
                    }
                }
            }
            "network" => match value.get_ref() {
                DeValue::String(s) if s.as_ref() == "none" => lock.network_none = true,
                DeValue::String(s) => {
                    return Err(invalid(
                        format!("only \"none\" can be locked, found `{s}`"),
                        Some("remove the key to leave the network unlocked"),
                    ));
                }
                _ => return Err(wrong_type(src, &dotted, "a string", value)),
            },
            "deny_commands" => lock.deny_commands = strings(value)?,
            "deny_hosts" => lock.deny_hosts = strings(value)?,
            other => {
                return Err(SpecError::UnknownKey {
                    location: src.location(key.span().start),
                    table: "locked".to_owned(),
                    key: other.to_owned(),
                    suggestion: raw::closest(other, LOCKED_KEYS.iter().copied()),
                });
            }
        }
        lock.locations.insert(name.to_owned(), at);
    }
    Ok(lock)
}

/// A `--set key=value` argument as a table; the value is TOML (`0.2`, `5`, `"bwrap"`,
/// `["a", "b"]`), and anything that is not TOML is a string (`--set model.name=gpt-4.1`).
fn parse_set(arg: &str, layer: usize) -> Result<Entries, SpecError> {
    let bad = |message: String| SpecError::BadSet {
        input: arg.to_owned(),
        message,
    };
    let Some((key, value)) = arg.split_once('=') else {
        return Err(bad("expected `key=value`".to_owned()));
    };
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| {
        p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    }) {
        return Err(bad(format!(
            "`{key}` is not a dotted key (letters, digits, `_` and `-`, parts joined by `.`)"
        )));
    }
    let origin = Origin { layer, span: None };
    let text = value.trim();
    let leaf = match DeValue::parse(text) {
        Ok(parsed) => relayer_node(from_de(&parsed, layer), layer),
        Err(error) => {
            if text.starts_with(['"', '\'', '[', '{']) {
                return Err(bad(format!(
                    "the value is not valid TOML: {}",
                    error.message().trim_end_matches('.')
                )));
            }
            Node::Scalar(
                toml::Value::String(text.to_owned()).to_string(),
                origin.clone(),
            )
        }
    };
    let leaf = strip_spans(leaf);
    let mut node = leaf;
    for part in parts.iter().skip(1).rev() {
        node = Node::Table(vec![((*part).to_owned(), node)], origin.clone());
    }
    let table = vec![(parts[0].to_owned(), node)];

    // Check it with the agent file's rules.
    let rendered = Renderer::document(&table);
    if let Err(err) = raw::parse(&rendered.out, Path::new("--set")) {
        return Err(SpecError::InSet {
            input: arg.to_owned(),
            message: without_location(&err),
        });
    }
    Ok(table)
}

/// Flag values have no span in a file.
fn strip_spans(node: Node) -> Node {
    match node {
        Node::Table(entries, o) => Node::Table(
            entries
                .into_iter()
                .map(|(k, v)| (k, strip_spans(v)))
                .collect(),
            Origin { span: None, ..o },
        ),
        Node::Array(items, o) => Node::Array(
            items.into_iter().map(strip_spans).collect(),
            Origin { span: None, ..o },
        ),
        Node::Scalar(text, o) => Node::Scalar(text, Origin { span: None, ..o }),
    }
}

/// `rein config show`: the resolved spec, each setting followed by the layer it came from,
/// then the locked rules. Secrets are `***` (as in [`AgentSpec::to_display_toml`]).
pub fn show(layered: &Layered) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# layers, lowest first:");
    for file in &layered.layers {
        let _ = writeln!(out, "#   {}", file.display());
    }
    let _ = writeln!(out, "#   {} (agent file)", layered.spec.source.display());
    if let Some(project) = &layered.project {
        let _ = writeln!(
            out,
            "# project config {}: {}",
            project.config.display(),
            project.status.as_str()
        );
    }
    if let Some(profile) = &layered.profile {
        let _ = writeln!(out, "#   profile {profile}");
    }
    for set in &layered.sets {
        let _ = writeln!(out, "#   --set {set}");
    }

    let display = layered.spec.to_display_toml();
    let lines: Vec<&str> = display.lines().collect();
    let width = lines
        .iter()
        .filter(|l| l.contains(" = ") && !l.starts_with('#'))
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    let mut table = String::new();
    for line in lines {
        let trimmed = line.trim();
        if let Some(name) = trimmed
            .strip_prefix("[[")
            .and_then(|s| s.strip_suffix("]]"))
            .or_else(|| trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')))
        {
            table = name.to_owned();
            out.push_str(line);
            out.push('\n');
            continue;
        }
        match line.split_once(" = ") {
            Some((key, _)) if !line.starts_with('#') && !key.contains(' ') => {
                let dotted = if table.is_empty() {
                    key.to_owned()
                } else {
                    format!("{table}.{key}")
                };
                let pad = width.saturating_sub(line.chars().count());
                let _ = writeln!(
                    out,
                    "{line}{}   # {}",
                    " ".repeat(pad),
                    describe_source(&layered.provenance, &dotted)
                );
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if !layered.locks.is_empty() {
        let _ = writeln!(out, "\n# locked (can only be made stricter)");
        for lock in &layered.locks {
            for (setting, rule) in lock.rules() {
                let _ = writeln!(out, "# {setting} {rule}   # {}", lock.file.display());
            }
        }
    }
    out
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Where the value shown for `key` came from: the key, else the closest table above it
/// that was set as a whole, else the layers of the keys below it, else the default.
fn describe_source(provenance: &BTreeMap<String, LayerSource>, key: &str) -> String {
    if let Some(source) = provenance.get(key) {
        let items: Vec<&LayerSource> = provenance
            .range(format!("{key}[")..)
            .take_while(|(k, _)| k.starts_with(&format!("{key}[")))
            .map(|(_, v)| v)
            .collect();
        if items.len() > 1 {
            let names: Vec<String> = dedup(items).iter().map(|s| s.to_string()).collect();
            return names.join(" + ");
        }
        return source.to_string();
    }
    let mut prefix = key;
    while let Some((parent, _)) = prefix.rsplit_once('.') {
        if let Some(source) = provenance.get(parent) {
            return source.to_string();
        }
        prefix = parent;
    }
    let below: Vec<String> = dedup(
        provenance
            .range(format!("{key}.")..)
            .take_while(|(k, _)| k.starts_with(&format!("{key}.")))
            .map(|(_, v)| v.to_string())
            .collect(),
    );
    if below.is_empty() {
        "default".to_owned()
    } else {
        below.join(" + ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_overlap_cases() {
        let cases = [
            ("api.evil.com", "api.evil.com", true),
            ("API.evil.com.", "api.evil.com", true),
            ("api.good.com", "api.evil.com", false),
            ("x.evil.com", "*.evil.com", true),
            ("evil.com", "*.evil.com", false),
            ("*.evil.com", "x.evil.com", true),
            ("*.com", "*.evil.com", true),
            ("*.evil.com", "*.com", true),
            ("*.good.com", "*.evil.com", false),
            ("10.0.0.5", "10.0.0.5", true),
            ("::1", "0:0:0:0:0:0:0:1", true),
            ("api.evil.com:8443", "api.evil.com", true),
            ("api.evil.com:*", "*.evil.com", true),
            ("[::1]:8080", "::1", true),
            ("api.good.com:443", "api.evil.com", false),
        ];
        for (allowed, denied, expected) in cases {
            assert_eq!(
                hosts_overlap(allowed, denied),
                expected,
                "{allowed} vs {denied}"
            );
        }
    }

    #[test]
    fn byte_offset_counts_characters() {
        let text = "ab\nçd = 1\n";
        assert_eq!(byte_offset(text, 1, 1), 0);
        assert_eq!(byte_offset(text, 2, 1), 3);
        assert_eq!(byte_offset(text, 2, 2), 5);
    }

    #[test]
    fn set_values_are_toml_or_strings() {
        let render = |arg: &str| match parse_set(arg, 0) {
            Ok(table) => Renderer::document(&table).out,
            Err(err) => format!("error: {err}"),
        };
        expect_test::expect![[r#"
            # merged by rein from its config layers

            [limits]
            max_cost_usd = 0.2
        "#]]
        .assert_eq(&render("limits.max_cost_usd=0.2"));
        expect_test::expect![[r#"
            # merged by rein from its config layers

            [model]
            name = "gpt-4.1-mini"
        "#]]
        .assert_eq(&render("model.name=gpt-4.1-mini"));
        expect_test::expect![[r#"
            # merged by rein from its config layers

            [tools]
            builtin = [
                "read_file",
                "grep",
            ]
        "#]]
        .assert_eq(&render(r#"tools.builtin=["read_file", "grep"]"#));
        expect_test::expect![[r#"
            error: invalid `--set loop`: expected `key=value`
            hint: write `--set table.key=VALUE`, e.g. `--set limits.max_cost_usd=0.5`"#]]
        .assert_eq(&render("loop"));
        expect_test::expect!["error: --set loop.max_step=5: unknown key `max_step` in [loop]\nhint: did you mean `max_steps`?"]
            .assert_eq(&render("loop.max_step=5"));
        expect_test::expect![
            "error: --set loop.max_steps=many: `loop.max_steps` must be an integer, found string"
        ]
        .assert_eq(&render("loop.max_steps=many"));
        expect_test::expect![[r#"
            error: invalid `--set a..b=1`: `a..b` is not a dotted key (letters, digits, `_` and `-`, parts joined by `.`)
            hint: write `--set table.key=VALUE`, e.g. `--set limits.max_cost_usd=0.5`"#]]
        .assert_eq(&render("a..b=1"));
    }
}

//! rein-policy: guardrails as plain values.
//!
//! Every proposed action gets a [`Decision`] (`allow`, `deny(reason, rule)` or
//! `ask(reason, rule)`) naming the rule that matched, which the loop writes to the trace as
//! a `policy_decision` event:
//!
//! - budgets ([`budget`]): [`BudgetState`] reserves a model call's worst case before it is
//!   made and reconciles after, so [`Limits`] are never exceeded;
//! - commands ([`command`]): a shell command line is parsed into every program it would
//!   run (wrappers, substitutions and `sh -c` unwrapped) and each is checked against
//!   allow / deny / ask patterns and dangerous-option rules; what cannot be decomposed is
//!   denied;
//! - paths ([`path`]): workspace-relative globs for reads and writes, secrets denied;
//! - network ([`network`]): allowed hosts, and no private, loopback, link-local or
//!   metadata addresses unless listed exactly;
//! - [`Policy`] puts them together and shows itself for `rein check`.
//!
//! **Boundary:** policy never does IO, never reads the clock and never resolves names:
//! callers pass the elapsed time and the resolved addresses, so every decision is
//! reproducible in a test. No tokio, no sandbox, no HTTP client.

pub mod budget;
pub mod command;
mod decision;
mod error;
pub mod network;
pub mod path;
mod policy;

pub use budget::{
    ActualUsage, BudgetState, Exhausted, LimitKind, Limits, ModelCallEstimate, Price, Reservation,
    Spend, estimate_request_tokens_conservative, estimate_request_tokens_upper_bound,
    estimate_tokens_conservative, estimate_tokens_upper_bound,
};
pub use command::{
    CommandDecision, CommandPolicy, CommandRulesConfig, DecomposedCommand, RedirectTarget,
};
pub use decision::Decision;
pub use error::PolicyError;
pub use network::{
    HttpRequest, IpClass, NetworkPolicy, NetworkRulesConfig, RequestRuleConfig, classify_ip,
    normalize_path,
};
pub use path::{PathPolicy, PathRulesConfig};
pub use policy::{Policy, PolicyConfig};

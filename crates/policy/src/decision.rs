//! [`Decision`]: the answer of every policy check, naming the rule that decided.

use std::fmt;

/// The answer to a proposed action.
///
/// `rule` names what decided, e.g. `policy.commands.deny[0] "git push"` or
/// `default: not in allow list`; `reason` says why in words a human (and the model) can act
/// on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny { reason: String, rule: String },
    Ask { reason: String, rule: String },
}

impl Decision {
    pub fn deny(reason: impl Into<String>, rule: impl Into<String>) -> Decision {
        Decision::Deny {
            reason: reason.into(),
            rule: rule.into(),
        }
    }

    pub fn ask(reason: impl Into<String>, rule: impl Into<String>) -> Decision {
        Decision::Ask {
            reason: reason.into(),
            rule: rule.into(),
        }
    }

    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow)
    }

    pub fn is_deny(&self) -> bool {
        matches!(self, Decision::Deny { .. })
    }

    /// `allow`, `deny` or `ask`, as written in the trace.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny { .. } => "deny",
            Decision::Ask { .. } => "ask",
        }
    }

    /// The stricter of two decisions: deny beats ask beats allow; on a tie the first wins.
    pub fn stricter(self, other: Decision) -> Decision {
        fn rank(decision: &Decision) -> u8 {
            match decision {
                Decision::Allow => 0,
                Decision::Ask { .. } => 1,
                Decision::Deny { .. } => 2,
            }
        }
        if rank(&other) > rank(&self) {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allow => f.write_str("allow"),
            Decision::Deny { reason, rule } => write!(f, "deny: {reason} [{rule}]"),
            Decision::Ask { reason, rule } => write!(f, "ask: {reason} [{rule}]"),
        }
    }
}

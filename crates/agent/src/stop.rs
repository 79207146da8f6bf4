//! How a run ends: exactly one [`StopReason`], each with a documented process exit code
//! (`docs/cli.md`).

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// The model gave its final answer and no verify check is configured.
    Completed,
    /// The model gave its final answer and the verify check passed.
    Verified,
    /// The verify check failed `max_attempts` times.
    VerifyFailed,
    /// `max_steps` model turns were taken without a final answer.
    MaxSteps,
    /// The model repeated the same tool call `stuck_after` times in a row.
    Stuck,
    /// A token or cost budget would have been exceeded.
    BudgetExhausted,
    /// `max_wall_time` ran out, or a model call ran past `step_timeout`.
    Timeout,
    /// A policy denied an action the run could not go on without.
    Denied,
    /// The run needed a human decision it could not get.
    Escalated,
    /// The final answer did not match the output schema.
    InvalidOutput,
    /// The model provider failed after its retries, or refused the request.
    ModelError,
    /// SIGINT or SIGTERM.
    Cancelled,
}

impl StopReason {
    pub const ALL: [StopReason; 12] = [
        StopReason::Completed,
        StopReason::Verified,
        StopReason::VerifyFailed,
        StopReason::MaxSteps,
        StopReason::Stuck,
        StopReason::BudgetExhausted,
        StopReason::Timeout,
        StopReason::Denied,
        StopReason::Escalated,
        StopReason::InvalidOutput,
        StopReason::ModelError,
        StopReason::Cancelled,
    ];

    /// The name used in the trace and in `docs/cli.md`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Completed => "completed",
            StopReason::Verified => "verified",
            StopReason::VerifyFailed => "verify_failed",
            StopReason::MaxSteps => "max_steps",
            StopReason::Stuck => "stuck",
            StopReason::BudgetExhausted => "budget_exhausted",
            StopReason::Timeout => "timeout",
            StopReason::Denied => "denied",
            StopReason::Escalated => "escalated",
            StopReason::InvalidOutput => "invalid_output",
            StopReason::ModelError => "model_error",
            StopReason::Cancelled => "cancelled",
        }
    }

    /// The process exit code of `rein run` for this stop reason.
    pub fn exit_code(self) -> i32 {
        match self {
            StopReason::Completed | StopReason::Verified => 0,
            StopReason::VerifyFailed => 10,
            StopReason::MaxSteps => 11,
            StopReason::Stuck => 12,
            StopReason::BudgetExhausted => 13,
            StopReason::Timeout => 14,
            StopReason::Denied => 15,
            StopReason::Escalated => 16,
            StopReason::InvalidOutput => 17,
            StopReason::ModelError => 18,
            StopReason::Cancelled => 130,
        }
    }

    pub fn is_success(self) -> bool {
        self.exit_code() == 0
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_exit_codes_are_unique_where_they_must_be() {
        let mut names = std::collections::HashSet::new();
        let mut failure_codes = std::collections::HashSet::new();
        for reason in StopReason::ALL {
            assert!(names.insert(reason.as_str()));
            if !reason.is_success() {
                assert!(failure_codes.insert(reason.exit_code()), "{reason}");
            }
        }
        assert!(StopReason::Completed.is_success() && StopReason::Verified.is_success());
    }
}

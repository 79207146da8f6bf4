//! rein-policy: guardrails as plain values.
//!
//! For now: the run's step and wall-time budget. A [`Budget`] answers "may the loop take
//! another step?" with a [`BudgetVerdict`]; the loop turns an exhausted budget into its
//! stop reason. Command, path and network rules arrive with the guardrails issue.
//!
//! **Boundary:** policy never does IO and never reads the clock itself: callers pass the
//! elapsed time, so every decision is reproducible in a test.

use std::time::Duration;

/// Limits of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub max_steps: u32,
    pub max_wall_time: Option<Duration>,
}

/// The answer to "may the loop start step `steps_done + 1`?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetVerdict {
    Continue,
    /// `max_steps` model turns were taken already.
    MaxSteps {
        max_steps: u32,
    },
    /// The run's wall time is used up.
    WallTime {
        limit: Duration,
    },
}

impl Budget {
    /// Check before a step.
    pub fn check(&self, steps_done: u32, elapsed: Duration) -> BudgetVerdict {
        if let Some(limit) = self.max_wall_time
            && elapsed >= limit
        {
            return BudgetVerdict::WallTime { limit };
        }
        if steps_done >= self.max_steps {
            return BudgetVerdict::MaxSteps {
                max_steps: self.max_steps,
            };
        }
        BudgetVerdict::Continue
    }

    /// Time left before `max_wall_time`, if there is a limit.
    pub fn wall_time_left(&self, elapsed: Duration) -> Option<Duration> {
        self.max_wall_time
            .map(|limit| limit.saturating_sub(elapsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_wall_time_are_checked_in_order() {
        let budget = Budget {
            max_steps: 2,
            max_wall_time: Some(Duration::from_secs(10)),
        };
        let secs = Duration::from_secs;
        assert_eq!(budget.check(0, secs(0)), BudgetVerdict::Continue);
        assert_eq!(budget.check(1, secs(9)), BudgetVerdict::Continue);
        assert_eq!(
            budget.check(2, secs(0)),
            BudgetVerdict::MaxSteps { max_steps: 2 }
        );
        assert_eq!(
            budget.check(2, secs(10)),
            BudgetVerdict::WallTime { limit: secs(10) }
        );
        assert_eq!(budget.wall_time_left(secs(4)), Some(secs(6)));
        assert_eq!(budget.wall_time_left(secs(40)), Some(secs(0)));
    }

    #[test]
    fn no_wall_time_limit_means_only_steps_count() {
        let budget = Budget {
            max_steps: 1,
            max_wall_time: None,
        };
        assert_eq!(
            budget.check(0, Duration::from_secs(1 << 40)),
            BudgetVerdict::Continue
        );
        assert_eq!(budget.wall_time_left(Duration::ZERO), None);
    }
}

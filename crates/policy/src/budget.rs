//! Budgets that are never exceeded.
//!
//! [`BudgetState`] keeps what a run has spent and what it has reserved. Before a model call
//! the loop reserves the worst case ([`BudgetState::reserve`]: the request's input tokens
//! plus `max_output_tokens`, priced at the model's price); the call is made only if that
//! fits under every limit. After the call [`BudgetState::reconcile`] replaces the
//! reservation with what the provider reported. A reservation that is never reconciled keeps
//! counting, so a lost response cannot free budget. A provider that reports more than was
//! reserved is believed: the spend goes over the reservation and the next call is refused.
//!
//! Money is counted in whole nano-dollars (`u64`): reservations and reported costs are
//! rounded up, the cap is rounded down, so rounding never lets spend pass the cap.
//!
//! **Boundary:** no clock, no IO: callers pass the elapsed time.

use std::fmt;
use std::time::Duration;

use crate::PolicyError;

const NANOS_PER_USD: f64 = 1e9;

/// Fixed overhead the conservative estimate adds per chat message (role, separators).
pub const PER_MESSAGE_OVERHEAD_TOKENS: u64 = 8;

/// Fixed overhead the conservative estimate adds per request (reply priming).
pub const PER_REQUEST_OVERHEAD_TOKENS: u64 = 16;

/// A conservative token count of `text` for a model whose tokenizer rein does not know.
///
/// Rule: one token per 3 ASCII bytes, rounded up, plus one token per byte of every
/// non-ASCII character. Byte-level BPE tokenizers (GPT, Llama 3, Claude) average 3.5–4.5
/// ASCII characters per token on prose and code and never use more than one token per
/// byte; non-ASCII text (CJK, emoji) is counted at that hard upper bound. Dense strings of
/// random hex or base64 can tokenize at about 2 bytes per token, so this is an estimate,
/// not a proof: [`estimate_tokens_upper_bound`] is the proof. An underestimate is caught at
/// reconciliation (the next call is refused), never silently.
pub fn estimate_tokens_conservative(text: &str) -> u64 {
    let ascii_bytes = text.bytes().filter(u8::is_ascii).count() as u64;
    let other_bytes = text.len() as u64 - ascii_bytes;
    ascii_bytes.div_ceil(3) + other_bytes
}

/// An upper bound of the token count of `text` under any byte-level tokenizer: one token
/// per byte, plus one for a possible leading marker.
pub fn estimate_tokens_upper_bound(text: &str) -> u64 {
    text.len() as u64 + 1
}

/// [`estimate_tokens_conservative`] over a whole request: every message's text plus
/// [`PER_MESSAGE_OVERHEAD_TOKENS`] each, plus [`PER_REQUEST_OVERHEAD_TOKENS`].
pub fn estimate_request_tokens_conservative<'a>(
    messages: impl IntoIterator<Item = &'a str>,
) -> u64 {
    messages
        .into_iter()
        .map(|text| estimate_tokens_conservative(text) + PER_MESSAGE_OVERHEAD_TOKENS)
        .fold(PER_REQUEST_OVERHEAD_TOKENS, u64::saturating_add)
}

/// [`estimate_tokens_upper_bound`] over a whole request, with the same overheads as
/// [`estimate_request_tokens_conservative`]: never below the real count.
pub fn estimate_request_tokens_upper_bound<'a>(messages: impl IntoIterator<Item = &'a str>) -> u64 {
    messages
        .into_iter()
        .map(|text| estimate_tokens_upper_bound(text) + PER_MESSAGE_OVERHEAD_TOKENS)
        .fold(PER_REQUEST_OVERHEAD_TOKENS, u64::saturating_add)
}

/// The budget limits of one run, as `[limits]` and the command line give them. `None` means
/// no limit.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    pub max_steps: Option<u32>,
    pub max_total_tokens: Option<u64>,
    pub max_input_tokens: Option<u64>,
    pub max_output_tokens_total: Option<u64>,
    pub max_cost_usd: Option<f64>,
    pub max_wall_time: Option<Duration>,
    pub max_tool_calls: Option<u32>,
}

fn stricter_option<T: PartialOrd>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b < a { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
}

impl Limits {
    /// Field by field, the stricter of the file's and the command line's limits: a limit
    /// beats no limit, the smaller of two limits wins.
    pub fn stricter(file: &Limits, flags: &Limits) -> Limits {
        Limits {
            max_steps: stricter_option(file.max_steps, flags.max_steps),
            max_total_tokens: stricter_option(file.max_total_tokens, flags.max_total_tokens),
            max_input_tokens: stricter_option(file.max_input_tokens, flags.max_input_tokens),
            max_output_tokens_total: stricter_option(
                file.max_output_tokens_total,
                flags.max_output_tokens_total,
            ),
            max_cost_usd: stricter_option(file.max_cost_usd, flags.max_cost_usd),
            max_wall_time: stricter_option(file.max_wall_time, flags.max_wall_time),
            max_tool_calls: stricter_option(file.max_tool_calls, flags.max_tool_calls),
        }
    }

    /// Refuse a cost limit that is negative, NaN or infinite.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some(cost) = self.max_cost_usd
            && !(cost.is_finite() && cost >= 0.0)
        {
            return Err(PolicyError::BadLimit {
                which: "max_cost_usd",
                reason: format!("must be a finite number >= 0, got {cost}"),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn line(f: &mut fmt::Formatter<'_>, key: &str, value: Option<String>) -> fmt::Result {
            writeln!(
                f,
                "  {key} = {}",
                value.unwrap_or_else(|| "unlimited".to_string())
            )
        }
        writeln!(f, "[limits]")?;
        line(f, "max_steps", self.max_steps.map(|v| v.to_string()))?;
        line(
            f,
            "max_total_tokens",
            self.max_total_tokens.map(|v| v.to_string()),
        )?;
        line(
            f,
            "max_input_tokens",
            self.max_input_tokens.map(|v| v.to_string()),
        )?;
        line(
            f,
            "max_output_tokens_total",
            self.max_output_tokens_total.map(|v| v.to_string()),
        )?;
        line(f, "max_cost_usd", self.max_cost_usd.map(|v| format!("{v}")))?;
        line(
            f,
            "max_wall_time",
            self.max_wall_time.map(|v| format!("{}ms", v.as_millis())),
        )?;
        line(
            f,
            "max_tool_calls",
            self.max_tool_calls.map(|v| v.to_string()),
        )
    }
}

/// A model's price in US dollars per million tokens. `input_usd_per_mtok` must be the
/// highest price any input token may be billed at (for Anthropic with prompt caching: the
/// cache-write price, 1.25 × input), so the reservation is a true worst case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input_usd_per_mtok: f64,
    pub output_usd_per_mtok: f64,
}

fn usd_to_nanos_ceil(usd: f64) -> u64 {
    if usd.is_nan() || usd == f64::INFINITY {
        return u64::MAX;
    }
    if usd <= 0.0 {
        return 0;
    }
    // `as` saturates at u64::MAX.
    (usd * NANOS_PER_USD).ceil() as u64
}

fn nanos_to_usd(nanos: u64) -> f64 {
    nanos as f64 / NANOS_PER_USD
}

impl Price {
    /// Worst-case cost in nano-dollars of `input_tokens` in and `output_tokens` out, rounded
    /// up. A negative, NaN or infinite price costs `u64::MAX`: it never fits a cost limit.
    pub fn cost_nano_usd(&self, input_tokens: u64, output_tokens: u64) -> u64 {
        let per_token = |usd_per_mtok: f64, tokens: u64| -> u64 {
            if !(usd_per_mtok.is_finite() && usd_per_mtok >= 0.0) {
                return u64::MAX;
            }
            // usd_per_mtok / 1e6 dollars per token = usd_per_mtok * 1e3 nano-dollars.
            let nanos = (tokens as f64 * usd_per_mtok * 1e3).ceil();
            if nanos >= u64::MAX as f64 {
                u64::MAX
            } else {
                nanos as u64
            }
        };
        per_token(self.input_usd_per_mtok, input_tokens)
            .saturating_add(per_token(self.output_usd_per_mtok, output_tokens))
    }
}

/// What the loop is about to ask of the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelCallEstimate {
    /// The request's input tokens: counted with the model's tokenizer when known, else
    /// [`estimate_request_tokens_conservative`].
    pub input_tokens: u64,
    /// The request's `max_output_tokens`.
    pub max_output_tokens: u64,
    /// `None` when the model's price is unknown: then any call is refused under a cost
    /// limit.
    pub price: Option<Price>,
}

/// Token usage as the provider reported it after the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActualUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// Tokens and money, spent or reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spend {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_nano_usd: u64,
}

impl Spend {
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    pub fn cost_usd(&self) -> f64 {
        nanos_to_usd(self.cost_nano_usd)
    }

    fn plus(self, other: Spend) -> Spend {
        Spend {
            input_tokens: self.input_tokens.saturating_add(other.input_tokens),
            output_tokens: self.output_tokens.saturating_add(other.output_tokens),
            cost_nano_usd: self.cost_nano_usd.saturating_add(other.cost_nano_usd),
        }
    }

    fn minus(self, other: Spend) -> Spend {
        Spend {
            input_tokens: self.input_tokens.saturating_sub(other.input_tokens),
            output_tokens: self.output_tokens.saturating_sub(other.output_tokens),
            cost_nano_usd: self.cost_nano_usd.saturating_sub(other.cost_nano_usd),
        }
    }
}

/// Which limit an action did not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    Steps,
    TotalTokens,
    InputTokens,
    OutputTokensTotal,
    CostUsd,
    WallTime,
    ToolCalls,
}

impl LimitKind {
    /// The `[limits]` key.
    pub fn key(self) -> &'static str {
        match self {
            LimitKind::Steps => "max_steps",
            LimitKind::TotalTokens => "max_total_tokens",
            LimitKind::InputTokens => "max_input_tokens",
            LimitKind::OutputTokensTotal => "max_output_tokens_total",
            LimitKind::CostUsd => "max_cost_usd",
            LimitKind::WallTime => "max_wall_time",
            LimitKind::ToolCalls => "max_tool_calls",
        }
    }
}

/// An action that does not fit the budget.
///
/// Units follow `which`: tokens, steps, tool calls, nano-dollars for `CostUsd`,
/// milliseconds for `WallTime`. `needed` is what the action needs (`u64::MAX` when the
/// price is unknown), `left` what remains under `limit` (0 when the limit is already
/// passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    pub which: LimitKind,
    pub needed: u64,
    pub left: u64,
    pub limit: u64,
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.which.key();
        match self.which {
            LimitKind::CostUsd if self.needed == u64::MAX => write!(
                f,
                "{key} = {}: the model's price is unknown, so the worst-case cost of the call cannot be bounded",
                nanos_to_usd(self.limit)
            ),
            LimitKind::CostUsd => write!(
                f,
                "{key} = {}: the call may cost up to ${:.9}, ${:.9} left",
                nanos_to_usd(self.limit),
                nanos_to_usd(self.needed),
                nanos_to_usd(self.left)
            ),
            LimitKind::WallTime => write!(
                f,
                "{key} = {}ms: the run's wall time is used up",
                self.limit
            ),
            LimitKind::Steps => write!(f, "{key} = {}: every step is taken", self.limit),
            LimitKind::ToolCalls => write!(f, "{key} = {}: every tool call is used", self.limit),
            LimitKind::TotalTokens | LimitKind::InputTokens | LimitKind::OutputTokensTotal => {
                write!(
                    f,
                    "{key} = {}: the call needs up to {} tokens, {} left",
                    self.limit, self.needed, self.left
                )
            }
        }
    }
}

/// Budget held for one model call between [`BudgetState::reserve`] and
/// [`BudgetState::reconcile`]. Dropping it without reconciling keeps the budget held.
#[derive(Debug, PartialEq)]
#[must_use = "a reservation holds budget until it is reconciled"]
pub struct Reservation {
    held: Spend,
    price: Option<Price>,
}

impl Reservation {
    /// What this reservation holds.
    pub fn held(&self) -> Spend {
        self.held
    }
}

/// What a run has spent and reserved, against its [`Limits`].
#[derive(Debug, Clone)]
pub struct BudgetState {
    limits: Limits,
    cost_cap_nano_usd: Option<u64>,
    steps_done: u32,
    tool_calls_done: u32,
    spent: Spend,
    reserved: Spend,
}

/// `used + needed <= cap`, and the cap is not already passed.
fn fits(which: LimitKind, cap: Option<u64>, used: u64, needed: u64) -> Result<(), Exhausted> {
    let Some(cap) = cap else { return Ok(()) };
    let left = cap.saturating_sub(used);
    if used > cap || needed > left {
        return Err(Exhausted {
            which,
            needed,
            left,
            limit: cap,
        });
    }
    Ok(())
}

impl BudgetState {
    pub fn new(limits: Limits) -> Result<BudgetState, PolicyError> {
        limits.validate()?;
        let cost_cap_nano_usd = limits.max_cost_usd.map(|usd| {
            // Round the cap down; `as` saturates.
            (usd * NANOS_PER_USD).floor() as u64
        });
        Ok(BudgetState {
            limits,
            cost_cap_nano_usd,
            steps_done: 0,
            tool_calls_done: 0,
            spent: Spend::default(),
            reserved: Spend::default(),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// What reconciled calls cost.
    pub fn spent(&self) -> Spend {
        self.spent
    }

    /// What outstanding reservations hold.
    pub fn reserved(&self) -> Spend {
        self.reserved
    }

    pub fn steps_done(&self) -> u32 {
        self.steps_done
    }

    pub fn tool_calls_done(&self) -> u32 {
        self.tool_calls_done
    }

    /// Reserve the worst case of a model call, or say which limit it does not fit.
    ///
    /// Checked in this order: input tokens, output tokens, total tokens, cost. Nothing is
    /// held when the answer is `Err`.
    pub fn reserve(&mut self, estimate: &ModelCallEstimate) -> Result<Reservation, Exhausted> {
        let cost_nano_usd = match (estimate.price, self.cost_cap_nano_usd) {
            (Some(price), _) => {
                price.cost_nano_usd(estimate.input_tokens, estimate.max_output_tokens)
            }
            (None, Some(_)) => u64::MAX,
            (None, None) => 0,
        };
        let need = Spend {
            input_tokens: estimate.input_tokens,
            output_tokens: estimate.max_output_tokens,
            cost_nano_usd,
        };
        let used = self.spent.plus(self.reserved);
        fits(
            LimitKind::InputTokens,
            self.limits.max_input_tokens,
            used.input_tokens,
            need.input_tokens,
        )?;
        fits(
            LimitKind::OutputTokensTotal,
            self.limits.max_output_tokens_total,
            used.output_tokens,
            need.output_tokens,
        )?;
        fits(
            LimitKind::TotalTokens,
            self.limits.max_total_tokens,
            used.total_tokens(),
            need.total_tokens(),
        )?;
        fits(
            LimitKind::CostUsd,
            self.cost_cap_nano_usd,
            used.cost_nano_usd,
            need.cost_nano_usd,
        )?;
        self.reserved = self.reserved.plus(need);
        Ok(Reservation {
            held: need,
            price: estimate.price,
        })
    }

    /// Replace a reservation with what the call really used.
    ///
    /// The cost counted is the larger of `reported_cost_usd` (when finite) and the usage
    /// priced at the reservation's price; with neither, the reserved cost stays spent.
    /// Usage above the reservation is counted in full.
    pub fn reconcile(
        &mut self,
        reservation: Reservation,
        usage: ActualUsage,
        reported_cost_usd: Option<f64>,
    ) {
        let priced = reservation
            .price
            .map(|price| price.cost_nano_usd(usage.input_tokens, usage.output_tokens));
        let reported = reported_cost_usd
            .filter(|usd| usd.is_finite())
            .map(usd_to_nanos_ceil);
        let cost_nano_usd = match (reported, priced) {
            (Some(reported), Some(priced)) => reported.max(priced),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => reservation.held.cost_nano_usd,
        };
        self.reserved = self.reserved.minus(reservation.held);
        self.spent = self.spent.plus(Spend {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cost_nano_usd,
        });
    }

    /// Count a tool call if `max_tool_calls` allows one more.
    pub fn check_tool_call(&mut self) -> Result<(), Exhausted> {
        fits(
            LimitKind::ToolCalls,
            self.limits.max_tool_calls.map(u64::from),
            u64::from(self.tool_calls_done),
            1,
        )?;
        self.tool_calls_done = self.tool_calls_done.saturating_add(1);
        Ok(())
    }

    /// Count a step if the wall time is not used up and `max_steps` allows one more.
    pub fn check_step(&mut self, elapsed: Duration) -> Result<(), Exhausted> {
        if let Some(limit) = self.limits.max_wall_time
            && elapsed >= limit
        {
            let limit_ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
            return Err(Exhausted {
                which: LimitKind::WallTime,
                needed: 0,
                left: 0,
                limit: limit_ms,
            });
        }
        fits(
            LimitKind::Steps,
            self.limits.max_steps.map(u64::from),
            u64::from(self.steps_done),
            1,
        )?;
        self.steps_done = self.steps_done.saturating_add(1);
        Ok(())
    }

    /// Time left before `max_wall_time`, if there is a limit.
    pub fn wall_time_left(&self, elapsed: Duration) -> Option<Duration> {
        self.limits
            .max_wall_time
            .map(|limit| limit.saturating_sub(elapsed))
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// A script of budget operations, one per line, and what the state answered.
    fn check(limits: Limits, script: &[&str], expected: Expect) {
        let mut state = BudgetState::new(limits).unwrap();
        let mut held: Vec<Reservation> = Vec::new();
        let mut lines = Vec::new();
        let price = Price {
            input_usd_per_mtok: 2.0,
            output_usd_per_mtok: 8.0,
        };
        for line in script {
            let words: Vec<&str> = line.split_whitespace().collect();
            let number = |i: usize| words[i].parse::<u64>().unwrap();
            let answer = match words[0] {
                "reserve" | "reserve-unpriced" => {
                    let estimate = ModelCallEstimate {
                        input_tokens: number(1),
                        max_output_tokens: number(2),
                        price: (words[0] == "reserve").then_some(price),
                    };
                    match state.reserve(&estimate) {
                        Ok(reservation) => {
                            held.push(reservation);
                            "ok".to_string()
                        }
                        Err(exhausted) => format!("exhausted: {exhausted}"),
                    }
                }
                "reconcile" => {
                    let reservation = held.remove(0);
                    let cost = words.get(3).map(|usd| usd.parse::<f64>().unwrap());
                    state.reconcile(
                        reservation,
                        ActualUsage {
                            input_tokens: number(1),
                            output_tokens: number(2),
                        },
                        cost,
                    );
                    "ok".to_string()
                }
                "tool" => match state.check_tool_call() {
                    Ok(()) => "ok".to_string(),
                    Err(exhausted) => format!("exhausted: {exhausted}"),
                },
                "step" => match state.check_step(Duration::from_secs(number(1))) {
                    Ok(()) => "ok".to_string(),
                    Err(exhausted) => format!("exhausted: {exhausted}"),
                },
                other => panic!("unknown operation {other}"),
            };
            let spent = state.spent();
            let reserved = state.reserved();
            lines.push(format!(
                "{line:<28} -> {answer} | spent in={} out={} ${:.6} | reserved in={} out={} ${:.6}",
                spent.input_tokens,
                spent.output_tokens,
                spent.cost_usd(),
                reserved.input_tokens,
                reserved.output_tokens,
                reserved.cost_usd()
            ));
        }
        expected.assert_eq(&lines.join("\n"));
    }

    #[test]
    fn reservations_hold_the_worst_case_and_reconcile_to_actual() {
        check(
            Limits {
                max_total_tokens: Some(10_000),
                max_cost_usd: Some(0.05),
                ..Limits::default()
            },
            &[
                "reserve 3000 2000",
                "reserve 3000 2000",
                "reserve 1 1",
                "reconcile 2500 500",
                "reserve 1000 1000",
                "reconcile 1000 500",
                "reconcile 1000 1000 0.5",
                "reserve 1 1",
            ],
            expect![[r#"
                reserve 3000 2000            -> ok | spent in=0 out=0 $0.000000 | reserved in=3000 out=2000 $0.022000
                reserve 3000 2000            -> ok | spent in=0 out=0 $0.000000 | reserved in=6000 out=4000 $0.044000
                reserve 1 1                  -> exhausted: max_total_tokens = 10000: the call needs up to 2 tokens, 0 left | spent in=0 out=0 $0.000000 | reserved in=6000 out=4000 $0.044000
                reconcile 2500 500           -> ok | spent in=2500 out=500 $0.009000 | reserved in=3000 out=2000 $0.022000
                reserve 1000 1000            -> ok | spent in=2500 out=500 $0.009000 | reserved in=4000 out=3000 $0.032000
                reconcile 1000 500           -> ok | spent in=3500 out=1000 $0.015000 | reserved in=1000 out=1000 $0.010000
                reconcile 1000 1000 0.5      -> ok | spent in=4500 out=2000 $0.515000 | reserved in=0 out=0 $0.000000
                reserve 1 1                  -> exhausted: max_cost_usd = 0.05: the call may cost up to $0.000010000, $0.000000000 left | spent in=4500 out=2000 $0.515000 | reserved in=0 out=0 $0.000000"#]],
        );
    }

    #[test]
    fn over_reporting_is_counted_and_refuses_the_next_call() {
        check(
            Limits {
                max_output_tokens_total: Some(1000),
                max_input_tokens: Some(5000),
                ..Limits::default()
            },
            &[
                "reserve 100 500",
                "reconcile 100 1200",
                "reserve 10 1",
                "reserve-unpriced 10 0",
            ],
            expect![[r#"
                reserve 100 500              -> ok | spent in=0 out=0 $0.000000 | reserved in=100 out=500 $0.004200
                reconcile 100 1200           -> ok | spent in=100 out=1200 $0.009800 | reserved in=0 out=0 $0.000000
                reserve 10 1                 -> exhausted: max_output_tokens_total = 1000: the call needs up to 1 tokens, 0 left | spent in=100 out=1200 $0.009800 | reserved in=0 out=0 $0.000000
                reserve-unpriced 10 0        -> exhausted: max_output_tokens_total = 1000: the call needs up to 0 tokens, 0 left | spent in=100 out=1200 $0.009800 | reserved in=0 out=0 $0.000000"#]],
        );
    }

    #[test]
    fn unknown_price_under_a_cost_limit_is_refused() {
        check(
            Limits {
                max_cost_usd: Some(1.0),
                ..Limits::default()
            },
            &["reserve-unpriced 10 10", "reserve 10 10"],
            expect![[r#"
                reserve-unpriced 10 10       -> exhausted: max_cost_usd = 1: the model's price is unknown, so the worst-case cost of the call cannot be bounded | spent in=0 out=0 $0.000000 | reserved in=0 out=0 $0.000000
                reserve 10 10                -> ok | spent in=0 out=0 $0.000000 | reserved in=10 out=10 $0.000100"#]],
        );
        check(
            Limits::default(),
            &["reserve-unpriced 10 10", "reconcile 10 10"],
            expect![[r#"
                reserve-unpriced 10 10       -> ok | spent in=0 out=0 $0.000000 | reserved in=10 out=10 $0.000000
                reconcile 10 10              -> ok | spent in=10 out=10 $0.000000 | reserved in=0 out=0 $0.000000"#]],
        );
    }

    #[test]
    fn an_unreconciled_reservation_keeps_counting() {
        check(
            Limits {
                max_total_tokens: Some(100),
                ..Limits::default()
            },
            &["reserve 40 20", "reserve 20 20", "reserve 1 0"],
            expect![[r#"
                reserve 40 20                -> ok | spent in=0 out=0 $0.000000 | reserved in=40 out=20 $0.000240
                reserve 20 20                -> ok | spent in=0 out=0 $0.000000 | reserved in=60 out=40 $0.000440
                reserve 1 0                  -> exhausted: max_total_tokens = 100: the call needs up to 1 tokens, 0 left | spent in=0 out=0 $0.000000 | reserved in=60 out=40 $0.000440"#]],
        );
    }

    #[test]
    fn steps_tool_calls_and_wall_time() {
        check(
            Limits {
                max_steps: Some(2),
                max_tool_calls: Some(1),
                max_wall_time: Some(Duration::from_secs(60)),
                ..Limits::default()
            },
            &["step 0", "tool", "tool", "step 10", "step 20", "step 60"],
            expect![[r#"
                step 0                       -> ok | spent in=0 out=0 $0.000000 | reserved in=0 out=0 $0.000000
                tool                         -> ok | spent in=0 out=0 $0.000000 | reserved in=0 out=0 $0.000000
                tool                         -> exhausted: max_tool_calls = 1: every tool call is used | spent in=0 out=0 $0.000000 | reserved in=0 out=0 $0.000000
                step 10                      -> ok | spent in=0 out=0 $0.000000 | reserved in=0 out=0 $0.000000
                step 20                      -> exhausted: max_steps = 2: every step is taken | spent in=0 out=0 $0.000000 | reserved in=0 out=0 $0.000000
                step 60                      -> exhausted: max_wall_time = 60000ms: the run's wall time is used up | spent in=0 out=0 $0.000000 | reserved in=0 out=0 $0.000000"#]],
        );
    }

    #[test]
    fn the_stricter_limit_wins() {
        let file = Limits {
            max_steps: Some(30),
            max_cost_usd: Some(0.5),
            max_wall_time: Some(Duration::from_secs(600)),
            ..Limits::default()
        };
        let flags = Limits {
            max_cost_usd: Some(0.25),
            max_wall_time: Some(Duration::from_secs(900)),
            max_tool_calls: Some(5),
            ..Limits::default()
        };
        expect![[r#"
            [limits]
              max_steps = 30
              max_total_tokens = unlimited
              max_input_tokens = unlimited
              max_output_tokens_total = unlimited
              max_cost_usd = 0.25
              max_wall_time = 600000ms
              max_tool_calls = 5
        "#]]
        .assert_eq(&Limits::stricter(&file, &flags).to_string());
        assert_eq!(
            Limits::stricter(&file, &flags),
            Limits::stricter(&flags, &file)
        );
    }

    #[test]
    fn bad_cost_limits_are_refused() {
        for cost in [-1.0, f64::NAN, f64::INFINITY] {
            let error = BudgetState::new(Limits {
                max_cost_usd: Some(cost),
                ..Limits::default()
            })
            .err()
            .map(|error| error.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("limits.max_cost_usd: must be")),
                "{cost}: {error:?}"
            );
        }
    }

    #[test]
    fn token_estimates() {
        let cases = ["", "hello world", "fn main() {}\n", "héllo", "日本語", "🦀"];
        let lines: Vec<String> = cases
            .iter()
            .map(|text| {
                format!(
                    "{text:?}: conservative {} upper bound {}",
                    estimate_tokens_conservative(text),
                    estimate_tokens_upper_bound(text)
                )
            })
            .collect();
        expect![[r#"
            "": conservative 0 upper bound 1
            "hello world": conservative 4 upper bound 12
            "fn main() {}\n": conservative 5 upper bound 14
            "héllo": conservative 4 upper bound 7
            "日本語": conservative 9 upper bound 10
            "🦀": conservative 4 upper bound 5"#]]
        .assert_eq(&lines.join("\n"));
        assert_eq!(
            estimate_request_tokens_conservative(["abc", "abcd"]),
            PER_REQUEST_OVERHEAD_TOKENS + 2 * PER_MESSAGE_OVERHEAD_TOKENS + 1 + 2
        );
    }

    /// Property: with usage never above the reservation, spend plus holds never pass any
    /// cap, whatever the sequence; a hand-rolled generator with fixed seeds.
    #[test]
    fn spend_never_passes_the_cap_when_usage_fits_the_reservation() {
        for seed in 0..300u64 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let limits = Limits {
                max_total_tokens: rng.bool().then(|| rng.u64(0..200_000)),
                max_input_tokens: rng.bool().then(|| rng.u64(0..150_000)),
                max_output_tokens_total: rng.bool().then(|| rng.u64(0..50_000)),
                max_cost_usd: rng.bool().then(|| rng.f64() * 2.0),
                ..Limits::default()
            };
            let mut state = BudgetState::new(limits).unwrap();
            let cap_nanos = limits.max_cost_usd.map(|usd| (usd * 1e9).floor() as u64);
            let mut outstanding = Vec::new();
            for _ in 0..200 {
                let price = Price {
                    input_usd_per_mtok: rng.f64() * 15.0,
                    output_usd_per_mtok: rng.f64() * 75.0,
                };
                let estimate = ModelCallEstimate {
                    input_tokens: rng.u64(0..20_000),
                    max_output_tokens: rng.u64(0..8_000),
                    price: Some(price),
                };
                if let Ok(reservation) = state.reserve(&estimate) {
                    outstanding.push((reservation, estimate, price));
                }
                // Reconcile some, in any order; drop a few (lost responses).
                while !outstanding.is_empty() && rng.u8(0..3) > 0 {
                    let (reservation, estimate, price) =
                        outstanding.swap_remove(rng.usize(0..outstanding.len()));
                    if rng.u8(0..20) == 0 {
                        drop(reservation);
                        continue;
                    }
                    let usage = ActualUsage {
                        input_tokens: rng.u64(0..=estimate.input_tokens),
                        output_tokens: rng.u64(0..=estimate.max_output_tokens),
                    };
                    // The provider's cost for that usage, at most the priced usage.
                    let reported = rng.bool().then(|| {
                        price.cost_nano_usd(usage.input_tokens, usage.output_tokens) as f64 / 1e9
                            * rng.f64()
                    });
                    state.reconcile(reservation, usage, reported);
                }
                let held = state.spent().plus(state.reserved());
                if let Some(cap) = limits.max_total_tokens {
                    assert!(held.total_tokens() <= cap, "seed {seed}: total");
                }
                if let Some(cap) = limits.max_input_tokens {
                    assert!(held.input_tokens <= cap, "seed {seed}: input");
                }
                if let Some(cap) = limits.max_output_tokens_total {
                    assert!(held.output_tokens <= cap, "seed {seed}: output");
                }
                if let Some(cap) = cap_nanos {
                    assert!(held.cost_nano_usd <= cap, "seed {seed}: cost");
                    assert!(state.spent().cost_usd() <= limits.max_cost_usd.unwrap_or(0.0));
                }
            }
        }
    }
}

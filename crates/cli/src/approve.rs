//! Approval of `ask` decisions at a terminal: the action, the rule and the reason on
//! stderr, the answer read from the terminal.

use std::io::{BufRead, Write};

use rein_agent::{ApprovalAnswer, ApprovalRequest, Approver};

/// Prompts on the controlling terminal: `y` once, `a` for the rest of the run, `n` (or
/// anything else, or end of input) deny.
#[derive(Debug, Default)]
pub struct TerminalApprover;

impl TerminalApprover {
    pub fn new() -> Self {
        Self
    }
}

/// A field of the approval prompt on one line, with nothing that could drive the terminal
/// or forge another line of the prompt (a command with `\r\x1b[2K` in it cannot hide behind
/// a harmless one).
pub(crate) fn one_line(text: &str) -> String {
    crate::terminal::escape_controls(text).replace('\n', "\\n")
}

/// Parse an answer line; only an explicit yes approves.
pub fn parse_answer(line: &str) -> ApprovalAnswer {
    match line.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => ApprovalAnswer::Once,
        "a" | "always" => ApprovalAnswer::ForRun,
        _ => ApprovalAnswer::Deny,
    }
}

#[async_trait::async_trait]
impl Approver for TerminalApprover {
    fn source(&self) -> &'static str {
        "terminal"
    }

    async fn decide(&self, request: &ApprovalRequest) -> ApprovalAnswer {
        let prompt = format!(
            "\n\u{1b}[2Kapproval needed: {} `{}`\n  rule: {}\n  why: {}\napprove? [y] once, [a] for this run, [n] deny (default n): ",
            one_line(&request.action),
            one_line(&request.target),
            one_line(&request.rule),
            one_line(&request.reason)
        );
        let answer = tokio::task::spawn_blocking(move || {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(prompt.as_bytes());
            let _ = stderr.flush();
            let mut line = String::new();
            match std::io::stdin().lock().read_line(&mut line) {
                Ok(0) | Err(_) => ApprovalAnswer::Deny,
                Ok(_) => parse_answer(&line),
            }
        })
        .await;
        answer.unwrap_or(ApprovalAnswer::Deny)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_yes_approves() {
        assert_eq!(parse_answer("y\n"), ApprovalAnswer::Once);
        assert_eq!(parse_answer(" YES "), ApprovalAnswer::Once);
        assert_eq!(parse_answer("a"), ApprovalAnswer::ForRun);
        assert_eq!(parse_answer(""), ApprovalAnswer::Deny);
        assert_eq!(parse_answer("sure"), ApprovalAnswer::Deny);
        assert_eq!(parse_answer("n"), ApprovalAnswer::Deny);
    }
}

//! End-to-end tests: the real `rein` binary against the mock LLM over loopback HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ci_triage;
mod cli;
mod config;
mod doctor;
mod git_config;
mod guardrails;
mod harness;
mod hooks;
mod hostile;
mod landlock;
mod mcp;
mod output;
mod protect;
mod runs;
mod stale;
mod tidy;
mod trust;

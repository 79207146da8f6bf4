//! Integration tests of rein-testkit: the mock LLM server driven over loopback HTTP with
//! reqwest (and raw sockets), for both wire formats.

// Helpers outside `#[test]` functions panic on setup failures too: this is a test binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anthropic;
mod faults;
mod openai;
mod script;
mod support;

//! rein-policy integration tests: the bypass catalogue, allowed command lines, parser
//! fuzzing and the aggregated policy.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] functions

mod commands;
mod fuzz;
mod policy;

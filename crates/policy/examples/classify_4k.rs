//! Measures how long classifying a 4 KiB command line takes (issue 4 asks for well under
//! 1 ms). Run with `cargo run --release -p rein-policy --example classify_4k`.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use rein_policy::{CommandRulesConfig, Policy, PolicyConfig};

fn main() -> Result<(), rein_policy::PolicyError> {
    let policy = Policy::new(&PolicyConfig {
        commands: CommandRulesConfig {
            allow: Some(
                ["git status", "ls", "grep", "echo", "cargo test"]
                    .iter()
                    .map(|rule| rule.to_string())
                    .collect(),
            ),
            deny: vec!["git push".to_string(), "rm -rf *".to_string()],
            ..CommandRulesConfig::default()
        },
        ..PolicyConfig::default()
    })?;
    let unit = "git status && ls -la 'src dir' | grep -n \"fn $(echo main)\" > out.txt; ";
    let mut line = unit.repeat(4096 / unit.len());
    while line.len() + "ls; ".len() <= 4096 {
        line.push_str("ls; ");
    }
    let line = line.as_str();
    let rounds = 2000;
    let mut times_ns: Vec<u128> = Vec::with_capacity(rounds);
    let mut decision = String::new();
    for _ in 0..rounds {
        let started = Instant::now();
        let answer = policy.check_command(line);
        times_ns.push(started.elapsed().as_nanos());
        decision = format!(
            "{} ({} commands)",
            answer.decision.kind(),
            answer.commands.len()
        );
    }
    times_ns.sort_unstable();
    println!(
        "{} bytes: {decision}; median {} µs, p99 {} µs, max {} µs over {rounds} runs",
        line.len(),
        times_ns[rounds / 2] / 1000,
        times_ns[rounds * 99 / 100] / 1000,
        times_ns[rounds - 1] / 1000
    );
    Ok(())
}

//! The aggregated [`Policy`]: construction errors name the rule, and `Display` shows the
//! effective policy for `rein check`.

use std::time::Duration;

use expect_test::expect;
use rein_policy::{
    CommandRulesConfig, Limits, NetworkRulesConfig, PathRulesConfig, Policy, PolicyConfig,
};

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|item| item.to_string()).collect()
}

#[test]
fn the_effective_policy_is_shown() {
    let policy = Policy::new(&PolicyConfig {
        limits: Limits {
            max_steps: Some(30),
            max_cost_usd: Some(0.5),
            max_wall_time: Some(Duration::from_secs(600)),
            ..Limits::default()
        },
        commands: CommandRulesConfig {
            allow: Some(strings(&["git status", "cargo test"])),
            deny: strings(&["git push"]),
            ask: strings(&["cargo publish"]),
            deny_options: strings(&["git -c", "find -exec"]),
            allow_env: strings(&["LANG", "LC_*"]),
        },
        paths: PathRulesConfig {
            read: Some(strings(&["**"])),
            write: Some(strings(&["src/**"])),
            deny: strings(&["secrets/**"]),
        },
        network: NetworkRulesConfig {
            allow_hosts: strings(&["api.github.com", "*.slack.com"]),
            ..NetworkRulesConfig::default()
        },
    })
    .unwrap();
    expect![[r#"
        [limits]
          max_steps = 30
          max_total_tokens = unlimited
          max_input_tokens = unlimited
          max_output_tokens_total = unlimited
          max_cost_usd = 0.5
          max_wall_time = 600000ms
          max_tool_calls = unlimited
        [policy.commands]
          allow[0] "git status"
          allow[1] "cargo test"
          deny[0] "git push"
          ask[0] "cargo publish"
          deny_options[0] "git -c"
          deny_options[1] "find -exec"
          allow_env = LANG LC_*
        [policy.paths]
          policy.paths.read[0] "**"
          policy.paths.write[0] "src/**"
          builtin.paths.deny[0] ".env"
          builtin.paths.deny[1] "**/.env"
          builtin.paths.deny[2] "*.pem"
          builtin.paths.deny[3] "**/*.pem"
          builtin.paths.deny[4] "id_*"
          builtin.paths.deny[5] "**/id_*"
          policy.paths.deny[0] "secrets/**"
          builtin.paths.deny_write[0] ".git/config"
          builtin.paths.deny_write[1] "**/.git/config"
          builtin.paths.deny_write[2] ".git/hooks"
          builtin.paths.deny_write[3] ".git/hooks/**"
          builtin.paths.deny_write[4] "**/.git/hooks"
          builtin.paths.deny_write[5] "**/.git/hooks/**"
        [policy.network]
          policy.network.allow_hosts[0] "api.github.com": ports 80 and 443
          policy.network.allow_hosts[1] "*.slack.com": ports 80 and 443
          loopback, private, link-local, metadata, CGNAT, multicast and reserved addresses refused unless listed exactly
    "#]].assert_eq(&policy.to_string());
}

#[test]
fn construction_errors_name_the_rule() {
    let errors: Vec<String> = [
        PolicyConfig {
            commands: CommandRulesConfig {
                deny: strings(&["git push", "rm `x`"]),
                ..CommandRulesConfig::default()
            },
            ..PolicyConfig::default()
        },
        PolicyConfig {
            paths: PathRulesConfig {
                deny: strings(&["{a"]),
                ..PathRulesConfig::default()
            },
            ..PolicyConfig::default()
        },
        PolicyConfig {
            network: NetworkRulesConfig {
                allow_hosts: strings(&["ok.com", "bad host"]),
                ..NetworkRulesConfig::default()
            },
            ..PolicyConfig::default()
        },
        PolicyConfig {
            limits: Limits {
                max_cost_usd: Some(-1.0),
                ..Limits::default()
            },
            ..PolicyConfig::default()
        },
    ]
    .iter()
    .filter_map(|config| Policy::new(config).err().map(|error| error.to_string()))
    .collect();
    expect![[r#"
        [
            "policy.commands.deny[1]: invalid command pattern `rm `x``: ``` is not allowed: a pattern is plain words separated by spaces",
            "policy.paths.deny[0] \"{a\": invalid glob `{a`: error parsing glob '{a': unclosed alternate group; missing '}' (maybe escape '{' with '[{]'?)",
            "policy.network.allow_hosts[1]: invalid host pattern `bad host`: `bad host` has characters a host name cannot have",
            "limits.max_cost_usd: must be a finite number >= 0, got -1",
        ]
    "#]].assert_debug_eq(&errors);
}

#[test]
fn reads_writes_and_hosts_go_through_the_policy() {
    let policy = Policy::new(&PolicyConfig {
        paths: PathRulesConfig {
            write: Some(strings(&["src/**"])),
            ..PathRulesConfig::default()
        },
        network: NetworkRulesConfig {
            allow_hosts: strings(&["api.github.com"]),
            ..NetworkRulesConfig::default()
        },
        ..PolicyConfig::default()
    })
    .unwrap();
    let lines = [
        format!("read README.md: {}", policy.check_read("README.md")),
        format!("write README.md: {}", policy.check_write("README.md")),
        format!("write src/a.rs: {}", policy.check_write("src/a.rs")),
        format!(
            "host api.github.com: {}",
            policy.check_host("api.github.com")
        ),
        format!(
            "host 169.254.169.254: {}",
            policy.check_host("169.254.169.254")
        ),
        format!(
            "api.github.com -> 127.0.0.1: {}",
            policy.check_address("api.github.com", "127.0.0.1".parse().unwrap())
        ),
        format!(
            "budget: {:?}",
            policy.budget_state().map(|state| state.steps_done())
        ),
    ];
    expect![[r#"
        read README.md: allow
        write README.md: deny: `README.md` is not in policy.paths.write [default: not in policy.paths.write]
        write src/a.rs: allow
        host api.github.com: allow
        host 169.254.169.254: deny: 169.254.169.254 is a cloud metadata address [default: a cloud metadata address refused]
        api.github.com -> 127.0.0.1: deny: `api.github.com` resolved to 127.0.0.1, a loopback address; list the address itself in allow_hosts to allow it [default: a loopback address refused]
        budget: Ok(0)"#]].assert_eq(&lines.join("\n"));
}

#[test]
fn empty_allow_lists_are_shown_as_denying_everything() {
    let shown = |config: PolicyConfig| -> Vec<String> {
        Policy::new(&config)
            .unwrap()
            .to_string()
            .lines()
            .filter(|line| {
                line.contains("empty") || line.contains("no list") || line.contains("none")
            })
            .map(str::to_owned)
            .collect()
    };
    let empty = shown(PolicyConfig {
        commands: CommandRulesConfig {
            allow: Some(Vec::new()),
            allow_env: Vec::new(),
            ..CommandRulesConfig::default()
        },
        paths: PathRulesConfig {
            read: Some(Vec::new()),
            write: Some(Vec::new()),
            deny: Vec::new(),
        },
        network: NetworkRulesConfig {
            allow_hosts: Vec::new(),
            ..NetworkRulesConfig::default()
        },
        ..PolicyConfig::default()
    });
    let absent = shown(PolicyConfig::default());
    expect![[r#"
        [
            "  commands: allow list is empty: every command is denied",
            "  allow_env list is empty: every environment assignment is denied",
            "  read list is empty: every path is denied for reading",
            "  write list is empty: every path is denied for writing",
            "  allow_hosts: none (no host may be reached)",
        ]
    "#]]
    .assert_debug_eq(&empty);
    expect![[r#"
        [
            "  allow: no list: anything not denied",
            "  allow_hosts: none (no host may be reached)",
        ]
    "#]]
    .assert_debug_eq(&absent);

    // What `Display` says is what the policy does.
    let policy = Policy::new(&PolicyConfig {
        paths: PathRulesConfig {
            read: Some(Vec::new()),
            write: Some(Vec::new()),
            deny: Vec::new(),
        },
        ..PolicyConfig::default()
    })
    .unwrap();
    expect![[r#"
        deny: `src/main.rs` may not be read: policy.paths.read is empty, so every path is denied [default: not in policy.paths.read]
        deny: `src/main.rs` may not be written: policy.paths.write is empty, so every path is denied [default: not in policy.paths.write]"#]].assert_eq(&format!(
        "{}\n{}",
        policy.check_read("src/main.rs"),
        policy.check_write("src/main.rs")
    ));
}

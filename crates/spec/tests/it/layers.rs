//! Config layers: merge order and provenance, list rules, profiles, the locked policy, and
//! errors pointed at the layer they come from. Each test builds the five layers in a
//! temporary folder; the environment is injected through `LoadOptions::env`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use expect_test::{Expect, expect};
use rein_spec::layers::{self, LayerOptions};
use rein_spec::{LoadOptions, load_layered};

const AGENT: &str = r#"name = "ci-triage"

[model]
provider = "openai"
name = "gpt-4.1-mini"

[prompt]
task = "Find why the build failed."
"#;

/// `$TMP/etc/rein/config.toml` (system, through REIN_SYSTEM_CONFIG), `$TMP/home` (HOME,
/// user file in `.config/rein/config.toml`), `$TMP/repo/.rein/config.toml` (project) and
/// `$TMP/repo/agents/ci/agent.toml`.
struct Layers {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
}

impl Layers {
    fn new(agent: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let env = BTreeMap::from([
            (
                "REIN_SYSTEM_CONFIG".to_owned(),
                root.join("etc/rein/config.toml").display().to_string(),
            ),
            ("HOME".to_owned(), root.join("home").display().to_string()),
        ]);
        let layers = Layers { dir, env };
        layers.write("repo/agents/ci/agent.toml", agent);
        layers
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.root().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn system(&self, text: &str) -> &Self {
        self.write("etc/rein/config.toml", text)
    }

    fn user(&self, text: &str) -> &Self {
        self.write("home/.config/rein/config.toml", text)
    }

    fn project(&self, text: &str) -> &Self {
        self.write("repo/.rein/config.toml", text)
    }

    fn agent_path(&self) -> PathBuf {
        self.root().join("repo/agents/ci/agent.toml")
    }

    fn opts(&self, env: &[(&str, &str)]) -> LoadOptions {
        let mut all = self.env.clone();
        for (k, v) in env {
            all.insert(
                k.to_string(),
                v.replace("$TMP", &self.root().display().to_string()),
            );
        }
        LoadOptions {
            env: all,
            ..LoadOptions::default()
        }
    }

    /// Layer options; the system layer is skipped unless the test wrote one, so the
    /// host's /etc/rein/config.toml never takes part.
    fn options(&self, profile: Option<&str>, sets: &[&str]) -> LayerOptions {
        LayerOptions {
            profile: profile.map(str::to_owned),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            skip_system: !self.root().join("etc/rein/config.toml").exists(),
            skip_user: false,
        }
    }

    /// The settings that are not defaults, each with its layer, or the error.
    fn load(&self, profile: Option<&str>, sets: &[&str], env: &[(&str, &str)]) -> String {
        let options = self.options(profile, sets);
        let text = match load_layered(&self.agent_path(), &self.opts(env), &options) {
            Ok(layered) => layers::show(&layered)
                .lines()
                .filter(|l| {
                    !l.trim().is_empty()
                        && !l.ends_with("# default")
                        && !l.starts_with('[')
                        && (!l.starts_with("# ")
                            || l.starts_with("#   ")
                            || l.starts_with("# layers")
                            || l.starts_with("# locked")
                            || l.contains("   # "))
                })
                .map(|l| {
                    // Column padding depends on the longest line; keep one space.
                    match l.split_once("   # ") {
                        Some((setting, source)) => {
                            format!("{}   # {source}", setting.trim_end())
                        }
                        None => l.to_owned(),
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(err) => format!("error: {err}"),
        };
        text.replace(&self.root().display().to_string(), "$TMP")
    }

    fn check(&self, profile: Option<&str>, sets: &[&str], env: &[(&str, &str)], expect: Expect) {
        expect.assert_eq(&self.load(profile, sets, env));
    }
}

#[test]
fn five_layers_merge_in_order_with_provenance() {
    let l = Layers::new(&format!(
        "{AGENT}\n[loop]\ntool_output_limit = 1000\n\n[environment.env]\nC = \"agent\"\n"
    ));
    l.system(
        "[loop]\nmax_steps = 10\nstuck_after = 9\n\n[limits]\nmax_cost_usd = 5\n\n[environment.env]\nA = \"system\"\nB = \"system\"\n",
    )
    .user("[loop]\nmax_steps = 20\n\n[environment]\nenv = { B = \"user\" }\n")
    .project("[loop]\nmax_steps = 25\nstuck_after = 5\n");
    l.check(
        None,
        &["loop.max_steps=7"],
        &[],
        expect![[r##"
            # layers, lowest first:
            #   $TMP/etc/rein/config.toml
            #   $TMP/home/.config/rein/config.toml
            #   $TMP/repo/.rein/config.toml
            #   $TMP/repo/agents/ci/agent.toml (agent file)
            #   --set loop.max_steps=7
            name = "ci-triage"   # agent $TMP/repo/agents/ci/agent.toml
            provider = "openai"   # agent $TMP/repo/agents/ci/agent.toml
            name = "gpt-4.1-mini"   # agent $TMP/repo/agents/ci/agent.toml
            task = "Find why the build failed."   # agent $TMP/repo/agents/ci/agent.toml
            env = { A = "system", B = "user", C = "agent" }   # system $TMP/etc/rein/config.toml + user $TMP/home/.config/rein/config.toml + agent $TMP/repo/agents/ci/agent.toml
            max_steps = 7   # --set loop.max_steps=7
            stuck_after = 5   # project $TMP/repo/.rein/config.toml
            tool_output_limit = 1000   # agent $TMP/repo/agents/ci/agent.toml
            max_cost_usd = 5.0   # system $TMP/etc/rein/config.toml"##]],
    );
    // XDG_CONFIG_HOME wins over HOME for the user file.
    l.write("xdg/rein/config.toml", "[loop]\nmax_steps = 21\n");
    let shown = l.load(None, &[], &[("XDG_CONFIG_HOME", "$TMP/xdg")]);
    assert!(
        shown.contains("max_steps = 25   # project"),
        "project above user: {shown}"
    );
    assert!(shown.contains("#   $TMP/xdg/rein/config.toml"), "{shown}");
    assert!(!shown.contains("home/.config"), "{shown}");
}

#[test]
fn without_config_layers_the_agent_file_loads_as_before() {
    let l = Layers::new(&format!("{AGENT}\n[loop]\nmax_steps = 4\n"));
    let layered = load_layered(&l.agent_path(), &l.opts(&[]), &l.options(None, &[])).unwrap();
    let direct = rein_spec::load_agent(&l.agent_path(), &l.opts(&[])).unwrap();
    assert_eq!(
        layered.spec.to_display_toml(),
        direct.to_display_toml(),
        "same spec"
    );
    assert!(layered.layers.is_empty());
    // A folder means its agent.toml, as for load_agent.
    let by_folder = load_layered(
        &l.root().join("repo/agents/ci"),
        &l.opts(&[]),
        &l.options(None, &[]),
    )
    .unwrap();
    assert_eq!(by_folder.spec.loop_.max_steps, 4);
}

#[test]
fn lists_are_replaced_except_denials_which_accumulate() {
    let l = Layers::new(&format!(
        "{AGENT}\n[policy.paths]\ndeny = [\"secrets/**\"]\n"
    ));
    l.system(
        "[tools]\nbuiltin = [\"read_file\", \"grep\"]\n\n[policy.commands]\nallow = [\"ls\"]\ndeny = [\"rm -rf *\"]\n",
    )
    .project(
        "[tools]\nbuiltin = [\"list_dir\"]\n\n[policy.commands]\nallow = [\"cat\"]\ndeny = [\"git push\", \"rm -rf *\"]\n\n[policy.paths]\ndeny = [\"*.key\"]\n",
    );
    l.check(
        None,
        &[r#"policy.commands.ask=["cargo publish"]"#],
        &[],
        expect![[r##"
            # layers, lowest first:
            #   $TMP/etc/rein/config.toml
            #   $TMP/repo/.rein/config.toml
            #   $TMP/repo/agents/ci/agent.toml (agent file)
            #   --set policy.commands.ask=["cargo publish"]
            name = "ci-triage"   # agent $TMP/repo/agents/ci/agent.toml
            provider = "openai"   # agent $TMP/repo/agents/ci/agent.toml
            name = "gpt-4.1-mini"   # agent $TMP/repo/agents/ci/agent.toml
            task = "Find why the build failed."   # agent $TMP/repo/agents/ci/agent.toml
            allow = ["cat"]   # project $TMP/repo/.rein/config.toml
            deny = ["rm -rf *", "git push"]   # system $TMP/etc/rein/config.toml + project $TMP/repo/.rein/config.toml
            ask = ["cargo publish"]   # --set policy.commands.ask=["cargo publish"]
            deny = ["*.key", "secrets/**"]   # project $TMP/repo/.rein/config.toml + agent $TMP/repo/agents/ci/agent.toml
            builtin = ["list_dir"]   # project $TMP/repo/.rein/config.toml"##]],
    );
}

#[test]
fn profiles_apply_above_the_files_and_below_set() {
    let l = Layers::new(&format!("{AGENT}\n[loop]\nmax_steps = 30\n"));
    l.user("[profile.ci.loop]\nmax_steps = 4\nstuck_after = 6\n\n[profile.local.limits]\nmax_cost_usd = 2.0\n")
        .project("[profile.ci]\nlimits = { max_cost_usd = 0.5 }\nloop = { max_steps = 3 }\n");
    l.check(
        Some("ci"),
        &[],
        &[],
        expect![[r##"
            # layers, lowest first:
            #   $TMP/home/.config/rein/config.toml
            #   $TMP/repo/.rein/config.toml
            #   $TMP/repo/agents/ci/agent.toml (agent file)
            #   profile ci
            name = "ci-triage"   # agent $TMP/repo/agents/ci/agent.toml
            provider = "openai"   # agent $TMP/repo/agents/ci/agent.toml
            name = "gpt-4.1-mini"   # agent $TMP/repo/agents/ci/agent.toml
            task = "Find why the build failed."   # agent $TMP/repo/agents/ci/agent.toml
            max_steps = 3   # profile ci in $TMP/repo/.rein/config.toml
            stuck_after = 6   # profile ci in $TMP/home/.config/rein/config.toml
            max_cost_usd = 0.5   # profile ci in $TMP/repo/.rein/config.toml"##]],
    );
    // REIN_PROFILE selects one when --profile is not given; --profile wins over it.
    let local = l.load(None, &[], &[("REIN_PROFILE", "local")]);
    assert!(
        local.contains("max_cost_usd = 2.0   # profile local in $TMP/home"),
        "{local}"
    );
    assert!(local.contains("max_steps = 30   # agent"), "{local}");
    let flag = l.load(Some("ci"), &[], &[("REIN_PROFILE", "local")]);
    assert!(flag.contains("max_cost_usd = 0.5   # profile ci"), "{flag}");
    // --set is above the profile.
    let set = l.load(Some("ci"), &["loop.max_steps=2"], &[]);
    assert!(
        set.contains("max_steps = 2   # --set loop.max_steps=2"),
        "{set}"
    );
    // No profile selected: profiles do nothing.
    let none = l.load(None, &[], &[]);
    assert!(none.contains("max_steps = 30   # agent"), "{none}");
    assert!(!none.contains("max_cost_usd"), "{none}");

    l.check(
        Some("prod"),
        &[],
        &[],
        expect![[r#"
            error: unknown profile `prod`
            hint: profiles: ci, local"#]],
    );
    l.check(
        None,
        &[],
        &[("REIN_PROFILE", "cl")],
        expect![[r#"
            error: unknown profile `cl` (from REIN_PROFILE)
            hint: profiles: ci, local"#]],
    );
    let bare = Layers::new(AGENT);
    bare.check(
        Some("ci"),
        &[],
        &[],
        expect![[r#"
            error: unknown profile `ci`
            hint: no config layer defines a profile; add `[profile.NAME]` to a config file"#]],
    );
}

const LOCKED: &str = r#"[limits]
max_cost_usd = 0.8

[locked]
max_cost_usd = 1.0
max_total_tokens = 100000
max_wall_time = "10m"
max_steps = 20
sandbox_not = ["host"]
network = "none"
deny_commands = ["git push", "curl"]
deny_hosts = ["*.evil.com"]
"#;

#[test]
fn a_locked_setting_loosened_by_any_layer_is_an_error_naming_both_places() {
    let loosen = "[limits]\nmax_cost_usd = 5.0\n";
    // By the user file.
    let l = Layers::new(AGENT);
    l.system(LOCKED).user(loosen);
    l.check(
        None,
        &[],
        &[],
        expect![[r#"
            error: the system policy $TMP/etc/rein/config.toml:5:16 locks limits.max_cost_usd ≤ 1.0; $TMP/home/.config/rein/config.toml:2:16 sets 5.0
            hint: locked settings can only be made stricter: set it to 1.0 or less, or remove it"#]],
    );
    // By the project file.
    let l = Layers::new(AGENT);
    l.system(LOCKED).project(loosen);
    l.check(
        None,
        &[],
        &[],
        expect![[r#"
            error: the system policy $TMP/etc/rein/config.toml:5:16 locks limits.max_cost_usd ≤ 1.0; $TMP/repo/.rein/config.toml:2:16 sets 5.0
            hint: locked settings can only be made stricter: set it to 1.0 or less, or remove it"#]],
    );
    // By the agent file.
    let l = Layers::new(&format!("{AGENT}\n{loosen}"));
    l.system(LOCKED);
    l.check(
        None,
        &[],
        &[],
        expect![[r#"
            error: the system policy $TMP/etc/rein/config.toml:5:16 locks limits.max_cost_usd ≤ 1.0; $TMP/repo/agents/ci/agent.toml:11:16 sets 5.0
            hint: locked settings can only be made stricter: set it to 1.0 or less, or remove it"#]],
    );
    // By a profile.
    let l = Layers::new(AGENT);
    l.system(LOCKED)
        .project("[profile.ci.limits]\nmax_cost_usd = 3\n");
    l.check(
        Some("ci"),
        &[],
        &[],
        expect![[r#"
            error: the system policy $TMP/etc/rein/config.toml:5:16 locks limits.max_cost_usd ≤ 1.0; profile `ci` at $TMP/repo/.rein/config.toml:2:16 sets 3.0
            hint: locked settings can only be made stricter: set it to 1.0 or less, or remove it"#]],
    );
    // By a flag.
    let l = Layers::new(AGENT);
    l.system(LOCKED);
    l.check(
        None,
        &["limits.max_cost_usd=1.5"],
        &[],
        expect![[r#"
            error: the system policy $TMP/etc/rein/config.toml:5:16 locks limits.max_cost_usd ≤ 1.0; --set limits.max_cost_usd=1.5 sets 1.5
            hint: locked settings can only be made stricter: set it to 1.0 or less, or remove it"#]],
    );
    // Every other lock, each loosened by a flag.
    let cases = [
        (
            "limits.max_total_tokens=200000",
            expect![[r#"
                error: the system policy $TMP/etc/rein/config.toml:6:20 locks limits.max_total_tokens ≤ 100000; --set limits.max_total_tokens=200000 sets 200000
                hint: locked settings can only be made stricter: set it to 100000 or less, or remove it"#]],
        ),
        (
            "limits.max_wall_time=1h",
            expect![[r#"
                error: the system policy $TMP/etc/rein/config.toml:7:17 locks limits.max_wall_time ≤ 10m; --set limits.max_wall_time=1h sets 1h
                hint: locked settings can only be made stricter: set it to 10m or less, or remove it"#]],
        ),
        (
            "loop.max_steps=50",
            expect![[r#"
                error: the system policy $TMP/etc/rein/config.toml:8:13 locks loop.max_steps ≤ 20; --set loop.max_steps=50 sets 50
                hint: locked settings can only be made stricter: set it to 20 or less, or remove it"#]],
        ),
        (
            "environment.sandbox=host",
            expect![[r#"
                error: the system policy $TMP/etc/rein/config.toml:9:15 locks environment.sandbox not host; --set environment.sandbox=host sets host
                hint: locked settings can only be made stricter: choose another sandbox backend in environment.sandbox"#]],
        ),
        (
            "environment.network=host",
            expect![[r#"
                error: the system policy $TMP/etc/rein/config.toml:10:11 locks environment.network = "none"; --set environment.network=host sets host
                hint: locked settings can only be made stricter: remove environment.network, or set it to "none"; give http_request hosts through policy.network.allow_hosts"#]],
        ),
        (
            r#"policy.network.allow_hosts=["api.github.com", "api.evil.com"]"#,
            expect![[r#"
                error: the system policy $TMP/etc/rein/config.toml:12:14 locks policy.network.allow_hosts never admits "*.evil.com"; --set policy.network.allow_hosts=["api.github.com", "api.evil.com"] sets "api.evil.com"
                hint: locked settings can only be made stricter: remove "api.evil.com" from policy.network.allow_hosts"#]],
        ),
    ];
    for (set, expect) in cases {
        l.check(None, &[set], &[], expect);
    }
    // A loosening in a file names its line.
    let l = Layers::new(&format!(
        "{AGENT}\n[environment]\nsandbox = \"host\"\n\n[policy.network]\nallow_hosts = [\"ok.com\", \"*.com\"]\n"
    ));
    l.system(LOCKED);
    l.check(
        None,
        &["environment.sandbox=linux"],
        &[],
        expect![[r#"
            error: the system policy $TMP/etc/rein/config.toml:12:14 locks policy.network.allow_hosts never admits "*.evil.com"; $TMP/repo/agents/ci/agent.toml:14:26 sets "*.com"
            hint: locked settings can only be made stricter: remove "*.com" from policy.network.allow_hosts"#]],
    );
    l.check(
        None,
        &[],
        &[],
        expect![[r#"
            error: the system policy $TMP/etc/rein/config.toml:9:15 locks environment.sandbox not host; $TMP/repo/agents/ci/agent.toml:11:11 sets host
            hint: locked settings can only be made stricter: choose another sandbox backend in environment.sandbox"#]],
    );
}

#[test]
fn tightening_a_locked_setting_is_fine_and_unset_ceilings_apply() {
    let l = Layers::new(&format!("{AGENT}\n[limits]\nmax_cost_usd = 0.3\n"));
    l.system(LOCKED)
        .project("[policy.commands]\ndeny = [\"rm -rf *\", \"curl\"]\n\n[loop]\nmax_steps = 12\n");
    l.check(
        None,
        &["limits.max_wall_time=5m"],
        &[],
        expect![[r##"
            # layers, lowest first:
            #   $TMP/etc/rein/config.toml
            #   $TMP/repo/.rein/config.toml
            #   $TMP/repo/agents/ci/agent.toml (agent file)
            #   --set limits.max_wall_time=5m
            name = "ci-triage"   # agent $TMP/repo/agents/ci/agent.toml
            provider = "openai"   # agent $TMP/repo/agents/ci/agent.toml
            name = "gpt-4.1-mini"   # agent $TMP/repo/agents/ci/agent.toml
            task = "Find why the build failed."   # agent $TMP/repo/agents/ci/agent.toml
            max_steps = 12   # project $TMP/repo/.rein/config.toml
            max_wall_time = "5m"   # --set limits.max_wall_time=5m
            max_total_tokens = 100000   # locked by $TMP/etc/rein/config.toml
            max_cost_usd = 0.3   # agent $TMP/repo/agents/ci/agent.toml
            deny = ["git push", "curl", "rm -rf *"]   # locked by $TMP/etc/rein/config.toml + project $TMP/repo/.rein/config.toml
            # locked (can only be made stricter)
            # limits.max_cost_usd ≤ 1.0   # $TMP/etc/rein/config.toml
            # limits.max_total_tokens ≤ 100000   # $TMP/etc/rein/config.toml
            # limits.max_wall_time ≤ 10m   # $TMP/etc/rein/config.toml
            # loop.max_steps ≤ 20   # $TMP/etc/rein/config.toml
            # environment.sandbox not host   # $TMP/etc/rein/config.toml
            # environment.network = none   # $TMP/etc/rein/config.toml
            # policy.commands.deny ⊇ ["git push", "curl"]   # $TMP/etc/rein/config.toml
            # policy.network.allow_hosts never admits ["*.evil.com"]   # $TMP/etc/rein/config.toml"##]],
    );
    // Nothing set below: the ceilings apply, the default max_steps (30) is brought down.
    let l = Layers::new(AGENT);
    l.system(LOCKED);
    let layered = load_layered(&l.agent_path(), &l.opts(&[]), &l.options(None, &[])).unwrap();
    let spec = &layered.spec;
    // The system file's own [limits] (0.8) is below its ceiling.
    assert_eq!(spec.limits.max_cost_usd, Some(0.8));
    assert_eq!(spec.limits.max_total_tokens, Some(100_000));
    assert_eq!(
        spec.limits.max_wall_time,
        Some(std::time::Duration::from_secs(600))
    );
    assert_eq!(spec.loop_.max_steps, 20);
    assert_eq!(spec.policy.commands.deny, ["git push", "curl"]);
    assert_eq!(
        layered.provenance["loop.max_steps"].to_string(),
        format!(
            "locked by {}",
            l.root().join("etc/rein/config.toml").display()
        )
    );
}

#[test]
fn locked_deny_commands_cannot_be_removed() {
    let l = Layers::new(&format!(
        "{AGENT}\n[policy.commands]\ndeny = []\nallow = [\"git push\", \"curl\"]\n"
    ));
    l.system(LOCKED);
    for sets in [&[][..], &["policy.commands.deny=[]"][..]] {
        let layered = load_layered(&l.agent_path(), &l.opts(&[]), &l.options(None, sets)).unwrap();
        assert_eq!(
            layered.spec.policy.commands.deny,
            ["git push", "curl"],
            "{sets:?}"
        );
    }
}

#[test]
fn a_policy_file_locks_like_the_system_file() {
    let l = Layers::new(&format!("{AGENT}\n[limits]\nmax_cost_usd = 2\n"));
    l.write("policy.toml", "[locked]\nmax_cost_usd = 1\n");
    l.check(
        None,
        &[],
        &[("REIN_POLICY_FILE", "$TMP/policy.toml")],
        expect![[r#"
            error: the policy file $TMP/policy.toml:2:16 (REIN_POLICY_FILE) locks limits.max_cost_usd ≤ 1.0; $TMP/repo/agents/ci/agent.toml:11:16 sets 2.0
            hint: locked settings can only be made stricter: set it to 1.0 or less, or remove it"#]],
    );
    // Both apply: the system file's and the policy file's.
    l.system("[locked]\ndeny_commands = [\"curl\"]\n")
        .write("policy.toml", "[locked]\ndeny_commands = [\"git push\"]\n");
    let layered = load_layered(
        &l.agent_path(),
        &l.opts(&[("REIN_POLICY_FILE", "$TMP/policy.toml")]),
        &l.options(None, &[]),
    )
    .unwrap();
    assert_eq!(layered.spec.policy.commands.deny, ["curl", "git push"]);
    // A named policy file that is missing is an error: a lock never vanishes silently.
    let missing = l.load(None, &[], &[("REIN_POLICY_FILE", "$TMP/nope.toml")]);
    assert!(
        missing.starts_with("error: cannot read config file $TMP/nope.toml: "),
        "{missing}"
    );
    // So is a system file named by REIN_SYSTEM_CONFIG that is missing.
    let missing = l.load(None, &[], &[("REIN_SYSTEM_CONFIG", "$TMP/etc/nope.toml")]);
    assert!(
        missing.starts_with("error: cannot read config file $TMP/etc/nope.toml: "),
        "{missing}"
    );
    // It holds only [locked].
    l.write(
        "policy.toml",
        "[locked]\nmax_steps = 3\n\n[loop]\nmax_steps = 2\n",
    );
    l.check(
        None,
        &[],
        &[("REIN_POLICY_FILE", "$TMP/policy.toml")],
        expect![[r#"
            error: $TMP/policy.toml:4:2: invalid `loop`: a policy file (REIN_POLICY_FILE) holds only a [locked] table
            hint: put defaults in the system file (/etc/rein/config.toml) instead"#]],
    );
}

#[test]
fn config_file_errors_name_the_config_file() {
    let cases = [
        // Syntax, unknown keys and types: checked in the file itself.
        (
            "user",
            "[loop]\nmax_steps = \n",
            expect![
                "error: $TMP/home/.config/rein/config.toml:2:13: invalid toml: string values must be quoted, expected literal string"
            ],
        ),
        (
            "project",
            "[loop]\nmax_step = 3\n",
            expect![[r#"
                error: $TMP/repo/.rein/config.toml:2:1: unknown key `max_step` in [loop]
                hint: did you mean `max_steps`?"#]],
        ),
        (
            "project",
            "[profile.ci.loop]\nmax_steps = \"many\"\n",
            expect![
                "error: $TMP/repo/.rein/config.toml:2:13: `profile.ci.loop.max_steps` must be an integer, found string"
            ],
        ),
        // Values checked when resolving: pointed back at the layer.
        (
            "system",
            "[environment]\nsandbox = \"linx\"\n",
            expect![[r#"
                error: $TMP/etc/rein/config.toml:2:11: invalid `environment.sandbox`: unknown sandbox `linx`
                hint: did you mean `linux`? sandboxes: linux, bwrap, host"#]],
        ),
        (
            "project",
            "[loop]\nstep_timeout = \"10 parsecs\"\n",
            expect![[r#"
                error: $TMP/repo/.rein/config.toml:2:16: invalid `loop.step_timeout`: `10 parsecs` is not a duration: unknown time unit "parsecs", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)
                hint: write a duration like "30s", "5m" or "1h 30m""#]],
        ),
        (
            "user",
            "[model]\nbase_url = \"http://${env:LLM_HOST}/v1\"\n",
            expect![[r#"
                error: $TMP/home/.config/rein/config.toml:2:20: environment variable `LLM_HOST` is not set
                hint: set it, or give a default: `${env:LLM_HOST:-DEFAULT}`"#]],
        ),
        (
            "project",
            "[locked]\nmax_steps = 3\n",
            expect![[r#"
                error: $TMP/repo/.rein/config.toml:1:1: invalid `locked`: [locked] is only read from the system file (/etc/rein/config.toml) or the file named by REIN_POLICY_FILE
                hint: move it there; a user or project file cannot lock settings"#]],
        ),
        (
            "system",
            "[locked]\nmax_cost = 3\n",
            expect![[r#"
                error: $TMP/etc/rein/config.toml:2:1: unknown key `max_cost` in [locked]
                hint: did you mean `max_cost_usd`?"#]],
        ),
        (
            "system",
            "[locked]\nnetwork = \"host\"\n",
            expect![[r#"
                error: $TMP/etc/rein/config.toml:2:11: invalid `locked.network`: only "none" can be locked, found `host`
                hint: remove the key to leave the network unlocked"#]],
        ),
    ];
    for (layer, text, expect) in cases {
        let l = Layers::new(AGENT);
        match layer {
            "system" => l.system(text),
            "user" => l.user(text),
            _ => l.project(text),
        };
        l.check(None, &[], &[], expect);
    }
}

#[test]
fn errors_keep_pointing_into_the_agent_file_and_at_flags() {
    let l = Layers::new(&format!(
        "{AGENT}\n[environment]\nenv = {{ TOKEN = \"${{secret:TOKEN}}\" }}\n"
    ));
    l.project("[loop]\nmax_steps = 3\n");
    // The column of an interpolation inside an agent-file string is exact.
    l.check(
        None,
        &[],
        &[],
        expect![[r#"
            error: $TMP/repo/agents/ci/agent.toml:11:18: secret `TOKEN` is not set
            hint: `${secret:TOKEN}` reads the environment variable `TOKEN`; set it, or use `${secret:file:PATH}`"#]],
    );
    let l = Layers::new(AGENT);
    l.project("[loop]\nmax_steps = 3\n");
    l.check(
        None,
        &["loop.max_steps=0"],
        &[],
        expect!["error: --set loop.max_steps=0: invalid `loop.max_steps`: must be greater than zero, found 0"],
    );
    l.check(
        None,
        &["model.pricing.output_per_mtok=1"],
        &[],
        expect![
            "error: --set model.pricing.output_per_mtok=1: missing `model.pricing.input_per_mtok`"
        ],
    );
    // A missing top-level key is the agent file's; a key missing in a table points at the
    // highest layer that wrote the table.
    let l = Layers::new("[model]\nprovider = \"openai\"\nname = \"m\"\n");
    l.project("description = \"from the project\"\n");
    l.check(
        None,
        &[],
        &[],
        expect![[r#"
            error: $TMP/repo/agents/ci/agent.toml:1:1: missing `name`
            hint: add `name = "my-agent"` at the top of the file"#]],
    );
    let l = Layers::new("name = \"x\"\n[model]\nprovider = \"openai\"\nname = \"m\"\n");
    l.project("[prompt]\nsystem = \"Be brief.\"\n");
    l.check(
        None,
        &[],
        &[],
        expect![[r#"
            error: $TMP/repo/.rein/config.toml:1:1: missing `prompt.task`
            hint: say what the agent must do: `task = "…"`"#]],
    );
    // Secrets stay hidden in the show output.
    let l = Layers::new(&format!(
        "{AGENT}\n[environment]\nenv = {{ TOKEN = \"${{secret:TOKEN}}\" }}\n"
    ));
    l.user("[model]\napi_key = \"sk-user-secret\"\n");
    let shown = l.load(None, &[], &[("TOKEN", "tok-secret-value")]);
    assert!(
        !shown.contains("sk-user-secret") && !shown.contains("tok-secret-value"),
        "{shown}"
    );
    assert!(shown.contains("api_key = \"***\"   # user"), "{shown}");
}

/// The worked example of docs/config.md loads as the page says.
#[test]
fn the_worked_example_of_the_docs_loads() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md"))
        .unwrap();
    let block = |first_line: &str| -> String {
        let start = doc.find(&format!("```toml\n{first_line}")).unwrap() + "```toml\n".len();
        let len = doc[start..].find("```").unwrap();
        doc[start..start + len].to_owned()
    };
    let l = Layers::new("name = \"triage\"\n[prompt]\ntask = \"Why did CI fail?\"\n");
    l.system(&block("# /etc/rein/config.toml — installed"))
        .project(&block("# repo/.rein/config.toml"));
    let ci = load_layered(
        &l.agent_path(),
        &l.opts(&[("REIN_PROFILE", "ci")]),
        &l.options(None, &[]),
    )
    .unwrap();
    assert_eq!(ci.spec.limits.max_cost_usd, Some(0.2));
    assert_eq!(ci.spec.loop_.max_steps, 20);
    assert_eq!(
        ci.spec.policy.commands.deny,
        ["git push", "curl", "wget", "cargo publish"]
    );
    let loosened = l.load(None, &["limits.max_cost_usd=5"], &[]);
    assert!(
        loosened.starts_with("error: the system policy "),
        "{loosened}"
    );
    let local = l.load(Some("local"), &[], &[]);
    assert!(
        local.contains("max_cost_usd = 1.5   # profile local"),
        "{local}"
    );
}

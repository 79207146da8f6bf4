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

    /// `rein trust` for the project folder, into the user's trust store.
    fn trust_project(&self) -> &Self {
        let (project, mut store) =
            rein_spec::trust::project_trust(&self.root().join("repo"), &self.env).unwrap();
        store.trust(&project.canonical, &project.sha256);
        store.save().unwrap();
        self
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
            hermetic: false,
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
                            || l.starts_with("# project config")
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
            # project config $TMP/repo/.rein/config.toml: untrusted
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
    // XDG_CONFIG_HOME wins over HOME for the user file (and holds the trust store).
    l.write("xdg/rein/config.toml", "[loop]\nmax_steps = 21\n");
    let shown = l.load(None, &[], &[("XDG_CONFIG_HOME", "$TMP/xdg")]);
    assert!(
        shown.contains("`loop.max_steps` raises a limit, and the project config is not trusted"),
        "an untrusted project cannot raise the user's 21 to 25: {shown}"
    );
    std::fs::write(
        l.root().join("xdg/rein/trusted.toml"),
        std::fs::read_to_string(
            l.trust_project()
                .root()
                .join("home/.config/rein/trusted.toml"),
        )
        .unwrap(),
    )
    .unwrap();
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
        "[tools]\nbuiltin = [\"grep\"]\n\n[policy.commands]\nallow = [\"ls -l\"]\ndeny = [\"git push\", \"rm -rf *\"]\n\n[policy.paths]\ndeny = [\"*.key\"]\n",
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
            # project config $TMP/repo/.rein/config.toml: untrusted
            #   --set policy.commands.ask=["cargo publish"]
            name = "ci-triage"   # agent $TMP/repo/agents/ci/agent.toml
            provider = "openai"   # agent $TMP/repo/agents/ci/agent.toml
            name = "gpt-4.1-mini"   # agent $TMP/repo/agents/ci/agent.toml
            task = "Find why the build failed."   # agent $TMP/repo/agents/ci/agent.toml
            allow = ["ls -l"]   # project $TMP/repo/.rein/config.toml
            deny = ["rm -rf *", "git push"]   # system $TMP/etc/rein/config.toml + project $TMP/repo/.rein/config.toml
            ask = ["cargo publish"]   # --set policy.commands.ask=["cargo publish"]
            deny = ["*.key", "secrets/**"]   # project $TMP/repo/.rein/config.toml + agent $TMP/repo/agents/ci/agent.toml
            builtin = ["grep"]   # project $TMP/repo/.rein/config.toml"##]],
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
            # project config $TMP/repo/.rein/config.toml: untrusted
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
            # project config $TMP/repo/.rein/config.toml: untrusted
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
    // The repository's file copies a folder into the workspace and passes HOME through:
    // it loads once trusted, as the page says.
    let untrusted = l.load(Some("ci"), &[], &[]);
    assert!(untrusted.contains("rein trust $TMP/repo"), "{untrusted}");
    l.trust_project();
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

/// Issue 10 item 4: a repository cannot configure its own trust. Each setting that widens
/// what the other layers allow is refused in an untrusted project layer, naming the key,
/// the place and `rein trust DIR`.
#[test]
fn an_untrusted_project_layer_cannot_widen_any_setting() {
    let agent = AGENT;
    let user = "[tools]\nbuiltin = [\"read_file\", \"shell\"]\n\n[policy.commands]\nallow = [\"cargo test\", \"ls\"]\n\n[policy.network]\nallow_hosts = [\"api.github.com\"]\n\n[limits]\nmax_cost_usd = 1.0\n\n[environment.limits]\nmemory_mb = 512\n";
    let widening = [
        "[model]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
        "[model]\napi_key = \"sk-other\"\n",
        "[[hooks]]\nevent = \"run_start\"\ncommand = [\"./pwn.sh\"]\nrun_in = \"host\"\n",
        "[[hooks]]\nevent = \"run_start\"\ncommand = [\"./pwn.sh\"]\n",
        "[environment]\nsandbox = \"host\"\n",
        "[environment]\nnetwork = \"host\"\n",
        "[environment]\nenv_passthrough = [\"AWS_SECRET_ACCESS_KEY\"]\n",
        "[environment.env]\nGIT_SSH_COMMAND = \"sh\"\n",
        "[environment]\nworkspace = \"copy:/home\"\n",
        "[environment.limits]\nmemory_mb = 4096\n",
        "[policy.commands]\nallow = [\"cargo test\", \"bash\"]\n",
        "[policy.commands]\nallow = [\"curl\"]\n",
        "[policy.commands]\ndeny_options = []\n",
        "[policy.network]\nallow_hosts = [\"api.github.com\", \"evil.com\"]\n",
        "[tools]\nbuiltin = [\"read_file\", \"shell\", \"http_request\"]\n",
        "[tools.slack_post]\nwebhook_url = \"https://hooks.slack.com/services/x\"\n",
        "[[tools.command]]\nname = \"x\"\ndescription = \"x\"\nargv = [\"sh\", \"-c\", \"id\"]\n",
        "[[tools.mcp]]\nname = \"m\"\ncommand = [\"./server\"]\n",
        "[limits]\nmax_cost_usd = 5.0\n",
        "[loop]\nmax_steps = 100\n",
        "[loop.verify]\ncommand = [\"./pwn.sh\"]\n",
        "[prompt]\nsystem = \"${env:AWS_SECRET_ACCESS_KEY}\"\n",
        "[profile.ci.model]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
        "[trace]\ndir = \"/tmp/shared\"\n",
        "[environment.git_config]\n\"core.hooksPath\" = \".githooks\"\n",
    ];
    let mut lines = Vec::new();
    for text in widening {
        let l = Layers::new(agent);
        l.user(user).project(text);
        let profile = text.contains("[profile.ci").then_some("ci");
        let shown = l.load(profile, &[], &[]);
        let first = shown.lines().next().unwrap_or_default().to_owned();
        assert!(
            first.starts_with("error: $TMP/repo/.rein/config.toml:"),
            "{text}: {shown}"
        );
        // Allow lists are refused by the narrowing rule (whatever the trust); the rest by
        // the trust rule, whose hint is `rein trust DIR`.
        let narrowing = first.contains("an allow list can only narrow");
        assert!(
            narrowing
                || shown.ends_with(
                    "hint: review $TMP/repo/.rein/config.toml and trust it with `rein trust $TMP/repo`"
                ),
            "{text}: {shown}"
        );
        lines.push(
            first
                .trim_start_matches("error: $TMP/repo/.rein/config.toml:")
                .replace(
                    ", and the project config is not trusted: an untrusted project layer may only tighten",
                    "",
                )
                .replace(
                    "; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)",
                    "",
                ),
        );
    }
    expect![[r#"
        2:12: `model.base_url` changes the model endpoint (the API key would be sent there)
        2:11: `model.api_key` changes which secret is sent as the API key
        1:1: `hooks` adds a hook, which runs a command (on the host with run_in = "host", in the sandbox outside the command policy otherwise)
        1:1: `hooks` adds a hook, which runs a command (on the host with run_in = "host", in the sandbox outside the command policy otherwise)
        2:11: `environment.sandbox` runs commands on the host, without a sandbox
        2:11: `environment.network` gives commands the host's network
        2:19: `environment.env_passthrough` admits "AWS_SECRET_ACCESS_KEY", which the other layers' passed-through variables do not
        2:19: `environment.env.GIT_SSH_COMMAND` sets an environment variable for commands
        2:13: `environment.workspace` puts another host folder into the workspace
        2:13: `environment.limits.memory_mb` raises a limit
        2:24 widens `policy.commands.allow`: "bash" is not within the list set at $TMP/home/.config/rein/config.toml:5:9
        2:10 widens `policy.commands.allow`: "curl" is not within the list set at $TMP/home/.config/rein/config.toml:5:9
        2:16: `policy.commands.deny_options` replaces the built-in list of dangerous options
        2:34 widens `policy.network.allow_hosts`: "evil.com" is not within the list set at $TMP/home/.config/rein/config.toml:8:15
        2:34 widens `tools.builtin`: "http_request" is not within the list set at $TMP/home/.config/rein/config.toml:2:11
        1:1: `tools.slack_post` changes where slack_post posts
        1:1: `tools.command` declares a command tool, which runs a program
        1:1: `tools.mcp` declares an MCP server (a program it starts, or a URL it calls) or widens its tools
        2:16: `limits.max_cost_usd` raises a limit
        2:13: `loop.max_steps` raises a limit
        1:1: `loop.verify` adds a verify command, which runs code
        2:10: `prompt.system` reads the host's environment or files (`${…}`)
        2:12: `model.base_url` changes the model endpoint (the API key would be sent there)
        2:7: `trace.dir` moves the run logs to another folder
        1:1: `environment.git_config.core.hooksPath` replaces a git setting rein neutralises for every command"#]].assert_eq(&lines.join("\n"));
}

/// Tightening keys of an untrusted project layer apply.
#[test]
fn an_untrusted_project_layer_may_tighten() {
    let l = Layers::new(AGENT);
    l.user("[tools]\nbuiltin = [\"read_file\", \"shell\"]\n\n[policy.commands]\nallow = [\"cargo test\", \"ls\"]\n\n[limits]\nmax_cost_usd = 1.0\n")
        .project(
            r#"description = "from the repository"

[prompt]
system = "Be brief."

[model]
name = "gpt-4.1"

[environment]
network = "none"
workspace = "tempdir"

[environment.limits]
memory_mb = 256

[loop]
max_steps = 5

[limits]
max_cost_usd = 0.25
max_wall_time = "5m"

[policy.commands]
allow = ["cargo test --offline"]
deny = ["rm"]

[policy.paths]
read = ["src/**"]
deny = ["*.key"]

[policy.network]
allow_hosts = []

[tools]
builtin = ["read_file"]

[profile.ci.limits]
max_cost_usd = 0.1
"#,
        );
    let spec = load_layered(&l.agent_path(), &l.opts(&[]), &l.options(Some("ci"), &[])).unwrap();
    let layered = spec.clone();
    let spec = spec.spec;
    assert_eq!(spec.description, "from the repository");
    assert_eq!(spec.prompt.system, "Be brief.");
    assert_eq!(
        spec.model.name, "gpt-4.1-mini",
        "the agent file's name wins"
    );
    assert_eq!(spec.environment.limits.memory_mb, 256);
    assert_eq!(spec.loop_.max_steps, 5);
    assert_eq!(spec.limits.max_cost_usd, Some(0.1));
    assert_eq!(
        spec.policy.commands.allow,
        Some(vec!["cargo test --offline".to_owned()])
    );
    assert_eq!(spec.policy.commands.deny, ["rm"]);
    assert_eq!(spec.tools.builtin, ["read_file"]);
    assert_eq!(
        layered.project.as_ref().map(|p| p.status),
        Some(rein_spec::trust::TrustStatus::Untrusted)
    );
    let shown = layers::show(&layered);
    assert!(
        shown.contains("/repo/.rein/config.toml: untrusted"),
        "config show says whether the project layer is trusted: {shown}"
    );
}

/// A trusted project file widens like the user's own file; once its bytes change it is
/// untrusted again; revoking forgets it.
#[test]
fn a_trusted_project_layer_applies_until_it_changes() {
    let l = Layers::new(AGENT);
    let text =
        "[model]\nbase_url = \"http://127.0.0.1:9/v1\"\n\n[environment]\nsandbox = \"host\"\n";
    l.project(text);
    let refused = l.load(None, &[], &[]);
    assert!(
        refused.contains("`model.base_url` changes the model endpoint"),
        "{refused}"
    );
    l.trust_project();
    let trusted = l.load(None, &[], &[]);
    assert!(
        trusted.contains("base_url = \"http://127.0.0.1:9/v1\"   # project"),
        "{trusted}"
    );
    assert!(
        trusted.contains("/repo/.rein/config.toml: trusted"),
        "{trusted}"
    );
    let store = std::fs::read_to_string(l.root().join("home/.config/rein/trusted.toml")).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(l.root().join("home/.config/rein/trusted.toml"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "{store}");
    assert!(store.contains("sha256 = \""), "{store}");

    // One byte more: untrusted again, and the message says it changed.
    l.project(&format!("{text}\n"));
    let changed = l.load(None, &[], &[]);
    assert!(
        changed.contains("the project config is untrusted (it changed since it was trusted)"),
        "{changed}"
    );
    l.trust_project();
    assert!(!l.load(None, &[], &[]).starts_with("error"));
    let (project, mut store) =
        rein_spec::trust::project_trust(&l.root().join("repo/agents"), &l.env).unwrap();
    assert!(store.revoke(&project.canonical));
    store.save().unwrap();
    assert!(l.load(None, &[], &[]).starts_with("error"));
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) == 0
}

/// Like git's safe.directory: a config file another user owns, or that its group or
/// others may write, is never read — an error naming the file and why.
#[test]
fn config_files_others_own_or_may_write_are_never_read() {
    let l = Layers::new(AGENT);
    l.project("[loop]\nmax_steps = 3\n");
    let project = l.root().join("repo/.rein/config.toml");
    let before = std::fs::read(&project).unwrap();
    chmod(&project, 0o664);
    expect![[r#"
        error: refusing to read config file $TMP/repo/.rein/config.toml: it is writable by its group or by others (mode 0664)
        hint: chmod go-w $TMP/repo/.rein/config.toml"#]].assert_eq(&l.load(None, &[], &[]));
    chmod(&project, 0o646);
    assert!(l.load(None, &[], &[]).contains("(mode 0646)"));
    chmod(&project, 0o644);
    assert!(l.load(None, &[], &[]).contains("max_steps = 3   # project"));

    l.user("[loop]\nstuck_after = 2\n");
    let user = l.root().join("home/.config/rein/config.toml");
    chmod(&user, 0o666);
    let shown = l.load(None, &[], &[]);
    assert!(shown.starts_with("error: refusing to read config file $TMP/home/.config/rein/config.toml: it is writable by its group or by others (mode 0666)"), "{shown}");
    chmod(&user, 0o600);
    assert_eq!(std::fs::read(&project).unwrap(), before);

    // Another owner: only root can make a file someone else's (CI runs as root).
    assert!(
        is_root(),
        "this test chowns a file to uid 65534 and needs root; it does not pass silently"
    );
    {
        std::os::unix::fs::chown(&project, Some(65534), Some(65534)).unwrap();
        expect![[r#"
            error: refusing to read config file $TMP/repo/.rein/config.toml: it is owned by another user (uid 65534; you are uid 0)
            hint: a config file is only read when you own it: copy the settings you want into a file of your own, or remove it"#]].assert_eq(&l.load(None, &[], &[]));
        std::os::unix::fs::chown(&user, Some(65534), None).unwrap();
        std::os::unix::fs::chown(&project, Some(0), Some(0)).unwrap();
        assert!(
            l.load(None, &[], &[])
                .contains("home/.config/rein/config.toml: it is owned by another user")
        );
        std::os::unix::fs::chown(&user, Some(0), None).unwrap();
        // The system file may be root's (here it is the test's own user, root, too) but
        // not another user's.
        l.system("[loop]\nmax_steps = 9\n");
        let system = l.root().join("etc/rein/config.toml");
        assert!(l.load(None, &[], &[]).contains("max_steps = 3   # project"));
        std::os::unix::fs::chown(&system, Some(65534), None).unwrap();
        assert!(
            l.load(None, &[], &[])
                .contains("etc/rein/config.toml: it is owned by another user")
        );
    }
}

/// A layer's allow list stays within the list of the layers before it (system, user,
/// project, agent file, profile, --set), whatever the trust.
#[test]
fn allow_lists_narrow_from_one_layer_to_the_next() {
    let system = r#"[tools]
builtin = ["read_file", "grep", "shell"]

[policy.commands]
allow = ["cargo test", "ls"]

[policy.paths]
read = ["src/**"]
write = ["out/**"]

[policy.network]
allow_hosts = ["*.github.com"]

[environment]
env_passthrough = ["LANG"]
system_paths = ["/usr", "/etc"]

[[tools.mcp]]
name = "fs"
command = ["./server"]
allow_tools = ["read"]
"#;
    let cases = [
        "tools.builtin=[\"read_file\", \"http_request\"]",
        "policy.commands.allow=[\"cargo test --release\", \"bash\"]",
        "policy.commands.allow=[]",
        "policy.paths.read=[\"src/a/**\", \"**\"]",
        "policy.paths.write=[\"src/**\"]",
        "policy.network.allow_hosts=[\"api.github.com\", \"api.github.com:6379\"]",
        "environment.env_passthrough=[\"AWS_SECRET_ACCESS_KEY\"]",
        "environment.system_paths=[\"/usr/lib\", \"/home\"]",
    ];
    let l = Layers::new(AGENT);
    l.system(system);
    let mut lines = Vec::new();
    for set in cases {
        lines.push(
            l.load(None, &[set], &[])
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    // A narrower list is fine, in any layer.
    let narrower = l.load(
        None,
        &[
            "tools.builtin=[\"read_file\"]",
            "policy.commands.allow=[\"cargo test --release\", \"ls -l\"]",
            "policy.network.allow_hosts=[\"api.github.com\"]",
            "policy.paths.read=[\"src/a/*.rs\"]",
        ],
        &[],
    );
    assert!(!narrower.starts_with("error"), "{narrower}");
    // The agent file and the project file are held to it too; an MCP server keeps its
    // allowed tools.
    l.project("[policy.commands]\nallow = [\"cargo\"]\n");
    lines.push(
        l.load(None, &[], &[])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    );
    l.project("");
    l.write(
        "repo/agents/ci/agent.toml",
        &format!("{AGENT}\n[[tools.mcp]]\nname = \"fs\"\ncommand = [\"./server\"]\nallow_tools = [\"read\", \"write\"]\n"),
    );
    lines.push(
        l.load(None, &[], &[])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned(),
    );
    expect![[r#"
        error: --set tools.builtin=["read_file", "http_request"] widens `tools.builtin`: "http_request" is not within the list set at $TMP/etc/rein/config.toml:2:11; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)
        error: --set policy.commands.allow=["cargo test --release", "bash"] widens `policy.commands.allow`: "bash" is not within the list set at $TMP/etc/rein/config.toml:5:9; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)
        # layers, lowest first:
        error: --set policy.paths.read=["src/a/**", "**"] widens `policy.paths.read`: "**" is not within the list set at $TMP/etc/rein/config.toml:8:8; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)
        error: --set policy.paths.write=["src/**"] widens `policy.paths.write`: "src/**" is not within the list set at $TMP/etc/rein/config.toml:9:9; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)
        error: --set policy.network.allow_hosts=["api.github.com", "api.github.com:6379"] widens `policy.network.allow_hosts`: "api.github.com:6379" is not within the list set at $TMP/etc/rein/config.toml:12:15; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)
        error: --set environment.env_passthrough=["AWS_SECRET_ACCESS_KEY"] widens `environment.env_passthrough`: "AWS_SECRET_ACCESS_KEY" is not within the list set at $TMP/etc/rein/config.toml:15:19; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)
        error: --set environment.system_paths=["/usr/lib", "/home"] widens `environment.system_paths`: "/home" is not within the list set at $TMP/etc/rein/config.toml:16:16; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)
        error: $TMP/repo/.rein/config.toml:2:10 widens `policy.commands.allow`: "cargo" is not within the list set at $TMP/etc/rein/config.toml:5:9; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)
        error: $TMP/repo/agents/ci/agent.toml:13:24 widens `tools.mcp.allow_tools (server "fs")`: "write" is not within the list set at $TMP/etc/rein/config.toml:21:15; an allow list can only narrow from one layer to the next (system, user, project, agent file, profile, --set)"#]].assert_eq(&lines.join("\n"));
}

/// `[[policy.network.rule]]` accumulates across layers (every rule for a host applies, so
/// a layer adds rules and cannot drop one); an untrusted project may add one; a port in an
/// allow_hosts entry does not slip past a locked deny_hosts.
#[test]
fn network_rules_accumulate_and_locked_hosts_ignore_ports() {
    let l = Layers::new(&format!(
        "{AGENT}\n[policy.network]\nallow_hosts = [\"hooks.slack.com\"]\n\n[[policy.network.rule]]\nhost = \"hooks.slack.com\"\nmax_body_bytes = 100\n"
    ));
    l.user("[[policy.network.rule]]\nhost = \"hooks.slack.com\"\nmethods = [\"POST\"]\n")
        .project("[[policy.network.rule]]\nhost = \"hooks.slack.com\"\npath_prefixes = [\"/services/\"]\n");
    let layered = load_layered(&l.agent_path(), &l.opts(&[]), &l.options(None, &[])).unwrap();
    let rules = &layered.spec.policy.network.rules;
    assert_eq!(rules.len(), 3, "{rules:?}");
    assert_eq!(rules[0].methods.as_deref(), Some(&["POST".to_owned()][..]));
    assert_eq!(
        rules[1].path_prefixes.as_deref(),
        Some(&["/services/".to_owned()][..])
    );
    assert_eq!(rules[2].max_body_bytes, Some(100));

    l.write(
        "repo/agents/ci/agent.toml",
        &format!("{AGENT}\n[[policy.network.rule]]\nhost = \"x\"\nmethod = [\"GET\"]\n"),
    );
    let shown = l.load(None, &[], &[]);
    assert!(
        shown.contains("unknown key `method` in [policy.network.rule[0]]"),
        "{shown}"
    );

    let l = Layers::new(&format!(
        "{AGENT}\n[policy.network]\nallow_hosts = [\"api.evil.com:8443\"]\n"
    ));
    l.system("[locked]\ndeny_hosts = [\"*.evil.com\"]\n");
    let shown = l.load(None, &[], &[]);
    assert!(
        shown.contains("never admits \"*.evil.com\"")
            && shown.contains("sets \"api.evil.com:8443\""),
        "{shown}"
    );
}

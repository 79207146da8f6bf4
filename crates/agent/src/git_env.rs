//! Git configuration carried by the environment of every command a run starts (`shell`,
//! declared command tools, verify, hooks, MCP servers), so that git never runs code a
//! repository's own config names.
//!
//! An agent can write a config git will read without touching a protected path: a nested
//! repository (`git init sub`, `git init --separate-git-dir=x sub`), a `.git` *file*
//! (`gitdir: ../evil`) pointing at a folder it wrote, a bare repository in the tree. Keys
//! in such a config run commands on an ordinary `git status`, `git diff` or `git commit`
//! (`core.fsmonitor`, hooks, `core.pager`, signing programs…). `GIT_CONFIG_COUNT` /
//! `GIT_CONFIG_KEY_n` / `GIT_CONFIG_VALUE_n` (git ≥ 2.31) are read after every config file
//! and win over them, so each key below is given its harmless value; only an explicit
//! `git -c` on the command line (the command policy's business) comes later.
//!
//! Keys whose *presence* is what runs a program (`diff.external`, and drivers with names
//! the repository picks: `filter.<driver>.*`, `diff.<driver>.textconv`/`command`,
//! `merge.<driver>.driver`, `remote.<name>.uploadpack`…) cannot be neutralised by a value
//! here: docs/sandbox.md lists them.
//!
//! `[environment.git_config]` replaces a key's value (e.g. `core.hooksPath = ".githooks"`
//! to run the repository's hooks) or adds keys; entries the spec's `[environment] env`
//! already put in `GIT_CONFIG_COUNT` are kept, before rein's.

use std::collections::BTreeMap;

/// Each key and the value that turns off what it would run.
pub const NEUTRAL_GIT_CONFIG: &[(&str, &str)] = &[
    // Runs on every `git status`, `diff`, `add`, `commit`.
    ("core.fsmonitor", "false"),
    // Every hook (pre-commit, post-checkout, …): looked up under /dev/null, never found.
    ("core.hooksPath", "/dev/null"),
    ("core.pager", "cat"),
    ("core.editor", "true"),
    ("sequence.editor", "true"),
    // The empty value is "no askpass program"; with GIT_TERMINAL_PROMPT=0 nothing asks.
    ("core.askPass", ""),
    // The empty value resets the list of helpers.
    ("credential.helper", ""),
    ("core.sshCommand", "ssh"),
    ("core.alternateRefsCommand", ""),
    ("interactive.diffFilter", "cat"),
    // Signing and verifying run gpg.program & co.; nothing is signed by default.
    ("commit.gpgSign", "false"),
    ("tag.gpgSign", "false"),
    ("push.gpgSign", "false"),
    ("log.showSignature", "false"),
    ("gpg.format", "openpgp"),
    ("gpg.program", "gpg"),
    ("gpg.openpgp.program", "gpg"),
    ("gpg.x509.program", "gpgsm"),
    ("gpg.ssh.program", "ssh-keygen"),
    // `git gc --auto` after a commit runs gc.recentObjectsHook.
    ("gc.auto", "0"),
    // `ext::` URLs run a command.
    ("protocol.ext.allow", "never"),
    // A bare repository found by walking up (planted in the tree) is refused.
    ("safe.bareRepository", "explicit"),
];

/// Variables set unless the spec's environment already sets them: no system config, no
/// prompt, the pager for `pager.<cmd>` too, and no `core.gitProxy` (an empty
/// `GIT_PROXY_COMMAND` overrides every config value and means no proxy).
const GIT_VARIABLES: &[(&str, &str)] = &[
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_TERMINAL_PROMPT", "0"),
    ("GIT_PAGER", "cat"),
    ("GIT_PROXY_COMMAND", ""),
];

/// Add the git overrides to a command environment: `GIT_CONFIG_*` entries after the ones
/// already there, rein's neutral values with `user` (`[environment.git_config]`) replacing
/// those of the same key, then `user`'s other keys.
pub fn add_git_overrides(env: &mut BTreeMap<String, String>, user: &[(String, String)]) {
    for (name, value) in GIT_VARIABLES {
        env.entry((*name).to_owned())
            .or_insert_with(|| (*value).to_owned());
    }
    let mut entries: Vec<(String, String)> = NEUTRAL_GIT_CONFIG
        .iter()
        .filter(|(key, _)| !user.iter().any(|(k, _)| same_key(k, key)))
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    entries.extend(user.iter().cloned());
    // Entries given by the spec's own environment come first, so ours win.
    let first = match env
        .get("GIT_CONFIG_COUNT")
        .map(|n| n.trim().parse::<usize>())
    {
        Some(Ok(n)) if (0..n).all(|i| env.contains_key(&format!("GIT_CONFIG_KEY_{i}"))) => n,
        _ => 0,
    };
    let count = first + entries.len();
    for (i, (key, value)) in entries.into_iter().enumerate() {
        env.insert(format!("GIT_CONFIG_KEY_{}", first + i), key);
        env.insert(format!("GIT_CONFIG_VALUE_{}", first + i), value);
    }
    env.insert("GIT_CONFIG_COUNT".to_owned(), count.to_string());
}

/// Git compares the section and the name without case, the subsection with it.
fn same_key(a: &str, b: &str) -> bool {
    let split = |k: &str| -> (String, String, String) {
        let (section, rest) = k.split_once('.').unwrap_or((k, ""));
        let (sub, name) = rest.rsplit_once('.').unwrap_or(("", rest));
        (
            section.to_ascii_lowercase(),
            sub.to_owned(),
            name.to_ascii_lowercase(),
        )
    };
    split(a) == split(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(env: &BTreeMap<String, String>) -> Vec<(String, String)> {
        let n: usize = env["GIT_CONFIG_COUNT"].parse().unwrap();
        (0..n)
            .map(|i| {
                (
                    env[&format!("GIT_CONFIG_KEY_{i}")].clone(),
                    env[&format!("GIT_CONFIG_VALUE_{i}")].clone(),
                )
            })
            .collect()
    }

    #[test]
    fn neutral_values_then_the_users_replacing_the_same_key() {
        let mut env = BTreeMap::new();
        add_git_overrides(
            &mut env,
            &[
                ("Core.HooksPath".to_owned(), ".githooks".to_owned()),
                ("diff.mine.textconv".to_owned(), "cat".to_owned()),
            ],
        );
        let got = entries(&env);
        assert_eq!(got.len(), NEUTRAL_GIT_CONFIG.len() + 1);
        assert_eq!(got[0], ("core.fsmonitor".to_owned(), "false".to_owned()));
        assert!(!got.iter().any(|(k, _)| k == "core.hooksPath"));
        assert_eq!(
            &got[got.len() - 2..],
            [
                ("Core.HooksPath".to_owned(), ".githooks".to_owned()),
                ("diff.mine.textconv".to_owned(), "cat".to_owned())
            ]
        );
        assert_eq!(env["GIT_CONFIG_NOSYSTEM"], "1");
        assert_eq!(env["GIT_TERMINAL_PROMPT"], "0");
        assert_eq!(env["GIT_PROXY_COMMAND"], "");
    }

    #[test]
    fn entries_the_spec_set_come_first_and_its_variables_stay() {
        let mut env = BTreeMap::from([
            ("GIT_CONFIG_COUNT".to_owned(), "1".to_owned()),
            ("GIT_CONFIG_KEY_0".to_owned(), "user.name".to_owned()),
            ("GIT_CONFIG_VALUE_0".to_owned(), "rein".to_owned()),
            ("GIT_PAGER".to_owned(), "less".to_owned()),
        ]);
        add_git_overrides(&mut env, &[]);
        let got = entries(&env);
        assert_eq!(got[0], ("user.name".to_owned(), "rein".to_owned()));
        assert_eq!(got.len(), NEUTRAL_GIT_CONFIG.len() + 1);
        assert_eq!(env["GIT_PAGER"], "less");

        // A count that does not match its keys is not trusted: ours start at 0.
        let mut env = BTreeMap::from([("GIT_CONFIG_COUNT".to_owned(), "x".to_owned())]);
        add_git_overrides(&mut env, &[]);
        assert_eq!(entries(&env).len(), NEUTRAL_GIT_CONFIG.len());
    }
}

//! The bypass catalogue (issue 4): command lines that try to run something the policy does
//! not allow, each of which must be refused; and ordinary command lines that must pass.

use expect_test::{Expect, expect};
use rein_policy::{CommandRulesConfig, Decision, Policy, PolicyConfig};

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|item| item.to_string()).collect()
}

/// An allow list generous enough that a refusal shows the bypass itself was caught: git,
/// find, sed, awk, tar, xargs, env, timeout, nice, sh and bash are all allowed.
pub fn catalogue_policy() -> Policy {
    Policy::new(&PolicyConfig {
        commands: CommandRulesConfig {
            allow: Some(strings(&[
                "ls",
                "cat",
                "grep",
                "echo",
                "git",
                "cargo test",
                "cargo build",
                "find",
                "sed",
                "awk",
                "tar",
                "rsync",
                "xargs",
                "env",
                "timeout",
                "nice",
                "sh",
                "bash",
                "true",
                "head",
                "wc",
                "cd",
            ])),
            deny: strings(&["git push", "rm -rf *"]),
            ask: strings(&["cargo publish"]),
            ..CommandRulesConfig::default()
        },
        ..PolicyConfig::default()
    })
    .unwrap()
}

fn render(policy: &Policy, line: &str) -> String {
    let answer = policy.check_command(line);
    format!("{line:?}\n  => {}", answer.decision)
}

fn check(policy: &Policy, lines: &[&str], expected: Expect) {
    let rendered: Vec<String> = lines.iter().map(|line| render(policy, line)).collect();
    expected.assert_eq(&rendered.join("\n"));
}

pub const BYPASS_CATALOGUE: &[&str] = &[
    // git configuration that runs commands
    "git -c core.pager=sh status",
    "git -ccore.pager=sh status",
    "git --config-env=core.pager=X status",
    "git --exec-path=/tmp/x status",
    "git -C . push origin main",
    "git config alias.st '!rm -rf /'",
    "git rebase -x 'rm x' main",
    // find running or deleting
    "find . -exec rm {} \\;",
    "find . -execdir sh -c 'rm x' \\;",
    "find . -delete",
    "find . $ARGS",
    // lists, pipelines, substitutions
    "ls; rm -rf /",
    "ls && curl x",
    "ls || rm x",
    "ls & rm x",
    "ls\nrm x",
    "ls | sh",
    "cargo test; rm x",
    "$(rm -rf /)",
    "`id`",
    "echo $(id)",
    "echo \"`rm x`\"",
    "cat <(rm x)",
    "ls > >(rm x)",
    "(rm x)",
    "{ rm x; }",
    // wrappers
    "env rm -rf /",
    "env -i PATH=/tmp ls",
    "env -S 'rm x'",
    "sudo rm x",
    "doas rm x",
    "timeout 5 rm x",
    "timeout -s KILL 5 rm x",
    "nice -n 5 rm x",
    "nice -5 rm x",
    "ionice -c 3 rm x",
    "nohup rm x",
    "stdbuf -o0 rm x",
    "time rm x",
    "command rm x",
    "exec rm x",
    "builtin eval x",
    "busybox rm x",
    "xargs rm",
    "echo x | xargs -I{} rm {}",
    "echo status | xargs git",
    "bash -c 'rm x'",
    "sh -c \"rm x\"",
    "bash -lc 'ls'",
    "sh script.sh",
    "bash -c \"$CMD\"",
    "bash -c 'bash -c \"sh -c rm\"'",
    "setsid rm x",
    "watch ls",
    "strace -f ls",
    "zsh -c ls",
    // names, quoting and escapes
    "FOO=1 rm x",
    "PATH=. ls",
    "LD_PRELOAD=./x.so ls",
    "GIT_PAGER=sh git log",
    "export PATH=.; ls",
    "eval rm",
    "eval \"ls\"",
    "source ./x.sh",
    ". ./x.sh",
    "\"r\"\"m\" x",
    "\\rm x",
    "r\\m x",
    "'rm' x",
    "$'\\x72\\x6d' x",
    "$CMD x",
    "${CMD} x",
    "l$S x",
    "{rm,-rf,x}",
    "/bin/rm x",
    "./ls",
    // options of allowed programs
    "sed -i s/a/b/ f",
    "sed -ni s/a/b/p f",
    "sed --in-pl=.bak s/a/b/ f",
    "sed -n p *",
    "awk 'BEGIN{system(\"id\")}'",
    "awk '{print | \"sh\"}' f",
    "tar xf a.tar --to-command=sh",
    "tar -cf a.tar --checkpoint=1 --checkpoint-action=exec=sh .",
    "rsync -e 'sh -c id' a b",
    "cargo test --config target.x86_64-unknown-linux-gnu.runner=sh",
    "less README.md",
    "man ls",
    // shell syntax that is not decomposed
    "alias ls=rm; ls",
    "f() { rm x; }; f",
    "if true; then rm x; fi",
    "for i in 1; do rm x; done",
    "echo $((1+2))",
    "echo ${x:-$(rm y)}",
    "trap 'rm x' EXIT",
    "cat <<EOF\n$(rm x)\nEOF",
    "echo 'unbalanced",
    "declare -x PAGER=sh",
    "set -k; git log GIT_PAGER=sh",
    "exec {fd}>x",
    // redirections outside the rules
    "ls > /etc/passwd",
    "ls > .git/config",
    "echo x >> .git/hooks/pre-commit",
    "cat < .env",
    "cat .env",
    "grep -r key id_rsa",
    "cat ~/.ssh/id_rsa",
    "cp $HOME/.env x",
    "cat --file=app/.env",
    "ls > ../outside",
    "ls > $OUT",
    "cd /etc && echo x > passwd",
    // deny and ask beat allow
    "git push origin main",
    "git --no-pager push",
    "cargo publish",
];

#[test]
fn every_bypass_in_the_catalogue_is_refused() {
    let policy = catalogue_policy();
    let allowed: Vec<&str> = BYPASS_CATALOGUE
        .iter()
        .copied()
        .filter(|line| policy.check_command(line).decision == Decision::Allow)
        .collect();
    assert!(allowed.is_empty(), "allowed: {allowed:#?}");
    assert!(BYPASS_CATALOGUE.len() >= 25);
}

#[test]
fn bypass_catalogue() {
    check(
        &catalogue_policy(),
        BYPASS_CATALOGUE,
        expect![[r#"
            "git -c core.pager=sh status"
              => deny: `git -c core.pager=sh status` uses `git -c`, which can run other commands or write outside the rules [policy.commands.deny_options[0] "git -c"]
            "git -ccore.pager=sh status"
              => deny: `git -ccore.pager=sh status` uses `git -c`, which can run other commands or write outside the rules [policy.commands.deny_options[0] "git -c"]
            "git --config-env=core.pager=X status"
              => deny: `git --config-env=core.pager=X status` uses `git --config-env`, which can run other commands or write outside the rules [policy.commands.deny_options[1] "git --config-env"]
            "git --exec-path=/tmp/x status"
              => deny: `git --exec-path=/tmp/x status` uses `git --exec-path`, which can run other commands or write outside the rules [policy.commands.deny_options[2] "git --exec-path"]
            "git -C . push origin main"
              => deny: `git -C . push origin main` is denied [policy.commands.deny[0] "git push"]
            "git config alias.st '!rm -rf /'"
              => deny: `git config alias.st '!rm -rf /'` uses `git config`, which can run other commands or write outside the rules [policy.commands.deny_options[5] "git config"]
            "git rebase -x 'rm x' main"
              => deny: `git rebase -x 'rm x' main` uses `git rebase -x`, which can run other commands or write outside the rules [policy.commands.deny_options[7] "git rebase -x"]
            "find . -exec rm {} \\;"
              => deny: `find . -exec rm {} ';'` uses `find -exec`, which can run other commands or write outside the rules [policy.commands.deny_options[10] "find -exec"]
            "find . -execdir sh -c 'rm x' \\;"
              => deny: `find . -execdir sh -c 'rm x' ';'` uses `find -execdir`, which can run other commands or write outside the rules [policy.commands.deny_options[11] "find -execdir"]
            "find . -delete"
              => deny: `find . -delete` uses `find -delete`, which can run other commands or write outside the rules [policy.commands.deny_options[14] "find -delete"]
            "find . $ARGS"
              => deny: cannot be proven safe: `find` has an argument only known at run time (`$ARGS`) that could be `-exec` [parser: cannot be proven safe]
            "ls; rm -rf /"
              => deny: `rm -rf /` is denied [policy.commands.deny[1] "rm -rf *"]
            "ls && curl x"
              => deny: `curl x` is not in policy.commands.allow [default: not in allow list]
            "ls || rm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "ls & rm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "ls\nrm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "ls | sh"
              => deny: cannot be proven safe: `sh` without -c runs a script file or standard input, whose commands cannot be checked [parser: cannot be proven safe]
            "cargo test; rm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "$(rm -rf /)"
              => deny: cannot be proven safe: the command name `$(rm -rf /)` is only known at run time [parser: cannot be proven safe]
            "`id`"
              => deny: cannot be proven safe: the command name ``id`` is only known at run time [parser: cannot be proven safe]
            "echo $(id)"
              => deny: `id` is not in policy.commands.allow [default: not in allow list]
            "echo \"`rm x`\""
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "cat <(rm x)"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "ls > >(rm x)"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "(rm x)"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "{ rm x; }"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "env rm -rf /"
              => deny: `rm -rf /` is denied [policy.commands.deny[1] "rm -rf *"]
            "env -i PATH=/tmp ls"
              => deny: setting `PATH` can change what a program runs; it is not in policy.commands.allow_env [policy.commands.allow_env]
            "env -S 'rm x'"
              => deny: cannot be proven safe: `env -S` does not run a command rein can check [parser: cannot be proven safe]
            "sudo rm x"
              => deny: `sudo rm x` is not in policy.commands.allow [default: not in allow list]
            "doas rm x"
              => deny: `doas rm x` is not in policy.commands.allow [default: not in allow list]
            "timeout 5 rm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "timeout -s KILL 5 rm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "nice -n 5 rm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "nice -5 rm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "ionice -c 3 rm x"
              => deny: `ionice -c 3 rm x` is not in policy.commands.allow [default: not in allow list]
            "nohup rm x"
              => deny: `nohup rm x` is not in policy.commands.allow [default: not in allow list]
            "stdbuf -o0 rm x"
              => deny: `stdbuf -o0 rm x` is not in policy.commands.allow [default: not in allow list]
            "time rm x"
              => deny: `time rm x` is not in policy.commands.allow [default: not in allow list]
            "command rm x"
              => deny: `command rm x` is not in policy.commands.allow [default: not in allow list]
            "exec rm x"
              => deny: `exec rm x` is not in policy.commands.allow [default: not in allow list]
            "builtin eval x"
              => deny: cannot be proven safe: `eval` runs a string as shell code, which cannot be checked [parser: cannot be proven safe]
            "busybox rm x"
              => deny: `busybox rm x` is not in policy.commands.allow [default: not in allow list]
            "xargs rm"
              => deny: `rm` is denied (it may match: some arguments are only known at run time) [policy.commands.deny[1] "rm -rf *"]
            "echo x | xargs -I{} rm {}"
              => deny: `rm {}` is denied (it may match: some arguments are only known at run time) [policy.commands.deny[1] "rm -rf *"]
            "echo status | xargs git"
              => deny: `git` is denied (it may match: some arguments are only known at run time) [policy.commands.deny[0] "git push"]
            "bash -c 'rm x'"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "sh -c \"rm x\""
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "bash -lc 'ls'"
              => deny: cannot be proven safe: `bash -l` is not parsed (it can read startup files or change the syntax) [parser: cannot be proven safe]
            "sh script.sh"
              => deny: cannot be proven safe: `sh` without -c runs a script file or standard input, whose commands cannot be checked [parser: cannot be proven safe]
            "bash -c \"$CMD\""
              => deny: cannot be proven safe: `bash` has an option only known at run time (`"$CMD"`) [parser: cannot be proven safe]
            "bash -c 'bash -c \"sh -c rm\"'"
              => deny: `rm` is not in policy.commands.allow [default: not in allow list]
            "setsid rm x"
              => deny: `setsid rm x` is not in policy.commands.allow [default: not in allow list]
            "watch ls"
              => deny: cannot be proven safe: `watch` runs commands in a way rein does not decompose [parser: cannot be proven safe]
            "strace -f ls"
              => deny: cannot be proven safe: `strace` runs commands in a way rein does not decompose [parser: cannot be proven safe]
            "zsh -c ls"
              => deny: cannot be proven safe: `zsh` runs commands in a way rein does not decompose [parser: cannot be proven safe]
            "FOO=1 rm x"
              => deny: setting `FOO` can change what a program runs; it is not in policy.commands.allow_env [policy.commands.allow_env]
            "PATH=. ls"
              => deny: setting `PATH` can change what a program runs; it is not in policy.commands.allow_env [policy.commands.allow_env]
            "LD_PRELOAD=./x.so ls"
              => deny: setting `LD_PRELOAD` can change what a program runs; it is not in policy.commands.allow_env [policy.commands.allow_env]
            "GIT_PAGER=sh git log"
              => deny: setting `GIT_PAGER` can change what a program runs; it is not in policy.commands.allow_env [policy.commands.allow_env]
            "export PATH=.; ls"
              => deny: `export PATH=.` is not in policy.commands.allow [default: not in allow list]
            "eval rm"
              => deny: cannot be proven safe: `eval` runs a string as shell code, which cannot be checked [parser: cannot be proven safe]
            "eval \"ls\""
              => deny: cannot be proven safe: `eval` runs a string as shell code, which cannot be checked [parser: cannot be proven safe]
            "source ./x.sh"
              => deny: cannot be proven safe: `source` runs a file as shell code, which cannot be checked [parser: cannot be proven safe]
            ". ./x.sh"
              => deny: cannot be proven safe: `.` runs a file as shell code, which cannot be checked [parser: cannot be proven safe]
            "\"r\"\"m\" x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "\\rm x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "r\\m x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "'rm' x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "$'\\x72\\x6d' x"
              => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
            "$CMD x"
              => deny: cannot be proven safe: the command name `$CMD` is only known at run time [parser: cannot be proven safe]
            "${CMD} x"
              => deny: cannot be proven safe: the command name `${CMD}` is only known at run time [parser: cannot be proven safe]
            "l$S x"
              => deny: cannot be proven safe: the command name `l$S` is only known at run time [parser: cannot be proven safe]
            "{rm,-rf,x}"
              => deny: cannot be proven safe: the command name `{rm,-rf,x}` is only known at run time [parser: cannot be proven safe]
            "/bin/rm x"
              => deny: `/bin/rm x` is not in policy.commands.allow [default: not in allow list]
            "./ls"
              => deny: `./ls` is not in policy.commands.allow [default: not in allow list]
            "sed -i s/a/b/ f"
              => deny: `sed -i s/a/b/ f` uses `sed -i`, which can run other commands or write outside the rules [policy.commands.deny_options[19] "sed -i"]
            "sed -ni s/a/b/p f"
              => deny: `sed -ni s/a/b/p f` uses `sed -i`, which can run other commands or write outside the rules [policy.commands.deny_options[19] "sed -i"]
            "sed --in-pl=.bak s/a/b/ f"
              => deny: `sed --in-pl=.bak s/a/b/ f` uses `sed --in-place`, which can run other commands or write outside the rules [policy.commands.deny_options[20] "sed --in-place"]
            "sed -n p *"
              => deny: `sed -n p *` uses `sed -i`, which can run other commands or write outside the rules (it may match: some arguments are only known at run time) [policy.commands.deny_options[19] "sed -i"]
            "awk 'BEGIN{system(\"id\")}'"
              => deny: `awk 'BEGIN{system("id")}'` uses `awk *system*`, which can run other commands or write outside the rules [policy.commands.deny_options[21] "awk *system*"]
            "awk '{print | \"sh\"}' f"
              => deny: `awk '{print | "sh"}' f` uses `awk *|*`, which can run other commands or write outside the rules [policy.commands.deny_options[22] "awk *|*"]
            "tar xf a.tar --to-command=sh"
              => deny: `tar xf a.tar --to-command=sh` uses `tar --to-command`, which can run other commands or write outside the rules [policy.commands.deny_options[31] "tar --to-command"]
            "tar -cf a.tar --checkpoint=1 --checkpoint-action=exec=sh ."
              => deny: `tar -cf a.tar --checkpoint=1 --checkpoint-action=exec=sh .` uses `tar --checkpoint-action`, which can run other commands or write outside the rules [policy.commands.deny_options[32] "tar --checkpoint-action"]
            "rsync -e 'sh -c id' a b"
              => deny: `rsync -e 'sh -c id' a b` uses `rsync -e`, which can run other commands or write outside the rules [policy.commands.deny_options[40] "rsync -e"]
            "cargo test --config target.x86_64-unknown-linux-gnu.runner=sh"
              => deny: `cargo test --config target.x86_64-unknown-linux-gnu.runner=sh` uses `cargo --config`, which can run other commands or write outside the rules [policy.commands.deny_options[43] "cargo --config"]
            "less README.md"
              => deny: `less README.md` uses `less`, which can run other commands or write outside the rules [policy.commands.deny_options[44] "less"]
            "man ls"
              => deny: `man ls` uses `man`, which can run other commands or write outside the rules [policy.commands.deny_options[47] "man"]
            "alias ls=rm; ls"
              => deny: cannot be proven safe: `alias` changes what later command names mean, which cannot be checked [parser: cannot be proven safe]
            "f() { rm x; }; f"
              => deny: cannot be proven safe: `f (…)` is a function definition or a syntax error [parser: cannot be proven safe]
            "if true; then rm x; fi"
              => deny: cannot be proven safe: shell keyword `if`: compound commands are not parsed [parser: cannot be proven safe]
            "for i in 1; do rm x; done"
              => deny: cannot be proven safe: shell keyword `for`: compound commands are not parsed [parser: cannot be proven safe]
            "echo $((1+2))"
              => deny: cannot be proven safe: arithmetic `$(( ))` is not parsed [parser: cannot be proven safe]
            "echo ${x:-$(rm y)}"
              => deny: cannot be proven safe: parameter expansion `${x:-$(rm y)}` is not parsed (only `${NAME}`) [parser: cannot be proven safe]
            "trap 'rm x' EXIT"
              => deny: cannot be proven safe: `trap` runs a string as shell code later, which cannot be checked [parser: cannot be proven safe]
            "cat <<EOF\n$(rm x)\nEOF"
              => deny: cannot be proven safe: here-document `EOF` has an unquoted delimiter and its body contains `$`, `` ` `` or `\`: write <<'EOF' to keep it literal [parser: cannot be proven safe]
            "echo 'unbalanced"
              => deny: cannot be proven safe: unterminated single quote [parser: cannot be proven safe]
            "declare -x PAGER=sh"
              => deny: cannot be proven safe: `declare` can set variables, attributes and functions, which cannot be checked [parser: cannot be proven safe]
            "set -k; git log GIT_PAGER=sh"
              => deny: cannot be proven safe: `set -k` is not parsed (only -e -u -x -v -f -C and -o pipefail/errexit/nounset/xtrace/verbose/noglob/noclobber) [parser: cannot be proven safe]
            "exec {fd}>x"
              => deny: cannot be proven safe: named file descriptors `{fd}>` are not parsed [parser: cannot be proven safe]
            "ls > /etc/passwd"
              => deny: `/etc/passwd` is absolute; paths are relative to the workspace [default: path outside the workspace]
            "ls > .git/config"
              => deny: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
            "echo x >> .git/hooks/pre-commit"
              => deny: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
            "cat < .env"
              => deny: `.env` may not be read or written [builtin.paths.deny[0] ".env"]
            "cat .env"
              => deny: argument `.env` names a denied path [builtin.paths.deny[0] ".env"]
            "grep -r key id_rsa"
              => deny: argument `id_rsa` names a denied path [builtin.paths.deny[4] "id_*"]
            "cat ~/.ssh/id_rsa"
              => deny: argument `~/.ssh/id_rsa` names a denied path [builtin.paths.deny[5] "**/id_*"]
            "cp $HOME/.env x"
              => deny: `cp $HOME/.env x` is not in policy.commands.allow [default: not in allow list]
            "cat --file=app/.env"
              => deny: argument `--file=app/.env` names a denied path [builtin.paths.deny[1] "**/.env"]
            "ls > ../outside"
              => deny: `../outside` contains `..`, which could leave the workspace [default: path outside the workspace]
            "ls > $OUT"
              => deny: redirection target `$OUT` is only known at run time [policy.paths: redirection]
            "cd /etc && echo x > passwd"
              => deny: redirection to `passwd` after `cd`: the path is not relative to the workspace [policy.paths: redirection]
            "git push origin main"
              => deny: `git push origin main` is denied [policy.commands.deny[0] "git push"]
            "git --no-pager push"
              => deny: `git --no-pager push` is denied [policy.commands.deny[0] "git push"]
            "cargo publish"
              => ask: `cargo publish` needs approval [policy.commands.ask[0] "cargo publish"]"#]],
    );
}

#[test]
fn ordinary_command_lines_pass() {
    check(
        &catalogue_policy(),
        &[
            "git status",
            "git -C . status",
            "ls -la src | grep -n 'fn main' > out.txt",
            "cargo test --release 2>&1 | head -n 50",
            "timeout 60 cargo test",
            "find . -name '*.rs' | xargs grep -l todo",
            "echo \"$(git log -1 --format=%H)\"",
            "sed -n 1,5p src/lib.rs",
            "cat > notes.txt <<'EOF'\n$(not run) `nor this`\nEOF",
            "LANG=C ls",
            "env RUST_BACKTRACE=1 cargo test",
            "bash -c 'git diff | wc -l'",
            "set -euo pipefail; cargo build",
            "grep -r foo ./src/*.rs",
            "ls 2>/dev/null || true",
            "awk '{print $1}' f",
        ],
        expect![[r#"
            "git status"
              => allow
            "git -C . status"
              => allow
            "ls -la src | grep -n 'fn main' > out.txt"
              => allow
            "cargo test --release 2>&1 | head -n 50"
              => allow
            "timeout 60 cargo test"
              => allow
            "find . -name '*.rs' | xargs grep -l todo"
              => allow
            "echo \"$(git log -1 --format=%H)\""
              => allow
            "sed -n 1,5p src/lib.rs"
              => allow
            "cat > notes.txt <<'EOF'\n$(not run) `nor this`\nEOF"
              => allow
            "LANG=C ls"
              => allow
            "env RUST_BACKTRACE=1 cargo test"
              => allow
            "bash -c 'git diff | wc -l'"
              => allow
            "set -euo pipefail; cargo build"
              => allow
            "grep -r foo ./src/*.rs"
              => allow
            "ls 2>/dev/null || true"
              => allow
            "awk '{print $1}' f"
              => allow"#]],
    );
}

#[test]
fn decomposition_lists_every_program_and_redirect() {
    let answer = catalogue_policy()
        .check_command("timeout 5 sudo -u bob env FOO=1 xargs -0 sh -c 'ls >out; rm x' < in");
    let lines: Vec<String> = answer
        .commands
        .iter()
        .map(|command| {
            format!(
                "{} (via {}) => {}",
                command.display(),
                command.via.as_deref().unwrap_or("-"),
                command.decision
            )
        })
        .chain(
            answer
                .redirects
                .iter()
                .map(|redirect| format!("{:?} {}", redirect.kind, redirect.path)),
        )
        .collect();
    expect![[r#"
        timeout 5 sudo -u bob env FOO=1 xargs -0 sh -c 'ls >out; rm x' (via -) => allow
        sudo -u bob env FOO=1 xargs -0 sh -c 'ls >out; rm x' (via timeout) => deny: `sudo -u bob env FOO=1 xargs -0 sh -c 'ls >out; rm x'` is not in policy.commands.allow [default: not in allow list]
        env FOO=1 xargs -0 sh -c 'ls >out; rm x' (via sudo) => allow
        FOO=1 xargs -0 sh -c 'ls >out; rm x' (via env) => deny: setting `FOO` can change what a program runs; it is not in policy.commands.allow_env [policy.commands.allow_env]
        FOO=1 sh -c 'ls >out; rm x' (via xargs) => deny: setting `FOO` can change what a program runs; it is not in policy.commands.allow_env [policy.commands.allow_env]
        ls (via sh) => allow
        rm x (via sh) => deny: `rm x` is not in policy.commands.allow [default: not in allow list]
        Read in
        Write out"#]].assert_eq(&lines.join("\n"));
}

#[test]
fn without_an_allow_list_only_denials_apply() {
    let policy = Policy::new(&PolicyConfig {
        commands: CommandRulesConfig {
            deny: strings(&["rm", "git push"]),
            ..CommandRulesConfig::default()
        },
        ..PolicyConfig::default()
    })
    .unwrap();
    check(
        &policy,
        &[
            "make -j4",
            "sudo rm x",
            "/bin/rm x",
            "xargs rm",
            "git -c x=y push",
            "eval make",
            "",
        ],
        expect![[r#"
            "make -j4"
              => allow
            "sudo rm x"
              => deny: `rm x` is denied [policy.commands.deny[0] "rm"]
            "/bin/rm x"
              => deny: `/bin/rm x` is denied [policy.commands.deny[0] "rm"]
            "xargs rm"
              => deny: `rm` is denied [policy.commands.deny[0] "rm"]
            "git -c x=y push"
              => deny: `git -c x=y push` is denied [policy.commands.deny[1] "git push"]
            "eval make"
              => deny: cannot be proven safe: `eval` runs a string as shell code, which cannot be checked [parser: cannot be proven safe]
            ""
              => deny: the command line runs nothing [parser: cannot be proven safe]"#]],
    );
}

#[test]
fn an_empty_allow_list_denies_every_command() {
    let policy = Policy::new(&PolicyConfig {
        commands: CommandRulesConfig {
            allow: Some(Vec::new()),
            ask: strings(&["cargo publish"]),
            ..CommandRulesConfig::default()
        },
        ..PolicyConfig::default()
    })
    .unwrap();
    check(
        &policy,
        &[
            "ls",
            "true",
            "sh -c 'ls'",
            "set -e",
            "LANG=C",
            "cargo publish",
        ],
        expect![[r#"
            "ls"
              => deny: `ls` is not allowed: policy.commands.allow is empty, so every command is denied [default: not in allow list]
            "true"
              => deny: `true` is not allowed: policy.commands.allow is empty, so every command is denied [default: not in allow list]
            "sh -c 'ls'"
              => deny: `sh -c ls` is not allowed: policy.commands.allow is empty, so every command is denied [default: not in allow list]
            "set -e"
              => deny: `set -e` is not allowed: policy.commands.allow is empty, so every command is denied [default: not in allow list]
            "LANG=C"
              => deny: policy.commands.allow is empty, so every command line is denied [default: not in allow list]
            "cargo publish"
              => ask: `cargo publish` needs approval [policy.commands.ask[0] "cargo publish"]"#]],
    );
}

/// An allow list of argv prefixes (`sed -n`, `awk`, `git`…) with no dangerous-option rules
/// at all: what is refused here is refused by the built-in reading of each program's
/// arguments, and every file they write is put to `write = ["out/**", "src/**"]`.
fn programs_policy() -> Policy {
    Policy::new(&PolicyConfig {
        commands: CommandRulesConfig {
            allow: Some(strings(&[
                "sed -n",
                "sed --sandbox",
                "awk",
                "gawk",
                "find",
                "git",
                "tar",
                "rsync",
                "xargs",
                "sort",
                "sdiff",
                "diff3",
                "tee",
                "dd",
                "echo",
                "cd",
            ])),
            deny_options: Vec::new(),
            ..CommandRulesConfig::default()
        },
        paths: rein_policy::PathRulesConfig {
            write: Some(strings(&["out/**", "src/**"])),
            ..rein_policy::PathRulesConfig::default()
        },
        ..PolicyConfig::default()
    })
    .unwrap()
}

/// Code-running and file-writing forms of the programs the parser knows, each refused.
pub const PROGRAM_FORMS: &[&str] = &[
    // sed: the `e` command and flag, `w`/`W`/`r`/`R`, script files, in-place edits
    "sed -n '1e touch x' f",
    "sed -n 's/x/id/e' f",
    "sed -n '1w .git/hooks/pre-commit' f",
    "sed -n '1W x' f",
    "sed -n 's/a/b/w .git/config' f",
    "sed -n 'r .env' f",
    "sed -n '1R id_rsa' f",
    "sed -n -e p -e 'e id' f",
    "sed -n --expression='1e id' f",
    "sed -n --expression 's|a|b|e' f",
    "sed -n -e1p -e'$e id' f",
    "sed -n -f script.sed f",
    "sed -n --file=script.sed f",
    "sed -n -i s/a/b/ .git/config",
    "sed -n p -i x",
    "sed -n p --in-place=.bak x",
    "sed -n 'p;1e id' f",
    "sed -n 'p\n1e id' f",
    "sed -n '/x/{p;e id\n}' f",
    "sed -n '/a\\/b/e id' f",
    "sed -n '\\,a,e id' f",
    "sed -n 's,a\\,b,c,e' f",
    "sed -n 's/a/b/gpe' f",
    "sed -n 'y/abc/xyz/;1e id' f",
    "sed -n '1!e id' f",
    "sed -n '1,3w x' f",
    "sed -n '$ w x' f",
    "sed -n '1e' f",
    "sed -nE 's/(a)/\\1/e' f",
    "sed -n \"$S\" f",
    "sed -n 'p' $F",
    "echo f | xargs sed -n '1e id'",
    "echo f | xargs sed -n",
    // awk: system(), pipes, redirections, getline, program files, extensions
    "awk 'BEGIN{system(\"id\")}'",
    "awk '{print | \"sh\"}' f",
    "awk '{print |& \"sh\"}' f",
    "awk '{\"date\" | getline d}' f",
    "awk '{print > \".git/hooks/pre-commit\"}' f",
    "awk '{print >> \"x\"}' f",
    "awk '{print > $2}' f",
    "awk '{printf \"%s\", $0 > \"x\"}' f",
    "awk 'BEGIN{getline l < \".env\"}'",
    "awk -f prog.awk f",
    "gawk --load=x.so 'BEGIN{}'",
    "gawk -l ./x 'BEGIN{}'",
    "gawk 'BEGIN{f=\"system\"; @f(\"id\")}'",
    "gawk '@load \"x\"; BEGIN{}'",
    "gawk -e 'BEGIN{system(\"id\")}'",
    "gawk --profile=x 'BEGIN{}'",
    "awk \"$P\" f",
    // find: files it writes, trees it deletes, commands it runs
    "find . -fprint .git/hooks/pre-commit",
    "find . -fls x",
    "find . -fprintf x '%p'",
    "find .git -delete",
    "find . -exec sed -n '1e id' {} \\;",
    // git: configuration and programs on the command line, files it writes
    "git -c core.fsmonitor=id status",
    "git --git-dir=evil status",
    "git --work-tree=. status",
    "git --exec-path=. status",
    "git --config-env=core.pager=X status",
    "git log --output=.git/hooks/pre-commit",
    "git log --output .git/hooks/post-checkout",
    "git -C .git log --output=hooks/pre-commit",
    "git diff --output=x",
    "git format-patch -o .git/hooks HEAD~1",
    "git archive -o x HEAD",
    "git bundle create x HEAD",
    "git config core.fsmonitor id",
    "git config --add core.pager sh",
    "git config set core.pager sh",
    "git config --unset user.name",
    "git rebase --exec id main",
    "git rebase -x id main",
    "git bisect run id",
    "git submodule foreach id",
    "git filter-branch --tree-filter id",
    "git difftool -x id",
    "git grep -O id foo",
    "git grep --open-files-in-pager=id foo",
    "git clone -u id url out/r",
    "git clone --upload-pack=id url out/r",
    "git clone -c core.fsmonitor=id url out/r",
    "git clone --config core.fsmonitor=id url out/r",
    "git init --template=evil",
    "git init .git/hooks",
    "git fetch --upload-pack=id origin",
    "git push --receive-pack=id origin",
    // tar: programs it runs, archives it writes, where it extracts
    "tar xf a.tar --to-command=sh",
    "tar cf a.tar --use-compress-program=sh src",
    "tar -I sh -cf out/a.tar src",
    "tar -cf out/a.tar --checkpoint=1 --checkpoint-action=exec=sh src",
    "tar -F sh -cf out/a.tar src",
    "tar --info-script=sh -cf out/a.tar src",
    "tar xf a.tar -C .git",
    "tar -xf a.tar -C .git/hooks",
    "tar --extract --file=a.tar --directory=.git/hooks",
    "tar xPf a.tar",
    "tar xf a.tar",
    "tar -xf a.tar -C out .git/hooks/pre-commit",
    "tar -xf a.tar .git/hooks/pre-commit",
    "tar cf x src",
    "tar -cf .git/hooks/pre-commit src",
    "tar -cf out/a.tar --remove-files .git/config",
    // rsync: remote shells and programs, where it writes
    "rsync -e 'sh -c id' a b",
    "rsync -ave sh a b",
    "rsync --rsh=sh a b",
    "rsync --rsync-path='sh -c id' a host:b",
    "rsync -M --rsync-path=id a host:b",
    "rsync -a src/ .git/hooks/",
    "rsync -a src/ .git",
    "rsync -a --log-file=x src/ out/",
    "rsync -a --remove-source-files .git/config out/",
    // sort, sdiff, diff3, tee, dd, --output=
    "sort -o .git/config f",
    "sort -o x f",
    "sort --output=.git/hooks/pre-commit f",
    "sort -rno x f",
    "sort -ox f",
    "sort --compress-program=sh f",
    "sort -T .git f",
    "echo f | xargs -I{} sort -o {} f",
    "sdiff -o x a b",
    "sdiff --output=.git/config a b",
    "sdiff --diff-program=sh a b",
    "diff3 --diff-program=sh a b c",
    "echo x | tee .git/hooks/pre-commit",
    "echo x | tee -a out/ok x",
    "echo x | tee $F",
    "echo x | xargs tee",
    "dd if=f of=.git/config",
    "dd if=.env of=out/x",
    "dd of=$F",
    "echo --output=.git/config",
    "cd src && sort -o x f",
];

#[test]
fn no_program_form_in_the_catalogue_is_allowed() {
    let policy = programs_policy();
    let allowed: Vec<&str> = PROGRAM_FORMS
        .iter()
        .copied()
        .filter(|line| policy.check_command(line).decision == Decision::Allow)
        .collect();
    assert!(allowed.is_empty(), "allowed: {allowed:#?}");
}

#[test]
fn program_forms() {
    check(
        &programs_policy(),
        PROGRAM_FORMS,
        expect![[r#"
        "sed -n '1e touch x' f"
          => deny: `sed -n '1e touch x' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n 's/x/id/e' f"
          => deny: `sed -n s/x/id/e f`: the `e` flag of the sed `s` command runs the result as a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n '1w .git/hooks/pre-commit' f"
          => deny: `sed` writes `.git/hooks/pre-commit`: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "sed -n '1W x' f"
          => deny: `sed` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sed -n 's/a/b/w .git/config' f"
          => deny: `sed` writes `.git/config`: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
        "sed -n 'r .env' f"
          => deny: `sed` reads `.env`: `.env` may not be read or written [builtin.paths.deny[0] ".env"]
        "sed -n '1R id_rsa' f"
          => deny: `sed` reads `id_rsa`: `id_rsa` may not be read or written [builtin.paths.deny[4] "id_*"]
        "sed -n -e p -e 'e id' f"
          => deny: `sed -n -e p -e 'e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n --expression='1e id' f"
          => deny: `sed -n '--expression=1e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n --expression 's|a|b|e' f"
          => deny: `sed -n --expression 's|a|b|e' f`: the `e` flag of the sed `s` command runs the result as a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n -e1p -e'$e id' f"
          => deny: `sed -n -e1p '-e$e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n -f script.sed f"
          => deny: `sed -n -f script.sed f`: `sed -f` reads its script from a file, which cannot be inspected [builtin.commands.sed]
        "sed -n --file=script.sed f"
          => deny: `sed -n --file=script.sed f`: `sed --file` reads its script from a file, which cannot be inspected [builtin.commands.sed]
        "sed -n -i s/a/b/ .git/config"
          => deny: `sed` writes `.git/config`: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
        "sed -n p -i x"
          => deny: `sed` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sed -n p --in-place=.bak x"
          => deny: `sed` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sed -n 'p;1e id' f"
          => deny: `sed -n 'p;1e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n 'p\n1e id' f"
          => deny: `sed -n 'p
        1e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n '/x/{p;e id\n}' f"
          => deny: `sed -n '/x/{p;e id
        }' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n '/a\\/b/e id' f"
          => deny: `sed -n '/a\/b/e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n '\\,a,e id' f"
          => deny: `sed -n '\,a,e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n 's,a\\,b,c,e' f"
          => deny: `sed -n 's,a\,b,c,e' f`: the `e` flag of the sed `s` command runs the result as a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n 's/a/b/gpe' f"
          => deny: `sed -n s/a/b/gpe f`: the `e` flag of the sed `s` command runs the result as a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n 'y/abc/xyz/;1e id' f"
          => deny: `sed -n 'y/abc/xyz/;1e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n '1!e id' f"
          => deny: `sed -n '1!e id' f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n '1,3w x' f"
          => deny: `sed` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sed -n '$ w x' f"
          => deny: `sed` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sed -n '1e' f"
          => deny: `sed -n 1e f`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "sed -nE 's/(a)/\\1/e' f"
          => deny: `sed -nE 's/(a)/\1/e' f`: the `e` flag of the sed `s` command runs the result as a shell command, which cannot be checked [builtin.commands.sed]
        "sed -n \"$S\" f"
          => deny: `sed -n "$S" f`: `sed` has an argument only known at run time (`"$S"`), so its options cannot be checked [builtin.commands.sed]
        "sed -n 'p' $F"
          => deny: `sed -n p $F`: `sed` has an argument only known at run time (`$F`), so its options cannot be checked [builtin.commands.sed]
        "echo f | xargs sed -n '1e id'"
          => deny: `sed -n '1e id'`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "echo f | xargs sed -n"
          => deny: `sed -n`: `sed` gets its script only at run time [builtin.commands.sed]
        "awk 'BEGIN{system(\"id\")}'"
          => deny: `awk 'BEGIN{system("id")}'`: the awk program calls `system`, which runs code that cannot be checked [builtin.commands.awk]
        "awk '{print | \"sh\"}' f"
          => deny: `awk '{print | "sh"}' f`: the awk program uses a pipe (`|`), which runs a command that cannot be checked [builtin.commands.awk]
        "awk '{print |& \"sh\"}' f"
          => deny: `awk '{print |& "sh"}' f`: the awk program uses a pipe (`|&`), which runs a command that cannot be checked [builtin.commands.awk]
        "awk '{\"date\" | getline d}' f"
          => deny: `awk '{"date" | getline d}' f`: the awk program uses a pipe (`|`), which runs a command that cannot be checked [builtin.commands.awk]
        "awk '{print > \".git/hooks/pre-commit\"}' f"
          => deny: `awk` writes `.git/hooks/pre-commit`: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "awk '{print >> \"x\"}' f"
          => deny: `awk` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "awk '{print > $2}' f"
          => deny: `awk '{print > $2}' f`: awk writes a file whose name is not a plain string, which cannot be checked [builtin.commands.awk]
        "awk '{printf \"%s\", $0 > \"x\"}' f"
          => deny: `awk` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "awk 'BEGIN{getline l < \".env\"}'"
          => deny: `awk` reads `.env`: `.env` may not be read or written [builtin.paths.deny[0] ".env"]
        "awk -f prog.awk f"
          => deny: `awk -f prog.awk f`: `awk -f` reads the program from a file, which cannot be inspected [builtin.commands.awk]
        "gawk --load=x.so 'BEGIN{}'"
          => deny: `gawk --load=x.so BEGIN{}`: `gawk --load` is not allowed: it loads code or writes files, or is not known to rein [builtin.commands.gawk]
        "gawk -l ./x 'BEGIN{}'"
          => deny: `gawk -l ./x BEGIN{}`: `gawk -l` is not allowed: it loads code or writes files, or is not known to rein [builtin.commands.gawk]
        "gawk 'BEGIN{f=\"system\"; @f(\"id\")}'"
          => deny: `gawk 'BEGIN{f="system"; @f("id")}'`: the gawk program uses `@` (an indirect call or a directive), which cannot be checked [builtin.commands.gawk]
        "gawk '@load \"x\"; BEGIN{}'"
          => deny: `gawk '@load "x"; BEGIN{}'`: the gawk program uses `@` (an indirect call or a directive), which cannot be checked [builtin.commands.gawk]
        "gawk -e 'BEGIN{system(\"id\")}'"
          => deny: `gawk -e 'BEGIN{system("id")}'`: the gawk program calls `system`, which runs code that cannot be checked [builtin.commands.gawk]
        "gawk --profile=x 'BEGIN{}'"
          => deny: `gawk --profile=x BEGIN{}`: `gawk --profile` is not allowed: it loads code or writes files, or is not known to rein [builtin.commands.gawk]
        "awk \"$P\" f"
          => deny: `awk "$P" f`: `awk` has an argument only known at run time (`"$P"`), so its options cannot be checked [builtin.commands.awk]
        "find . -fprint .git/hooks/pre-commit"
          => deny: `find` writes `.git/hooks/pre-commit`: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "find . -fls x"
          => deny: `find` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "find . -fprintf x '%p'"
          => deny: `find` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "find .git -delete"
          => deny: `find` writes `.git/*`: `.git/*` is not in policy.paths.write [default: not in policy.paths.write]
        "find . -exec sed -n '1e id' {} \\;"
          => deny: `sed -n '1e id' {}`: the sed command `e` runs a shell command, which cannot be checked [builtin.commands.sed]
        "git -c core.fsmonitor=id status"
          => deny: `git -c core.fsmonitor=id status`: `git -c` can run commands, which cannot be checked [builtin.commands.git]
        "git --git-dir=evil status"
          => deny: `git --git-dir=evil status`: `git --git-dir` points git at another repository or work tree, whose configuration or hooks can run commands [builtin.commands.git]
        "git --work-tree=. status"
          => deny: `git --work-tree=. status`: `git --work-tree` points git at another repository or work tree, whose configuration or hooks can run commands [builtin.commands.git]
        "git --exec-path=. status"
          => deny: `git --exec-path=. status`: `git --exec-path` can run commands, which cannot be checked [builtin.commands.git]
        "git --config-env=core.pager=X status"
          => deny: `git --config-env=core.pager=X status`: `git --config-env` can run commands, which cannot be checked [builtin.commands.git]
        "git log --output=.git/hooks/pre-commit"
          => deny: `git` writes `.git/hooks/pre-commit`: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "git log --output .git/hooks/post-checkout"
          => deny: `git` writes `.git/hooks/post-checkout`: `.git/hooks/post-checkout` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "git -C .git log --output=hooks/pre-commit"
          => deny: `git` writes `.git/hooks/pre-commit`: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "git diff --output=x"
          => deny: `git` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "git format-patch -o .git/hooks HEAD~1"
          => deny: `git` writes `.git/hooks/*`: `.git/hooks/*` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "git archive -o x HEAD"
          => deny: `git` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "git bundle create x HEAD"
          => deny: `git` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "git config core.fsmonitor id"
          => deny: `git config core.fsmonitor id`: `git config` that sets a value can make git run commands later [builtin.commands.git]
        "git config --add core.pager sh"
          => deny: `git config --add core.pager sh`: `git config --add` can change git's configuration, which can make git run commands later [builtin.commands.git]
        "git config set core.pager sh"
          => deny: `git config set core.pager sh`: `git config` that sets a value can make git run commands later [builtin.commands.git]
        "git config --unset user.name"
          => deny: `git config --unset user.name`: `git config --unset` can change git's configuration, which can make git run commands later [builtin.commands.git]
        "git rebase --exec id main"
          => deny: `git rebase --exec id main`: `git rebase --exec` can run commands, which cannot be checked [builtin.commands.git]
        "git rebase -x id main"
          => deny: `git rebase -x id main`: `git rebase -x` can run commands, which cannot be checked [builtin.commands.git]
        "git bisect run id"
          => deny: `git bisect run id`: `git bisect run` can run commands, which cannot be checked [builtin.commands.git]
        "git submodule foreach id"
          => deny: `git submodule foreach id`: `git submodule foreach` can run commands, which cannot be checked [builtin.commands.git]
        "git filter-branch --tree-filter id"
          => deny: `git filter-branch --tree-filter id`: `git filter-branch` can run commands, which cannot be checked [builtin.commands.git]
        "git difftool -x id"
          => deny: `git difftool -x id`: `git difftool -x` can run commands, which cannot be checked [builtin.commands.git]
        "git grep -O id foo"
          => deny: `git grep -O id foo`: `git grep -O` can run commands, which cannot be checked [builtin.commands.git]
        "git grep --open-files-in-pager=id foo"
          => deny: `git grep --open-files-in-pager=id foo`: `git grep --open-files-in-pager` can run commands, which cannot be checked [builtin.commands.git]
        "git clone -u id url out/r"
          => deny: `git clone -u id url out/r`: `git clone -u` can run commands, which cannot be checked [builtin.commands.git]
        "git clone --upload-pack=id url out/r"
          => deny: `git clone --upload-pack=id url out/r`: `git clone --upload-pack` can run commands, which cannot be checked [builtin.commands.git]
        "git clone -c core.fsmonitor=id url out/r"
          => deny: `git clone -c core.fsmonitor=id url out/r`: `git clone -c` can run commands, which cannot be checked [builtin.commands.git]
        "git clone --config core.fsmonitor=id url out/r"
          => deny: `git clone --config core.fsmonitor=id url out/r`: `git clone --config` can run commands, which cannot be checked [builtin.commands.git]
        "git init --template=evil"
          => deny: `git init --template=evil`: `git init --template` can run commands, which cannot be checked [builtin.commands.git]
        "git init .git/hooks"
          => deny: `git` writes `.git/hooks/*`: `.git/hooks/*` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "git fetch --upload-pack=id origin"
          => deny: `git fetch --upload-pack=id origin`: `git fetch --upload-pack` can run commands, which cannot be checked [builtin.commands.git]
        "git push --receive-pack=id origin"
          => deny: `git push --receive-pack=id origin`: `git push --receive-pack` can run commands, which cannot be checked [builtin.commands.git]
        "tar xf a.tar --to-command=sh"
          => deny: `tar xf a.tar --to-command=sh`: `tar --to-command` runs a program, which cannot be checked [builtin.commands.tar]
        "tar cf a.tar --use-compress-program=sh src"
          => deny: `tar cf a.tar --use-compress-program=sh src`: `tar --use-compress-program` runs a program, which cannot be checked [builtin.commands.tar]
        "tar -I sh -cf out/a.tar src"
          => deny: `tar -I sh -cf out/a.tar src`: `tar -I` runs a program, which cannot be checked [builtin.commands.tar]
        "tar -cf out/a.tar --checkpoint=1 --checkpoint-action=exec=sh src"
          => deny: `tar -cf out/a.tar --checkpoint=1 --checkpoint-action=exec=sh src`: `tar --checkpoint-action` runs a program, which cannot be checked [builtin.commands.tar]
        "tar -F sh -cf out/a.tar src"
          => deny: `tar -F sh -cf out/a.tar src`: `tar -F` runs a program, which cannot be checked [builtin.commands.tar]
        "tar --info-script=sh -cf out/a.tar src"
          => deny: `tar --info-script=sh -cf out/a.tar src`: `tar --info-script` runs a program, which cannot be checked [builtin.commands.tar]
        "tar xf a.tar -C .git"
          => deny: `tar` writes `.git/*`: `.git/*` is not in policy.paths.write [default: not in policy.paths.write]
        "tar -xf a.tar -C .git/hooks"
          => deny: `tar` writes `.git/hooks/*`: `.git/hooks/*` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "tar --extract --file=a.tar --directory=.git/hooks"
          => deny: `tar` writes `.git/hooks/*`: `.git/hooks/*` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "tar xPf a.tar"
          => deny: `tar xPf a.tar`: `tar -x --absolute-names` writes wherever the archive says [builtin.commands.tar]
        "tar xf a.tar"
          => deny: `tar` writes `*`: `*` is not in policy.paths.write [default: not in policy.paths.write]
        "tar -xf a.tar -C out .git/hooks/pre-commit"
          => deny: `tar` writes `out/.git/hooks/pre-commit`: `out/.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[4] "**/.git/hooks"]
        "tar -xf a.tar .git/hooks/pre-commit"
          => deny: `tar` writes `*`: `*` is not in policy.paths.write [default: not in policy.paths.write]
        "tar cf x src"
          => deny: `tar` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "tar -cf .git/hooks/pre-commit src"
          => deny: `tar` writes `.git/hooks/pre-commit`: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "tar -cf out/a.tar --remove-files .git/config"
          => deny: `tar` writes `.git/config`: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
        "rsync -e 'sh -c id' a b"
          => deny: `rsync -e 'sh -c id' a b`: `rsync -e` runs a program, which cannot be checked [builtin.commands.rsync]
        "rsync -ave sh a b"
          => deny: `rsync -ave sh a b`: `rsync -e` runs a program, which cannot be checked [builtin.commands.rsync]
        "rsync --rsh=sh a b"
          => deny: `rsync --rsh=sh a b`: `rsync --rsh` runs a program, which cannot be checked [builtin.commands.rsync]
        "rsync --rsync-path='sh -c id' a host:b"
          => deny: `rsync '--rsync-path=sh -c id' a host:b`: `rsync --rsync-path` runs a program, which cannot be checked [builtin.commands.rsync]
        "rsync -M --rsync-path=id a host:b"
          => deny: `rsync -M --rsync-path=id a host:b`: `rsync -M` runs a program, which cannot be checked [builtin.commands.rsync]
        "rsync -a src/ .git/hooks/"
          => deny: `rsync` writes `.git/hooks/*`: `.git/hooks/*` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "rsync -a src/ .git"
          => deny: `rsync` writes `.git/*`: `.git/*` is not in policy.paths.write [default: not in policy.paths.write]
        "rsync -a --log-file=x src/ out/"
          => deny: `rsync` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "rsync -a --remove-source-files .git/config out/"
          => deny: `rsync` writes `.git/config`: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
        "sort -o .git/config f"
          => deny: `sort` writes `.git/config`: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
        "sort -o x f"
          => deny: `sort` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sort --output=.git/hooks/pre-commit f"
          => deny: `sort` writes `.git/hooks/pre-commit`: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "sort -rno x f"
          => deny: `sort` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sort -ox f"
          => deny: `sort` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sort --compress-program=sh f"
          => deny: `sort --compress-program=sh f`: `sort --compress-program` runs a program, which cannot be checked [builtin.commands.sort]
        "sort -T .git f"
          => deny: `sort` writes `.git/*`: `.git/*` is not in policy.paths.write [default: not in policy.paths.write]
        "echo f | xargs -I{} sort -o {} f"
          => deny: `sort` writes `{}`, a path only known at run time [policy.paths: command argument]
        "sdiff -o x a b"
          => deny: `sdiff` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "sdiff --output=.git/config a b"
          => deny: `sdiff` writes `.git/config`: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
        "sdiff --diff-program=sh a b"
          => deny: `sdiff --diff-program=sh a b`: `sdiff --diff-program` runs a program, which cannot be checked [builtin.commands.sdiff]
        "diff3 --diff-program=sh a b c"
          => deny: `diff3 --diff-program=sh a b c`: `diff3 --diff-program` runs a program, which cannot be checked [builtin.commands.diff3]
        "echo x | tee .git/hooks/pre-commit"
          => deny: `tee` writes `.git/hooks/pre-commit`: `.git/hooks/pre-commit` may not be written [builtin.paths.deny_write[2] ".git/hooks"]
        "echo x | tee -a out/ok x"
          => deny: `tee` writes `x`: `x` is not in policy.paths.write [default: not in policy.paths.write]
        "echo x | tee $F"
          => deny: `tee $F`: `tee` has an argument only known at run time (`$F`), so the files it writes cannot be checked [builtin.commands.tee]
        "echo x | xargs tee"
          => deny: `tee`: `tee` gets the files it writes only at run time [builtin.commands.tee]
        "dd if=f of=.git/config"
          => deny: `dd` writes `.git/config`: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
        "dd if=.env of=out/x"
          => deny: `dd` reads `.env`: `.env` may not be read or written [builtin.paths.deny[0] ".env"]
        "dd of=$F"
          => deny: `dd` writes `$F`, a path only known at run time [policy.paths: command argument]
        "echo --output=.git/config"
          => deny: `echo` writes `.git/config`: `.git/config` may not be written [builtin.paths.deny_write[0] ".git/config"]
        "cd src && sort -o x f"
          => deny: `sort` writes `x` after `cd`: the path is not relative to the workspace [policy.paths: command argument]"#]],
    );
}

#[test]
fn ordinary_program_forms_pass() {
    let lines = [
        "sed -n 1p f",
        "sed -n 's/a/b/gp' f",
        "sed -n '1w out/x' f",
        "sed -n 'w /dev/stdout' f",
        "sed --sandbox -n '1e id' f",
        "sed -n 'a foo; 1e id' f",
        "sed -n '/start/,/end/{s/x/y/;p}' f",
        "sed -n -e 1p -e 2p f",
        "sed -n ':a;N;$!ba;s/\\n/ /g;p' f",
        "sed -n 's/e/E/p' f",
        "sed -n 'y/e/E/;p' f",
        "sed -n '0~3p' f",
        "sed -n '/x/Ip' f",
        "sed -n 's/a/b/w out/changed' f",
        "echo f | xargs sed -n 1p",
        "awk '{print $1}' f",
        "awk '$1 > 5 {print}' f",
        "awk '{print ($1 > 5)}' f",
        "awk '{print > \"out/x\"}' f",
        "awk '{print $1 > \"/dev/stderr\"}' f",
        "awk -F: '{print $1}' f",
        "awk -v n=3 'NR < n' f",
        "gawk --sandbox 'BEGIN{system(\"id\")}'",
        "awk '{print \"a|b\"}' f",
        "awk '/a|b/ {print}' f",
        "awk '{ x = $1 / $2 / 3; print x }' f",
        "awk 'BEGIN{while ((getline l < \"src/a\") > 0) n++; print n}'",
        "find src -name '*.rs'",
        "find . -fprint out/list",
        "find src -name x -delete",
        "git status",
        "git -C . status",
        "git --no-pager log -1 --format=%H",
        "git log --output=out/log.txt",
        "git -C src log --output=log.txt",
        "git config --get user.name",
        "git config user.name",
        "git config --list",
        "git format-patch -o out HEAD~1",
        "git init out/repo",
        "git clone --depth 1 url out/repo",
        "git commit --template=msg.txt",
        "tar tf a.tar",
        "tar xf a.tar -C out",
        "tar -czf out/a.tgz src",
        "tar -xOf a.tar",
        "tar -xf a.tar --to-stdout",
        "rsync -a src/ out/backup/",
        "rsync -a src/ host:backup/",
        "sort -o out/sorted f",
        "sort -k2 -t, f",
        "sdiff -o out/merged a b",
        "echo x | tee out/log",
        "echo x | tee /dev/stderr",
        "dd if=f of=out/x bs=1",
    ];
    let policy = programs_policy();
    let refused: Vec<String> = lines
        .iter()
        .map(|line| (line, policy.check_command(line).decision))
        .filter(|(_, decision)| *decision != Decision::Allow)
        .map(|(line, decision)| format!("{line}: {decision}"))
        .collect();
    assert!(refused.is_empty(), "refused: {refused:#?}");
}

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
